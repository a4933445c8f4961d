"""A built drill and what it leaves: :class:`Run` (before the clock runs) and :class:`RunResult` (after),
and :func:`resolve_spaces`, the ``where`` names of a scenario resolved against the site.

The lowest module of :mod:`drills.sim`: the engine, its workflow context and the KPIs all read these
types, so they live here rather than in the engine that builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.model import DrillModel
from drills.spec.scenario import Scenario
from twin.errors import InputError
from twin.graph import SiteGraph

__all__ = ["Run", "RunResult", "resolve_spaces", "release_mesa_ids"]


@dataclass
class RunResult:
    """What one run leaves: events ``(t, kind, agent, node, detail)``, trajectories ``(agent, t, node)``,
    per-person records and the KPIs (docs/kpis.md)."""

    scenario: Scenario
    seed: int
    kpis: dict[str, Any]
    events: list[tuple[float, str, int, str, str]]
    trajectories: list[tuple[int, float, str]]
    people: dict[str, np.ndarray]
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """A built, not yet run, drill."""

    scenario: Scenario
    seed: int
    graph: SiteGraph
    model: DrillModel
    t0: float
    log: list[tuple[float, str, int, str, str]]
    hazards: Any = None
    context: Any = None
    workflows: Any = None
    marks: dict[str, float] = field(default_factory=dict)
    cues: Any = None  # agents.cues.Cues: what people notice without an alarm
    warnings: list[str] = field(default_factory=list)  # printed by the CLI and kept in manifest.json


def resolve_spaces(g: SiteGraph, where: str, field_name: str) -> list[str]:
    """Space ids for a ``where`` (space name/LongName/GlobalId, ``storey:NAME``, ``building:NAME``, ``*``)."""
    site = g.site
    walkable = g.space_zones
    if where.strip() == "*":
        return sorted(walkable)
    if ":" in where and where.split(":", 1)[0] in ("storey", "building"):
        kind, name = where.split(":", 1)
        name = name.strip()
        if kind == "storey":
            ids = {s.id for s in site.storeys if s.name == name or s.id == name}
            cands = sorted({s.name for s in site.storeys})
            out = sorted(s for s in walkable if site.spaces[s].storey in ids)
        else:
            ids = {b.id for b in site.buildings if b.name == name or b.id == name}
            cands = sorted({b.name for b in site.buildings})
            out = sorted(s for s in walkable if site.spaces[s].building in ids)
        if not ids:
            raise InputError(f"no {kind} named {name!r}; candidates: {', '.join(cands) or '(none)'}",
                             where=field_name)
        if not out:
            raise InputError(f"{kind} {name!r} has no walkable space", where=field_name)
        return out
    sid = site.find("spaces", where, field_name=field_name)
    if sid not in walkable:
        raise InputError(f"space {where!r} is not walkable (no floor people can stand on)", where=field_name)
    return [sid]


def release_mesa_ids() -> None:
    """Drop Mesa 3.3's class-level per-model id counters that a failed run may have left behind
    (run_scenario releases its own model; a run that raised did not get that far)."""
    try:
        import mesa
    except ImportError:  # pragma: no cover
        return
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict) and len(ids) > 0:
        ids.clear()
