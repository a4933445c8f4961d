"""One outdoor dispersion field for every site of a joint exercise.

Every site keeps its own indoor model (:class:`twin.dispersion.Multizone` per gas) and its own outdoor
releases in its own frame. The region adds, in map coordinates (m, x east, y north):

* **outdoor releases** of every site: the site's :class:`~twin.plume.PuffTrain` (built with the regional
  weather turned into the site's frame), whose puffs are moved onto the map with the site's placement;
* **escaping gas** of indoor releases: the mass that has left a site's buildings (released minus what
  is still indoors, reported after every gas step) leaves as a puff every :data:`PUFF_INTERVAL` s from
  the release point, at :data:`ESCAPE_HEIGHT` m at least.

Puffs are the Gaussian puffs of :mod:`twin.plume` (Briggs spreads from the travel distance, ground
reflection, cut off beyond :data:`twin.plume.CUTOFF` sigmas): a puff released at t_r is centred
``u (t - t_r)`` downwind at time t, so gas reaches a site 2 km downwind at 3 m/s after about 11 minutes,
its leading edge a little earlier by turbulent spread. The regional weather is constant.

What each site sees:

* its exterior openings (doors, vents) get the *other* sites' gas on top of their own outdoor releases
  (the site's own escaping gas is left out: that mass has just left through those very openings and the
  indoor model has already accounted for it; re-entering it would count it twice);
* people in the open and detectors outside every building read every release except the site's own
  escaping gas (for the same reason; it is a near-field plume the screening model cannot resolve).

Each site is given a bounding circle (buildings and muster points); puffs farther than their cut-off from
it are skipped, so a site far from any gas costs a distance test per step.

**What a site models, and when** (the costs of the 10-site benchmark, ``benchmarks/region_speed.py``):

* a site with no release of a gas starts its indoor model of that gas only once the other sites' gas at one
  of its exterior openings passes :data:`WAKE_FRACTION` (1e-3) of the region's lowest set point of that
  gas; before that a per-puff upper bound (:meth:`SharedOutdoorField.upper`) usually spares even the
  exact check at the openings. On the benchmark three of the seven office blocks wake instead of all
  seven, and the neighbouring plants never do;
* people in the open are evaluated per distinct place (to 0.1 m), and the places are reused while nobody
  outside walks, so 5,000 people at a few muster points cost a few points each update;
* they breathe on the probit of :mod:`agents.exposure` (:meth:`agents.exposure.Exposure.breathe_outdoors`):
  the same load and per-person threshold as indoors, so someone who walks out into a plume can collapse
  outdoors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from drills.region.model import SiteFrame
from twin.plume import CUTOFF, PuffTrain, Weather, sigmas

__all__ = ["SharedOutdoorField", "SiteCoupling", "PUFF_INTERVAL", "ESCAPE_HEIGHT", "FIELD_STEP", "WAKE_FRACTION"]

PUFF_INTERVAL = 5.0
"""s between puffs of escaping gas (15 m of travel at 3 m/s: small against the spread a few hundred m on)."""
FIELD_STEP = 5.0
"""s between refreshes of what a site sees of the other sites' gas (openings, people and detectors in the
open). In 5 s a puff moves 15 m at 3 m/s, small against its spread (sigma_y about 60 m at 500 m and 150 m
at 2 km in class D), so holding the value between refreshes changes little and saves most of the work."""
ESCAPE_HEIGHT = 2.0
"""m: escaping gas leaves at the release height or this, whichever is higher (door and vent heights)."""
WAKE_FRACTION = 1e-3
"""A site with no release of a gas starts its indoor model of that gas (its :class:`~twin.dispersion.Multizone`)
only once the other sites' gas at one of its exterior openings exceeds this fraction of the gas's *wake
level*: the lowest alarm set point of any detector of that gas anywhere in the region, or the gas's hazard
level (IDLH, or 10 %LEL) if that is lower or no detector reads it. For H2S with a 5 ppm set point that is
0.005 ppm. Why it is safe: with no source indoors, every zone's concentration is a mix of outdoor air
entering through the openings, so it never exceeds the highest opening value so far; skipping the indoor
model below the threshold leaves every indoor concentration off by less than 1e-3 of the lowest set point
(no detector, alert, IDLH flag or probit outcome can turn on that), and saves the indoor model of every
site that a plume only grazes. Zone records (``records_zones``, above 1e-3 ppm) of such a site can start
later than with the model stepped from the first puff in range."""


@dataclass
class _Escape:
    site: int
    gas: str
    xy: tuple[float, float]  # map
    z: float
    times: list[float] = field(default_factory=list)
    masses: list[float] = field(default_factory=list)
    last: float = 0.0  # kg escaped at the last emitted puff
    t_last: float | None = None


@dataclass
class _Release:
    site: int
    gas: str
    train: PuffTrain
    frame: SiteFrame


@dataclass
class _Puffs:
    """Every puff alive at one time, on the map."""

    site: np.ndarray   # owner site index
    escape: np.ndarray  # bool: escaping indoor gas (not an outdoor release)
    centre: np.ndarray  # (M, 2) m
    height: np.ndarray  # m
    amp: np.ndarray     # kg/m3 scale: M / ((2 pi)^1.5 sy^2 sz)
    sy: np.ndarray
    sz: np.ndarray


class SharedOutdoorField:
    """The regional outdoor air: sources from every site, evaluated anywhere on the map."""

    def __init__(self, weather: Weather, gases: tuple[str, ...], t_start: float):
        self.weather = weather
        self.gases = tuple(gases)
        self.t_start = float(t_start)
        self.direction = weather.direction
        self.releases: list[_Release] = []
        self.escapes: dict[tuple[int, str], _Escape] = {}
        self.circles: dict[int, tuple[np.ndarray, float]] = {}  # site -> (centre, radius) on the map
        self._cache: dict[str, tuple[float, _Puffs | None]] = {}
        self._near: dict[tuple[int, str], tuple[float, np.ndarray]] = {}
        self.levels: dict[str, float] = {}  # gas -> lowest set point or hazard level in the region, kg/m3

    # ------------------------------------------------------------------------------ set-up
    def attach(self, site: int, frame: SiteFrame, footprint) -> SiteCoupling:
        """The coupling a site's :class:`~drills.sim.hazards.GasHazards` uses; ``footprint`` (shapely, map)
        sets the site's bounding circle."""
        c = footprint.centroid
        centre = np.array([c.x, c.y])
        xs, ys = footprint.exterior.coords.xy if hasattr(footprint, "exterior") else ([c.x], [c.y])
        radius = max((math.hypot(x - c.x, y - c.y) for x, y in zip(xs, ys, strict=True)), default=0.0)
        self.circles[site] = (centre, radius + 50.0)  # muster points and approach roads sit a little outside
        w = Weather(self.weather.wind_speed, frame.wind_from_local(self.weather.wind_from),
                    self.weather.stability, self.weather.terrain)
        return SiteCoupling(self, site, frame, w)

    # ------------------------------------------------------------------------------ the puffs
    def _puffs(self, gas: str, t: float) -> _Puffs | None:
        hit = self._cache.get(gas)
        if hit is not None and hit[0] == t:
            return hit[1]
        u = self.weather.wind_speed
        site, esc, cen, hgt, tr_all, m_all = [], [], [], [], [], []
        for r in self.releases:
            if r.gas != gas:
                continue
            tr, m, centres = r.train.puffs(t)
            if len(m) == 0:
                continue
            cen.append(r.frame.to_map(centres))
            site.append(np.full(len(m), r.site))
            esc.append(np.zeros(len(m), dtype=bool))
            hgt.append(np.full(len(m), r.train.height))
            tr_all.append(tr)
            m_all.append(m)
        for e in self.escapes.values():
            if e.gas != gas or not e.times:
                continue
            tr = np.asarray(e.times)
            keep = tr <= t
            tr = tr[keep]
            m = np.asarray(e.masses)[keep]
            cen.append(np.asarray(e.xy) + np.outer(u * (t - tr), self.direction))
            site.append(np.full(len(m), e.site))
            esc.append(np.ones(len(m), dtype=bool))
            hgt.append(np.full(len(m), e.z))
            tr_all.append(tr)
            m_all.append(m)
        if not m_all:
            out = None
        else:
            tr = np.concatenate(tr_all)
            travel = u * (t - tr)
            sy, sz = sigmas(travel, self.weather.stability, self.weather.terrain)
            m = np.concatenate(m_all)
            out = _Puffs(np.concatenate(site), np.concatenate(esc), np.concatenate(cen), np.concatenate(hgt),
                         m / ((2 * math.pi) ** 1.5 * sy**2 * sz), sy, sz)
        self._cache[gas] = (t, out)
        return out

    def _near_site(self, site: int, gas: str, t: float) -> tuple[_Puffs | None, np.ndarray]:
        """The puffs of ``gas`` whose cut-off circle touches ``site``'s bounding circle."""
        key = (site, gas)
        hit = self._near.get(key)
        pf = self._puffs(gas, t)
        if hit is not None and hit[0] == t:
            return pf, hit[1]
        if pf is None:
            idx = np.zeros(0, dtype=np.int64)
        else:
            centre, radius = self.circles[site]
            d = np.hypot(pf.centre[:, 0] - centre[0], pf.centre[:, 1] - centre[1])
            idx = np.flatnonzero(d <= CUTOFF * pf.sy + radius)
        self._near[key] = (t, idx)
        return pf, idx

    def concentration(self, gas: str, points: np.ndarray, t: float, *, site: int | None = None,
                      others_only: bool = False) -> np.ndarray:
        """Outdoor concentration (kg/m3) of ``gas`` at map ``points`` ((N, 3) m) at ``t`` (s).

        With ``site``: only puffs near that site count, and its own escaping gas is left out;
        ``others_only`` leaves out all of its own puffs (its outdoor releases are in its own model)."""
        p = np.asarray(points, dtype=float).reshape(-1, 3)
        out = np.zeros(len(p))
        if site is None:
            pf = self._puffs(gas, t)
            idx = np.arange(0 if pf is None else len(pf.amp))
        else:
            pf, idx = self._near_site(site, gas, t)
            if pf is not None and len(idx):
                own = pf.site[idx] == site
                drop = own if others_only else own & pf.escape[idx]
                idx = idx[~drop]
        if pf is None or len(idx) == 0 or len(p) == 0:
            return out
        cx, cy = pf.centre[idx, 0], pf.centre[idx, 1]
        sy, sz, h, amp = pf.sy[idx], pf.sz[idx], pf.height[idx], pf.amp[idx]
        z = np.maximum(p[:, 2:3], 0.0)
        r2 = (p[:, 0:1] - cx[None, :]) ** 2 + (p[:, 1:2] - cy[None, :]) ** 2
        vert = np.exp(-((z - h) ** 2) / (2 * sz**2)) + np.exp(-((z + h) ** 2) / (2 * sz**2))
        c = amp * np.exp(-r2 / (2 * sy**2)) * vert
        c[r2 > (CUTOFF * sy) ** 2] = 0.0
        return c.sum(axis=1)

    def note_level(self, gas: str, kgm3: float) -> None:
        """A site's lowest alarm set point (or hazard level) of ``gas`` (kg/m3): the region keeps the least."""
        if kgm3 > 0 and math.isfinite(kgm3):
            self.levels[gas] = min(self.levels.get(gas, math.inf), float(kgm3))

    def wake_level(self, gas: str) -> float:
        """kg/m3 at an opening above which a site with no release of ``gas`` models it indoors
        (:data:`WAKE_FRACTION` x the region's lowest set point; 0 when none is known: wake on any gas)."""
        lv = self.levels.get(gas)
        return 0.0 if lv is None else WAKE_FRACTION * lv

    def upper(self, gas: str, centre: np.ndarray, radius: float, t: float, *, site: int) -> float:
        """An upper bound (kg/m3) on the other sites' ``gas`` (what :meth:`concentration` gives with
        ``others_only``) anywhere within ``radius`` m of map point ``centre`` at ``t``, for one distance
        per puff instead of one per puff and point: a puff at distance d from the circle's edge adds at
        most ``2 amp exp(-d^2 / (2 sy^2))`` (both vertical terms are at most 1), nothing beyond cut-off."""
        pf = self._puffs(gas, t)
        if pf is None:
            return 0.0
        d = np.maximum(np.hypot(pf.centre[:, 0] - centre[0], pf.centre[:, 1] - centre[1]) - radius, 0.0)
        ok = (pf.site != site) & (d <= CUTOFF * pf.sy)
        if not ok.any():
            return 0.0
        sy = pf.sy[ok]
        # the margin covers rounding: the exact sum is never above this
        return float((2.0 * pf.amp[ok] * np.exp(-(d[ok] ** 2) / (2 * sy**2))).sum()) * (1.0 + 1e-9)

    def reaches(self, site: int, t: float) -> bool:
        """Is any other site's gas within cut-off of ``site`` at ``t``?"""
        for gas in self.gases:
            pf, idx = self._near_site(site, gas, t)
            if pf is not None and len(idx) and bool((pf.site[idx] != site).any()):
                return True
        return False


