"""The command line: JSON outputs of CONTRACTS section 5 and exit code 1 with one clear line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import MODELS, ROOT, SCENARIOS, cli


def _one_clear_line(err: str, *needles: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


INSPECT_KEYS = {"schema", "storeys", "spaces", "doors", "doors_connected", "exits", "stairs", "stairs_connected",
                "components", "unreachable_spaces", "warnings"}


@pytest.mark.parametrize("model", ["chemical_plant.ifc", "chemical_plant.site.yaml", "office5.ifc", "rimea9.site.yaml"])
def test_inspect_json_has_contract_fields(capsys, model):
    code, out, err = cli(capsys, "twin", "inspect", str(MODELS / model), "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert INSPECT_KEYS <= rep.keys()
    assert rep["doors_connected"] == rep["doors"]
    assert rep["unreachable_spaces"] == 0 and rep["components"] == 1
    assert rep["exits"] >= 2
    for w in rep["warnings"]:
        assert {"code", "entity", "message"} <= w.keys()


def test_inspect_plot_writes_png(capsys, tmp_path):
    png = tmp_path / "plan.png"
    code, out, err = cli(capsys, "twin", "inspect", str(MODELS / "chemical_plant.ifc"), "--plot", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000


def test_build_then_inspect_gives_same_graph(capsys, tmp_path):
    out_ifc = tmp_path / "r9.ifc"
    code, _, err = cli(capsys, "twin", "build", str(MODELS / "rimea9.site.yaml"), "-o", str(out_ifc))
    assert code == 0, err
    a = json.loads(cli(capsys, "twin", "inspect", str(MODELS / "rimea9.site.yaml"), "--json")[1])
    b = json.loads(cli(capsys, "twin", "inspect", str(out_ifc), "--json")[1])
    for k in ("spaces", "doors", "exits", "stairs", "zones", "nav_edges"):
        assert a[k] == b[k], k
    assert a["max_exit_distance_m"] == pytest.approx(b["max_exit_distance_m"], abs=0.01)


def test_missing_file(capsys, tmp_path):
    code, _, err = cli(capsys, "twin", "inspect", str(tmp_path / "nope.ifc"))
    assert code == 1
    _one_clear_line(err, "nope.ifc", "not found")


def test_text_file_that_is_not_ifc(capsys, tmp_path):
    p = tmp_path / "notes.ifc"
    p.write_text("these are my meeting notes, not a building\n")
    code, _, err = cli(capsys, "twin", "inspect", str(p))
    assert code == 1
    _one_clear_line(err, "notes.ifc")


def test_truncated_ifc(capsys, tmp_path):
    src = (MODELS / "rimea9.ifc").read_bytes()
    p = tmp_path / "cut.ifc"
    p.write_bytes(src[: len(src) // 2])
    code, _, err = cli(capsys, "twin", "inspect", str(p), "--no-cache")
    assert code == 1
    _one_clear_line(err, "cut.ifc")


def _sketch(tmp_path, **changes) -> Path:
    data = yaml.safe_load((MODELS / "rimea9.site.yaml").read_text())
    for k, v in changes.items():
        cur = data
        *path, last = k.split("/")
        for p in path:
            cur = cur[int(p)] if p.isdigit() else cur[p]
        cur[int(last) if last.isdigit() else last] = v
    p = tmp_path / "bad.site.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_sketch_self_intersecting_polygon(capsys, tmp_path):
    p = _sketch(tmp_path, **{"storeys/0/spaces/0/polygon": [[0, 0], [30, 20], [30, 0], [0, 20]]})
    code, _, err = cli(capsys, "twin", "inspect", str(p))
    assert code == 1
    _one_clear_line(err, "bad.site.yaml", "polygon")


def test_sketch_door_not_on_an_edge(capsys, tmp_path):
    p = _sketch(tmp_path, **{"storeys/0/doors/0/at": [15, 10]})
    code, _, err = cli(capsys, "twin", "inspect", str(p))
    assert code == 1
    name = yaml.safe_load(p.read_text())["storeys"][0]["doors"][0]["name"]
    _one_clear_line(err, "bad.site.yaml", name)


def test_sketch_unknown_space_in_between(capsys, tmp_path):
    p = _sketch(tmp_path, **{"storeys/0/doors/0/between": ["Ballroom", "outside"]})
    code, _, err = cli(capsys, "twin", "inspect", str(p))
    assert code == 1
    _one_clear_line(err, "bad.site.yaml", "Ballroom")


def test_run_json_contract(capsys, tmp_path):
    out = tmp_path / "run1"
    code, stdout, err = cli(capsys, "run", str(SCENARIOS / "plant_evacuation.yaml"), "--json", "--out", str(out))
    assert code == 0, err
    payload = json.loads(stdout)
    assert payload["out"] == str(out) and payload["run_id"] == "run1"
    k = payload["kpis"]
    for key in ("t_evacuated", "occupants", "safe", "trapped", "exit_counts", "wall_s"):
        assert key in k
    assert k["safe"] == k["evacuees"] and k["trapped"] == 0
    assert sum(k["exit_counts"].values()) == k["safe"]
    assert k.get("t_lower_bound") is None or k["t_lower_bound"] <= k["t_evacuated"]
    files = {p.name for p in out.iterdir()}
    assert {"manifest.json", "scenario.yaml", "kpis.json", "events.parquet", "trajectories.parquet"} <= files
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["scenario_sha256"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left behind


def _scenario(tmp_path, **changes) -> Path:
    data = yaml.safe_load((SCENARIOS / "plant_evacuation.yaml").read_text())
    data["site"] = str(MODELS / "chemical_plant.ifc")
    data.update(changes)
    p = tmp_path / "bad_scenario.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.mark.parametrize("changes,needles", [
    ({"population": [{"where": "Ballroom", "count": 10}]}, ["population[0].where", "Ballroom"]),
    ({"population": [{"where": "Lobby", "count": -3}]}, ["population[0].count"]),
    ({"population": [{"where": "Lobby", "count": 3, "speed": {"dist": "normal", "mean": 1.3}}]},
     ["population[0].speed", "sd"]),
    ({"population": [{"where": "Lobby", "count": 3, "premovement": {"dist": "uniform", "min": "2min", "max": "1min"}}]},
     ["population[0].premovement", "min"]),
    ({"population": [{"where": "Lobby", "count": 1, "at": [500, 500]}]}, ["population[0].at", "outside"]),
    ({"closed": ["NOPE-1"]}, ["closed[0]", "NOPE-1"]),
    ({"duration": "soon"}, ["duration"]),
    ({"flow": "magic"}, ["flow"]),
    ({"populaton": []}, ["populaton", "unknown field"]),
    ({"site": "/nowhere/plant.ifc"}, ["site", "plant.ifc", "not found"]),
    ({"injects": [{"id": 1, "time": "1min", "kind": "block", "target": "XX-9"}]}, ["injects[0].target", "XX-9"]),
])
def test_bad_scenarios_exit_1_naming_the_field(capsys, tmp_path, changes, needles):
    p = _scenario(tmp_path, **changes)
    code, out, err = cli(capsys, "run", str(p), "--out", str(tmp_path / "never"))
    assert code == 1, (out, err)
    _one_clear_line(err, "bad_scenario.yaml", *needles)
    assert not (tmp_path / "never").exists()


def test_schema_is_json_schema(capsys):
    code, out, _ = cli(capsys, "schema")
    assert code == 0
    s = json.loads(out)
    assert s["type"] == "object" and "population" in s["properties"] and "site" in s["required"]


def test_console_script_exit_codes(tmp_path):
    """The installed `drilltwin` entry point keeps the contract outside pytest too."""
    exe = Path(sys.executable).parent / "drilltwin"
    r = subprocess.run([str(exe), "twin", "inspect", str(tmp_path / "missing.ifc")], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 1 and "missing.ifc" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "twin" in r.stdout


def test_errors_name_the_yaml_line(capsys, tmp_path):
    p = tmp_path / "lines.yaml"
    p.write_text(f"name: x\nsite: {MODELS / 'chemical_plant.ifc'}\npopulation:\n  - {{where: Lobby, count: 3}}\n"
                 "  - where: Lobby\n    count: -2\n")
    code, _, err = cli(capsys, "run", str(p))
    assert code == 1
    _one_clear_line(err, "lines.yaml", "line 6", "population[1].count")
    p.write_text(f"name: x\nsite: {MODELS / 'chemical_plant.ifc'}\npopulation:\n  - {{where: Lobby, count: 3}}\n"
                 "  - {where: Ballroom, count: 1}\n")
    code, _, err = cli(capsys, "run", str(p))
    assert code == 1
    _one_clear_line(err, "lines.yaml", "line 5", "population[1].where", "Ballroom")
    p.write_text("name: x\npopulation: [\n")
    code, _, err = cli(capsys, "run", str(p))
    assert code == 1
    _one_clear_line(err, "lines.yaml", "line", "not valid YAML")


def test_compare_cli_json_contract_and_bad_input(capsys, tmp_path):
    from tests.drills.studies.test_experiment import _tiny

    p = _tiny(tmp_path, reps=3)
    code, out, err = cli(capsys, "compare", str(p), "--json", "--out", str(tmp_path / "cmp"))
    assert code == 0, err
    pay = json.loads(out)
    assert pay["arms"] == ["now", "late"]
    assert set(pay["kpis"]["t_evacuated"]["now"]) >= {"mean", "median", "p95", "ci95"}
    assert set(pay["diffs"]["t_evacuated"]["late-now"]) >= {"mean", "ci95", "p_value"}
    code, out, err = cli(capsys, "compare", str(p), "--out", str(tmp_path / "cmp"))  # resumes, prints a table
    assert code == 0 and "2 arms, base now" in out
    code, _, err = cli(capsys, "compare", str(p), "-n", "0")
    assert code == 1
    _one_clear_line(err, "exp.yaml")
    code, _, err = cli(capsys, "compare", str(p), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "x"))
    assert code == 1
    _one_clear_line(err, "scheduler")


def test_report_and_replay_cli(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli(capsys, "run", str(SCENARIOS / "plant_evacuation.yaml"), "--out", str(out), "--json")
    assert code == 0, err
    assert (out / "report.html").exists() and (out / "replay.html").exists()
    (out / "report.html").unlink()
    code, stdout, err = cli(capsys, "report", str(out))
    assert code == 0 and (out / "report.html").exists()
    code, _, err = cli(capsys, "report", str(tmp_path))
    assert code == 1
    _one_clear_line(err, "not a run folder")


def test_names_with_brackets_are_printed_as_written(capsys, tmp_path):
    """Rich would read ``[/A]`` in a scenario name as a closing tag and fail; names are never markup."""
    sc = yaml.safe_load((SCENARIOS / "office_evacuation.yaml").read_text())
    sc["name"] = "Office [/A] [bold]drill"
    sc["site"] = str((SCENARIOS / sc["site"]).resolve())
    p = tmp_path / "brackets.yaml"
    p.write_text(yaml.safe_dump(sc, sort_keys=False))
    code, out, err = cli(capsys, "run", str(p), "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert "Office [/A] [bold]drill" in out
