"""Drill scenarios (docs/scenario.md): YAML validated with pydantic, units resolved to SI.

:func:`load_scenario` reads and validates a file; names in it (spaces, doors, storeys) are checked
against the site when the run is built (:mod:`drills.sim.engine`), so every error names the file and field.
``drilltwin schema`` prints :func:`scenario_schema`.

Defaults (documented in the README):

- walking speed ``{dist: normal, mean: 1.34, sd: 0.26, min: 0.5, max: 2.2}`` m/s (Weidmann 1993, the
  default of Vadere and of RiMEA's adult population);
- pre-movement ``{dist: lognormal, median: 60s, sigma: 0.5}`` (a drill with an audible alarm in a
  familiar workplace; set it per scenario from PD 7974-6 or the Lovreglio et al. 2019 drill database);
- stair speeds from the walking speed times the SFPE stair/corridor ratio ``k_stair / 1.40``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from agents.cues import CuesConfig
from drills.alerts.levels import ALLOWED_LEVELS, check_level
from drills.alerts.policies import POLICIES, AlertsConfig
from drills.spec import limits as L
from drills.workflow.engine import WORKFLOW_FIELD, error_path
from twin.distributions import Distribution
from twin.errors import InputError
from twin.source_term import HOLE_CLASSES
from twin.units import parse_bounded, parse_duration, parse_quantity
from twin.yamlio import read_yaml

__all__ = ["Scenario", "PopulationEntry", "PeopleDefaults", "AlarmSpec", "Inject", "HazardSpec", "WeatherSpec",
           "PlacementSpec", "PlacementPoint", "VentilationCase",
           "load_scenario",
           "scenario_from_dict", "scenario_schema", "format_validation_error"]

DEFAULT_SPEED = {"dist": "normal", "mean": 1.34, "sd": 0.26, "min": 0.5, "max": 2.2}
DEFAULT_PREMOVEMENT = {"dist": "lognormal", "median": "60s", "sigma": 0.5}
ROLES = ("occupant", "warden", "operator", "responder", "supervisor")
INJECT_KINDS = ("block", "unblock", "alarm", "evacuate", "sensor_fail", "sensor_restore", "isolate", "message",
                "wind_shift", "leak", "responder_unavailable", "contingency", "alert")
CONTINGENCY_KPIS = ("t_detect", "t_alert", "t_ack", "t_alarm", "t_isolate", "t_headcount")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, validate_default=True)


def _dist(v: Any, dim: str, name: str) -> Distribution | None:
    if v is None or isinstance(v, Distribution):
        return v
    if isinstance(v, dict) and set(v) == {"kind", "params", "dimension"}:
        return Distribution(**v)  # a parsed distribution coming back from model_dump()
    return Distribution.parse(v, dim, name)


class _PersonFields(_Model):
    """Movement fields shared by the people defaults and each population entry, read as distributions."""

    speed: Any = Field(default=None, description="free walking speed (m/s): quantity or distribution")
    premovement: Any = Field(default=None, description="pre-movement time (s) after the cue")
    stair_up: Any = Field(default=None, description="speed up stairs along the slope (m/s); default from speed")
    stair_down: Any = Field(default=None, description="speed down stairs along the slope (m/s)")
    demographic: Literal["rimea"] | None = Field(default=None, description="speeds by RiMEA age groups")

    @field_validator("speed", "stair_up", "stair_down")
    @classmethod
    def _speed(cls, v, info):
        return _dist(v, "speed", info.field_name)

    @field_validator("premovement")
    @classmethod
    def _pre(cls, v, info):
        return _dist(v, "time", info.field_name)


class PeopleDefaults(_PersonFields):
    """Defaults for every person; a population entry may override each."""

    speed: Any = Field(default=DEFAULT_SPEED, description="free walking speed (m/s): quantity or distribution")
    premovement: Any = Field(default=DEFAULT_PREMOVEMENT, description="pre-movement time (s) after the cue")
    cues: CuesConfig = Field(default_factory=CuesConfig,
                             description="cues people notice themselves: odour, irritation, others leaving")


class PopulationEntry(_PersonFields):
    """``count`` people of ``role`` in ``where``: a space (name, LongName or GlobalId), ``storey:NAME``,
    ``building:NAME`` or ``*``, spread evenly over the floor area (``margin`` m clear of the walls) or at
    the fixed point ``at``."""

    where: str
    count: int = Field(ge=0, le=L.MAX_PEOPLE, strict=True)
    role: Literal["occupant", "warden", "operator", "responder", "supervisor"] = "occupant"
    at: list[float] | None = None
    margin: float = 0.0
    exit: str | None = Field(default=None, description="door name: static exit assignment")
    zone: list[str] | None = Field(default=None, description="wardens: spaces/storeys they sweep")
    protected: bool = Field(default=False, description="breathing apparatus (responders)")

    @field_validator("margin", mode="before")
    @classmethod
    def _margin(cls, v):
        return parse_bounded(v, "length", "margin", upper=L.MAX_MARGIN)

    @field_validator("at")
    @classmethod
    def _at(cls, v):
        if v is not None and len(v) not in (2, 3):
            raise ValueError("expected [x, y] in metres")
        return v

    @model_validator(mode="after")
    def _at_count(self):
        if self.at is not None and self.margin:
            raise ValueError("give either at or margin, not both")
        return self


class AlarmSpec(_Model):
    """A manual alarm at ``at`` heard in ``zones`` (spaces, ``storey:NAME``...; everywhere if omitted)."""

    at: float = 0.0
    zones: list[str] | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _t(cls, v):
        return parse_bounded(v, "time", "at", upper=L.MAX_TIME)


class Inject(_Model):
    """A timed event (MSEL row)."""

    id: int | str
    time: float
    kind: str
    target: str | None = None
    message: str = ""
    site: str | None = None
    mode: str | None = Field(default=None, description="sensor_fail: dead | stuck | out_of_calibration | inhibited")
    gain: float | None = Field(default=None, description="sensor_fail out_of_calibration: reading / truth")
    weather: WeatherSpec | None = Field(default=None, description="wind_shift: the weather from this time on")
    hazard: HazardSpec | None = Field(default=None, description="leak: a further release starting at `time`")
    count: int = Field(default=1, ge=1, le=L.MAX_PEOPLE, strict=True,
                       description="responder_unavailable: how many of the role drop out")
    unless: str | None = Field(default=None, description="contingency: a KPI (t_alarm, t_ack, ...) that must have "
                                                         "happened by `time`, else `then` fires")
    then: dict[str, Any] | None = Field(default=None, description="contingency: the inject fired at the deadline")
    zone: str | None = Field(default=None, description="alert: the space the alert names (a space reference)")
    level: Any = Field(default=None, description="alert: warning, low, alarm, high or a set-point number 1, 2, ...")
    policy: str = Field(default="replay", description="alert: the policy named as its source (text)")
    detector: str | None = Field(default=None, description="alert: the detector named as its source, if any")

    @model_validator(mode="after")
    def _kind_fields(self):
        if self.kind == "wind_shift" and self.weather is None:
            raise ValueError("a wind_shift needs weather: {wind_speed, wind_from, stability}")
        if self.kind == "leak" and self.hazard is None:
            raise ValueError("a leak needs hazard: {gas, source, rate}")
        if self.kind == "contingency":
            if self.unless not in CONTINGENCY_KPIS:
                raise ValueError(f"a contingency needs unless: one of {', '.join(CONTINGENCY_KPIS)}")
            if not self.then or self.then.get("kind") in (None, "contingency"):
                raise ValueError("a contingency needs then: {kind: ..., ...} (an inject, not another contingency)")
        if self.kind == "alert":
            if not self.zone:
                raise ValueError("zone: an alert needs zone: the space it names")
            if self.level is None:
                raise ValueError(f"level: an alert needs level: {ALLOWED_LEVELS}")
        return self

    @field_validator("level")
    @classmethod
    def _level(cls, v):
        return check_level(v)

    @field_validator("time", mode="before")
    @classmethod
    def _t(cls, v):
        return parse_bounded(v, "time", "time", upper=L.MAX_TIME)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v):
        if v not in INJECT_KINDS:
            raise ValueError(f"expected one of {', '.join(INJECT_KINDS)}, got {v!r}")
        return v


class ReleaseSpec(_Model):
    """A release given by its cause instead of its rate (:mod:`twin.source_term`): the ``hole`` (a
    diameter such as ``25 mm`` or an API RP 581 class: small, medium, large, rupture), the absolute
    ``pressure`` inside (``10 bar``), the ``temperature`` (K, default 293.15) and the ``phase`` (gas,
    liquid or flashing for a liquefied gas at its saturation pressure), with the ``pipe_length`` before
    the hole (flashing), the liquid ``head`` above it, and the discharge coefficient ``cd``."""

    hole: Any
    pressure: Any = None
    temperature: Any = None
    phase: Literal["gas", "liquid", "flashing"] = "gas"
    pipe_length: Any = 0.0
    head: Any = 0.0
    cd: float | None = None
    liquid_density: Any = None

    @field_validator("hole", mode="before")
    @classmethod
    def _hole(cls, v):
        if isinstance(v, str) and v.strip().lower() in HOLE_CLASSES:
            return v.strip().lower()
        return parse_bounded(v, "length", "hole", positive=True)

    @field_validator("pressure", "temperature", mode="before")
    @classmethod
    def _state(cls, v, info):
        return parse_bounded(v, info.field_name, info.field_name, positive=True)  # the field is its dimension

    @field_validator("pipe_length", "head", mode="before")
    @classmethod
    def _lengths(cls, v, info):
        return parse_bounded(v, "length", info.field_name)

    @field_validator("liquid_density", mode="before")
    @classmethod
    def _rho(cls, v):
        return parse_bounded(v, "density", "liquid_density", positive=True)

    def compute(self, gas: str):
        """The :class:`twin.source_term.Release` of this release of ``gas``."""
        from twin.gas import T_20C
        from twin.source_term import release_rate

        return release_rate(gas, hole=self.hole, pressure=self.pressure, phase=self.phase,
                            temperature=self.temperature if self.temperature is not None else T_20C,
                            pipe_length=self.pipe_length or 0.0, head=self.head or 0.0, cd=self.cd,
                            liquid_density=self.liquid_density)


class HazardSpec(_Model):
    """A release (docs/scenario.md): ``source`` is an equipment item or a space; ``rate`` a mass rate
    (``0.05 kg/s``) or a curve ``[[time, rate], ...]`` (times after ``start``, linear between points);
    or ``burst``, an instantaneous mass. ``stop`` ends it (isolation can end it earlier)."""

    kind: Literal["gas_leak"] = "gas_leak"
    id: str | int | None = None
    gas: str
    source: str
    at: list[float] | None = Field(default=None, description="[x, y, z] m: an outdoor release at this point "
                                                             "(source is then just its label)")
    rate: Any = None
    burst: float | None = None
    release: ReleaseSpec | None = Field(default=None, description="the rate from a hole, pressure, temperature "
                                                                   "and phase instead of a typed rate")
    start: float = 0.0
    stop: float | None = None

    @field_validator("start", "stop", mode="before")
    @classmethod
    def _t(cls, v, info):
        return parse_bounded(v, "time", info.field_name, upper=L.MAX_TIME)

    @field_validator("burst", mode="before")
    @classmethod
    def _burst(cls, v):
        return parse_bounded(v, "mass", "burst", positive=True, upper=L.MAX_BURST)

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, v):
        if v is None:
            return None
        if isinstance(v, list):
            pts = []
            for k, p in enumerate(v):
                if not isinstance(p, list | tuple) or len(p) != 2:
                    raise ValueError(f"point {k}: expected [time, rate]")
                try:
                    t = parse_bounded(p[0], "time", f"rate[{k}][0]", upper=L.MAX_TIME)
                    r = parse_bounded(p[1], "mass_rate", f"rate[{k}][1]", upper=L.MAX_RATE)
                except ValueError as e:
                    raise ValueError(f"point {k}: {e}") from None
                pts.append((t, r))
            if not pts or any(b[0] <= a[0] for a, b in zip(pts, pts[1:], strict=False)):
                raise ValueError("curve times must be ascending")
            return pts
        return parse_bounded(v, "mass_rate", "rate", upper=L.MAX_RATE)

    @model_validator(mode="after")
    def _one_of(self):
        if (self.rate is not None) + (self.burst is not None) + (self.release is not None) != 1:
            raise ValueError("give either rate or burst, or a release (hole, pressure, phase)")
        if self.release is not None:
            try:
                self._release_rate = float(self.release.compute(self.gas).rate)
            except InputError as e:
                raise ValueError(f"release: {e.message}") from None
        if self.stop is not None and self.stop <= self.start:
            raise ValueError("stop must come after start")
        return self

    _release_rate: float | None = PrivateAttr(default=None)

    def rate_value(self):
        """kg/s, or a (times, rates) curve for the dispersion models (a ``release`` gives its model's rate)."""
        if self.release is not None:
            return self._release_rate
        if isinstance(self.rate, list):
            return ([p[0] for p in self.rate], [p[1] for p in self.rate])
        return float(self.rate)


class WeatherSpec(_Model):
    """One outdoor field: ``wind_from`` in degrees clockwise from north (+y), the meteorological
    convention; Pasquill-Gifford ``stability`` A-F; ``terrain`` rural or urban (Briggs coefficients)."""

    wind_speed: float = 3.0
    wind_from: float = 270.0
    stability: Literal["A", "B", "C", "D", "E", "F"] = "D"
    terrain: Literal["rural", "urban"] = "rural"

    @field_validator("wind_speed", mode="before")
    @classmethod
    def _u(cls, v):
        return parse_bounded(v, "speed", "wind_speed", positive=True, upper=L.MAX_WIND)

    @field_validator("wind_from", mode="before")
    @classmethod
    def _dir(cls, v):
        return parse_quantity(v, "angle", "wind_from") % 360.0


Inject.model_rebuild()


class VentilationCase(_Model):
    """One ventilation case of a placement study: every zone's air change rate times ``factor`` (1 =
    as designed, 0 = ventilation off, doors and cracks still exchange air)."""

    name: str
    factor: float = Field(default=1.0, ge=0.0, description="multiplies every zone's ach (1/h)")


class PlacementPoint(_Model):
    """A release point of a leak ensemble (a pipe rack, a tank farm, a spot in a room): no equipment item
    needed. A point inside a walkable space (footprint and height) leaks into that space, else outdoors."""

    name: str
    at: list[float] = Field(description="[x, y, z] m, z the world height: released in the space that holds "
                                        "the point, else outdoors")

    @field_validator("at")
    @classmethod
    def _xyz(cls, v):
        if len(v) != 3:
            raise ValueError(f"expected [x, y, z] in m, got {len(v)} numbers")
        return [float(x) for x in v]


class PlacementSpec(_Model):
    """The leak ensemble of ``drilltwin sensors evaluate|optimize`` (docs/cli.md): every source
    times every rate times every weather case times every ventilation case, released at a constant rate
    from t = 0 and followed for ``horizon``. Omitted fields come from the scenario: the first hazard's gas
    and rate, the scenario's weather, every equipment item of the site."""

    gas: str | None = Field(default=None, description="gas the detectors look for; default: the first hazard's")
    sources: list[str | PlacementPoint] | None = Field(
        default=None, description="equipment or space names, or {name, at: [x, y, z]} release points (in the "
                                  "space that contains the point, else outdoors); default: every equipment item")
    rates: list[Any] | None = Field(default=None, description="release rates ('0.05 kg/s'); default: the "
                                                                "first hazard's rate")
    weather: list[WeatherSpec] | None = Field(default=None, description="weather cases (outdoor sources and "
                                                                         "candidates); default: the scenario's")
    ventilation: list[VentilationCase] | None = Field(default=None, description="ventilation cases; default "
                                                                                 "one case as designed")
    horizon: float | None = Field(default=None, description="time followed after each release starts (s); "
                                                            "default: duration minus the first hazard's start")
    time_limit: float = Field(default=300.0, description="a scenario counts as covered when detected within "
                                                         "this (s); --time-limit overrides")
    undetected_penalty: float | None = Field(default=None, description="detection time counted for an "
                                                                       "undetected leak (s); default: horizon")
    height: float | None = Field(default=None, description="candidate grid height above the floor (m); "
                                                           "default 0.5 m for gases heavier than air, else 1.5 m")
    detector: dict[str, Any] | None = Field(default=None, description="detector of new candidates: setpoints, "
                                                                      "t90, noise, period, extra (sensor "
                                                                      "fields); default: like the existing "
                                                                      "detectors of the gas")
    voting: int = Field(default=1, ge=1, description="k of k-out-of-n voting before executive action")
    spaces: list[str] | None = Field(default=None, description="spaces or 'storey:NAME' the grid and the "
                                                               "geographic coverage cover; default: all")
    weights: Literal["equal"] = "equal"

    @field_validator("gas")
    @classmethod
    def _gas(cls, v):
        if v is None:
            return v
        from twin.gas import get_gas

        try:
            return get_gas(v).key
        except InputError as e:
            raise ValueError(e.message) from None

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, v):
        if v is None:
            return None
        if not isinstance(v, list) or not v:
            raise ValueError("expected a non-empty list of release rates such as ['0.05 kg/s']")
        out = []
        for k, r in enumerate(v):
            try:
                out.append(parse_bounded(r, "mass_rate", f"rates[{k}]", positive=True, upper=L.MAX_RATE))
            except ValueError as e:
                raise ValueError(f"rates[{k}]: {e}") from None
        return out

    @field_validator("horizon", "time_limit", "undetected_penalty", mode="before")
    @classmethod
    def _dur(cls, v, info):
        return parse_bounded(v, "time", info.field_name, positive=True, upper=L.MAX_TIME)

    @field_validator("height", mode="before")
    @classmethod
    def _height(cls, v):
        if v is None:
            return None
        return parse_bounded(v, "length", "height", upper=L.MAX_HEIGHT)

    @field_validator("sources", "spaces")
    @classmethod
    def _nonempty(cls, v):
        if v is not None and not v:
            raise ValueError("must not be empty (leave it out for the default)")
        return v



