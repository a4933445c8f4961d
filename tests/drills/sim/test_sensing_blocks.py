"""Clean air read in blocks of steps gives exactly what step-by-step sensing gives.

The reference is the per-step implementation (:meth:`GasHazards._sense` every ``gas_step``, switched on
with ``GasHazards.clean_blocks = False``). Tolerance: none -- readings, alerts, camera alarms, the
event log and the KPIs must be identical (same draws, same element-wise operations in the same order).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from drills.sim.engine import run_scenario
from drills.sim.hazards import GasHazards
from drills.spec.scenario import scenario_from_dict
from tests.conftest import ROOT
from twin.sensors import CameraArray, CameraSpec, DetectorArray, DetectorSpec, Nuisance


def _drill(alerts: dict) -> object:
    path = ROOT / "scenarios" / "plant_h2s_leak.yaml"
    d = yaml.safe_load(path.read_text())
    d["duration"] = "22min"
    d["population"] = d["population"][:2] + d["population"][7:9]
    d["hazards"] = [dict(d["hazards"][0], start="20min")]
    d["alerts"] = alerts
    # a noisy head with a low set point and a chatty camera: both alarm in clean air, so the blocks
    # are cut at alerts and camera alarms many times before the leak
    d["sensors"] = [
        {"name": "GD-N", "kind": "gas", "gas": "H2S", "space": "Process Hall A", "at": [10, 20, 1.0],
         "setpoints": ["6 ppm", "12 ppm"], "noise": "2 ppm", "t90": "20s"},
        {"name": "CAM-N", "kind": "camera", "space": "Process Hall A", "at": [10, 21, 4.0],
         "extra": {"false_positives_per_hour": 30}},
    ]
    return scenario_from_dict(d, path)


@pytest.mark.parametrize("alerts", [{"policy": "threshold", "rearm": "2min"},
                                    {"policy": "fusion", "k": 1, "rearm": "1min"}])
def test_clean_blocks_equal_step_by_step(alerts, monkeypatch):
    sc = _drill(alerts)
    out = {}
    for mode in (False, True):
        monkeypatch.setattr(GasHazards, "clean_blocks", mode)
        r = run_scenario(sc, 11, log_trajectories=False)
        out[mode] = (r.events, r.extra["timeseries"][0], {k: v for k, v in r.kpis.items() if k != "wall_s"})
    ref, blk = out[False], out[True]
    assert sum(1 for e in ref[0] if e[1] == "alert" and e[0] < 1200) >= 3  # alerts in clean air happened
    assert sum(1 for e in ref[0] if e[1] == "camera" and e[0] < 1200) >= 3
    assert blk[0] == ref[0]
    assert blk[1] == ref[1]
    assert blk[2] == ref[2]


def test_detector_clean_block_matches_updates():
    specs = [DetectorSpec("A", "ppm", gas="H2S", setpoints=(5.0, 10.0), noise=1.0, t90=20.0),
             DetectorSpec("B", "%LEL", gas="CH4", setpoints=(20.0,), drift=0.01, age=100.0),
             DetectorSpec("C", "ppm", gas="CO", noise=0.0, t90=0.0)]
    ref = DetectorArray(specs, np.random.default_rng(3), initial=[30.0, 10.0, 0.0])
    ref.update(1.0, 0.0)
    blk = DetectorArray(specs, np.random.default_rng(3), initial=[30.0, 10.0, 0.0])
    blk.update(1.0, 0.0)
    t = 1.0
    blocks = 0
    while t < 600.0:
        b = blk.clean_block(1.0, 50)  # None while an alarm level is on
        if b is not None and len(b):
            blocks += 1
            j = len(b) - 1
            for k in range(j + 1):
                t += 1.0
                assert np.array_equal(ref.update(t, 0.0), b.readings[k])
            blk.commit_clean(b, j)
        else:  # a level is on or a reading reaches a set point: that step goes one by one
            t += 1.0
            assert np.array_equal(ref.update(t, 0.0), blk.update(t, 0.0))
        assert np.array_equal(ref.reading, blk.reading) and ref.levels().tolist() == blk.levels().tolist()
    assert blocks >= 10 and ref.exceedances and ref.exceedances == blk.exceedances
    assert np.array_equal(ref.update(t + 1.0, 3.0), blk.update(t + 1.0, 3.0))  # the stream goes on alike


def test_camera_clean_block_matches_updates():
    specs = [CameraSpec("K1", false_positives_per_hour=200.0), CameraSpec("K2", false_positives_per_hour=50.0)]
    ref = CameraArray(specs, np.random.default_rng(8))
    blk = CameraArray(specs, np.random.default_rng(8))
    vis = np.zeros(2, dtype=bool)
    assert blk.clean_block(1.0, 30, vis) is None  # the first call covers the scans at 0 and 1 s
    ref.update(1.0, vis)
    blk.update(1.0, vis)
    t = 1.0
    while t < 400.0:
        det, _ = blk.clean_block(1.0, 30, vis)
        rise = det & ~np.vstack([blk.detecting[None, :], det[:-1]])
        j = int(np.flatnonzero(rise.any(axis=1))[0]) if rise.any() else len(det) - 1
        times = t + 1.0 + np.arange(len(det))
        for k in range(j + 1):
            ref.update(times[k], vis)
        blk.commit_clean(times, det, vis, j)
        t = float(times[j])
        assert np.array_equal(ref.detecting, blk.detecting)
        assert ref.new_alarms == blk.new_alarms
    assert len(ref.alarms) >= 5 and ref.alarms == blk.alarms


def test_nuisance_is_the_same_read_in_blocks_or_step_by_step():
    """Wander, spikes and bump tests (drawn an hour at a time) give the same readings however the calls are
    grouped, across hour boundaries (a block of 5,000 steps spans two epochs)."""
    from dataclasses import replace

    from twin.sensors import default_nuisance, resolve_spec

    base = resolve_spec(DetectorSpec("N", "ppm", gas="H2S", setpoints=(10.0, 20.0)))
    spec = replace(base, nuisance=replace(default_nuisance(base), spike_rate=2.0, maintenance_per_day=20.0,
                                          maintenance_uninhibited=1.0))
    one = DetectorArray([spec, replace(spec, name="M")], np.random.default_rng(21))
    ref = np.array([one.update(float(t), 0.0) for t in range(1, 9001)])
    blk = DetectorArray([spec, replace(spec, name="M")], np.random.default_rng(21)).clean_readings(1.0, 9000)
    assert (ref > 10.0).any()  # spikes and test gas did show
    assert np.array_equal(ref, blk)


@pytest.mark.parametrize("fault", [None, "dead", "stuck", "inhibited"])
def test_detector_gas_block_matches_updates(fault):
    """Gas rising through the set points, holding, falling back below the clearing values: a block of
    rows (committed up to its first exceedance, that row then by update()) equals update() row by row,
    readings, lag, levels and exceedances bit for bit. With a latching head, a head without lag, nuisance
    and drift."""
    specs = [DetectorSpec("A", "ppm", gas="H2S", setpoints=(5.0, 10.0), noise=0.5, t90=20.0),
             DetectorSpec("B", "%LEL", gas="CH4", setpoints=(20.0, 40.0), drift=0.01, age=100.0, latching=True),
             DetectorSpec("C", "ppm", gas="CO", setpoints=(30.0,), noise=0.3, t90=0.0),
             DetectorSpec("D", "ppm", gas="H2S", setpoints=(5.0, 10.0), noise=0.5, t90=30.0,
                          nuisance=Nuisance(wander=0.2, spike_rate=2.0))]
    rng_in = np.random.default_rng(5)
    t_all = np.arange(1.0, 901.0)
    shape = np.clip(np.minimum((t_all - 100) / 200, (700 - t_all) / 150), 0, 1)[:, None]
    values = shape * np.array([25.0, 60.0, 50.0, 15.0]) + rng_in.uniform(0, 0.5, (len(t_all), 4))
    ref = DetectorArray(specs, np.random.default_rng(3))
    blk = DetectorArray(specs, np.random.default_rng(3))
    if fault:
        for a in (ref, blk):
            a.fail("D", fault) if fault != "stuck" else a.fail("D", fault, value=7.0)
    for a in (ref, blk):  # the first call covers the samples at 0 and 1 s: not a block
        a.update(t_all[0], values[0])
    k, longest, cuts = 1, 0, 0
    while k < len(t_all):
        b = blk.gas_block(t_all[k:k + 120], values[k:k + 120])
        assert b is not None
        j = b.stop
        for i in range(j):
            assert np.array_equal(ref.update(t_all[k + i], values[k + i]), b.readings[i])
            assert ref.levels().tolist() == [int(x) if not (fault == "inhibited" and n == 3) else 0
                                            for n, x in enumerate(b.level[i])]
        blk.commit_gas(b, j)
        longest = max(longest, j)
        k += j
        if k < len(t_all):  # the row with a first crossing: by update(), as the hazards do
            cuts += 1
            assert np.array_equal(ref.update(t_all[k], values[k]), blk.update(t_all[k], values[k]))
            k += 1
        assert np.array_equal(ref.reading, blk.reading) and np.array_equal(ref._y, blk._y)
        assert ref.levels().tolist() == blk.levels().tolist()
    assert ref.exceedances == blk.exceedances and len(ref.exceedances) >= 5
    assert cuts >= 3 and longest >= 100
    assert np.array_equal(ref.update(1000.0, 1.0), blk.update(1000.0, 1.0))  # the streams go on alike
