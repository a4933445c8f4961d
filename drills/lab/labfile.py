"""The alert-lab file (YAML): what ``drilltwin alerts evaluate|tune|train`` run. Format in docs/alert-lab.md.

Example::

    scenario: ../scenarios/plant_h2s_leak_ai.yaml   # site, detectors and operators (relative to this file)
    gas: H2S                  # default: the scenario's first hazard gas
    seed: 1
    episodes: 200             # leak episodes
    pre_leak: 30min           # normal operation before each labelled start
    horizon: 1h               # followed after the start
    detection_window: 30min   # an alert within this after the start detects the leak
    leak_free: 7d             # leak-free operation (up to a plant-year)
    slot: 10min               # time slots for the accuracy and the alarm-rate KPIs
    leaks_per_year: 2         # base rate for the accuracy at the plant's prior
    families: {rupture: 0.1, micro: 0.4, crack: 0.3, weeping: 0.2}
    wind_rose: [{from: 270, speed: 3 m/s, stability: D, p: 1}]
    policies:                 # name: a scenario alerts: block (policy: model for a trained model)
      setpoint: {policy: threshold}
      cusum: {policy: cusum}
    sweeps:                   # per policy: one parameter and its values, for the trade-off curves
      cusum: {false_alerts_per_sensor_day: [0.01, 0.1, 1]}
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twin.errors import InputError
from twin.units import parse_duration, parse_quantity

__all__ = ["LabSpec", "WindSector", "load_lab", "parse_lab", "read_yaml", "variants"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _dur(v: Any, name: str) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    return parse_duration(v, name)


class WindSector(_M):
    """One wind-rose sector: direction the wind blows from (deg), speed (m/s), Pasquill class, probability."""

    wind_from: float = Field(alias="from", ge=0, le=360)
    speed: float = Field(3.0, gt=0)
    stability: str = "D"
    p: float = Field(1.0, gt=0)

    @field_validator("speed", mode="before")
    @classmethod
    def _s(cls, v: Any) -> float:
        return v if isinstance(v, int | float) else parse_quantity(v, "speed", "speed")


class LabSpec(_M):
    """A parsed lab file (times in s, rates in kg/s); see the module docstring and docs/alert-lab.md."""

    scenario: Path
    gas: str | None = None
    seed: int = 0
    operators: int | None = Field(None, ge=1)
    episodes: int = Field(100, ge=1)
    pre_leak: float = 1800.0
    horizon: float = 3600.0
    detection_window: float = 1800.0
    leak_free: float = 86400.0
    slot: float = 600.0
    leaks_per_year: float = Field(1.0, gt=0)
    warmup: float = 900.0
    families: dict[str, float] = Field(default_factory=lambda: {"rupture": 0.1, "micro": 0.4, "crack": 0.3,
                                                                "weeping": 0.2})
    hole_classes: dict[str, tuple[float, float]] = Field(default_factory=dict)
    micro_fraction: tuple[float, float] = (0.2, 0.8)
    crack_growth: tuple[float, float] = (600.0, 7200.0)
    weep_period: tuple[float, float] = (120.0, 600.0)
    weep_duty: tuple[float, float] = (0.2, 0.5)
    wind_rose: list[WindSector] = Field(default_factory=lambda: [WindSector(**{"from": 270.0})])
    policies: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"setpoint": {"policy": "threshold"},
                                                                         "cusum": {"policy": "cusum"}})
    sweeps: dict[str, dict[str, list[Any]]] = Field(default_factory=dict)
    reference: str = Field("setpoint", description="the policy whose first true alert is the set-point reference")
    train_seeds: tuple[int, int] = (1000, 1999)
    test_seeds: tuple[int, int] = (2000, 2999)

    @field_validator("pre_leak", "horizon", "detection_window", "leak_free", "slot", "warmup", mode="before")
    @classmethod
    def _t(cls, v: Any, info: Any) -> float:
        return _dur(v, info.field_name)

    @field_validator("crack_growth", "weep_period", mode="before")
    @classmethod
    def _tt(cls, v: Any, info: Any) -> tuple[float, float]:
        if not isinstance(v, list | tuple) or len(v) != 2:
            raise ValueError("expected [low, high]")
        return (_dur(v[0], info.field_name), _dur(v[1], info.field_name))

    @field_validator("hole_classes", mode="before")
    @classmethod
    def _hc(cls, v: Any) -> dict:
        out = {}
        for k, r in (v or {}).items():
            if not isinstance(r, list | tuple) or len(r) != 2:
                raise ValueError(f"{k}: expected [low, high] in kg/s")
            lo, hi = (x if isinstance(x, int | float) else parse_quantity(x, "mass_rate", k) for x in r)
            if not 0 < lo < hi:
                raise ValueError(f"{k}: expected 0 < low < high, got {r}")
            out[k] = (float(lo), float(hi))
        return out

    @model_validator(mode="after")
    def _check(self) -> LabSpec:
        from drills.lab.ensemble import DEFAULT_CLASSES, FAMILIES, FAMILY_CLASSES

        bad = set(self.families) - set(FAMILIES)
        if bad:
            raise ValueError(f"families: unknown {sorted(bad)}; expected some of {', '.join(FAMILIES)}")
        if not self.families or not all(math.isfinite(p) and p >= 0 for p in self.families.values()) \
                or sum(self.families.values()) <= 0:
            raise ValueError("families: expected non-negative weights with a positive sum")
        self.hole_classes = {**DEFAULT_CLASSES, **self.hole_classes}
        for f in self.families:
            for c in FAMILY_CLASSES[f]:
                if c != "micro" and c not in self.hole_classes:
                    raise ValueError(f"hole_classes: family {f} needs class {c}")
        if self.detection_window > self.horizon:
            raise ValueError("detection_window: must not exceed horizon")
        if self.reference not in self.policies:
            self.policies = {self.reference: {"policy": "threshold"}, **self.policies}
        for name in self.sweeps:
            if name not in self.policies:
                raise ValueError(f"sweeps: {name!r} is not one of the policies ({', '.join(self.policies)})")
            if len(self.sweeps[name]) != 1:
                raise ValueError(f"sweeps.{name}: give one parameter and its list of values")
        if self.train_seeds[0] > self.train_seeds[1] or self.test_seeds[0] > self.test_seeds[1]:
            raise ValueError("train_seeds/test_seeds: expected [first, last]")
        if not (self.train_seeds[1] < self.test_seeds[0] or self.test_seeds[1] < self.train_seeds[0]):
            raise ValueError("train_seeds and test_seeds overlap: training and test ensembles never share seeds")
        return self


def parse_lab(data: Any, path: Path) -> LabSpec:
    """Validate a lab mapping; relative paths are taken from the lab file's folder."""
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level", where=str(path))
    try:
        spec = LabSpec.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        raise InputError(f"{path}: {loc}: {msg}" if loc else f"{path}: {msg}", where=loc or str(path)) from None
    if not spec.scenario.is_absolute():
        spec.scenario = (path.parent / spec.scenario).resolve()
    from drills.lab.policies import parse_policy

    for name, cfg in spec.policies.items():
        parse_policy({k: v for k, v in cfg.items()}, where=f"{path}: policies.{name}")
    for name, sw in spec.sweeps.items():
        (param, values), = sw.items()
        for v in values:
            parse_policy({**spec.policies[name], param: v}, where=f"{path}: sweeps.{name}.{param}")
    return spec


def read_yaml(path: Path, what: str) -> Any:
    """The YAML content of ``path``; errors name the file (``what``: "lab file", "tag map", ...)."""
    if not path.is_file():
        raise InputError(f"no such {what}: {path}", where=str(path))
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML: {e}", where=str(path)) from None


def load_lab(path: str | Path) -> LabSpec:
    """Read and validate a lab file."""
    p = Path(path)
    return parse_lab(read_yaml(p, "lab file"), p)


def variants(spec: LabSpec) -> dict[str, tuple[str, str | None, Any, dict[str, Any]]]:
    """Every policy variant to run: ``label -> (policy name, swept parameter, value, config)``. The
    policies as written come first (labels = their names), then the sweeps (``name[param=value]``)."""
    out: dict[str, tuple[str, str | None, Any, dict[str, Any]]] = {}
    for name, cfg in spec.policies.items():
        out[name] = (name, None, None, dict(cfg))
    for name, sw in spec.sweeps.items():
        (param, values), = sw.items()
        for v in values:
            out[f"{name}[{param}={v}]"] = (name, param, v, {**spec.policies[name], param: v})
    return out
