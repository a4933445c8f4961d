"""Movement calibrations: how fast people walk at a density and how many pass a door or stair per second.

Two calibrations, chosen per scenario with ``flow:``:

``sfpe`` (code values; Nelson & Mowrer / Gwynne & Rosenbaum, SFPE Handbook, "Employing the hydraulic
model in assessing emergency movement"):
    speed ``S = k (1 - a D)`` with ``a = 0.266`` for densities 0.54 to 3.8 p/m2 and the free speed
    ``0.85 k`` below 0.54 p/m2; ``k = 1.40`` for corridors and doors, 1.00/1.08/1.16/1.23 for stairs of
    riser/tread 190/254, 178/279, 165/305, 165/330 mm. Maximum specific flow ``Fs,max = k / (4a)``
    (1.316 p/(s m) for doors) times the effective width, which is the clear width less a boundary layer
    of 0.15 m per side for doors and stairs. Densities count people per m2 of effective floor (the
    footprint less a 0.20 m wall boundary layer), so a corridor carries D S We as in the hand calculation.

``empirical`` (measured crowds):
    speed from Weidmann's fundamental diagram ``v(D) = v0 (1 - exp(-1.913 (1/D - 1/5.4)))`` (Weidmann
    1993, Schriftenreihe IVT 90, ETH Zurich); door flow ``J = 1.9 w`` p/s through a clear width ``w``
    (Seyfried et al. 2009, "New insights into pedestrian flow through bottlenecks", Transportation Science
    43(3)); stairs at the SFPE stair capacity on the clear width, as bottleneck data for stairs are sparse.

Each occupant has a free walking speed ``v0``; density scales it by ``S(D) / S_free`` so the crowd slows
as the calibration says while slower and faster people keep their order.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "A_SFPE",
    "K_CORRIDOR",
    "BOUNDARY_LAYER_DOOR",
    "BOUNDARY_LAYER_STAIR",
    "BOUNDARY_LAYER_WALL",
    "Calibration",
    "SFPE",
    "EMPIRICAL",
    "calibration",
    "sfpe_speed_note",
    "stair_k",
]

A_SFPE = 0.266
K_CORRIDOR = 1.40
BOUNDARY_LAYER_DOOR = 0.15  # m per side
BOUNDARY_LAYER_STAIR = 0.15  # m per side (stair wall / tread side)
BOUNDARY_LAYER_WALL = 0.20  # m per side (corridor or ramp wall)
D_FREE = 0.54  # p/m2, below which people walk at their free speed
D_JAM_SFPE = 1.0 / A_SFPE  # 3.76 p/m2
MIN_FACTOR = 0.05  # a jammed space still creeps, so a run can never hang

# (riser m, tread m, k)
_STAIR_K = ((0.190, 0.254, 1.00), (0.178, 0.279, 1.08), (0.165, 0.305, 1.16), (0.165, 0.330, 1.23))


def stair_k(riser: float | None, tread: float | None) -> float:
    """SFPE stair constant ``k`` for a riser/tread (m); the nearest tabulated stair, 1.08 (178/279 mm)
    when unknown (the common code stair)."""
    if not riser or not tread:
        return 1.08
    best = min(_STAIR_K, key=lambda r: math.hypot(r[0] - riser, r[1] - tread))
    return best[2]


class Calibration:
    """Speed-density law and bottleneck capacities of one calibration."""

    name = "base"
    free_density = 0.0  # p/m2 below which the speed factor is exactly 1
    capacity_density = 1.0 / (2 * A_SFPE)  # p/m2 where the specific flow peaks (1.88 for SFPE)

    def speed_factor(self, density: np.ndarray | float) -> np.ndarray | float:
        """Multiplier on the free speed at ``density`` (p/m2), in (0, 1]."""
        raise NotImplementedError

    def factor(self, density: float) -> float:
        """Scalar :meth:`speed_factor` without numpy overhead (the movement hot path)."""
        return float(self.speed_factor(density))

    def door_capacity(self, width: float) -> float:
        """Persons per second through a door of clear ``width`` (m)."""
        raise NotImplementedError

    def effective_area(self, footprint) -> float:
        """Floor area (m2) over which a space's density is counted."""
        return float(footprint.area)

    def space_capacity(self, footprint) -> float:
        """Persons per second a space can carry along its length (``inf``: no limit beyond its doors)."""
        return math.inf

    def stair_capacity(self, width: float, riser: float | None = None, tread: float | None = None) -> float:
        """Persons per second onto a stair of clear ``width`` (m)."""
        k = stair_k(riser, tread)
        return k / (4 * A_SFPE) * max(width - 2 * BOUNDARY_LAYER_STAIR, 0.2)

    def stair_speed_ratio(self, riser: float | None = None, tread: float | None = None) -> float:
        """Free speed along a stair's slope relative to level free speed (SFPE k_stair / k_corridor)."""
        return stair_k(riser, tread) / K_CORRIDOR


