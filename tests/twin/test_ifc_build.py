"""IFC4 written from sites: structure, validity, geometry, the committed samples, and the round trip
sketch -> build_ifc -> twin.ifc.read_ifc."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.element
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import ifcopenshell.validate
import numpy as np
import pytest

from twin.ifc_build import build_ifc
from twin.site import Site
from twin.sketch import read_sketch, sketch_from_dict

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "ifc_models"
SAMPLES = ["rimea9", "chemical_plant", "office5"]

SMALL: dict[str, Any] = {
    "name": "Small plant",
    "storeys": [
        {"name": "Ground", "elevation": 0, "height": 4, "spaces": [
            {"name": "Hall", "polygon": [[0, 0], [20, 0], [20, 12], [0, 12]], "use": "process", "ach": 6},
            {"name": "Pump Room", "polygon": [[20, 0], [28, 0], [28, 6], [20, 6]], "long_name": "Pumps"},
            {"name": "Stair", "polygon": [[20, 6], [28, 6], [28, 12], [20, 12]], "use": "stair"},
        ], "doors": [
            {"name": "E1", "at": [10, 0], "width": 1.8, "between": ["Hall", "outside"]},
            {"name": "D1", "at": [20, 3], "width": 1.0, "between": ["Hall", "Pump Room"], "open": True},
            {"name": "D2", "at": [24, 6], "width": 1.2, "between": ["Pump Room", "Stair"]},
            {"name": "E2", "at": [28, 3], "width": 1.0, "between": ["Pump Room", "outside"], "exit": False},
        ]},
        {"name": "Level 1", "elevation": 4, "height": 3, "spaces": [
            {"name": "Landing", "polygon": [[20, 6], [28, 6], [28, 12], [20, 12]], "use": "stair"},
            {"name": "Control", "polygon": [[10, 6], [20, 6], [20, 12], [10, 12]], "use": "control"},
        ], "doors": [
            {"name": "D3", "at": [20, 9], "width": 0.9, "between": ["Landing", "Control"]},
        ]},
    ],
    "stairs": [{"name": "S1", "from": ["Ground", "Stair"], "to": ["Level 1", "Landing"], "width": 1.2,
                "length": 7.6, "at": [21, 6.8], "heading": 0}],
    "equipment": [
        {"name": "P-1", "kind": "pump", "space": "Pump Room", "at": [24, 3, 0.5]},
        {"name": "V-1", "kind": "valve", "space": "Hall", "at": [5, 5]},
        {"name": "T-1", "kind": "tank", "space": "Hall", "at": [15, 8, 1.0]},
        {"name": "GC-1", "kind": "cylinder", "space": "Hall", "at": [2, 10, 1.0]},
    ],
    "sensors": [
        {"name": "GD-1", "gas": "H2S", "space": "Pump Room", "at": [26, 1, 0.5], "setpoints": ["10 ppm", "20 ppm"],
         "t90": "30s", "noise": "0.5 ppm", "period": "1s"},
        {"name": "FD-1", "gas": "CH4", "space": "Hall", "at": [10, 6, 3.8], "setpoints": ["20 %LEL", "40 %LEL"]},
        {"name": "SD-1", "kind": "smoke", "space": "Control", "at": [15, 9, 2.9]},
        {"name": "CAM-1", "kind": "camera", "space": "Hall", "at": [1, 1, 3.5], "extra": {"detection_rate": 0.9}},
    ],
    "alarms": [{"name": "AL-1", "space": "Hall", "at": [10, 11, 3]},
               {"name": "AL-2", "space": "Control", "at": [12, 7], "kind": "bell"}],
    "muster": [{"name": "M1", "at": [10, -30]}, {"name": "M2", "at": [40, 6, 0.5]}],
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, Path, ifcopenshell.file]:
    site = sketch_from_dict(SMALL, "small.site.yaml")
    out = tmp_path_factory.mktemp("ifc") / "sub" / "small.ifc"
    build_ifc(site, out)
    return site, out, ifcopenshell.open(str(out))


def verts(model: ifcopenshell.file, entity: ifcopenshell.entity_instance) -> np.ndarray:
    """World-coordinate vertices (m) of an entity's body."""
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    shape = ifcopenshell.geom.create_shape(settings, entity)
    return np.array(shape.geometry.verts, dtype=float).reshape(-1, 3)


