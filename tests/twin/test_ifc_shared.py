"""IFC import on the shared real-world test files, plus small models built here with ifcopenshell.api.

The expected numbers come from ``shared/reference/ifc_import.md`` (measured on the same files). Each file
is read once per session; the whole module runs in a few seconds.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.feature
import ifcopenshell.api.geometry
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.type
import ifcopenshell.api.unit
import numpy as np
import pytest

from tests.conftest import SHARED_IFC, needs_ifc
from twin.ifc import read_ifc
from twin.site import Site

REPO = Path(__file__).parents[2]
IFC_DIR = SHARED_IFC
needs_shared = needs_ifc()

SMILEY = "AC-11-Smiley-West-04-07-2007.ifc"
FZK = "AC20-FZK-Haus.ifc"
NIEDRIHA = "AC90R1-niedriha-V2-2x3.ifc"
DUPLEX = "Duplex_A_20110907.ifc"
SAMPLE = "Ifc4_SampleHouse.ifc"
TNO = "TNO-IfcEngine-example.ifc"
WITH_SPACES = [SMILEY, FZK, NIEDRIHA, DUPLEX, SAMPLE, TNO]


@functools.cache
def shared(name: str) -> Site:
    """Each shared file is imported once per test session."""
    return read_ifc(IFC_DIR / name)


def by_name(site: Site, kind: str, name: str):
    items = [it for it in getattr(site, kind).values() if name in (it.name, getattr(it, "long_name", None))]
    assert len(items) == 1, f"{name!r}: {len(items)} matches"
    return items[0]


# --------------------------------------------------------------------------------------------------
# counts and invariants on every shared file with spaces


@needs_shared
@pytest.mark.parametrize(
    ("name", "schema", "storeys", "spaces", "doors", "passages", "stairs"),
    [
        (SMILEY, "IFC2X3", 5, 70, 85, 0, 15),
        (FZK, "IFC4", 2, 7, 5, 3, 1),
        (NIEDRIHA, "IFC2X3", 4, 19, 16, 2, 2),
        (DUPLEX, "IFC2X3", 4, 21, 14, 8, 2),
        (SAMPLE, "IFC4", 2, 4, 3, 0, 0),
        (TNO, "IFC2X3", 2, 4, 4, 0, 0),  # one storey in the file, one derived for the rooms at 3.1 m
    ],
)
def test_counts(name: str, schema: str, storeys: int, spaces: int, doors: int, passages: int, stairs: int) -> None:
    site = shared(name)
    assert site.schema == schema
    kinds = [d.kind for d in site.doors.values()]
    assert (len(site.storeys), len(site.spaces), kinds.count("door"), kinds.count("passage"), len(site.stairs)) == (
        storeys, spaces, doors, passages, stairs)  # fmt: skip
    assert site.stats["doors_total"] == doors
    assert site.stats["spaces_total"] == spaces
    assert site.stats["passages_open_plan"] == passages


@needs_shared
@pytest.mark.parametrize("name", WITH_SPACES)
def test_doors_connected(name: str) -> None:
    """At least 95 % of the doors join one or two spaces (doors ignored as inside a room excluded)."""
    site = shared(name)
    st = site.stats
    considered = st["doors_total"] - st["doors_ignored_inside"]
    assert st["doors_connected"] >= 0.95 * considered
    for d in site.doors.values():
        assert 1 <= len(d.spaces) <= 2 and len(set(d.spaces)) == len(d.spaces)
        assert all(s in site.spaces for s in d.spaces)
        assert d.storey == site.spaces[d.spaces[0]].storey
        assert (len(d.spaces) == 1) == d.external, d.name
        assert not d.exit or d.external


@needs_shared
@pytest.mark.parametrize("name", WITH_SPACES)
def test_site_invariants(name: str) -> None:
    site = shared(name)
    elevations = [s.elevation for s in site.storeys]
    assert elevations == sorted(elevations)
    storey_ids = {s.id for s in site.storeys}
    for sp in site.spaces.values():
        assert sp.storey in storey_ids
        assert sp.footprint.is_valid and sp.footprint.geom_type == "Polygon" and sp.area > 0.5
        assert 0.5 < sp.height < 10.0
        assert abs(sp.elevation - site.storey(sp.storey).elevation) < 1.0
        assert sp.building == site.storey(sp.storey).building
    # GlobalIds are the ids of everything
    for kind in ("spaces", "doors", "stairs"):
        for key, item in getattr(site, kind).items():
            assert key == item.id and len(item.id) == 22
    assert not [w for w in site.warnings if w.code == "entity_error"]
    assert site.stats["schema"] == site.schema


@needs_shared
def test_ids_are_file_globalids() -> None:
    model = ifcopenshell.open(str(IFC_DIR / FZK))
    site = shared(FZK)
    assert set(site.spaces) == {s.GlobalId for s in model.by_type("IfcSpace")}
    assert {d.id for d in site.doors.values() if d.kind == "door"} == {d.GlobalId for d in model.by_type("IfcDoor")}
    # open-plan passages take the GlobalId of the IfcVirtualElement between the two spaces
    assert {d.id for d in site.doors.values() if d.kind == "passage"} <= {
        v.GlobalId for v in model.by_type("IfcVirtualElement")}
    assert set(site.stairs) == {s.GlobalId for s in model.by_type("IfcStair")}
    assert {s.id for s in site.storeys} == {s.GlobalId for s in model.by_type("IfcBuildingStorey")}
    assert [b.id for b in site.buildings] == [b.GlobalId for b in model.by_type("IfcBuilding")]
    assert site.name == "Projekt-FZK-Haus"


# --------------------------------------------------------------------------------------------------
# storeys, names and units


@needs_shared
def test_duplex_storeys_sorted_rounded_and_walkable() -> None:
    site = shared(DUPLEX)
    assert [(s.name, s.elevation, s.walkable) for s in site.storeys] == [
        ("T/FDN", -1.25, False),  # no spaces
        ("Level 1", 0.0, True),
        ("Level 2", 3.1, True),  # stored as 3.100000000000378
        ("Roof", 6.0, False),  # only the "Roof" space, which is not walkable
    ]
    assert site.name == "Duplex Apartment"


@needs_shared
def test_revit_name_and_long_name_kept() -> None:
    foyer = by_name(shared(DUPLEX), "spaces", "A101")
    assert (foyer.name, foyer.long_name, foyer.label) == ("A101", "Foyer", "A101")
    wohnen = by_name(shared(FZK), "spaces", "Wohnen")
    assert (wohnen.name, wohnen.label) == ("5", "Wohnen")  # a bare number shows the LongName


@needs_shared
def test_smiley_top_storey_not_walkable() -> None:
    site = shared(SMILEY)
    assert [(s.name, s.walkable) for s in site.storeys][-1] == ("Dach", False)
    assert [s.elevation for s in site.storeys] == [-2.81, -0.25, 2.53, 5.23, 7.93]
    assert site.ground_storeys() == {by_name(site, "spaces", "FLUR-2-2").storey}


@needs_shared
@pytest.mark.parametrize(("name", "elevations"), [(SAMPLE, [0.0, 2.5]), (TNO, [0.0, 3.1])])
def test_millimetre_files_in_metres(name: str, elevations: list[float]) -> None:
    site = shared(name)
    assert site.stats["unit_scale"] == pytest.approx(0.001)
    assert [s.elevation for s in site.storeys] == elevations
    for d in site.doors.values():
        assert 0.7 <= d.width <= 2.0 and 2.0 <= d.height <= 2.2
        assert -0.5 <= d.position[2] <= 5.0
    for sp in site.spaces.values():
        assert sp.footprint.area < 200 and sp.height < 4


@needs_shared
def test_sample_house_doors_and_roof_space() -> None:
    site = shared(SAMPLE)
    assert sorted(d.width for d in site.doors.values()) == [0.81, 0.81, 1.81]  # 810 and 1810 mm
    roof = by_name(site, "spaces", "4 - Roof")
    assert not roof.walkable
    assert any(w.code == "space_not_walkable" and "4 - Roof" in w.entity for w in site.warnings)
    (exit_door,) = [d for d in site.doors.values() if d.exit]
    assert exit_door.width == 1.81
    assert site.spaces[exit_door.spaces[0]].long_name == "Entrance hall"


@needs_shared
def test_tno_unplaced_spaces_get_a_storey() -> None:
    site = shared(TNO)
    assert site.stats["spaces_unplaced"] == 4
    assert sum(w.code == "space_unplaced" for w in site.warnings) == 4
    by_level = {sp.name: site.storey(sp.storey).elevation for sp in site.spaces.values()}
    assert by_level == {"Room I": 0.0, "Room II": 0.0, "Room III": 3.1, "Room IV": 3.1}
    assert all(d.width == pytest.approx(0.93) for d in site.doors.values())
    assert {s.building for s in site.storeys} == {site.buildings[0].id}


# --------------------------------------------------------------------------------------------------
# doors


@needs_shared
def test_smiley_front_doors_are_exits_balcony_doors_are_not() -> None:
    site = shared(SMILEY)
    front = [d for d in site.doors.values() if d.name.startswith("Haustuer")]
    balcony = [d for d in site.doors.values() if "Balkon" in d.name]
    assert len(front) == 5 and all(d.exit and d.external and len(d.spaces) == 1 for d in front)
    assert len(balcony) == 20 and all(d.external and not d.exit for d in balcony)
    assert site.stats["doors_one_space"] == 35 and site.stats["doors_two_space"] == 50
    # the one SB fault of the file: geometry adds the corridor the boundary misses
    door = by_name(site, "doors", "1OG-Tür-3-2")
    assert {site.spaces[s].long_name for s in door.spaces} == {"ZIMMER-3-2", "FLUR-3-3"}
    assert any(w.code == "door_sb_disagrees" and "1OG-Tür-3-2" in w.entity for w in site.warnings)


@needs_shared
def test_fzk_doors() -> None:
    site = shared(FZK)
    assert {d.name for d in site.doors.values() if d.exit} == {"Haustuer", "Terrassentuer"}
    haustuer = by_name(site, "doors", "Haustuer")
    assert [site.spaces[s].label for s in haustuer.spaces] == ["Flur"]
    assert haustuer.width == pytest.approx(1.01) and haustuer.height == pytest.approx(2.01)


@needs_shared
@pytest.mark.parametrize(("name", "pairs"), [
    (FZK, {("Flur", "Küche"), ("Flur", "Wohnen"), ("Küche", "Wohnen")}),
    (DUPLEX, {(f"{u}10{i}", f"{u}10{j}") for u in "AB" for i, j in ((1, 2), (1, 3), (2, 3), (1, 5))}),
])
def test_open_plan_spaces_joined_by_passages(name: str, pairs: set[tuple[str, str]]) -> None:
    """Rooms that touch with no wall between (virtual boundaries) are joined by open passages."""
    site = shared(name)
    got = set()
    for d in site.doors.values():
        if d.kind == "passage":
            assert d.open and not d.external and len(d.spaces) == 2 and d.width >= 0.6
            a, b = (site.spaces[s] for s in d.spaces)
            assert a.storey == b.storey and a.footprint.distance(b.footprint) < 0.05
            got.add(tuple(sorted((a.label, b.label))))
    assert got == pairs


@needs_shared
def test_niedriha_geometry_beats_one_sided_boundaries() -> None:
    site = shared(NIEDRIHA)
    assert site.stats["doors_two_space"] == 12 and site.stats["doors_one_space"] == 4
    assert site.stats["doors_sb_disagree"] == 5


@needs_shared
def test_duplex_ambiguous_doors_resolved_by_space_boundaries() -> None:
    site = shared(DUPLEX)
    assert site.stats["doors_ambiguous"] == 2 and site.stats["doors_two_space"] == 10
    assert sum(d.exit for d in site.doors.values()) == 4


# --------------------------------------------------------------------------------------------------
# stairs


@needs_shared
def test_fzk_stair_joins_wohnen_to_galerie() -> None:
    site = shared(FZK)
    (stair,) = site.stairs.values()
    assert site.spaces[stair.bottom].label == "Wohnen" and site.spaces[stair.top].label == "Galerie"
    assert stair.bottom_z == pytest.approx(0.0) and 2.4 <= stair.top_z <= 2.75
    assert 3.5 <= stair.length <= 6.0  # a spiral stair: the walking line, longer than end to end
    assert 0.5 <= stair.width <= 1.2


@needs_shared
def test_smiley_stairs_join_flur_to_flur_one_storey_up() -> None:
    site = shared(SMILEY)
    assert len(site.stairs) == 15
    order = [s.id for s in site.storeys]
    for st in site.stairs.values():
        b, t = site.spaces[st.bottom], site.spaces[st.top]
        assert b.long_name.upper().startswith("FLUR") and t.long_name.upper().startswith("FLUR")
        assert order.index(t.storey) == order.index(b.storey) + 1
        assert st.length > math.hypot(*np.subtract(st.top_xy, st.bottom_xy))
        assert 0.6 <= st.width <= 1.5


@needs_shared
def test_duplex_stairs_from_flights() -> None:
    site = shared(DUPLEX)
    pairs = sorted((site.spaces[s.bottom].name, site.spaces[s.top].name) for s in site.stairs.values())
    assert pairs == [("A105", "A201"), ("B105", "B201")]
    for st in site.stairs.values():
        assert st.riser == pytest.approx(0.194, abs=0.005) and st.tread == pytest.approx(0.25, abs=0.01)
        assert 0.8 <= st.width <= 1.2 and 4.0 <= st.length <= 6.0
    # the IfcStairFlight attributes are in feet (0.636 "m" risers); Pset_StairFlightCommon is right
    assert not [w for w in site.warnings if w.code.startswith("stair_")]


@needs_shared
def test_niedriha_stairs() -> None:
    site = shared(NIEDRIHA)
    levels = sorted((site.storey(site.spaces[s.bottom].storey).name, site.storey(site.spaces[s.top].storey).name)
                    for s in site.stairs.values())
    assert levels == [("Erdgeschoss", "Obergeschoss"), ("Keller", "Erdgeschoss")]


# --------------------------------------------------------------------------------------------------
# our own IFC4 builder: the file must load back to the sketch it was built from


@pytest.mark.skipif(not (REPO / "ifc_models" / "chemical_plant.ifc").exists(), reason="sample model missing")
def test_builder_round_trip() -> None:
    from twin.sketch import read_sketch

    site = read_ifc(REPO / "ifc_models" / "chemical_plant.ifc")
    sketch = read_sketch(REPO / "ifc_models" / "chemical_plant.site.yaml")
    assert site.name == sketch.name and not site.warnings
    assert [(s.id, s.elevation, s.building) for s in site.storeys] == [
        (s.id, s.elevation, s.building) for s in sketch.storeys
    ]
    for kind in ("spaces", "doors", "stairs", "equipment", "sensors", "alarms", "muster"):
        assert set(getattr(site, kind)) == set(getattr(sketch, kind)), kind
    for d in sketch.doors.values():
        got = site.doors[d.id]
        assert (got.spaces, got.exit, got.open, got.width) == (d.spaces, d.exit, d.open, pytest.approx(d.width))
    for s in sketch.stairs.values():
        got = site.stairs[s.id]
        assert (got.bottom, got.top) == (s.bottom, s.top)
        assert got.length == pytest.approx(s.length) and got.width == pytest.approx(s.width)
    for s in sketch.sensors.values():
        got = site.sensors[s.id]
        assert (got.kind, got.gas, got.setpoints, got.t90, got.noise, got.period, got.extra) == (
            s.kind, s.gas, s.setpoints, s.t90, s.noise, s.period, s.extra)  # fmt: skip
        assert got.space == s.space
    for e in sketch.equipment.values():
        got = site.equipment[e.id]
        assert got.kind == e.kind and np.allclose(got.position, e.position, atol=1e-3)


# --------------------------------------------------------------------------------------------------
# small models written here: IFC2X3 registries through type objects, IFC4 through occurrence classes


class _Tiny:
    """A one-storey model in millimetres: rooms A (0..5 m) and B (5..9 m) x (0..4 m) on a storey at 3 m."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        f = self.f = ifcopenshell.api.project.create_file(version=schema)
        if schema == "IFC2X3":  # IFC2X3 needs an owner history on every rooted entity: a user and an app
            org = f.createIfcOrganization(None, "drilltwin tests")
            f.createIfcPersonAndOrganization(f.createIfcPerson(None, "Tester"), org)
            f.createIfcApplication(org, "0", "drilltwin tests", "drilltwin-tests")
        self.project = ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="Tiny plant")
        mm = ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT", prefix="MILLI")
        ifcopenshell.api.unit.assign_unit(f, units=[mm])
        model = ifcopenshell.api.context.add_context(f, context_type="Model")
        self.body = ifcopenshell.api.context.add_context(
            f, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model
        )
        self.site = self.entity("IfcSite", "Plant site", None)
        ifcopenshell.api.aggregate.assign_object(f, products=[self.site], relating_object=self.project)
        self.building = self.entity("IfcBuilding", "Process hall", None)
        ifcopenshell.api.aggregate.assign_object(f, products=[self.building], relating_object=self.site)
        self.storey = self.entity("IfcBuildingStorey", "Ground", (0, 0, 3.0))
        self.storey.Elevation = 3000.0
        ifcopenshell.api.aggregate.assign_object(f, products=[self.storey], relating_object=self.building)
        self.space("A", (2.5, 2.0), 5.0, 4.0)
        self.space("B", (7.0, 2.0), 4.0, 4.0)

    def entity(self, cls: str, name: str | None, at: tuple[float, float, float] | None):
        ent = ifcopenshell.api.root.create_entity(self.f, ifc_class=cls, name=name)
        if at is not None:
            m = np.eye(4)
            m[:3, 3] = at
            ifcopenshell.api.geometry.edit_object_placement(self.f, product=ent, matrix=m, is_si=True)
        return ent

    def box(self, ent, dx: float, dy: float, dz: float) -> None:
        """A box (m) centred on the placement in XY, from the placement up."""
        f = self.f
        centre = f.createIfcAxis2Placement2D(f.createIfcCartesianPoint((0.0, 0.0)), None)  # required in 2X3
        profile = f.createIfcRectangleProfileDef("AREA", None, centre, dx * 1000, dy * 1000)
        pos = f.createIfcAxis2Placement3D(f.createIfcCartesianPoint((0.0, 0.0, 0.0)), None, None)
        solid = f.createIfcExtrudedAreaSolid(profile, pos, f.createIfcDirection((0.0, 0.0, 1.0)), dz * 1000)
        rep = f.createIfcShapeRepresentation(self.body, "Body", "SweptSolid", [solid])
        ifcopenshell.api.geometry.assign_representation(f, product=ent, representation=rep)

    def contain(self, ent, where=None) -> None:
        ifcopenshell.api.spatial.assign_container(self.f, products=[ent], relating_structure=where or self.storey)

    def space(self, name: str, centre: tuple[float, float], dx: float, dy: float) -> None:
        sp = self.entity("IfcSpace", name, (centre[0], centre[1], 3.0))
        sp.LongName = f"Room {name}"
        ifcopenshell.api.aggregate.assign_object(self.f, products=[sp], relating_object=self.storey)
        self.box(sp, dx, dy, 2.8)
        self.pset(sp, "DrillTwin_Space", {"AirChangesPerHour": 6.0, "Use": "process"})

    def door(self, name: str, at: tuple[float, float], width: float, *, opening: bool = True):
        d = self.entity("IfcDoor", name, (at[0], at[1], 3.0))
        d.OverallWidth, d.OverallHeight = width * 1000, 2100.0
        self.contain(d)
        if opening:
            op = self.entity("IfcOpeningElement", None, (at[0], at[1], 3.0))
            self.box(op, 0.2, width, 2.1)
            ifcopenshell.api.feature.add_filling(self.f, opening=op, element=d)
        else:
            self.box(d, 0.05, width, 2.1)
        return d

    def pset(self, ent, name: str, props: dict) -> None:
        ps = ifcopenshell.api.pset.add_pset(self.f, product=ent, name=name)
        ifcopenshell.api.pset.edit_pset(self.f, pset=ps, properties=props)

    def item(self, cls: str, name: str, at: tuple[float, float, float], type_cls: str | None = None,
             predefined: str | None = None):
        ent = self.entity(cls, name, at)
        if predefined and type_cls is None:
            ent.PredefinedType = predefined
        if type_cls:
            typ = ifcopenshell.api.root.create_entity(self.f, ifc_class=type_cls, name=f"{name} type",
                                                      predefined_type=predefined)
            ifcopenshell.api.type.assign_type(self.f, related_objects=[ent], relating_type=typ)
        self.contain(ent)
        return ent

    def write(self, path: Path) -> Path:
        self.f.write(str(path))
        return path


