"""Detector near field: the continuous point source in eddy diffusion (Carslaw & Jaeger 1959, 10.4)."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from twin.gas import get_gas, ppm_to_kgm3
from twin.near_field import local_concentration


def _one(points, t, *, rate=0.01, D=0.01, zone_c=0.0, stop_age=None, floor=None):
    pts = np.atleast_2d(points)
    return local_concentration(pts, np.zeros(len(pts), dtype=int), np.array([zone_c]), np.zeros((1, 3)),
                               np.array([0]), np.array([rate]), np.array([t]),
                               None if stop_age is None else np.array([stop_age]),
                               floor_z=floor, diffusivity=D)


def test_continuous_source_against_the_green_function():
    """The excess equals the time integral of the instantaneous point source
    G / (4 pi D s)^(3/2) exp(-r^2 / (4 D s)) over the source's age (numerical quadrature, tolerance 1e-7
    relative): the published closed form G / (4 pi D r) erfc(r / sqrt(4 D t))."""
    G, D = 0.01, 0.01
    for r, t in ((0.5, 30.0), (2.0, 120.0), (5.0, 900.0)):
        ref, _ = quad(lambda s, r=r: G / (4 * math.pi * D * s) ** 1.5 * math.exp(-r * r / (4 * D * s)), 0.0, t,
                      epsabs=0, epsrel=1e-10, limit=200)
        got = _one([[r, 0.0, 0.0]], t, rate=G, D=D)[0]
        assert got == pytest.approx(ref, rel=1e-7)
    # and the steady limit G / (4 pi D r)
    assert _one([[2.0, 0.0, 0.0]], 1e15, rate=G, D=D)[0] == pytest.approx(G / (4 * math.pi * D * 2.0), rel=1e-6)


def test_detection_time_grows_with_distance():
    """Time for a point to reach 10 ppm H2S from a 0.05 kg/s source: later the further it is (the
    well-mixed zone gave every point the same time)."""
    thr = ppm_to_kgm3(10.0, get_gas("H2S"))
    times = []
    for r in (1.0, 3.0, 6.0):
        ts = np.arange(0.5, 3600.0, 0.5)
        c = np.array([_one([[r, 0.0, 1.5]], t, rate=0.05)[0] for t in ts])
        times.append(ts[np.argmax(c >= thr)])
    assert times[0] < times[1] < times[2]
    # a diffusive front: doubling the distance more than triples the time (r^2 / D, less the 1/r gain)
    assert times[2] > 3 * times[1]


def test_zone_mean_arrives_with_the_front_and_the_floor_reflects():
    """The mean reaches a point 8 m away with the room air (0.05 m/s): half of it at 160 s (erfc(0)/2),
    nothing after 10 s, all of it after 20 min."""
    c = [_one([[8.0, 0.0, 0.0]], t, rate=0.0, zone_c=1.0)[0] for t in (10.0, 160.0, 1200.0)]
    assert c[0] < 1e-6 and c[1] == pytest.approx(0.5, rel=1e-12) and c[2] == pytest.approx(1.0, rel=1e-6)
    # a source on the floor doubles the excess (the image coincides with the source)
    free = _one([[2.0, 0.0, 0.0]], 1e9)[0]
    floor = _one([[2.0, 0.0, 0.0]], 1e9, floor=np.array([0.0]))[0]
    assert floor == pytest.approx(2 * free, rel=1e-9)


def test_stopped_source_decays_and_other_zones_read_the_mean():
    on = _one([[1.0, 0.0, 0.0]], 600.0)[0]
    off = _one([[1.0, 0.0, 0.0]], 1200.0, stop_age=600.0)[0]
    later = _one([[1.0, 0.0, 0.0]], 3000.0, stop_age=2400.0)[0]
    # superposition: G/(4 pi D r) [erfc(r/sqrt(4D 1200)) - erfc(r/sqrt(4D 600))] by hand
    k = 0.01 / (4 * math.pi * 0.01 * 1.0)
    assert off == pytest.approx(k * (math.erfc(1 / math.sqrt(48.0)) - math.erfc(1 / math.sqrt(24.0))), rel=1e-9)
    assert 0 <= later < off < 0.1 * on
    c = local_concentration(np.array([[1.0, 0, 0], [1.0, 0, 0]]), np.array([0, 1]), np.array([0.0, 0.3]),
                            np.zeros((1, 3)), np.array([0]), np.array([0.01]), np.array([600.0]))
    assert c[1] == 0.3 and c[0] > 0


def test_scalar_and_vector_paths_agree():
    """Few pairs use scalar arithmetic, many numpy: the same numbers (to 1e-12)."""
    from twin.near_field import SMALL, NearField

    rng = np.random.default_rng(3)
    n = SMALL + 5
    pts = rng.uniform(0, 10, (n, 3))
    zones = rng.integers(0, 2, n)
    src = np.array([[2.0, 3.0, 0.5], [7.0, 1.0, 1.0]])
    nf = NearField(pts, zones, src, np.array([0, 1]), floor_z=np.zeros(n))
    args = (np.array([0.01, 0.02]), np.array([0.02, 0.005]), np.array([300.0, 50.0]), np.array([np.inf, 20.0]))
    big = nf(*args)
    for i in range(n):
        one = NearField(pts[i:i + 1], zones[i:i + 1], src, np.array([0, 1]), floor_z=np.zeros(1))
        assert one(*args)[0] == pytest.approx(big[i], rel=1e-12, abs=1e-18)
