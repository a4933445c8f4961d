"""The lab's adapter: the project's detectors and policies run over folded copies, with exact alert times."""

from __future__ import annotations

import numpy as np
import pytest

from drills.lab.metrics import episode_outcomes
from drills.lab.policies import parse_policy, simulate
from twin.sensors import DetectorSpec

# noiseless, driftless, no lag, no rounding: the readings are the true values, so alert times are exact
SPEC = dict(unit="ppm", setpoints=(10.0, 20.0), t90=0.0, noise=0.0, resolution=0.0, drift=0.0, span_drift=0.0,
            hysteresis=1.0, full_scale=200.0)


def _specs(n=2):
    return [DetectorSpec(name=f"D{i}", **SPEC) for i in range(n)]


def test_folded_copies_give_exact_alert_times_and_activations():
    steps = 300
    # copy 0: D0 at 15 ppm from step 100 to 149; copy 1: D1 at 25 ppm from step 200; copy 2: clean
    truth = np.zeros((steps, 3, 2))
    truth[100:150, 0, 0] = 15.0
    truth[200:, 1, 1] = 25.0
    res = simulate({"sp": parse_policy({"policy": "threshold"}, "x")}, _specs(), ["Z1", "Z2"], np.zeros((2, 2)),
                   copies=3, steps=steps, dt=1.0, rng=np.random.default_rng(0), true_at=lambda k: truth[k],
                   warmup_steps=0, rearm=0.0)
    got = sorted((a.copy, a.t, a.zone, a.level) for a in res.alerts)
    # the value given at step k is read at t = (k + 1) s
    assert got == [(0, 101.0, "Z1", "warning"), (1, 201.0, "Z2", "alarm")]
    act = res.activity["sp"]
    assert act.copy.tolist() == [0, 1]
    assert act.start.tolist() == [101.0, 201.0]
    assert act.end.tolist() == [151.0, 300.0]  # quiet again at 151 s; copy 1 still active at the end
    # scored with a window of 60 s after a start at 90 s: copy 0 detected at 101 s, copy 1 late, copy 2 missed
    o = episode_outcomes(act.copy, act.start, 3, np.full(3, 90.0), 60.0)
    assert o["detected"].tolist() == [True, False, False] and o["t_first"][0] == 101.0
    assert o["n_late"].tolist() == [0, 1, 0]


def test_warmup_alerts_are_dropped_and_carry_over_is_marked():
    truth = np.zeros((100, 1, 2))
    truth[:, 0, 0] = 15.0
    # with the same value during the warm-up the zone is already active at t = 0
    res = simulate({"sp": parse_policy({"policy": "threshold"}, "x")}, _specs(), ["Z1", "Z2"], np.zeros((2, 2)),
                   copies=1, steps=100, dt=1.0, rng=np.random.default_rng(0), true_at=lambda k: truth[max(k, 0)],
                   warmup_steps=0, rearm=0.0)
    assert [a.t for a in res.alerts] == [1.0]
    res2 = simulate({"sp": parse_policy({"policy": "threshold"}, "x")}, _specs(), ["Z1", "Z2"], np.zeros((2, 2)),
                    copies=1, steps=100, dt=1.0, rng=np.random.default_rng(0), true_at=None, warmup_steps=10)
    assert res2.alerts == [] and len(res2.activity["sp"]) == 0


@pytest.mark.slow
def test_chunked_leak_free_rate_matches_one_long_stream():
    """Folding time into copies (with the warm-up) gives the false-alert rate of one continuous stream:
    a CUSUM on noisy detectors, 2 days as 1 copy vs as 12 copies of 4 h (different draws, same process)."""
    specs = [DetectorSpec(name=f"D{i}", unit="ppm", setpoints=(10.0,), noise=1.0, resolution=0.0, drift=0.0,
                          span_drift=0.0) for i in range(3)]
    cfg = {"c": parse_policy({"policy": "cusum", "h": 4.0}, "x")}
    kw = dict(dt=5.0, true_at=None, rearm=0.0)
    one = simulate(cfg, specs, ["A", "B", "C"], np.zeros((3, 2)), copies=1, steps=34560, rng=np.random.default_rng(1),
                   warmup_steps=60, **kw)
    many = simulate(cfg, specs, ["A", "B", "C"], np.zeros((3, 2)), copies=12, steps=2880,
                    rng=np.random.default_rng(2), warmup_steps=60, **kw)
    n1 = int((one.activity["c"].start >= 0).sum())
    n2 = int((many.activity["c"].start >= 0).sum())
    assert n1 > 50 and n2 > 50
    # Poisson counts over equal time: the difference within 4 combined standard deviations
    assert abs(n1 - n2) < 4 * np.sqrt(n1 + n2), (n1, n2)


def test_model_policy_needs_a_path():
    from twin.errors import InputError

    with pytest.raises(InputError, match="path"):
        parse_policy({"policy": "model"}, "policies.m")


@pytest.mark.slow
def test_clean_air_blocks_equal_step_by_step():
    """Leak-free operation in blocks (clean_block + scan_clean) gives the alerts and activations of the
    same stream stepped one sample at a time (true values given as zeros force the step-by-step path)."""
    specs = [DetectorSpec(name=f"D{i}", unit="ppm", setpoints=(5.0, 10.0), noise=1.0, resolution=0.1)
             for i in range(3)]
    cfg = {"c": parse_policy({"policy": "cusum", "h": 3.0}, "x"), "t": parse_policy({"policy": "threshold"}, "x")}
    kw = dict(copies=4, steps=1500, dt=1.0, warmup_steps=100, rearm=0.0)
    a = simulate(cfg, specs, ["A", "A", "B"], np.zeros((3, 2)), rng=np.random.default_rng(7), true_at=None, **kw)
    b = simulate(cfg, specs, ["A", "A", "B"], np.zeros((3, 2)), rng=np.random.default_rng(7),
                 true_at=lambda k: np.zeros((4, 3)), **kw)
    key = lambda r: sorted((x.policy, x.copy, round(x.t, 6), str(x.zone), x.rank) for x in r.alerts)  # noqa: E731
    assert key(a) == key(b) and len(a.alerts) > 5
    for name in cfg:
        x, y = a.activity[name], b.activity[name]
        np.testing.assert_array_equal(x.copy, y.copy)
        np.testing.assert_allclose(x.start[x.start >= 0], y.start[y.start >= 0])
        np.testing.assert_allclose(x.end, y.end)
