"""The one place where the alert lab calls the project's detector model and alert policies.

Everything else in :mod:`drills.lab` sees plain arrays and records; when the detector model or the
policies change their API, only this module changes.

How long streams run (the interim adapter)
------------------------------------------
:class:`drills.alerts.policies.AlertEngine` and :class:`twin.sensors.DetectorArray` step one time instant
at a time but are vectorised over detectors. The lab therefore *folds time into columns*: a stream of
``T`` samples is cut into ``C`` chunks of ``L = T / C`` samples, and the ``C`` chunks run side by side as
``C`` copies of the site's detectors (each copy its own zones, so zone voting never mixes chunks). A
stream of one plant-year then costs ``L + W`` calls instead of ``T``. Each chunk starts ``W`` samples
early (the *warm-up*, default 15 min) and its alerts inside the warm-up are dropped: the statistics
forget their start by then (a CUSUM that has touched zero, an EWMA after ``W`` weights of ``1 - lambda``,
a rate window of 5 min, a delay-on timer) so the chunked stream gives the alerts of one continuous
stream except in the rare case that a statistic stays away from its baseline for the whole warm-up
(tested in ``tests/drills/lab/test_policies.py``).

Leak episodes run the same way: each episode is one copy of the detectors, all episodes side by side.

What each alert record holds: ``policy`` (the lab's name of the policy variant), ``copy`` (chunk or
episode), ``t`` (s from the copy's start, after the warm-up), ``zone`` (the zone label), ``rank`` and
``level``, ``sensors``. Activity intervals (a zone of a policy is *active* while its rank is above 0)
are recorded too, for the chattering and stale-alarm KPIs.

Limits of the interim model: each chunk is a fresh copy of the detectors, so a slow zero drift restarts
at every chunk (drift over a plant-year is not followed); cameras are not simulated in the lab.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["Activity", "AlertRecord", "SimResult", "detector_readings", "parse_policy", "policy_names", "replay",
           "simulate"]


@dataclass(frozen=True)
class AlertRecord:
    """One alert raised by one policy variant in one copy (chunk or episode); ``t`` s from the copy's start."""

    policy: str
    copy: int
    t: float
    zone: Hashable
    rank: int
    level: str
    sensors: tuple[str, ...]


@dataclass
class Activity:
    """Activations of one policy variant: a zone becomes active (rank > 0) at ``start`` and quiet again at
    ``end`` (s from the copy's start; ``end`` = the stream's end when still active), per ``copy`` and
    ``zone`` (label). An activation is what an operator sees as one alarm (ISA-18.2 counts annunciations)."""

    copy: np.ndarray
    zone: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class SimResult:
    """Alert records and activations of every policy variant over ``copies`` copies of ``duration`` s."""

    alerts: list[AlertRecord] = field(default_factory=list)
    activity: dict[str, Activity] = field(default_factory=dict)
    copies: int = 0
    duration: float = 0.0
    dt: float = 1.0


def policy_names() -> tuple[str, ...]:
    """The policies (``model``: a trained model, :mod:`drills.alerts.learned`)."""
    from drills.alerts.policies import POLICIES

    return tuple(POLICIES)


def parse_policy(cfg: Any, where: str) -> Any:
    """Validate one policy mapping (a scenario's ``alerts:`` block, ``policy: model`` included)."""
    from drills.alerts.policies import parse_alerts

    return parse_alerts(cfg, where=where)


def _engine(cfg: Any, specs: list, zones: list, positions: np.ndarray, dt: float, rearm: Any,
            base_dir: Any = None):
    if cfg.policy == "model":
        from drills.alerts.learned import ModelEngine

        return ModelEngine(cfg, specs, zones, positions, step=dt, rearm=rearm, base_dir=base_dir)
    from drills.alerts.policies import AlertEngine

    return AlertEngine(cfg, specs, zones, positions, step=dt, rearm=rearm)


