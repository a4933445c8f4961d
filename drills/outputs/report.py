"""The after-action report of one run (``report.html``), after the HSEEP AAR/IP template.

:func:`write_report` reads a results folder (:mod:`drills.outputs.results`) and writes one self-contained HTML
page: no scripts, no network, every chart a base64 PNG, every name from the IFC file, the sketch or the
scenario passed through :func:`html.escape`. Sections, in order:

1. Exercise overview (name, run id, date, seed, site, scope) and scenario summary (population, hazards,
   injects, workflows).
2. Capability targets: each KPI against its target, rated *met* / *missed* / *not exercised*.
   Targets come from the scenario's ``targets:`` mapping when present (``{t_alarm: 3min,
   t_headcount: 15min, exposed_idlh: 0}``), else :data:`DEFAULT_TARGETS`.
3. Timeline: the workflow steps as a Gantt chart (``workflow:started`` to ``workflow:completed``, with
   escalations, time-outs and acknowledgements marked).
4. Evacuation: people safe over time with the quickest-flow lower bound, exit usage.
5. Exposure: zones by peak concentration, with the people in them while gas was present.
6. Floor plans: per storey, peak crowd density and peak concentration.
7. Sensor traces with set points and alert marks.
8. Appendix A, improvement plan: each missed target with the step that caused most of its delay.

The page is a list of ``(id, title, html)`` sections built by :func:`report_sections`, so a comparison of
several runs can later be appended as one more section without touching the others.

:class:`RunData` (the loaded folder) is shared with :mod:`drills.outputs.replay`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import yaml

__all__ = ["write_report", "report_sections", "load_run", "RunData", "DEFAULT_TARGETS", "rate_targets",
           "safe_json", "html_page"]

DEFAULT_TARGETS: dict[str, float] = {
    "t_alarm": 180.0,        # general alarm within 3 min of the event (HSEEP-style capability target)
    "t_ack": 120.0,          # control room acknowledges an alert within 2 min
    "t_isolate": 900.0,      # source isolated within 15 min
    "t_evacuated": 600.0,    # everyone who had to leave is out within 10 min
    "t_mustered": 900.0,     # everyone at a muster point within 15 min
    "t_headcount": 900.0,    # headcount complete within 15 min
    "exposed_idlh": 0.0,     # nobody above IDLH
    "incapacitated": 0.0,
    "trapped": 0.0,
}
"""Capability targets used when the scenario sets none: times in s from the event (the first hazard's
start or, without one, the alarm), counts as maxima. A scenario's ``targets:`` replaces individual keys."""

TARGET_LABELS = {
    "t_detect": "Detection", "t_alert": "First alert", "t_ack": "Alert acknowledged",
    "t_alarm": "General alarm", "t_isolate": "Source isolated", "t_evacuated": "Evacuation complete",
    "t_mustered": "All at muster points", "t_headcount": "Headcount complete", "t_all_clear": "All clear",
    "exposed_idlh": "People above IDLH", "incapacitated": "People incapacitated", "trapped": "People trapped",
}

# Per-person kinds that would drown the timeline tables; everything else is a notable event.
PERSON_KINDS = frozenset({"aware", "start", "exit", "mustered", "arrived", "sweep_done", "workflow:accounted"})

# step kind -> (HSEEP capability element, suggested corrective action); a starting point for the
# After-Action Meeting, never a finding by itself
CORRECTIVE = {
    "notify": ("Equipment", "Use a faster notification channel (pager or system alert instead of phone)."),
    "wait_ack": ("Training", "Train the operator to acknowledge promptly; shorten the escalation time-out."),
    "sound_alarm": ("Planning", "Let the first confirmed alert sound the alarm without waiting for a person."),
    "dispatch": ("Organisation", "Pre-position responders and breathing apparatus nearer the hazard."),
    "headcount": ("Equipment", "Electronic headcount (badge readers) or more wardens per muster point."),
    "all_clear": ("Planning", "Define all-clear criteria in the plan so the decision is not delayed."),
    "detection": ("Equipment", "Review detector placement and set points near the release sources."),
    "premovement": ("Training", "Drills and clear alarm messages shorten pre-movement times."),
    "movement": ("Planning", "Open more exits or re-route people away from the critical door or stair."),
    "sweep": ("Organisation", "Smaller sweep zones or more wardens per floor: the last warden out, not the exits, "
                              "set the evacuation time."),
}


def safe_json(obj: Any) -> str:
    """JSON that is safe inside ``<script>``: ``<``, ``>``, ``&`` and U+2028/2029 are escaped, so no name
    can close the script element or start markup."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _esc(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _fmt_t(s: float | None) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` past an hour); ``-`` for none."""
    if s is None or not math.isfinite(s):
        return "-"
    neg = s < 0
    s = abs(s)
    h, rem = divmod(int(round(s)), 3600)
    m, sec = divmod(rem, 60)
    out = f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
    return ("-" if neg else "") + out


