"""Release rates from the hole, the pressure, the temperature and the phase (source terms).

All pressures are absolute (Pa), temperatures in K, hole diameters in m, rates in kg/s. The equations are
the standard ones of the process-safety literature (CCPS, *Guidelines for Consequence Analysis of
Chemical Releases*, 1999, ch. 2; TNO *Yellow Book* CPR 14E, 3rd ed. 2005, ch. 2; Crowl & Louvar,
*Chemical Process Safety*, ch. 4):

**Gas through a hole** (isentropic nozzle flow of an ideal gas from stagnation p0, T0 to ambient pa, heat
capacity ratio gamma). The flow is choked (sonic in the hole) when ``p0 / pa >= ((gamma + 1) / 2)^(gamma
/ (gamma - 1))`` (1.89 for air), and then::

    m = Cd A p0 sqrt(gamma M / (R T0) (2 / (gamma + 1))^((gamma + 1) / (gamma - 1)))

independent of pa; otherwise (subsonic)::

    m = Cd A p0 sqrt(2 M / (R T0) gamma / (gamma - 1) [(pa/p0)^(2/gamma) - (pa/p0)^((gamma+1)/gamma)])

**Liquid** (Bernoulli through a sharp-edged hole, liquid head h above it)::

    m = Cd A sqrt(2 rho_l (p0 - pa) + 2 rho_l^2 g h)

**Flashing liquid** (a liquefied gas stored at its saturation pressure, e.g. ammonia or chlorine). Through
a hole in a thin wall or a short nozzle (length below 0.1 m) the liquid has no time to flash before the
exit and flows as liquid under the full pressure difference (non-equilibrium, Fauske 1985); through a
pipe of 0.1 m or more the two phases reach equilibrium and the flux is the equilibrium rate model
(Fauske & Epstein, J. Loss Prev. Process Ind. 1 (1988) 75)::

    G = h_fg / (v_fg sqrt(T cp_l))      (kg/(m2 s)),  m = A G

The fraction that flashes to vapour at the exit is ``f = cp_l (T - T_b) / h_fg`` (adiabatic flash); the
rest leaves as a liquid jet and aerosol (which is why flashing releases are cold and dense).

**Hole-size classes** for leak ensembles: API RP 581 (*Risk-Based Inspection Methodology*, 3rd ed. 2016)
release hole sizes 1/4 in, 1 in, 4 in and 16 in (rupture, at most the pipe's bore), :data:`HOLE_CLASSES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .errors import InputError
from .gas import P_ATM, R_GAS, T_20C, Gas, get_gas

__all__ = [
    "CD_GAS",
    "CD_LIQUID",
    "HEAT_CAPACITY_RATIO",
    "HOLE_CLASSES",
    "Release",
    "SATURATION_20C",
    "Saturation",
    "choked_ratio",
    "flashing_release",
    "gas_mass_flux",
    "gas_release",
    "hole_diameter",
    "leak_ensemble",
    "liquid_release",
    "max_credible_rate",
    "release_rate",
]

G = 9.80665
CD_LIQUID = 0.61
"""Discharge coefficient of a sharp-edged hole for liquids (CCPS 1999; Crowl & Louvar, who give 0.61 for
sharp-edged orifices at high Reynolds numbers)."""
CD_GAS = 0.62
"""Discharge coefficient of a sharp-edged hole for gases (TNO Yellow Book CPR 14E: 0.62 for sharp-edged
holes; 1.0 is the conservative upper bound)."""
HOLE_CLASSES = {"small": 0.25 * 0.0254, "medium": 1.0 * 0.0254, "large": 4.0 * 0.0254, "rupture": 16.0 * 0.0254}
"""Release hole diameters (m) of API RP 581 (3rd ed., 2016): 1/4, 1, 4 and 16 in (rupture)."""

# ideal-gas heat capacity ratio Cp / (Cp - R), Cp at 298.15 K (NIST-JANAF Thermochemical Tables, 4th ed.,
# Chase 1998, as given in the NIST Chemistry WebBook): CH4 35.69, NH3 35.06, H2S 34.23, Cl2 33.95,
# C3H8 73.6, CO 29.14 J/(mol K)
_CP_298 = {"CH4": 35.69, "NH3": 35.06, "H2S": 34.23, "Cl2": 33.95, "C3H8": 73.6, "CO": 29.14}
HEAT_CAPACITY_RATIO = {k: cp / (cp - R_GAS) for k, cp in _CP_298.items()}
"""gamma of the registry's gases from their ideal-gas Cp at 298.15 K (NIST-JANAF)."""


