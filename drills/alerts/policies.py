"""Alert policies on the detectors' displayed readings, and the operator's alarm fatigue.

An :class:`AlertEngine` turns the stream of readings that the gas detectors *show* (never the true
concentration, never the leak's start time) into :class:`Alert` objects, once per gas step. The scenario
chooses one policy in its ``alerts:`` block (:func:`parse_alerts`):

``threshold``
    Fixed set points with k-out-of-n voting per zone and a delay-on timer (a detector counts for a level
    once its reading has stayed at or above the set point for ``delay_on`` s; it stops counting when the
    reading falls below ``set point - hysteresis``, the detector's own hysteresis).
``cusum``
    One-sided CUSUM per detector on the standardized reading ``z = (r - mu0) / sigma0``:
    ``S = max(0, S + z - k)``; a signal when ``S > h``, after which ``S`` restarts at 0 (Page 1954).
``ewma``
    ``Z = (1 - lam) Z + lam z``; a signal when ``Z > L sqrt(lam / (2 - lam))``; restart at 0 (Roberts 1959;
    Lucas & Saccucci 1990, Technometrics 32(1)).
``rate_of_rise``
    The mean of the newer half of a ``window`` minus the mean of the older half, as a z-score under white
    noise (``(m_new - m_old) / (2 / sqrt(N))`` for N samples in the window); a signal while it exceeds
    the threshold (and until it falls below half the threshold).
``fusion``
    A per-detector signal from a nested ``detector:`` policy (default cusum); an alert when at least ``k``
    detectors (cameras count too) of a group (zone, or the whole site) signalled within ``window`` s.

Detectors and the policy run from t = 0 (continuous operation); before the first release the engine is
fed clean air in blocks (:meth:`AlertEngine.scan_clean`, the same results as step by step).

Baseline and calibration
------------------------
The statistics work on the residual of each reading against a tracked clean-air baseline: an EWMA of
the readings with time constant ``baseline`` (default 300 s, a modelling choice) that stops following a
reading more than 3 sigma0 above it, so slow zero wander is removed but a leak is not learned as normal
(``baseline: null`` uses the fixed calibrated mean).

``mu0`` and ``sigma0`` of each detector, and the CUSUM ``h`` / EWMA ``L`` / rate threshold when they are
not given explicitly, come from a **simulated leak-free stream** of that detector's own noise model: the
detector's spec (noise, resolution, clamping at 0, drift, sampling period) is copied into a
:class:`twin.sensors.DetectorArray` fed with zero true concentration for ``calibration_sensor_days``
sensor-days (on a fixed ``calibration_seed``, so thresholds are site settings that do not change from
run to run). The threshold is the one whose false-signal rate on that stream is ``calibration_margin x
false_alerts_per_sensor_day`` (interpolated log-linearly between trial thresholds, extrapolated from the
tail when the budget is below what the stream can resolve). The margin (0.5) leaves room for sampling
error so that an independent leak-free run stays within the budget. The calibration stream is training
data of its own (its own seed, the same detector model and clean-air nuisance), never the scored run.
``false_alerts_per_sensor_day: matched`` sets the budget to the rate at which the same detectors' first
set point is crossed on that stream (margin 1), so an early-warning arm and a set-point arm are compared
at matched false-alert rates.

Default budget: ``false_alerts_per_sensor_day = 0.1``. Reasoning, not a measured figure: a 100-detector
site then adds about 10 early-warning alerts a day, under a tenth of the EEMUA 191 average-rate
benchmark of at most about 5 alarms per hour per operator (EEMUA 191 KPI grid as summarised by Strobhar &
Harvey, Chemical Processing 2011).

Other defaults: CUSUM ``k = 0.5`` (optimal for a shift of one sigma0, Page 1954); EWMA ``lam = 0.1`` (small weights suit small shifts, Lucas & Saccucci
1990; the value itself is our choice); rate-of-rise ``window = 5 min`` (modelling choice: long against
the 25 s T90 of %LEL heads so that the slope is not noise); fusion ``k = 2`` (2ooN voting, the usual
F&G confirmation before executive action, ISA-TR84.00.07 practice) and ``window = 2 min`` (modelling
choice).

Units and mixed sites
---------------------
Readings arrive in each detector's own unit (ppm or %LEL). A parameter written with a unit (``"10
%LEL"``, ``"2 ppm/min"``) applies only to detectors reading in that unit; a bare number applies to every
detector in its own unit. A list may hold values in both units (``setpoints: ["10 %LEL", "20 %LEL",
"5 ppm", "10 ppm"]``). A detector with no configured value in its unit falls back to its own set points
(``threshold``) or to the calibrated threshold (``rate_of_rise``). CUSUM/EWMA/rate statistics are unit
free (z-scores against each detector's own baseline), so one policy serves a mixed site.

Alert levels, de-duplication and re-arming
------------------------------------------
Each alert has a ``rank`` (1, 2, ...) and a ``level`` name: rank 1 is ``"warning"``, rank 2 and above
``"alarm"``. A rank means the same evidence whichever policy raised it: rank k is "a detector reached its
k-th set point". Threshold ranks are the set-point levels; early-warning policies (cusum, ewma,
rate_of_rise, fusion) raise rank 1 on their statistic, and with ``escalate: true`` (default) a zone is at
rank k when one of its detectors reaches its k-th set point (the detector's alarm level when the caller
passes ``levels``). Per (zone, policy) an alert is raised when the zone's rank exceeds the highest rank
already raised there; the raised rank resets to 0 once the zone has been quiet (rank 0) for ``rearm`` s
(default 600 s, a modelling choice; ``null``: never within a run). Alerts of one zone while it stays
active form an :class:`AlertEpisode` (start, end, level, detectors, confidence). ``latency`` (s) is the
processing and transport time from the reading to the control room (edge or central); the caller
delivers the alert that much later. :func:`false_alert_rate` uses
``rearm = 0`` so that every separate episode counts. Camera alarms raise ``policy="camera"`` alerts under
the same rule (and count as corroborating sensors for ``fusion``).

Location and confidence
-----------------------
``location`` is the centroid of the signalling detectors weighted by their standardized excess
``max(z, 0)`` (equal weights when all are at baseline); with one detector it is that detector's
position. Each signalling detector has evidence ``c = 1 - 0.5 ** m`` with ``m >= 1`` its margin
(statistic / threshold, or reading / set point); a camera detection has ``camera_confidence`` (0.5). The
alert's ``confidence`` combines them as a noisy-OR, ``1 - prod(1 - c)``: one detector just over its
threshold gives 0.5, two give 0.75. This is a ranking of evidence, not a calibrated probability.

Alarm fatigue
-------------
The operator model (``alerts.operator``: :class:`agents.operators.FatigueConfig`, per-person
:class:`agents.operators.OperatorFatigue`) lives in :mod:`agents.operators`: people are handed an
alert's console record, never its truth, and learn the outcome only from an investigation. Both names
are re-exported here for existing callers.

Randomness: the policies are deterministic functions of the readings; only :func:`false_alert_rate` draws
random numbers, from the Generator passed in.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from agents.operators import FatigueConfig, OperatorFatigue
from drills.alerts import calcache
from twin.errors import InputError
from twin.sensors import CameraAlarm, DetectorArray, DetectorSpec, resolve_spec
from twin.units import parse_bounded, parse_concentration, parse_duration

__all__ = [
    "Alert",
    "AlertEngine",
    "AlertEpisode",
    "AlertsConfig",
    "POLICY_CONFIGS",
    "CusumConfig",
    "EwmaConfig",
    "FatigueConfig",
    "FusionConfig",
    "ModelConfig",
    "OperatorFatigue",
    "RateOfRiseConfig",
    "ThresholdConfig",
    "calibrate",
    "false_alert_rate",
    "parse_alerts",
]

# --- defaults (sources in the module docstring) -------------------------------------------------------
DEFAULT_REARM = 600.0  # s of quiet before a zone may alert again; modelling choice
BASELINE_TAU = 300.0  # s; tracked baseline of the early-warning statistics (modelling choice, see docstring)
BASELINE_GUARD = 3.0  # the baseline stops following a reading more than 3 sigma0 above it
DEFAULT_BUDGET = 0.1  # false alerts per sensor-day; 100 detectors -> ~10/day << EEMUA 191 ~5/h benchmark
CUSUM_K = 0.5  # reference value for a one-sigma shift (Page 1954)
EWMA_LAMBDA = 0.1  # small weight for small shifts (Lucas & Saccucci 1990); value is our choice
RATE_WINDOW = 300.0  # s; modelling choice (>> T90 of 25 s)
FUSION_K = 2  # 2ooN confirmation (F&G voting practice)
FUSION_WINDOW = 120.0  # s; modelling choice
CAMERA_CONFIDENCE = 0.5  # evidence of one uncorroborated camera detection; modelling choice
CALIBRATION_COPIES = 100  # detector copies simulated side by side (vectorised) during calibration: few
# enough that each copy runs for many hours, longer than the zero wander's correlation time
LEVEL_NAMES = {1: "warning"}


def level_name(rank: int) -> str:
    """``"warning"`` for rank 1, ``"alarm"`` for rank 2 and above."""
    return LEVEL_NAMES.get(rank, "alarm")


# --- configuration --------------------------------------------------------------------------------------
def _dur(v: Any, name: str) -> float:
    return parse_bounded(v, "time", name)


def _per_unit(values: Any, name: str, rate: bool = False) -> dict[str, tuple[float, ...]]:
    """``{unit: values}`` from a list of quantities; key ``"*"`` holds bare numbers (any unit).

    Rates are written ``"2 %LEL/min"``, ``"0.5 ppm/s"`` and returned per second.
    """
    if not isinstance(values, list | tuple):
        values = [values]
    out: dict[str, list[float]] = {}
    for i, v in enumerate(values):
        f = f"{name}[{i}]"
        if isinstance(v, bool):
            raise ValueError(f"{f}: expected a number or a quantity with a unit, got {v!r}")
        if isinstance(v, int | float):
            unit, x = "*", float(v)
        elif isinstance(v, str):
            per = 1.0
            text = v
            if rate:
                if "/" not in v:
                    raise ValueError(f"{f}: expected a rate such as '2 %LEL/min', got {v!r}")
                text, tu = v.rsplit("/", 1)
                per = parse_duration(f"1 {tu.strip()}", f)
            c = parse_concentration(text, f)
            if c.unit not in ("ppm", "%LEL"):
                raise ValueError(f"{f}: {v!r} is not in a detector reading unit (ppm or %LEL)")
            unit, x = c.unit, c.value / per
        else:
            raise ValueError(f"{f}: expected a number or a quantity with a unit, got {v!r}")
        if not (math.isfinite(x) and x > 0):
            raise ValueError(f"{f}: must be positive, got {v!r}")
        out.setdefault(unit, []).append(x)
    for unit, xs in out.items():
        if any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
            raise ValueError(f"{name}: values in {unit} must be strictly ascending")
    return {u: tuple(xs) for u, xs in out.items()}


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _PolicyBase(_Cfg):
    rearm: float | None = Field(DEFAULT_REARM, description="s of quiet after which a zone may alert again "
                                                           "(null: never within a run)")
    latency: float = Field(0.0, description="s from the reading to the alert reaching the control room "
                                            "(processing and transport: edge or central)")
    camera_confidence: float = Field(CAMERA_CONFIDENCE, ge=0, le=1)
    operator: FatigueConfig = Field(default_factory=FatigueConfig)

    @field_validator("rearm", mode="before")
    @classmethod
    def _rearm(cls, v: Any) -> float | None:
        return None if v is None else _dur(v, "rearm")

    @field_validator("latency", mode="before")
    @classmethod
    def _latency(cls, v: Any) -> float:
        return _dur(v, "latency")


class ThresholdConfig(_PolicyBase):
    """Fixed set points, ``k``-out-of-n voting per zone (n = healthy detectors there), delay-on."""

    policy: Literal["threshold"] = "threshold"
    setpoints: dict[str, tuple[float, ...]] | None = Field(
        None, description="e.g. ['10 %LEL', '20 %LEL']; default each detector's own set points")
    k: int = Field(1, ge=1, description="detectors of a zone that must agree")
    delay_on: float = Field(0.0, description="s a reading must stay over the set point before it counts")

    @field_validator("setpoints", mode="before")
    @classmethod
    def _sp(cls, v: Any) -> dict | None:
        return None if v is None or isinstance(v, dict) else _per_unit(v, "setpoints")

    @field_validator("delay_on", mode="before")
    @classmethod
    def _d(cls, v: Any) -> float:
        return _dur(v, "delay_on")


class _Calibrated(_PolicyBase):
    false_alerts_per_sensor_day: float | Literal["matched"] = Field(
        DEFAULT_BUDGET, description="false-alert budget per sensor-day, or 'matched': the rate at which the "
                                    "same detectors' first set point is crossed on the training stream")
    calibration_sensor_days: float = Field(50.0, gt=0, description="length of the leak-free calibration stream")
    calibration_margin: float = Field(0.5, gt=0, le=1, description="calibrate to margin x budget")
    calibration_seed: int = Field(0, description="seed of the leak-free training stream (never the run's)")
    escalate: bool = Field(True, description="a zone whose detector reaches its k-th set point is at rank k")
    baseline: float | None = Field(BASELINE_TAU, description="s; time constant of the tracked clean-air baseline "
                                                             "the statistic is computed against (null: the fixed "
                                                             "calibrated mean)")

    @field_validator("baseline", mode="before")
    @classmethod
    def _baseline(cls, v: Any) -> float | None:
        if v is None:
            return None
        t = _dur(v, "baseline")
        if t <= 0:
            raise ValueError("must be positive")
        return t

    @field_validator("false_alerts_per_sensor_day", mode="before")
    @classmethod
    def _budget(cls, v: Any) -> Any:
        if v == "matched":
            return v
        if isinstance(v, bool) or not isinstance(v, int | float) or not (math.isfinite(v) and v > 0):
            raise ValueError(f"expected a positive rate per sensor-day or 'matched', got {v!r}")
        return float(v)


class CusumConfig(_Calibrated):
    """One-sided CUSUM; ``h`` explicit (in sigma0) or calibrated from the false-alert budget."""

    policy: Literal["cusum"] = "cusum"
    k: float = Field(CUSUM_K, ge=0)
    h: float | None = Field(None, gt=0)


class EwmaConfig(_Calibrated):
    """EWMA; ``L`` explicit (multiples of the EWMA's asymptotic sd) or calibrated."""

    policy: Literal["ewma"] = "ewma"
    lam: float = Field(EWMA_LAMBDA, gt=0, le=1, alias="lambda")
    L: float | None = Field(None, gt=0)


class RateOfRiseConfig(_Calibrated):
    """Rise of the reading over ``window``; ``rate`` explicit per unit (e.g. '1 %LEL/min') or calibrated."""

    policy: Literal["rate_of_rise"] = "rate_of_rise"
    window: float = RATE_WINDOW
    rate: dict[str, tuple[float, ...]] | None = None

    @field_validator("window", mode="before")
    @classmethod
    def _w(cls, v: Any) -> float:
        t = _dur(v, "window")
        if t <= 0:
            raise ValueError("must be positive")
        return t

    @field_validator("rate", mode="before")
    @classmethod
    def _r(cls, v: Any) -> dict | None:
        if v is None or isinstance(v, dict):
            return v
        out = _per_unit(v, "rate", rate=True)
        if any(len(x) > 1 for x in out.values()):
            raise ValueError("give one rate per unit")
        return out


_Detector = Annotated[ThresholdConfig | CusumConfig | EwmaConfig | RateOfRiseConfig, Field(discriminator="policy")]


class FusionConfig(_PolicyBase):
    """``k`` detectors (or cameras) of a group signalling within ``window`` s, per-detector signals from
    ``detector`` (default cusum)."""

    policy: Literal["fusion"] = "fusion"
    detector: _Detector = Field(default_factory=CusumConfig)
    k: int = Field(FUSION_K, ge=1)
    window: float = FUSION_WINDOW
    group: Literal["zone", "site"] = "zone"
    cameras: bool = Field(True, description="camera detections count as corroborating sensors")
    escalate: bool = True

    @field_validator("window", mode="before")
    @classmethod
    def _w(cls, v: Any) -> float:
        return _dur(v, "window")

    @field_validator("detector", mode="before")
    @classmethod
    def _det(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"policy": v}
        if isinstance(v, dict) and v.get("policy") == "fusion":
            raise ValueError("fusion cannot nest fusion")
        return v


class ModelConfig(_PolicyBase):
    """A trained model (``drilltwin alerts train``; :mod:`drills.alerts.learned`): ``path`` to the model
    file (relative to the scenario file), alert when its probability reaches ``threshold``."""

    policy: Literal["model"] = "model"
    path: str = Field(description="model file written by drilltwin alerts train (a pickle: trusted files only)")
    threshold: float = Field(0.5, gt=0, lt=1, description="probability at which a detector signals")


POLICY_CONFIGS: dict[str, type[_PolicyBase]] = {
    "threshold": ThresholdConfig, "rate_of_rise": RateOfRiseConfig, "cusum": CusumConfig, "ewma": EwmaConfig,
    "fusion": FusionConfig, "model": ModelConfig}
"""Each policy name with its configuration model (one place; the schema, the loader and the studio's forms
read it)."""
AlertsConfig = Annotated[ThresholdConfig | CusumConfig | EwmaConfig | RateOfRiseConfig | FusionConfig | ModelConfig,
                         Field(discriminator="policy")]
_ADAPTER: TypeAdapter = TypeAdapter(AlertsConfig)
POLICIES = tuple(POLICY_CONFIGS)


def parse_alerts(data: Any, where: str = "alerts") -> Any:
    """Validate the scenario's ``alerts:`` block; ``None`` gives the default ``{policy: threshold}``.

    Raises :class:`InputError` with ``where="alerts.<field>"`` (e.g. ``alerts.k``, ``alerts.detector.h``).
    """
    if data is None:
        data = {"policy": "threshold"}
    if isinstance(data, BaseModel):
        return data
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping such as {{policy: cusum}}, got {data!r}", where=where)
    pol = data.get("policy")
    if pol not in POLICIES:
        raise InputError(f"unknown policy {pol!r}; expected one of {', '.join(POLICIES)}", where=f"{where}.policy")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        err = e.errors()[0]
        # Drop the union tags pydantic puts in the location (the policy names) to get the YAML path.
        parts = [str(p) for p in err["loc"] if str(p) not in POLICIES]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        raise InputError(msg, where=".".join([where, *parts])) from None


# --- statistics (vectorised; state shape (G, n): G trial thresholds x n detectors) ------------------------
class _Stat:
    """A per-detector statistic on standardized readings with thresholds ``thr`` of shape (G, n) or (G, 1).

    :meth:`step` returns the signal mask (G, n) and leaves the margin (statistic / threshold) of each
    signal in :attr:`margin`. ``mask`` limits the update to the detectors that took a fresh sample.
    """

    def __init__(self, thr: np.ndarray, n: int):
        self.thr = thr
        self.shape = (thr.shape[0], n)
        self.margin = np.zeros(self.shape)

    def step(self, z: np.ndarray, mask: np.ndarray | None) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class _Cusum(_Stat):
    def __init__(self, thr: np.ndarray, n: int, k: float):
        super().__init__(thr, n)
        self.k = k
        self.s = np.zeros(self.shape)

    def advance(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The statistic after standardized readings ``z`` from ``s``, before a restart (a new array)."""
        return np.maximum(s + (z - self.k), 0.0)

    def step(self, z: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        new = self.advance(self.s, z)
        if mask is not None and not mask.all():
            new = np.where(mask, new, self.s)
        sig = new > self.thr
        self.margin = new / self.thr
        new[sig] = 0.0  # restart after a signal (the usual CUSUM practice)
        self.s = new
        return sig


class _Ewma(_Stat):
    def __init__(self, thr: np.ndarray, n: int, lam: float):
        super().__init__(thr * math.sqrt(lam / (2.0 - lam)), n)  # L -> limit on Z
        self.lam = lam
        self.zs = np.zeros(self.shape)

    def advance(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The statistic after standardized readings ``z`` from ``s``, before a restart (a new array)."""
        return s + self.lam * (z - s)

    def step(self, z: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        new = self.advance(self.zs, z)
        if mask is not None and not mask.all():
            new = np.where(mask, new, self.zs)
        sig = new > self.thr
        self.margin = new / self.thr
        new[sig] = 0.0
        self.zs = new
        return sig


class _Rate(_Stat):
    """Difference of the means of the newer and older halves of the last ``N`` samples, as a z-score."""

    def __init__(self, thr: np.ndarray, n: int, nwin: int):
        super().__init__(thr, n)
        self.N = max(2, nwin + (nwin % 2))
        # The window starts full of baseline (z = 0): the detector read clean air before the drill began,
        # and the detectors start with the leak, so waiting for a full window would waste the lead.
        self.buf = np.zeros((self.N, n))
        self.pos = np.zeros(n, dtype=np.int64)
        self.s_new = np.zeros(n)
        self.s_old = np.zeros(n)
        self.scale = 1.0 / ((self.N / 2) * (2.0 / math.sqrt(self.N)))
        self.rho = np.zeros(n)
        self.uniform = True  # all ring positions equal so far
        self.on = np.zeros(self.shape, dtype=bool)

    def step(self, z: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if (mask is None or mask.all()) and self.uniform:
            # Common case: every detector sampled every call, one shared ring position (no fancy indexing).
            p = int(self.pos[0]) % self.N
            mid = (p - self.N // 2) % self.N
            moving = self.buf[mid].copy()
            self.s_new += z - moving
            self.s_old += moving - self.buf[p]
            self.buf[p] = z
            self.pos += 1
            np.multiply(self.s_new - self.s_old, self.scale, out=self.rho)
            return self._signal()
        self.uniform = False
        cols = np.arange(z.shape[0]) if mask is None else np.flatnonzero(mask)
        if cols.size:
            p = self.pos[cols] % self.N
            mid = (p - self.N // 2) % self.N
            x = z[cols]
            moving = self.buf[mid, cols]
            leaving = self.buf[p, cols]
            self.s_new[cols] += x - moving
            self.s_old[cols] += moving - leaving
            self.buf[p, cols] = x
            self.pos[cols] += 1
            self.rho[cols] = (self.s_new[cols] - self.s_old[cols]) * self.scale
        return self._signal()

    def _signal(self) -> np.ndarray:
        # Hysteresis: a signal holds until the rise falls below half the threshold, so noise around the
        # threshold does not chatter into many separate alerts (it would also make false-alert counts
        # clustered and the calibration fragile).
        sig = (self.rho > self.thr) | (self.on & (self.rho > 0.5 * self.thr))
        self.on = sig
        self.margin = self.rho / self.thr
        return sig


def _make_stat(cfg: Any, thr: np.ndarray, n: int, dt: float) -> _Stat:
    if isinstance(cfg, CusumConfig):
        return _Cusum(thr, n, cfg.k)
    if isinstance(cfg, EwmaConfig):
        return _Ewma(thr, n, cfg.lam)
    if isinstance(cfg, RateOfRiseConfig):
        return _Rate(thr, n, int(round(cfg.window / dt)))
    raise TypeError(type(cfg).__name__)


# --- calibration ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """Leak-free baseline of one detector model and the statistic's threshold.

    ``mu0``, ``sigma0``: mean and sd of the displayed reading (detector unit); ``threshold``: h (cusum),
    L (ewma) or the rate z-score; ``rate_per_day``: false signals per sensor-day at that threshold on the
    calibration stream (extrapolated when below its resolution); ``sensor_days``: stream length.
    """

    mu0: float
    sigma0: float
    threshold: float
    rate_per_day: float
    sensor_days: float


_GRIDS = {"cusum": np.geomspace(0.5, 3000.0, 40), "ewma": np.linspace(0.5, 20.0, 40),
          "rate_of_rise": np.linspace(0.5, 20.0, 40)}


def _noise_key(spec: DetectorSpec) -> DetectorSpec:
    """The parts of a spec that shape its leak-free readings (name, set points and phase do not)."""
    return replace(resolve_spec(spec), name="cal", id=None, setpoints=(), phase=0.0, hysteresis=0.0,
                   latching=False)


def _stat_key(cfg: Any) -> tuple:
    if isinstance(cfg, CusumConfig):
        return ("cusum", cfg.k, cfg.baseline)
    if isinstance(cfg, EwmaConfig):
        return ("ewma", cfg.lam, cfg.baseline)
    return ("rate_of_rise", cfg.window, cfg.baseline)


class _Baseline:
    """The clean-air baseline each statistic is computed against: the calibrated mean ``mu0``, or with
    ``tau`` an EWMA of the readings (time constant ``tau`` s, samples every ``dt`` s) that stops following
    a reading more than :data:`BASELINE_GUARD` sigma0 above it, so slow zero wander is removed while a
    leak is not learned as the new normal once it stands out."""

    def __init__(self, mu0: np.ndarray, sigma0: np.ndarray, tau: np.ndarray | None, dt: np.ndarray):
        self.b = np.array(mu0, dtype=float, copy=True)
        self.sigma0 = sigma0
        self.alpha = None if tau is None else -np.expm1(-dt / tau)

    def z(self, r: np.ndarray, upd: np.ndarray | None) -> np.ndarray:
        """Standardised residuals of readings ``r`` (any leading shape); advances the baseline where
        ``upd`` (None: everywhere)."""
        z, self.b = self.follow(self.b, r, upd)
        return z

    def follow(self, b: np.ndarray, r: np.ndarray, upd: np.ndarray | None,
               out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(z, b')``: the standardised residuals of readings ``r`` against the baseline ``b`` and the
        baseline after them (``b`` itself when it is fixed; else ``out`` or a new array, holding ``b`` where
        it does not move: guarded, or not ``upd``)."""
        e = r - b
        z = e / self.sigma0
        if self.alpha is None:
            return z, b
        g = z < BASELINE_GUARD
        if upd is not None:
            g &= upd
        if out is None:
            out = np.empty(np.broadcast_shapes(np.shape(b), e.shape))
        out[...] = b
        np.add(b, self.alpha * e, out=out, where=g)
        return z, out


def calibrate(cfg: Any, spec: DetectorSpec, dt: float = 1.0) -> Calibration:
    """Baseline and threshold of ``cfg`` (cusum, ewma or rate_of_rise) for detectors like ``spec``, from
    a simulated leak-free stream sampled every ``dt`` s (see the module docstring). Cached."""
    key = _noise_key(spec)
    budget = cfg.false_alerts_per_sensor_day
    sp1 = float(resolve_spec(spec).setpoints[0]) if budget == "matched" and spec.setpoints else None
    if budget == "matched" and sp1 is None:
        raise InputError(f"detector {spec.name!r} has no set point to match; give a number",
                         where="alerts.false_alerts_per_sensor_day")
    return _calibrate(_stat_key(cfg), key, float(max(dt, key.period or 0.0)), None if sp1 else budget,
                      cfg.calibration_sensor_days, 1.0 if sp1 else cfg.calibration_margin, cfg.calibration_seed, sp1)


@functools.lru_cache(maxsize=256)
def _calibrate(stat: tuple, spec: DetectorSpec, dt: float, budget: float | None, sensor_days: float, margin: float,
               seed: int, match_setpoint: float | None = None) -> Calibration:
    # once per process and machine: see drills.alerts.calcache
    return calcache.cached(_calibrate_stream, (stat, spec, dt, budget, sensor_days, margin, seed, match_setpoint))


def _calibrate_stream(stat: tuple, spec: DetectorSpec, dt: float, budget: float | None, sensor_days: float,
                      margin: float, seed: int, match_setpoint: float | None) -> Calibration:
    rng = np.random.default_rng(seed)
    copies = CALIBRATION_COPIES
    steps = max(int(math.ceil(sensor_days * 86400.0 / (copies * dt))), 10)
    det = DetectorArray([replace(spec, name=f"c{i}") for i in range(copies)], rng)
    x = det.clean_readings(dt, steps)
    if match_setpoint is not None:
        # the set-point policy's false alarms on the same training stream: crossings of the first set point
        above = x >= match_setpoint
        n_cross = int((above[1:] & ~above[:-1]).sum() + above[0].sum())
        if n_cross == 0:
            raise InputError(f"the first set point ({match_setpoint:g} {spec.unit}) is never crossed in "
                             f"{sensor_days:g} sensor-days of clean air; raise calibration_sensor_days or give "
                             "a number", where="alerts.false_alerts_per_sensor_day")
        budget = n_cross / (steps * copies * dt / 86400.0)
    mu0 = float(x.mean())
    # A noiseless, quantized detector reads a constant: floor sigma0 so a one-step change is a big z.
    floor = max(0.1 * (spec.resolution or 0.0), 1e-9)
    sigma0 = max(float(x.std()), floor)
    tau = stat[2]
    if tau is not None:  # the residual against the tracked baseline, as the engine computes it
        free = _Baseline(np.full(copies, mu0), np.full(copies, np.inf), np.full(copies, tau), np.full(copies, dt))
        e = np.empty_like(x)
        for s in range(steps):  # unguarded first (sigma0 of the residual is not known yet)
            e[s] = x[s] - free.b
            free.z(x[s], None)
        sigma0 = max(float(e.std()), floor)
        base = _Baseline(np.full(copies, mu0), np.full(copies, sigma0), np.full(copies, tau), np.full(copies, dt))
        z = np.empty_like(x)
        for s in range(steps):
            z[s] = base.z(x[s], None)
    else:
        z = (x - mu0) / sigma0
    grid = _GRIDS[stat[0]]
    cfg: Any = {"cusum": lambda: CusumConfig(k=stat[1]), "ewma": lambda: EwmaConfig(lam=stat[1]),
                "rate_of_rise": lambda: RateOfRiseConfig(window=stat[1])}[stat[0]]()  # the statistic only
    st = _make_stat(cfg, grid[:, None], copies, dt)
    counts = np.zeros(grid.size)
    prev = np.zeros(st.shape, dtype=bool)
    for s in range(steps):
        sig = st.step(z[s], None)
        counts += (sig & ~prev).sum(axis=1)
        prev = sig
    days = steps * copies * dt / 86400.0
    thr, rate = _pick_threshold(grid, counts, days, margin * budget, quadratic=stat[0] != "cusum")
    return Calibration(mu0, sigma0, thr, rate, days)


def _pick_threshold(grid: np.ndarray, counts: np.ndarray, days: float, target: float,
                    quadratic: bool) -> tuple[float, float]:
    """Smallest threshold whose false-signal rate is ``target`` per sensor-day: log-linear interpolation
    of the observed rates, or extrapolation of the tail (log rate linear in h for CUSUM, whose in-control
    run length grows exponentially in h, Siegmund's approximation; linear in threshold squared for the
    near-Gaussian EWMA and rate statistics)."""
    x = grid**2 if quadratic else grid
    rate = counts / days
    ok = counts >= 5  # enough events to trust the estimate
    if not ok.any():
        raise InputError("calibration stream too short to see any false signal; raise calibration_sensor_days",
                         where="alerts.calibration_sensor_days")
    idx = np.flatnonzero(ok)
    for a, b in zip(idx, idx[1:], strict=False):
        if rate[a] > target >= rate[b]:
            w = (math.log(target) - math.log(rate[a])) / (math.log(rate[b]) - math.log(rate[a]))
            xv = x[a] + w * (x[b] - x[a])
            return (float(math.sqrt(xv)) if quadratic else float(xv)), target
    if rate[idx[0]] <= target:
        return float(grid[idx[0]]), float(rate[idx[0]])
    tail = idx[-4:]
    if tail.size < 2:
        raise InputError("calibration stream too short to extrapolate; raise calibration_sensor_days",
                         where="alerts.calibration_sensor_days")
    slope, icept = np.polyfit(x[tail], np.log(rate[tail]), 1)
    if slope >= 0:
        raise InputError("false-signal rate does not fall with the threshold; check the detector noise",
                         where="alerts")
    xv = max((math.log(target) - icept) / slope, float(x[tail[-1]]))
    return (float(math.sqrt(xv)) if quadratic else float(xv)), target


# --- alerts ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alert:
    """One alert. ``t`` s (drill clock), ``level`` ``"warning"``/``"alarm"`` with its ``rank``, ``zone``
    (the caller's zone label), ``location`` (x, y) m estimate, ``confidence`` 0..1 (noisy-OR evidence),
    ``policy`` (or ``"camera"``), the ``sensors`` that contributed, and a run-unique ``id`` ("A1", ...)."""

    id: str
    t: float
    level: str
    rank: int
    zone: Hashable
    location: tuple[float, float]
    confidence: float
    policy: str
    sensors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "t": round(self.t, 3), "level": self.level, "rank": self.rank,
                "zone": self.zone if isinstance(self.zone, str | int) else str(self.zone),
                "location": [round(self.location[0], 3), round(self.location[1], 3)],
                "confidence": round(self.confidence, 4), "policy": self.policy, "sensors": list(self.sensors)}


@dataclass
class AlertEpisode:
    """One alert episode of a zone: from the alert that opened it (``start``, s) while the zone stays
    active, to the first step it is quiet (``end``, s; ``None`` while open). ``rank``/``level`` are the
    highest reached, ``detectors`` every sensor that contributed, ``confidence`` the highest, ``alerts``
    the ids of its alerts. ``policy`` is the policy or ``"camera"``."""

    id: str
    zone: Hashable
    policy: str
    start: float
    end: float | None
    rank: int
    level: str
    detectors: tuple[str, ...]
    confidence: float
    alerts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "zone": self.zone if isinstance(self.zone, str | int) else str(self.zone),
                "policy": self.policy, "start": round(self.start, 3),
                "end": None if self.end is None else round(self.end, 3), "rank": self.rank, "level": self.level,
                "detectors": list(self.detectors), "confidence": round(self.confidence, 4),
                "alerts": list(self.alerts)}


def _noisy_or(c: np.ndarray) -> float:
    return float(1.0 - np.prod(1.0 - np.clip(c, 0.0, 1.0)))


def _evidence(margin: np.ndarray) -> np.ndarray:
    return 1.0 - 0.5 ** np.maximum(margin, 1.0)


class AlertEngine:
    """Runs one alert policy over the detectors' displayed readings (see the module docstring).

    Parameters
    ----------
    config: a parsed policy (:func:`parse_alerts`) or the raw ``alerts:`` mapping.
    specs: one :class:`DetectorSpec` per detector, in the order of the readings (``DetectorArray.specs``).
    zones: zone label per detector (any hashable: space name, zone index; -1 for outdoors is fine).
    positions: (n, 2) or (n, 3) array of detector positions, m (only x, y are used).
    step: s between calls (the gas step); statistics are calibrated for samples every ``max(step, period)``.
    camera_names, camera_zones, camera_positions: the cameras, for :meth:`update_cameras`.
    rearm: overrides ``config.rearm`` (``false_alert_rate`` uses 0).
    """

    def __init__(self, config: Any, specs: Sequence[DetectorSpec], zones: Sequence[Hashable],
                 positions: ArrayLike, *, step: float = 1.0, camera_names: Sequence[str] = (),
                 camera_zones: Sequence[Hashable] = (), camera_positions: ArrayLike | None = None,
                 rearm: float | None | Literal["config"] = "config"):
        self.config = parse_alerts(config)
        self.specs = [resolve_spec(s) for s in specs]
        n = len(self.specs)
        self.names = [s.name for s in self.specs]
        self.units = [s.unit for s in self.specs]
        if len(zones) != n:
            raise ValueError(f"zones has {len(zones)} entries for {n} detectors")
        pos = np.asarray(positions, dtype=float).reshape(n, -1) if n else np.zeros((0, 2))
        self.pos = pos[:, :2]
        self.step_s = float(step)
        self.rearm = self.config.rearm if rearm == "config" else rearm
        self.policy = self.config.policy
        # Zone codes: detectors and cameras share one table of labels.
        self.zone_labels: list[Hashable] = []
        self._zone_code: dict[Hashable, int] = {}
        self.zc = np.array([self._code(z) for z in zones], dtype=np.int64)
        self.cam_names = list(camera_names)
        self.cam_zc = np.array([self._code(z) for z in camera_zones], dtype=np.int64)
        if len(self.cam_zc) != len(self.cam_names):
            raise ValueError("camera_zones must have one entry per camera")
        cp = np.zeros((len(self.cam_names), 2)) if camera_positions is None else \
            np.asarray(camera_positions, dtype=float).reshape(len(self.cam_names), -1)[:, :2]
        self.cam_pos = cp
        self._cam_last = np.full(len(self.cam_names), -np.inf)
        self.nz = len(self.zone_labels)
        self.first_sp = np.array([s.setpoints[0] if s.setpoints else np.inf for s in self.specs])
        base = self.config.detector if isinstance(self.config, FusionConfig) else self.config
        self.base = base
        self._setup_base(base)
        # Fusion bookkeeping: last signal time and margin per detector.
        self._last_sig = np.full(n, -np.inf)
        self._last_margin = np.zeros(n)
        # Zone de-duplication: highest rank raised per zone (per source) and when the zone was last active.
        self._raised = {"gas": np.zeros(self.nz, dtype=np.int64), "camera": np.zeros(self.nz, dtype=np.int64)}
        self._last_on = {"gas": np.full(self.nz, -np.inf), "camera": np.full(self.nz, -np.inf)}
        self._prev_on = {"gas": np.zeros(self.nz, dtype=bool), "camera": np.zeros(self.nz, dtype=bool)}
        self._any_on = {"gas": False, "camera": False}  # prev_on.any(), kept for the quiet fast path
        self._open: dict[str, dict[int, AlertEpisode]] = {"gas": {}, "camera": {}}
        self.episodes: list[AlertEpisode] = []
        self.episode_hooks: list = []  # callables (event "start"/"end", AlertEpisode)
        self.alerts: list[Alert] = []
        self.t = -np.inf
        # zone tables of scan_block, made on first use
        self._onehots: dict = {}
        self._zone_runs: tuple | None = None

    def _code(self, z: Hashable) -> int:
        if z not in self._zone_code:
            self._zone_code[z] = len(self.zone_labels)
            self.zone_labels.append(z)
        return self._zone_code[z]

    # -- set-up --------------------------------------------------------------------------------------------
    def _setup_base(self, cfg: Any) -> None:
        n = len(self.specs)
        self.mu0 = np.zeros(n)
        self.sigma0 = np.ones(n)
        if isinstance(cfg, ThresholdConfig):
            levels = []
            for s in self.specs:
                if cfg.setpoints is not None and (s.unit in cfg.setpoints or "*" in cfg.setpoints):
                    levels.append(cfg.setpoints.get(s.unit, cfg.setpoints.get("*")))
                else:
                    levels.append(tuple(s.setpoints))
            nl = max((len(x) for x in levels), default=0)
            self.sp = np.full((nl, n), np.inf)
            for i, x in enumerate(levels):
                self.sp[: len(x), i] = x
            self.sp_off = self.sp - np.array([s.hysteresis or 0.0 for s in self.specs])
            self.on_since = np.full((nl, n), np.nan)
            self._pending = False
            self._vote_key: tuple | None = None  # (qualifying, faulted) of the last vote, and its result
            self._zone_size = np.bincount(self.zc, minlength=self.nz).astype(float)
            self._zeros_i = np.zeros(n, dtype=np.int64)
            self._zeros_f = np.zeros(n)
            self._zeros_i.flags.writeable = False
            self._zeros_f.flags.writeable = False
            self.stat = None
            return
        dts = [max(self.step_s, s.period or 0.0) for s in self.specs]
        thr = np.zeros(n)
        for i, s in enumerate(self.specs):
            cal = calibrate(cfg, s, dts[i])
            self.mu0[i], self.sigma0[i] = cal.mu0, cal.sigma0
            thr[i] = self._explicit(cfg, s, cal, dts[i])
        self.thr = thr
        dt = max(dts) if dts else self.step_s
        self.stat = _make_stat(cfg, thr[None, :], n, dt)
        tau = None if cfg.baseline is None else np.full(n, cfg.baseline)
        self.baseline = _Baseline(self.mu0, self.sigma0, tau, np.array(dts, dtype=float))

    @staticmethod
    def _explicit(cfg: Any, s: DetectorSpec, cal: Calibration, dt: float) -> float:
        if isinstance(cfg, CusumConfig) and cfg.h is not None:
            return cfg.h
        if isinstance(cfg, EwmaConfig) and cfg.L is not None:
            return cfg.L
        if isinstance(cfg, RateOfRiseConfig) and cfg.rate is not None:
            r = cfg.rate.get(s.unit, cfg.rate.get("*"))
            if r is not None:  # unit/s -> z-score of the half-window mean difference
                nwin = max(2, int(round(cfg.window / dt)))
                nwin += nwin % 2
                return r[0] * (nwin / 2) * dt / cal.sigma0 / (2.0 / math.sqrt(nwin))
        return cal.threshold

    # -- stepping --------------------------------------------------------------------------------------------
    def update(self, t: float, readings: ArrayLike, fault_flags: ArrayLike | None = None,
               levels: ArrayLike | None = None, fresh: ArrayLike | None = None) -> list[Alert]:
        """Feed the displayed readings at drill time ``t`` (s); return the alerts raised now.

        ``readings``: what each detector shows, in its unit (``DetectorArray.reading``). ``fault_flags``:
        True for detectors to ignore (dead or inhibited: ``det.fault | det.inhibited``); their statistics
        hold and they do not vote. ``levels``: the detectors' own alarm levels (``det.levels()``), used for
        escalation; default: reading >= first set point. ``fresh``: True where a new sample arrived
        (``det.fresh``); default all (statistics advance only on fresh samples).
        """
        t = float(t)
        r = np.asarray(readings, dtype=float)
        n = len(self.specs)
        if r.shape != (n,):
            raise ValueError(f"readings has shape {r.shape}, expected ({n},)")
        bad = np.zeros(n, dtype=bool) if fault_flags is None else np.asarray(fault_flags, dtype=bool)
        upd = ~bad if fresh is None else (np.asarray(fresh, dtype=bool) & ~bad)
        self.t = t
        if isinstance(self.base, ThresholdConfig):
            rank_det, margin = self._threshold(t, r, upd, bad)
        else:
            z = self.baseline.z(r, upd)
            sig = self.stat.step(z, upd)[0] & ~bad
            margin = np.where(sig, self.stat.margin[0], 0.0)
            rank_det = sig.astype(np.int64)
        return self._conclude(t, r, bad, levels, rank_det, margin)

    def _conclude(self, t: float, r: np.ndarray, bad: np.ndarray, levels: ArrayLike | None, rank_det: np.ndarray,
                  margin: np.ndarray) -> list[Alert]:
        """From the detectors' ranks at ``t`` to the zones' ranks (voting, fusion, escalation) and alerts."""
        cfg = self.config
        sig_now = rank_det > 0
        self._last_sig[sig_now] = t
        self._last_margin[sig_now] = margin[sig_now]
        zone_rank = np.zeros(self.nz, dtype=np.int64)
        if isinstance(cfg, FusionConfig):
            zone_rank, members = self._fusion(t, r)
        else:
            hit = np.flatnonzero(rank_det)
            if hit.size:
                np.maximum.at(zone_rank, self.zc[hit], rank_det[hit])
            members = None
        if getattr(cfg, "escalate", False) and not isinstance(self.base, ThresholdConfig):
            # a set point reached gives the rank the threshold policy gives it (k-th set point: rank k), so
            # a level means the same evidence whichever policy raised it
            lv = np.asarray(levels, dtype=np.int64) if levels is not None else (r >= self.first_sp).astype(np.int64)
            lv = np.where(bad, 0, lv)
            if lv.any():
                zlv = np.zeros(self.nz, dtype=np.int64)
                np.maximum.at(zlv, self.zc, lv)
                zone_rank = np.maximum(zone_rank, zlv)
        return self._raise(t, "gas", zone_rank, r, sig_now, margin, members)

    def _quiet(self, t: float) -> bool:
        """Can a step at ``t`` without any detector signal or set point reached leave every state but the
        statistics as it is? (no zone active or waiting to re-arm, no threshold timer running, no recent
        signal or camera detection a fusion could still count)"""
        for src in ("gas", "camera"):
            if self._any_on[src] or (self.rearm is not None and self._raised[src].any()):
                return False
        if isinstance(self.config, FusionConfig):
            w = self.config.window + 1e-9
            if ((t - self._last_sig) <= w).any() or ((t - self._cam_last) <= w).any():
                return False
        return not (isinstance(self.base, ThresholdConfig) and self._pending)

    def scan_clean(self, times: np.ndarray, readings: np.ndarray, fault_flags: np.ndarray,
                   fresh: np.ndarray, cameras_last: bool = True) -> tuple[int, list[Alert]]:
        """:meth:`update` (with no alarm level on) and :meth:`update_cameras` (no camera alarm) at each
        of ``times`` with the rows of ``readings`` in turn, up to the first row that raises an alert.
        Returns that row and its alerts, or the last row and ``[]``. ``cameras_last=False``: the cameras
        have alarms at the last row, so the caller feeds them there itself. The same results as the calls
        one by one; quiet rows (no zone active, nothing over a set point) cost a few array operations each,
        and runs of them none at all for the threshold policy."""
        m = len(times)
        bad = np.asarray(fault_flags, dtype=bool)
        upd = np.asarray(fresh, dtype=bool) & ~bad
        zero = np.zeros(len(self.specs), dtype=np.int8)
        thr = isinstance(self.base, ThresholdConfig)
        if thr:
            reach = (readings >= self.sp[0]).any(axis=1) if self.sp.shape[0] else np.zeros(m, dtype=bool)
        j = 0
        while j < m:
            t = float(times[j])
            if self._quiet(t):
                if thr:
                    nxt = j + int(np.argmax(reach[j:])) if reach[j:].any() else m
                    if nxt > j:  # nothing reaches a set point: nothing changes but the clock
                        self.t = float(times[nxt - 1])
                        j = nxt
                        continue
                else:
                    sig = self.stat.step(self.baseline.z(readings[j], upd), upd)[0] & ~bad
                    self.t = t
                    if sig.any():
                        margin = np.where(sig, self.stat.margin[0], 0.0)
                        new = self._conclude(t, readings[j], bad, zero, sig.astype(np.int64), margin)
                        if cameras_last or j < m - 1:
                            new += self.update_cameras(t, [])
                        if new:
                            return j, new
                    j += 1
                    continue
            new = self.update(t, readings[j], fault_flags=bad, levels=zero, fresh=fresh)
            if cameras_last or j < m - 1:
                new += self.update_cameras(t, [])
            if new:
                return j, new
            j += 1
        return m - 1, []

    # -- blocks of rows (the gas-block orchestrator of GasHazards) --------------------------------------------
    SCAN_FIRST = 16  # rows looked at first; each further part of a block is 4 times longer (a stop found
    # early then costs little look-ahead, a long quiet block few passes)

    def scan_block(self, times: np.ndarray, readings: np.ndarray, fault_flags: ArrayLike, fresh: ArrayLike,
                   levels: np.ndarray | None, cameras: bool) -> tuple[int, Any]:
        """Look ahead over a block of rows without changing the engine.

        Row ``i`` stands for ``update(times[i], readings[i], fault_flags=fault_flags, levels=levels[i],
        fresh=fresh)`` followed, when ``cameras``, by ``update_cameras(times[i], [])``. ``times`` (m,) s
        ascending; ``readings`` (m, n) in each detector's unit; ``fault_flags`` and ``fresh`` (n,) hold for
        the whole block; ``levels`` (m, n) the detectors' own alarm levels or ``None`` (reading >= first
        set point). Returns ``(j, commit)``: ``j`` the first row at which those calls would raise an alert,
        turn a zone on or off (gas or camera) or start or end an episode (``m`` if none; a row that turns
        out to change nothing may stop a block too), and ``commit(k)`` (``k <= j``, called once) leaves
        the engine as the calls for rows ``[0, k)`` would (bit for bit; the threshold policy's vote cache
        is cleared). The learned model (``policy: model``) is not handled here: ``j = 0``.
        """
        times = np.asarray(times, dtype=float)
        m = len(times)
        n = len(self.specs)
        cfg = self.config
        if m == 0 or isinstance(cfg, ModelConfig):
            return 0, self._no_commit
        R = np.asarray(readings, dtype=float)
        if R.shape != (m, n):
            raise ValueError(f"readings has shape {R.shape}, expected ({m}, {n})")
        if levels is not None:
            levels = np.asarray(levels)
            if levels.shape != (m, n):
                raise ValueError(f"levels has shape {levels.shape}, expected ({m}, {n})")
        bad = np.asarray(fault_flags, dtype=bool)
        upd = np.asarray(fresh, dtype=bool) & ~bad
        prev, raised = self._prev_on["gas"], self._raised["gas"]
        if any(not prev[z] for z in self._open["gas"]):  # an episode the first row would close
            return 0, self._no_commit
        if cameras and (self._any_on["camera"] or self._open["camera"]):  # camera zones go quiet at row 0
            return 0, self._no_commit
        thr = isinstance(self.base, ThresholdConfig)
        timers = self.on_since if thr else None
        if not thr:
            stat_rows, margin_at, stat_commit = self._stat_stepper(upd)
        ranks: list[np.ndarray] = []
        sinces: list[np.ndarray] = []
        lsigs: list[np.ndarray] = []
        last = self._last_sig
        j, pos, size = m, 0, self.SCAN_FIRST
        while pos < m:
            c = min(m, pos + size)
            tp, Rp = times[pos:c], R[pos:c]
            if thr:
                rank, since = self._threshold_rows(tp, Rp, upd, bad, timers)
                timers = since[-1]
                sinces.append(since)
            else:
                rank = (stat_rows(Rp) & ~bad).astype(np.int64)
            ranks.append(rank)
            # last signal time per detector after each row (the per-step assignment: times ascend)
            lsig = np.where(rank > 0, tp[:, None], -np.inf)
            lsig[0] = np.maximum(lsig[0], last)
            np.maximum.accumulate(lsig, axis=0, out=lsig)
            last = lsig[-1]
            lsigs.append(lsig)
            zrank = self._zone_rows(tp, Rp, rank, lsig, bad, None if levels is None else levels[pos:c])
            on = zrank > 0
            # rows before a stop have every zone as it was, so comparing with the state is comparing with
            # the row before
            stop = (on != prev).any(axis=1) | (zrank > raised).any(axis=1)
            if stop.any():
                j = pos + int(np.argmax(stop))
                break
            pos, size = c, size * 4

        done = []

        def commit(k: int) -> None:
            if not 0 <= k <= j:
                raise ValueError(f"commit({k}): rows up to {j} only")
            if done:
                raise RuntimeError("a block is committed once")
            done.append(k)
            if k == 0:
                return
            i = k - 1
            t = float(times[i])
            rank = np.concatenate(ranks)[:k]
            if thr:
                self.on_since[...] = np.concatenate(sinces)[i]
                self._pending = not np.isnan(self.on_since).all()
                self._vote_key = None
            else:
                stat_commit(k)
            # fusion bookkeeping: each detector's last signal time and its margin then
            hit = rank > 0
            dets = np.flatnonzero(hit.any(axis=0))
            if dets.size:
                rows = i - np.argmax(hit[::-1, dets], axis=0)
                if thr:
                    marg = R[rows, dets] / self.sp[rank[rows, dets] - 1, dets]
                else:
                    marg = margin_at(rows, dets)
                self._last_margin[dets] = marg
                self._last_sig[dets] = times[rows]
            for src in ("gas", "camera") if cameras else ("gas",):
                rsd, last_on, prev_on = self._raised[src], self._last_on[src], self._prev_on[src]
                if self.rearm is not None:  # quiet zones re-arm; the latest row decides (times ascend)
                    rsd[~prev_on & (t - last_on >= self.rearm - 1e-9)] = 0
                last_on[prev_on] = t  # zones on stay on through the block
            self.t = t

        return j, commit

    @staticmethod
    def _no_commit(k: int) -> None:
        """The commit of a block that stops at its first row: nothing to apply."""
        if k:
            raise ValueError(f"commit({k}): the block stops at row 0")

    def _zone_rows(self, times: np.ndarray, R: np.ndarray, rank: np.ndarray, lsig: np.ndarray, bad: np.ndarray,
                   levels: np.ndarray | None) -> np.ndarray:
        """:meth:`_conclude`'s zone ranks (m, nz) for rows of detector ranks ``rank`` (m, n), the last
        signal times after each row ``lsig`` (m, n) and the detectors' levels (m, n) or None."""
        cfg = self.config
        if isinstance(cfg, FusionConfig):
            w = cfg.window + 1e-9
            recent = (times[:, None] - lsig) <= w
            site = cfg.group != "zone"
            cnt = self._zone_count(recent, site=site)
            if cfg.cameras and len(self.cam_names):
                cam_recent = (times[:, None] - self._cam_last) <= w
                cnt = cnt + self._zone_count(cam_recent, cams=True, site=site)
            if not site:
                zrank = (cnt >= cfg.k).astype(np.int64)
            else:  # the zone of the strongest recently signalling detector, when the site has k of them
                zrank = np.zeros((len(times), self.nz), dtype=np.int64)
                rows = np.flatnonzero((cnt[:, 0] >= cfg.k) & recent.any(axis=1))
                if rows.size:
                    wv = np.where(recent[rows], (R[rows] - self.mu0) / self.sigma0, -np.inf)
                    zrank[rows, self.zc[np.argmax(wv, axis=1)]] = 1
        else:
            zrank = self._zone_max(rank)
        if getattr(cfg, "escalate", False) and not isinstance(self.base, ThresholdConfig):
            lv = np.asarray(levels, dtype=np.int64) if levels is not None else (R >= self.first_sp).astype(np.int64)
            zrank = np.maximum(zrank, self._zone_max(np.where(bad, 0, lv)))
        return zrank

    def _zone_count(self, x: np.ndarray, cams: bool = False, site: bool = False) -> np.ndarray:
        """(m, nz) counts of True per zone (``site``: all in zone 0) in each row of ``x`` (m, detectors or
        ``cams``): exact integers as floats, as ``np.bincount`` with weights gives them."""
        onehot = self._onehots.get((cams, site))
        if onehot is None:
            zc = self.cam_zc if cams else self.zc
            onehot = np.zeros((len(zc), self.nz))
            onehot[np.arange(len(zc)), 0 if site else zc] = 1.0
            self._onehots[(cams, site)] = onehot
        return x.astype(float) @ onehot

    def _zone_max(self, x: np.ndarray) -> np.ndarray:
        """(m, nz) largest of the non-negative ``x`` (m, n) over each zone's detectors (0 for none)."""
        out = np.zeros((x.shape[0], self.nz), dtype=np.int64)
        if x.shape[1]:
            if self._zone_runs is None:  # detectors sorted by zone, and where each zone's run starts
                order = np.argsort(self.zc, kind="stable")
                present, starts = np.unique(self.zc[order], return_index=True)
                self._zone_runs = (order, present, starts)
            order, present, starts = self._zone_runs
            out[:, present] = np.maximum.reduceat(x[:, order], starts, axis=1)
        return out

    def _threshold_rows(self, times: np.ndarray, R: np.ndarray, upd: np.ndarray, bad: np.ndarray,
                        timers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_threshold` over the rows of ``R`` (m, n) at once from delay-on ``timers`` (nl, n),
        leaving the engine as it is: the voting rank of each detector per row (m, n) and the timers after
        each row (m, nl, n)."""
        cfg = self.base
        nl, n = self.sp.shape
        m = len(times)
        if nl == 0:
            return np.zeros((m, n), dtype=np.int64), np.zeros((m, 0, n))
        if not (R >= self.sp[0]).any() and np.isnan(timers).all():  # nothing over a set point, no timer
            return np.zeros((m, n), dtype=np.int64), np.full((m, nl, n), np.nan)
        Rl = R[:, None, :]
        above = (Rl >= self.sp) & upd
        below = ((Rl < self.sp_off) & upd) | bad
        # Each (level, detector) timer is a latch: set by a reading over the set point, reset (nan) by one
        # below set point - hysteresis or a fault (the reset applies after the set, as in _threshold). A
        # set while it runs does not restart it, so its time is the latest set that found it idle (or the
        # time it had before the block).
        running0 = ~np.isnan(timers)
        running = self._latch(above, below, running0, reset_wins=True)
        was = np.concatenate([running0[None], running[:-1]])
        started = np.where(above & ~below & ~was, times[:, None, None], -np.inf)
        started[0] = np.maximum(started[0], np.where(running0, timers, -np.inf))
        np.maximum.accumulate(started, axis=0, out=started)
        since = np.where(running, started, np.nan)
        with np.errstate(invalid="ignore"):
            qual = (times[:, None, None] - since) >= cfg.delay_on - 1e-9
        healthy = self._zone_size if not bad.any() else \
            np.bincount(self.zc, weights=(~bad).astype(float), minlength=self.nz)
        k_eff = np.minimum(cfg.k, np.maximum(healthy, 1.0))
        rank = np.zeros((m, n), dtype=np.int64)
        for lev in range(nl):
            cnt = self._zone_count(qual[:, lev])
            zone_ok = (cnt >= k_eff) & (cnt > 0)
            rank = np.where(qual[:, lev] & zone_ok[:, self.zc], lev + 1, rank)
        return rank, since

    @staticmethod
    def _latch(set_: np.ndarray, reset: np.ndarray, init: np.ndarray, reset_wins: bool) -> np.ndarray:
        """Whether a set/reset latch is set after each row (axis 0) of ``set_`` and ``reset`` (bool), from
        ``init`` before the first; a row with both sets it unless ``reset_wins``."""
        m = set_.shape[0]
        # the latch's last event after each row: 0 none, 2 set before the block, 2 i + 4 set at row i,
        # 2 i + 5 reset at row i (a running maximum); it is set when that is even and positive
        code = np.arange(4, 2 * m + 4, 2, dtype=np.int32).reshape((m,) + (1,) * (set_.ndim - 1))
        if reset_wins:
            code = np.where(reset, code + 1, np.where(set_, code, 0))
        else:
            code = np.where(set_, code, np.where(reset, code + 1, 0))
        code[0] = np.maximum(code[0], np.where(init, 2, 0))
        np.maximum.accumulate(code, axis=0, out=code)
        return ((code & 1) == 0) & (code > 0)

    def _stat_stepper(self, upd: np.ndarray) -> tuple:
        """The baseline and statistic stepped over successive parts of a block without changing the engine.

        Returns ``rows(R)`` (the raw signals (m, n) of the next rows ``R``), ``margin_at(rows, dets)`` (the
        statistic's margin there, rows counted from the block's start) and ``commit(k)`` (the engine's
        baseline and statistic as after the block's rows ``[0, k)``). CUSUM and EWMA run on arrays of their
        own through the steps :meth:`_Baseline.follow` and ``advance`` that their per-step calls use, and
        keep each row's statistic; other statistics step copies of themselves, and the commit adopts the
        copy or replays the rows on the engine's own."""
        if isinstance(self.stat, _Cusum | _Ewma):
            return self._recurrence_stepper(upd)
        if isinstance(self.stat, _Rate) and self.stat.uniform and upd.all():
            return self._rate_stepper()
        base = copy.copy(self.baseline)
        st = copy.copy(self.stat)
        for name, v in vars(st).items():
            if isinstance(v, np.ndarray) and name != "thr":
                setattr(st, name, v.copy())
        zs: list[np.ndarray] = []
        margs: list[np.ndarray] = []
        Rs: list[np.ndarray] = []

        def rows(R: np.ndarray) -> np.ndarray:
            sig = np.empty(R.shape, dtype=bool)
            marg = np.empty(R.shape)
            z = np.empty(R.shape)
            for i in range(R.shape[0]):
                z[i] = base.z(R[i], upd)
                sig[i] = st.step(z[i], upd)[0]
                marg[i] = st.margin[0]
            zs.append(z)
            margs.append(marg)
            Rs.append(R)
            return sig

        def commit(k: int) -> None:
            if k == sum(len(z) for z in zs):  # the copies are the state after every row
                self.baseline.b = base.b
                for name, v in vars(st).items():
                    setattr(self.stat, name, v)
                return
            R, Z = np.concatenate(Rs), np.concatenate(zs)
            for i in range(k):
                self.baseline.z(R[i], upd)
                self.stat.step(Z[i], upd)

        return rows, (lambda r, d: np.concatenate(margs)[r, d]), commit

    def _baseline_rows(self, b: np.ndarray, R: np.ndarray, mask: np.ndarray | None) -> tuple:
        """Residuals (m, n) of the rows ``R`` against the baseline from ``b``, and the baseline after each
        row (m, n) (``None`` for a fixed baseline)."""
        base = self.baseline
        if base.alpha is None:
            return base.follow(b, R, None)[0], None
        Z, B = np.empty(R.shape), np.empty(R.shape)
        follow = base.follow
        for i in range(R.shape[0]):
            Z[i], b = follow(b, R[i], mask, B[i])
        return Z, B

    def _rate_stepper(self) -> tuple:
        """:meth:`_stat_stepper` for the rate of rise while every detector samples every row (one ring
        position for all): the window sums are running sums over the rows (``np.cumsum`` adds row after
        row, as :meth:`_Rate.step` does), the signal's hysteresis a latch."""
        st = self.stat
        N, half_n = st.N, st.N // 2
        pos0 = int(st.pos[0])
        thr, half = st.thr[0], (0.5 * st.thr)[0]
        # the samples by age: row q is the one taken at step pos0 - N + q, then the block's rows
        hist = [np.roll(st.buf, -(pos0 % N), axis=0)]
        state = {"b": self.baseline.b, "s_new": st.s_new, "s_old": st.s_old, "on": st.on[0]}
        parts: dict[str, list] = {"Z": [], "B": [], "s_new": [], "s_old": [], "rho": [], "on": []}

        def rows(R: np.ndarray) -> np.ndarray:
            m = R.shape[0]
            Z, B = self._baseline_rows(state["b"], R, None)
            H = np.concatenate([np.concatenate(hist)[-N:], Z])
            moving, leaving = H[N - half_n: N - half_n + m], H[:m]
            s_new = np.cumsum(np.concatenate([state["s_new"][None], Z - moving]), axis=0)[1:]
            s_old = np.cumsum(np.concatenate([state["s_old"][None], moving - leaving]), axis=0)[1:]
            rho = (s_new - s_old) * st.scale
            on = self._latch(rho > thr, ~(rho > half), state["on"], reset_wins=False)
            hist.append(Z)
            if B is not None:
                state["b"] = B[-1]
                parts["B"].append(B)
            state["s_new"], state["s_old"], state["on"] = s_new[-1], s_old[-1], on[-1]
            for key, v in (("Z", Z), ("s_new", s_new), ("s_old", s_old), ("rho", rho), ("on", on)):
                parts[key].append(v)
            return on

        def commit(k: int) -> None:
            i = k - 1
            if parts["B"]:
                self.baseline.b = np.concatenate(parts["B"])[i].copy()
            Z = np.concatenate(parts["Z"])
            lo = max(0, k - N)  # the last N samples are the window
            st.buf[(pos0 + np.arange(lo, k)) % N] = Z[lo:k]
            st.pos += k
            st.s_new[...] = np.concatenate(parts["s_new"])[i]
            st.s_old[...] = np.concatenate(parts["s_old"])[i]
            st.rho[...] = np.concatenate(parts["rho"])[i]
            st.on = np.concatenate(parts["on"])[i][None, :].copy()
            st.margin = st.rho / st.thr

        return rows, (lambda r, d: np.concatenate(parts["rho"])[r, d] / thr[d]), commit

    def _recurrence_stepper(self, upd: np.ndarray) -> tuple:
        """:meth:`_stat_stepper` for CUSUM and EWMA: a few array operations per row."""
        st, base = self.stat, self.baseline
        cus = isinstance(st, _Cusum)
        thr = st.thr[0]
        alpha, follow, advance = base.alpha, base.follow, st.advance
        full = bool(upd.all())
        hold = ~upd
        mask = None if full else upd
        news: list[np.ndarray] = []  # the statistic of each row before the restart (margin: NEW / thr)
        bs: list[np.ndarray] = []  # the baseline after each row (tracked baseline only)
        state = {"b": base.b, "s": (st.s if cus else st.zs)[0]}

        def rows(R: np.ndarray) -> np.ndarray:
            m, n = R.shape
            b, s = state["b"], state["s"]
            NEW = np.empty((m, n))
            B = np.empty((m, n)) if alpha is not None else None
            if alpha is None:
                Z = follow(b, R, None)[0]
            for i in range(m):
                if alpha is None:
                    z = Z[i]
                else:
                    z, b = follow(b, R[i], mask, B[i])
                new = advance(s, z)
                if not full:
                    np.copyto(new, s, where=hold)
                NEW[i] = new
                new[new > thr] = 0.0  # restart
                s = new
            state["b"], state["s"] = b, s
            news.append(NEW)
            if B is not None:
                bs.append(B)
            return NEW > thr

        def commit(k: int) -> None:
            if bs:
                self.baseline.b = np.concatenate(bs)[k - 1].copy()
            last = np.concatenate(news)[k - 1][None, :]
            after = np.where(last > st.thr, 0.0, last)
            if cus:
                st.s = after
            else:
                st.zs = after
            st.margin = last / st.thr

        return rows, (lambda r, d: np.concatenate(news)[r, d] / thr[d]), commit

    def _threshold(self, t: float, r: np.ndarray, upd: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-detector voting rank (delay-on applied) and margin; zone voting happens here too."""
        cfg = self.base
        nl, n = self.sp.shape
        if nl == 0:
            return np.zeros(n, dtype=np.int64), np.zeros(n)
        if not self._pending and not (r >= self.sp[0]).any():  # sp[0]: each detector's lowest set point
            # the usual step: nothing over a set point and nothing pending; the voting below is all zeros
            return self._zeros_i, self._zeros_f
        above = (r >= self.sp) & upd
        idle = np.isnan(self.on_since)
        below = ((r < self.sp_off) & upd) | bad
        start = idle & above
        self.on_since[start] = t
        self.on_since[below] = np.nan
        self._pending = not np.isnan(self.on_since).all()
        with np.errstate(invalid="ignore"):
            qual = (t - self.on_since) >= cfg.delay_on - 1e-9  # NaN (not pending) compares False
        key = (qual.tobytes(), bad.tobytes())
        if key == self._vote_key:  # the same detectors qualify as at the last call: the same votes
            rank, sp_at = self._vote
        else:
            healthy = self._zone_size if not bad.any() else \
                np.bincount(self.zc, weights=(~bad).astype(float), minlength=self.nz)
            k_eff = np.minimum(cfg.k, np.maximum(healthy, 1.0))  # voting degrades with faulted detectors
            rank = np.zeros(n, dtype=np.int64)
            for j in range(nl):
                cnt = np.bincount(self.zc, weights=qual[j].astype(float), minlength=self.nz)
                zone_ok = (cnt >= k_eff) & (cnt > 0)
                rank = np.where(qual[j] & zone_ok[self.zc], j + 1, rank)
            sp_at = self.sp[np.clip(rank - 1, 0, None), np.arange(n)]
            self._vote_key, self._vote = key, (rank, sp_at)
        margin = np.where(rank > 0, r / sp_at, 0.0)
        return rank, margin

    def _fusion(self, t: float, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        recent = (t - self._last_sig) <= cfg.window + 1e-9
        grp = self.zc if cfg.group == "zone" else np.zeros_like(self.zc)
        cnt = np.bincount(grp, weights=recent.astype(float), minlength=self.nz)
        if cfg.cameras and len(self.cam_names):
            cam_recent = (t - self._cam_last) <= cfg.window + 1e-9
            cgrp = self.cam_zc if cfg.group == "zone" else np.zeros_like(self.cam_zc)
            cnt += np.bincount(cgrp, weights=cam_recent.astype(float), minlength=self.nz)
        ok = cnt >= cfg.k
        zone_rank = np.zeros(self.nz, dtype=np.int64)
        if cfg.group == "zone":
            zone_rank[ok] = 1
        elif ok[0] and recent.any():
            # Site-wide corroboration: the alert belongs to the zone of the strongest detector.
            w = np.where(recent, (r - self.mu0) / self.sigma0, -np.inf)
            zone_rank[self.zc[int(np.argmax(w))]] = 1
        return zone_rank, recent

    def _raise(self, t: float, source: str, zone_rank: np.ndarray, r: np.ndarray, sig_now: np.ndarray,
               margin: np.ndarray, members: np.ndarray | None) -> list[Alert]:
        raised, last_on, prev_on = self._raised[source], self._last_on[source], self._prev_on[source]
        on = zone_rank > 0
        if not self._any_on[source] and not on.any() and (self.rearm is None or not raised.any()):
            return []  # quiet before and now, nothing to re-arm: no state changes (the usual step)
        self._any_on[source] = bool(on.any())
        if self.rearm is not None:
            # Re-arm zones that were quiet at the previous call and have been quiet for `rearm` s since
            # they were last active (checked before this call's activity counts).
            quiet = ~prev_on & (t - last_on >= self.rearm - 1e-9)
            raised[quiet] = 0
        last_on[on] = t
        prev_on[:] = on
        new = np.flatnonzero(zone_rank > raised)
        out: list[Alert] = []
        for zi in new:
            rank = int(zone_rank[zi])
            raised[zi] = rank
            out.append(self._make_alert(t, source, int(zi), rank, r, sig_now, margin, members))
        self.alerts.extend(out)
        self._episodes(t, source, on, out)
        return out

    def _episodes(self, t: float, source: str, on: np.ndarray, new: list[Alert]) -> None:
        """Close the episodes of zones gone quiet; open or extend one per new alert."""
        open_ = self._open[source]
        for zi in [z for z in open_ if not on[z]]:
            ep = open_.pop(zi)
            ep.end = t
            for cb in self.episode_hooks:
                cb("end", ep)
        for a in new:
            zi = self._zone_code[a.zone]
            ep = open_.get(zi)
            if ep is None:
                ep = AlertEpisode(f"E{len(self.episodes) + 1}", a.zone, a.policy, a.t, None, a.rank, a.level,
                                  a.sensors, a.confidence, [a.id])
                open_[zi] = ep
                self.episodes.append(ep)
                for cb in self.episode_hooks:
                    cb("start", ep)
            else:
                ep.rank, ep.level = max(ep.rank, a.rank), level_name(max(ep.rank, a.rank))
                ep.detectors = tuple(dict.fromkeys(ep.detectors + a.sensors))
                ep.confidence = max(ep.confidence, a.confidence)
                ep.alerts.append(a.id)

    def _make_alert(self, t: float, source: str, zi: int, rank: int, r: np.ndarray, sig_now: np.ndarray,
                    margin: np.ndarray, members: np.ndarray | None) -> Alert:
        cfg = self.config
        ev: list[float] = []
        names: list[str] = []
        if source == "camera":
            cams = np.flatnonzero((self.cam_zc == zi) & (self._cam_last == t))
            loc = tuple(self.cam_pos[cams].mean(axis=0)) if cams.size else (math.nan, math.nan)
            names = [self.cam_names[c] for c in cams]
            ev = [cfg.camera_confidence] * len(names)
            return Alert(f"A{len(self.alerts) + 1}", t, level_name(rank), rank, self.zone_labels[zi],
                         (float(loc[0]), float(loc[1])), _noisy_or(np.array(ev)), "camera", tuple(names))
        if members is not None:  # fusion: every recently signalling detector of the group
            sel = members & ((self.zc == zi) if cfg.group == "zone" else True)
            marg = self._last_margin
        else:
            sel = (self.zc == zi) & sig_now
            marg = margin
        if not sel.any():  # escalation without a signal: the detectors over their set point
            sel = (self.zc == zi) & (r >= self.first_sp)
            marg = np.where(sel, r / self.first_sp, 0.0)
        det = np.flatnonzero(sel)
        names = [self.names[i] for i in det]
        ev = list(_evidence(marg[det])) if det.size else []
        if members is not None and cfg.cameras and len(self.cam_names):
            cams = np.flatnonzero(((t - self._cam_last) <= cfg.window + 1e-9)
                                  & ((self.cam_zc == zi) if cfg.group == "zone" else True))
            names += [self.cam_names[c] for c in cams]
            ev += [cfg.camera_confidence] * cams.size
        if det.size:
            w = np.maximum((r[det] - self.mu0[det]) / self.sigma0[det], 0.0)
            w = w if w.sum() > 0 else np.ones(det.size)
            loc = (self.pos[det] * w[:, None]).sum(axis=0) / w.sum()
        else:
            loc = np.array([math.nan, math.nan])
        return Alert(f"A{len(self.alerts) + 1}", t, level_name(rank), rank, self.zone_labels[zi],
                     (float(loc[0]), float(loc[1])), _noisy_or(np.array(ev)), self.policy, tuple(names))

    def update_cameras(self, t: float, camera_alarms: Sequence[CameraAlarm]) -> list[Alert]:
        """Feed the cameras' new alarms (``CameraArray.new_alarms``) at drill time ``t`` (s); return the
        ``policy="camera"`` alerts raised now. Only the alarm itself is used, not its ``true_positive``."""
        t = float(t)
        if not camera_alarms:
            return self._raise(t, "camera", np.zeros(self.nz, dtype=np.int64), np.zeros(len(self.specs)),
                               np.zeros(len(self.specs), dtype=bool), np.zeros(len(self.specs)), None)
        idx = {nm: i for i, nm in enumerate(self.cam_names)}
        zone_rank = np.zeros(self.nz, dtype=np.int64)
        for a in camera_alarms:
            c = idx.get(a.name, a.camera if 0 <= a.camera < len(self.cam_names) else None)
            if c is None:
                continue
            self._cam_last[c] = t
            zone_rank[self.cam_zc[c]] = 1
        n = len(self.specs)
        return self._raise(t, "camera", zone_rank, np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n), None)


# --- false alerts -----------------------------------------------------------------------------------------
def false_alert_rate(config: Any, specs: Sequence[DetectorSpec], sensor_days: float, rng: np.random.Generator,
                     *, zones: Sequence[Hashable] | None = None, positions: ArrayLike | None = None,
                     step: float = 1.0, copies: int | None = None) -> float:
    """False alerts per sensor-day of ``config`` on leak-free readings of detectors like ``specs``.

    The detectors (with their ``zones``, default one zone each) are replicated ``copies`` times (default:
    enough for about 2 h of simulated time per copy) into one :class:`DetectorArray` fed with zero true
    concentration from ``rng``, and the policy runs with ``rearm = 0`` so every separate episode counts.
    Returns alerts / (detectors x days simulated).
    """
    specs = [resolve_spec(s) for s in specs]
    m = len(specs)
    zones = list(range(m)) if zones is None else list(zones)
    pos = np.zeros((m, 2)) if positions is None else np.asarray(positions, dtype=float).reshape(m, -1)[:, :2]
    if copies is None:
        copies = max(1, int(math.ceil(sensor_days * 86400.0 / (7200.0 * m))))
    all_specs = [replace(s, name=f"{s.name}#{c}", id=None) for c in range(copies) for s in specs]
    all_zones = [(c, z) for c in range(copies) for z in zones]
    det = DetectorArray(all_specs, rng)
    eng = AlertEngine(config, all_specs, all_zones, np.tile(pos, (copies, 1)), step=step, rearm=0.0)
    steps = max(1, int(math.ceil(sensor_days * 86400.0 / (len(all_specs) * step))))
    count = 0
    k = 0
    while k < steps:  # clean air in blocks where possible (the same alerts as step by step)
        # short blocks: the rows after an alert are computed again from there, so keep that waste small
        b = det.clean_block(step, min(steps - k, max(16, 2**18 // max(len(all_specs), 1))))
        if b is None or len(b) == 0:
            t = (k + 1) * step
            r = det.update(t, 0.0)
            count += len(eng.update(t, r, fault_flags=det.fault | det.inhibited, levels=det.levels(),
                                    fresh=det.fresh))
            k += 1
            continue
        j, new = eng.scan_clean(b.times, b.readings, det.fault | det.inhibited, ~det.fault)
        det.commit_clean(b, j)
        count += len(new)
        k += j + 1
    days = steps * step / 86400.0
    return count / (len(all_specs) * days)


calcache.register(_calibrate, Calibration,
                  (_calibrate_stream, _pick_threshold, _Baseline, _Stat, _Cusum, _Ewma, _Rate, _make_stat, Calibration),
                  (CALIBRATION_COPIES, BASELINE_GUARD, sorted((k, v.tolist()) for k, v in _GRIDS.items())))