@dataclass
class RunData:
    """A results folder loaded once: columns as numpy arrays, the site graph on first use."""

    path: Path
    manifest: dict[str, Any]
    scenario: dict[str, Any]
    kpis: dict[str, Any]
    events: dict[str, np.ndarray]
    traj: dict[str, np.ndarray]
    people: dict[str, np.ndarray]
    timeseries: dict[str, np.ndarray] | None
    t0: float = 0.0
    notes: list[str] = field(default_factory=list)
    alerts: dict[str, np.ndarray] | None = None  # alerts.parquet (None: a folder written before it)
    workflow: dict[str, np.ndarray] | None = None  # workflow.parquet, the workflows' transitions

    @cached_property
    def graph(self):
        """The site graph (``twin.load.load_twin``; cached on disk by the loader), or ``None`` when the
        site file is gone (the report then skips floor plans rather than failing)."""
        from twin.load import load_twin

        site = self.scenario.get("site") or self.manifest.get("site")
        try:
            return load_twin(site)
        except Exception as err:  # a moved or edited site must not cost the whole report
            self.notes.append(f"site {site!r} could not be loaded ({type(err).__name__}: {err}); "
                              "floor plans are left out")
            return None

    @property
    def n_people(self) -> int:
        return len(self.people.get("role", []))

    @property
    def t_end(self) -> float:
        """The last time anything happened (s of simulation time)."""
        cands = [0.0]
        for arr in (self.events.get("t"), self.traj.get("t")):
            if arr is not None and len(arr):
                cands.append(float(np.nanmax(arr)))
        if self.timeseries is not None and len(self.timeseries["t"]):
            cands.append(float(np.nanmax(self.timeseries["t"])))
        return max(cands)

    def node_names(self) -> dict[str, str]:
        """Navigation node id -> a human name (door, stair or muster name; the space of a zone)."""
        g = self.graph
        if g is None:
            return {}
        out: dict[str, str] = {}
        for nid, a in g.nav.nodes(data=True):
            nm = a.get("name")
            if not nm and nid.startswith("c:"):
                z = g.zones.get(nid[2:])
                sp = g.site.spaces.get(z.space) if z else None
                nm = sp.label if sp is not None else None
            out[nid] = nm or nid
        # events also name spaces and sensors by id
        out.update({k: sp.label for k, sp in g.site.spaces.items()})
        out.update({k: se.name for k, se in g.site.sensors.items()})
        return out


def _read(path: Path) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    t = pq.read_table(path)
    return {c: t.column(c).to_numpy(zero_copy_only=False) for c in t.column_names}


def _t0(scenario: dict[str, Any], events: dict[str, np.ndarray]) -> float:
    """The KPI origin, as the engine sets it: the first hazard's start, else the scripted alarm, else the
    first ``hazard_zone`` event (a leak inject), else 0."""
    hz = scenario.get("hazards") or []
    starts = [float(h["start"]) for h in hz if isinstance(h, dict) and h.get("start") is not None]
    if starts:
        return min(starts)
    alarm = scenario.get("alarm")
    if isinstance(alarm, dict) and alarm.get("at") is not None:
        try:
            return float(alarm["at"])
        except (TypeError, ValueError):
            pass
    kinds = events.get("kind")
    if kinds is not None and len(kinds):
        m = kinds == "hazard_zone"
        if m.any():
            return float(events["t"][m].min())
    return 0.0


def load_run(run_dir: str | Path) -> RunData:
    """Load a results folder. Missing optional files (timeseries) are ``None``."""
    p = Path(run_dir)
    manifest = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
    scenario = yaml.safe_load((p / "scenario.yaml").read_text(encoding="utf-8")) or {}
    kpis = json.loads((p / "kpis.json").read_text(encoding="utf-8"))
    empty_ev = {"t": np.zeros(0), "kind": np.array([], dtype=object), "agent": np.zeros(0, np.int64),
                "node": np.array([], dtype=object), "detail": np.array([], dtype=object)}
    events = _read(p / "events.parquet") or empty_ev
    traj = _read(p / "trajectories.parquet") or {"agent": np.zeros(0, np.int64), "t": np.zeros(0),
                                                  "node": np.array([], dtype=object)}
    people = _read(p / "people.parquet") or {"role": np.array([], dtype=object)}
    ts = _read(p / "timeseries.parquet")
    run = RunData(p, manifest, scenario, kpis, events, traj, people, ts, _t0(scenario, events),
                  alerts=_read(p / "alerts.parquet"), workflow=_read(p / "workflow.parquet"))
    if run.workflow is None and scenario.get("workflows"):
        run.notes.append("this folder predates workflow.parquet: the workflow timeline is left out "
                         "(run the drill again to see it)")
    return run


# --------------------------------------------------------------------------------------- targets


def _parse_target(key: str, value: Any) -> float:
    """A target as written in a scenario: a duration for ``t_*`` keys (``3min``, ``90s``, a number of s),
    a number otherwise."""
    if key.startswith("t_"):
        from twin.units import parse_duration

        return float(parse_duration(value, f"targets.{key}"))
    return float(value)