def _tiny(tmp_path: Path, schema: str) -> Site:
    t = _Tiny(schema)
    t.door("D-AB", (5.0, 2.0), 0.9)
    exit_door = t.door("D-West", (0.0, 2.0), 1.2, opening=False)  # no opening: the door body is used
    t.pset(exit_door, "DrillTwin_Door", {"Open": True})
    t.door("D-Cubicle", (2.5, 2.0), 0.7)  # 2 m inside room A
    wall = t.entity("IfcWall", "W-AB", None)
    t.contain(wall)
    gap = t.entity("IfcOpeningElement", "Gap", (5.0, 3.3, 3.0))  # an open doorway: no door fills it
    t.box(gap, 0.2, 0.8, 2.1)
    ifcopenshell.api.feature.add_feature(t.f, feature=gap, element=wall)
    reactor = t.entity("IfcBuildingElementProxy", "R-1", (8.0, 1.0, 3.5))
    t.contain(reactor)
    t.pset(reactor, "DrillTwin_Equipment", {"Kind": "Reactor"})
    if schema == "IFC2X3":
        t.item("IfcFlowMovingDevice", "P-1", (2.0, 1.0, 3.5), "IfcPumpType", "CIRCULATOR")
        t.item("IfcFlowController", "V-1", (6.0, 1.0, 3.5), "IfcValveType", "ISOLATING")
        t.item("IfcFlowStorageDevice", "T-1", (7.5, 3.0, 3.0), "IfcTankType", "VESSEL")
        t.item("IfcFlowSegment", "DUCT-1", (7.0, 2.0, 5.0), "IfcDuctSegmentType", "RIGIDSEGMENT")
        t.item("IfcFlowTerminal", "LIGHT-1", (2.0, 2.0, 5.5), "IfcLightFixtureType", "POINTSOURCE")
        t.item("IfcFlowController", "XV-2 shut-off valve", (6.0, 3.0, 3.5))  # untyped: read by its words
        t.item("IfcFlowStorageDevice", "BUF-1", (8.0, 3.0, 3.5))  # untyped, no words: generic kind
        gd = t.item("IfcDistributionControlElement", "GD-1", (3.0, 3.0, 3.5), "IfcSensorType", "GASSENSOR")
        t.item("IfcDistributionControlElement", "SD-1", (7.0, 3.0, 5.7), "IfcSensorType", "SMOKESENSOR")
        t.item("IfcDistributionControlElement", "SIREN-1", (1.0, 3.5, 5.5), "IfcAlarmType", "SIREN")
        t.item("IfcDistributionControlElement", "MCP-1", (0.3, 3.5, 4.4), "IfcAlarmType", "MANUALPULLBOX")
        mp = t.entity("IfcBuildingElementProxy", "Assembly point North", (-20.0, 2.0, 0.0))
    else:
        t.item("IfcPump", "P-1", (2.0, 1.0, 3.5))
        t.item("IfcValve", "V-1", (6.0, 1.0, 3.5))
        t.item("IfcTank", "T-1", (7.5, 3.0, 3.0))
        t.item("IfcDuctSegment", "DUCT-1", (7.0, 2.0, 5.0))
        t.item("IfcLightFixture", "LIGHT-1", (2.0, 2.0, 5.5))
        gd = t.item("IfcSensor", "GD-1", (3.0, 3.0, 3.5), predefined="GASSENSOR")
        t.item("IfcSensor", "SD-1", (7.0, 3.0, 5.7), predefined="SMOKESENSOR")
        t.item("IfcAlarm", "SIREN-1", (1.0, 3.5, 5.5), predefined="SIREN")
        t.item("IfcAlarm", "MCP-1", (0.3, 3.5, 4.4), predefined="MANUALPULLBOX")
        mp = t.entity("IfcAnnotation", "M1", (-20.0, 2.0, 0.0))
        mp.ObjectType = "MusterPoint"
    t.contain(mp, t.site)
    t.pset(gd, "DrillTwin_Sensor", {"Gas": "H2S", "Setpoints": "20 ppm;10 ppm", "T90": 30.0,
                                    "Noise": "0.5 ppm", "Period": 2.0})
    return read_ifc(t.write(tmp_path / f"tiny_{schema}.ifc"))


