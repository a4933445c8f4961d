"""Leak ensembles for the alert lab: release families, hole-size classes, locations, weather, and the true
concentration at every detector, made by convolution with the dispersion's step responses.

Families (``family``) and their release profiles q(t) (kg/s, t from the labelled start):

``rupture``
    a constant rate from the start, drawn from the ``large`` or ``rupture`` class.
``micro``
    a steady micro-leak below the set points: constant, sized so that the true concentration at every
    detector of the gas stays below ``fraction`` (drawn uniformly in ``micro_fraction``, default 0.2 to
    0.8) of that detector's first set point over the episode (the most exposed one reaches exactly that
    fraction at the end). Only a change detector can see it early; a set point never does. A source no
    detector of the gas can see within the horizon is sized so that its own zone reaches the fraction of
    the lowest set point.
``crack``
    a growing crack: the rate grows linearly from 0 to a rate of the ``small``, ``medium`` or ``large``
    class over a growth time drawn in ``crack_growth`` (default 10 min to 2 h), then holds.
``weeping``
    intermittent weeping: a rate of the ``small`` or ``medium`` class switched on and off with a period
    drawn in ``weep_period`` (default 2 to 10 min) and a duty cycle in ``weep_duty`` (default 0.2 to 0.5).

Hole-size classes are release-rate ranges in kg/s, drawn log-uniformly. Defaults: ``small`` 1e-4 to 1e-3,
``medium`` 1e-3 to 1e-2, ``large`` 1e-2 to 0.1, ``rupture`` 0.1 to 1. The 0.1 kg/s boundary is the UK HSE
offshore hydrocarbon-release classification's upper limit of a *minor* release (HSE, Offshore
hydrocarbon releases statistics, OTO 2001/055, severity classes); the finer split below it is our
modelling choice. Set ``hole_classes`` in the lab file for a plant's own classes.

Locations are drawn uniformly over the site's indoor equipment items. Weather is drawn from the lab
file's ``wind_rose`` (sectors with their probability) and labelled on each episode; in the multizone
model indoor releases do not depend on the wind (no wind pressure on the building), so the weather only
labels indoor episodes; outdoor equipment is left out of the lab (named in the run's notes).

Trace synthesis: with ``S[z, s, k]`` the concentration in zone ``z`` ``k`` steps after a constant 1 kg/s
release started in zone ``s`` (:class:`drills.lab.site.LabSite`), a profile piecewise constant per step
gives ``c[z, k] = sum_j (q[j] - q[j - 1]) S[z, s, k - j]`` (superposition of steps), computed with an FFT
convolution. Concentrations are converted to each detector's unit (ppm, or %LEL for a flammable gas).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["DEFAULT_CLASSES", "FAMILIES", "Episode", "profile", "sample_episodes", "true_traces"]

FAMILIES = ("rupture", "micro", "crack", "weeping")
DEFAULT_CLASSES: dict[str, tuple[float, float]] = {
    "small": (1e-4, 1e-3), "medium": (1e-3, 1e-2), "large": (1e-2, 0.1), "rupture": (0.1, 1.0)}
FAMILY_CLASSES = {"rupture": ("large", "rupture"), "crack": ("small", "medium", "large"),
                  "weeping": ("small", "medium"), "micro": ("micro",)}


@dataclass(frozen=True)
class Episode:
    """One labelled leak: ``start`` s from the episode's beginning (after ``pre_leak`` of normal operation),
    ``rate`` kg/s (the peak), ``growth`` s (crack), ``period``/``duty`` (weeping), ``fraction`` (micro),
    ``wind_from`` deg, ``wind_speed`` m/s, ``stability``."""

    id: int
    family: str
    hole_class: str
    source: str
    space: str
    zone_col: int
    start: float
    rate: float
    growth: float = 0.0
    period: float = 0.0
    duty: float = 1.0
    fraction: float = 0.0
    wind_from: float = float("nan")
    wind_speed: float = float("nan")
    stability: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def profile(ep: Episode, n_steps: int, dt: float) -> np.ndarray:
    """The release rate (kg/s) over each step ``(k dt, (k + 1) dt]``, k = 0..n_steps-1."""
    t = (np.arange(n_steps) + 0.5) * dt - ep.start  # mid-step time since the start
    q = np.zeros(n_steps)
    on = t >= 0
    if ep.family == "crack":
        q[on] = ep.rate * np.minimum(t[on] / max(ep.growth, dt), 1.0)
    elif ep.family == "weeping":
        q[on] = np.where((t[on] % ep.period) < ep.duty * ep.period, ep.rate, 0.0)
    else:
        q[on] = ep.rate
    return q


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def sample_episodes(spec: Any, site: Any, n: int, rng: np.random.Generator, first_id: int = 0) -> list[Episode]:
    """``n`` episodes drawn from the lab file ``spec`` (:class:`drills.lab.labfile.LabSpec`) over ``site``."""
    fams = list(spec.families)
    p = np.array([spec.families[f] for f in fams], dtype=float)
    p = p / p.sum()
    rose = spec.wind_rose
    wp = np.array([w.p for w in rose], dtype=float)
    wp = wp / wp.sum() if len(rose) else wp
    classes = spec.hole_classes
    n_steps = int(np.ceil((spec.pre_leak + spec.horizon) / site.dt - 1e-9))
    out = []
    for i in range(n):
        fam = fams[int(rng.choice(len(fams), p=p))]
        src = site.sources[int(rng.integers(len(site.sources)))]
        w = rose[int(rng.choice(len(rose), p=wp))] if len(rose) else None
        kw: dict[str, Any] = {}
        if fam == "micro":
            frac = float(rng.uniform(*spec.micro_fraction))
            rate = frac * _micro_unit_rate(site, src.zone_col, n_steps - int(round(spec.pre_leak / site.dt)))
            cls = "micro"
            kw["fraction"] = frac
        else:
            cls = FAMILY_CLASSES[fam][int(rng.integers(len(FAMILY_CLASSES[fam])))]
            rate = _loguniform(rng, *classes[cls])
            if fam == "crack":
                kw["growth"] = float(rng.uniform(*spec.crack_growth))
            elif fam == "weeping":
                kw["period"] = float(rng.uniform(*spec.weep_period))
                kw["duty"] = float(rng.uniform(*spec.weep_duty))
        if w is not None:
            kw.update(wind_from=w.wind_from, wind_speed=w.speed, stability=w.stability)
        out.append(Episode(first_id + i, fam, cls, src.name, src.space, src.zone_col, spec.pre_leak, rate, **kw))
    return out


def _micro_unit_rate(site: Any, col: int, n_steps: int) -> float:
    """The rate (kg/s) that brings the most exposed detector exactly to its first set point at the end of
    the ``n_steps`` after the start (the step response only grows, so it is below before). When no
    detector of the gas is reached, the release zone itself is held to the lowest set point."""
    sp = np.array([s.setpoints[0] if s.setpoints else np.inf for s in site.specs])
    ok = (site.det_zone >= 0) & (site.to_unit > 0) & np.isfinite(sp)
    if not ok.any():
        return 0.0
    peak = site.step[site.det_zone[ok], col, : n_steps + 1].max(axis=1) * site.to_unit[ok]  # unit per kg/s
    ratio = peak / sp[ok]
    if ratio.max() > 0:
        return float(1.0 / ratio.max())
    k = int(np.argmin(sp[ok]))
    own = float(site.step[col, col, : n_steps + 1].max()) * site.to_unit[ok][k]
    return float(sp[ok][k] / own) if own > 0 else 0.0


def true_traces(episodes: list[Episode], site: Any, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """True concentrations ``(n_steps, episodes, detectors)`` in each detector's unit at ``t = (k + 1) dt``,
    and ``(n_steps, episodes)`` in the release zone (ppm, what people there would smell)."""
    from scipy.signal import fftconvolve

    from twin.gas import kgm3_to_ppm

    S = site.step
    dz = site.det_zone
    inside = dz >= 0
    n_det = len(site.specs)
    out = np.zeros((n_steps, len(episodes), n_det), dtype=np.float32)
    src_ppm = np.zeros((n_steps, len(episodes)), dtype=np.float32)
    per_ppm = float(kgm3_to_ppm(1.0, site.gas))
    for e, ep in enumerate(episodes):
        q = profile(ep, n_steps, site.dt)
        dq = np.diff(q, prepend=0.0)
        nz = np.flatnonzero(dq)
        resp = S[:, ep.zone_col, 1 : n_steps + 1]  # response at t = (k + 1) dt of a step starting at 0
        zone_idx = np.concatenate([dz[inside], [ep.zone_col]]) if inside.any() else np.array([ep.zone_col])
        block = resp[zone_idx]
        if nz.size <= 4:  # a few steps of the rate: sum shifted step responses exactly
            c = np.zeros((len(zone_idx), n_steps))
            for j in nz:
                c[:, j:] += dq[j] * block[:, : n_steps - j]
        else:
            c = fftconvolve(block, dq[None, :], axes=1)[:, :n_steps]
            np.maximum(c, 0.0, out=c)
            c[:, : nz[0]] = 0.0  # exactly clean before the release (the FFT leaves round-off there)
        vals = np.zeros((n_det, n_steps))
        vals[inside] = c[: inside.sum()] * site.to_unit[inside, None]
        out[:, e, :] = vals.T
        src_ppm[:, e] = c[-1] * per_ppm
    return out, src_ppm
