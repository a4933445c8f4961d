"""The replay of one run (``replay.html``) and, for slides, a GIF or MP4 of it.

:func:`write_replay` writes one self-contained page (no network, no CDN): a ``<canvas>`` floor plan of
one storey at a time with every person moving between the waypoints the engine logged (interpolated in
the browser), zones tinted by gas concentration, sensors and alarms lit from the moment they trigger,
wardens and responders marked by role, a timeline scrubber with play, pause and speed, a storey switcher
and the key events, kept in step with the clock.

Data layout (why it stays small and fast for 10,000 people over 30 minutes): navigation node
coordinates are stored once; each person's path is a run of ``(time delta in 0.1 s, node index)`` pairs
in two typed arrays (``Uint32`` deltas, ``Uint16``/``Uint32`` node indices) sent as base64, with one
offset per person. The browser keeps a cursor per person, so a frame costs one comparison and one
interpolation per person, and draws with ``fillRect`` batched by role colour.

Every name from the IFC file, the sketch or the scenario reaches the page only inside the JSON block
(see :func:`drills.outputs.report.safe_json`) and is put on screen with ``textContent`` or canvas ``fillText``,
never parsed as markup.

People start at the centre of the zone holding their recorded start point (``people.parquet``
``space0``/``x0``/``y0``); folders written before those columns existed start them next to their first
waypoint.
"""

from __future__ import annotations

import base64
import html
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from drills.outputs.report import PERSON_KINDS, RunData, _alert_times, _storeys, load_run, safe_json

__all__ = ["write_replay", "replay_data", "ROLE_COLOURS"]

ROLE_COLOURS = {"occupant": "#2b6cb0", "warden": "#dd8800", "responder": "#d62728", "operator": "#8e44ad",
                "supervisor": "#8e44ad", "ert": "#d62728"}
"""Fill colour of each role on the replay (others: grey)."""

MAX_EVENTS = 5000


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _ring_list(geom) -> list[list[float]]:
    """Exterior rings of a (multi)polygon as flat ``[x0, y0, x1, y1, ...]`` lists, to 1 cm."""
    from shapely.geometry import MultiPolygon, Polygon

    out = []
    for p in (geom.geoms if isinstance(geom, MultiPolygon) else [geom]):
        if isinstance(p, Polygon) and not p.is_empty:
            out.append([round(float(v), 2) for xy in list(p.exterior.coords)[:-1] for v in xy[:2]])
    return out


def _start_nodes(run: RunData, g, first_node: dict[int, str]) -> dict[int, str]:
    """Each person's starting navigation node: the zone centre of the start point recorded in
    ``people.parquet`` (``space0``, ``x0``, ``y0``); for run folders written before those columns existed,
    a zone next to the person's first waypoint."""
    out: dict[int, str] = {}
    p = run.people
    if all(k in p for k in ("space0", "x0", "y0")):
        for a, (sid, x, y) in enumerate(zip(p["space0"], p["x0"], p["y0"], strict=True)):
            if sid in g.space_zones:
                out[a] = g.zone_node(g.zone_at(str(sid), float(x), float(y)))
    for a, v in first_node.items():
        if a not in out and v in g.nav:
            cs = [u for u in g.nav.neighbors(v) if u.startswith("c:")]
            out[a] = cs[0] if cs else v
    return out


