"""AlertEngine.scan_block: a block of rows looked ahead and committed gives exactly what the per-step calls
give.

The reference drives one engine with ``update`` (and ``update_cameras(t, [])`` when the site has cameras)
at every row; the block path drives a second engine with "scan_block, commit(j), the per-step call at row
j, continue from j + 1" (sometimes committing fewer rows than it may) over the same random streams: a gas
ramp crossing the set points and staying above, falling below again, noise, a detector faulted for a
while, camera alarms at a few rows (run per step, as the orchestrator runs them). Tolerance: none -- the
alerts and episodes (``to_dict``) and every state array of the engine must be identical.
"""

from __future__ import annotations

import numpy as np
import pytest

from drills.alerts.policies import AlertEngine
from twin.sensors import CameraAlarm, DetectorSpec

T = 700  # rows (1 s apart)
ZONES = ["A", "A", "A", "B", "B", "C"]
CAMS = ["K-A", "K-D"]
CAM_ZONES = ["A", "D"]  # zone D has a camera only
CAL = {"calibration_sensor_days": 2}
# set points and hysteresis differ: one level only, none at all, no hysteresis
SETPOINTS = [(10.0, 20.0), (10.0, 20.0), (12.0,), (10.0, 20.0), (10.0, 20.0), ()]
HYSTERESIS = [1.0, 1.0, 0.0, 2.0, 1.0, 1.0]
_SP = np.array([[(s[k] if k < len(s) else np.inf) for s in SETPOINTS] for k in range(2)])

CONFIGS = {
    "threshold": {"policy": "threshold", "rearm": "60s"},
    "threshold_k2_delay": {"policy": "threshold", "k": 2, "delay_on": "5s", "rearm": None,
                           "setpoints": ["8 %LEL", "15 %LEL", "25 %LEL"]},
    "threshold_delay_rearm0": {"policy": "threshold", "delay_on": "3s", "rearm": 0},
    "cusum": {"policy": "cusum", "h": 5.0, "rearm": "60s", **CAL},
    "cusum_fixed_baseline": {"policy": "cusum", "h": 4.0, "baseline": None, "escalate": False, **CAL},
    "ewma": {"policy": "ewma", "L": 3.0, "rearm": None, **CAL},
    "rate_of_rise": {"policy": "rate_of_rise", "window": "30s", "rate": ["1 %LEL/min"], "rearm": "90s", **CAL},
    "rate_of_rise_calibrated": {"policy": "rate_of_rise", "window": "60s", **CAL},
    "fusion_cusum": {"policy": "fusion", "k": 2, "window": "30s", "rearm": "60s",
                     "detector": {"policy": "cusum", "h": 5.0, **CAL}},
    "fusion_ewma_noescalate": {"policy": "fusion", "k": 1, "window": "20s", "escalate": False, "rearm": None,
                               "cameras": False, "detector": {"policy": "ewma", "L": 3.0, **CAL}},
    "fusion_site": {"policy": "fusion", "k": 2, "window": "30s", "group": "site", "rearm": "60s",
                    "detector": {"policy": "cusum", "h": 5.0, **CAL}},
    "fusion_threshold": {"policy": "fusion", "k": 2, "window": "15s", "rearm": "40s",
                         "detector": {"policy": "threshold", "delay_on": "2s"}},
}


def _engine(cfg: dict) -> AlertEngine:
    specs = [DetectorSpec(f"D{i}", "%LEL", setpoints=SETPOINTS[i], noise=1.0, hysteresis=HYSTERESIS[i])
             for i in range(len(ZONES))]
    pos = [(float(i), float(i % 2)) for i in range(len(ZONES))]
    return AlertEngine(cfg, specs, ZONES, pos, camera_names=CAMS, camera_zones=CAM_ZONES,
                       camera_positions=[(0.0, 1.0), (9.0, 9.0)])


