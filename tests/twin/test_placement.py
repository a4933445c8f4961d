"""Detector placement core (twin.placement, twin.placement_opt): dispersion responses against Multizone,
detector physics against DetectorArray, noise streams, metrics by hand, greedy against brute force and
the exact MIP."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from twin.dispersion import Multizone
from twin.graph import build_graph
from twin.placement import (
    DetectorPhysics,
    coverage_greedy,
    detection_matrix,
    impact_greedy,
    impact_objective,
    layout_times,
    scenario_coverage,
    unit_responses,
)
from twin.sensors import DetectorArray, DetectorSpec
from twin.sketch import sketch_from_dict

INF = np.inf


def _two_rooms():
    rect = lambda x0, y0, x1, y1: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]  # noqa: E731
    site = sketch_from_dict({
        "name": "two rooms",
        "storeys": [{"name": "G", "elevation": 0, "height": 3, "spaces": [
            {"name": "A", "polygon": rect(0, 0, 10, 10), "ach": 2},
            {"name": "B", "polygon": rect(10, 0, 15, 10), "ach": 6}],
            "doors": [{"name": "D1", "at": [0, 5], "width": 1, "between": ["A", "outside"]},
                      {"name": "D2", "at": [10, 5], "width": 1, "between": ["A", "B"], "open": True}]}],
    })
    return build_graph(site)


@pytest.mark.parametrize("dt,scheme", [(1.0, "exact"), (30.0, "exact"), (1.0, "trapezoidal"),
                                       (30.0, "euler")])
def test_unit_responses_match_multizone_stepping(dt, scheme):
    """Every source at once equals Multizone stepping one source (its default exponential scheme is
    exact to 1e-11; the theta schemes step for step)."""
    g = _two_rooms()
    mz = Multizone(g, dt=dt)
    K, V, _ = mz.ode_system()
    n = 40
    R = unit_responses(K.tocsc(), V, dt, n, list(range(mz.n)), scheme=scheme)
    for j, zone in enumerate(mz.zones):
        ref = Multizone(g, dt=dt) if scheme == "exact" else Multizone(g, dt=dt, scheme=scheme)
        ref.add_source(zone, 1.0, 0.0)
        for k in range(1, n + 1):
            ref.step()
            np.testing.assert_allclose(R[:, j, k], ref.c, rtol=2e-6, atol=1e-12)


def test_detection_time_matches_detector_array():
    """Same lag, sampling, rounding and set point as the drill's detectors (noise off for equality)."""
    dt = 1.0
    t = np.arange(0, 301) * dt
    conc = np.minimum(t * 0.08, 15.0)  # ppm, a ramp levelling off above the set point
    for t90, period in ((30.0, 1.0), (20.0, 2.0), (0.0, 1.0)):
        spec = DetectorSpec(name="X", unit="ppm", setpoints=(10.0, 20.0), t90=t90, noise=0.0, period=period,
                            resolution=1.0, full_scale=200.0, drift=0.0, span_drift=0.0)
        arr = DetectorArray([spec], np.random.default_rng(0))
        for k in range(1, len(t)):
            arr.update(t[k], conc[k])
        # at the call for t_k the array still holds the value given at t_{k-1}: feed conc in that order
        arr2 = DetectorArray([spec], np.random.default_rng(0))
        arr2.update(0.0, conc[0])
        for k in range(1, len(t)):
            arr2.update(t[k], conc[k])
        t_ref = arr2.exceedances[0].t
        ph = DetectorPhysics(setpoint=10.0, per_kgm3=1.0, t90=t90, noise=0.0, period=period, resolution=1.0,
                             full_scale=200.0)
        D = detection_matrix(conc[None, None, :].astype(np.float32), dt, np.array([0]), np.array([1.0]),
                             np.array([0]), [ph], ["X"], seed=1)
        assert D[0, 0] == pytest.approx(t_ref), (t90, period)


def test_noise_is_seeded_and_per_candidate():
    rng = np.random.default_rng(5)
    R = np.cumsum(rng.uniform(0, 0.2, (3, 4, 200)), axis=2).astype(np.float32)  # (cols, src, T)
    ph = DetectorPhysics(10.0, 1.0, 30.0, 1.5, 1.0, 1.0, 200.0)
    src, rate = np.array([0, 1, 2, 3, 0]), np.array([1.0, 1.0, 0.5, 2.0, 0.3])
    D1 = detection_matrix(R, 1.0, src, rate, np.array([0, 1, 2]), [ph] * 3, ["a", "b", "c"], seed=7)
    D2 = detection_matrix(R, 1.0, src, rate, np.array([0, 1, 2]), [ph] * 3, ["a", "b", "c"], seed=7)
    np.testing.assert_array_equal(D1, D2)
    # candidate "b" alone reads the same noise as in the trio (common random numbers between layouts)
    Db = detection_matrix(R, 1.0, src, rate, np.array([1]), [ph], ["b"], seed=7)
    np.testing.assert_array_equal(Db[:, 0], D1[:, 1])
    D3 = detection_matrix(R, 1.0, src, rate, np.array([0, 1, 2]), [ph] * 3, ["a", "b", "c"], seed=8)
    assert not np.array_equal(D1, D3)
    assert np.isinf(D1[4]).any() or np.isfinite(D1).all()