def rate_targets(run: RunData) -> list[dict[str, Any]]:
    """Each target with its KPI value and rating: ``met``, ``missed`` or ``not exercised`` (a default
    target whose KPI did not happen in this run, e.g. no source to isolate). A target the scenario set
    explicitly and whose KPI never happened is ``missed``."""
    own = run.scenario.get("targets") or {}
    targets: dict[str, tuple[float, str]] = {k: (v, "default") for k, v in DEFAULT_TARGETS.items()}
    if isinstance(own, dict):
        for k, v in own.items():
            try:
                targets[str(k)] = (_parse_target(str(k), v), "scenario")
            except Exception as err:
                run.notes.append(f"target {k!r} = {v!r} ignored: {err}")
    has_hazard = bool(run.scenario.get("hazards"))
    rows = []
    for key, (target, origin) in targets.items():
        val = run.kpis.get(key)
        if val is None or (isinstance(val, float) and not math.isfinite(val)):
            relevant = origin == "scenario" or (key in ("t_alarm", "t_evacuated", "t_mustered") and run.n_people)
            if key in ("t_isolate", "t_ack") and not has_hazard and origin == "default":
                relevant = False
            rating = "missed" if relevant else "not exercised"
            val = None
        else:
            rating = "met" if float(val) <= target + 1e-9 else "missed"
        rows.append({"key": key, "label": TARGET_LABELS.get(key, key), "target": target, "value": val,
                     "rating": rating, "origin": origin})
    return rows


# --------------------------------------------------------------------------------------- workflows

@dataclass
class Step:
    """One workflow step as it ran (simulation seconds)."""

    workflow: str
    step: str
    kind: str
    start: float
    end: float | None = None
    marks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.workflow}/{self.step}"


def workflow_steps(run: RunData) -> list[Step]:
    """The workflow steps from the transitions table (``workflow.parquet``), in start order. A step with
    no ``completed`` has ``end=None`` (it was still running at the end, or was abandoned). A workflow run
    more than once (``dedupe``) names its later runs ``NAME#2`` ..."""
    tr = run.workflow
    if tr is None or not len(tr["t"]):
        return []
    steps: dict[str, Step] = {}
    order: list[str] = []
    for i in range(len(tr["t"])):
        step, state = str(tr["step"][i] or ""), str(tr["state"][i])
        if not step or state == "accounted":
            continue
        n = int(tr["instance"][i])
        wf = str(tr["workflow"][i]) + (f"#{n}" if n > 1 else "")
        key = f"{wf}/{step}"
        t = float(tr["t"][i])
        if state == "started":
            steps[key] = Step(wf, step, str(tr["detail"][i] or ""), t)
            order.append(key)
        elif key in steps:
            st = steps[key]
            if state == "completed":
                st.end = t
            else:
                st.marks.append((t, state))
    return [steps[k] for k in order]


# --------------------------------------------------------------------------------------- figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig, dpi: int = 80) -> str:
    """The figure as an ``<img>`` with a base64 PNG (closes the figure)."""
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{b64}">'


def _mins(t: np.ndarray | float):
    return np.asarray(t, dtype=float) / 60.0


def _gantt(run: RunData, steps: list[Step]) -> str:
    plt = _plt()
    t_end = run.t_end
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(steps) + 1.3))
    colours = {"escalated": "red", "timeout": "red", "acknowledged": "green", "notified": "tab:blue",
               "arrived": "tab:purple", "dispatched": "tab:purple", "isolated": "black"}
    for y, st in enumerate(steps):
        end = st.end if st.end is not None else t_end
        ax.barh(y, _mins(end - st.start) if end > st.start else 0.05, left=_mins(st.start), height=0.6,
                color="tab:blue" if st.end is not None else "tab:red", alpha=0.7)
        for t, what in st.marks:
            ax.plot(_mins(t), y, marker="|", ms=14, color=colours.get(what, "0.3"))
    ax.set_yticks(range(len(steps)))
    # matplotlib draws text as text, so names need no HTML escaping inside a PNG
    ax.set_yticklabels([f"{s.label} ({s.kind})" for s in steps], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(_mins(run.t0), color="0.5", ls=":", lw=1)
    ax.set_xlabel("simulation time (min); dotted: event start (t0); red bars: never completed", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def _evac_curve(run: RunData) -> str:
    plt = _plt()
    p = run.people
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for col, label, colour in (("t_exit", "out of the buildings", "tab:blue"),
                               ("t_muster", "at a muster point", "tab:green")):
        t = np.asarray(p.get(col, []), dtype=float)
        t = np.sort(t[np.isfinite(t)]) - run.t0
        if len(t):
            ax.step(np.r_[0, _mins(t)], np.r_[0, np.arange(1, len(t) + 1)], where="post", label=label,
                    color=colour)
    lb = run.kpis.get("t_lower_bound")
    if lb is not None:
        ax.axvline(lb / 60, color="red", ls="--", lw=1,
                   label=f"flow lower bound {_fmt_t(lb)} ({run.kpis.get('lower_bound_method', '')})")
    te = run.kpis.get("t_evacuated")
    if te is not None:
        ax.axvline(te / 60, color="tab:blue", ls=":", lw=1, label=f"t_evacuated {_fmt_t(te)}")
    ax.set_xlabel("minutes from the event (t0)")
    ax.set_ylabel("people safe")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def _bar(names: list[str], values: list[float], xlabel: str) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(names) + 1.0))
    ax.barh(range(len(names)), values, color="tab:blue")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


# --------------------------------------------------------------------------------------- occupancy


