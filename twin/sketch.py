"""Site sketches (``*.site.yaml``): a site without BIM, as in docs/site-sketch.md.

>>> site = read_sketch("ifc_models/rimea9.site.yaml")          # doctest: +SKIP
>>> site.summary()["doors"]                                    # doctest: +SKIP
4

The format is validated with pydantic (unknown fields are errors, so typos are caught) and then checked
geometrically. Every problem is one :class:`~twin.errors.InputError` naming the file and the field path
with the entity's name, e.g. ``plant.site.yaml: storeys[0].doors[1] 'D1': ...``.

Units and coordinates
---------------------
* ``x``, ``y`` are metres in the site's world frame (x east, y north). Lengths, widths, heights and
  elevations are numbers in m or strings with a unit (``"1.2 m"``, ``"90 cm"``); ``t90`` and ``period``
  are durations (``30s``, ``1 min``); ``setpoints`` and ``noise`` are concentrations (``10 ppm``,
  ``20 %LEL``); ``ach`` is air changes per hour (a number, or ``"4 1/h"``).
* The ``at`` of equipment, sensors and alarms is ``[x, y, z]`` with ``z`` the height above the storey's
  floor (defaults when omitted: equipment 1.0 m, sensors 1.5 m, alarms 2.5 m); the site stores absolute z.
  Muster points are ``[x, y]`` on the ground (z = 0) or ``[x, y, z]`` with absolute z.

Rules checked
-------------
* The YAML has no key twice in one mapping, and no field the format does not know (with a "did you
  mean" hint for typos).
* Polygons have at least 3 points and are valid (not self-intersecting); spaces on one storey do not
  overlap (by more than 0.01 m2).
* A door lies within 0.5 m of an edge of each space in its ``between``; ``outside`` stands for the
  outside. Unknown space names are errors that list the candidates.
* Names are unique: buildings on the site, storeys in a building, spaces on a storey, and doors, stairs,
  equipment, sensors, alarms and muster points on the whole site (scenarios refer to them by name).
* Equipment, sensors and alarms lie within 0.5 m of their space's footprint. Their ``space`` is a space
  name, or ``"Storey/Space"`` or ``"Building/Storey/Space"`` when the name alone is ambiguous.
* Stairs: ``from``/``to`` are ``[storey, space]`` (``storey`` may be ``"Building/Storey"``), the top is
  above the bottom, and ``length`` (along the slope) is at least the rise.

Exits: doors to ``outside`` on the ground-access storey of each building (:meth:`Site.ground_storeys`)
are exits (``external`` and ``exit``); outside doors on other storeys are external but not exits unless
``exit: true``. ``exit: false`` turns an exit into a plain external door (a door that is kept locked).

Extensions to the contract's format
-----------------------------------
* ``buildings: [{name, storeys, stairs?, equipment?, sensors?, alarms?}]`` instead of top-level
  ``storeys``: several buildings on one site. The top-level ``storeys`` is the single-building shorthand
  (the building takes the site's name). Top-level ``stairs``/``equipment``/``sensors``/``alarms`` may name
  spaces of any building; inside a building entry they name that building's spaces.
* Storey ``elevation`` defaults to the previous storey's elevation plus its height (0 for the first);
  ``height`` defaults to 3 m.
* Space fields ``use`` (office, control, meeting, lab, process, plant, workshop, warehouse, storage,
  corridor, stair, toilet, kitchen, hall, ...; a space without ``ach`` gets ``DEFAULT_ACH[use]``),
  ``long_name`` and ``height`` (default: the storey's height).
* Door fields ``open: true`` (open for air; default shut) and ``exit: true|false`` (override the exit
  rule above); ``width`` defaults to 0.9 m.
* Stair fields ``at: [x, y]`` (where the flight starts, on the bottom floor) and ``heading`` (degrees,
  counter-clockwise from +x, the direction of the run). Without ``at`` the stair starts inside the
  overlap of the two spaces' footprints (else inside the bottom space); without ``heading`` the direction
  that lands deepest inside the top space is chosen (15 degree steps). The top point is
  ``at + run * (cos heading, sin heading)`` with ``run = sqrt(length^2 - rise^2)``. ``length`` defaults to
  a 175/280 mm stair (1.89 m along the slope per m of rise); ``width`` to 1.2 m.
* Sensor fields ``kind`` (gas, smoke, heat, flame, camera; default gas) and ``extra`` (a mapping of
  scalars kept in ``Sensor.extra``, e.g. a camera's detection rate). Alarm field ``kind`` (siren, bell,
  light; default siren).

Identifiers are IFC GlobalIds derived from the names (:func:`sketch_guid`), so a sketch and the IFC that
:func:`twin.ifc_build.build_ifc` writes from it give the same ids: ``space:B/S/N``, ``door:B/S/N``,
``stair:B/S/N`` (bottom storey), ``equipment:B/S/N``, ``sensor:B/S/N``, ``alarm:B/S/N``, ``storey:B/S``,
``building:B`` and ``muster:SITE/N``.
"""

