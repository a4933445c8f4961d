"""The exponential (Taylor) scheme of the multizone model: exactness on the analytic cases, its order
when the degree is fixed, positivity on stiff models, the per-step mass balance, the fallback to the
implicit schemes and the in-place door updates."""

import math

import networkx as nx
import numpy as np
import pytest
from scipy.linalg import expm
from scipy.sparse import diags

from twin.dispersion import EXP_MAX_MATVECS, EXP_TOL, Multizone, taylor_degree
from twin.errors import InputError
from twin.graph import OUTSIDE

from .test_dispersion import _grid as grid
from .test_dispersion import toggle_doors_alongside

H = 3600.0  # s per hour
MG = 1e-6  # kg/m3 per mg/m3


def _topo(**zones) -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_node(OUTSIDE, kind="outside")
    for z, (v, ach) in zones.items():
        g.add_node(z, kind="zone", volume=v, ach=ach)
    return g


def _grid(nx_: int, ny: int, rng: np.random.Generator, v: tuple[float, float] = (20.0, 200.0)) -> nx.MultiGraph:
    return grid(nx_, ny, rng, v, stair=False)


def _decay(dt: float, **kw) -> Multizone:
    """T1: one 100 m3 zone at 2 ach of clean air, C(0) = 100: C = 100 exp(-2 t / h)."""
    m = Multizone(_topo(z=(100.0, 2.0)), dt=dt, **kw)
    m.set_concentration("z", 100.0)
    return m


def _series(dt: float, v1: float = 100.0, v2: float = 100.0, **kw) -> Multizone:
    """T3: outside -> a -> b -> outside at Q = 6 V1 per hour, C_a(0) = 1."""
    m = Multizone(_topo(a=(v1, 0.0), b=(v2, 0.0)), dt=dt, **kw)
    q = 6.0 * v1 / H
    m.add_flow(OUTSIDE, "a", q)
    m.add_flow("a", "b", q)
    m.add_flow("b", OUTSIDE, q)
    m.set_concentration("a", 1.0)
    return m


def _series_exact(t: float, v1: float = 100.0, v2: float = 100.0) -> float:
    """C_b(t) of :func:`_series`: l2 / (l2 - l1) (exp(-l1 t) - exp(-l2 t)), or l t exp(-l t) if l1 = l2."""
    q = 6.0 * v1 / H
    l1, l2 = q / v1, q / v2
    if l1 == l2:
        return l1 * t * math.exp(-l1 * t)
    return l2 / (l2 - l1) * (math.exp(-l1 * t) - math.exp(-l2 * t))


# ------------------------------------------------------------------------------------ degree choice
def test_taylor_degree_meets_its_bound_and_is_minimal():
    assert taylor_degree(0.0) == 1
    for rho in (1e-3, 0.07, 0.35, 1.0, 3.0):
        for tol in (1e-6, 1e-11, 1e-15):
            m = taylor_degree(rho, tol)
            tail = sum(rho ** k / math.factorial(k) for k in range(m + 1, m + 60))
            assert tail <= tol  # the true remainder of exp is within the tolerance
            if m > 1:  # and one degree less would not be (per the bound it uses)
                prev = rho ** m / math.factorial(m) / (1 - rho / (m + 1))
                assert prev > tol
    assert taylor_degree(0.07, 1e-11) < taylor_degree(0.35, 1e-11) < taylor_degree(3.0, 1e-11)
    assert taylor_degree(50.0, 1e-11, max_degree=20) == 21  # none up to the cap


# ------------------------------------------------------------------------- exact on analytic cases
def _tol(steps: int, exp_tol: float = EXP_TOL) -> float:
    """The documented accuracy of the exponential scheme: each step's truncation is at most ``exp_tol``
    relative (the Taylor remainder bound), so after ``steps`` steps at most ``steps * exp_tol``, plus
    round-off."""
    return steps * exp_tol + 1e-13


def test_exponential_is_the_default_and_exact_on_t1_t2_t3_at_any_step():
    assert Multizone(_topo(z=(100.0, 2.0))).active_scheme == "exponential"
    lam = 2.0 / H
    for dt, exp_tol in ((1.0, EXP_TOL), (1.0, 1e-15), (60.0, EXP_TOL), (600.0, EXP_TOL), (1800.0, EXP_TOL)):
        steps = round(3600.0 / dt)
        m = _decay(dt, exp_tol=exp_tol)
        m.advance(3600.0)
        assert m.active_scheme == "exponential"
        assert m.c[0] == pytest.approx(100.0 * math.exp(-lam * 3600.0), rel=_tol(steps, exp_tol))
        # T2 / T2b: a constant source with clean supply, with and without a 1/h sink
        for sink, css, tau in ((0.0, 300 * MG, 1800.0), (1.0, 200 * MG, 1200.0)):
            m = Multizone(_topo(z=(100.0, 2.0)), dt=dt, exp_tol=exp_tol)
            m.add_source("z", 1e-3 / 60.0)
            m.set_sink("z", sink / H)
            m.advance(3600.0)
            assert m.c[0] == pytest.approx(css * (1 - math.exp(-3600.0 / tau)), rel=_tol(steps, exp_tol))
            assert m.max_mass_balance_error < 1e-12
    for v2 in (100.0, 200.0):  # T3 and T3b
        for dt in (1.0, 10.0, 60.0):
            m = _series(dt, v2=v2)
            for t in (300.0, 600.0, 1200.0):
                m.advance(t)
                assert m.c[1] == pytest.approx(_series_exact(t, v2=v2), rel=_tol(round(t / dt)))
    # the tabulated values of the reference: T3 peak 1/e at 10 min, T3b 0.2387 at 10 min
    assert _series_exact(600.0) == pytest.approx(math.exp(-1.0), rel=1e-12)
    assert _series_exact(600.0, v2=200.0) == pytest.approx(0.2387, abs=1e-4)


