"""Every scenario shipped in scenarios/ loads, runs to the end and accounts for everyone."""

from __future__ import annotations

import pytest

from agents.crowd import STATES
from drills.engine import run_scenario
from drills.kpis import KPI_KEYS
from drills.scenario import load_scenario
from tests.conftest import SCENARIOS

SHIPPED = sorted(p for p in SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_runs(path):
    res = run_scenario(load_scenario(path))
    k = res.kpis
    assert set(KPI_KEYS) <= k.keys()
    states = [STATES[s] for s in res.people["state"]]
    assert k["occupants"] == len(states)
    assert k["safe"] + k["trapped"] + k["incapacitated"] + states.count("idle") == k["occupants"]
    assert k["t_evacuated"] is not None
    if k.get("t_lower_bound") is not None:
        assert k["t_lower_bound"] <= k["t_evacuated"] + 1e-6
    if res.scenario.hazards:
        assert k["t_detect"] is not None and k["mass_balance_error"] < 1e-9
