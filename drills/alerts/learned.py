"""Learned alert policies: window features across neighbouring detectors and the model as an alert policy.

Training and the model card are in :mod:`drills.lab.training` (``drilltwin alerts train``).

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

``policy: model`` (``path:`` the model file, relative to the scenario; ``threshold:`` probability, default
0.5) runs the model in drills, in the lab and in replays through :class:`ModelEngine`, which raises alerts
with the same zone de-duplication, re-arming, escalation, episodes and cameras as the built-in policies. Model files are Python pickles (joblib): load only
files you trust.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import InputError

__all__ = ["FEATURES", "MODEL_FORMAT", "STRIDE", "WINDOW", "ModelEngine", "features", "load_model", "spec_arrays"]

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


def spec_arrays(specs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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

    def __init__(self, config: Any, specs: Sequence[Any], zones: Sequence[Hashable], positions: Any, *,
                 step: float = 1.0, rearm: Any = "config", base_dir: Path | None = None, **engine_kw: Any):
        from drills.alerts.policies import AlertEngine, ThresholdConfig, parse_alerts

        global threadpool_limits
        from threadpoolctl import threadpool_limits

        cfg = parse_alerts(config)
        self.config = cfg
        path = Path(cfg.path)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        bundle = load_model(path)
        self.model = bundle["model"]
        self.threshold = float(cfg.threshold)
        # the zone bookkeeping, alert records, episodes and cameras of the built-in engine, driven by our
        # signals (its own threshold voting is never called)
        inner = ThresholdConfig(rearm=cfg.rearm, latency=cfg.latency, camera_confidence=cfg.camera_confidence,
                                operator=cfg.operator)
        self._eng = AlertEngine(inner, specs, zones, positions, step=step, rearm=rearm, **engine_kw)
        self._eng.policy = "model"
        self._eng.config = cfg
        self.dt = float(step)
        self.W = max(int(round(bundle["card"]["window_s"] / self.dt)), 2)
        self.every = max(int(round(bundle["card"]["stride_s"] / self.dt)), 1)
        n = len(specs)
        self.noise, self.sp, self.is_lel = spec_arrays(specs)
        self.buf = np.zeros((self.W, n))
        self.k = 0
        self.sig = np.zeros(n, dtype=bool)
        self.prob = np.zeros(n)

    def __getattr__(self, name: str) -> Any:
        # everything but update (cameras, alerts, episodes, zones, hooks) is the inner engine's
        if name == "_eng":
            raise AttributeError(name)
        return getattr(self._eng, name)

    def scan_clean(self, times: np.ndarray, readings: np.ndarray, fault_flags: np.ndarray, fresh: np.ndarray,
                   cameras_last: bool = True) -> tuple[int, list]:
        """:meth:`AlertEngine.scan_clean` for the model: its window and stride need every row, so the rows
        go through :meth:`update` one by one (the inner engine's scan would run threshold voting)."""
        zero = np.zeros(len(self._eng.specs), dtype=np.int8)
        m = len(times)
        for j in range(m):
            t = float(times[j])
            new = self.update(t, readings[j], fault_flags=fault_flags, levels=zero, fresh=fresh)
            if cameras_last or j < m - 1:
                new += self._eng.update_cameras(t, [])
            if new:
                return j, new
        return m - 1, []

    def scan_block(self, times: np.ndarray, *args: Any, **kw: Any) -> tuple[int, Any]:
        """No look-ahead for the model (its features need each row in turn): every gas step goes one by
        one (row 0 stops the block)."""
        return 0, lambda k: None

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