@pytest.mark.parametrize("degree", [1, 2, 3, 4])
def test_fixed_degree_converges_with_its_order_on_t1_and_t3(degree):
    # with the Taylor degree held at m the step is the order-m Taylor method: halving dt divides the
    # error by 2^m (the default chooses m from the tolerance instead, so it is exact to round-off)
    cases = [
        (lambda dt: _decay(dt, exp_degree=degree), 3600.0, lambda m: m.c[0], 100.0 * math.exp(-2.0)),
        (lambda dt: _series(dt, exp_degree=degree), 600.0, lambda m: m.c[1], _series_exact(600.0)),
        (lambda dt: _series(dt, 100.0, 200.0, exp_degree=degree), 600.0, lambda m: m.c[1],
         _series_exact(600.0, v2=200.0)),
    ]
    for model_fn, t_end, pick, exact in cases:
        errs = []
        for dt in (120.0, 60.0, 30.0):
            m = model_fn(dt)
            m.advance(t_end)
            assert m.exp_plan == (1, degree)
            errs.append(abs(pick(m) - exact) / exact)
        assert errs[0] / errs[1] == pytest.approx(2.0 ** degree, rel=0.15)
        assert errs[1] / errs[2] == pytest.approx(2.0 ** degree, rel=0.08)
    # and the default degree is far more accurate than any of them at the same step
    m = _series(120.0)
    m.advance(600.0)
    assert m.c[1] == pytest.approx(_series_exact(600.0), rel=_tol(5))


def test_matches_the_matrix_exponential_with_sources_doors_and_bursts():
    """A 5 x 4 grid, piecewise-constant coefficients: against scipy.linalg.expm of the augmented system."""
    rng = np.random.default_rng(3)
    g = _grid(5, 4, rng)
    doors = sorted(k for _, _, k, kind in g.edges(keys=True, data="kind") if kind == "door")
    m = Multizone(g, dt=5.0, low_rank=True)
    m.add_source("r2_2", 4e-3)
    m.add_burst("r4_3", 0.3, 50.0)
    m.set_outdoor(2e-6)
    m.set_sink("r1_3", 1e-3)
    c = m.c.copy()
    for k in range(60):
        if k % 6 == 0:
            m.set_door(str(rng.choice(doors)), bool(rng.random() < 0.5))
        t0 = m.t
        K, V, b = m.ode_system()  # the state of this step (doors applied), b at its start
        if t0 <= 50.0 < t0 + m.dt:
            c = c + np.eye(m.n)[m.zone_index["r4_3"]] * 0.3 / V[m.zone_index["r4_3"]]
        n = m.n
        aug = np.zeros((n + 1, n + 1))
        aug[:n, :n] = (-diags(1.0 / V) @ K).toarray()
        aug[:n, n] = b / V
        c = (expm(aug * m.dt) @ np.append(c, 1.0))[:n]
        m.step()
        assert m.active_scheme == "exponential"
        assert m.c == pytest.approx(c, rel=1e-11, abs=1e-12 * c.max())
        assert m.mass_balance_error() < 1e-12
    assert m.low_rank_updates > 0 and m.factorisations == 1  # doors folded in place


# ------------------------------------------------------------------------------------- positivity
def test_non_negative_propagator_on_a_stiff_model_with_tiny_zones_and_large_flows():
    """Cupboard-sized zones (0.05-2 m3) with 0.2-1 m3/s through them: K_ii/V_i up to 40/s. Per column (a
    unit pulse in one zone) the one-step propagator must be non-negative without clipping, at steps from
    where one Taylor substep suffices to where substeps are needed and to past the cost cap (implicit
    Euler fallback)."""
    rng = np.random.default_rng(17)
    g = _grid(4, 3, rng, v=(0.05, 2.0))
    fan = [("r0_0", "r1_0"), ("r1_0", "r2_1"), ("r2_1", "r3_2"), ("r3_2", "r0_0")]
    seen = set()
    for dt in (0.01, 0.2, 1.0, 60.0):
        m = Multizone(g, dt=dt)
        for a, b in fan:  # a ring of directed transfer air, balanced at every zone
            m.add_flow(a, b, 0.8)
        m.set_sink("r2_2", 0.5)
        for i in range(m.n):
            m.c = np.zeros(m.n)
            m.c[i] = 1.0
            m.step()
            assert m.c.min() >= 0.0
            assert m.max_clipped <= 1e-15  # only round-off, relative to the unit pulse
            assert m.mass_balance_error() < 1e-12
        seen.add(m.active_scheme if m.exp_plan is None else f"exp{min(m.exp_plan[0], 2)}")
    # all three regimes were exercised: one substep, several, and the implicit fallback
    assert seen == {"exp1", "exp2", "euler"}


