"""Stair end-point probe: where a stair starts and ends, how long and how wide it is.

Works on the stair's vertices alone (world frame, m), so it handles single-object ArchiCAD stairs whose body
includes the railings, Revit stairs made of IfcStairFlight parts, and lone flights:

1. bottom point = XY centroid of the vertices at the lowest z; bottom storey = the storey whose elevation is
   nearest that z;
2. top storey = the next storey more than 1 m above; top point = XY centroid of the vertices within 0.25 m
   below its elevation (railings rise above the top floor, so the bounding box is not used);
3. length along the slope = hypot(horizontal distance, rise), or the walking line traced through the
   stair's step levels when that is longer (spiral and dog-leg stairs return near their start in plan);
4. width = the extent across the run for straight stairs, else the typical long side of a tread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .ifc_geometry import oriented_extents

__all__ = ["StairProbe", "probe_stair", "stair_extremes"]

BOTTOM_BAND = 0.02  # vertices this close above the lowest z form the bottom (m)
TOP_BAND = 0.25  # vertices this far below the top storey's floor form the top (m)
MIN_RISE = 1.0  # the top storey is the next one more than this above the bottom (m)
MAX_SNAP = 1.5  # the stair's lowest point must be this close to a storey floor (m)
STEP_BIN = 0.2  # height of the slices the walking line is traced through (m)


@dataclass(frozen=True)
class StairProbe:
    """Result of :func:`probe_stair`: storey ids, points (m) and sizes (m) of one stair."""

    bottom_storey: str
    top_storey: str
    bottom_xy: tuple[float, float]
    top_xy: tuple[float, float]
    bottom_z: float
    top_z: float
    length: float
    width: float | None
    beyond: bool = False  # the geometry reaches the floor after ``top_storey`` too (a multi-storey stair)


def probe_stair(verts: np.ndarray, storeys: Sequence[tuple[str, float]]) -> StairProbe | None:
    """Probe a stair given its vertices (n, 3) in m and candidate ``storeys`` as (id, elevation m).

    Returns ``None`` when the stair does not start near a storey or does not reach the next one.
    """
    if len(verts) < 3 or not storeys:
        return None
    levels = sorted(storeys, key=lambda s: s[1])
    z = verts[:, 2]
    zlo, zhi = float(z.min()), float(z.max())
    bottom_id, bottom_elev = min(levels, key=lambda s: abs(s[1] - zlo))
    if abs(bottom_elev - zlo) > MAX_SNAP:
        return None
    above = [s for s in levels if s[1] > bottom_elev + MIN_RISE]
    if not above:
        return None
    top_id, top_elev = above[0]
    # The stair must reach the top floor (a few steps between split levels are not a storey link).
    if zhi < top_elev - TOP_BAND:
        return None
    bottom_pts = verts[z <= zlo + BOTTOM_BAND]
    band = (z >= top_elev - TOP_BAND) & (z <= top_elev + BOTTOM_BAND)
    if not band.any():
        below = z <= top_elev + BOTTOM_BAND
        band = below & (z >= z[below].max() - TOP_BAND)
    top_pts = verts[band]
    bxy = bottom_pts[:, :2].mean(axis=0)
    txy = top_pts[:, :2].mean(axis=0)
    top_z = float(top_pts[:, 2].max())
    rise = top_z - zlo
    straight = math.hypot(float(np.hypot(*(txy - bxy))), rise)
    path = _walking_line(verts[z <= top_z + BOTTOM_BAND], zlo, top_z, bxy, txy)
    length = max(straight, path)
    width = _width(verts[z <= top_z + BOTTOM_BAND], bxy, txy, straight_like=path <= straight * 1.15)
    return StairProbe(
        bottom_storey=bottom_id,
        top_storey=top_id,
        bottom_xy=(float(bxy[0]), float(bxy[1])),
        top_xy=(float(txy[0]), float(txy[1])),
        bottom_z=zlo,
        top_z=top_z,
        length=length,
        width=width,
        beyond=any(zhi >= elev - TOP_BAND for _, elev in above[1:]),
    )


def _walking_line(verts: np.ndarray, zlo: float, ztop: float, bxy: np.ndarray, txy: np.ndarray) -> float:
    """Length (m) of the 3D polyline from the bottom point through the XY centroids of the stair's
    horizontal slices to the top point. Follows turns that the straight end-to-end line cuts off."""
    rise = ztop - zlo
    n = max(1, int(round(rise / STEP_BIN)))
    pts = [np.array([bxy[0], bxy[1], zlo])]
    edges = np.linspace(zlo, ztop, n + 1)
    z = verts[:, 2]
    for a, b in zip(edges[1:-2], edges[2:-1], strict=False):
        sel = verts[(z >= a) & (z < b)]
        if len(sel):
            c = sel[:, :2].mean(axis=0)
            pts.append(np.array([c[0], c[1], (a + b) / 2.0]))
    pts.append(np.array([txy[0], txy[1], ztop]))
    arr = np.vstack(pts)
    return float(np.linalg.norm(np.diff(arr, axis=0), axis=1).sum())


def _width(verts: np.ndarray, bxy: np.ndarray, txy: np.ndarray, *, straight_like: bool) -> float | None:
    """Clear width (m) of the stair, or ``None`` when nothing plausible (0.5-4 m) can be measured."""
    run = txy - bxy
    dist = float(np.hypot(*run))
    if straight_like and dist > 1.0:
        # Straight flight: the extent across the run direction.
        perp = np.array([-run[1], run[0]]) / dist
        across = verts[:, :2] @ perp
        w = float(across.max() - across.min())
        if 0.5 <= w <= 4.0:
            return w
    # Turning stairs: the typical long side of a tread (vertices sharing one step level).
    zs = np.round(verts[:, 2], 2)
    levels, counts = np.unique(zs, return_counts=True)
    sides = []
    for lv in levels[counts >= 4]:
        long_side, _, _ = oriented_extents(verts[zs == lv, :2])
        if 0.5 <= long_side <= 4.0:
            sides.append(long_side)
    if len(sides) >= 2:
        return float(np.median(sides))
    return None


def stair_extremes(verts: np.ndarray) -> tuple[tuple[float, float], float, tuple[float, float], float]:
    """Bottom XY, bottom z, top XY, top z (m): centroids of the lowest and of the highest vertices.

    For stairs whose body is a plain sloped flight (as ``twin.ifc_build`` writes them) these are exactly
    the points where people step on and off."""
    z = verts[:, 2]
    lo, hi = float(z.min()), float(z.max())
    b = verts[z <= lo + BOTTOM_BAND, :2].mean(axis=0)
    t = verts[z >= hi - BOTTOM_BAND, :2].mean(axis=0)
    return (float(b[0]), float(b[1])), lo, (float(t[0]), float(t[1])), hi
