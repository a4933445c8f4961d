"""Regional procedures of a joint exercise: mutual aid, dispatch over roads, alert broadcasts.

A regional workflow has a trigger and steps, like a site's (docs/workflows.md), with ``after`` ordering
(unknown ids and cycles are errors)::

    workflows:
      - name: mutual-aid
        trigger: {alert: gas, site: PlantA}          # or {inject: M3} or {at: 10min}; level: warning|alarm
        steps:
          - {id: warn, kind: broadcast_alert, to: others, channel: phone, action: shelter}
          - {id: brigade, kind: request_aid, resource: fire_brigade, to: PlantA, task: 20min}
          - {id: hazmat, kind: request_aid, resource: hazmat, to: PlantA, task: 15min, isolate: L1,
             after: [brigade]}

Step kinds:

==================  ============================================================================
request_aid         ``resource`` (a kind or a resource name), ``count`` crews, ``to`` a site (default
                    the site that triggered); crews are served first come, first served; each turns
                    out (``turnout``), drives the quickest road route to the site's gate, works
                    ``task`` (s, a distribution) and, with ``isolate: HAZARD``, stops that release;
                    then drives back. The step ends when every crew has arrived.
broadcast_alert     ``to`` sites (a list, ``others`` or ``all``; default ``others``), over ``channel``
                    (latency as in site workflows); on arrival each site is *warned* and does
                    ``action``: ``notify`` (nothing else), ``alarm`` (sound its alarm everywhere),
                    ``shelter`` (everybody shelters in place) or ``evacuate``.
notify              a message over ``channel`` (its latency)
task                ``duration`` (a distribution)
sound_alarm         the alarm of ``site`` (``zones`` optional)
evacuate, shelter   everybody at ``site``
all_clear           logged
==================  ============================================================================

Site-internal kinds (wait_ack, dispatch, headcount, parallel, if) need a site's roles and belong in
that site's own workflows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drills.spec.region import REGION_INJECT_KINDS, RESOURCE_KINDS
from twin.distributions import Distribution
from twin.errors import InputError
from twin.units import parse_duration

if TYPE_CHECKING:
    import simpy

    from drills.region.model import Region

__all__ = ["RegionWorkflow", "RegionStep", "RegionTrigger", "RegionProcedures", "validate_region_workflows",
           "REGION_STEP_KINDS", "AidRecord"]

REGION_STEP_KINDS = ("request_aid", "broadcast_alert", "notify", "task", "sound_alarm", "evacuate", "shelter",
                     "all_clear")
_SITE_ONLY = ("wait_ack", "dispatch", "headcount", "parallel", "if")
ACTIONS = ("notify", "alarm", "shelter", "evacuate")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _dist(v: Any, name: str) -> Any:
    if v is None:
        return None
    try:
        Distribution.parse(v, "time", name)
    except (InputError, ValueError) as e:
        raise ValueError(str(e)) from None
    return v


class RegionTrigger(_Model):
    alert: str | None = Field(default=None, description="gas | camera | any")
    site: str | None = Field(default=None, description="only alerts of this site (default: any site)")
    level: str | None = Field(default=None, description="warning | alarm (default: any)")
    inject: int | str | None = None
    at: float | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v):
        return None if v is None else parse_duration(v, "at")

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("alert", "inject", "at") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of alert, inject, at")
        if self.alert is not None and self.alert not in ("gas", "camera", "any"):
            raise ValueError("alert: expected gas, camera or any")
        return self


class RegionStep(_Model):
    id: str
    kind: str
    after: list[str] = Field(default_factory=list)
    resource: str | None = None
    count: int = Field(default=1, ge=1)
    to: str | list[str] | None = None
    task: Any = None
    isolate: str | None = None
    channel: str = "phone"
    action: str = "notify"
    message: str = ""
    duration: Any = None
    site: str | None = None
    zones: list[str] | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, v):
        if v in _SITE_ONLY:
            raise ValueError(f"{v} needs a site's roles: put it in that site's own workflows")
        if v not in REGION_STEP_KINDS:
            raise ValueError(f"expected one of {', '.join(REGION_STEP_KINDS)}, got {v!r}")
        return v

    @field_validator("task", "duration")
    @classmethod
    def _d(cls, v, info):
        return _dist(v, info.field_name)

    @field_validator("action")
    @classmethod
    def _action(cls, v):
        if v not in ACTIONS:
            raise ValueError(f"expected one of {', '.join(ACTIONS)}, got {v!r}")
        return v

    @field_validator("channel")
    @classmethod
    def _channel(cls, v):
        from drills.workflow.engine import CHANNELS

        if v not in CHANNELS:
            raise ValueError(f"expected one of {', '.join(CHANNELS)}, got {v!r}")
        return v


class RegionWorkflow(_Model):
    name: str
    trigger: RegionTrigger
    steps: list[RegionStep]

    @model_validator(mode="after")
    def _graph(self):
        ids = [s.id for s in self.steps]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"steps: duplicate id(s) {', '.join(dup)}")
        for k, s in enumerate(self.steps):
            for a in s.after:
                if a not in ids:
                    raise ValueError(f"steps[{k}].after: unknown step id {a!r}")
        # cycles: Kahn's algorithm over the after-graph
        deps = {s.id: set(s.after) for s in self.steps}
        done: set[str] = set()
        while True:
            ready = [i for i, d in deps.items() if i not in done and d <= done]
            if not ready:
                break
            done.update(ready)
        if len(done) != len(ids):
            raise ValueError(f"steps: the after lists form a cycle through {', '.join(sorted(set(ids) - done))}")
        return self


def _parse(region: Region) -> list[RegionWorkflow]:
    from drills.spec.scenario import format_validation_error

    out = []
    for k, raw in enumerate(region.spec.workflows):
        try:
            out.append(RegionWorkflow.model_validate(raw))
        except ValidationError as e:
            where, msg = format_validation_error(e)
            raise InputError(msg, where=f"workflows[{k}].{where}") from None
    return out


def validate_region_workflows(region: Region) -> list[RegionWorkflow]:
    """Parse the regional workflows and check every site, resource and hazard name they use."""
    wfs = _parse(region)
    sites = [s.name for s in region.sites]
    res = {r.name: r for r in region.spec.resources}
    kinds = {r.kind for r in region.spec.resources}
    master = {str(i.id) for i in region.spec.injects}

    def site_ok(name: str, where: str) -> None:
        if name not in sites:
            raise InputError(f"{name!r} is not a site of the region; sites: {', '.join(sites)}", where=where)

    for k, wf in enumerate(wfs):
        f = f"workflows[{k}]"
        if wf.trigger.site is not None:
            site_ok(wf.trigger.site, f"{f}.trigger.site")
        if wf.trigger.inject is not None and str(wf.trigger.inject) not in master:
            raise InputError(f"no master inject has id {wf.trigger.inject!r}", where=f"{f}.trigger.inject")
        for j, s in enumerate(wf.steps):
            g = f"{f}.steps[{j}]"
            if s.kind == "request_aid":
                if s.resource is None:
                    raise InputError("request_aid needs resource: a kind or a resource name", where=f"{g}.resource")
                if s.resource not in res and s.resource not in kinds:
                    known = sorted(set(res) | kinds)
                    hint = (f"; {s.resource} is a kind but the region has none" if s.resource in RESOURCE_KINDS
                            else "")
                    raise InputError(f"{s.resource!r} names no resource or resource kind of the region "
                                     f"({', '.join(known) or 'none'}){hint}", where=f"{g}.resource")
                to = s.to if isinstance(s.to, str) else None
                if isinstance(s.to, list):
                    raise InputError("request_aid goes to one site", where=f"{g}.to")
                if to is None and wf.trigger.site is None and wf.trigger.alert is None:
                    raise InputError("request_aid needs to: SITE (the trigger names no site)", where=f"{g}.to")
                if to is not None:
                    site_ok(to, f"{g}.to")
                if s.isolate is not None:
                    target = region.site(to or wf.trigger.site) if (to or wf.trigger.site) else None
                    if target is not None:
                        from drills.sim.hazards import all_hazards

                        ids = [str(h.id) if h.id is not None else f"H{n + 1}"
                               for n, h in enumerate(all_hazards(target.scenario))]
                        if s.isolate not in ids:
                            raise InputError(f"{s.isolate!r} is no hazard of site {target.name!r} "
                                             f"(ids: {', '.join(ids) or 'none'})", where=f"{g}.isolate")
            elif s.kind == "broadcast_alert":
                if isinstance(s.to, list):
                    for n, name in enumerate(s.to):
                        site_ok(name, f"{g}.to[{n}]")
                elif s.to not in (None, "others", "all"):
                    site_ok(s.to, f"{g}.to")
            elif s.kind in ("sound_alarm", "evacuate", "shelter"):
                name = s.site or (s.to if isinstance(s.to, str) else None) or wf.trigger.site
                if name is None:
                    raise InputError(f"{s.kind} needs site: SITE", where=f"{g}.site")
                site_ok(name, f"{g}.site")
    return wfs


@dataclass
class AidRecord:
    """One crew's mutual-aid job: times in s on the exercise clock (``None``: did not happen)."""

    request: int
    resource: str
    kind: str
    site: str
    step: str
    t_request: float
    t_dispatch: float | None = None
    t_arrive: float | None = None
    t_release: float | None = None
    t_back: float | None = None
    travel_s: float | None = None

    @property
    def wait(self) -> float | None:
        """Queueing time (s): from the request until a crew was free to go."""
        return None if self.t_dispatch is None else self.t_dispatch - self.t_request