def test_metrics_by_hand():
    D = np.array([[10.0, 30.0, INF],
                  [INF, 50.0, 20.0],
                  [INF, INF, INF],
                  [100.0, 5.0, 200.0]])
    t1 = layout_times(D, [0, 1, 2], 1)
    t2 = layout_times(D, [0, 1, 2], 2)
    np.testing.assert_array_equal(t1, [10, 20, INF, 5])
    np.testing.assert_array_equal(t2, [30, 50, INF, 100])
    assert scenario_coverage(t1, 60) == pytest.approx(3 / 4)
    assert scenario_coverage(t2, 60) == pytest.approx(2 / 4)
    assert scenario_coverage(t1, 15) == pytest.approx(2 / 4)
    # expected time with undetected counted as 300 s: (10 + 20 + 300 + 5) / 4
    assert impact_objective(t1, 300.0) == pytest.approx(335 / 4)
    np.testing.assert_array_equal(layout_times(D, [2], 2), [INF] * 4)


def _brute_impact(D, k, P, fixed=()):
    free = [c for c in range(D.shape[1]) if c not in fixed]
    return min(np.minimum(D[:, list(fixed) + list(s)].min(axis=1), P).mean()
               for s in itertools.combinations(free, k))


def _instance(seed: int, S=40, C=12, density=0.35):
    """Leak-like matrices: each scenario is seen by the few candidates near it, sooner by closer ones."""
    rng = np.random.default_rng(seed)
    src = rng.uniform(0, 100, (S, 2))
    cand = rng.uniform(0, 100, (C, 2))
    dist = np.linalg.norm(src[:, None] - cand[None], axis=2)
    D = 5.0 + 4.0 * dist + rng.exponential(10.0, (S, C))
    D[dist > np.quantile(dist, density)] = INF
    return D


@pytest.mark.parametrize("seed", range(12))
def test_greedy_within_one_percent_of_brute_force(seed):
    D = _instance(seed)
    P = 600.0
    for k in (2, 3, 4):
        r = impact_greedy(D, k, P)
        best = _brute_impact(D, k, P)
        assert r.objective <= best * 1.01 + 1e-9, (seed, k, r.objective, best)
        assert r.bound <= best + 1e-9 <= r.objective + 2e-9  # the bound is a valid lower bound
        assert len(r.chosen) == k


def test_greedy_keeps_fixed_and_coverage_targets():
    D = _instance(3)
    P = 600.0
    r = impact_greedy(D, 2, P, fixed=[0, 5])
    assert r.chosen[:2] == [0, 5] and len(r.chosen) == 4
    assert r.objective <= _brute_impact(D, 2, P, fixed=(0, 5)) * 1.01
    cov = D <= 150
    rc = coverage_greedy(cov, budget=3)
    best = max(cov[:, list(s)].any(axis=1).mean() for s in itertools.combinations(range(cov.shape[1]), 3))
    assert rc.objective <= best + 1e-12 <= rc.bound + 1e-12
    reach = cov.any(axis=1).mean()
    rt = coverage_greedy(cov, target=0.9 * reach)
    assert cov[:, rt.chosen].any(axis=1).mean() >= 0.9 * reach - 1e-12
    assert rt.bound <= len(rt.chosen)


def test_mip_matches_brute_force():
    pytest.importorskip("pyomo.environ")
    pytest.importorskip("highspy")
    from twin.placement_opt import coverage_mip, impact_mip

    for seed in range(3):
        D = _instance(100 + seed)
        P = 600.0
        m = impact_mip(D, 3, P)
        assert m.objective == pytest.approx(_brute_impact(D, 3, P), rel=1e-9)
        assert m.gap <= 1e-6
        mf = impact_mip(D, 2, P, fixed=[1])
        assert mf.chosen[0] == 1 and mf.objective == pytest.approx(_brute_impact(D, 2, P, fixed=(1,)), rel=1e-9)
        cov = D <= 150
        best = max(cov[:, list(s)].any(axis=1).mean() for s in itertools.combinations(range(cov.shape[1]), 3))
        assert coverage_mip(cov, budget=3).objective == pytest.approx(best)
        reach = cov.any(axis=1).mean()
        mt = coverage_mip(cov, target=reach)
        fewest = next(k for k in range(1, cov.shape[1] + 1)
                      if any(cov[:, list(s)].any(axis=1).mean() >= reach - 1e-12
                             for s in itertools.combinations(range(cov.shape[1]), k)))
        assert len(mt.chosen) == fewest
