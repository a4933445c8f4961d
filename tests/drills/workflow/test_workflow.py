"""Workflows compiled to SimPy: each step kind, timing, triggers, and bad input naming the field.

A scripted :class:`FakeContext` on a real ``simpy.Environment`` stands in for the engine: fixed channel
latencies, acknowledgement delays by role, travel times by person, muster times by person.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import simpy

from drills.workflow.engine import (
    BUILDERS,
    DEFAULT_RENOTIFY_S,
    KINDS,
    REGISTRY,
    Workflow,
    WorkflowContext,
    channel_latency,
    compile_workflows,
    step_kind,
    validate_workflows,
    workflow_names,
)
from twin.distributions import Distribution
from twin.errors import InputError

HIGH_GAS = {"kind": "gas", "gas": "H2S", "level": "high", "zone": "Pump room"}
LOW_GAS = {"kind": "gas", "gas": "H2S", "level": "low", "zone": "Pump room"}


class FakeContext:
    """A scripted run: what the engine would do, with times the test chooses."""

    def __init__(self, *, seed: int = 0, roles: dict[str, list[int]] | None = None,
                 ack: dict[str, tuple[float, bool]] | None = None, travel: dict[int, float] | None = None,
                 expected: list[int] | None = None, latency: float = 5.0, n: int = 50):
        self.env = simpy.Environment()
        self.rng = np.random.default_rng(seed)
        self.roles = roles if roles is not None else {
            "operator": [0], "supervisor": [1], "responder": [2, 3, 4, 5], "warden": [6, 7]}
        self.ack = ack or {}
        self.travel = travel or {}
        self.latency = latency
        self.events: list[tuple[float, str, int, str, str]] = []
        self.marks: dict[str, float] = {}
        self.calls: list[tuple[float, str, object]] = []
        self.sent: list[tuple[float, int, str]] = []
        self.expected = list(expected or [])
        self.t_muster = np.full(n, math.nan)
        self._on_muster: list = []

    def log(self, kind, detail, agent=-1, node=""):
        self.events.append((self.env.now, kind, agent, node, detail))

    def mark(self, kpi, t):
        self.marks.setdefault(kpi, t)

    def people_with_role(self, role):
        return list(self.roles.get(role, []))

    def notify_latency(self, channel):
        return Distribution.fixed(self.latency)

    def acknowledge(self, role, alert, member=None):
        return self.ack.get(role, (10.0, False))

    def sound_alarm(self, zones, alert=None):
        self.calls.append((self.env.now, "sound_alarm", list(zones)))
        return 42

    def evacuate(self, zones, alert=None):
        self.calls.append((self.env.now, "evacuate", list(zones)))
        return 7

    def shelter(self, zones, alert=None):
        self.calls.append((self.env.now, "shelter", list(zones)))
        return 3

    def alert_location(self, alert):
        return f"s:{alert['zone']}" if alert else "s:unknown"

    def send(self, person, target, on_arrival):
        # like Crowd.send: the arrival is reported at once with its (future) time
        self.sent.append((self.env.now, person, target))
        on_arrival(person, self.env.now + self.travel.get(person, 30.0))

    def isolate(self, source, alert=None):
        self.calls.append((self.env.now, "isolate", source))

    def headcount_targets(self):
        return self.expected, self.t_muster

    def on_muster(self, callback):
        self._on_muster.append(callback)

    def all_clear(self, alert=None):
        self.calls.append((self.env.now, "all_clear", None))

    def muster_at(self, person: int, t: float) -> None:
        """Schedule ``person`` reaching a muster point at ``t``."""
        def go(_e):
            self.t_muster[person] = t
            for cb in self._on_muster:
                cb(person, t)
        self.env.timeout(t - self.env.now).callbacks.append(go)


def wf(steps, trigger=None, roles=None, **kw) -> dict:
    return {"name": kw.pop("name", "w"), "trigger": trigger or {"at": 0},
            "roles": roles if roles is not None else {"operator": 1, "supervisor": 1, "ert": 4, "warden": 2},
            "steps": steps, **kw}


def run(workflows, ctx=None, until=10_000.0, **ctx_kw):
    ctx = ctx or FakeContext(**ctx_kw)
    runner = compile_workflows(workflows if isinstance(workflows, list) else [workflows], ctx)
    ctx.env.run(until=until)
    return runner, ctx


def when(runner, step, state):
    """Times of ``state`` transitions of ``step``."""
    return [tr.t for tr in runner.transitions if tr.step == step and tr.state == state]


CONTRACT_EXAMPLE = {
    "name": "gas-response",
    "trigger": {"alert": "gas", "level": "high"},
    "roles": {"operator": 1, "supervisor": 1, "ert": 4},
    "steps": [
        {"id": "notify", "kind": "notify", "role": "operator", "channel": "radio"},
        {"id": "ack", "kind": "wait_ack", "role": "operator", "timeout": "60s", "escalate_to": "supervisor"},
        {"id": "alarm", "kind": "sound_alarm", "zones": ["alert_zone", "adjacent"], "after": ["ack"]},
        {"id": "isolate", "kind": "dispatch", "role": "ert", "count": 2, "to": "alert_location",
         "task": {"duration": {"dist": "lognormal", "median": "2min", "sigma": 0.4}}, "after": ["ack"]},
        {"id": "muster", "kind": "headcount", "after": ["alarm"]},
    ],
}


# ------------------------------------------------------------------------------------------- the whole
def test_every_kind_has_a_builder_and_the_context_protocol_is_satisfied():
    """The registry covers CONTRACTS section 4's kinds and the regional ones; the fake implements the
    protocol."""
    assert set(KINDS) == {"notify", "wait_ack", "sound_alarm", "evacuate", "shelter", "dispatch", "task",
                          "headcount", "all_clear", "parallel", "if"}
    assert set(BUILDERS) == set(REGISTRY) == set(KINDS) | {"request_aid", "broadcast_alert"}
    assert all("site" in REGISTRY[k].fields for k in KINDS)
    assert isinstance(FakeContext(), WorkflowContext)


def test_a_new_step_kind_registers_with_the_decorator_and_runs():
    """Open for extension: ``@step_kind`` adds a kind the validator and the runner both know; a kind
    registered twice is refused."""
    @step_kind("test_beep", site=(("message",), ()))
    def build_beep(r, inst, st):
        """Wait 3 s, then log a beep."""
        yield r.env.timeout(3.0)
        r._log(inst, st.id, "beeped", detail=st.message)
        return "beeped"

    try:
        runner, _ = run(wf([{"id": "b", "kind": "test_beep", "message": "hello"}]))
        assert when(runner, "b", "beeped") == [3.0] and when(runner, "b", "completed") == [3.0]
        with pytest.raises(ValueError, match="registered already"):
            step_kind("test_beep", site=((), ()))(build_beep)
        with pytest.raises(InputError, match="regional step"):  # a region-only kind in a site's workflow
            validate_workflows([wf([{"id": "a", "kind": "request_aid", "resource": "hazmat"}])])
    finally:
        REGISTRY.pop("test_beep")


def test_the_contract_example_runs_in_order_and_marks_its_kpis():
    """notify 5 s, ack 10 s later; alarm and dispatch both after ack; head count after the alarm."""
    ctx = FakeContext(travel={2: 30.0, 3: 40.0}, expected=[10, 11])
    runner = compile_workflows([CONTRACT_EXAMPLE], ctx)
    ctx.muster_at(10, 100.0)
    ctx.muster_at(11, 120.0)
    ctx.env.run(until=50)
    assert runner.on_alert(HIGH_GAS) == ["gas-response"]
    ctx.env.run(until=2000)
    assert ctx.marks["t_ack"] == pytest.approx(50 + 5 + 10)
    assert ctx.marks["t_alarm"] == pytest.approx(65)
    assert ctx.calls[0] == (65.0, "sound_alarm", ["alert_zone", "adjacent"])
    assert [s[1:] for s in ctx.sent] == [(2, "s:Pump room"), (3, "s:Pump room")]
    assert 65 + 40 < ctx.marks["t_isolate"] < 2000
    assert ctx.marks["t_headcount"] == pytest.approx(120 + 2.0)
    assert when(runner, "", "completed")
    # every transition reaches the run's log
    kinds = {e[1] for e in ctx.events}
    assert {"workflow:triggered", "workflow:started", "workflow:completed", "workflow:acknowledged",
            "workflow:isolated", "workflow:accounted"} <= kinds
    for sid in ("notify", "ack", "alarm", "isolate", "muster"):
        assert when(runner, sid, "started") and when(runner, sid, "completed")


# ---------------------------------------------------------------------------------------- notify/ack
def test_notify_takes_the_channel_latency_and_a_workflow_may_override_it():
    """Context latency 5 s; ``channels: {radio: 12s}`` in the workflow wins."""
    r1, _ = run(wf([{"id": "n", "kind": "notify", "role": "operator", "channel": "sms"}]))
    assert when(r1, "n", "completed") == [5.0]
    r2, _ = run(wf([{"id": "n", "kind": "notify", "role": "operator", "channel": "radio"}],
                   channels={"radio": "12s"}))
    assert when(r2, "n", "notified") == [12.0]


def test_default_channel_table_covers_every_channel_with_positive_times():
    """radio, phone, app push, PA and SMS have latency distributions in seconds."""
    rng = np.random.default_rng(0)
    for ch in ("radio", "phone", "app_push", "pa", "sms"):
        x = channel_latency(ch).sample(rng, 200)
        assert (x > 0).all() and 1 < np.median(x) < 120


ACK = {"id": "ack", "kind": "wait_ack", "role": "operator", "timeout": "60s", "escalate_to": "supervisor"}


def test_busy_operator_escalates_to_supervisor_exactly_at_the_timeout_and_leaks_no_request():
    """The operator is held elsewhere; at 60 s the request is cancelled and the supervisor acknowledges."""
    ctx = FakeContext()
    runner = compile_workflows([wf([ACK])], ctx)
    op = runner.pools["operator"].resource
    holder = op.request()  # the operator is on another job until t = 100

    def busy():
        yield holder
        yield ctx.env.timeout(100)
        op.release(holder)

    ctx.env.process(busy())
    ctx.env.run(until=1000)
    assert when(runner, "ack", "escalated") == [60.0]
    assert when(runner, "ack", "acknowledged") == [70.0]
    assert ctx.marks["t_ack"] == 70.0
    # the timed-out request was withdrawn: nothing granted to it when the operator came free
    assert op.count == 0 and len(op.queue) == 0
    assert runner.pools["operator"].free == [0]


def test_slow_operator_is_relieved_at_the_timeout():
    """An acknowledgement that would take 90 s is abandoned at 60 s and the operator released."""
    runner, ctx = run(wf([ACK]), ack={"operator": (90.0, False), "supervisor": (5.0, False)})
    assert when(runner, "ack", "timed_out") == [60.0]
    assert when(runner, "ack", "acknowledged") == [65.0]
    assert runner.pools["operator"].resource.count == 0


def test_dismissed_alert_escalates_only_when_the_timer_fires():
    """Alarm fatigue: the operator dismisses after 5 s; the supervisor is asked at 60 s."""
    runner, ctx = run(wf([ACK]), ack={"operator": (5.0, True)})
    assert when(runner, "ack", "dismissed") == [5.0]
    assert when(runner, "ack", "escalated") == [60.0]
    assert ctx.marks["t_ack"] == 70.0


def test_escalation_chain_runs_through_every_level():
    """operator -> supervisor -> warden, 30 s per level, nobody free until the last."""
    steps = [{"id": "ack", "kind": "wait_ack", "role": "operator", "timeout": 30,
              "escalate_to": ["supervisor", "warden"]}]
    runner, ctx = run(wf(steps), ack={"operator": (40.0, False), "supervisor": (40.0, False)})
    assert when(runner, "ack", "escalated") == [30.0, 60.0]
    assert when(runner, "ack", "acknowledged") == [70.0]


def test_dismissal_at_the_last_level_stalls_only_when_the_planner_says_never():
    """``renotify: never``: nobody left to escalate to, the step fails and the steps after it never start."""
    steps = [{"id": "ack", "kind": "wait_ack", "role": "operator", "timeout": 30, "renotify": "never"},
             {"id": "alarm", "kind": "sound_alarm"}]
    runner, ctx = run(wf(steps), ack={"operator": (5.0, True)})
    assert when(runner, "ack", "failed") == [5.0]
    assert not when(runner, "alarm", "started") and "t_ack" not in ctx.marks


class ScriptedAck(FakeContext):
    """Each acknowledgement request takes the next (delay, dismissed) of a script."""

    def __init__(self, script, **kw):
        super().__init__(**kw)
        self.script = list(script)

    def acknowledge(self, role, alert, member=None):
        return self.script.pop(0)


def test_a_dismissed_alert_does_not_stall_the_drill_forever():
    """Operator dismisses at 5 s, supervisor (at 30 s) dismisses at 35 s: the default contingency notifies
    the chain again 300 s later; the operator acknowledges the second time and the alarm sounds."""
    steps = [{"id": "ack", "kind": "wait_ack", "role": "operator", "timeout": 30, "escalate_to": "supervisor"},
             {"id": "alarm", "kind": "sound_alarm"}]
    ctx = ScriptedAck([(5.0, True), (5.0, True), (20.0, False)])
    runner, ctx = run(wf(steps), ctx=ctx)
    assert when(runner, "ack", "dismissed") == [5.0, 35.0]
    assert when(runner, "ack", "renotified") == [35.0 + DEFAULT_RENOTIFY_S]
    assert when(runner, "ack", "acknowledged") == [35.0 + DEFAULT_RENOTIFY_S + 20.0]
    assert ctx.marks["t_alarm"] == ctx.marks["t_ack"] == 355.0
    assert not when(runner, "ack", "failed")
    assert any("renotify" in c for c in runner.caveats)  # the default is an assumption the run states


def test_renotify_is_bounded_by_max_renotify_and_a_new_alert_renotifies_at_once():
    """Every answer a dismissal: ``renotify: 100s, max_renotify: 2`` fails after the second round; a
    matching alert while the step waits brings the alert back at once."""
    steps = [{"id": "ack", "kind": "wait_ack", "role": "operator", "timeout": 30, "renotify": "100s",
              "max_renotify": 2}]
    runner, ctx = run(wf(steps), ack={"operator": (5.0, True)})
    assert when(runner, "ack", "renotified") == [105.0, 210.0]
    assert when(runner, "ack", "failed") == [215.0]
    assert not runner.caveats
    w = wf(steps, trigger={"alert": "gas"})
    ctx = FakeContext(ack={"operator": (5.0, True)})
    runner = compile_workflows([w], ctx)
    runner.on_alert(LOW_GAS)
    ctx.env.run(until=50)
    assert runner.on_alert(HIGH_GAS) == []  # folded into the running response, which it wakes
    ctx.env.run(until=1000)
    assert when(runner, "ack", "renotified")[0] == 50.0


# ---------------------------------------------------------------------------------------- ordering
def test_after_orders_steps_and_joins_wait_for_all():
    """``after: []`` starts with the list; a join starts when its last dependency completes."""
    steps = [
        {"id": "a", "kind": "notify", "role": "operator", "channel": "radio"},  # 0 -> 5
        {"id": "b", "kind": "task", "task": {"duration": "20s"}, "after": []},  # 0 -> 20
        {"id": "c", "kind": "task", "task": {"duration": "1s"}, "after": ["a", "b"]},  # 20 -> 21
        {"id": "d", "kind": "task", "task": {"duration": "1s"}},  # follows c: 21 -> 22
    ]
    runner, _ = run(wf(steps))
    assert when(runner, "a", "completed") == [5.0] and when(runner, "b", "completed") == [20.0]
    assert when(runner, "c", "started") == [20.0] and when(runner, "d", "completed") == [22.0]


def test_parallel_runs_branches_together_and_joins():
    """Two branches of 10 s and 30 s: the block completes at 30 s, the next step starts then."""
    steps = [
        {"id": "p", "kind": "parallel", "steps": [
            {"id": "x", "kind": "task", "task": {"duration": "10s"}},
            {"id": "y", "kind": "task", "task": {"duration": "30s"}},
            {"id": "z", "kind": "task", "task": {"duration": "5s"}, "after": ["x"]},
        ]},
        {"id": "next", "kind": "all_clear"},
    ]
    runner, ctx = run(wf(steps))
    assert when(runner, "x", "started") == when(runner, "y", "started") == [0.0]
    assert when(runner, "z", "completed") == [15.0]
    assert when(runner, "p", "completed") == [30.0] and when(runner, "next", "completed") == [30.0]
    assert ctx.marks["t_all_clear"] == 30.0


# ---------------------------------------------------------------------------------------- triggers
def test_alert_trigger_fires_on_the_first_alert_at_or_above_its_level_once():
    """A high-level workflow ignores a low alert; a low-level one fires on either; each runs once."""
    hi = wf([{"id": "s", "kind": "sound_alarm"}], trigger={"alert": "gas", "level": "high"}, name="hi")
    lo = wf([{"id": "s", "kind": "sound_alarm"}], trigger={"alert": "H2S", "level": "low"}, name="lo")
    other = wf([{"id": "s", "kind": "sound_alarm"}], trigger={"alert": "fire"}, name="fire")
    ctx = FakeContext()
    runner = compile_workflows([hi, lo, other], ctx)
    ctx.env.run(until=10)
    assert runner.on_alert(LOW_GAS) == ["lo"]
    ctx.env.run(until=20)
    assert runner.on_alert(HIGH_GAS) == ["hi"]
    assert runner.on_alert(HIGH_GAS) == []
    ctx.env.run(until=30)
    assert [tr.t for tr in runner.transitions if tr.state == "triggered"] == [10.0, 20.0]


def _alert(zone, level="high", aid="A1"):
    return {"kind": "gas", "gas": "H2S", "level": level, "zone": zone, "id": aid}


def test_dedupe_restarts_per_zone_after_the_window_and_folds_alerts_in_while_running():
    """``dedupe: {per: zone, window: 100s, max_runs: 3}``: a second alert in the same zone while the
    response runs (50 s task) is folded in; one in another zone starts a second run at once; the first
    zone's next alert after its run ended but within 100 s of its start is folded in, after that it
    starts a third run; a fourth is over max_runs."""
    w = wf([{"id": "work", "kind": "task", "task": "50s"}], trigger={"alert": "gas"},
           dedupe={"per": "zone", "window": "100s", "max_runs": 3})
    ctx = FakeContext()
    runner = compile_workflows([w], ctx)
    plan = [(0, "Pump room", "A1"), (10, "Pump room", "A2"), (20, "Hall", "A3"), (80, "Pump room", "A4"),
            (120, "Pump room", "A5"), (300, "Hall", "A6")]
    started = []
    for t, zone, aid in plan:
        if t > ctx.env.now:
            ctx.env.run(until=t)
        started.append(runner.on_alert(_alert(zone, aid=aid)))
    ctx.env.run(until=1000)
    assert started == [["w"], [], ["w"], [], ["w"], []]
    runs = [(i.n, i.key, i.t_start) for i in runner.runs["w"]]
    assert runs == [(1, "Pump room", 0.0), (2, "Hall", 20.0), (3, "Pump room", 120.0)]
    folded = [(tr.t, tr.instance) for tr in runner.transitions if tr.state == "deduplicated"]
    assert [t for t, _ in folded] == [10.0, 80.0, 300.0]
    # the log names later runs NAME#n, the first as always
    assert any(e[4].startswith("w#3/work") for e in ctx.events)
    assert any(e[4].startswith("w/work") for e in ctx.events)


def test_without_dedupe_a_workflow_runs_once_and_dedupe_needs_an_alert_trigger():
    w = wf([{"id": "work", "kind": "task", "task": "5s"}], trigger={"alert": "gas"})
    ctx = FakeContext()
    runner = compile_workflows([w], ctx)
    assert runner.on_alert(_alert("Pump room")) == ["w"]
    ctx.env.run(until=100)
    assert runner.on_alert(_alert("Hall")) == []
    assert not [tr for tr in runner.transitions if tr.state == "deduplicated"]  # the old silent behaviour
    with pytest.raises(InputError, match="only with an alert trigger"):
        validate_workflows([wf([{"id": "a", "kind": "all_clear"}], trigger={"at": 5}, dedupe={"per": "zone"})])
    with pytest.raises(InputError, match="per: site only in a region"):
        validate_workflows([wf([{"id": "a", "kind": "all_clear"}], trigger={"alert": "gas"},
                               dedupe={"per": "site"})])


def test_inject_and_time_triggers():
    """``{inject: 3}`` starts on inject 3 only; ``{at: 2min}`` at 120 s."""
    by_inject = wf([{"id": "e", "kind": "evacuate", "zones": ["Hall"]}], trigger={"inject": 3}, name="inj")
    by_time = wf([{"id": "s", "kind": "shelter"}], trigger={"at": "2min"}, name="time")
    ctx = FakeContext()
    runner = compile_workflows([by_inject, by_time], ctx)
    ctx.env.run(until=50)
    assert runner.on_inject(2) == [] and runner.on_inject("3") == ["inj"]
    ctx.env.run(until=500)
    assert (50.0, "evacuate", ["Hall"]) in ctx.calls and (120.0, "shelter", ["*"]) in ctx.calls


# ---------------------------------------------------------------------------------------- dispatch
def test_dispatch_isolates_at_last_arrival_plus_task_duration():
    """Two responders arriving after 30 s and 45 s, a 120 s task: the leak stops at 165 s."""
    steps = [{"id": "iso", "kind": "dispatch", "role": "ert", "count": 2, "to": "alert_location",
              "task": {"duration": "2min"}}]
    ctx = FakeContext(travel={2: 30.0, 3: 45.0})
    runner = compile_workflows([wf(steps, trigger={"alert": "gas"})], ctx)
    runner.on_alert(HIGH_GAS)
    ctx.env.run(until=1000)
    assert ctx.sent == [(0.0, 2, "s:Pump room"), (0.0, 3, "s:Pump room")]
    assert when(runner, "iso", "arrived") == [45.0]
    assert [c for c in ctx.calls if c[1] == "isolate"] == [(165.0, "isolate", None)]
    assert ctx.marks["t_isolate"] == 165.0
    assert runner.pools["ert"].resource.count == 0 and sorted(runner.pools["ert"].free) == [2, 3, 4, 5]


def test_dispatch_elsewhere_does_no_isolation_unless_asked_and_uses_off_site_members():
    """A task away from the alert only takes time; a role with no agents dispatches off-site members."""
    steps = [{"id": "go", "kind": "dispatch", "role": "ert", "to": "Gate", "task": {"duration": "10s"}},
             {"id": "esd", "kind": "task", "role": "operator",
              "task": {"duration": "30s", "action": "isolate", "source": "H1"}}]
    ctx = FakeContext(roles={"operator": [0]})
    runner = compile_workflows([wf(steps, roles={"operator": 1, "ert": 1},
                                   )], ctx)
    ctx.env.run(until=100)
    assert ctx.sent == []  # ert has no agent in the site: off-site member, arriving at once
    assert when(runner, "go", "completed") == [10.0]
    assert [c for c in ctx.calls if c[1] == "isolate"] == [(40.0, "isolate", "H1")]
    assert any(tr.state == "short_staffed" for tr in runner.transitions)


# ---------------------------------------------------------------------------------------- headcount
def test_headcount_completes_only_when_the_last_person_is_accounted_for():
    """2 s per person, one counter: people mustered at 0, 50 and 100 s -> complete at 102 s."""
    ctx = FakeContext(expected=[10, 11, 12])
    ctx.t_muster[10] = 0.0
    runner = compile_workflows([wf([{"id": "hc", "kind": "headcount", "role": "warden"}])], ctx)
    ctx.muster_at(11, 50.0)
    ctx.muster_at(12, 100.0)
    ctx.env.run(until=101.9)
    assert "t_headcount" not in ctx.marks
    ctx.env.run(until=500)
    assert ctx.marks["t_headcount"] == pytest.approx(102.0)
    assert when(runner, "hc", "accounted") == pytest.approx([2.0, 52.0, 102.0])


def test_headcount_counters_share_the_queue():
    """Four people at 10 s, two wardens at 3 s each: done at 16 s."""
    ctx = FakeContext(expected=[20, 21, 22, 23])
    compile_workflows([wf([{"id": "hc", "kind": "headcount", "role": "warden", "count": 2,
                            "per_person": "3s"}])], ctx)
    for i in (20, 21, 22, 23):
        ctx.muster_at(i, 10.0)
    ctx.env.run(until=100)
    assert ctx.marks["t_headcount"] == pytest.approx(16.0)


def test_headcount_timeout_reports_the_missing_and_marks_nothing():
    """Person 31 never arrives: at the 5 min timeout the step lists them and completes unmarked."""
    ctx = FakeContext(expected=[30, 31])
    runner = compile_workflows([wf([{"id": "hc", "kind": "headcount", "timeout": "5min"},
                                    {"id": "next", "kind": "if", "condition": {"step": "hc", "is": "timed_out"},
                                     "then": [{"id": "search", "kind": "dispatch", "role": "ert",
                                               "to": "Hall"}]}])], ctx)
    ctx.muster_at(30, 10.0)
    ctx.env.run(until=1000)
    assert "t_headcount" not in ctx.marks
    tr = [t for t in runner.transitions if t.step == "hc" and t.state == "timed_out"]
    assert tr[0].t == 300.0 and "31" in tr[0].detail
    assert when(runner, "search", "started") == [300.0]


# ---------------------------------------------------------------------------------------- if
def _if_workflow():
    return wf([
        ACK,
        {"id": "choose", "kind": "if", "condition": {"step": "ack", "is": "escalated"},
         "then": [{"id": "evac", "kind": "evacuate", "zones": ["*"]},
                  {"id": "pa", "kind": "notify", "role": "warden", "channel": "pa"}],
         "else": [{"id": "shel", "kind": "shelter", "zones": ["Hall"]}]},
    ])


def test_if_takes_then_when_the_condition_holds_and_skips_else():
    """An escalated acknowledgement leads to evacuation; the shelter branch is skipped."""
    runner, ctx = run(_if_workflow(), ack={"operator": (90.0, False)})
    assert [c[1] for c in ctx.calls] == ["evacuate"]
    assert when(runner, "shel", "skipped") == [70.0] and when(runner, "pa", "completed") == [75.0]


def test_if_takes_else_otherwise():
    """A prompt acknowledgement leads to shelter in place."""
    runner, ctx = run(_if_workflow())
    assert [c[1] for c in ctx.calls] == ["shelter"] and when(runner, "evac", "skipped") == [10.0]


def test_if_conditions_on_alert_level_inject_time_and_combinations():
    """``all``/``any``/``not`` over level, inject and elapsed time."""
    cond = {"all": [{"level": "high"}, {"not": {"inject": 9}}, {"any": [{"elapsed_over": "1h"}, {"alert": "h2s"}]}]}
    steps = [{"id": "i", "kind": "if", "condition": cond, "then": [{"id": "t", "kind": "all_clear"}],
              "else": [{"id": "e", "kind": "all_clear"}]}]
    for alert, inject, taken in ((HIGH_GAS, None, "t"), (LOW_GAS, None, "e"), (HIGH_GAS, 9, "e")):
        ctx = FakeContext()
        runner = compile_workflows([wf(steps, trigger={"alert": "gas"})], ctx)
        if inject is not None:
            runner.on_inject(inject)
        runner.on_alert(alert)
        ctx.env.run(until=10)
        assert when(runner, taken, "completed") == [0.0]


# ---------------------------------------------------------------------------------------- determinism
def test_same_seed_same_run_different_seed_different_run():
    """Durations come from the context's workflow stream only."""
    def transitions(seed):
        ctx = FakeContext(seed=seed)
        runner = compile_workflows([CONTRACT_EXAMPLE], ctx)
        runner.on_alert(HIGH_GAS)
        ctx.env.run(until=5000)
        return [(tr.t, tr.step, tr.state, tr.agent) for tr in runner.transitions]

    assert transitions(7) == transitions(7)
    assert transitions(7) != transitions(8)