def simulate(policies: dict[str, Any], specs: Sequence[Any], zones: Sequence[Hashable], positions: Any, *,
             copies: int, steps: int, dt: float, rng: np.random.Generator,
             true_at: Callable[[int], np.ndarray] | None = None, warmup_steps: int = 900,
             rearm: float | None = 0.0, base_dir: Any = None) -> SimResult:
    """Run the detectors and every policy variant over ``copies`` x ``steps`` samples (see the module).

    ``specs`` (:class:`twin.sensors.DetectorSpec`), ``zones`` and ``positions`` (n, 2|3) describe the
    site's n detectors. ``true_at(k)`` returns the true concentration at step ``k`` (0-based, after the
    warm-up; ``t = (k + 1) dt``) as an array ``(copies, n)`` in each detector's unit; ``None`` means clean
    air (leak-free operation). ``rearm`` is passed to the engines: it limits the alert *records* (0: one
    per activation; None: the first per zone and level); activations are recorded either way. All
    randomness comes from ``rng``.
    """
    from twin.sensors import DetectorArray, resolve_spec

    n = len(specs)
    pos = np.asarray(positions, dtype=float).reshape(n, -1)[:, :2]
    # The same resolved spec objects in every copy (names repeat: the lab never addresses a detector by
    # name inside the folded array, and sharing the objects keeps the set-up cheap).
    base = [resolve_spec(replace(s, id=None)) for s in specs]
    all_specs = base * copies
    all_zones = [(c, z) for c in range(copies) for z in zones]
    t0 = -warmup_steps * dt
    det = DetectorArray(all_specs, rng, start=t0)
    engines = {name: _engine(cfg, all_specs, all_zones, np.tile(pos, (copies, 1)), dt, rearm, base_dir)
               for name, cfg in policies.items()}
    res = SimResult(copies=copies, duration=steps * dt, dt=dt)
    if true_at is None:
        _run_clean(det, engines, res, warmup_steps, steps, dt)
        return res
    prev = {name: np.zeros(eng.nz, dtype=bool) for name, eng in engines.items()}
    ons: dict[str, list[tuple[float, np.ndarray]]] = {name: [] for name in engines}
    offs: dict[str, list[tuple[float, np.ndarray]]] = {name: [] for name in engines}
    zero = np.zeros(copies * n)
    for k in range(-warmup_steps, steps):
        t = (k + 1) * dt
        u = zero if k < 0 else np.asarray(true_at(k), dtype=float).reshape(-1)
        r = det.update(t, u)
        bad = det.fault | det.inhibited
        lv = det.levels()
        for name, eng in engines.items():
            new = eng.update(t, r, fault_flags=bad, levels=lv, fresh=det.fresh)
            if k >= 0:
                _record(res, name, new)
            on = eng._prev_on["gas"]  # interim: the engine's own activity flags per zone
            p = prev[name]
            if k == 0 and p.any():
                # activity carried over from the warm-up: marked with start -dt (it began in the time of
                # the previous chunk, which counts it); kept so that onsets and offsets pair up
                ons[name].append((-dt, np.flatnonzero(p)))
            if not np.array_equal(on, p):
                if k >= 0:
                    st = np.flatnonzero(on & ~p)
                    en = np.flatnonzero(~on & p)
                    if st.size:
                        ons[name].append((t, st))
                    if en.size:
                        offs[name].append((t, en))
                p[:] = on
    end = steps * dt
    for name, eng in engines.items():
        res.activity[name] = _intervals(ons[name], offs[name], eng.zone_labels, end, prev[name])
    return res


def _record(res: SimResult, name: str, new: list) -> None:
    for a in new:
        c, z = a.zone
        res.alerts.append(AlertRecord(name, int(c), float(a.t), z, a.rank, a.level, tuple(a.sensors)))


CLEAN_BLOCK = 64  # rows of clean-air readings at once (small blocks stay in cache: 11,000 columns x 64 rows)


def _run_clean(det: Any, engines: dict[str, Any], res: SimResult, warmup_steps: int, steps: int, dt: float) -> None:
    """Leak-free operation in blocks: the detectors' clean-air rows at once (``DetectorArray.clean_block``)
    and each policy over them (``AlertEngine.scan_clean``, resumed after every alert), falling back to
    single steps where a block is not exact (a reading reaching a set point, an alarm level on). The
    results equal the step-by-step run (tested). Activations are the engines' alert episodes (``rearm``
    0: every activation opens one); an episode begun in the warm-up has a negative start."""
    from drills.alerts.learned import ModelEngine

    total = warmup_steps + steps
    k = 0
    n = len(det.names)
    zero = np.zeros(n)
    while k < total:
        blk = det.clean_block(dt, min(CLEAN_BLOCK, total - k))
        if blk is None or len(blk) == 0:
            r = det.update(det.time + dt, zero)
            bad = det.fault | det.inhibited
            lv = det.levels()
            t = det.time
            for name, eng in engines.items():
                new = eng.update(t, r, fault_flags=bad, levels=lv, fresh=det.fresh)
                if t > 0:
                    _record(res, name, new)
            k += 1
            continue
        m = len(blk)
        bad = det.fault | det.inhibited
        fresh = ~det.fault
        lv0 = np.zeros(n, dtype=np.int8)
        for name, eng in engines.items():
            j = 0
            while j < m:
                if isinstance(eng, ModelEngine):  # no block scan: row by row
                    new = eng.update(float(blk.times[j]), blk.readings[j], fault_flags=bad, levels=lv0, fresh=fresh)
                    stop = 0
                else:
                    stop, new = eng.scan_clean(blk.times[j:], blk.readings[j:], bad, fresh)
                _record(res, name, [a for a in new if a.t > 0])
                j += stop + 1
        det.commit_clean(blk, m - 1)
        k += m
    end = steps * dt
    for name, eng in engines.items():
        eps = [e for e in eng.episodes if e.policy != "camera"]
        copy = np.array([e.zone[0] for e in eps], dtype=np.int64)
        zone = np.array([e.zone[1] for e in eps], dtype=object) if eps else np.zeros(0, dtype=object)
        start = np.array([e.start for e in eps], dtype=float)
        # an episode begun in the warm-up counts as carried over (start < 0), whatever its exact time
        start = np.where(start <= 0, np.minimum(start, -dt), start)
        stop = np.array([end if e.end is None else min(e.end, end) for e in eps], dtype=float)
        keep = stop > 0
        o = np.lexsort((start[keep], copy[keep]))
        res.activity[name] = Activity(copy[keep][o], zone[keep][o], start[keep][o], stop[keep][o])


