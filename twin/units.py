"""Quantities with units, as written in YAML (docs/scenario.md, quantities).

Everything is converted to SI on the way in: seconds, metres, m/s, kg, kg/s, kg/m3, m2, m3, degrees for
angles. Gas concentrations are special: ``ppm`` and ``%LEL`` need the gas to become kg/m3, so
:func:`parse_concentration` returns a :class:`Concentration` that keeps the unit, and ``twin.gas`` converts.

>>> parse_duration("5min")
300.0
>>> parse_quantity("2.5 m/s", "speed")
2.5
>>> parse_quantity("1.2 km", "length")
1200.0
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = [
    "Concentration",
    "UNITS",
    "parse_concentration",
    "parse_duration",
    "parse_bounded",
    "parse_quantity",
]

# unit -> (dimension, factor to SI)
UNITS: dict[str, tuple[str, float]] = {
    # time
    "s": ("time", 1.0), "sec": ("time", 1.0), "second": ("time", 1.0), "seconds": ("time", 1.0),
    "ms": ("time", 1e-3),
    "min": ("time", 60.0), "mins": ("time", 60.0), "minute": ("time", 60.0), "minutes": ("time", 60.0),
    "h": ("time", 3600.0), "hr": ("time", 3600.0), "hour": ("time", 3600.0), "hours": ("time", 3600.0),
    "d": ("time", 86400.0), "day": ("time", 86400.0), "days": ("time", 86400.0),
    # length
    "m": ("length", 1.0), "mm": ("length", 1e-3), "cm": ("length", 1e-2), "km": ("length", 1000.0),
    "ft": ("length", 0.3048), "in": ("length", 0.0254),
    # area, volume
    "m2": ("area", 1.0), "m^2": ("area", 1.0), "m²": ("area", 1.0),
    "m3": ("volume", 1.0), "m^3": ("volume", 1.0), "m³": ("volume", 1.0), "l": ("volume", 1e-3), "L": ("volume", 1e-3),
    # speed
    "m/s": ("speed", 1.0), "km/h": ("speed", 1000.0 / 3600.0), "kmh": ("speed", 1000.0 / 3600.0),
    "mph": ("speed", 0.44704), "kn": ("speed", 0.514444), "knots": ("speed", 0.514444),
    "m/min": ("speed", 1.0 / 60.0),
    # mass, mass rate
    "kg": ("mass", 1.0), "g": ("mass", 1e-3), "t": ("mass", 1000.0),
    "kg/s": ("mass_rate", 1.0), "g/s": ("mass_rate", 1e-3), "kg/min": ("mass_rate", 1.0 / 60.0),
    "kg/h": ("mass_rate", 1.0 / 3600.0), "t/h": ("mass_rate", 1000.0 / 3600.0),
    # volume flow
    "m3/s": ("flow", 1.0), "m3/h": ("flow", 1.0 / 3600.0), "l/s": ("flow", 1e-3), "L/s": ("flow", 1e-3),
    # density / mass concentration
    "kg/m3": ("density", 1.0), "g/m3": ("density", 1e-3), "mg/m3": ("density", 1e-6), "ug/m3": ("density", 1e-9),
    # rates
    "1/h": ("rate", 1.0 / 3600.0), "/h": ("rate", 1.0 / 3600.0), "ach": ("rate", 1.0 / 3600.0),
    "1/s": ("rate", 1.0), "/s": ("rate", 1.0), "hz": ("rate", 1.0), "Hz": ("rate", 1.0),
    # angle
    "deg": ("angle", 1.0), "°": ("angle", 1.0),
    # pressure, temperature
    "Pa": ("pressure", 1.0), "kPa": ("pressure", 1e3), "MPa": ("pressure", 1e6), "bar": ("pressure", 1e5),
    "bara": ("pressure", 1e5),
    "K": ("temperature", 1.0),
    # crowd measures
    "p/m2": ("density_people", 1.0), "p/s": ("people_rate", 1.0), "p/min": ("people_rate", 1.0 / 60.0),
    "p/(m s)": ("specific_flow", 1.0), "p/m/s": ("specific_flow", 1.0),
}

_CONC_UNITS = {"ppm": 1.0, "ppb": 1e-3, "%vol": 1e4, "%v/v": 1e4, "%LEL": 1.0, "%lel": 1.0, "LEL%": 1.0}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QTY = re.compile(rf"^\s*({_NUMBER})\s*(.*?)\s*$")


def _split(value: object, field: str) -> tuple[float, str]:
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a number or a string with a unit, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{field}: expected a finite number, got {value!r}")
        return float(value), ""
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a number or a string with a unit, got {type(value).__name__}")
    m = _QTY.match(value)
    if not m:
        raise ValueError(f"{field}: cannot read {value!r} as a quantity (expected e.g. '2.5 m/s', '5min')")
    number = float(m.group(1))
    if not math.isfinite(number):  # "1e400s" overflows to infinity
        raise ValueError(f"{field}: {value!r} is too large to be a number")
    return number, m.group(2).strip()


def parse_quantity(value: object, dimension: str, field: str = "value") -> float:
    """Return ``value`` in SI units of ``dimension`` (``time``, ``length``, ``speed``, ``mass_rate``, ...).

    A bare number is taken as already in SI. A string carries its unit: ``"90 s"``, ``"1.2 km"``.
    Raises ``ValueError`` naming ``field`` when the unit is unknown or of the wrong dimension.
    """
    number, unit = _split(value, field)
    if not unit:
        return number
    if unit not in UNITS:
        known = sorted(u for u, (d, _) in UNITS.items() if d == dimension)
        raise ValueError(f"{field}: unknown unit {unit!r} in {value!r}; expected one of {', '.join(known)}")
    dim, factor = UNITS[unit]
    if dim != dimension:
        raise ValueError(f"{field}: {value!r} is a {dim}, expected a {dimension}")
    return number * factor


def parse_duration(value: object, field: str = "duration") -> float:
    """Seconds from ``45s``, ``5min``, ``1.5h``, ``90 s`` or a bare number of seconds."""
    return parse_quantity(value, "time", field)


# dimension -> its SI unit: the first unit of factor 1 in UNITS (reversed, so that the first one wins)
_SI = {dim: u for u, (dim, f) in reversed(UNITS.items()) if f == 1.0}


def parse_bounded(value: object, dimension: str, field: str, *, positive: bool = False,
                  upper: float | None = None, lower: float | None = None) -> float | None:
    """:func:`parse_quantity` for the many fields that must be ``>= 0`` (or ``> 0`` with ``positive``),
    and at most ``upper`` / at least ``lower`` (SI) when given; ``None`` passes through (an omitted
    optional field). Raises ``ValueError`` saying which bound failed and the value in SI units, for a
    validator to attach to its field."""
    if value is None:
        return None
    q = parse_quantity(value, dimension, field)
    unit = _SI.get(dimension, "")
    u = f" {unit}" if unit else ""
    if q < 0 or (positive and q == 0):
        raise ValueError(f"must be {'positive' if positive else 'non-negative'}, got {q:g}{u}")
    if upper is not None and q > upper:
        raise ValueError(f"must be at most {upper:,.10g}{u} (the limit, docs/limits.md), got {q:,.10g}{u}")
    if lower is not None and q < lower:
        raise ValueError(f"must be at least {lower:,.10g}{u} (the limit, docs/limits.md), got {q:,.10g}{u}")
    return q


@dataclass(frozen=True)
class Concentration:
    """A gas concentration as written: ``value`` in ``unit`` (``ppm``, ``%LEL`` or ``kg/m3``).

    ``ppm`` covers ppb and %vol (converted to ppm); mass concentrations are converted to kg/m3.
    """

    value: float
    unit: str

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


def parse_concentration(value: object, field: str = "concentration") -> Concentration:
    """Read ``50 ppm``, ``20 %LEL``, ``300 mg/m3``; a bare number is taken as kg/m3 (SI)."""
    number, unit = _split(value, field)
    if not unit:
        return Concentration(number, "kg/m3")
    if unit in _CONC_UNITS:
        canon = "%LEL" if "lel" in unit.lower() else "ppm"
        return Concentration(number * _CONC_UNITS[unit], canon)
    if unit in UNITS and UNITS[unit][0] == "density":
        return Concentration(number * UNITS[unit][1], "kg/m3")
    raise ValueError(f"{field}: unknown concentration unit {unit!r} in {value!r}; "
                     "expected ppm, ppb, %vol, %LEL, kg/m3, g/m3 or mg/m3")
