"""Response workflows (docs/workflows.md): low-code procedures compiled to SimPy processes.

A workflow is what a safety manager writes in the scenario's ``workflows:`` list: a trigger, the roles it
uses, and a list of steps. :class:`Workflow` validates it (pydantic, ``extra="forbid"``, every reference
checked); :func:`compile_workflows` turns the validated workflows into a :class:`WorkflowRunner` whose
processes run on the engine's SimPy clock through a :class:`WorkflowContext` the engine implements.

Words (BPMN, as in SpiffWorkflow): a :class:`Step` is a *task spec*, its run is a *task*; roles are
*lanes*; an escalation on ``wait_ack`` is an interrupting *boundary timer*; ``parallel`` is a parallel
gateway, ``if`` an exclusive gateway; the trigger is the *start event*.

Writing a workflow
------------------
.. code-block:: yaml

    workflows:
      - name: gas-response
        trigger: {alert: gas, level: high}          # or {inject: 3} or {at: 2min}
        roles: {operator: 1, supervisor: 1, ert: 4}
        steps:
          - {id: notify, kind: notify, role: operator, channel: radio}
          - {id: ack, kind: wait_ack, role: operator, timeout: 60s, escalate_to: supervisor}
          - {id: alarm, kind: sound_alarm, zones: [alert_zone, adjacent], after: [ack]}
          - {id: isolate, kind: dispatch, role: ert, count: 2, to: alert_location,
             task: {duration: {dist: lognormal, median: 2min, sigma: 0.4}}, after: [ack]}
          - {id: muster, kind: headcount, after: [alarm]}

**Order.** A step without ``after`` follows the step above it in the same list (a written procedure reads
top to bottom); ``after: []`` starts it with its list; ``after: [a, b]`` waits for both (a join). ``after``
names steps of the same list only: a ``parallel`` or ``if`` block is a black box that completes when the
steps inside it have. Inside ``parallel``, steps without ``after`` start together.

**Trigger.** ``{alert: gas, level: high}`` fires on the first alert of that kind (``gas``, ``camera``, a
gas name such as ``H2S``, or ``any``) at or above the level: ``warning``/``low`` (rank 1), ``alarm``/``high``
(rank 2) or a set-point number 1, 2, 3 (:mod:`drills.alerts.levels`, whose :func:`~drills.alerts.levels.matches`
decides for every trigger and condition, site and region; an unknown level is refused at load);
``{inject: 3}`` when inject 3 is played; ``{at: 2min}`` at that time. In a region ``site: NAME`` limits an
alert trigger to that site. A workflow runs once per drill, unless ``dedupe`` (:class:`Dedupe`) lets later
alert episodes start it again: ``dedupe: {per: zone, window: 10min, max_runs: 5}``.

**Roles.** ``roles: {name: count}`` names the people a step may use: ``occupant``, ``warden``,
``operator``, ``responder``, ``supervisor`` or an alias of one (:data:`ROLE_ALIASES`: ``ert`` and
``fire_team`` are responders, ``control_room`` operators, ``incident_commander`` a supervisor). Each role
is a SimPy resource of ``count`` members, filled with the first ``count`` agents of that role in the site;
missing members are off-site (virtual: they acknowledge and count but cannot be sent along the graph).

**Step kinds** (required fields first):

==============  ===================================  ==========================================================
kind            fields                               does
==============  ===================================  ==========================================================
notify          role, channel; message               delivers a message after the channel's latency
wait_ack        role, timeout; escalate_to,          a free member of the role acknowledges; each level of
                renotify, max_renotify               the chain (``escalate_to``: a role or a list) has
                                                     ``timeout``; the last level waits without one; when
                                                     everybody dismissed, the chain is notified again
                                                     after ``renotify`` (default 5 min; ``never``: stall)
sound_alarm     ; zones                              sounds the alarm; occupants of the zones become aware
evacuate        ; zones                              orders the people of the zones out
shelter         ; zones                              orders the people of the zones to shelter in place
dispatch        role, to; count, task, travel        sends ``count`` members to ``to`` (``alert_location``,
                                                     a space or a node), waits for all to arrive, then does
                                                     ``task``
task            task; role                           a member of the role works ``task.duration`` in place
headcount       ; role, count, per_person, timeout   accounts for everyone who had to leave at the muster
                                                     points, ``per_person`` (default 2 s) per person and
                                                     counter
all_clear       ;                                    declares the emergency over
parallel        steps                                runs the nested steps together; done when all are
if              condition, then; else                runs the nested ``then`` or ``else`` steps
==============  ===================================  ==========================================================

``zones`` are space names, ``storey:NAME``, ``building:NAME``, ``*`` or the words ``alert_zone`` and
``adjacent`` (the alert's space and its neighbours); omitted means everywhere. ``task`` is
``{duration: DIST, action: isolate | none, source: HAZARD}``; a dispatch to ``alert_location`` isolates
by default (the source behind the alert unless ``source`` names one), any other task does nothing but
take time. A field that does not belong to the kind is an error.

Step kinds live in one registry (:data:`REGISTRY`): :func:`step_kind` registers a builder with the fields
it takes in site and in regional workflows; :mod:`drills.workflow.regional` adds ``request_aid`` and
``broadcast_alert``, which only a region's workflows may use (``dispatch`` and ``headcount`` only a site's).

**Conditions** of ``if`` are mappings, one test each, combined with ``all``/``any``/``not``::

    {level: high}                       # the triggering alert is at least this level
    {alert: H2S}                        # the triggering alert is of this kind or gas
    {inject: 4}                         # inject 4 has been played
    {step: ack, is: escalated}          # an earlier step's outcome: completed, acknowledged,
                                        # escalated, timed_out, skipped, renotified
    {elapsed_over: 10min}               # more than this since the trigger
    {all: [{level: high}, {not: {step: ack, is: escalated}}]}

Every transition (triggered, started, completed, escalated, timed_out, dismissed, renotified, skipped,
failed, deduplicated, and what a step did) is written through :meth:`WorkflowContext.log` with kind ``workflow:<state>`` and kept in
:attr:`WorkflowRunner.transitions`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import networkx as nx
import numpy as np
import simpy
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drills.alerts.levels import check_level, matches
from twin.distributions import Distribution
from twin.errors import InputError
from twin.units import parse_bounded

__all__ = [
    "Workflow", "Step", "Trigger", "TaskSpec", "Condition", "WORKFLOW_FIELD", "KINDS", "CHANNELS",
    "ROLE_ALIASES", "DEFAULT_CHANNEL_LATENCY", "DEFAULT_PER_PERSON_S", "ZONE_WORDS", "WorkflowContext",
    "WorkflowRunner", "Transition", "BUILDERS", "compile_workflows", "validate_workflows", "channel_latency",
    "agent_role", "workflow_names", "error_path", "StepKind", "REGISTRY", "step_kind", "SCOPES", "Dedupe",
    "DEFAULT_RENOTIFY_S", "walk_steps",
]

KINDS = ("notify", "wait_ack", "sound_alarm", "evacuate", "shelter", "dispatch", "task", "headcount",
         "all_clear", "parallel", "if")
"""The step kinds of a site's procedures (docs/workflows.md); :data:`REGISTRY` holds every kind."""
SCOPES = ("site", "region")
"""Where a workflow runs: in one site's drill, or in a region's joint exercise (:mod:`drills.region`)."""
AGENT_ROLES = ("occupant", "warden", "operator", "responder", "supervisor")  # agents.crowd.ROLES
ROLE_ALIASES = {"ert": "responder", "fire_team": "responder", "firefighter": "responder",
                "control_room": "operator", "incident_commander": "supervisor", "shift_lead": "supervisor"}
