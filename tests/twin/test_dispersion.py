"""The multizone mass balance: the analytic tests T1-T5 of leak_sensors.md section 1, mass balance,
non-negativity and the airflow estimates on graphs built from a Site."""

import math

import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csc_matrix
from shapely.geometry import box

from twin.dispersion import (
    Multizone,
    RateCurve,
    check_m_matrix,
    doorway_exchange,
    leak_exchange,
)
from twin.errors import InputError
from twin.graph import OUTSIDE, build_graph
from twin.site import Door, Site, Space, Stair, Storey

H = 3600.0  # s per hour
MG = 1e-6  # kg/m3 per mg/m3


def _topo(**zones) -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_node(OUTSIDE, kind="outside")
    for z, (v, ach) in zones.items():
        g.add_node(z, kind="zone", volume=v, ach=ach)
    return g


def _run(model_fn, t_end: float, dt: float) -> Multizone:
    m = model_fn(dt)
    m.advance(t_end)
    return m


def _richardson(model_fn, t_end: float, dt: float, pick) -> tuple[float, float]:
    """(value at dt, Richardson extrapolation 2 c(dt/2) - c(dt)) with implicit Euler (the model functions
    default to ``scheme="euler"``): it is first order, so the extrapolated value is second-order accurate
    and can be held to the analytic solution tightly."""
    coarse = pick(_run(model_fn, t_end, dt))
    fine = pick(_run(model_fn, t_end, dt / 2))
    return coarse, 2 * fine - coarse


# ------------------------------------------------------------------------------------------ T1-T5
def _t1(dt, scheme="euler"):
    m = Multizone(_topo(z=(100.0, 2.0)), dt=dt, scheme=scheme)
    m.set_concentration("z", 100.0)  # ppm: the balance is linear, any unit works
    return m


def test_t1_single_zone_decay():
    lam = 2.0 / H
    for t, expected in ((1800.0, 36.788), (3600.0, 13.534)):
        coarse, extrap = _richardson(_t1, t, 1.0, lambda m: m.c[0])
        assert extrap == pytest.approx(expected, abs=5e-4)
        # first-order scheme: relative error about lam t * lam dt / 2
        assert abs(coarse / expected - 1) <= 1.5 * lam * t * lam * 1.0 / 2 + 2e-5
    # half-life 20.79 min: C(t½) = 50
    _, c_half = _richardson(_t1, 20.79 * 60, 0.5, lambda m: m.c[0])
    assert c_half == pytest.approx(50.0, abs=0.01)


def test_t1_first_order_convergence():
    exact = 100 * math.exp(-1.0)
    errs = [abs(_run(_t1, 1800.0, dt).c[0] - exact) for dt in (4.0, 2.0, 1.0)]
    assert errs[0] / errs[1] == pytest.approx(2.0, rel=0.02)
    assert errs[1] / errs[2] == pytest.approx(2.0, rel=0.02)


def _t2(dt, sink_per_h=0.0, scheme="euler"):
    m = Multizone(_topo(z=(100.0, 2.0)), dt=dt, scheme=scheme)  # Q = 200 m3/h of clean supply
    m.add_source("z", 1e-3 / 60.0)  # 1 g/min
    if sink_per_h:
        m.set_sink("z", sink_per_h / H)
    return m


def test_t2_source_with_clean_supply():
    assert _t2(1.0).steady_state()[0] == pytest.approx(300 * MG, rel=1e-12)
    coarse, extrap = _richardson(_t2, 1800.0, 1.0, lambda m: m.c[0])
    assert extrap == pytest.approx(189.64 * MG, abs=0.005 * MG)
    assert coarse == pytest.approx(189.64 * MG, rel=5e-4)


def test_t2b_first_order_sink():
    m = _t2(1.0, sink_per_h=1.0)
    assert m.steady_state()[0] == pytest.approx(200 * MG, rel=1e-12)
    # tau = V / (Q + kV) = 20 min: C(tau) = C_ss (1 - 1/e)
    _, extrap = _richardson(lambda dt: _t2(dt, 1.0), 1200.0, 1.0, lambda m: m.c[0])
    assert extrap == pytest.approx(200 * MG * (1 - math.exp(-1)), rel=1e-5)