class _SFPE(Calibration):
    name = "sfpe"
    free_density = D_FREE

    def speed_factor(self, density):
        d = np.asarray(density, dtype=float)
        f = np.where(d < D_FREE, 1.0, (1.0 - A_SFPE * d) / 0.85)
        f = np.clip(f, MIN_FACTOR, 1.0)
        return f if f.ndim else float(f)

    def factor(self, density: float) -> float:
        if density < D_FREE:
            return 1.0
        return min(1.0, max(MIN_FACTOR, (1.0 - A_SFPE * density) / 0.85))

    def door_capacity(self, width: float) -> float:
        return K_CORRIDOR / (4 * A_SFPE) * max(width - 2 * BOUNDARY_LAYER_DOOR, 0.2)

    def space_capacity(self, footprint) -> float:
        """SFPE transition rule: no element carries more than Fs,max x its effective width, so a door into
        a narrow corridor passes no more than the corridor can take (the queue forms at the transition).
        The width is the short side of the footprint's minimum rotated rectangle less two 0.20 m wall
        boundary layers; rooms are wide enough for this never to bind."""
        rect = footprint.minimum_rotated_rectangle
        if rect.geom_type != "Polygon":
            return math.inf
        xy = list(rect.exterior.coords)
        sides = sorted(math.dist(xy[k], xy[k + 1]) for k in range(2))
        return K_CORRIDOR / (4 * A_SFPE) * max(sides[0] - 2 * BOUNDARY_LAYER_WALL, 0.2)

    def effective_area(self, footprint) -> float:
        """SFPE densities are people per m2 of *effective* floor: the footprint less the 0.20 m boundary
        layer along walls, so a corridor's flow is D x S x effective width as in the hand calculation."""
        inner = footprint.buffer(-BOUNDARY_LAYER_WALL, join_style="mitre")
        return float(max(inner.area, 0.25 * footprint.area))


class _Empirical(Calibration):
    name = "empirical"
    free_density = 0.05  # below this Weidmann's factor is 1.0 to double precision
    J_PER_M = 1.9

    def speed_factor(self, density):
        d = np.maximum(np.asarray(density, dtype=float), 1e-3)
        f = 1.0 - np.exp(-1.913 * (1.0 / d - 1.0 / 5.4))
        f = np.clip(f, MIN_FACTOR, 1.0)
        return f if f.ndim else float(f)

    def factor(self, density: float) -> float:
        if density < 0.05:
            return 1.0
        return min(1.0, max(MIN_FACTOR, 1.0 - math.exp(-1.913 * (1.0 / density - 1.0 / 5.4))))

    def door_capacity(self, width: float) -> float:
        return self.J_PER_M * max(width, 0.3)


SFPE = _SFPE()
EMPIRICAL = _Empirical()


def calibration(name: str) -> Calibration:
    """``sfpe`` or ``empirical``."""
    try:
        return {"sfpe": SFPE, "empirical": EMPIRICAL}[name]
    except KeyError:
        raise ValueError(f"flow: expected sfpe or empirical, got {name!r}") from None


SFPE_FREE_SPEED = 0.85 * K_CORRIDOR
"""SFPE's free walking speed on the level, 0.85 k = 1.19 m/s (Nelson & Mowrer / Gwynne & Rosenbaum, SFPE
Handbook, "Employing the hydraulic model in assessing emergency movement")."""


def sfpe_speed_note(v0: np.ndarray, tol: float = 0.02) -> str | None:
    """The difference between a crowd's drawn free speeds ``v0`` (m/s) and SFPE's, as a sentence for a
    run's caveats, or None when their mean is within ``tol`` (relative) of :data:`SFPE_FREE_SPEED`.

    With ``flow: sfpe`` each person walks at ``v0 S(D) / S_free`` (see the module notes): the SFPE
    density law, scaled by the person's own free speed. SFPE's hydraulic model has one speed for
    everyone, ``k (1 - a D)`` with 1.19 m/s below 0.54 p/m2; a crowd drawn with a mean of 1.34 m/s
    (Weidmann 1993) walks 12.6 % faster than the hand calculation at every density. The drills keep
    the drawn speeds (individual differences order people in queues) and say so."""
    v = np.asarray(v0, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) == 0:
        return None
    ratio = float(v.mean()) / SFPE_FREE_SPEED
    if abs(ratio - 1.0) <= tol:
        return None
    return (f"flow sfpe: the people's free speeds average {v.mean():.2f} m/s, {100 * (ratio - 1):+.1f} % "
            f"against SFPE's free speed 0.85 k = {SFPE_FREE_SPEED:.2f} m/s (SFPE Handbook, hydraulic model, "
            "Nelson & Mowrer / Gwynne & Rosenbaum), so movement times are about "
            f"{100 * (1 - 1 / ratio):.1f} % {'shorter' if ratio > 1 else 'longer'} than the SFPE hand "
            "calculation at every density (set people.speed to 1.19 m/s to follow it)")