ZONE_WORDS = ("alert_zone", "adjacent", "*")
OUTCOMES = ("completed", "acknowledged", "escalated", "timed_out", "skipped", "renotified")
DEFAULT_PER_PERSON_S = 2.0
"""s a counter needs to account for one person at a muster point (tick a roll or scan a badge).

An assumption, not a measurement: set ``per_person`` from the site's own drills."""

DEFAULT_RENOTIFY_S = 300.0
"""s after everybody in a ``wait_ack`` chain dismissed an alert until the chain is notified again.

A planning value, not a measurement (no published re-notification interval was found to cite): it keeps
a dismissed alert from ending the response for good. Set ``renotify`` on the step (``never`` restores the
old stall), and read it in the run's caveats."""

CHANNELS = ("radio", "phone", "app_push", "pa", "sms")
DEFAULT_CHANNEL_LATENCY: dict[str, dict[str, Any]] = {
    # Seconds from "sender starts" to "receiver has the message". Plausible planning values, not
    # measurements from a cited study: each is the call or delivery set-up plus the receiver noticing.
    # Override per workflow with ``channels: {radio: DIST}`` once a site has measured its own.
    "radio": {"dist": "lognormal", "median": "10s", "sigma": 0.5},  # push-to-talk, call-up and reply
    "phone": {"dist": "lognormal", "median": "25s", "sigma": 0.5},  # dial, 3-5 rings, answer
    "app_push": {"dist": "lognormal", "median": "30s", "sigma": 0.8},  # delivery is quick, noticing is not
    "pa": {"dist": "triangular", "min": "5s", "mode": "10s", "max": "30s"},  # compose and speak
    "sms": {"dist": "lognormal", "median": "40s", "sigma": 0.9},  # carrier queue plus noticing
}


def channel_latency(channel: str) -> Distribution:
    """The default latency distribution (s) of ``channel`` (:data:`DEFAULT_CHANNEL_LATENCY`)."""
    return Distribution.parse(DEFAULT_CHANNEL_LATENCY[channel], "time", f"channels.{channel}")


def agent_role(role: str) -> str:
    """The agent role (``agents.crowd.ROLES``) a workflow role name stands for."""
    return ROLE_ALIASES.get(role, role)


# ---------------------------------------------------------------------------------------------- models
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)


def _duration(v: Any, name: str, positive: bool = True) -> float | None:
    return parse_bounded(v, "time", name, positive=positive)


def _scope(info: ValidationInfo | None) -> str:
    """The scope a workflow is validated for (``site`` unless the caller's context says ``region``)."""
    ctx = getattr(info, "context", None) or {}
    return ctx.get("scope", "site")


class Trigger(_Model):
    """What starts a workflow: one of ``alert`` (with ``level``), ``inject`` or ``at`` (s); in a region,
    ``site`` limits an alert trigger to that site's alerts."""

    alert: str | None = Field(default=None, description="alert kind (gas, camera), a gas name, or any")
    level: str | int | None = Field(default=None, description="warning | alarm | low | high | set-point "
                                                                "number; fires at this level or above (default: any)")
    inject: int | str | None = Field(default=None, description="the id of an inject")
    at: float | None = Field(default=None, description="simulation time (s)")
    site: str | None = Field(default=None, description="regions only: alerts of this site (default: any site)")

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v):
        return _duration(v, "at", positive=False)

    @field_validator("level")
    @classmethod
    def _level(cls, v):
        return check_level(v)

    @model_validator(mode="after")
    def _one(self, info: ValidationInfo):
        given = [k for k in ("alert", "inject", "at") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of alert, inject, at")
        if self.level is not None and self.alert is None:
            raise ValueError("level: only with alert")
        if self.site is not None and _scope(info) != "region":
            raise ValueError("site: only in a region's workflows (a site's own workflows see only its alerts)")
        return self


class TaskSpec(_Model):
    """Work done in place: ``duration`` (s, a distribution), then the ``action``'s effect. A bare
    distribution (``task: 20min``) is short for ``{duration: 20min}``."""

    duration: Any

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, v):
        if not isinstance(v, dict) or "dist" in v:
            return {"duration": v}
        return v
    action: Literal["isolate", "none"] | None = Field(
        default=None, description="isolate stops the leak; default isolate for a dispatch to alert_location")
    source: str | None = Field(default=None, description="hazard id or source to isolate; default the alert's")

    @field_validator("duration")
    @classmethod
    def _d(cls, v):
        d = Distribution.parse(v, "time", "duration")
        if d.minimum < 0:
            raise ValueError("duration: may yield negative times (add min: 0)")
        return d


class Condition(_Model):
    """One test of an ``if`` step (see the module docs); exactly one of the groups."""

    level: str | int | None = None
    alert: str | None = None
    inject: int | str | None = None
    step: str | None = None
    is_: Literal["completed", "acknowledged", "escalated", "timed_out", "skipped", "renotified"] | None = Field(
        default=None, alias="is")
    elapsed_over: float | None = Field(default=None, description="s since the trigger")
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @field_validator("elapsed_over", mode="before")
    @classmethod
    def _t(cls, v):
        return _duration(v, "elapsed_over", positive=False)

    @field_validator("level")
    @classmethod
    def _level(cls, v):
        return check_level(v)

    @model_validator(mode="after")
    def _one(self):
        groups = {"alert/level": self.alert is not None or self.level is not None,
                  "inject": self.inject is not None, "step": self.step is not None or self.is_ is not None,
                  "elapsed_over": self.elapsed_over is not None, "all": self.all is not None,
                  "any": self.any is not None, "not": self.not_ is not None}
        on = [k for k, v in groups.items() if v]
        if len(on) != 1:
            raise ValueError(f"give exactly one test ({', '.join(groups)}), got {', '.join(on) or 'none'}")
        if (self.step is None) != (self.is_ is None):
            raise ValueError("step and is go together: {step: ack, is: escalated}")
        return self

    def step_refs(self) -> list[str]:
        """Step ids the condition reads."""
        out = [self.step] if self.step else []
        for c in (self.all or []) + (self.any or []) + ([self.not_] if self.not_ else []):
            out.extend(c.step_refs())
        return out


# kind: (required fields, optional fields), by YAML name; id, kind, after, description always allowed
# ---------------------------------------------------------------------------------- step-kind registry
Fields = tuple[tuple[str, ...], tuple[str, ...]]
"""(required fields, optional fields) of a step kind, by YAML name."""