def _series(dt, v1=100.0, v2=100.0, scheme="euler"):
    m = Multizone(_topo(a=(v1, 0.0), b=(v2, 0.0)), dt=dt, scheme=scheme)
    q = 6.0 * v1 / H  # lambda_1 = Q / V1 = 6 /h
    m.add_flow(OUTSIDE, "a", q)
    m.add_flow("a", "b", q)
    m.add_flow("b", OUTSIDE, q)
    m.set_concentration("a", 1.0)
    return m


def test_t3_two_zones_in_series():
    for minutes, expected in ((5, 0.3033), (10, 0.3679), (20, 0.2707)):
        _, extrap = _richardson(_series, minutes * 60.0, 1.0, lambda m: m.c[1])
        assert extrap == pytest.approx(expected, abs=1e-4)
    # the peak is at t = 1/lambda = 10 min and equals 1/e
    _, peak = _richardson(_series, 600.0, 1.0, lambda m: m.c[1])
    assert peak == pytest.approx(math.exp(-1), abs=1e-5)


def test_t3b_series_unequal_volumes():
    _, extrap = _richardson(lambda dt: _series(dt, 100.0, 200.0), 600.0, 1.0, lambda m: m.c[1])
    assert extrap == pytest.approx(0.2387, abs=1e-4)


def test_t4_exchange_between_ventilated_zones():
    m = Multizone(_topo(a=(100.0, 1.0), b=(100.0, 1.0)), dt=10.0)  # Q0 = 100 m3/h each
    m.add_exchange("a", "b", 50.0 / H)
    m.add_source("a", 60e-3 / H)  # 60 g/h
    ss = m.steady_state()
    assert ss[0] == pytest.approx(450 * MG, rel=1e-12) and ss[1] == pytest.approx(150 * MG, rel=1e-12)
    assert (100.0 / H) * ss.sum() == pytest.approx(60e-3 / H, rel=1e-12)  # Q0 (C1 + C2) = S
    m.advance(24 * H)  # time stepping reaches the same state
    assert m.c == pytest.approx(ss, rel=1e-6)
    assert m.max_mass_balance_error < 1e-9


def test_t5_implicit_euler_factor_per_step():
    m = _t1(300.0, scheme="euler")
    assert m.active_scheme == "euler"
    m.step()
    assert m.c[0] / 100.0 == pytest.approx(0.857143, abs=1e-6)  # 1 / (1 + ACH dt)
    m.advance(1800.0)
    assert m.c[0] == pytest.approx(39.657, abs=1e-3)  # not the exact 36.788: tests the scheme


# --------------------------------------------------------------------------- sources and controls
def test_rate_curves_are_integrated_exactly():
    lin = RateCurve((0.0, 10.0, 20.0), (0.0, 2.0, 0.0), "linear")  # triangle: 20 kg
    assert lin.mass(0.0, 20.0) == pytest.approx(20.0)
    assert lin.mass(5.0, 15.0) == pytest.approx(15.0)
    assert lin.mass(-5.0, 100.0) == pytest.approx(20.0)
    step = RateCurve((5.0, 10.0), (1.0, 3.0), "step")  # 0 before 5 s, 1 until 10 s, then 3 held
    assert step.mass(0.0, 12.0) == pytest.approx(5.0 + 6.0)
    with pytest.raises(InputError):
        RateCurve((0.0, 0.0), (1.0, 1.0))


def test_sources_bursts_and_isolation_release_the_right_mass():
    m = Multizone(_topo(z=(50.0, 0.0)), dt=0.7)  # closed room: everything released stays
    m.add_source("z", 0.01, start=1.0, stop=11.0)  # 0.1 kg
    curve = m.add_source("z", ([0.0, 4.0, 8.0], [0.0, 0.05, 0.0]), start=2.0)  # triangle 0.2 kg
    m.add_source("z", lambda t: 0.002, start=0.0, stop=5.0)  # 0.01 kg
    m.add_burst("z", 0.3, t=3.3)
    late = m.add_source("z", 1.0, start=100.0)
    m.isolate(late, 50.0)  # isolated before it starts: nothing
    m.add_source("z", ([0.0, 10.0], [0.02, 0.02]), start=0.0, interp="step", source_id="cut")
    m.isolate("cut", 6.05)  # 0.121 kg
    m.advance(30.0)
    assert m.released == pytest.approx(0.1 + 0.2 + 0.01 + 0.3 + 0.121, rel=1e-12)
    assert m.mass() == pytest.approx(m.released, rel=1e-12)
    assert m.t == pytest.approx(30.0)
    with pytest.raises(InputError):
        m.isolate("nope", 1.0)
    assert curve == "src2"


