"""The run engine: a scenario and a seed become one simulated drill.

:func:`build_run` resolves the scenario against its site (every name checked, errors naming the field),
places the people with the ``people`` random stream and schedules the cues and injects;
:func:`run_scenario` runs the SimPy clock and returns a :class:`RunResult` with the event log,
trajectories and KPIs. Nothing here writes files (see :mod:`drills.outputs.results`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from agents.crowd import Person
from agents.flow import sfpe_speed_note
from agents.model import DrillModel
from agents.people import demographic_speeds, sample_points
from drills.sim.kpis import compute_kpis
from drills.sim.run import Run, RunResult, resolve_spaces
from drills.spec.checks import scenario_warnings
from drills.spec.limits import JAM_DENSITY, MAX_DENSITY
from drills.spec.scenario import DEFAULT_PREMOVEMENT, DEFAULT_SPEED, PopulationEntry, Scenario
from twin.distributions import Distribution
from twin.errors import InputError
from twin.graph import SiteGraph
from twin.load import load_twin

__all__ = ["Run", "RunResult", "build_run", "finish_run", "run_scenario", "resolve_spaces", "site_graph"]


def _split_count(g: SiteGraph, spaces: list[str], count: int) -> list[int]:
    """Largest-remainder split of ``count`` over ``spaces`` by floor area (deterministic)."""
    area = np.array([g.site.spaces[s].area for s in spaces], dtype=float)
    raw = count * area / area.sum()
    out = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - out), kind="stable")[: count - out.sum()]:
        out[k] += 1
    return out.tolist()


def _check_density(g: SiteGraph, people: list[Person]) -> list[str]:
    """Refuse a start denser than :data:`~drills.spec.limits.MAX_DENSITY` in any space (people who do
    not fit on the floor would make every flow and time meaningless); return a warning for each space
    denser than :data:`~drills.spec.limits.JAM_DENSITY` (nobody there can walk at first)."""
    from collections import Counter

    warnings = []
    for sid, n in Counter(p.space for p in people).items():
        area = g.site.spaces[sid].area
        if area <= 0:
            continue
        sp, d = g.site.spaces[sid], n / area
        if d > MAX_DENSITY:
            raise InputError(f"{n:,} people start in {sp.name!r} ({area:,.1f} m2): {d:,.1f} p/m2, more than "
                             f"fits on the floor (the limit is {MAX_DENSITY:g} p/m2, the densest crowds "
                             "measured; docs/limits.md)", where="population")
        if d > JAM_DENSITY:
            warnings.append(f"population: {n:,} people start in {sp.name!r} at {d:,.1f} p/m2, above the jam "
                            f"density {JAM_DENSITY:g} p/m2 (Weidmann 1993): nobody there can walk until "
                            "the crowd thins")
    return warnings


def _site_warnings(sc: Scenario, people: list[Person], hazards: Any) -> list[str]:
    """Warnings that need the site: workflows asking for more people of a role than the site has, more
    responders dropping out than exist, alert triggers with no detector or policy to raise an alert."""
    from collections import Counter

    from drills.workflow.engine import agent_role

    have = Counter(p.role for p in people)
    out = []
    for i, wf in enumerate(sc.workflows):
        for r, n in wf.roles.items():
            role = agent_role(r)
            if n > have.get(role, 0):
                out.append(f"workflows[{i}].roles.{r}: {n} wanted, {have.get(role, 0)} {role}(s) in the population; "
                           f"{n - have.get(role, 0)} counted as off-site (they acknowledge but cannot walk)")
        if wf.trigger.alert is not None and hazards is None:
            out.append(f"workflows[{i}].trigger: no detector or alert policy in this scenario raises alerts, so "
                       f"workflow {wf.name!r} never starts")
        lvl = wf.trigger.level
        if hazards is not None and isinstance(lvl, int) and not isinstance(lvl, bool):
            most = max([2] + [len(sp.setpoints) for sp in hazards.sensors.gas.specs])
            if lvl > most:
                out.append(f"workflows[{i}].trigger.level: set point {lvl}, but no detector has more than {most} "
                           f"set points, so workflow {wf.name!r} never starts")
    for k, inj in enumerate(sc.injects):
        if inj.kind == "responder_unavailable":
            role = agent_role(inj.target or "responder")
            if inj.count > have.get(role, 0):
                out.append(f"injects[{k}].count: {inj.count} {role}(s) to drop out, {have.get(role, 0)} in the "
                           "population")
    return out


def _pick(entry_val, default_val, default_spec, dim: str) -> Distribution | None:
    v = entry_val if entry_val is not None else default_val
    if v is None:
        v = default_spec
    if v is None:
        return None
    return Distribution.parse(v, dim)


def _people_for(g: SiteGraph, sc: Scenario, k: int, e: PopulationEntry, rng: np.random.Generator) -> list[Person]:
    f = f"population[{k}]"
    spaces = resolve_spaces(g, e.where, f"{f}.where")
    if e.count == 0:
        return []
    counts = _split_count(g, spaces, e.count)
    pos: list[tuple[str, tuple[float, float]]] = []
    for sid, c in zip(spaces, counts, strict=True):
        if c == 0:
            continue
        poly = g.site.spaces[sid].footprint
        if e.at is not None:
            if len(spaces) != 1:
                raise InputError("at needs where to name a single space", where=f"{f}.at")
            from shapely.geometry import Point

            if poly.distance(Point(e.at[0], e.at[1])) > 0.05:
                raise InputError(f"point {e.at[:2]} lies outside space {e.where!r}", where=f"{f}.at")
            pos.extend((sid, (float(e.at[0]), float(e.at[1]))) for _ in range(c))
            continue
        try:
            pts = sample_points(poly, c, rng, margin=e.margin)
        except ValueError as err:
            raise InputError(str(err), where=f"{f}.margin") from None
        pos.extend((sid, (float(x), float(y))) for x, y in pts)
    n = len(pos)
    demo = e.demographic or sc.people.demographic
    if demo == "rimea" and e.speed is None:
        speed = demographic_speeds(n, rng)
    else:
        speed = _pick(e.speed, sc.people.speed, DEFAULT_SPEED, "speed").sample(rng, n)
    if (speed <= 0).any():
        raise InputError("speeds must be positive; the distribution yields values <= 0 (add min: 0.3)",
                         where=f"{f}.speed")
    pre = _pick(e.premovement, sc.people.premovement, DEFAULT_PREMOVEMENT, "time").sample(rng, n)
    if (pre < 0).any():
        raise InputError("pre-movement times must not be negative (add min: 0)", where=f"{f}.premovement")
    up = _pick(e.stair_up, sc.people.stair_up, None, "speed")
    down = _pick(e.stair_down, sc.people.stair_down, None, "speed")
    ups = up.sample(rng, n) if up else [None] * n
    downs = down.sample(rng, n) if down else [None] * n
    exit_id = None
    if e.exit is not None:
        exit_id = g.site.find("doors", e.exit, field_name=f"{f}.exit")
        if f"d:{exit_id}" not in g.exits:
            raise InputError(f"door {e.exit!r} is not an exit to the outside", where=f"{f}.exit")
    zone: tuple[str, ...] = ()
    if e.role == "warden":
        zs: list[str] = []
        for j, z in enumerate(e.zone or []):
            zs.extend(resolve_spaces(g, z, f"{f}.zone[{j}]"))
        if not zs:  # default: the storey the warden starts on
            storeys = {g.site.spaces[s].storey for s in spaces}
            zs = sorted(s for s in g.space_zones if g.site.spaces[s].storey in storeys)
        zone = tuple(zs)
    return [Person(space=sid, xy=xy, speed=float(speed[j]), premovement=float(pre[j]), role=e.role,
                   exit=exit_id, stair_up=None if ups[j] is None else float(ups[j]),
                   stair_down=None if downs[j] is None else float(downs[j]), protected=e.protected, zone=zone)
            for j, (sid, xy) in enumerate(pos)]


def build_run(sc: Scenario, seed: int | None = None, graph: SiteGraph | None = None,
              log_trajectories: bool = True, *, env: Any = None, outdoor: Any = None) -> Run:
    """Resolve ``sc`` against its site and set up the model; raise :class:`InputError` on bad names.

    ``env`` (a ``simpy.Environment``) and ``outdoor`` (a :class:`drills.sim.hazards.OutdoorCoupling`) are for
    joint exercises (:mod:`drills.region.sim`): the site then runs on a shared clock and its outdoor air is
    one regional field, in the site's own frame. Left ``None``, a run is exactly the single-site drill.
    """
    try:
        return _build(sc, seed, graph, log_trajectories, env, outdoor)
    except InputError as e:
        _name_scenario(sc, e)
        raise


def _name_scenario(sc: Scenario, e: InputError) -> None:
    """Point an error with no file at the scenario file and the line of its field."""
    if e.source is None:
        e.source = str(sc.path) if sc.path else "<scenario>"
        line = sc.line_of(e.where.split(" ")[0]) if e.where else None
        if line:
            e.where = f"line {line}: {e.where}"
        e.args = (str(e),)


def _load_site(sc: Scenario) -> SiteGraph:
    try:
        return load_twin(sc.site_path())
    except InputError as e:
        raise InputError(str(e), where="site") from None


def site_graph(sc: Scenario) -> SiteGraph:
    """The scenario's site model, imported (or from the cache); errors name the scenario's ``site`` field."""
    try:
        return _load_site(sc)
    except InputError as e:
        _name_scenario(sc, e)
        raise


def _build(sc: Scenario, seed: int | None, graph: SiteGraph | None, log_trajectories: bool, env: Any = None,
           outdoor: Any = None) -> Run:
    seed = sc.seed if seed is None else int(seed)
    if graph is None:
        graph = _load_site(sc)
    closed = [graph.site.find("doors", d, field_name=f"closed[{k}]") for k, d in enumerate(sc.closed)]
    model = DrillModel(graph, seed=seed, flow=sc.flow, closed=closed, replan_interval=sc.replan_interval,
                       log_trajectories=log_trajectories, env=env)
    rng = model.streams["people"]
    people: list[Person] = []
    for k, e in enumerate(sc.population):
        people.extend(_people_for(graph, sc, k, e, rng))
    density_warnings = _check_density(graph, people)
    model.add_people(people)
    cues = people_cues(sc, model)
    log: list[tuple[float, str, int, str, str]] = []
    env = model.env
    crowd = model.crowd
    t0 = 0.0
    if sc.alarm is not None:
        t0 = sc.alarm.at
        zones = None
        if sc.alarm.zones:
            zones = []
            for j, z in enumerate(sc.alarm.zones):
                zones.extend(resolve_spaces(graph, z, f"alarm.zones[{j}]"))

        def _alarm(at=sc.alarm.at, zones=zones):
            yield env.timeout(at)
            n = crowd.alarm(spaces=zones)
            log.append((env.now, "alarm", -1, "", f"{n} people alerted"))

        env.process(_alarm())
    hazards = None
    has_gas = bool(sc.hazards) or any(inj.kind == "leak" for inj in sc.injects)
    # an ``alert`` inject is delivered by the alert layer, so it needs one even on a site without detectors
    alert_injects = any(inj.kind == "alert" or (inj.kind == "contingency" and (inj.then or {}).get("kind") == "alert")
                        for inj in sc.injects)
    # in a joint exercise a site with no leak of its own still breathes the regional outdoor air
    regional_gas = outdoor is not None and bool(outdoor.gases)
    # detectors and the alert policy also run leak-free when alerts are configured: that is how
    # false-alert rates are measured, never assumed
    if has_gas or regional_gas or sc.alerts is not None or sc.sensors or alert_injects:
        from drills.sim.hazards import GasHazards, scenario_sensors

        hazards = GasHazards(sc, graph, model, log, extra_sensors=scenario_sensors(sc.sensors, graph),
                             outdoor=outdoor)
        hazards.cues = cues
        hazards.start()
        t0 = min(h.start for h in sc.hazards) if sc.hazards else (hazards.t_start if has_gas else t0)
    run = Run(sc, seed, graph, model, t0, log, hazards, cues=cues)
    run.warnings = scenario_warnings(sc) + density_warnings + _site_warnings(sc, people, hazards)
    if sc.workflows:
        from drills.sim.context import EngineContext
        from drills.workflow.engine import compile_workflows, workflow_names

        for path, kind, name in workflow_names(sc.workflows):
            if kind == "target" and name in graph.index:
                continue
            resolve_spaces(graph, name, path)
        run.context = EngineContext(run, fatigue=getattr(hazards, "operator", None))
        run.marks = run.context.marks
        run.workflows = compile_workflows(sc.workflows, run.context)
        if hazards is not None:
            hazards.on_alert.append(run.workflows.on_alert)
    for k, inj in enumerate(sc.injects):
        env.process(_inject(model, graph, inj, k, log, hazards, run))
    return run


def people_cues(sc: Scenario, model: DrillModel) -> Any:
    """The cues people notice themselves (``people.cues``: odour, irritation, others leaving), listening
    to the crowd from the start; draws from the run's ``cues`` stream."""
    from agents.cues import Cues

    return Cues(model.crowd, sc.people.cues, model.streams["cues"]).attach()


