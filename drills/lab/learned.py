"""Learned alert policies: window features across neighbouring detectors, gradient-boosted trees, a model card.

Features (per detector, at each evaluation time, every ``stride`` s over the last ``window`` s of what
the detectors *show*; ``s`` the detector's noise sd and ``sp`` its first set point, both from its spec):

``level``       mean of the last 30 s / sp
``rise_win``    (mean of the last 30 s - mean of the window) / s
``rise_old``    (mean of the last 30 s - mean of the first 30 s of the window) / s
``spread``      sd of the last 60 s / s (spikes and faults widen it)
``zone_level``, ``zone_rise_win``, ``zone_rise_old``: the largest of those over the detectors of the same
zone (the neighbours: a leak raises several, a faulty head only itself)
``is_lel``      1 for a %LEL head, 0 for ppm

Labels: a window is positive when it ends inside an episode's detection window and the true
concentration at that detector is at least twice its noise sd (there is gas to see); every other window
(leak-free operation, before a start, detectors the gas has not reached) is negative. The model is
scikit-learn's ``HistGradientBoostingClassifier`` (gradient-boosted trees).

Training data come only from seeds in the lab file's ``train_seeds``; the held-out metrics come from a
lab run on ``test_seeds`` (the ranges must not overlap; :class:`drills.lab.labfile.LabSpec` refuses
overlapping ranges), so the score is never on the data the model saw.

``policy: model`` (``path:`` the model file, ``threshold:`` probability, default 0.5) runs the model in the
lab and in replays through :class:`ModelEngine`, which raises alerts with the same zone de-duplication,
re-arming and escalation as the built-in policies. Model files are Python pickles (joblib): load only
files you trust.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import InputError

__all__ = ["FEATURES", "ModelEngine", "features", "load_model", "train"]

FEATURES = ("level", "rise_win", "rise_old", "spread", "zone_level", "zone_rise_win", "zone_rise_old", "is_lel")
WINDOW = 600.0  # s of readings per feature window
STRIDE = 10.0  # s between evaluations
SHORT = 30.0  # s, the "now" part of the window
MODEL_FORMAT = 1
threadpool_limits: Any = None  # imported with scikit-learn (threadpoolctl), on first use


def features(buf: np.ndarray, noise: np.ndarray, sp: np.ndarray, zone: np.ndarray, is_lel: np.ndarray,
             dt: float) -> np.ndarray:
    """Feature rows ``(N, len(FEATURES))`` from readings ``buf`` ``(W, N)`` (oldest first) of N detectors."""
    W = buf.shape[0]
    ns = max(1, min(W, int(round(SHORT / dt))))
    nsp = max(2, min(W, int(round(2 * SHORT / dt))))
    now = buf[-ns:].mean(axis=0)
    s = np.maximum(noise, 1e-9)
    f = np.empty((buf.shape[1], len(FEATURES)))
    f[:, 0] = now / sp
    f[:, 1] = (now - buf.mean(axis=0)) / s
    f[:, 2] = (now - buf[:ns].mean(axis=0)) / s
    f[:, 3] = buf[-nsp:].std(axis=0) / s
    nz = int(zone.max()) + 1 if zone.size else 0
    for j, src in ((4, 0), (5, 1), (6, 2)):
        zmax = np.full(nz, -np.inf)
        np.maximum.at(zmax, zone, f[:, src])
        f[:, j] = zmax[zone]
    f[:, 7] = is_lel
    return f


def _spec_arrays(specs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from twin.sensors import resolve_spec

    rs = [resolve_spec(s) for s in specs]
    noise = np.array([s.noise or 0.0 for s in rs])
    sp = np.array([s.setpoints[0] if s.setpoints else (s.full_scale or 1.0) for s in rs])
    return noise, sp, np.array([s.unit == "%LEL" for s in rs], dtype=float)


def load_model(path: Path) -> dict[str, Any]:
    """The saved model bundle (``model``, ``card``); errors name the file."""
    import joblib

    if not path.is_file():
        raise InputError(f"no such model file: {path}", where=str(path))
    try:
        bundle = joblib.load(path)
    except Exception as e:  # a file that is not a model bundle
        raise InputError(f"{path}: not a model written by drilltwin alerts train ({e})", where=str(path)) from None
    if not isinstance(bundle, dict) or bundle.get("format") != MODEL_FORMAT or "model" not in bundle:
        raise InputError(f"{path}: not a model written by drilltwin alerts train", where=str(path))
    return bundle


class ModelEngine:
    """Runs a trained model as an alert policy with the :class:`drills.alerts.policies.AlertEngine`
    interface (``update``; alerts de-duplicated, re-armed and escalated the same way)."""

    def __init__(self, config: dict[str, Any], specs: Sequence[Any], zones: Sequence[Hashable], positions: Any, *,
                 step: float = 1.0, rearm: Any = "config", base_dir: Path | None = None):
        from drills.alerts.policies import AlertEngine

        global threadpool_limits
        from threadpoolctl import threadpool_limits

        path = Path(config["path"])
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        bundle = load_model(path)
        self.model = bundle["model"]
        self.threshold = float(config.get("threshold", 0.5))
        if not 0 < self.threshold < 1:
            raise InputError(f"threshold must be in (0, 1), got {self.threshold}", where="alerts.threshold")
        rearm_cfg = config.get("rearm")
        # the zone bookkeeping, alert records and escalation of the built-in engine, driven by our signals
        self._eng = AlertEngine({"policy": "threshold", "rearm": rearm_cfg}, specs, zones, positions, step=step,
                                rearm=rearm)
        self._eng.policy = "model"
        self.dt = float(step)
        self.W = max(int(round(bundle["card"]["window_s"] / self.dt)), 2)
        self.every = max(int(round(bundle["card"]["stride_s"] / self.dt)), 1)
        n = len(specs)
        self.noise, self.sp, self.is_lel = _spec_arrays(specs)
        self.buf = np.zeros((self.W, n))
        self.k = 0
        self.sig = np.zeros(n, dtype=bool)
        self.prob = np.zeros(n)

    nz = property(lambda self: self._eng.nz)
    zone_labels = property(lambda self: self._eng.zone_labels)
    _prev_on = property(lambda self: self._eng._prev_on)
    alerts = property(lambda self: self._eng.alerts)

    def update(self, t: float, readings: Any, fault_flags: Any = None, levels: Any = None, fresh: Any = None) -> list:
        r = np.asarray(readings, dtype=float)
        if self.k == 0:
            self.buf[:] = r  # start in the present state (the detectors read before the stream began)
        self.buf[self.k % self.W] = r
        self.k += 1
        bad = np.zeros(r.size, dtype=bool) if fault_flags is None else np.asarray(fault_flags, dtype=bool)
        if self.k % self.every == 0:
            order = np.roll(self.buf, -(self.k % self.W), axis=0)  # oldest first
            X = features(order, self.noise, self.sp, self._eng.zc, self.is_lel, self.dt)
            # one thread: a small batch every few seconds; OpenMP start-up would cost more than the trees
            with threadpool_limits(1):
                self.prob = self.model.predict_proba(X)[:, 1]
            self.sig = (self.prob >= self.threshold) & ~bad
        eng = self._eng
        eng.t = float(t)
        rank = self.sig.astype(np.int64)
        zone_rank = np.zeros(eng.nz, dtype=np.int64)
        hit = np.flatnonzero(rank)
        if hit.size:
            np.maximum.at(zone_rank, eng.zc[hit], 1)
        over = ((np.asarray(levels) > 0) if levels is not None else (r >= eng.first_sp)) & ~bad
        if over.any():
            zover = np.zeros(eng.nz, dtype=bool)
            zover[eng.zc[over]] = True
            zone_rank = np.where(zover, 2, zone_rank)
        margin = np.where(self.sig, self.prob / self.threshold, 0.0)
        return eng._raise(float(t), "gas", zone_rank, r, self.sig, margin, None)


def _windows(R: np.ndarray, truth: np.ndarray | None, noise: np.ndarray, sp: np.ndarray, zone: np.ndarray,
             is_lel: np.ndarray, dt: float, W: int, every: int, pos_from: float, pos_to: float,
             rng: np.random.Generator, neg_keep: float) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and labels from readings ``R`` (steps, copies, n) and true values ``truth`` (same shape
    or None for leak-free); positives only for window ends in [pos_from, pos_to] s."""
    steps, C, n = R.shape
    flat = R.reshape(steps, C * n).astype(float)
    z = np.tile(zone, C) + np.repeat(np.arange(C), n) * (int(zone.max()) + 1)
    ns, sp_, ll = np.tile(noise, C), np.tile(sp, C), np.tile(is_lel, C)
    Xs, ys = [], []
    for k in range(W - 1, steps, every):
        X = features(flat[k - W + 1 : k + 1], ns, sp_, z, ll, dt)
        t = (k + 1) * dt
        if truth is not None and pos_from <= t <= pos_to:
            y = truth[k].reshape(-1) >= 2.0 * ns
        else:
            y = np.zeros(C * n, dtype=bool)
        keep = y | (rng.random(y.size) < neg_keep)
        Xs.append(X[keep])
        ys.append(y[keep])
    return np.concatenate(Xs), np.concatenate(ys)


