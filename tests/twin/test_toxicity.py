"""Incapacitation after ISO 13571:2012 (FED, FEC), Purser's hypoxia term and the H2S knockdown bands.

The ISO 13571 annex's own worked example is not reproduced here (its text was not available); the
examples below apply the standard's equations by hand, with the tolerances stated."""

import math

import numpy as np
import pytest

from twin.toxicity import (
    fec_irritants,
    fed_rate,
    fed_rate_co,
    fed_rate_h2s_knockdown,
    fed_rate_hcn,
    fed_rate_hypoxia,
)


def test_iso13571_asphyxiant_example():
    """A stepwise fire-gas history, ISO 13571 equation FED = sum (C_CO/35000 + exp(C_HCN/43)/220) dt:
    0-5 min CO 1,000 ppm; 5-10 min CO 3,000 + HCN 50 ppm; 10-15 min CO 6,000 + HCN 100 ppm.
    By hand: 5/35 = 0.142857; 5 (3000/35000 + e^(50/43)/220) = 0.428571 + 0.072701 = 0.501273;
    the FED reaches 1 in the third interval after 0.355870 / (6000/35000 + e^(100/43)/220)
    = 0.355870 / 0.217941 = 1.6329 min, i.e. at t = 11.633 min (tolerance 1e-3 min)."""
    steps = [(5.0, 1000.0, 0.0), (5.0, 3000.0, 50.0), (5.0, 6000.0, 100.0)]
    fed, t_incap, t = 0.0, None, 0.0
    for dt, co, hcn in steps:
        r = float(fed_rate_co(co) + fed_rate_hcn(hcn))
        if t_incap is None and fed + r * dt >= 1.0:
            t_incap = t + (1.0 - fed) / r
        fed += r * dt
        t += dt
    assert float(fed_rate_co(1000.0)) * 5 == pytest.approx(0.142857, abs=1e-6)
    assert 5 * float(fed_rate_hcn(50.0)) == pytest.approx(5 * math.exp(50 / 43) / 220, rel=1e-12)
    assert t_incap == pytest.approx(11.633, abs=1e-3)
    # the notes' check: 1,000 ppm CO for 20 min gives 0.571
    assert float(fed_rate_co(1000.0)) * 20 == pytest.approx(0.5714, abs=1e-4)


def test_fec_irritants():
    """FEC = sum C/IC: 300 ppm HCl + 50 ppm SO2 = 0.3 + 0.3333 = 0.6333 (ISO 13571 IC values)."""
    assert fec_irritants({"HCl": 300.0, "SO2": 50.0}) == pytest.approx(0.63333, abs=1e-5)
    with pytest.raises(KeyError):
        fec_irritants({"NH3": 100.0})


def test_hypoxia_purser():
    """At 12 % O2: 1/exp(8.13 - 0.54 * 8.9) = 1/exp(3.324) -> FED 1 after 27.8 min; none at 20 %."""
    assert 1.0 / float(fed_rate_hypoxia(12.0)) == pytest.approx(math.exp(8.13 - 0.54 * 8.9), rel=1e-12)
    assert 1.0 / float(fed_rate_hypoxia(12.0)) == pytest.approx(27.77, abs=0.01)
    assert float(fed_rate_hypoxia(20.0)) == 0.0


def test_h2s_knockdown_bands():
    """1,000 ppm H2S: collapse within two breaths (10 s), where the lethality probit took 9.3 min for
    half the people; 600 ppm: 5 min; 400 ppm: no knockdown (the probit still counts)."""
    r = fed_rate_h2s_knockdown(np.array([1000.0, 700.0, 600.0, 400.0]))
    assert 1.0 / r[0] * 60 == pytest.approx(10.0) and 1.0 / r[1] * 60 == pytest.approx(10.0)
    assert 1.0 / r[2] == pytest.approx(5.0) and r[3] == 0.0
    assert fed_rate("H2S", np.array([1000.0]))[0] == r[0]
    assert fed_rate("NH3", np.array([1000.0]), np.array([20.5]))[0] == 0.0