def people_caveats(run: Run) -> list[str]:
    """The assumptions about people that this run's results depend on: the cue levels of its gases and
    the alarm-fatigue model once anyone was shown an alert; the social cue once it made anyone aware."""
    from agents.operators import fatigue_caveats

    out: list[str] = []
    hz = run.hazards
    cues = run.cues
    if cues is not None:
        gases = sorted(hz.gases) if hz is not None else []
        out.extend(cues.config.caveats(gases, social=bool(cues.noticed.get("others leaving"))))
    if hz is not None and hz.operator.people:
        out.extend(fatigue_caveats(hz.operator.params))
    return out


def _happened(run: Run, key: str) -> bool:
    """Has a KPI moment (``t_alarm``, ``t_ack``, ...) happened yet in this run?"""
    if key in run.marks:
        return True
    if key == "t_alarm":
        return any(e[1] == "alarm" for e in run.log)
    hz = run.hazards
    if hz is None:
        return False
    return {"t_detect": hz.t_detect, "t_alert": getattr(hz, "t_alert", None),
            "t_ack": getattr(hz, "t_auto_ack", None)}.get(key) is not None


def _inject(model: DrillModel, g: SiteGraph, inj, k: int, log, hazards=None, run: Run | None = None):
    f = f"injects[{k}]"
    crowd = model.crowd
    env = model.env
    if inj.kind == "contingency":
        from drills.spec.scenario import Inject

        try:
            then = Inject.model_validate({**inj.then, "id": f"{inj.id}.then", "time": 0})
        except Exception as e:  # a pydantic error: report the nested field
            from drills.spec.scenario import format_validation_error

            where, msg = format_validation_error(e)
            raise InputError(msg, where=f"{f}.then.{where}") from None
        fallback = _inject(model, g, then, k, log, hazards, run)

        def contingency():
            yield env.timeout(inj.time)
            if run is not None and _happened(run, inj.unless):
                log.append((env.now, "inject:contingency", -1, "", f"id={inj.id} not needed: {inj.unless} happened"))
                return
            log.append((env.now, "inject:contingency", -1, "", f"id={inj.id} fires: no {inj.unless} by now"))
            yield from fallback

        return contingency()
    if inj.kind == "responder_unavailable":
        from agents.crowd import ROLES
        from drills.workflow.engine import agent_role

        role = agent_role(inj.target or "responder")
        if role not in ROLES:
            raise InputError(f"{inj.target!r} is not a role; roles: {', '.join(ROLES)}", where=f"{f}.target")
    if inj.kind in ("sensor_fail", "sensor_restore", "isolate") and hazards is None:
        raise InputError(f"{inj.kind} needs a gas hazard in the scenario", where=f"{f}.kind")
    if inj.kind in ("sensor_fail", "sensor_restore"):
        arrays = [a for a in (hazards.sensors.gas, hazards.sensors.cameras) if inj.target in a.names
                  or inj.target in a.ids]
        if not arrays:
            names = sorted(hazards.sensors.gas.names + hazards.sensors.cameras.names)
            raise InputError(f"{inj.target!r} names no modelled sensor; sensors: {', '.join(names) or '(none)'}",
                             where=f"{f}.target")
        sensor_array = arrays[0]
        mode = inj.mode or "dead"
        params = {"gain": inj.gain} if inj.gain is not None else {}
    if inj.kind == "isolate":
        hid = inj.target
        if hid not in hazards.source_ids:
            ids = {str(h.id) if h.id is not None else f"H{j + 1}": h.source for j, h in enumerate(model_sc(hazards))}
            by_source = [i for i, src in ids.items() if src == inj.target]
            if not by_source:
                raise InputError(f"{inj.target!r} names no hazard (ids: {', '.join(ids)}) or source",
                                 where=f"{f}.target")
            hid = by_source[0]
    if inj.kind in ("block", "unblock"):
        if not inj.target:
            raise InputError("needs a target door", where=f"{f}.target")
        door = g.site.find("doors", inj.target, field_name=f"{f}.target")
        if door not in crowd.door_node:
            raise InputError(f"door {inj.target!r} joins no walkable space", where=f"{f}.target")
    elif inj.kind == "alarm":
        spaces = resolve_spaces(g, inj.target, f"{f}.target") if inj.target else None
    elif inj.kind == "alert":
        zone = resolve_spaces(g, inj.zone, f"{f}.zone")
        if len(zone) != 1:
            raise InputError(f"{inj.zone!r} names {len(zone)} spaces; an alert names one space", where=f"{f}.zone")
        zone = zone[0]
    env = model.env

    def proc():
        yield env.timeout(inj.time)
        detail = inj.message or ""
        if inj.kind == "block":
            crowd.block(door)
        elif inj.kind == "unblock":
            crowd.unblock(door)
        elif inj.kind == "alarm":
            n = crowd.alarm(spaces=spaces)
            detail = detail or f"{n} people alerted"
            log.append((env.now, "alarm", -1, inj.target or "", f"{n} people alerted (inject {inj.id})"))
        elif inj.kind == "evacuate":
            crowd.evacuate(np.arange(crowd.n))
        elif inj.kind == "alert":  # delivered as the alert layer delivers a policy's alert
            a = hazards.inject_alert(str(inj.id), inj.level, zone, inj.policy, inj.detector)
            detail = detail or f"{a.id} {a.level} in {zone}"
        elif inj.kind == "sensor_fail":
            hazards.sync()  # detectors read ahead are brought up to now before the fault
            sensor_array.fail(inj.target, mode, **params)
        elif inj.kind == "sensor_restore":
            hazards.sync()
            sensor_array.restore(inj.target)
        elif inj.kind == "isolate":
            hazards.isolate(hid)
            if run is not None:
                run.marks.setdefault("t_isolate", env.now)
        elif inj.kind == "responder_unavailable":
            pools = run.workflows.pools if run is not None and run.workflows is not None else {}
            pool = pools.get(inj.target or "") or next(
                (p for name, p in pools.items() if agent_role(name) == role), None)
            if pool is None:
                detail = f"no {role} pool in the procedures; nobody to take out"
            else:
                for _ in range(inj.count):  # hold a slot for good: fewer of the role can be sent
                    req = pool.resource.request()
                    yield req
                    member = pool.take()
                    log.append((env.now, "unavailable", member, "", f"{role} out of service"))
        log.append((env.now, f"inject:{inj.kind}", -1, inj.target or inj.zone or "", f"id={inj.id} {detail}".strip()))
        if run is not None and run.workflows is not None:
            run.workflows.on_inject(inj.id)

    return proc()


