"""Incapacitation (the time people can still escape), separate from lethality (the probits of
:mod:`twin.gas`).

**Fractional effective dose** (ISO 13571:2012, *Life-threatening components of fire — Guidelines for the
estimation of time to compromised tenability in fires*, after Purser). Exposure is summed step by step;
a person is incapacitated (can no longer escape unaided) when the sum reaches 1, the median person; ISO
13571 notes that 0.3 covers most susceptible people (:data:`FED_SUSCEPTIBLE`). Rates per minute, C in
ppm (uL/L):

* carbon monoxide: ``C_CO / 35,000`` (:data:`CO_CT_INCAP`, ppm min);
* hydrogen cyanide: ``exp(C_HCN / 43) / 220``;
* oxygen depletion (hypoxia, Purser, *SFPE Handbook of Fire Protection Engineering*, "Assessment of
  hazards to occupants from smoke, toxic gases and heat"): ``1 / exp(8.13 - 0.54 (20.9 - %O2))``, counted
  below :data:`O2_HYPOXIA_ONSET` % (above it the term is below 1/1,600 per minute and no effect is known).

**Irritants** (fractional effective concentration, ISO 13571:2012): ``FEC = sum C_i / IC_i`` with the
incapacitating concentrations of :data:`ISO13571_IRRITANTS`; incapacitation when FEC reaches 1 (no time
integral: sensory irritation acts at once).

**Hydrogen sulfide knockdown.** H2S at high concentration paralyses breathing within breaths, far sooner
than any dose model: OSHA's hydrogen sulfide hazards page gives "500-700 ppm: staggering, collapse in 5
minutes" and "700-1000 ppm: rapid unconsciousness, 'knockdown' or immediate collapse within 1 to 2
breaths"; ATSDR's Medical Management Guidelines for hydrogen sulfide describe the same "knockdown" above
about 500 ppm. Modelled as a dose with rate ``1 / t_collapse(C)`` (:data:`H2S_KNOCKDOWN`): 10 s (two
breaths at the 12 per minute of a resting adult) from 700 ppm, 5 min from 500 ppm, none below.

Ammonia and chlorine have no incapacitating concentration in ISO 13571; for them (and for anything
else) the drills keep the lethality probit as the collapse criterion and say so in the caveats.
"""

from __future__ import annotations

import numpy as np

from .dispersion import O2_IN_AIR

__all__ = [
    "CO_CT_INCAP",
    "FED_SUSCEPTIBLE",
    "H2S_KNOCKDOWN",
    "ISO13571_IRRITANTS",
    "O2_HYPOXIA_ONSET",
    "fec_irritants",
    "fed_rate",
    "fed_rate_co",
    "fed_rate_displacing",
    "fed_rate_h2s_knockdown",
    "fed_rate_hcn",
    "fed_rate_hypoxia",
    "fed_onset_ppm",
    "incapacitation_sources",
]

CO_CT_INCAP = 35_000.0
"""ppm min of CO that incapacitates the median person (ISO 13571:2012)."""
FED_SUSCEPTIBLE = 0.3
"""FED at which susceptible people are incapacitated (ISO 13571:2012 uses 0.3 for them)."""
O2_HYPOXIA_ONSET = 19.5
"""% oxygen below which the hypoxia term counts: the OSHA definition of oxygen-deficient air
(29 CFR 1910.134(b))."""
H2S_KNOCKDOWN = ((700.0, 10.0 / 60.0), (500.0, 5.0))
"""(ppm, minutes to collapse) for H2S from the highest band down (OSHA hydrogen sulfide hazards page;
ATSDR Medical Management Guidelines for hydrogen sulfide). Below the last band: no knockdown."""
ISO13571_IRRITANTS = {"HCl": 1000.0, "HBr": 1000.0, "HF": 500.0, "SO2": 150.0, "NO2": 250.0,
                      "acrolein": 30.0, "formaldehyde": 250.0}
"""Incapacitating concentrations (ppm) of the irritants in ISO 13571:2012."""


def fed_rate_co(ppm: np.ndarray | float) -> np.ndarray:
    """FED per minute from CO at ``ppm`` (ISO 13571)."""
    return np.asarray(ppm, dtype=float) / CO_CT_INCAP


def fed_rate_hcn(ppm: np.ndarray | float) -> np.ndarray:
    """FED per minute from HCN at ``ppm`` (ISO 13571): ``exp(C/43) / 220``, 0 where there is none."""
    c = np.asarray(ppm, dtype=float)
    return np.where(c > 0, np.exp(c / 43.0) / 220.0, 0.0)


