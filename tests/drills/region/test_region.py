"""Joint exercises: one clock, one outdoor field, shared responders, regional broadcasts, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from drills.cli.main import main
from drills.region.model import load_region
from drills.region.sim import run_region

BOX = """
name: Box
storeys:
  - name: Ground
    elevation: 0
    height: 3
    spaces:
      - {name: Room, polygon: [[0, 0], [10, 0], [10, 10], [0, 10]], ach: 6}
    doors:
      - {name: D1, at: [5, 0], width: 1.0, between: [Room, outside], open: true}
sensors:
  - {name: GD-1, gas: H2S, space: Room, at: [5, 5, 1.5], setpoints: [5 ppm, 10 ppm], t90: 10s, noise: 0.1 ppm, period: 1s}
muster:
  - {name: M1, at: [5, -15]}
"""

WIND = 5.0  # m/s
DIST = 2000.0  # m between the two boxes


def _write(tmp: Path, *, leak: bool = True, workflows: list | None = None, resources: list | None = None,
           links: list | None = None, origin_b: tuple[float, float] = (DIST, 0.0), extra_site_b: str = "",
           duration: str = "20min") -> Path:
    (tmp / "box.site.yaml").write_text(BOX)
    a = {"name": "Source", "site": "box.site.yaml", "seed": 1, "duration": "20min",
         "population": [{"where": "Room", "count": 5}], "alerts": {"policy": "threshold"}}
    if leak:  # an outdoor release just west of the box: the plume blows east over the other box
        a["hazards"] = [{"id": "L1", "gas": "H2S", "source": "yard", "at": [-5, 5, 1.0], "rate": "5 kg/s",
                         "start": "1min"}]
    b = {"name": "Downwind", "site": "box.site.yaml", "seed": 2, "duration": "20min",
         "population": [{"where": "Room", "count": 5}], "alerts": {"policy": "threshold"}}
    (tmp / "a.yaml").write_text(yaml.safe_dump(a))
    (tmp / "b.yaml").write_text(yaml.safe_dump(b) + extra_site_b)
    region = {
        "name": "Two boxes", "seed": 4, "duration": duration,
        "weather": {"wind_speed": f"{WIND} m/s", "wind_from": 270, "stability": "D"},
        "sites": [{"name": "A", "scenario": "a.yaml", "origin": [0, 0], "rotation": 0, "gate": "GA"},
                  {"name": "B", "scenario": "b.yaml", "origin": list(origin_b), "rotation": 0, "gate": "GB"}],
        "roads": {"nodes": {"DEPOT": [1000, -1000], "GA": [5, -30], "GB": [DIST + 5, -30]},
                  "links": links if links is not None else [
                      {"from": "DEPOT", "to": "GA", "length": "1.5 km", "speed": "60 km/h"},
                      {"from": "DEPOT", "to": "GB", "length": "1.5 km", "speed": "60 km/h"}]},
        "resources": resources if resources is not None else [
            {"name": "Brigade-1", "kind": "fire_brigade", "depot": "DEPOT", "crews": 1, "turnout": "60s"}],
        "workflows": workflows or [],
    }
    p = tmp / "region.yaml"
    p.write_text(yaml.safe_dump(region, sort_keys=False))
    return p


def test_plume_crosses_the_fence_no_sooner_than_the_wind_allows(tmp_path):
    res = run_region(load_region(_write(tmp_path)), log_trajectories=False)
    t0 = res.extra["t0"]
    assert t0 == 60.0
    b = res.sites["B"].kpis
    assert b["t_detect"] is not None, "the plume never reached the downwind box's detector"
    # source (-5, 5) to the detector at (DIST + 5, 5): 2010 m at 5 m/s
    travel = (DIST + 10.0) / WIND
    assert b["t_detect"] >= travel
    assert b["t_detect"] < travel + 600  # and it does arrive, within ten minutes of the front
    assert b["peak_ppm"] > 0
    assert res.kpis["peak_ppm_offsite"] == b["peak_ppm"]


def test_upwind_site_breathes_clean_air(tmp_path):
    # the same boxes with the second one 2 km *upwind* (west): no gas can reach it
    res = run_region(load_region(_write(tmp_path, origin_b=(-DIST, 0.0))), log_trajectories=False)
    b = res.sites["B"].kpis
    assert b["t_detect"] is None
    assert not b.get("peak_ppm")
    assert res.kpis["exposed_offsite"] == 0


def test_shared_brigade_serves_two_simultaneous_requests_in_order(tmp_path):
    wf = [{"name": "aid-A", "trigger": {"at": "2min"}, "steps": [
              {"id": "ask", "kind": "request_aid", "resource": "fire_brigade", "to": "A", "task": "10min"}]},
          {"name": "aid-B", "trigger": {"at": "2min"}, "steps": [
              {"id": "ask", "kind": "request_aid", "resource": "Brigade-1", "to": "B", "task": "5min"}]}]
    res = run_region(load_region(_write(tmp_path, leak=False, workflows=wf)), log_trajectories=False)
    first, second = res.aid
    assert (first.site, second.site) == ("A", "B")
    assert first.t_request == second.t_request == 120.0
    assert first.wait == 0.0
    # one crew: B waits for the whole job at A: turnout, 1.5 km at 60 km/h, 10 min on site, the drive back
    job = 60 + 90 + 600 + 90
    assert second.wait == pytest.approx(job)
    assert second.t_dispatch >= first.t_back
    assert second.t_arrive == pytest.approx(second.t_dispatch + 60 + 90)
    k = res.kpis
    assert k["t_first_aid_arrival"] == pytest.approx(120 + 60 + 90)
    assert k["resource_wait_s"] == pytest.approx(job / 2)
    assert k["resource_wait_max_s"] == pytest.approx(job)
    assert 0 < k["resource_utilisation"]["Brigade-1"] <= 1


def test_two_crews_do_not_queue(tmp_path):
    wf = [{"name": f"aid-{s}", "trigger": {"at": "2min"}, "steps": [
              {"id": "ask", "kind": "request_aid", "resource": "fire_brigade", "to": s, "task": "10min"}]}
          for s in ("A", "B")]
    res_ = [{"name": "Brigade-1", "kind": "fire_brigade", "depot": "DEPOT", "crews": 2}]
    res = run_region(load_region(_write(tmp_path, leak=False, workflows=wf, resources=res_)), log_trajectories=False)
    assert [a.wait for a in res.aid] == [0.0, 0.0]


BROADCAST = [{"name": "warn-park", "trigger": {"alert": "gas", "site": "A"}, "steps": [
    {"id": "warn", "kind": "broadcast_alert", "to": "others", "channel": "phone", "action": "notify"}]}]


def test_broadcast_warns_the_neighbour_before_its_own_detectors(tmp_path):
    res = run_region(load_region(_write(tmp_path, workflows=BROADCAST)), log_trajectories=False)
    t0 = res.extra["t0"]
    t_warn, how = res.extra["warned"]["B"]
    assert how.startswith("broadcast")
    own = res.sites["B"].kpis["t_detect"]
    assert own is not None
    assert t_warn - t0 < own
    assert res.kpis["t_all_sites_warned"] == pytest.approx(t_warn - t0, abs=1e-3)
    kinds = [e[2] for e in res.events if e[1] == "B"]
    assert "broadcast_received" in kinds


def test_same_seed_same_regional_event_log(tmp_path):
    p = _write(tmp_path, workflows=BROADCAST)
    out1, out2, out3 = tmp_path / "r1", tmp_path / "r2", tmp_path / "r3"
    for out, seed in ((out1, 8), (out2, 8), (out3, 9)):
        _ok(["region", str(p), "--seed", str(seed), "--out", str(out), "--json"])
    a, b, c = ((o / "events.csv").read_bytes() for o in (out1, out2, out3))
    assert a == b
    assert a != c  # the broadcast's phone latency is drawn from the seed
    assert b"site" in a.splitlines()[0]
    k = json.loads((out1 / "kpis.json").read_text())
    assert set(k) == {"kpis", "sites"} and set(k["sites"]) == {"A", "B"}
    for key in ("t_first_aid_arrival", "t_all_sites_warned", "exposed_offsite", "resource_wait_s"):
        assert key in k["kpis"]
    for f in ("region_report.html", "region_replay.html", "events.parquet", "aid.csv", "manifest.json",
              "sites/A/report.html", "sites/B/replay.html"):
        assert (out1 / f).exists(), f
    assert "<select" in (out1 / "region_report.html").read_text()
    # the region's manifest names each site's unchecked values once (both sites model the same gas)
    caveats = json.loads((out1 / "manifest.json").read_text())["data_caveats"]
    site_caveats = [json.loads((out1 / "sites" / s / "manifest.json").read_text())["data_caveats"] for s in "AB"]
    assert caveats and caveats == sorted(set(site_caveats[0] + site_caveats[1]))


def test_region_json_contract(tmp_path, capsys):
    p = _write(tmp_path, leak=False, duration="3min")
    _ok(["region", str(p), "--out", str(tmp_path / "o"), "--json"])
    got = json.loads(capsys.readouterr().out)
    assert set(got) >= {"run_id", "out", "kpis", "sites"}
    assert set(got["sites"]) == {"A", "B"}
    assert got["kpis"]["t_first_aid_arrival"] is None


def _ok(argv: list[str]) -> None:
    try:
        main(argv)
    except SystemExit as e:  # main exits only on errors; a clean exit is fine too
        assert e.code in (0, None)


def _fails(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as ex:
        main(argv)
    assert ex.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_bad_site_file_names_the_site_and_field(tmp_path, capsys):
    p = _write(tmp_path, extra_site_b="populaton: []\n")
    err = _fails(["region", str(p)], capsys)
    assert "region.yaml" in err and "sites[1].scenario" in err and "'B'" in err and "populaton" in err


def test_overlapping_placements_are_rejected(tmp_path, capsys):
    p = _write(tmp_path, origin_b=(4.0, 3.0))
    err = _fails(["region", str(p)], capsys)
    assert "sites[1].origin" in err and "'B'" in err and "'A'" in err and "overlaps" in err


def test_unreachable_site_is_rejected(tmp_path, capsys):
    p = _write(tmp_path, links=[{"from": "DEPOT", "to": "GA", "length": "1.5 km", "speed": "60 km/h"}])
    err = _fails(["region", str(p)], capsys)
    assert "sites[1].gate" in err and "'B'" in err and "DEPOT" in err


def test_unknown_resource_in_a_workflow(tmp_path, capsys):
    wf = [{"name": "x", "trigger": {"at": "1min"}, "steps": [
        {"id": "ask", "kind": "request_aid", "resource": "hazmat", "to": "A"}]}]
    err = _fails(["region", str(_write(tmp_path, workflows=wf))], capsys)
    assert "workflows[0].steps[0].resource" in err and "hazmat" in err


def test_placement_transform_round_trip():
    import numpy as np

    from drills.region.model import SiteFrame

    f = SiteFrame((100.0, 50.0), 90.0)
    p = np.array([[10.0, 0.0, 1.5]])
    m = f.to_map(p)
    assert m[0, :2] == pytest.approx([100.0, 60.0])  # the site's x axis points north on the map
    assert f.to_local(m) == pytest.approx(p)
    assert f.wind_from_local(270.0) == pytest.approx(0.0)  # a westerly is a northerly in that frame


def test_shipped_region_loads():
    root = Path(__file__).resolve().parents[3]
    reg = load_region(root / "scenarios/regions/riverside_park.yaml")
    assert [s.name for s in reg.sites] == ["PlantA", "Neighbour", "Office"]
    d = [reg.sites[0].footprint.centroid.distance(s.footprint.centroid) for s in reg.sites[1:]]
    assert all(1000 <= x <= 2000 for x in d)


@pytest.mark.slow
def test_regional_experiment_on_dask(tmp_path):
    pytest.importorskip("distributed")
    from drills.studies.experiment import run_compare

    p = _write(tmp_path, workflows=BROADCAST, duration="12min")
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({
        "name": "wind", "base": "region.yaml", "replications": 2, "seed": 10,
        "kpis": ["t_all_sites_warned", "B.t_detect"],
        "arms": {"base": {}, "calm": {"weather": {"wind_speed": "2 m/s", "wind_from": 270, "stability": "D"}}}}))
    assert p.exists()
    serial = run_compare(exp, workers=None, out=tmp_path / "serial", plots=False)
    dask = run_compare(exp, workers=2, out=tmp_path / "dask", plots=False)
    assert serial["kpis"] == dask["kpis"]
    assert serial["n_failed"] == 0
    base = serial["kpis"]["B.t_detect"]["base"]["mean"]
    calm = serial["kpis"]["B.t_detect"]["calm"]["mean"]
    assert base is not None and (calm is None or calm > base)  # a slower wind brings the gas later


def test_people_in_the_open_collapse_in_a_strong_plume_not_upwind(tmp_path):
    # A releases 5 kg/s of H2S just west of its box (at y = 5 m); B stands 200 m downwind, C 300 m upwind,
    # both 20 m north, so that their muster points (15 m south of the door) lie on the plume's axis. The
    # park sounds the alarm at B and C at once: their people walk out into about 1,000 ppm at B.
    p = _write(tmp_path, origin_b=(200.0, 20.0))
    region = yaml.safe_load(p.read_text())
    region["sites"].append({"name": "C", "scenario": "b.yaml", "origin": [-300, 20], "rotation": 0, "gate": "GC"})
    region["roads"]["nodes"]["GC"] = [-295, -10]
    region["roads"]["links"].append({"from": "DEPOT", "to": "GC", "length": "2 km", "speed": "60 km/h"})
    region["workflows"] = [{"name": "park-alarm", "trigger": {"at": "10s"}, "steps": [
        {"id": "warn", "kind": "broadcast_alert", "to": ["B", "C"], "channel": "phone", "action": "alarm"}]}]
    p.write_text(yaml.safe_dump(region, sort_keys=False))
    res = run_region(load_region(p), log_trajectories=False)
    b, c = res.sites["B"], res.sites["C"]
    down = [e for e in b.events if e[1] == "incapacitated"]
    assert down, "nobody collapsed at the muster point in the plume"
    assert all(e[4] == "outdoors" for e in down)
    assert b.kpis["incapacitated"] == len({e[2] for e in down})
    who = {e[2] for e in down}
    # they had walked out before they fell (an exit event each): they count for t_evacuated, not as safe
    exited = {e[2]: e[0] for e in b.events if e[1] == "exit"}
    assert all(i in exited and exited[i] < d[0] for d in down for i in [d[2]])
    assert b.kpis["t_evacuated"] is not None
    assert b.kpis["safe"] == 5 - len(who)
    assert b.kpis["exposed_idlh"] >= len(who)
    assert not any(e[1] == "mustered" and e[2] in who and e[0] > min(d[0] for d in down) for e in b.events)
    # upwind: out in the open too, clean air, nobody falls
    assert c.kpis["safe"] == 5
    assert c.kpis["incapacitated"] == 0
    assert not c.kpis.get("peak_ppm")
    # the same seed gives the same collapses
    again = run_region(load_region(p), log_trajectories=False)
    assert [e for e in again.sites["B"].events if e[1] == "incapacitated"] == down

