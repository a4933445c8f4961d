"""Region files (docs/region.md): several sites on one map, one clock, shared responders.

A region names member sites (each a scenario file) with their placement on a common map, the roads
between them, regional resources at depots, regional workflows and a master inject list::

    name: Riverside park joint exercise
    seed: 3
    duration: 90min
    weather: {wind_speed: 3 m/s, wind_from: 270, stability: D}
    sites:
      - {name: PlantA, scenario: ../plant_h2s_leak.yaml, origin: [0, 0], rotation: 0, gate: GATE_A}
    roads:
      nodes: {DEPOT: [1000, -500], GATE_A: [0, -50]}
      links: [{from: DEPOT, to: GATE_A, length: 1.2 km, speed: 40 km/h}]
    resources:
      - {name: Brigade-1, kind: fire_brigade, depot: DEPOT, crews: 1}
    workflows: [...]      # workflows of docs/workflows.md, plus request_aid and broadcast_alert
    injects: [...]        # master list; each may name a site

**Placement.** A site's own coordinates (x east, y north, m) map to the common map by
``map = origin + R(rotation) @ local``, with ``rotation`` in degrees counter-clockwise (the site's x axis
turned towards the map's y axis). ``origin: ifc`` takes the IfcSite geographic reference
(RefLatitude/RefLongitude) of the site's IFC file instead, relative to the region's ``geo_origin``
[lat, lon] (equirectangular projection: good to a few metres over a few kilometres).

**Master injects** that name a site join that site's own injects (same kinds and fields as a scenario's);
those without a site and of a scenario kind reach every site; ``message`` and ``resource_unavailable``
(``target``: a resource, ``count`` crews, for ``duration``) are regional. A master inject keeps its id
inside a site unless the site has an inject of that id already (it then becomes ``M<id>``).

:func:`load_region` validates everything it can without running: each site's scenario and site model,
overlapping placements, roads that leave a site unreachable from a depot. Errors name the region file,
the YAML line, the site and the field.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drills.spec.scenario import (
    INJECT_KINDS,
    WeatherSpec,
)
from twin.errors import InputError
from twin.units import parse_bounded, parse_duration, parse_quantity
from twin.yamlio import read_yaml

__all__ = ["RegionSpec", "SiteSpec", "ResourceSpec", "RegionInject", "LinkSpec", "RoadsSpec", "is_region_file",
           "RESOURCE_KINDS", "REGION_INJECT_KINDS"]

RESOURCE_KINDS = ("fire_brigade", "hazmat", "ambulance", "police", "utility")
REGION_INJECT_KINDS = ("message", "resource_unavailable")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class SiteSpec(_Model):
    """A member site: a scenario file placed on the common map."""

    name: str
    scenario: str = Field(description="scenario file, relative to the region file")
    origin: list[float] | Literal["ifc"] = Field(description="[x, y] m of the site's (0, 0) on the map, or 'ifc'")
    rotation: float = Field(default=0.0, description="degrees counter-clockwise from the map's x axis")
    gate: str | None = Field(default=None, description="road node where responders reach the site "
                                                        "(default: the node nearest its origin)")

    @field_validator("origin", mode="before")
    @classmethod
    def _origin(cls, v):
        if v == "ifc":
            return v
        if not isinstance(v, list | tuple) or len(v) != 2:
            raise ValueError("expected [x, y] (m, lengths with units welcome) or 'ifc'")
        return [parse_quantity(x, "length", "origin") for x in v]

    @field_validator("rotation", mode="before")
    @classmethod
    def _rot(cls, v):
        return parse_quantity(v, "angle", "rotation")


class LinkSpec(_Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    a: str = Field(alias="from")
    b: str = Field(alias="to")
    length: float | None = Field(default=None, description="m (default: the straight line)")
    speed: float = Field(default=40 / 3.6, description="m/s")

    @field_validator("length", mode="before")
    @classmethod
    def _len(cls, v):
        return None if v is None else parse_quantity(v, "length", "length")

    @field_validator("speed", mode="before")
    @classmethod
    def _spd(cls, v):
        return parse_quantity(v, "speed", "speed")


class RoadsSpec(_Model):
    nodes: dict[str, list[float]] = Field(default_factory=dict)
    links: list[LinkSpec] = Field(default_factory=list)

    @field_validator("nodes", mode="before")
    @classmethod
    def _nodes(cls, v):
        if not isinstance(v, dict):
            raise ValueError("expected a mapping of node names to [x, y]")
        out = {}
        for k, xy in v.items():
            if not isinstance(xy, list | tuple) or len(xy) != 2:
                raise ValueError(f"nodes.{k}: expected [x, y] in m")
            out[str(k)] = [parse_quantity(x, "length", f"nodes.{k}") for x in xy]
        return out


class ResourceSpec(_Model):
    """A regional resource at a depot: ``crews`` teams that can be sent at once (``vehicles`` caps them)."""

    name: str
    kind: str
    depot: str
    crews: int = Field(default=1, ge=1)
    vehicles: int | None = Field(default=None, ge=1)
    turnout: float = Field(default=60.0, description="s from dispatch to leaving the depot")

    @field_validator("kind")
    @classmethod
    def _kind(cls, v):
        if v not in RESOURCE_KINDS:
            raise ValueError(f"expected one of {', '.join(RESOURCE_KINDS)}, got {v!r}")
        return v

    @field_validator("turnout", mode="before")
    @classmethod
    def _t(cls, v):
        return parse_duration(v, "turnout")

    @property
    def units(self) -> int:
        """Teams that can be out at once: a crew needs a vehicle."""
        return min(self.crews, self.vehicles or self.crews)


class RegionInject(_Model):
    """A master inject: a scenario inject (optionally for one ``site``) or a regional one."""

    model_config = ConfigDict(extra="allow")

    id: int | str
    time: float
    kind: str
    site: str | None = None
    target: str | None = None
    message: str = ""
    count: int = Field(default=1, ge=1)
    duration: float | None = None

    @field_validator("time", "duration", mode="before")
    @classmethod
    def _t(cls, v, info):
        return parse_bounded(v, "time", info.field_name)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v):
        kinds = tuple(INJECT_KINDS) + REGION_INJECT_KINDS
        if v not in kinds:
            raise ValueError(f"expected one of {', '.join(kinds)}, got {v!r}")
        return v


class RegionSpec(_Model):
    """A region file as written (validated, SI units)."""

    name: str
    description: str = ""
    seed: int = 0
    duration: float = 3600.0
    weather: WeatherSpec = Field(default_factory=WeatherSpec)
    geo_origin: list[float] | None = Field(default=None, description="[lat, lon] deg of the map's (0, 0)")
    sites: list[SiteSpec]
    roads: RoadsSpec = Field(default_factory=RoadsSpec)
    resources: list[ResourceSpec] = Field(default_factory=list)
    workflows: list[dict[str, Any]] = Field(default_factory=list)
    injects: list[RegionInject] = Field(default_factory=list)
    gas_step: float | None = Field(default=None, description="s between gas updates at every site "
                                                              "(default: each scenario's own)")

    @field_validator("duration", mode="before")
    @classmethod
    def _dur(cls, v):
        return parse_bounded(v, "time", "duration", positive=True)

    @field_validator("gas_step", mode="before")
    @classmethod
    def _gs(cls, v):
        return parse_bounded(v, "time", "gas_step", positive=True)

    @field_validator("sites")
    @classmethod
    def _sites(cls, v):
        if not v:
            raise ValueError("a region needs at least one site")
        names = [s.name for s in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate site name(s): {', '.join(dup)}")
        return v


def is_region_file(path: str | os.PathLike) -> bool:
    """Does ``path`` hold a region (a mapping with ``sites``) rather than a scenario?"""
    try:
        data, _ = read_yaml(path)
    except InputError:
        return False
    return isinstance(data, dict) and "sites" in data and "site" not in data
