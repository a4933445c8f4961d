"""Historian replay: a ramp injected into a recorded log is found at the right time; every bad input gives a
clear error naming the file, row and column, or a named warning."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from drills.cli.main import main
from drills.lab.historian import read_log, to_grid
from drills.lab.replay import replay_log
from tests.conftest import SCENARIOS
from twin.errors import InputError

SCEN = SCENARIOS / "plant_h2s_leak_ai.yaml"  # fusion over CUSUM, k = 1
T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
UNITS = {"GD-101": "ppm", "GD-102": "ppm", "FD-101": "%LEL"}


def _write(path, rows, header=("timestamp", "tag", "value", "unit")):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _iso(k: float) -> str:
    return (T0 + timedelta(seconds=k)).isoformat().replace("+00:00", "Z")


def _ramp_log(path, n=2400, ramp_at=1800, slope=0.01, seed=0):
    """GD-101 and GD-102 at 1 s with 0.5 ppm noise; GD-101 ramps by ``slope`` ppm/s from ``ramp_at``."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        for tag in ("TAG_A", "TAG_B"):
            v = 2.0 + rng.normal(0, 0.5)
            if tag == "TAG_A" and k >= ramp_at:
                v += (k - ramp_at) * slope
            rows.append([_iso(k), tag, f"{v:.2f}", "ppm"])
    return _write(path, rows)


def test_injected_ramp_found_at_the_right_time(tmp_path):
    log = _ramp_log(tmp_path / "log.csv")
    (tmp_path / "tags.yaml").write_text("TAG_A: GD-101\nTAG_B: GD-102\n")
    res = replay_log(SCEN, log, tmp_path / "tags.yaml")
    assert res["alerts"], "the ramp must raise an alert"
    first = res["alerts"][0]
    # nothing before the ramp (30 min of clean data), and a CUSUM on 0.5 ppm noise finds a 0.6 ppm/min ramp
    # within 3 min (the ramp has then added 1.8 ppm = 3.6 sd): found at the right time, by the right detector
    assert first["time"] >= _iso(1800) and first["time"] <= _iso(1800 + 180), first
    assert first["detector"] == "GD-101" and first["policy"] == "fusion"
    assert first["time"].endswith("Z")  # as in the log
    # the baseline is the log's own (2 ppm), not the noise model's
    assert res["baseline"]["GD-101"]["mean"] == pytest.approx(2.0, abs=0.1)
    # detectors with no tag are named, not silently ignored
    names = {w["detector"] for w in res["warnings"] if w["warning"] == "unmapped_detector"}
    assert "FD-101" in names and "GD-101" not in names


def test_labelled_events_give_metrics(tmp_path):
    log = _ramp_log(tmp_path / "log.csv")
    (tmp_path / "tags.yaml").write_text("TAG_A: GD-101\nTAG_B: GD-102\n")
    ev = _write(tmp_path / "events.csv", [[_iso(1800), "ramp"], [_iso(600), "phantom"]], header=("start", "label"))
    res = replay_log(SCEN, log, tmp_path / "tags.yaml", events=ev, window=600.0)
    m = res["metrics"]
    assert m["events"] == 2 and m["detected"] == 1 and m["missed"] == 1
    assert m["per_event"][0]["detected"] and not m["per_event"][1]["detected"]
    assert 0 <= m["per_event"][0]["time_to_detect_s"] <= 180