def occupancy_intervals(run: RunData) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Who was in which space when, from the trajectories: between two waypoints a person is in the
    space of the navigation edge joining them. Returns ``(space index, t_from, t_to, space ids)``.

    The folder does not record where people started, so the time before the first waypoint is left out;
    the peaks this feeds are therefore peaks of people on the move, which is what crowding means."""
    g = run.graph
    tr = run.traj
    if g is None or not len(tr["agent"]):
        return np.zeros(0, int), np.zeros(0), np.zeros(0), []
    agent = tr["agent"]
    t = tr["t"].astype(float)
    node = tr["node"]
    order = np.lexsort((t, agent))
    agent, t, node = agent[order], t[order], node[order]
    same = agent[1:] == agent[:-1]
    a_idx = np.flatnonzero(same)
    spaces: dict[str, int] = {}
    edge_space: dict[tuple[str, str], int] = {}
    nav = g.nav
    sp_i, t_a, t_b = [], [], []
    for i in a_idx:
        u, v = node[i], node[i + 1]
        key = (u, v)
        s = edge_space.get(key)
        if s is None:
            sid = None
            if nav.has_edge(u, v):
                sid = nav.edges[u, v].get("space")
            if sid is None:
                sid = nav.nodes[v].get("space") if v in nav else None
            s = spaces.setdefault(sid, len(spaces)) if sid is not None else -1
            edge_space[key] = s
        if s >= 0:
            sp_i.append(s)
            t_a.append(t[i])
            t_b.append(t[i + 1])
    ids = [None] * len(spaces)
    for sid, k in spaces.items():
        ids[k] = sid
    return np.asarray(sp_i, int), np.asarray(t_a), np.asarray(t_b), ids


def peak_occupancy(sp: np.ndarray, ta: np.ndarray, tb: np.ndarray, n_spaces: int) -> np.ndarray:
    """The most people at once in each space (sweep over interval ends; ends before starts at ties)."""
    out = np.zeros(n_spaces)
    if not len(sp):
        return out
    s = np.r_[sp, sp]
    tt = np.r_[ta, tb]
    d = np.r_[np.ones(len(sp)), -np.ones(len(sp))]
    order = np.lexsort((d, tt, s))
    s, d = s[order], d[order]
    for k in range(n_spaces):
        m = s == k
        if m.any():
            out[k] = np.cumsum(d[m]).max()
    return out


def zone_peaks(run: RunData) -> dict[str, tuple[float, float, str]]:
    """Per zone id: (peak value, time of peak, gas), from the ``zone`` rows (series ``GAS:zone``)."""
    ts = run.timeseries
    out: dict[str, tuple[float, float, str]] = {}
    if ts is None or not len(ts["t"]):
        return out
    m = ts["kind"] == "zone"
    series, vals, tt = ts["series"][m], ts["value"][m].astype(float), ts["t"][m].astype(float)
    for name in np.unique(series):
        k = series == name
        j = int(np.argmax(vals[k]))
        gas, _, zone = str(name).partition(":")
        v = float(vals[k][j])
        if zone not in out or v > out[zone][0]:
            out[zone] = (v, float(tt[k][j]), gas)
    return out


@dataclass
class Level:
    """Storeys of one or more buildings at the same floor level, shown as one plan (the ground level
    then shows the whole site with the routes between buildings)."""

    name: str
    ids: set[str]
    elevation: float


def _storeys(g) -> list[Level]:
    """The levels that hold walkable spaces, lowest first."""
    site = g.site
    used = {sp.storey for sp in site.spaces.values()}
    sts = [s for s in site.storeys if s.id in used] or site.storeys[:1]
    levels: dict[float, list] = {}
    for st in sts:
        levels.setdefault(round(st.elevation, 1), []).append(st)
    return [Level(" / ".join(sorted({s.name for s in group})), {s.id for s in group}, elev)
            for elev, group in sorted(levels.items())]


def _polys(geom):
    from shapely.geometry import MultiPolygon, Polygon

    for p in (geom.geoms if isinstance(geom, MultiPolygon) else [geom]):
        if isinstance(p, Polygon) and not p.is_empty:
            yield np.asarray(p.exterior.coords)[:, :2]


def _floor_plans(run: RunData, density: dict[str, float], conc: dict[str, float]) -> str:
    """One row per storey: peak density (p/m2) by space, peak concentration by zone."""
    plt = _plt()
    from matplotlib.collections import PolyCollection

    g = run.graph
    sts = _storeys(g)
    fig, axes = plt.subplots(len(sts), 2, figsize=(10, 3.6 * len(sts)), squeeze=False)
    dmax = max([*density.values(), 1e-9])
    cmax = max([*conc.values(), 1e-9])
    cm_d, cm_c = plt.get_cmap("YlOrRd"), plt.get_cmap("PuRd")
    for row, st in zip(axes, sts, strict=True):
        sp = [s for s in g.site.spaces.values() if s.storey in st.ids]
        zs = [z for z in g.zones.values() if z.storey in st.ids]
        verts_s, col_s = [], []
        for s in sp:
            for ring in _polys(s.footprint):
                verts_s.append(ring)
                col_s.append(cm_d(density.get(s.id, 0.0) / dmax) if density.get(s.id) else (0.95, 0.95, 0.95, 1))
        verts_z, col_z = [], []
        for z in zs:
            for ring in _polys(z.polygon):
                verts_z.append(ring)
                # log scale: the source zone is orders of magnitude above the rest
                col_z.append(cm_c(math.log10(1 + conc[z.id]) / math.log10(1 + cmax)) if conc.get(z.id)
                             else (0.95, 0.95, 0.95, 1))
        for ax, verts, cols, title in ((row[0], verts_s, col_s, "peak density"),
                                       (row[1], verts_z, col_z, "peak concentration")):
            ax.add_collection(PolyCollection(verts, facecolors=cols, edgecolors="0.35", linewidths=0.4))
            ax.autoscale_view()
            ax.set_aspect("equal")
            ax.tick_params(labelsize=6)
            ax.set_title(f"{st.name} ({st.elevation:+.1f} m): {title}", fontsize=8)
    sm_d = plt.cm.ScalarMappable(cmap=cm_d, norm=plt.Normalize(0, dmax))
    from matplotlib.colors import LogNorm

    sm_c = plt.cm.ScalarMappable(cmap=cm_c, norm=LogNorm(1e-3 * cmax, cmax) if cmax > 1e-6 else plt.Normalize(0, 1))
    fig.colorbar(sm_d, ax=axes[:, 0].tolist(), shrink=0.6, label="people / m2")
    fig.colorbar(sm_c, ax=axes[:, 1].tolist(), shrink=0.6, label="ppm")
    return _png(fig, dpi=60)


def _sensor_traces(run: RunData, alert_t: dict[str, list[float]]) -> str | None:
    """Readings of the sensors that saw anything, with their set points and the alerts they raised."""
    ts = run.timeseries
    if ts is None:
        return None
    m = ts["kind"] == "sensor"
    if not m.any():
        return None
    series, vals, tt, units = ts["series"][m], ts["value"][m].astype(float), ts["t"][m].astype(float), ts["unit"][m]
    names = [n for n in np.unique(series) if vals[series == n].max() > 0]
    names.sort(key=lambda n: -vals[series == n].max())
    names = names[:6]
    if not names:
        return None
    g = run.graph
    by_name = {}
    if g is not None:
        for s in g.site.sensors.values():
            by_name[s.name] = s
            by_name[s.id] = s
    plt = _plt()
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.5 * len(names) + 0.6), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        k = series == name
        unit = str(units[k][0])
        ax.plot(_mins(tt[k]), vals[k], lw=1, color="tab:blue")
        sensor = by_name.get(str(name))
        for sp in (sensor.setpoints if sensor is not None else []):
            if sp.unit == unit:
                ax.axhline(sp.value, color="orange", ls="--", lw=0.8)
        for t in alert_t.get(str(name), []):
            ax.axvline(t / 60, color="red", lw=0.8)
        ax.set_ylabel(f"{name}\n{unit}", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("simulation time (min); dashed: set points; red: alerts raised", fontsize=8)
    # fixed margins: tight_layout over many axes costs more than the drawing itself
    fig.subplots_adjust(left=0.12, right=0.98, top=0.97, bottom=0.6 / (1.5 * len(names) + 0.6), hspace=0.15)
    return _png(fig)


# --------------------------------------------------------------------------------------- sections


def _kv(rows: list[tuple[str, Any]]) -> str:
    return "<table class='kv'>" + "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows) + "</table>"


def _grid(head: list[str], rows: list[list[Any]], cls: str = "") -> str:
    h = "".join(f"<th>{_esc(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='grid {cls}'><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def _overview(run: RunData) -> str:
    sc, man, k = run.scenario, run.manifest, run.kpis
    site = sc.get("site") or man.get("site")
    hz = sc.get("hazards") or []
    types = "drill (operations-based)"
    rows = [
        ("Exercise", sc.get("name") or man.get("scenario")), ("Type", types),
        ("Run id", man.get("run_id")), ("Created (UTC)", man.get("created_utc")), ("Seed", man.get("seed")),
        ("Site", Path(str(site)).name if site else "-"),
        ("Threat / hazard", ", ".join(f"{h.get('kind')} {h.get('gas', '')} at {h.get('source', '')}" for h in hz)
         or "none (evacuation only)"),
        ("Participants", f"{run.n_people} people simulated"),
        ("Event start (t0)", f"{_fmt_t(run.t0)} simulation time"),
        ("Outcome", f"{k.get('safe', 0)} safe, {k.get('trapped', 0)} trapped, {k.get('incapacitated', 0)} incapacitated"),
        ("Engine", f"drilltwin {man.get('versions', {}).get('drilltwin', '?')}, git {str(man.get('git_commit') or '-')[:10]}"),
    ]
    if sc.get("description"):
        rows.insert(2, ("Description", sc["description"]))
    if man.get("data_caveats"):
        rows.append(("Data caveats", "; ".join(man["data_caveats"])))
    return _kv(rows)


def _scenario_summary(run: RunData) -> str:
    sc = run.scenario
    pop = [[e.get("where"), e.get("count"), e.get("role", "occupant")] for e in sc.get("population") or []]
    parts = [_kv([("Duration", _fmt_t(float(sc.get("duration") or 0))), ("Flow model", sc.get("flow")),
                  ("Alert policy", (sc.get("alerts") or {}).get("policy", "-")),
                  ("Weather", ", ".join(f"{a}={b}" for a, b in (sc.get("weather") or {}).items()) or "-"),
                  ("Closed doors", ", ".join(map(str, sc.get("closed") or [])) or "none")])]
    if pop:
        parts.append("<h3>Population</h3>" + _grid(["where", "count", "role"], pop))
    inj = sc.get("injects") or []
    if inj:
        parts.append("<h3>Injects (MSEL)</h3>" + _grid(
            ["id", "time", "kind", "target", "message"],
            [[i.get("id"), _fmt_t(float(i["time"])) if isinstance(i.get("time"), int | float) else i.get("time"),
              i.get("kind"), i.get("target"), i.get("message")] for i in inj]))
    wfs = sc.get("workflows") or []
    for wf in wfs:
        parts.append(f"<h3>Workflow {_esc(wf.get('name'))}</h3>" + _grid(
            ["step", "kind", "role", "after"],
            [[s.get("id"), s.get("kind"), s.get("role", ""), ", ".join(map(str, s.get("after") or []))]
             for s in wf.get("steps") or []]))
    return "".join(parts)


def _targets_html(rows: list[dict[str, Any]]) -> str:
    out = ["<table class='grid'><thead><tr><th>capability target</th><th>KPI</th><th>target</th>"
           "<th>actual</th><th>rating</th><th>source</th></tr></thead><tbody>"]
    for r in rows:
        fmt = _fmt_t if r["key"].startswith("t_") else (lambda v: "-" if v is None else f"{v:g}")
        tgt = ("≤ " + fmt(r["target"])) if r["key"].startswith("t_") else f"≤ {r['target']:g}"
        cls = {"met": "met", "missed": "missed"}.get(r["rating"], "na")
        out.append(f"<tr><td>{_esc(r['label'])}</td><td><code>{_esc(r['key'])}</code></td><td>{_esc(tgt)}</td>"
                   f"<td>{_esc(fmt(r['value']) if r['value'] is not None else 'did not happen')}</td>"
                   f"<td class='{cls}'>{_esc(r['rating'])}</td><td>{_esc(r['origin'])}</td></tr>")
    out.append("</tbody></table><p class='note'>Times from the event start t0. Targets from the scenario's "
               "<code>targets:</code> when set, else the defaults (alarm 3 min, acknowledgement 2 min, "
               "evacuation 10 min, muster and headcount 15 min, isolation 15 min, nobody above IDLH, "
               "trapped or incapacitated).</p>")
    return "".join(out)


def _phases(run: RunData, steps: list[Step]) -> list[tuple[str, str, float, float]]:
    """Candidate causes of delay as ``(label, kind, start, end)`` in simulation time."""
    out: list[tuple[str, str, float, float]] = []
    ev = run.events
    alerts = ev["t"][ev["kind"] == "alert"] if len(ev["kind"]) else np.zeros(0)
    if run.scenario.get("hazards") and len(alerts):
        out.append(("detection (event to first alert)", "detection", run.t0, float(alerts.min())))
    for s in steps:
        if s.end is not None and s.end > s.start:
            out.append((f"step {s.label} ({s.kind})", s.kind, s.start, s.end))
        elif s.end is None:
            out.append((f"step {s.label} ({s.kind}), never completed", s.kind, s.start, run.t_end))
    p = run.people
    ta, tsr, tx = (np.asarray(p.get(c, []), float) for c in ("t_aware", "t_start", "t_exit"))
    if len(ta):
        ok = np.isfinite(ta) & np.isfinite(tsr)
        if ok.any():
            out.append(("pre-movement (mean, aware to moving)", "premovement", float(np.mean(ta[ok])),
                        float(np.mean(tsr[ok]))))
        ok2 = ok & np.isfinite(tx)
        # wardens sweep their floors before leaving, so the last warden out measures the sweep: counted
        # apart, the plan names the sweep instead of blaming the exits for it
        warden = np.asarray(p.get("role", [""] * len(ta)), dtype=object) == "warden"
        for who, kind, mask in (("the last evacuee", "movement", ok2 & ~warden),
                                ("the last warden (sweep, then out)", "sweep", ok2 & warden)):
            if mask.any():
                j = int(np.argmax(np.where(mask, tx, -np.inf)))
                out.append((f"movement of {who} (moving to out)", kind, float(tsr[j]), float(tx[j])))
    return out


def improvement_plan(run: RunData, rows: list[dict[str, Any]], steps: list[Step]) -> list[list[str]]:
    """One row per missed target: the phase that ended before the target's KPI and took longest is named
    as the main cause of the delay, with a suggested corrective action by its kind."""
    phases = _phases(run, steps)
    out = []
    for r in rows:
        if r["rating"] != "missed":
            continue
        if r["key"].startswith("t_"):
            limit = run.t0 + (r["value"] if r["value"] is not None else run.t_end)
            cands = [p for p in phases if p[2] < limit + 1e-6]
            # only the part of each phase before the KPI counts towards its delay
            cands = [(lab, kind, min(b, limit) - a) for lab, kind, a, b in cands]
        else:
            cands = [(lab, kind, b - a) for lab, kind, a, b in phases if kind in ("detection", "premovement",
                                                                                  "movement", "sound_alarm",
                                                                                  "notify", "wait_ack")]
        cands = [c for c in cands if c[2] > 0]
        if cands:
            lab, kind, dur = max(cands, key=lambda c: c[2])
            element, action = CORRECTIVE.get(kind, ("Planning", "Review this step in the plan."))
            cause = f"{lab}: {_fmt_t(dur)}"
        else:
            element, action, cause = "Planning", "Review the plan for this capability.", "no step recorded"
        actual = (_fmt_t(r["value"]) if r["key"].startswith("t_") else f"{r['value']:g}") if r["value"] is not None \
            else "did not happen"
        tgt = _fmt_t(r["target"]) if r["key"].startswith("t_") else f"{r['target']:g}"
        out.append([r["label"], f"{actual} against {tgt}", cause, action, element, "", "", ""])
    return out


def _alert_times(run: RunData) -> dict[str, list[float]]:
    """Sensor name -> times of the alerts it contributed to (``alerts.parquet``)."""
    out: dict[str, list[float]] = {}
    al = run.alerts
    if al is None:
        return out
    for t, sensors in zip(al["t"], al["sensors"], strict=True):
        for s in sensors if sensors is not None else []:
            out.setdefault(str(s), []).append(float(t))
    return out


def report_sections(run: RunData) -> list[tuple[str, str, str]]:
    """The report as ``(anchor id, title, html body)`` sections; a later comparison section is appended
    to this list."""
    secs: list[tuple[str, str, str]] = [("overview", "Exercise overview", _overview(run)),
                                        ("scenario", "Scenario summary", _scenario_summary(run))]
    rows = rate_targets(run)
    secs.append(("targets", "Capability targets", _targets_html(rows)))
    steps = workflow_steps(run)
    if steps:
        tbl = _grid(["step", "kind", "started", "completed", "duration", "marks"],
                    [[s.label, s.kind, _fmt_t(s.start), _fmt_t(s.end),
                      _fmt_t(s.end - s.start) if s.end is not None else "never completed",
                      ", ".join(f"{w} {_fmt_t(t)}" for t, w in s.marks)] for s in steps])
        secs.append(("timeline", "Timeline of workflow steps", _gantt(run, steps) + tbl))
    else:
        secs.append(("timeline", "Timeline of workflow steps", "<p>No workflow ran in this exercise.</p>"))
    ev = run.events
    notable = [i for i in range(len(ev["kind"])) if str(ev["kind"][i]) not in PERSON_KINDS
               and not str(ev["kind"][i]).startswith("workflow:")][:300]
    if notable:
        names = run.node_names()
        secs.append(("events", "Key events", _grid(
            ["time", "T+ (from t0)", "kind", "where", "detail"],
            [[_fmt_t(float(ev["t"][i])), _fmt_t(float(ev["t"][i]) - run.t0), ev["kind"][i],
              names.get(str(ev["node"][i] or ""), ev["node"][i]),
              ev["detail"][i]] for i in notable])))
    k = run.kpis
    evac = _evac_curve(run) if run.n_people else "<p>No people in this run.</p>"
    stats = _kv([("Evacuated (t_evacuated)", _fmt_t(k.get("t_evacuated"))),
                 ("Last occupant out / last warden out",
                  f"{_fmt_t(k.get('t_occupants_out'))} / {_fmt_t(k.get('t_wardens_out'))}"),
                 ("Median / 95th percentile out", f"{_fmt_t(k.get('t_evacuated_p50'))} / {_fmt_t(k.get('t_evacuated_p95'))}"),
                 ("Flow lower bound", f"{_fmt_t(k.get('t_lower_bound'))} ({k.get('lower_bound_method', '-')}; "
                                      f"critical: {k.get('lower_bound_critical', '-')})"),
                 ("Mean pre-movement", _fmt_t(k.get("premovement_mean")))])
    exits = k.get("exit_counts") or {}
    ex_html = _bar(list(exits), list(exits.values()), "people through each exit") if exits else "<p>No exits used.</p>"
    secs.append(("evacuation", "Evacuation", evac + stats + "<h3>Exit usage</h3>" + ex_html))
    g = run.graph
    peaks = zone_peaks(run)
    sp, ta, tb, ids = occupancy_intervals(run) if g is not None else (np.zeros(0, int), [], [], [])
    occ = peak_occupancy(sp, np.asarray(ta), np.asarray(tb), len(ids))
    density = {}
    if g is not None:
        density = {sid: occ[j] / max(g.site.spaces[sid].area, 1e-6) for j, sid in enumerate(ids)
                   if sid in g.site.spaces}
    # exposure: people who were in a space while one of its zones held gas above 1 ppm
    exp_rows = []
    if peaks:
        ts = run.timeseries
        m = ts["kind"] == "zone"
        ser, val, tt = ts["series"][m], ts["value"][m].astype(float), ts["t"][m].astype(float)
        top = sorted(peaks.items(), key=lambda kv: -kv[1][0])[:15]
        sp_index = {sid: j for j, sid in enumerate(ids)}
        agents_seg = None
        for zid, (v, tpk, gas) in top:
            if v <= 0:
                continue
            z = g.zones.get(zid) if g is not None else None
            space = g.site.spaces.get(z.space) if z is not None else None
            kk = (ser == f"{gas}:{zid}") & (val > 1.0)
            n_in = "-"
            if kk.any() and space is not None and space.id in sp_index:
                lo, hi = tt[kk].min(), tt[kk].max()
                j = sp_index[space.id]
                sel = (sp == j) & (np.asarray(tb) >= lo) & (np.asarray(ta) <= hi)
                n_in = int(sel.sum()) if agents_seg is None else n_in
            exp_rows.append([space.label if space is not None else zid, zid, gas, f"{v:.3g}", _fmt_t(tpk),
                             _fmt_t(float(tt[kk].min() if kk.any() else np.nan)), n_in])
    exposure = _kv(_exposure_rows(k))
    if exp_rows:
        exposure += _grid(["space", "zone", "gas", "peak (ppm)", "at", "first above 1 ppm",
                           "passages while above 1 ppm"], exp_rows)
    else:
        exposure += "<p>No gas reached any zone in this run.</p>"
    secs.append(("exposure", "Exposure", exposure))
    if g is not None:
        conc = {z: v[0] for z, v in peaks.items()}
        secs.append(("plans", "Floor plans: peak density and peak concentration",
                     _floor_plans(run, density, conc)))
    traces = _sensor_traces(run, _alert_times(run))
    secs.append(("sensors", "Sensor traces", traces or "<p>No sensor readings above zero in this run.</p>"))
    plan = improvement_plan(run, rows, steps)
    body = (_grid(["capability / target", "observation", "main cause of the delay (root cause to confirm)",
                   "corrective action", "capability element", "responsible organisation", "POC",
                   "start / completion"], plan)
            if plan else "<p>All capability targets were met; no corrective actions proposed.</p>")
    secs.append(("improvement", "Appendix A: Improvement plan", body))
    if run.notes:
        secs.append(("notes", "Notes", "<ul>" + "".join(f"<li>{_esc(n)}</li>" for n in run.notes) + "</ul>"))
    return secs


def _exposure_rows(k: dict) -> list[tuple[str, Any]]:
    """The exposure summary: dose, incapacitation against escape (ASET/RSET), oxygen and, for flammable
    gases, %LEL and the flammable cloud (KPIs of drills.sim.hazards / drills.sim.tenability)."""
    dose = k.get("peak_dose")
    rows: list[tuple[str, Any]] = [
        ("Peak dose", f"{dose} {k.get('peak_dose_unit', '')}" if dose is not None
         else (k.get("peak_dose_unit") or "-")),
        ("Peak concentration met by a person", f"{k.get('peak_ppm', '-')} ppm"),
        ("People above IDLH", k.get("exposed_idlh", "-")),
        ("Gas released", f"{k.get('gas_released_kg', '-')} kg")]
    if "fatal_exposures" in k:
        rows.append(("Lethal doses (probit) / FED above 0.3", f"{k['fatal_exposures']} / {k.get('fed_susceptible', 0)}"))
    if k.get("aset_min") is not None:
        rows.append(("Earliest loss of tenability (ASET)", f"{_fmt_t(k['aset_min'])} in {k.get('aset_place')}"))
    if k.get("aset_rset_place"):
        m = k.get("aset_rset_margin")
        rows.append(("Smallest ASET - RSET margin", f"{'someone never left' if m is None else _fmt_t(m)} "
                                                    f"({k['aset_rset_place']})"))
    if k.get("min_o2_pct") is not None and k["min_o2_pct"] < 20.9:
        rows.append(("Lowest oxygen in any zone", f"{k['min_o2_pct']:.1f} %"))
    if k.get("peak_lel_pct") is not None:
        rows.append(("Peak %LEL in any zone", f"{k['peak_lel_pct']:.3g} %LEL"))
        rows.append(("Time above 10 / 25 / 50 %LEL", " / ".join(_fmt_t(k.get(f"t_above_{lv}_lel", 0.0))
                                                               for lv in (10, 25, 50))))
        if k.get("flammable_volume_m3"):
            rows.append(("Flammable cloud (LEL-UEL)", f"{k['flammable_volume_m3']:.4g} m3 in "
                                                      f"{', '.join(k.get('flammable_places') or [])}"))
    return rows


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#222}
h1{margin-bottom:0}h2{border-bottom:2px solid #345;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{padding:.25em .6em;text-align:left;vertical-align:top}
table.grid th{background:#e8ecf0}table.grid td{border-bottom:1px solid #ddd}table.kv th{color:#555;font-weight:600}
td.met{color:#fff;background:#2a7d2a}td.missed{color:#fff;background:#b22}td.na{color:#555;background:#eee}
img{max-width:100%}nav a{margin-right:1em}.note{color:#666;font-size:.85em}
@media print{nav{display:none}}
"""