class Scenario(_Model):
    """One drill: a site, a population, cues, and what happens when."""

    name: str
    site: str = Field(description="IFC file or site sketch, relative to the scenario file")
    description: str = ""
    seed: int = Field(default=0, ge=0, le=L.MAX_SEED, strict=True)
    duration: float = Field(default=3600.0, description="the run stops here at the latest (s)")
    people: PeopleDefaults = Field(default_factory=PeopleDefaults)
    population: list[PopulationEntry] = Field(default_factory=list, max_length=L.MAX_ITEMS)
    flow: Literal["sfpe", "empirical"] = "sfpe"
    alarm: AlarmSpec | None = None
    closed: list[str] = Field(default_factory=list)
    injects: list[Inject] = Field(default_factory=list, max_length=L.MAX_ITEMS)
    replan_interval: float = Field(default=30.0, description="s between routine route refreshes")
    hazards: list[HazardSpec] = Field(default_factory=list, max_length=L.MAX_ITEMS)
    workflows: list[WORKFLOW_FIELD] = Field(default_factory=list, max_length=L.MAX_ITEMS)
    targets: dict[str, Any] | None = Field(
        default=None, description="capability targets for the after-action report, e.g. {t_alarm: 3min}")
    alerts: AlertsConfig | None = Field(
        default=None, description="alert policy: {policy: threshold | rate_of_rise | cusum | ewma | fusion, ...} "
                                  "(docs/alerts.md); unknown fields are refused")
    sensors: list[dict[str, Any]] = Field(
        default_factory=list, max_length=L.MAX_ITEMS, description="extra detectors, in the site sketch's sensor format (placement studies)")
    weather: WeatherSpec | None = None
    placement: PlacementSpec | None = Field(
        default=None, description="leak ensemble for `drilltwin sensors evaluate|optimize`")
    hazard_level: str | None = Field(
        default=None, description="air above this is avoided: IDLH, a concentration ('10 %LEL', '50 ppm'); "
                                  "default IDLH for toxic gases, 10 %LEL for flammable ones")
    gas_step: float = Field(default=1.0, description="s between gas, detector and exposure updates")
    record_every: float = Field(default=10.0, description="s between recorded sensor readings and zone levels")

    @field_validator("alerts", mode="before")
    @classmethod
    def _alerts(cls, v: Any) -> Any:
        if isinstance(v, dict) and v.get("policy") not in POLICIES:
            raise ValueError(f"policy: unknown policy {v.get('policy')!r}; expected one of {', '.join(POLICIES)}")
        return v

    @field_validator("duration", "replan_interval", "gas_step", "record_every", mode="before")
    @classmethod
    def _t(cls, v, info):
        lower = {"gas_step": L.MIN_GAS_STEP, "replan_interval": L.MIN_REPLAN}.get(info.field_name)
        upper = L.MAX_GAS_STEP if info.field_name == "gas_step" else L.MAX_TIME
        return parse_bounded(v, "time", info.field_name, positive=True, lower=lower, upper=upper)

    @field_validator("site")
    @classmethod
    def _site(cls, v):
        if len(v) > L.MAX_PATH:
            raise ValueError(f"path too long ({len(v):,} characters; the limit is {L.MAX_PATH:,}, docs/limits.md)")
        return v

    @model_validator(mode="after")
    def _sizes(self):
        total = sum(e.count for e in self.population)
        if total > L.MAX_PEOPLE:
            raise ValueError(f"population: {total:,} people in all; the limit is {L.MAX_PEOPLE:,} (docs/limits.md)")
        for f in ("gas_step", "record_every"):
            n = self.duration / getattr(self, f)
            if n > L.MAX_STEPS:
                raise ValueError(f"{f}: duration / {f} = {n:,.0f} steps; the limit is {L.MAX_STEPS:,} "
                                 f"(docs/limits.md): make {f} longer or the run shorter")
        return self

    @field_validator("targets")
    @classmethod
    def _targets(cls, v):
        if v is None:
            return v
        from drills.spec.kpi_names import KPI_KEYS

        for k, x in v.items():
            if k not in KPI_KEYS:
                raise ValueError(f"targets.{k}: not a KPI; expected one of {', '.join(KPI_KEYS)}")
            if k.startswith("t_"):
                parse_duration(x, f"targets.{k}")
            elif not isinstance(x, int | float) or x < 0:
                raise ValueError(f"targets.{k}: expected a count >= 0")
        return v

    @model_validator(mode="after")
    def _unique_injects(self):
        ids = [str(i.id) for i in self.injects]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"injects: duplicate id(s) {', '.join(sorted(dup))}")
        return self

    # filled by load_scenario
    _path: Path | None = None
    _lines: dict = {}

    def line_of(self, field: str) -> int | None:
        """The YAML line of a dotted field path such as ``population[2].where`` (None if unknown)."""
        import re

        parts: list = []
        for tok in field.split("."):
            m = re.fullmatch(r"([^\[]*)((?:\[\d+\])*)", tok)
            if not m:
                return None
            if m.group(1):
                parts.append(m.group(1))
            parts.extend(int(x) for x in re.findall(r"\[(\d+)\]", m.group(2)))
        return _line_of(self._lines, tuple(parts))

    @property
    def path(self) -> Path | None:
        return self._path

    def evolve(self, **changes: Any) -> Scenario:
        """A validated copy with top-level fields replaced; values as in YAML (unit strings welcome).

        >>> leak = load_scenario("scenarios/plant_h2s_leak.yaml")             # doctest: +SKIP
        >>> big = leak.evolve(hazards=[{**leak.hazards[0].model_dump(), "rate": "0.2 kg/s"}])  # doctest: +SKIP
        """
        data = _yaml_form(self.model_dump(exclude_unset=True))  # as written; defaults re-applied
        data.update(changes)
        try:
            new = Scenario.model_validate(data)
        except ValidationError as e:
            where, msg = format_validation_error(e)
            raise InputError(msg, source=str(self._path or "<scenario>"), where=where) from None
        new._path = self._path
        return new

    def site_path(self) -> Path:
        """The site file, resolved against the scenario file's folder."""
        p = Path(self.site)
        if not p.is_absolute() and self._path is not None:
            p = self._path.parent / p
        return p