def test_outdoor_boundary_and_hook():
    g = _topo(a=(100.0, 2.0), b=(100.0, 0.0))
    g.add_edge("b", OUTSIDE, key="D_out", kind="door", width=1.0, height=2.0, open=True)
    seen = []

    def hook(t, model):
        seen.append(t)
        model.set_outdoor(openings={"D_out": 2e-3})

    m = Multizone(g, dt=60.0, outdoor=1e-3, outdoor_hook=hook)
    kinds = {(o.id, o.kind, o.zone) for o in m.exterior_openings()}
    assert ("D_out", "door", "b") in kinds and ("a", "vent", "a") in kinds
    m.advance(48 * H)
    # each zone tends to the concentration of the outdoor air that feeds it
    assert m.c == pytest.approx([1e-3, 2e-3], rel=1e-6)
    assert seen[:2] == [60.0, 120.0]
    assert m.max_mass_balance_error < 1e-9


def test_factorisation_only_on_changes():
    g = _topo(a=(30.0, 1.0), b=(30.0, 1.0))
    g.add_edge("a", "b", key="D1", kind="door", width=0.9, height=2.1, open=False)
    m = Multizone(g)
    m.add_source("a", 1e-4)
    for _ in range(10):
        m.step()
    assert m.factorisations == 1
    m.set_door("D1", False)  # no change
    m.set_outdoor(1e-6)  # boundary values do not touch the matrix
    m.step()
    assert m.factorisations == 1
    m.set_door("D1", True)
    m.step()
    m.set_ach("b", 4.0)
    m.step()
    m.set_dt(2.0)
    m.step()
    assert m.factorisations == 4
    m.advance(m.t + 3.0)  # one full step and a 1 s remainder (one more factorisation) ...
    assert m.factorisations == 5 and m.t == pytest.approx(18.0)
    m.step()  # ... and back to 2 s steps on the next step
    assert m.factorisations == 6 and m.t == pytest.approx(20.0)
    with pytest.raises(InputError):
        m.set_door("nope", True)


def test_unbalanced_directed_flows_are_rejected():
    m = Multizone(_topo(a=(10.0, 0.0), b=(10.0, 0.0)))
    m.add_flow(OUTSIDE, "a", 0.1)
    m.add_flow("a", "b", 0.1)  # b has no way out
    with pytest.raises(InputError, match="balance"):
        m.step()


def test_steady_state_needs_a_way_out():
    m = Multizone(_topo(a=(10.0, 0.0)))
    with pytest.raises(InputError):
        m.steady_state({"a": 1e-3})


def test_m_matrix_check_rejects_bad_matrices():
    good = csc_matrix(np.array([[2.0, -1.0], [-1.0, 2.0]]))
    check_m_matrix(good, np.array([1.0, 1.0]))
    with pytest.raises(AssertionError):
        check_m_matrix(csc_matrix(np.array([[2.0, 0.5], [-1.0, 2.0]])), np.array([1.0, 1.0]))
    with pytest.raises(AssertionError):
        check_m_matrix(good, np.array([1.5, 1.5]))