def _intervals(ons: list, offs: list, labels: list, end: float, still_on: np.ndarray) -> Activity:
    """Pair each zone's onsets with its next offset (vectorised over all zones)."""
    def flat(ev: list) -> tuple[np.ndarray, np.ndarray]:
        if not ev:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        return (np.concatenate([np.full(len(z), t) for t, z in ev]), np.concatenate([z for _, z in ev]))

    t_on, z_on = flat(ons)
    t_off, z_off = flat(offs)
    # append the stream's end as the offset of zones still active
    z_end = np.flatnonzero(still_on)
    t_off = np.concatenate([t_off, np.full(z_end.size, end)])
    z_off = np.concatenate([z_off, z_end])
    o1 = np.lexsort((t_on, z_on))
    o2 = np.lexsort((t_off, z_off))
    # onsets and offsets alternate per zone, so after sorting by (zone, time) they pair one to one
    t_on, z_on, t_off = t_on[o1], z_on[o1], t_off[o2]
    if len(t_on) != len(t_off):  # an offset with no onset (a zone active since before the warm-up ended)
        m = min(len(t_on), len(t_off))
        t_on, z_on, t_off = t_on[:m], z_on[:m], t_off[:m]
    lab = np.array([labels[z] for z in z_on], dtype=object) if len(z_on) else np.zeros(0, dtype=object)
    copy = np.array([c for c, _ in lab], dtype=np.int64) if len(lab) else np.zeros(0, dtype=np.int64)
    zone = np.array([z for _, z in lab], dtype=object) if len(lab) else np.zeros(0, dtype=object)
    o = np.lexsort((t_on, copy))
    return Activity(copy[o], zone[o], t_on[o], t_off[o])


def replay(cfg: Any, specs: Sequence[Any], zones: Sequence[Hashable], positions: Any, *, values: np.ndarray,
           fresh: np.ndarray, out_of_service: np.ndarray, step: float, mu0: np.ndarray | None = None,
           sigma0: np.ndarray | None = None, policy_label: str | None = None) -> list[AlertRecord]:
    """Run one policy over recorded readings ``values`` (T, n) on a grid of ``step`` s (grid time of row k
    is ``k step``). ``fresh``: a new reading arrived; ``out_of_service``: the detector does not vote
    (no reading yet, a gap). ``mu0``/``sigma0``: baselines learned from the log (replace the ones the
    policy takes from the detector noise model, NaN = keep; the thresholds on the standardized statistic
    stay)."""
    from twin.sensors import resolve_spec

    n = len(specs)
    pos = np.asarray(positions, dtype=float).reshape(n, -1)[:, :2]
    base = [resolve_spec(replace(s, id=None)) for s in specs]
    eng = _engine(cfg, base, list(zones), pos, step, "config")
    # interim: the engine's baseline arrays; NaN keeps the noise model's value for that detector
    if mu0 is not None and hasattr(eng, "mu0"):
        eng.mu0[:] = np.where(np.isnan(mu0), eng.mu0, mu0)
    if sigma0 is not None and hasattr(eng, "sigma0"):
        eng.sigma0[:] = np.where(np.isnan(sigma0), eng.sigma0, sigma0)
    if getattr(eng, "baseline", None) is not None and mu0 is not None:
        eng.baseline.b[:] = eng.mu0  # the tracked clean-air baseline starts from the learned mean
    label = policy_label or cfg.policy
    outl: list[AlertRecord] = []
    for k in range(values.shape[0]):
        t = k * step
        r = values[k]
        bad = out_of_service[k]
        for a in eng.update(t, r, fault_flags=bad, levels=None, fresh=fresh[k]):
            outl.append(AlertRecord(label, 0, t, a.zone, a.rank, a.level, tuple(a.sensors)))
    return outl


def detector_readings(specs: Sequence[Any], *, copies: int, steps: int, dt: float, rng: np.random.Generator,
                      true_at: Callable[[int], np.ndarray] | None = None, warmup_steps: int = 0) -> np.ndarray:
    """What the detectors show, ``(steps, copies, n)`` float32, at ``t = (k + 1) dt`` (the same detector
    model and stream use as :func:`simulate`; for training learned policies)."""
    from twin.sensors import DetectorArray, resolve_spec

    n = len(specs)
    base = [resolve_spec(replace(s, id=None)) for s in specs]
    det = DetectorArray(base * copies, rng, start=-warmup_steps * dt)
    out = np.zeros((steps, copies, n), dtype=np.float32)
    zero = np.zeros(copies * n)
    for k in range(-warmup_steps, steps):
        u = zero if (true_at is None or k < 0) else np.asarray(true_at(k), dtype=float).reshape(-1)
        r = det.update((k + 1) * dt, u)
        if k >= 0:
            out[k] = r.reshape(copies, n)
    return out