@pytest.mark.parametrize("schema", ["IFC2X3", "IFC4"])
def test_small_model_spaces_and_doors(tmp_path: Path, schema: str) -> None:
    site = _tiny(tmp_path, schema)
    assert site.schema == schema and site.name == "Tiny plant"
    assert [(s.name, s.elevation, s.walkable) for s in site.storeys] == [("Ground", 3.0, True)]
    a, b = by_name(site, "spaces", "A"), by_name(site, "spaces", "B")
    assert a.area == pytest.approx(20.0) and b.area == pytest.approx(16.0)
    assert (a.elevation, a.height, a.long_name, a.ach, a.use) == (3.0, 2.8, "Room A", 6.0, "process")
    assert a.building == site.buildings[0].id and site.buildings[0].name == "Process hall"
    ab = by_name(site, "doors", "D-AB")
    assert set(ab.spaces) == {a.id, b.id} and not ab.external and ab.width == 0.9
    assert ab.position == pytest.approx((5.0, 2.0, 4.05))
    west = by_name(site, "doors", "D-West")
    assert west.spaces == (a.id,) and west.exit and west.open and west.width == 1.2
    assert "D-Cubicle" not in {d.name for d in site.doors.values()}
    gap = by_name(site, "doors", "Gap")
    assert (gap.kind, gap.open, set(gap.spaces), gap.width) == ("passage", True, {a.id, b.id}, 0.8)
    assert site.stats["passages"] == 1
    assert site.stats["doors_ignored_inside"] == 1
    assert [w.code for w in site.warnings] == ["door_inside_space"]


