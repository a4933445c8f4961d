"""IFC import: an IFC2X3 or IFC4 building model becomes a :class:`~twin.site.Site`.

Public entry: :func:`read_ifc`. Everything in the returned site is in SI units (metres) in the model's
world frame; every item id is the element's IFC GlobalId.

How the model is read (each rule was chosen on public sample files from several authoring tools):

* **Spaces** come from the IfcSpace geometry: footprint = union of the XY-projected triangles, floor level =
  mesh z-min, height = z-extent. Spaces outside the spatial hierarchy get a storey from their height.
* **Doors** are joined to spaces by geometry first: the centre of the door's IfcOpeningElement box (the door
  body only when it fills no opening, since door bodies cost 4-200x more to triangulate), the nearest one or
  two space footprints within 0.5 m at the same level. Space boundaries only break ties and are cross-checked.
  A one-space door is external when the point just beyond the footprint edge lies outside every footprint of
  that level; it is an exit only on a building's ground-access storey.
* **Open passages** (``Door.kind == "passage"``, open): unfilled door-sized wall openings between two
  spaces, and open-plan links between spaces of one storey whose footprints touch (no wall between).
* **Stairs** (``twin.ifc_stairs``) use an end-point probe on the stair's own vertices.
* **Registries**: equipment (IfcDistributionElement process items), sensors, alarms, muster points.

Messy files give named warnings (``site.warnings``) and counts (``site.stats``); only fatal problems raise
:class:`~twin.errors.InputError` (missing, non-IFC, truncated or corrupt files, and files without IfcSpace).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.guid
import ifcopenshell.util.element as ue
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from .errors import InputError
from .ifc_geometry import (
    Mesh,
    boundary_probe,
    footprint,
    iterate_meshes,
    iterate_meshes_robust,
    oriented_extents,
    placement_origin,
)
from .ifc_stairs import StairProbe, probe_stair, stair_extremes
from .site import (
    Alarm,
    Building,
    Door,
    Equipment,
    MusterPoint,
    Sensor,
    Site,
    Space,
    Stair,
    Storey,
)
from .units import parse_concentration

__all__ = ["read_ifc", "DOOR_TOL", "INSIDE_DEPTH", "PROBE_STEP"]

# --- tuning constants (m); the reference measured these on the shared files ----------------------------
DOOR_TOL = 0.5  # a door joins spaces whose footprint is within this distance of its centre
INSIDE_DEPTH = 0.3  # a door centre deeper than this inside a footprint is an intra-room door (cubicle)
PROBE_STEP = 0.6  # how far beyond the footprint edge the far side of a one-space door is probed
Z_BELOW = 0.3  # a door belongs to a space whose z-range, widened by these margins, contains its centre
Z_ABOVE = 0.1
MIN_WALKABLE_HEIGHT = 1.5  # lower spaces are crawl spaces, voids or roof slivers
STOREY_SNAP = 1.0  # an unplaced space further than this from every storey gets a derived storey
TOUCH = 0.05  # footprints closer than this have no wall between them (walls are at least ~0.1 m thick)
MIN_OPEN_WIDTH = 0.6  # a shared edge shorter than this is a corner contact, not a way through

_NOT_WALKABLE_NAME = re.compile(
    r"\b(roof|dach|void|luftraum|shaft|schacht|plenum|crawl\s*space)\b", re.IGNORECASE
)
_MUSTER_NAME = re.compile(r"muster|assembly[\s_-]*point|sammel(platz|punkt)|rally[\s_-]*point", re.IGNORECASE)
_GENERIC_NAMES = {
    "",
    "default",
    "default project",
    "default site",
    "default building",
    "project",
    "project name",
    "project number",
    "site",
    "building",
    "unnamed",
    "untitled",
}

# IFC4 occurrence classes (and IFC2X3 type classes without the "Type" suffix) that are process equipment.
EQUIPMENT_KINDS: dict[str, str] = {
    "IfcPump": "pump",
    "IfcValve": "valve",
    "IfcTank": "tank",
    "IfcPipeSegment": "pipe",
    "IfcPipeFitting": "fitting",
    "IfcCompressor": "compressor",
    "IfcFlowMeter": "meter",
    "IfcFan": "fan",
    "IfcBoiler": "boiler",
    "IfcChiller": "chiller",
    "IfcHeatExchanger": "heat_exchanger",
    "IfcFilter": "filter",
    "IfcBurner": "burner",
    "IfcEngine": "engine",
    "IfcInterceptor": "interceptor",
    "IfcCoolingTower": "cooling_tower",
    "IfcEvaporator": "evaporator",
    "IfcCondenser": "condenser",
}
# IFC2X3 generic flow classes: equipment when no type says otherwise.
_GENERIC_EQUIPMENT: dict[str, str] = {
    "IfcFlowMovingDevice": "moving_device",
    "IfcFlowController": "controller",
    "IfcFlowStorageDevice": "storage",
    "IfcFlowSegment": "segment",
    "IfcFlowFitting": "fitting",
    "IfcFlowTreatmentDevice": "treatment",
    "IfcEnergyConversionDevice": "conversion",
}
# Words in ObjectType/Name that say what a generic flow element is (whole words: "meter", not "diameter").
_KIND_WORDS = re.compile(
    r"\b(pump|valve|tank|vessel|pipe|compressor|meter|fan|boiler|reactor|cylinder|exchanger|filter|"
    r"separator|column|drum)s?\b",
    re.IGNORECASE,
)
_SENSOR_KINDS = {
    "GASSENSOR": "gas",
    "SMOKESENSOR": "smoke",
    "HEATSENSOR": "heat",
    "FLAMESENSOR": "flame",
    "FIRESENSOR": "flame",  # IFC has no FLAMESENSOR in IFC4; flame detectors are FIRESENSOR there
    "COSENSOR": "gas",
    "CO2SENSOR": "gas",
}
# Call points trigger an alarm but do not sound one; the Alarm registry holds sounders and beacons.
_CALL_POINTS = {"MANUALPULLBOX", "BREAKGLASSBUTTON"}


def read_ifc(path: str | os.PathLike[str]) -> Site:
    """Read an IFC2X3/IFC4 file into a :class:`Site` (metres, world coordinates, GlobalIds as ids).

    Raises :class:`InputError` naming the file when it is missing, not an IFC file, truncated or
    corrupt, or has no IfcSpace (spaces are needed to build rooms and routes). Everything else that is
    wrong with the model becomes a named warning in ``site.warnings`` with a graceful fallback.
    """
    p = Path(path)
    t0 = time.perf_counter()
    model = _open(p)
    importer = _Importer(model, p)
    site = importer.run()
    site.stats["import_s"] = round(time.perf_counter() - t0, 3)
    return site


# --------------------------------------------------------------------------------------------------
# opening the file


def _open(p: Path) -> ifcopenshell.file:
    """Open ``p`` with ifcopenshell, turning every way it can fail into an :class:`InputError`."""
    src = str(p)
    if not p.exists():
        raise InputError("IFC file not found", source=src)
    if not p.is_file():
        raise InputError("not a file (expected an .ifc file)", source=src)
    suffix = p.suffix.lower()
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(512)
            fh.seek(max(0, size - 4096))
            tail = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=src) from exc
    if suffix not in (".ifcxml", ".ifczip"):
        if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISO-10303-21"):
            raise InputError(
                "not an IFC file: an IFC (STEP) file starts with 'ISO-10303-21;'", source=src
            )
        # ifcopenshell opens a truncated file without complaint (it just has fewer entities), so the
        # STEP trailer is checked here: a copy interrupted half-way must not import as a smaller building.
        if b"END-ISO-10303-21" not in tail:
            raise InputError(
                "the IFC file is truncated or corrupt: it has no 'END-ISO-10303-21;' trailer", source=src
            )
    text_counts = None
    if suffix not in (".ifcxml", ".ifczip"):
        schema = _header_schema(head + _read_more(p, 65536))
        if schema is not None and schema.upper() not in SUPPORTED_SCHEMAS:
            raise InputError(_schema_message(schema), source=src)
        text_counts = _text_entities(p)
    ifcopenshell.get_log()  # flush: the native log is process-wide and we read it right after parsing
    try:
        model = ifcopenshell.open(src)
    except Exception as exc:  # ifcopenshell raises its own Error, OSError or RuntimeError on bad input
        if "schema" in type(exc).__name__.lower() or "Unsupported schema" in str(exc):
            raise InputError(_schema_message(str(exc).rsplit(":", 1)[-1].strip()), source=src) from exc
        raise InputError(f"cannot be read as IFC (corrupt file?): {exc}", source=src) from exc
    # The parser skips what it cannot read (a mangled line, a reference to a missing entity) and carries
    # on; a model with silently missing entities would give a wrong building, so parse errors are fatal.
    errors = _parse_errors(ifcopenshell.get_log() or "")
    if errors:
        first = errors[0]
        raise InputError(
            f"the IFC file is corrupt ({len(errors)} parse error{'s' if len(errors) > 1 else ''}; first: {first})",
            source=src,
        )
    if model.schema not in ("IFC2X3", "IFC4", "IFC4X3"):
        raise InputError(_schema_message(model.schema), source=src)
    if text_counts is not None:
        _cross_check(model, text_counts, src)
    return model


SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3_ADD2")
"""FILE_SCHEMA identifiers read (those ifcopenshell parses and the importer is tested on)."""
_SCHEMA_RE = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'")
_DEF_RE = re.compile(rb"^[ \t]*#\d+[ \t]*=[ \t]*([A-Za-z0-9_]+)", re.M)
_COMMENT_RE = re.compile(rb"/\*.*?\*/", re.S)


def _schema_message(schema: str) -> str:
    return (f"unsupported IFC schema {schema!r} (FILE_SCHEMA in the header); drilltwin reads "
            f"{', '.join(SUPPORTED_SCHEMAS)}: export the model again as IFC4 or IFC2X3")


def _read_more(p: Path, n: int) -> bytes:
    with p.open("rb") as fh:
        fh.seek(512)
        return fh.read(n)


def _header_schema(head: bytes) -> str | None:
    m = _SCHEMA_RE.search(head)
    return m.group(1).decode("ascii", "replace") if m else None


def _text_entities(p: Path) -> Counter:
    """Entity definitions (``#12=IFCDOOR(...)``) per type name in the file's text, outside ``/* */``
    comments. An unterminated comment hides everything after it from the parser, which says nothing: that
    is an error naming its line."""
    data = p.read_bytes()
    counts = Counter(t.decode("ascii").upper() for t in _DEF_RE.findall(data))
    for m in _COMMENT_RE.finditer(data):
        counts.subtract(t.decode("ascii").upper() for t in _DEF_RE.findall(m.group(0)))
    last = data.rfind(b"*/")
    start = data.find(b"/*", last + 2 if last >= 0 else 0)
    if start >= 0:
        hidden = len(_DEF_RE.findall(data, start))
        if hidden:
            line = data.count(b"\n", 0, start) + 1
            raise InputError(f"a comment '/*' opened at line {line} is never closed with '*/': it hides the "
                             f"rest of the file ({hidden:,} entities) from the reader", source=str(p))
    return +counts


def _cross_check(model: ifcopenshell.file, counts: Counter, src: str) -> None:
    """Every entity defined in the text must have been read; name the types that were lost."""
    lost = {t: n - len(model.by_type(t, include_subtypes=False)) for t, n in counts.items()
            if _known_type(model, t)}
    lost = {t: n for t, n in lost.items() if n > 0}
    unknown = {t: n for t, n in counts.items() if not _known_type(model, t)}
    if lost or unknown:
        items = sorted(lost.items(), key=lambda kv: -kv[1]) + sorted(unknown.items(), key=lambda kv: -kv[1])
        total = sum(n for _, n in items)
        ex = ", ".join(f"{n} {t}" for t, n in items[:4])
        raise InputError(f"{total:,} entities defined in the file were not read ({ex}); the file is damaged or "
                         f"not valid {model.schema}", source=src)


def _known_type(model: ifcopenshell.file, t: str) -> bool:
    try:
        model.by_type(t, include_subtypes=False)
        return True
    except (RuntimeError, ValueError):
        return False


def _parse_errors(log: str) -> list[str]:
    """Error messages in ifcopenshell's native log, which is text (``[error] [CODE] [time] msg``) or, once
    ``ifcopenshell.validate`` has run in this process, JSON lines (``{"level": "error", "message": ...}``)."""
    out: list[str] = []
    for line in log.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if str(rec.get("level", "")).lower() == "error":
                out.append(str(rec.get("message", "")))
        elif line.startswith("[error]"):
            out.append(re.sub(r"^\[error\]\s*(\[\w+\]\s*)?\[[^\]]*\]\s*", "", line))
    return out


# --------------------------------------------------------------------------------------------------
# helpers


def label(el: ifcopenshell.entity_instance) -> str:
    """How an entity is named in warnings and errors: ``IfcDoor #123 'D1'``."""
    name = getattr(el, "Name", None)
    return f"{el.is_a()} #{el.id()}" + (f" {name!r}" if name else "")


def _round(x: float, nd: int = 3) -> float:
    """Round away float noise (3.100000000000378 -> 3.1) and negative zero."""
    return round(float(x), nd) + 0.0


def _derived_guid(*parts: str) -> str:
    """A stable IFC GlobalId for an item the file lacks (a derived storey), from ``parts``."""
    return ifcopenshell.guid.compress(uuid.uuid5(uuid.NAMESPACE_URL, "drilltwin:" + "/".join(parts)).hex)


def _spatial_parent(el: ifcopenshell.entity_instance, cls: str) -> ifcopenshell.entity_instance | None:
    """The nearest enclosing ``cls`` of ``el`` through aggregation and containment (or None)."""
    seen = 0
    cur: ifcopenshell.entity_instance | None = el
    while cur is not None and seen < 20:
        seen += 1
        parent = ue.get_aggregate(cur)
        if parent is None:
            rels = getattr(cur, "ContainedInStructure", None)
            parent = rels[0].RelatingStructure if rels else None
        if parent is None:
            # An element that is part of another (a flight of a stair, a door in a wall) takes the whole's place.
            parent = _decomposing_parent(cur)
        if parent is not None and parent.is_a(cls):
            return parent
        cur = parent
    return None


def _decomposing_parent(el: ifcopenshell.entity_instance) -> ifcopenshell.entity_instance | None:
    for rel in getattr(el, "Decomposes", None) or ():
        return rel.RelatingObject
    for rel in getattr(el, "FillsVoids", None) or ():
        opening = rel.RelatingOpeningElement
        for vrel in getattr(opening, "VoidsElements", None) or ():
            return vrel.RelatingBuildingElement
    return None


def _parts(el: ifcopenshell.entity_instance, depth: int = 3) -> list[ifcopenshell.entity_instance]:
    """Everything ``el`` aggregates, a few levels down (cheaper than util.element.get_decomposition,
    which also walks nesting and containment)."""
    out: list[ifcopenshell.entity_instance] = []
    for rel in getattr(el, "IsDecomposedBy", None) or ():
        for child in getattr(rel, "RelatedObjects", None) or ():
            out.append(child)
            if depth > 1:
                out += _parts(child, depth - 1)
    return out


def _pset(el: ifcopenshell.entity_instance, name: str) -> dict[str, Any]:
    """Properties of property set ``name`` on ``el`` (or its type); empty when absent."""
    try:
        props = ue.get_pset(el, name) or {}
    except Exception:  # a malformed property set is treated as absent
        return {}
    return {k: v for k, v in props.items() if k != "id"}  # ifcopenshell adds the pset's step id


def _positive(value: Any) -> float | None:
    """``value`` as a float when it is a positive number, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 and math.isfinite(value):
        return float(value)
    return None


def _text(*values: Any) -> str:
    return " ".join(str(v) for v in values if v)


# --------------------------------------------------------------------------------------------------
# the importer


@dataclass
class _SpaceGeo:
    """A space's geometry as the door and stair rules need it."""

    space: Space
    poly: Polygon
    zmin: float
    zmax: float
    entity: ifcopenshell.entity_instance


@dataclass
class _DoorMatch:
    spaces: list[str] = field(default_factory=list)
    external: bool = False
    dead_end: bool = False
    far_side: bool = False


class _Importer:
    """One import run. Methods fill ``self.site`` step by step; see :func:`read_ifc`."""

    def __init__(self, model: ifcopenshell.file, path: Path) -> None:
        self.model = model
        self.path = path
        self.src = str(path)
        self.site = Site(name=path.stem, source=self.src, schema=model.schema)
        self.scale = 1.0
        self.meshes: dict[int, Mesh] = {}
        self.storey_of_entity: dict[int, str] = {}  # IfcBuildingStorey step id -> storey id
        self.geo: dict[str, _SpaceGeo] = {}
        self.tree: STRtree | None = None
        self.tree_ids: list[str] = []
        self.stats: dict[str, Any] = self.site.stats
        self.union_cache: dict[float, Any] = {}  # footprint unions by door level (0.1 m bins)

    # -- driver -----------------------------------------------------------------------------------
    def run(self) -> Site:
        spaces = self.model.by_type("IfcSpace")
        if not spaces:
            have = ", ".join(f"{n} {t}" for t in ("IfcBuildingStorey", "IfcWall", "IfcDoor", "IfcSlab", "IfcZone")
                             if (n := len(self.model.by_type(t))))
            raise InputError(
                "the model has no IfcSpace" + (f" (it has {have})" if have else "") + ": spaces (rooms) are "
                "needed to build the rooms and routes of the twin; export the model with its rooms/spaces "
                "(in Revit: rooms; in ArchiCAD: zones) or write a site sketch instead",
                source=self.src,
                where="IfcProject",
            )
        self._units()
        self._names()
        self._buildings()
        self._storeys()
        doors = self.model.by_type("IfcDoor")
        openings = self._door_openings(doors)
        passages = self._passage_openings()
        t = time.perf_counter()
        try:
            # Spaces need the reference kernel: boolean-clipped spaces (attics under a roof) come out
            # wrong with the fast one.
            self.meshes = iterate_meshes(self.model, spaces)
        except Exception as exc:  # the kernel failing as a whole is a corrupt model, not a bug of ours
            raise InputError(f"the geometry of the spaces cannot be read: {exc}", source=self.src) from exc
        self.stats["geometry_s"] = round(time.perf_counter() - t, 3)
        self._fast_pass(doors, openings, passages)
        self._spaces(spaces)
        self._finish_storeys()
        self._doors(doors, openings)
        self._passages(passages)
        self._open_plan()
        self._stairs()
        self._registries()
        self._muster()
        self._summary()
        return self.site

    # -- units and names --------------------------------------------------------------------------
    def _units(self) -> None:
        """Length unit scale (file units -> m)."""
        try:
            self.scale = float(ifcopenshell.util.unit.calculate_unit_scale(self.model))
        except Exception:
            self.scale = 1.0
        projects = self.model.by_type("IfcProject")
        if not projects or not projects[0].UnitsInContext:
            self.site.warn("unit_scale", "IfcProject", "no length unit declared; assuming metres")
        elif not (1e-4 <= self.scale <= 10.0) or not math.isfinite(self.scale):
            self.site.warn("unit_scale", "IfcProject", f"implausible length unit scale {self.scale}; assuming metres")
            self.scale = 1.0
        self.stats["unit_scale"] = self.scale

    def _names(self) -> None:
        """Site name: the first meaningful one of IfcProject and IfcSite names, else the file stem."""
        cands: list[Any] = []
        for cls in ("IfcProject", "IfcSite"):
            for el in self.model.by_type(cls):
                cands += [el.Name, el.LongName]
        for c in cands:
            if isinstance(c, str) and c.strip().lower() not in _GENERIC_NAMES and not c.strip().isdigit():
                self.site.name = c.strip()
                return

    # -- buildings and storeys -------------------------------------------------------------------
    def _buildings(self) -> None:
        for i, b in enumerate(self.model.by_type("IfcBuilding")):
            name = b.Name or getattr(b, "LongName", None) or f"Building {i + 1}"
            self.site.buildings.append(Building(id=b.GlobalId, name=name))

    def _storeys(self) -> None:
        """Storeys with elevations in m. Placement Z is the world frame the geometry shares; the Elevation
        attribute is used when there is no placement, and a mismatch is reported."""
        for st in self.model.by_type("IfcBuildingStorey"):
            ent = label(st)
            attr = st.Elevation * self.scale if st.Elevation is not None else None
            placed = None
            if st.ObjectPlacement is not None and st.ObjectPlacement.is_a("IfcLocalPlacement"):
                m = ifcopenshell.util.placement.get_local_placement(st.ObjectPlacement)
                placed = float(m[2][3]) * self.scale
            if attr is None and placed is None:
                self.site.warn("storey_no_elevation", ent, "no Elevation and no placement; using 0.0 m")
                elev = 0.0
            elif attr is None:
                self.site.warn("storey_no_elevation", ent, f"no Elevation; using placement Z {placed:.3f} m")
                elev = placed
            elif placed is not None and abs(placed - attr) > 0.01:
                self.site.warn(
                    "storey_elevation_mismatch",
                    ent,
                    f"Elevation {attr:.3f} m differs from placement Z {placed:.3f} m; using the placement "
                    "(the frame the geometry is in)",
                )
                elev = placed
            else:
                elev = attr
            building = self._building_of(st)
            name = st.Name or getattr(st, "LongName", None) or f"Level {_round(elev, 2):+.2f} m"
            self.site.storeys.append(
                Storey(id=st.GlobalId, name=name, elevation=_round(elev), building=building)
            )
            self.storey_of_entity[st.id()] = st.GlobalId
        self._sort_storeys()

    def _sort_storeys(self) -> None:
        """Storeys by building (file order; storeys of no building last), then by elevation."""
        order = {b.id: i for i, b in enumerate(self.site.buildings)}
        self.site.storeys.sort(key=lambda s: (order.get(s.building or "", len(order)), s.elevation, s.name))

    def _building_of(self, el: ifcopenshell.entity_instance) -> str | None:
        """GlobalId of the building ``el`` is in; the only building when the hierarchy does not say."""
        b = _spatial_parent(el, "IfcBuilding")
        if b is not None:
            return b.GlobalId
        return self.site.buildings[0].id if len(self.site.buildings) == 1 else None

    def _finish_storeys(self) -> None:
        """Walkable = has a walkable space; height = distance to the next storey of the same building."""
        walk = {g.space.storey for g in self.geo.values() if g.space.walkable}
        by_b: dict[str | None, list[Storey]] = {}
        for s in self.site.storeys:
            s.walkable = s.id in walk
            by_b.setdefault(s.building, []).append(s)
        for storeys in by_b.values():
            storeys.sort(key=lambda s: s.elevation)
            for a, b in zip(storeys, storeys[1:], strict=False):
                a.height = _round(b.elevation - a.elevation)
            top = storeys[-1]
            tops = [g.zmax for g in self.geo.values() if g.space.storey == top.id]
            if tops:
                top.height = _round(max(tops) - top.elevation)
        self._sort_storeys()
        self.stats["storeys_not_walkable"] = sum(1 for s in self.site.storeys if not s.walkable)

    def _storey_for_z(self, z: float, building: str | None) -> Storey | None:
        """The storey whose floor is nearest below-or-at ``z`` (0.3 m tolerance), preferring ``building``."""
        pool = [s for s in self.site.storeys if building is None or s.building in (building, None)]
        pool = pool or self.site.storeys
        if not pool:
            return None
        below = [s for s in pool if s.elevation <= z + 0.3]
        if below:
            return max(below, key=lambda s: s.elevation)
        return min(pool, key=lambda s: abs(s.elevation - z))

    # -- spaces -----------------------------------------------------------------------------------
    def _spaces(self, spaces: list[ifcopenshell.entity_instance]) -> None:
        self.stats["spaces_total"] = len(spaces)
        unplaced: list[tuple[ifcopenshell.entity_instance, Polygon, float, float]] = []
        for el in spaces:
            ent = label(el)
            mesh = self.meshes.get(el.id())
            poly = footprint(mesh) if mesh is not None else None
            if poly is None or poly.area < 0.05:
                self.site.warn("space_no_geometry", ent, "no usable 3D body (no footprint); space skipped")
                continue
            zmin, zmax = float(mesh.lo[2]), float(mesh.hi[2])
            storey_el = _spatial_parent(el, "IfcBuildingStorey")
            if storey_el is None or storey_el.id() not in self.storey_of_entity:
                unplaced.append((el, poly, zmin, zmax))
                continue
            self._add_space(el, poly, zmin, zmax, self.storey_of_entity[storey_el.id()])
        for el, poly, zmin, zmax in unplaced:
            building = self._building_of(el)
            storey = self._storey_for_z(zmin, building)
            if storey is None or abs(storey.elevation - zmin) > STOREY_SNAP:
                storey = self._derived_storey(zmin, building)
            self.site.warn(
                "space_unplaced",
                label(el),
                f"not placed in a storey; assigned to {storey.name!r} by its floor level {zmin:.2f} m",
            )
            self._add_space(el, poly, zmin, zmax, storey.id)
        self.stats["spaces_unplaced"] = len(unplaced)
        self.stats["spaces"] = len(self.site.spaces)
        self.stats["spaces_not_walkable"] = sum(1 for s in self.site.spaces.values() if not s.walkable)
        if not self.site.spaces:
            raise InputError(
                f"none of the {len(spaces)} IfcSpace has usable geometry; spaces with a 3D body are needed",
                source=self.src,
            )
        geos = list(self.geo.values())
        self.tree = STRtree([g.poly for g in geos])
        self.tree_ids = [g.space.id for g in geos]

    def _derived_storey(self, z: float, building: str | None) -> Storey:
        """A storey for spaces that sit on a level the file has no IfcBuildingStorey for (warned once)."""
        elev = _round(z, 2)
        sid = _derived_guid(self.src, building or "", f"{elev:.2f}")
        for s in self.site.storeys:
            if s.id == sid:
                return s
        st = Storey(id=sid, name=f"Level {elev:+.2f} m (derived)", elevation=elev, building=building)
        self.site.storeys.append(st)
        self._sort_storeys()
        self.site.warn("storey_derived", st.name, f"spaces at {elev:.2f} m have no storey in the file; one was derived")
        return st

    def _add_space(self, el: ifcopenshell.entity_instance, poly: Polygon, zmin: float, zmax: float, storey: str) -> None:
        ent = label(el)
        storey_obj = self.site.storey(storey)
        name = el.Name or getattr(el, "LongName", None) or el.GlobalId
        long_name = getattr(el, "LongName", None)
        pset = _pset(el, "DrillTwin_Space")
        height = zmax - zmin
        walkable = True
        if _NOT_WALKABLE_NAME.search(_text(el.Name, long_name)):
            walkable = False
            self.site.warn("space_not_walkable", ent, "named like a roof, void or shaft; not walkable")
        elif height < MIN_WALKABLE_HEIGHT:
            walkable = False
            self.site.warn("space_not_walkable", ent, f"only {height:.2f} m high; not walkable")
        ach = pset.get("AirChangesPerHour")
        use = pset.get("Use")
        sp = Space(
            id=el.GlobalId,
            name=name,
            storey=storey,
            footprint=poly,
            elevation=_round(zmin),
            height=_round(height),
            long_name=long_name,
            building=storey_obj.building,
            use=str(use) if use else None,
            ach=float(ach) if isinstance(ach, int | float) else None,
            walkable=walkable,
        )
        self.site.spaces[sp.id] = sp
        self.geo[sp.id] = _SpaceGeo(sp, poly, zmin, zmax, el)

    # -- geometry lookups -------------------------------------------------------------------------
    def _near(self, x: float, y: float, z: float, tol: float, walkable_only: bool = True) -> list[tuple[float, _SpaceGeo]]:
        """Spaces whose footprint is within ``tol`` m of (x, y) and whose widened z-range holds ``z``,
        nearest first."""
        assert self.tree is not None
        pt = Point(x, y)
        out: list[tuple[float, _SpaceGeo]] = []
        for i in self.tree.query(pt, predicate="dwithin", distance=tol):
            g = self.geo[self.tree_ids[int(i)]]
            if walkable_only and not g.space.walkable:
                continue
            if not (g.zmin - Z_BELOW <= z <= g.zmax + Z_ABOVE):
                continue
            out.append((float(g.poly.distance(pt)), g))
        out.sort(key=lambda t: (t[0], t[1].space.id))
        return out

    def _level_union(self, z: float) -> Any:
        """Union of every footprint (walkable or not) whose widened z-range holds ``z``."""
        key = round(z, 1)
        cache = self.union_cache
        if key not in cache:
            polys = [g.poly for g in self.geo.values() if g.zmin - Z_BELOW <= z <= g.zmax + Z_ABOVE]
            cache[key] = unary_union(polys) if polys else Polygon()
        return cache[key]

    # -- the fast geometry pass ---------------------------------------------------------------------
    def _door_openings(self, doors: list[ifcopenshell.entity_instance]) -> dict[int, ifcopenshell.entity_instance]:
        """The IfcOpeningElement each door fills, by door step id."""
        out: dict[int, ifcopenshell.entity_instance] = {}
        for d in doors:
            for rel in getattr(d, "FillsVoids", None) or ():
                if rel.RelatingOpeningElement is not None:
                    out[d.id()] = rel.RelatingOpeningElement
                    break
        return out

    def _fast_pass(
        self,
        doors: list[ifcopenshell.entity_instance],
        openings: dict[int, ifcopenshell.entity_instance],
        passages: list[ifcopenshell.entity_instance],
    ) -> None:
        """Triangulate everything but the spaces in one pass of the fast kernel (only bounding boxes and
        vertex clouds are used from these, and it matched the reference kernel on every opening and
        stair of the shared files): door openings and open-doorway candidates, door bodies of doors
        that fill no opening, stairs and flights, and registry items without a placement. Elements
        the fast kernel leaves out are retried with the reference one."""
        wanted: list[ifcopenshell.entity_instance] = list(openings.values()) + passages
        wanted += [d for d in doors if d.id() not in openings]
        wanted += self._stair_elements()
        for el in self._registry_elements():
            if placement_origin(el, self.scale) is None and getattr(el, "Representation", None):
                wanted.append(el)
        wanted = list({e.id(): e for e in wanted}.values())
        t = time.perf_counter()
        meshes = iterate_meshes_robust(self.model, wanted, library="manifold") if wanted else {}
        # A door whose opening has no usable body falls back to its own body (the expensive kind).
        bodies = [d for d in doors if d.id() in openings and openings[d.id()].id() not in meshes]
        if bodies:
            meshes.update(iterate_meshes_robust(self.model, bodies, library="manifold"))
        self.stats["geometry2_s"] = round(time.perf_counter() - t, 3)
        self.meshes.update(meshes)

    # -- doors ------------------------------------------------------------------------------------
    def _doors(self, doors: list[ifcopenshell.entity_instance], openings: dict[int, ifcopenshell.entity_instance]) -> None:
        counts = dict.fromkeys(
            ("doors_connected", "doors_two_space", "doors_one_space", "doors_external", "doors_exits",
             "doors_ignored_inside", "doors_unconnected", "doors_dead_end", "doors_no_geometry",
             "doors_far_side", "doors_sb_checked", "doors_sb_agree", "doors_sb_disagree", "doors_ambiguous"),
            0,
        )  # fmt: skip
        self.stats["doors_total"] = len(doors)
        pending: list[tuple[Door, bool | None]] = []
        for d in doors:
            try:
                made = self._door(d, openings.get(d.id()), counts)
            except Exception as exc:  # one broken door must not sink the import
                self.site.warn("entity_error", label(d), f"could not be read ({type(exc).__name__}: {exc}); skipped")
                continue
            if made is not None:
                pending.append(made)
        ground = self.site.ground_storeys()
        for door, exit_override in pending:
            if exit_override is not None:
                door.exit = exit_override
                door.external = door.external or exit_override
            else:
                door.exit = door.external and door.storey in ground
            counts["doors_exits"] += int(door.exit)
            self.site.doors[door.id] = door
        self.stats.update(counts)
        self.stats["doors_connected_pct"] = round(
            100.0 * counts["doors_connected"] / max(1, len(doors) - counts["doors_ignored_inside"]), 1
        )

    def _door(self, d: ifcopenshell.entity_instance, opening: ifcopenshell.entity_instance | None, counts: dict[str, int]) -> tuple[Door, bool | None] | None:
        """One IfcDoor: locate it, join it to spaces and classify it. Returns the door (exit decided later,
        once every storey is known) or ``None`` when it is ignored."""
        ent = label(d)
        mesh = self.meshes.get(opening.id()) if opening is not None else None
        if mesh is None:
            mesh = self.meshes.get(d.id())
        if mesh is not None:
            centre = mesh.centre
        else:
            origin = placement_origin(d, self.scale)
            if origin is None:
                counts["doors_no_geometry"] += 1
                self.site.warn("door_no_geometry", ent, "no geometry and no placement; door skipped")
                return None
            counts["doors_no_geometry"] += 1
            self.site.warn("door_no_geometry", ent, "no geometry; using its placement origin (about 0.5 m off)")
            centre = (origin[0], origin[1], origin[2] + 1.0)
        width, height, thick = self._door_size(d, mesh, ent)
        match = self._match_door(centre, thick, d, ent, counts)
        if match is None:
            return None
        counts["doors_connected"] += 1
        counts["doors_two_space" if len(match.spaces) == 2 else "doors_one_space"] += 1
        counts["doors_external"] += int(match.external)
        counts["doors_far_side"] += int(match.far_side)
        pset = _pset(d, "DrillTwin_Door")
        exit_override = pset.get("Exit") if isinstance(pset.get("Exit"), bool) else None
        door = Door(
            id=d.GlobalId,
            name=d.Name or d.GlobalId,
            position=(_round(centre[0]), _round(centre[1]), _round(centre[2])),
            width=_round(width),
            spaces=tuple(match.spaces),
            storey=self.site.spaces[match.spaces[0]].storey,
            height=_round(height),
            external=match.external,
            open=bool(pset.get("Open", False)),
        )
        return door, exit_override

    def _door_size(self, d: ifcopenshell.entity_instance, mesh: Mesh | None, ent: str) -> tuple[float, float, float]:
        """Clear width, height and wall thickness (m): attributes scaled to metres, geometry as fallback."""
        g_width = g_thick = 0.0
        g_height = 0.0
        if mesh is not None:
            g_width, g_thick, _ = oriented_extents(mesh.verts[:, :2])
            g_height = float(mesh.hi[2] - mesh.lo[2])
        width = d.OverallWidth * self.scale if d.OverallWidth else None
        if width is not None and not (0.3 <= width <= 10.0):
            self.site.warn("door_width_implausible", ent, f"OverallWidth gives {width:.3f} m; using geometry")
            width = None
        if width is None:
            if g_width >= 0.3:
                width = g_width
            else:
                width = 0.9
                self.site.warn("door_no_width", ent, "no OverallWidth and no geometry; assuming 0.9 m")
        height = d.OverallHeight * self.scale if d.OverallHeight else None
        if height is None or not (1.0 <= height <= 10.0):
            height = g_height if g_height >= 1.0 else 2.1
        return width, height, g_thick

    def _match_door(self, c: tuple[float, float, float], thick: float, d: ifcopenshell.entity_instance, ent: str, counts: dict[str, int]) -> _DoorMatch | None:
        """Spaces a door centre joins (see the module docstring). ``None`` for ignored doors."""
        x, y, z = c
        cands = self._near(x, y, z, DOOR_TOL)
        pt = Point(x, y)
        # A door well inside a room's footprint is an intra-room door (toilet cubicle): not a link.
        for dist, g in cands:
            if dist == 0.0 and g.poly.boundary.distance(pt) > INSIDE_DEPTH:
                counts["doors_ignored_inside"] += 1
                self.site.warn(
                    "door_inside_space", ent,
                    f"centre {g.poly.boundary.distance(pt):.2f} m inside {g.space.label!r}; ignored (cubicle door?)",
                )  # fmt: skip
                return None
        sb_order = self._sb_spaces(d)
        sb = set(sb_order)
        # Equally near spaces (a door on a shared edge) keep the order the space boundaries give.
        cands.sort(key=lambda t: (round(t[0], 4), sb_order.index(t[1].space.id) if t[1].space.id in sb else len(sb)))
        if len(cands) > 2:
            counts["doors_ambiguous"] += 1
            # Space boundaries break the tie; distance decides the rest.
            cands.sort(key=lambda t: (t[1].space.id not in sb, t[0]))
            self.site.warn(
                "door_ambiguous", ent,
                f"{len(cands)} spaces within {DOOR_TOL} m; kept "
                + " and ".join(repr(g.space.label) for _, g in cands[:2]) + (" (by space boundaries)" if sb else ""),
            )  # fmt: skip
        chosen = [g for _, g in cands[:2]]
        if not chosen:
            counts["doors_unconnected"] += 1
            self.site.warn("door_unconnected", ent, f"no space within {DOOR_TOL} m of its centre; door skipped")
            return None
        match = _DoorMatch(spaces=[g.space.id for g in chosen])
        if len(chosen) == 1:
            self._far_side(chosen[0], pt, z, thick, match)
            if match.dead_end:
                counts["doors_dead_end"] += 1
                self.site.warn("door_dead_end", ent, "leads from one space into a space that is not walkable; skipped")
                return None
        if sb:
            counts["doors_sb_checked"] += 1
            if set(match.spaces) == sb:
                counts["doors_sb_agree"] += 1
            else:
                counts["doors_sb_disagree"] += 1
                names = ", ".join(sorted(self.site.spaces[s].label for s in sb if s in self.site.spaces))
                self.site.warn(
                    "door_sb_disagrees", ent,
                    f"geometry joins {[self.site.spaces[s].label for s in match.spaces]}, space boundaries say "
                    f"[{names}]; geometry kept",
                )  # fmt: skip
        return match

    def _far_side(self, g: _SpaceGeo, pt: Point, z: float, thick: float, match: _DoorMatch) -> None:
        """Classify a one-space door by probing just beyond the footprint edge it sits on."""
        step = max(PROBE_STEP, thick + 0.2)
        _, probe = boundary_probe(g.poly, pt, step)
        if not self._level_union(z).contains(probe):
            match.external = True
            return
        # The far side is inside another footprint: a room behind a wall too thick for the 0.5 m search.
        for _, other in self._near(probe.x, probe.y, z, 0.0, walkable_only=False):
            if other.space.id == g.space.id:
                continue
            if other.space.walkable:
                match.spaces.append(other.space.id)
                match.far_side = True
            else:
                match.dead_end = True
            return
        match.external = True

    def _sb_spaces(self, d: ifcopenshell.entity_instance) -> list[str]:
        """GlobalIds of the imported spaces the door's IfcRelSpaceBoundary relations name, in file order."""
        out: list[str] = []
        for rel in getattr(d, "ProvidesBoundaries", None) or ():
            sp = rel.RelatingSpace
            if sp is not None and sp.is_a("IfcSpace") and sp.GlobalId in self.site.spaces and sp.GlobalId not in out:
                out.append(sp.GlobalId)
        return out

    # -- open passages ----------------------------------------------------------------------------
    def _passage_openings(self) -> list[ifcopenshell.entity_instance]:
        """Unfilled openings in walls: candidate open doorways."""
        out = []
        for op in self.model.by_type("IfcOpeningElement"):
            if getattr(op, "HasFillings", None):
                continue
            hosts = [r.RelatingBuildingElement for r in getattr(op, "VoidsElements", None) or ()]
            if hosts and all(h is not None and h.is_a("IfcWall") for h in hosts):
                out.append(op)
        return out

    def _passages(self, openings: list[ifcopenshell.entity_instance]) -> None:
        """Open doorways: wall openings without a filling that reach the floor, are door-sized, and join
        exactly two walkable spaces. Openings to the outside are left out (they are rarely real exits)."""
        added = 0
        for op in openings:
            mesh = self.meshes.get(op.id())
            if mesh is None:
                continue
            width, thick, _ = oriented_extents(mesh.verts[:, :2])
            height = float(mesh.hi[2] - mesh.lo[2])
            x, y, z = mesh.centre
            cands = self._near(x, y, z, DOOR_TOL)[:3]
            if len(cands) != 2 or width < 0.6 or height < 1.8:
                continue
            floor = max(g.zmin for _, g in cands)
            if float(mesh.lo[2]) > floor + 0.3:  # a window-like hole, not a doorway
                continue
            if any(d == 0.0 and g.poly.boundary.distance(Point(x, y)) > INSIDE_DEPTH for d, g in cands):
                continue
            a, b = cands[0][1].space, cands[1][1].space
            door = Door(
                id=op.GlobalId,
                name=op.Name or f"Passage {a.label} / {b.label}",
                position=(_round(x), _round(y), _round(z)),
                width=_round(width),
                spaces=(a.id, b.id),
                storey=a.storey,
                height=_round(height),
                open=True,
                kind="passage",
            )
            self.site.doors[door.id] = door
            added += 1
        self.stats["passages"] = added

    # -- open-plan links --------------------------------------------------------------------------
    def _open_plan(self) -> None:
        """Open passages between walkable spaces of one storey whose footprints touch along at least
        0.6 m: no wall stands between them (a Revit room separation line, an ArchiCAD zone border, a
        kitchen open to the living room). Exporters mark these as VIRTUAL space boundaries, when they
        write boundaries at all; the geometry is checked instead so files without boundaries work too.
        Files written by ``twin.ifc_build`` are skipped: their rooms share edges by construction and
        every link is an explicit door."""
        origin = str(getattr(self.model.header.file_name, "originating_system", "") or "")
        if "drilltwin" in origin:
            self.stats["passages_open_plan"] = 0
            return
        assert self.tree is not None
        linked = {frozenset(d.spaces) for d in self.site.doors.values() if len(d.spaces) == 2}
        virtual = self._virtual_elements()
        added = 0
        for g in self.geo.values():
            if not g.space.walkable:
                continue
            for i in self.tree.query(g.poly, predicate="dwithin", distance=TOUCH):
                h = self.geo[self.tree_ids[int(i)]]
                a, b = g.space, h.space
                if a.id >= b.id or not b.walkable or a.storey != b.storey or frozenset((a.id, b.id)) in linked:
                    continue
                lines = [p for p in shapely.get_parts(g.poly.boundary.intersection(h.poly.buffer(TOUCH)))
                         if isinstance(p, LineString)]
                width = sum(ln.length for ln in lines)
                if width < MIN_OPEN_WIDTH:
                    continue
                # The passage sits in the middle of the longest stretch of the shared edge.
                mid = max(lines, key=lambda ln: ln.length).interpolate(0.5, normalized=True)
                pid = virtual.get(frozenset((a.id, b.id))) or _derived_guid(self.src, "open", a.id, b.id)
                z = max(g.zmin, h.zmin)
                door = Door(
                    id=pid,
                    name=f"Open {a.label} / {b.label}",
                    position=(_round(mid.x), _round(mid.y), _round(z + 1.0)),
                    width=_round(width),
                    spaces=(a.id, b.id),
                    storey=a.storey,
                    height=_round(min(g.zmax, h.zmax) - z),
                    open=True,
                    kind="passage",
                )
                self.site.doors[door.id] = door
                linked.add(frozenset((a.id, b.id)))
                added += 1
        self.stats["passages_open_plan"] = added

    def _virtual_elements(self) -> dict[frozenset[str], str]:
        """GlobalId of the IfcVirtualElement two spaces share through their space boundaries, by pair."""
        spaces_of: dict[int, set[str]] = {}
        for el in self.model.by_type("IfcVirtualElement"):
            for rel in getattr(el, "ProvidesBoundaries", None) or ():
                sp = rel.RelatingSpace
                if sp is not None and sp.is_a("IfcSpace"):
                    spaces_of.setdefault(el.id(), set()).add(sp.GlobalId)
        out: dict[frozenset[str], str] = {}
        for eid, sids in spaces_of.items():
            if len(sids) == 2:
                out.setdefault(frozenset(sids), self.model.by_id(eid).GlobalId)
        return out

    # -- stairs -----------------------------------------------------------------------------------
    def _stair_elements(self) -> list[ifcopenshell.entity_instance]:
        """IfcStair, and IfcStairFlight with no IfcStair parent (plus flights of stairs, for geometry)."""
        out = list(self.model.by_type("IfcStair"))
        out += list(self.model.by_type("IfcStairFlight"))
        return out

    def _stairs(self) -> None:
        stairs = self.model.by_type("IfcStair")
        flights = self.model.by_type("IfcStairFlight")
        units: list[tuple[ifcopenshell.entity_instance, list[ifcopenshell.entity_instance]]] = []
        claimed: set[int] = set()
        for st in stairs:
            parts = [p for p in _parts(st) if p.is_a("IfcStairFlight")]
            claimed.update(p.id() for p in parts)
            units.append((st, parts))
        for fl in flights:
            if fl.id() not in claimed:
                units.append((fl, [fl]))
        self.stats["stairs_total"] = len(units)
        connected = 0
        for el, parts in units:
            try:
                stair = self._stair(el, parts)
            except Exception as exc:  # one broken stair must not sink the import
                self.site.warn("entity_error", label(el), f"could not be read ({type(exc).__name__}: {exc}); skipped")
                continue
            if stair is not None:
                self.site.stairs[stair.id] = stair
                connected += 1
        self.stats["stairs_connected"] = connected

    def _stair(self, el: ifcopenshell.entity_instance, parts: list[ifcopenshell.entity_instance]) -> Stair | None:
        ent = label(el)
        # ArchiCAD stairs carry their own body (railings included); Revit stairs only their flights.
        geo_parts = [p for p in parts if p.id() in self.meshes] or ([el] if el.id() in self.meshes else [])
        if not geo_parts:
            self.site.warn("stair_no_geometry", ent, "no stair or flight geometry; stair skipped")
            return None
        verts = np.concatenate([self.meshes[p.id()].verts for p in geo_parts])
        pset = _pset(el, "DrillTwin_Stair")
        if pset.get("BottomSpace") in self.site.spaces and pset.get("TopSpace") in self.site.spaces:
            # Our own builder names both ends; its flight's lowest and highest vertices are the end points.
            bottom, top = str(pset["BottomSpace"]), str(pset["TopSpace"])
            bxy, bz, txy, tz = stair_extremes(verts)
            probe = StairProbe(
                self.site.spaces[bottom].storey, self.site.spaces[top].storey, bxy, txy, bz, tz,
                math.hypot(math.dist(bxy, txy), tz - bz), None,
            )  # fmt: skip
        else:
            building = self._building_of(el)
            storeys = [s for s in self.site.storeys if s.walkable and (building is None or s.building in (building, None))]
            found = probe_stair(verts, [(s.id, s.elevation) for s in storeys])
            if found is None:
                self.site.warn("stair_unconnected", ent, "does not reach a walkable storey above its bottom; skipped")
                return None
            probe = found
            if probe.beyond:
                self.site.warn(
                    "stair_multi_storey", ent,
                    f"spans more than one storey; only {self.site.storey(probe.bottom_storey).name} -> "
                    f"{self.site.storey(probe.top_storey).name} is linked",
                )  # fmt: skip
            bottom = self._stair_end(probe.bottom_xy, probe.bottom_storey)
            top = self._stair_end(probe.top_xy, probe.top_storey)
            if bottom is None or top is None or bottom == top:
                which = "bottom" if bottom is None else "top" if top is None else "both ends"
                self.site.warn(
                    "stair_unconnected", ent,
                    f"no walkable space within {DOOR_TOL} m of its {which} "
                    f"({self.site.storey(probe.bottom_storey).name} -> {self.site.storey(probe.top_storey).name}); skipped",
                )  # fmt: skip
                return None
        length = _positive(pset.get("Length")) or probe.length
        width = _positive(pset.get("Width")) or probe.width
        if width is None:
            width = 1.0
            self.site.warn("stair_no_width", ent, "width not measurable from its geometry; assuming 1.0 m")
        riser, tread = self._riser_tread(el, parts, probe, ent)
        b_sp, t_sp = self.site.spaces[bottom], self.site.spaces[top]
        return Stair(
            id=el.GlobalId,
            name=el.Name or f"Stair {b_sp.label} -> {t_sp.label}",
            bottom=bottom,
            top=top,
            bottom_xy=(_round(probe.bottom_xy[0]), _round(probe.bottom_xy[1])),
            top_xy=(_round(probe.top_xy[0]), _round(probe.top_xy[1])),
            bottom_z=_round(probe.bottom_z),
            top_z=_round(probe.top_z),
            length=_round(length),
            width=_round(width),
            riser=riser,
            tread=tread,
        )

    def _stair_end(self, xy: tuple[float, float], storey: str) -> str | None:
        """The walkable space on ``storey`` nearest ``xy`` within 0.5 m."""
        pt = Point(xy)
        best: tuple[float, str] | None = None
        assert self.tree is not None
        for i in self.tree.query(pt, predicate="dwithin", distance=DOOR_TOL):
            g = self.geo[self.tree_ids[int(i)]]
            if not g.space.walkable or g.space.storey != storey:
                continue
            key = (float(g.poly.distance(pt)), g.space.id)
            if best is None or key < best:
                best = key
        return best[1] if best else None

    def _riser_tread(self, el: ifcopenshell.entity_instance, parts: list[ifcopenshell.entity_instance], probe: StairProbe, ent: str) -> tuple[float | None, float | None]:
        """Riser and tread (m): Pset_StairFlightCommon / Pset_StairCommon first, then the IfcStairFlight
        attributes, checked against the measured rise."""
        flights = [p for p in parts if p.is_a("IfcStairFlight")]
        first = flights[0] if flights else el
        ps = _pset(first, "Pset_StairFlightCommon") or _pset(el, "Pset_StairCommon")
        riser, tread = _positive(ps.get("RiserHeight")), _positive(ps.get("TreadLength"))
        n = int(_positive(ps.get("NumberOfRiser")) or 0) * max(1, len(flights))
        if riser is None and flights:
            # The attributes are in file units -- except that Revit 2011 wrote them in feet (Duplex).
            riser = _positive(getattr(first, "RiserHeight", None))
            tread = _positive(getattr(first, "TreadLength", None))
            riser = riser * self.scale if riser else None
            tread = tread * self.scale if tread else None
        if not n:
            n = sum(getattr(x, "NumberOfRiser", None) or getattr(x, "NumberOfRisers", None) or 0 for x in flights)
        rise = probe.top_z - probe.bottom_z
        if riser and n:
            measured = rise / n
            ratio = riser / measured if measured > 0 else 0.0
            if 3.0 <= ratio <= 3.6:
                self.site.warn("stair_riser_feet", ent, f"RiserHeight/TreadLength look like feet; converted ({riser:.3f} -> {riser * 0.3048:.3f} m)")
                riser *= 0.3048
                tread = tread * 0.3048 if tread else None
            elif not 0.8 <= ratio <= 1.25:
                self.site.warn("stair_riser_implausible", ent, f"RiserHeight {riser:.3f} m does not match {rise:.2f} m / {n} risers; using {measured:.3f} m")
                riser = measured
        if riser is not None and not 0.05 <= riser <= 0.3:
            riser = None
        if tread is not None and not 0.1 <= tread <= 0.6:
            tread = None
        return (_round(riser) if riser else None), (_round(tread) if tread else None)

    # -- registries -------------------------------------------------------------------------------
    def _registry_elements(self) -> list[ifcopenshell.entity_instance]:
        """Distribution elements (and cameras), plus proxies that carry one of our property sets."""
        out = list(self.model.by_type("IfcDistributionElement"))
        if self.model.schema != "IFC2X3":
            out += list(self.model.by_type("IfcAudioVisualAppliance"))
        for proxy in self.model.by_type("IfcBuildingElementProxy"):
            if _pset(proxy, "DrillTwin_Equipment") or _pset(proxy, "DrillTwin_Sensor"):
                out.append(proxy)
        return list({e.id(): e for e in out}.values())

    def _position(self, el: ifcopenshell.entity_instance) -> tuple[float, float, float] | None:
        """World position (m): placement origin, else the body's bounding-box centre."""
        origin = placement_origin(el, self.scale)
        if origin is not None:
            return (_round(origin[0]), _round(origin[1]), _round(origin[2]))
        mesh = self.meshes.get(el.id())
        if mesh is not None:
            c = mesh.centre
            return (_round(c[0]), _round(c[1]), _round(c[2]))
        return None

    def _locate(self, pos: tuple[float, float, float]) -> tuple[str | None, str | None]:
        """Space (via :meth:`Site.space_at`) and storey of a point."""
        space = self.site.space_at(pos[0], pos[1], pos[2])
        if space is not None:
            return space, self.site.spaces[space].storey
        st = self._storey_for_z(pos[2], None)
        return None, st.id if st else None

    def _registries(self) -> None:
        counts = {"equipment": 0, "sensors": 0, "alarms": 0, "registry_skipped": 0}
        for el in self._registry_elements():
            try:
                kind = self._registry_kind(el)
                if kind is None:
                    counts["registry_skipped"] += 1
                    continue
                pos = self._position(el)
                if pos is None:
                    self.site.warn("registry_no_position", label(el), "no placement and no geometry; skipped")
                    continue
                space, storey = self._locate(pos)
                if kind[0] == "sensor":
                    self.site.sensors[el.GlobalId] = self._sensor(el, kind[1], pos, space, storey)
                elif kind[0] == "alarm":
                    self.site.alarms[el.GlobalId] = Alarm(el.GlobalId, el.Name or el.GlobalId, pos, space, storey, kind[1])
                else:
                    self.site.equipment[el.GlobalId] = Equipment(el.GlobalId, el.Name or el.GlobalId, kind[1], pos, space, storey)
                counts[{"sensor": "sensors", "alarm": "alarms"}.get(kind[0], "equipment")] += 1
                if space is None:
                    self.site.warn(f"{kind[0]}_outside", label(el), "not inside any walkable space")
            except Exception as exc:  # one broken item must not sink the import
                self.site.warn("entity_error", label(el), f"could not be read ({type(exc).__name__}: {exc}); skipped")
        self.stats.update(counts)

    def _registry_kind(self, el: ifcopenshell.entity_instance) -> tuple[str, str] | None:
        """(``sensor``|``alarm``|``equipment``, kind) for a distribution element, ``None`` if it is not one
        of ours (light fittings, sanitary terminals, ducts, cables...)."""
        typ = ue.get_type(el)
        tcls = typ.is_a()[:-4] if typ is not None and typ.is_a().endswith("Type") else None
        predefined = ue.get_predefined_type(el)
        if el.is_a("IfcSensor") or tcls == "IfcSensor" or _pset(el, "DrillTwin_Sensor"):
            return "sensor", self._sensor_kind(el, predefined)
        if el.is_a("IfcAudioVisualAppliance") or tcls == "IfcAudioVisualAppliance":
            return ("sensor", "camera") if (predefined or "").upper() == "CAMERA" else None
        if el.is_a("IfcAlarm") or tcls == "IfcAlarm":
            if (predefined or "").upper() in _CALL_POINTS:
                return None
            own = _pset(el, "DrillTwin_Alarm").get("Kind")
            if isinstance(own, str) and own.strip():
                return "alarm", own.strip().lower()
            kind = (predefined or "siren").lower()
            return "alarm", "siren" if kind in ("notdefined", "userdefined") else kind
        pset_kind = _pset(el, "DrillTwin_Equipment").get("Kind")
        if isinstance(pset_kind, str) and pset_kind.strip():
            return "equipment", pset_kind.strip().lower()
        if el.is_a("IfcDistributionControlElement"):
            return None
        cls = el.is_a()
        for c in (cls, tcls):
            if c in EQUIPMENT_KINDS:
                return "equipment", EQUIPMENT_KINDS[c]
        # Only a generic flow class without a more specific type (IFC2X3 style) is read by its words: a
        # typed or specific element that is not in the table is a duct, cable, light or sanitary fitting.
        if cls not in _GENERIC_EQUIPMENT or tcls is not None:
            return None
        words = _text(el.ObjectType, getattr(typ, "Name", None), el.Name)
        m = _KIND_WORDS.search(words)
        if m:
            w = m.group(1).lower()
            return "equipment", "tank" if w == "vessel" else "heat_exchanger" if w == "exchanger" else w
        return "equipment", _GENERIC_EQUIPMENT[cls]

    @staticmethod
    def _sensor_kind(el: ifcopenshell.entity_instance, predefined: str | None) -> str:
        own = _pset(el, "DrillTwin_Sensor").get("Kind")
        if isinstance(own, str) and own.strip():
            return own.strip().lower()
        p = (predefined or "").upper()
        if p in _SENSOR_KINDS:
            return _SENSOR_KINDS[p]
        if _pset(el, "DrillTwin_Sensor").get("Gas"):
            return "gas"
        if not p or p in ("NOTDEFINED", "USERDEFINED"):
            return "sensor"
        return p.lower().removesuffix("sensor") or "sensor"

    def _sensor(self, el: ifcopenshell.entity_instance, kind: str, pos: tuple[float, float, float], space: str | None, storey: str | None) -> Sensor:
        """A sensor with the DrillTwin_Sensor properties read (bad values warned and left out)."""
        ent = label(el)
        ps = _pset(el, "DrillTwin_Sensor")
        sensor = Sensor(el.GlobalId, el.Name or el.GlobalId, kind, pos, space, storey)
        sensor.extra.update({k: v for k, v in _pset(el, "DrillTwin_SensorExtra").items()})
        if ps.get("Gas"):
            sensor.gas = str(ps["Gas"]).strip()
        elif (ue.get_predefined_type(el) or "").upper() in ("COSENSOR", "CO2SENSOR"):
            sensor.gas = (ue.get_predefined_type(el) or "").upper().removesuffix("SENSOR")
        if ps.get("Setpoints"):
            try:
                sp = [parse_concentration(s.strip(), "Setpoints") for s in str(ps["Setpoints"]).split(";") if s.strip()]
                sensor.setpoints = sorted(sp, key=lambda c: c.value)
            except ValueError as exc:
                self.site.warn("sensor_bad_property", ent, f"DrillTwin_Sensor.Setpoints: {exc}")
        if ps.get("Noise"):
            try:
                sensor.noise = parse_concentration(str(ps["Noise"]).strip(), "Noise")
            except ValueError as exc:
                self.site.warn("sensor_bad_property", ent, f"DrillTwin_Sensor.Noise: {exc}")
        for key, attr in (("T90", "t90"), ("Period", "period")):
            v = ps.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0:
                setattr(sensor, attr, float(v))
            elif v is not None:
                self.site.warn("sensor_bad_property", ent, f"DrillTwin_Sensor.{key} {v!r} is not a duration in s")
        return sensor

    # -- muster points ----------------------------------------------------------------------------
    def _muster(self) -> None:
        """Products whose ObjectType or Name says muster/assembly point."""
        for el in self.model.by_type("IfcProduct"):
            if el.is_a("IfcSpatialStructureElement") or el.is_a("IfcOpeningElement") or el.is_a("IfcSpace"):
                continue
            text = _text(getattr(el, "ObjectType", None), el.Name)
            if not text or not _MUSTER_NAME.search(text):
                continue
            pos = self._position(el)
            if pos is None:
                self.site.warn("muster_no_position", label(el), "muster point without a placement; skipped")
                continue
            self.site.muster[el.GlobalId] = MusterPoint(el.GlobalId, el.Name or el.GlobalId, pos)

    # -- summary ----------------------------------------------------------------------------------
    def _summary(self) -> None:
        self.stats["schema"] = self.model.schema
        self.stats["storeys"] = len(self.site.storeys)
        self.stats["muster"] = len(self.site.muster)
        by_code: dict[str, int] = {}
        for w in self.site.warnings:
            by_code[w.code] = by_code.get(w.code, 0) + 1
        self.stats["warnings"] = by_code
