"""compare on Dask computes the arms' alert calibrations once for the experiment (drills/alerts/calcache.py),
not once per worker, with every run's KPIs exactly as a serial run's."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from drills.alerts import calcache
from drills.alerts import policies as pol
from drills.studies import experiment as ex

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "scenarios" / "experiments" / "ai_vs_threshold.yaml"


@pytest.fixture
def empty_cache(calibration_cache):
    return calibration_cache


def _table(out: Path) -> list[dict]:
    rows = pq.read_table(out / "runs.parquet").to_pylist()
    for r in rows:
        r.pop("run_wall_s")
        r.pop("wall_s")
    return rows


def test_the_plan_names_each_arms_missing_calibrations_without_computing_them(empty_cache, monkeypatch):
    calcache.code_version()

    def never(*args):
        raise AssertionError("a plan must not simulate a training stream")

    monkeypatch.setattr(pol, "_calibrate_stream", never)
    exp = ex.load_experiment(SHIPPED)
    at_hand, missing = ex._plan_calibrations(exp)
    assert at_hand == {}
    assert missing["threshold"] == {} and missing["threshold_automatic"] == {}  # set points: nothing to learn
    # both AI arms use the same policy on the same two detector models (H2S ppm and %LEL): two calibrations
    assert len(missing["ai_phone_tree"]) == 2 and missing["ai_automatic"] == missing["ai_phone_tree"]
    assert empty_cache.exists() is False or list(empty_cache.iterdir()) == []


@pytest.mark.slow
def test_cold_cache_on_two_workers_equals_serial_and_fills_the_cache(empty_cache, tmp_path, monkeypatch):
    """An empty cache: the workers compute each calibration once (not per worker) and the KPIs equal a
    serial run's that calibrates in its own process with the cache switched off."""
    exp = ex.load_experiment(SHIPPED)
    payloads = []
    real = ex._submit_calibrations

    def spy(client, pls, at_hand, missing):
        futs = real(client, pls, at_hand, missing)
        payloads.extend(pls)
        return futs

    monkeypatch.setattr(ex, "_submit_calibrations", spy)
    ex.run_compare(SHIPPED, 1, 2, None, tmp_path / "dask", False, plots=False)
    assert len(list(empty_cache.glob("*.json"))) == 2  # computed on the workers, once each
    ai = [p for p in payloads if p["arm"].startswith("ai")]
    assert ai and all(len(p["calibrations"]) == 2 for p in ai)  # handed to every AI batch
    monkeypatch.setenv(calcache.ENV_SWITCH, "off")
    calcache.clear_memory()
    ex.run_compare(SHIPPED, 1, None, None, tmp_path / "serial", False, plots=False)
    serial, dask = _table(tmp_path / "serial"), _table(tmp_path / "dask")
    assert len(serial) == len(exp.arms) and not any(r["error"] for r in serial)
    assert serial == dask