def replay_data(run: RunData) -> dict[str, Any]:
    """Everything the replay page needs, as one JSON-able dict (typed arrays as base64 strings)."""
    g = run.graph
    if g is None:
        raise RuntimeError("the replay needs the site model, which could not be loaded: "
                           + "; ".join(run.notes))
    sts = _storeys(g)
    st_index = {sid: i for i, lv in enumerate(sts) for sid in lv.ids}
    ground = min(range(len(sts)), key=lambda i: abs(sts[i].elevation))
    nodes = list(g.nav.nodes)
    nidx = {v: i for i, v in enumerate(nodes)}
    nxy = np.array([g.nav.nodes[v]["xy"][:2] for v in nodes], dtype=np.float32).reshape(-1, 2)
    nst = np.array([st_index.get(g.nav.nodes[v].get("storey"), ground) for v in nodes], dtype=np.uint16)

    # --- paths: per person (t, node), start node first
    n = run.n_people
    tr = run.traj
    order = np.lexsort((tr["t"], tr["agent"]))
    ag, tt, nn = tr["agent"][order], tr["t"][order].astype(float), tr["node"][order]
    bounds = np.searchsorted(ag, np.arange(n + 1))
    first = {a: str(nn[bounds[a]]) for a in range(n) if bounds[a + 1] > bounds[a]}
    start = _start_nodes(run, g, first)
    t_start = np.asarray(run.people.get("t_start", np.full(n, np.inf)), dtype=float)
    offs = np.zeros(n + 1, dtype=np.uint32)
    times: list[np.ndarray] = []
    idxs: list[np.ndarray] = []
    for a in range(n):
        lo, hi = bounds[a], bounds[a + 1]
        ta = list(tt[lo:hi])
        na = [nidx.get(str(v), -1) for v in nn[lo:hi]]
        s = nidx.get(start.get(a, ""), -1)
        if s >= 0:
            # wait at the start until moving off (t_start), then walk to the first waypoint
            t1 = ta[0] if ta else np.inf
            ts = t_start[a] if a < len(t_start) and np.isfinite(t_start[a]) else t1
            ts = min(ts, t1)
            if np.isfinite(ts) and ts > 0:
                ta, na = [0.0, ts, *ta], [s, s, *na]
            else:
                ta, na = [0.0, *ta], [s, *na]
        keep = [i for i, v in enumerate(na) if v >= 0]
        ta = np.round(np.asarray([ta[i] for i in keep], dtype=float) * 10)
        times.append(np.diff(np.r_[0.0, ta]).clip(0).astype(np.uint32))
        idxs.append(np.asarray([na[i] for i in keep], dtype=np.int64))
        offs[a + 1] = offs[a] + len(keep)
    dt = np.concatenate(times) if times else np.zeros(0, np.uint32)
    ni = np.concatenate(idxs) if idxs else np.zeros(0, np.int64)
    node_type = np.uint16 if len(nodes) < 65535 else np.uint32
    roles = [str(r) for r in run.people.get("role", [])]
    role_names = sorted(set(roles), key=lambda r: (r != "occupant", r))
    role_idx = np.array([role_names.index(r) for r in roles], dtype=np.uint8)

    # people who went down or were trapped turn black from that moment
    ev = run.events
    down = np.full(n, np.inf, dtype=np.float32)
    for kind in ("incapacitated", "trapped"):
        for i in np.flatnonzero(ev["kind"] == kind) if len(ev["kind"]) else []:
            a = int(ev["agent"][i])
            if 0 <= a < n:
                down[a] = min(down[a], float(ev["t"][i]))

    # outdoor walks go around the buildings: their corners, from the first node to the second
    via = [[nidx[u], nidx[v], [round(float(c), 2) for xy in g.edge_polyline(u, v)[1:-1] for c in xy]]
           for u, v, d in g.nav.edges(data=True) if d.get("via") and u in nidx and v in nidx]

    # --- the static plan
    spaces = [{"s": st_index[sp.storey], "name": sp.label, "rings": _ring_list(sp.footprint),
               "walk": bool(sp.walkable)} for sp in g.site.spaces.values() if sp.storey in st_index]
    doors = []
    for v in nodes:
        a = g.nav.nodes[v]
        if a.get("kind") == "door":
            doors.append([nidx[v], 1 if a.get("exit") else 0])
    musters = [nidx[m] for m in g.musters if m in nidx]

    # --- gas on zones
    zones_out, gas = [], None
    ts = run.timeseries
    if ts is not None and len(ts["t"]):
        m = ts["kind"] == "zone"
        if m.any():
            ser, val, tz = ts["series"][m], ts["value"][m].astype(float), ts["t"][m].astype(float)
            grid = np.unique(tz)
            names = [s for s in np.unique(ser) if val[ser == s].max() > 0]
            mat = np.zeros((len(grid), len(names)), dtype=np.float32)
            for j, s in enumerate(names):
                k = ser == s
                mat[np.searchsorted(grid, tz[k]), j] = val[k]
                zid = str(s).partition(":")[2]
                z = g.zones.get(zid)
                zones_out.append({"id": str(s), "s": st_index.get(z.storey, ground) if z else ground,
                                  "rings": _ring_list(z.polygon) if z else []})
            gas = {"t": [round(float(x), 2) for x in grid], "v": _b64(mat), "max": float(mat.max()) if mat.size else 0}

    # --- sensors and alarms
    alert_t = {s: min(ts_) for s, ts_ in _alert_times(run).items()}  # first alert each sensor took part in
    first_read: dict[str, float] = {}
    if ts is not None and len(ts["t"]):
        m = ts["kind"] == "sensor"
        for s in g.site.sensors.values():
            if s.setpoints:
                k = m & ((ts["series"] == s.name) | (ts["series"] == s.id))
                sp0 = s.setpoints[0]
                k &= (ts["unit"] == sp0.unit) & (ts["value"] >= sp0.value)
                if k.any():
                    first_read[s.id] = float(ts["t"][k].min())

    def _place(it) -> tuple[int, list[float]]:
        sp = g.site.spaces.get(it.space) if it.space else None
        sid = sp.storey if sp is not None else it.storey
        return st_index.get(sid, ground), [round(float(it.position[0]), 2), round(float(it.position[1]), 2)]

    sensors = []
    for s in g.site.sensors.values():
        si, xy = _place(s)
        on = min([alert_t.get(s.name, np.inf), alert_t.get(s.id, np.inf), first_read.get(s.id, np.inf)])
        sensors.append({"s": si, "xy": xy, "name": s.name, "kind": s.kind, "on": on if np.isfinite(on) else None})
    alarm_on = None
    if len(ev["kind"]):
        k = (ev["kind"] == "alarm") | (ev["kind"] == "inject:alarm")
        if k.any():
            alarm_on = float(ev["t"][k].min())
    alarms = []
    for al in g.site.alarms.values():
        si, xy = _place(al)
        alarms.append({"s": si, "xy": xy, "name": al.name, "on": alarm_on})

    # --- the event list: everything but the per-person bookkeeping
    names = run.node_names()
    evs = []
    kinds = ev["kind"]
    for i in range(len(kinds)):
        kd = str(kinds[i])
        if kd in PERSON_KINDS:
            continue
        node = str(ev["node"][i] or "")
        evs.append([round(float(ev["t"][i]), 2), kd, names.get(node, node), str(ev["detail"][i] or "")])
        if len(evs) >= MAX_EVENTS:
            break

    t_end = run.t_end
    return {
        "title": str(run.scenario.get("name") or run.manifest.get("scenario") or run.path.name),
        "t0": run.t0, "tEnd": round(t_end + 1, 1),
        "storeys": [{"name": s.name, "elev": round(float(s.elevation), 2)} for s in sts],
        "nodes": {"xy": _b64(nxy), "s": _b64(nst), "n": len(nodes)},
        "paths": {"off": _b64(offs), "dt": _b64(dt), "node": _b64(ni.astype(node_type)),
                  "nodeBytes": np.dtype(node_type).itemsize},
        "roles": role_names, "roleColours": [ROLE_COLOURS.get(r, "#666666") for r in role_names],
        "role": _b64(role_idx), "down": _b64(down), "n": n,
        "spaces": spaces, "doors": doors, "musters": musters, "zones": zones_out, "gas": gas,
        "sensors": sensors, "alarms": alarms, "events": evs, "via": via,
    }


