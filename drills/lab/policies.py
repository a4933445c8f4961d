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

__all__ = ["ActiveInterval", "AlertRecord", "SimResult", "parse_policy", "policy_names", "simulate"]


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


@dataclass(frozen=True)
class ActiveInterval:
    """A zone of one policy variant active (rank > 0) from ``start`` to ``end`` s (``end`` = the stream's end
    when still active)."""

    policy: str
    copy: int
    zone: Hashable
    start: float
    end: float


@dataclass
class SimResult:
    """Alerts and activity of every policy variant over ``copies`` copies of ``duration`` s each."""

    alerts: list[AlertRecord] = field(default_factory=list)
    intervals: list[ActiveInterval] = field(default_factory=list)
    copies: int = 0
    duration: float = 0.0
    dt: float = 1.0


def policy_names() -> tuple[str, ...]:
    """The built-in policies, plus ``model`` (a trained model, :mod:`drills.lab.learned`)."""
    from drills.alerts.policies import POLICIES

    return (*POLICIES, "model")


def parse_policy(cfg: Any, where: str) -> Any:
    """Validate one policy mapping (a scenario's ``alerts:`` block); ``policy: model`` stays a dict."""
    from drills.alerts.policies import parse_alerts
    from twin.errors import InputError

    if isinstance(cfg, dict) and cfg.get("policy") == "model":
        if not cfg.get("path"):
            raise InputError("policy: model needs path: (the model file written by drilltwin alerts train)",
                             where=f"{where}.path")
        return dict(cfg)
    return parse_alerts(cfg, where=where)


def _engine(cfg: Any, specs: list, zones: list, positions: np.ndarray, dt: float, base_dir: Any = None):
    if isinstance(cfg, dict) and cfg.get("policy") == "model":
        from drills.lab.learned import ModelEngine

        return ModelEngine(cfg, specs, zones, positions, step=dt, base_dir=base_dir)
    from drills.alerts.policies import AlertEngine

    return AlertEngine(cfg, specs, zones, positions, step=dt, rearm=0.0)


def simulate(policies: dict[str, Any], specs: Sequence[Any], zones: Sequence[Hashable], positions: Any, *,
             copies: int, steps: int, dt: float, rng: np.random.Generator,
             true_at: Callable[[int], np.ndarray] | None = None, warmup_steps: int = 900,
             base_dir: Any = None, progress: Callable[[int], None] | None = None) -> SimResult:
    """Run the detectors and every policy variant over ``copies`` x ``steps`` samples (see the module).

    ``specs`` (:class:`twin.sensors.DetectorSpec`), ``zones`` and ``positions`` (n, 2|3) describe the
    site's n detectors. ``true_at(k)`` returns the true concentration at step ``k`` (0-based, after the
    warm-up; ``t = (k + 1) dt``) as an array ``(copies, n)`` in each detector's unit; ``None`` means clean
    air (leak-free operation). All randomness comes from ``rng``.
    """
    from twin.sensors import DetectorArray

    n = len(specs)
    pos = np.asarray(positions, dtype=float).reshape(n, -1)[:, :2]
    from twin.sensors import resolve_spec

    # The same resolved spec objects in every copy (names repeat: the lab never addresses a detector by
    # name inside the folded array, and sharing the objects keeps the set-up cheap).
    base = [resolve_spec(replace(s, id=None)) for s in specs]
    all_specs = base * copies
    all_zones = [(c, z) for c in range(copies) for z in zones]
    t0 = -warmup_steps * dt
    det = DetectorArray(all_specs, rng, start=t0)
    engines = {name: _engine(cfg, all_specs, all_zones, np.tile(pos, (copies, 1)), dt, base_dir)
               for name, cfg in policies.items()}
    res = SimResult(copies=copies, duration=steps * dt, dt=dt)
    on_since = {name: np.full(eng.nz, np.nan) for name, eng in engines.items()}
    zero = np.zeros(copies * n)
    for k in range(-warmup_steps, steps):
        t = (k + 1) * dt
        u = zero if (true_at is None or k < 0) else np.asarray(true_at(k), dtype=float).reshape(-1)
        r = det.update(t, u)
        bad = det.fault | det.inhibited
        lv = det.levels()
        for name, eng in engines.items():
            new = eng.update(t, r, fault_flags=bad, levels=lv, fresh=det.fresh)
            if k >= 0:
                for a in new:
                    c, z = a.zone
                    res.alerts.append(AlertRecord(name, int(c), t, z, a.rank, a.level,
                                                  tuple(a.sensors)))
            on = eng._prev_on["gas"]  # interim: the engine's own activity flags per zone
            since = on_since[name]
            started = on & np.isnan(since)
            ended = ~on & ~np.isnan(since)
            if ended.any():
                for zi in np.flatnonzero(ended):
                    c, z = eng.zone_labels[zi]
                    if t > 0:
                        res.intervals.append(ActiveInterval(name, int(c), z, max(float(since[zi]), 0.0), t))
                since[ended] = np.nan
            since[started] = t
        if progress is not None and k >= 0 and k % 600 == 0:
            progress(k)
    for name, since in on_since.items():
        for zi in np.flatnonzero(~np.isnan(since)):
            c, z = engines[name].zone_labels[zi]
            res.intervals.append(ActiveInterval(name, int(c), z, max(float(since[zi]), 0.0), steps * dt))
    return res
