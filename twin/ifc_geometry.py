"""Geometry helpers for the IFC importer: triangulation passes, bounding boxes and XY footprints.

Everything returned here is in metres in the model's world frame (the geometry iterator already converts
file units to metres when ``use-world-coords`` is on). Attribute values read straight from the file
(``Elevation``, ``OverallWidth``, placements) are in file units and must be scaled by the caller.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.placement
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = [
    "Mesh",
    "footprint",
    "iterate_meshes",
    "largest_polygon",
    "oriented_extents",
    "placement_origin",
]

log = logging.getLogger(__name__)

# One thread is fastest for the passes we run on a 2-core machine (measured: Smiley West spaces and
# openings 0.38 s with 1 thread, 0.41 s with 2); DRILLTWIN_IFC_THREADS overrides it on bigger machines.
DEFAULT_THREADS = 1

# Triangles whose XY projection is smaller than this (m2) are vertical walls or slivers; they add nothing
# to a footprint and only slow the union down.
_MIN_TRI_AREA = 1e-7

# Closing radius (m) that heals the hair-line gaps a union of triangles can leave between neighbours
# whose shared edge is not bit-identical.
_HEAL = 0.002


@dataclass(frozen=True)
class Mesh:
    """A triangulated element: ``verts`` (n, 3) in m, world frame; ``faces`` (k, 3) vertex indices."""

    verts: np.ndarray
    faces: np.ndarray

    @property
    def lo(self) -> np.ndarray:
        """Lower corner of the axis-aligned bounding box (m)."""
        return self.verts.min(axis=0)

    @property
    def hi(self) -> np.ndarray:
        """Upper corner of the axis-aligned bounding box (m)."""
        return self.verts.max(axis=0)

    @property
    def centre(self) -> tuple[float, float, float]:
        """Centre of the axis-aligned bounding box (m)."""
        c = (self.lo + self.hi) / 2.0
        return (float(c[0]), float(c[1]), float(c[2]))


def threads() -> int:
    """Number of geometry threads: ``DRILLTWIN_IFC_THREADS`` if set, else :data:`DEFAULT_THREADS`."""
    raw = os.environ.get("DRILLTWIN_IFC_THREADS", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_THREADS


def _settings() -> ifcopenshell.geom.settings:
    s = ifcopenshell.geom.settings()
    # World coordinates, so every mesh shares one frame with the others and with the storeys.
    s.set("use-world-coords", True)
    return s


def iterate_meshes(
    model: ifcopenshell.file,
    elements: Sequence[ifcopenshell.entity_instance],
    *,
    library: str = "opencascade",
    num_threads: int | None = None,
) -> dict[int, Mesh]:
    """Triangulate ``elements`` in one iterator pass and return their meshes by STEP id.

    Elements without a 3D body, or whose geometry the kernel cannot build, are simply absent from the
    result; the caller decides the fallback. ``library`` is the ifcopenshell geometry kernel
    (``opencascade`` is the reference; ``manifold`` is 10-20x faster on faceted B-reps such as ArchiCAD
    stairs, but wrong on some boolean-clipped spaces, so it is used only for stairs and door bodies).
    """
    out: dict[int, Mesh] = {}
    if not elements:
        return out
    it = ifcopenshell.geom.iterator(
        _settings(), model, num_threads or threads(), include=list(elements), geometry_library=library
    )
    if not it.initialize():
        return out
    while True:
        shape = it.get()
        geom = shape.geometry
        verts = np.frombuffer(geom.verts_buffer, dtype=np.float64).reshape(-1, 3)
        faces = np.frombuffer(geom.faces_buffer, dtype=np.int32).reshape(-1, 3)
        if len(verts):
            out[int(shape.id)] = Mesh(verts.copy(), faces.copy())
        if not it.next():
            break
    return out


def iterate_meshes_robust(
    model: ifcopenshell.file,
    elements: Sequence[ifcopenshell.entity_instance],
    *,
    library: str = "opencascade",
) -> dict[int, Mesh]:
    """Like :func:`iterate_meshes` with ``library``, retrying with opencascade for the elements the
    fast kernel left out. Never raises for kernel failures: those elements are just missing."""
    out: dict[int, Mesh] = {}
    try:
        out = iterate_meshes(model, elements, library=library)
    except (RuntimeError, ValueError, OSError) as exc:  # kernel plug-in missing or failed as a whole
        log.debug("geometry pass with %s failed: %s", library, exc)
    missing = [e for e in elements if e.id() not in out]
    if missing and library != "opencascade":
        try:
            out.update(iterate_meshes(model, missing, library="opencascade"))
        except (RuntimeError, ValueError, OSError) as exc:
            log.debug("fallback geometry pass failed: %s", exc)
    return out


def footprint(mesh: Mesh) -> Polygon | None:
    """XY footprint (m) of a mesh: the union of its triangles projected onto the XY plane, healed of
    hair-line gaps and reduced to its largest polygon. ``None`` when the projection has no area (a mesh
    made only of vertical faces)."""
    tri = mesh.verts[mesh.faces][:, :, :2]
    if not len(tri):
        return None
    a = tri[:, 1] - tri[:, 0]
    b = tri[:, 2] - tri[:, 0]
    area = np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) / 2.0
    tri = tri[area > _MIN_TRI_AREA]
    if not len(tri):
        return None
    rings = np.concatenate([tri, tri[:, :1]], axis=1)
    polys = shapely.polygons(rings)
    merged = shapely.union_all(polys)
    # Close, then open, by a couple of millimetres: removes cracks between triangles without moving edges.
    merged = merged.buffer(_HEAL, join_style="mitre").buffer(-_HEAL, join_style="mitre")
    poly = largest_polygon(merged)
    if poly is None:
        return None
    poly = _drop_small_holes(poly.simplify(0.001), 0.01)
    if not poly.is_valid:
        poly = largest_polygon(shapely.make_valid(poly))
    return poly


def largest_polygon(geom: BaseGeometry | None) -> Polygon | None:
    """The polygon with the largest area inside ``geom`` (a Polygon, MultiPolygon or collection)."""
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, Polygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polys: list[Polygon] = []
    for g in parts:
        polys.extend([g] if isinstance(g, Polygon) else list(g.geoms))
    if not polys:
        return None
    return max(polys, key=lambda p: p.area)


def _drop_small_holes(poly: Polygon, min_area: float) -> Polygon:
    """Remove interior rings smaller than ``min_area`` (m2): column notches and numerical pin-holes."""
    keep = [r for r in poly.interiors if Polygon(r).area >= min_area]
    if len(keep) == len(poly.interiors):
        return poly
    return Polygon(poly.exterior, keep)


def oriented_extents(points_xy: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Long side, short side (m) and the unit direction of the long side of the minimum rotated
    rectangle around ``points_xy`` (n, 2). Degenerate input gives zeros and the x axis."""
    if len(points_xy) < 2:
        return 0.0, 0.0, np.array([1.0, 0.0])
    rect = shapely.minimum_rotated_rectangle(shapely.multipoints(points_xy))
    if not isinstance(rect, Polygon):
        coords = np.asarray(rect.coords) if hasattr(rect, "coords") else points_xy[:2]
        d = coords[-1] - coords[0]
        n = float(np.hypot(*d))
        return n, 0.0, (d / n if n > 0 else np.array([1.0, 0.0]))
    c = np.asarray(rect.exterior.coords)
    e1, e2 = c[1] - c[0], c[2] - c[1]
    l1, l2 = float(np.hypot(*e1)), float(np.hypot(*e2))
    if l1 >= l2:
        return l1, l2, e1 / l1 if l1 > 0 else np.array([1.0, 0.0])
    return l2, l1, e2 / l2


