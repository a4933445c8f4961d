"""Site sketches: the format of CONTRACTS section 2, its extensions, its errors, and the sample sketches."""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin.errors import InputError
from twin.site import DEFAULT_ACH
from twin.sketch import read_sketch, sketch_from_dict, sketch_guid

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "ifc_models"


def base() -> dict[str, Any]:
    """Two storeys of one building: a hall and an office below, a landing above, a stair between."""
    return {
        "name": "Test site",
        "storeys": [
            {"name": "Ground", "elevation": 0, "height": 3.5, "spaces": [
                {"name": "Hall", "polygon": [[0, 0], [20, 0], [20, 10], [0, 10]], "use": "hall"},
                {"name": "Office", "polygon": [[20, 0], [26, 0], [26, 10], [20, 10]], "use": "office", "ach": 3},
            ], "doors": [
                {"name": "D1", "at": [10, 0], "width": "1.2 m", "between": ["Hall", "outside"]},
                {"name": "D2", "at": [20, 5], "width": 0.9, "between": ["Hall", "Office"]},
            ]},
            {"name": "Level 1", "elevation": 3.5, "height": 3, "spaces": [
                {"name": "Landing", "polygon": [[0, 0], [8, 0], [8, 10], [0, 10]], "long_name": "Upper landing"},
            ], "doors": [
                {"name": "D3", "at": [0, 5], "width": 1.0, "between": ["Landing", "outside"]},
            ]},
        ],
        "stairs": [{"name": "S1", "from": ["Ground", "Hall"], "to": ["Level 1", "Landing"], "width": 1.2,
                    "length": 7.0, "at": [2, 1], "heading": 90}],
        "equipment": [{"name": "P-101", "kind": "pump", "space": "Hall", "at": [10, 5, 1.0]}],
        "sensors": [{"name": "GD-1", "kind": "gas", "gas": "H2S", "space": "Hall", "at": [12, 5, 0.5],
                     "setpoints": ["10 ppm", "20 ppm"], "t90": "30s", "noise": "0.5 ppm", "period": "1s"}],
        "alarms": [{"name": "SIREN-1", "space": "Landing", "at": [4, 5, 2.5]}],
        "muster": [{"name": "M1", "at": [-20, 5]}],
    }