@dataclass
class _Unit:
    resource: str
    kind: str
    depot: str
    turnout: float
    crew: int


@dataclass
class RegionProcedures:
    """The regional workflows, resources and injects running on the shared clock.

    ``sites`` maps a site name to its :class:`drills.sim.engine.Run`; ``log`` gets regional events as
    ``(t, site, kind, detail)``; ``warned`` records the first time each site was warned (own alert,
    own alarm or a regional broadcast).
    """

    region: Region
    env: simpy.Environment
    runs: dict[str, Any]
    rng: np.random.Generator
    log: list[tuple[float, str, str, str]] = field(default_factory=list)
    warned: dict[str, tuple[float, str]] = field(default_factory=dict)
    aid: list[AidRecord] = field(default_factory=list)
    busy: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import simpy

        self.workflows = _parse(self.region)
        self.stores: dict[str, simpy.Store] = {}
        self.specs = {r.name: r for r in self.region.spec.resources}
        for r in self.region.spec.resources:
            st = simpy.Store(self.env, capacity=r.units)
            st.items.extend(_Unit(r.name, r.kind, r.depot, r.turnout, c) for c in range(r.units))
            self.stores[r.name] = st
            self.busy[r.name] = 0.0
        self._fired: set[int] = set()
        self._trigger_site: dict[int, str | None] = {}
        self._latency: dict[str, Distribution] = {}

    # ----------------------------------------------------------------------------------- starting
    def start(self) -> None:
        for k, wf in enumerate(self.workflows):
            if wf.trigger.at is not None:
                self.env.process(self._at(k, wf.trigger.at))
        for inj in self.region.spec.injects:
            self.env.process(self._inject(inj))

    def _at(self, k: int, t: float):
        yield self.env.timeout(t)
        self._fire(k, None, f"at {t:g} s")

    def on_alert(self, site: str, alert: Any) -> None:
        """A site's alert policy raised ``alert``: the site is warned, and matching workflows start."""
        self.mark_warned(site, "own alert")
        kind = "camera" if getattr(alert, "policy", "") == "camera" else "gas"
        for k, wf in enumerate(self.workflows):
            tr = wf.trigger
            if tr.alert is None or (tr.alert != "any" and tr.alert != kind):
                continue
            if tr.site is not None and tr.site != site:
                continue
            if tr.level is not None and tr.level != getattr(alert, "level", None):
                continue
            self._fire(k, site, f"alert {getattr(alert, 'id', '')} at {site}")

    def mark_warned(self, site: str, how: str) -> None:
        if site not in self.warned:
            self.warned[site] = (self.env.now, how)
            self.log.append((self.env.now, site, "site_warned", how))

    def _fire(self, k: int, site: str | None, why: str) -> None:
        if k in self._fired:  # a procedure starts once per exercise
            return
        self._fired.add(k)
        wf = self.workflows[k]
        self._trigger_site[k] = site or wf.trigger.site
        self.log.append((self.env.now, site or "", "region_workflow_start", f"{wf.name}: {why}"))
        done: dict[str, Any] = {s.id: self.env.event() for s in wf.steps}
        for s in wf.steps:
            self.env.process(self._step(k, wf, s, done))

    # ------------------------------------------------------------------------------------- steps
    def _sample(self, spec: Any, name: str) -> float:
        return float(Distribution.parse(spec, "time", name).sample(self.rng, 1)[0])

    def _latency_of(self, channel: str) -> float:
        from drills.workflow.engine import channel_latency

        d = self._latency.get(channel)
        if d is None:
            d = self._latency[channel] = channel_latency(channel)
        return float(d.sample(self.rng, 1)[0])

    def _step(self, k: int, wf: RegionWorkflow, s: RegionStep, done: dict[str, Any]):
        env = self.env
        for a in s.after:
            yield done[a]
        trig = self._trigger_site.get(k)
        self.log.append((env.now, trig or "", "region_step_start", f"{wf.name}.{s.id} ({s.kind})"))
        if s.kind == "request_aid":
            site = s.to if isinstance(s.to, str) else trig
            yield from self._request_aid(wf, s, site)
        elif s.kind == "broadcast_alert":
            targets = self._targets(s.to, trig)
            procs = [env.process(self._deliver(t, s, wf)) for t in targets]
            if procs:
                yield env.all_of(procs)
        elif s.kind == "notify":
            yield env.timeout(self._latency_of(s.channel))
            self.log.append((env.now, trig or "", "region_notify", s.message or f"{wf.name}.{s.id}"))
        elif s.kind == "task":
            yield env.timeout(self._sample(s.duration or 0.0, f"{wf.name}.{s.id}.duration"))
        elif s.kind in ("sound_alarm", "evacuate", "shelter"):
            site = s.site or (s.to if isinstance(s.to, str) else None) or trig
            self._act(site, {"sound_alarm": "alarm"}.get(s.kind, s.kind), s.zones, f"{wf.name}.{s.id}")
        elif s.kind == "all_clear":
            self.log.append((env.now, trig or "", "region_all_clear", wf.name))
        self.log.append((env.now, trig or "", "region_step_done", f"{wf.name}.{s.id}"))
        done[s.id].succeed()

    def _targets(self, to: str | list[str] | None, trig: str | None) -> list[str]:
        names = [s.name for s in self.region.sites]
        if isinstance(to, list):
            return list(to)
        if to == "all":
            return names
        if to in (None, "others"):
            return [n for n in names if n != trig]
        return [to]

    def _deliver(self, site: str, s: RegionStep, wf: RegionWorkflow):
        yield self.env.timeout(self._latency_of(s.channel))
        self.log.append((self.env.now, site, "broadcast_received", f"{wf.name}.{s.id} via {s.channel}: {s.action}"))
        self.mark_warned(site, f"broadcast {wf.name}.{s.id}")
        if s.action != "notify":
            self._act(site, s.action, None, f"{wf.name}.{s.id}")

    def _act(self, site: str, action: str, zones: list[str] | None, why: str) -> None:
        """Sound the alarm, order shelter or evacuation at ``site`` now."""
        run = self.runs[site]
        crowd = run.model.crowd
        if action == "alarm":
            spaces = None
            if zones:
                from drills.sim.run import resolve_spaces

                spaces = []
                for j, z in enumerate(zones):
                    spaces.extend(resolve_spaces(run.graph, z, f"zones[{j}]"))
            n = crowd.alarm(spaces=spaces)
            run.log.append((self.env.now, "alarm", -1, "", f"{n} people alerted (regional {why})"))
            self.mark_warned(site, f"alarm ({why})")
        elif action == "shelter":
            n = crowd.shelter(np.arange(crowd.n))
            run.log.append((self.env.now, "shelter_order", -1, "", f"{n} people shelter (regional {why})"))
        elif action == "evacuate":
            crowd.evacuate(np.arange(crowd.n))
            run.log.append((self.env.now, "evacuate_order", -1, "", f"regional {why}"))
        self.log.append((self.env.now, site, f"region_{action}", why))

    # ----------------------------------------------------------------------------------- mutual aid
    def _pick_resource(self, want: str, site: str) -> str:
        """A resource name for ``want`` (a name, or a kind: the one with a free crew soonest, then the
        quickest drive; ties by name so the choice is reproducible)."""
        if want in self.stores:
            return want
        gate = self.region.site(site).gate
        cands = [r for r in self.region.spec.resources if r.kind == want]

        def key(r) -> tuple:
            st = self.stores[r.name]
            queued = len(st.get_queue) - len(st.items)
            return (queued, self.region.roads.travel_time(r.depot, gate), r.name)

        return min(cands, key=key).name

    def _request_aid(self, wf: RegionWorkflow, s: RegionStep, site: str):
        env = self.env
        name = self._pick_resource(s.resource, site)
        procs = []
        for _ in range(s.count):
            rec = AidRecord(len(self.aid) + 1, name, self.specs[name].kind, site, f"{wf.name}.{s.id}", env.now)
            self.aid.append(rec)
            self.log.append((env.now, site, "aid_request", f"#{rec.request} {name} ({rec.kind}) for {site}"))
            arrived = env.event()
            env.process(self._crew(rec, s, arrived))
            procs.append(arrived)
        yield env.all_of(procs)

    def _crew(self, rec: AidRecord, s: RegionStep, arrived: Any):
        env = self.env
        store = self.stores[rec.resource]
        unit: _Unit = yield store.get()  # simpy serves gets in request order: first come, first served
        rec.t_dispatch = env.now
        self.log.append((env.now, rec.site, "aid_dispatch",
                         f"#{rec.request} {rec.resource} crew {unit.crew + 1} after {rec.wait:.0f} s wait"))
        gate = self.region.site(rec.site).gate
        drive = self.region.roads.travel_time(unit.depot, gate)
        rec.travel_s = drive
        yield env.timeout(unit.turnout + drive)
        rec.t_arrive = env.now
        self.log.append((env.now, rec.site, "aid_arrive", f"#{rec.request} {rec.resource} at {gate}"))
        arrived.succeed()
        if s.task is not None:
            yield env.timeout(self._sample(s.task, f"{rec.step}.task"))
        if s.isolate is not None:
            run = self.runs[rec.site]
            hz = run.hazards
            if hz is not None and s.isolate in hz.source_ids:
                hz.isolate(s.isolate)
                run.marks.setdefault("t_isolate", env.now)
                self.log.append((env.now, rec.site, "aid_isolate", f"#{rec.request} {rec.resource} stops {s.isolate}"))
        rec.t_release = env.now
        self.log.append((env.now, rec.site, "aid_release", f"#{rec.request} {rec.resource}"))
        yield env.timeout(drive)
        rec.t_back = env.now
        self.busy[rec.resource] += rec.t_back - rec.t_dispatch
        yield store.put(unit)

    # -------------------------------------------------------------------------------------- injects
    def _inject(self, inj):
        env = self.env
        yield env.timeout(inj.time)
        if inj.kind in REGION_INJECT_KINDS:  # a site's injects are in that site's own log
            self.log.append((env.now, inj.site or "", f"inject:{inj.kind}", f"id={inj.id} {inj.message}".strip()))
        if inj.kind == "resource_unavailable":
            store = self.stores[inj.target]
            held = []
            for _ in range(min(inj.count, self.specs[inj.target].units)):
                unit = yield store.get()
                held.append(unit)
                self.log.append((env.now, "", "resource_out", f"{inj.target} crew {unit.crew + 1} out of service"))
            if inj.duration is not None:
                yield env.timeout(inj.duration)
                for unit in held:
                    yield store.put(unit)
                    self.log.append((env.now, "", "resource_back", f"{inj.target} crew {unit.crew + 1} back"))
        for k, wf in enumerate(self.workflows):
            if wf.trigger.inject is not None and str(wf.trigger.inject) == str(inj.id):
                self._fire(k, inj.site, f"inject {inj.id}")

    # ----------------------------------------------------------------------------------------- KPIs
    def kpis(self, t0: float, duration: float) -> dict[str, Any]:
        """Regional KPIs (s from ``t0``): first mutual-aid arrival, queueing, utilisation, warnings."""
        def rel(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(x - t0, 3)

        arrivals = [r.t_arrive for r in self.aid if r.t_arrive is not None]
        waits = [r.wait for r in self.aid if r.wait is not None]
        names = [s.name for s in self.region.sites]
        warned_all = all(n in self.warned for n in names)
        util = {}
        for r in self.region.spec.resources:
            busy = self.busy[r.name] + sum(self.env.now - a.t_dispatch for a in self.aid
                                           if a.resource == r.name and a.t_dispatch is not None and a.t_back is None)
            util[r.name] = round(busy / (r.units * duration), 4) if duration > 0 else None
        return {
            "t_first_aid_arrival": rel(min(arrivals)) if arrivals else None,
            "t_all_sites_warned": rel(max(self.warned[n][0] for n in names)) if warned_all else None,
            "sites_warned": {n: rel(self.warned[n][0]) if n in self.warned else None for n in names},
            "resource_wait_s": round(float(np.mean(waits)), 3) if waits else None,
            "resource_wait_max_s": round(float(np.max(waits)), 3) if waits else None,
            "aid_requests": len(self.aid),
            "aid_arrived": len(arrivals),
            "resource_utilisation": util,
        }