@pytest.mark.parametrize("schema", ["IFC2X3", "IFC4"])
def test_small_model_registries(tmp_path: Path, schema: str) -> None:
    site = _tiny(tmp_path, schema)
    a, b = by_name(site, "spaces", "A"), by_name(site, "spaces", "B")
    kinds = {e.name: (e.kind, e.space) for e in site.equipment.values()}
    expected = {"P-1": ("pump", a.id), "V-1": ("valve", b.id), "T-1": ("tank", b.id), "R-1": ("reactor", b.id)}
    if schema == "IFC2X3":
        expected |= {"XV-2 shut-off valve": ("valve", b.id), "BUF-1": ("storage", b.id)}
    assert kinds == expected
    p1 = by_name(site, "equipment", "P-1")
    assert p1.position == pytest.approx((2.0, 1.0, 3.5)) and p1.storey == a.storey
    gd = by_name(site, "sensors", "GD-1")
    assert (gd.kind, gd.gas, gd.space, gd.t90, gd.period) == ("gas", "H2S", a.id, 30.0, 2.0)
    assert [str(c) for c in gd.setpoints] == ["10 ppm", "20 ppm"] and str(gd.noise) == "0.5 ppm"
    assert by_name(site, "sensors", "SD-1").kind == "smoke"
    (siren,) = site.alarms.values()  # the manual call point is not a sounder
    assert (siren.name, siren.kind, siren.space) == ("SIREN-1", "siren", a.id)
    (muster,) = site.muster.values()
    assert muster.position == pytest.approx((-20.0, 2.0, 0.0)) and not muster.auto