@dataclass(frozen=True)
class StepKind:
    """One kind of step: its builder (a generator function ``(runner, instance, step) -> outcome``), the
    fields it takes in each scope it may be used in (``site``, ``region``), and an optional ``check`` of
    a validated step (raise ``ValueError("field: message")``)."""

    name: str
    builder: Callable[..., Generator[simpy.Event, Any, str]]
    fields: dict[str, Fields]
    check: Callable[[Step], None] | None = None
    doc: str = ""


REGISTRY: dict[str, StepKind] = {}
"""Every step kind, by name: the built-in ones below and those other modules add with :func:`step_kind`
(the regional ``request_aid`` and ``broadcast_alert`` in :mod:`drills.workflow.regional`)."""


def step_kind(name: str, *, site: Fields | None = None, region: Fields | None = None,
              check: Callable[[Step], None] | None = None) -> Callable:
    """Register the decorated builder as step kind ``name``. ``site``/``region``: the (required,
    optional) fields the kind takes in a site's or a region's workflows; a kind given neither scope's
    fields cannot be used there. Registering a name twice is an error (one builder per kind)."""
    def deco(fn: Callable[..., Generator[simpy.Event, Any, str]]):
        if name in REGISTRY:
            raise ValueError(f"step kind {name!r} is registered already (by {REGISTRY[name].builder.__qualname__})")
        fields = {sc: f for sc, f in (("site", site), ("region", region)) if f is not None}
        REGISTRY[name] = StepKind(name, fn, fields, check, (fn.__doc__ or "").strip())
        return fn
    return deco


def _kinds_in(scope: str) -> list[str]:
    return [k for k, sk in REGISTRY.items() if scope in sk.fields]


_ALWAYS = ("id", "kind", "after", "description")


class Step(_Model):
    """One step (task spec); which fields apply depends on ``kind`` (module docs)."""

    id: str
    kind: str = Field(json_schema_extra=lambda schema: schema.update(enum=_kinds_in("site")),
                      description="a step kind (docs/workflows.md); a region's workflows also take "
                                  "request_aid and broadcast_alert")
    description: str = ""
    after: list[str] | None = Field(default=None, description="ids of steps of the same list to finish first")
    role: str | None = None
    channel: str | None = None
    message: str = ""
    timeout: float | None = Field(default=None, description="s; wait_ack: per escalation level")
    escalate_to: list[str] | None = Field(default=None, description="a role or a chain of roles")
    zones: list[str] | None = None
    count: int | None = Field(default=None, ge=1)
    to: str | list[str] | None = Field(default=None, description="dispatch: a node, space or alert_location; "
                                       "request_aid: a site; broadcast_alert: sites, others or all")
    task: TaskSpec | None = None
    renotify: float | None = Field(default=None, description="wait_ack: s after everybody dismissed until the "
                                   f"chain is notified again (default {DEFAULT_RENOTIFY_S:g}; never: stall)")
    max_renotify: int | None = Field(default=None, ge=0, description="wait_ack: re-notifications at most "
                                     "(default: as many as the drill's time allows)")
    site: str | None = Field(default=None, description="regional sound_alarm/evacuate/shelter: the site "
                             "(default: the site that triggered)")
    resource: str | None = Field(default=None, description="request_aid: a resource name or kind")
    isolate: str | None = Field(default=None, description="request_aid: hazard id the crew stops")
    action: str | None = Field(default=None, description="broadcast_alert: notify | alarm | shelter | evacuate")
    travel: Any = Field(default=None, description="dispatch: s for off-site members to arrive (distribution)")
    per_person: float | None = Field(default=None, description="headcount: s per person and counter")
    steps: list[Step] | None = None
    condition: Condition | None = None
    then: list[Step] | None = None
    else_: list[Step] | None = Field(default=None, alias="else")

    @field_validator("id")
    @classmethod
    def _id(cls, v):
        if not re.fullmatch(r"[A-Za-z0-9_][\w\-.]*", v):
            raise ValueError(f"expected letters, digits, _ - . (no spaces), got {v!r}")
        return v

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v):
        return _duration(v, "timeout")

    @field_validator("per_person", mode="before")
    @classmethod
    def _per(cls, v):
        return _duration(v, "per_person", positive=False)

    @field_validator("renotify", mode="before")
    @classmethod
    def _renotify(cls, v):
        if isinstance(v, str) and v.strip().lower() == "never":
            return math.inf
        return _duration(v, "renotify")

    @field_validator("kind")
    @classmethod
    def _kind(cls, v, info: ValidationInfo):
        scope = _scope(info)
        if v not in REGISTRY:
            raise ValueError(f"unknown step kind {v!r}; expected one of {', '.join(_kinds_in(scope))}")
        if scope not in REGISTRY[v].fields:
            other = next(iter(REGISTRY[v].fields), "site")
            why = ("needs a site's people and plan: put it in that site's own workflows" if other == "site"
                   else "is a regional step: put it in a region's workflows")
            raise ValueError(f"{v} {why}")
        return v

    @field_validator("travel")
    @classmethod
    def _travel(cls, v):
        return None if v is None else Distribution.parse(v, "time", "travel")

    @field_validator("escalate_to", mode="before")
    @classmethod
    def _chain(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("zones", mode="before")
    @classmethod
    def _zones(cls, v):
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _kind_fields(self, info: ValidationInfo):
        sk = REGISTRY[self.kind]
        req, opt = sk.fields[_scope(info)]
        given = {("else" if f == "else_" else f) for f in self.model_fields_set} - set(_ALWAYS)
        stray = sorted(given - set(req) - set(opt))
        if stray:  # a field of another kind is a misunderstanding worth stopping for, like a misspelling
            raise ValueError(f"{stray[0]}: does not apply to kind {self.kind} (it takes "
                             f"{', '.join(req + opt) or 'no other fields'})")
        for f in req:
            if getattr(self, "else_" if f == "else" else f) is None:
                raise ValueError(f"{f}: kind {self.kind} needs {f}")
        for f in ("steps", "then"):
            if getattr(self, f) == []:
                raise ValueError(f"{f}: expected at least one step")
        if isinstance(self.to, list) and self.kind != "broadcast_alert":
            raise ValueError(f"to: kind {self.kind} goes to one place, not a list")
        if _scope(info) == "region" and self.task is not None and self.task.action == "isolate" \
                and self.kind != "request_aid":
            raise ValueError("task.action: a region isolates a release through a crew: request_aid with "
                             "isolate: HAZARD")
        if sk.check is not None:
            sk.check(self)
        return self

    def children(self) -> list[tuple[str, list[Step]]]:
        """The nested step lists, as (YAML field, steps)."""
        return [(f, getattr(self, a)) for f, a in (("steps", "steps"), ("then", "then"), ("else", "else_"))
                if getattr(self, a)]


class Dedupe(_Model):
    """When a later alert may start the workflow again (an alert trigger only; without ``dedupe`` a
    workflow runs once per drill).

    Alerts are grouped by ``per``: ``drill`` (all alerts are one group), ``zone`` (the alert's zone) or
    ``site`` (the alert's site, in a region). An alert is folded into its group's response, and logged as
    ``deduplicated``, while that response is still running or less than ``window`` s after it started;
    otherwise it starts a new run of the workflow, up to ``max_runs`` runs per drill."""

    per: Literal["drill", "zone", "site"] = "zone"
    window: float = Field(default=0.0, description="s after a run started during which alerts of its group "
                                                   "are folded in (even once it is over)")
    max_runs: int | None = Field(default=None, ge=1, description="runs of the workflow per drill at most")

    @field_validator("window", mode="before")
    @classmethod
    def _w(cls, v):
        return _duration(v, "window", positive=False)


class Workflow(_Model):
    """One procedure: ``name``, ``trigger``, ``roles`` ({role: count}), ``steps``; ``channels`` overrides
    notify latencies (s, distributions) by channel name; ``dedupe`` lets later alerts start it again."""

    name: str
    description: str = ""
    trigger: Trigger
    dedupe: Dedupe | None = Field(default=None, description="restart on later alert episodes (default: "
                                                            "the workflow runs once per drill)")
    roles: dict[str, int] = Field(default_factory=dict)
    channels: dict[str, Any] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _roles(cls, v):
        for name, n in v.items():
            if agent_role(name) not in AGENT_ROLES:
                raise ValueError(f"{name}: unknown role; expected one of {', '.join(AGENT_ROLES)} or "
                                 f"{', '.join(ROLE_ALIASES)}")
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"{name}: expected a count of at least 1, got {n!r}")
        return v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v):
        return {k: Distribution.parse(d, "time", k) for k, d in v.items()}

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo):
        if self.dedupe is not None and self.trigger.alert is None:
            raise ValueError("dedupe: only with an alert trigger (an inject or a time fires once)")
        if self.dedupe is not None and self.dedupe.per == "site" and _scope(info) != "region":
            raise ValueError("dedupe.per: site only in a region's workflows; use zone or drill")
        ids: dict[str, str] = {}
        for path, st, _ in _walk(self.steps, "steps"):
            if st.id in ids:
                raise ValueError(f"{path}.id: duplicate step id {st.id!r} (first at {ids[st.id]})")
            ids[st.id] = path
        channels = set(CHANNELS) | set(self.channels)
        for path, st, siblings in _walk(self.steps, "steps"):
            for f, roles in (("role", [st.role] if st.role else []), ("escalate_to", st.escalate_to or [])):
                for r in roles:
                    if r not in self.roles:
                        raise ValueError(f"{path}.{f}: unknown role {r!r}; roles of this workflow: "
                                         f"{', '.join(self.roles) or '(none: add roles: {...})'}")
            if st.count is not None and st.role and st.count > self.roles[st.role]:
                raise ValueError(f"{path}.count: {st.count} exceeds roles.{st.role} = {self.roles[st.role]}")
            if st.channel is not None and st.channel not in channels:
                raise ValueError(f"{path}.channel: unknown channel {st.channel!r}; expected one of "
                                 f"{', '.join(sorted(channels))}")
            sib = {s.id for s in siblings}
            for a in st.after or []:
                if a not in sib:
                    hint = (f" (it is at {ids[a]}; after names steps of the same list)" if a in ids else
                            f"; steps here: {', '.join(s.id for s in siblings)}")
                    raise ValueError(f"{path}.after: unknown step id {a!r}{hint}")
            if st.condition is not None:
                for r in st.condition.step_refs():
                    if r not in ids:
                        raise ValueError(f"{path}.condition.step: unknown step id {r!r}")
        for lst_path, lst, parallel in _lists(self.steps, "steps", False):
            g = nx.DiGraph()
            for k, st in enumerate(lst):
                g.add_node(st.id)
                for d in _deps(lst, k, not parallel):
                    g.add_edge(d, st.id)
            if not nx.is_directed_acyclic_graph(g):
                cyc = [u for u, _ in nx.find_cycle(g)]
                k = next(k for k, s in enumerate(lst) if s.id in cyc and s.after)
                raise ValueError(f"{lst_path}[{k}].after: cycle {' -> '.join(cyc + cyc[:1])}")
        return self