def pset(entity: ifcopenshell.entity_instance, name: str) -> dict[str, Any]:
    return ifcopenshell.util.element.get_pset(entity, name) or {}


# ---------------------------------------------------------------------------------------------------------
# structure


def test_spatial_structure(small) -> None:
    site, _, f = small
    assert f.schema == "IFC4"
    assert ifcopenshell.util.unit.calculate_unit_scale(f) == 1.0
    (project,) = f.by_type("IfcProject")
    (ifc_site,) = f.by_type("IfcSite")
    assert project.Name == ifc_site.Name == "Small plant"
    (building,) = f.by_type("IfcBuilding")
    assert building.GlobalId == site.buildings[0].id
    storeys = {s.GlobalId: s for s in f.by_type("IfcBuildingStorey")}
    assert set(storeys) == {s.id for s in site.storeys}
    for s in site.storeys:
        ent = storeys[s.id]
        assert ent.Elevation == s.elevation and ent.Name == s.name
        assert ifcopenshell.util.element.get_aggregate(ent) == building
    for sp in site.spaces.values():
        ent = f.by_guid(sp.id)
        assert ent.is_a("IfcSpace") and ent.Name == sp.name and ent.LongName == sp.long_name
        assert ifcopenshell.util.element.get_aggregate(ent).GlobalId == sp.storey
        props = pset(ent, "DrillTwin_Space")
        assert props.get("AirChangesPerHour") == sp.ach and props.get("Use") == sp.use


def test_doors(small) -> None:
    site, _, f = small
    assert len(f.by_type("IfcDoor")) == len(site.doors)
    for d in site.doors.values():
        ent = f.by_guid(d.id)
        assert ent.is_a("IfcDoor") and ent.Name == d.name
        assert ent.OverallWidth == pytest.approx(d.width) and ent.OverallHeight == pytest.approx(2.1)
        assert pset(ent, "Pset_DoorCommon")["IsExternal"] is d.external
        props = pset(ent, "DrillTwin_Door")
        assert (props["Open"], props["Exit"]) == (d.open, d.exit)
        assert ifcopenshell.util.element.get_container(ent).GlobalId == d.storey
        opening = ent.FillsVoids[0].RelatingOpeningElement
        assert opening.VoidsElements[0].RelatingBuildingElement.is_a("IfcWall")
        bounded = {rel.RelatingSpace.GlobalId for rel in ent.ProvidesBoundaries}
        assert bounded == set(d.spaces)
    e2 = next(d for d in site.doors.values() if d.name == "E2")
    assert e2.external and not e2.exit


def test_stair(small) -> None:
    site, _, f = small
    (st,) = site.stairs.values()
    ent = f.by_guid(st.id)
    assert ent.is_a("IfcStair") and ent.PredefinedType == "STRAIGHT_RUN_STAIR"
    assert ifcopenshell.util.element.get_container(ent).GlobalId == site.spaces[st.bottom].storey
    (flight,) = ifcopenshell.util.element.get_parts(ent)
    assert flight.is_a("IfcStairFlight")
    assert flight.NumberOfRisers * flight.RiserHeight == pytest.approx(4.0)
    assert flight.TreadLength == pytest.approx(st.tread)
    props = pset(ent, "DrillTwin_Stair")
    assert props["Length"] == st.length and props["Width"] == st.width
    assert (props["BottomSpace"], props["TopSpace"]) == (st.bottom, st.top)