PAGE = r"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>__TITLE__</title>
<style>
html,body{margin:0;height:100%;font-family:system-ui,sans-serif;font-size:13px}
#app{display:grid;grid-template-columns:1fr 420px;grid-template-rows:auto 1fr auto;height:100%}
#top{grid-column:1/3;padding:6px 10px;background:#234;color:#fff;display:flex;gap:12px;align-items:center}
#top h1{font-size:15px;margin:0;flex:1}#wrap{position:relative;min-height:200px}
canvas{position:absolute;inset:0;width:100%;height:100%;background:#fafafa}
#side{grid-row:2/4;grid-column:2;overflow:auto;border-left:1px solid #ccc}
#events{width:100%;border-collapse:collapse;table-layout:fixed}
#events td{padding:2px 4px;border-bottom:1px solid #eee;vertical-align:top;overflow-wrap:anywhere}
#events td:nth-child(1){width:3.2em}#events td:nth-child(2){width:8.5em}#events td:nth-child(3){width:6.5em}
#events tr{color:#999;cursor:pointer}#events tr.past{color:#222}#events tr.now{background:#ffe9a8}
#bar{padding:6px 10px;display:flex;gap:8px;align-items:center;border-top:1px solid #ccc}
#scrub{flex:1}#clock{font-variant-numeric:tabular-nums;min-width:9em}
#legend span{margin-right:8px}#legend i{display:inline-block;width:10px;height:10px;margin-right:3px}
</style></head><body><div id="app">
<div id="top"><h1 id="title"></h1><label>storey <select id="storey"></select></label><span id="legend"></span></div>
<div id="wrap"><canvas id="plan"></canvas></div>
<div id="side"><table id="events"><tbody></tbody></table></div>
<div id="bar"><button id="play">play</button>
<label>speed <select id="speed"><option>1</option><option>5</option><option selected>10</option><option>30</option><option>60</option><option>120</option></select>x</label>
<input id="scrub" type="range" min="0" step="0.1" value="0"><span id="clock"></span><span id="count"></span></div>
</div>
<script id="replay-data" type="application/json">__DATA__</script>
<script>
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("replay-data").textContent);
  function bytes(b64) { const s = atob(b64); const u = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); return u.buffer; }
  const nxy = new Float32Array(bytes(D.nodes.xy)), nst = new Uint16Array(bytes(D.nodes.s));
  // outdoor walks as walked, around the buildings: node pair -> polyline [x0, y0, ..., xn, yn]
  const via = new Map();
  (D.via || []).forEach(([a, b, c]) => {
    const fwd = [nxy[2 * a], nxy[2 * a + 1], ...c, nxy[2 * b], nxy[2 * b + 1]], rev = [];
    for (let i = fwd.length - 2; i >= 0; i -= 2) rev.push(fwd[i], fwd[i + 1]);
    via.set(a + ":" + b, fwd); via.set(b + ":" + a, rev);
  });
  function along(p, f) {  // the point a fraction f of the way along polyline p, into P
    let L = 0; for (let i = 2; i < p.length; i += 2) L += Math.hypot(p[i] - p[i - 2], p[i + 1] - p[i - 1]);
    let d = Math.min(Math.max(f, 0), 1) * L;
    for (let i = 2; i < p.length; i += 2) {
      const sl = Math.hypot(p[i] - p[i - 2], p[i + 1] - p[i - 1]);
      if (d <= sl || i === p.length - 2) { const r = sl > 0 ? Math.min(d / sl, 1) : 0; P.x = p[i - 2] + r * (p[i] - p[i - 2]); P.y = p[i - 1] + r * (p[i + 1] - p[i - 1]); return; }
      d -= sl;
    }
  }
  const off = new Uint32Array(bytes(D.paths.off)), dts = new Uint32Array(bytes(D.paths.dt));
  const pnode = D.paths.nodeBytes === 2 ? new Uint16Array(bytes(D.paths.node)) : new Uint32Array(bytes(D.paths.node));
  const role = new Uint8Array(bytes(D.role)), down = new Float32Array(bytes(D.down));
  const N = D.n, tEnd = D.tEnd;
  // absolute waypoint times (s): the deltas are 0.1 s steps per person
  const pt = new Float64Array(dts.length);
  for (let a = 0; a < N; a++) { let acc = 0; for (let k = off[a]; k < off[a + 1]; k++) { acc += dts[k]; pt[k] = acc / 10; } }
  const cur = new Uint32Array(N);
  // people sorted by role so the fill colour changes a few times per frame, not per person
  const byRole = Array.from({length: N}, (_, i) => i).sort((a, b) => role[a] - role[b]);
  const gasV = D.gas ? new Float32Array(bytes(D.gas.v)) : null;
  const canvas = document.getElementById("plan"), ctx = canvas.getContext("2d");
  const state = {t: 0, storey: 0, playing: false, speed: 10, drawn: 0, frames: 0};
  let view = null, bg = null, lastT = 0;

  document.getElementById("title").textContent = D.title;
  document.title = "Replay: " + D.title;
  const sel = document.getElementById("storey");
  D.storeys.forEach((s, i) => { const o = document.createElement("option"); o.value = String(i); o.textContent = s.name + " (" + s.elev.toFixed(1) + " m)"; sel.appendChild(o); });
  const leg = document.getElementById("legend");
  D.roles.forEach((r, i) => { const sp = document.createElement("span"); const b = document.createElement("i"); b.style.background = D.roleColours[i]; b.style.borderRadius = "50%"; sp.appendChild(b); sp.appendChild(document.createTextNode(r)); leg.appendChild(sp); });
  if (D.gas && D.gas.max > 0) {  // the zone tint: alpha grows with log10(1 + ppm) up to the run's peak
    const sp = document.createElement("span"); const b = document.createElement("i"); b.style.width = "60px";
    b.style.background = "linear-gradient(to right, rgba(200,0,160,0.08), rgba(200,0,160,0.68))"; sp.appendChild(b);
    sp.appendChild(document.createTextNode("gas in zones: 0 to " + D.gas.max.toPrecision(3) + " ppm (log scale)")); leg.appendChild(sp);
  }
  const scrub = document.getElementById("scrub"); scrub.max = String(tEnd);

  function fmt(t) { const s = Math.max(0, Math.round(t)); const m = Math.floor(s / 60); return m + ":" + String(s % 60).padStart(2, "0"); }
  function rel(t) { const d = t - D.t0; return (d < 0 ? "T-" : "T+") + fmt(Math.abs(d)); }

  // events: rows built once with textContent (names are data, never markup)
  const evBody = document.querySelector("#events tbody"), evRows = [], evT = new Float64Array(D.events.length);
  D.events.forEach((e, i) => {
    evT[i] = e[0];
    const tr = document.createElement("tr");
    [fmt(e[0]), e[1], e[2], e[3]].forEach(txt => { const td = document.createElement("td"); td.textContent = txt; tr.appendChild(td); });
    tr.addEventListener("click", () => setTime(e[0]));
    evBody.appendChild(tr); evRows.push(tr);
  });
  let evDone = 0, evNow = -1;
  function syncEvents(t) {
    let k = 0, hi = evT.length; while (k < hi) { const m = (k + hi) >> 1; if (evT[m] <= t) k = m + 1; else hi = m; }
    for (let i = Math.min(k, evDone); i < Math.max(k, evDone); i++) evRows[i].classList.toggle("past", i < k);
    evDone = k;
    if (evNow >= 0) evRows[evNow].classList.remove("now");
    evNow = k - 1;
    if (evNow >= 0) { evRows[evNow].classList.add("now"); if (state.playing || state.scrubbing) evRows[evNow].scrollIntoView({block: "nearest"}); }
  }

  function fit() {
    const r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(50, Math.round(r.width * dpr)); canvas.height = Math.max(50, Math.round(r.height * dpr));
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const sp of D.spaces) if (sp.s === state.storey) for (const ring of sp.rings) for (let i = 0; i < ring.length; i += 2) {
      x0 = Math.min(x0, ring[i]); x1 = Math.max(x1, ring[i]); y0 = Math.min(y0, ring[i + 1]); y1 = Math.max(y1, ring[i + 1]); }
    for (const m of D.musters) if (nst[m] === state.storey) { x0 = Math.min(x0, nxy[2 * m]); x1 = Math.max(x1, nxy[2 * m]); y0 = Math.min(y0, nxy[2 * m + 1]); y1 = Math.max(y1, nxy[2 * m + 1]); }
    if (!isFinite(x0)) { x0 = 0; y0 = 0; x1 = 10; y1 = 10; }
    const pad = 20 * dpr, sc = Math.min((canvas.width - 2 * pad) / Math.max(x1 - x0, 1), (canvas.height - 2 * pad) / Math.max(y1 - y0, 1));
    const ox = pad + ((canvas.width - 2 * pad) - sc * (x1 - x0)) / 2, oy = pad + ((canvas.height - 2 * pad) - sc * (y1 - y0)) / 2;
    view = {sc: sc, x: x => ox + (x - x0) * sc, y: y => canvas.height - oy - (y - y0) * sc, dpr: dpr};
    drawBackground();
  }
  function path(ring) { const p = new Path2D(); p.moveTo(view.x(ring[0]), view.y(ring[1])); for (let i = 2; i < ring.length; i += 2) p.lineTo(view.x(ring[i]), view.y(ring[i + 1])); p.closePath(); return p; }
  let zonePaths = [];
  function drawBackground() {
    bg = document.createElement("canvas"); bg.width = canvas.width; bg.height = canvas.height;
    const b = bg.getContext("2d");
    b.font = (10 * view.dpr) + "px sans-serif"; b.textAlign = "center"; b.textBaseline = "middle";
    for (const sp of D.spaces) { if (sp.s !== state.storey) continue;
      for (const ring of sp.rings) { const p = path(ring); b.fillStyle = sp.walk ? "#e9edf1" : "#f5f5f5"; b.fill(p); b.strokeStyle = "#555"; b.lineWidth = view.dpr; b.stroke(p); } }
    b.fillStyle = "#777";
    for (const sp of D.spaces) { if (sp.s !== state.storey || !sp.rings.length) continue;
      const r = sp.rings[0]; let cx = 0, cy = 0; for (let i = 0; i < r.length; i += 2) { cx += r[i]; cy += r[i + 1]; }
      cx /= r.length / 2; cy /= r.length / 2; b.fillText(sp.name.slice(0, 24), view.x(cx), view.y(cy)); }
    for (const [n, ex] of D.doors) { if (nst[n] !== state.storey) continue;
      b.fillStyle = ex ? "#c00" : "#999"; const s = (ex ? 4 : 2) * view.dpr; b.fillRect(view.x(nxy[2 * n]) - s, view.y(nxy[2 * n + 1]) - s, 2 * s, 2 * s); }
    b.fillStyle = "#1a7f37";
    for (const m of D.musters) { if (nst[m] !== state.storey) continue; b.beginPath(); b.arc(view.x(nxy[2 * m]), view.y(nxy[2 * m + 1]), 7 * view.dpr, 0, 7); b.fill(); }
    zonePaths = D.zones.map(z => z.s === state.storey ? z.rings.map(path) : null);
  }

  function gasAt(t) {
    if (!gasV) return null;
    const T = D.gas.t; let k = 0, hi = T.length; while (k < hi) { const m = (k + hi) >> 1; if (T[m] <= t) k = m + 1; else hi = m; }
    return k === 0 ? null : k - 1;
  }
  function place(a, t) {
    // move the cursor: forward while playing, binary search after a jump back
    const lo = off[a], hi = off[a + 1];
    if (hi === lo) return -1;
    let k = lo + cur[a];
    if (k >= hi || pt[k] > t) { let l = lo, h = hi; while (l < h) { const m = (l + h) >> 1; if (pt[m] <= t) l = m + 1; else h = m; } k = Math.max(lo, l - 1); }
    while (k + 1 < hi && pt[k + 1] <= t) k++;
    cur[a] = k - lo;
    return k;
  }
  const P = {x: 0, y: 0, s: 0};
  function position(a, t) {
    const k = place(a, t); if (k < 0) return false;
    const n0 = pnode[k];
    if (k + 1 >= off[a + 1] || pt[k] > t) { P.x = nxy[2 * n0]; P.y = nxy[2 * n0 + 1]; P.s = nst[n0]; return true; }
    const n1 = pnode[k + 1], f = (t - pt[k]) / Math.max(pt[k + 1] - pt[k], 1e-6);
    const pv = via.get(n0 + ":" + n1);
    if (pv) along(pv, f);
    else { P.x = nxy[2 * n0] + f * (nxy[2 * n1] - nxy[2 * n0]); P.y = nxy[2 * n0 + 1] + f * (nxy[2 * n1 + 1] - nxy[2 * n0 + 1]); }
    P.s = f < 0.5 ? nst[n0] : nst[n1];  // on a stair: the lower half on one storey, the upper on the other
    return true;
  }

  function draw() {
    if (!view) return;
    const t = state.t;
    ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.clearRect(0, 0, canvas.width, canvas.height); ctx.drawImage(bg, 0, 0);
    const gk = gasAt(t);
    if (gk !== null && D.gas.max > 0) {
      const nz = D.zones.length, lm = Math.log10(1 + D.gas.max);
      for (let j = 0; j < nz; j++) { const ps = zonePaths[j]; if (!ps) continue; const v = gasV[gk * nz + j]; if (!(v > 0)) continue;
        ctx.fillStyle = "rgba(200,0,160," + (0.08 + 0.6 * Math.log10(1 + v) / lm).toFixed(3) + ")"; for (const p of ps) ctx.fill(p); }
    }
    const dpr = view.dpr;
    for (const s of D.sensors) { if (s.s !== state.storey) continue; const on = s.on !== null && t >= s.on;
      const x = view.x(s.xy[0]), y = view.y(s.xy[1]), r = (on ? 7 : 4) * dpr;
      ctx.fillStyle = on ? "#ff2020" : "#6a3d9a"; ctx.beginPath(); ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath(); ctx.fill();
      ctx.fillStyle = "#333"; ctx.font = (9 * dpr) + "px sans-serif"; ctx.textAlign = "left"; ctx.fillText(s.name, x + r + 2, y); }
    for (const al of D.alarms) { if (al.s !== state.storey) continue; const on = al.on !== null && t >= al.on;
      const x = view.x(al.xy[0]), y = view.y(al.xy[1]);
      ctx.fillStyle = on ? (Math.floor(t * 2) % 2 ? "#ffcc00" : "#ff8800") : "#b8a24a"; ctx.beginPath(); ctx.arc(x, y, (on ? 6 : 3) * dpr, 0, 7); ctx.fill(); }
    const sz = Math.max(1.5 * dpr, Math.min(0.3 * view.sc, 4 * dpr));
    let drawn = 0, colour = -1;
    for (let i = 0; i < N; i++) {
      const a = byRole[i];
      if (!position(a, t) || P.s !== state.storey) continue;
      const c = t >= down[a] ? 255 : role[a];
      if (c !== colour) { colour = c; ctx.fillStyle = c === 255 ? "#000" : D.roleColours[c]; }
      const big = role[a] !== 0 && D.roles[role[a]] !== "occupant" ? 1.8 : 1;  // wardens and responders stand out
      // people waiting on one node would hide behind each other: each keeps a fixed offset of up to 0.35 m
      const jx = ((a * 7919) % 97 / 97 - 0.5) * 0.7, jy = ((a * 104729) % 89 / 89 - 0.5) * 0.7;
      ctx.beginPath(); ctx.arc(view.x(P.x + jx), view.y(P.y + jy), sz * big, 0, 6.2832); ctx.fill();
      drawn++;
    }
    // scale bar: a round length of about 120 px
    const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];
    const L = steps.find(v => v * view.sc >= 120 * dpr) || steps[steps.length - 1];
    const bx = 12 * dpr, by = canvas.height - 14 * dpr;
    ctx.strokeStyle = "#222"; ctx.lineWidth = 2 * dpr; ctx.beginPath(); ctx.moveTo(bx, by); ctx.lineTo(bx + L * view.sc, by);
    ctx.moveTo(bx, by - 4 * dpr); ctx.lineTo(bx, by + 4 * dpr); ctx.moveTo(bx + L * view.sc, by - 4 * dpr); ctx.lineTo(bx + L * view.sc, by + 4 * dpr); ctx.stroke();
    ctx.fillStyle = "#222"; ctx.font = (10 * dpr) + "px sans-serif"; ctx.textAlign = "left"; ctx.fillText(L + " m", bx + L * view.sc + 4 * dpr, by + 3 * dpr);
    state.drawn = drawn; state.frames++;
    document.getElementById("clock").textContent = fmt(t) + " (" + rel(t) + ")";
    document.getElementById("count").textContent = drawn + " people on this storey";
  }
  function setTime(t) { state.t = Math.max(0, Math.min(tEnd, +t)); scrub.value = String(state.t); syncEvents(state.t); draw(); }
  function setStorey(i) { state.storey = Math.max(0, Math.min(D.storeys.length - 1, +i)); sel.value = String(state.storey); fit(); draw(); }
  let prev = null;
  function tick(now) {
    if (!state.playing) { prev = null; return; }
    if (prev !== null) { state.t = Math.min(tEnd, state.t + (now - prev) / 1000 * state.speed); if (state.t >= tEnd) pause(); }
    prev = now; scrub.value = String(state.t); syncEvents(state.t); draw();
    requestAnimationFrame(tick);
  }
  const btn = document.getElementById("play");
  function play() { if (state.playing) return; if (state.t >= tEnd) state.t = 0; state.playing = true; btn.textContent = "pause"; requestAnimationFrame(tick); }
  function pause() { state.playing = false; btn.textContent = "play"; }
  btn.addEventListener("click", () => state.playing ? pause() : play());
  document.getElementById("speed").addEventListener("change", e => { state.speed = +e.target.value; });
  scrub.addEventListener("input", () => { state.scrubbing = true; setTime(scrub.value); state.scrubbing = false; });
  sel.addEventListener("change", () => setStorey(sel.value));
  window.addEventListener("resize", () => { fit(); draw(); });
  // start on the storey with most people at the start
  const cnt = new Array(D.storeys.length).fill(0);
  for (let a = 0; a < N; a++) if (position(a, 0)) cnt[P.s]++;
  state.storey = cnt.indexOf(Math.max(...cnt)); sel.value = String(state.storey);
  fit(); setTime(0);
  // the hook tests and trainers' scripts use
  window.replay = {get drawn() { return state.drawn; }, get t() { return state.t; }, get storey() { return state.storey; },
    get frames() { return state.frames; }, get playing() { return state.playing; }, tEnd: tEnd, people: N,
    storeys: D.storeys.map(s => s.name), setTime: setTime, setStorey: setStorey, play: play, pause: pause,
    positionOf: function (a) { return position(a, state.t) ? {x: P.x, y: P.y, storey: P.s} : null; }};
  document.body.dataset.ready = "1";
})();
</script></body></html>
"""


def write_replay(run_dir: Path, gif: Path | None = None, mp4: Path | None = None) -> Path:
    """Write ``run_dir/replay.html`` and, when asked, a GIF and/or an MP4 of the run for slides; return
    the HTML's path. An MP4 needs ``ffmpeg`` on the PATH: without it an :class:`InputError` (exit 1) says
    so before anything is written."""
    if mp4 is not None and shutil.which("ffmpeg") is None:
        from twin.errors import InputError

        raise InputError("an MP4 replay needs ffmpeg on the PATH (e.g. `apt-get install ffmpeg`); "
                         "ask for a GIF instead", where="--mp4")
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    data = replay_data(run)
    page = PAGE.replace("__TITLE__", html.escape("Replay: " + data["title"])).replace("__DATA__", safe_json(data))
    out = run_dir / "replay.html"
    out.write_text(page, encoding="utf-8")
    from drills.outputs.results import add_manifest_files

    add_manifest_files(run_dir)  # manifest.json lists every file, this page included
    if gif is not None:
        _animate(run, data, Path(gif), "gif")
    if mp4 is not None:
        _animate(run, data, Path(mp4), "mp4")
    return out


def _positions(data: dict[str, Any], frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Everyone's position and storey at each frame time (the same interpolation as the page)."""
    nxy = np.frombuffer(base64.b64decode(data["nodes"]["xy"]), np.float32).reshape(-1, 2)
    nst = np.frombuffer(base64.b64decode(data["nodes"]["s"]), np.uint16)
    off = np.frombuffer(base64.b64decode(data["paths"]["off"]), np.uint32)
    dt = np.frombuffer(base64.b64decode(data["paths"]["dt"]), np.uint32)
    ntype = np.uint16 if data["paths"]["nodeBytes"] == 2 else np.uint32
    pn = np.frombuffer(base64.b64decode(data["paths"]["node"]), ntype).astype(np.int64)
    vias: dict[tuple[int, int], np.ndarray] = {}
    for u, v, c in data.get("via", []):
        line = np.vstack([nxy[u], np.asarray(c, dtype=float).reshape(-1, 2), nxy[v]])
        vias[(u, v)], vias[(v, u)] = line, line[::-1]
    n, f = data["n"], len(frames)
    x = np.full((f, n), np.nan)
    y = np.full((f, n), np.nan)
    s = np.full((f, n), -1, dtype=np.int64)
    for a in range(n):
        lo, hi = int(off[a]), int(off[a + 1])
        if hi == lo:
            continue
        ta = np.cumsum(dt[lo:hi].astype(np.float64)) / 10
        nodes = pn[lo:hi]
        k = np.clip(np.searchsorted(ta, frames, side="right") - 1, 0, hi - lo - 1)
        k1 = np.minimum(k + 1, hi - lo - 1)
        span = np.maximum(ta[k1] - ta[k], 1e-6)
        fr = np.clip((frames - ta[k]) / span, 0, 1)
        fr[k1 == k] = 0
        x[:, a] = nxy[nodes[k], 0] + fr * (nxy[nodes[k1], 0] - nxy[nodes[k], 0])
        y[:, a] = nxy[nodes[k], 1] + fr * (nxy[nodes[k1], 1] - nxy[nodes[k], 1])
        for j in np.flatnonzero(k1 != k):  # outdoor walks around the buildings, as on the page
            line = vias.get((int(nodes[k[j]]), int(nodes[k1[j]])))
            if line is not None:
                x[j, a], y[j, a] = _along(line, float(fr[j]))
        s[:, a] = np.where(fr < 0.5, nst[nodes[k]], nst[nodes[k1]])
    return x, y, s