def walk_steps(steps: list[Step], path: str = "steps"):
    """(path, step, its list) for every step, depth first (nested ``parallel``/``if`` lists too)."""
    return _walk(steps, path)


def _walk(steps: list[Step], path: str):
    """(path, step, its list) for every step, depth first."""
    for k, st in enumerate(steps):
        p = f"{path}[{k}]"
        yield p, st, steps
        for f, sub in st.children():
            yield from _walk(sub, f"{p}.{f}")


def _lists(steps: list[Step], path: str, parallel: bool):
    """(path, list, runs_in_parallel) for the top list and every nested list."""
    yield path, steps, parallel
    for k, st in enumerate(steps):
        for f, sub in st.children():
            yield from _lists(sub, f"{path}[{k}].{f}", st.kind == "parallel")


def _deps(lst: list[Step], k: int, sequential: bool) -> list[str]:
    """Ids step ``k`` waits for: its ``after``, else the step above it in a sequential list."""
    st = lst[k]
    if st.after is not None:
        return list(st.after)
    return [lst[k - 1].id] if sequential and k > 0 else []


WORKFLOW_FIELD = Workflow
"""The model a scenario embeds: ``workflows: list[WORKFLOW_FIELD] = Field(default_factory=list)``."""

Step.model_rebuild()
Condition.model_rebuild()

_PREFIX = re.compile(r"^((?:[A-Za-z_][\w]*)(?:\[\d+\])*(?:\.[A-Za-z_][\w]*(?:\[\d+\])*)*): (.*)$", re.S)


def error_path(loc: tuple, msg: str, base: str = "") -> tuple[str, str]:
    """(full field path, message) of a pydantic error: its ``loc`` plus the field path a cross-field
    validator puts at the head of its message (``steps[2].after: unknown step id 'x'``)."""
    parts: list[str] = [base] if base else []
    for p in loc:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]" if parts else f"[{p}]"]
        else:
            parts.append(str(p))
    where = ".".join(parts)
    m = _PREFIX.match(msg)
    if m:
        prefix, rest = m.groups()
        last = parts[-1].split("[")[0] if parts else ""
        first = prefix.split(".")[0].split("[")[0]
        if first == last:  # the field names itself (``timeout: ...``); keep any deeper part
            where += prefix[len(first):]
        else:  # a model validator named a field below it
            where = f"{where}.{prefix}" if where else prefix
        msg = rest
    return where, msg


def validate_workflows(data: Any, where: str = "workflows", source: str | None = None,
                       scope: str = "site") -> list[Workflow]:
    """Validate the ``workflows:`` list of a scenario (``scope="site"``) or a region (``"region"``); raise
    :class:`InputError` whose ``where`` is the full field path (``workflows[0].steps[2].after``) and whose
    message is one line."""
    if not isinstance(data, list):
        raise InputError("expected a list of workflows", source=source, where=where)
    out = []
    for k, item in enumerate(data):
        try:
            out.append(item if isinstance(item, Workflow)
                       else Workflow.model_validate(item, context={"scope": scope}))
        except ValidationError as e:
            err = e.errors()[0]
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; see `drilltwin schema`)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            w, m = error_path(tuple(err["loc"]), msg, f"{where}[{k}]")
            raise InputError(m, source=source, where=w) from None
    names = [w.name for w in out]
    for k, n in enumerate(names):
        if names.index(n) != k:
            raise InputError(f"duplicate workflow name {n!r}", source=source, where=f"{where}[{k}].name")
    return out