def test_substeps_follow_the_positivity_condition_and_the_cap():
    g = _topo(a=(1.0, 0.0), b=(1.0, 0.0))
    m = Multizone(g, dt=1.0, exp_degree=2)
    m.add_exchange("a", "b", 2.5)  # K_ii / V_i = 2.5 /s: positivity needs h <= 0.4 s
    assert m.exp_plan == (3, 2)
    m.set_concentration("a", 1.0)
    m.step()
    # the exact solution of the exchange: the difference decays as exp(-5 t); two zones' mean stays
    assert m.c.sum() == pytest.approx(1.0, rel=1e-14) and m.c.min() >= 0.0
    big = Multizone(g, dt=1.0, exp_degree=2)
    big.add_exchange("a", "b", 30.0)  # 30 substeps x 2 = 60 products > the cap: implicit fallback
    assert 30 * 2 > EXP_MAX_MATVECS
    assert big.active_scheme == "euler" and big.exp_plan is None


# ------------------------------------------------------------------ fallbacks and door updates
def test_falls_back_when_a_door_makes_the_model_stiff_and_returns():
    g = _topo(a=(0.02, 1.0), b=(0.02, 1.0))  # two tiny ducts: an open door gives K_ii/V_i ~ 5/s
    g.add_edge("a", "b", key="D", kind="door", width=0.9, height=2.1, open=False)
    for low_rank in (False, True):
        m = Multizone(g, dt=30.0, low_rank=low_rank)
        m.set_concentration("a", 1.0)
        m.step()
        assert m.active_scheme == "exponential"
        m.set_door("D", True)
        m.step()
        assert m.active_scheme in ("euler", "trapezoidal") and m.c.min() >= 0.0
        assert m.mass_balance_error() < 1e-12
        m.set_door("D", False)
        m.step()
        assert m.active_scheme == "exponential"


def test_in_place_door_updates_match_reassembly():
    full, inplace = toggle_doors_alongside("exponential", 150, 1e-12, 1e-18)
    assert full.factorisations > 100 and inplace.factorisations == 1 and inplace.low_rank_updates > 100
    assert inplace.active_scheme == "exponential"
    assert inplace.released == pytest.approx(full.released, rel=1e-14)


def test_boundary_is_averaged_over_the_step_second_order():
    # one zone fed with outdoor air whose concentration rises linearly: C' = lam (a t - C), C(0) = 0
    lam, a = 2.0 / H, 1e-6

    def model(dt):
        return Multizone(_topo(z=(100.0, 2.0)), dt=dt, outdoor_hook=lambda t, mz: mz.set_outdoor(a * t))

    t_end = 1800.0
    exact = a * (t_end - (1 - math.exp(-lam * t_end)) / lam)
    errs = []
    for dt in (20.0, 10.0, 5.0):
        m = model(dt)
        m.advance(t_end)
        errs.append(abs(m.c[0] - exact))
        assert m.max_mass_balance_error < 1e-12
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.05)
    assert errs[1] / errs[2] == pytest.approx(4.0, rel=0.05)


def test_runs_are_deterministic_and_inputs_checked():
    def run():
        rng = np.random.default_rng(9)
        g = _grid(5, 5, rng)
        m = Multizone(g, dt=1.0)
        m.add_source("r2_2", ([0.0, 30.0, 90.0], [0.0, 1e-2, 0.0]), start=5.0)
        for k in range(200):
            if k % 10 == 0:
                m.set_door(f"D{k % 4}_{k % 3}x", bool(k % 20))
            m.step()
        return m.c

    assert np.array_equal(run(), run())
    for bad in ({"scheme": "rk4"}, {"exp_tol": 0.0}, {"exp_degree": 0}, {"exp_degree": 2.5},
                {"exp_degree": EXP_MAX_MATVECS + 1}):
        with pytest.raises(InputError):
            Multizone(_topo(z=(1.0, 0.0)), **bad)


def test_outdoor_is_a_read_only_view():
    m = Multizone(_topo(z=(100.0, 2.0)))
    m.set_outdoor(openings={"z": 3e-6})
    view = m.outdoor
    assert dict(view) == {"z": 3e-6}
    with pytest.raises(TypeError):
        view["z"] = 0.0  # type: ignore[index]
    m.set_outdoor(openings={"z": 4e-6})
    assert view["z"] == 4e-6  # live
