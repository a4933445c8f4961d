"""Taylor blocks of the exponential scheme (twin.taylor_block): several steps from one basis while the
model does not change. Each block step must equal the exact propagator (dense ``expm``) and the ordinary
step-by-step scheme to round-off, keep the mass balance and positivity, honour every change made between
steps (doors, sources, bursts, the outdoor boundary, the state itself), and be deterministic."""

import math

import networkx as nx
import numpy as np
import pytest
from scipy.linalg import expm

from twin.dispersion import EXP_TOL, Multizone, taylor_degree
from twin.graph import OUTSIDE
from twin.taylor_block import BLOCK_MAX, block_plan

from .test_dispersion import _grid


def _pair(g, dt: float = 1.0) -> list[Multizone]:
    """The same model with Taylor blocks (first) and without (second)."""
    return [Multizone(g, dt=dt, exp_blocks=b) for b in (True, False)]


def _assert_close(a: Multizone, b: Multizone, rel: float = 1e-12) -> None:
    peak = max(float(b.c.max()), 1e-300)
    assert np.max(np.abs(a.c - b.c)) <= rel * peak


def test_block_steps_match_the_exact_propagator_column_by_column():
    rng = np.random.default_rng(3)
    g = _grid(4, 4, rng)
    m = Multizone(g, dt=1.0)
    m.set_sink("r2_1", 2e-3)
    K, V, _ = m.ode_system()
    J = -(K.toarray() / V[:, None])
    for i in (0, 5, 15):
        m = Multizone(g, dt=1.0)
        m.set_sink("r2_1", 2e-3)
        m.set_concentration(m.zones[i], 1.0)
        for k in range(1, 121):
            m.step()
            exact = expm(J * k)[:, i]
            assert np.max(np.abs(m.c - exact)) <= 1e-13  # relative to the unit pulse
            assert m.c.min() >= 0.0
            assert m.mass_balance_error() < 1e-13
        assert m.block_steps >= 110 and m.blocks >= 4  # steps 1-2 are single, then blocks of 2, 4, 8 ...
        assert m.max_clipped <= 1e-17


def test_source_and_outdoor_inflow_in_blocks_match_steady_state_and_step_by_step():
    rng = np.random.default_rng(4)
    g = _grid(5, 4, rng)
    blk, ref = _pair(g, dt=2.0)
    for m in (blk, ref):
        m.add_source("r2_2", 5e-3)
        m.set_outdoor(2e-6)
    for _ in range(3000):
        blk.step()
        ref.step()
        _assert_close(blk, ref)
        assert blk.mass_balance_error() < 1e-13
    assert blk.block_steps > 2900 and ref.block_steps == 0
    # the exact solution from clean air: C(t) = C_p - exp(J t) C_p, C_p the steady state
    K, V, _ = blk.ode_system()
    cp = blk.steady_state()
    exact = cp - expm(-(K.toarray() / V[:, None]) * blk.t) @ cp
    assert np.max(np.abs(blk.c - exact)) <= 1e-12 * exact.max()


def test_every_change_between_steps_is_honoured():
    """Doors, ventilation, sources (isolation, a rate curve, a burst), the outdoor boundary and the state
    (set_concentration, a write into ``c``, a new ``c``) each change what a block assumed: the block
    model must follow them exactly as the step-by-step one does."""
    rng = np.random.default_rng(8)
    g = _grid(6, 5, rng)
    blk, ref = _pair(g)
    for m in (blk, ref):
        m.add_source("r2_2", 5e-3, source_id="leak")
        m.add_source("r5_4", ([0.0, 60.0, 120.0], [0.0, 2e-2, 0.0]), start=300.0)
        m.add_burst("r0_4", 0.5, 241.0)
        m.isolate("leak", 500.0)
    changes = {
        100: lambda m: m.set_door("D1_1x", not m.door_open("D1_1x")),
        150: lambda m: m.set_ach("r3_3", 12.0),
        600: lambda m: m.set_concentration("r4_0", 1e-3),
        650: lambda m: m.c.__setitem__(3, 2e-3),  # a write into the array itself
        700: lambda m: setattr(m, "c", m.c * 0.5),  # a new array
        750: lambda m: m.set_door("EXIT", True),
        # the outdoor boundary last: with gas outside, it is part of what a block depends on
        800: lambda m: m.set_outdoor(1e-6),
        850: lambda m: m.set_outdoor(openings={"EXIT": 5e-6}),
    }
    for k in range(1000):
        for m in (blk, ref):
            if k in changes:
                changes[k](m)
            m.step()
            assert m.c.min() >= 0.0 and m.mass_balance_error() < 1e-12
        _assert_close(blk, ref)
    assert blk.block_steps > 800
    assert blk.released == ref.released


