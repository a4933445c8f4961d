"""Writing a :class:`~twin.site.Site` (usually from a sketch) as an IFC4 model, with ifcopenshell.api.

>>> build_ifc(read_sketch("ifc_models/rimea9.site.yaml"), "rimea9.ifc")     # doctest: +SKIP

The file follows the conventions that :mod:`twin.ifc` reads, so it loads back to the same site:

* Units are metres; one IfcSite holds the IfcBuildings, each with IfcBuildingStoreys placed at their
  elevations. The GlobalId of every entity that stands for a site item is that item's id.
* IfcSpace (aggregated under its storey): an IfcExtrudedAreaSolid of an IfcArbitraryClosedProfileDef (the
  footprint, world XY) from the floor up the space's height; Name, LongName; Pset ``DrillTwin_Space``
  {AirChangesPerHour (when set), Use (when set)}.
* IfcWall: one per stretch of space outline (0.1 m thick, centred on the outline, storey height), so that
  every door has a wall to void.
* IfcDoor: OverallWidth/OverallHeight, ``Pset_DoorCommon.IsExternal``, Pset ``DrillTwin_Door`` {Open,
  Exit}; it fills an IfcOpeningElement whose box (width x 0.2 m x height) is centred on the door point in
  XY, lies along the space edge the door sits on, and voids the wall there. An IfcRelSpaceBoundary joins
  the door to each of its spaces.
* IfcStair (contained in the bottom storey) aggregating one IfcStairFlight: a sloped prism of the stair's
  width whose section is a parallelogram with horizontal ends, from the bottom point on the bottom floor
  to the top point on the top floor (the centroid of its lowest vertices is the bottom point, of its
  highest the top point, and it has no vertex in between), a walking line as its ``Axis``
  representation, NumberOfRisers, RiserHeight and TreadLength; Pset ``DrillTwin_Stair`` {Length, Width,
  BottomSpace, TopSpace} (the last two are the spaces' GlobalIds).
* Equipment as IfcPump, IfcValve, IfcTank, IfcPipeSegment, IfcCompressor, ... (IfcFlowController for
  other kinds) with a small box centred on its position and Pset ``DrillTwin_Equipment`` {Kind}; IfcSensor
  (GASSENSOR, SMOKESENSOR, ...) with Pset ``DrillTwin_Sensor`` {Kind, Gas, Setpoints ``"10 ppm;20 ppm"``,
  T90 (s), Noise, Period (s)} (plus ``DrillTwin_SensorExtra`` for ``Sensor.extra``); IfcAlarm (SIREN,
  BELL, LIGHT) with Pset ``DrillTwin_Alarm`` {Kind}. Boxes are centred on the item's position, which is
  also its placement's origin. These are contained in their storey.
* Muster points: IfcAnnotation with ObjectType ``MusterPoint`` contained in the IfcSite, placed at the point.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
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
import ifcopenshell.api.unit
import numpy as np
from shapely.geometry import LineString, Point
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from .site import Alarm, Door, Equipment, MusterPoint, Sensor, Site, Space, Stair, Storey
from .sketch import sketch_guid

__all__ = ["build_ifc", "EQUIPMENT_CLASSES", "SENSOR_TYPES", "ALARM_TYPES"]

WALL_THICKNESS = 0.1
"""m: interior and exterior walls alike; they only need to exist to host the door openings."""
OPENING_DEPTH = 0.2
"""m: the opening box is deeper than the wall so that it cuts cleanly through it."""
DOOR_LEAF = 0.05
"""m: thickness of the door body."""
STAIR_NOSING = 0.3
"""m: horizontal thickness of the sloped flight body (about one tread)."""

EQUIPMENT_CLASSES: dict[str, tuple[str, str | None]] = {
    "pump": ("IfcPump", None),
    "valve": ("IfcValve", None),
    "tank": ("IfcTank", None),
    "vessel": ("IfcTank", "PRESSUREVESSEL"),
    "pipe": ("IfcPipeSegment", None),
    "compressor": ("IfcCompressor", None),
    "fan": ("IfcFan", None),
    "filter": ("IfcFilter", None),
    "heat_exchanger": ("IfcHeatExchanger", None),
    "flange": ("IfcPipeFitting", "JUNCTION"),
    "fitting": ("IfcPipeFitting", None),
}
"""Equipment kind -> (IFC class, PredefinedType); any other kind is an IfcFlowController."""

# Box size (dx, dy, dz) in m by kind; only for viewers, the position is what the twin uses.
_EQUIPMENT_BOX: dict[str, tuple[float, float, float]] = {
    "pump": (0.8, 0.5, 0.6),
    "valve": (0.3, 0.3, 0.3),
    "tank": (2.0, 2.0, 2.0),
    "vessel": (1.5, 1.5, 2.0),
    "pipe": (1.0, 0.2, 0.2),
    "compressor": (1.5, 1.0, 1.0),
}

SENSOR_TYPES = {"gas": "GASSENSOR", "smoke": "SMOKESENSOR", "heat": "HEATSENSOR", "flame": "FIRESENSOR"}
"""Sensor kind -> IfcSensorTypeEnum; other kinds (camera) are USERDEFINED with the kind as ObjectType."""
ALARM_TYPES = {"siren": "SIREN", "bell": "BELL", "light": "LIGHT", "beacon": "LIGHT", "horn": "SIREN"}
"""Alarm kind -> IfcAlarmTypeEnum; other kinds are USERDEFINED."""


def build_ifc(site: Site, out_path: str | os.PathLike, *, timestamp: str | None = None) -> None:
    """Write ``site`` as an IFC4 file at ``out_path`` (folders are created as needed).

    Every IfcSpace, IfcDoor, IfcStair, IfcBuildingStorey, IfcBuilding, equipment item, IfcSensor, IfcAlarm
    and muster IfcAnnotation takes the id of the site item it stands for as its GlobalId. ``timestamp``
    (ISO 8601) goes into the file header instead of the current time, so that rebuilding an unchanged
    site gives an identical file.
    """
    writer = _Writer(site)
    writer.write_all()
    out = Path(out_path)
    header = writer.f.header.file_name
    header.name = out.name
    header.originating_system = "drilltwin twin.ifc_build"
    header.author = ("drilltwin",)
    if timestamp is not None:
        header.time_stamp = timestamp
    out.parent.mkdir(parents=True, exist_ok=True)
    writer.f.write(str(out))


class _Writer:
    """Holds the file, its contexts and the spatial structure while the site is written."""

    def __init__(self, site: Site):
        self.site = site
        self.f = ifcopenshell.api.project.create_file(version="IFC4")
        self.storeys: dict[str, ifcopenshell.entity_instance] = {}
        self.spaces: dict[str, ifcopenshell.entity_instance] = {}
        self.walls: dict[str, list[tuple[LineString, ifcopenshell.entity_instance]]] = {}
        self.named: set[int] = set()  # step ids of entities whose GlobalId is a site id

    # -- helpers ----------------------------------------------------------------------------------------

    def create(self, ifc_class: str, guid: str, name: str | None = None,
               predefined_type: str | None = None) -> ifcopenshell.entity_instance:
        ent = ifcopenshell.api.root.create_entity(self.f, ifc_class=ifc_class, name=name,
                                                  predefined_type=predefined_type)
        ent.GlobalId = guid
        self.named.add(ent.id())
        return ent

    def make_reproducible(self) -> None:
        """Make the same site always give the same file: derive the GlobalIds that ifcopenshell.api made
        at random (relations, property sets) from the site name and the entity's step number, and sort
        the members of relationships (unordered SETs in IFC, which the api fills in set order)."""
        for ent in self.f.by_type("IfcRoot"):
            if ent.id() not in self.named:
                ent.GlobalId = sketch_guid("ifc", self.site.name, str(ent.id()))
        for rel in self.f.by_type("IfcRelationship"):
            for i, value in enumerate(rel):
                if isinstance(value, tuple) and len(value) > 1 and all(
                        isinstance(v, ifcopenshell.entity_instance) for v in value):
                    rel[i] = sorted(value, key=lambda e: e.id())

    def place(self, product: ifcopenshell.entity_instance, origin: Sequence[float],
              x_axis: Sequence[float] = (1.0, 0.0, 0.0)) -> None:
        """Absolute placement (m, world) with the local X axis along ``x_axis`` and Z up; ifcopenshell
        makes it relative to the product's parent, so relations must be set first."""
        x = np.array(x_axis, dtype=float)
        x /= np.linalg.norm(x)
        z = np.array([0.0, 0.0, 1.0])
        m = np.identity(4)
        m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, np.cross(z, x), z, origin
        ifcopenshell.api.geometry.edit_object_placement(self.f, product=product, matrix=m)

    def body(self, product: ifcopenshell.entity_instance, items: list[ifcopenshell.entity_instance],
             rep_type: str = "SweptSolid") -> None:
        rep = self.f.createIfcShapeRepresentation(self.body_ctx, "Body", rep_type, items)
        ifcopenshell.api.geometry.assign_representation(self.f, product=product, representation=rep)

    def point2(self, x: float, y: float) -> ifcopenshell.entity_instance:
        return self.f.createIfcCartesianPoint((float(x), float(y)))

    def axis3(self, origin: Sequence[float] = (0.0, 0.0, 0.0), z: Sequence[float] | None = None,
              x: Sequence[float] | None = None) -> ifcopenshell.entity_instance:
        return self.f.createIfcAxis2Placement3D(
            self.f.createIfcCartesianPoint(tuple(float(v) for v in origin)),
            self.f.createIfcDirection(tuple(float(v) for v in z)) if z is not None else None,
            self.f.createIfcDirection(tuple(float(v) for v in x)) if x is not None else None,
        )

    def box(self, dx: float, dy: float, dz: float, z0: float) -> ifcopenshell.entity_instance:
        """A box centred on the local origin in XY, from local z0 up dz (m)."""
        profile = self.f.createIfcRectangleProfileDef("AREA", None, None, float(dx), float(dy))
        return self.f.createIfcExtrudedAreaSolid(profile, self.axis3((0.0, 0.0, z0)),
                                                 self.f.createIfcDirection((0.0, 0.0, 1.0)), float(dz))

    def pset(self, product: ifcopenshell.entity_instance, name: str, props: dict[str, object]) -> None:
        props = {k: v for k, v in props.items() if v is not None}
        if not props:
            return
        pset = ifcopenshell.api.pset.add_pset(self.f, product=product, name=name)
        ifcopenshell.api.pset.edit_pset(self.f, pset=pset, properties=props)

    # -- the file ---------------------------------------------------------------------------------------

    def write_all(self) -> None:
        self.setup()
        for b in self.site.buildings or []:
            self.building(b.id, b.name)
        orphans = [s for s in self.site.storeys if s.building is None or s.building not in self.buildings]
        if orphans:  # a site without buildings (possible from other readers) gets one
            self.building(sketch_guid("building", self.site.name, "default"), self.site.name, orphans)
        for sp in self.site.spaces.values():
            self.space(sp)
        for storey in self.site.storeys:
            self.storey_walls(storey)
        for d in self.site.doors.values():
            self.door(d)
        for st in self.site.stairs.values():
            self.stair(st)
        for eq in self.site.equipment.values():
            self.equipment(eq)
        for se in self.site.sensors.values():
            self.sensor(se)
        for al in self.site.alarms.values():
            self.alarm(al)
        for mp in self.site.muster.values():
            self.muster(mp)
        self.make_reproducible()

    def setup(self) -> None:
        f = self.f
        self.project = self.create("IfcProject", sketch_guid("project", self.site.name), self.site.name)
        units = [ifcopenshell.api.unit.add_si_unit(f, unit_type=t)
                 for t in ("LENGTHUNIT", "AREAUNIT", "VOLUMEUNIT", "PLANEANGLEUNIT", "TIMEUNIT")]
        # Written directly rather than with unit.assign_unit, which passes the units through a set and
        # so orders them differently from one call to the next (the file would not be reproducible).
        f.createIfcUnitAssignment(units)
        self.project.UnitsInContext = f.by_type("IfcUnitAssignment")[0]
        model = ifcopenshell.api.context.add_context(f, context_type="Model")
        self.body_ctx = ifcopenshell.api.context.add_context(
            f, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model)
        self.axis_ctx = ifcopenshell.api.context.add_context(
            f, context_type="Model", context_identifier="Axis", target_view="GRAPH_VIEW", parent=model)
        self.ifc_site = self.create("IfcSite", sketch_guid("site", self.site.name), self.site.name)
        ifcopenshell.api.aggregate.assign_object(f, products=[self.ifc_site], relating_object=self.project)
        self.place(self.ifc_site, (0.0, 0.0, 0.0))
        self.buildings: dict[str, ifcopenshell.entity_instance] = {}

    def building(self, guid: str, name: str, storeys: Iterable[Storey] | None = None) -> None:
        ent = self.create("IfcBuilding", guid, name)
        ifcopenshell.api.aggregate.assign_object(self.f, products=[ent], relating_object=self.ifc_site)
        self.place(ent, (0.0, 0.0, 0.0))
        self.buildings[guid] = ent
        for s in storeys if storeys is not None else [s for s in self.site.storeys if s.building == guid]:
            st = self.create("IfcBuildingStorey", s.id, s.name)
            st.Elevation = float(s.elevation)
            ifcopenshell.api.aggregate.assign_object(self.f, products=[st], relating_object=ent)
            self.place(st, (0.0, 0.0, s.elevation))
            self.storeys[s.id] = st

    def space(self, sp: Space) -> None:
        ent = self.create("IfcSpace", sp.id, sp.name, "INTERNAL")
        ent.LongName = sp.long_name
        ifcopenshell.api.aggregate.assign_object(self.f, products=[ent], relating_object=self.storeys[sp.storey])
        self.place(ent, (0.0, 0.0, sp.elevation))
        ring = list(orient(sp.footprint, 1.0).exterior.coords)
        curve = self.f.createIfcPolyline([self.point2(x, y) for x, y in ring])
        profile = self.f.createIfcArbitraryClosedProfileDef("AREA", None, curve)
        solid = self.f.createIfcExtrudedAreaSolid(profile, self.axis3(), self.f.createIfcDirection((0.0, 0.0, 1.0)),
                                                  float(sp.height))
        self.body(ent, [solid])
        self.pset(ent, "DrillTwin_Space", {"AirChangesPerHour": _f(sp.ach), "Use": sp.use})
        self.spaces[sp.id] = ent

    def storey_walls(self, storey: Storey) -> None:
        """One IfcWall per stretch of space outline on the storey, shared edges written once."""
        spaces = [sp for sp in self.site.spaces.values() if sp.storey == storey.id]
        if not spaces:
            return
        height = max(sp.height for sp in spaces)
        noded = unary_union([sp.footprint.exterior for sp in spaces])
        walls = []
        for seg in _segments(noded):
            (x0, y0), (x1, y1) = seg.coords
            key = f"{x0:.3f},{y0:.3f},{x1:.3f},{y1:.3f}"
            ent = self.create("IfcWall", sketch_guid("wall", storey.id, key), None, "STANDARD")
            ifcopenshell.api.spatial.assign_container(self.f, products=[ent], relating_structure=self.storeys[storey.id])
            self.place(ent, (x0, y0, storey.elevation), (x1 - x0, y1 - y0, 0.0))
            length = seg.length
            profile = self.f.createIfcRectangleProfileDef(
                "AREA", None, self.f.createIfcAxis2Placement2D(self.point2(length / 2, 0.0), None),
                float(length), WALL_THICKNESS)
            solid = self.f.createIfcExtrudedAreaSolid(profile, self.axis3(), self.f.createIfcDirection((0.0, 0.0, 1.0)),
                                                      float(height))
            self.body(ent, [solid])
            walls.append((seg, ent))
        self.walls[storey.id] = walls

    def door(self, d: Door) -> None:
        if d.storey:
            storey = self.site.storey(d.storey)
        elif d.spaces:
            storey = self.site.storey(self.site.spaces[d.spaces[0]].storey)
        else:  # a door that joins nothing (possible in imported sites): the storey at its height
            storey = self.site.storey(self._storey_at(d.position))
        z0 = storey.elevation
        door_point = Point(d.xy)
        direction = _edge_direction(door_point, [self.site.spaces[s] for s in d.spaces])
        host = min(self.walls.get(storey.id, []), key=lambda w: w[0].distance(door_point), default=None)
        opening = self.create("IfcOpeningElement", sketch_guid("opening", d.id), d.name, "OPENING")
        ent = self.create("IfcDoor", d.id, d.name, "DOOR")
        ent.OverallWidth = float(d.width)
        ent.OverallHeight = float(d.height)
        ent.OperationType = "DOUBLE_DOOR_SINGLE_SWING" if d.width >= 1.5 else "SINGLE_SWING_LEFT"
        if host is not None:
            ifcopenshell.api.feature.add_feature(self.f, feature=opening, element=host[1])
        ifcopenshell.api.spatial.assign_container(self.f, products=[ent], relating_structure=self.storeys[storey.id])
        ifcopenshell.api.feature.add_filling(self.f, opening=opening, element=ent)
        origin = (d.xy[0], d.xy[1], z0)
        self.place(opening, origin, direction)
        self.place(ent, origin, direction)
        self.body(opening, [self.box(d.width, OPENING_DEPTH, d.height, 0.0)])
        self.body(ent, [self.box(d.width, DOOR_LEAF, d.height, 0.0)])
        ifcopenshell.api.pset.edit_pset(
            self.f, pset=ifcopenshell.api.pset.add_pset(self.f, product=ent, name="Pset_DoorCommon"),
            properties={"IsExternal": bool(d.external)})
        self.pset(ent, "DrillTwin_Door", {"Open": bool(d.open), "Exit": bool(d.exit)})
        for sid in d.spaces:
            boundary = self.f.createIfcRelSpaceBoundary(
                sketch_guid("boundary", d.id, sid), None, None, None, self.spaces[sid], ent, None,
                "PHYSICAL", "EXTERNAL" if d.external else "INTERNAL")
            self.named.add(boundary.id())

    def stair(self, st: Stair) -> None:
        bottom = self.site.spaces[st.bottom]
        storey = self.storeys[bottom.storey]
        dx, dy = st.top_xy[0] - st.bottom_xy[0], st.top_xy[1] - st.bottom_xy[1]
        run = math.hypot(dx, dy)
        rise = st.top_z - st.bottom_z
        direction = (dx, dy, 0.0) if run > 1e-9 else (1.0, 0.0, 0.0)
        origin = (st.bottom_xy[0], st.bottom_xy[1], st.bottom_z)
        ent = self.create("IfcStair", st.id, st.name, "STRAIGHT_RUN_STAIR")
        ifcopenshell.api.spatial.assign_container(self.f, products=[ent], relating_structure=storey)
        self.place(ent, origin, direction)
        flight = self.create("IfcStairFlight", sketch_guid("stairflight", st.id), st.name, "STRAIGHT")
        ifcopenshell.api.aggregate.assign_object(self.f, products=[flight], relating_object=ent)
        self.place(flight, origin, direction)
        risers = max(1, round(rise / st.riser)) if st.riser else max(1, round(rise / 0.175))
        flight.NumberOfRisers = int(risers)
        flight.NumberOfTreads = int(max(risers - 1, 0))
        flight.RiserHeight = float(rise / risers)
        flight.TreadLength = float(st.tread if st.tread is not None else run / risers)
        # The section (local XZ plane: x along the run, z up, swept across the width) is a parallelogram
        # with horizontal ends: all its vertices lie on the bottom floor, centred on the bottom point, or
        # on the top floor, centred on the top point. Readers that take the centroid of the lowest and of
        # the highest vertices as the stair's ends, or trace the walking line through horizontal slices,
        # get exactly the stair's points and its length along the slope.
        half = STAIR_NOSING / 2
        section = [(-half, 0.0), (half, 0.0), (run + half, rise), (run - half, rise), (-half, 0.0)]
        curve = self.f.createIfcPolyline([self.point2(u, v) for u, v in section])
        profile = self.f.createIfcArbitraryClosedProfileDef("AREA", None, curve)
        solid = self.f.createIfcExtrudedAreaSolid(
            profile, self.axis3((0.0, st.width / 2, 0.0), z=(0.0, -1.0, 0.0), x=(1.0, 0.0, 0.0)),
            self.f.createIfcDirection((0.0, 0.0, 1.0)), float(st.width))
        self.body(flight, [solid])
        walking_line = self.f.createIfcPolyline([self.f.createIfcCartesianPoint((0.0, 0.0, 0.0)),
                                                 self.f.createIfcCartesianPoint((float(run), 0.0, float(rise)))])
        axis = self.f.createIfcShapeRepresentation(self.axis_ctx, "Axis", "Curve3D", [walking_line])
        ifcopenshell.api.geometry.assign_representation(self.f, product=flight, representation=axis)
        self.pset(flight, "Pset_StairFlightCommon", {
            "NumberOfRiser": int(risers), "NumberOfTreads": int(max(risers - 1, 0)),
            "RiserHeight": float(rise / risers), "TreadLength": float(flight.TreadLength)})
        self.pset(ent, "DrillTwin_Stair", {"Length": float(st.length), "Width": float(st.width),
                                           "BottomSpace": st.bottom, "TopSpace": st.top})

    def _placed(self, ifc_class: str, guid: str, name: str, predefined: str | None, storey_id: str | None,
                position: Sequence[float], size: tuple[float, float, float]) -> ifcopenshell.entity_instance:
        ent = self.create(ifc_class, guid, name, predefined)
        sid = storey_id or self._storey_at(position)
        ifcopenshell.api.spatial.assign_container(self.f, products=[ent], relating_structure=self.storeys[sid])
        self.place(ent, position)
        self.body(ent, [self.box(size[0], size[1], size[2], -size[2] / 2)])
        return ent

    def _storey_at(self, position: Sequence[float]) -> str:
        return min(self.site.storeys, key=lambda s: (position[2] < s.elevation - 0.3, abs(position[2] - s.elevation))).id

    def equipment(self, eq: Equipment) -> None:
        ifc_class, predefined = EQUIPMENT_CLASSES.get(eq.kind, ("IfcFlowController", None))
        size = _EQUIPMENT_BOX.get(eq.kind, (0.5, 0.5, 0.5))
        ent = self._placed(ifc_class, eq.id, eq.name, predefined, eq.storey, eq.position, size)
        self.pset(ent, "DrillTwin_Equipment", {"Kind": eq.kind})

    def sensor(self, se: Sensor) -> None:
        predefined = SENSOR_TYPES.get(se.kind, se.kind.upper())
        ent = self._placed("IfcSensor", se.id, se.name, predefined, se.storey, se.position, (0.15, 0.15, 0.15))
        self.pset(ent, "DrillTwin_Sensor", {
            "Kind": se.kind,
            "Gas": se.gas,
            "Setpoints": ";".join(str(c) for c in se.setpoints) or None,
            "T90": _f(se.t90),
            "Noise": str(se.noise) if se.noise is not None else None,
            "Period": _f(se.period),
        })
        if se.extra:
            self.pset(ent, "DrillTwin_SensorExtra", {k: _prop(v) for k, v in se.extra.items()})

    def alarm(self, al: Alarm) -> None:
        predefined = ALARM_TYPES.get(al.kind, al.kind.upper())
        ent = self._placed("IfcAlarm", al.id, al.name, predefined, al.storey, al.position, (0.2, 0.2, 0.2))
        self.pset(ent, "DrillTwin_Alarm", {"Kind": al.kind})

    def muster(self, mp: MusterPoint) -> None:
        ent = self.create("IfcAnnotation", mp.id, mp.name)
        ent.ObjectType = "MusterPoint"
        ifcopenshell.api.spatial.assign_container(self.f, products=[ent], relating_structure=self.ifc_site)
        self.place(ent, mp.position)


