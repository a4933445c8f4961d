"""HTML for a joint exercise: ``region_report.html`` and ``region_replay.html``.

Both are single self-contained pages next to the per-site folders. The report shows the regional KPIs,
every site's KPIs side by side, the mutual-aid jobs (queueing and travel) and the combined timeline,
then the chosen site's own after-action report (``sites/SITE/report.html``) behind a site switcher. The
replay draws the common map (site footprints, roads, depots, the wind) with each site coloured by when
it was warned, and the chosen site's own replay behind the same kind of switcher.

Both are built from the results folder's files (:func:`load_region_run`), never from a run in memory,
so ``drilltwin report`` on a region folder rebuilds them exactly.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

__all__ = ["write_region_html", "load_region_run", "RegionRunData", "TIMELINE_KINDS", "is_region_folder"]

TIMELINE_KINDS = ("alert", "alarm", "hazard_zone", "camera", "regional_gas", "shelter_order", "evacuate_order")
"""Site events that go into the combined timeline table (people's moves stay in the site reports)."""

_CSS = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:right}th{background:#eee}
td:first-child,th:first-child{text-align:left}iframe{width:100%;height:80vh;border:1px solid #999}
.tl{max-height:40vh;overflow:auto}select{font-size:15px}"""


def _e(x: Any) -> str:
    return html.escape("-" if x is None else str(x))


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_num(x)}" for k, x in v.items()) or "-"
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "-"
    return str(v)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{_e(_num(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{b}</table>"


@dataclass
class RegionRunData:
    """A region's results folder, loaded: times in s on the exercise clock (``t0`` the KPI origin)."""

    path: Path
    name: str
    seed: int | None
    wall_s: float | None
    t0: float
    kpis: dict[str, Any]
    site_kpis: dict[str, dict[str, Any]]
    site_dirs: dict[str, str]
    events: list[tuple]
    aid: list[dict[str, Any]]
    warned: dict[str, tuple[float, str]]
    transitions: list[dict[str, Any]] = field(default_factory=list)  # the regional workflows' (workflow.parquet)
    region: Any = None  # drills.spec.region.Region, for the map; None when its files cannot be loaded
    notes: list[str] = field(default_factory=list)


def is_region_folder(folder: str | Path) -> bool:
    """Does ``folder`` hold a joint exercise's results (``region.yaml`` beside ``kpis.json``)?"""
    p = Path(folder)
    return (p / "region.yaml").is_file() and (p / "kpis.json").is_file()


def _rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist() if path.exists() else []


def load_region_run(folder: str | Path, region: Any = None) -> RegionRunData:
    """Load a region's results folder. ``region`` (the loaded region) saves reading the site models
    again for the map; without it :func:`drills.region.model.load_region` reads ``region.yaml``."""
    p = Path(folder)
    man = json.loads((p / "manifest.json").read_text(encoding="utf-8")) if (p / "manifest.json").exists() else {}
    spec = yaml.safe_load((p / "region.yaml").read_text(encoding="utf-8")) or {}
    k = json.loads((p / "kpis.json").read_text(encoding="utf-8"))
    notes: list[str] = []
    events = [tuple(r.values()) for r in _rows(p / "events.parquet")]
    if (p / "warned.parquet").exists():
        warned = {r["site"]: (r["t"], r["how"]) for r in _rows(p / "warned.parquet")}
    else:  # a folder written before warned.parquet: the broadcasts and own alerts, not alarms
        warned = {}
        for e in events:
            if e[2] == "site_warned" and e[1] not in warned:
                warned[e[1]] = (e[0], e[5])
        notes.append("this folder has no warned.parquet: warnings are taken from the timeline")
    site_dirs = man.get("sites") or {s["name"]: f"sites/{s['name']}" for s in spec.get("sites", [])}
    if region is None:
        from drills.region.model import load_region

        try:
            region = load_region(p / "region.yaml")
        except Exception as err:  # a moved site file must not cost the whole report
            notes.append(f"the map is left out: the region's sites could not be loaded ({err})")
            region = None
    return RegionRunData(p, str(spec.get("name") or man.get("region") or p.name), spec.get("seed", man.get("seed")),
                         man.get("wall_s", k["kpis"].get("wall_s")), float(man.get("t0", 0.0)), k["kpis"],
                         k.get("sites", {}), site_dirs, events, _rows(p / "aid.parquet"), warned,
                         _rows(p / "workflow.parquet"), region, notes)


def _switcher(res: RegionRunData, page: str, frame_id: str) -> str:
    opts = "".join(f'<option value="{_e(d)}/{page}">{_e(n)}</option>' for n, d in res.site_dirs.items())
    first = f"{next(iter(res.site_dirs.values()))}/{page}"
    return (f'<p>Site: <select id="site" onchange="document.getElementById(\'{frame_id}\').src=this.value">{opts}'
            f'</select></p><iframe id="{frame_id}" src="{first}"></iframe>')


def _report(res: RegionRunData) -> str:
    k = res.kpis
    reg = [[key, k.get(key)] for key in k]
    keys = ("t_detect", "t_alert", "t_alarm", "t_isolate", "t_evacuated", "occupants", "safe", "exposed_idlh",
            "peak_ppm", "false_alerts")
    warned = res.warned
    t0 = res.t0
    sites = [[n, *[r.get(c) for c in keys],
              None if n not in warned else round(warned[n][0] - t0, 1), warned.get(n, (None, None))[1]]
             for n, r in res.site_kpis.items()]
    aid = [[a["request"], a["resource"], a["site"], a["step"], a["t_request"], a["wait"], a["travel_s"],
            a["t_arrive"], a["t_back"]] for a in res.aid]
    tl = [(e[0], e[1], e[2], e[5] or e[4]) for e in res.events
          if e[2] in TIMELINE_KINDS or e[2].startswith(("aid_", "region_", "broadcast", "site_warned", "inject:"))]
    # the regional procedures' own course, from their transitions table
    tl += [(tr["t"], tr["site"], f"workflow:{tr['state']}",
            "/".join(x for x in (tr["workflow"] + (f"#{tr['instance']}" if tr["instance"] > 1 else ""), tr["step"]) if x)
            + (f" {tr['detail']}" if tr["detail"] else ""))
           for tr in res.transitions if tr["state"] in ("triggered", "completed", "failed", "deduplicated",
                                                        "escalated", "renotified")]
    tl = [[round(t, 1), site, kind, d] for t, site, kind, d in sorted(tl, key=lambda r: r[0])]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{_e(res.name)}</title>
<style>{_CSS}</style></head><body>
<h1>{_e(res.name)}: joint exercise report</h1>
<p>Seed {res.seed}; {len(res.site_kpis)} sites on one clock; times in s from the first release
(t0 = {t0:g} s on the exercise clock); simulation {_num(res.wall_s)} s wall.</p>
<h2>Regional KPIs</h2>{_table(["KPI", "value"], reg)}
<h2>Sites</h2>{_table(["site", *keys, "warned", "warned by"], sites)}
<h2>Mutual aid</h2>{_table(["#", "resource", "site", "step", "requested", "wait s", "drive s", "arrived",
                            "back"], aid) if aid else "<p>No aid was requested.</p>"}
<h2>Combined timeline</h2><div class="tl">{_table(["t (s)", "site", "event", "detail"], tl)}</div>
<h2>Site reports</h2>{_switcher(res, "report.html", "frame")}
{_notes(res)}</body></html>"""


def _notes(res: RegionRunData) -> str:
    if not res.notes:
        return ""
    return "<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in res.notes) + "</ul>"


def _map_svg(res: RegionRunData) -> str:
    reg = res.region
    if reg is None:
        return "<p>No map: the region's site models could not be loaded (see the notes).</p>"
    shapes = []
    pts: list[tuple[float, float]] = []
    warned = res.warned
    t0 = res.t0
    for s in reg.sites:
        xy = list(s.footprint.exterior.coords) if hasattr(s.footprint, "exterior") else []
        pts.extend(xy)
        shapes.append((s.name, xy, warned.get(s.name)))
    pts.extend(reg.roads.nodes.values())
    if not pts:
        return "<p>No map.</p>"
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1, y0, y1 = min(xs) - 100, max(xs) + 100, min(ys) - 100, max(ys) + 100
    w = 900
    sc = w / max(x1 - x0, 1.0)
    h = (y1 - y0) * sc

    def P(x: float, y: float) -> str:
        return f"{(x - x0) * sc:.1f},{(y1 - y) * sc:.1f}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h:.0f}" style="background:#f8f8f4">']
    for ln in reg.roads.links:
        a, b = reg.roads.nodes[ln.a], reg.roads.nodes[ln.b]
        out.append(f'<polyline points="{P(*a)} {P(*b)}" stroke="#999" stroke-width="3" fill="none"/>')
    depots = {r.depot for r in reg.spec.resources}
    for name, (x, y) in reg.roads.nodes.items():
        col = "#c00" if name in depots else "#555"
        out.append(f'<circle cx="{(x - x0) * sc:.1f}" cy="{(y1 - y) * sc:.1f}" r="4" fill="{col}"/>'
                   f'<text x="{(x - x0) * sc + 6:.1f}" y="{(y1 - y) * sc - 4:.1f}" font-size="11">{_e(name)}</text>')
    for name, xy, wv in shapes:
        col = "#9c9" if wv is None else "#f90"
        label = name if wv is None else f"{name}: warned at {wv[0] - t0:.0f} s ({wv[1]})"
        out.append(f'<polygon points="{" ".join(P(x, y) for x, y in xy)}" fill="{col}" fill-opacity=".6" '
                   f'stroke="#333"><title>{_e(label)}</title></polygon>')
        cx = sum(p[0] for p in xy) / max(len(xy), 1)
        cy = max((p[1] for p in xy), default=0.0)
        # long labels near the map's edges are anchored inwards so they are not cut off
        px = (cx - x0) * sc
        anchor = "start" if px < 0.3 * w else "end" if px > 0.7 * w else "middle"
        px = max(px, 4.0) if anchor == "start" else min(px, w - 4.0) if anchor == "end" else px
        out.append(f'<text x="{px:.1f}" y="{(y1 - cy) * sc - 6:.1f}" font-size="12" '
                   f'text-anchor="{anchor}">{_e(label)}</text>')
    wd = reg.spec.weather
    th = math.radians(wd.wind_from)
    dx, dy = -math.sin(th), -math.cos(th)  # blows towards
    ax, ay = 60.0, 40.0
    out.append('<defs><marker id="head" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" refX="9" refY="6" orient="auto">'
               '<path d="M0,0 L12,6 L0,12 z" fill="#06c"/></marker></defs>')
    out.append(f'<line x1="{ax}" y1="{ay}" x2="{ax + 40 * dx:.1f}" y2="{ay - 40 * dy:.1f}" stroke="#06c" '
               f'stroke-width="3" marker-end="url(#head)"/><text x="10" y="15" font-size="12">wind {wd.wind_speed:g} m/s from '
               f'{wd.wind_from:g}°</text>')
    out.append("</svg>")
    return "".join(out)


def _replay(res: RegionRunData) -> str:
    data = {"sites": list(res.site_dirs), "warned": {k: v[0] for k, v in res.warned.items()}}
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{_e(res.name)} replay</title>
<style>{_CSS}</style></head><body>
<h1>{_e(res.name)}: the map</h1>
<p>Sites turn orange once warned (hover for when and how); red dots are depots.</p>
{_map_svg(res)}
<h2>Site replays</h2>{_switcher(res, "replay.html", "frame")}
<script type="application/json" id="region-data">{html.escape(json.dumps(data))}</script>
</body></html>"""


def write_region_html(folder: Path, region: Any = None) -> tuple[Path, Path]:
    """Write ``region_report.html`` and ``region_replay.html`` into the region results ``folder`` from its
    files; return both paths. ``region``: the loaded region, if at hand (else read from ``region.yaml``)."""
    folder = Path(folder)
    res = load_region_run(folder, region)
    rep = folder / "region_report.html"
    rep.write_text(_report(res), encoding="utf-8")
    rpl = folder / "region_replay.html"
    rpl.write_text(_replay(res), encoding="utf-8")
    return rep, rpl
