"""Distributions read back from their dumped form (a scenario's model_dump fed to evolve)."""

from __future__ import annotations

import dataclasses

import pytest

from twin.distributions import Distribution


@pytest.mark.parametrize("spec, dim", [
    ({"dist": "lognormal", "median": "10min", "sigma": 0.5}, "time"),
    ({"dist": "normal", "mean": 1.34, "sd": 0.26, "min": 0.5, "max": 2.2}, "speed"),
    ({"dist": "choice", "values": ["30s", "1min"], "weights": [1, 3]}, "time"),
    ("45s", "time"),
])
def test_dumped_distribution_reads_back_equal(spec, dim):
    d = Distribution.parse(spec, dim, "x")
    assert Distribution.parse(dataclasses.asdict(d), dim, "x") == d


def test_dumped_form_with_a_bad_kind_names_the_field():
    with pytest.raises(ValueError, match=r"x\.kind: expected one of"):
        Distribution.parse({"kind": "zipf", "params": {}}, "time", "x")


def test_scenario_alerts_round_trip_through_model_dump():
    from drills.spec.scenario import load_scenario
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "plant_night_fatigue.yaml")
    again = sc.evolve(alerts=sc.alerts.model_dump())
    assert again.alerts.operator.investigation == sc.alerts.operator.investigation
