"""Tenability accounted over a block of gas steps equals the step-by-step accounting.

The reference calls :meth:`Tenability.update` once per gas step; the other object takes the same rows in
blocks of random length through :meth:`Tenability.update_block`. Tolerance: none -- FED, ASET, the open
zones, oxygen, gas fraction, %LEL peak, time above each %LEL level and the flammable cloud must be
identical (the block does the same element-wise operations, sums the rows in order and stops a zone's
dose at the row its ASET is reached).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from drills.sim.tenability import LEL_LEVELS, Tenability
from twin.dispersion import O2_IN_AIR
from twin.gas import get_gas, ppm_to_kgm3

NZ = 12


def _rows(rng: np.random.Generator, gas_key: str, m: int, top_ppm: float) -> np.ndarray:
    """Gas arriving zone by zone, rising towards ``top_ppm`` and falling again, with clean steps (kg/m3)."""
    arrive = rng.integers(0, m // 2, NZ)
    k = np.arange(m)[:, None]
    shape = np.sin(np.pi * np.clip(k - arrive[None, :], 0, None) / (m - arrive[None, :]))
    ppm = top_ppm * rng.uniform(0.2, 1.2, NZ)[None, :] * shape * rng.uniform(0.9, 1.1, (m, NZ))
    ppm[rng.random(m) < 0.1] = 0.0  # clean air for a step
    return ppm_to_kgm3(ppm, get_gas(gas_key))


def _same(a: Tenability, b: Tenability) -> None:
    for name in ("fed", "aset", "_open"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in ("min_o2", "max_fraction", "lel_pct_peak", "cloud_volume", "cloud_zones", "t_above"):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("gas_key,top_ppm", [("H2S", 1500.0), ("CH4", 120_000.0), ("CO", 40_000.0),
                                             ("NH3", 200_000.0)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_update_block_equals_updates(gas_key, top_ppm, seed):
    rng = np.random.default_rng(seed)
    gas = get_gas(gas_key)
    ref, blk = Tenability(gas, NZ), Tenability(gas, NZ)
    volume = rng.uniform(20.0, 400.0, NZ)
    m = 600
    c_rows = _rows(rng, gas_key, m, top_ppm)
    dts = rng.choice([0.5, 1.0, 2.0, 5.0], m)
    times = np.cumsum(dts)
    i = 0
    while i < m:
        k = min(m - i, int(rng.integers(0, 80)))
        for r in range(i, i + k):
            ref.update(times[r], dts[r], SimpleNamespace(c=c_rows[r], volume=volume))
        blk.update_block(times[i:i + k], dts[i:i + k], c_rows[i:i + k], volume)
        i += k
        _same(ref, blk)
        if i < m and rng.random() < 0.3:  # a step on its own now and then, as the orchestrator runs row j
            mz = SimpleNamespace(c=c_rows[i], volume=volume)
            ref.update(times[i], dts[i], mz)
            blk.update(times[i], dts[i], mz)
            i += 1
    _same(ref, blk)
    # the accounting was exercised: the air was thinned of oxygen; toxic gases made zones untenable, the
    # asphyxiants at these levels gave a hypoxia dose and a flammable cloud
    assert ref.min_o2 < 100.0 * O2_IN_AIR
    if gas_key in ("H2S", "CO"):
        assert np.isfinite(ref.aset).sum() >= 2
    else:
        assert ref.fed.max() > 0 and ref.cloud_volume > 0 and all(ref.t_above[lv] > 0 for lv in LEL_LEVELS)


def test_clean_and_empty_blocks_change_nothing():
    gas = get_gas("CH4")
    t = Tenability(gas, 3)
    t.update_block(np.arange(1.0, 11.0), np.ones(10), np.zeros((10, 3)), np.ones(3))
    t.update_block(np.zeros(0), np.zeros(0), np.zeros((0, 3)), np.ones(3))
    assert t.max_fraction == 0.0 and t.lel_pct_peak == 0.0 and not t.fed.any() and t._open.all()