# -------------------------------------------------------------- mass balance under random toggling
def _grid(nx_: int, ny: int, rng: np.random.Generator, v: tuple[float, float] = (20.0, 200.0),
          stair: bool = True) -> nx.MultiGraph:
    """Rooms of volume ``v`` (m3) in a grid joined by doors (30 % open), one exterior door, one open cell
    interface and (``stair``) one stair."""
    g = nx.MultiGraph()
    g.add_node(OUTSIDE, kind="outside")
    for i in range(nx_):
        for j in range(ny):
            g.add_node(f"r{i}_{j}", kind="zone", volume=float(rng.uniform(*v)),
                       ach=float(rng.choice([0.0, 0.5, 2.0, 6.0])), height=3.0)
    for i in range(nx_):
        for j in range(ny):
            if i + 1 < nx_:
                g.add_edge(f"r{i}_{j}", f"r{i + 1}_{j}", key=f"D{i}_{j}x", kind="door", width=0.9,
                           height=2.1, open=bool(rng.random() < 0.3))
            if j + 1 < ny:
                g.add_edge(f"r{i}_{j}", f"r{i}_{j + 1}", key=f"D{i}_{j}y", kind="door", width=0.9,
                           height=2.1, open=bool(rng.random() < 0.3))
    g.add_edge("r0_0", OUTSIDE, key="EXIT", kind="door", width=1.2, height=2.1, open=False)
    g.add_edge("r1_1", "r1_2", key="C1", kind="cell", width=5.0)
    if stair:
        g.add_edge("r2_2", "r3_3", key="S1", kind="stair", width=1.2)
    return g


def test_mass_balance_and_non_negative_under_random_door_toggling():
    rng = np.random.default_rng(7)
    g = _grid(6, 5, rng)
    doors = [k for _, _, k, kind in g.edges(keys=True, data="kind") if kind == "door"]
    m = Multizone(g, dt=2.0)
    m.set_sink("r3_3", 1e-3)
    m.add_source("r2_2", 5e-3, start=0.0)
    m.add_source("r5_4", ([0.0, 60.0, 120.0], [0.0, 2e-2, 0.0]), start=30.0)
    m.add_burst("r0_4", 0.5, 41.0)
    m.isolate("src1", 250.0)
    m.set_concentration("r4_0", 1e-3)
    masses, t_prev = [], m.t
    for k in range(300):
        for d in rng.choice(doors, size=3, replace=False):
            m.set_door(str(d), bool(rng.random() < 0.5))
        if k == 150:
            m.set_ach("r1_1", 12.0)
        m.step()
        assert m.c.min() >= 0.0
        assert m.mass_balance_error() < 1e-9
        masses.append(m.mass())
        assert m.t > t_prev
        t_prev = m.t
    assert m.max_mass_balance_error < 1e-9
    assert m.factorisations > 250  # doors toggled almost every step
    assert m.released == pytest.approx(5e-3 * 250 + 0.5 * 2e-2 * 120 + 0.5, rel=1e-12)


# ------------------------------------------------------------------------ airflows of a real Site
def _site() -> Site:
    site = Site(name="t", source="test", schema="test")
    site.storeys = [Storey("G", "Ground", 0.0), Storey("U", "Upper", 3.0)]
    spaces = [
        Space("A", "Room A", "G", box(0, 0, 5, 5), 0.0, 3.0, ach=2.0),
        Space("B", "Room B", "G", box(5, 0, 10, 5), 0.0, 3.0, ach=0.0),
        Space("C", "Corridor", "G", box(0, 5, 40, 7), 0.0, 3.0, ach=1.0),
        Space("U", "Upper", "U", box(0, 0, 10, 5), 3.0, 3.0, ach=1.0),
    ]
    for s in spaces:
        site.spaces[s.id] = s
    for d in (
        Door("D_AB", "AB", (5.0, 2.5, 0.0), 0.9, ("A", "B"), storey="G", height=2.1, open=True),
        Door("D_AC", "AC", (2.5, 5.0, 0.0), 0.9, ("A", "C"), storey="G", height=2.1, open=False),
        Door("EXIT", "Exit", (40.0, 6.0, 0.0), 1.2, ("C",), storey="G", external=True, exit=True),
    ):
        site.doors[d.id] = d
    site.stairs["S"] = Stair("S", "S", "B", "U", (8.0, 1.0), (8.0, 4.0), 0.0, 3.0, length=4.2, width=1.0)
    return site


