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

import numpy as np
from scipy.special import erfc

__all__ = ["EDDY_DIFFUSIVITY", "ROOM_AIR_SPEED", "R_MIN", "local_concentration"]

ROOM_AIR_SPEED = 0.05
"""m/s: the air speed that carries a room's mixed gas to a point (the low end of the 0.05-0.2 m/s of
occupied rooms; ASHRAE 55 treats below 0.2 m/s as still air), as :data:`twin.dispersion.CELL_VELOCITY`."""
EDDY_DIFFUSIVITY = 0.01
"""m2/s: turbulent eddy diffusivity in a ventilated room (an assumption; see the module notes)."""
R_MIN = 0.1
"""m: distances below this are taken at it (the size of a small leak's source region)."""


def _front(r: np.ndarray, tau: np.ndarray, D: float) -> np.ndarray:
    """erfc(r / sqrt(4 D tau)), 0 for tau <= 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(tau > 0, r / np.sqrt(4.0 * D * np.maximum(tau, 1e-300)), np.inf)
    return erfc(x)


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
    floor). Points in a zone without a source get the zone mean. Vectorised over points x sources."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    pz = np.asarray(point_zone, dtype=np.int64)
    out = np.where(pz >= 0, np.asarray(zone_c, dtype=float)[np.maximum(pz, 0)], 0.0)
    S = len(src_zone)
    if S == 0 or len(pts) == 0:
        return out
    sp = np.asarray(src_pos, dtype=float).reshape(-1, 3)
    same = pz[:, None] == np.asarray(src_zone)[None, :]  # (N, S)
    rows = np.flatnonzero(same.any(axis=1))
    if len(rows) == 0:
        return out
    D = float(diffusivity)
    p = pts[rows]
    d = p[:, None, :] - sp[None, :, :]
    r = np.maximum(np.sqrt((d**2).sum(axis=2)), R_MIN)  # (n, S)
    if floor_z is not None:
        fz = np.asarray(floor_z, dtype=float)[rows][:, None]
        img_dz = p[:, None, 2] + sp[None, :, 2] - 2.0 * fz  # distance in z to the image below the floor
        r2 = np.maximum(np.sqrt(d[:, :, 0] ** 2 + d[:, :, 1] ** 2 + img_dz**2), R_MIN)
    else:
        r2 = None
    age = np.asarray(src_age, dtype=float)[None, :]
    stop = np.full(S, np.inf) if src_stop_age is None else np.asarray(src_stop_age, dtype=float)
    stop = stop[None, :]
    rate = np.asarray(src_rate, dtype=float)[None, :]
    k = rate / (4.0 * np.pi * D)

    def excess(tau: np.ndarray) -> np.ndarray:
        e = k * _front(r, tau, D) / r
        if r2 is not None:
            e = e + k * _front(r2, tau, D) / r2
        return e

    ex = excess(np.broadcast_to(age, r.shape))
    fin = np.isfinite(stop)
    if fin.any():
        ex = ex - np.where(fin, excess(np.broadcast_to(np.where(fin, stop, 0.0), r.shape)), 0.0)
    ex = np.where(same[rows], np.maximum(ex, 0.0), 0.0)
    # the room's mean reaches a point with the advection-diffusion front of the nearest source
    tau = np.broadcast_to(age, r.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = np.where(tau > 0, (r - air_speed * tau) / np.sqrt(4.0 * D * np.maximum(tau, 1e-300)), np.inf)
    front = np.where(same[rows], 0.5 * erfc(arg), 0.0).max(axis=1)
    c = out[rows] * front + ex.sum(axis=1)
    if c_max is not None:
        c = np.minimum(c, c_max)
    out[rows] = c
    return out
