"""Workflows in a whole drill: the procedure's steps act on the crowd and the gas, and are timed."""

from __future__ import annotations

import pytest
import yaml

from drills.cli.main import main
from drills.sim.engine import run_scenario
from drills.spec.scenario import load_scenario
from tests.conftest import MODELS

WORKFLOW = {
    "name": "gas-response",
    "trigger": {"inject": 3},
    "roles": {"operator": 1, "supervisor": 1, "ert": 2},
    "steps": [
        {"id": "notify", "kind": "notify", "role": "operator", "channel": "radio"},
        {"id": "ack", "kind": "wait_ack", "role": "operator", "timeout": "60s", "escalate_to": "supervisor"},
        {"id": "alarm", "kind": "sound_alarm", "zones": ["*"], "after": ["ack"]},
        {"id": "isolate", "kind": "dispatch", "role": "ert", "count": 2, "to": "Pump Room",
         "task": {"duration": "2min", "action": "isolate"}, "after": ["ack"]},
        {"id": "muster", "kind": "headcount", "after": ["alarm"]},
    ],
}


def _scenario(tmp_path, workflows, hazards=True, **extra):
    sc = {"name": "wf", "site": str(MODELS / "chemical_plant.ifc"), "seed": 3, "duration": "30min",
          "population": [{"where": "building:Admin and Lab", "count": 30},
                         {"where": "Control Room", "count": 2, "role": "operator"},
                         {"where": "Lobby", "count": 1, "role": "supervisor"},
                         {"where": "Workshop", "count": 4, "role": "responder", "protected": True}],
          "injects": [{"id": 3, "time": "2min", "kind": "message", "message": "gas smell reported"}],
          "workflows": workflows}
    if hazards:
        sc["hazards"] = [{"id": "L1", "kind": "gas_leak", "gas": "H2S", "source": "P-101", "rate": "0.05 kg/s",
                          "start": "1min"}]
    sc.update(extra)
    p = tmp_path / "wf.yaml"
    p.write_text(yaml.safe_dump(sc))
    return p


def test_procedure_times_are_causal_and_act_on_the_drill(tmp_path):
    res = run_scenario(load_scenario(_scenario(tmp_path, [WORKFLOW])))
    k = res.kpis
    assert k["t_detect"] < k["t_ack"] <= k["t_alarm"] < k["t_evacuated"] <= k["t_mustered"] <= k["t_headcount"]
    assert k["t_ack"] < k["t_isolate"]
    # two responders walk from the workshop to the pump room, then work 2 minutes
    assert k["t_isolate"] - k["t_ack"] >= 120.0
    kinds = [e[1] for e in res.events]
    assert "isolated" in kinds and any(x.startswith("workflow:") for x in kinds)
    # the leak stopped at the isolation: released mass = rate x (t_isolate - start)
    assert k["gas_released_kg"] == pytest.approx(0.05 * k["t_isolate"], rel=0.02)


def test_isolation_by_the_workflow_cuts_the_release(tmp_path):
    with_wf = run_scenario(load_scenario(_scenario(tmp_path, [WORKFLOW]))).kpis
    no_iso = dict(WORKFLOW, steps=[s for s in WORKFLOW["steps"] if s["id"] != "isolate"])
    without = run_scenario(load_scenario(_scenario(tmp_path, [no_iso]))).kpis
    assert without["t_isolate"] is None
    assert with_wf["gas_released_kg"] < 0.5 * without["gas_released_kg"]


def test_no_workflow_no_alarm(tmp_path):
    res = run_scenario(load_scenario(_scenario(tmp_path, [])))
    assert res.kpis["t_alarm"] is None and res.kpis["t_evacuated"] is None


