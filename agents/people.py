"""People as Mesa agents, and where they start.

:class:`Occupant` is a thin Mesa agent over one row of the :class:`~agents.crowd.Crowd` arrays: the
arrays do the work in hot loops, the agent gives Mesa's registry and ``AgentSet`` queries (wardens,
head counts) a handle on each person.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
from shapely.geometry import Point, Polygon

from .crowd import ROLES, STATES, Crowd

__all__ = ["Occupant", "sample_points", "demographic_speeds", "RIMEA_AGE_SPEEDS"]


class Occupant(mesa.Agent):
    """One person. ``index`` is their row in the crowd arrays."""

    def __init__(self, model: mesa.Model, crowd: Crowd, index: int):
        super().__init__(model)
        self.crowd = crowd
        self.index = int(index)

    @property
    def state(self) -> str:
        return STATES[self.crowd.state[self.index]]

    @property
    def role(self) -> str:
        return ROLES[self.crowd.role[self.index]]

    @property
    def space(self) -> str | None:
        s = self.crowd.space[self.index]
        return self.crowd.space_ids[s] if 0 <= s < len(self.crowd.space_ids) else None

    @property
    def t_exit(self) -> float | None:
        t = self.crowd.t_exit[self.index]
        return None if math.isnan(t) else float(t)


def sample_points(poly: Polygon, n: int, rng: np.random.Generator, margin: float = 0.0) -> np.ndarray:
    """``n`` points spread uniformly over ``poly`` (m), at least ``margin`` m from its boundary.

    Rejection sampling in the bounding box, vectorised; raises ``ValueError`` when the margin leaves no
    room.
    """
    import shapely

    region = poly.buffer(-margin) if margin > 0 else poly
    if region.is_empty or region.area <= 0:
        raise ValueError(f"margin {margin} m leaves no room in a space of {poly.area:.1f} m2")
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    out = np.zeros((0, 2))
    while len(out) < n:
        k = max(16, int((n - len(out)) * 1.3 * (maxx - minx) * (maxy - miny) / region.area) + 8)
        pts = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        ok = shapely.contains_xy(region, pts[:, 0], pts[:, 1])
        out = np.vstack([out, pts[ok]])
    return out[:n]


# RiMEA guideline, Fig. 5 / test 7 (the Weidmann age curve): (age, share of adults, speed range m/s).
# The 4.1.1 table of the RiMEA guideline (version 4.1.1, 2022), as JuPedSim's verification suite also uses it.
RIMEA_AGE_SPEEDS = (
    (20, 0.2, 1.60, 1.64),
    (30, 0.2, 1.52, 1.56),
    (40, 0.2, 1.46, 1.50),
    (50, 0.2, 1.39, 1.43),
    (60, 0.1, 1.27, 1.27),
    (70, 0.1, 1.07, 1.07),
)


def demographic_speeds(n: int, rng: np.random.Generator) -> np.ndarray:
    """Free walking speeds (m/s) of ``n`` adults by the RiMEA age groups: the group shares are met exactly
    (largest remainder) and each speed is uniform within its group's band, then the order is shuffled."""
    shares = np.array([r[1] for r in RIMEA_AGE_SPEEDS])
    raw = shares * n
    counts = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    speeds = np.concatenate([rng.uniform(lo, hi, c) if hi > lo else np.full(c, lo)
                             for (_, _, lo, hi), c in zip(RIMEA_AGE_SPEEDS, counts, strict=True)])
    rng.shuffle(speeds)
    return speeds


def point_in(poly: Polygon, xy: tuple[float, float], tol: float = 0.0) -> bool:
    return poly.buffer(tol).covers(Point(xy))
