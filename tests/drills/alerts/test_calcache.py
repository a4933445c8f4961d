"""The calibration cache (drills/alerts/calcache.py): a hit is the identical Calibration, any changed
argument or code version misses, a corrupt entry is recomputed, DRILLTWIN_CACHE moves it and
DRILLTWIN_CALIBRATION_CACHE=off switches it off; writes are atomic; a dry build only collects."""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from drills.alerts import calcache
from drills.alerts import policies as pol
from drills.alerts.policies import calibrate, parse_alerts
from twin.errors import InputError
from twin.sensors import DetectorSpec

SPEC = DetectorSpec("GD-1", "%LEL", setpoints=(10.0, 20.0), noise=1.0, t90=25.0)
DAYS = 2.0  # a short training stream (0.05 s): enough false signals at 0.5 per sensor-day


def _cfg(**kw):
    return parse_alerts({"policy": "cusum", "calibration_sensor_days": DAYS, "false_alerts_per_sensor_day": 0.5,
                         **kw})


@pytest.fixture
def cache(calibration_cache):
    """An empty cache folder of this test, nothing remembered in the process."""
    return calibration_cache


@pytest.fixture
def computed(monkeypatch):
    """Count the training streams actually simulated."""
    calls = []
    real = pol._calibrate_stream
    calcache.code_version()  # the version hashes the real function's source, not the counting wrapper's

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(pol, "_calibrate_stream", counting)
    return calls


def _entries(folder):
    return sorted(folder.glob("*.json")) if folder.exists() else []


def test_a_hit_is_the_identical_calibration(cache, computed):
    first = calibrate(_cfg(), SPEC, 1.0)
    assert len(computed) == 1 and len(_entries(cache)) == 1
    calcache.clear_memory()  # a new process: only the disk is left
    again = calibrate(_cfg(), SPEC, 1.0)
    assert len(computed) == 1  # read, not recomputed
    assert again == first
    for f in dataclasses.fields(first):  # to the last bit
        assert getattr(again, f.name).hex() == getattr(first, f.name).hex()


@pytest.mark.parametrize("change", [
    {"calibration_seed": 1}, {"calibration_sensor_days": 3.0}, {"false_alerts_per_sensor_day": 0.4},
    {"calibration_margin": 0.6}, {"k": 0.7}, {"baseline": None}])
def test_a_changed_argument_misses(cache, computed, change):
    calibrate(_cfg(), SPEC, 1.0)
    other = calibrate(_cfg(**change), SPEC, 1.0)
    assert len(computed) == 2 and len(_entries(cache)) == 2
    calcache.clear_memory()
    assert calibrate(_cfg(**change), SPEC, 1.0) == other and len(computed) == 2


def test_a_changed_detector_or_sample_interval_misses(cache, computed):
    calibrate(_cfg(), SPEC, 1.0)
    calibrate(_cfg(), dataclasses.replace(SPEC, noise=1.5), 1.0)
    calibrate(_cfg(), SPEC, 2.0)
    calibrate(_cfg(), dataclasses.replace(SPEC, name="GD-2"), 1.0)  # the name does not shape the stream
    assert len(computed) == 3 and len(_entries(cache)) == 3


def test_a_changed_code_version_misses(cache, computed, monkeypatch):
    calibrate(_cfg(), SPEC, 1.0)
    calcache.clear_memory()
    monkeypatch.setattr(calcache, "code_version", lambda: "edited")
    calibrate(_cfg(), SPEC, 1.0)
    assert len(computed) == 2 and len(_entries(cache)) == 2


def test_the_code_version_covers_the_stream_and_the_statistics():
    names = {o.__name__ for o in calcache._SOURCE["code"]}
    for name in ("_calibrate_stream", "_pick_threshold", "_Baseline", "_Cusum", "_Ewma", "_Rate", "_make_stat"):
        assert name in names, name
    assert "sensors" in calcache.code_version.__wrapped__.__code__.co_names
    assert calcache._SOURCE["constants"][0] == pol.CALIBRATION_COPIES
    assert [k for k, _ in calcache._SOURCE["constants"][2]] == sorted(pol._GRIDS)