# ---------------------------------------------------------------------------------------- bad input
def _mutate(path, value=None, drop=False):
    def f(d):
        obj = d
        for p in path[:-1]:
            obj = obj[p]
        if drop:
            del obj[path[-1]]
        else:
            obj[path[-1]] = value
    return f


@pytest.mark.parametrize("mutation, where, words", [
    (_mutate(["steps", 2, "after"], ["akc"]), "workflows[0].steps[2].after", "unknown step id 'akc'"),
    (_mutate(["steps", 0, "after"], ["isolate"]), "workflows[0].steps[0].after", "cycle"),
    (_mutate(["steps", 1, "escalate_to"], "manager"), "workflows[0].steps[1].escalate_to", "unknown role"),
    (_mutate(["steps", 0, "role"], "medic"), "workflows[0].steps[0].role", "unknown role 'medic'"),
    (_mutate(["roles", "medic"], 1), "workflows[0].roles.medic", "unknown role"),
    (_mutate(["steps", 1, "escalte_to"], "supervisor"), "workflows[0].steps[1].escalte_to", "unknown field"),
    (_mutate(["steps", 1, "timeout"], "sixty seconds"), "workflows[0].steps[1].timeout", "cannot read"),
    (_mutate(["steps", 3, "task", "duration"], {"dist": "lognormal", "median": "2 kg", "sigma": 0.4}),
     "workflows[0].steps[3].task.duration.median", "expected a time"),
    (_mutate(["steps", 3, "to"], drop=True), "workflows[0].steps[3].to", "needs to"),
    (_mutate(["steps", 2, "channel"], "radio"), "workflows[0].steps[2].channel", "does not apply"),
    (_mutate(["steps", 0, "channel"], "pigeon"), "workflows[0].steps[0].channel", "unknown channel"),
    (_mutate(["steps", 3, "count"], 5), "workflows[0].steps[3].count", "exceeds roles.ert"),
    (_mutate(["steps", 4, "id"], "ack"), "workflows[0].steps[4].id", "duplicate step id"),
    (_mutate(["trigger", "level"], "severe"), "workflows[0].trigger.level", "unknown alert level 'severe'"),
    (_mutate(["trigger"], {"alert": "gas", "inject": 2}), "workflows[0].trigger", "exactly one"),
    (_mutate(["steps", 4, "kind"], "muster"), "workflows[0].steps[4].kind", "unknown step kind 'muster'"),
    (_mutate(["trigger", "level"], 0), "workflows[0].trigger.level", "expected warning, low"),
    (_mutate(["trigger", "site"], "PlantA"), "workflows[0].trigger.site", "only in a region"),
    (_mutate(["dedupe"], {"per": "zone", "window": "5min"}), None, None),
])
def test_bad_input_names_the_field(mutation, where, words):
    """Each mistake is an InputError with the full field path and a one-line message."""
    d = copy.deepcopy(CONTRACT_EXAMPLE)
    mutation(d)
    if where is None:  # a valid variant
        assert validate_workflows([d])
        return
    with pytest.raises(InputError) as e:
        validate_workflows([d])
    assert e.value.where == where
    assert words in e.value.message and "\n" not in str(e.value)