from __future__ import annotations

import difflib
import math
import os
import types
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from shapely.geometry import Point, Polygon
from shapely.validation import explain_validity

from .errors import InputError
from .site import (
    DEFAULT_ACH,
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
from .units import Concentration, parse_concentration, parse_duration, parse_quantity
from .yamlio import read_yaml

__all__ = [
    "NAMESPACE",
    "OUTSIDE",
    "read_sketch",
    "sketch_from_dict",
    "sketch_guid",
]

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "sketch.drilltwin")
"""UUID namespace of sketch GlobalIds; never change it, or every id of every sketch changes."""

OUTSIDE = "outside"
TOUCH = 0.5
"""m: how far a door may lie from its spaces' edges, and an item from its space (docs/site-sketch.md)."""
OVERLAP = 0.01
"""m2: overlap of two spaces on one storey tolerated as drawing noise."""
DOOR_Z = 1.05
"""m above the floor of a door's position: the middle of a 2.1 m door leaf."""
DOOR_HEIGHT = 2.1
DEFAULT_Z = {"equipment": 1.0, "sensor": 1.5, "alarm": 2.5}
"""m above the floor when an ``at`` has only x and y."""
STAIR_SLOPE = math.hypot(0.175, 0.28) / 0.175
"""Length along the slope per m of rise of a 175 mm riser / 280 mm tread stair (default length)."""
RISER_TARGET = 0.175
"""m: riser height aimed at when counting risers (the count is rounded, the riser follows)."""


def sketch_guid(kind: str, *parts: str) -> str:
    """Deterministic IFC GlobalId (22 characters) for a sketch item.

    ``kind`` is ``space``, ``door``, ``stair``, ... and ``parts`` the names that locate it, e.g.
    ``sketch_guid("door", "Plant", "Ground", "D1")`` hashes ``"door:Plant/Ground/D1"`` (UUID version 5).
    """
    import ifcopenshell.guid  # lazy: loading ifcopenshell costs time that plain sketch checks do not need

    return ifcopenshell.guid.compress(uuid.uuid5(NAMESPACE, f"{kind}:{'/'.join(parts)}").hex)


# --------------------------------------------------------------------------------------------------------
# Field types: quantities with units become SI floats before pydantic checks the type.


def _no_bool(value: Any) -> Any:
    # YAML reads `yes`/`no` as booleans; a boolean where a number belongs is almost surely a mistake.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return value


def _length(value: Any) -> float:
    return parse_quantity(_no_bool(value), "length", "value")


def _positive_length(value: Any) -> float:
    out = _length(value)
    if out <= 0:
        raise ValueError(f"expected a positive length, got {value!r}")
    return out


def _duration(value: Any) -> float:
    out = parse_duration(_no_bool(value), "value")
    if out < 0:
        raise ValueError(f"expected a non-negative duration, got {value!r}")
    return out


def _angle(value: Any) -> float:
    return parse_quantity(_no_bool(value), "angle", "value")


def _ach(value: Any) -> float:
    """Air changes per hour: a bare number is already per hour; ``"4 1/h"`` or ``"4 ach"`` too."""
    value = _no_bool(value)
    out = float(value) if isinstance(value, int | float) else parse_quantity(value, "rate", "value") * 3600.0
    if out < 0:
        raise ValueError(f"expected a non-negative number of air changes per hour, got {value!r}")
    return out


def _concentration(value: Any) -> Concentration:
    return parse_concentration(_no_bool(value), "value")


def _name(value: Any) -> Any:
    # Room numbers such as 101 come from YAML as ints; names are strings.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str) and not value.strip():
        raise ValueError("expected a non-empty name")
    return value.strip() if isinstance(value, str) else value


def _point(n_min: int, n_max: int):
    def check(value: Any) -> list[float]:
        if not isinstance(value, list | tuple) or not n_min <= len(value) <= n_max:
            want = f"{n_min}" if n_min == n_max else f"{n_min} or {n_max}"
            raise ValueError(f"expected a list of {want} coordinates in m, got {value!r}")
        return [_length(v) for v in value]

    return check


