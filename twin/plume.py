"""Outdoor dispersion: Gaussian plume (continuous release) and puffs (instantaneous or time-varying).

**Coordinates.** World metres as in :mod:`twin.site`: x east, y north, z up (z = 0 is the ground).
Wind follows the meteorological convention: ``wind_from`` is the direction the wind blows *from*, in
degrees clockwise from north (270 = a westerly wind blowing towards +x). Wind speed (m/s) is taken at the
release height.

**Dispersion coefficients.** Pasquill–Gifford stability classes A (very unstable) to F (moderately
stable) with the Briggs (1973) formulas for open country (``rural``) and cities (``urban``), as tabulated
by Gifford (1976) and reproduced in *Fundamentals of Air Pollution*, 3rd ed., Tables 19-6/19-7 (checked
against a hand calculation in ``tests/twin/test_plume.py``). They are fitted for 100 m
to 10 km downwind (:data:`X_FIT_MIN`, :data:`X_FIT_MAX`); nearer receptors get extrapolated spreads and
are flagged (:func:`below_fit`; the drills list them in the run's caveats); below :data:`X_MIN` the
spreads are evaluated at X_MIN. Near the source the formula diverges (a 1 kg/s H2S plume 2 m downwind at
5 m/s gives 3.3 kg/m3, more than pure H2S at 1.42 kg/m3), so with ``max_concentration`` (the pure gas
density) concentrations are cut there: no mixture holds more gas than the pure gas.

**Plume** (rate Q kg/s, source height H, ground reflection)::

    C = Q / (2 pi u sy sz) exp(-y^2 / 2 sy^2) [exp(-(z-H)^2 / 2 sz^2) + exp(-(z+H)^2 / 2 sz^2)]

with x the downwind and y the crosswind distance; upwind points (x <= 0) get 0.

**Puff** (mass M, centre travelled a distance s from the source, sx = sy evaluated at s)::

    C = M / ((2 pi)^1.5 sy^2 sz) exp(-r^2 / 2 sy^2) [same reflection bracket]

with r the horizontal distance to the puff centre. A :class:`PuffTrain` turns a continuous or
time-varying release into puffs of ``M = integral of the rate over puff_interval``. Puffs too far apart
against their spread ripple (5 s puffs at 3 m/s are 15 m apart, 1.6 m spreads at 20 m: 0 to 6 times the
steady plume there, and a dose that grows with C^n, n > 1, is biased up). So a constant rate in a constant
wind is evaluated as the steady plume between travel-time fronts (no puffs), and otherwise the interval is
chosen so that puffs are one horizontal spread apart at the nearest receptor (:data:`PUFF_SPACING`). Puffs are cut off
beyond 8 sigma horizontally (exp(-32), negligible), so points far upwind read exactly 0.

**Wind shifts.** The wind is uniform in space and piecewise constant in time (:class:`WeatherSeries`).
Every puff alive is carried by the wind in force at each moment, so a wind shift bends the train;
its spread follows the total distance travelled with the stability class in force at the time of
evaluation (no virtual-source correction). A steady :class:`GaussianPlume` uses one weather.

**Limits.** Neutrally buoyant, passive gas: no plume rise and no gravity slumping. Dense gases (chlorine,
propane, cold or flashing ammonia, H2S at high rates) spread wider and lower and pool in low ground; a
Gaussian model is then only a screening estimate (ALOHA switches to a heavy-gas model). Flat open
terrain with no buildings, no terrain steering, no mixing-height reflection, no chemistry or deposition.
Unreliable in very low wind (below about 1 m/s), very close to the source and beyond about 10 km or 1 h.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    from .dispersion import Multizone

__all__ = [
    "GaussianPlume",
    "PuffTrain",
    "STABILITY_CLASSES",
    "Weather",
    "WeatherSeries",
    "X_FIT_MIN",
    "X_FIT_MAX",
    "X_MIN",
    "below_fit",
    "pasquill_class",
    "plume_hook",
    "puff_concentration",
    "sigmas",
    "wind_vector",
]

Terrain = Literal["rural", "urban"]
STABILITY_CLASSES = ("A", "B", "C", "D", "E", "F")
X_MIN = 1.0
"""Smallest travel distance (m) at which the spreads are evaluated; nearer points use this distance."""
X_FIT_MIN = 100.0
"""Shortest downwind distance (m) of the range the Briggs (1973) formulas were fitted to (100 m to 10 km;
Gifford 1976): receptors nearer than this get extrapolated spreads (:func:`below_fit`)."""
X_FIT_MAX = 10_000.0
"""Longest downwind distance (m) of the fitted range."""
PUFF_SPACING = 1.0
"""Puff spacing along the wind in units of the horizontal spread at the nearest receptor: a train of
Gaussian puffs spaced ``d`` apart with spread ``sigma`` ripples by about ``2 exp(-2 pi^2 sigma^2 / d^2)``
(the Fourier series of the train; Poisson summation), 5e-9 of the steady plume at ``d = sigma``."""
PUFF_INTERVAL_RANGE = (0.1, 5.0)
"""Bounds (s) on the automatic puff interval (a receptor at the source would otherwise ask for 0 s)."""
CUTOFF = 8.0
"""Puffs contribute nothing beyond this many horizontal sigmas (exp(-32) of the peak)."""

# Briggs (1973) via Gifford (1976): sy = a x (1 + b x)^-1/2; sz = c x (1 + d x)^p.
# Rural: b = 1e-4 for every class. Urban: b = 4e-4; A and B share a row, as do E and F.
_SY_RURAL = {"A": 0.22, "B": 0.16, "C": 0.11, "D": 0.08, "E": 0.06, "F": 0.04}
_SZ_RURAL = {"A": (0.20, 0.0, 0.0), "B": (0.12, 0.0, 0.0), "C": (0.08, 2e-4, -0.5),
             "D": (0.06, 1.5e-3, -0.5), "E": (0.03, 3e-4, -1.0), "F": (0.016, 3e-4, -1.0)}
_SY_URBAN = {"A": 0.32, "B": 0.32, "C": 0.22, "D": 0.16, "E": 0.11, "F": 0.11}
_SZ_URBAN = {"A": (0.24, 1e-3, 0.5), "B": (0.24, 1e-3, 0.5), "C": (0.20, 0.0, 0.0),
             "D": (0.14, 3e-4, -0.5), "E": (0.08, 1.5e-3, -0.5), "F": (0.08, 1.5e-3, -0.5)}


def _check_class(stability: str) -> str:
    s = str(stability).upper()
    if s not in STABILITY_CLASSES:
        raise InputError(f"stability class must be one of A-F, got {stability!r}")
    return s


def sigmas(x: float | np.ndarray, stability: str, terrain: Terrain = "rural") -> tuple[np.ndarray, np.ndarray]:
    """Briggs horizontal and vertical spreads (sy, sz) in m at travel distance ``x`` (m)."""
    s = _check_class(stability)
    x = np.maximum(np.asarray(x, dtype=float), X_MIN)
    if terrain == "rural":
        sy = _SY_RURAL[s] * x / np.sqrt(1 + 1e-4 * x)
        c, d, p = _SZ_RURAL[s]
    elif terrain == "urban":
        sy = _SY_URBAN[s] * x / np.sqrt(1 + 4e-4 * x)
        c, d, p = _SZ_URBAN[s]
    else:
        raise InputError(f"terrain must be 'rural' or 'urban', got {terrain!r}")
    sz = c * x * (1 + d * x) ** p
    return sy, sz


def wind_vector(wind_from: float) -> np.ndarray:
    """Unit vector (east, north) the wind blows *towards*, for a wind from ``wind_from`` degrees
    clockwise from north."""
    th = math.radians(wind_from)
    # rounding keeps cardinal winds exact (cos 270° is -1.8e-16, not 0), so a point straight across
    # the wind from the source is not counted as a hair downwind
    return np.round(np.array([-math.sin(th), -math.cos(th)]), 15)


# Turner (1970) / Pasquill (1961) table: wind at 10 m (m/s) -> (strong, moderate, slight insolation,
# night cloud >= 4/8, night cloud <= 3/8). Pairs such as "A-B" resolve to the more stable class, which
# gives the higher ground-level concentrations from ground-level releases.
_PG_TABLE = ((2.0, ("A", "B", "B", "F", "F")), (3.0, ("B", "C", "C", "E", "F")),
             (5.0, ("C", "C", "D", "D", "E")), (6.0, ("C", "D", "D", "D", "D")),
             (math.inf, ("C", "D", "D", "D", "D")))


def pasquill_class(wind_speed: float, *, day: bool, insolation: Literal["strong", "moderate", "slight"] = "moderate",
                   cloud_octas: float = 0.0, overcast: bool = False) -> str:
    """Pasquill–Gifford class from the 10 m wind (m/s) and sky: daytime insolation, or night cloud cover
    (octas). Overcast skies give D day or night. Table of Turner's *Workbook of Atmospheric Dispersion
    Estimates* (1970), not checked here against the original table, so treat it as a convenience, and pass the
    class explicitly when it is known."""
    if overcast:
        return "D"
    col = ({"strong": 0, "moderate": 1, "slight": 2}[insolation] if day else (3 if cloud_octas >= 4 else 4))
    for limit, row in _PG_TABLE:
        if wind_speed < limit:
            return row[col]
    return "D"  # unreachable: the last limit is infinite


@dataclass(frozen=True)
class Weather:
    """Wind speed (m/s), ``wind_from`` (deg clockwise from north), stability class, terrain."""

    wind_speed: float
    wind_from: float
    stability: str = "D"
    terrain: Terrain = "rural"

    def __post_init__(self) -> None:
        if not self.wind_speed > 0:
            raise InputError(f"wind speed must be positive, got {self.wind_speed} m/s")
        object.__setattr__(self, "stability", _check_class(self.stability))
        if self.terrain not in ("rural", "urban"):
            raise InputError(f"terrain must be 'rural' or 'urban', got {self.terrain!r}")

    @property
    def direction(self) -> np.ndarray:
        """Unit vector the wind blows towards (east, north)."""
        return wind_vector(self.wind_from)


@dataclass(frozen=True)
class WeatherSeries:
    """Weather changing in steps: ``weathers[k]`` holds from ``times[k]`` (s) until ``times[k + 1]``.
    The first also holds before ``times[0]``."""

    times: tuple[float, ...]
    weathers: tuple[Weather, ...]

    def __post_init__(self) -> None:
        if len(self.times) != len(self.weathers) or not self.times:
            raise InputError("a weather series needs one time per weather, at least one")
        if any(b <= a for a, b in zip(self.times, self.times[1:], strict=False)):
            raise InputError("weather series times must be ascending")

    @classmethod
    def constant(cls, weather: Weather) -> WeatherSeries:
        return cls((0.0,), (weather,))

    def at(self, t: float) -> Weather:
        k = int(np.searchsorted(self.times, t, side="right")) - 1
        return self.weathers[max(k, 0)]

    def _cumulative(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wind displacement (…, 2) and distance travelled (…) by air between times[0] and t (s);
        negative t - times[0] runs the first weather backwards."""
        t = np.asarray(t, dtype=float)
        t0 = np.asarray(self.times, dtype=float)
        vel = np.array([w.wind_speed * w.direction for w in self.weathers])  # (K, 2)
        spd = np.array([w.wind_speed for w in self.weathers])
        seg = np.diff(t0)
        disp_knots = np.vstack([np.zeros(2), np.cumsum(vel[:-1] * seg[:, None], axis=0)])
        dist_knots = np.concatenate([[0.0], np.cumsum(spd[:-1] * seg)])
        k = np.clip(np.searchsorted(t0, t, side="right") - 1, 0, None)
        dtk = t - t0[k]
        return disp_knots[k] + vel[k] * dtk[..., None], dist_knots[k] + spd[k] * dtk