@dataclass(frozen=True)
class Saturation:
    """Saturated liquid and vapour of a liquefied gas at temperature ``T`` (K): pressure (Pa), liquid and
    vapour density (kg/m3), heat of vaporisation (J/kg), liquid heat capacity (J/(kg K)), normal boiling
    point (K)."""

    T: float
    p_sat: float
    rho_l: float
    rho_v: float
    h_fg: float
    cp_l: float
    T_b: float


SATURATION_20C = {
    "NH3": Saturation(T_20C, 8.574e5, 610.2, 6.70, 1.1861e6, 4745.0, 239.8),
    "Cl2": Saturation(T_20C, 6.78e5, 1409.0, 21.0, 2.53e5, 950.0, 239.1),
    "C3H8": Saturation(T_20C, 8.36e5, 500.1, 18.1, 3.44e5, 2700.0, 231.1),
}
"""Saturation properties at 20 °C of the liquefied gases (NIST Chemistry WebBook, SRD 69, fluid
properties after Lemmon, McLinden & Friend); cross-checked in the tests against the corresponding-states
correlations of the ``chemicals`` package (Ambrose-Walton, Pitzer, COSTALD) to 6 %."""

Phase = Literal["gas", "liquid", "flashing"]


@dataclass(frozen=True)
class Release:
    """A release rate (kg/s) and how it was obtained: ``regime`` (``choked``, ``subsonic``, ``liquid``,
    ``flashing (non-equilibrium)``, ``flashing (equilibrium)``), the flash fraction (flashing only) and a
    sentence with the equation and its source for the run's caveats."""

    rate: float
    regime: str
    flash_fraction: float | None
    note: str


def hole_diameter(hole: float | str) -> float:
    """A hole diameter (m) or the name of an API RP 581 class (:data:`HOLE_CLASSES`)."""
    if isinstance(hole, str):
        try:
            return HOLE_CLASSES[hole.strip().lower()]
        except KeyError:
            raise InputError(f"unknown hole class {hole!r}; classes: {', '.join(HOLE_CLASSES)} "
                             "(API RP 581) or a diameter such as '25 mm'") from None
    d = float(hole)
    if not d > 0:
        raise InputError(f"hole diameter must be positive, got {hole} m")
    return d


def choked_ratio(gamma: float) -> float:
    """The stagnation-to-ambient pressure ratio above which gas flow through a hole is choked."""
    return ((gamma + 1.0) / 2.0) ** (gamma / (gamma - 1.0))


def _gamma(gas: Gas) -> float:
    try:
        return HEAT_CAPACITY_RATIO[gas.key]
    except KeyError:
        raise InputError(f"no heat capacity ratio for {gas.key}") from None


def gas_mass_flux(p0: float, T0: float, molar_mass: float, gamma: float, pa: float = P_ATM) -> tuple[float, bool]:
    """Ideal mass flux (kg/(m2 s), Cd = 1) of an ideal gas of ``molar_mass`` (kg/mol) and ``gamma``
    through a hole from stagnation ``p0`` (Pa abs), ``T0`` (K) to ``pa``, and whether it is choked."""
    k = gamma
    if p0 / pa >= choked_ratio(k):
        return p0 * math.sqrt(k * molar_mass / (R_GAS * T0) * (2.0 / (k + 1.0)) ** ((k + 1.0) / (k - 1.0))), True
    r = pa / p0
    return p0 * math.sqrt(2.0 * molar_mass / (R_GAS * T0) * k / (k - 1.0)
                          * (r ** (2.0 / k) - r ** ((k + 1.0) / k))), False


