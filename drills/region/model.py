"""A loaded region: its sites placed on the common map (:class:`SiteFrame`), the road network and
the validated workflows. :func:`load_region` checks everything it can without running (each site's
scenario and model, overlapping placements, unreachable sites); the file format is
:mod:`drills.spec.region`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from drills.region.roads import RoadNetwork
from drills.spec.region import REGION_INJECT_KINDS, RESOURCE_KINDS, RegionSpec, SiteSpec
from drills.spec.scenario import (
    Inject,
    Scenario,
    _line_of,
    all_hazards,
    format_validation_error,
    load_scenario,
)
from drills.workflow.engine import validate_workflows
from drills.workflow.regional import check_region_names
from twin.errors import InputError
from twin.yamlio import read_yaml

__all__ = ["Region", "PlacedSite", "SiteFrame", "load_region", "region_from_dict"]

EARTH_RADIUS = 6_371_008.8
"""Mean Earth radius, m (IUGG), for the equirectangular projection of geographic references."""


@dataclass(frozen=True)
class SiteFrame:
    """A site's placement: ``map = origin + R(rotation) @ local`` (m; rotation in degrees, CCW)."""

    origin: tuple[float, float]
    rotation: float

    @property
    def _r(self) -> np.ndarray:
        th = math.radians(self.rotation)
        c, s = math.cos(th), math.sin(th)
        return np.array([[c, -s], [s, c]])

    def to_map(self, pts: np.ndarray) -> np.ndarray:
        """(N, 2+) local points to the map; columns past the second (heights) pass through."""
        p = np.asarray(pts, dtype=float)
        out = p.copy()
        out[:, :2] = p[:, :2] @ self._r.T + np.asarray(self.origin)
        return out

    def to_local(self, pts: np.ndarray) -> np.ndarray:
        """(N, 2+) map points to the site's frame."""
        p = np.asarray(pts, dtype=float)
        out = p.copy()
        out[:, :2] = (p[:, :2] - np.asarray(self.origin)) @ self._r
        return out

    def wind_from_local(self, wind_from: float) -> float:
        """A map wind direction (deg clockwise from north) as the site's frame sees it."""
        # turning the frame counter-clockwise by r turns every bearing measured in it clockwise by r
        return (wind_from + self.rotation) % 360.0


@dataclass
class PlacedSite:
    """A member site ready to run: its scenario (master injects merged), model, frame and gate."""

    name: str
    index: int
    scenario: Scenario
    graph: Any
    frame: SiteFrame
    gate: str
    footprint: Any  # shapely geometry on the map (buildings and muster points)


@dataclass
class Region:
    """A validated region with its sites loaded and placed."""

    spec: RegionSpec
    path: Path | None
    sites: list[PlacedSite]
    roads: RoadNetwork
    lines: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    def site(self, name: str) -> PlacedSite:
        for s in self.sites:
            if s.name == name:
                return s
        raise KeyError(name)

    def line_of(self, loc: tuple) -> int | None:
        return _line_of(self.lines, loc)


