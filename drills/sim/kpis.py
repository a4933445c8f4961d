"""KPIs of one run (docs/kpis.md). Times in seconds from the first hazard's start or, with no
hazard, from the alarm; a KPI that did not happen is ``None``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.crowd import INCAPACITATED, ROLES, SAFE, TRAPPED
from drills.spec.kpi_names import KPI_KEYS

if TYPE_CHECKING:
    from drills.sim.run import Run

__all__ = ["compute_kpis", "KPI_KEYS"]

BOUND_MAX_NODES = 30_000
REGION_BOUND_PEOPLE = 200
"""In a joint exercise (:mod:`drills.region.sim`), a site with more people than this to bound gets the
cheaper bound: closed-form cuts only (no time-expanded attempt, which at such sizes almost always
exceeds :data:`BOUND_MAX_NODES` after being built) with at most :data:`REGION_BOUND_SEARCHES`
shortest-path cut searches. It is still a valid lower bound, possibly looser; ``lower_bound_method``
says so. On the 10-site benchmark region it gives the same bounds in 40 % of the time."""
REGION_BOUND_SEARCHES = 100
REGION_BOUND_METHOD = f"cut bound (joint exercise: cuts only, at most {REGION_BOUND_SEARCHES} searches)"


def _t(x: float, t0: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x) - t0, 3)


def compute_kpis(run: Run, wall_s: float) -> dict[str, Any]:
    """The KPI dictionary of a finished run.

    ``t_evacuated`` is the time the last person who had to leave passed an exit (including anyone who
    collapsed in the open afterwards, in a joint exercise), provided everyone who
    had to leave is out, trapped or incapacitated by the end of the run (else ``None``: the evacuation
    did not finish within ``duration``). ``t_mustered`` likewise for reaching a muster point.
    ``t_occupants_out`` and ``t_wardens_out`` split ``t_evacuated`` into the last person out who is not a
    warden and the last warden out (set when ``t_evacuated`` is; ``None`` for a group with nobody out).
    """
    c = run.model.crowd
    n = c.n
    t0 = run.t0
    state = c.state[:n]
    must = c.must_leave[:n]
    t_exit = c.t_exit[:n]
    t_mus = c.t_muster[:n]
    settled = (state == SAFE) | (state == TRAPPED) | (state == INCAPACITATED)
    out = must & _got_out(state, t_exit)
    t_evac = None
    t_must = None
    if must.any() and settled[must].all() and out.any():
        t_evac = _t(np.nanmax(t_exit[out]), t0)
        if np.isfinite(t_mus[out]).all():
            t_must = _t(np.nanmax(t_mus[out]), t0)
    alarm_t = min((e[0] for e in run.log if e[1] == "alarm"), default=None)
    exits: dict[str, int] = {}
    names = run.graph.nav.nodes
    for v in c.exit_node[:n][c.exit_node[:n] >= 0]:
        nm = names[c.node_ids[v]].get("name") or c.node_ids[v]
        exits[nm] = exits.get(nm, 0) + 1
    k: dict[str, Any] = {key: None for key in KPI_KEYS}
    k.update({
        "t_alarm": None if alarm_t is None else round(alarm_t - t0, 3),
        "t_evacuated": t_evac,
        "t_mustered": t_must,
        "occupants": int(n),
        "evacuees": int(must.sum()),
        "safe": int((state == SAFE).sum()),
        "trapped": int((state == TRAPPED).sum()),
        "incapacitated": int((state == INCAPACITATED).sum()),
        "exit_counts": dict(sorted(exits.items())),
        "wall_s": round(wall_s, 4),
        "false_alerts": 0,
    })
    # the last occupant and the last warden out, apart: a warden sweeping the floors leaves last by design,
    # and t_evacuated (which counts everyone) then measures the sweep, not the evacuation of the occupants
    warden = c.role[:n] == ROLES.index("warden")
    if t_evac is not None:
        k["t_occupants_out"] = _t(np.nanmax(t_exit[out & ~warden]), t0) if (out & ~warden).any() else None
        k["t_wardens_out"] = _t(np.nanmax(t_exit[out & warden]), t0) if (out & warden).any() else None
    if out.any():
        k["t_evacuated_p50"] = _t(float(np.median(t_exit[out])), t0)
        k["t_evacuated_p95"] = _t(float(np.percentile(t_exit[out], 95)), t0)
        started = np.isfinite(c.t_start[:n]) & np.isfinite(c.t_aware[:n])
        if started.any():
            k["premovement_mean"] = round(float(np.mean(c.t_start[:n][started] - c.t_aware[:n][started])), 3)
    if run.hazards is not None:
        k.update(run.hazards.kpis(t0))
    for key in ("t_ack", "t_isolate", "t_headcount", "t_all_clear"):
        if key in run.marks:
            k[key] = round(run.marks[key] - t0, 3)
    k.update(_bound(run))
    return k


def _bound(run: Run) -> dict[str, Any]:
    """The quickest-flow lower bound on ``t_evacuated`` and the gap to it (behaviour loss)."""
    try:
        from agents.bound import MAX_CUT_SEARCHES, flow_lower_bound
    except ImportError:
        return {}
    c = run.model.crowd
    n = c.n
    # the people who got out: the bound relaxes the problem for them (no gas, no behaviour), so it holds
    # even when others were trapped or collapsed on the way
    must = np.flatnonzero(c.must_leave[:n] & np.isfinite(c.t_aware[:n]) & _got_out(c.state[:n], c.t_exit[:n]))
    if len(must) == 0:
        return {}
    spaces = [c.space_ids[s] for s in _start_space(c, must)]
    t_start = c.t_aware[must] + c.premove[must]
    # only doors locked from the start: a door locked mid-run was open before, so it cannot tighten a bound
    closed = [run.graph.site.find("doors", d) for d in run.scenario.closed]
    # The time-expanded max flow is exact but grows with site x horizon; beyond BOUND_MAX_NODES the
    # closed-form cut bounds (milliseconds to a second) keep every run's KPIs cheap. A joint exercise
    # bounds every site once at the end, so big sites there skip the attempt (see REGION_BOUND_PEOPLE).
    joint = run.hazards is not None and getattr(run.hazards, "outdoor", None) is not None
    cheap = joint and len(must) > REGION_BOUND_PEOPLE
    b = flow_lower_bound(run.graph, c.initial_xy[must], spaces, t_start, c.cal, float(c.v0[must].max()),
                         closed=closed, max_nodes=0 if cheap else BOUND_MAX_NODES,
                         max_cut_searches=REGION_BOUND_SEARCHES if cheap else MAX_CUT_SEARCHES)
    site = run.graph.site
    names = {k: v.name for reg in (site.doors, site.stairs) for k, v in reg.items() if v.name}
    critical = " ".join(",".join(names.get(p, p) for p in w.split(",")) for w in b.critical.split(" "))
    method = REGION_BOUND_METHOD if cheap else b.method
    return {"t_lower_bound": _t(b.t, run.t0), "lower_bound_method": method, "lower_bound_critical": critical}


def _got_out(state: np.ndarray, t_exit: np.ndarray) -> np.ndarray:
    """People who passed an exit: safe, or (a joint exercise, where people in the open breathe the
    regional plume) collapsed outdoors after passing one. They count for ``t_evacuated`` and the bound;
    not for ``safe``, and ``t_mustered`` waits for them in vain (they never reach the muster point)."""
    return (state == SAFE) | ((state == INCAPACITATED) & np.isfinite(t_exit))


def _start_space(c, idx: np.ndarray) -> list[int]:
    """Each person's starting space (the crowd's ``space`` array moves with them)."""
    return [int(s) for s in c.start_space[idx]]