@pytest.mark.parametrize("spoil", [
    lambda t: t[: len(t) // 2],  # cut short by a kill
    lambda t: "\x00\xff garbage",
    lambda t: json.dumps({**json.loads(t), "value": {"mu0": "0.1"}}),
    lambda t: json.dumps({**json.loads(t), "value": {**json.loads(t)["value"], "threshold": True}}),
    lambda t: json.dumps({**json.loads(t), "key": "another calibration"}),
    lambda t: json.dumps([1, 2, 3]),
    lambda t: ""])
def test_a_corrupt_entry_is_recomputed_and_rewritten(cache, computed, spoil):
    good = calibrate(_cfg(), SPEC, 1.0)
    (entry,) = _entries(cache)
    text = entry.read_text()
    entry.write_text(spoil(text))
    calcache.clear_memory()
    assert calibrate(_cfg(), SPEC, 1.0) == good
    assert len(computed) == 2  # not trusted: computed again
    assert json.loads(entry.read_text()) == json.loads(text)  # and the entry repaired


def test_the_environment_moves_and_switches_off_the_cache(cache, computed, tmp_path, monkeypatch):
    calibrate(_cfg(), SPEC, 1.0)
    assert len(_entries(cache)) == 1
    monkeypatch.setenv("DRILLTWIN_CACHE", str(tmp_path / "elsewhere"))
    calcache.clear_memory()
    calibrate(_cfg(), SPEC, 1.0)
    assert len(computed) == 2 and len(_entries(tmp_path / "elsewhere" / "calibration")) == 1
    assert calcache.folder() == tmp_path / "elsewhere" / "calibration"
    monkeypatch.setenv(calcache.ENV_SWITCH, "off")
    assert calcache.folder() is None
    calcache.clear_memory()
    calibrate(_cfg(calibration_seed=7), SPEC, 1.0)
    assert len(computed) == 3
    assert len(_entries(tmp_path / "elsewhere" / "calibration")) == 1 and len(_entries(cache)) == 1


def test_concurrent_writers_leave_one_whole_entry(cache):
    """Writers racing on one entry (two workers calibrating at once) and a reader: the reader sees
    nothing or a whole entry, never half of one; no temporary file is left behind."""
    key = "race"
    value = {"mu0": 0.1, "sigma0": 1.0, "threshold": 3.0, "rate_per_day": 0.5, "sensor_days": 2.0}
    path = cache / "race.json"
    seen, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            seen.append(calcache._read(path, key, tuple(value)))

    def write():
        for _ in range(100):
            calcache._write(path, key, value)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write) for _ in range(3)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert all(s is None or s == value for s in seen) and any(s == value for s in seen)
    assert [p.name for p in cache.iterdir()] == ["race.json"]


def test_probing_collects_without_computing_and_keeps_no_stand_in(cache, computed):
    with calcache.probing() as missing:
        stand_in = calibrate(_cfg(), SPEC, 1.0)
        calibrate(_cfg(), SPEC, 1.0)
    assert computed == [] and len(missing) == 1 and _entries(cache) == []
    (args,) = missing.values()
    real = calcache.compute(args)
    assert real != stand_in and len(computed) == 1
    assert calibrate(_cfg(), SPEC, 1.0) == real  # what the runs see afterwards
    with calcache.probing() as missing:  # now at hand: nothing to collect
        assert calibrate(_cfg(), SPEC, 1.0) == real
    assert missing == {}


def test_calibrations_handed_to_another_process_are_used_as_they_are(cache, computed, monkeypatch):
    first = calibrate(_cfg(), SPEC, 1.0)
    handed = calcache.known()
    monkeypatch.setenv(calcache.ENV_SWITCH, "off")  # a worker on another machine: no shared disk
    calcache.clear_memory()
    calcache.preload(handed)
    assert calibrate(_cfg(), SPEC, 1.0) == first and len(computed) == 1
    calcache.preload({"failed elsewhere": None})  # a calibration that failed on a worker is not kept
    assert "failed elsewhere" not in calcache.known()


def test_a_failing_calibration_is_none_for_the_runs_to_report(cache):
    high = dataclasses.replace(SPEC, setpoints=(90.0,))  # never crossed in clean air: matching it fails
    with calcache.probing() as missing:
        calibrate(_cfg(false_alerts_per_sensor_day="matched"), high, 1.0)
    (args,) = missing.values()
    with pytest.raises(InputError, match="never crossed"):
        pol._calibrate(*args)
    assert calcache.compute(args) is None
