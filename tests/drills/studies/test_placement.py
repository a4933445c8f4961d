"""``drilltwin sensors evaluate|optimize``: coverage by hand on two rooms, the contract's JSON keys, the IFC
write-back round trip, and bad input answered with exit 1 naming the field."""

from __future__ import annotations

import json

import pytest
import yaml

from drills.cli.main import main
from twin.load import load_site


def _rect(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


@pytest.fixture
def two_rooms(tmp_path):
    """Room A (10 x 10 m, a detector, an exit) and room B (10 x 5 m) behind a shut door; a pump in each.
    A leak in A reaches the detector in seconds; one in B only through the crack of the shut door."""
    site = {
        "name": "two rooms",
        "storeys": [{"name": "Ground", "elevation": 0, "height": 3, "spaces": [
            {"name": "A", "polygon": _rect(0, 0, 10, 10), "ach": 2},
            {"name": "B", "polygon": _rect(10, 0, 20, 5), "ach": 2}],
            "doors": [{"name": "D1", "at": [0, 5], "width": 1, "between": ["A", "outside"]},
                      {"name": "D2", "at": [10, 2.5], "width": 1, "between": ["A", "B"]}]}],
        "equipment": [{"name": "P-A", "kind": "pump", "space": "A", "at": [5, 5, 0.5]},
                      {"name": "P-B", "kind": "pump", "space": "B", "at": [15, 2.5, 0.5]}],
        "sensors": [{"name": "GD-A", "gas": "H2S", "space": "A", "at": [2, 2, 0.5],
                     "setpoints": ["10 ppm", "20 ppm"], "t90": "30s", "noise": "0.5 ppm", "period": "1s"}],
    }
    (tmp_path / "two.site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    sc = {"name": "two rooms leak", "site": "two.site.yaml", "seed": 3, "duration": "10min",
          "hazards": [{"kind": "gas_leak", "gas": "H2S", "source": "P-A", "rate": "10 g/s"}],
          "placement": {"horizon": "5min", "time_limit": "60s"}}
    p = tmp_path / "two.yaml"
    p.write_text(yaml.safe_dump(sc, sort_keys=False))
    return p


def _run(args, capsys) -> dict:
    main(args)
    return json.loads(capsys.readouterr().out)


def _fails(args, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    return err


def test_evaluate_two_rooms_by_hand(two_rooms, capsys, tmp_path):
    r = _run(["sensors", "evaluate", str(two_rooms), "--json", "--out", str(tmp_path / "maps")], capsys)
    for key in ("scenarios", "detectors", "scenario_coverage", "geographic_coverage", "mean_detect_s",
                "worst_detect_s", "undetected"):
        assert key in r
    # two leaks (one per pump), one detector: the leak in A is seen, the one in B is not within 60 s
    assert r["scenarios"] == 2 and r["detectors"] == 1
    assert r["scenario_coverage"] == {"1": 0.5, "2": 0.0}
    assert r["undetected"] == ["P-B 10 g/s"]
    # releases everywhere: room A (100 m2) is covered, room B (50 m2) is not: 100 / 150
    assert r["geographic_coverage"] == pytest.approx(100 / 150, abs=1e-4)
    # 10 g/s into 300 m3 passes 10 ppm (1.42e-5 kg/m3) in under half a second; the 30 s T90 lag then
    # needs about sqrt(2 tau 10 ppm / slope) = 8.6 s of the ramp to show 9.5 ppm (rounded to 10)
    assert 5.0 <= r["mean_detect_s"] <= 12.0
    assert r["mean_detect_s"] == r["worst_detect_s"]
    spaces = {row["space"]: row for row in r["per_space"]}
    assert spaces["A"]["geographic_coverage"] == 1.0 and spaces["B"]["geographic_coverage"] == 0.0
    assert spaces["A"]["detectors"] == 1 and spaces["B"]["detectors"] == 0
    assert len(r["plots"]) == 1 and (tmp_path / "maps").is_dir()


def test_optimize_two_rooms_and_ifc_round_trip(two_rooms, capsys, tmp_path):
    out_ifc = tmp_path / "with_sensors.ifc"
    out_yaml = tmp_path / "sensors.yaml"
    args = ["sensors", "optimize", str(two_rooms), "--budget", "1", "--candidates", "grid:2.5m",
            "--keep-existing", "--write-ifc", str(out_ifc), "--write-sensors", str(out_yaml), "--json",
            "--no-plots"]
    r = _run(args, capsys)
    for key in ("chosen", "objective", "bound", "gap", "scenario_coverage"):
        assert key in r
    assert r["kept"] == ["GD-A"]
    assert len(r["chosen"]) == 1 and r["chosen"][0].startswith("B-")  # the new detector goes to room B
    assert r["scenario_coverage"]["1"] == 1.0 and r["geographic_coverage"] == 1.0
    assert r["bound"] <= r["objective"] + 1e-9
    site = load_site(out_ifc, cache=False)
    by_name = {s.name: s for s in site.sensors.values()}
    new = by_name[r["chosen"][0]]
    assert new.kind == "gas" and new.gas == "H2S"
    assert site.spaces[new.space].name == "B"
    assert [str(c) for c in new.setpoints] == ["10 ppm", "20 ppm"] and new.t90 == 30.0
    pos = r["positions"][0]["at"]
    assert new.position == pytest.approx(tuple(pos), abs=1e-6)
    assert "GD-A" in by_name  # the model's own detectors are still there
    # the sensors list validates as scenario sensors
    listed = yaml.safe_load(out_yaml.read_text())["sensors"]
    assert [s["name"] for s in listed] == r["chosen"]
    # the exact MIP agrees on this small case
    m = _run(["sensors", "optimize", str(two_rooms), "--budget", "1", "--candidates", "grid:2.5m",
              "--keep-existing", "--method", "mip", "--json", "--no-plots"], capsys)
    assert m["objective"] == pytest.approx(r["objective"], abs=0.5) and m["gap"] <= 1e-6


def test_optimize_target(two_rooms, capsys):
    r = _run(["sensors", "optimize", str(two_rooms), "--target", "100%", "--candidates", "grid:5m", "--json",
              "--no-plots", "--objective", "coverage"], capsys)
    assert r["scenario_coverage"]["1"] == 1.0 and r["objective"] == len(r["chosen"]) == 2


def test_bad_input_exits_1_naming_the_field(two_rooms, capsys, tmp_path):
    err = _fails(["sensors", "optimize", str(two_rooms), "--budget", "5", "--candidates", "existing"], capsys)
    assert "--budget" in err and "larger than the 1 candidates" in err
    err = _fails(["sensors", "optimize", str(two_rooms), "--target", "1.5"], capsys)
    assert "--target" in err and "above 100 %" in err
    err = _fails(["sensors", "optimize", str(two_rooms), "--target", "120%"], capsys)
    assert "--target" in err and "120" in err
    sc = yaml.safe_load(two_rooms.read_text())
    sc["placement"]["gas"] = "unobtainium"
    bad = tmp_path / "bad_gas.yaml"
    bad.write_text(yaml.safe_dump(sc))
    err = _fails(["sensors", "evaluate", str(bad)], capsys)
    assert "placement.gas" in err and "unknown gas" in err and "bad_gas.yaml" in err
    err = _fails(["sensors", "evaluate", str(two_rooms), "--candidates", "grid:-1m"], capsys)
    assert "--candidates" in err
    err = _fails(["sensors", "evaluate", str(two_rooms), "--candidates", str(tmp_path / "none.yaml")], capsys)
    assert "not found" in err
    sc = yaml.safe_load(two_rooms.read_text())
    sc["placement"]["sources"] = ["P-Z"]
    bad = tmp_path / "bad_src.yaml"
    bad.write_text(yaml.safe_dump(sc))
    err = _fails(["sensors", "evaluate", str(bad)], capsys)
    assert "placement.sources[0]" in err and "P-A" in err


def test_candidate_file_and_determinism(two_rooms, capsys, tmp_path):
    f = tmp_path / "cands.yaml"
    f.write_text(yaml.safe_dump([{"name": "X1", "at": [5, 5, 0.5]}, {"name": "X2", "at": [15, 2.5, 1.0]}]))
    a = _run(["sensors", "evaluate", str(two_rooms), "--candidates", str(f), "--json", "--no-plots"], capsys)
    b = _run(["sensors", "evaluate", str(two_rooms), "--candidates", str(f), "--json", "--no-plots"], capsys)
    a.pop("timing"), b.pop("timing")
    assert a == b
    assert a["scenario_coverage"]["1"] == 1.0 and a["detectors"] == 2


def test_outdoor_release_points_follow_the_wind(two_rooms, capsys, tmp_path):
    """An outdoor release 40 m west of room A's open west door: with the wind from the west the puffs
    reach the door and the detector inside sees them, never before the wind could carry them there;
    with the wind from the east the same leak is never seen. The weather cases matter outdoors."""
    sc = yaml.safe_load(two_rooms.read_text())
    site = yaml.safe_load((tmp_path / "two.site.yaml").read_text())
    site["storeys"][0]["doors"][0]["open"] = True
    (tmp_path / "two.site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    wind = 2.0  # m/s
    sc["placement"] = {
        "sources": [{"name": "rack", "at": [-40.0, 5.0, 1.0]}], "rates": ["1 kg/s"], "horizon": "10min",
        "time_limit": "10min",
        "weather": [{"wind_speed": f"{wind} m/s", "wind_from": 270, "stability": "D"},
                    {"wind_speed": f"{wind} m/s", "wind_from": 90, "stability": "D"}]}
    p = tmp_path / "outdoor.yaml"
    p.write_text(yaml.safe_dump(sc, sort_keys=False))
    r = _run(["sensors", "evaluate", str(p), "--json", "--no-plots"], capsys)
    assert r["scenarios"] == 2
    assert r["scenario_coverage"]["1"] == pytest.approx(0.5)
    assert len(r["undetected"]) == 1 and "90deg" in r["undetected"][0]
    assert r["worst_detect_s"] >= 40.0 / wind  # the puffs travel 40 m to the door first
    # a name used twice is bad input naming the field
    sc["placement"]["sources"].append({"name": "P-A", "at": [0, -30, 1]})
    p.write_text(yaml.safe_dump(sc, sort_keys=False))
    assert "placement.sources[1].name" in _fails(["sensors", "evaluate", str(p), "--json"], capsys)


def test_rooms_and_points_inside_buildings_as_leak_sources(two_rooms, capsys, tmp_path):
    """Issue 16: a room may be a leak source, and a point inside a room leaks into that room (it used to
    become an outdoor release, 6 % coverage, no warning). Room A and a point in A are seen by GD-A like the
    pump in A; room B and a point in B are not, like the pump in B."""
    sc = yaml.safe_load(two_rooms.read_text())
    sc["placement"]["sources"] = ["A", "B", {"name": "spot-A", "at": [7.0, 7.0, 1.0]},
                                  {"name": "spot-B", "at": [18.0, 4.0, 1.0]}]
    p = tmp_path / "rooms.yaml"
    p.write_text(yaml.safe_dump(sc, sort_keys=False))
    r = _run(["sensors", "evaluate", str(p), "--json", "--no-plots"], capsys)
    assert r["scenarios"] == 4
    assert r["scenario_coverage"]["1"] == 0.5
    assert sorted(u.split(" ")[0] for u in r["undetected"]) == ["B", "spot-B"]
    sc["placement"]["sources"] = ["Nowhere"]
    p.write_text(yaml.safe_dump(sc, sort_keys=False))
    err = _fails(["sensors", "evaluate", str(p)], capsys)
    assert "placement.sources[0]" in err and "nor a space" in err
