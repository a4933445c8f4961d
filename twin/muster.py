"""Muster points: take the model's, or place one per building when the model has none."""

from __future__ import annotations

import math

from shapely.geometry import Point
from shapely.ops import unary_union

from .site import MusterPoint, Site

__all__ = ["ensure_muster", "AUTO_MUSTER_DISTANCE"]

AUTO_MUSTER_DISTANCE = 30.0
"""m from a building's outline to its automatic muster point. Assembly-point guidance (e.g. UK HSE and
NFPA 101 commentary) asks for a place clear of the building's collapse zone and of the fire service; a
distance of at least the building height and commonly 30 m or more is quoted."""


def ensure_muster(site: Site, distance: float = AUTO_MUSTER_DISTANCE) -> None:
    """Give every building a muster point if the site has none at all.

    Each automatic point lies ``distance`` m outside the building's ground outline, on the side (of eight
    compass directions) farthest from the other buildings, at the ground storey's level. A warning
    ``muster_auto`` records each one; scenarios can name their own muster points instead.
    """
    if site.muster:
        return
    groups: dict[str | None, list] = {}
    for sp in site.spaces.values():
        if sp.walkable:
            groups.setdefault(sp.building, []).append(sp)
    outlines = {b: unary_union([s.footprint for s in spaces]).buffer(0.01) for b, spaces in groups.items()}
    names = {b.id: b.name for b in site.buildings}
    for b in sorted(outlines, key=lambda k: (k is None, k or "")):
        outline = outlines[b]
        others = unary_union([o for k, o in outlines.items() if k != b]) if len(outlines) > 1 else None
        ground = min(s.elevation for s in groups[b])
        c = outline.centroid
        minx, miny, maxx, maxy = outline.bounds
        reach = math.hypot(maxx - minx, maxy - miny) / 2
        best: tuple[float, int, Point] | None = None
        for k in range(8):
            ang = math.radians(270 - 45 * k)  # start south, go clockwise: a stable, documented order
            ux, uy = math.cos(ang), math.sin(ang)
            # walk out from the centroid until clear of the outline by `distance`
            r = reach + distance
            p = Point(c.x + ux * r, c.y + uy * r)
            while outline.distance(p) > distance + 0.5 and r > 0:
                r -= 0.5
                p = Point(c.x + ux * r, c.y + uy * r)
            clear = others.distance(p) if others is not None and not others.is_empty else float("inf")
            if others is not None and others.buffer(distance / 2).contains(p):
                continue
            key = (-min(clear, 1e6), k, p)
            if best is None or key[:2] < best[:2]:
                best = key
        if best is None:
            continue
        p = best[2]
        label = names.get(b, b or site.name)
        mid = f"auto-muster-{b or 'site'}"
        site.muster[mid] = MusterPoint(mid, f"Muster {label}", (round(p.x, 3), round(p.y, 3), ground), auto=True)
        site.warn("muster_auto", f"building {label}",
                  f"no muster point in the model; placed one {distance:g} m outside the building at "
                  f"({p.x:.1f}, {p.y:.1f}); name muster points in the model or scenario to override")