Name = Annotated[str, BeforeValidator(_name)]
Length = Annotated[float, BeforeValidator(_length)]
PositiveLength = Annotated[float, BeforeValidator(_positive_length)]
Duration = Annotated[float, BeforeValidator(_duration)]
Angle = Annotated[float, BeforeValidator(_angle)]
Ach = Annotated[float, BeforeValidator(_ach)]
Conc = Annotated[Concentration, BeforeValidator(_concentration)]
XY = Annotated[list[float], BeforeValidator(_point(2, 2))]
XYZ = Annotated[list[float], BeforeValidator(_point(2, 3))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=False)


class SpaceIn(_Model):
    """A space: ``polygon`` [[x, y], ...] in m; ``height`` in m (default: the storey's)."""

    name: Name
    polygon: list[XY]
    ach: Ach | None = None
    use: str | None = None
    long_name: str | None = None
    height: PositiveLength | None = None


class DoorIn(_Model):
    """A door at ``at`` [x, y] (m) of ``width`` m between two spaces (or a space and ``outside``)."""

    name: Name
    at: XY
    width: PositiveLength = 0.9
    between: Annotated[list[Name], Field(min_length=2, max_length=2)]
    open: bool = False
    exit: bool | None = None


class StoreyIn(_Model):
    """A storey: ``elevation`` of the floor and ``height`` floor to ceiling, in m."""

    name: Name
    elevation: Length | None = None
    height: PositiveLength = 3.0
    spaces: list[SpaceIn] = []
    doors: list[DoorIn] = []


class StairIn(_Model):
    """A stair from ``[storey, space]`` to ``[storey, space]``; ``width``/``length`` in m."""

    name: Name
    from_: Annotated[list[Name], Field(alias="from", min_length=2, max_length=2)]
    to: Annotated[list[Name], Field(min_length=2, max_length=2)]
    width: PositiveLength = 1.2
    length: PositiveLength | None = None
    at: XY | None = None
    heading: Angle | None = None


class EquipmentIn(_Model):
    """A leak source: ``kind`` (pump, valve, tank, pipe, compressor, vessel, ...) in ``space``."""

    name: Name
    kind: str
    space: Name
    at: XYZ


class SensorIn(_Model):
    """A detector; ``t90``/``period`` in s, ``setpoints``/``noise`` as concentrations."""

    name: Name
    kind: Literal["gas", "smoke", "heat", "flame", "camera"] = "gas"
    gas: str | None = None
    space: Name
    at: XYZ
    setpoints: list[Conc] = []
    t90: Duration | None = None
    noise: Conc | None = None
    period: Duration | None = None
    extra: dict[str, str | bool | int | float] = {}


class AlarmIn(_Model):
    """A sounder or beacon in ``space``."""

    name: Name
    space: Name
    at: XYZ
    kind: str = "siren"


class MusterIn(_Model):
    """An assembly point outdoors: ``at`` [x, y] on the ground or [x, y, z]."""

    name: Name
    at: XYZ


class BuildingIn(_Model):
    """One building of a multi-building site."""

    name: Name
    storeys: Annotated[list[StoreyIn], Field(min_length=1)]
    stairs: list[StairIn] = []
    equipment: list[EquipmentIn] = []
    sensors: list[SensorIn] = []
    alarms: list[AlarmIn] = []


class SketchIn(_Model):
    """The whole sketch file."""

    name: Name
    storeys: list[StoreyIn] | None = None
    buildings: list[BuildingIn] | None = None
    stairs: list[StairIn] = []
    equipment: list[EquipmentIn] = []
    sensors: list[SensorIn] = []
    alarms: list[AlarmIn] = []
    muster: list[MusterIn] = []

    @model_validator(mode="after")
    def _one_layout(self) -> SketchIn:
        if (self.storeys is None) == (self.buildings is None):
            raise ValueError("give either 'storeys' (one building) or 'buildings', not both or neither")
        if self.storeys is not None and not self.storeys:
            raise ValueError("'storeys' is empty; a site needs at least one storey")
        if self.buildings is not None and not self.buildings:
            raise ValueError("'buildings' is empty; a site needs at least one building")
        return self


# --------------------------------------------------------------------------------------------------------
# Reading and pydantic error translation