def test_small_model_messy_parts_warn(tmp_path: Path) -> None:
    """Each fallback leaves a named warning: storey without Elevation, a low space, an unplaced space,
    a door far from every space."""
    t = _Tiny("IFC4")
    t.storey.Elevation = None
    crawl = t.entity("IfcSpace", "Crawl", (2.5, 8.0, 3.0))
    ifcopenshell.api.aggregate.assign_object(t.f, products=[crawl], relating_object=t.storey)
    t.box(crawl, 5.0, 4.0, 1.2)
    loose = t.entity("IfcSpace", "Loose", (2.5, -5.0, 3.0))  # in no storey
    t.box(loose, 5.0, 4.0, 2.8)
    t.door("Lost", (30.0, 30.0), 0.9)
    site = read_ifc(t.write(tmp_path / "messy.ifc"))
    codes = {w.code: w for w in site.warnings}
    assert {"storey_no_elevation", "space_not_walkable", "space_unplaced", "door_unconnected"} <= set(codes)
    assert "'Lost'" in codes["door_unconnected"].entity and "'Crawl'" in codes["space_not_walkable"].entity
    assert site.storeys[0].elevation == 3.0
    assert not by_name(site, "spaces", "Crawl").walkable
    assert by_name(site, "spaces", "Loose").storey == site.storeys[0].id
    assert site.stats["doors_unconnected"] == 1 and "Lost" not in {d.name for d in site.doors.values()}


def test_small_model_without_units_assumes_metres(tmp_path: Path) -> None:
    t = _Tiny("IFC4")
    t.project.UnitsInContext = None
    site = read_ifc(t.write(tmp_path / "nounits.ifc"))
    assert site.stats["unit_scale"] == 1.0
    assert any(w.code == "unit_scale" for w in site.warnings)