def test_equipment_sensors_alarms_muster(small) -> None:
    site, _, f = small
    classes = {e.name: f.by_guid(e.id).is_a() for e in site.equipment.values()}
    assert classes == {"P-1": "IfcPump", "V-1": "IfcValve", "T-1": "IfcTank", "GC-1": "IfcFlowController"}
    for e in site.equipment.values():
        assert pset(f.by_guid(e.id), "DrillTwin_Equipment")["Kind"] == e.kind
        assert ifcopenshell.util.element.get_container(f.by_guid(e.id)).GlobalId == e.storey
    gd = f.by_guid(next(s.id for s in site.sensors.values() if s.name == "GD-1"))
    assert gd.is_a("IfcSensor") and gd.PredefinedType == "GASSENSOR"
    props = pset(gd, "DrillTwin_Sensor")
    assert (props["Gas"], props["Setpoints"], props["T90"], props["Noise"], props["Period"]) == (
        "H2S", "10 ppm;20 ppm", 30.0, "0.5 ppm", 1.0)
    types = {s.name: (f.by_guid(s.id).PredefinedType, f.by_guid(s.id).ObjectType) for s in site.sensors.values()}
    assert types["SD-1"] == ("SMOKESENSOR", None) and types["CAM-1"][0] == "USERDEFINED"
    cam = f.by_guid(next(s.id for s in site.sensors.values() if s.name == "CAM-1"))
    assert pset(cam, "DrillTwin_SensorExtra")["detection_rate"] == 0.9
    alarms = {a.name: f.by_guid(a.id).PredefinedType for a in site.alarms.values()}
    assert alarms == {"AL-1": "SIREN", "AL-2": "BELL"}
    (ifc_site,) = f.by_type("IfcSite")
    for m in site.muster.values():
        ent = f.by_guid(m.id)
        assert ent.is_a("IfcAnnotation") and ent.ObjectType == "MusterPoint"
        assert ifcopenshell.util.element.get_container(ent) == ifc_site
        matrix = ifcopenshell.util.placement.get_local_placement(ent.ObjectPlacement)
        assert tuple(matrix[:3, 3]) == pytest.approx(m.position)


def test_valid_ifc4_with_express_rules(small) -> None:
    _, path, _ = small
    logger = ifcopenshell.validate.json_logger()
    ifcopenshell.validate.validate(str(path), logger, express_rules=True)
    assert logger.statements == []


def test_deterministic_output(tmp_path: Path) -> None:
    site = sketch_from_dict(SMALL, "small.site.yaml")
    a, b = tmp_path / "a.ifc", tmp_path / "b.ifc"
    build_ifc(site, a, timestamp="2026-01-01T00:00:00")
    build_ifc(sketch_from_dict(SMALL, "small.site.yaml"), b, timestamp="2026-01-01T00:00:00")
    text_a = a.read_text().replace("'a.ifc'", "'X'")
    assert text_a == b.read_text().replace("'b.ifc'", "'X'")


# ---------------------------------------------------------------------------------------------------------
# geometry, measured by ifcopenshell's own geometry kernel


def test_geometry(small) -> None:
    site, _, f = small
    for sp in site.spaces.values():
        v = verts(f, f.by_guid(sp.id))
        assert v[:, 2].min() == pytest.approx(sp.elevation) and v[:, 2].max() == pytest.approx(sp.elevation + sp.height)
        assert (v[:, 0].min(), v[:, 1].min(), v[:, 0].max(), v[:, 1].max()) == pytest.approx(sp.footprint.bounds)
    for d in site.doors.values():
        opening = f.by_guid(d.id).FillsVoids[0].RelatingOpeningElement
        v = verts(f, opening)
        centre = (v.min(axis=0) + v.max(axis=0)) / 2
        assert tuple(centre) == pytest.approx(d.position, abs=0.01)
        extent = v.max(axis=0) - v.min(axis=0)
        along_x = d.name in ("E1", "D2")  # doors on edges parallel to x
        assert extent[0 if along_x else 1] == pytest.approx(d.width)
        assert extent[1 if along_x else 0] == pytest.approx(0.2)
    (st,) = site.stairs.values()
    flight = ifcopenshell.util.element.get_parts(f.by_guid(st.id))[0]
    v = verts(f, flight)
    low, high = v[np.isclose(v[:, 2], v[:, 2].min())], v[np.isclose(v[:, 2], v[:, 2].max())]
    assert tuple(low[:, :2].mean(axis=0)) == pytest.approx(st.bottom_xy, abs=0.01)
    assert tuple(high[:, :2].mean(axis=0)) == pytest.approx(st.top_xy, abs=0.01)
    assert (v[:, 2].min(), v[:, 2].max()) == pytest.approx((st.bottom_z, st.top_z))
    assert math.hypot(math.dist(st.bottom_xy, st.top_xy), st.top_z - st.bottom_z) == pytest.approx(st.length, abs=0.01)
    assert len(np.unique(np.round(v[:, 2], 6))) == 2  # no vertex between the floors
    for item in [*site.equipment.values(), *site.sensors.values(), *site.alarms.values()]:
        v = verts(f, f.by_guid(item.id))
        assert tuple((v.min(axis=0) + v.max(axis=0)) / 2) == pytest.approx(item.position, abs=0.01)