# --------------------------------------------------------------------------------------------------------
# geometry helpers


def _segments(lines) -> list[LineString]:
    """Two-point segments (longer than 1 cm) of a noded (Multi)LineString."""
    out: list[LineString] = []
    geoms = getattr(lines, "geoms", [lines])
    for g in geoms:
        coords = list(g.coords)
        for a, b in zip(coords, coords[1:], strict=False):
            if math.dist(a, b) > 0.01:
                out.append(LineString([a, b]))
    return out


def _edge_direction(p: Point, spaces: list[Space]) -> tuple[float, float, float]:
    """Unit direction (x, y, 0) of the space edge nearest to ``p``: the wall the door sits in."""
    best: tuple[float, tuple[float, float, float]] | None = None
    for sp in spaces:
        coords = list(sp.footprint.exterior.coords)
        for a, b in zip(coords, coords[1:], strict=False):
            seg = LineString([a, b])
            if seg.length < 1e-9:
                continue
            d = seg.distance(p)
            if best is None or d < best[0] - 1e-9:
                best = (d, ((b[0] - a[0]) / seg.length, (b[1] - a[1]) / seg.length, 0.0))
    return best[1] if best else (1.0, 0.0, 0.0)


def _f(value: float | None) -> float | None:
    return None if value is None else float(value)


def _prop(value: object) -> object:
    # edit_pset types a property by its Python type; keep ints and bools as they are, else text or real
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)
