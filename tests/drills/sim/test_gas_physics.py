"""Drill-level gas physics: the last gas step runs (the released mass is exact whatever gas_step),
volume sources bound concentrations, and the physics caveats a user sees."""

from __future__ import annotations

import warnings

import pytest

from tests.agents.conftest import run_drill
from tests.drills.sim.test_hazards import _two_way_site


def _sc(rate="1 kg/s", duration="10min", **extra) -> dict:
    sc = {"population": [{"where": "Room", "count": 2, "margin": 0.5}], "people": {"premovement": "5s"},
          "alarm": {"at": "2min"}, "duration": duration,
          "hazards": [{"kind": "gas_leak", "gas": "H2S", "source": "P-1", "rate": rate, "start": 0}]}
    sc.update(extra)
    return sc


@pytest.mark.parametrize("gas_step", ["1s", "7s"])
def test_released_mass_is_exact_at_any_gas_step(tmp_path, gas_step):
    """1 kg/s for the whole 10 min drill: 600 kg (to 1e-9 relative), whatever the gas step (7 s does not
    divide 600 s; before, the step due at the end never ran)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = run_drill(tmp_path, _two_way_site(), _sc(gas_step=gas_step))
    assert r.kpis["gas_released_kg"] == pytest.approx(600.0, rel=1e-9)


def test_gas_step_longer_than_sampling_is_a_caveat(tmp_path):
    r = run_drill(tmp_path, _two_way_site(), _sc(rate="0.001 kg/s", gas_step="5s"))
    assert any("gas_step 5 s is longer than the sampling period" in c for c in r.extra["caveats"])


def test_sfpe_speed_difference_is_a_caveat(tmp_path):
    """flow: sfpe with the default speeds (mean 1.34 m/s) walks faster than SFPE's 1.19 m/s: said."""
    sc = _sc(rate="0.001 kg/s")
    sc["flow"] = "sfpe"
    r = run_drill(tmp_path / "a", _two_way_site(), sc)
    assert any("SFPE's free speed 0.85 k = 1.19 m/s" in c for c in r.extra["caveats"])
    sc["people"]["speed"] = "1.19 m/s"
    r = run_drill(tmp_path / "b", _two_way_site(), sc)
    assert not any("SFPE's free speed" in c for c in r.extra["caveats"])


def _outdoor(gas="Cl2", **rel) -> dict:
    sc = _sc()
    sc["weather"] = {"wind_speed": "5 m/s", "wind_from": 270, "stability": "D"}
    sc["hazards"] = [{"id": "C1", "kind": "gas_leak", "gas": gas, "source": "yard", "at": [-30.0, 1.5, 1.0],
                      "start": 0, **rel}]
    return sc


def test_dense_outdoor_release_uses_the_workbook_and_says_so(tmp_path):
    r = run_drill(tmp_path, _two_way_site(), _outdoor(rate="1 kg/s"))
    cav = " ".join(r.extra["caveats"])
    assert "hazard C1 (Cl2) is a dense release: Britter-McQuaid continuous criterion 0.53" in cav
    assert "workbook" in cav
    assert any(e[1] == "screening" and "C1 Cl2" in e[4] for e in r.events)


def test_dense_outdoor_burst_is_refused(tmp_path):
    from twin.errors import InputError

    with pytest.raises(InputError, match="hazard C1: a 500 kg burst of Cl2 is a dense cloud"):
        run_drill(tmp_path, _two_way_site(), _outdoor(burst="500 kg"))


def test_passive_release_is_screened_too(tmp_path):
    r = run_drill(tmp_path, _two_way_site(), _outdoor(gas="NH3", rate="0.1 kg/s"))
    assert any(e[1] == "screening" and "passive" in e[4] for e in r.events)
    assert not any("dense release" in c for c in r.extra["caveats"])


def test_rate_from_a_release_and_its_caveat(tmp_path):
    sc = _sc(rate=None)
    del sc["hazards"][0]["rate"]
    sc["hazards"][0]["release"] = {"hole": "small", "pressure": "10 bar", "phase": "gas"}
    r = run_drill(tmp_path, _two_way_site(), sc)
    from twin.source_term import gas_release

    expected = gas_release("H2S", "small", 10e5).rate
    assert r.kpis["gas_released_kg"] == pytest.approx(expected * 600.0, abs=1e-6)  # the KPI has 6 decimals
    assert any("rate from its release: H2S gas, choked flow" in c for c in r.extra["caveats"])


def test_impossible_typed_rate_is_refused(tmp_path):
    from twin.errors import InputError

    with pytest.raises(InputError, match="hazard H1: 8000 kg/s of H2S is more than a 16 in rupture"):
        run_drill(tmp_path, _two_way_site(), _sc(rate="8000 kg/s"))  # below the input limit of 10 t/s


@pytest.mark.parametrize("far_x", [1.0])
def test_detection_time_depends_on_the_detector_position(tmp_path, far_x):
    """Same leak, same detector, placed 1 m and 4 m from the pump in the same corridor: the far one alarms
    later (before, every point of a zone read the zone mean: both alarmed at the same step)."""
    times = []
    for k, x in enumerate((6.0, far_x)):
        site = _two_way_site()
        site["sensors"][0]["at"] = [x, 1.5, 0.5]
        r = run_drill(tmp_path / str(k), site, _sc(rate="0.001 kg/s"))
        times.append(r.kpis["t_detect"])
    assert times[0] is not None and times[1] is not None and times[0] < times[1]
    assert any("eddy diffusion" in c for c in r.extra["caveats"])


def test_methane_reports_lel_and_the_flammable_cloud(tmp_path):
    """A methane leak: %LEL KPIs instead of a dose, a detector set in %LEL alarms, the oxygen it displaces
    is reported. 0.05 kg/s for 10 min into a 90 m3 corridor at 1 ach goes past the LEL (5 %)."""
    site = _two_way_site()
    site["sensors"] = [{"name": "GD-1", "gas": "CH4", "space": "West", "at": [6, 1.5, 2.5],
                        "setpoints": ["10 %LEL", "25 %LEL"], "t90": "20s"}]
    sc = _sc(rate="0.05 kg/s")
    sc["hazards"][0]["gas"] = "CH4"
    r = run_drill(tmp_path, site, sc)
    k = r.kpis
    assert k["peak_dose"] is None and k["peak_dose_unit"] == "no toxic probit for CH4"
    assert k["t_alert"] is not None and k["detected_by"] == "GD-1"
    assert k["peak_lel_pct"] > 100.0
    assert k["t_above_50_lel"] <= k["t_above_25_lel"] <= k["t_above_10_lel"] <= 600.0
    assert k["flammable_volume_m3"] > 0 and k["flammable_places"] == ["West"]
    assert k["min_o2_pct"] < 20.0 and k["fatal_exposures"] == 0