def gas_release(gas: str | Gas, hole: float | str, p0: float, T0: float = T_20C, *, pa: float = P_ATM,
                cd: float = CD_GAS) -> Release:
    """Gas through a hole of diameter ``hole`` (m or class) from ``p0`` (Pa abs) and ``T0`` (K)."""
    g = get_gas(gas)
    d = hole_diameter(hole)
    if p0 <= pa:
        raise InputError(f"the pressure inside ({p0 / 1e5:.3g} bar abs) must exceed the ambient "
                         f"({pa / 1e5:.3g} bar): nothing flows out")
    k = _gamma(g)
    area = math.pi * d * d / 4.0
    flux, choked = gas_mass_flux(p0, T0, g.molar_mass, k, pa)
    rate = cd * area * flux
    regime = "choked" if choked else "subsonic"
    note = (f"{g.key} gas, {regime} flow through a {d * 1e3:.3g} mm hole at {p0 / 1e5:.4g} bar abs, "
            f"{T0:.4g} K: {rate:.4g} kg/s (isentropic orifice flow, Cd {cd:g}, gamma {k:.3f}; CCPS Guidelines "
            "for Consequence Analysis 1999 ch. 2, TNO Yellow Book CPR 14E ch. 2)")
    return Release(rate, regime, None, note)


def liquid_release(rho_l: float, hole: float | str, p0: float, *, pa: float = P_ATM, head: float = 0.0,
                   cd: float = CD_LIQUID, label: str = "liquid") -> Release:
    """Liquid of density ``rho_l`` (kg/m3) through a hole, ``p0`` (Pa abs) over it and ``head`` (m) of
    liquid above it (Bernoulli)."""
    d = hole_diameter(hole)
    dp = 2.0 * rho_l * (p0 - pa) + 2.0 * rho_l**2 * G * head
    if dp <= 0:
        raise InputError("no driving pressure: the pressure and liquid head over the hole do not exceed ambient")
    area = math.pi * d * d / 4.0
    rate = cd * area * math.sqrt(dp)
    note = (f"{label}, Bernoulli flow through a {d * 1e3:.3g} mm hole at {p0 / 1e5:.4g} bar abs"
            f"{f' under {head:g} m of liquid' if head else ''}: {rate:.4g} kg/s (Cd {cd:g}; CCPS 1999 ch. 2)")
    return Release(rate, "liquid", None, note)


def flashing_release(gas: str | Gas, hole: float | str, p0: float | None = None, *, pipe_length: float = 0.0,
                     pa: float = P_ATM, cd: float = CD_LIQUID) -> Release:
    """A liquefied gas stored at 20 °C (:data:`SATURATION_20C`; ``p0`` defaults to its saturation
    pressure, a higher one means a padded, subcooled store) released through a hole at the end of
    ``pipe_length`` m of pipe (module notes: non-equilibrium below 0.1 m, equilibrium rate model above)."""
    g = get_gas(gas)
    sat = SATURATION_20C.get(g.key)
    if sat is None:
        raise InputError(f"{g.key} is not stored as a liquefied gas here; liquefied gases: {', '.join(SATURATION_20C)}")
    p0 = sat.p_sat if p0 is None else float(p0)
    if p0 < sat.p_sat * (1 - 1e-6):
        raise InputError(f"{g.key} at 20 °C needs at least its saturation pressure {sat.p_sat / 1e5:.3g} bar abs "
                         f"to stay liquid, got {p0 / 1e5:.3g} bar")
    d = hole_diameter(hole)
    area = math.pi * d * d / 4.0
    flash = min(sat.cp_l * (sat.T - sat.T_b) / sat.h_fg, 1.0)
    if pipe_length < 0.1:
        rate = cd * area * math.sqrt(2.0 * sat.rho_l * (p0 - pa))
        regime, how = "flashing (non-equilibrium)", f"liquid flow (no time to flash in a hole, Fauske 1985; Cd {cd:g})"
    else:
        v_fg = 1.0 / sat.rho_v - 1.0 / sat.rho_l
        flux = sat.h_fg / (v_fg * math.sqrt(sat.T * sat.cp_l))
        rate = area * flux
        regime, how = "flashing (equilibrium)", "equilibrium rate model (Fauske & Epstein 1988)"
    note = (f"{g.key} liquefied at 20 °C, {p0 / 1e5:.4g} bar abs, through a {d * 1e3:.3g} mm hole"
            f"{f' after {pipe_length:g} m of pipe' if pipe_length else ''}: {rate:.4g} kg/s by {how}; "
            f"{100 * flash:.0f} % flashes to vapour at the exit (adiabatic flash), the rest leaves as a cold "
            "liquid jet and aerosol; saturation data NIST Chemistry WebBook")
    return Release(rate, regime, flash, note)