def workflow_names(workflows: Sequence[Workflow], where: str = "workflows") -> list[tuple[str, str, str]]:
    """Site names the workflows use, as ``(field path, "zone" | "target", name)``, for the engine to check
    against the site (zone words and ``alert_location`` left out)."""
    out = []
    for i, wf in enumerate(workflows):
        for path, st, _ in _walk(wf.steps, f"{where}[{i}].steps"):
            for j, z in enumerate(st.zones or []):
                if z not in ZONE_WORDS:
                    out.append((f"{path}.zones[{j}]", "zone", z))
            if st.to is not None and st.to != "alert_location":
                out.append((f"{path}.to", "target", st.to))
    return out


# --------------------------------------------------------------------------------------------- context
@runtime_checkable
class WorkflowContext(Protocol):
    """What the workflows need from a run; :mod:`drills.sim.engine` implements it over the crowd, the gas
    hazards and the alert policy. Times are SimPy seconds; people are crowd indices; ``role`` arguments
    are agent roles (``agents.crowd.ROLES``, aliases already resolved).

    A region's layer (:class:`drills.region.workflow.RegionLayer`) is the context of regional workflows:
    it takes ``site=`` in :meth:`log`, hands ``sound_alarm``/``evacuate``/``shelter`` to a member site's
    own context (``site_context(name)``) and serves the regional kinds (``request_aid``,
    ``broadcast_targets``, ``receive_broadcast``)."""

    env: simpy.Environment
    rng: np.random.Generator  # the run's "workflow" stream

    def log(self, kind: str, detail: str, agent: int = -1, node: str = "") -> None:
        """Append an event ``(env.now, kind, agent, node, detail)`` to the run's log."""

    def mark(self, kpi: str, t: float) -> None:
        """A KPI moment (``t_ack``, ``t_alarm``, ``t_isolate``, ``t_headcount``, ``t_all_clear``); keep the
        first."""

    def people_with_role(self, role: str) -> list[int]:
        """Crowd indices of the agents of an agent role (``agents.crowd.ROLES``), in a stable order."""

    def notify_latency(self, channel: str) -> Distribution:
        """Latency (s) of a channel; :func:`channel_latency` gives the defaults."""

    def acknowledge(self, role: str, alert: Any, member: int | None = None) -> tuple[float, bool]:
        """(s the person needs to react, True if they dismiss the alert): the alarm-fatigue model of
        ``member`` (the pool member asked: a crowd index, or negative for an off-site member)."""

    def sound_alarm(self, zones: list[str], alert: Any = None) -> int:
        """Sound the alarm in ``zones`` (module docs; ``["*"]`` everywhere); return how many became aware."""

    def evacuate(self, zones: list[str], alert: Any = None) -> int:
        """Order the people of ``zones`` out; return how many were ordered."""

    def shelter(self, zones: list[str], alert: Any = None) -> int:
        """Order the people of ``zones`` to shelter in place; return how many."""

    def alert_location(self, alert: Any) -> str:
        """The navigation node responders go to for ``alert`` (the alerting detector's space)."""

    def send(self, person: int, target: str, on_arrival: Callable[[int, float], None]) -> None:
        """Walk ``person`` to ``target`` (a node or a space name); call ``on_arrival(person, t)`` when there
        (``t`` may be ahead of ``env.now``, as ``Crowd.send`` does)."""

    def isolate(self, source: str | None, alert: Any = None) -> None:
        """Stop a release now: ``source`` a hazard id or source name, None the hazard behind ``alert``."""

    def headcount_targets(self) -> tuple[Sequence[int], Sequence[float]]:
        """(people expected at the muster points, muster time of every person: NaN/inf if not yet)."""

    def on_muster(self, callback: Callable[[int, float], None]) -> None:
        """Call ``callback(person, t)`` whenever someone reaches a muster point from now on."""

    def all_clear(self, alert: Any = None) -> None:
        """The emergency is declared over."""


# --------------------------------------------------------------------------------------------- runtime
@dataclass(frozen=True)
class Transition:
    """One logged state change of a workflow or step (``step`` empty for the workflow itself).

    ``instance`` counts the runs of the workflow (1 for the first; later runs start on later alert
    episodes, see :class:`Dedupe`); ``site`` is the site a regional run acts for (empty in a site's run);
    ``node`` where it happened, when a place is known."""

    t: float
    workflow: str
    step: str
    state: str
    role: str = ""
    agent: int = -1
    detail: str = ""
    instance: int = 1
    site: str = ""
    node: str = ""


class _Pool:
    """A role's lane: a SimPy resource of ``capacity`` plus which members are free (real agents first,
    then off-site members numbered -1, -2, ...)."""

    def __init__(self, env: simpy.Environment, name: str, capacity: int, agents: list[int]):
        self.name = name
        self.resource = simpy.Resource(env, capacity)
        self.members = list(agents[:capacity]) + [-(k + 1) for k in range(capacity - min(capacity, len(agents)))]
        self.free = list(self.members)

    def take(self) -> int:
        # a granted request guarantees a free member: grants never exceed the capacity
        return self.free.pop(0)

    def give(self, member: int, req: simpy.resources.resource.Request) -> None:
        self.free.append(member)
        self.free.sort(key=self.members.index)  # the same member is picked first every time: determinism
        self.resource.release(req)


@dataclass
class _Instance:
    """One run of a workflow (BPMN: the workflow, as against its spec)."""

    wf: Workflow
    alert: Any
    t_start: float
    n: int = 1
    key: Any = None
    site: str | None = None
    done: dict[str, simpy.Event] = field(default_factory=dict)
    flags: dict[str, set[str]] = field(default_factory=dict)
    process: simpy.Process | None = None
    finished: bool = False
    nudge: simpy.Event | None = None  # set while a wait_ack waits to re-notify a dismissed alert

    @property
    def label(self) -> str:
        """The name the log uses: the workflow's, with ``#n`` from its second run on."""
        return self.wf.name if self.n == 1 else f"{self.wf.name}#{self.n}"


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


