"""The after-action report and the replay files (no browser here; see test_browser.py): content,
targets and ratings, the improvement plan, escaping, size for 1,000 people over 30
minutes, runs without hazards or workflows, and the slide animation."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from drills.outputs.replay import write_replay
from drills.outputs.report import DEFAULT_TARGETS, load_run, rate_targets, safe_json, write_report
from drills.outputs.results import write_results
from tests.agents.conftest import rect, run_drill
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, shipped_run) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    return write_results(shipped_run("plant_h2s_leak"), out)


def test_demo_report_is_complete_and_self_contained(demo):
    # its speed (target: under 3 s) is measured in benchmarks/report_speed.py, not here
    page = write_report(demo)
    assert page == demo / "report.html"
    src = page.read_text(encoding="utf-8")
    for title in ("Exercise overview", "Scenario summary", "Capability targets", "Timeline of workflow steps",
                  "Evacuation", "Exit usage", "Exposure", "Floor plans", "Sensor traces",
                  "Appendix A: Improvement plan"):
        assert title in src
    # self-contained: no scripts at all, no external URL, images inline
    assert "<script" not in src
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", src)
    assert src.count("data:image/png;base64,") >= 5  # gantt, curve, exits, plans, sensors
    # the workflow steps of the phone tree are in the timeline
    for step in ("phone-tree/call", "phone-tree/ack", "phone-tree/isolate", "phone-tree/muster"):
        assert step in src


def test_targets_default_and_from_the_scenario(demo, tmp_path):
    run = load_run(demo)
    rows = {r["key"]: r for r in rate_targets(run)}
    assert set(DEFAULT_TARGETS) <= set(rows)
    # the demo sounds its alarm 78.6 s after the leak: within the default 3 min
    assert rows["t_alarm"]["rating"] == "met" and rows["t_alarm"]["origin"] == "default"
    # headcount 9:31 against 15 min by default: met; a scenario's 5 min target makes it missed
    assert rows["t_headcount"]["rating"] == "met"
    d = tmp_path / "run"
    shutil.copytree(demo, d)
    sc = yaml.safe_load((d / "scenario.yaml").read_text())
    sc["targets"] = {"t_alarm": "1min", "t_headcount": "5min", "t_all_clear": 900}
    (d / "scenario.yaml").write_text(yaml.safe_dump(sc))
    rows = {r["key"]: r for r in rate_targets(load_run(d))}
    assert rows["t_alarm"]["target"] == 60 and rows["t_alarm"]["rating"] == "missed"
    assert rows["t_headcount"]["rating"] == "missed" and rows["t_headcount"]["origin"] == "scenario"
    assert rows["t_all_clear"]["target"] == 900 and rows["t_all_clear"]["rating"] == "met"  # all clear at about 10 min
    src = write_report(d).read_text(encoding="utf-8")
    plan = src[src.index("Appendix A"):]
    # the alarm waited on the operator's acknowledgement: the longest step before it was the call
    # (44 s) or the acknowledgement (30 s), and the plan names one of them
    assert "General alarm" in plan and "Headcount complete" in plan
    assert re.search(r"phone-tree/(call|ack)", plan)
    assert "phone-tree/muster" in plan  # the headcount itself was the slow part of t_headcount


def test_unchecked_values_a_run_depends_on_are_named_in_its_manifest_and_report(demo):
    # the plant drill releases H2S: its probit (incapacitation) is flagged in twin.gas as not yet checked
    # against the primary source; the IDLH is checked, and AEGL/ERPG are not used by a drill
    caveats = json.loads((demo / "manifest.json").read_text())["data_caveats"]
    probit = [c for c in caveats if c.startswith("H2S lethality probit")]
    assert len(probit) == 1 and "CCPS" in probit[0]
    assert len(set(caveats)) == len(caveats), "each caveat once"
    # the assumptions about people the run depends on: what they smell or feel, and the operator's fatigue
    assert any(c.startswith("People notice H2S without an alarm") for c in caveats)
    assert any(c.startswith("Operator alarm fatigue") for c in caveats)
    # and the physics the run rests on: the incapacitation model and its sources
    assert any(c.startswith("H2S incapacitation") and "ISO 13571" in c for c in caveats)
    src = write_report(demo).read_text(encoding="utf-8")
    assert "Data caveats" in src and "H2S lethality probit" in src


def test_run_without_hazards_workflows_or_alerts(tmp_path):
    site = {"name": "box", "storeys": [{"name": "G", "spaces": [{"name": "Room", "polygon": rect(0, 0, 10, 10)}],
                                        "doors": [{"name": "X", "at": [10, 5], "between": ["Room", "outside"]}]}]}
    res = run_drill(tmp_path, site, {"population": [{"where": "Room", "count": 5}], "alarm": {"at": "0s"},
                                     "duration": "3min"})
    d = write_results(res, tmp_path / "run")
    caveats = json.loads((d / "manifest.json").read_text())["data_caveats"]
    assert [c.split(":")[0] for c in caveats] == ["flow sfpe"], "no gas, so no gas data caveats"
    src = write_report(d).read_text(encoding="utf-8")
    assert "No workflow ran" in src and "No gas reached" in src
    rows = {r["key"]: r for r in rate_targets(load_run(d))}
    assert rows["t_isolate"]["rating"] == "not exercised"
    assert rows["t_evacuated"]["rating"] == "met"
    html_page = write_replay(d).read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script id="replay-data" type="application/json">(.*?)</script>', html_page,
                                re.S).group(1))
    assert data["n"] == 5 and data["gas"] is None and data["zones"] == []


def test_safe_json_cannot_close_a_script():
    s = safe_json({"n": "</script><script>alert(1)</script>&\u2028\u2029"})
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s and "\u2029" not in s
    assert json.loads(s)["n"] == "</script><script>alert(1)</script>&\u2028\u2029"


def _synthetic_run(out: Path, n: int, minutes: float, every: float = 30.0, seed: int = 0) -> Path:
    """A results folder of ``n`` people on the five-storey office, each arriving at a new navigation node
    every ``every`` s for ``minutes`` (far busier paths than any real run), with gas on every zone."""
    from twin.load import load_twin

    site = ROOT / "ifc_models" / "office5.ifc"
    g = load_twin(site)
    rng = np.random.default_rng(seed)
    nodes = np.array(g.nodes, dtype=object)
    steps = int(minutes * 60 / every)
    agent = np.repeat(np.arange(n), steps)
    t = np.tile(np.arange(1, steps + 1) * every, n) + rng.uniform(0, every / 2, n * steps)
    node = nodes[rng.integers(0, len(nodes), n * steps)]
    out.mkdir(parents=True)
    pq.write_table(pa.table({"agent": agent, "t": t, "node": node.astype(str)}), out / "trajectories.parquet")
    pq.write_table(pa.table({"t": [0.0], "kind": ["alarm"], "agent": [-1], "node": [""], "detail": ["all"]}),
                   out / "events.parquet")
    nan = np.full(n, np.nan)
    pq.write_table(pa.table({"speed": np.full(n, 1.3), "premovement": np.full(n, 30.0), "t_aware": np.zeros(n),
                             "t_start": np.full(n, 30.0), "t_exit": nan, "t_muster": nan,
                             "role": ["occupant"] * n, "state": ["moving"] * n}), out / "people.parquet")
    tz = np.arange(0, minutes * 60 + 1, 10.0)
    zones = [f"CO:{z}" for z in g.zones]
    pq.write_table(pa.table({"t": np.repeat(tz, len(zones)), "kind": ["zone"] * (len(tz) * len(zones)),
                             "series": zones * len(tz), "value": rng.uniform(0, 50, len(tz) * len(zones)),
                             "unit": ["ppm"] * (len(tz) * len(zones))}), out / "timeseries.parquet")
    (out / "scenario.yaml").write_text(yaml.safe_dump({"name": "synthetic", "site": str(site),
                                                       "population": [{"where": "*", "count": n}]}))
    (out / "kpis.json").write_text(json.dumps({"occupants": n}))
    (out / "manifest.json").write_text(json.dumps({"run_id": "synthetic", "seed": 0}))
    return out


@pytest.mark.parametrize("n", [1000])
def test_replay_of_1000_people_over_30_minutes_is_under_5_mb(tmp_path, n):
    d = _synthetic_run(tmp_path / "run", n, 30)
    page = write_replay(d)
    size = page.stat().st_size
    assert size < 5e6, f"replay.html is {size / 1e6:.2f} MB"
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page.read_text(), re.S).group(1))
    assert data["n"] == n and data["tEnd"] >= 30 * 60
    # the report copes with a run that has no KPIs to speak of
    assert write_report(d).exists()


def test_demo_replay_size_and_gif(demo, tmp_path):
    gif = tmp_path / "slides" / "demo.gif"
    page = write_replay(demo, gif=gif)
    assert page == demo / "replay.html"
    assert page.stat().st_size < 1e6
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")


def test_mp4_without_ffmpeg_is_a_clear_error(demo, monkeypatch, capsys):
    """Bad input, not an internal error: exit 1 with one line naming --mp4 and what to install."""
    from drills.cli.main import main

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="ffmpeg"):
        write_replay(demo, mp4=demo / "x.mp4")
    with pytest.raises(SystemExit) as e:
        main(["replay", str(demo), "--mp4", str(demo / "x.mp4")])
    err = capsys.readouterr().err
    assert e.value.code == 1 and "--mp4" in err and "ffmpeg" in err and err.count("\n") == 1
    assert not (demo / "x.mp4").exists()