def release_rate(gas: str | Gas, *, hole: float | str, pressure: float | None = None, temperature: float = T_20C,
                 phase: Phase = "gas", pipe_length: float = 0.0, head: float = 0.0, cd: float | None = None,
                 liquid_density: float | None = None) -> Release:
    """The rate of one release described by its hole, pressure (Pa abs), temperature (K) and ``phase``
    (``gas``, ``liquid``: a liquid of ``liquid_density`` or the liquefied gas's, ``flashing``)."""
    g = get_gas(gas)
    if phase == "gas":
        if pressure is None:
            raise InputError("a gas release needs the pressure inside (absolute)")
        return gas_release(g, hole, pressure, temperature, cd=CD_GAS if cd is None else cd)
    if phase == "flashing":
        return flashing_release(g, hole, pressure, pipe_length=pipe_length, cd=CD_LIQUID if cd is None else cd)
    if phase == "liquid":
        rho = liquid_density if liquid_density is not None else getattr(SATURATION_20C.get(g.key), "rho_l", None)
        if rho is None:
            raise InputError(f"a liquid release of {g.key} needs liquid_density")
        if pressure is None:
            raise InputError("a liquid release needs the pressure over the liquid (absolute)")
        return liquid_release(rho, hole, pressure, head=head, cd=CD_LIQUID if cd is None else cd,
                              label=f"{g.key} liquid")
    raise InputError(f"phase must be gas, liquid or flashing, got {phase!r}")


MAX_GAS_PRESSURE = 200e5
"""Pa abs: the highest storage pressure assumed for a permanent gas when bounding a typed rate (common
industrial gas cylinders and pipelines stay below 200-300 bar)."""


def max_credible_rate(gas: str | Gas) -> tuple[float, str]:
    """An upper bound (kg/s) on what one release of ``gas`` can give, with how it was obtained: a 16 in
    (API RP 581 rupture) hole with Cd = 1, liquid at 20 °C saturation for the liquefied gases, gas choked
    at :data:`MAX_GAS_PRESSURE` for the others."""
    g = get_gas(gas)
    d = HOLE_CLASSES["rupture"]
    if g.key in SATURATION_20C:
        r = flashing_release(g, d, cd=1.0)
        return r.rate, "a 16 in rupture of the liquid at its 20 °C saturation pressure (Cd 1)"
    r = gas_release(g, d, MAX_GAS_PRESSURE, cd=1.0)
    return r.rate, f"a 16 in rupture of the gas at {MAX_GAS_PRESSURE / 1e5:.0f} bar, choked (Cd 1)"


def leak_ensemble(gas: str | Gas, *, pressure: float | None = None, phase: Phase = "gas",
                  temperature: float = T_20C, pipe_diameter: float | None = None,
                  classes: tuple[str, ...] = ("small", "medium", "large", "rupture")) -> list[tuple[str, float, Release]]:
    """One release per API RP 581 hole class (name, hole diameter m, :class:`Release`) for a leak
    ensemble (e.g. the design rates of a detector placement study). ``pipe_diameter`` (m) caps the
    holes: a rupture is at most the full bore, and classes larger than the pipe are dropped."""
    out = []
    for name in classes:
        d = hole_diameter(name)
        if pipe_diameter is not None:
            if name == "rupture":
                d = min(d, pipe_diameter)
            elif d > pipe_diameter:
                continue
        out.append((name, d, release_rate(gas, hole=d, pressure=pressure, phase=phase, temperature=temperature)))
    return out
