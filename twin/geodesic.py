"""Shortest walking distances between points inside a polygon (rooms, L-shaped halls, the outdoors).

The shortest path between two points of a polygon with holes bends only at reflex vertices, so the
visibility graph over those vertices plus the query points, searched with Dijkstra, gives exact lengths.
Visibility tests are vectorised with shapely; the search is scipy's ``csgraph.dijkstra``.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

__all__ = ["geodesic_distances", "geodesic_paths", "reflex_vertices", "snap_inside"]

_EPS = 1e-6


def _is_convex(poly: Polygon) -> bool:
    return not poly.interiors and poly.convex_hull.area - poly.area <= 1e-6 * max(poly.area, 1.0)


def reflex_vertices(poly: Polygon) -> np.ndarray:
    """Vertices of ``poly`` where a walker's shortest path can bend: reflex corners of the outer ring and
    convex corners of the holes. Returns an (n, 2) array in the polygon's units (m)."""
    out: list[np.ndarray] = []
    poly = shapely.geometry.polygon.orient(poly, sign=1.0)  # exterior CCW, holes CW
    rings = [np.asarray(poly.exterior.coords)[:-1]] + [np.asarray(r.coords)[:-1] for r in poly.interiors]
    for ring in rings:
        if len(ring) < 3:
            continue
        prev = np.roll(ring, 1, axis=0)
        nxt = np.roll(ring, -1, axis=0)
        a = ring - prev
        b = nxt - ring
        cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
        # With the exterior CCW and holes CW, a right turn (cross < 0) is a corner the path can wrap.
        out.append(ring[cross < -1e-12])
    return np.vstack(out) if out else np.zeros((0, 2))


def snap_inside(poly: Polygon, x: float, y: float, inset: float = 0.05) -> tuple[tuple[float, float], float]:
    """Nearest point of ``poly`` to (x, y), moved ``inset`` m inside so visibility tests are robust.

    Returns the snapped point and the distance moved (m), which callers add to path lengths.
    """
    p = Point(x, y)
    if poly.contains(p) and poly.exterior.distance(p) >= inset and all(
        r.distance(p) >= inset for r in poly.interiors
    ):
        return (x, y), 0.0
    inner = poly.buffer(-inset)
    target = inner if (not inner.is_empty and inner.area > 0) else poly
    q = nearest_points(target, p)[0]
    return (q.x, q.y), float(p.distance(q))


def _visibility(poly: Polygon, pts: np.ndarray, tolerance: float):
    """Points snapped inside ``poly`` (and the snap distances), and for a non-convex polygon the
    visibility graph over the points then the reflex vertices (None for a convex one) and its nodes."""
    snapped = np.empty_like(pts)
    extra = np.zeros(len(pts))
    for i, (x, y) in enumerate(pts):
        snapped[i], extra[i] = snap_inside(poly, x, y)
    if _is_convex(poly):
        return snapped, extra, None, snapped
    verts = reflex_vertices(poly)
    nodes = np.vstack([snapped, verts])
    m = len(nodes)
    iu, ju = np.triu_indices(m, k=1)
    segs = shapely.linestrings(np.stack([nodes[iu], nodes[ju]], axis=1))
    region = poly.buffer(tolerance, join_style="mitre")
    shapely.prepare(region)
    visible = shapely.covers(region, segs)
    lengths = np.linalg.norm(nodes[iu] - nodes[ju], axis=1)
    # Tiny zero-length pairs (two doors at one point) are visible by definition.
    visible |= lengths < _EPS
    w = lengths[visible] + _EPS  # csgraph drops explicit zeros, so keep a hair of length
    return snapped, extra, csr_matrix((w, (iu[visible], ju[visible])), shape=(m, m)), nodes


def geodesic_distances(poly: Polygon, points: np.ndarray, *, tolerance: float = 1e-3) -> np.ndarray:
    """All-pairs shortest walking distances (m) between ``points`` (an (n, 2) array) inside ``poly``.

    Points outside or on the boundary are first snapped ``0.05`` m inside and the snap distance is added.
    Pairs that cannot reach each other (a MultiPolygon piece, say) get ``inf``.

    Example: in an L-shaped room the distance between the two arm ends is the sum of the two legs that
    wrap the inner corner, not the straight line through the wall.
    """
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    n = len(pts)
    if n == 0:
        return np.zeros((0, 0))
    snapped, extra, g, _ = _visibility(poly, pts, tolerance)
    if g is None:
        d = np.linalg.norm(snapped[:, None, :] - snapped[None, :, :], axis=2)
        d += extra[:, None] + extra[None, :]
        np.fill_diagonal(d, 0.0)
        return d
    dist = dijkstra(g, directed=False, indices=np.arange(n))[:, :n]
    dist = np.where(np.isfinite(dist), dist, np.inf)
    dist += extra[:, None] + extra[None, :]
    np.fill_diagonal(dist, 0.0)
    return dist


def geodesic_paths(poly: Polygon, points: np.ndarray, sources: list[int], *,
                   tolerance: float = 1e-3) -> dict[tuple[int, int], list[tuple[float, float]]]:
    """The corners a shortest walk inside ``poly`` turns at, from each of ``sources`` (indices into
    ``points``) to every other point: ``{(i, j): [(x, y), ...]}`` in walking order, endpoints left out
    (empty for a straight walk); unreachable pairs are left out. Lengths agree with
    :func:`geodesic_distances`."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    n = len(pts)
    out: dict[tuple[int, int], list[tuple[float, float]]] = {}
    if n == 0 or not sources:
        return out
    _, _, g, nodes = _visibility(poly, pts, tolerance)
    if g is None:
        return {(i, j): [] for i in sources for j in range(n) if j != i}
    dist, pred = dijkstra(g, directed=False, indices=list(sources), return_predecessors=True)
    for k, i in enumerate(sources):
        for j in range(n):
            if j == i or not np.isfinite(dist[k, j]):
                continue
            corners = []
            v = pred[k, j]
            while v >= 0 and v != i:
                corners.append((float(nodes[v, 0]), float(nodes[v, 1])))
                v = pred[k, v]
            out[(i, j)] = corners[::-1]
    return out
