"""Dense (heavier-than-air) gas releases: the Britter-McQuaid screening and workbook plume.

**Screening** (Britter & McQuaid, *Workbook on the Dispersion of Dense Gases*, HSE Contract Research
Report 17/1988, Health and Safety Executive, Sheffield). With ``g0' = g (rho0 - rho_a) / rho_a`` the
reduced gravity of the released gas (rho0 its density at release, rho_a the air's), U the wind speed
(m/s), a continuous release of volume rate ``q0 = m / rho0`` (m3/s) behaves as a dense plume when

    (g0' q0 / D)^(1/3) / U >= 0.15,   D = sqrt(q0 / U)                       (continuous)

and an instantaneous release of volume ``V0 = M / rho0`` (m3) as a dense cloud when

    sqrt(g0' V0^(1/3)) / U >= 0.2                                            (instantaneous)

Below these the passive Gaussian model (:mod:`twin.plume`) applies.

**Workbook plume** (continuous, ground-level, isothermal release). The workbook correlates the ratio of
the centre-line ground concentration to the release concentration, ``Cm / C0``, with the dimensionless
distance ``x / D`` through ``alpha = 0.2 log10(g0'^2 q0 / U^5)``: for each of Cm/C0 = 0.1, 0.05, 0.02,
0.01, 0.005, 0.002, ``beta = log10(x / D)`` is a piecewise-linear function of alpha
(:data:`BM_PLUME_CURVES`, the digitisation of the workbook's figure in the EPA *User's Guide to TSCREEN*,
EPA-454/B-94-023, 1994). Between curves log10(Cm/C0) is interpolated linearly in beta. Nearer than the
0.1 curve (outside the correlations) the slope of the first two curves is continued up to the pure gas
(Cm/C0 = 1) and the receptor is flagged (:meth:`BritterMcQuaidPlume.below_range`); beyond the 0.002 curve
the cloud has diluted to a passive plume and the Gaussian plume takes over, scaled to meet the workbook
there. Crosswind the plume is a top hat of half-width ``L_H = D + 8 l_b + 2.5 l_b^(1/3) x^(2/3)`` with
``l_b = g0' q0 / U^3`` (gravity spreading, the workbook's plume dimensions as quoted in CCPS, *Guidelines
for Consequence Analysis of Chemical Releases*, 1999, section 2.3.2). The workbook gives the ground-level
concentration; it is used at every height inside the plume (conservative above a shallow dense layer,
which near the source is centimetres deep by mass balance).

**Limits.** Isothermal (a cold or flashing release, denser than its molar mass says, is not corrected:
give it a warmer gas's density at your peril); flat, unobstructed ground; no upwind spread; a rate is
taken at the time the air now at a receptor left the source (quasi-steady); the workbook's own scatter
is about a factor of two in concentration.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .gas import AIR_MOLAR_MASS, P_ATM, R_GAS, T_20C, Gas
from .plume import GaussianPlume, Weather, WeatherSeries, _points

__all__ = [
    "BM_PLUME_CURVES",
    "CONTINUOUS_CRITERION",
    "INSTANT_CRITERION",
    "BritterMcQuaidPlume",
    "DenseScreen",
    "air_density",
    "screen_release",
]

G = 9.80665
"""Standard gravity, m/s2."""
CONTINUOUS_CRITERION = 0.15
"""Britter-McQuaid criterion for a dense continuous plume, ``(g0' q0 / D)^(1/3) / U`` (workbook, 1988)."""
INSTANT_CRITERION = 0.2
"""Britter-McQuaid criterion for a dense instantaneous cloud, ``sqrt(g0' V0^(1/3)) / U`` (workbook, 1988)."""

# Cm/C0 -> (alpha breakpoints, beta at them): piecewise linear in alpha, constant before the first
# breakpoint; valid for -1 <= alpha <= 1 (EPA-454/B-94-023, digitising Britter & McQuaid 1988, Fig. 6)
BM_PLUME_CURVES: dict[float, tuple[tuple[float, ...], tuple[float, ...]]] = {
    0.100: ((-0.55, -0.14, 1.0), (1.75, 1.85, 1.28)),
    0.050: ((-0.68, -0.29, -0.18, 1.0), (1.92, 2.06, 2.06, 1.40)),
    0.020: ((-0.69, -0.31, -0.16, 1.0), (2.08, 2.25, 2.25, 1.62)),
    0.010: ((-0.70, -0.29, -0.20, 1.0), (2.25, 2.45, 2.45, 1.83)),
    0.005: ((-0.67, -0.28, -0.15, 1.0), (2.40, 2.63, 2.63, 2.07)),
    0.002: ((-0.69, -0.25, -0.13, 1.0), (2.60, 2.77, 2.77, 2.21)),
}
"""The workbook's continuous-plume correlations: for each Cm/C0, beta = log10(x/D) as a function of alpha."""


def air_density(T: float = T_20C, P: float = P_ATM) -> float:
    """Density of dry air (kg/m3) at T (K) and P (Pa), ideal gas (molar mass of the US Standard
    Atmosphere 1976)."""
    return P * AIR_MOLAR_MASS / (R_GAS * T)


@dataclass(frozen=True)
class DenseScreen:
    """The Britter-McQuaid screening of one release: ``value`` of the criterion against ``criterion``
    (``kind`` continuous or instantaneous) and whether the release is ``dense``."""

    kind: str
    value: float
    criterion: float
    relative_density: float

    @property
    def dense(self) -> bool:
        return self.value >= self.criterion

    def describe(self) -> str:
        rel = "dense" if self.dense else "passive"
        return (f"Britter-McQuaid {self.kind} criterion {self.value:.2f} "
                f"{'>=' if self.dense else '<'} {self.criterion:g}: {rel} "
                f"(density {self.relative_density:.2f} x air)")


def screen_release(gas: Gas, wind_speed: float, *, rate: float | None = None, mass: float | None = None,
                   T: float = T_20C) -> DenseScreen:
    """Screen a continuous release of ``rate`` kg/s or an instantaneous one of ``mass`` kg of ``gas`` (at
    temperature T, K, and ambient pressure) in a wind of ``wind_speed`` m/s. A gas lighter than air gets
    a negative reduced gravity, hence a criterion of 0 (buoyant, never dense)."""
    if (rate is None) == (mass is None):
        raise InputError("screen a release by its rate (kg/s) or its mass (kg), one of them")
    if not wind_speed > 0:
        raise InputError(f"wind speed must be positive, got {wind_speed} m/s")
    rho0, rho_a = gas.density(T), air_density()
    g0 = G * (rho0 - rho_a) / rho_a
    rel = rho0 / rho_a
    if rate is not None:
        q0 = max(float(rate), 0.0) / rho0
        if g0 <= 0 or q0 <= 0:
            return DenseScreen("continuous", 0.0, CONTINUOUS_CRITERION, rel)
        d = math.sqrt(q0 / wind_speed)
        return DenseScreen("continuous", (g0 * q0 / d) ** (1 / 3) / wind_speed, CONTINUOUS_CRITERION, rel)
    v0 = max(float(mass), 0.0) / rho0
    if g0 <= 0 or v0 <= 0:
        return DenseScreen("instantaneous", 0.0, INSTANT_CRITERION, rel)
    return DenseScreen("instantaneous", math.sqrt(g0 * v0 ** (1 / 3)) / wind_speed, INSTANT_CRITERION, rel)


def _curve_betas(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log10 Cm/C0 per curve, beta per curve and alpha): shapes (6,), (6, N)."""
    a = np.clip(alpha, -1.0, 1.0)
    logc, betas = [], []
    for c, (ab, bb) in sorted(BM_PLUME_CURVES.items(), reverse=True):
        logc.append(math.log10(c))
        betas.append(np.interp(a, ab, bb))  # constant before the first breakpoint
    return np.array(logc), np.array(betas)


def workbook_ratio(x_over_d: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cm/C0 at ``x / D`` for ``alpha`` (arrays of one shape): (ratio, nearer than the 0.1 curve,
    beyond the 0.002 curve). Interpolated in log10(Cm/C0) linearly in beta; nearer than the first curve
    the first segment's slope is continued (capped at 1); beyond the last, the last curve's value (the
    caller hands over to a passive model there)."""
    beta = np.log10(np.maximum(x_over_d, 1e-12))
    logc, betas = _curve_betas(alpha)  # betas (6, N), ascending in beta down the curves
    n = beta.shape[0]
    out = np.empty(n)
    for i in range(n):
        b = betas[:, i]
        out[i] = np.interp(beta[i], b, logc)
    near = beta < betas[0]
    if near.any():
        slope = (logc[1] - logc[0]) / np.maximum(betas[1] - betas[0], 1e-6)  # negative
        out = np.where(near, np.minimum(logc[0] + slope * (beta - betas[0]), 0.0), out)
    far = beta > betas[-1]
    return 10.0 ** out, near, far


class BritterMcQuaidPlume:
    """A dense continuous ground-level release after the Britter-McQuaid workbook (module notes), with
    the same ``concentration(points, t)`` interface as :class:`~twin.plume.PuffTrain`.

    ``rate`` kg/s (a constant, ``(times, rates)`` after ``start`` linear between points, or a callable of
    absolute time), ``gas`` its gas, ``weather`` a :class:`Weather` (a series uses its first weather:
    the workbook has no wind shifts), ``start``/``stop`` the release window (s; ``stop`` may be lowered
    later, as for an isolation)."""

    def __init__(self, source: Sequence[float], weather: Weather | WeatherSeries, gas: Gas, *,
                 rate: float | tuple[Sequence[float], Sequence[float]] | Callable[[float], float],
                 start: float = 0.0, stop: float | None = None, height: float = 0.0):
        self.source = (float(source[0]), float(source[1]))
        self.weather = weather.weathers[0] if isinstance(weather, WeatherSeries) else weather
        self.gas = gas
        self.rate = rate
        self.start = float(start)
        self.stop = math.inf if stop is None else float(stop)
        self.height = float(height)
        self.rho0 = gas.density()
        self.rho_a = air_density()
        self.g0 = G * (self.rho0 - self.rho_a) / self.rho_a
        if self.g0 <= 0:
            raise InputError(f"{gas.key} is lighter than air: the dense-gas model does not apply")
        self.max_concentration = self.rho0

    def _rate_at(self, t_emit: np.ndarray) -> np.ndarray:
        r = self.rate
        live = (t_emit >= self.start) & (t_emit < self.stop)
        if callable(r):
            v = np.array([max(float(r(float(x))), 0.0) for x in t_emit])
        elif isinstance(r, tuple):
            tt = np.asarray(r[0], dtype=float) + self.start
            v = np.interp(t_emit, tt, np.asarray(r[1], dtype=float), left=0.0, right=float(r[1][-1]))
        else:
            v = np.full(t_emit.shape, float(r))
        return np.where(live, v, 0.0)

    def _downwind(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = self.weather.direction
        rel = p[:, :2] - np.asarray(self.source)
        return rel @ d, rel @ np.array([-d[1], d[0]])

    def below_range(self, points: np.ndarray | Sequence[Sequence[float]], rate: float) -> np.ndarray:
        """Points downwind nearer than the workbook's Cm/C0 = 0.1 curve for a release of ``rate`` kg/s."""
        p = _points(points)
        x, _ = self._downwind(p)
        u = self.weather.wind_speed
        q0 = rate / self.rho0
        alpha = np.full(len(p), 0.2 * math.log10(self.g0**2 * q0 / u**5))
        _, near, _ = workbook_ratio(np.maximum(x, 1e-9) / math.sqrt(q0 / u), alpha)
        return (x > 0) & near

    def concentration(self, points: np.ndarray | Sequence[Sequence[float]], t: float) -> np.ndarray:
        """Concentration (kg/m3) at ``points`` ((N, 3) m) at ``t`` (s): the workbook centre-line value
        inside the top-hat plume, the matched Gaussian plume beyond the correlations, 0 upwind or outside."""
        p = _points(points)
        w = self.weather
        u = w.wind_speed
        x, y = self._downwind(p)
        out = np.zeros(len(p))
        down = x > 0
        if not down.any():
            return out
        xs, ys = x[down], y[down]
        m = self._rate_at(t - xs / u)
        ok = m > 0
        if not ok.any():
            return out
        xs, ys, m = xs[ok], ys[ok], m[ok]
        q0 = m / self.rho0
        dlen = np.sqrt(q0 / u)
        alpha = 0.2 * np.log10(self.g0**2 * q0 / u**5)
        ratio, _, far = workbook_ratio(xs / dlen, alpha)
        cm = self.rho0 * ratio
        lb = self.g0 * q0 / u**3
        half = dlen + 8.0 * lb + 2.5 * lb ** (1 / 3) * xs ** (2 / 3)
        c = np.where(np.abs(ys) <= half, cm, 0.0)
        if far.any():
            # beyond the last curve: the passive plume, scaled to meet the workbook at that distance
            k = np.flatnonzero(far)
            _, betas = _curve_betas(alpha[k])
            x_end = 10.0 ** betas[-1] * dlen[k]
            pts_end = np.column_stack([x_end, np.zeros(len(k)), np.zeros(len(k))])
            here = np.column_stack([xs[k], ys[k], np.zeros(len(k))])
            for j, i in enumerate(k):
                gp = GaussianPlume((0.0, 0.0), float(m[i]), Weather(u, 270.0, w.stability, w.terrain), self.height)
                g_end = float(gp.concentration(pts_end[j:j + 1])[0])
                g_here = float(gp.concentration(here[j:j + 1])[0])
                c[i] = 0.002 * self.rho0 * (g_here / g_end if g_end > 0 else 0.0)
        idx = np.flatnonzero(down)[ok]
        out[idx] = np.minimum(c, self.rho0)
        return out
