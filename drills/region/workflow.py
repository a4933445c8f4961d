"""The regional layer of a joint exercise: resources on roads, broadcasts, master injects, regional KPIs.

:class:`RegionLayer` is what a region adds to its member sites' runs. Its workflows are ordinary
workflows (:mod:`drills.workflow.engine`, validated with ``scope="region"``) run by the same
:class:`~drills.workflow.engine.WorkflowRunner` as a site's, with this layer as their context: the
regional step kinds (:mod:`drills.workflow.regional`) ask it for mutual aid and broadcasts, and a
``sound_alarm``/``evacuate``/``shelter`` step at a site goes to that site's own
:class:`~drills.sim.context.EngineContext`. Nothing here re-implements a step, a trigger or a level.

Regional events are ``(t, site, kind, detail)`` rows: the workflows' transitions (``workflow:<state>``
with the site the run acts for), ``site_warned``, ``broadcast_received``, ``region_<action>``, the
mutual-aid jobs (``aid_request``, ``aid_dispatch``, ``aid_arrive``, ``aid_isolate``, ``aid_release``)
and regional injects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from drills.sim.context import DEFAULT_ACK, EngineContext
from drills.spec.region import REGION_INJECT_KINDS
from drills.workflow.engine import WorkflowRunner, channel_latency, validate_workflows
from twin.distributions import Distribution

if TYPE_CHECKING:
    import simpy

    from drills.region.model import Region

__all__ = ["RegionLayer", "AidRecord"]


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
class RegionLayer:
    """The regional layer on the shared clock: the context of the region's workflows.

    ``runs`` maps a site name to its :class:`drills.sim.engine.Run`; ``rows`` gets regional events as
    ``(t, site, kind, detail)``; ``warned`` records the first time each site was warned (own alert, own
    alarm or a regional broadcast); ``aid`` every crew's job.
    """

    region: Region
    env: simpy.Environment
    runs: dict[str, Any]
    rng: np.random.Generator
    rows: list[tuple[float, str, str, str]] = field(default_factory=list)
    warned: dict[str, tuple[float, str]] = field(default_factory=dict)
    aid: list[AidRecord] = field(default_factory=list)
    busy: dict[str, float] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import simpy

        self.workflows = validate_workflows(self.region.spec.workflows, scope="region")
        self.stores: dict[str, simpy.Store] = {}
        self.specs = {r.name: r for r in self.region.spec.resources}
        for r in self.region.spec.resources:
            st = simpy.Store(self.env, capacity=r.units)
            st.items.extend(_Unit(r.name, r.kind, r.depot, r.turnout, c) for c in range(r.units))
            self.stores[r.name] = st
            self.busy[r.name] = 0.0
        self._latency: dict[str, Distribution] = {}
        self.runner: WorkflowRunner | None = None

    # ----------------------------------------------------------------------------------- starting
    def start(self) -> None:
        """Compile the workflows (their ``at`` triggers are scheduled now) and schedule the injects."""
        self.runner = WorkflowRunner(self.workflows, self)
        for inj in self.region.spec.injects:
            self.env.process(self._inject(inj))

    def on_alert(self, site: str, alert: Any) -> None:
        """A site's alert policy raised ``alert``: the site is warned, and matching workflows start (the
        alert carries its site, so ``{alert: gas, site: X, level: high}`` is decided by the one rule of
        :func:`drills.alerts.levels.matches`)."""
        self.mark_warned(site, "own alert")
        if self.runner is not None:
            self.runner.on_alert(replace(alert, site=site))

    def mark_warned(self, site: str, how: str) -> None:
        if site not in self.warned:
            self.warned[site] = (self.env.now, how)
            self.rows.append((self.env.now, site, "site_warned", how))

    # -------------------------------------------------------------------- the workflows' context
    def log(self, kind: str, detail: str, agent: int = -1, node: str = "", site: str = "") -> None:
        self.rows.append((self.env.now, site, kind, detail))

    def mark(self, kpi: str, t: float) -> None:
        self.marks.setdefault(kpi, float(t))

    def people_with_role(self, role: str) -> list[int]:
        return []  # the region's own staff are nobody's agents: every member of a regional role is off-site

    def notify_latency(self, channel: str) -> Distribution:
        d = self._latency.get(channel)
        if d is None:
            d = self._latency[channel] = channel_latency(channel)
        return d

    def acknowledge(self, role: str, alert: Any, member: int | None = None) -> tuple[float, bool]:
        return float(DEFAULT_ACK.sample(self.rng, 1)[0]), False

    def all_clear(self, alert: Any = None) -> None:
        self.rows.append((self.env.now, "", "region_all_clear", "declared by a regional workflow"))

    def site_context(self, site: str) -> EngineContext:
        """The workflow context of member ``site``'s run (made on first use for a site without workflows;
        it shares the run's KPI marks)."""
        run = self.runs[site]
        if run.context is None:
            run.context = EngineContext(run, fatigue=getattr(run.hazards, "operator", None))
            run.context.marks = run.marks
        return run.context

    def broadcast_targets(self, to: str | list[str] | None, trig: str | None) -> list[str]:
        """Sites a broadcast goes to: a list, ``all``, ``others`` (default: all but ``trig``) or one."""
        names = [s.name for s in self.region.sites]
        if isinstance(to, list):
            return list(to)
        if to == "all":
            return names
        if to in (None, "others"):
            return [n for n in names if n != trig]
        return [to]

    def receive_broadcast(self, site: str, channel: str, action: str, why: str) -> None:
        """A broadcast reached ``site`` now: it is warned and does ``action``."""
        self.rows.append((self.env.now, site, "broadcast_received", f"{why} via {channel}: {action}"))
        self.mark_warned(site, f"broadcast {why}")
        if action != "notify":
            self.act(site, action, why)

    def act(self, site: str, action: str, why: str) -> None:
        """Sound the alarm (everywhere), order shelter or evacuation at ``site`` now."""
        run = self.runs[site]
        crowd = run.model.crowd
        if action == "alarm":
            n = crowd.alarm(spaces=None)
            run.log.append((self.env.now, "alarm", -1, "", f"{n} people alerted (regional {why})"))
            self.mark_warned(site, f"alarm ({why})")
        elif action == "shelter":
            n = crowd.shelter(np.arange(crowd.n))
            run.log.append((self.env.now, "shelter_order", -1, "", f"{n} people shelter (regional {why})"))
        elif action == "evacuate":
            crowd.evacuate(np.arange(crowd.n))
            run.log.append((self.env.now, "evacuate_order", -1, "", f"regional {why}"))
        self.rows.append((self.env.now, site, f"region_{action}", why))

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

    def request_aid(self, want: str, count: int, site: str, step: str, task: Any = None, isolate: str | None = None):
        """Ask for ``count`` crews of ``want`` (a resource or a kind) at ``site``; a generator that ends when
        every crew has arrived. ``task``: a :class:`~drills.workflow.engine.TaskSpec` worked on arrival."""
        env = self.env
        name = self._pick_resource(want, site)
        arrivals = []
        for _ in range(count):
            rec = AidRecord(len(self.aid) + 1, name, self.specs[name].kind, site, step, env.now)
            self.aid.append(rec)
            self.rows.append((env.now, site, "aid_request", f"#{rec.request} {name} ({rec.kind}) for {site}"))
            arrived = env.event()
            env.process(self._crew(rec, task, isolate, arrived))
            arrivals.append(arrived)
        yield env.all_of(arrivals)

    def _crew(self, rec: AidRecord, task: Any, isolate: str | None, arrived: Any):
        env = self.env
        store = self.stores[rec.resource]
        unit: _Unit = yield store.get()  # simpy serves gets in request order: first come, first served
        rec.t_dispatch = env.now
        self.rows.append((env.now, rec.site, "aid_dispatch",
                          f"#{rec.request} {rec.resource} crew {unit.crew + 1} after {rec.wait:.0f} s wait"))
        gate = self.region.site(rec.site).gate
        drive = self.region.roads.travel_time(unit.depot, gate)
        rec.travel_s = drive
        yield env.timeout(unit.turnout + drive)
        rec.t_arrive = env.now
        self.rows.append((env.now, rec.site, "aid_arrive", f"#{rec.request} {rec.resource} at {gate}"))
        arrived.succeed()
        if task is not None:
            yield env.timeout(max(0.0, float(task.duration.sample(self.rng, 1)[0])))
        if isolate is not None:
            run = self.runs[rec.site]
            hz = run.hazards
            if hz is not None and isolate in hz.source_ids:
                hz.isolate(isolate)
                run.marks.setdefault("t_isolate", env.now)
                self.rows.append((env.now, rec.site, "aid_isolate", f"#{rec.request} {rec.resource} stops {isolate}"))
        rec.t_release = env.now
        self.rows.append((env.now, rec.site, "aid_release", f"#{rec.request} {rec.resource}"))
        yield env.timeout(drive)
        rec.t_back = env.now
        self.busy[rec.resource] += rec.t_back - rec.t_dispatch
        yield store.put(unit)

    # -------------------------------------------------------------------------------------- injects
    def _inject(self, inj):
        env = self.env
        yield env.timeout(inj.time)
        if inj.kind in REGION_INJECT_KINDS:  # a site's injects are in that site's own log
            self.rows.append((env.now, inj.site or "", f"inject:{inj.kind}", f"id={inj.id} {inj.message}".strip()))
        if inj.kind == "resource_unavailable":
            store = self.stores[inj.target]
            held = []
            for _ in range(min(inj.count, self.specs[inj.target].units)):
                unit = yield store.get()
                held.append(unit)
                self.rows.append((env.now, "", "resource_out", f"{inj.target} crew {unit.crew + 1} out of service"))
            if inj.duration is not None:
                yield env.timeout(inj.duration)
                for unit in held:
                    yield store.put(unit)
                    self.rows.append((env.now, "", "resource_back", f"{inj.target} crew {unit.crew + 1} back"))
        if self.runner is not None:
            self.runner.on_inject(inj.id, site=inj.site)

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