def test_door_exchange_hand_calculation():
    # 0.9 m x 2.1 m door, cd 0.6, dT 1 K at 293.15 K:
    # Q = 0.6/3 * 1.89 * sqrt(9.80665 * 2.1 * 1 / 293.15) = 0.378 * 0.26505 = 0.10019 m3/s (361 m3/h)
    assert doorway_exchange(0.9, 2.1) == pytest.approx(0.10019, rel=1e-4)
    # crack of 3 mm around the leaf: area 2 * (0.9 + 2.1) * 0.003 = 0.018 m2 -> 0.018/1.89 of the open value
    assert leak_exchange(0.9, 2.1) == pytest.approx(doorway_exchange(0.9, 2.1) * 0.018 / 1.89, rel=1e-12)


def test_multizone_on_a_built_site():
    g = build_graph(_site())
    m = Multizone(g, dt=5.0)
    assert m.zones == sorted(g.zones) and all(m.zone_index[z] == i for i, z in enumerate(m.zones))
    a, b = m.zone_index["A"], m.zone_index["B"]
    c_cells = [m.zone_index[z] for z in g.space_zones["C"]]
    assert len(c_cells) == 4
    A = m._assemble()
    assert -A[a, b] == pytest.approx(doorway_exchange(0.9, 2.1))  # open door A-B
    c_near = m.zone_index[g.zone_at("C", 2.5, 6.0)]
    assert -A[a, c_near] == pytest.approx(leak_exchange(0.9, 2.1))  # shut door A-C leaks
    assert -A[b, m.zone_index["U"]] == pytest.approx(doorway_exchange(1.0, 2.1))  # stair shaft
    assert -A[c_cells[0], c_cells[1]] == pytest.approx(0.05 * 2.0 * 3.0, rel=1e-3)  # 2 m x 3 m interface
    exits = [o for o in m.exterior_openings() if o.kind == "door"]
    assert [(o.id, o.xy) for o in exits] == [("EXIT", (40.0, 6.0))]
    # a leak in B spreads through the open door to A, up the stair, and barely through the shut door
    m.add_source("B", 1e-3)
    m.advance(600.0)
    assert m.c[a] > 0.3 * m.c[b] and m.c[m.zone_index["U"]] > 0.0
    assert m.c[c_near] < 0.05 * m.c[a]
    before = m.c[c_near]
    m.set_door("D_AC", True)
    m.advance(900.0)
    assert m.c[c_near] > 5 * before
    assert m.max_mass_balance_error < 1e-9


def test_ode_system_matches_the_steady_state():
    from scipy.sparse.linalg import spsolve

    g = _grid(4, 4, np.random.default_rng(3))
    m = Multizone(g, dt=1.0)
    m.add_source("r1_1", 2e-3)
    m.set_outdoor(1e-5)
    K, V, b = m.ode_system()
    assert V == pytest.approx(m.volume) and b.sum() == pytest.approx(2e-3 + 1e-5 * m._ext_q.sum())
    assert spsolve(K.tocsc(), b) == pytest.approx(m.steady_state(), rel=1e-10)
    m.step()  # the factorisation is still the stepping one
    assert m.factorisations == 1 and m.mass_balance_error() < 1e-9


# ------------------------------------------------------------- the trapezoidal (Crank-Nicolson) scheme
def _series_c2(m: Multizone) -> float:
    return m.c[1]