def fed_rate_hypoxia(o2_pct: np.ndarray | float) -> np.ndarray:
    """FED per minute from low oxygen (Purser): ``1 / exp(8.13 - 0.54 (20.9 - O2))`` below
    :data:`O2_HYPOXIA_ONSET` %, else 0."""
    o2 = np.asarray(o2_pct, dtype=float)
    if o2.size and float(o2.min()) >= O2_HYPOXIA_ONSET:
        return np.zeros(o2.shape)  # the usual case: skip the exponential
    return np.where(o2 < O2_HYPOXIA_ONSET, np.exp(-(8.13 - 0.54 * (20.9 - o2))), 0.0)


def fed_rate_h2s_knockdown(ppm: np.ndarray | float) -> np.ndarray:
    """Knockdown dose per minute from H2S at ``ppm``: ``1 / t_collapse`` of :data:`H2S_KNOCKDOWN`."""
    c = np.asarray(ppm, dtype=float)
    out = np.zeros(c.shape)
    prev = 0.0
    for level, minutes in reversed(H2S_KNOCKDOWN):  # low band first: each band adds its step up
        out += (c >= level) * (1.0 / minutes - prev)
        prev = 1.0 / minutes
    return out


def fec_irritants(ppm: dict[str, float]) -> float:
    """ISO 13571 FEC of a mixture of the irritants of :data:`ISO13571_IRRITANTS` (ppm each)."""
    unknown = set(ppm) - set(ISO13571_IRRITANTS)
    if unknown:
        raise KeyError(f"no ISO 13571 incapacitating concentration for {', '.join(sorted(unknown))}")
    return float(sum(c / ISO13571_IRRITANTS[k] for k, c in ppm.items()))


def incapacitation_sources(gas_key: str) -> tuple[str, ...]:
    """Which incapacitation terms apply to a released gas (its own toxicity; hypoxia applies to every
    gas through the oxygen it displaces): ``co``, ``hcn``, ``h2s``, or none (the probit then)."""
    return {"CO": ("co",), "HCN": ("hcn",), "H2S": ("h2s",)}.get(gas_key, ())


def fed_rate(gas_key: str, ppm: np.ndarray, o2_pct: np.ndarray | None = None) -> np.ndarray:
    """Incapacitation dose per minute of ``ppm`` of ``gas_key`` plus the hypoxia term of ``o2_pct`` (%
    oxygen, same shape; None: not counted)."""
    rate = None
    for s in incapacitation_sources(gas_key):
        r = {"co": fed_rate_co, "hcn": fed_rate_hcn, "h2s": fed_rate_h2s_knockdown}[s](ppm)
        rate = r if rate is None else rate + r
    if o2_pct is not None and float(np.min(o2_pct, initial=np.inf)) < O2_HYPOXIA_ONSET:
        r = fed_rate_hypoxia(o2_pct)
        rate = r if rate is None else rate + r
    return np.zeros(np.shape(ppm)) if rate is None else rate


def fed_onset_ppm(gas_key: str) -> float:
    """The lowest concentration (ppm) of ``gas_key`` at which :func:`fed_rate` is not 0 (with the hypoxia
    term of the oxygen it displaces): below it nothing accumulates, so callers can skip the arithmetic."""
    own = incapacitation_sources(gas_key)
    if "co" in own or "hcn" in own:
        return 0.0
    if "h2s" in own:
        return min(H2S_KNOCKDOWN[-1][0], _HYPOXIA_PPM)
    return _HYPOXIA_PPM


_HYPOXIA_PPM = (1.0 - O2_HYPOXIA_ONSET / (100.0 * O2_IN_AIR)) * 1e6
"""ppm of a released gas that leaves :data:`O2_HYPOXIA_ONSET` % oxygen in the air (O2 = 20.95 % (1 - x))."""


def fed_rate_displacing(gas_key: str, ppm: np.ndarray) -> np.ndarray:
    """:func:`fed_rate` of ``ppm`` of ``gas_key`` with the hypoxia of the oxygen that gas displaces,
    ``O2 = 20.95 % (1 - x)`` (x = ppm / 1e6; dry air, U.S. Standard Atmosphere 1976)."""
    c = np.asarray(ppm, dtype=float)
    o2 = None
    if c.size and float(c.max()) >= _HYPOXIA_PPM:
        o2 = 100.0 * O2_IN_AIR * (1.0 - np.minimum(c * 1e-6, 1.0))
    return fed_rate(gas_key, c, o2)
