"""What a detector inside a room reads near a release: transport delay and the gradient from the source,
on top of the room's well-mixed mean (:mod:`twin.dispersion`).

A well-mixed zone gives every point of a room the same concentration the moment gas enters it, so a
detector 10 m from a leak would alarm as early as one beside it. Here the gas from a continuous point
source of rate G (kg/s) spreads by turbulent eddy diffusion with a diffusivity D (m2/s): the concentration
excess at distance r after a time tau is the continuous point source of Carslaw & Jaeger (*Conduction of
Heat in Solids*, 2nd ed. 1959, section 10.4)::

    dC(r, tau) = G / (4 pi D r) erfc(r / sqrt(4 D tau))

(the eddy diffusion model of occupational hygiene: Drivas et al., AIHA J. 57 (1996) 1; Keil, Simmons &
Anthony, *Mathematical Models for Estimating Occupational Exposure to Chemicals*, AIHA 2009), with the
floor as a reflecting plane (an image source below it, at distance r'). The room's well-mixed mean
C_zone (carried by the room's air movement, not by diffusion alone) reaches a point with an
advection-diffusion front at the room air speed u (:data:`ROOM_AIR_SPEED`, the leading term of the
Ogata-Banks solution)::

    C(r, tau) = C_zone F(r, tau) + G / (4 pi D) [erfc(r / sqrt(4 D tau)) / r + erfc(r' / sqrt(4 D tau)) / r']
    F(r, tau) = erfc((r - u tau) / sqrt(4 D tau)) / 2

so a detector far from the source sees the room's gas about r / u after the release, one near it the
source's own gradient much sooner. A release that stopped at age tau_s is the same source minus one that
started then (superposition). The excess is cut at :data:`R_MIN` (the source's own size) and at the pure
gas density. Detectors in zones without a source read the zone mean as before.

**The diffusivity** :data:`EDDY_DIFFUSIVITY` = 0.01 m2/s is an assumption of the order measured in
ventilated rooms (Cheng et al., Environ. Sci. Technol. 45 (2011) 4016 relate it to the air change rate;
Shao et al., Ann. Work Expo. Health 61 (2017) 303); the drills state it in the caveats. **Limits**: no
momentum jet (a pressurised leak carries gas further, faster, along its axis), no buoyancy or dense-gas
layering, no walls other than the floor, and the source's own rate is taken as constant since it started
(a curve is taken at its present rate).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

__all__ = ["EDDY_DIFFUSIVITY", "ROOM_AIR_SPEED", "R_MIN", "NearField", "local_concentration"]

ROOM_AIR_SPEED = 0.05
"""m/s: the air speed that carries a room's mixed gas to a point (the low end of the 0.05-0.2 m/s of
occupied rooms; ASHRAE 55 treats below 0.2 m/s as still air), as :data:`twin.dispersion.CELL_VELOCITY`."""
EDDY_DIFFUSIVITY = 0.01
"""m2/s: turbulent eddy diffusivity in a ventilated room (an assumption; see the module notes)."""
SMALL = 16
"""Point-source pairs up to which :class:`NearField` uses scalar arithmetic (faster than numpy there)."""
R_MIN = 0.1
"""m: distances below this are taken at it (the size of a small leak's source region)."""


def _erfc_arg(r: np.ndarray, tau: np.ndarray, D: float, shift: np.ndarray | float = 0.0) -> np.ndarray:
    """(r - shift) / sqrt(4 D tau), +inf where tau <= 0 (nothing has arrived)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tau > 0, (r - shift) / np.sqrt(4.0 * D * np.maximum(tau, 1e-300)), np.inf)


class NearField:
    """The geometry of N points and S sources resolved once (distances of the point-source pairs that share
    a zone, to the source and to its image below the floor); calling it gives the concentrations for a
    zone state (see :func:`local_concentration` for the arguments). Points with no source in their zone
    read the zone mean."""

    def __init__(self, points: np.ndarray, point_zone: np.ndarray, src_pos: np.ndarray, src_zone: np.ndarray,
                 *, floor_z: np.ndarray | None = None, diffusivity: float = EDDY_DIFFUSIVITY,
                 air_speed: float = ROOM_AIR_SPEED):
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        self.pz = np.asarray(point_zone, dtype=np.int64)
        self.n = len(pts)
        sp = np.asarray(src_pos, dtype=float).reshape(-1, 3)
        sz = np.asarray(src_zone, dtype=np.int64)
        pi, si = np.nonzero((self.pz[:, None] == sz[None, :]) & (self.pz[:, None] >= 0))
        self.pi, self.si = pi, si
        d = pts[pi] - sp[si]
        self.r = np.maximum(np.sqrt((d**2).sum(axis=1)), R_MIN)
        if floor_z is not None and len(pi):
            fz = np.asarray(floor_z, dtype=float)[pi]
            dz = pts[pi, 2] + sp[si, 2] - 2.0 * fz  # to the image below the floor
            self.r2 = np.maximum(np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2 + dz**2), R_MIN)
        else:
            self.r2 = None
        self.D = float(diffusivity)
        self.u = float(air_speed)
        # the pairs as plain floats for the scalar path (few pairs: numpy's overhead would dominate)
        r2s = self.r2.tolist() if self.r2 is not None else [None] * len(pi)
        self._pairs = list(zip(pi.tolist(), si.tolist(), self.r.tolist(), r2s, strict=True))

    def _excess(self, k: np.ndarray, tau: np.ndarray) -> np.ndarray:
        e = k * erfc(_erfc_arg(self.r, tau, self.D)) / self.r
        if self.r2 is not None:
            e = e + k * erfc(_erfc_arg(self.r2, tau, self.D)) / self.r2
        return e

    def __call__(self, zone_c: np.ndarray, src_rate: np.ndarray, src_age: np.ndarray,
                 src_stop_age: np.ndarray | None = None, c_max: float | None = None) -> np.ndarray:
        zc = np.asarray(zone_c, dtype=float)
        out = np.where(self.pz >= 0, zc[np.maximum(self.pz, 0)], 0.0)
        if len(self.pi) == 0:
            return out
        if len(self.pi) <= SMALL:
            return self._small(out, zc, src_rate, src_age, src_stop_age, c_max)
        src_rate, src_age = np.asarray(src_rate, dtype=float), np.asarray(src_age, dtype=float)
        src_stop_age = None if src_stop_age is None else np.asarray(src_stop_age, dtype=float)
        si = self.si
        tau = np.asarray(src_age, dtype=float)[si]
        k = np.asarray(src_rate, dtype=float)[si] / (4.0 * np.pi * self.D)
        ex = self._excess(k, tau)
        if src_stop_age is not None:
            stop = np.asarray(src_stop_age, dtype=float)[si]
            fin = np.isfinite(stop)
            if fin.any():
                ex = ex - np.where(fin, self._excess(k, np.where(fin, stop, 0.0)), 0.0)
        ex = np.maximum(ex, 0.0)
        # the room's mean reaches a point with the advection-diffusion front of its nearest source
        front = 0.5 * erfc(_erfc_arg(self.r, tau, self.D, self.u * tau))
        best = np.zeros(self.n)
        np.maximum.at(best, self.pi, front)
        add = np.bincount(self.pi, weights=ex, minlength=self.n)
        rows = np.unique(self.pi)
        c = out[rows] * best[rows] + add[rows]
        if c_max is not None:
            c = np.minimum(c, c_max)
        out[rows] = c
        return out


    def _small(self, out: np.ndarray, zc: np.ndarray, src_rate, src_age, src_stop_age,
               c_max: float | None) -> np.ndarray:
        """:meth:`__call__` for a few point-source pairs (a typical drill: a few detectors by a leak),
        in scalar arithmetic: numpy's per-call overhead would dominate there. Same formulas."""
        D, u = self.D, self.u
        four_d = 4.0 * D
        best: dict[int, float] = {}
        add: dict[int, float] = {}
        ages = [float(a) for a in src_age]
        rates = [float(a) for a in src_rate]
        stops = None if src_stop_age is None else [float(a) for a in src_stop_age]
        for p, s, r, r2 in self._pairs:
            tau = ages[s]
            k = rates[s] / (4.0 * math.pi * D)
            stop = math.inf if stops is None else stops[s]
            ex = 0.0
            for rr in (r, r2):
                if rr is None:
                    continue
                e = math.erfc(rr / math.sqrt(four_d * tau)) if tau > 0 else 0.0
                if math.isfinite(stop) and stop > 0:
                    e -= math.erfc(rr / math.sqrt(four_d * stop))
                ex += k * e / rr
            fr = 0.5 * math.erfc((r - u * tau) / math.sqrt(four_d * tau)) if tau > 0 else 0.0
            best[p] = max(best.get(p, 0.0), fr)
            add[p] = add.get(p, 0.0) + max(ex, 0.0)
        for p, fr in best.items():
            c = out[p] * fr + add[p]
            out[p] = c if c_max is None else min(c, c_max)
        return out


def local_concentration(points: np.ndarray, point_zone: np.ndarray, zone_c: np.ndarray,
                        src_pos: np.ndarray, src_zone: np.ndarray, src_rate: np.ndarray, src_age: np.ndarray,
                        src_stop_age: np.ndarray | None = None, *, floor_z: np.ndarray | None = None,
                        diffusivity: float = EDDY_DIFFUSIVITY, air_speed: float = ROOM_AIR_SPEED,
                        c_max: float | None = None) -> np.ndarray:
    """Concentration (kg/m3) at N points inside zones given the zone state and the sources (module notes).

    ``points`` (N, 3) m; ``point_zone`` (N,) zone index of each point (-1: none, reads 0); ``zone_c`` (Z,)
    the zone means (kg/m3); ``src_pos`` (S, 3) m, ``src_zone`` (S,), ``src_rate`` (S,) kg/s, ``src_age``
    (S,) s since each source started (<= 0: not yet), ``src_stop_age`` (S,) s since it stopped (None or
    inf: still running); ``floor_z`` (N,) the floor height under each point (reflecting plane; None: no
    floor). Points in a zone without a source get the zone mean. Vectorised over points x sources; for
    repeated calls with the same geometry build a :class:`NearField` once."""
    nf = NearField(points, point_zone, src_pos, src_zone, floor_z=floor_z, diffusivity=diffusivity,
                   air_speed=air_speed)
    return nf(zone_c, src_rate, src_age, src_stop_age, c_max)
