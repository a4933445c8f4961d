"""Gases the drills release: properties, thresholds, probits and unit conversions.

Every number in the registry carries its source in :attr:`Gas.sources`. Values that are transcribed from a
secondary quotation and not yet checked against the primary source or a maintained package are listed in
:attr:`Gas.unverified`, so that a report or a test can show them as such. Conversions use the ideal gas law.

Units: molar mass kg/mol, density kg/m3, LEL/UEL % by volume, thresholds ppm (by volume), exposure time
minutes in probits and toxic loads (as the published probit constants are fitted in minutes).

>>> round(ppm_to_kgm3(100.0, "H2S") * 1e6, 2)  # 100 ppm H2S at 20 °C, 1 atm, in mg/m3
141.68
>>> round(ppm_to_mgm3_25c(100.0, "H2S"), 2)  # the 24.45 L/mol convention of exposure limits
139.39
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
from scipy.special import ndtr

from .errors import InputError
from .units import Concentration

__all__ = [
    "AIR_MOLAR_MASS",
    "GASES",
    "Gas",
    "MOLAR_VOLUME_25C",
    "P_ATM",
    "Probit",
    "R_GAS",
    "T_20C",
    "T_25C",
    "get_gas",
    "kgm3_to_lel",
    "kgm3_to_ppm",
    "known_gases",
    "lel_to_kgm3",
    "lethality",
    "mgm3_25c_to_ppm",
    "ppm_to_kgm3",
    "ppm_to_mgm3_25c",
    "probit_probability",
    "to_kgm3",
    "toxic_load",
]

R_GAS = 8.314462618
"""Molar gas constant, J/(mol K): exact since the 2019 SI redefinition (CODATA 2018)."""
T_20C = 293.15
"""20 °C in K: the default temperature of the conversions."""
T_25C = 298.15
"""25 °C in K: the reference temperature of US exposure limits (OSHA, ACGIH, NIOSH)."""
P_ATM = 101325.0
"""Standard atmosphere, Pa (exact by definition)."""
MOLAR_VOLUME_25C = 24.45
"""L/mol: the molar volume convention of exposure limits, ``mg/m3 = ppm * MW / 24.45`` at 25 °C, 1 atm
(OSHA/NIOSH/ACGIH; EPA air toxics fact sheets). The ideal gas gives 24.465 L/mol; 24.45 is kept because the
published mg/m3 limits were converted with it."""
AIR_MOLAR_MASS = 0.0289644
"""kg/mol, dry air of the U.S. Standard Atmosphere 1976 (NOAA/NASA/USAF), used for relative densities."""

Standard = Literal["NFPA", "IEC"]


@dataclass(frozen=True)
class Probit:
    """A lethality probit ``Y = a + b ln(C^n t)`` with C in ``unit`` (``ppm`` or ``mg/m3``), t in minutes.

    The probability of death is ``Phi(Y - 5)``. For a time-varying exposure the argument ``C^n t`` becomes
    the toxic load ``sum(C_k^n dt_k)`` (see :func:`toxic_load`).
    """

    a: float
    b: float
    n: float
    unit: Literal["ppm", "mg/m3"]
    source: str

    def value(self, load: float | np.ndarray) -> float | np.ndarray:
        """Probit Y for a toxic load (``unit``^n min). A zero load gives -inf (probability 0)."""
        load = np.asarray(load, dtype=float)
        with np.errstate(divide="ignore"):
            y = self.a + self.b * np.log(load)
        return float(y) if y.ndim == 0 else y


@dataclass(frozen=True)
class Gas:
    """One gas of the registry. See the module docstring for units; ``None`` means "not defined".

    ``aegl`` maps level (1, 2, 3) to ``(10 min, 60 min)`` values in ppm (EPA AEGLs; ``None`` where the
    AEGL committee made no recommendation); ``erpg`` is ERPG-1/2/3 (AIHA, 1 h). ``lel``/``uel`` follow
    NFPA 497 (2008), which are also the NIOSH Pocket Guide values; ``lel_iec``/``uel_iec`` follow
    IEC 60079-20-1 (2010), the basis of European detector calibration. ``probit`` is the lethality
    probit used by the drills (C in ppm); ``probit_alt`` a second published set kept for cross-checks.
    """

    key: str
    name: str
    formula: str
    cas: str
    molar_mass: float
    lel: float | None
    uel: float | None
    lel_iec: float | None
    uel_iec: float | None
    idlh: float | None
    aegl: Mapping[int, tuple[float | None, float | None]]
    erpg: tuple[float | None, float | None, float | None]
    probit: Probit | None
    probit_alt: Probit | None = None
    aliases: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    unverified: tuple[str, ...] = ()

    def density(self, T: float = T_20C, P: float = P_ATM) -> float:
        """Density of the pure gas, kg/m3, ideal gas at T (K) and P (Pa)."""
        return P * self.molar_mass / (R_GAS * T)

    @property
    def density_20c(self) -> float:
        """Density of the pure gas at 20 °C and 101325 Pa, kg/m3."""
        return self.density()

    @property
    def relative_density(self) -> float:
        """Density relative to dry air at the same T and P (above 1: heavier than air)."""
        return self.molar_mass / AIR_MOLAR_MASS

    @property
    def flammable(self) -> bool:
        return self.lel is not None

    def lel_for(self, standard: Standard = "NFPA") -> float:
        """LEL in % by volume after ``standard``; :class:`InputError` for a non-flammable gas."""
        lel = self.lel if standard == "NFPA" else self.lel_iec
        if lel is None:
            raise InputError(f"{self.key} is not flammable: %LEL has no meaning for it")
        return lel

    def caveats(self, fields: tuple[str, ...] = ("probit", "idlh")) -> list[str]:
        """One line per value among ``fields`` that is in :attr:`unverified`, naming the value, what a drill
        uses it for and where it came from: for the provenance of results that depend on it (a drill
        uses the probit and the IDLH; AEGL and ERPG only in reports)."""
        uses = {"probit": "lethality probit (fatal_exposures; collapse where no incapacitation term applies)",
                "probit_alt": "second probit (cross-checks)", "idlh": "IDLH (exposed_idlh, hazardous spaces)", "aegl": "AEGLs", "erpg": "ERPGs"}
        out = []
        for f in fields:
            if f not in self.unverified:
                continue
            pr = {"probit": self.probit, "probit_alt": self.probit_alt}.get(f)
            src = pr.source if pr is not None else self.sources.get(f, "a secondary quotation")
            out.append(f"{self.key} {uses.get(f, f)}: {src}; not yet checked against the primary source")
        return out

    def aegl_ppm(self, level: int, minutes: int) -> float | None:
        """AEGL-``level`` (1, 2, 3) for a ``minutes`` (10 or 60) exposure, ppm."""
        if level not in (1, 2, 3) or minutes not in (10, 60):
            raise InputError(f"AEGL level must be 1, 2 or 3 and duration 10 or 60 min, got {level}, {minutes}")
        return self.aegl.get(level, (None, None))[0 if minutes == 10 else 1]


# --------------------------------------------------------------------------------------------- sources
_MW = "IUPAC standard atomic weights, as summed by the `chemicals` package 1.5.2 (MW())"
_NFPA = "NFPA 497 (2008) table in `chemicals` 1.5.2; same as the NIOSH Pocket Guide"
_IEC = "IEC 60079-20-1 (2010) table in `chemicals` 1.5.2"
_CCPS = ("CCPS, Guidelines for Chemical Process Quantitative Risk Analysis, 2nd ed. (2000), probit table "
         "(C in ppm, t in min), as transcribed from a secondary quotation of that table")
_TNO = ("TNO/RIVM Purple Book CPR 18E (2005), probit table (C in mg/m3, t in min), as transcribed from a "
        "secondary quotation of that table")

_REGISTRY: tuple[Gas, ...] = (
    Gas(
        key="H2S", name="hydrogen sulfide", formula="H2S", cas="7783-06-4", molar_mass=34.08088e-3,
        lel=4.0, uel=44.0, lel_iec=4.0, uel_iec=45.5, idlh=100.0,
        aegl={1: (0.75, 0.51), 2: (41.0, 27.0), 3: (76.0, 50.0)},
        erpg=(0.1, 30.0, 100.0),
        probit=Probit(-31.42, 3.008, 1.43, "ppm", _CCPS + " (after Perry & Articola 1980)"),
        probit_alt=Probit(-11.5, 1.0, 1.9, "mg/m3", _TNO),
        aliases=("hydrogen sulphide", "sour gas"),
        sources={
            "molar_mass": _MW, "lel": _NFPA, "lel_iec": _IEC,
            "idlh": "NIOSH IDLH; Table 3 of Ng et al., Nitric Oxide 71 (2017), PMC5777517",
            "aegl": "NRC AEGL vol. 9 (2010), quoted in PMC5777517 Table 3",
            "erpg": "AIHA ERPG, quoted in PMC5777517 Table 3",
        },
        unverified=("probit", "probit_alt"),
    ),
    Gas(
        key="NH3", name="ammonia", formula="NH3", cas="7664-41-7", molar_mass=17.03052e-3,
        lel=15.0, uel=28.0, lel_iec=15.0, uel_iec=33.6, idlh=300.0,
        aegl={1: (30.0, 30.0), 2: (220.0, 160.0), 3: (2700.0, 1100.0)},
        erpg=(25.0, 150.0, 1500.0),
        probit=Probit(-35.9, 1.85, 2.0, "ppm", _CCPS),
        probit_alt=Probit(-15.6, 1.0, 2.0, "mg/m3", _TNO),
        aliases=("ammonia gas", "anhydrous ammonia", "r717"),
        sources={
            "molar_mass": _MW, "lel": _NFPA, "lel_iec": _IEC,
            "idlh": "NIOSH IDLH documentation (1994), revised IDLH 300 ppm",
            "aegl": "NRC AEGL vol. 6 (2008), ammonia chapter",
            "erpg": "AIHA ERPG handbook (ERPG-3 raised from 750 to 1500 ppm in a later revision)",
        },
        unverified=("aegl", "erpg", "probit", "probit_alt"),
    ),
    Gas(
        key="Cl2", name="chlorine", formula="Cl2", cas="7782-50-5", molar_mass=70.906e-3,
        lel=None, uel=None, lel_iec=None, uel_iec=None, idlh=10.0,
        aegl={1: (0.5, 0.5), 2: (2.8, 2.0), 3: (50.0, 20.0)},
        erpg=(1.0, 3.0, 20.0),
        probit=Probit(-8.29, 0.92, 2.0, "ppm",
                      "Withers & Lees, J. Hazard. Mater. 12 (1985) 283, regular population at standard "
                      "activity; adopted by CCPS (2000)"),
        probit_alt=Probit(-6.35, 0.5, 2.75, "mg/m3", _TNO),
        aliases=("chlorine gas",),
        sources={
            "molar_mass": _MW,
            "idlh": "NIOSH IDLH documentation for chlorine (May 1994), revised IDLH 10 ppm",
            "aegl": "NRC AEGL vol. 4 (2004); EPA final AEGL table as reproduced in the AEGL Wikipedia entry",
            "erpg": "AIHA ERPG",
        },
        unverified=("erpg", "probit_alt"),
    ),
    Gas(
        key="CH4", name="methane", formula="CH4", cas="74-82-8", molar_mass=16.04246e-3,
        lel=5.0, uel=15.0, lel_iec=4.4, uel_iec=17.0, idlh=None,
        aegl={}, erpg=(None, None, None), probit=None,
        aliases=("natural gas", "fuel gas", "firedamp"),
        sources={"molar_mass": _MW, "lel": _NFPA, "lel_iec": _IEC,
                 "idlh": "none: simple asphyxiant, govern by %LEL and O2 (NIOSH Pocket Guide)"},
    ),
    Gas(
        key="C3H8", name="propane", formula="C3H8", cas="74-98-6", molar_mass=44.09562e-3,
        lel=2.1, uel=9.5, lel_iec=1.7, uel_iec=10.9, idlh=2100.0,
        aegl={1: (10000.0, 5500.0), 2: (17000.0, 17000.0), 3: (33000.0, 33000.0)},
        erpg=(None, None, None), probit=None,
        aliases=("lpg", "propane gas"),
        sources={
            "molar_mass": _MW, "lel": _NFPA, "lel_iec": _IEC,
            "idlh": "NIOSH IDLH documentation for propane (May 1994): 2,100 ppm = 10 % LEL",
            "aegl": "NRC AEGL vol. 12 (2012) Table 7-1 (AEGL-1 checked; AEGL-2/3 from a secondary quotation)",
        },
        unverified=("aegl",),
    ),
    Gas(
        key="CO", name="carbon monoxide", formula="CO", cas="630-08-0", molar_mass=28.0101e-3,
        lel=12.5, uel=74.0, lel_iec=10.9, uel_iec=74.0, idlh=1200.0,
        aegl={1: (None, None), 2: (420.0, 83.0), 3: (1700.0, 330.0)},
        erpg=(200.0, 350.0, 500.0),
        probit=Probit(-37.98, 3.7, 1.0, "ppm", _CCPS),
        aliases=("carbon monoxide gas",),
        sources={
            "molar_mass": _MW, "lel": _NFPA, "lel_iec": _IEC,
            "idlh": "NIOSH IDLH documentation for carbon monoxide (May 1994), revised IDLH 1,200 ppm",
            "aegl": "NRC AEGL vol. 8 (2010), carbon monoxide chapter (AEGL-1 not recommended)",
            "erpg": "AIHA ERPG",
        },
        unverified=("aegl", "erpg", "probit"),
    ),
)

GASES: Mapping[str, Gas] = MappingProxyType({g.key: g for g in _REGISTRY})
"""The registry by canonical key (``H2S``, ``NH3``, ``Cl2``, ``CH4``, ``C3H8``, ``CO``)."""


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_LOOKUP: dict[str, Gas] = {}
for _g in _REGISTRY:
    for _n in (_g.key, _g.formula, _g.name, _g.cas, *_g.aliases):
        _LOOKUP[_norm(_n)] = _g


def known_gases() -> list[str]:
    """Canonical keys of the registry, sorted."""
    return sorted(GASES)


def get_gas(name: str | Gas) -> Gas:
    """The gas called ``name``: key, formula, common name, alias or CAS number, case-insensitive.

    Raises :class:`InputError` listing the known gases when nothing matches.
    """
    if isinstance(name, Gas):
        return name
    gas = _LOOKUP.get(_norm(str(name)))
    if gas is None:
        known = ", ".join(f"{g.key} ({g.name})" for g in _REGISTRY)
        raise InputError(f"unknown gas {name!r}; known gases: {known}")
    return gas


# ----------------------------------------------------------------------------------------- conversions
def _scaled(x: float | np.ndarray, factor: float) -> float | np.ndarray:
    """``x * factor``, a float for a scalar and an array for an array."""
    return np.asarray(x, dtype=float) * factor if np.ndim(x) else float(x) * factor


def ppm_to_kgm3(ppm: float | np.ndarray, gas: str | Gas, T: float = T_20C, P: float = P_ATM):
    """Mass concentration (kg/m3) of ``ppm`` (by volume) of ``gas`` in air at T (K) and P (Pa)."""
    return _scaled(ppm, 1e-6 * P * get_gas(gas).molar_mass / (R_GAS * T))


def kgm3_to_ppm(c: float | np.ndarray, gas: str | Gas, T: float = T_20C, P: float = P_ATM):
    """Volume fraction in ppm of a mass concentration ``c`` (kg/m3) of ``gas`` at T (K) and P (Pa)."""
    return _scaled(c, 1e6 * R_GAS * T / (P * get_gas(gas).molar_mass))


def ppm_to_mgm3_25c(ppm: float, gas: str | Gas) -> float:
    """mg/m3 from ppm with the exposure-limit convention ``ppm * MW / 24.45`` (25 °C, 1 atm)."""
    return float(ppm) * get_gas(gas).molar_mass * 1e3 / MOLAR_VOLUME_25C


def mgm3_25c_to_ppm(mgm3: float, gas: str | Gas) -> float:
    """ppm from mg/m3 with the exposure-limit convention ``mg/m3 * 24.45 / MW`` (25 °C, 1 atm)."""
    return float(mgm3) * MOLAR_VOLUME_25C / (get_gas(gas).molar_mass * 1e3)


def lel_to_kgm3(pct_lel: float, gas: str | Gas, T: float = T_20C, P: float = P_ATM,
                standard: Standard = "NFPA") -> float:
    """kg/m3 of ``pct_lel`` % of the lower explosive limit (``standard``: ``NFPA`` or ``IEC`` LEL)."""
    g = get_gas(gas)
    ppm = pct_lel / 100.0 * g.lel_for(standard) * 1e4
    return ppm_to_kgm3(ppm, g, T, P)


def kgm3_to_lel(c: float, gas: str | Gas, T: float = T_20C, P: float = P_ATM,
                standard: Standard = "NFPA") -> float:
    """% LEL of a mass concentration ``c`` (kg/m3)."""
    g = get_gas(gas)
    return kgm3_to_ppm(c, g, T, P) / (g.lel_for(standard) * 1e4) * 100.0


def to_kgm3(conc: Concentration, gas: str | Gas | None = None, T: float = T_20C, P: float = P_ATM,
            standard: Standard = "NFPA") -> float:
    """A parsed :class:`~twin.units.Concentration` (ppm, %LEL or kg/m3) as kg/m3 of ``gas``.

    kg/m3 needs no gas; ppm and %LEL do, and raise :class:`InputError` without one.
    """
    if conc.unit == "kg/m3":
        return float(conc.value)
    if gas is None:
        raise InputError(f"{conc} needs a gas to be converted to kg/m3")
    if conc.unit == "ppm":
        return ppm_to_kgm3(conc.value, gas, T, P)
    if conc.unit == "%LEL":
        return lel_to_kgm3(conc.value, gas, T, P, standard)
    raise InputError(f"unknown concentration unit {conc.unit!r} (expected ppm, %LEL or kg/m3)")


# ------------------------------------------------------------------------------------------- toxicity
def toxic_load(c_ppm: np.ndarray | list[float], dt_min: float | np.ndarray, n: float) -> float:
    """Toxic load ``sum(C_k^n dt_k)`` in ppm^n min of a series of concentrations (ppm) held for
    ``dt_min`` minutes each (a scalar or one value per sample)."""
    c = np.clip(np.asarray(c_ppm, dtype=float), 0.0, None)
    return float(np.sum(c ** n * np.asarray(dt_min, dtype=float)))


def probit_probability(y: float | np.ndarray) -> float | np.ndarray:
    """Probability of the response for probit value(s) ``y``: ``Phi(y - 5)``."""
    # scipy.special.ndtr is what scipy.stats.norm.cdf evaluates, without its per-call argument checks
    # (which cost more than the rest of a gas step in a drill)
    p = ndtr(np.asarray(y, dtype=float) - 5.0)
    return float(p) if np.ndim(p) == 0 else p


def lethality(gas: str | Gas, c_ppm: float | np.ndarray | list[float], minutes: float | np.ndarray,
              *, probit: Probit | None = None) -> float:
    """Probability of death after breathing ``c_ppm`` of ``gas`` (a constant for ``minutes``, or a series
    of samples each held ``minutes``), with the gas's probit (or ``probit``).

    Concentrations are converted to mg/m3 (25 °C convention) when the probit is fitted in mg/m3. Gases
    without a probit (asphyxiants, flammables) raise :class:`InputError`.
    """
    g = get_gas(gas)
    pr = probit or g.probit
    if pr is None:
        raise InputError(f"{g.key} has no lethality probit (it is an asphyxiant or flammable hazard)")
    c = np.atleast_1d(np.asarray(c_ppm, dtype=float))
    if pr.unit == "mg/m3":
        c = c * g.molar_mass * 1e3 / MOLAR_VOLUME_25C
    load = toxic_load(c, minutes, pr.n)
    if load <= 0.0:
        return 0.0
    return float(probit_probability(pr.a + pr.b * math.log(load)))