def read_sketch(path: str | os.PathLike) -> Site:
    """Read a ``*.site.yaml`` sketch into a :class:`~twin.site.Site` (``schema == "sketch"``).

    Raises :class:`~twin.errors.InputError` naming the file and the field or entity on any problem.
    """
    data, _ = read_yaml(path)  # duplicate keys, alias bombs and oversized files refused
    return sketch_from_dict(data, str(path))


def sketch_from_dict(data: Any, source: str = "<sketch>") -> Site:
    """Validate a parsed sketch (the YAML as Python data) and build the :class:`~twin.site.Site`.

    ``source`` names the file in errors and becomes ``Site.source``.
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise InputError(f"expected a mapping with 'name' and 'storeys' or 'buildings', got {kind}",
                         source=source)
    try:
        model = SketchIn.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, data, source) from None
    return _Builder(model, source).build()


def _translate(exc: ValidationError, data: Any, source: str) -> InputError:
    """One clear InputError from pydantic's first error (and a count of the others)."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = sorted(_fields_at(SketchIn, loc[:-1]))
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        msg = f"unknown field {key!r}{hint}; allowed: {', '.join(allowed)}"
        loc = loc[:-1]
    elif kind == "missing":
        msg = f"missing required field {str(loc[-1])!r}"
        loc = loc[:-1]
    else:
        msg = err["msg"].removeprefix("Value error, ").removeprefix("value: ")
        if kind not in ("value_error", "assertion_error") and "input" in err:
            msg += f" (got {err['input']!r})"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return InputError(msg, source=source, where=_loc_path(loc, data) or None)


def _loc_path(loc: tuple[Any, ...], data: Any) -> str:
    """``storeys[0].doors[1] 'D1'.width`` from pydantic's loc, naming the innermost named item."""
    parts: list[str] = []
    node = data
    named_at = -1
    label = ""
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
            node = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            if isinstance(node, dict) and "name" in node:
                named_at, label = len(parts) - 1, f" {str(node['name'])!r}"
        elif isinstance(item, str) and not _is_union_tag(item):
            parts.append(item)
            node = node.get(item) if isinstance(node, dict) else None
    if named_at >= 0:
        parts[named_at] += label
    return ".".join(parts)