def _as_series(weather: Weather | WeatherSeries) -> WeatherSeries:
    return weather if isinstance(weather, WeatherSeries) else WeatherSeries.constant(weather)


def _points(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    p = np.atleast_2d(np.asarray(points, dtype=float))
    if p.shape[-1] == 2:
        p = np.column_stack([p, np.zeros(len(p))])
    if p.ndim != 2 or p.shape[1] != 3:
        raise InputError("points must be an (N, 3) array of x, y, z in m (or (N, 2) at ground level)")
    return p


def _reflect(z: np.ndarray, h: float, sz: np.ndarray) -> np.ndarray:
    """Ground-reflection bracket exp(-(z-H)^2/2sz^2) + exp(-(z+H)^2/2sz^2)."""
    return np.exp(-((z - h) ** 2) / (2 * sz**2)) + np.exp(-((z + h) ** 2) / (2 * sz**2))


# -------------------------------------------------------------------------------------------- plume
@dataclass(frozen=True)
class GaussianPlume:
    """A steady continuous release of ``rate`` kg/s at ``source`` (x, y in m) and ``height`` (m).

    ``start`` (s, optional) adds a travel-time front: at time t only points within ``u (t - start)``
    downwind see the plume (a plug front, no along-wind spread).
    """

    source: tuple[float, float]
    rate: float
    weather: Weather
    height: float = 0.0
    start: float | None = None
    max_concentration: float | None = None
    """Upper bound (kg/m3): the density of the pure released gas. Near the source the Gaussian formula
    diverges (the spreads go to 0); no mixture holds more gas than the pure gas, so it is cut there."""

    def below_fit(self, points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Points downwind of the source nearer than :data:`X_FIT_MIN` (see :func:`below_fit`)."""
        return below_fit(points, self.source, self.weather)

    def concentration(self, points: np.ndarray | Sequence[Sequence[float]], t: float | None = None) -> np.ndarray:
        """Concentration (kg/m3) at ``points`` ((N, 3) x, y, z in m; (N, 2) means ground level), at most
        :attr:`max_concentration`."""
        p = _points(points)
        w = self.weather
        d = w.direction
        rel = p[:, :2] - np.asarray(self.source, dtype=float)
        x = rel @ d
        y = rel @ np.array([-d[1], d[0]])
        sy, sz = sigmas(x, w.stability, w.terrain)
        c = self.rate / (2 * math.pi * w.wind_speed * sy * sz) * np.exp(-(y**2) / (2 * sy**2)) \
            * _reflect(np.maximum(p[:, 2], 0.0), self.height, sz)
        reach = np.inf if (t is None or self.start is None) else w.wind_speed * max(t - self.start, 0.0)
        c = np.where((x > 0) & (x <= reach), c, 0.0)
        return c if self.max_concentration is None else np.minimum(c, self.max_concentration)


def below_fit(points: np.ndarray | Sequence[Sequence[float]], source: Sequence[float],
              weather: Weather) -> np.ndarray:
    """Boolean mask of the points downwind of ``source`` (x, y m) nearer than :data:`X_FIT_MIN`: there
    the Briggs spreads are extrapolated below the range they were fitted to (100 m - 10 km), and the
    concentrations are order-of-magnitude estimates (capped at the pure gas, see
    :attr:`GaussianPlume.max_concentration`)."""
    p = _points(points)
    x = (p[:, :2] - np.asarray(source, dtype=float)) @ weather.direction
    return (x > 0) & (x < X_FIT_MIN)


# --------------------------------------------------------------------------------------------- puff
def puff_concentration(points: np.ndarray | Sequence[Sequence[float]], centre: Sequence[float], mass: float,
                       travel: float, weather: Weather, height: float = 0.0) -> np.ndarray:
    """Concentration (kg/m3) at ``points`` of one puff of ``mass`` kg whose centre is at ``centre``
    (x, y in m) after travelling ``travel`` m, released at ``height`` m."""
    p = _points(points)
    sy, sz = sigmas(travel, weather.stability, weather.terrain)
    r2 = np.sum((p[:, :2] - np.asarray(centre, dtype=float)) ** 2, axis=1)
    c = mass / ((2 * math.pi) ** 1.5 * sy**2 * sz) * np.exp(-r2 / (2 * sy**2)) \
        * _reflect(np.maximum(p[:, 2], 0.0), height, sz)
    return np.where(r2 <= (CUTOFF * sy) ** 2, c, 0.0)


class PuffTrain:
    """A release as a train of Gaussian puffs carried by a (possibly shifting) wind.

    Parameters
    ----------
    source, height:
        Release point (x, y in m) and height (m).
    weather:
        A :class:`Weather` or :class:`WeatherSeries`.
    rate:
        kg/s: a constant, ``(times, rates)`` (s after ``start``, linear between points, last rate held), or
        a callable of absolute time. ``None`` for bursts only.
    start, stop:
        Release window, s (``stop=None``: until the last time asked for).
    puff_interval:
        s between puffs; each puff carries the mass released over its interval and leaves at the
        interval's midpoint. Choose it so that ``u * puff_interval`` is small against the spread at the
        nearest receptor (a few metres for receptors 100 m away).
        ``None`` (the default): a constant rate in a constant wind is evaluated as the steady plume
        between travel-time fronts (no puffs, so no ripple); otherwise the interval is chosen at the
        first evaluation so that puffs are :data:`PUFF_SPACING` horizontal spreads apart at the nearest
        point asked for (within :data:`PUFF_INTERVAL_RANGE`).
    bursts:
        ``(time s, mass kg)`` instantaneous releases, one puff each.
    max_concentration:
        Upper bound, kg/m3 (the pure gas density): see :attr:`GaussianPlume.max_concentration`.
    """

    def __init__(self, source: Sequence[float], weather: Weather | WeatherSeries, *, height: float = 0.0,
                 rate: float | tuple[Sequence[float], Sequence[float]] | Callable[[float], float] | None = None,
                 start: float = 0.0, stop: float | None = None, puff_interval: float | None = None,
                 bursts: Sequence[tuple[float, float]] = (), max_concentration: float | None = None):
        if puff_interval is not None and puff_interval <= 0:
            raise InputError(f"puff interval must be positive, got {puff_interval} s")
        self.source = (float(source[0]), float(source[1]))
        self.height = float(height)
        self.weather = _as_series(weather)
        self.rate = rate
        self.start = float(start)
        self.stop = math.inf if stop is None else float(stop)
        self.steady = puff_interval is None and isinstance(rate, int | float) and len(self.weather.times) == 1
        """Evaluated as the steady plume between travel-time fronts (a constant rate in a constant wind)."""
        self.puff_interval = None if puff_interval is None else float(puff_interval)
        """s between puffs (None until chosen from the nearest receptor, see the class notes)."""
        self.bursts = [(float(t), float(m)) for t, m in bursts]
        self.max_concentration = max_concentration

    def choose_interval(self, points: np.ndarray) -> float:
        """Set :attr:`puff_interval` (when not given) from the nearest of ``points`` ((N, 3) m): puffs
        :data:`PUFF_SPACING` horizontal spreads apart there, in the slowest wind of the series."""
        if self.puff_interval is None:
            d = np.hypot(points[:, 0] - self.source[0], points[:, 1] - self.source[1]) if len(points) else np.zeros(1)
            near = max(float(d.min()), X_MIN)
            u = max(w.wind_speed for w in self.weather.weathers)
            sy = min(float(sigmas(near, w.stability, w.terrain)[0]) for w in self.weather.weathers)
            lo, hi = PUFF_INTERVAL_RANGE
            self.puff_interval = float(min(max(PUFF_SPACING * sy / u, lo), hi))
        return self.puff_interval

    def below_fit(self, points: np.ndarray | Sequence[Sequence[float]], t: float = 0.0) -> np.ndarray:
        """Points downwind nearer than :data:`X_FIT_MIN` in the weather at ``t`` (:func:`below_fit`)."""
        return below_fit(points, self.source, self.weather.at(t))

    def _mass(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Mass (kg) released between a and b (arrays of s), continuous part only."""
        a = np.maximum(a, self.start)
        b = np.minimum(b, self.stop)
        span = np.clip(b - a, 0.0, None)
        r = self.rate
        if r is None:
            return np.zeros_like(span)
        if callable(r):
            return np.array([max(float(r(0.5 * (x + y))), 0.0) for x, y in zip(a, b, strict=True)]) * span
        if isinstance(r, tuple):
            t = np.asarray(r[0], dtype=float) + self.start
            v = np.asarray(r[1], dtype=float)
            out = np.zeros_like(span)
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                if y > x:  # exact: linear between breakpoints, midpoint rule per piece
                    pts = np.concatenate(([x], t[(t > x) & (t < y)], [y]))
                    mid = 0.5 * (pts[:-1] + pts[1:])
                    out[i] = np.sum(np.diff(pts) * np.interp(mid, t, v, left=0.0, right=v[-1]))
            return out
        return float(r) * span

    def puffs(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Release times (s), masses (kg) and centres ((M, 2) m) of the puffs alive at time ``t``
        (with no interval given or chosen yet, 5 s)."""
        if self.puff_interval is None:
            self.puff_interval = PUFF_INTERVAL_RANGE[1]
        end = min(t, self.stop)
        times: list[np.ndarray] = []
        masses: list[np.ndarray] = []
        if self.rate is not None and end > self.start:
            n = math.ceil((end - self.start) / self.puff_interval - 1e-9)
            lo = self.start + self.puff_interval * np.arange(n)
            hi = np.minimum(lo + self.puff_interval, end)
            times.append(0.5 * (lo + hi))
            masses.append(self._mass(lo, hi))
        for tb, mb in self.bursts:
            if tb <= t:
                times.append(np.array([tb]))
                masses.append(np.array([mb]))
        if not times:
            return np.zeros(0), np.zeros(0), np.zeros((0, 2))
        tr = np.concatenate(times)
        m = np.concatenate(masses)
        keep = (m > 0) & (tr <= t)
        tr, m = tr[keep], m[keep]
        disp_t, _ = self.weather._cumulative(np.array([t]))
        disp_r, _ = self.weather._cumulative(tr)
        centres = np.asarray(self.source) + (disp_t - disp_r)
        return tr, m, centres

    def concentration(self, points: np.ndarray | Sequence[Sequence[float]], t: float,
                      chunk: int = 2_000_000) -> np.ndarray:
        """Concentration (kg/m3) at ``points`` ((N, 3) or (N, 2) at ground) at time ``t`` (s), at most
        :attr:`max_concentration`."""
        p = _points(points)
        if self.steady:
            out = self._steady(p, t)
            cap = self.max_concentration
            return out if cap is None else np.minimum(out, cap)
        self.choose_interval(p)
        out = self._puff_sum(p, t)
        cap = self.max_concentration
        return out if cap is None else np.minimum(out, cap)

    def _steady(self, p: np.ndarray, t: float) -> np.ndarray:
        """The steady plume of the constant rate where the air at each point left the source within the
        release window (a plug flow front at the start and at the stop: emission time ``t - x / u``),
        plus any bursts as puffs."""
        w = self.weather.weathers[0]
        plume = GaussianPlume(self.source, float(self.rate), w, self.height)
        c = plume.concentration(p)
        d = w.direction
        x = (p[:, :2] - np.asarray(self.source)) @ d
        te = t - x / w.wind_speed
        c = np.where((te >= self.start) & (te < min(self.stop, t)), c, 0.0)
        if self.bursts:
            c = c + self._puff_sum(p, t, bursts_only=True)
        return c

    def _puff_sum(self, p: np.ndarray, t: float, chunk: int = 2_000_000, bursts_only: bool = False) -> np.ndarray:
        if bursts_only:
            tr = np.array([tb for tb, _ in self.bursts if tb <= t])
            m = np.array([mb for tb, mb in self.bursts if tb <= t])
            disp_t, _ = self.weather._cumulative(np.array([t]))
            disp_r, _ = self.weather._cumulative(tr) if len(tr) else (np.zeros((0, 2)), None)
            centres = np.asarray(self.source) + (disp_t - disp_r)
        else:
            tr, m, centres = self.puffs(t)
        out = np.zeros(len(p))
        if len(m) == 0:
            return out
        _, dist_t = self.weather._cumulative(np.array([t]))
        _, dist_r = self.weather._cumulative(tr)
        travel = dist_t - dist_r
        w = self.weather.at(t)
        sy, sz = sigmas(travel, w.stability, w.terrain)
        amp = m / ((2 * math.pi) ** 1.5 * sy**2 * sz)
        z = np.maximum(p[:, 2], 0.0)
        step = max(1, chunk // max(len(m), 1))
        for i in range(0, len(p), step):
            q = p[i:i + step]
            r2 = (q[:, 0:1] - centres[None, :, 0]) ** 2 + (q[:, 1:2] - centres[None, :, 1]) ** 2
            vert = _reflect(z[i:i + step, None], self.height, sz[None, :])
            c = amp[None, :] * np.exp(-r2 / (2 * sy[None, :] ** 2)) * vert
            c[r2 > (CUTOFF * sy[None, :]) ** 2] = 0.0
            out[i:i + step] = c.sum(axis=1)
        return out


def plume_hook(model: GaussianPlume | PuffTrain) -> Callable[[float, Multizone], None]:
    """An ``outdoor_hook`` for :class:`~twin.dispersion.Multizone`: at each step it sets the outdoor
    concentration of every exterior opening with a known position to ``model`` at that point and time.
    Openings without a position (graphs built by hand) keep the default outdoor concentration."""

    def hook(t: float, mz: Multizone) -> None:
        ops = [o for o in _openings(mz) if o.xy is not None]
        if not ops:
            return
        pts = np.array([(o.xy[0], o.xy[1], o.z or 0.0) for o in ops])
        c = model.concentration(pts, t)
        mz.set_outdoor(openings={o.id: float(v) for o, v in zip(ops, c, strict=True)})

    return hook


def _openings(mz: Multizone):
    cached = getattr(mz, "_plume_openings", None)
    if cached is None:
        cached = mz.exterior_openings()
        mz._plume_openings = cached
    return cached
