"""The odour level at which people near a leak notice it and act, for the lead-time-vs-people metric.

Uses the project's odour registry (:mod:`twin.odour`, ``act_ppm``) when it exists. Without it, the lab
keeps its own copy of the one value it needs per gas, with its source:

* H2S: 3 ppm, "odour becomes offensive at 3-5 ppm" (OSHA / ANSI values tabulated in Ng et al., Nitric
  Oxide 71 (2017) 1-13, Table 4).
* NH3: 5 ppm, odour threshold (OSHA/NIOSH Occupational Safety and Health Guideline for Ammonia).
* CH4 (not odorised), CO, CO2: no odour cue (``None``).
"""

from __future__ import annotations

__all__ = ["FALLBACK_ACT_PPM", "act_ppm"]

FALLBACK_ACT_PPM: dict[str, tuple[float | None, str]] = {
    "H2S": (3.0, "odour becomes offensive at 3-5 ppm: OSHA/ANSI values in Ng et al., Nitric Oxide 71 (2017), Table 4"),
    "NH3": (5.0, "odour threshold 5 ppm: OSHA/NIOSH Occupational Safety and Health Guideline for Ammonia"),
    "CH4": (None, "methane is odourless unless odorised"),
    "CO": (None, "carbon monoxide is odourless"),
    "CO2": (None, "no odour warning at hazardous levels"),
}


def act_ppm(gas_key: str) -> tuple[float | None, str]:
    """(level in ppm or None, where it comes from) for the gas with key ``gas_key``."""
    try:
        from twin.odour import odour_for  # the project's registry, when present
    except ImportError:
        odour_for = None
    if odour_for is not None:
        try:
            d = odour_for(gas_key)
            return d.act_ppm, d.sources.get("act_ppm", "twin.odour")
        except Exception:  # a gas the registry does not list: fall back to the lab's table
            pass
    return FALLBACK_ACT_PPM.get(gas_key, (None, "no odour data for this gas"))
