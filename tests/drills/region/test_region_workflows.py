"""Regional workflows run on the one workflow engine: levels as at a site, parallel/if/wait_ack in a
region, re-triggering with de-duplication, and results folders a report can be rebuilt from."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from drills.alerts.levels import level_rank
from drills.cli.main import main
from drills.region.model import load_region
from drills.region.sim import run_region
from tests.drills.region.test_region import _write
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[3]
LEVELS = ["warning", "low", "alarm", "high", 1, 2, "2"]


def _probe(level) -> dict:
    """A site workflow that does nothing but note when a ``level`` alert would start it."""
    return {"name": "probe", "trigger": {"alert": "gas", "level": level},
            "steps": [{"id": "noop", "kind": "task", "task": "0s"}]}


def _triggered(transitions, workflow: str) -> list[float]:
    return [tr.t for tr in transitions if tr.workflow == workflow and tr.state == "triggered"]


def _with_site_probe(region, site: str, level, raw_site_workflows: list) -> None:
    s = region.site(site)
    s.scenario = s.scenario.evolve(workflows=[*raw_site_workflows, _probe(level)])


@pytest.mark.parametrize("level", LEVELS + [3])
def test_a_regional_trigger_fires_exactly_when_a_site_trigger_would(tmp_path, level):
    """Two boxes, set points 5 and 10 ppm (ranks 1 and 2): a regional ``{alert: gas, site: A, level: L}``
    starts when A's own ``{alert: gas, level: L}`` does, for each word and number; rank 3 never comes."""
    wf = [{"name": "park", "trigger": {"alert": "gas", "site": "A", "level": level},
           "steps": [{"id": "warn", "kind": "broadcast_alert", "to": "others"}]}]
    reg = load_region(_write(tmp_path, workflows=wf, duration="6min"))
    _with_site_probe(reg, "A", level, [])
    res = run_region(reg, log_trajectories=False)
    site = _triggered(res.sites["A"].extra["transitions"], "probe")
    regional = _triggered(res.extra["transitions"], "park")
    alerts = [a.t for a in res.sites["A"].extra["alerts"] if a.rank >= level_rank(level)]
    assert regional == site == alerts[:1]
    if level == 3:
        assert regional == []
    else:
        assert regional  # the level happened: the comparison is not vacuous


def test_levels_are_ordered_at_or_above():
    assert [level_rank(x) for x in LEVELS] == [1, 1, 2, 2, 1, 2, 2]
    for bad in ("critical", "hihg", 0, -1, True, 1.5):
        with pytest.raises(ValueError, match="warning, low"):
            level_rank(bad)


@pytest.mark.parametrize("level", ["critical", "hihg", 0])
def test_an_unknown_regional_level_is_refused_at_load(tmp_path, level):
    wf = [{"name": "park", "trigger": {"alert": "gas", "site": "A", "level": level},
           "steps": [{"id": "warn", "kind": "broadcast_alert"}]}]
    with pytest.raises(InputError) as e:
        load_region(_write(tmp_path, workflows=wf))
    assert "workflows[0].trigger.level" in e.value.where
    assert "warning, low (rank 1), alarm, high (rank 2)" in e.value.message


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_riverside_park_regional_and_site_triggers_agree_at_every_level(level):
    """The shipped region: its park warning at ``level`` starts when PlantA's own workflow at ``level``
    would (the first PlantA alert at or above the level), for each level word and number."""
    path = ROOT / "scenarios/regions/riverside_park.yaml"
    raw = yaml.safe_load(path.read_text())
    wfs = raw["workflows"]
    wfs[0]["trigger"]["level"] = level
    reg = load_region(path, {"workflows": wfs, "duration": "10min"})
    site_raw = yaml.safe_load((ROOT / "scenarios/plant_h2s_leak.yaml").read_text())["workflows"]
    _with_site_probe(reg, "PlantA", level, site_raw)
    res = run_region(reg, log_trajectories=False)
    site = _triggered(res.sites["PlantA"].extra["transitions"], "probe")
    regional = _triggered(res.extra["transitions"], "park-warning")
    first = [a.t for a in res.sites["PlantA"].extra["alerts"] if a.rank >= level_rank(level)][:1]
    assert regional == site == first and first
    if level_rank(level) == 2:  # the site's own phone tree is at level high: the same moment
        assert _triggered(res.sites["PlantA"].extra["transitions"], "phone-tree") == regional