def write(tmp_path: Path, data: dict[str, Any], name: str = "test.site.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def by_name(items: dict[str, Any], name: str) -> Any:
    return next(it for it in items.values() if it.name == name)


# ---------------------------------------------------------------------------------------------------------
# the format


def test_base_sketch_loads(tmp_path: Path) -> None:
    site = read_sketch(write(tmp_path, base()))
    assert site.schema == "sketch"
    assert site.source.endswith("test.site.yaml")
    assert site.summary() == {"storeys": 2, "spaces": 3, "doors": 3, "stairs": 1, "equipment": 1,
                              "sensors": 1, "alarms": 1, "muster": 1}
    assert [b.name for b in site.buildings] == ["Test site"]
    assert not site.warnings
    hall = by_name(site.spaces, "Hall")
    assert hall.area == pytest.approx(200.0)
    assert hall.volume == pytest.approx(700.0)
    assert hall.effective_ach() == DEFAULT_ACH["hall"]
    assert by_name(site.spaces, "Office").effective_ach() == 3
    landing = by_name(site.spaces, "Landing")
    assert (landing.elevation, landing.height, landing.long_name) == (3.5, 3.0, "Upper landing")


def test_doors_exits_and_positions(tmp_path: Path) -> None:
    site = read_sketch(write(tmp_path, base()))
    d1, d2, d3 = (by_name(site.doors, n) for n in ("D1", "D2", "D3"))
    hall, office, landing = (by_name(site.spaces, n) for n in ("Hall", "Office", "Landing"))
    assert d1.spaces == (hall.id,) and d1.exit and d1.external and d1.width == pytest.approx(1.2)
    assert d2.spaces == (hall.id, office.id) and not d2.exit and not d2.external and not d2.open
    # an outside door on an upper storey is external (a balcony) but not an exit
    assert d3.spaces == (landing.id,) and d3.external and not d3.exit
    assert d1.position == (10.0, 0.0, 1.05)
    assert d3.position == pytest.approx((0.0, 5.0, 3.5 + 1.05))
    assert d3.storey == landing.storey


def test_exit_overrides_and_open(tmp_path: Path) -> None:
    data = base()
    data["storeys"][0]["doors"][0]["exit"] = False
    data["storeys"][0]["doors"][1]["open"] = True
    data["storeys"][1]["doors"][0]["exit"] = True
    site = read_sketch(write(tmp_path, data))
    assert not by_name(site.doors, "D1").exit and by_name(site.doors, "D1").external
    assert by_name(site.doors, "D2").open
    assert by_name(site.doors, "D3").exit


def test_stair_geometry(tmp_path: Path) -> None:
    site = read_sketch(write(tmp_path, base()))
    s = by_name(site.stairs, "S1")
    assert s.bottom == by_name(site.spaces, "Hall").id and s.top == by_name(site.spaces, "Landing").id
    run = math.sqrt(7.0**2 - 3.5**2)
    assert s.bottom_xy == (2.0, 1.0)
    assert s.top_xy == pytest.approx((2.0, 1.0 + run), abs=1e-3)
    assert (s.bottom_z, s.top_z, s.length, s.width) == (0.0, 3.5, 7.0, 1.2)
    assert s.riser * round(3.5 / s.riser) == pytest.approx(3.5)
    assert math.hypot(s.riser, s.tread) * round(3.5 / s.riser) == pytest.approx(7.0)


def test_stair_defaults_find_a_heading(tmp_path: Path) -> None:
    data = base()
    data["stairs"][0] = {"name": "S1", "from": ["Ground", "Hall"], "to": ["Level 1", "Landing"]}
    site = read_sketch(write(tmp_path, data))
    s = by_name(site.stairs, "S1")
    landing = by_name(site.spaces, "Landing")
    from shapely.geometry import Point

    assert landing.footprint.contains(Point(s.bottom_xy))  # inside the overlap of the two footprints
    assert landing.footprint.contains(Point(s.top_xy))
    rise = 3.5
    assert s.length == pytest.approx(rise * math.hypot(0.175, 0.28) / 0.175)
    assert math.dist(s.bottom_xy, s.top_xy) == pytest.approx(math.sqrt(s.length**2 - rise**2), abs=1e-3)
    assert s.width == 1.2


def test_items_positions_and_quantities(tmp_path: Path) -> None:
    data = base()
    data["alarms"][0]["at"] = [4, 5]  # z defaults to 2.5 m above the floor
    data["muster"].append({"name": "M2", "at": [30, 30, 1.5]})
    site = read_sketch(write(tmp_path, data))
    p = by_name(site.equipment, "P-101")
    assert p.kind == "pump" and p.position == (10.0, 5.0, 1.0) and p.space == by_name(site.spaces, "Hall").id
    gd = by_name(site.sensors, "GD-1")
    assert gd.gas == "H2S" and gd.t90 == 30.0 and gd.period == 1.0
    assert [(c.value, c.unit) for c in gd.setpoints] == [(10.0, "ppm"), (20.0, "ppm")]
    assert (gd.noise.value, gd.noise.unit) == (0.5, "ppm")
    al = by_name(site.alarms, "SIREN-1")
    assert al.position == pytest.approx((4.0, 5.0, 3.5 + 2.5)) and al.kind == "siren"
    assert by_name(site.muster, "M1").position == (-20.0, 5.0, 0.0)
    assert by_name(site.muster, "M2").position == (30.0, 30.0, 1.5)


def test_units_in_strings(tmp_path: Path) -> None:
    data = base()
    data["storeys"][0]["doors"][1]["width"] = "90 cm"
    data["storeys"][0]["height"] = "3500 mm"
    data["storeys"][0]["spaces"][0]["ach"] = "4 1/h"
    data["sensors"][0].update(t90="0.5 min", setpoints=["20 %LEL", "40 %LEL"], noise="1 %LEL", period="500 ms")
    data["stairs"][0].update(length="700 cm", heading="90 deg")
    site = read_sketch(write(tmp_path, data))
    assert by_name(site.doors, "D2").width == pytest.approx(0.9)
    assert by_name(site.spaces, "Hall").height == pytest.approx(3.5)
    assert by_name(site.spaces, "Hall").ach == pytest.approx(4.0)
    gd = by_name(site.sensors, "GD-1")
    assert gd.t90 == 30.0 and gd.period == 0.5 and gd.setpoints[1].unit == "%LEL"
    assert by_name(site.stairs, "S1").length == pytest.approx(7.0)


def test_ids_are_deterministic_guids(tmp_path: Path) -> None:
    site = read_sketch(write(tmp_path, base()))
    hall = by_name(site.spaces, "Hall")
    assert hall.id == sketch_guid("space", "Test site", "Ground", "Hall")
    assert by_name(site.doors, "D2").id == sketch_guid("door", "Test site", "Ground", "D2")
    assert by_name(site.stairs, "S1").id == sketch_guid("stair", "Test site", "Ground", "S1")
    assert by_name(site.sensors, "GD-1").id == sketch_guid("sensor", "Test site", "Ground", "GD-1")
    assert len(hall.id) == 22
    ids = [i for kind in ("spaces", "doors", "stairs", "equipment", "sensors", "alarms", "muster")
           for i in getattr(site, kind)] + [s.id for s in site.storeys]
    assert len(ids) == len(set(ids))
    assert read_sketch(write(tmp_path, base(), "again.site.yaml")).spaces.keys() == site.spaces.keys()


def test_buildings_extension(tmp_path: Path) -> None:
    one = base()
    data = {"name": "Campus", "buildings": [
        {"name": "North", "storeys": one["storeys"], "stairs": one["stairs"], "equipment": one["equipment"]},
        {"name": "South", "storeys": [{"name": "Ground", "spaces": [
            {"name": "Hall", "polygon": [[0, -30], [10, -30], [10, -20], [0, -20]]}],
            "doors": [{"name": "S-D1", "at": [5, -30], "between": ["Hall", "outside"]}]}]},
    ], "sensors": [{"name": "GD-9", "gas": "CH4", "space": "South/Ground/Hall", "at": [5, -25]}],
        "alarms": [{"name": "A1", "space": "Landing", "at": [1, 1]}],
        "muster": one["muster"]}
    site = read_sketch(write(tmp_path, data))
    assert [b.name for b in site.buildings] == ["North", "South"]
    assert len(site.storeys) == 3 and len(site.spaces) == 4
    south_hall = next(sp for sp in site.spaces.values() if sp.name == "Hall" and sp.footprint.bounds[1] < 0)
    assert by_name(site.sensors, "GD-9").space == south_hall.id
    assert by_name(site.sensors, "GD-9").position[2] == 1.5  # default sensor height
    assert by_name(site.doors, "S-D1").exit  # each building has its own ground-access storey
    assert by_name(site.doors, "S-D1").width == 0.9  # default width
    assert south_hall.id == sketch_guid("space", "South", "Ground", "Hall")


def test_storey_elevation_defaults_stack(tmp_path: Path) -> None:
    data = base()
    del data["storeys"][1]["elevation"]
    data["storeys"][0]["elevation"] = 0.5
    site = read_sketch(write(tmp_path, data))
    assert [s.elevation for s in site.storeys] == [0.5, 4.0]


def test_warns_when_a_door_is_near_an_unnamed_space(tmp_path: Path) -> None:
    data = base()
    data["storeys"][0]["spaces"].append({"name": "Kiosk", "polygon": [[10.3, -3], [12, -3], [12, -0.2], [10.3, -0.2]]})
    site = read_sketch(write(tmp_path, data))
    assert [w.code for w in site.warnings] == ["door_near_other_space"]
    assert site.warnings[0].entity == "D1" and "Kiosk" in site.warnings[0].message


def test_unknown_use_is_a_warning(tmp_path: Path) -> None:
    data = base()
    data["storeys"][0]["spaces"][0]["use"] = "ofice"
    site = read_sketch(write(tmp_path, data))
    assert [w.code for w in site.warnings] == ["space_use_unknown"]
    assert by_name(site.spaces, "Hall").effective_ach() == DEFAULT_ACH["default"]


# ---------------------------------------------------------------------------------------------------------
# errors: one line, naming the file and the entity


def _set(path: str, value: Any):
    def change(d: dict[str, Any]) -> None:
        node: Any = d
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        last = keys[-1]
        if value is _DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return change


_DELETE = object()

ERRORS = [
    ("self-intersecting polygon", _set("storeys.0.spaces.1.polygon", [[20, 0], [26, 10], [26, 0], [20, 10]]),
     ["storeys[0]", "'Office'", "polygon", "self-intersect"]),
    ("door on no edge", _set("storeys.0.doors.1.at", [15, 5]),
     ["storeys[0]", "doors[1] 'D2'", "door 'D2'", "within 0.5 m"]),
    ("unknown space in between", _set("storeys.0.doors.1.between", ["Hall", "Ofice"]),
     ["doors[1] 'D2'", "'Ofice'", "candidates: Hall, Office, outside", "did you mean 'Office'"]),
    ("duplicate space", _set("storeys.0.spaces.1.name", "Hall"), ["spaces[1] 'Hall'", "duplicate space name"]),
    ("duplicate door", _set("storeys.1.doors.0.name", "D1"), ["doors[0] 'D1'", "duplicate door name", "doors[0]"]),
    ("duplicate storey", _set("storeys.1.name", "Ground"), ["storeys[1] 'Ground'", "duplicate storey"]),
    ("duplicate sensor", lambda d: d["sensors"].append(dict(d["sensors"][0])),
     ["sensors[1] 'GD-1'", "duplicate sensor name"]),
    ("bad unit", _set("storeys.0.doors.0.width", "1.2 kg"), ["doors[0] 'D1'.width", "mass", "length"]),
    ("unknown unit", _set("sensors.0.t90", "30 fortnights"), ["sensors[0] 'GD-1'.t90", "unknown unit"]),
    ("unknown field", _set("storeys.0.doors.0.widht", 1.0),
     ["doors[0] 'D1'", "unknown field 'widht'", "did you mean 'width'"]),
    ("unknown top-level field", _set("stories", []), ["unknown field 'stories'"]),
    ("missing field", _set("storeys.0.doors.0.between", _DELETE), ["doors[0] 'D1'", "missing required field 'between'"]),
    ("too few points", _set("storeys.0.spaces.0.polygon", [[0, 0], [1, 1]]), ["'Hall'", "at least 3 points"]),
    ("overlap", _set("storeys.0.spaces.1.polygon", [[19, 0], [26, 0], [26, 10], [19, 10]]),
     ["'Office'", "overlaps space 'Hall'", "10.00 m2"]),
    ("bool for a number", _set("storeys.0.height", True), ["storeys[0] 'Ground'.height", "expected a number"]),
    ("stair too short", _set("stairs.0.length", 3.0), ["stairs[0] 'S1'", "shorter than the rise"]),
    ("stair lands outside", _set("stairs.0.heading", 180), ["stairs[0] 'S1'", "outside space 'Landing'"]),
    ("stair going down", _set("stairs.0.to", ["Ground", "Office"]), ["stairs[0] 'S1'", "not above"]),
    ("stair unknown storey", _set("stairs.0.to", ["Level 2", "Landing"]),
     ["stairs[0] 'S1'.to", "unknown storey 'Level 2'", "candidates: Ground, Level 1"]),
    ("item outside its space", _set("equipment.0.at", [40, 5, 1]), ["equipment[0] 'P-101'.at", "outside space 'Hall'"]),
    ("item in unknown space", _set("alarms.0.space", "Roof"), ["alarms[0] 'SIREN-1'.space", "unknown space 'Roof'"]),
    ("setpoints descending", _set("sensors.0.setpoints", ["20 ppm", "10 ppm"]), ["'GD-1'.setpoints", "ascending"]),
    ("bad sensor kind", _set("sensors.0.kind", "sniffer"), ["sensors[0] 'GD-1'.kind"]),
    ("exit on an inner door", _set("storeys.0.doors.1.exit", True), ["doors[1] 'D2'.exit", "outside"]),
    ("door to the outside twice", _set("storeys.0.doors.1.between", ["outside", "outside"]), ["'D2'", "outside twice"]),
    ("both layouts", _set("buildings", []), ["either 'storeys'", "or 'buildings'"]),
    ("space named outside", _set("storeys.0.spaces.1.name", "Outside"), ["'Outside'", "reserved"]),
]


@pytest.mark.parametrize(("label", "change", "expected"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_file_and_entity(tmp_path: Path, label: str, change, expected: list[str]) -> None:
    data = copy.deepcopy(base())
    change(data)
    path = write(tmp_path, data, "bad.site.yaml")
    with pytest.raises(InputError) as info:
        read_sketch(path)
    text = str(info.value)
    assert text.startswith(str(path)), text
    assert "\n" not in text
    assert info.value.source == str(path)
    for part in expected:
        assert part in text, f"{part!r} not in {text!r}"


def test_ambiguous_space_lists_qualified_names(tmp_path: Path) -> None:
    data = base()
    data["storeys"][1]["spaces"].append({"name": "Hall", "polygon": [[10, 0], [20, 0], [20, 10], [10, 10]]})
    path = write(tmp_path, data)
    with pytest.raises(InputError, match=r"equipment\[0\] 'P-101'.space: .*ambiguous.*Ground/Hall, Level 1/Hall"):
        read_sketch(path)
    data["equipment"][0]["space"] = "Ground/Hall"
    data["sensors"][0]["space"] = "Test site/Ground/Hall"
    assert read_sketch(write(tmp_path, data)).equipment


def test_yaml_and_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "broken.site.yaml"
    bad.write_text("name: x\nstoreys: [\n  - {name: G\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken.site.yaml: line \d+, column \d+: not valid YAML"):
        read_sketch(bad)
    with pytest.raises(InputError, match="missing.site.yaml: file not found"):
        read_sketch(tmp_path / "missing.site.yaml")
    (tmp_path / "list.site.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected a mapping"):
        read_sketch(tmp_path / "list.site.yaml")
    dup = tmp_path / "dup.site.yaml"
    dup.write_text("name: x\nstoreys:\n  - {name: G, height: 3, height: 4}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"dup.site.yaml: line 3, column \d+: not valid YAML: duplicate key 'height'"):
        read_sketch(dup)
    with pytest.raises(InputError, match="<data>: missing required field 'name'"):
        sketch_from_dict({"storeys": []}, "<data>")


# ---------------------------------------------------------------------------------------------------------
# the samples


def test_rimea9_geometry() -> None:
    site = read_sketch(MODELS / "rimea9.site.yaml")
    assert not site.warnings
    (hall,) = site.spaces.values()
    assert hall.footprint.bounds == (0.0, 0.0, 30.0, 20.0) and hall.area == 600.0
    doors = sorted(site.doors.values(), key=lambda d: d.name)
    assert [d.name for d in doors] == ["D1", "D2", "D3", "D4"]
    assert [d.xy for d in doors] == [(4.5, 0.0), (25.5, 0.0), (4.5, 20.0), (25.5, 20.0)]
    assert all(d.width == 1.0 and d.exit and d.spaces == (hall.id,) for d in doors)
    assert len(site.muster) == 2


def test_chemical_plant_sample() -> None:
    site = read_sketch(MODELS / "chemical_plant.site.yaml")
    assert not site.warnings
    assert site.summary() == {"storeys": 5, "spaces": 36, "doors": 48, "stairs": 3, "equipment": 9,
                              "sensors": 13, "alarms": 10, "muster": 2}
    assert [b.name for b in site.buildings] == ["Process Building", "Admin and Lab", "Warehouse"]
    names = {sp.name for sp in site.spaces.values()}
    assert {"Control Room", "Laboratory", "Pump Room", "MCC Room", "Storage Hall", "Mezzanine West"} <= names
    kinds = {e.kind for e in site.equipment.values()}
    assert {"pump", "valve", "tank"} <= kinds
    gases = {s.gas: [str(c) for c in s.setpoints] for s in site.sensors.values() if s.gas}
    assert gases["H2S"] == ["10 ppm", "20 ppm"] and gases["CH4"] == ["20 %LEL", "40 %LEL"]
    exits = [d for d in site.doors.values() if d.exit]
    assert len(exits) == 15 and all(1.0 <= d.width <= 1.8 for d in exits)
    assert all(0.9 <= d.width <= 4.0 for d in site.doors.values())
    assert sum(1 for d in site.doors.values() if d.width == 1.8) >= 4
    assert sum(sp.area for sp in site.spaces.values()) > 3000  # room for a few hundred people
    assert all(m.position[2] == 0.0 for m in site.muster.values())


def test_office5_sample() -> None:
    site = read_sketch(MODELS / "office5.site.yaml")
    assert not site.warnings
    assert len(site.storeys) == 5 and len(site.spaces) == 105 and len(site.stairs) == 8
    per_storey = {s.id: 0 for s in site.storeys}
    for sp in site.spaces.values():
        per_storey[sp.storey] += 1
    assert set(per_storey.values()) == {21}
    storey_of = {sp.id: sp.storey for sp in site.spaces.values()}
    pairs: dict[tuple[str, str], int] = {}
    for st in site.stairs.values():
        key = (storey_of[st.bottom], storey_of[st.top])
        pairs[key] = pairs.get(key, 0) + 1
    assert sorted(pairs.values()) == [2, 2, 2, 2]
    exits = sorted(d.name for d in site.doors.values() if d.exit)
    assert exits == ["EXIT-E", "EXIT-MAIN", "EXIT-SA", "EXIT-SB", "EXIT-W"]
    west, east = by_name(site.doors, "EXIT-W"), by_name(site.doors, "EXIT-E")
    assert west.xy[0] == 0 and east.xy[0] == 60


def test_office5_yaml_matches_its_generator() -> None:
    sys.path.insert(0, str(MODELS))
    try:
        import make_office
    finally:
        sys.path.remove(str(MODELS))
    committed = yaml.safe_load((MODELS / "office5.site.yaml").read_text(encoding="utf-8"))
    assert committed == make_office.office_sketch()