def _yaml_form(o: Any) -> Any:
    """A dumped model back in YAML form: parsed distributions (dumped as ``{kind, params, dimension}``)
    become ``{dist: ..., ...}`` mappings or plain SI numbers again."""
    if isinstance(o, dict):
        if set(o) == {"kind", "params", "dimension"}:
            return o["params"]["value"] if o["kind"] == "fixed" else {"dist": o["kind"], **o["params"]}
        return {k: _yaml_form(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_yaml_form(v) for v in o]
    return o


def format_validation_error(e: ValidationError) -> tuple[str, str]:
    """(field path, message) of the first pydantic error, e.g. ``population[2].count`` or, for a
    cross-field check deeper down, ``workflows[0].steps[2].after``."""
    err = e.errors()[0]
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see `drilltwin schema`)"
    if err["type"] == "missing":
        msg = "required field is missing"
    if err["type"] in ("less_than_equal", "too_long"):
        msg += " (the limit, docs/limits.md)"
    if err["type"] in ("int_type", "int_parsing", "int_from_float"):
        msg = f"expected a whole number, got {err.get('input')!r}"
    loc = tuple(err["loc"])
    # drop the policy tags pydantic puts after a discriminated alert policy (alerts.cusum.h -> alerts.h)
    loc = tuple(p for i, p in enumerate(loc) if not (p in POLICIES and i and loc[i - 1] in ("alerts", "detector")))
    where, msg = error_path(loc, msg)
    return where or "(top level)", msg