def html_page(title: str, note: str, secs: list[tuple[str, str, str]], css: str = "") -> str:
    """A self-contained report page: ``title`` (text), ``note`` (HTML under the title), a navigation bar
    and one ``<section>`` per ``(anchor, title, html)``. The content security policy allows no script
    and no network: images must be data URIs."""
    nav = "".join(f"<a href='#{_esc(a)}'>{_esc(t)}</a>" for a, t, _ in secs)
    body = "".join(f"<section id='{_esc(a)}'><h2>{_esc(t)}</h2>{h}</section>" for a, t, h in secs)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
            f"style-src 'unsafe-inline'\">"
            f"<title>{_esc(title)}</title><style>{CSS}{css}</style></head><body>"
            f"<h1>{_esc(title)}</h1><p class='note'>{note}</p><nav>{nav}</nav>{body}</body></html>")


def write_report(run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` (the after-action report of the run in ``run_dir``) and return its
    path. The page is self-contained: open it from disk, mail it, print it."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    secs = report_sections(run)
    title = f"After-action report: {run.scenario.get('name') or run.manifest.get('scenario') or run_dir.name}"
    page = html_page(title, "drilltwin after-action report / improvement plan (HSEEP AAR/IP layout). "
                            "Replay: <a href='replay.html'>replay.html</a>", secs)
    out = run_dir / "report.html"
    tmp = run_dir / ".report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    from drills.outputs.results import add_manifest_files

    add_manifest_files(run_dir)  # manifest.json lists every file, this page included
    return out
