"""Exposure and cues looked ahead over a block of gas steps equal the step-by-step calls.

The reference drives :meth:`Exposure.update` (and :meth:`Cues.breathe`) once per gas step. The block side
asks :meth:`Exposure.block` for the stop row ``j``, commits the rows before it, runs row ``j`` with the
ordinary per-step call and goes on from ``j + 1``. Tolerance: none -- the returned ppm, the exposure
arrays (load, peak, IDLH flags, FED, collapse and death times) and the crowd's states must be identical
(np.array_equal): the block does the same element-wise operations and sums the rows in the same order.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from agents.crowd import INCAPACITATED, SAFE, Person
from agents.cues import Cues
from agents.exposure import Exposure
from agents.model import DrillModel
from tests.agents.test_crowd import corridor_site
from twin.gas import get_gas, ppm_to_kgm3, probit_probability
from twin.graph import build_graph

NZ = 8
STATE = ("load", "peak", "over_idlh", "fed", "t_incap", "fatal", "t_fatal", "threshold", "_down")


def _model(seed: int, n: int) -> tuple[DrillModel, Exposure, dict[str, int]]:
    g = build_graph(corridor_site(length=80.0))  # 8 zones along the corridor
    m = DrillModel(g, seed=seed)
    rng = np.random.default_rng(seed)
    m.add_people([Person("C", (float(x), float(y)), 1.0, float(pm), protected=bool(p))
                  for x, y, pm, p in zip(rng.uniform(1, 79, n), rng.uniform(0.3, 1.7, n),
                                         rng.uniform(0.0, 200.0, n), rng.random(n) < 0.1, strict=True)])
    assert len(g.zones) == NZ
    return m, g, {z: k for k, z in enumerate(sorted(g.zones))}


def _pair(seed: int, gas_key: str, n: int = 60):
    out = []
    for _ in range(2):
        m, g, zi = _model(seed, n)
        out.append((m, Exposure(m.crowd, g, zi, get_gas(gas_key), m.streams["exposure"])))
    return out


def _rows(rng: np.random.Generator, gas_key: str, m: int, nz: int, top_ppm: float) -> np.ndarray:
    """Gas arriving zone by zone, rising to about ``top_ppm``, with pauses of clean air (kg/m3)."""
    arrive = rng.integers(0, m // 2, nz)
    rate = rng.uniform(0.3, 1.5, nz) * top_ppm / (m / 2)
    k = np.arange(m)[:, None]
    ppm = np.clip(k - arrive[None, :], 0, None) * rate[None, :] * rng.uniform(0.9, 1.1, (m, nz))
    ppm[rng.random(m) < 0.1] = 0.0  # the gas stops for a step (clean air)
    return ppm_to_kgm3(np.minimum(ppm, 1e6), get_gas(gas_key))  # at most pure gas


def _drive(ref: Exposure, blk: Exposure, times, dts, c_rows) -> tuple[int, int]:
    """Both objects over the same rows; returns (rows committed in blocks, blocks)."""
    m = len(c_rows)
    want = [ref.update(times[i], dts[i], c_rows[i]) for i in range(m)]
    i = blocked = blocks = 0
    while i < m:
        j, idx, ppm, commit = blk.block(times[i:], dts[i:], c_rows[i:])
        for r in range(j):
            got = np.zeros(blk.n)
            got[idx] = ppm[r]
            assert np.array_equal(got, want[i + r])
        commit(j)
        blocked += j
        blocks += j > 0
        i += j
        if i < m:
            assert np.array_equal(blk.update(times[i], dts[i], c_rows[i]), want[i])
            i += 1
    return blocked, blocks


def _same(a: Exposure, b: Exposure, ma: DrillModel, mb: DrillModel) -> None:
    for name in STATE:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(ma.crowd.state, mb.crowd.state)


@pytest.mark.parametrize("gas_key,top_ppm", [("H2S", 2500.0), ("NH3", 60000.0), ("CO", 50000.0), ("Cl2", 800.0),
                                           ("CH4", 1_500_000.0)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_equals_step_by_step(gas_key, top_ppm, seed):
    """Rising gas over a moving crowd (people leave the corridor between the blocks, so some breathe no
    zone), with incapacitations (FED: CO, the H2S knockdown, hypoxia of the displaced oxygen) and deaths
    (probit) on the way."""
    _check(gas_key, top_ppm, seed, 60)


@pytest.mark.parametrize("gas_key,top_ppm", [("H2S", 2500.0), ("CO", 50000.0)])
def test_block_equals_step_by_step_in_a_large_crowd(gas_key, top_ppm):
    """The same with enough people that the running sums take their other path (row by row)."""
    _check(gas_key, top_ppm, 4, 240)


def _check(gas_key: str, top_ppm: float, seed: int, n: int) -> None:
    (m1, ref), (m2, blk) = _pair(seed, gas_key, n)
    rng = np.random.default_rng(100 + seed)
    t = 0.0
    blocked = total = 0
    for phase in range(4):
        if phase == 1:
            m1.crowd.alarm()
            m2.crowd.alarm()
        t += 40.0
        m1.run(t)
        m2.run(t)
        m = 120
        dts = rng.choice([0.5, 1.0, 2.0], m)
        times = t + np.cumsum(dts)
        c_rows = _rows(rng, gas_key, m, NZ, top_ppm * (0.5 + 0.25 * phase))
        b, _ = _drive(ref, blk, times, dts, c_rows)
        blocked += b
        total += m
        _same(ref, blk, m1, m2)
    down = ref.t_incap < np.inf
    assert down.sum() >= 3  # the stops were exercised: collapses, and deaths where the gas has a probit
    assert ref.fatal.sum() >= 1 if ref.gas.probit is not None else not ref.fatal.any()
    assert (m1.crowd.state == INCAPACITATED).sum() == down.sum()
    assert (m1.crowd.state == SAFE).any()  # some people left the building: they breathe no zone
    assert ref._prot.any()
    assert blocked > total // 2  # most rows went in blocks


def test_long_block_when_nothing_happens():
    """Low gas for 400 steps: one block to the end; its commit equals 400 updates."""
    (m1, ref), (m2, blk) = _pair(5, "H2S", n=40)
    rng = np.random.default_rng(5)
    c_rows = ppm_to_kgm3(rng.uniform(0.0, 20.0, (400, 8)), get_gas("H2S"))
    dts = np.ones(400)
    times = np.cumsum(dts)
    j, idx, ppm, commit = blk.block(times, dts, c_rows)
    assert j == 400 and len(idx) == 40
    snap = {k: getattr(blk, k).copy() for k in STATE}
    for k in STATE:  # the look-ahead changed nothing
        assert np.array_equal(getattr(blk, k), snap[k])
    commit(400)
    for i in range(400):
        want = ref.update(times[i], dts[i], c_rows[i])
        assert np.array_equal(want[idx], ppm[i])
    _same(ref, blk, m1, m2)
    assert ref.load.max() > 0
    with pytest.raises(ValueError):
        commit(401)


def test_clean_air_block():
    (_, _), (_, blk) = _pair(6, "CO", n=5)
    j, idx, ppm, commit = blk.block(np.arange(1.0, 51.0), np.ones(50), np.zeros((50, 8)))
    assert j == 50 and not ppm.any()
    commit(50)
    assert not blk.load.any() and not blk.peak.any()


@pytest.mark.parametrize("gas_key", ["H2S", "NH3", "CO", "Cl2"])
def test_lethal_load_is_never_past_a_death(gas_key):
    """The look-ahead stops where a load reaches the person's lethal load L*; at L* the probit must not
    yet have passed the threshold, for thresholds anywhere in [0, 1) including within 1e-15 of either
    end (where the probability function's absolute round-off matters)."""
    (_, ex), _ = _pair(1, gas_key, n=1)
    ex._grow()
    u = np.concatenate([np.random.default_rng(0).random(20_000), 1.0 - np.logspace(-15, -1, 300),
                        np.logspace(-15, -1, 300), [0.0]])
    ex.threshold = u
    lstar = ex._lethal_load(np.arange(len(u)))
    pr = ex.gas.probit
    assert not (probit_probability(pr.value(lstar)) > u).any()
    mid = (u > 1e-6) & (u < 1.0 - 1e-6)  # and tight there: the stops are not needlessly early
    assert np.all(lstar[mid] > (1.0 - 1e-6) * np.exp((ndtri(u[mid]) + 5.0 - pr.a) / pr.b))


# ---------------------------------------------------------------------------------------- cues
def _cues(seed: int, n: int = 80):
    m, g, zi = _model(seed, n)
    ex = Exposure(m.crowd, g, zi, get_gas("H2S"), m.streams["exposure"])
    return m, ex, Cues(m.crowd, rng=m.streams["cues"]).attach()


@pytest.mark.parametrize("seed", [1, 2])
def test_first_notice_is_the_first_row_anyone_notices(seed):
    """Rising H2S: up to the row ``first_notice`` names, breathe() changes nothing; at that row it makes
    someone aware (or learns that someone was aware already); then go on from the next row."""
    m, ex, cues = _cues(seed)
    rng = np.random.default_rng(seed)
    c_rows = _rows(rng, "H2S", 200, 8, 40.0)
    dts = np.ones(200)
    times = 10.0 + np.cumsum(dts)
    i = stops = 0
    while i < 200:
        _, idx, ppm, _ = ex.block(times[i:], dts[i:], c_rows[i:])
        aware0 = cues._aware.copy()
        j = cues.first_notice("H2S", idx, ppm)
        assert np.array_equal(cues._aware, aware0)  # pure
        for r in range(j):
            state0 = m.crowd.state.copy()
            full = np.zeros(m.crowd.n)
            full[idx] = ppm[r]
            assert cues.breathe("H2S", full) == 0
            assert np.array_equal(cues._aware, aware0) and np.array_equal(m.crowd.state, state0)
        i += j
        if i < 200:
            full = np.zeros(m.crowd.n)
            full[idx] = ppm[j]
            n = cues.breathe("H2S", full)
            assert n > 0 or not np.array_equal(cues._aware, aware0)  # the stop was not for nothing
            stops += 1
            i += 1
    assert stops >= 2 and sum(cues.noticed.values()) > 0


def test_first_notice_long_when_nobody_can_notice():
    m, ex, cues = _cues(3)
    (act, irr, lost), low = cues._levels_low("H2S")
    own = np.minimum(act, irr)  # each person's lowest level (odour below smell lost at these ppm)
    k = int(np.argmin(own))
    ppm = np.full((300, 80), 0.5 * low)
    assert cues.first_notice("H2S", np.arange(80), ppm) == 300
    p = int(np.argmax(own))
    ppm[50, p] = 0.99 * own[p]  # above the lowest level, below this person's own: nothing happens
    assert cues.breathe("H2S", np.where(np.arange(80) == p, ppm[50], 0.0)) == 0
    assert cues.first_notice("H2S", np.arange(80), ppm) == 300
    ppm[123, k] = own[k]
    assert cues.first_notice("H2S", np.arange(80), ppm) == 123
    assert cues.first_notice("H2S", np.arange(80), ppm[124:]) == 176
    cues._aware[k] = True  # known aware: never a candidate again
    assert cues.first_notice("H2S", np.arange(80), ppm) == 300
    assert cues.first_notice("CH4", np.arange(80), np.full((5, 80), 1e5)) == 5  # odourless, not odorised