def _loc(where: str) -> tuple:
    """``sites[1].origin`` -> ("sites", 1, "origin") for the line lookup."""
    import re

    parts: list = []
    for tok in where.split("."):
        m = re.fullmatch(r"([^\[]*)((?:\[\d+\])*)", tok)
        if not m:
            break
        if m.group(1):
            parts.append(m.group(1))
        parts.extend(int(x) for x in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(parts)


class _Err:
    """Builds InputErrors that name the region file and the YAML line of the field."""

    def __init__(self, source: str, lines: dict):
        self.source, self.lines = source, lines

    def __call__(self, msg: str, where: str) -> InputError:
        line = _line_of(self.lines, _loc(where))
        return InputError(msg, source=self.source, where=f"line {line}: {where}" if line else where)


def region_from_dict(data: Any, source: str | os.PathLike = "<region>", lines: dict | None = None,
                     base_dir: Path | None = None) -> Region:
    """Validate a parsed region mapping, load and place its sites; raise :class:`InputError` naming
    ``source``, the line, the site and the field."""
    src = str(source)
    err = _Err(src, lines or {})
    if not isinstance(data, dict):
        raise InputError("expected a mapping of region fields at the top level", source=src)
    try:
        spec = RegionSpec.model_validate(data)
    except ValidationError as e:
        where, msg = format_validation_error(e)
        raise err(msg, where) from None
    base_dir = base_dir or (Path(src).parent if src != "<region>" else Path.cwd())
    # roads first: gates and depots are checked against them
    try:
        roads = RoadNetwork.build({k: v for k, v in spec.roads.nodes.items()},
                                  [(ln.a, ln.b, ln.length, ln.speed) for ln in spec.roads.links])
    except InputError as e:
        raise err(e.message, e.where or "roads") from None
    res_names = [r.name for r in spec.resources]
    for k, r in enumerate(spec.resources):
        if res_names.count(r.name) > 1:
            raise err(f"duplicate resource name {r.name!r}", f"resources[{k}].name")
        if r.depot not in roads.nodes:
            raise err(f"{r.depot!r} is not a road node; nodes: {', '.join(sorted(roads.nodes)) or '(none)'}",
                      f"resources[{k}].depot")
    site_names = [s.name for s in spec.sites]
    placed: list[PlacedSite] = []
    for k, s in enumerate(spec.sites):
        placed.append(_place_site(spec, k, s, base_dir, roads, err))
    _check_overlaps(placed, err)
    _check_reachable(spec, placed, roads, err)
    for k, inj in enumerate(spec.injects):
        f = f"injects[{k}]"
        if inj.site is not None and inj.site not in site_names:
            raise err(f"{inj.site!r} is not a site of the region; sites: {', '.join(site_names)}", f"{f}.site")
        if inj.kind == "resource_unavailable":
            if inj.target not in res_names:
                raise err(f"{inj.target!r} names no resource; resources: {', '.join(res_names) or '(none)'}",
                          f"{f}.target")
        if inj.kind == "wind_shift":
            raise err("the region has one weather for every site; wind shifts are not modelled in joint "
                      "exercises", f"{f}.kind")
    region = Region(spec, Path(src) if src != "<region>" else None, placed, roads, lines or {})
    try:
        wfs = validate_workflows(spec.workflows, scope="region")
        hazards = {s.name: [str(h.id) if h.id is not None else f"H{n + 1}" for n, h in enumerate(all_hazards(s.scenario))]
                   for s in placed}
        check_region_names(wfs, [s.name for s in placed], {r.name: r.kind for r in spec.resources}, hazards,
                           {str(i.id): i.site for i in spec.injects}, RESOURCE_KINDS)
    except InputError as e:
        raise err(e.message, e.where or "workflows") from None
    return region


def _place_site(spec: RegionSpec, k: int, s: SiteSpec, base_dir: Path, roads: RoadNetwork, err: _Err) -> PlacedSite:
    from shapely.affinity import affine_transform
    from shapely.geometry import MultiPoint
    from shapely.ops import unary_union

    from twin.load import load_twin

    f = f"sites[{k}]"
    p = Path(s.scenario)
    if not p.is_absolute():
        p = base_dir / p
    try:
        sc = load_scenario(p)
    except InputError as e:
        raise err(f"site {s.name!r}: scenario {e}", f"{f}.scenario") from None
    for j, inj in enumerate(sc.injects):
        if inj.kind == "wind_shift":
            raise err(f"site {s.name!r}: its scenario shifts the wind (injects[{j}]); a region has one weather "
                      "for every site", f"{f}.scenario")
    try:
        graph = load_twin(sc.site_path())
    except InputError as e:
        raise err(f"site {s.name!r}: site model {e}", f"{f}.scenario") from None
    if s.origin == "ifc":
        origin = _geo_origin(spec, s, sc, err, f)
    else:
        origin = (float(s.origin[0]), float(s.origin[1]))
    frame = SiteFrame(origin, float(s.rotation))
    # master injects for this site (or for every site) join its own, on the one exercise clock
    extra = []
    for j, inj in enumerate(spec.injects):
        if inj.kind in REGION_INJECT_KINDS or (inj.site is not None and inj.site != s.name):
            continue
        raw = inj.model_dump(exclude_none=True, exclude={"site", "duration"})
        # the id as written, unless the site uses it already (then M<id>): workflows name it either way
        own_ids = {str(i.id) for i in sc.injects}
        raw["id"] = f"M{inj.id}" if str(inj.id) in own_ids else inj.id
        raw["site"] = s.name
        try:
            Inject.model_validate(raw)
        except ValidationError as e:
            where, msg = format_validation_error(e)
            raise err(f"site {s.name!r}: {msg}", f"injects[{j}].{where}") from None
        extra.append(raw)
    if extra or spec.gas_step is not None:
        changes: dict[str, Any] = {}
        if extra:
            own = [i.model_dump(mode="json", exclude_none=True) for i in sc.injects]
            changes["injects"] = own + extra
        if spec.gas_step is not None:
            changes["gas_step"] = spec.gas_step
        try:
            sc = sc.evolve(**changes)
        except InputError as e:
            raise err(f"site {s.name!r}: {e.message}", f"{f}.scenario") from None
    geoms = [sp.footprint for sp in graph.site.spaces.values()]
    mus = [m.position[:2] for m in graph.site.muster.values()]
    local = unary_union(geoms).convex_hull if geoms else MultiPoint(mus).convex_hull
    th = math.radians(frame.rotation)
    c, si = math.cos(th), math.sin(th)
    footprint = affine_transform(local, [c, -si, si, c, origin[0], origin[1]])
    gate = s.gate
    if gate is None:
        gate = roads.nearest((footprint.centroid.x, footprint.centroid.y)) if roads.nodes else ""
    elif gate not in roads.nodes:
        raise err(f"site {s.name!r}: {gate!r} is not a road node; nodes: {', '.join(sorted(roads.nodes))}",
                  f"{f}.gate")
    return PlacedSite(s.name, k, sc, graph, frame, gate, footprint)


def _geo_origin(spec: RegionSpec, s: SiteSpec, sc: Scenario, err: _Err, f: str) -> tuple[float, float]:
    """Map position (m) of a site from its IfcSite RefLatitude/RefLongitude and the region's geo_origin."""
    if spec.geo_origin is None or len(spec.geo_origin) != 2:
        raise err(f"site {s.name!r}: origin 'ifc' needs the region's geo_origin: [lat, lon]", f"{f}.origin")
    path = sc.site_path()
    if path.suffix.lower() != ".ifc":
        raise err(f"site {s.name!r}: origin 'ifc' needs an IFC site model, not {path.name}", f"{f}.origin")
    import ifcopenshell

    try:
        sites = ifcopenshell.open(str(path)).by_type("IfcSite")
    except Exception as e:  # noqa: BLE001 - any reader failure is the user's file
        raise err(f"site {s.name!r}: cannot read {path.name}: {e}", f"{f}.origin") from None

    def deg(v) -> float | None:
        if not v:
            return None
        parts = list(v) + [0] * (4 - len(v))
        return parts[0] + parts[1] / 60 + parts[2] / 3600 + parts[3] / 3.6e9

    lat = deg(sites[0].RefLatitude) if sites else None
    lon = deg(sites[0].RefLongitude) if sites else None
    if lat is None or lon is None:
        raise err(f"site {s.name!r}: {path.name} has no IfcSite RefLatitude/RefLongitude; give origin: [x, y]",
                  f"{f}.origin")
    lat0, lon0 = spec.geo_origin
    x = math.radians(lon - lon0) * EARTH_RADIUS * math.cos(math.radians(0.5 * (lat + lat0)))
    y = math.radians(lat - lat0) * EARTH_RADIUS
    return (x, y)


def _check_overlaps(placed: list[PlacedSite], err: _Err) -> None:
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            ov = a.footprint.intersection(b.footprint).area
            if ov > 1e-6:
                raise err(f"site {b.name!r} overlaps site {a.name!r} by {ov:,.0f} m2 on the map; move its origin "
                          "or rotation", f"sites[{b.index}].origin")


def _check_reachable(spec: RegionSpec, placed: list[PlacedSite], roads: RoadNetwork, err: _Err) -> None:
    if not spec.resources:
        return
    for s in placed:
        if not s.gate:
            raise err(f"site {s.name!r}: the region has resources but no roads to reach the site",
                      f"sites[{s.index}].gate")
        for r in spec.resources:
            if math.isinf(roads.travel_time(r.depot, s.gate)):
                raise err(f"site {s.name!r} cannot be reached by road from depot {r.depot!r} (resource "
                          f"{r.name!r}): no route to its gate {s.gate!r}; add a link", f"sites[{s.index}].gate")


def load_region(path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> Region:
    """Read, validate and place a region file. ``overrides`` replace top-level fields (experiment arms)."""
    p = Path(path)
    data, lines = read_yaml(p)
    if overrides and isinstance(data, dict):
        data = {**data, **overrides}
    return region_from_dict(data, p, lines)