def test_trapezoidal_is_second_order_on_t1_and_t3():
    assert _t1(1.0, scheme="trapezoidal").active_scheme == "trapezoidal"
    assert Multizone(_topo(z=(100.0, 2.0))).scheme == "exponential"  # the default since the exponential scheme
    cases = [
        (lambda dt: _t1(dt, scheme="trapezoidal"), 1800.0, lambda m: m.c[0], 100 * math.exp(-1.0)),
        (lambda dt: _series(dt, scheme="trapezoidal"), 600.0, _series_c2, math.exp(-1.0)),
        (lambda dt: _series(dt, 100.0, 200.0, scheme="trapezoidal"), 600.0, _series_c2, 0.2387),
    ]
    for model_fn, t_end, pick, expected in cases[:2]:
        errs = [abs(pick(_run(model_fn, t_end, dt)) - expected) for dt in (8.0, 4.0, 2.0)]
        assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.02)
        assert errs[1] / errs[2] == pytest.approx(4.0, rel=0.02)
        # at 1 s the error is orders of magnitude below implicit Euler's
        err_cn = abs(pick(_run(model_fn, t_end, 1.0)) - expected)
        assert err_cn < 2e-6 * abs(expected)
    # T3b (expected value given to 4 digits) and the T1 half-life, directly at 1 s
    model_fn, t_end, pick, expected = cases[2]
    assert pick(_run(model_fn, t_end, 1.0)) == pytest.approx(expected, abs=1e-4)
    assert _run(lambda dt: _t1(dt, scheme="trapezoidal"), 20.79 * 60, 1.0).c[0] == pytest.approx(50.0, abs=0.01)
    # T2: source with clean supply, and T2b with a sink
    m = _run(lambda dt: _t2(dt, scheme="trapezoidal"), 1800.0, 1.0)
    assert m.c[0] == pytest.approx(189.64 * MG, abs=0.005 * MG)
    m = _run(lambda dt: _t2(dt, 1.0, scheme="trapezoidal"), 1200.0, 1.0)
    assert m.c[0] == pytest.approx(200 * MG * (1 - math.exp(-1)), rel=1e-6)


def test_trapezoidal_factor_and_euler_fallback_beyond_the_step_condition():
    # one zone, lambda = 2/h: the trapezoidal factor is (1 - z/2) / (1 + z/2) with z = lambda dt
    m = _t1(300.0, scheme="trapezoidal")
    assert m.max_trapezoidal_dt() == pytest.approx(3600.0)
    m.step()
    z = 2.0 / H * 300.0
    assert m.active_scheme == "trapezoidal"
    assert m.c[0] / 100.0 == pytest.approx((1 - z / 2) / (1 + z / 2), rel=1e-12)
    # at z = 2 the factor is exactly 0; beyond it the trapezoidal rule would go negative, so the model
    # falls back to implicit Euler: 1 / (1 + z)
    for dt, scheme, factor in ((3600.0, "trapezoidal", 0.0), (5400.0, "euler", 1 / (1 + 3.0))):
        m = _t1(dt, scheme="trapezoidal")
        m.step()
        assert m.active_scheme == scheme
        assert m.c[0] / 100.0 == pytest.approx(factor, abs=1e-12)
    # the fallback is exactly implicit Euler, and mass still balances
    a, b = _t2(5400.0, scheme="trapezoidal"), _t2(5400.0, scheme="euler")
    a.advance(6 * 5400.0)
    b.advance(6 * 5400.0)
    assert a.c[0] == pytest.approx(b.c[0], rel=1e-12) and a.max_mass_balance_error < 1e-9
    with pytest.raises(InputError):
        Multizone(_topo(z=(1.0, 0.0)), scheme="rk4")


def test_trapezoidal_propagator_is_non_negative_under_its_condition():
    rng = np.random.default_rng(11)
    g = _grid(4, 4, rng)
    probe = Multizone(g)
    probe.set_sink("r2_1", 2e-3)
    for frac, scheme in ((1.0, "trapezoidal"), (0.5, "trapezoidal"), (1.3, "euler")):
        dt = frac * probe.max_trapezoidal_dt()
        m = Multizone(g, dt=dt, scheme="trapezoidal")
        m.set_sink("r2_1", 2e-3)
        # each column of the one-step propagator: a unit pulse in one zone
        for i in range(m.n):
            m.c = np.zeros(m.n)
            m.c[i] = 1.0
            m.step()
            assert m.active_scheme == scheme
            assert m.c.min() >= 0.0
            assert m.mass_balance_error() < 1e-12
    # just past the condition, the trapezoidal rule itself would produce a negative entry
    from scipy.sparse import diags

    K = probe._assemble(with_storage=False)
    dt = 1.05 * probe.max_trapezoidal_dt()
    explicit = (diags(probe.volume / dt) - 0.5 * K).toarray()
    assert explicit.min() < 0