class WorkflowRunner:
    """The compiled workflows of one run (a site's drill or a region's joint exercise). The engine calls
    :meth:`on_alert` and :meth:`on_inject`; ``at`` triggers are already scheduled. A workflow runs once
    per drill unless its :class:`Dedupe` lets later alert episodes start it again."""

    def __init__(self, workflows: Sequence[Workflow], ctx: WorkflowContext):
        self.ctx = ctx
        self.env = ctx.env
        self.workflows = list(workflows)
        self.transitions: list[Transition] = []
        self.instances: dict[str, _Instance] = {}  # the latest run of each workflow
        self.runs: dict[str, list[_Instance]] = {}  # every run of each workflow, in start order
        self.injects: set[str] = set()
        self.pools: dict[str, _Pool] = {}
        cap: dict[str, int] = {}
        for wf in self.workflows:
            for r, n in wf.roles.items():
                cap[r] = max(cap.get(r, 0), n)
        for r, n in cap.items():
            agents = [int(i) for i in ctx.people_with_role(agent_role(r))]
            self.pools[r] = _Pool(self.env, r, n, agents)
            if len(agents) < n:
                self._log(None, "", "short_staffed", r, detail=f"{n} wanted, {len(agents)} {agent_role(r)} agent(s) "
                                                       f"in the site; {n - len(agents)} off-site")
        for wf in self.workflows:
            if wf.trigger.at is not None:
                self.env.process(self._at(wf))

    @property
    def caveats(self) -> list[str]:
        """Modelling assumptions the planner did not set and that this run used (so they moved its KPIs)."""
        used = {(tr.workflow, tr.step) for tr in self.transitions if tr.state == "renotified"}
        out = []
        for wf in self.workflows:
            for _, st, _ in _walk(wf.steps, "steps"):
                if st.kind == "wait_ack" and st.renotify is None and (wf.name, st.id) in used:
                    out.append(f"workflow {wf.name!r} step {st.id!r}: when everybody in the chain dismisses the "
                               f"alert, it is notified again after {DEFAULT_RENOTIFY_S:g} s (a planning value, "
                               "not a measurement; set renotify on the step)")
        return out

    # ------------------------------------------------------------------------------ triggers
    def _at(self, wf: Workflow):
        yield self.env.timeout(max(0.0, wf.trigger.at - self.env.now))
        self.start(wf.name, None, f"at {wf.trigger.at:g} s")

    def _key(self, wf: Workflow, alert: Any) -> Any:
        per = wf.dedupe.per if wf.dedupe is not None else "drill"
        return None if per == "drill" else str(_get(alert, per))

    def _folds(self, wf: Workflow, alert: Any) -> str | None:
        """Why ``alert`` does not start ``wf`` again (``None``: it does)."""
        runs = self.runs.get(wf.name, [])
        if not runs:
            return None
        d = wf.dedupe
        if d is None:
            return "runs once per drill"
        if d.max_runs is not None and len(runs) >= d.max_runs:
            return f"max_runs {d.max_runs} reached"
        key = self._key(wf, alert)
        last = next((i for i in reversed(runs) if i.key == key), None)
        if last is None:
            return None
        if not last.finished:
            return f"run {last.n} for {d.per} {key} still running" if key is not None else f"run {last.n} still running"
        if self.env.now - last.t_start < d.window:
            return f"within {d.window:g} s of run {last.n}"
        return None

    def on_alert(self, alert: Any) -> list[str]:
        """An alert was raised now; start the workflows it triggers. Returns their names."""
        out = []
        for wf in self.workflows:
            t = wf.trigger
            if t.alert is None or not matches(t, alert):
                continue
            why = self._folds(wf, alert)
            if why is not None:
                key = self._key(wf, alert)
                for inst in self.runs.get(wf.name, []):  # new evidence brings a dismissed alert back at once
                    if inst.nudge is not None and not inst.nudge.triggered and inst.key == key:
                        inst.nudge.succeed(f"alert {_get(alert, 'id') or ''}".strip())
                if wf.dedupe is not None:  # a workflow that runs once stays silent, as it always did
                    self._log(self.instances[wf.name], "", "deduplicated",
                              detail=f"alert {_get(alert, 'id') or ''} folded in: {why}".replace("  ", " "))
                continue
            self.start(wf.name, alert, f"alert {_get(alert, 'kind') or ''} {_get(alert, 'level') or ''}".strip())
            out.append(wf.name)
        return out

    def on_inject(self, inject_id: int | str, site: str | None = None) -> list[str]:
        """Inject ``inject_id`` was played now (at ``site``, in a region); start the workflows it triggers.
        Returns their names."""
        self.injects.add(str(inject_id))
        out = []
        for wf in self.workflows:
            if wf.trigger.inject is not None and str(wf.trigger.inject) == str(inject_id) \
                    and wf.name not in self.instances:
                self.start(wf.name, None, f"inject {inject_id}", site=site)
                out.append(wf.name)
        return out

    def start(self, name: str, alert: Any = None, cause: str = "", *, site: str | None = None) -> simpy.Process | None:
        """Start a run of workflow ``name`` now. A second start of a workflow without ``dedupe`` is logged
        as ``ignored``; :meth:`on_alert` applies the de-duplication rules before calling this."""
        wf = next(w for w in self.workflows if w.name == name)
        runs = self.runs.setdefault(name, [])
        if runs and wf.dedupe is None:
            self._log(runs[-1], "", "ignored", detail=f"already running; {cause}")
            return None
        site = site or _get(alert, "site") or wf.trigger.site
        inst = _Instance(wf, alert, self.env.now, len(runs) + 1, self._key(wf, alert), site)
        runs.append(inst)
        self.instances[name] = inst
        self._log(inst, "", "triggered", detail=cause)
        inst.process = self.env.process(self._run(inst))
        return inst.process

    # ------------------------------------------------------------------------------ running
    def _log(self, inst: _Instance | None, step: str, state: str, role: str = "", agent: int = -1, node: str = "",
             detail: str = "") -> None:
        wf, n, site = (inst.wf.name, inst.n, inst.site or "") if inst is not None else ("", 1, "")
        tr = Transition(self.env.now, wf, step, state, role, agent, detail, n, site, node)
        self.transitions.append(tr)
        label = inst.label if inst is not None else ""
        name = f"{label}/{step}" if step else label
        text = " ".join(x for x in (name, role and f"[{role}]", detail) if x)
        if site:  # a regional run: the region's log has a site column
            self.ctx.log(f"workflow:{state}", text, agent, node, site=site)
        else:
            self.ctx.log(f"workflow:{state}", text, agent, node)

    def _run(self, inst: _Instance):
        go = self.env.event().succeed()
        yield simpy.AllOf(self.env, self._block(inst, inst.wf.steps, go, sequential=True))
        inst.finished = True
        self._log(inst, "", "completed")

    def _block(self, inst: _Instance, steps: list[Step], gate: simpy.Event, sequential: bool) -> list[simpy.Event]:
        """Start the processes of one step list; return their completion events."""
        for st in steps:
            inst.done[st.id] = self.env.event()
        for k, st in enumerate(steps):
            deps = [inst.done[d] for d in _deps(steps, k, sequential)]
            self.env.process(self._step(inst, st, gate, deps))
        return [inst.done[st.id] for st in steps]

    def _step(self, inst: _Instance, st: Step, gate: simpy.Event, deps: list[simpy.Event]):
        yield gate
        if deps:
            yield simpy.AllOf(self.env, deps)
        self._log(inst, st.id, "started", st.role or "", detail=st.kind)
        inst.flags[st.id] = set()
        outcome = yield from REGISTRY[st.kind].builder(self, inst, st)
        if outcome == "failed":  # dependants never start: the procedure stalls as it would on site
            return
        inst.flags[st.id].add("completed")
        self._log(inst, st.id, "completed", st.role or "", detail=outcome or "")
        inst.done[st.id].succeed(outcome)

    def _skip(self, inst: _Instance, steps: list[Step]) -> None:
        for _, st, _ in _walk(steps, ""):
            inst.done.setdefault(st.id, self.env.event())
            inst.flags[st.id] = {"skipped"}
            self._log(inst, st.id, "skipped")
            inst.done[st.id].succeed("skipped")

    def _test(self, inst: _Instance, c: Condition) -> bool:
        if c.all is not None:
            return all(self._test(inst, x) for x in c.all)
        if c.any is not None:
            return any(self._test(inst, x) for x in c.any)
        if c.not_ is not None:
            return not self._test(inst, c.not_)
        if c.inject is not None:
            return str(c.inject) in self.injects
        if c.step is not None:
            return c.is_ in inst.flags.get(c.step, set())
        if c.elapsed_over is not None:
            return self.env.now - inst.t_start > c.elapsed_over
        return matches(c, inst.alert)

    def _latency(self, wf: Workflow, channel: str) -> float:
        d = wf.channels.get(channel) or self.ctx.notify_latency(channel)
        return max(0.0, float(d.sample(self.ctx.rng, 1)[0]))

    def _effect(self, inst: _Instance, st: Step, agent: int = -1) -> str:
        action = st.task.action if st.task else None
        if action is None:
            action = "isolate" if st.kind == "dispatch" and st.to == "alert_location" else "none"
        if action != "isolate":
            return "done"
        self.ctx.isolate(st.task.source if st.task else None, inst.alert)
        self.ctx.mark("t_isolate", self.env.now)
        self._log(inst, st.id, "isolated", st.role or "", agent,
                  detail=st.task.source if st.task and st.task.source else "alert source")
        return "isolated"