def test_parallel_if_and_wait_ack_with_escalation_run_in_a_regional_workflow(tmp_path):
    """At 2 min: a parallel block requests the brigade and notifies; an ``if`` on the triggering alert
    (none: a time trigger) takes else; a regional duty officer acknowledges (default delay)."""
    wf = [{"name": "drill", "trigger": {"at": "2min"}, "roles": {"control_room": 1, "incident_commander": 1},
           "steps": [
               {"id": "both", "kind": "parallel", "steps": [
                   {"id": "aid", "kind": "request_aid", "resource": "fire_brigade", "to": "A", "task": "5min"},
                   {"id": "tell", "kind": "notify", "channel": "radio", "message": "brigade called"}]},
               {"id": "ack", "kind": "wait_ack", "role": "control_room", "timeout": "1h",
                "escalate_to": "incident_commander"},
               {"id": "which", "kind": "if", "condition": {"level": "high"},
                "then": [{"id": "evac", "kind": "evacuate", "site": "B"}],
                "else": [{"id": "shelter_b", "kind": "shelter", "site": "B"}]}]}]
    res = run_region(load_region(_write(tmp_path, leak=False, workflows=wf, duration="20min")),
                     log_trajectories=False)
    tr = res.extra["transitions"]

    def at(step, state):
        return [x.t for x in tr if x.step == step and x.state == state]

    assert at("aid", "started") == at("tell", "started") == [120.0]
    assert at("aid", "completed") == [pytest.approx(120 + 60 + 90)]  # turnout and 1.5 km at 60 km/h
    assert at("both", "completed") == [max(at("aid", "completed")[0], at("tell", "completed")[0])]
    assert at("ack", "acknowledged") and at("ack", "started") == at("both", "completed")
    assert at("evac", "skipped") and at("shelter_b", "completed")
    kinds = [e[1] for e in res.sites["B"].events]
    assert "workflow:shelter" not in kinds  # the order is B's own: its shelter shows in B's log via the crowd
    assert res.sites["B"].kpis["occupants"] == 5


def test_dispatch_and_headcount_stay_site_steps(tmp_path):
    wf = [{"name": "x", "trigger": {"at": "1min"}, "roles": {"ert": 2},
           "steps": [{"id": "go", "kind": "dispatch", "role": "ert", "to": "alert_location"}]}]
    with pytest.raises(InputError) as e:
        load_region(_write(tmp_path, workflows=wf))
    assert e.value.where.endswith("workflows[0].steps[0].kind") and "site's own workflows" in e.value.message


@pytest.mark.slow
def test_each_site_episode_starts_the_regional_workflow_again_with_dedupe_per_site(tmp_path):
    """A alerts first, B when the plume arrives: without dedupe the regional call-out runs once (for A);
    with ``dedupe: {per: site}`` B's alert starts a second run for B, and A's later alerts fold into A's
    run while it still goes (``max_runs: 1`` keeps it to one)."""
    def run(dedupe):
        w = {"name": "callout", "trigger": {"alert": "gas"},
             "steps": [{"id": "aid", "kind": "request_aid", "resource": "fire_brigade", "task": "1h"}]}
        if dedupe is not None:
            w["dedupe"] = dedupe
        res = run_region(load_region(_write(tmp_path, workflows=[w], duration="14min")), log_trajectories=False)
        return res, res.extra["transitions"]

    once, tr = run(None)
    first = {s: [a.t for a in once.sites[s].extra["alerts"]] for s in "AB"}
    assert first["A"] and first["B"], "the fixture must give both sites an alert"
    assert [(x.t, x.site) for x in tr if x.state == "triggered"] == [(first["A"][0], "A")]
    assert {a.site for a in once.aid} == {"A"}
    per_site, tr = run({"per": "site"})
    starts = [(x.t, x.site, x.instance) for x in tr if x.state == "triggered"]
    assert starts == [(first["A"][0], "A", 1), (first["B"][0], "B", 2)]
    assert [a.site for a in per_site.aid] == ["A", "B"]  # request_aid goes to the site that triggered
    later = len(first["A"]) + len(first["B"]) - 2
    assert len([x for x in tr if x.state == "deduplicated"]) == later
    capped, tr = run({"per": "site", "max_runs": 1})
    assert {x.instance for x in tr} == {1}


def test_report_is_rebuilt_from_a_region_folder(tmp_path, capsys):
    """``drilltwin report`` on a region folder rewrites the region pages from its files, with the
    regional workflow transitions and the alerts as tables."""
    wf = [{"name": "warn-park", "trigger": {"alert": "gas", "site": "A", "level": "alarm"}, "steps": [
        {"id": "warn", "kind": "broadcast_alert", "to": "others", "channel": "phone", "action": "notify"}]}]
    p = _write(tmp_path, workflows=wf, duration="3min")
    out = tmp_path / "out"
    main(["region", str(p), "--out", str(out), "--json"])
    capsys.readouterr()
    before = (out / "region_report.html").read_text()
    (out / "region_report.html").unlink()
    try:
        main(["report", str(out)])
    except SystemExit as ex:  # main exits only on errors; a clean exit is fine too
        assert ex.code in (0, None)
    assert (out / "region_report.html").read_text().split("<h2>Sites")[1] == before.split("<h2>Sites")[1]
    alerts = pq.read_table(out / "alerts.parquet").to_pylist()
    assert alerts and {a["site"] for a in alerts} <= {"A", "B"} and alerts[0]["sensors"]
    tr = pq.read_table(out / "workflow.parquet").to_pylist()
    assert tr[0]["workflow"] == "warn-park" and tr[0]["state"] == "triggered" and tr[0]["site"] == "A"
    man = json.loads((out / "manifest.json").read_text())
    assert {"alerts.parquet", "workflow.parquet", "warned.parquet", "region_report.html"} <= set(man["files"])
    site = pq.read_table(out / "sites" / "A" / "alerts.parquet").to_pylist()
    assert [a["id"] for a in site] == [a["id"] for a in alerts if a["site"] == "A"]
