"""A joint exercise as one simulation: every site on one SimPy clock and in one outdoor field.

:func:`run_region` builds each member site with :func:`drills.sim.engine.build_run` on a shared
``simpy.Environment`` and a :class:`~drills.region.field.SiteCoupling` to the regional outdoor air, starts
the regional procedures (:mod:`drills.region.workflow`), runs the clock to the region's ``duration`` and
returns a :class:`RegionResult`: each site's :class:`~drills.sim.engine.RunResult`, the combined timeline with a
``site`` column and the regional KPIs.

**Clock and KPIs.** One exercise clock: every time is measured from the region's first release (or, with
no release, from 0), for the regional KPIs and for each site's own. Each site's scenario ``duration`` is
ignored; the region's holds.

**Randomness.** The region's seed feeds one :class:`agents.rng.RngStreams`; site *k* runs with the seed of
stream ``site:<name>`` (so adding a site never shifts another site's draws), the regional procedures
draw from ``region:workflow``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agents.rng import RngStreams
from drills.region.model import Region
from twin.errors import InputError
from twin.gas import get_gas
from twin.plume import Weather

__all__ = ["RegionResult", "run_region", "site_seed", "REGION_KPI_KEYS"]

REGION_KPI_KEYS = ("t_first_aid_arrival", "t_all_sites_warned", "exposed_offsite", "resource_wait_s")


@dataclass
class RegionResult:
    """What a joint exercise leaves: per-site results, the regional timeline ``(t, site, kind, agent,
    node, detail)`` (site order within a time, then each site's own order) and the regional KPIs."""

    region: Region
    seed: int
    kpis: dict[str, Any]
    sites: dict[str, Any]  # name -> RunResult
    events: list[tuple[float, str, str, int, str, str]]
    aid: list[Any]
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def site_seed(seed: int, name: str) -> int:
    """The seed site ``name`` runs with inside a region seeded ``seed``."""
    return int(RngStreams(seed).seed_sequence(f"site:{name}").generate_state(1)[0])


def _region_gases(region: Region) -> tuple[tuple[str, ...], float | None]:
    """Gas keys released anywhere in the region (first-seen order) and the first release time (s)."""
    from drills.spec.scenario import all_hazards

    keys: list[str] = []
    t0: float | None = None
    for s in region.sites:
        for k, h in enumerate(all_hazards(s.scenario)):
            try:
                key = get_gas(h.gas).key
            except InputError as e:
                raise InputError(f"site {s.name!r}: {e.message}", source=str(region.path or "<region>"),
                                 where=f"sites[{s.index}].scenario: hazards[{k}].gas") from None
            if key not in keys:
                keys.append(key)
            t0 = h.start if t0 is None else min(t0, h.start)
    return tuple(keys), t0


def run_region(region: Region, seed: int | None = None, *, log_trajectories: bool = True,
               progress: Callable[[float], None] | None = None) -> RegionResult:
    """Run the joint exercise; ``seed`` overrides the region's. ``progress(t)`` gets the simulated time
    (s) every 1 % of the duration."""
    import simpy

    from drills.region.field import SharedOutdoorField
    from drills.region.workflow import RegionLayer
    from drills.sim.engine import build_run, finish_run

    seed = region.spec.seed if seed is None else int(seed)
    src = str(region.path or "<region>")
    duration = region.spec.duration
    streams = RngStreams(seed)
    env = simpy.Environment()
    gases, t_first = _region_gases(region)
    w = region.spec.weather
    weather = Weather(w.wind_speed, w.wind_from, w.stability, w.terrain)
    fld = SharedOutdoorField(weather, gases, t_first if t_first is not None else 0.0)
    runs: dict[str, Any] = {}
    for s in region.sites:
        coupling = fld.attach(s.index, s.frame, s.footprint)
        try:
            run = build_run(s.scenario, site_seed(seed, s.name), s.graph, log_trajectories, env=env,
                            outdoor=coupling)
        except InputError as e:
            raise InputError(f"site {s.name!r}: {e}", source=src, where=f"sites[{s.index}].scenario") from None
        runs[s.name] = run
    t0 = t_first if t_first is not None else 0.0
    procs = RegionLayer(region, env, runs, streams["region:workflow"])
    for s in region.sites:
        run = runs[s.name]
        run.t0 = t0  # one exercise clock for every site's KPIs
        if run.hazards is not None:
            run.hazards.observers.append(lambda a, name=s.name: procs.on_alert(name, a))
        run.model.start()
    procs.start()
    if progress is not None:
        def tick(every=duration / 100.0):
            while True:
                yield env.timeout(every)
                progress(env.now)

        env.process(tick())
    wall0 = time.perf_counter()
    env.run(until=duration)
    wall = time.perf_counter() - wall0
    # an alarm sounded at a site (its own procedure or an inject) also warns it
    for name, run in runs.items():
        t_alarm = min((e[0] for e in run.log if e[1] == "alarm"), default=None)
        if t_alarm is not None and (name not in procs.warned or t_alarm < procs.warned[name][0]):
            procs.warned[name] = (t_alarm, "alarm")
    results = {name: finish_run(run, wall) for name, run in runs.items()}
    kpis = _region_kpis(region, results, procs, t0, duration, wall)
    events = _timeline(region, results, procs)
    return RegionResult(region, seed, kpis, results, events, procs.aid, wall,
                        extra={"warned": dict(procs.warned), "gases": gases, "t0": t0,
                               "transitions": list(procs.runner.transitions), "caveats": procs.runner.caveats})


def _region_kpis(region: Region, results: dict[str, Any], procs: Any, t0: float, duration: float,
                 wall: float) -> dict[str, Any]:
    from drills.spec.scenario import all_hazards

    sources = {s.name for s in region.sites if all_hazards(s.scenario)}
    k = procs.kpis(t0, duration)
    off = [results[s.name].kpis for s in region.sites if s.name not in sources]
    k["exposed_offsite"] = int(sum(x.get("exposed_idlh") or 0 for x in off))
    k["peak_ppm_offsite"] = max((x.get("peak_ppm") or 0.0 for x in off), default=0.0)
    k["source_sites"] = sorted(sources)
    tot = {key: sum(int(r.kpis.get(key) or 0) for r in results.values())
           for key in ("occupants", "safe", "trapped", "incapacitated", "exposed_idlh")}
    k.update(tot)
    k["sites"] = len(region.sites)
    k["wall_s"] = round(wall, 4)
    # every KPI of docs/region.md is present, null when it did not happen
    return {**dict.fromkeys(REGION_KPI_KEYS), **k}


def _timeline(region: Region, results: dict[str, Any], procs: Any) -> list[tuple[float, str, str, int, str, str]]:
    rows: list[tuple[float, str, str, int, str, str]] = []
    for s in region.sites:
        rows.extend((t, s.name, kind, a, n, d) for t, kind, a, n, d in results[s.name].events)
    rows.extend((t, site, kind, -1, "", d) for t, site, kind, d in procs.rows)
    # stable: within one time, sites in region order, then the region's own events, each in its order
    return sorted(rows, key=lambda e: e[0])