def test_nested_steps_report_their_path_and_after_stays_in_its_list():
    """A nested step naming an outer step is an error at the nested step's ``after``."""
    d = wf([ACK, {"id": "p", "kind": "parallel", "steps": [
        {"id": "x", "kind": "all_clear", "after": ["ack"]}]}])
    with pytest.raises(InputError) as e:
        validate_workflows([d])
    assert e.value.where == "workflows[0].steps[1].steps[0].after"
    assert "same list" in e.value.message
    with pytest.raises(InputError) as e:
        validate_workflows([wf([{"id": "i", "kind": "if", "condition": {"step": "nope", "is": "completed"},
                                 "then": [{"id": "t", "kind": "all_clear"}]}])])
    assert e.value.where == "workflows[0].steps[0].condition.step"


def test_the_model_embeds_in_a_scenario_and_lists_site_names_to_check():
    """``Workflow`` validates the contract example; zone and target names come with their paths."""
    w = Workflow.model_validate(CONTRACT_EXAMPLE)
    assert w.steps[1].timeout == 60.0 and w.steps[1].escalate_to == ["supervisor"]
    d = wf([{"id": "e", "kind": "evacuate", "zones": ["Hall", "alert_zone"]},
            {"id": "g", "kind": "dispatch", "role": "ert", "to": "Gate"}])
    assert workflow_names(validate_workflows([d])) == [
        ("workflows[0].steps[0].zones[0]", "zone", "Hall"), ("workflows[0].steps[1].to", "target", "Gate")]