def _stream(seed: int):
    """Readings (T, n), faulted flags per row, camera alarm rows: gas arrives in zone A, rises past both
    set points, stays, falls below them again, and reaches zone B weaker; one head is dead for a while."""
    rng = np.random.default_rng(seed)
    n = len(ZONES)
    t = np.arange(1.0, T + 1.0)
    gas = np.zeros((T, n))
    for i in range(n):
        start = rng.uniform(100, 200)
        rise = rng.uniform(30, 150)
        peak = rng.uniform(5, 35) * (1.0 if ZONES[i] == "A" else rng.uniform(0.2, 0.8))
        stop = rng.uniform(400, 560)
        g = peak * np.clip((t - start) / rise, 0, 1)
        g = np.where(t > stop, g * np.exp(-(t - stop) / 40.0), g)
        gas[:, i] = g
    readings = np.maximum(gas + rng.normal(0, 1.0, (T, n)), 0.0)
    readings[rng.random((T, n)) < 0.01] += 15.0  # spikes
    fault = np.zeros((T, n), dtype=bool)
    fault[250:420, 1] = True  # a head dead in the middle of the episode
    fault[600:, 4] = True
    readings[fault] = 0.0
    cam_rows = set(rng.choice(np.arange(20, T), 4, replace=False).tolist())
    return t, readings, fault, cam_rows


def _levels(r: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """The detectors' alarm levels (set points reached; 0 when faulted) for readings (..., n)."""
    return np.where(bad, 0, (r >= _SP[0]).astype(np.int8) + (r >= _SP[1])).astype(np.int8)


def _alarms(i: int, t: float) -> list[CameraAlarm]:
    c = i % 2
    return [CameraAlarm(t, c, CAMS[c], False)]


def _row(eng, t, r, bad, lv, cameras, cam_rows, i):
    out = eng.update(t, r, fault_flags=bad, levels=lv, fresh=~bad)
    if cameras:
        out += eng.update_cameras(t, _alarms(i, t) if i in cam_rows else [])
    return out


def _records(xs: list) -> str:
    """The records' to_dict() as text (a location without detectors is nan, which is not == itself)."""
    return repr([x.to_dict() for x in xs])


def _state(eng: AlertEngine) -> dict:
    """Every attribute the per-step calls touch (the threshold vote cache aside)."""
    d: dict = {"t": eng.t, "alerts": _records(eng.alerts), "episodes": _records(eng.episodes),
               "any_on": dict(eng._any_on),
               "open": {s: {z: e.id for z, e in v.items()} for s, v in eng._open.items()}}
    for name in ("_last_sig", "_last_margin", "_cam_last"):
        d[name] = getattr(eng, name).copy()
    for src in ("gas", "camera"):
        d[f"raised_{src}"] = eng._raised[src].copy()
        d[f"last_on_{src}"] = eng._last_on[src].copy()
        d[f"prev_on_{src}"] = eng._prev_on[src].copy()
    if eng.stat is None:
        d["on_since"] = eng.on_since.copy()
        d["pending"] = eng._pending
    else:
        d["b"] = eng.baseline.b.copy()
        for k, v in vars(eng.stat).items():
            d[f"stat.{k}"] = v.copy() if isinstance(v, np.ndarray) else v
    return d


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k], equal_nan=True), k
        else:
            assert a[k] == b[k], k


def _run_blocks(eng, t, R, F, cam_rows, cameras, with_levels, rng) -> tuple[list, list[int]]:
    out: list = []
    lengths: list[int] = []
    i = 0
    while i < T:
        if cameras and i in cam_rows:  # a camera alarm row is decided outside the block
            out += _row(eng, t[i], R[i], F[i], _levels(R[i], F[i]) if with_levels else None, cameras, cam_rows, i)
            i += 1
            continue
        e = min(T, i + int(rng.integers(1, 300)))
        ch = np.flatnonzero((F[i:e] != F[i]).any(axis=1))
        if ch.size:
            e = i + int(ch[0])
        if cameras:
            e = min([e] + [c for c in cam_rows if i < c < e])
        lv = _levels(R[i:e], F[i]) if with_levels else None
        before = _state(eng)
        j, commit = eng.scan_block(t[i:e], R[i:e], F[i], ~F[i], lv, cameras)
        _same(before, _state(eng))  # a pure look-ahead
        assert 0 <= j <= e - i
        if j > 1 and rng.random() < 0.2:  # commit less than allowed: the block restarts there
            k = int(rng.integers(1, j))
            commit(k)
            lengths.append(k)
            i += k
            continue
        commit(j)
        lengths.append(j)
        i += j
        if i < e:
            out += _row(eng, t[i], R[i], F[i], _levels(R[i], F[i]) if with_levels else None, cameras, cam_rows, i)
            i += 1
    return out, lengths


