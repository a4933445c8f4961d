"""Exposure arithmetic: toxic load, IDLH, probit collapse, breathing apparatus."""

from __future__ import annotations

import numpy as np
import pytest

from agents.crowd import INCAPACITATED, Person
from agents.exposure import SCBA_PROTECTION_FACTOR, Exposure
from agents.model import DrillModel
from tests.agents.test_crowd import corridor_site
from twin.gas import get_gas, ppm_to_kgm3
from twin.graph import build_graph


def _setup(protected=False, n=1):
    g = build_graph(corridor_site(length=10.0))  # one zone
    m = DrillModel(g, seed=4)
    m.add_people([Person("C", (5.0, 1.0), 1.0, 0.0, protected=protected) for _ in range(n)])
    zone_index = {z: k for k, z in enumerate(sorted(g.zones))}
    gas = get_gas("H2S")
    return m, Exposure(m.crowd, g, zone_index, gas, m.streams["exposure"]), gas


def test_constant_exposure_load_is_c_to_the_n_times_minutes():
    m, ex, gas = _setup()
    c = np.array([ppm_to_kgm3(40.0, gas)])
    for _ in range(120):
        ex.update(0.0, 1.0, c)  # 2 minutes at 40 ppm
    pr = gas.probit
    assert ex.load[0] == pytest.approx(40.0 ** pr.n * 2.0, rel=1e-9)
    assert ex.peak[0] == pytest.approx(40.0, rel=1e-9)
    assert not ex.over_idlh[0]  # IDLH of H2S is 100 ppm
    ex.update(0.0, 1.0, np.array([ppm_to_kgm3(150.0, gas)]))
    assert ex.over_idlh[0]


def test_breathing_apparatus_divides_the_concentration():
    m, ex, gas = _setup(protected=True)
    ex.update(0.0, 60.0, np.array([ppm_to_kgm3(5000.0, gas)]))
    assert ex.peak[0] == pytest.approx(5000.0 / SCBA_PROTECTION_FACTOR, rel=1e-9)


def test_lethal_dose_follows_the_probit():
    """At a load whose probit probability is p, about a share p of many people receive a lethal dose
    (binomial sd for 400 people: 0.025; tolerance 0.08). The concentration (950 ppm H2S) knocks everyone
    down within the first step (OSHA: collapse within 1-2 breaths above 700 ppm), long before."""
    m, ex, gas = _setup(n=400)
    pr = gas.probit
    # concentration that gives probit 5 (p = 0.5) after 10 minutes
    c_ppm = (np.exp((5.0 - pr.a) / pr.b) / 10.0) ** (1.0 / pr.n)
    assert c_ppm > 700.0
    c = np.array([ppm_to_kgm3(c_ppm, gas)])
    ex.update(10.0, 10.0, c)
    assert m.crowd.state_counts()["incapacitated"] == 400  # knocked down in 10 s
    assert np.all(ex.t_incap == 10.0) and not ex.fatal.any()
    for k in range(1, 60):
        ex.update(10.0 + 10.0 * k, 10.0, c)
    share = ex.fatal.mean()
    assert share == pytest.approx(0.5, abs=0.08)


def test_knockdown_below_the_probit():
    """600 ppm H2S: collapse after 5 min (OSHA: 'collapse in 5 minutes' at 500-700 ppm), while the probit
    gives a lethal dose to almost nobody by then."""
    m, ex, gas = _setup(n=50)
    c = np.array([ppm_to_kgm3(600.0, gas)])
    for k in range(1, 32):
        ex.update(10.0 * k, 10.0, c)
        if k == 29:
            assert m.crowd.state_counts()["incapacitated"] == 0
    assert m.crowd.state_counts()["incapacitated"] == 50
    # FED = 1 at 300 s, to the round-off of thirty additions (then one step later)
    assert np.all((ex.t_incap == 300.0) | (ex.t_incap == 310.0)) and ex.fatal.mean() < 0.1


def test_outdoor_breathing_uses_the_indoor_load_probit_and_thresholds():
    """The same concentrations for the same time give the same load, and the same people collapse (the
    thresholds come from the same stream), whether breathed in a zone or in the open."""
    m1, indoor, gas = _setup(n=200)
    m2, outdoor, _ = _setup(n=200)
    pr = gas.probit
    c_ppm = (np.exp((5.0 - pr.a) / pr.b) / 10.0) ** (1.0 / pr.n)  # p = 0.5 after 10 minutes
    c = ppm_to_kgm3(c_ppm, gas)
    everyone = np.arange(200)
    for _ in range(60):
        indoor.update(0.0, 10.0, np.array([c]))
        ppm = outdoor.breathe_outdoors(everyone, np.full(200, c), 10.0)
    assert ppm == pytest.approx(np.full(200, c_ppm), rel=1e-12)
    np.testing.assert_array_equal(indoor.load, outdoor.load)
    np.testing.assert_array_equal(indoor.threshold, outdoor.threshold)
    down_in = m1.crowd.state == INCAPACITATED
    down_out = m2.crowd.state == INCAPACITATED
    assert down_out.all()  # knocked down (above 700 ppm H2S)
    np.testing.assert_array_equal(down_in, down_out)
    assert 0.3 < outdoor.fatal.mean() < 0.7
    np.testing.assert_array_equal(indoor.fatal, outdoor.fatal)
    assert outdoor.down_outdoors[down_out].all() and not outdoor.down_outdoors[~down_out].any()


def test_outdoor_breathing_in_clean_air_harms_nobody():
    m, ex, gas = _setup(n=10)
    for _ in range(100):
        ex.breathe_outdoors(np.arange(10), np.zeros(10), 5.0)
    assert not ex.load.any() and not ex._down.any()
    assert m.crowd.state_counts()["incapacitated"] == 0
