"""The plume near the source: bounded by the pure gas, receptors below the fitted range flagged, and no
puff ripple at the nearest receptor."""

import numpy as np
import pytest

from twin.gas import get_gas
from twin.plume import X_FIT_MIN, GaussianPlume, PuffTrain, Weather, sigmas

WEST = 270.0


def test_plume_bounded_by_pure_gas():
    """The issue's case: H2S 1 kg/s, 5 m/s, class D, receptor 2 m downwind on the ground. The Gaussian
    formula gives Q / (pi u sy sz) = 3.32 kg/m3 (sy = 0.16 m, sz = 0.12 m), above pure H2S (1.417 kg/m3 at
    20 °C, 1 atm: P M / (R T)); the bounded plume gives exactly the pure gas."""
    h2s = get_gas("H2S")
    w = Weather(5.0, WEST, "D")
    sy, sz = sigmas(2.0, "D")
    raw = GaussianPlume((0.0, 0.0), 1.0, w).concentration([[2.0, 0.0, 0.0]])[0]
    assert raw == pytest.approx(1.0 / (np.pi * 5.0 * sy * sz), rel=1e-12)
    assert raw == pytest.approx(3.32, rel=5e-3)
    rho = h2s.density()
    assert rho == pytest.approx(1.417, rel=1e-3)
    capped = GaussianPlume((0.0, 0.0), 1.0, w, max_concentration=rho).concentration([[2.0, 0.0, 0.0]])[0]
    assert capped == rho
    # far away the cap does not bite: the worked example 2,382 mg/m3 at 100 m, 3 m/s (tolerance 1e-3)
    far = GaussianPlume((0.0, 0.0), 1.0, Weather(3.0, WEST, "D"),
                        max_concentration=rho).concentration([[100.0, 0.0, 0.0]])[0]
    assert far == pytest.approx(2.382e-3, rel=1e-3)
    train = PuffTrain((0.0, 0.0), w, rate=1.0, max_concentration=rho)
    assert train.concentration([[2.0, 0.0, 0.0]], 600.0)[0] == rho


def test_receptors_below_the_fitted_range_are_flagged():
    w = Weather(3.0, WEST, "D")
    p = GaussianPlume((0.0, 0.0), 1.0, w)
    pts = np.array([[20.0, 0.0, 0.0], [99.0, 5.0, 0.0], [100.0, 0.0, 0.0], [-20.0, 0.0, 0.0], [500.0, 0, 0]])
    assert p.below_fit(pts).tolist() == [True, True, False, False, False]
    assert X_FIT_MIN == 100.0


def test_constant_release_is_the_steady_plume_without_ripple():
    """A constant rate in a constant wind: behind the front the train equals the steady plume exactly
    (the default 5 s puffs gave 0 to 6.2 times it at 20 m)."""
    w = Weather(3.0, WEST, "D")
    train = PuffTrain((0.0, 0.0), w, rate=1.0)
    pts = np.array([[20.0, 0.0, 0.0]])
    steady = GaussianPlume((0.0, 0.0), 1.0, w).concentration(pts)[0]
    vals = [train.concentration(pts, t)[0] for t in np.arange(60.0, 70.0, 0.25)]
    assert np.allclose(vals, steady, rtol=1e-12)
    # the old 5 s train at 20 m: the ripple the issue reports
    old = PuffTrain((0.0, 0.0), w, rate=1.0, puff_interval=5.0)
    ripple = [old.concentration(pts, t)[0] / steady for t in np.arange(60.0, 70.0, 0.25)]
    assert max(ripple) > 3.0 and min(ripple) < 0.01  # the issue: 0 to 6.2x (at its sampling)
    # the front: nothing before the air that left at the start arrives (20 m at 3 m/s = 6.7 s)
    assert train.concentration(pts, 6.0)[0] == 0.0 and train.concentration(pts, 7.0)[0] == steady


def test_time_varying_release_spacing_from_the_nearest_receptor():
    """A ramp (not constant): puffs are spaced one horizontal spread at the nearest receptor apart; at
    20 m the train stays within 1e-4 of the steady plume (Poisson summation gives a ripple of
    2 exp(-2 pi^2) = 5e-9 for equal spreads; the spreads grow along the train, and the puffs' along-wind
    diffusion, which the steady plume neglects, leave about 2e-5)."""
    w = Weather(3.0, WEST, "D")
    ramp = ([0.0, 3600.0], [1.0, 1.0 + 1e-9])  # constant to 1e-9: the steady plume is the reference
    train = PuffTrain((0.0, 0.0), w, rate=ramp)
    pts = np.array([[20.0, 0.0, 0.0]])
    steady = GaussianPlume((0.0, 0.0), 1.0, w).concentration(pts)[0]
    vals = np.array([train.concentration(pts, t)[0] for t in np.arange(60.0, 64.0, 0.1)])
    assert train.puff_interval == pytest.approx(float(sigmas(20.0, "D")[0]) / 3.0, rel=1e-12)
    assert np.allclose(vals / steady, 1.0, atol=1e-4)