# -------------------------------------------------------------------------------------------- builders
Builder = Callable[[WorkflowRunner, _Instance, Step], Generator[simpy.Event, Any, str]]
_ZONES: Fields = ((), ("zones",))
_ZONES_REGION: Fields = ((), ("zones", "site"))
_ACK: Fields = (("role", "timeout"), ("escalate_to", "renotify", "max_renotify"))
_TASK: Fields = (("task",), ("role",))


@step_kind("notify", site=(("role", "channel"), ("message",)), region=(("channel",), ("role", "message")))
def build_notify(r: WorkflowRunner, inst: _Instance, st: Step):
    """Deliver a message to the role after the channel's latency (s)."""
    yield r.env.timeout(r._latency(inst.wf, st.channel))
    r._log(inst, st.id, "notified", st.role or "", detail=f"via {st.channel} {st.message}".strip())
    return "delivered"


@step_kind("wait_ack", site=_ACK, region=_ACK)
def build_wait_ack(r: WorkflowRunner, inst: _Instance, st: Step):
    """A free member of the role acknowledges; at ``timeout`` (s, per level) escalate along the chain.
    When everybody dismissed, the chain is notified again from its first role after ``renotify`` s
    (sooner when a new matching alert arrives), ``max_renotify`` times at most.

    The request that timed out is cancelled (else the resource would be granted later and never
    released); ``with`` is not used because cancelling inside it raises on exit."""
    env, wf = r.env, inst
    chain = [st.role, *(st.escalate_to or [])]
    renotify = DEFAULT_RENOTIFY_S if st.renotify is None else st.renotify
    rounds = 0
    while True:
        for level, role in enumerate(chain):
            pool = r.pools[role]
            last = level == len(chain) - 1
            deadline = None if last else env.timeout(st.timeout)
            req = pool.resource.request()
            if deadline is not None:
                got = yield req | deadline
                if req not in got:
                    req.cancel()
                    r._log(wf, st.id, "timed_out", role, detail=f"no free {role} within {st.timeout:g} s")
                    r._log(wf, st.id, "escalated", chain[level + 1], detail=f"{role} -> {chain[level + 1]}")
                    inst.flags[st.id] |= {"timed_out", "escalated"}
                    continue
            else:
                yield req
            member = pool.take()
            try:
                delay, dismissed = r.ctx.acknowledge(agent_role(role), inst.alert, member=member)
                handled = env.timeout(max(0.0, float(delay)))
                got = yield (handled | deadline) if deadline is not None else handled
                on_time = deadline is None or handled in got
            finally:
                pool.give(member, req)
            if on_time and not dismissed:
                r._log(wf, st.id, "acknowledged", role, member)
                r.ctx.mark("t_ack", env.now)
                inst.flags[st.id].add("acknowledged")
                return f"acknowledged by {role}"
            if on_time:  # dismissed as a false alarm: nobody acts until the boundary timer fires
                r._log(wf, st.id, "dismissed", role, member)
                if deadline is None:
                    break  # the whole chain dismissed: the contingency below
                yield deadline
            r._log(wf, st.id, "timed_out", role, member, detail=f"no acknowledgement within {st.timeout:g} s")
            r._log(wf, st.id, "escalated", chain[level + 1], detail=f"{role} -> {chain[level + 1]}")
            inst.flags[st.id] |= {"timed_out", "escalated"}
        if not math.isfinite(renotify) or (st.max_renotify is not None and rounds >= st.max_renotify):
            more = f" after {rounds} re-notification(s)" if rounds else ""
            r._log(wf, st.id, "failed", chain[-1], detail=f"not acknowledged by anyone in the chain{more}")
            return "failed"
        # the contingency: the dismissed alert is brought back to the chain later, or at once on new evidence
        inst.nudge = env.event()
        wait = env.timeout(renotify)
        got = yield wait | inst.nudge
        why = f"after {renotify:g} s" if wait in got else f"on {inst.nudge.value}"
        inst.nudge = None
        rounds += 1
        inst.flags[st.id].add("renotified")
        r._log(wf, st.id, "renotified", chain[0], detail=f"{chain[0]} notified again {why} (round {rounds + 1})")

def _zone_order(name: str):
    def build(r: WorkflowRunner, inst: _Instance, st: Step):
        zones = list(st.zones or ["*"])
        where = st.site or inst.site
        # in a region the order goes to one site's own context: a region composes site runs
        ctx = r.ctx.site_context(where) if where else r.ctx
        n = getattr(ctx, name)(zones, inst.alert)
        if name == "sound_alarm":
            ctx.mark("t_alarm", r.env.now)
        r._log(inst, st.id, {"sound_alarm": "alarm", "evacuate": "evacuate", "shelter": "shelter"}[name],
               detail=f"{n} people in {', '.join(zones)}")
        return f"{n} people"
        yield  # a generator like every builder, though it takes no time

    build.__name__ = f"build_{name}"
    build.__doc__ = f"``ctx.{name}(zones)`` now; omitted zones mean everywhere (in a region: at ``site``)."
    return step_kind(name, site=_ZONES, region=_ZONES_REGION)(build)


build_sound_alarm = _zone_order("sound_alarm")
build_evacuate = _zone_order("evacuate")
build_shelter = _zone_order("shelter")


def _arrival(env: simpy.Environment, ev: simpy.Event) -> Callable[[int, float], None]:
    """An ``on_arrival(i, t)`` that fires ``ev`` at ``t`` (the crowd may report arrivals ahead of now)."""
    def cb(_i: int, t: float) -> None:
        env.timeout(max(0.0, t - env.now)).callbacks.append(lambda _e: ev.triggered or ev.succeed(t))
    return cb