def _line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def scenario_from_dict(data: Any, source: str | os.PathLike = "<scenario>",
                       lines: dict[tuple, int] | None = None) -> Scenario:
    """Validate a parsed YAML mapping; raise :class:`InputError` naming ``source``, the field and, when
    ``lines`` (from :func:`twin.yamlio.read_yaml`) is given, its line."""
    if not isinstance(data, dict):
        raise InputError("expected a mapping of scenario fields at the top level", source=str(source))
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as e:
        where, msg = format_validation_error(e)
        line = _line_of(lines or {}, tuple(p for p in e.errors()[0]["loc"]))
        raise InputError(msg, source=str(source), where=f"line {line}: {where}" if line else where) from None
    from drills.spec.checks import check_references

    try:
        check_references(sc)
    except InputError as e:
        parts = tuple(int(x) if x.isdigit() else x for x in e.where.replace("[", ".").replace("]", "").split("."))
        line = _line_of(lines or {}, parts)
        raise InputError(e.message, source=str(source), where=f"line {line}: {e.where}" if line else e.where) from None
    if str(source) != "<scenario>":
        sc._path = Path(source)
    return sc


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario YAML file (duplicate keys, alias bombs and oversized files are
    refused by :func:`twin.yamlio.read_yaml`)."""
    p = Path(path)
    data, lines = read_yaml(p)
    sc = scenario_from_dict(data, p, lines)
    sc._lines = lines
    return sc


def scenario_schema() -> dict:
    """JSON Schema of scenario files."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "drilltwin scenario"
    return schema


def all_hazards(sc: Scenario) -> list[HazardSpec]:
    """The scenario's releases plus those of ``leak`` injects (their ``start``/``stop`` count from the
    inject's time)."""
    out = list(sc.hazards)
    for inj in sc.injects:
        if inj.kind == "leak" and inj.hazard is not None:
            h = inj.hazard
            out.append(h.model_copy(update={
                "start": inj.time + h.start,
                "stop": None if h.stop is None else inj.time + h.stop,
                "id": h.id if h.id is not None else f"inject-{inj.id}",
            }))
    return out