@pytest.mark.parametrize("cameras", [True, False])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_blocks_equal_step_by_step(name, cameras):
    for seed in (1, 2, 3):
        with_levels = seed != 2  # levels None: "reading >= first set point"
        t, R, F, cam_rows = _stream(seed)
        ref = _engine(CONFIGS[name])
        ref_out: list = []
        for i in range(T):
            ref_out += _row(ref, t[i], R[i], F[i], _levels(R[i], F[i]) if with_levels else None, cameras,
                            cam_rows, i)
        blk = _engine(CONFIGS[name])
        out, lengths = _run_blocks(blk, t, R, F, cam_rows, cameras, with_levels, np.random.default_rng(seed))
        assert ref.alerts and ref.episodes[0].end is not None  # alerts raised, an episode ended
        assert _records(out) == _records(ref_out)
        _same(_state(ref), _state(blk))
        assert sum(lengths) >= T // 2  # most rows are committed in blocks, not run one by one


def _steady(name: str, level: float, rows: int, seed: int = 0):
    """An engine that has alerted on gas standing at ``level`` in zone A, and the next ``rows`` rows of it."""
    rng = np.random.default_rng(seed)
    eng = _engine(CONFIGS[name])
    n = len(ZONES)
    gas = np.array([level if z == "A" else 0.0 for z in ZONES])
    t = 0.0
    for _ in range(60):
        t += 1.0
        r = np.maximum(gas + rng.normal(0, 1.0, n), 0.0)
        bad = np.zeros(n, dtype=bool)
        eng.update(t, r, fault_flags=bad, levels=_levels(r, bad), fresh=~bad)
        eng.update_cameras(t, [])
    assert eng.alerts and eng._any_on["gas"]
    times = t + 1.0 + np.arange(rows)
    R = np.maximum(gas + rng.normal(0, 1.0, (rows, n)), 0.0)
    return eng, times, R


@pytest.mark.parametrize("name,level", [("threshold", 15.0), ("threshold_k2_delay", 18.0),
                                        ("fusion_cusum", 15.0), ("fusion_site", 15.0), ("cusum", 15.0),
                                        ("ewma", 25.0), ("rate_of_rise_calibrated", 15.0)])
def test_blocks_are_long_while_a_zone_stays_on(name, level):
    eng, times, R = _steady(name, level, 300)
    bad = np.zeros(R.shape[1], dtype=bool)
    j, commit = eng.scan_block(times, R, bad, ~bad, _levels(R, bad), True)
    assert j >= 100
    n_alerts = len(eng.alerts)
    commit(j)
    assert eng.t == times[j - 1] and len(eng.alerts) == n_alerts
    with pytest.raises(RuntimeError):
        commit(j)


def test_learned_model_stops_at_the_first_row():
    """The learned model's engine (drills.alerts.learned.ModelEngine) drives an inner engine whose config is
    the model's: its blocks are not handled, every row goes through the model per step."""
    from drills.alerts.policies import parse_alerts

    eng = _engine({"policy": "threshold"})
    eng.config = parse_alerts({"policy": "model", "path": "model.joblib"})  # as ModelEngine sets it
    j, commit = eng.scan_block(np.arange(1.0, 11.0), np.zeros((10, len(ZONES))), np.zeros(len(ZONES), bool),
                               np.ones(len(ZONES), bool), None, True)
    assert j == 0
    commit(0)
    with pytest.raises(ValueError):
        commit(1)
