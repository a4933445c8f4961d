"""What people notice of a gas without instruments: odour, loss of smell and sensory irritation.

For each gas of :mod:`twin.gas` the registry gives, in ppm by volume:

``detect_ppm``
    the odour detection threshold of the median person (informational: a faint smell is not a reason to
    leave a workplace where the gas is handled);
``act_ppm``
    the concentration at which the median person takes the odour as a warning and acts on it;
``smell_lost_ppm``
    above this the odour is no longer perceived (olfactory fatigue or paralysis), so it warns nobody;
``irritation_ppm``
    sensory irritation of the eyes, nose or throat that the median person notices at once.

``None`` means the gas gives no such cue (carbon monoxide and un-odorised methane give none).
Fuel gases distributed to users carry an odorant so that they are "readily detectable by a person with
a normal sense of smell" at one fifth of the lower explosive limit (US 49 CFR 192.625(a) for natural
gas; NFPA 58 for LP-gas): :func:`odour_for` with ``odorised=True`` returns that level as ``act_ppm``.

Every value carries its source in :attr:`OdourData.sources`; values not yet checked against a primary
source are listed in :attr:`OdourData.unverified` and named in a run's caveats (:meth:`OdourData.caveats`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from .gas import Gas, get_gas

__all__ = ["ODORISABLE", "ODOURS", "OdourData", "odour_for"]

_NG2017 = ("OSHA and ANSI values tabulated in Ng et al., Nitric Oxide 71 (2017) 1-13, Table 4 "
           "(PMC5777517)")


@dataclass(frozen=True)
class OdourData:
    """Unaided warning cues of one gas (ppm); see the module docstring for each field."""

    gas: str
    detect_ppm: float | None
    act_ppm: float | None
    smell_lost_ppm: float | None
    irritation_ppm: float | None
    sources: Mapping[str, str] = field(default_factory=dict)
    unverified: tuple[str, ...] = ()

    def caveats(self) -> list[str]:
        """One line per unverified value that a drill uses (``act_ppm``, ``smell_lost_ppm``, ``irritation_ppm``)."""
        out = []
        for f in ("act_ppm", "smell_lost_ppm", "irritation_ppm"):
            v = getattr(self, f)
            if f in self.unverified and v is not None:
                out.append(f"{self.gas} {f.removesuffix('_ppm').replace('_', ' ')} level {v:g} ppm: "
                           f"{self.sources.get(f, 'no source')}; not yet checked against the primary source")
        return out


_REGISTRY: tuple[OdourData, ...] = (
    OdourData(
        gas="H2S", detect_ppm=0.008, act_ppm=3.0, smell_lost_ppm=100.0, irritation_ppm=100.0,
        sources={
            "detect_ppm": "US EPA IRIS Toxicological Review of Hydrogen Sulfide (2003), citing Reiffenstein et al. "
                          "1992: odour threshold 0.003-0.02 ppm",
            "act_ppm": "odour becomes offensive at 3-5 ppm: " + _NG2017,
            "smell_lost_ppm": "loss of smell (olfactory fatigue or paralysis) at 100-150 ppm: " + _NG2017,
            "irritation_ppm": "coughing and eye irritation at 100 ppm: " + _NG2017,
        },
    ),
    OdourData(
        gas="NH3", detect_ppm=5.0, act_ppm=5.0, smell_lost_ppm=None, irritation_ppm=172.0,
        sources={
            "detect_ppm": "OSHA/NIOSH Occupational Safety and Health Guideline for Ammonia: odour threshold 5 ppm "
                          "(reported range 5-53 ppm, NRC 2008, Submarine Contaminants vol. 2, ch. 2)",
            "act_ppm": "the detection threshold: the odour is sharp, pungent and irritating in character (NRC 2008); "
                       "that a person acts on it at once is a modelling choice",
            "irritation_ppm": "geometric-mean nasal lateralization (sensory irritation) threshold 172 ppm in dry air, "
                              "Monse et al., BioMed Res. Int. 2016:6015761",
        },
        unverified=("act_ppm",),
    ),
    OdourData(
        gas="Cl2", detect_ppm=0.31, act_ppm=0.31, smell_lost_ppm=None, irritation_ppm=0.5,
        sources={
            "detect_ppm": "Amoore & Hautala, J. Appl. Toxicol. 3(6) (1983) 272-290, odour threshold",
            "act_ppm": "the detection threshold: a pungent, irritating odour (modelling choice)",
            "irritation_ppm": "AEGL-1 (notable discomfort, irritation) 0.5 ppm, NRC AEGL vol. 4 (2004)",
        },
        unverified=("detect_ppm", "act_ppm"),
    ),
    OdourData(
        gas="CO", detect_ppm=None, act_ppm=None, smell_lost_ppm=None, irritation_ppm=None,
        sources={"act_ppm": "colourless, odourless, non-irritating (NIOSH Pocket Guide, carbon monoxide)"},
    ),
    OdourData(
        gas="CH4", detect_ppm=None, act_ppm=None, smell_lost_ppm=None, irritation_ppm=None,
        sources={"act_ppm": "odourless unless odorised (49 CFR 192.625 requires odorant in distribution lines)"},
    ),
    OdourData(
        gas="C3H8", detect_ppm=None, act_ppm=None, smell_lost_ppm=None, irritation_ppm=None,
        sources={"act_ppm": "odourless unless odorised (NFPA 58 requires odorant in LP-gas)"},
    ),
)

ODOURS: Mapping[str, OdourData] = MappingProxyType({o.gas: o for o in _REGISTRY})
"""The registry by gas key of :data:`twin.gas.GASES`."""

ODORISABLE = ("CH4", "C3H8")
"""Fuel gases that may carry an odorant (natural gas, LP-gas)."""

_ODORANT_SOURCE = {
    "CH4": "odorised natural gas is readily detectable at 1/5 of the LEL, 49 CFR 192.625(a)",
    "C3H8": "odorised LP-gas is detectable at 1/5 of the lower flammable limit, NFPA 58 (odorization)",
}


def odour_for(gas: str | Gas, odorised: bool = False) -> OdourData:
    """The warning cues of ``gas``; with ``odorised`` a fuel gas (:data:`ODORISABLE`) is smelled at 1/5
    of its LEL (the legal minimum for distributed fuel gas)."""
    g = get_gas(gas)
    base = ODOURS.get(g.key, OdourData(g.key, None, None, None, None))
    if not odorised or g.key not in ODORISABLE:
        return base
    level = g.lel_for() * 1e4 / 5.0  # % by volume -> ppm, one fifth
    return replace(base, act_ppm=level, sources={**base.sources, "act_ppm": _ODORANT_SOURCE[g.key]},
                   unverified=tuple(u for u in base.unverified if u != "act_ppm"))