def model_sc(hazards) -> list:
    """The hazard specs behind a :class:`~drills.sim.hazards.GasHazards`."""
    return list(hazards.sc.hazards)


def run_scenario(sc: Scenario, seed: int | None = None, *, graph: SiteGraph | None = None,
                 log_trajectories: bool = True, progress: Callable[[float], None] | None = None) -> RunResult:
    """Build and run one drill. ``seed`` overrides the scenario's.

    ``progress(t)`` is called with the simulated time (s) every 1 % of ``duration`` (for progress bars).
    """
    run = build_run(sc, seed, graph, log_trajectories)
    model = run.model
    if progress is not None:
        def tick(env=model.env, every=sc.duration / 100.0):
            while True:
                yield env.timeout(every)
                progress(env.now)

        model.env.process(tick())
    wall0 = time.perf_counter()
    model.run(until=sc.duration)
    if run.hazards is not None:  # the gas step due at the end (a joint exercise steps its sites together)
        run.hazards.finish(sc.duration)
    wall = time.perf_counter() - wall0
    return finish_run(run, wall)


def finish_run(run: Run, wall: float) -> RunResult:
    """Collect a run whose clock has stopped into a :class:`RunResult` (events, trajectories, people,
    KPIs) and release its model. ``wall`` is the simulation's wall-clock time (s)."""
    sc = run.scenario
    model = run.model
    crowd = model.crowd
    events = sorted(run.log + [(t, k, a, n, d) for t, k, a, n, d in crowd.events], key=lambda e: e[0])
    names = run.graph.nodes
    traj = [(a, t, names[v]) for a, t, v in crowd.traj]
    k0 = time.perf_counter()
    kpis = compute_kpis(run, wall)
    kpi_wall = time.perf_counter() - k0
    n = crowd.n
    people = {
        "role": crowd.role[:n].copy(),
        "state": crowd.state[:n].copy(),
        "speed": crowd.v0[:n].copy(),
        "premovement": crowd.premove[:n].copy(),
        "t_aware": crowd.t_aware[:n].copy(),
        "t_start": crowd.t_start[:n].copy(),
        "t_exit": crowd.t_exit[:n].copy(),
        "t_muster": crowd.t_muster[:n].copy(),
        "x0": crowd.initial_xy[:n, 0].copy() if n else np.zeros(0),
        "y0": crowd.initial_xy[:n, 1].copy() if n else np.zeros(0),
        "space0": np.array([crowd.space_ids[s] for s in crowd.start_space[:n]], dtype=object),
    }
    res = RunResult(sc, run.seed, kpis, events, traj, people, wall)
    res.extra["graph"] = run.graph
    res.extra["timing"] = {"total": wall, "kpis": kpi_wall}
    if run.cues is not None:
        res.extra["timing"]["cues"] = run.cues.wall
    if run.hazards is not None:
        res.extra["timeseries"] = (run.hazards.records_sensors, run.hazards.records_zones)
        res.extra["timing"].update(run.hazards.timing)
        res.extra["gas_blocks"] = dict(run.hazards.block_stats)
    res.extra["operators"] = run.hazards.operator if run.hazards is not None else None  # alarm fatigue
    res.extra["caveats"] = (run.hazards.caveats if run.hazards is not None else []) + people_caveats(run) + \
        (run.workflows.caveats if run.workflows is not None else [])
    if sc.flow == "sfpe":
        note = sfpe_speed_note(crowd.v0[:n])
        if note:
            res.extra["caveats"] = [*res.extra["caveats"], note]
    res.extra["alerts"] = list(getattr(run.hazards, "alert_events", []))
    res.extra["transitions"] = list(run.workflows.transitions) if run.workflows is not None else []
    res.extra["warnings"] = list(run.warnings)
    if run.hazards is not None:  # structured alert episodes (docs/alerts.md)
        res.extra["alert_episodes"] = [e.to_dict() for e in run.hazards.alert_engine.episodes]
    res.extra["events"] = len(crowd.events) + len(crowd.traj)
    model.release()
    return res
