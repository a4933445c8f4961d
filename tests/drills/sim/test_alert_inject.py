"""The ``alert`` inject: an alert delivered at its time as the alert layer delivers a policy's alert
(logged, in the alerts table, scored against the gas, handed to the workflows' triggers or, without
workflows, to the control-room operator), with no detector behind it."""

from __future__ import annotations

import pytest
import yaml

from drills.sim.engine import run_scenario
from drills.spec.scenario import load_scenario
from tests.conftest import MODELS
from twin.errors import InputError

WORKFLOW = {"name": "gas-response", "trigger": {"alert": "gas", "level": "high"}, "roles": {"operator": 1},
            "steps": [{"id": "notify", "kind": "notify", "role": "operator", "channel": "radio"},
                      {"id": "alarm", "kind": "sound_alarm", "zones": ["*"], "after": ["notify"]}]}


def _scenario(tmp_path, inject, workflows=(WORKFLOW,), **extra):
    sc = {"name": "alert inject", "site": str(MODELS / "chemical_plant.ifc"), "seed": 3, "duration": "5min",
          "population": [{"where": "Control Room", "count": 2, "role": "operator"}],
          "injects": [{"id": "R1", "time": "90s", "kind": "alert", **inject}], "workflows": list(workflows)}
    sc.update(extra)
    p = tmp_path / "ai.yaml"
    p.write_text(yaml.safe_dump(sc))
    return p


def _triggered(res) -> list[float]:
    return [e[0] for e in res.events if e[1] == "workflow:triggered"]


def test_high_alert_inject_starts_the_workflow_at_its_time(tmp_path):
    res = run_scenario(load_scenario(_scenario(tmp_path, {"zone": "Pump Room", "level": "high",
                                                          "detector": "GD-101", "policy": "fusion"})))
    assert _triggered(res) == [90.0]
    alerts = [e for e in res.events if e[1] == "alert"]
    assert len(alerts) == 1 and alerts[0][0] == 90.0
    # in the alerts table like any alert: a gas alert of the pump room's space, rank 2, from GD-101
    (ev,) = res.extra["alerts"]
    assert ev.kind == "gas" and ev.rank == 2 and ev.level == "alarm" and ev.policy == "fusion"
    assert ev.sensors == ("GD-101",) and ev.gas == "H2S"  # the gas of the modelled detector it names
    # no gas anywhere in this run: scored false for the KPIs, as a policy's alert would be
    k = res.kpis
    assert k["alerts"] == 1 and k["false_alerts"] == 1 and k["t_alert"] == 90.0


def test_warning_alert_inject_does_not_start_a_high_trigger(tmp_path):
    res = run_scenario(load_scenario(_scenario(tmp_path, {"zone": "Pump Room", "level": "warning"})))
    assert _triggered(res) == []
    assert res.kpis["alerts"] == 1 and res.kpis["t_alarm"] is None
    # a number is a level too: set point 2 is the high stage
    res = run_scenario(load_scenario(_scenario(tmp_path, {"zone": "Pump Room", "level": 2})))
    assert _triggered(res) == [90.0]


def test_alert_inject_in_gas_is_scored_true_and_shown_to_the_operator(tmp_path):
    """A leak in the pump room from 0 s, the injected alert at 30 s (before any detector there alerts):
    scored true, and with no workflow the control-room operator is shown it and acknowledges it."""
    leak = [{"id": "L1", "kind": "gas_leak", "gas": "H2S", "source": "P-101", "rate": "0.05 kg/s", "start": "0s"}]
    p = _scenario(tmp_path, {"time": "30s", "zone": "Pump Room", "level": "alarm"}, workflows=(), hazards=leak,
                  duration="2min")
    res = run_scenario(load_scenario(p))
    k = res.kpis
    first = next(e for e in res.events if e[1] == "alert")
    assert first[0] == 30.0 and first[4].startswith("inject-R1 ")
    assert k["false_alerts"] == 0 and k["t_first_true_alarm"] == 30.0
    # not dismissed, so the first acknowledgement is of this alert, after the operator's own delay
    assert not any(e[1] == "dismissed" and e[4] == "inject-R1" for e in res.events)
    assert k["t_ack"] is not None and k["t_ack"] > 30.0


@pytest.mark.parametrize("inject,where,needle", [
    ({"zone": "Ballroom", "level": "high"}, "injects[0].zone", "Ballroom"),
    ({"zone": "Pump Room", "level": "severe"}, "injects[0].level", "severe"),
    ({"zone": "Pump Room", "level": 0}, "injects[0].level", "set-point numbers start at 1"),
    ({"level": "high"}, "injects[0].zone", "needs zone"),
    ({"zone": "Pump Room"}, "injects[0].level", "needs level"),
])
def test_bad_alert_injects_are_refused_naming_the_field(tmp_path, inject, where, needle):
    p = _scenario(tmp_path, inject)
    with pytest.raises(InputError) as e:
        run_scenario(load_scenario(p))
    msg = str(e.value)
    assert where in msg and needle in msg and "ai.yaml" in msg, msg