@pytest.mark.parametrize("bad_step,needles", [
    ({"id": "alarm", "kind": "sound_alarm", "zones": ["Ballroom"], "after": ["ack"]},
     ["workflows[0].steps[2].zones[0]", "Ballroom"]),
    ({"id": "alarm", "kind": "sound_alarm", "zones": ["*"], "after": ["nope"]}, ["workflows[0].steps[2].after", "nope"]),
    ({"id": "alarm", "kind": "sound_alarm", "zones": ["*"], "after": ["ack"], "colour": "red"},
     ["workflows[0].steps[2]", "unknown field"]),
])
def test_bad_workflows_exit_1(capsys, tmp_path, bad_step, needles):
    wf = dict(WORKFLOW, steps=[*WORKFLOW["steps"][:2], bad_step, *WORKFLOW["steps"][3:]])
    p = _scenario(tmp_path, [wf])
    try:
        main(["run", str(p), "--out", str(tmp_path / "never")])
        code = 0
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 1, err
    line = err.strip()
    assert "\n" not in line and "Traceback" not in err
    for n in ["wf.yaml", *needles]:
        assert n in line, (n, line)
    assert not (tmp_path / "never").exists()


def test_alert_triggers_the_procedure_and_leak_free_runs_count_false_alerts(tmp_path):
    wf = dict(WORKFLOW, trigger={"alert": "gas", "level": "high"})
    res = run_scenario(load_scenario(_scenario(tmp_path, [wf], alerts={"policy": "threshold"})))
    k = res.kpis
    assert k["t_detect"] <= k["t_alert"] < k["t_ack"] <= k["t_alarm"] < k["t_isolate"]
    assert k["false_alerts"] == 0 and k["alerts"] >= 1
    assert any(e[1] == "alert" for e in res.events)
    # the same site without a leak: the alert policy runs on clean air and its false alerts are counted
    calm = run_scenario(load_scenario(_scenario(tmp_path, [wf], hazards=False, alerts={"policy": "threshold"},
                                                duration="10min")))
    assert calm.kpis["alerts"] == calm.kpis["false_alerts"]
    assert calm.kpis["t_alert"] is None or calm.kpis["false_alerts"] > 0


def test_early_warning_alerts_before_the_set_point(tmp_path):
    """A slowly ramping leak: CUSUM on the detectors' readings alerts before their fixed set point."""
    slow = [{"id": "L1", "kind": "gas_leak", "gas": "H2S", "source": "P-101",
             "rate": [[0, "0 kg/s"], ["10min", "0.0005 kg/s"]], "start": "1min"}]
    t = {}
    for pol in ("threshold", "cusum"):
        p = _scenario(tmp_path, [], alerts={"policy": pol}, duration="15min")
        data = yaml.safe_load(p.read_text())
        data["hazards"] = slow
        p.write_text(yaml.safe_dump(data))
        t[pol] = run_scenario(load_scenario(p)).kpis["t_alert"]
    assert t["cusum"] is not None and t["threshold"] is not None
    assert t["cusum"] < t["threshold"]


def test_contingency_inject_fires_only_when_the_action_is_missing(tmp_path):
    """No procedure sounds the alarm, so the controller's contingency does at 5 min; with the procedure
    the alarm comes first and the contingency stands down."""
    cont = {"id": 9, "time": "5min", "kind": "contingency", "unless": "t_alarm",
            "then": {"kind": "alarm", "message": "controller sounds the alarm"}}
    quiet = run_scenario(load_scenario(_scenario(tmp_path, [], injects=[cont]))).kpis
    assert quiet["t_alarm"] == pytest.approx(300.0 - 60.0)  # from the leak's start at 1 min
    busy = run_scenario(load_scenario(_scenario(tmp_path, [WORKFLOW], injects=[
        {"id": 3, "time": "2min", "kind": "message"}, cont]))).kpis
    assert busy["t_alarm"] < 240.0


def test_responder_unavailable_slows_the_isolation(tmp_path):
    wf = dict(WORKFLOW, roles={"operator": 1, "supervisor": 1, "ert": 2})
    base = run_scenario(load_scenario(_scenario(tmp_path, [wf]))).kpis
    short = run_scenario(load_scenario(_scenario(tmp_path, [wf], injects=[
        {"id": 3, "time": "2min", "kind": "message"},
        {"id": 4, "time": "30s", "kind": "responder_unavailable", "target": "ert", "count": 1}]))).kpis
    assert base["t_isolate"] is not None
    assert short["t_isolate"] is None or short["t_isolate"] > base["t_isolate"]