def test_blocks_are_deterministic():
    rng = np.random.default_rng(9)
    g = _grid(5, 5, rng)
    runs = []
    for _ in range(2):
        m = Multizone(g, dt=1.0)
        m.add_source("r1_1", 2e-3)
        for k in range(400):
            if k % 97 == 0:
                m.set_door("D2_2y", bool(k % 2))
            m.step()
        runs.append(m.c.tobytes())
    assert runs[0] == runs[1]


def test_loss_over_a_block_is_the_analytic_outflow():
    """One 100 m3 zone at 2 ach, C(0) = 1: the outflow over [0, t] is V (1 - exp(-2 t / 3600)), and the
    block's per-step losses add up to it."""
    g = nx.MultiGraph()
    g.add_node(OUTSIDE, kind="outside")
    g.add_node("z", kind="zone", volume=100.0, ach=2.0)
    m = Multizone(g, dt=5.0)
    m.set_concentration("z", 1.0)
    out = 0.0
    for _ in range(200):
        mass0 = m.mass()
        m.step()
        out += mass0 - m.mass()  # no source: the loss is the mass drop, balanced to round-off
        assert m.mass_balance_error() < 1e-14
    # within the documented bound: EXP_TOL per step (the blocks' degrees are chosen for it)
    assert out == pytest.approx(100.0 * (1.0 - math.exp(-2.0 * 1000.0 / 3600.0)), rel=200 * EXP_TOL)
    assert m.block_steps > 190


@pytest.mark.parametrize("norm_dt,diag_dt", [(0.07, 0.034), (0.5, 0.3), (2.0, 1.0), (0.01, 0.0)])
def test_block_plan_keeps_blocks_positive_and_cheapest(norm_dt, diag_dt):
    plans = block_plan(norm_dt, diag_dt, 10_000, 2_000, EXP_TOL, taylor_degree)
    if 2 * diag_dt > 1:
        assert plans == []
        return
    assert len(plans) == min(BLOCK_MAX, math.floor(1 / diag_dt) if diag_dt else BLOCK_MAX) - 1
    for cap, (r, k) in enumerate(plans, start=2):
        assert 2 <= r <= cap and r * diag_dt <= 1.0 + 1e-12
        assert k == taylor_degree(norm_dt * r, EXP_TOL)
    # the best plan beats one step at a time (degree m per step, same cost model)
    r, k = plans[-1]
    m1 = taylor_degree(norm_dt, EXP_TOL)
    assert k * 12_000 / r + 0.2 * (k + 1) * 2_000 < m1 * 12_000


def test_no_blocks_where_they_do_not_apply():
    rng = np.random.default_rng(2)
    g = _grid(4, 4, rng)
    fixed = Multizone(g, dt=1.0, exp_degree=3)  # a fixed-order Taylor method stays step by step
    off = Multizone(g, dt=1.0, exp_blocks=False)
    trap = Multizone(g, dt=1.0, scheme="trapezoidal")
    for m in (fixed, off, trap):
        m.add_source("r1_1", 1e-3)
        for _ in range(50):
            m.step()
        assert m.block_steps == 0 and m.blocks == 0


@pytest.mark.parametrize("gas_density", [None, 1.43])
def test_restore_gives_exactly_the_steps_after_the_checkpoint(gas_density):
    """A model stepped ahead and put back with restore() steps on bit for bit as if it had never left:
    the gas hazards read blocks of steps ahead and go back when something in the block must happen first.
    Covers Taylor blocks in flight, a release starting and stopping (refactorisation) and an outdoor
    boundary set every step."""
    rng = np.random.default_rng(11)
    g = _grid(4, 4, rng)

    def model():
        m = Multizone(g, dt=1.0, gas_density=gas_density)
        m.add_source("r1_1", 2e-3, start=5.0, stop=40.0)
        return m

    ref, spec = model(), model()
    for k in range(90):
        if k % 7 == 0:
            for m in (ref, spec):
                m.set_outdoor(openings={"EXIT": 1e-7 * k})
        if k in (3, 20, 38, 60):  # look ahead a few steps, then go back
            cp = spec.checkpoint()
            for _ in range(6):
                spec.step()
            spec.restore(cp)
        ref.step()
        spec.step()
        assert np.array_equal(ref.c, spec.c), k
        assert ref.t == spec.t and ref.released == spec.released
    assert ref.max_mass_balance_error == spec.max_mass_balance_error
    assert spec.block_steps > 30  # Taylor blocks were in flight at the checkpoints
