"""The engine's side of the workflows: :class:`EngineContext` implements
:class:`drills.workflow.engine.WorkflowContext` over one run's crowd, gas hazards and event log.

Zones in workflow steps are space names, ``storey:NAME``, ``building:NAME`` or ``*``, plus two words
that depend on the alert: ``alert_zone`` (the space of the alerting detectors) and ``adjacent`` (the
spaces one door or stair away from it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.crowd import ROLES
from drills.workflow.engine import channel_latency
from twin.distributions import Distribution

if TYPE_CHECKING:
    from drills.sim.run import Run

__all__ = ["EngineContext", "DEFAULT_ACK"]

DEFAULT_ACK = Distribution.parse({"dist": "lognormal", "median": "30s", "sigma": 0.6}, "time")
"""Operator acknowledgement delay when no alarm-fatigue model is configured: a planning value (median
30 s), replaced by the fatigue model of the alert policy when the scenario has one."""


class EngineContext:
    """What workflows may do to a run. Built by :func:`drills.sim.engine.build_run`."""

    def __init__(self, run: Run, fatigue: Any = None):
        self.run = run
        self.g = run.graph
        self.model = run.model
        self.crowd = run.model.crowd
        self.env = run.model.env
        self.rng = run.model.streams["workflow"]
        self.marks: dict[str, float] = {}
        self.fatigue = fatigue

    # -- log and KPIs ---------------------------------------------------------------------------------
    def log(self, kind: str, detail: str, agent: int = -1, node: str = "") -> None:
        self.run.log.append((self.env.now, kind, int(agent), node, detail))

    def mark(self, kpi: str, t: float) -> None:
        self.marks.setdefault(kpi, float(t))

    # -- people ---------------------------------------------------------------------------------------
    def people_with_role(self, role: str) -> list[int]:
        code = ROLES.index(role)
        return [i for i, r in enumerate(self.crowd._role) if r == code]

    def notify_latency(self, channel: str) -> Distribution:
        return channel_latency(channel)

    def acknowledge(self, role: str, alert: Any, member: int | None = None) -> tuple[float, bool]:
        """(delay s, dismissed) of ``member`` of ``role`` (a crowd index, or a workflow's off-site member
        number; None: the role as a whole) shown ``alert``: their own alarm fatigue
        (:class:`agents.operators.Operators`) reads the alert's console record only. An acknowledged
        alert is investigated (:meth:`drills.sim.hazards.GasHazards.investigate`)."""
        policy_alert = getattr(alert, "alert", alert)
        if self.fatigue is not None and policy_alert is not None and hasattr(policy_alert, "rank"):
            who: Any = role if member is None else (member if member >= 0 else (role, member))
            dismissed, delay = self.fatigue.respond(self.rng, policy_alert, who=who, role=role)
            if not dismissed and self.run.hazards is not None:
                self.run.hazards.investigate(policy_alert, delay)
            return float(delay), bool(dismissed)
        return float(DEFAULT_ACK.sample(self.rng, 1)[0]), False

    # -- zones ----------------------------------------------------------------------------------------
    def _alert_space(self, alert: Any) -> str | None:
        if alert is None:
            return None
        zone = _get(alert, "zone")
        if zone in self.g.zones:
            return self.g.zones[zone].space
        if zone in self.g.space_zones:
            return zone
        loc = _get(alert, "location")
        if loc is not None:
            return self.g.site.space_at(float(loc[0]), float(loc[1]))
        return None

    def spaces(self, zones: Sequence[str], alert: Any = None) -> list[str] | None:
        """Space ids for zone words and names; ``None`` means everywhere."""
        from drills.sim.run import resolve_spaces

        out: list[str] = []
        for z in zones:
            if z == "*":
                return None
            if z in ("alert_zone", "adjacent"):
                sp = self._alert_space(alert)
                if sp is None:
                    continue
                if z == "alert_zone":
                    out.append(sp)
                else:
                    out.extend(self._adjacent(sp))
                continue
            out.extend(resolve_spaces(self.g, z, "zones"))
        return sorted(set(out))

    def _adjacent(self, space: str) -> list[str]:
        topo = self.g.topo
        near = set()
        for z in self.g.space_zones.get(space, []):
            for _, other in topo.edges(z):
                if other in self.g.zones and self.g.zones[other].space != space:
                    near.add(self.g.zones[other].space)
        return sorted(near)

    def _people_in(self, spaces: list[str] | None) -> np.ndarray:
        sp = self.crowd.space
        if spaces is None:
            return np.flatnonzero(sp >= 0)
        idx = [self.crowd.space_index[s] for s in spaces if s in self.crowd.space_index]
        return np.flatnonzero(np.isin(sp, idx))

    def sound_alarm(self, zones: list[str], alert: Any = None) -> int:
        spaces = self.spaces(zones, alert)
        n = self.crowd.alarm(spaces=spaces, cue="workflow alarm")
        self.log("alarm", f"{n} people alerted in {', '.join(zones)}")
        return n

    def evacuate(self, zones: list[str], alert: Any = None) -> int:
        idx = self._people_in(self.spaces(zones, alert))
        self.crowd.evacuate(idx)
        return len(idx)

    def shelter(self, zones: list[str], alert: Any = None) -> int:
        idx = self._people_in(self.spaces(zones, alert))
        return self.crowd.shelter(idx)

    # -- responders -----------------------------------------------------------------------------------
    def alert_location(self, alert: Any) -> str:
        sp = self._alert_space(alert)
        if sp is None and self.run.hazards is not None:
            h = self.run.hazards.specs[0]
            zone, xy, _ = self.run.hazards._source_location(h.source, "hazards[0].source") if h.at is None \
                else (None, (h.at[0], h.at[1]), 0.0)
            sp = self.g.zones[zone].space if zone else self.g.site.space_at(*xy)
        if sp is None:
            sp = sorted(self.g.space_zones)[0]
        loc = _get(alert, "location") if alert is not None else None
        if loc is not None:
            return self.g.zone_node(self.g.zone_at(sp, float(loc[0]), float(loc[1])))
        return self.g.space_nodes(sp)[0]

    def send(self, person: int, target: str, on_arrival: Callable[[int, float], None]) -> None:
        if target not in self.g.index:
            from drills.sim.run import resolve_spaces

            target = self.g.space_nodes(resolve_spaces(self.g, target, "to")[0])[0]
        self.crowd.send(int(person), target, on_arrival)

    def isolate(self, source: str | None, alert: Any = None) -> None:
        hz = self.run.hazards
        if hz is None:
            self.log("isolate", "no release to isolate")
            return
        hid = None
        if source is not None:
            if source in hz.source_ids:
                hid = source
            else:
                for k, h in enumerate(hz.specs):
                    key = str(h.id) if h.id is not None else f"H{k + 1}"
                    if h.source == source:
                        hid = key
                        break
        if hid is None:  # the release behind the alert: the one whose source is nearest the alert
            hid = next(iter(hz.source_ids))
        hz.isolate(hid)
        self.mark("t_isolate", self.env.now)
        self.log("isolated", f"release {hid} stopped")

    # -- muster ---------------------------------------------------------------------------------------
    def headcount_targets(self) -> tuple[Sequence[int], Sequence[float]]:
        return np.flatnonzero(self.crowd.must_leave).tolist(), self.crowd.t_muster.tolist()

    def on_muster(self, callback: Callable[[int, float], None]) -> None:
        self.crowd.on_muster.append(callback)

    def all_clear(self, alert: Any = None) -> None:
        self.log("all_clear", "emergency declared over")


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)