@step_kind("dispatch", site=(("role", "to"), ("count", "task", "travel")))
def build_dispatch(r: WorkflowRunner, inst: _Instance, st: Step):
    """Take ``count`` members, send them to ``to``, wait until all arrived, work ``task.duration`` (s),
    then the task's effect (isolation at ``alert_location`` by default)."""
    env, wf, pool = r.env, inst, r.pools[st.role]
    reqs = [pool.resource.request() for _ in range(st.count or 1)]
    yield simpy.AllOf(env, reqs)
    members = [pool.take() for _ in reqs]
    try:
        target = r.ctx.alert_location(inst.alert) if st.to == "alert_location" else st.to
        arrived = []
        for m in members:
            ev = env.event()
            if m >= 0:
                r.ctx.send(m, target, _arrival(env, ev))
            else:  # off-site: no body on the graph, only a travel time
                t = 0.0 if st.travel is None else max(0.0, float(st.travel.sample(r.ctx.rng, 1)[0]))
                env.timeout(t).callbacks.append(lambda _e, ev=ev: ev.succeed(env.now))
            r._log(wf, st.id, "dispatched", st.role, m, target)
            arrived.append(ev)
        yield simpy.AllOf(env, arrived)
        r._log(wf, st.id, "arrived", st.role, detail=f"{len(members)} at {target}", node=target)
        out = "arrived"
        if st.task is not None:
            yield env.timeout(max(0.0, float(st.task.duration.sample(r.ctx.rng, 1)[0])))
            out = r._effect(inst, st, members[0])
        return out
    finally:
        for m, q in zip(members, reqs, strict=True):
            pool.give(m, q)


@step_kind("task", site=_TASK, region=_TASK)
def build_task(r: WorkflowRunner, inst: _Instance, st: Step):
    """A member of the role (if any) works ``task.duration`` (s) where they are, then the effect."""
    pool = r.pools.get(st.role) if st.role else None
    req = member = None
    if pool is not None:
        req = pool.resource.request()
        yield req
        member = pool.take()
    try:
        yield r.env.timeout(max(0.0, float(st.task.duration.sample(r.ctx.rng, 1)[0])))
        return r._effect(inst, st, -1 if member is None else member)
    finally:
        if pool is not None:
            pool.give(member, req)


@step_kind("headcount", site=((), ("role", "count", "per_person", "timeout")))
def build_headcount(r: WorkflowRunner, inst: _Instance, st: Step):
    """Account for everyone expected at the muster points: ``count`` counters (members of ``role``, or
    off-site) take people first come first served, ``per_person`` s each; done when the last is counted.
    With ``timeout`` (s) the step gives up, logs who is missing and completes without ``t_headcount``."""
    env, wf = r.env, inst
    expected, t_muster = r.ctx.headcount_targets()
    expected = [int(i) for i in expected]
    per = DEFAULT_PER_PERSON_S if st.per_person is None else st.per_person
    n_counters = st.count or 1
    pool = r.pools.get(st.role) if st.role else None
    reqs: list = []
    members: list[int] = [-1] * n_counters
    if pool is not None:
        reqs = [pool.resource.request() for _ in range(n_counters)]
        yield simpy.AllOf(env, reqs)
        members = [pool.take() for _ in reqs]
    try:
        queue = simpy.Store(env)
        waiting = set(expected)

        def mustered(i: int, t: float) -> None:
            # the crowd may report an arrival ahead of env.now: queue the person at their own time
            if i in waiting:
                waiting.discard(i)
                env.timeout(max(0.0, t - env.now)).callbacks.append(lambda _e: queue.put(i))

        # those already there (or already reported) queue in the order they came
        for t, i in sorted((float(t_muster[i]), i) for i in expected if math.isfinite(t_muster[i])):
            mustered(i, t)

        r.ctx.on_muster(mustered)
        counted: list[int] = []
        complete = env.event()
        claimed = [0]

        def counter(member: int):
            while claimed[0] < len(expected):
                claimed[0] += 1
                i = yield queue.get()
                yield env.timeout(per)
                counted.append(i)
                r._log(wf, st.id, "accounted", st.role or "", i, detail=f"{len(counted)}/{len(expected)}")
                if len(counted) == len(expected):
                    complete.succeed()

        if not expected:
            complete.succeed()
        for m in members:
            env.process(counter(m))
        if st.timeout is not None:
            got = yield complete | env.timeout(st.timeout)
            if complete not in got:
                missing = sorted(set(expected) - set(counted))
                inst.flags[st.id].add("timed_out")
                r._log(wf, st.id, "timed_out", st.role or "",
                       detail=f"{len(missing)} not accounted for: {', '.join(map(str, missing[:20]))}")
                return f"{len(missing)} missing"
        else:
            yield complete
        r.ctx.mark("t_headcount", env.now)
        return f"{len(expected)} accounted for"
    finally:
        if pool is not None:
            for m, q in zip(members, reqs, strict=True):
                pool.give(m, q)


@step_kind("all_clear", site=((), ()), region=((), ()))
def build_all_clear(r: WorkflowRunner, inst: _Instance, st: Step):
    """Declare the emergency over now."""
    r.ctx.all_clear(inst.alert)
    r.ctx.mark("t_all_clear", r.env.now)
    return "all clear"
    yield  # a generator like every builder


@step_kind("parallel", site=(("steps",), ()), region=(("steps",), ()))
def build_parallel(r: WorkflowRunner, inst: _Instance, st: Step):
    """Start the nested steps together (those without ``after``); done when all are (a parallel join)."""
    go = r.env.event().succeed()
    yield simpy.AllOf(r.env, r._block(inst, st.steps, go, sequential=False))
    return f"{len(st.steps)} branches joined"


@step_kind("if", site=(("condition", "then"), ("else",)), region=(("condition", "then"), ("else",)))
def build_if(r: WorkflowRunner, inst: _Instance, st: Step):
    """Run ``then`` or ``else`` (each a sequential list) by the condition now; skip the other."""
    take = r._test(inst, st.condition)
    chosen, other = (st.then, st.else_ or []) if take else (st.else_ or [], st.then)
    r._log(inst, st.id, "branch", detail="then" if take else "else")
    r._skip(inst, other)
    go = r.env.event().succeed()
    yield simpy.AllOf(r.env, r._block(inst, chosen, go, sequential=True))
    return "then" if take else "else"


class _Builders(Mapping):
    """``BUILDERS[kind]``: the builder of every registered kind (a read-only view of :data:`REGISTRY`)."""

    def __getitem__(self, kind: str) -> Builder:
        return REGISTRY[kind].builder

    def __iter__(self):
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)


BUILDERS: Mapping[str, Builder] = _Builders()
assert set(KINDS) <= set(REGISTRY) and all("site" in REGISTRY[k].fields for k in KINDS)


def compile_workflows(workflows: Sequence[Workflow | dict], ctx: WorkflowContext) -> WorkflowRunner:
    """Validate (if given as mappings) and compile workflows onto ``ctx.env``: role pools are filled with
    agents, ``at`` triggers scheduled; the engine forwards alerts and injects to the runner."""
    return WorkflowRunner(validate_workflows(list(workflows)), ctx)
