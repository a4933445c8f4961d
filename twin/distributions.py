"""Distributions as written in YAML (docs/scenario.md, quantities), sampled from numpy Generators.

A spec is either a plain quantity (fixed) or a mapping with ``dist``:

``{dist: normal, mean, sd, min?, max?}`` (truncated to [min, max] by resampling),
``{dist: lognormal, median, sigma, min?, max?}`` (sigma of ln x), ``{dist: uniform, min, max}``,
``{dist: triangular, min, mode, max}``, ``{dist: weibull, scale, shape}``, ``{dist: gamma, shape, scale}``,
``{dist: choice, values, weights?}``.

Values carry units of one dimension (``time``, ``speed``...), converted to SI when parsed.

>>> import numpy as np
>>> d = Distribution.parse({"dist": "lognormal", "median": "60s", "sigma": 0.5}, "time")
>>> float(np.median(d.sample(np.random.default_rng(1), 20001))) // 1
59.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .units import parse_quantity

__all__ = ["Distribution"]

_PARAMS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required, optional); "min"/"max" truncate where optional
    "fixed": ({"value"}, set()),
    "normal": ({"mean", "sd"}, {"min", "max"}),
    "lognormal": ({"median", "sigma"}, {"min", "max"}),
    "uniform": ({"min", "max"}, set()),
    "triangular": ({"min", "mode", "max"}, set()),
    "weibull": ({"scale", "shape"}, {"min", "max"}),
    "gamma": ({"shape", "scale"}, {"min", "max"}),
    "choice": ({"values"}, {"weights"}),
}
_DIMENSIONLESS = {"sigma", "shape", "weights"}


@dataclass(frozen=True)
class Distribution:
    """A parsed distribution in SI units. Sample with :meth:`sample`."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    dimension: str = "time"

    @classmethod
    def fixed(cls, value: float, dimension: str = "time") -> Distribution:
        return cls("fixed", {"value": float(value)}, dimension)

    @classmethod
    def parse(cls, spec: Any, dimension: str, field_name: str = "value") -> Distribution:
        """Read a plain quantity or a ``{dist: ...}`` mapping; raise ``ValueError`` naming ``field_name``."""
        if isinstance(spec, Distribution):
            return spec
        if isinstance(spec, dict) and "dist" not in spec and {"kind", "params"} <= spec.keys():
            # the dumped form of a parsed distribution (pydantic's model_dump), read back as it was
            if spec["kind"] not in _PARAMS or not isinstance(spec["params"], dict):
                raise ValueError(f"{field_name}.kind: expected one of {', '.join(_PARAMS)}, got {spec['kind']!r}")
            d = cls(spec["kind"], dict(spec["params"]), str(spec.get("dimension", dimension)))
            d._check(field_name)
            return d
        if not isinstance(spec, dict):
            return cls.fixed(parse_quantity(spec, dimension, field_name), dimension)
        spec = dict(spec)
        kind = spec.pop("dist", None)
        if kind not in _PARAMS or kind == "fixed":
            raise ValueError(f"{field_name}.dist: expected one of "
                             f"{', '.join(k for k in _PARAMS if k != 'fixed')}, got {kind!r}")
        req, opt = _PARAMS[kind]
        missing = req - spec.keys()
        if missing:
            raise ValueError(f"{field_name}: {kind} needs {', '.join(sorted(missing))}")
        extra = spec.keys() - req - opt
        if extra:
            raise ValueError(f"{field_name}: unknown parameter(s) {', '.join(sorted(extra))} for {kind}; "
                             f"expected {', '.join(sorted(req | opt))}")
        p: dict[str, Any] = {}
        for k, v in spec.items():
            where = f"{field_name}.{k}"
            if k == "values":
                if not isinstance(v, list) or not v:
                    raise ValueError(f"{where}: expected a non-empty list")
                p[k] = [parse_quantity(x, dimension, where) for x in v]
            elif k == "weights":
                if not isinstance(v, list) or len(v) != len(spec["values"]) or any(
                        not isinstance(w, int | float) or w < 0 for w in v) or sum(v) <= 0:
                    raise ValueError(f"{where}: expected as many non-negative weights as values")
                p[k] = [float(w) for w in v]
            elif k in _DIMENSIONLESS:
                p[k] = parse_quantity(v, "none", where) if isinstance(v, str) else float(v)
            else:
                p[k] = parse_quantity(v, dimension, where)
        d = cls(kind, p, dimension)
        d._check(field_name)
        return d

    def _check(self, f: str) -> None:
        p = self.params
        pos = {"sd": "sd", "sigma": "sigma", "scale": "scale", "shape": "shape", "median": "median"}
        for k in pos:
            if k in p and not p[k] > 0:
                raise ValueError(f"{f}.{k}: must be positive, got {p[k]}")
        lo, hi = p.get("min"), p.get("max")
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"{f}: min ({lo}) must be below max ({hi})")
        if self.kind == "triangular" and not p["min"] <= p["mode"] <= p["max"]:
            raise ValueError(f"{f}: triangular needs min <= mode <= max")
        if self.kind == "normal" and (lo is not None or hi is not None):
            # truncation must keep some mass or resampling would never end
            from scipy.stats import norm

            a = -math.inf if lo is None else (lo - p["mean"]) / p["sd"]
            b = math.inf if hi is None else (hi - p["mean"]) / p["sd"]
            if norm.cdf(b) - norm.cdf(a) < 1e-6:
                raise ValueError(f"{f}: [min, max] holds almost none of the normal's mass")

    @property
    def minimum(self) -> float:
        """The smallest value the distribution can yield (SI), 0 when unbounded below and positive."""
        p = self.params
        if self.kind == "fixed":
            return p["value"]
        if self.kind == "choice":
            return min(p["values"])
        if "min" in p:
            return p["min"]
        return -math.inf if self.kind == "normal" else 0.0

    @property
    def maximum(self) -> float:
        """The largest value the distribution can yield (SI); ``inf`` when unbounded."""
        p = self.params
        if self.kind == "fixed":
            return p["value"]
        if self.kind == "choice":
            return max(p["values"])
        return p.get("max", math.inf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws (SI units) as a float array."""
        p = self.params
        k = self.kind
        if k == "fixed":
            return np.full(n, p["value"], dtype=float)
        if k == "uniform":
            return rng.uniform(p["min"], p["max"], n)
        if k == "triangular":
            return rng.triangular(p["min"], p["mode"], p["max"], n)
        if k == "choice":
            w = np.asarray(p.get("weights") or [1.0] * len(p["values"]), dtype=float)
            return rng.choice(np.asarray(p["values"], dtype=float), size=n, p=w / w.sum())
        draw = {
            "normal": lambda m: rng.normal(p["mean"], p["sd"], m),
            "lognormal": lambda m: p["median"] * np.exp(rng.normal(0.0, p["sigma"], m)),
            "weibull": lambda m: p["scale"] * rng.weibull(p["shape"], m),
            "gamma": lambda m: rng.gamma(p["shape"], p["scale"], m),
        }[k]
        lo, hi = p.get("min", -math.inf), p.get("max", math.inf)
        out = draw(n)
        bad = (out < lo) | (out > hi)
        while bad.any():  # truncation by resampling keeps the shape inside [min, max]
            out[bad] = draw(int(bad.sum()))
            bad = (out < lo) | (out > hi)
        return out
