"""The site: what an IFC model or a site sketch says about a place, in SI units and world coordinates.

A :class:`Site` is plain data: storeys, spaces with shapely footprints, doors, stairs, equipment, sensors,
alarms and muster points, plus the import warnings. Both importers (``twin.ifc`` and ``twin.sketch``) build
one; ``twin.graph`` turns it into graphs. Coordinates are metres in the model's world frame, x east and
y north, z up; elevations are absolute (not relative to the storey).

Identifiers are strings that are stable across runs: the IFC GlobalId, or for sketches a GlobalId derived
from the item's name (so a sketch and the IFC built from it give the same ids).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import Point, Polygon

from .errors import ImportWarningRecord, InputError
from .units import Concentration

__all__ = [
    "Alarm",
    "Building",
    "Door",
    "Equipment",
    "MusterPoint",
    "Sensor",
    "Site",
    "Space",
    "Stair",
    "Storey",
    "DEFAULT_ACH",
]

XYZ = tuple[float, float, float]

# Air changes per hour with outdoors by space use, when a space gives none. Values are typical design
# rates: offices and meeting rooms per EN 16798-1 category II (about 1.5 to 2 ach at normal heights),
# laboratories and process rooms under mechanical extract (6 to 12 ach, CCPS/OSHA lab guidance),
# warehouses and storage with natural ventilation (0.5 ach). They are defaults, not measurements.
DEFAULT_ACH: dict[str, float] = {
    "office": 2.0,
    "control": 4.0,
    "meeting": 3.0,
    "corridor": 1.0,
    "stair": 1.0,
    "toilet": 5.0,
    "kitchen": 5.0,
    "lab": 8.0,
    "process": 6.0,
    "workshop": 4.0,
    "warehouse": 0.5,
    "storage": 0.5,
    "plant": 6.0,
    "residential": 0.5,
    "hall": 2.0,
    "default": 1.0,
}


@dataclass
class Building:
    """One IfcBuilding (or the sketch's single building)."""

    id: str
    name: str


@dataclass
class Storey:
    """A building storey. ``elevation`` is the floor level in m; ``walkable`` is False for levels
    without spaces (foundations, roofs, helper levels)."""

    id: str
    name: str
    elevation: float
    building: str | None = None
    height: float | None = None
    walkable: bool = True


@dataclass
class Space:
    """A room or other walkable zone.

    ``footprint`` is the XY outline (m) in world coordinates; ``elevation`` the floor level and ``height``
    the clear height (m); ``ach`` air changes per hour with outdoors (``None`` means: use ``DEFAULT_ACH``
    for ``use``).
    """

    id: str
    name: str
    storey: str
    footprint: Polygon
    elevation: float
    height: float
    long_name: str | None = None
    building: str | None = None
    use: str | None = None
    ach: float | None = None
    walkable: bool = True

    @property
    def area(self) -> float:
        """Floor area in m2."""
        return float(self.footprint.area)

    @property
    def volume(self) -> float:
        """Air volume in m3."""
        return float(self.footprint.area * self.height)

    @property
    def label(self) -> str:
        """Human label: LongName when the Name is just a number, else Name."""
        if self.long_name and (not self.name or self.name.replace(".", "").isdigit()):
            return self.long_name
        return self.name or self.long_name or self.id

    def effective_ach(self) -> float:
        """Air changes per hour, falling back to the default for the space's use."""
        if self.ach is not None:
            return self.ach
        return DEFAULT_ACH.get(self.use or "default", DEFAULT_ACH["default"])


@dataclass
class Door:
    """A door or open passage joining one or two spaces, or a space and the outside.

    ``spaces`` holds one space id (a door to the outside) or two. ``exit`` is True for doors to the
    outside on a ground-access level; ``external`` for any door with the outside on one side (balcony
    doors are external but not exits). ``open`` is the air-flow state: shut doors pass only leakage, while
    people pass shut doors unless a scenario locks them. ``width`` is the clear width in m.
    """

    id: str
    name: str
    position: XYZ
    width: float
    spaces: tuple[str, ...]
    storey: str | None = None
    height: float = 2.1
    external: bool = False
    exit: bool = False
    open: bool = False
    kind: str = "door"

    @property
    def xy(self) -> tuple[float, float]:
        return (self.position[0], self.position[1])


@dataclass
class Stair:
    """A stair joining a space on one storey (``bottom``) to a space on a storey above (``top``).

    ``bottom_xy``/``top_xy`` are where people step on and off (m); ``length`` is measured along the slope
    (m), ``width`` is the clear width (m); ``riser``/``tread`` in m when known.
    """

    id: str
    name: str
    bottom: str
    top: str
    bottom_xy: tuple[float, float]
    top_xy: tuple[float, float]
    bottom_z: float
    top_z: float
    length: float
    width: float
    riser: float | None = None
    tread: float | None = None


@dataclass
class Equipment:
    """A process item that can leak: pump, valve, tank, pipe, vessel, compressor... Position in m."""

    id: str
    name: str
    kind: str
    position: XYZ
    space: str | None = None
    storey: str | None = None


@dataclass
class Sensor:
    """A detector as placed in the model. ``kind`` is ``gas``, ``smoke``, ``heat``, ``flame`` or
    ``camera``; ``setpoints`` ascending; ``t90`` and ``period`` in s; ``noise`` one standard deviation."""

    id: str
    name: str
    kind: str
    position: XYZ
    space: str | None = None
    storey: str | None = None
    gas: str | None = None
    setpoints: list[Concentration] = field(default_factory=list)
    t90: float | None = None
    noise: Concentration | None = None
    period: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Alarm:
    """A sounder or beacon. Position in m."""

    id: str
    name: str
    position: XYZ
    space: str | None = None
    storey: str | None = None
    kind: str = "siren"


@dataclass
class MusterPoint:
    """An assembly point outdoors. ``auto`` marks one placed by the importer because the model had none."""

    id: str
    name: str
    position: XYZ
    auto: bool = False


@dataclass
class Site:
    """Everything the twin knows about one site, in SI units and world coordinates.

    ``source`` is the file it came from, ``schema`` the IFC schema (``IFC2X3``, ``IFC4``) or ``sketch``.
    ``warnings`` is the import report: each problem found and the fallback taken.
    """

    name: str
    source: str
    schema: str
    buildings: list[Building] = field(default_factory=list)
    storeys: list[Storey] = field(default_factory=list)
    spaces: dict[str, Space] = field(default_factory=dict)
    doors: dict[str, Door] = field(default_factory=dict)
    stairs: dict[str, Stair] = field(default_factory=dict)
    equipment: dict[str, Equipment] = field(default_factory=dict)
    sensors: dict[str, Sensor] = field(default_factory=dict)
    alarms: dict[str, Alarm] = field(default_factory=dict)
    muster: dict[str, MusterPoint] = field(default_factory=dict)
    warnings: list[ImportWarningRecord] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def warn(self, code: str, entity: str, message: str) -> None:
        """Record an import problem and the fallback taken."""
        self.warnings.append(ImportWarningRecord(code, entity, message))

    def storey(self, storey_id: str) -> Storey:
        for s in self.storeys:
            if s.id == storey_id:
                return s
        raise KeyError(storey_id)

    def ground_storeys(self) -> set[str]:
        """Ids of the ground-access storey of each building: the lowest walkable storey whose floor is
        within 1.5 m of the building's lowest exit-capable level (the walkable storey nearest z = 0 when
        several qualify). Doors to the outside on these storeys are exits."""
        by_building: dict[str | None, list[Storey]] = {}
        for s in self.storeys:
            if s.walkable:
                by_building.setdefault(s.building, []).append(s)
        out: set[str] = set()
        for storeys in by_building.values():
            best = min(storeys, key=lambda s: (abs(s.elevation), s.elevation))
            out.add(best.id)
        return out

    def space_at(self, x: float, y: float, z: float | None = None, tol: float = 0.5) -> str | None:
        """Id of the walkable space whose footprint contains (or lies within ``tol`` m of) the point,
        choosing by floor level when ``z`` is given; ``None`` when nothing is near."""
        p = Point(x, y)
        best: tuple[float, float, str] | None = None
        for sp in self.spaces.values():
            if not sp.walkable:
                continue
            if z is not None and not (sp.elevation - 0.3 <= z <= sp.elevation + max(sp.height, 2.0) + 0.1):
                continue
            d = sp.footprint.distance(p)
            if d <= tol:
                dz = abs(z - sp.elevation) if z is not None else 0.0
                key = (d, dz, sp.id)
                if best is None or key < best:
                    best = key
        return best[2] if best else None

    def find(self, kind: str, name: str, *, field_name: str = "name") -> str:
        """Resolve a user-facing name to an id.

        ``kind`` is ``spaces``, ``doors``, ``stairs``, ``equipment``, ``sensors``, ``alarms`` or
        ``muster``. A name matches an item's id (GlobalId), name, or (for spaces) LongName. No match or
        more than one is an :class:`InputError` that lists the candidates.
        """
        items: dict[str, Any] = getattr(self, kind)
        hits = [i for i, it in items.items() if name in _names(it)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            cands = sorted({_display(it) for it in items.values()})
            shown = ", ".join(cands[:30]) + (" ..." if len(cands) > 30 else "")
            raise InputError(f"{name!r} matches no {kind.rstrip('s')} in site {self.name!r}; "
                             f"candidates: {shown or '(none)'}", where=field_name)
        cands = ", ".join(f"{_display(items[h])} ({h})" for h in hits)
        raise InputError(f"{name!r} matches more than one {kind.rstrip('s')}: {cands}; use the GlobalId",
                         where=field_name)

    def summary(self) -> dict[str, int]:
        return {
            "storeys": len(self.storeys),
            "spaces": len(self.spaces),
            "doors": len(self.doors),
            "stairs": len(self.stairs),
            "equipment": len(self.equipment),
            "sensors": len(self.sensors),
            "alarms": len(self.alarms),
            "muster": len(self.muster),
        }


def _names(item: Any) -> Iterable[str]:
    yield item.id
    if getattr(item, "name", None):
        yield item.name
    if getattr(item, "long_name", None):
        yield item.long_name


def _display(item: Any) -> str:
    ln = getattr(item, "long_name", None)
    return f"{item.name} / {ln}" if ln and ln != item.name else (item.name or item.id)