def _is_union_tag(item: str) -> bool:
    # pydantic puts the member type of a union in the loc (e.g. "list[...]"); it is not a field.
    return any(c in item for c in "[]()") or item in {"float", "str", "int", "bool", "none"}


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names (by alias) of the model reached by following ``loc`` from ``model``."""
    current: Any = model
    for item in loc:
        if isinstance(item, int):
            continue
        sub = _model_of(current)
        if sub is None:
            break
        fld = next((f for n, f in sub.model_fields.items() if (f.alias or n) == item), None)
        if fld is None:
            continue  # a union tag
        current = fld.annotation
    sub = _model_of(current)
    return [f.alias or n for n, f in sub.model_fields.items()] if sub else []


def _model_of(tp: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``tp`` (``list[M]``, ``M | None``, ``Annotated[M, ...]``), if any."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    if get_origin(tp) in (list, Union, Annotated, types.UnionType):
        for arg in get_args(tp):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


# --------------------------------------------------------------------------------------------------------
# Building the Site


@dataclass
class _StoreyCtx:
    """A storey while building: its Site record, its path in the file and its spaces by name."""

    storey: Storey
    building: str
    path: str
    spec: StoreyIn
    spaces: dict[str, Space] = field(default_factory=dict)


@dataclass
class _BuildingCtx:
    building: Building
    path: str
    spec: BuildingIn
    storeys: dict[str, _StoreyCtx] = field(default_factory=dict)


class _Builder:
    """Turns a validated :class:`SketchIn` into a :class:`Site`, checking geometry and references."""

    def __init__(self, model: SketchIn, source: str):
        self.m = model
        self.source = source
        self.site = Site(name=model.name, source=source, schema="sketch")
        self.buildings: list[_BuildingCtx] = []
        self.names: dict[str, dict[str, str]] = {}  # kind -> name -> path where first defined

    def error(self, message: str, where: str) -> InputError:
        return InputError(message, source=self.source, where=where)

    def build(self) -> Site:
        for bctx in self._building_specs():
            self._add_building(bctx)
        ground = self.site.ground_storeys()
        for bctx in self.buildings:
            for sctx in bctx.storeys.values():
                self._add_doors(sctx, ground)
        for prefix, spec, scope in self._item_lists():
            self._add_stairs(prefix, spec.stairs, scope)
            self._add_placed(prefix, "equipment", spec.equipment, scope)
            self._add_placed(prefix, "sensors", spec.sensors, scope)
            self._add_placed(prefix, "alarms", spec.alarms, scope)
        self._add_muster()
        self.site.stats["buildings"] = len(self.site.buildings)
        return self.site

    # -- layout -------------------------------------------------------------------------------------------

    def _building_specs(self) -> Iterator[_BuildingCtx]:
        if self.m.buildings is None:
            spec = BuildingIn(name=self.m.name, storeys=self.m.storeys or [])
            yield _BuildingCtx(Building(sketch_guid("building", spec.name), spec.name), "", spec)
            return
        seen: dict[str, int] = {}
        for i, spec in enumerate(self.m.buildings):
            path = f"buildings[{i}]"
            if spec.name in seen:
                raise self.error(f"duplicate building name {spec.name!r} (also buildings[{seen[spec.name]}])",
                                 f"{path} {spec.name!r}")
            seen[spec.name] = i
            yield _BuildingCtx(Building(sketch_guid("building", spec.name), spec.name), path + ".", spec)

    def _item_lists(self) -> Iterator[tuple[str, Any, list[_BuildingCtx]]]:
        """(path prefix, spec holding stairs/equipment/..., buildings its names may refer to)."""
        if self.m.buildings is not None:
            for bctx in self.buildings:
                yield bctx.path, bctx.spec, [bctx]
        yield "", self.m, self.buildings

    def _add_building(self, bctx: _BuildingCtx) -> None:
        self.site.buildings.append(bctx.building)
        self.buildings.append(bctx)
        bname = bctx.building.name
        elevation = 0.0
        for i, spec in enumerate(bctx.spec.storeys):
            path = f"{bctx.path}storeys[{i}]"
            if spec.name in bctx.storeys:
                raise self.error(f"duplicate storey name {spec.name!r} in building {bname!r}",
                                 f"{path} {spec.name!r}")
            if spec.elevation is not None:
                elevation = spec.elevation
            storey = Storey(sketch_guid("storey", bname, spec.name), spec.name, elevation,
                            building=bctx.building.id, height=spec.height, walkable=bool(spec.spaces))
            self.site.storeys.append(storey)
            sctx = _StoreyCtx(storey, bname, path, spec)
            bctx.storeys[spec.name] = sctx
            for j, sp in enumerate(spec.spaces):
                self._add_space(sctx, j, sp, bctx.building.id)
            self._check_overlaps(sctx)
            elevation += spec.height

    def _add_space(self, sctx: _StoreyCtx, j: int, spec: SpaceIn, building_id: str) -> None:
        path = f"{sctx.path}.spaces[{j}] {spec.name!r}"
        if spec.name in sctx.spaces:
            raise self.error(f"duplicate space name {spec.name!r} on storey {sctx.storey.name!r}", path)
        if spec.name.lower() == OUTSIDE:
            raise self.error(f"{OUTSIDE!r} is reserved for the outside; rename the space", path)
        poly = self._polygon(spec.polygon, path + ".polygon")
        use = spec.use.strip().lower() if spec.use else None
        if use and use not in DEFAULT_ACH:
            self.site.warn("space_use_unknown", spec.name,
                           f"use {use!r} has no default air change rate; {DEFAULT_ACH['default']} ach is assumed "
                           f"unless ach is given (known uses: {', '.join(sorted(DEFAULT_ACH))})")
        space = Space(
            id=sketch_guid("space", sctx.building, sctx.storey.name, spec.name),
            name=spec.name,
            storey=sctx.storey.id,
            footprint=poly,
            elevation=sctx.storey.elevation,
            height=spec.height if spec.height is not None else sctx.spec.height,
            long_name=spec.long_name,
            building=building_id,
            use=use,
            ach=spec.ach,
        )
        sctx.spaces[spec.name] = space
        self.site.spaces[space.id] = space

    def _polygon(self, points: list[list[float]], where: str) -> Polygon:
        pts = [tuple(p) for p in points]
        if len(pts) > 3 and pts[0] == pts[-1]:
            pts = pts[:-1]  # a closed ring written out in full
        if len(pts) < 3:
            raise self.error(f"a polygon needs at least 3 points, got {len(pts)}", where)
        poly = Polygon(pts)
        if not poly.is_valid:
            raise self.error(f"invalid polygon: {explain_validity(poly)} (is it self-intersecting?)", where)
        if poly.area <= 1e-6:
            raise self.error("the polygon has no area (are its points in a line?)", where)
        return poly

    def _check_overlaps(self, sctx: _StoreyCtx) -> None:
        spaces = list(sctx.spaces.values())
        for a_i, a in enumerate(spaces):
            for b in spaces[a_i + 1:]:
                if not _bbox_overlap(a.footprint, b.footprint):
                    continue
                overlap = a.footprint.intersection(b.footprint).area
                if overlap > OVERLAP:
                    j = sctx.spec.spaces.index(next(s for s in sctx.spec.spaces if s.name == b.name))
                    raise self.error(f"space {b.name!r} overlaps space {a.name!r} by {overlap:.2f} m2",
                                     f"{sctx.path}.spaces[{j}] {b.name!r}")

    # -- doors --------------------------------------------------------------------------------------------

    def _claim(self, kind: str, name: str, path: str) -> None:
        """Site-wide unique names for the items scenarios refer to."""
        seen = self.names.setdefault(kind, {})
        if name in seen:
            raise self.error(f"duplicate {kind} name {name!r} (also at {seen[name]})", path)
        seen[name] = path

    def _add_doors(self, sctx: _StoreyCtx, ground: set[str]) -> None:
        for k, spec in enumerate(sctx.spec.doors):
            path = f"{sctx.path}.doors[{k}] {spec.name!r}"
            self._claim("door", spec.name, path)
            door = self._door(sctx, spec, path, sctx.storey.id in ground)
            self.site.doors[door.id] = door

    def _door(self, sctx: _StoreyCtx, spec: DoorIn, path: str, on_ground: bool) -> Door:
        names = list(spec.between)
        outside = [n for n in names if n.lower() == OUTSIDE]
        if len(outside) == 2:
            raise self.error("'between' names the outside twice; a door joins a space to another space "
                             "or to the outside", path + ".between")
        if names[0] == names[1]:
            raise self.error(f"'between' names {names[0]!r} twice", path + ".between")
        at = Point(spec.at)
        spaces: list[Space] = []
        for n in names:
            if n.lower() == OUTSIDE:
                continue
            sp = sctx.spaces.get(n)
            if sp is None:
                raise self.error(_unknown("space", n, list(sctx.spaces) + [OUTSIDE],
                                          f"on storey {sctx.storey.name!r}"), path + ".between")
            gap = sp.footprint.exterior.distance(at)
            if gap > TOUCH:
                raise self.error(f"door {spec.name!r} at {_fmt(spec.at)} is {gap:.2f} m from the edge of space "
                                 f"{n!r}; a door must lie within {TOUCH} m of an edge of each space it joins",
                                 path)
            spaces.append(sp)
        external = bool(outside)
        if spec.exit and not external:
            raise self.error("'exit: true' needs 'outside' in 'between'", path + ".exit")
        is_exit = external and (spec.exit if spec.exit is not None else on_ground)
        self._warn_near(sctx, spec.name, at, {s.name for s in spaces}, "door")
        return Door(
            id=sketch_guid("door", sctx.building, sctx.storey.name, spec.name),
            name=spec.name,
            position=(spec.at[0], spec.at[1], sctx.storey.elevation + DOOR_Z),
            width=spec.width,
            spaces=tuple(s.id for s in spaces),
            storey=sctx.storey.id,
            height=DOOR_HEIGHT,
            external=external,
            exit=bool(is_exit),
            open=spec.open,
        )

    def _warn_near(self, sctx: _StoreyCtx, name: str, at: Point, named: set[str], what: str) -> None:
        """Warn when an unnamed space is within the touch distance: an IFC reader that finds spaces by
        proximity (as real files need) could join it too."""
        near = sorted(n for n, sp in sctx.spaces.items() if n not in named and sp.footprint.distance(at) <= TOUCH)
        if near:
            self.site.warn(f"{what}_near_other_space", name,
                           f"{what} {name!r} is within {TOUCH} m of {', '.join(map(repr, near))} as well as "
                           "the spaces it names; an IFC reader may join those too")

    # -- stairs -------------------------------------------------------------------------------------------

    def _add_stairs(self, prefix: str, specs: list[StairIn], scope: list[_BuildingCtx]) -> None:
        for k, spec in enumerate(specs):
            path = f"{prefix}stairs[{k}] {spec.name!r}"
            self._claim("stair", spec.name, path)
            stair = self._stair(spec, path, scope)
            self.site.stairs[stair.id] = stair

    def _stair(self, spec: StairIn, path: str, scope: list[_BuildingCtx]) -> Stair:
        s_lo, bottom = self._storey_space(spec.from_, scope, path + ".from")
        s_hi, top = self._storey_space(spec.to, scope, path + ".to")
        rise = top.elevation - bottom.elevation
        if rise <= 0:
            raise self.error(f"the 'to' storey {s_hi.storey.name!r} ({top.elevation:g} m) is not above the "
                             f"'from' storey {s_lo.storey.name!r} ({bottom.elevation:g} m)", path)
        length = spec.length if spec.length is not None else rise * STAIR_SLOPE
        if length < rise:
            raise self.error(f"length {length:g} m is shorter than the rise {rise:g} m", path + ".length")
        run = math.sqrt(max(length**2 - rise**2, 0.0))
        start = self._stair_start(spec, bottom, top, path)
        if spec.heading is not None:
            end = _step(start, run, spec.heading)
            gap = top.footprint.distance(Point(end))
            if gap > TOUCH:
                raise self.error(f"with heading {spec.heading:g} the stair lands at {_fmt(end)}, {gap:.2f} m "
                                 f"outside space {top.name!r}; change 'heading', 'at' or 'length'", path)
        else:
            end = self._auto_heading(start, run, top, path)
        self._warn_near(s_lo, spec.name, Point(start), {bottom.name}, "stair")
        self._warn_near(s_hi, spec.name, Point(end), {top.name}, "stair")
        n = max(1, round(rise / RISER_TARGET))
        return Stair(
            id=sketch_guid("stair", s_lo.building, s_lo.storey.name, spec.name),
            name=spec.name,
            bottom=bottom.id,
            top=top.id,
            bottom_xy=start,
            top_xy=end,
            bottom_z=bottom.elevation,
            top_z=top.elevation,
            length=length,
            width=spec.width,
            riser=rise / n,
            tread=run / n,
        )

    def _stair_start(self, spec: StairIn, bottom: Space, top: Space, path: str) -> tuple[float, float]:
        if spec.at is not None:
            gap = bottom.footprint.distance(Point(spec.at))
            if gap > TOUCH:
                raise self.error(f"'at' {_fmt(spec.at)} is {gap:.2f} m outside space {bottom.name!r}",
                                 path + ".at")
            return (spec.at[0], spec.at[1])
        common = bottom.footprint.intersection(top.footprint)
        p = common.representative_point() if common.area > OVERLAP else bottom.footprint.representative_point()
        return (round(p.x, 3), round(p.y, 3))

    def _auto_heading(self, start: tuple[float, float], run: float, top: Space, path: str) -> tuple[float, float]:
        """The landing point deepest inside the top space over headings in 15 degree steps."""
        best: tuple[float, tuple[float, float]] | None = None
        for k in range(24):
            end = _step(start, run, 15.0 * k)
            p = Point(end)
            if not top.footprint.contains(p):
                continue
            depth = top.footprint.exterior.distance(p)
            if best is None or depth > best[0] + 1e-9:
                best = (depth, end)
        if best is None:
            raise self.error(f"no heading lands the stair (run {run:.2f} m from {_fmt(start)}) inside space "
                             f"{top.name!r}; give 'at' and 'heading'", path)
        return best[1]

    def _storey_space(self, ref: list[str], scope: list[_BuildingCtx], where: str) -> tuple[_StoreyCtx, Space]:
        storey_ref, space_name = ref
        sctx = self._storey(storey_ref, scope, where)
        sp = sctx.spaces.get(space_name)
        if sp is None:
            raise self.error(_unknown("space", space_name, list(sctx.spaces),
                                      f"on storey {sctx.storey.name!r}"), where)
        return sctx, sp

    def _storey(self, ref: str, scope: list[_BuildingCtx], where: str) -> _StoreyCtx:
        hits = [s for b in scope for s in b.storeys.values() if ref in (s.storey.name, f"{s.building}/{s.storey.name}")]
        if len(hits) == 1:
            return hits[0]
        cands = [s.storey.name if len(scope) == 1 else f"{s.building}/{s.storey.name}"
                 for b in scope for s in b.storeys.values()]
        if not hits:
            raise self.error(_unknown("storey", ref, cands), where)
        raise self.error(f"storey {ref!r} is in more than one building; write one of: "
                         f"{', '.join(f'{h.building}/{h.storey.name}' for h in hits)}", where)

    # -- equipment, sensors, alarms, muster -------------------------------------------------------------

    def _resolve_space(self, ref: str, scope: list[_BuildingCtx], where: str) -> tuple[_StoreyCtx, Space]:
        """A space by ``Space``, ``Storey/Space`` or ``Building/Storey/Space``."""
        hits: list[tuple[_StoreyCtx, Space]] = []
        everything: list[str] = []
        for b in scope:
            for sctx in b.storeys.values():
                for name, sp in sctx.spaces.items():
                    forms = (name, f"{sctx.storey.name}/{name}", f"{b.building.name}/{sctx.storey.name}/{name}")
                    everything.append(forms[0] if len(scope) == 1 else forms[2])
                    if ref in forms:
                        hits.append((sctx, sp))
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise self.error(_unknown("space", ref, everything), where)
        quals = ", ".join(f"{s.building}/{s.storey.name}/{sp.name}" if len(scope) > 1 else f"{s.storey.name}/{sp.name}"
                          for s, sp in hits)
        raise self.error(f"space {ref!r} is ambiguous; write one of: {quals}", where)

    def _add_placed(self, prefix: str, kind: str, specs: list[Any], scope: list[_BuildingCtx]) -> None:
        singular = {"equipment": "equipment", "sensors": "sensor", "alarms": "alarm"}[kind]
        registry: dict[str, Any] = getattr(self.site, kind)
        for k, spec in enumerate(specs):
            path = f"{prefix}{kind}[{k}] {spec.name!r}"
            self._claim(singular, spec.name, path)
            sctx, sp = self._resolve_space(spec.space, scope, path + ".space")
            x, y = spec.at[0], spec.at[1]
            z = spec.at[2] if len(spec.at) == 3 else DEFAULT_Z[singular]
            gap = sp.footprint.distance(Point(x, y))
            if gap > TOUCH:
                raise self.error(f"'at' {_fmt(spec.at)} is {gap:.2f} m outside space {sp.name!r}; it must lie "
                                 f"within {TOUCH} m of the space", path + ".at")
            pos = (x, y, sctx.storey.elevation + z)
            ident = sketch_guid(singular, sctx.building, sctx.storey.name, spec.name)
            if singular == "sensor" and [c.value for c in spec.setpoints] != sorted(c.value for c in spec.setpoints):
                raise self.error("setpoints must be in ascending order", path + ".setpoints")
            item = self._placed_item(singular, spec, ident, pos, sp, sctx)
            registry[ident] = item

    @staticmethod
    def _placed_item(singular: str, spec: Any, ident: str, pos: tuple[float, float, float], sp: Space,
                     sctx: _StoreyCtx) -> Equipment | Sensor | Alarm:
        common = {"id": ident, "name": spec.name, "position": pos, "space": sp.id, "storey": sctx.storey.id}
        if singular == "equipment":
            return Equipment(kind=spec.kind.strip().lower(), **common)
        if singular == "alarm":
            return Alarm(kind=spec.kind.strip().lower(), **common)
        return Sensor(kind=spec.kind, gas=spec.gas, setpoints=list(spec.setpoints), t90=spec.t90,
                      noise=spec.noise, period=spec.period, extra=dict(spec.extra), **common)

    def _add_muster(self) -> None:
        for k, spec in enumerate(self.m.muster):
            path = f"muster[{k}] {spec.name!r}"
            self._claim("muster point", spec.name, path)
            z = spec.at[2] if len(spec.at) == 3 else 0.0
            ident = sketch_guid("muster", self.site.name, spec.name)
            self.site.muster[ident] = MusterPoint(ident, spec.name, (spec.at[0], spec.at[1], z))


# --------------------------------------------------------------------------------------------------------
# small helpers


def _unknown(kind: str, name: str, candidates: Iterable[str], scope: str = "") -> str:
    cands = sorted(set(candidates))
    close = difflib.get_close_matches(name, cands, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(cands[:30]) + (" ..." if len(cands) > 30 else "")
    where = f" {scope}" if scope else ""
    return f"unknown {kind} {name!r}{where}{hint}; candidates: {shown or '(none)'}"


def _fmt(p: Iterable[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in p) + "]"


def _step(start: tuple[float, float], run: float, heading: float) -> tuple[float, float]:
    a = math.radians(heading)
    # rounding to 0.1 mm keeps ids and positions stable in text round trips
    return (round(start[0] + run * math.cos(a), 4), round(start[1] + run * math.sin(a), 4))


def _bbox_overlap(a: Polygon, b: Polygon) -> bool:
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    return ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1

