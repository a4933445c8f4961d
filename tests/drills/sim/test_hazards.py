"""Gas hazards in a drill: people route around gas, exposure follows the leak rate, detectors, timeseries,
and bad hazard input answered with exit 1 naming the field."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml

from drills.cli.main import main
from drills.outputs.results import write_results
from drills.sim.engine import run_scenario
from tests.agents.conftest import exit_doors, rect, run_drill
from tests.conftest import MODELS


def _two_way_site() -> dict:
    """A room with a short way out through the west corridor and a long one through the east corridor;
    a pump sits in the west corridor."""
    return {
        "name": "two ways",
        "storeys": [{
            "name": "Ground", "elevation": 0, "height": 3,
            "spaces": [
                {"name": "Room", "polygon": rect(10, 0, 20, 10)},
                {"name": "West", "polygon": rect(0, 0, 10, 3), "use": "corridor", "ach": 1},
                {"name": "East", "polygon": rect(20, 0, 120, 3), "use": "corridor"},
            ],
            "doors": [
                {"name": "DW", "at": [10, 1.5], "width": 1.0, "between": ["Room", "West"]},
                {"name": "DE", "at": [20, 1.5], "width": 1.0, "between": ["Room", "East"]},
                {"name": "XW", "at": [0, 1.5], "width": 1.0, "between": ["West", "outside"]},
                {"name": "XE", "at": [120, 1.5], "width": 1.0, "between": ["East", "outside"]},
            ],
        }],
        "equipment": [{"name": "P-1", "kind": "pump", "space": "West", "at": [5, 1.5, 0.5]}],
        "sensors": [{"name": "GD-1", "gas": "H2S", "space": "West", "at": [6, 1.5, 0.5],
                     "setpoints": ["10 ppm", "20 ppm"], "t90": "20s"}],
        "muster": [{"name": "M", "at": [30, -30]}],
    }


def _scenario(rate: str | None, **extra) -> dict:
    sc = {"population": [{"where": "Room", "count": 20, "margin": 0.5}],
          "people": {"premovement": "5s"}, "alarm": {"at": "2min"}, "duration": "15min"}
    if rate is not None:
        sc["hazards"] = [{"kind": "gas_leak", "gas": "H2S", "source": "P-1", "rate": rate, "start": 0, "stop": "10min"}]
    sc.update(extra)
    return sc


def test_people_route_around_the_gas(tmp_path):
    """Without gas everyone takes the short west way; with a leak in the west corridor (over IDLH long
    before the alarm) everyone takes the long east way, and nobody breathes IDLH air."""
    clean = run_drill(tmp_path / "a", _two_way_site(), _scenario(None))
    assert set(exit_doors(clean).values()) == {"XW"}
    gassy = run_drill(tmp_path / "b", _two_way_site(), _scenario("0.01 kg/s"))
    assert set(exit_doors(gassy).values()) == {"XE"}
    k = gassy.kpis
    assert k["safe"] == 20 and k["exposed_idlh"] == 0 and k["incapacitated"] == 0
    assert k["t_detect"] is not None and 0 < k["t_detect"] < 120
    assert k["detected_by"] == "GD-1"
    assert any(e[1] == "hazard_zone" for e in gassy.events)


@pytest.mark.parametrize("rates", [("0.0001 kg/s", "0.002 kg/s", "0.05 kg/s")])
def test_exposure_grows_with_the_leak_rate(tmp_path, rates):
    """People caught in the gassed building: the plant's pump room leaks before anyone knows; the
    exposed count, peak dose and peak concentration never fall as the rate grows, and rise end to end."""
    base = yaml.safe_load((MODELS.parent / "scenarios" / "plant_evacuation.yaml").read_text())
    out = []
    for r in rates:
        sc = dict(base, site=str(MODELS / "chemical_plant.ifc"), duration="15min", closed=[],
                  hazards=[{"kind": "gas_leak", "gas": "H2S", "source": "P-101", "rate": r, "start": 0}],
                  weather={"wind_speed": "3 m/s", "wind_from": 270})
        p = tmp_path / f"s{len(out)}.yaml"
        p.write_text(yaml.safe_dump(sc))
        from drills.spec.scenario import load_scenario

        out.append(run_scenario(load_scenario(p)).kpis)
    for key in ("exposed_idlh", "peak_dose", "peak_ppm"):
        vals = [k[key] for k in out]
        assert vals == sorted(vals), (key, vals)
        assert vals[-1] > vals[0], (key, vals)
    assert out[-1]["exposed_idlh"] > 0
    assert all(k["mass_balance_error"] < 1e-9 for k in out)


def test_failed_detector_delays_detection_and_timeseries_is_written(tmp_path):
    res = run_drill(tmp_path, _two_way_site(), _scenario("0.01 kg/s"))
    dead = run_drill(tmp_path / "dead", _two_way_site(), _scenario(
        "0.01 kg/s", injects=[{"id": 1, "time": 0, "kind": "sensor_fail", "target": "GD-1"}]))
    assert res.kpis["t_detect"] is not None and dead.kpis["t_detect"] is None
    out = write_results(res, tmp_path / "run")
    ts = pq.read_table(out / "timeseries.parquet")
    kinds = set(ts.column("kind").to_pylist())
    assert kinds == {"sensor", "zone"}
    series = set(ts.column("series").to_pylist())
    assert "GD-1" in series
    gd = [v for s, v in zip(ts.column("series").to_pylist(), ts.column("value").to_pylist(), strict=True)
          if s == "GD-1"]
    assert max(gd) > 20  # the detector saw the gas rise past its high set point


def _cli(capsys, *argv):
    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    return code, capsys.readouterr()


@pytest.mark.parametrize("hazard,needles", [
    ({"gas": "Unobtainium", "source": "P-101", "rate": "1 kg/s"}, ["hazards[0].gas", "Unobtainium", "H2S"]),
    ({"gas": "H2S", "source": "Nowhere-9", "rate": "1 kg/s"}, ["hazards[0].source", "Nowhere-9"]),
    ({"gas": "H2S", "source": "P-101", "rate": "-1 kg/s"}, ["hazards[0].rate", "negative"]),
    ({"gas": "H2S", "source": "P-101"}, ["hazards[0]", "rate or burst"]),
])
def test_bad_hazards_exit_1_naming_the_field(capsys, tmp_path, hazard, needles):
    sc = {"name": "bad", "site": str(MODELS / "chemical_plant.ifc"), "duration": "5min",
          "population": [{"where": "Lobby", "count": 2}], "hazards": [dict(kind="gas_leak", **hazard)]}
    p = tmp_path / "bad_hazard.yaml"
    p.write_text(yaml.safe_dump(sc))
    code, out = _cli(capsys, "run", str(p), "--out", str(tmp_path / "never"))
    assert code == 1, out
    lines = [ln for ln in out.err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in out.err
    for n in ["bad_hazard.yaml", *needles]:
        assert n in lines[0], (n, lines[0])
    assert not (tmp_path / "never").exists()


def test_run_json_has_hazard_kpis(capsys, tmp_path):
    sc = {"name": "leak", "site": str(MODELS / "chemical_plant.ifc"), "duration": "8min",
          "population": [{"where": "Pump Room", "count": 5}], "alarm": {"at": "1min"},
          "hazards": [{"kind": "gas_leak", "gas": "H2S", "source": "P-101", "rate": "0.05 kg/s", "start": "30s"}]}
    p = tmp_path / "leak.yaml"
    p.write_text(yaml.safe_dump(sc))
    code, out = _cli(capsys, "run", str(p), "--json", "--out", str(tmp_path / "r"))
    assert code == 0, out.err
    k = json.loads(out.out)["kpis"]
    for key in ("t_detect", "exposed_idlh", "peak_dose", "incapacitated"):
        assert key in k
    assert k["t_alarm"] == 30.0  # measured from the leak's start
    assert (tmp_path / "r" / "timeseries.parquet").exists()


def test_scenario_listed_sensor_detects_and_bad_sensor_is_refused(tmp_path, capsys):
    extra = {"name": "GD-X", "gas": "H2S", "space": "West", "at": [2, 1.5, 0.5], "setpoints": ["5 ppm"]}
    res = run_drill(tmp_path, _two_way_site(), _scenario(
        "0.01 kg/s", sensors=[extra], injects=[{"id": 1, "time": 0, "kind": "sensor_fail", "target": "GD-1"}]))
    assert res.kpis["detected_by"] == "GD-X"
    from tests.agents.conftest import write_drill

    bad = dict(extra, at=[50, 50])
    p = write_drill(tmp_path / "bad", _two_way_site(), _scenario("0.01 kg/s", sensors=[bad]), name="bad_sensor")
    code, out = _cli(capsys, "run", str(p), "--out", str(tmp_path / "never"))
    assert code == 1 and "sensors[0].at" in out.err and "bad_sensor" in out.err and "outside" in out.err


def test_leak_and_wind_shift_injects(tmp_path):
    """A second leak by inject starts at its time; an outdoor release reaches the building only while the
    wind blows towards it, so a wind shift away from the building stops the indoor rise."""
    site = _two_way_site()
    site["equipment"].append({"name": "T-9", "kind": "tank", "space": "West", "at": [5, 1.5, 0.5]})
    inj = [{"id": 7, "time": "1min", "kind": "leak", "message": "second leak at T-9",
            "hazard": {"gas": "H2S", "source": "T-9", "rate": "0.01 kg/s"}},
           {"id": 8, "time": "30s", "kind": "message", "message": "control room: smell of gas reported"}]
    res = run_drill(tmp_path, site, _scenario(None, injects=inj))
    assert res.kpis["t_detect"] is not None and res.kpis["t_detect"] > 0  # measured from the inject leak at 1 min
    kinds = [e[1] for e in res.events]
    assert "inject:leak" in kinds and "inject:message" in kinds

    # outdoors: a release 30 m west of the building, wind from the west blowing gas into the west door
    def outdoor(shift: bool) -> dict:
        sc = {"population": [{"where": "Room", "count": 4}], "duration": "12min", "record_every": "5s",
              "weather": {"wind_speed": "2 m/s", "wind_from": 270, "stability": "F"},
              "hazards": [{"gas": "NH3", "source": "truck", "at": [-30, 1.5, 1.0], "rate": "0.5 kg/s"}]}
        if shift:
            sc["injects"] = [{"id": 1, "time": "2min", "kind": "wind_shift",
                              "weather": {"wind_speed": "2 m/s", "wind_from": 90, "stability": "F"}}]
        return sc

    steady = run_drill(tmp_path / "o1", _two_way_site(), outdoor(False))
    shifted = run_drill(tmp_path / "o2", _two_way_site(), outdoor(True))

    def indoor_ppm(res, t0: float, t1: float) -> float:
        _, zones = res.extra["timeseries"]
        return max((v for t, z, v in zones if z.startswith("NH3:") and t0 <= t <= t1), default=0.0)

    assert steady.kpis["gas_released_kg"] == pytest.approx(0.0)  # outdoor mass is not counted indoors
    assert indoor_ppm(steady, 600, 720) > 1.0
    # after the shift no more gas comes in: the indoor level only decays by ventilation (ach 1)
    assert indoor_ppm(shifted, 600, 720) < 0.3 * indoor_ppm(steady, 600, 720)
    assert indoor_ppm(shifted, 600, 720) <= indoor_ppm(shifted, 170, 190)


def test_python_api_evolve_revalidates(tmp_path):
    from drills.spec.scenario import load_scenario
    from twin.errors import InputError

    sc = load_scenario(MODELS.parent / "scenarios" / "plant_h2s_leak.yaml")
    big = sc.evolve(hazards=[{**sc.hazards[0].model_dump(), "rate": "0.2 kg/s"}], duration="12min")
    assert big.hazards[0].rate == pytest.approx(0.2) and big.duration == 720.0
    assert big.people.speed == sc.people.speed and big.site_path() == sc.site_path()
    with pytest.raises(InputError, match=r"population\[0\]\.count"):
        sc.evolve(population=[{"where": "Lobby", "count": -1}])


def test_people_cameras_see_collapse_and_missing_breathing_apparatus(tmp_path):
    """A person-down camera in a gassed corridor alerts after someone collapses there; a no-PPE camera
    alerts when an unprotected person stands in gassed air; a people camera in an empty room does not."""
    site = _two_way_site()
    site["sensors"] += [
        {"name": "CAM-DOWN", "kind": "camera", "space": "West", "at": [9, 1.5, 2.5],
         "extra": {"detects": "person_down", "detection_rate": 1.0, "false_positives_per_hour": 0.0}},
        {"name": "CAM-PPE", "kind": "camera", "space": "West", "at": [1, 1.5, 2.5],
         "extra": {"detects": "no_ppe", "detection_rate": 1.0, "false_positives_per_hour": 0.0}},
        {"name": "CAM-EAST", "kind": "camera", "space": "East", "at": [100, 1.5, 2.5],
         "extra": {"detects": "people", "detection_rate": 1.0, "false_positives_per_hour": 0.0}},
    ]
    sc = _scenario("0.05 kg/s", alerts={"policy": "threshold"}, duration="6min")
    sc["population"] = [{"where": "West", "count": 3, "premovement": "10min"}]  # unaware, stay in the gas
    res = run_drill(tmp_path, site, sc)
    seen = " ".join(e[4] for e in res.events if e[1] == "camera")
    assert res.kpis["incapacitated"] > 0
    assert "CAM-DOWN sees person_down" in seen and "CAM-PPE sees no_ppe" in seen and "CAM-EAST" not in seen
    assert any(e[1] == "alert" and "camera" in e[4] for e in res.events)  # and the policy raised an alert