# ---------------------------------------------------------------------------------------------------------
# the committed samples


@pytest.mark.parametrize("name", SAMPLES)
def test_committed_sample_ifc(name: str) -> None:
    path = MODELS / f"{name}.ifc"
    assert path.stat().st_size < 3_000_000
    site = read_sketch(MODELS / f"{name}.site.yaml")
    f = ifcopenshell.open(str(path))
    assert f.schema == "IFC4"
    for kind in ("spaces", "doors", "stairs", "equipment", "sensors", "alarms", "muster"):
        for ident, item in getattr(site, kind).items():
            assert f.by_guid(ident).Name == item.name
    logger = ifcopenshell.validate.json_logger()
    ifcopenshell.validate.validate(f, logger)
    assert logger.statements == []


# ---------------------------------------------------------------------------------------------------------
# round trip through the IFC reader


def _read_ifc():
    ifc = pytest.importorskip("twin.ifc")
    if not hasattr(ifc, "read_ifc"):
        pytest.skip("twin.ifc has no read_ifc yet")
    return ifc.read_ifc


def assert_same_site(a: Site, b: Site) -> None:
    """``b`` (read from the IFC) holds the same items as ``a`` (the sketch), positions within 1 cm."""
    assert a.summary() == b.summary()
    assert {s.id: (s.name, s.elevation) for s in a.storeys} == {s.id: (s.name, pytest.approx(s.elevation))
                                                                 for s in b.storeys}
    for ident, sp in a.spaces.items():
        q = b.spaces[ident]
        assert (q.name, q.storey, q.long_name, q.use, q.ach) == (sp.name, sp.storey, sp.long_name, sp.use, sp.ach)
        assert q.area == pytest.approx(sp.area, abs=0.01)
        assert q.footprint.symmetric_difference(sp.footprint).area < 0.01
        assert (q.elevation, q.height) == pytest.approx((sp.elevation, sp.height), abs=0.01)
    for ident, d in a.doors.items():
        q = b.doors[ident]
        assert (q.name, set(q.spaces), q.exit, q.external, q.open) == (d.name, set(d.spaces), d.exit, d.external, d.open)
        assert q.width == pytest.approx(d.width, abs=0.01)
        assert math.dist(q.position, d.position) < 0.01
    for ident, s in a.stairs.items():
        q = b.stairs[ident]
        assert (q.name, q.bottom, q.top) == (s.name, s.bottom, s.top)
        assert q.length == pytest.approx(s.length, abs=0.01) and q.width == pytest.approx(s.width, abs=0.01)
        assert math.dist(q.bottom_xy, s.bottom_xy) < 0.01 and math.dist(q.top_xy, s.top_xy) < 0.01
        assert (q.bottom_z, q.top_z) == pytest.approx((s.bottom_z, s.top_z), abs=0.01)
    for kind in ("equipment", "sensors", "alarms", "muster"):
        for ident, it in getattr(a, kind).items():
            q = getattr(b, kind)[ident]
            assert q.name == it.name and math.dist(q.position, it.position) < 0.01
    for ident, e in a.equipment.items():
        assert b.equipment[ident].kind == e.kind
    for ident, s in a.sensors.items():
        q = b.sensors[ident]
        assert (q.kind, q.gas, q.setpoints, q.noise) == (s.kind, s.gas, s.setpoints, s.noise)
        assert (q.t90, q.period) == (s.t90, s.period)
    for ident, al in a.alarms.items():
        assert b.alarms[ident].kind == al.kind


def test_round_trip_small(small) -> None:
    read_ifc = _read_ifc()
    site, path, _ = small
    assert_same_site(site, read_ifc(path))


@pytest.mark.parametrize("name", SAMPLES)
def test_round_trip_samples(name: str) -> None:
    read_ifc = _read_ifc()
    sketch = read_sketch(MODELS / f"{name}.site.yaml")
    assert_same_site(sketch, read_ifc(MODELS / f"{name}.ifc"))


def test_imported_site_writes_back(tmp_path: Path) -> None:
    """A site read from IFC can be written again (e.g. after placing detectors) and reads the same."""
    read_ifc = _read_ifc()
    first = read_ifc(MODELS / "chemical_plant.ifc")
    out = tmp_path / "again.ifc"
    build_ifc(first, out)
    assert_same_site(first, read_ifc(out))
