"""The alert policy is part of the typed scenario model: checked at load, shown by `drilltwin schema`."""

from __future__ import annotations

import json

import pytest
import yaml

from drills.alerts.policies import CusumConfig, FusionConfig
from drills.cli.main import main
from drills.spec.scenario import scenario_from_dict, scenario_schema
from tests.conftest import ROOT
from twin.errors import InputError

DEMO = ROOT / "scenarios" / "plant_h2s_leak.yaml"


def _with(alerts):
    d = yaml.safe_load(DEMO.read_text())
    d["alerts"] = alerts
    return scenario_from_dict(d, DEMO)


@pytest.mark.parametrize("alerts, where", [
    ({"policy": "cusum", "hh": 3}, "alerts.hh"),
    ({"policy": "fusion", "detector": {"policy": "cusum", "kk": 1}}, "alerts.detector.kk"),
    ({"policy": "threshold", "k": 0}, "alerts.k"),
    ({"policy": "cusm"}, "alerts.policy"),
    ({"policy": "ewma", "false_alerts_per_sensor_day": "lots"}, "alerts.false_alerts_per_sensor_day"),
])
def test_bad_alert_fields_are_refused_at_load_naming_the_field(alerts, where):
    with pytest.raises(InputError) as e:
        _with(alerts)
    assert e.value.where == where


def test_alert_policy_is_typed_and_survives_evolve():
    sc = _with({"policy": "fusion", "k": 2, "latency": "200ms", "detector": {"policy": "ewma", "lambda": 0.2}})
    assert isinstance(sc.alerts, FusionConfig) and sc.alerts.latency == pytest.approx(0.2)
    ev = sc.evolve(alerts={"policy": "cusum", "false_alerts_per_sensor_day": "matched"})
    assert isinstance(ev.alerts, CusumConfig) and ev.alerts.false_alerts_per_sensor_day == "matched"


def test_schema_shows_every_policy(capsys):
    props = scenario_schema()["properties"]["alerts"]
    text = json.dumps(props)
    for name in ("ThresholdConfig", "CusumConfig", "EwmaConfig", "RateOfRiseConfig", "FusionConfig"):
        assert name in text
    assert main(["schema"]) in (0, None)
    assert "false_alerts_per_sensor_day" in capsys.readouterr().out