def placement_origin(element: ifcopenshell.entity_instance, scale: float) -> tuple[float, float, float] | None:
    """World origin (m) of an element's ObjectPlacement, or ``None`` when it has no local placement.

    ``scale`` converts file length units to metres (placements are stored in file units)."""
    placement = getattr(element, "ObjectPlacement", None)
    if placement is None or not placement.is_a("IfcLocalPlacement"):
        return None
    m = ifcopenshell.util.placement.get_local_placement(placement)
    return (float(m[0][3]) * scale, float(m[1][3]) * scale, float(m[2][3]) * scale)


def boundary_probe(poly: Polygon, point: Point, step: float) -> tuple[Point, Point]:
    """The point on ``poly``'s boundary nearest ``point``, and a probe ``step`` m beyond it along the
    outward normal of that boundary segment. Used to look at the far side of a door."""
    q = poly.boundary.interpolate(poly.boundary.project(point))
    n = _outward_normal(poly, q)
    return q, Point(q.x + n[0] * step, q.y + n[1] * step)


def _outward_normal(poly: Polygon, q: Point) -> np.ndarray:
    """Unit normal of the boundary segment through ``q``, pointing out of ``poly``."""
    best: tuple[float, np.ndarray] | None = None
    for ring in _rings(poly):
        c = np.asarray(ring.coords)
        seg = c[1:] - c[:-1]
        lens = np.hypot(seg[:, 0], seg[:, 1])
        ok = lens > 1e-9
        if not ok.any():
            continue
        # distance from q to every segment
        t = np.clip(((q.x - c[:-1, 0]) * seg[:, 0] + (q.y - c[:-1, 1]) * seg[:, 1]) / np.where(ok, lens**2, 1), 0, 1)
        px = c[:-1, 0] + t * seg[:, 0]
        py = c[:-1, 1] + t * seg[:, 1]
        d = np.hypot(px - q.x, py - q.y)
        d[~ok] = np.inf
        i = int(np.argmin(d))
        if best is None or d[i] < best[0]:
            best = (float(d[i]), np.array([seg[i, 1], -seg[i, 0]]) / lens[i])
    if best is None:
        return np.array([1.0, 0.0])
    n = best[1]
    # Which side is outside does not depend on ring orientation conventions this way.
    if poly.contains(Point(q.x + n[0] * 0.01, q.y + n[1] * 0.01)):
        n = -n
    return n


def _rings(poly: Polygon) -> Iterable:
    yield poly.exterior
    yield from poly.interiors
