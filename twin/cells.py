"""Splitting large or elongated spaces into cells, so travel distances and gas gradients survive."""

from __future__ import annotations

import math

import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union

__all__ = ["split_cells", "CELL_SIZE", "SPLIT_LENGTH", "SPLIT_AREA"]

CELL_SIZE = 10.0
"""Target cell edge (m)."""
SPLIT_LENGTH = 20.0
"""A space whose longer side (of its minimum rotated rectangle) exceeds this (m) is split."""
SPLIT_AREA = 400.0
"""A space larger than this (m2) is split."""


def split_cells(poly: Polygon, cell_size: float = CELL_SIZE, split_length: float = SPLIT_LENGTH,
                split_area: float = SPLIT_AREA) -> list[Polygon]:
    """Cut ``poly`` along a grid aligned with its minimum rotated rectangle.

    Small spaces come back whole (a one-item list). Long spaces are cut along their length only (a 2 x 40 m
    corridor gives four 10 m cells); large ones in both directions. Slivers under 2 m2 are merged into the
    neighbour they share most boundary with, so the cells always tile the space exactly.
    """
    rect = poly.minimum_rotated_rectangle
    if rect.geom_type != "Polygon":
        return [poly]
    c = np.asarray(rect.exterior.coords)[:4]
    e1, e2 = c[1] - c[0], c[3] - c[0]
    l1, l2 = float(np.linalg.norm(e1)), float(np.linalg.norm(e2))
    if max(l1, l2) <= split_length and poly.area <= split_area:
        return [poly]
    n1 = max(1, math.ceil(l1 / cell_size - 0.25)) if l1 > 1.5 * cell_size else 1
    n2 = max(1, math.ceil(l2 / cell_size - 0.25)) if l2 > 1.5 * cell_size else 1
    if n1 * n2 == 1:
        return [poly]
    pieces: list[Polygon] = []
    for i in range(n1):
        for j in range(n2):
            o = c[0] + e1 * (i / n1) + e2 * (j / n2)
            quad = Polygon([o, o + e1 / n1, o + e1 / n1 + e2 / n2, o + e2 / n2])
            part = poly.intersection(quad.buffer(1e-9, join_style="mitre"))
            for g in _polys(part):
                if g.area > 1e-6:
                    pieces.append(g)
    return _merge_slivers(pieces, min_area=2.0)


def _polys(g) -> list[Polygon]:
    if isinstance(g, Polygon):
        return [g]
    if isinstance(g, MultiPolygon):
        return list(g.geoms)
    if hasattr(g, "geoms"):
        return [x for x in g.geoms if isinstance(x, Polygon)]
    return []


def _merge_slivers(pieces: list[Polygon], min_area: float) -> list[Polygon]:
    pieces = sorted(pieces, key=lambda p: -p.area)
    big = [p for p in pieces if p.area >= min_area]
    if not big:
        return [unary_union(pieces)] if pieces else []
    for s in (p for p in pieces if p.area < min_area):
        shared = [b.boundary.intersection(s.boundary.buffer(1e-6)).length for b in big]
        k = int(np.argmax(shared))
        merged = unary_union([big[k], s])
        if isinstance(merged, Polygon):
            big[k] = merged
        else:
            big.append(s) if s.area > 0.01 else None
    return big