def train(spec: Any, out: Path, *, episodes: int | None = None, leak_free: float | None = None,
          test_episodes: int | None = None, test_leak_free: float | None = None, threshold: float = 0.5,
          lab_path: Path | None = None) -> dict[str, Any]:
    """Train on ``train_seeds``, score on ``test_seeds``, save the model and its card (``out`` and
    ``out`` with ``.card.json``). Returns the card."""
    import joblib
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    import drills
    from drills.lab.ensemble import sample_episodes, true_traces
    from drills.lab.evaluate import run_lab, score
    from drills.lab.policies import detector_readings
    from drills.lab.site import load_lab_site

    site = load_lab_site(spec.scenario, spec.gas)
    n_ep = episodes if episodes is not None else spec.episodes
    free = leak_free if leak_free is not None else spec.leak_free
    dt = site.dt
    steps = int(math.ceil((spec.pre_leak + spec.horizon) / dt - 1e-9))
    site.compute_responses(spec.pre_leak + spec.horizon)
    W, every = max(int(round(WINDOW / dt)), 2), max(int(round(STRIDE / dt)), 1)
    noise, sp, is_lel = _spec_arrays(site.specs)
    zc: dict[str, int] = {}
    zone = np.array([zc.setdefault(z, len(zc)) for z in site.zones])
    train_seed = spec.train_seeds[0]
    ss = np.random.SeedSequence(train_seed)
    s_ens, s_det, s_free, s_sub = ss.spawn(4)
    eps = sample_episodes(spec, site, n_ep, np.random.default_rng(s_ens))
    traces, _ = true_traces(eps, site, steps)
    R = detector_readings(site.specs, copies=n_ep, steps=steps, dt=dt, rng=np.random.default_rng(s_det),
                          true_at=lambda k: traces[k])
    rng = np.random.default_rng(s_sub)
    X1, y1 = _windows(R, traces, noise, sp, zone, is_lel, dt, W, every, spec.pre_leak,
                      spec.pre_leak + spec.detection_window, rng, 0.3)
    del R
    chunk = min(8 * 3600.0, free)
    copies = max(1, int(math.ceil(free / chunk)))
    Rf = detector_readings(site.specs, copies=copies, steps=int(round(chunk / dt)), dt=dt,
                           rng=np.random.default_rng(s_free), warmup_steps=0)
    X2, y2 = _windows(Rf, None, noise, sp, zone, is_lel, dt, W, every, 0, 0, rng, 0.3)
    del Rf
    X, y = np.concatenate([X1, X2]), np.concatenate([y1, y2])
    if y.sum() == 0 or y.sum() == y.size:
        raise InputError("the training windows hold only one class; raise episodes or leak_free", where="episodes")
    model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=0)
    model.fit(X, y)
    card: dict[str, Any] = {
        "model": "scikit-learn HistGradientBoostingClassifier (gradient-boosted trees)",
        "drilltwin_version": getattr(drills, "__version__", None) or _pkg_version(),
        "sklearn_version": sklearn.__version__, "format": MODEL_FORMAT,
        "features": list(FEATURES), "window_s": WINDOW, "stride_s": STRIDE,
        "training_data": {"lab": str(lab_path) if lab_path else None, "scenario": str(spec.scenario),
                          "gas": site.gas.key, "seed": train_seed, "seed_range": list(spec.train_seeds),
                          "episodes": n_ep, "families": dict(spec.families), "leak_free_days": copies * chunk / 86400.0,
                          "windows": int(y.size), "positive_windows": int(y.sum()),
                          "negatives_kept": 0.3},
        "threshold": threshold,
    }
    bundle = {"format": MODEL_FORMAT, "model": model, "card": card}
    out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(bundle, out)
    # held-out: windows from a test seed, and the model as an alert policy in the lab on the test seed
    test_seed = spec.test_seeds[0]
    if test_seed == train_seed or spec.test_seeds[0] <= spec.train_seeds[1] and spec.test_seeds[1] >= spec.train_seeds[0]:
        raise InputError("train_seeds and test_seeds overlap", where="test_seeds")
    t_ep = test_episodes if test_episodes is not None else n_ep
    tss = np.random.SeedSequence(test_seed).spawn(4)
    teps = sample_episodes(spec, site, t_ep, np.random.default_rng(tss[0]))
    ttr, _ = true_traces(teps, site, steps)
    Rt = detector_readings(site.specs, copies=t_ep, steps=steps, dt=dt, rng=np.random.default_rng(tss[1]),
                           true_at=lambda k: ttr[k])
    Xt, yt = _windows(Rt, ttr, noise, sp, zone, is_lel, dt, W, every, spec.pre_leak,
                      spec.pre_leak + spec.detection_window, np.random.default_rng(tss[3]), 1.0)
    del Rt
    pt = model.predict_proba(Xt)[:, 1]
    auc = float(roc_auc_score(yt, pt)) if 0 < yt.sum() < yt.size else None
    pols = {"model": {"policy": "model", "path": str(out.resolve()), "threshold": threshold},
            spec.reference: dict(spec.policies[spec.reference])}
    lab = run_lab(spec, seed=test_seed, episodes=t_ep,
                  leak_free=test_leak_free if test_leak_free is not None else free, site=site, policies=pols)
    rows = {r["variant"]: r for r in score(lab)["summary"] if r["leak_class"] == "all"}
    m = rows["model"]
    card["held_out"] = {
        "seed": test_seed, "seed_range": list(spec.test_seeds), "episodes": t_ep,
        "leak_free_days": lab.free_sim.copies * lab.free_sim.duration / 86400.0,
        "window_roc_auc": auc, "windows": int(yt.size), "positive_windows": int(yt.sum()),
        **{k: _clean(m[k]) for k in ("probability_of_detection", "lead_vs_setpoint_median_s",
                                     "false_alerts_per_day", "false_alerts_per_week_per_operator",
                                     "precision", "recall", "f1")},
        "reference_probability_of_detection": _clean(rows[spec.reference]["probability_of_detection"]),
    }
    bundle["card"] = card
    joblib.dump(bundle, out)
    card_path = out.with_suffix(".card.json")
    card_path.write_text(json.dumps(card, indent=2), encoding="utf-8")
    card["card_path"] = str(card_path)
    card["model_path"] = str(out)
    return card


def _clean(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _pkg_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("drilltwin")
    except Exception:  # not installed as a package
        return None