def test_trapezoidal_boundary_is_averaged_over_the_step():
    # one zone fed with outdoor air whose concentration rises linearly: C' = lam (a t - C), C(0) = 0
    lam, a = 2.0 / H, 1e-6

    def model(dt):
        m = Multizone(_topo(z=(100.0, 2.0)), dt=dt, outdoor_hook=lambda t, mz: mz.set_outdoor(a * t),
                      scheme="trapezoidal")
        return m

    t_end = 1800.0
    exact = a * (t_end - (1 - math.exp(-lam * t_end)) / lam)
    errs = [abs(_run(model, t_end, dt).c[0] - exact) for dt in (20.0, 10.0, 5.0)]
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.05)
    assert errs[1] / errs[2] == pytest.approx(4.0, rel=0.05)
    m = _run(model, t_end, 5.0)
    assert m.max_mass_balance_error < 1e-9


def toggle_doors_alongside(scheme: str, steps: int, tol: float, abs_tol: float) -> list[Multizone]:
    """Two models of a 6 x 5 grid, the first reassembling on every door change and the second updating
    in place (``low_rank``), stepped side by side through random door toggles (the exterior door too).
    Every step must keep concentrations non-negative and mass balanced to ``tol``, and the two must agree
    to ``tol`` relative / ``abs_tol`` absolute. Returns them for the caller's counter checks."""
    rng = np.random.default_rng(5)
    g = _grid(6, 5, rng)
    doors = sorted(k for _, _, k, kind in g.edges(keys=True, data="kind") if kind == "door")
    models = [Multizone(g, dt=2.0, scheme=scheme, low_rank=lr) for lr in (False, True)]
    for m in models:
        m.add_source("r2_2", 5e-3)
        m.add_burst("r0_4", 0.2, 31.0)
        m.set_outdoor(1e-6)
    for k in range(steps):
        toggles = [(str(d), bool(rng.random() < 0.5)) for d in rng.choice(doors, size=2, replace=False)]
        if k % 7 == 0:
            toggles.append(("EXIT", bool(k % 14)))  # the exterior door: inflow and loss change too
        for m in models:
            for d, state in toggles:
                m.set_door(d, state)
            m.step()
            assert m.c.min() >= 0.0 and m.mass_balance_error() < tol
        assert models[1].c == pytest.approx(models[0].c, rel=tol, abs=abs_tol)
    return models


@pytest.mark.parametrize("scheme", ["trapezoidal", "euler"])
def test_low_rank_door_updates_match_refactorisation(scheme):
    full, low = toggle_doors_alongside(scheme, 200, 1e-9, 1e-15)
    assert low.low_rank_updates > 100
    assert full.factorisations > 150 and low.factorisations < full.factorisations / 5  # refactorised at the cap
    assert low.active_scheme == scheme
    assert low.released == pytest.approx(full.released, rel=1e-12)
    # a change that is not a door (ventilation) still refactorises
    n_fact = low.factorisations
    low.set_ach("r1_1", 8.0)
    low.step()
    assert low.factorisations == n_fact + 1 and low.low_rank_updates > 0


@pytest.mark.parametrize("low_rank", [False, True])
def test_opening_a_door_past_the_step_condition_falls_back_to_euler(low_rank):
    # two 2 m3 cupboards: shut, the trapezoidal rule is positive at 10 s steps; an open door (0.1 m3/s
    # each way) makes 2 V / outflow = 40 s ... and a 60 s step breaks it
    g = _topo(a=(2.0, 1.0), b=(2.0, 1.0))
    g.add_edge("a", "b", key="D", kind="door", width=0.9, height=2.1, open=False)
    m = Multizone(g, dt=60.0, low_rank=low_rank, scheme="trapezoidal")
    m.set_concentration("a", 1.0)
    m.step()
    assert m.active_scheme == "trapezoidal" and m.max_trapezoidal_dt() > 60.0
    m.set_door("D", True)
    assert m.max_trapezoidal_dt() == pytest.approx(2 * 2.0 / (doorway_exchange(0.9, 2.1) + 2.0 / H))
    m.step()
    assert m.active_scheme == "euler" and m.c.min() >= 0.0 and m.mass_balance_error() < 1e-12
    m.set_door("D", False)
    m.step()
    assert m.active_scheme == "trapezoidal"
    assert m.factorisations == 3 and m.low_rank_updates == 0
    assert Multizone(g)._low_rank is False  # small models refactorise by default
