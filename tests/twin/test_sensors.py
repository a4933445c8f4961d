"""Gas detector and camera arrays: lag, sampling, noise, drift, display, alarm levels, faults, defaults."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import InputError
from twin.sensors import (
    DEFAULT_T90,
    SPAN_DRIFT_SD,
    ZERO_DRIFT_SD,
    CameraArray,
    CameraSpec,
    DetectorArray,
    DetectorSpec,
    build_sensor_arrays,
    resolve_spec,
    spec_from_sensor,
)
from twin.site import Sensor
from twin.units import Concentration

from ..conftest import MODELS


def quiet(name: str = "D1", unit: str = "%LEL", **kw) -> DetectorSpec:
    """A detector without noise, drift or display rounding, so the lag and logic can be checked exactly."""
    base = {"noise": 0.0, "resolution": 0.0, "drift": 0.0, "span_drift": 0.0}
    base.update(kw)
    return DetectorSpec(name, unit, **base)


def rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def gas_sensor(name: str = "GD-1", **kw) -> Sensor:
    return Sensor(id=f"id-{name}", name=name, kind=kw.pop("kind", "gas"), position=(0.0, 0.0, 1.5), **kw)


def run(arr: DetectorArray, times, values) -> list[np.ndarray]:
    return [arr.update(t, v) for t, v in zip(times, values, strict=True)]


# --- lag and sampling --------------------------------------------------------------------------------------
@pytest.mark.parametrize("t90,period,step", [(30.0, 1.0, 1.0), (20.0, 2.0, 0.5), (15.0, 1.0, 0.25),
                                             (25.0, 5.0, 1.0), (30.0, 1.0, 3.0)])
def test_a_step_reaches_90_percent_at_t90_within_one_sampling_period(t90, period, step):
    arr = DetectorArray([quiet(t90=t90, period=period)], rng())
    first = None
    for k in range(int(3 * t90 / step) + 1):
        t = k * step
        r = arr.update(t, 100.0)[0]
        if first is None and arr.fresh[0] and r >= 90.0:
            first = arr.sample_time[0]
    assert first is not None
    assert t90 - 1e-9 <= first <= t90 + period + 1e-9


def test_the_lag_follows_the_first_order_step_response_exactly():
    t90 = 20.0
    tau = t90 / math.log(10)
    arr = DetectorArray([quiet(t90=t90)], rng())
    for t in range(0, 61):
        r = arr.update(float(t), 100.0)[0]
        assert r == pytest.approx(100.0 * (1 - math.exp(-t / tau)), abs=1e-9)
    # T50 = 0.301 T90 is the same curve read at half height.
    assert 1 - math.exp(-0.30103 * t90 / tau) == pytest.approx(0.5, abs=1e-4)


def test_the_lag_does_not_depend_on_the_callers_step():
    """Piecewise-constant input: the exact update gives the same reading at a sample whatever the step."""
    def signal(t: float) -> float:
        return 0.0 if t < 3 else 80.0 if t < 17 else 10.0

    out = []
    for step in (1.0, 0.25, 0.5):
        arr = DetectorArray([quiet(t90=12.0, period=1.0)], rng())
        seen = {}
        for k in range(int(40 / step) + 1):
            t = k * step
            r = arr.update(t, signal(t))[0]
            if arr.fresh[0]:
                seen[arr.sample_time[0]] = r
        out.append(seen)
    for t in range(41):
        assert out[0][float(t)] == pytest.approx(out[1][float(t)], abs=1e-9)
        assert out[0][float(t)] == pytest.approx(out[2][float(t)], abs=1e-9)


def test_a_call_that_skips_samples_reads_the_lag_at_the_latest_sample_time():
    tau = 10.0 / math.log(10)
    arr = DetectorArray([quiet(t90=10.0, period=2.0)], rng())
    arr.update(0.0, 50.0)
    r = arr.update(7.0, 50.0)[0]  # samples at 2, 4, 6 fell in (0, 7]: the one at 6 s is shown
    assert arr.sample_time[0] == 6.0
    assert r == pytest.approx(50.0 * (1 - math.exp(-6.0 / tau)), abs=1e-9)


def test_a_detector_without_lag_shows_the_input_of_its_sample_time():
    arr = DetectorArray([quiet("Every", t90=0.0, period=1.0), quiet("Even", t90=0.0, period=2.0)], rng())
    assert list(arr.update(0.0, [10.0, 10.0])) == [10.0, 10.0]
    # Samples at 3 s (the call time) and at 2 s (before it, when 10 was still held).
    assert list(arr.update(3.0, [50.0, 50.0])) == [50.0, 10.0]


def test_an_initial_state_starts_the_detector_in_equilibrium():
    arr = DetectorArray([quiet(t90=30.0)], rng(), initial=40.0)
    assert arr.update(0.0, 40.0)[0] == pytest.approx(40.0)
    assert arr.update(5.0, 40.0)[0] == pytest.approx(40.0)


def test_readings_come_only_at_each_detectors_sampling_times():
    specs = [quiet("P1", period=1.0), quiet("P2", period=2.0), quiet("P5", period=5.0, phase=1.0)]
    arr = DetectorArray(specs, rng())
    fresh = []
    for k in range(12):
        arr.update(float(k), 10.0 * k)
        fresh.append(arr.fresh.copy())
    fresh = np.array(fresh)
    assert fresh[:, 0].all()
    assert list(np.flatnonzero(fresh[:, 1])) == [0, 2, 4, 6, 8, 10]
    assert list(np.flatnonzero(fresh[:, 2])) == [1, 6, 11]
    # Between samples the display holds.
    r = arr.reading.copy()
    arr.update(12.5, 500.0)
    assert arr.reading[2] == r[2] and not arr.fresh[2]


def test_mixed_periods_and_irregular_steps_match_a_one_detector_reference():
    gen = np.random.default_rng(42)
    n = 12
    t90 = gen.choice([0.0, 5.0, 20.0], n)
    period = gen.choice([0.5, 1.0, 2.0, 3.0], n)
    phase = gen.choice([0.0, 0.25, 1.0], n)
    arr = DetectorArray([quiet(f"D{i}", t90=t90[i], period=period[i], phase=phase[i]) for i in range(n)], rng())
    times = np.cumsum(gen.uniform(0.1, 2.5, 60))
    inputs = gen.uniform(0.0, 90.0, (60, n))
    # Reference: each detector on its own, the held input integrated exactly up to its latest sample.
    y, u, t_prev, shown, next_k = np.zeros(n), np.zeros(n), 0.0, np.zeros(n), np.zeros(n)
    for t, v in zip(times, inputs, strict=True):
        got = arr.update(t, v)
        for i in range(n):
            k = math.floor((t + 1e-9 - phase[i]) / period[i])
            if k >= next_k[i]:
                st = phase[i] + k * period[i]
                if t90[i] == 0:
                    shown[i] = v[i] if abs(st - t) < 1e-9 else u[i]
                else:
                    shown[i] = u[i] + (y[i] - u[i]) * math.exp(-(st - t_prev) * math.log(10) / t90[i])
                next_k[i] = k + 1
            y[i] = v[i] if t90[i] == 0 else u[i] + (y[i] - u[i]) * math.exp(-(t - t_prev) * math.log(10) / t90[i])
        u, t_prev = v.copy(), t
        assert got == pytest.approx(np.minimum(shown, 100.0), abs=1e-9)


def test_a_call_between_samples_only_advances_the_lag():
    arr = DetectorArray([quiet("P2", t90=10.0, period=2.0), quiet("P3", t90=10.0, period=3.0)], rng())
    arr.update(0.0, 40.0)
    before = arr.reading.copy()
    assert list(arr.update(1.0, 40.0)) == list(before) and not arr.fresh.any()
    tau = 10.0 / math.log(10)
    assert arr.update(2.0, 40.0)[0] == pytest.approx(40.0 * (1 - math.exp(-2.0 / tau)), abs=1e-9)


def test_time_cannot_go_backwards_and_the_input_must_match_the_array():
    arr = DetectorArray([quiet("A"), quiet("B")], rng())
    arr.update(5.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="before"):
        arr.update(4.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        arr.update(6.0, [1.0, 2.0, 3.0])


def test_the_input_is_copied_so_the_caller_may_reuse_its_buffer():
    arr = DetectorArray([quiet(t90=0.0)], rng())
    buf = np.array([30.0])
    arr.update(0.0, buf)
    buf[0] = 99.0
    assert arr.update(1.0, np.array([30.0]))[0] == pytest.approx(30.0)


# --- noise, drift, display ---------------------------------------------------------------------------------
def test_noise_has_the_given_standard_deviation():
    n = 2000
    arr = DetectorArray([quiet(f"D{i}", t90=0.0, noise=2.0) for i in range(n)], rng(3))
    samples = np.array([arr.update(float(t), 50.0) for t in range(1, 11)]).ravel()
    assert samples.std(ddof=1) == pytest.approx(2.0, rel=0.03)
    assert samples.mean() == pytest.approx(50.0, abs=0.05)


def test_an_explicit_zero_drift_accumulates_per_hour_including_the_age_since_calibration():
    arr = DetectorArray([quiet("Z", drift=2.0), quiet("Old", drift=2.0, age=24.0)], rng())
    first = arr.update(0.0, 0.0)
    assert first == pytest.approx([0.0, 48.0])
    later = arr.update(3600.0, 0.0)
    assert later == pytest.approx([2.0, 50.0])


def test_an_explicit_span_drift_scales_the_response():
    arr = DetectorArray([quiet(t90=0.0, span_drift=0.01)], rng())
    arr.update(0.0, 50.0)
    assert arr.update(7200.0, 50.0)[0] == pytest.approx(51.0)


def test_default_drift_rates_are_drawn_with_the_documented_spread():
    n = 4000
    specs = [DetectorSpec(f"L{i}", "%LEL") for i in range(n)] + [DetectorSpec(f"P{i}", "ppm", gas="H2S")
                                                              for i in range(n)]
    arr = DetectorArray(specs, rng(11))
    assert arr.zero_drift[:n].std() == pytest.approx(ZERO_DRIFT_SD["%LEL"], rel=0.05)
    assert arr.span_drift[n:].std() == pytest.approx(SPAN_DRIFT_SD["ppm"], rel=0.05)
    assert not arr.span_drift[:n].any() and not arr.zero_drift[n:].any()


def test_readings_are_rounded_to_the_resolution():
    arr = DetectorArray([quiet(t90=0.0, noise=1.3, resolution=0.5)], rng())
    vals = np.array([arr.update(float(t), 37.0)[0] for t in range(50)])
    assert np.allclose(vals * 2, np.round(vals * 2))
    assert len(set(vals)) > 3


def test_readings_are_clamped_to_the_measuring_range():
    arr = DetectorArray([quiet("Hi", t90=0.0, full_scale=100.0), quiet("Lo", t90=0.0, noise=5.0)], rng())
    vals = np.array([arr.update(float(t), [150.0, 0.0]) for t in range(200)])
    assert (vals[:, 0] == 100.0).all() and arr.over_range[0]
    low = -0.0125 * arr.specs[1].full_scale  # NAMUR NE 43 under-range, on the resolution grid
    low = -np.floor(-low / arr.specs[1].resolution) * arr.specs[1].resolution if arr.specs[1].resolution else low
    assert (vals[:, 1] >= low).all() and (vals[:, 1] == low).any() and (vals[:, 1] > 0.0).any()
    assert not arr.over_range[1]


# --- levels and exceedances --------------------------------------------------------------------------------
def test_levels_use_hysteresis_and_each_level_is_recorded_once():
    arr = DetectorArray([quiet(t90=0.0, setpoints=(10.0, 20.0), hysteresis=2.0), quiet("Calm", t90=0.0)], rng())
    path = [0, 9, 10, 15, 21, 19, 18.5, 17.9, 12, 9, 7.9, 11, 25, 0]
    levels = []
    for t, v in enumerate(path):
        arr.update(float(t), [v, 0.0])
        levels.append(int(arr.levels()[0]))
    assert levels == [0, 0, 1, 1, 2, 2, 2, 1, 1, 1, 0, 1, 2, 0]
    assert [(e.t, e.detector, e.level) for e in arr.exceedances] == [(2.0, 0, 1), (4.0, 0, 2)]
    assert arr.exceedances[1].value == 21.0 and arr.exceedances[1].setpoint == 20.0
    assert arr.levels()[1] == 0


def test_new_exceedances_hold_only_the_last_updates_events():
    arr = DetectorArray([quiet("A", t90=0.0, setpoints=(5.0,)), quiet("B", t90=0.0, setpoints=(5.0,))], rng())
    arr.update(0.0, [6.0, 0.0])
    assert [e.name for e in arr.new_exceedances] == ["A"]
    arr.update(1.0, [6.0, 6.0])
    assert [e.name for e in arr.new_exceedances] == ["B"]
    arr.update(2.0, [6.0, 6.0])
    assert arr.new_exceedances == [] and len(arr.exceedances) == 2


def test_latching_levels_stay_on_until_reset_below_the_clear_point():
    arr = DetectorArray([quiet(t90=0.0, setpoints=(10.0,), hysteresis=1.0, latching=True)], rng())
    arr.update(0.0, 12.0)
    arr.update(1.0, 0.0)
    assert arr.levels()[0] == 1
    arr.update(2.0, 9.5)
    arr.reset_latches("D1")
    assert arr.levels()[0] == 1  # 9.5 is above the clear point 9
    arr.update(3.0, 3.0)
    arr.reset_latches()
    assert arr.levels()[0] == 0


# --- faults ------------------------------------------------------------------------------------------------
def test_a_dead_detector_shows_zero_flags_a_fault_and_recovers_on_restore():
    arr = DetectorArray([quiet(t90=10.0, setpoints=(20.0,), id="gid-1")], rng())
    for t in range(30):
        arr.update(float(t), 50.0)
    assert arr.levels()[0] == 1
    arr.fail("gid-1", "dead")
    arr.update(30.0, 50.0)
    assert arr.reading[0] == 0.0 and arr.fault[0] and not arr.fresh[0] and arr.levels()[0] == 0
    assert arr.mode("D1") == "dead"
    for t in range(31, 120):
        arr.update(float(t), 50.0)
    arr.restore("D1")
    r = arr.update(120.0, 50.0)[0]
    assert r == pytest.approx(50.0, abs=1e-6)  # the cell kept seeing the gas while the output was dead
    assert not arr.fault[0] and arr.levels()[0] == 1
    assert [(f.t, f.mode) for f in arr.faults_log] == [(29.0, "dead"), (119.0, "restore")]


def test_a_stuck_detector_freezes_without_a_fault_flag():
    arr = DetectorArray([quiet("S", t90=0.0), quiet("V", t90=0.0)], rng())
    arr.update(0.0, [12.0, 12.0])
    arr.fail("S", "stuck")
    arr.fail("V", "stuck", value=3.0)
    for t in range(1, 5):
        r = arr.update(float(t), [80.0, 80.0])
    assert list(r) == [12.0, 3.0] and not arr.fault.any() and arr.fresh.all()
    arr.restore("S")
    assert arr.update(5.0, [80.0, 80.0])[0] == 80.0


def test_an_out_of_calibration_detector_has_a_gain_and_offset_error():
    arr = DetectorArray([quiet(t90=0.0)], rng())
    arr.fail("D1", "out_of_calibration", gain=0.6)
    arr.update(0.0, 50.0)
    assert arr.update(1.0, 50.0)[0] == pytest.approx(30.0)
    arr.fail("D1", "out_of_calibration", gain=1.0, offset=-5.0)
    assert arr.update(2.0, 50.0)[0] == pytest.approx(45.0)
    arr.restore("D1")
    assert arr.update(3.0, 50.0)[0] == pytest.approx(50.0)


def test_an_inhibited_detector_reads_but_raises_no_alarm_until_restored():
    arr = DetectorArray([quiet(t90=0.0, setpoints=(10.0,))], rng())
    arr.fail("D1", "inhibited")
    assert arr.update(0.0, 30.0)[0] == 30.0
    arr.update(1.0, 30.0)
    assert arr.levels()[0] == 0 and arr.exceedances == [] and arr.inhibited[0]
    arr.restore("D1")
    arr.update(2.0, 30.0)
    assert arr.levels()[0] == 1 and [(e.t, e.level) for e in arr.exceedances] == [(2.0, 1)]


def test_faults_do_not_shift_the_other_detectors_random_numbers():
    def readings(fail: bool) -> np.ndarray:
        arr = DetectorArray([DetectorSpec(f"D{i}", "%LEL", t90=5.0) for i in range(5)], rng(5))
        out = []
        for t in range(40):
            if fail and t == 10:
                arr.fail("D2", "dead")
            out.append(arr.update(float(t), 30.0))
        return np.array(out)

    a, b = readings(False), readings(True)
    keep = [0, 1, 3, 4]
    assert np.array_equal(a[:, keep], b[:, keep]) and not np.array_equal(a[:, 2], b[:, 2])


@pytest.mark.parametrize("name,mode,params,where", [
    ("D1", "melted", {}, "sensor 'D1'.mode"),
    ("D1", "out_of_calibration", {}, "sensor 'D1'.gain"),
    ("D1", "out_of_calibration", {"gain": -1.0}, "sensor 'D1'.gain"),
    ("D1", "dead", {"gain": 0.5}, "sensor 'D1'.gain"),
    ("D1", "stuck", {"value": "high"}, "sensor 'D1'.value"),
    ("D9", "dead", {}, "detector 'D9'"),
])
def test_bad_fault_injections_name_the_detector_and_field(name, mode, params, where):
    arr = DetectorArray([quiet()], rng())
    with pytest.raises(InputError) as e:
        arr.fail(name, mode, **params)
    assert e.value.where == where


# --- determinism -------------------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_readings_and_events():
    def go(seed: int):
        arr = DetectorArray([DetectorSpec(f"D{i}", "ppm", gas="H2S", setpoints=(10.0, 20.0)) for i in range(20)],
                            rng(seed))
        vals = run(arr, [float(t) for t in range(60)], [np.linspace(0, 40, 20) for _ in range(60)])
        return np.array(vals), [(e.t, e.detector, e.level) for e in arr.exceedances]

    a, b, c = go(1), go(1), go(2)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert not np.array_equal(a[0], c[0])


# --- specs, defaults and errors ----------------------------------------------------------------------------
def test_defaults_fill_in_per_reading_unit():
    lel = resolve_spec(DetectorSpec("F", "%LEL", setpoints=(20.0, 40.0)))
    assert (lel.t90, lel.period, lel.full_scale, lel.resolution, lel.noise, lel.hysteresis) == \
        (DEFAULT_T90["%LEL"], 1.0, 100.0, 1.0, 0.5, 2.0)
    h2s = resolve_spec(DetectorSpec("T", "ppm", gas="H2S", setpoints=(10.0, 20.0)))
    assert (h2s.t90, h2s.full_scale, h2s.resolution) == (DEFAULT_T90["ppm"], 200.0, 1.0)
    cl2 = resolve_spec(DetectorSpec("C", "ppm", gas="Cl2", setpoints=(0.5, 1.0)))
    assert cl2.full_scale == 10.0 and cl2.resolution == pytest.approx(0.1)
    low = resolve_spec(DetectorSpec("L", "ppm", gas="H2S", setpoints=(2.0, 5.0)))
    assert low.hysteresis == 1.0  # 2 % of 200 ppm capped at half the lowest set point
    with pytest.raises(InputError) as e:
        resolve_spec(DetectorSpec("L", "ppm", setpoints=(2.0, 5.0), hysteresis=2.0))
    assert e.value.where == "sensor 'L'.hysteresis"


def test_sensors_from_a_site_sketch_become_arrays_with_their_units():
    from twin.sketch import read_sketch

    site = read_sketch(MODELS / "chemical_plant.site.yaml")
    arrays = build_sensor_arrays(site.sensors.values(), rng())
    gas = arrays.gas
    i = gas.index("GD-101")
    assert gas.units[i] == "ppm" and gas.specs[i].setpoints == (10.0, 20.0) and gas.specs[i].t90 == 30.0
    j = gas.index("FD-101")
    assert gas.units[j] == "%LEL" and gas.specs[j].noise == 1.0 and gas.specs[j].t90 == 15.0
    assert arrays.cameras.names == ["CAM-101"] and arrays.cameras.specs[0].detection_rate == 0.9
    assert [site.sensors[s].kind for s in arrays.skipped] == ["smoke"]
    assert len(gas.update(0.0, 0.0)) == len(gas)


def test_a_sensor_without_a_unit_follows_the_gas_convention_and_reads_extra_keys():
    s = gas_sensor(gas="CH4", extra={"full_scale": "50 %LEL", "resolution": 0.5, "latching": True, "age": "30 d"})
    spec = spec_from_sensor(s)
    assert spec.unit == "%LEL" and spec.full_scale == 50.0 and spec.latching and spec.age == 720.0
    assert spec_from_sensor(gas_sensor(gas="NH3")).unit == "ppm"


@pytest.mark.parametrize("kw,field", [
    ({"t90": -3.0}, "t90"),
    ({"period": 0.0}, "period"),
    ({"setpoints": [Concentration(20, "%LEL"), Concentration(10, "%LEL")]}, "setpoints"),
    ({"setpoints": [Concentration(10, "%LEL"), Concentration(10, "%LEL")]}, "setpoints"),
    ({"setpoints": [Concentration(10, "ppm"), Concentration(20, "%LEL")]}, "setpoints"),
    ({"setpoints": [Concentration(1e-4, "kg/m3")]}, "setpoints"),
    ({"setpoints": [Concentration(150, "%LEL")]}, "setpoints[0]"),
    ({"setpoints": [Concentration(10, "%LEL")], "noise": Concentration(1, "ppm")}, "noise"),
    ({"kind": "smoke"}, "kind"),
    ({"extra": {"latching": "yes"}}, "extra.latching"),
    ({"extra": {"drift": "fast"}}, "extra.drift"),
])
def test_bad_sensor_parameters_name_the_sensor_and_field(kw, field):
    with pytest.raises(InputError) as e:
        DetectorArray.from_sensors([gas_sensor("GD-7", **kw)], rng())
    assert e.value.where == f"sensor 'GD-7'.{field}"


# --- cameras -----------------------------------------------------------------------------------------------
def test_cameras_detect_a_visible_plume_at_the_detection_rate():
    n = 4000
    cams = CameraArray([CameraSpec(f"C{i}", false_positives_per_hour=0.0, detection_rate=0.3) for i in range(n)],
                       rng(2))
    det = cams.update(0.0, True)
    assert det.mean() == pytest.approx(0.3, abs=0.03)
    assert all(a.true_positive for a in cams.alarms) and len(cams.alarms) == det.sum()
    # A call covering five scans: at least one detection in five.
    det5 = cams.update(5.0, True)
    assert det5.mean() == pytest.approx(1 - 0.7**5, abs=0.03)


def test_cameras_raise_false_positives_at_the_given_rate():
    n, scans = 2000, 50
    cams = CameraArray([CameraSpec(f"C{i}", false_positives_per_hour=36.0) for i in range(n)], rng(4))
    hits = sum(cams.update(float(t), False).sum() for t in range(scans))
    expected = n * scans * (1 - math.exp(-36.0 / 3600.0))
    assert abs(hits - expected) < 4 * math.sqrt(expected)
    assert not any(a.true_positive for a in cams.alarms)


def test_a_dead_camera_detects_nothing_and_is_flagged():
    cams = CameraArray([CameraSpec("C1", false_positives_per_hour=0.0, detection_rate=1.0)], rng())
    cams.fail("C1", "dead")
    assert not cams.update(0.0, True)[0] and cams.fault[0]
    cams.restore("C1")
    assert cams.update(1.0, True)[0] and [a.t for a in cams.alarms] == [1.0]
    with pytest.raises(InputError) as e:
        cams.fail("C1", "stuck")
    assert e.value.where == "sensor 'C1'.mode"


def test_a_camera_needs_a_false_positive_rate():
    cam = Sensor(id="c", name="CAM-9", kind="camera", position=(0, 0, 4), extra={"detection_rate": 0.9})
    with pytest.raises(InputError) as e:
        CameraArray.from_sensors([cam], rng())
    assert e.value.where == "sensor 'CAM-9'.extra.false_positives_per_hour"


def test_a_large_array_steps_as_one_vector():
    """10,000 detectors on one grid: readings for all in one call (speed is measured in the benchmark)."""
    n = 10_000
    arr = DetectorArray([DetectorSpec(f"D{i}", "%LEL", setpoints=(20.0, 40.0)) for i in range(n)], rng())
    truth = np.linspace(0.0, 60.0, n)
    for t in range(5):
        out = arr.update(float(t), truth)
    assert out.shape == (n,) and arr.fresh.all()
    assert (arr.levels() == 0).sum() > n // 4