def test_cli_json_shape_and_injects(tmp_path, capsys):
    log = _ramp_log(tmp_path / "log.csv", n=2100)
    (tmp_path / "tags.yaml").write_text("TAG_A: GD-101\nTAG_B: GD-102\n")
    main(["alerts", "replay", str(log), "--scenario", str(SCEN), "--map", str(tmp_path / "tags.yaml"),
          "--injects", str(tmp_path / "inj.yaml"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["alerts"] and set(out["alerts"][0]) >= {"time", "detector", "level", "policy"}
    import yaml

    inj = yaml.safe_load((tmp_path / "inj.yaml").read_text())["injects"]
    assert len(inj) == len(out["alerts"]) and inj[0]["kind"] == "alert"
    first = out["alerts"][0]
    assert inj[0]["level"] == first["level"] and inj[0]["policy"] == first["policy"]
    assert inj[0]["detector"] == first["detector"] and inj[0]["zone"] == first["zone"]


def test_replayed_injects_start_a_drills_workflow(tmp_path):
    """The injects written from a replayed log load into a scenario and its alert-triggered workflow
    starts at the first replayed alert's time (leak-free drill: no detector of its own sees the ramp)."""
    import yaml

    from drills.lab.replay import write_injects
    from drills.sim.engine import run_scenario
    from drills.spec.scenario import load_scenario

    log = _ramp_log(tmp_path / "log.csv", n=2100)
    (tmp_path / "tags.yaml").write_text("TAG_A: GD-101\nTAG_B: GD-102\n")
    res = replay_log(SCEN, log, tmp_path / "tags.yaml")
    write_injects(res, tmp_path / "inj.yaml")
    injects = yaml.safe_load((tmp_path / "inj.yaml").read_text())["injects"]
    t_first = res["alerts"][0]["t_s"]
    sc = yaml.safe_load(SCEN.read_text())
    sc.update(site=str((SCEN.parent / sc["site"]).resolve()), hazards=[], injects=injects,
              duration=f"{t_first + 60:g}s", alerts={"policy": "threshold"},
              population=[{"where": "Control Room", "count": 2, "role": "operator"}],
              workflows=[{"name": "replayed", "trigger": {"alert": "gas", "level": "warning"},
                          "roles": {"operator": 1},
                          "steps": [{"id": "push", "kind": "notify", "role": "operator", "channel": "app_push"}]}])
    p = tmp_path / "drill.yaml"
    p.write_text(yaml.safe_dump(sc))
    run = run_scenario(load_scenario(p))
    fired = [e for e in run.events if e[1] == "workflow:triggered"]
    assert fired and fired[0][0] == pytest.approx(t_first)
    replayed = [a for a in run.extra["alerts"] if a.id.startswith("inject-R")]
    assert replayed and replayed[0].sensors == ("GD-101",) and replayed[0].policy == "fusion"


# --- bad input -----------------------------------------------------------------------------------------
def _err(path, match, tag_map=None):
    with pytest.raises(InputError, match=match) as e:
        read_log(path, UNITS, tag_map)
    assert str(path) in str(e.value)
    return e.value


def test_missing_column(tmp_path):
    p = _write(tmp_path / "a.csv", [[_iso(0), "GD-101", "1"]], header=("timestamp", "tag", "reading"))
    _err(p, "missing column 'value'")


def test_bad_timestamp(tmp_path):
    p = _write(tmp_path / "a.csv", [[_iso(0), "GD-101", "1", "ppm"], ["01/03/2026 08:00", "GD-101", "1", "ppm"]])
    _err(p, r"row 3, column timestamp: .* not an ISO 8601")


def test_text_and_empty_values(tmp_path):
    p = _write(tmp_path / "a.csv", [[_iso(0), "GD-101", "1", "ppm"], [_iso(1), "GD-101", "Bad PV", "ppm"]])
    _err(p, r"row 3, column value: 'Bad PV' is not a number")
    p = _write(tmp_path / "b.csv", [[_iso(0), "GD-101", "", "ppm"]])
    _err(p, r"row 2, column value: '' is not a number")


def test_unknown_tag(tmp_path):
    p = _write(tmp_path / "a.csv", [[_iso(0), "GD-101", "1", "ppm"], [_iso(0), "XT-999", "1", "ppm"]])
    _err(p, r"unknown tag\(s\) 'XT-999' \(first at row 3\)")


def test_mixed_units(tmp_path):
    p = _write(tmp_path / "a.csv", [[_iso(0), "GD-101", "1", "ppm"], [_iso(1), "GD-101", "1", "mg/m3"]])
    _err(p, r"row 3, column unit: tag 'GD-101' switches from ppm to mg/m3")
    p = _write(tmp_path / "b.csv", [[_iso(0), "FD-101", "1", "ppm"]])
    _err(p, r"row 2, column unit: tag 'FD-101' is in ppm but detector 'FD-101' reads in %LEL")


def test_non_monotonic_time(tmp_path):
    p = _write(tmp_path / "a.csv", [[_iso(5), "GD-101", "1", "ppm"], [_iso(3), "GD-101", "1", "ppm"]])
    _err(p, r"row 3, column timestamp: time goes backwards")


def test_mixed_time_zones(tmp_path):
    p = _write(tmp_path / "a.csv", [[_iso(0), "GD-101", "1", "ppm"], ["2026-03-01T08:00:01", "GD-101", "1", "ppm"]])
    _err(p, r"row 3, column timestamp: mixes times with and without a time zone")


def test_duplicate_timestamps(tmp_path):
    p = _write(tmp_path / "a.csv", [[_iso(0), "GD-101", "1", "ppm"], [_iso(0), "GD-101", "2", "ppm"]])
    _err(p, r"row 3: duplicate timestamp .* different value")
    p = _write(tmp_path / "b.csv", [[_iso(0), "GD-101", "1", "ppm"], [_iso(0), "GD-101", "1", "ppm"],
                                    [_iso(1), "GD-101", "1", "ppm"]])
    log = read_log(p, UNITS)
    assert [w["warning"] for w in log.warnings] == ["duplicate_timestamp"] and log.warnings[0]["row"] == 3
    assert len(log.tags["GD-101"][0]) == 2


def test_gap_is_a_named_warning_and_out_of_service(tmp_path):
    rows = [[_iso(k), "GD-101", "1", "ppm"] for k in list(range(0, 100)) + list(range(400, 500))]
    log = read_log(_write(tmp_path / "a.csv", rows), UNITS)
    g = to_grid(log, ["GD-101", "GD-102"])
    gaps = [w for w in log.warnings if w["warning"] == "gap"]
    assert len(gaps) == 1 and gaps[0]["from_s"] == 99 and gaps[0]["to_s"] == 400
    assert g["out"][200, 0] and not g["out"][50, 0] and not g["out"][450, 0]
    assert g["out"][:, 1].all()  # GD-102 has no tag
    assert any(w["warning"] == "unmapped_detector" and w["detector"] == "GD-102" for w in log.warnings)


def test_parquet_log_and_cli_exit_code(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"timestamp": [_iso(0), _iso(1)], "tag": ["GD-101", "GD-101"], "value": ["1", "x"]})
    pq.write_table(t, tmp_path / "a.parquet")
    _err(tmp_path / "a.parquet", r"row 3, column value: 'x' is not a number")
    with pytest.raises(SystemExit) as e:
        main(["alerts", "replay", str(tmp_path / "a.parquet"), "--scenario", str(SCEN)])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "a.parquet: row 3, column value" in err and "Traceback" not in err


def test_bad_tag_map(tmp_path):
    (tmp_path / "tags.yaml").write_text("TAG_A: GD-999\n")
    p = _write(tmp_path / "a.csv", [[_iso(0), "TAG_A", "1", "ppm"]])
    with pytest.raises(InputError, match=r"tags.yaml: tag 'TAG_A' maps to 'GD-999', which is no detector"):
        replay_log(SCEN, p, tmp_path / "tags.yaml")
