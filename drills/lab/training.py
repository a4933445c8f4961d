"""``drilltwin alerts train``: labelled windows from the twin, gradient-boosted trees, a model card.

See :mod:`drills.alerts.learned` for the features, the labels and ``policy: model``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from drills.alerts.learned import FEATURES, MODEL_FORMAT, STRIDE, WINDOW, features, spec_arrays
from twin.errors import InputError

__all__ = ["train"]


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
    noise, sp, is_lel = spec_arrays(site.specs)
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