def _along(line: np.ndarray, f: float) -> tuple[float, float]:
    """The point a fraction ``f`` of the way along the polyline ``line`` ((n, 2), m)."""
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    cum = np.r_[0.0, np.cumsum(seg)]
    d = min(max(f, 0.0), 1.0) * cum[-1]
    return float(np.interp(d, cum, line[:, 0])), float(np.interp(d, cum, line[:, 1]))


def _gas_frames(data: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Zone gas levels (ppm) as a (times, zones) matrix and its times, or (None, None) without gas."""
    g = data.get("gas")
    if not g or not data.get("zones"):
        return None, None
    v = np.frombuffer(base64.b64decode(g["v"]), np.float32).reshape(len(g["t"]), len(data["zones"]))
    return v, np.asarray(g["t"], dtype=float)


def _scale_bar(ax) -> None:
    """A bar of a round length (1, 2, 5 x 10^k m) about a fifth of the panel wide, bottom left."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    want = (x1 - x0) / 5
    length = min((m * 10 ** e for e in range(-1, 5) for m in (1, 2, 5) if m * 10 ** e >= want), default=want)
    bx, by = x0 + 0.03 * (x1 - x0), y0 + 0.03 * (y1 - y0)
    ax.plot([bx, bx + length], [by, by], color="0.15", lw=2, solid_capstyle="butt")
    ax.text(bx + length / 2, by + 0.015 * (y1 - y0), f"{length:g} m", ha="center", va="bottom", fontsize=7)


def _animate(run: RunData, data: dict[str, Any], out: Path, fmt: str, frames: int = 60, fps: int = 8) -> Path:
    """A matplotlib animation of the run (one panel per storey, up to four), as GIF or MP4."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter
    from matplotlib.collections import PolyCollection

    # only the part of the run where people move: minutes of standing still make dull slides
    t_st = np.asarray(run.people.get("t_start", []), dtype=float)
    t_st = t_st[np.isfinite(t_st)]
    t_a = max(0.0, float(t_st.min()) - 20) if len(t_st) else 0.0
    t_b = float(np.max(run.traj["t"])) + 10 if len(run.traj["t"]) else data["tEnd"]
    ft = np.linspace(t_a, max(t_b, t_a + 1), frames)
    x, y, s = _positions(data, ft)
    # the same fixed per-person offset as the page, so people waiting on one node do not hide each other
    a = np.arange(x.shape[1])
    x = x + ((a * 7919) % 97 / 97 - 0.5) * 0.7
    y = y + ((a * 104729) % 89 / 89 - 0.5) * 0.7
    used = [i for i in range(len(data["storeys"])) if (s == i).any()][:4] or [0]
    gas_v, gas_t = _gas_frames(data)
    role = np.frombuffer(base64.b64decode(data["role"]), np.uint8)
    colours = np.array(data["roleColours"])[role] if len(role) else np.array([])
    fig, axes = plt.subplots(1, len(used), figsize=(5 * len(used), 4.6), squeeze=False)
    scat, gas_polys = [], []
    cmap = plt.get_cmap("RdPu")
    gmax = float(data["gas"]["max"]) if gas_v is not None else 0.0
    for ax, si in zip(axes[0], used, strict=True):
        verts = [np.asarray(r).reshape(-1, 2) for sp in data["spaces"] if sp["s"] == si for r in sp["rings"]]
        ax.add_collection(PolyCollection(verts, facecolors="#e9edf1", edgecolors="0.4", linewidths=0.5))
        if gas_v is not None and gmax > 0:
            zs = [(j, np.asarray(r).reshape(-1, 2)) for j, z in enumerate(data["zones"]) if z["s"] == si
                  for r in z["rings"]]
            pc = PolyCollection([v for _, v in zs], facecolors="none", edgecolors="none")
            ax.add_collection(pc)
            gas_polys.append((pc, np.array([j for j, _ in zs], dtype=int)))
        ax.autoscale_view()
        ax.set_aspect("equal")
        _scale_bar(ax)
        # a plain text, not a title: titles are re-positioned from a tight bbox on every draw
        st = data["storeys"][si]
        ax.text(0.5, 1.0, f"{st['name']} ({st['elev']:+.1f} m)", transform=ax.transAxes, ha="center",
                va="bottom", fontsize=9)
        # no ticks: laying out tick labels on every frame cost most of the encoding time
        ax.set_axis_off()
        scat.append(ax.scatter([], [], s=9, linewidths=0))
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="none", color=c, label=r)
               for r, c in zip(data["roles"], data["roleColours"], strict=True)]
    if gas_polys:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import LogNorm

        norm = LogNorm(vmin=max(gmax * 1e-3, 1e-3), vmax=gmax)
        cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes[0]), fraction=0.025, pad=0.01)
        cb.set_label("gas in zones (ppm, log scale)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    fig.legend(handles=handles, loc="lower center", ncol=max(len(handles), 1), fontsize=8, frameon=False)
    # the clock lives inside the first panel: blitting only restores what lies within the axes
    title = axes[0, 0].text(0.0, 0.0, "", transform=axes[0, 0].transAxes, ha="left", va="bottom", fontsize=8,
                            bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})

    def frame(j: int):
        if gas_polys:
            k = max(int(np.searchsorted(gas_t, ft[j], side="right")) - 1, 0)
            for pc, idx in gas_polys:
                v = gas_v[k, idx]
                rgba = cmap(norm(np.clip(v, norm.vmin, None)))
                rgba[:, 3] = np.where(v > norm.vmin, 0.7, 0.0)
                pc.set_facecolor(rgba)
        for sc_, si in zip(scat, used, strict=True):
            m = s[j] == si
            sc_.set_offsets(np.c_[x[j, m], y[j, m]] if m.any() else np.zeros((0, 2)))
            sc_.set_color(colours[m] if m.any() else [])
        t = ft[j]
        title.set_text(f"{data['title']}   t = {int(t // 60)}:{int(t % 60):02d}  (T{'+' if t >= run.t0 else '-'}"
                       f"{int(abs(t - run.t0) // 60)}:{int(abs(t - run.t0) % 60):02d})")
        return [*(pc for pc, _ in gas_polys), *scat, title]

    # blitting redraws only the people and the clock after the first frame
    anim = FuncAnimation(fig, frame, frames=frames, blit=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = PillowWriter(fps=fps) if fmt == "gif" else FFMpegWriter(fps=fps)
    anim.save(str(out), writer=writer, dpi=72)
    plt.close(fig)
    return out
