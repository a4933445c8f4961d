"""Gas detectors and cameras as vectorised arrays: response lag, noise, drift, display, alarm levels, faults.

A :class:`DetectorArray` holds every point gas detector of a site in numpy arrays (one slot per detector,
no per-detector objects) and turns the true concentration at each detector into what the detector shows
and which alarm levels it raises. A :class:`CameraArray` does the same for cameras that look for a
visible plume. :func:`build_sensor_arrays` makes both from the sensors of a :class:`twin.site.Site`.

Units
-----
Each detector works in its own reading unit, ``ppm`` or ``%LEL``. :meth:`DetectorArray.update` takes the
true concentration *in that unit* (the caller converts from kg/m3 with ``twin.gas``); set points, noise,
full scale, resolution and hysteresis are in the same unit. Times are seconds on the drill clock; drift
rates are per hour because datasheets quote them per month or year.

Detector model (per detector, in this order at each sample)
-----------------------------------------------------------
1. **Lag**: first-order, ``tau = T90 / ln 10`` so that a step reaches 90 % at T90 (T50 = 0.301 T90). The
   true signal is held piecewise constant between calls (the value given at ``t`` holds until the next
   call) and the lag is advanced with the exact discrete update ``y += (1 - exp(-dt/tau)) (u - y)``, so the
   result does not depend on the caller's step. A detector with T90 = 0 shows the input itself.
2. **Sampling**: a detector produces a reading only at its sample times ``start + phase + k * period``;
   between samples the display holds. If a call skips several sample times, only the latest one is
   evaluated (the lag state at that instant is still exact). Step at most one period for exact alarm times.
3. **Calibration and drift**: ``shown = gain * (1 + span_drift * h) * y + zero_drift * h (+ fault offset)``
   with ``h`` the hours since the last calibration (``age`` at the start plus drill time).
4. **Noise**: Gaussian, one standard deviation ``noise``, independent per sample.
5. **Display**: rounded to ``resolution``, then clamped to ``-1.25 % .. 100 %`` of full scale: NAMUR NE 43
   keeps 3.8-20.5 mA of a 4-20 mA loop as measurement, so a transmitter reports small negative values;
   clamping at 0 instead would bias clean air upwards (+0.4 sd of the noise).
6. **Alarm levels**: level *k* (1 = first set point) turns on when the reading reaches set point *k* and
   off when it falls below ``set point - hysteresis`` (latching levels stay on until
   :meth:`DetectorArray.reset_latches`). The first time each (detector, level) turns on is recorded in
   :attr:`DetectorArray.exceedances`.

Clean-air nuisance (:class:`Nuisance`, added after the lag, before the white noise): an AR(1) zero wander,
electrical spikes, bump tests done without inhibiting the alarms, vehicle exhaust at outdoor heads
(read through the head's cross-sensitivity to CO), on child streams of their own so the white-noise
stream is unchanged. Site detectors get :func:`default_nuisance`:

* wander sd 0.5 x the white-noise sd, correlation time 30 min: modelling choice (no datasheet figure);
* spikes 0.002 per hour, mean height 10 % of full scale, 5 s: modelling choice (no published rate);
* bump tests every 90 days (Draeger: check calibration every 3 to 6 months, as below), 5 % of them
  uninhibited (modelling choice), 90 s of a usual four-gas test mixture (25 ppm H2S, 100 ppm CO,
  50 %LEL);
* exhaust: off unless the site gives ``extra.exhaust_per_hour``; 30 ppm CO on average for 60 s
  (modelling choice);
* cross-sensitivity of electrochemical heads (:data:`CROSS_SENSITIVITY`): Biosystems PhD Plus user
  manual, appendix E "Toxic sensor cross sensitivity data" (after City Technology, Product Data
  Handbook); the hazards apply it to other gases released in the run.

Faults (switched at run time by scenario injects): ``dead`` (shows 0, no new readings, flagged in
:attr:`DetectorArray.fault`), ``stuck`` (shows the frozen value, unflagged: an unrevealed failure),
``out_of_calibration`` (gain and/or offset error, unflagged), ``inhibited`` (readings continue but no
alarm levels or events, as during maintenance), and :meth:`~DetectorArray.restore`. The sensor's physics
(the lag state) keeps running under every fault, so a restored detector shows the present gas at once.

Randomness
----------
All random numbers come from the Generator passed in (the run's ``sensors`` stream), so the same seed and
the same calls give the same readings. Each call that produces any sample draws one normal number per
detector, whatever its fault state or whether it is due, and the drift rates are drawn once at
construction for every detector, so a fault injected in one arm of an experiment does not shift the
draws of the other detectors (common random numbers). The draws do depend on the number of detectors
and on the caller's step. :func:`build_sensor_arrays` spawns separate
child streams for gas detectors and cameras so that adding a camera does not change the gas readings.

Defaults and their sources
--------------------------
Used when a sensor gives no value (``Sensor.t90``, ``noise``, ``period`` or an ``extra`` key). Datasheet
limits ("< 25 s") are used as typical values; that is conservative for response times.

* T90, %LEL heads: 25 s. Sewerin EX-TEC PM 400 operating manual, App. 9.2.1, IR methane sensor
  ``t90 < 25 s`` (propane < 28 s). Other heads span 10 s (MSA ALTAIR 4XR catalytic, methane, "90 % of
  final reading <= 10 s") to 30 s (MSA ALTAIR 4 operating manual 5.4.1, catalytic, "<= 30 s"); Gastech
  D-Guard2 NDIR methane ``T90 <= 22 s``.
* T90, ppm (electrochemical) heads: 30 s. SGX Sensortech SGX-4DT H2S/CO cell datasheet, ``t90 < 30 s``.
* Sampling period: 1 s. No standard or datasheet value found; a modelling choice (fixed heads commonly
  report every 1-2 s).
* Full scale, %LEL: 100 %LEL (the 0-100 %LEL range of the Sewerin EX-TEC PM 400 IR and MSA ALTAIR 4
  combustible channels). ppm: H2S 200 ppm (SGX-4DT and MSA ALTAIR 4X bid specification, 0-200 ppm),
  CO 500 ppm (Draeger XS EC CO data sheet 68 09 105, default range 0-500 ppm), CO2 50 000 ppm (SGX
  Sensortech INIR-CD5 datasheet DS-0229, 0-5 %v/v carbon dioxide range). Other gases: ten times the
  highest set point, or 100 ppm without set points (heuristic, no source: set ``extra.full_scale``).
* Resolution: 1 %LEL (Sewerin EX-TEC PM 400, MSA ALTAIR 4); 1 ppm for ranges of 100 ppm and more (MSA
  ALTAIR 4X: H2S 0-200 ppm and CO 0-1999 ppm at 1 ppm; Draeger XS EC CO 1 ppm), one decade finer per
  decade of smaller range (heuristic).
* Noise: 0.5 % of full scale as one standard deviation, reading the Sewerin EX-TEC PM 400 IR
  "+-1 %LEL short-term stability" as +-2 sd of a 100 %LEL range. Applied to ppm heads too (extrapolated:
  no ppm-specific noise figure found for industrial H2S heads).
* Zero drift, %LEL: a linear drift whose rate is drawn per detector with sd 1 %LEL per 4383 h, reading
  the Sewerin "+-2 %LEL long-term stability" as +-2 sd over a six-month calibration interval (Draeger
  DrägerSensor PR M DQ instructions: check calibration every 3 to 6 months; shorten the interval when the
  drift reaches 5 %LEL in 2 months). Span drift for %LEL heads: 0 (included in that figure).
* Span drift, ppm: rate drawn with sd 2.5 % per 8766 h, reading the SGX-4DT "long-term output drift
  < 5 % per annum" as 2 sd. Zero drift for ppm heads: 0 (no source found).
* Hysteresis: 2 % of full scale (Honeywell Touchpoint Pro operating instructions, parameter "Threshold
  Alarm Hysteresis", default 2 %FSD: an alarm at 20 %FSD clears below 18 %FSD), capped at half the lowest
  set point (our choice, so that a low set point on a wide range still clears). Levels do not latch
  unless ``extra.latching`` is true.
* Camera detection rate per scan: 0.94 (Raj & Srivastava 2025, "An OGI based unattended natural gas leak
  detection system...", SciTePress: CNN plume recognition on FLIR optical-gas-imaging clips, 94 % accuracy
  for small and 99 % for medium/large leaks; a per-clip figure used here per scan). Camera false
  positives per hour: **no default** (no source found); ``extra.false_positives_per_hour`` is required.
  Camera scan period: 1 s (modelling choice).

The standards (EN 60079-29-1 for flammable-gas detectors in %LEL, EN 45544 for toxic-gas detectors in
ppm) define how T90, drift and stability are tested, not the values used here; the values above come
from the datasheets named.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .errors import InputError
from .site import Sensor
from .units import Concentration, parse_concentration, parse_duration

__all__ = [
    "CameraAlarm",
    "CameraArray",
    "CameraSpec",
    "CleanBlock",
    "DEFAULT_FULL_SCALE",
    "DEFAULT_PERIOD",
    "DEFAULT_T90",
    "DetectorArray",
    "DetectorSpec",
    "Exceedance",
    "FaultRecord",
    "GasBlock",
    "MODES",
    "Nuisance",
    "default_nuisance",
    "SensorArrays",
    "build_sensor_arrays",
    "camera_spec_from_sensor",
    "resolve_spec",
    "spec_from_sensor",
]

LN10 = math.log(10.0)
UNITS = ("ppm", "%LEL")

# --- defaults (sources in the module docstring) ---------------------------------------------------------
DEFAULT_T90: dict[str, float] = {"%LEL": 25.0, "ppm": 30.0}  # s; Sewerin EX-TEC PM 400 IR; SGX-4DT
DEFAULT_PERIOD = 1.0  # s; modelling choice, no source
DEFAULT_FULL_SCALE: dict[str, float] = {"%LEL": 100.0}  # 0-100 %LEL range (Sewerin, MSA ALTAIR 4)
# ppm ranges: H2S SGX-4DT / MSA ALTAIR 4X; CO Draeger XS EC CO; CO2 SGX INIR-CD5 (0-5 %v/v)
DEFAULT_FULL_SCALE_PPM: dict[str, float] = {"H2S": 200.0, "CO": 500.0, "CO2": 50_000.0}
FULL_SCALE_PER_SETPOINT = 10.0  # heuristic: full scale = 10 x highest set point for other ppm gases
FALLBACK_FULL_SCALE_PPM = 100.0  # heuristic: ppm head with neither set points nor a known gas
NOISE_FRACTION_OF_FS = 0.005  # 1 sd; Sewerin "+-1 %LEL short-term stability" read as +-2 sd
UNDER_RANGE_FRACTION_OF_FS = 0.0125  # NAMUR NE 43: 3.8 mA on a 4-20 mA loop = -1.25 % of span still a reading
HYSTERESIS_FRACTION_OF_FS = 0.02  # Honeywell Touchpoint Pro default threshold hysteresis 2 %FSD
# Drift rate sd per hour: (unit of zero drift per hour, fraction of span per hour), per reading unit.
ZERO_DRIFT_SD: dict[str, float] = {"%LEL": 1.0 / 4383.0, "ppm": 0.0}  # Sewerin +-2 %LEL as 2 sd / 6 months
SPAN_DRIFT_SD: dict[str, float] = {"%LEL": 0.0, "ppm": 0.025 / 8766.0}  # SGX-4DT < 5 %/year as 2 sd
DEFAULT_DETECTION_RATE = 0.94  # per scan; Raj & Srivastava 2025 (small leaks, per clip)
# Clean-air nuisance (sources and the modelling choices in the module docstring, "Clean-air nuisance").
WANDER_FRACTION_OF_NOISE = 0.5  # zero wander sd = half the short-term noise sd (modelling choice)
WANDER_TAU = 1800.0  # s; modelling choice (temperature and humidity swings of a plant hall)
SPIKE_RATE_PER_HOUR = 0.002  # per detector: one transient in about three weeks (modelling choice)
SPIKE_SIZE_FRACTION_OF_FS = 0.1  # mean spike height, fraction of full scale (modelling choice)
MAINTENANCE_PER_DAY = 1.0 / 90.0  # a gas test every 3 months (Draeger: check calibration every 3-6 months)
MAINTENANCE_UNINHIBITED = 0.05  # share of tests done without inhibiting the alarms (modelling choice)
EXHAUST_PPM = 30.0  # mean CO at an outdoor head while a vehicle passes (modelling choice); rate: site input
# Cross-sensitivity of electrochemical heads, reading per unit of the other gas: Biosystems PhD Plus user
# manual, appendix E "Toxic sensor cross sensitivity data" (response to 100 ppm, from City Technology's
# Product Data Handbook); "<x" figures taken at x.
CROSS_SENSITIVITY: dict[str, tuple[tuple[str, float], ...]] = {
    "H2S": (("CO", 0.10), ("SO2", 0.15), ("NO", 0.05), ("NO2", -0.20), ("CL2", -0.25)),
    "CO": (("H2S", 0.10), ("SO2", 0.10), ("NO", 0.30), ("NO2", 0.15), ("CL2", 0.10), ("H2", 0.60), ("HCN", 0.15),
           ("HCL", 0.03), ("C2H4", 0.50)),
    "SO2": (("NO2", -1.20), ("CL2", 0.05), ("HCN", 0.50)),
    "NH3": (("H2S", 1.30), ("SO2", 0.70), ("NO", 0.20), ("CL2", -0.50), ("HCN", 0.30), ("HCL", -0.05)),
    "CL2": (("H2S", -0.20), ("NO2", 1.20)),
}
DEFAULT_SCAN_PERIOD = 1.0  # s; modelling choice

# Gases whose fixed detectors conventionally read %LEL (flammable-gas heads, EN 60079-29-1 scope) when a
# sensor says nothing else about its unit; every other gas is taken as a toxic head in ppm (EN 45544).
_LEL_GASES = {
    "CH4", "METHANE", "C2H6", "ETHANE", "C3H8", "PROPANE", "C4H10", "BUTANE", "C5H12", "PENTANE",
    "H2", "HYDROGEN", "LPG", "NATURAL GAS", "NG",
}

# Fault modes. Codes are small ints so the per-detector mode lives in one int8 array.
OK, DEAD, STUCK, OUT_OF_CALIBRATION, INHIBITED = 0, 1, 2, 3, 4
MODES: dict[str, int] = {"dead": DEAD, "stuck": STUCK, "out_of_calibration": OUT_OF_CALIBRATION,
                         "inhibited": INHIBITED}
_MODE_NAMES = {OK: "ok", **{v: k for k, v in MODES.items()}}
_MODE_PARAMS: dict[str, set[str]] = {"dead": set(), "stuck": {"value"}, "out_of_calibration": {"gain", "offset"},
                                     "inhibited": set()}
_CAMERA_MODES = {"dead": DEAD, "inhibited": INHIBITED}


# --- specs -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Nuisance:
    """Causes of readings without a leak, per detector, in its unit (see "Clean-air nuisance" in the
    module docstring for the sources and for which values are modelling choices).

    wander, wander_tau: sd (unit) and correlation time (s) of the zero-point wander, an AR(1) process.
    spike_rate (1/h), spike_size (unit, mean of an exponential), spike_duration (s): electrical
    transients. exhaust_per_hour, exhaust_ppm (CO ppm at the head, mean of an exponential),
    exhaust_duration (s): vehicle exhaust passing an outdoor head, read through ``cross["CO"]`` (a CO
    head reads it in full). maintenance_per_day, maintenance_duration (s), maintenance_uninhibited
    (share of tests done without inhibiting the detector): bump tests with test gas at the highest set
    point. cross: ``((gas, factor), ...)``, the reading per unit of each other gas (ppm for ppm).
    """

    wander: float = 0.0
    wander_tau: float = 1800.0
    spike_rate: float = 0.0
    spike_size: float = 0.0
    spike_duration: float = 5.0
    exhaust_per_hour: float = 0.0
    exhaust_ppm: float = 0.0
    exhaust_duration: float = 60.0
    maintenance_per_day: float = 0.0
    maintenance_duration: float = 90.0
    maintenance_uninhibited: float = 0.0
    cross: tuple[tuple[str, float], ...] = ()

    def factor(self, gas: str) -> float:
        """Reading per unit of ``gas`` (0 when not listed)."""
        g = gas.strip().upper()
        return next((f for k, f in self.cross if k.strip().upper() == g), 0.0)


@dataclass(frozen=True)
class DetectorSpec:
    """One point gas detector, all values in its reading ``unit`` (``ppm`` or ``%LEL``).

    ``None`` means "use the default" (see the module docstring); :func:`resolve_spec` fills them in.

    Attributes
    ----------
    name, id: user-facing name and stable id (the IFC GlobalId); faults are addressed by either.
    setpoints: alarm set points, strictly ascending, in ``unit``.
    t90: response time to 90 % of a step, s (0 = no lag).
    noise: one standard deviation of the reading noise, in ``unit``.
    period: sampling period, s.
    full_scale: upper end of the measuring range, in ``unit`` (the lower end is 0).
    resolution: display step, in ``unit`` (0 = no rounding).
    drift: zero drift rate, ``unit`` per hour; ``None`` draws a rate per detector from the default sd.
    span_drift: relative gain drift rate, 1/h; ``None`` draws one.
    hysteresis: an alarm level clears when the reading falls below ``set point - hysteresis`` (``unit``).
    latching: levels stay on until :meth:`DetectorArray.reset_latches`.
    phase: first sample at ``start + phase``, s.
    age: time since the last calibration at the start of the drill, h (drift accumulated so far).
    nuisance: what a head shows in clean air besides white noise (:class:`Nuisance`); ``None``: none
    (detectors of a site get the defaults, see :func:`spec_from_sensor`).
    """

    name: str
    unit: str
    setpoints: tuple[float, ...] = ()
    t90: float | None = None
    noise: float | None = None
    period: float | None = None
    full_scale: float | None = None
    resolution: float | None = None
    drift: float | None = None
    span_drift: float | None = None
    hysteresis: float | None = None
    latching: bool = False
    phase: float = 0.0
    age: float = 0.0
    id: str | None = None
    gas: str | None = None
    nuisance: Nuisance | None = None


@dataclass(frozen=True)
class CameraSpec:
    """A camera that looks for a visible plume.

    ``detection_rate`` is the probability of detecting a visible plume in one scan;
    ``false_positives_per_hour`` the rate of alarms without a plume (a Poisson process);
    ``period`` the scan period in s and ``phase`` the first scan's offset in s.
    """

    name: str
    false_positives_per_hour: float
    detection_rate: float = DEFAULT_DETECTION_RATE
    period: float = DEFAULT_SCAN_PERIOD
    phase: float = 0.0
    id: str | None = None


@dataclass(frozen=True)
class Exceedance:
    """A detector reaching an alarm level for the first time: at ``t`` (s, the sample time) detector number
    ``detector`` (``name``) showed ``value`` (its unit) at or above set point ``setpoint`` of ``level``."""

    t: float
    detector: int
    name: str
    level: int
    value: float
    setpoint: float


@dataclass(frozen=True)
class CleanBlock:
    """Rows of readings a :class:`DetectorArray` would show in clean air (:meth:`DetectorArray.clean_block`):
    call ``times`` (s, every ``dt``), ``readings`` and ``over`` (rows x detectors), the lag state ``ys``
    after each call and the sample index ``kk`` of each row."""

    dt: float
    times: np.ndarray
    readings: np.ndarray
    over: np.ndarray
    ys: np.ndarray
    kk: np.ndarray
    ws: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.times)


@dataclass(frozen=True)
class GasBlock:
    """Rows a :class:`DetectorArray` would show for given inputs (:meth:`DetectorArray.gas_block`): call
    ``times`` (s), the inputs ``values``, ``readings`` and ``over`` (rows x detectors), the lag state ``ys``
    after each call, the sample index ``kk``, the nuisance wander ``ws``, the alarm levels ``active``
    (rows x set points x detectors) and ``level`` (the highest active level per row, what :meth:`levels`
    returns then), and ``stop``: the first row in which a detector reaches a level for the first time (an
    :class:`Exceedance`, made by the ordinary :meth:`DetectorArray.update`), or the number of rows."""

    times: np.ndarray
    values: np.ndarray
    readings: np.ndarray
    over: np.ndarray
    ys: np.ndarray
    kk: np.ndarray
    ws: np.ndarray | None
    active: np.ndarray
    level: np.ndarray
    stop: int

    def __len__(self) -> int:
        return len(self.times)


@dataclass(frozen=True)
class CameraAlarm:
    """A camera starting to detect at ``t`` (s, the scan time). ``true_positive`` is the simulation's
    knowledge that a plume was visible and detected (for analysis, not for the agents)."""

    t: float
    camera: int
    name: str
    true_positive: bool


@dataclass(frozen=True)
class FaultRecord:
    """A fault injected (``mode``) or cleared (``restore``) at drill time ``t`` (s)."""

    t: float
    name: str
    mode: str
    params: dict[str, float] = field(default_factory=dict)


# --- building specs from the site ------------------------------------------------------------------------
def _where(name: str, fld: str) -> str:
    return f"sensor {name!r}.{fld}"


def _canon_unit(unit: str, name: str, fld: str) -> str:
    u = unit.strip()
    if u.lower() in ("%lel", "lel%", "%lfl"):
        return "%LEL"
    if u.lower() == "ppm":
        return "ppm"
    raise InputError(f"unit {unit!r} is not a detector reading unit; expected ppm or %LEL "
                     "(convert kg/m3 with twin.gas first)", where=_where(name, fld))


def _conc_in(value: Any, unit: str, name: str, fld: str) -> float:
    """A number (taken in ``unit``) or a concentration string/Concentration that must be in ``unit``."""
    if isinstance(value, bool):
        raise InputError(f"expected a concentration in {unit}, got {value!r}", where=_where(name, fld))
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            value = parse_concentration(value, fld)
        except ValueError as exc:
            raise InputError(str(exc), where=_where(name, fld)) from None
    if isinstance(value, Concentration):
        u = _canon_unit(value.unit, name, fld)
        if u != unit:
            raise InputError(f"{value} is not in the detector's unit {unit}", where=_where(name, fld))
        return float(value.value)
    raise InputError(f"expected a concentration in {unit}, got {value!r}", where=_where(name, fld))


def _number(value: Any, name: str, fld: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a number, got {value!r}", where=_where(name, fld))
    return float(value)


def _duration(value: Any, name: str, fld: str) -> float:
    try:
        return parse_duration(value, fld)
    except ValueError as exc:
        raise InputError(str(exc), where=_where(name, fld)) from None


def _detector_unit(s: Sensor) -> str:
    """The reading unit: ``extra.unit``, else the set points', the noise's or ``extra.full_scale``'s unit,
    else the convention for the gas (%LEL for flammable hydrocarbons and hydrogen, ppm otherwise)."""
    name = s.name or s.id
    if "unit" in s.extra:
        return _canon_unit(str(s.extra["unit"]), name, "extra.unit")
    units = {_canon_unit(c.unit, name, "setpoints") for c in s.setpoints}
    if len(units) > 1:
        raise InputError(f"set points mix units ({', '.join(sorted(units))})", where=_where(name, "setpoints"))
    if units:
        return units.pop()
    if s.noise is not None:
        return _canon_unit(s.noise.unit, name, "noise")
    fs = s.extra.get("full_scale")
    if isinstance(fs, str):
        try:
            return _canon_unit(parse_concentration(fs, "extra.full_scale").unit, name, "extra.full_scale")
        except ValueError as exc:
            raise InputError(str(exc), where=_where(name, "extra.full_scale")) from None
    return "%LEL" if (s.gas or "").strip().upper() in _LEL_GASES else "ppm"


def spec_from_sensor(s: Sensor) -> DetectorSpec:
    """A :class:`DetectorSpec` for a gas detector of the site (defaults left as ``None``).

    Recognised ``extra`` keys: ``unit``, ``full_scale``, ``resolution``, ``hysteresis`` (concentrations in
    the detector's unit, or bare numbers in it), ``drift`` (unit/h), ``span_drift`` (1/h), ``latching``
    (bool), ``phase`` and ``age`` (durations; ``age`` is the time since the last calibration). Other keys
    are left alone. Raises :class:`InputError` naming the sensor and the field.
    """
    name = s.name or s.id
    if s.kind != "gas":
        raise InputError(f"kind {s.kind!r} is not a gas detector", where=_where(name, "kind"))
    unit = _detector_unit(s)
    sp = tuple(_conc_in(c, unit, name, f"setpoints[{i}]") for i, c in enumerate(s.setpoints))
    noise = _conc_in(s.noise, unit, name, "noise") if s.noise is not None else None
    ex = s.extra
    kw: dict[str, Any] = {}
    for key in ("full_scale", "resolution", "hysteresis"):
        if key in ex:
            kw[key] = _conc_in(ex[key], unit, name, f"extra.{key}")
    for key in ("drift", "span_drift"):
        if key in ex:
            kw[key] = _number(ex[key], name, f"extra.{key}")
    if "latching" in ex:
        if not isinstance(ex["latching"], bool):
            raise InputError(f"expected true or false, got {ex['latching']!r}", where=_where(name, "extra.latching"))
        kw["latching"] = ex["latching"]
    if "phase" in ex:
        kw["phase"] = _duration(ex["phase"], name, "extra.phase")
    if "age" in ex:
        kw["age"] = _duration(ex["age"], name, "extra.age") / 3600.0
    spec = DetectorSpec(name=name, id=s.id, gas=s.gas, unit=unit, setpoints=sp, t90=s.t90, noise=noise,
                        period=s.period, **kw)
    return replace(spec, nuisance=_nuisance_from_extra(resolve_spec(spec), ex, name))


NUISANCE_KEYS = ("nuisance", "wander", "wander_tau", "spike_rate", "spike_size", "exhaust_per_hour", "exhaust_ppm",
                 "maintenance_per_day", "maintenance_uninhibited", "cross")


def default_nuisance(spec: DetectorSpec) -> Nuisance:
    """The clean-air nuisance of a site's detector (``spec`` resolved), from the defaults in the module
    docstring ("Clean-air nuisance")."""
    fs = spec.full_scale or 0.0
    gas = (spec.gas or "").strip().upper()
    cross = CROSS_SENSITIVITY.get(gas, ()) if spec.unit == "ppm" else ()
    return Nuisance(wander=WANDER_FRACTION_OF_NOISE * (spec.noise or 0.0), wander_tau=WANDER_TAU,
                    spike_rate=SPIKE_RATE_PER_HOUR, spike_size=SPIKE_SIZE_FRACTION_OF_FS * fs,
                    maintenance_per_day=MAINTENANCE_PER_DAY, maintenance_uninhibited=MAINTENANCE_UNINHIBITED,
                    exhaust_ppm=EXHAUST_PPM, cross=cross)


def _nuisance_from_extra(spec: DetectorSpec, ex: dict, name: str) -> Nuisance | None:
    if ex.get("nuisance", True) is False:
        return None
    base = default_nuisance(spec)
    kw: dict[str, Any] = {}
    for key in ("wander", "spike_size"):
        if key in ex:
            kw[key] = _conc_in(ex[key], spec.unit, name, f"extra.{key}")
    if "wander_tau" in ex:
        kw["wander_tau"] = _duration(ex["wander_tau"], name, "extra.wander_tau")
    for key in ("spike_rate", "exhaust_per_hour", "exhaust_ppm", "maintenance_per_day", "maintenance_uninhibited"):
        if key in ex:
            v = _number(ex[key], name, f"extra.{key}")
            if v < 0 or (key == "maintenance_uninhibited" and v > 1):
                raise InputError(f"must be {'a share in [0, 1]' if key == 'maintenance_uninhibited' else '>= 0'}, "
                                 f"got {v:g}", where=_where(name, f"extra.{key}"))
            kw[key] = v
    if "cross" in ex:
        c = ex["cross"]
        if not isinstance(c, dict):
            raise InputError("expected a mapping gas: factor, e.g. {CO: 0.1}", where=_where(name, "extra.cross"))
        kw["cross"] = tuple((str(g), _number(f, name, f"extra.cross.{g}")) for g, f in c.items())
    if "nuisance" in ex and ex["nuisance"] is not True:
        raise InputError(f"expected true or false, got {ex['nuisance']!r}", where=_where(name, "extra.nuisance"))
    return replace(base, **kw)


def _default_full_scale(spec: DetectorSpec) -> float:
    if spec.unit == "%LEL":
        return DEFAULT_FULL_SCALE["%LEL"]
    gas = (spec.gas or "").strip().upper()
    if gas in DEFAULT_FULL_SCALE_PPM:
        return DEFAULT_FULL_SCALE_PPM[gas]
    if spec.setpoints:
        return FULL_SCALE_PER_SETPOINT * max(spec.setpoints)
    return FALLBACK_FULL_SCALE_PPM


def _default_resolution(unit: str, full_scale: float) -> float:
    if unit == "%LEL":
        return 1.0
    # 1 ppm for ranges of 100 ppm and more, one decade finer per decade below (0-20 ppm -> 0.1 ppm).
    return min(1.0, 10.0 ** (math.floor(math.log10(full_scale)) - 2))


def resolve_spec(spec: DetectorSpec) -> DetectorSpec:
    """Check ``spec`` and fill in every default except the drift rates (drawn per detector).

    Raises :class:`InputError` naming the detector and the field for a bad unit, a non-positive period or
    full scale, a negative T90/noise/resolution/hysteresis/phase/age, set points that are not strictly
    ascending, not positive or above full scale.
    """
    name = spec.name
    if spec.unit not in UNITS:  # accept aliases such as "%lel"; anything else raises naming the field
        spec = replace(spec, unit=_canon_unit(spec.unit, name, "unit"))

    def finite(v: float | None, fld: str) -> None:
        if v is not None and not math.isfinite(v):
            raise InputError(f"must be a finite number, got {v!r}", where=_where(name, fld))

    for fld in ("t90", "noise", "period", "full_scale", "resolution", "drift", "span_drift", "hysteresis",
                "phase", "age"):
        finite(getattr(spec, fld), fld)
    for fld in ("t90", "noise", "resolution", "hysteresis", "phase", "age"):
        v = getattr(spec, fld)
        if v is not None and v < 0:
            raise InputError(f"must not be negative, got {v:g}", where=_where(name, fld))
    for fld in ("period", "full_scale"):
        v = getattr(spec, fld)
        if v is not None and v <= 0:
            raise InputError(f"must be positive, got {v:g}", where=_where(name, fld))
    sp = tuple(float(x) for x in spec.setpoints)
    for i, x in enumerate(sp):
        finite(x, f"setpoints[{i}]")
        if x <= 0:
            raise InputError(f"set point {x:g} {spec.unit} must be positive", where=_where(name, f"setpoints[{i}]"))
    if any(b <= a for a, b in zip(sp, sp[1:], strict=False)):
        raise InputError(f"set points must be strictly ascending, got {', '.join(f'{x:g}' for x in sp)}",
                         where=_where(name, "setpoints"))
    t90 = DEFAULT_T90[spec.unit] if spec.t90 is None else spec.t90
    period = DEFAULT_PERIOD if spec.period is None else spec.period
    fs = _default_full_scale(replace(spec, setpoints=sp)) if spec.full_scale is None else spec.full_scale
    if sp and sp[-1] > fs:
        raise InputError(f"set point {sp[-1]:g} {spec.unit} is above full scale {fs:g} {spec.unit} and can "
                         "never be reached", where=_where(name, f"setpoints[{len(sp) - 1}]"))
    noise = NOISE_FRACTION_OF_FS * fs if spec.noise is None else spec.noise
    res = _default_resolution(spec.unit, fs) if spec.resolution is None else spec.resolution
    if spec.hysteresis is None:
        # Capped at half the lowest set point: the 2 %FSD default assumes set points well up the range,
        # and a hysteresis reaching down to 0 would keep a low level on for ever.
        hyst = HYSTERESIS_FRACTION_OF_FS * fs
        if sp:
            hyst = min(hyst, 0.5 * sp[0])
    else:
        hyst = spec.hysteresis
        if sp and hyst >= sp[0]:
            raise InputError(f"hysteresis {hyst:g} {spec.unit} must be below the lowest set point {sp[0]:g} "
                             f"{spec.unit}, or that level never clears", where=_where(name, "hysteresis"))
    return replace(spec, setpoints=sp, t90=float(t90), period=float(period), full_scale=float(fs),
                   noise=float(noise), resolution=float(res), hysteresis=float(hyst))


# --- clean-air nuisance ----------------------------------------------------------------------------------
NUISANCE_EPOCH = 3600.0  # s; nuisance events are drawn an hour at a time, whatever the callers' steps


class _NuisanceState:
    """The nuisance part of every detector's reading (unit), on its own random streams: an AR(1) zero
    wander (one normal draw per detector per call) and events (spikes, exhaust, uninhibited bump tests)
    drawn an epoch at a time, so the values at given times do not depend on how calls are grouped.
    :meth:`peek` computes rows without changing the state; :meth:`commit` keeps them."""

    def __init__(self, specs: Sequence[DetectorSpec], rng: np.random.Generator, start: float):
        n = len(specs)
        nz = [s.nuisance or Nuisance() for s in specs]
        self.wsd = np.array([x.wander for x in nz])
        self.tau = np.array([max(x.wander_tau, 1e-9) for x in nz])
        self.has_wander = bool(self.wsd.any())
        self.specs = nz
        self.top = np.array([(sp.setpoints[-1] if sp.setpoints else 0.0) for sp in specs])
        self.bump = np.array([_bump_gas(sp) for sp in specs])
        self.co = np.array([1.0 if (sp.gas or "").strip().upper() == "CO" and sp.unit == "ppm"
                            else x.factor("CO") for sp, x in zip(specs, nz, strict=True)])
        self.rng_w, self.rng_e = rng.spawn(2)
        # the heads ran before the run began: the wander starts from its stationary distribution
        self.w = self.wsd * self.rng_w.standard_normal(n)
        self.t = float(start)
        self.epochs = 0
        self.start = float(start)
        self.ev: list[np.ndarray] = [np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0)]
        self.zbuf = np.zeros((0, n))
        self.zcur = 0

    def _events_until(self, t: float) -> None:
        n = len(self.specs)
        while self.start + self.epochs * NUISANCE_EPOCH <= t:
            e0 = self.start + self.epochs * NUISANCE_EPOCH
            rows = []
            for kind in range(3):
                if kind == 0:
                    rate = np.array([x.spike_rate for x in self.specs]) / 3600.0
                    mean = np.array([x.spike_size for x in self.specs])
                    dur = np.array([x.spike_duration for x in self.specs])
                elif kind == 1:
                    rate = np.array([x.exhaust_per_hour for x in self.specs]) / 3600.0
                    mean = np.array([x.exhaust_ppm for x in self.specs]) * self.co
                    dur = np.array([x.exhaust_duration for x in self.specs])
                else:
                    rate = np.array([x.maintenance_per_day * x.maintenance_uninhibited for x in self.specs]) / 86400.0
                    mean = self.bump
                    dur = np.array([x.maintenance_duration for x in self.specs])
                k = self.rng_e.poisson(rate * NUISANCE_EPOCH)  # drawn for every detector: a fixed stream use
                det = np.repeat(np.arange(n), k)
                t0 = e0 + self.rng_e.random(det.size) * NUISANCE_EPOCH
                amp = self.rng_e.exponential(1.0, det.size) * mean[det] if kind < 2 else mean[det]
                keep = amp != 0
                rows.append((det[keep], t0[keep], t0[keep] + dur[det[keep]], amp[keep]))
            self.epochs += 1
            for i in range(4):
                self.ev[i] = np.concatenate([self.ev[i]] + [r[i] for r in rows])

    def peek(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nuisance (m, n) at ``times`` (ascending, after the last committed time) and the wander state
        after each row."""
        m, n = len(times), len(self.specs)
        self._events_until(float(times[-1]))
        vals = np.zeros((m, n))
        ws = np.zeros((m, n))
        if self.has_wander:
            have = self.zbuf.shape[0] - self.zcur
            if have < m:
                more = self.rng_w.standard_normal((max(m - have, 256), n))
                self.zbuf = np.concatenate([self.zbuf[self.zcur:], more])
                self.zcur = 0
            z = self.zbuf[self.zcur:self.zcur + m]
            w, last = self.w, self.t
            for j in range(m):  # AR(1) with the exact decay over each interval
                phi = np.exp(-(times[j] - last) / self.tau)
                w = phi * w + self.wsd * np.sqrt(1.0 - phi * phi) * z[j]
                ws[j] = w
                last = times[j]
            vals += ws
        det, t0, t1, amp = self.ev
        if det.size:
            act = (t0 <= times[-1]) & (t1 > times[0])
            for d, a, b, x in zip(det[act], t0[act], t1[act], amp[act], strict=True):
                vals[(times >= a) & (times < b), d] += x
        return vals, ws

    def commit(self, times: np.ndarray, ws: np.ndarray, j: int) -> None:
        if self.has_wander:
            self.w = ws[j].copy()
            self.zcur += j + 1
        self.t = float(times[j])
        if self.ev[0].size > 64:  # forget events that ended before now (later calls are after it)
            live = self.ev[2] > self.t
            self.ev = [a[live] for a in self.ev]


def _bump_gas(spec: DetectorSpec) -> float:
    """Test gas a bump test shows (unit): 25 ppm H2S, 100 ppm CO or 50 %LEL (a usual four-gas test
    mixture), else 1.2 x the highest set point; never above full scale."""
    g = (spec.gas or "").strip().upper()
    v = {"H2S": 25.0, "CO": 100.0}.get(g) if spec.unit == "ppm" else 50.0
    if v is None:
        v = 1.2 * (spec.setpoints[-1] if spec.setpoints else 0.5 * (spec.full_scale or 0.0))
    return float(min(v, spec.full_scale or v))


# --- the detector array ----------------------------------------------------------------------------------
class _Named:
    """Name/id lookup shared by both arrays."""

    names: list[str]
    ids: list[str | None]
    _kind = "detector"

    def _build_index(self) -> None:
        idx: dict[str, list[int]] = {}
        for i, (n, d) in enumerate(zip(self.names, self.ids, strict=True)):
            for key in {n, d} - {None}:
                idx.setdefault(key, []).append(i)
        self._index = idx

    def index(self, name: str) -> int:
        """Position of the detector with this name or id; :class:`InputError` if none or ambiguous."""
        hits = self._index.get(name, [])
        if len(hits) == 1:
            return hits[0]
        if not hits:
            shown = ", ".join(sorted(self.names)[:30]) + (" ..." if len(self.names) > 30 else "")
            raise InputError(f"{name!r} matches no {self._kind}; candidates: {shown or '(none)'}",
                             where=f"{self._kind} {name!r}")
        raise InputError(f"{name!r} matches more than one {self._kind}; use the id",
                         where=f"{self._kind} {name!r}")

    def __len__(self) -> int:
        return len(self.names)


class DetectorArray(_Named):
    """All point gas detectors of a site, vectorised (see the module docstring for the model).

    Parameters
    ----------
    specs:
        One :class:`DetectorSpec` per detector (defaults are filled in and checked).
    rng:
        The run's ``sensors`` Generator; every random number comes from it.
    start:
        Drill time of the array's creation, s. The first samples fall at ``start + phase``.
    initial:
        Lag state at ``start`` in each detector's unit (default 0: clean air). Pass the background
        concentration to start in equilibrium.

    Attributes (arrays have one entry per detector, in ``specs`` order)
    --------------------------------------------------------------------
    specs: resolved specs. names, ids, units: lists.
    reading: the value each detector shows now (its unit). fresh: True where the last update produced a new
    sample. sample_time: time of each detector's last sample (s, NaN before the first).
    fault: True for revealed faults (``dead``). over_range: True where the last sample hit full scale.
    zero_drift (unit/h), span_drift (1/h): realised drift rates (read only).
    exceedances: every first crossing so far, in time order. new_exceedances: those of the last update.
    faults_log: every :meth:`fail`/:meth:`restore` with its time.
    """

    _kind = "detector"

    def __init__(self, specs: Sequence[DetectorSpec], rng: np.random.Generator, *, start: float = 0.0,
                 initial: ArrayLike | None = None):
        self.specs = [resolve_spec(s) for s in specs]
        n = len(self.specs)
        self.names = [s.name for s in self.specs]
        self.ids = [s.id for s in self.specs]
        self.units = [s.unit for s in self.specs]
        self._build_index()
        self._rng = rng
        f64 = np.float64

        def col(attr: str) -> np.ndarray:
            return np.array([getattr(s, attr) for s in self.specs], dtype=f64)

        t90 = col("t90")
        # tau floored at 1 ns to avoid dividing by zero; T90 = 0 ("no lag") is handled in update().
        self._inv_tau = 1.0 / np.maximum(t90 / LN10, 1e-9)
        self._instant = np.flatnonzero(t90 == 0)
        self._period = col("period")
        self._phase = col("phase")
        self._noise = col("noise")
        self._fs = col("full_scale")
        self._res = col("resolution")
        self._hyst = col("hysteresis")
        # lowest value shown (unit): the transmitter's under-range, so clean-air noise is not clipped at zero
        # (on the display's resolution grid)
        under = UNDER_RANGE_FRACTION_OF_FS * self._fs
        self._floor = -np.where(self._res > 0, np.floor(under / np.where(self._res > 0, self._res, 1.0)) * self._res, under)
        self._age = col("age")
        self._latching = np.array([s.latching for s in self.specs], dtype=bool)
        # Drift rates: draw for every detector (fixed stream use), then honour explicit values.
        z = rng.standard_normal((2, n))
        zsd = np.array([ZERO_DRIFT_SD[s.unit] for s in self.specs], dtype=f64)
        ssd = np.array([SPAN_DRIFT_SD[s.unit] for s in self.specs], dtype=f64)
        self.zero_drift = np.array([z[0, i] * zsd[i] if s.drift is None else s.drift
                                    for i, s in enumerate(self.specs)], dtype=f64)
        self.span_drift = np.array([z[1, i] * ssd[i] if s.span_drift is None else s.span_drift
                                    for i, s in enumerate(self.specs)], dtype=f64)
        # Set points as rows (level j of every detector is one contiguous row), padded with +inf.
        k = max((len(s.setpoints) for s in self.specs), default=0)
        self._sp = np.full((k, n), np.inf)
        for i, s in enumerate(self.specs):
            self._sp[: len(s.setpoints), i] = s.setpoints
        self._sp_off = self._sp - self._hyst  # where each level clears
        self._active = np.zeros((k, n), dtype=bool)
        self._ever = np.zeros((k, n), dtype=bool)
        self._level = np.zeros(n, dtype=np.int8)  # highest active level, kept in step with _active
        # State.
        self._start = float(start)
        self._t = float(start)
        self._y = np.zeros(n) if initial is None else np.broadcast_to(np.asarray(initial, f64), (n,)).copy()
        self._u = self._y.copy()
        self._origin = self._start + self._phase  # time of sample 0, s
        self._k = np.zeros(n)  # index of each detector's next sample (float: exact up to 2**53)
        self.reading = np.zeros(n)
        self.fresh = np.zeros(n, dtype=bool)
        self.sample_time = np.full(n, np.nan)
        self.over_range = np.zeros(n, dtype=bool)
        # Faults.
        self._mode = np.zeros(n, dtype=np.int8)
        self._gain = np.ones(n)
        self._offset = np.zeros(n)
        self._frozen = np.zeros(n)
        self._n_faulted = 0
        self.exceedances: list[Exceedance] = []
        self.new_exceedances: list[Exceedance] = []
        self.faults_log: list[FaultRecord] = []
        # Speed: one sampling grid for all detectors is the common case and is scheduled with scalars;
        # work buffers avoid allocating per step; the lag factor is cached for a repeated step.
        self._uniform = n > 0 and bool(np.all(self._origin == self._origin[0]) and np.all(self._period == self._period[0]))
        self._all_res = bool(np.all(self._res > 0))
        self._inv_res = np.where(self._res > 0, 1.0 / np.where(self._res > 0, self._res, 1.0), 0.0)
        self._age_uniform = n > 0 and bool(np.all(self._age == self._age[0]))
        self._has_drift = bool(np.any(self.zero_drift) or np.any(self.span_drift))
        self._zbuf = np.zeros((0, n))  # normal draws read ahead by clean_block, used first by later samples
        self._zcur = 0
        # clean-air nuisance on child streams of its own (the noise stream above is unchanged by it)
        self._nuis = _NuisanceState(self.specs, rng, self._start) if any(sp.nuisance for sp in self.specs) else None
        self._t_call = self._start
        self._cache_dt = math.nan
        self._cache_a = np.ones(n)

    @classmethod
    def from_sensors(cls, sensors: Iterable[Sensor], rng: np.random.Generator, *, start: float = 0.0,
                     initial: ArrayLike | None = None) -> DetectorArray:
        """An array of the given gas detectors (kind ``gas``); see :func:`spec_from_sensor`."""
        return cls([spec_from_sensor(s) for s in sensors], rng, start=start, initial=initial)

    # -- time stepping ------------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """The array's clock: the time of the last update, s."""
        return self._t

    def update(self, t: float, true_values: ArrayLike) -> np.ndarray:
        """Advance to drill time ``t`` (s) and return what every detector shows (a copy, each in its unit).

        ``true_values`` is the true concentration at each detector at ``t`` in its unit (a scalar is
        broadcast); it holds until the next call. Detectors whose sample time fell in ``(last t, t]``
        take a new reading at their latest sample time (:attr:`fresh`); the others keep showing their
        last reading. A call that produces any sample draws one normal number per detector.
        """
        t = float(t)
        n = len(self.names)
        if not t >= self._t:
            raise ValueError(f"update at t={t!r} s is before the array's time {self._t} s")
        u_new = np.asarray(true_values, dtype=np.float64)
        if u_new.shape != (n,) and u_new.ndim != 0:
            raise ValueError(f"true_values has shape {u_new.shape}, expected ({n},)")
        tol = 1e-9 * max(1.0, abs(t))
        # Which detectors sample in (last t, t], and at what time (their latest sample time <= t).
        due: np.ndarray | None = None  # None: all of them
        s: float | np.ndarray = t
        if self._uniform:
            kk = math.floor((t + tol - self._origin[0]) / self._period[0])
            any_due = kk >= self._k[0]
            if any_due:
                s = self._origin[0] + kk * self._period[0]
                self._k[:] = kk + 1
        else:
            kk_arr = np.floor((t + tol - self._origin) / self._period)
            mask = kk_arr >= self._k
            any_due = bool(mask.any())
            if any_due:
                s = self._origin + kk_arr * self._period
                np.copyto(self._k, kk_arr + 1.0, where=mask)
                due = None if mask.all() else mask
        y_s = self._advance(t, s, due)
        self._t_call = t
        np.copyto(self._u, u_new)  # the new input holds from t on (copied: the caller may reuse its buffer)
        if self._instant.size:
            # Without lag the state is the input itself, including the value given at t (a lagged state
            # only depends on the input before t, which would show a no-lag detector one call late).
            self._y[self._instant] = self._u[self._instant]
            if y_s is not self._y:  # samples before t keep the held value; one at t sees the new one
                at_t = np.broadcast_to(np.asarray(s) == t, y_s.shape)[self._instant]
                y_s[self._instant[at_t]] = self._u[self._instant[at_t]]
        self._t = t
        self.fresh[:] = False
        self.new_exceedances = []
        if any_due:
            self._sample(y_s, s, due)
        return self.reading.copy()

    def _advance(self, t: float, s: float | np.ndarray, due: np.ndarray | None) -> np.ndarray:
        """Advance the lag from the array's time to ``t`` with the held input; return the lag at the sample
        times ``s`` (for every detector; only the due ones are used)."""
        dt = t - self._t
        y, u = self._y, self._u
        if dt <= 0:
            return y
        if dt != self._cache_dt:
            self._cache_a = np.exp(-dt * self._inv_tau)
            self._cache_dt = dt
        exact = (s == t) if isinstance(s, float) else bool(np.all((s == t) if due is None else (s == t) | ~due))
        y_s = None
        if not exact:  # some sample falls before t: evaluate the lag there too
            ds = np.maximum(np.asarray(s) - self._t, 0.0)
            y_s = u + (y - u) * np.exp(-ds * self._inv_tau)
        np.subtract(y, u, out=y)
        y *= self._cache_a
        y += u
        return y if y_s is None else y_s

    def _shown(self, y_s: np.ndarray, s: float | np.ndarray, z: np.ndarray,
               nu: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Displayed values and over-range flags from the lag state ``y_s`` at sample times ``s`` with
        standard-normal draws ``z`` (steps 3-5 of the module docstring). Works on one row of detectors
        (``(n,)``, ``s`` a scalar or ``(n,)``) or on a block of rows (``(m, n)``, ``s`` of shape ``(m, 1)``):
        the same element-wise operations in the same order, so a block gives the per-sample values bit
        for bit."""
        faulted = self._n_faulted > 0
        if self._has_drift:
            age = self._age[0] if self._age_uniform else self._age
            h = age + (s - self._start) / 3600.0  # hours since calibration (a scalar in the common case)
            val = self.span_drift * h
            val += 1.0
            val *= y_s
            if faulted:
                val *= self._gain
            val += self.zero_drift * h
        elif faulted:
            val = self._gain * y_s
        else:
            val = np.array(y_s, dtype=np.float64, copy=True)
        if faulted:
            val += self._offset
        if nu is not None:  # clean-air nuisance (wander, spikes, exhaust, bump tests)
            val += nu
        val += z * self._noise
        if self._all_res:
            val *= self._inv_res
            np.rint(val, out=val)
            val *= self._res
        else:
            q = np.broadcast_to(self._res > 0, val.shape)
            np.copyto(val, np.rint(val * self._inv_res) * self._res, where=q)
        over = val >= self._fs
        np.minimum(val, self._fs, out=val)
        np.maximum(val, self._floor, out=val)
        if faulted:
            np.copyto(val, np.broadcast_to(self._frozen, val.shape), where=np.broadcast_to(self._mode == STUCK, val.shape))
            val[..., self._mode == DEAD] = 0.0
        return val, over

    def _noise_rows(self, m: int) -> np.ndarray:
        """The next ``m`` rows of standard-normal draws (one per detector each) without consuming them.
        Rows drawn ahead are kept and used, in order, by the following samples, so reading ahead in
        blocks leaves the stream exactly as sample-by-sample draws would."""
        n = len(self.names)
        have = self._zbuf.shape[0] - self._zcur
        if have < m:
            more = self._rng.standard_normal((max(m - have, 256), n))
            self._zbuf = np.concatenate([self._zbuf[self._zcur:], more])
            self._zcur = 0
        return self._zbuf[self._zcur:self._zcur + m]

    def _take_noise(self) -> np.ndarray:
        if self._zcur < self._zbuf.shape[0]:
            z = self._zbuf[self._zcur]
            self._zcur += 1
            return z
        return self._rng.standard_normal(len(self.names))

    def _sample(self, y_s: np.ndarray, s: float | np.ndarray, due: np.ndarray | None) -> None:
        """Turn the lag state at the sample times into displayed readings, alarm levels and events."""
        # One draw per detector whatever its state, so faults do not shift the stream.
        nu = None
        if self._nuis is not None:
            times = np.array([self._t_call])
            rows, ws = self._nuis.peek(times)
            self._nuis.commit(times, ws, 0)
            nu = rows[0]
        val, over = self._shown(y_s, s, self._take_noise(), nu)
        if due is None:
            self.reading[:] = val
            self.sample_time[:] = s
            self.over_range[:] = over
            self.fresh[:] = True
        else:
            np.copyto(self.reading, val, where=due)
            np.copyto(self.sample_time, s, where=due)
            np.copyto(self.over_range, over, where=due)
            np.copyto(self.fresh, due)
        if self._n_faulted:
            self.fresh[self._mode == DEAD] = False
        self._levels(due)

    # -- clean-air blocks ----------------------------------------------------------------------------------
    def clean_block(self, dt: float, m: int) -> CleanBlock | None:
        """What the next ``m`` calls ``update(time + k dt, 0)`` (k = 1..m) would show, computed at once
        without changing the array; ``None`` when such a block cannot be computed exactly (sampling not
        on every call, a non-zero input held, an alarm level on). The block stops before the first row
        in which a reading reaches a first set point (alarm levels must then be evaluated sample by
        sample). Commit the rows used with :meth:`commit_clean`."""
        n = len(self.names)
        if n == 0 or m <= 0 or not self._uniform or self._period[0] != dt or self._u.any() or self._active.any():
            return None
        t0 = self._t
        times = t0 + dt * np.arange(1, m + 1, dtype=np.float64)
        tol = 1e-9 * np.maximum(1.0, np.abs(times))
        kk = np.floor((times + tol - self._origin[0]) / self._period[0])
        s = self._origin[0] + kk * self._period[0]
        if kk[0] != self._k[0] or not np.array_equal(s, times):
            return None  # samples not exactly at the call times
        a = self._cache_a if dt == self._cache_dt else np.exp(-dt * self._inv_tau)
        rows = np.empty((m + 1, n))
        rows[0] = self._y
        rows[1:] = a
        ys = np.multiply.accumulate(rows, axis=0)[1:]  # ((y a) a) ... : the sample-by-sample products
        z = self._noise_rows(m)
        nu, ws = self._nuis.peek(times) if self._nuis is not None else (None, None)
        val, over = self._shown(ys, times[:, None], z, nu)
        if self._sp.shape[0]:
            hit = np.flatnonzero((val >= self._sp[0]).any(axis=1))
            if hit.size:
                k = int(hit[0])
                times, val, over, ys, kk = times[:k], val[:k], over[:k], ys[:k], kk[:k]
        return CleanBlock(dt, times, val, over, ys, kk, ws)

    def gas_block(self, times: np.ndarray, values: np.ndarray) -> GasBlock | None:
        """What ``update(times[k], values[k])`` for every row k in turn would show, computed at once without
        changing the array (``values``: rows x detectors, the true concentration in each unit). ``None`` when
        that cannot be done exactly: sampling not exactly at every call, or calls not evenly spaced. Alarm
        levels are followed row by row (hysteresis, latching); the block's ``stop`` is the first row that
        records an :class:`Exceedance`. Commit the rows used with :meth:`commit_gas`."""
        n, m = len(self.names), len(times)
        if n == 0 or m == 0 or not self._uniform:
            return None
        steps = np.diff(np.concatenate([[self._t], times]))
        dt = float(steps[0])
        if dt <= 0 or not np.all(steps == dt) or self._period[0] != dt:
            return None
        tol = 1e-9 * np.maximum(1.0, np.abs(times))
        kk = np.floor((times + tol - self._origin[0]) / self._period[0])
        if kk[0] != self._k[0] or not np.array_equal(self._origin[0] + kk * self._period[0], times):
            return None  # samples not exactly at the call times
        a = self._cache_a if dt == self._cache_dt else np.exp(-dt * self._inv_tau)
        values = np.asarray(values, dtype=np.float64)
        ys = np.empty((m, n))
        y, u = self._y, self._u
        inst = self._instant
        for k in range(m):  # the lag with the input held over each call, as _advance computes it
            y = (y - u) * a + u
            u = values[k]
            if inst.size:
                y[inst] = u[inst]
            ys[k] = y
        z = self._noise_rows(m)
        nu, ws = self._nuis.peek(times) if self._nuis is not None else (None, None)
        val, over = self._shown(ys, times[:, None], z, nu)
        nl = self._sp.shape[0]
        active = np.zeros((m, nl, n), dtype=bool)
        level = np.zeros((m, n), dtype=np.int8)
        stop = m
        if nl:
            rows = np.arange(m)[:, None]
            for j in range(nl):
                # the relay of _levels: on at its set point, held while at or above the clearing value
                # (or latched), off otherwise; vectorised as "the last set row comes after the last clear row"
                on = val >= self._sp[j]
                hold = (val >= self._sp_off[j]) | self._latching
                last_on = np.maximum.accumulate(np.where(on, rows, -1), axis=0)
                last_off = np.maximum.accumulate(np.where(~on & ~hold, rows, -1), axis=0)
                act = (last_on > last_off) | ((last_off < 0) & self._active[j])
                active[:, j] = act
                level[act] = j + 1
                rising = act & ~self._ever[j]
                if self._n_faulted:
                    rising &= self._mode != INHIBITED
                hit = np.flatnonzero(rising.any(axis=1))
                if hit.size:
                    stop = min(stop, int(hit[0]))
        return GasBlock(times, values, val, over, ys, kk, ws, active, level, stop)

    def commit_gas(self, block: GasBlock, k: int) -> None:
        """Leave the array as ``update(block.times[i], block.values[i])`` for the rows ``i < k`` would
        (``k`` at most ``block.stop``: no first crossing in those rows)."""
        if k <= 0:
            return
        if k > block.stop:
            raise ValueError(f"row {k} is past the block's first exceedance (row {block.stop})")
        j = k - 1
        self._commit_rows(block, j, float(block.times[0] - self._t))
        self._u = block.values[j].copy()
        self._t_call = self._t
        if self._sp.shape[0]:
            self._active[:] = block.active[j]
            self._level[:] = block.level[j]

    def clean_readings(self, dt: float, steps: int) -> np.ndarray:
        """Readings (steps x detectors) of ``update(time + k dt, 0)`` for k = 1..steps, in blocks where
        possible (the same values as the calls one by one)."""
        out = np.empty((steps, len(self.names)))
        k = 0
        while k < steps:
            b = self.clean_block(dt, min(steps - k, 4096))
            if b is None or len(b) == 0:
                out[k] = self.update(self._t + dt, 0.0)
                k += 1
                continue
            out[k:k + len(b)] = b.readings
            self.commit_clean(b, len(b) - 1)
            k += len(b)
        return out

    def commit_clean(self, block: CleanBlock, j: int) -> None:
        """Leave the array as ``update(t, 0)`` at the block's times up to row ``j`` (inclusive) would."""
        self._commit_rows(block, j, block.dt)

    def _commit_rows(self, block: CleanBlock | GasBlock, j: int, dt: float) -> None:
        """The state after the rows ``0..j`` of a block taken at steps of ``dt`` s: lag, clock, sample
        index, the noise and nuisance draws used, and what row ``j`` shows."""
        self._y = block.ys[j].copy()
        self._t = float(block.times[j])
        self._k[:] = block.kk[j] + 1
        if dt != self._cache_dt:
            self._cache_a = np.exp(-dt * self._inv_tau)
            self._cache_dt = dt
        self._zcur += j + 1
        if self._nuis is not None:
            self._nuis.commit(block.times, block.ws, j)
        self.reading[:] = block.readings[j]
        self.sample_time[:] = block.times[j]
        self.over_range[:] = block.over[j]
        self.fresh[:] = True
        if self._n_faulted:
            self.fresh[self._mode == DEAD] = False
        self.new_exceedances = []

    def _levels(self, due: np.ndarray | None) -> None:
        """Update the alarm levels of the detectors that just sampled; record first crossings."""
        k = self._sp.shape[0]
        if k == 0:
            return
        r = self.reading
        # Nothing on and nothing reaching a first set point: no level can change (the usual quiet case).
        if not self._active.any() and not (r >= self._sp[0]).any():
            return
        inhibited = self._mode == INHIBITED if self._n_faulted else None
        found: list[tuple[np.ndarray, int]] = []
        self._level[:] = 0
        for j in range(k):
            act = self._active[j]
            new = (r >= self._sp[j]) | (act & ((r >= self._sp_off[j]) | self._latching))
            if due is not None:
                new = np.where(due, new, act)
            self._active[j] = new
            self._level[new] = j + 1
            rising = new & ~self._ever[j]
            if inhibited is not None:
                rising &= ~inhibited
            if rising.any():
                det = np.flatnonzero(rising)
                self._ever[j, det] = True
                found.append((det, j))
        if not found:
            return
        events = [Exceedance(float(self.sample_time[i]), int(i), self.names[i], j + 1, float(r[i]),
                             float(self._sp[j, i])) for det, j in found for i in det]
        events.sort(key=lambda e: (e.t, e.detector, e.level))
        self.new_exceedances = events
        self.exceedances.extend(events)

    # -- queries --------------------------------------------------------------------------------------------
    def levels(self) -> np.ndarray:
        """Highest alarm level on per detector (int8): 0 none, 1 first set point, 2 second, ...

        Inhibited detectors report 0. Levels follow the displayed reading with hysteresis (and latching
        where configured), so a dead detector (showing 0) drops its non-latching levels.
        """
        out = self._level.copy()
        if self._n_faulted:
            out[self._mode == INHIBITED] = 0
        return out

    @property
    def fault(self) -> np.ndarray:
        """True where the detector signals a fault to the controller (``dead``)."""
        return self._mode == DEAD

    @property
    def inhibited(self) -> np.ndarray:
        """True where the detector is inhibited (readings shown, alarms suppressed)."""
        return self._mode == INHIBITED

    def mode(self, name: str) -> str:
        """The fault mode of one detector: ``ok``, ``dead``, ``stuck``, ``out_of_calibration``, ``inhibited``."""
        return _MODE_NAMES[int(self._mode[self.index(name)])]

    # -- faults ---------------------------------------------------------------------------------------------
    def fail(self, name: str, mode: str, **params: float) -> None:
        """Inject a fault into detector ``name`` (name or id) from now on.

        Modes and parameters: ``dead``; ``stuck`` (``value``: the value to freeze at, default the present
        reading); ``out_of_calibration`` (``gain``: factor on the true response, e.g. 0.6 shows 60 %;
        ``offset``: added, in the detector's unit; at least one); ``inhibited``. A new fault replaces the
        previous one. Raises :class:`InputError` naming the detector and the field.
        """
        i = self.index(name)
        label = self.names[i]
        if mode not in MODES:
            raise InputError(f"unknown failure mode {mode!r}; expected one of {', '.join(MODES)} (or restore)",
                             where=_where(label, "mode"))
        extra = set(params) - _MODE_PARAMS[mode]
        if extra:
            allowed = ", ".join(sorted(_MODE_PARAMS[mode])) or "none"
            raise InputError(f"mode {mode!r} takes no parameter {sorted(extra)[0]!r} (allowed: {allowed})",
                             where=_where(label, sorted(extra)[0]))
        vals: dict[str, float] = {}
        for key, v in params.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"expected a finite number, got {v!r}", where=_where(label, key))
            vals[key] = float(v)
        self._clear(i)
        code = MODES[mode]
        if code == STUCK:
            self._frozen[i] = vals.get("value", self.reading[i])
        elif code == OUT_OF_CALIBRATION:
            if not vals:
                raise InputError("out_of_calibration needs gain and/or offset (e.g. gain: 0.6 shows 60 %)",
                                 where=_where(label, "gain"))
            if vals.get("gain", 1.0) < 0:
                raise InputError(f"gain must not be negative, got {vals['gain']:g}", where=_where(label, "gain"))
            self._gain[i] = vals.get("gain", 1.0)
            self._offset[i] = vals.get("offset", 0.0)
        elif code == DEAD:
            self.reading[i] = 0.0
            self._active[:, i] &= self._latching[i]
            self._refresh_level([i])
        self._mode[i] = code
        self._n_faulted = int(np.count_nonzero(self._mode))
        self.faults_log.append(FaultRecord(self._t, label, mode, vals))

    def restore(self, name: str) -> None:
        """Clear any fault of detector ``name``: from its next sample it shows the present gas again."""
        i = self.index(name)
        self._clear(i)
        self._n_faulted = int(np.count_nonzero(self._mode))
        self.faults_log.append(FaultRecord(self._t, self.names[i], "restore"))

    def _clear(self, i: int) -> None:
        self._mode[i] = OK
        self._gain[i] = 1.0
        self._offset[i] = 0.0

    def reset_latches(self, name: str | None = None) -> None:
        """Reset latched levels (of one detector, or all) whose reading has fallen below the clear point."""
        cols = slice(None) if name is None else [self.index(name)]
        self._active[:, cols] &= self.reading[cols] >= self._sp_off[:, cols]
        self._refresh_level(cols)

    def _refresh_level(self, cols: slice | list[int]) -> None:
        lvl = np.zeros(self._active[:, cols].shape[1], dtype=np.int8)
        for j in range(self._active.shape[0]):
            lvl[self._active[j, cols]] = j + 1
        self._level[cols] = lvl


# --- cameras ---------------------------------------------------------------------------------------------
def camera_spec_from_sensor(s: Sensor) -> CameraSpec:
    """A :class:`CameraSpec` from a site sensor of kind ``camera``.

    ``extra.false_positives_per_hour`` is required (no sourced default); ``extra.detection_rate``
    defaults to :data:`DEFAULT_DETECTION_RATE`; the scan period is ``Sensor.period`` (default 1 s) and
    ``extra.phase`` offsets the first scan.
    """
    name = s.name or s.id
    if s.kind != "camera":
        raise InputError(f"kind {s.kind!r} is not a camera", where=_where(name, "kind"))
    if "false_positives_per_hour" not in s.extra:
        raise InputError("a camera needs false_positives_per_hour (no sourced default exists)",
                         where=_where(name, "extra.false_positives_per_hour"))
    fp = _number(s.extra["false_positives_per_hour"], name, "extra.false_positives_per_hour")
    kw: dict[str, Any] = {}
    if "detection_rate" in s.extra:
        kw["detection_rate"] = _number(s.extra["detection_rate"], name, "extra.detection_rate")
    if s.period is not None:
        kw["period"] = float(s.period)
    if "phase" in s.extra:
        kw["phase"] = _duration(s.extra["phase"], name, "extra.phase")
    return CameraSpec(name=name, id=s.id, false_positives_per_hour=fp, **kw)


def _check_camera(c: CameraSpec) -> None:
    if not (0.0 <= c.detection_rate <= 1.0):
        raise InputError(f"must be a probability in [0, 1], got {c.detection_rate:g}",
                         where=_where(c.name, "detection_rate"))
    if not (c.false_positives_per_hour >= 0 and math.isfinite(c.false_positives_per_hour)):
        raise InputError(f"must be a finite rate >= 0 per hour, got {c.false_positives_per_hour:g}",
                         where=_where(c.name, "false_positives_per_hour"))
    if not (c.period > 0 and math.isfinite(c.period)):
        raise InputError(f"must be positive, got {c.period:g}", where=_where(c.name, "period"))
    if not (c.phase >= 0 and math.isfinite(c.phase)):
        raise InputError(f"must not be negative, got {c.phase:g}", where=_where(c.name, "phase"))


class CameraArray(_Named):
    """Cameras that look for a visible plume, vectorised.

    At each scan a camera detects a visible plume with probability ``detection_rate`` and, independently,
    raises a false positive with probability ``1 - exp(-false_positives_per_hour * period / 3600)``. When
    a call covers several scans, the probabilities are those of at least one detection in those scans
    (exact for the held visibility). An alarm (:class:`CameraAlarm`) is recorded when a camera starts
    detecting after a scan without detection.

    Faults: ``dead`` (no detections, flagged in :attr:`fault`), ``inhibited`` (no detections or alarms,
    flagged in :attr:`inhibited`), and :meth:`restore`.
    """

    _kind = "camera"

    def __init__(self, specs: Sequence[CameraSpec], rng: np.random.Generator, *, start: float = 0.0):
        for c in specs:
            _check_camera(c)
        self.specs = list(specs)
        n = len(self.specs)
        self.names = [c.name for c in self.specs]
        self.ids = [c.id for c in self.specs]
        self._build_index()
        self._rng = rng
        self._p = np.array([c.detection_rate for c in self.specs], dtype=np.float64)
        self._lam = np.array([c.false_positives_per_hour for c in self.specs], dtype=np.float64) / 3600.0
        self._period = np.array([c.period for c in self.specs], dtype=np.float64)
        self._phase = np.array([c.phase for c in self.specs], dtype=np.float64)
        self._start = float(start)
        self._t = float(start)
        self._k = np.zeros(n)
        self._uniform = n > 0 and bool(np.all(self._phase == self._phase[0]) and np.all(self._period == self._period[0]))
        self._all = np.arange(n)
        self._p1 = 1.0 - (1.0 - self._p) ** 1.0  # detection chance of one scan, as the general formula gives it
        self._q1 = -np.expm1(-self._lam * self._period * 1.0)
        self._dbuf = np.zeros((0, 2, n))  # uniform draws read ahead (clean_block), used first by later scans
        self._dcur = 0
        self._none = np.zeros(0, dtype=np.int64)
        self._vis = np.zeros(n, dtype=bool)
        self._mode = np.zeros(n, dtype=np.int8)
        self.detecting = np.zeros(n, dtype=bool)
        self.fresh = np.zeros(n, dtype=bool)
        self.alarms: list[CameraAlarm] = []
        self.new_alarms: list[CameraAlarm] = []
        self.faults_log: list[FaultRecord] = []

    @classmethod
    def from_sensors(cls, sensors: Iterable[Sensor], rng: np.random.Generator, *, start: float = 0.0) -> CameraArray:
        return cls([camera_spec_from_sensor(s) for s in sensors], rng, start=start)

    @property
    def time(self) -> float:
        return self._t

    def update(self, t: float, visible: ArrayLike) -> np.ndarray:
        """Advance to ``t`` (s) and return, per camera, whether its latest scan in ``(last t, t]`` detected.

        ``visible`` says whether a plume is in each camera's view at ``t``; it holds until the next call
        (a scan at exactly ``t`` sees the new value, earlier scans the previous one). Cameras without a
        scan in the interval keep their state (:attr:`fresh` is False for them).
        """
        t = float(t)
        n = len(self.names)
        if not t >= self._t:
            raise ValueError(f"update at t={t!r} s is before the array's time {self._t} s")
        vis = np.asarray(visible, dtype=bool)
        if vis.shape != (n,):
            if vis.ndim == 0:
                vis = np.full(n, bool(vis))
            else:
                raise ValueError(f"visible has shape {vis.shape}, expected ({n},)")
        tol = 1e-9 * max(1.0, abs(t))
        if self._uniform:  # one scan grid for every camera (the usual case): scalar scheduling
            k0 = math.floor((t + tol - self._start - self._phase[0]) / self._period[0])
            kk = np.full(n, float(k0))
            idx = self._all if k0 >= self._k[0] else self._none
        else:
            kk = np.floor((t + tol - self._start - self._phase) / self._period)
            idx = np.flatnonzero(kk >= self._k)
        self.fresh[:] = False
        self.new_alarms = []
        if idx.size and self._uniform and k0 == self._k[0] and self._start + self._phase[0] + k0 * self._period[0] == t:
            # one scan per camera, exactly at t (the usual step): the general branch below with m = 1
            draws = self._take_draws()
            true_det = draws[0] < np.where(vis, self._p1, 0.0)
            det = true_det | (draws[1] < self._q1)
            if self._mode.any():
                det &= self._mode == OK
            rising = det & ~self.detecting
            self.detecting[:] = det
            self.fresh[:] = True
            self._k[:] = k0 + 1
            if rising.any():
                self.new_alarms = [CameraAlarm(t, int(r), self.names[r], bool(true_det[r]))
                                   for r in np.flatnonzero(rising)]
                self.alarms.extend(self.new_alarms)
        elif idx.size:
            m = kk[idx] - self._k[idx] + 1  # scans in the interval
            s = self._start + self._phase[idx] + kk[idx] * self._period[idx]
            at_t = np.abs(s - t) <= tol  # the latest scan sees the new visibility
            seen = np.where(at_t, (m - 1) * self._vis[idx] + vis[idx], m * self._vis[idx])
            p_any = 1.0 - (1.0 - self._p[idx]) ** seen
            q_any = -np.expm1(-self._lam[idx] * self._period[idx] * m)
            draws = self._take_draws()[:, idx] if self._uniform else self._rng.random((2, idx.size))
            # drawn for every due camera whatever its state
            true_det = draws[0] < p_any
            det = true_det | (draws[1] < q_any)
            det &= self._mode[idx] == OK
            rising = det & ~self.detecting[idx]
            self.detecting[idx] = det
            self.fresh[idx] = True
            self._k[idx] = kk[idx] + 1
            if rising.any():
                j = np.flatnonzero(rising)
                order = j[np.argsort(s[j], kind="stable")]
                self.new_alarms = [CameraAlarm(float(s[r]), int(idx[r]), self.names[idx[r]], bool(true_det[r]))
                                   for r in order]
                self.alarms.extend(self.new_alarms)
        self._vis = vis
        self._t = t
        return self.detecting.copy()

    def _draw_rows(self, m: int) -> np.ndarray:
        """The next ``m`` scans' uniform draws ((m, 2, n)) without consuming them (see
        :meth:`DetectorArray._noise_rows`; with one scan grid every due call draws for every camera)."""
        have = self._dbuf.shape[0] - self._dcur
        if have < m:
            more = self._rng.random((max(m - have, 256), 2, len(self.names)))
            self._dbuf = np.concatenate([self._dbuf[self._dcur:], more])
            self._dcur = 0
        return self._dbuf[self._dcur:self._dcur + m]

    def _take_draws(self) -> np.ndarray:
        if self._dcur < self._dbuf.shape[0]:
            d = self._dbuf[self._dcur]
            self._dcur += 1
            return d
        return self._rng.random((2, len(self.names)))

    def clean_block(self, dt: float, m: int, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Scans at the next ``m`` calls ``update(time + k dt, visible)`` (k = 1..m, ``visible`` held):
        ``(detecting, true_detection)``, each (m, n), computed at once without changing the array;
        ``None`` unless every camera scans exactly at every call. Commit with :meth:`commit_clean`."""
        n = len(self.names)
        if n == 0 or m <= 0 or not self._uniform or self._period[0] != dt:
            return None
        k0 = (self._t + dt - self._start - self._phase[0]) / self._period[0]
        if k0 != self._k[0] or self._start + self._phase[0] + self._k[0] * self._period[0] != self._t + dt:
            return None
        d = self._draw_rows(m)
        vis = np.asarray(visible, dtype=bool)
        true_det = d[:, 0] < np.where(vis, self._p1, 0.0)
        det = true_det | (d[:, 1] < self._q1)
        det &= self._mode == OK
        return det, true_det

    def commit_clean(self, times: np.ndarray, det: np.ndarray, visible: np.ndarray, j: int) -> None:
        """Leave the cameras as ``update`` at ``times[0..j]`` would (no camera may start detecting in
        rows before ``j``; a rise in row ``j`` is recorded as an alarm, as :meth:`update` does)."""
        rising = det[j] & ~(det[j - 1] if j else self.detecting)
        self.detecting[:] = det[j]
        self.fresh[:] = True
        self._k[:] += j + 1
        self._dcur += j + 1
        self._vis = np.asarray(visible, dtype=bool).copy()
        self._t = float(times[j])
        self.new_alarms = []
        if rising.any():
            d = self._dbuf[self._dcur - 1]
            self.new_alarms = [CameraAlarm(self._t, int(r), self.names[r], bool(d[0, r] < (self._p1[r] if self._vis[r] else 0.0)))
                               for r in np.flatnonzero(rising)]
            self.alarms.extend(self.new_alarms)

    @property
    def fault(self) -> np.ndarray:
        return self._mode == DEAD

    @property
    def inhibited(self) -> np.ndarray:
        return self._mode == INHIBITED

    def fail(self, name: str, mode: str, **params: float) -> None:
        """``dead`` or ``inhibited`` (no parameters); :class:`InputError` naming the camera and field."""
        i = self.index(name)
        if mode not in _CAMERA_MODES:
            raise InputError(f"unknown failure mode {mode!r} for a camera; expected one of "
                             f"{', '.join(_CAMERA_MODES)} (or restore)", where=_where(self.names[i], "mode"))
        if params:
            raise InputError(f"mode {mode!r} takes no parameters", where=_where(self.names[i], sorted(params)[0]))
        self._mode[i] = _CAMERA_MODES[mode]
        self.detecting[i] = False
        self.faults_log.append(FaultRecord(self._t, self.names[i], mode))

    def restore(self, name: str) -> None:
        i = self.index(name)
        self._mode[i] = OK
        self.faults_log.append(FaultRecord(self._t, self.names[i], "restore"))


# --- the site's sensors ----------------------------------------------------------------------------------
@dataclass
class SensorArrays:
    """The modelled sensors of a site: gas detectors, cameras, and the ids of sensors of other kinds
    (smoke, heat, flame) that this module does not model."""

    gas: DetectorArray
    cameras: CameraArray
    skipped: list[str]


def build_sensor_arrays(sensors: Iterable[Sensor], rng: np.random.Generator, *,
                        start: float = 0.0) -> SensorArrays:
    """Gas detectors and cameras from a site's sensors, each array on its own child stream of ``rng``
    (so that adding a camera does not change the gas detectors' readings)."""
    items = list(sensors)
    gas_rng, cam_rng = rng.spawn(2)
    gas = DetectorArray.from_sensors([s for s in items if s.kind == "gas"], gas_rng, start=start)
    cams = CameraArray.from_sensors([s for s in items if s.kind == "camera"], cam_rng, start=start)
    skipped = [s.id for s in items if s.kind not in ("gas", "camera")]
    return SensorArrays(gas, cams, skipped)