class SiteCoupling:
    """One site's view of the :class:`SharedOutdoorField` (the :class:`drills.sim.hazards.OutdoorCoupling`
    protocol): points arrive and leave in the site's own frame."""

    def __init__(self, field_: SharedOutdoorField, site: int, frame: SiteFrame, weather: Weather):
        self.field = field_
        self.site = site
        self.frame = frame
        self.weather = weather
        self.gases = field_.gases
        self.t_start = field_.t_start
        self.exposure_every = FIELD_STEP
        self._held: dict[tuple[str, int], tuple[float, np.ndarray]] = {}
        self._bound: dict[tuple[str, int], tuple[float, float]] = {}
        self._circle: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}  # id -> (points, centre, radius)
        self._reach: tuple[float, bool] | None = None
        self._places: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def add_release(self, gas_key: str, train: PuffTrain) -> None:
        self.field.releases.append(_Release(self.site, gas_key, train, self.frame))

    def add_escape(self, gas_key: str, xy: tuple[float, float], z: float) -> None:
        key = (self.site, gas_key)
        if key in self.field.escapes:  # one escape point per site and gas: the first release's
            return
        m = self.frame.to_map(np.array([[xy[0], xy[1]]]))[0]
        self.field.escapes[key] = _Escape(self.site, gas_key, (float(m[0]), float(m[1])), max(z, ESCAPE_HEIGHT))

    def stepped(self, t: float, escaped: dict[str, float]) -> None:
        for gas, kg in escaped.items():
            e = self.field.escapes.get((self.site, gas))
            if e is None:
                continue
            if e.t_last is None:
                e.t_last = t
            if t - e.t_last + 1e-9 >= PUFF_INTERVAL:
                dm = kg - e.last
                if dm > 0:
                    e.times.append(0.5 * (e.t_last + t))  # the puff leaves mid-interval
                    e.masses.append(dm)
                e.last = kg
                e.t_last = t

    def _map(self, points: np.ndarray) -> np.ndarray:
        return self.frame.to_map(np.asarray(points, dtype=float).reshape(-1, 3))

    def other(self, gas_key: str, points: np.ndarray, t: float) -> np.ndarray:
        # the openings are the same array every step: hold their values for FIELD_STEP
        key = (gas_key, id(points))
        hit = self._held.get(key)
        if hit is not None and t - hit[0] < FIELD_STEP - 1e-9 and len(hit[1]) == len(points):
            return hit[1]
        c = self.field.concentration(gas_key, self._map(points), t, site=self.site, others_only=True)
        self._held[key] = (t, c)
        return c

    def other_upper(self, gas_key: str, points: np.ndarray, t: float) -> float:
        """An upper bound (kg/m3) on :meth:`other` at any of ``points`` (the same array every step),
        refreshed like it every :data:`FIELD_STEP` s (see :meth:`SharedOutdoorField.upper`)."""
        key = (gas_key, id(points))
        hit = self._bound.get(key)
        if hit is not None and t - hit[0] < FIELD_STEP - 1e-9:
            return hit[1]
        circ = self._circle.get(id(points))
        if circ is None or circ[0] is not points:
            m = self._map(points)[:, :2]
            centre = 0.5 * (m.min(axis=0) + m.max(axis=0))
            circ = (points, centre, float(np.hypot(*(m - centre).T).max()) if len(m) else 0.0)
            self._circle[id(points)] = circ
        b = self.field.upper(gas_key, circ[1], circ[2], t, site=self.site)
        self._bound[key] = (t, b)
        return b

    def outdoor(self, gas_key: str, points: np.ndarray, t: float) -> np.ndarray:
        # people in the open crowd at a few muster points: evaluate each distinct place (to 0.1 m) once;
        # the same array again (nobody outside moved: GasHazards keeps it) reuses the grouping
        pl = self._places
        if pl is not None and pl[0] is points:
            _, pts, first, inv = pl
        else:
            pts = np.round(self._map(points), 1)
            first, inv = _distinct_rows(pts) if len(pts) > 8 else (None, None)
            self._places = (points, pts, first, inv)
        if first is not None:
            return self.field.concentration(gas_key, pts[first], t, site=self.site)[inv]
        return self.field.concentration(gas_key, pts, t, site=self.site)

    def note_level(self, gas_key: str, kgm3: float) -> None:
        self.field.note_level(gas_key, kgm3)

    def wake_level(self, gas_key: str) -> float:
        return self.field.wake_level(gas_key)

    def reaches(self, t: float) -> bool:
        if self._reach is not None and t - self._reach[0] < FIELD_STEP - 1e-9:
            return self._reach[1]
        got = self.field.reaches(self.site, t)
        self._reach = (t, got)
        return got


def _distinct_rows(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``pts`` ((N, 3), rounded to 0.1 m) that differ: (index of one row of each kind, the kind of
    every row), so that ``pts[first][inv] == pts``.

    Every row is evaluated on its own in :meth:`SharedOutdoorField.concentration`, so which copy stands for
    a place changes no value. When all heights are equal and the plan coordinates fit 31 bits in 0.1 m
    (the map within 100 km of its origin) one int64 key per row is sorted: ``np.unique(axis=0)`` sorts
    rows as byte strings and cost more than the concentrations themselves."""
    q = np.rint(pts[:, :2] * 10.0)
    if len(pts) and bool((pts[:, 2] == pts[0, 2]).all()) and float(np.abs(q).max()) < 2**30:
        key = (q[:, 0].astype(np.int64) << 32) + (q[:, 1].astype(np.int64) + 2**31)
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(pts, axis=0, return_index=True, return_inverse=True)
    return first, np.ravel(inv)
