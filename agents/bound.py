"""Physical-limit lower bound on evacuation time (quickest flow, EVACNET4 style).

No behaviour, route choice or alert can make the last person leave before this time: it assumes everyone
walks at the largest free speed along the shortest route and every door and stair discharges at its full
capacity from the moment the first person could reach it. The gap between a simulated (or drilled) time and
this bound is the part that pre-movement, routing and clogging cost (see the reference, section 4).

The bound is valid for the movement model of :mod:`agents.crowd`: a gate (a door passed from one space to
another, an exit, the foot of a stair) serves one person per ``1 / capacity`` s, walking takes at least
length / free speed, a stair at least length / (free speed x the calibration's stair speed ratio), and the
first leg from a start point to a node of its space is never shorter than the straight line.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, dijkstra, maximum_flow

from twin.graph import SiteGraph

from .flow import Calibration

__all__ = ["BoundResult", "flow_lower_bound", "MIN_SPEED"]

MIN_SPEED = 0.05
"""m/s: the crowd never moves slower than this (``agents.crowd``), so no bound may assume less."""
SCALE = 1_000_000
"""Most flow units per person in the time-expanded network (capacities are rounded up to whole units;
fewer units for large crowds so that all flows fit scipy's 32-bit integers)."""
GROUP_CELL = 5.0
"""m: people of one space are grouped on a grid of this size (and by start second) into flow sources."""
MAX_GROUPS = 4000
SPEED_LEVELS = 16
MAX_CUT_SEARCHES = 400
"""Cuts whose earliest arrivals need a shortest-path search (the rest use a cheaper valid estimate)."""
SEARCH_TOL = 0.02
"""s: the time-expanded bound is searched to this resolution (always rounded down)."""

_EPS_W = 1e-12  # keeps zero-time arcs explicit in scipy's sparse graphs
_EPS_T = 1e-9  # s: float noise allowance, always rounded towards a smaller (valid) bound
_BIG = 1 << 40


@dataclass
class BoundResult:
    """A lower bound on the evacuation time and what sets it."""

    t: float
    """s, lower bound on the time the last person passes an exit, from time 0 (the alarm)."""
    method: str
    """``time-expanded max flow`` or ``cut bound``."""
    free_walk: float
    """s, bound 1 alone: the largest earliest start + free walk (with one passage per gate) to an exit."""
    cut: float
    """s, the best cut bound alone."""
    critical: str
    """What controls ``t``: e.g. ``exits D3, D4``, ``stair S1`` or ``walk``."""
    expanded: float = math.nan
    """s, the time-expanded max-flow bound alone (nan when the network was too large)."""
    nodes: int = 0
    """Nodes of the largest time-expanded network solved."""


# ----------------------------------------------------------------------------------- static network
class _Net:
    """The navigation graph as a flow network.

    Space nodes (cell centres, stair ends, one node per side of a door) carry walk arcs of their space.
    A door between spaces is a gate ``in -> out`` joined to all its sides, so crossing costs one passage
    while walking past a door node inside one space does not (as in the crowd model); an exit is a gate
    from its side to the sink; a stair is a gate from either end to ``out``, then the flight to either end.
    """

    def __init__(self, graph: SiteGraph, cal: Calibration, closed: set[str], stair_speed: float | None):
        nav = graph.nav
        self.space_ids = sorted(graph.space_zones)
        sidx = {s: i for i, s in enumerate(self.space_ids)}
        key: dict[tuple[str, str], int] = {}
        space, xy = [], []

        def node(k: tuple[str, str] | None, sp: int, p) -> int:
            i = len(space)
            if k is not None:
                key[k] = i
            space.append(sp)
            xy.append(p)
            return i

        for n in graph.nodes:
            a = nav.nodes[n]
            if a["kind"] in ("cell", "stair_end") and a["space"] in sidx:
                node((n, a["space"]), sidx[a["space"]], a["xy"])
            elif a["kind"] == "door" and a["door"] not in closed:
                for s in a["spaces"]:
                    if s in sidx:
                        node((n, s), sidx[s], a["xy"])
        au, aw, alen, aratio, agate = [], [], [], [], []

        def arc(u: int, w: int, length: float = 0.0, ratio: float = 0.0, gate: int = -1) -> None:
            au.append(u)
            aw.append(w)
            alen.append(length)
            aratio.append(ratio)
            agate.append(gate)

        for u, w, e in nav.edges(data=True):
            if e["kind"] != "walk":
                continue
            ku, kw = (u, e["space"]), (w, e["space"])
            if ku in key and kw in key:
                arc(key[ku], key[kw], float(e["length"]), 1.0)
                arc(key[kw], key[ku], float(e["length"]), 1.0)
        self.sink = -1  # set below
        gates: list[dict] = []
        pending_sink: list[tuple[int, int]] = []
        for n in graph.nodes:
            a = nav.nodes[n]
            if a["kind"] != "door" or a["door"] in closed:
                continue
            sides = [(key[(n, s)], sidx[s]) for s in a["spaces"] if (n, s) in key]
            if not sides:
                continue
            cap = float(cal.door_capacity(float(a["width"])))
            if a.get("exit") and len(sides) == 1:
                g = len(gates)
                gates.append(dict(label=a["door"], kind="exit", cap=cap, entry=sides, out=[]))
                pending_sink.append((sides[0][0], g))
            elif len({s for _, s in sides}) >= 2:
                g = len(gates)
                gin = node(None, -1, a["xy"])
                gout = node(None, -1, a["xy"])
                for x, _ in sides:
                    arc(x, gin)
                    arc(gout, x)
                arc(gin, gout, gate=g)
                gates.append(dict(label=a["door"], kind="door", cap=cap, entry=sides,
                                  out=[(x, s, 0.0, 0.0) for x, s in sides]))
        for u, w, e in nav.edges(data=True):
            if e["kind"] != "stair":
                continue
            st = graph.site.stairs[e["stair"]]
            ends = []
            for n in (u, w):
                s = nav.nodes[n]["space"]
                if (n, s) in key:
                    ends.append((key[(n, s)], sidx[s]))
            if len(ends) != 2:
                continue
            cap = float(cal.stair_capacity(st.width, st.riser, st.tread))
            ratio = float(cal.stair_speed_ratio(st.riser, st.tread)) if stair_speed is None else -1.0
            g = len(gates)
            gin = node(None, -1, nav.nodes[u]["xy"])
            gout = node(None, -1, nav.nodes[u]["xy"])
            length = float(e["length"])
            for x, _ in ends:
                arc(x, gin)
                arc(gout, x, length, ratio)
            arc(gin, gout, gate=g)
            gates.append(dict(label=e["stair"], kind="stair", cap=cap, entry=ends,
                              out=[(x, s, length, ratio) for x, s in ends]))
        self.sink = node(None, -1, (0.0, 0.0))
        for x, g in pending_sink:
            arc(x, self.sink, gate=g)
        self.n = len(space)
        self.space = np.asarray(space, dtype=np.int64)
        self.xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        self.u = np.asarray(au, dtype=np.int64)
        self.w = np.asarray(aw, dtype=np.int64)
        self.len = np.asarray(alen, dtype=float)
        self.ratio = np.asarray(aratio, dtype=float)
        self.gate = np.asarray(agate, dtype=np.int64)
        self.gates = gates
        self.gcap = np.asarray([g["cap"] for g in gates], dtype=float)
        self.stair_speed = stair_speed
        self.space_nodes = [np.flatnonzero(self.space == k) for k in range(len(self.space_ids))]

    def behind_gates(self) -> list[tuple[int, list[np.ndarray]]]:
        """:func:`_behind_gates` of this network, computed once (it depends on the network only)."""
        got = self.__dict__.get("_behind")
        if got is None:
            got = self.__dict__["_behind"] = _behind_gates(self, len(self.space_ids))
        return got

    def times(self, v: float) -> np.ndarray:
        """Least time (s) on each arc at free speed ``v``; a gate arc takes one passage (1 / capacity)."""
        t = np.zeros(len(self.u))
        walk = self.ratio > 0
        t[walk] = self.len[walk] / np.maximum(v * self.ratio[walk], MIN_SPEED)
        fixed = self.ratio < 0  # stairs at a given along-slope speed
        if fixed.any():
            t[fixed] = self.len[fixed] / max(float(self.stair_speed), MIN_SPEED)
        g = self.gate >= 0
        t[g] = 1.0 / self.gcap[self.gate[g]]
        return t

    def stair_time(self, ratio: float, length: float, v: float) -> float:
        if ratio < 0:
            return length / max(float(self.stair_speed), MIN_SPEED)
        if ratio == 0:
            return 0.0
        return length / max(v * ratio, MIN_SPEED)

    def to_sink(self, t: np.ndarray) -> np.ndarray:
        """Least time from every node to the sink over arcs of times ``t``."""
        return _dist_to(self.n, self.u, self.w, t, self.sink)

    def from_init(self, t: np.ndarray, init: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Earliest time at every node when node ``x`` can be reached at ``init[x]`` (inf: not)."""
        ok = np.ones(len(t), bool) if mask is None else mask
        return _dist_from(self.n, self.u[ok], self.w[ok], t[ok], init)


_NETS: dict[int, tuple[weakref.ref, dict]] = {}
"""Flow networks per site graph (by identity, while the graph lives), keyed by what else they depend on:
replications of one scenario share the graph, so they build its network once (a network is never
changed once built)."""


def _net_for(graph: SiteGraph, cal: Calibration, closed: set[str], stair_speed: float | None) -> _Net:
    """The flow network of ``graph`` for a calibration, locked doors and stair speed, built once."""
    # the calibration object itself (held by the key, so its identity cannot be reused while cached)
    key = (cal, frozenset(closed), stair_speed)
    entry = _NETS.get(id(graph))
    if entry is None or entry[0]() is not graph:
        for gid in [k for k, (ref, _) in _NETS.items() if ref() is None]:
            del _NETS[gid]  # graphs gone: their ids may be reused
        entry = _NETS[id(graph)] = (weakref.ref(graph), {})
    per_graph = entry[1]
    net = per_graph.get(key)
    if net is None:
        if len(per_graph) >= 16:  # many closure sets (a placement search): keep the latest only
            per_graph.clear()
        net = per_graph[key] = _Net(graph, cal, closed, stair_speed)
    return net


def _csr(rows: np.ndarray, cols: np.ndarray, w: np.ndarray, n: int) -> csr_matrix:
    """Sparse graph keeping the smallest weight of parallel arcs (scipy would add them)."""
    order = np.lexsort((w, cols, rows))
    r, c, w = rows[order], cols[order], w[order]
    keep = np.ones(len(r), bool)
    keep[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    r = r[keep]
    # already sorted by row and column without duplicates: the compressed arrays directly (the same
    # matrix the coordinate form gives, without its conversion)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    return csr_matrix((w[keep] + _EPS_W, c[keep], indptr), shape=(n, n))


# ------------------------------------------------------------------------------------------ people
@dataclass
class _People:
    space: np.ndarray  # space index per (reachable) person
    xy: np.ndarray
    t0: np.ndarray  # earliest start
    v: np.ndarray  # free speed (>= MIN_SPEED)


def _arrivals(net: _Net, pp: _People, idx: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """(len(idx), len(nodes)) earliest arrival of each person at each node of their space (straight line)."""
    d = np.hypot(pp.xy[idx, 0, None] - net.xy[nodes][None, :, 0], pp.xy[idx, 1, None] - net.xy[nodes][None, :, 1])
    return pp.t0[idx, None] + d / pp.v[idx, None]


def _chunks(idx: np.ndarray, width: int):
    step = max(1, 4_000_000 // max(width, 1))
    for k in range(0, len(idx), step):
        yield idx[k:k + step]


# -------------------------------------------------------------------------------------------- cuts
def _water_fill(n: float, start: np.ndarray, rate: np.ndarray) -> float:
    """Least T with sum(rate * max(0, T - start)) >= n."""
    order = np.argsort(start)
    s, r = start[order], rate[order]
    acc_r = 0.0
    acc_rs = 0.0
    for j in range(len(s)):
        acc_r += r[j]
        acc_rs += r[j] * s[j]
        t = (n + acc_rs) / acc_r
        if j + 1 == len(s) or t <= s[j + 1]:
            return float(t)
    return math.inf


def _label(gates: list[dict], ids: Iterable[int], limit: int = 8) -> str:
    by: dict[str, list[str]] = {"exit": [], "door": [], "stair": []}
    for g in ids:
        by[gates[g]["kind"]].append(str(gates[g]["label"]))
    parts = []
    for kind, plural in (("exit", "exits"), ("door", "doors"), ("stair", "stairs")):
        names = sorted(set(by[kind]))
        if not names:
            continue
        more = f" (+{len(names) - limit})" if len(names) > limit else ""
        parts.append(f"{plural if len(names) > 1 else kind} {', '.join(names[:limit])}{more}")
    return "; ".join(parts) if parts else "walk"


class _Cuts:
    """Closed-form cut bounds: for a set U of spaces, its people must pass its boundary gates K."""

    def __init__(self, net: _Net, pp: _People, first: np.ndarray, tt: np.ndarray, dsink: np.ndarray,
                 v_net: float, max_searches: int = MAX_CUT_SEARCHES):
        self.net, self.first, self.tt, self.dsink, self.v_net = net, first, tt, dsink, v_net
        self.max_searches = max_searches
        self.count = np.bincount(pp.space, minlength=len(net.space_ids))
        self.best = (-math.inf, "walk", np.zeros(0, dtype=np.int64), math.inf)  # (T, label, gates, a*)
        self.searches = 0
        self.e_all: np.ndarray | None = None

    def evaluate(self, inside: np.ndarray, search: bool) -> None:
        """Cut bound for the spaces ``inside`` (bool per space). ``search``: earliest arrivals by a
        shortest-path search inside U (tighter); otherwise straight lines (single spaces) or the
        search from everyone (valid, as extra people only arrive earlier)."""
        net = self.net
        n_u = int(self.count[inside].sum())
        if n_u == 0:
            return
        ks, a, r = [], [], []
        e = None
        if search and self.searches < self.max_searches:
            self.searches += 1
            node_in = np.zeros(net.n, bool)
            sp_nodes = net.space >= 0
            node_in[sp_nodes] = inside[net.space[sp_nodes]]
            inner = self._inner_gate_nodes(inside)
            node_in[inner] = True
            mask = node_in[net.u] & node_in[net.w]
            init = np.where(node_in, self.first, np.inf)
            e = net.from_init(self.tt, init, mask)
        elif search:
            if self.e_all is None:
                self.e_all = net.from_init(self.tt, self.first)
            e = self.e_all
        for gi, g in enumerate(net.gates):
            entry_in = [x for x, s in g["entry"] if inside[s]]
            if not entry_in:
                continue
            if g["kind"] == "exit":
                rem = 0.0
            else:
                outs = [(x, ln, ra) for x, s, ln, ra in g["out"] if not inside[s]]
                if not outs:
                    continue
                rem = min(net.stair_time(ra, ln, self.v_net) + self.dsink[x] for x, ln, ra in outs)
            arr = min((e[x] if e is not None else self.first[x]) for x in entry_in)
            if not (np.isfinite(arr) and np.isfinite(rem)):
                continue
            ks.append(gi)
            a.append(arr)
            r.append(rem)
        if not ks:
            return
        a_ = np.asarray(a)
        start = a_ + np.asarray(r)
        rate = net.gcap[np.asarray(ks)]
        t = _water_fill(n_u, start, rate)
        if t > self.best[0]:
            active = start < t
            kk = np.asarray(ks)[active]
            self.best = (t, _label(net.gates, kk), kk, float(a_[active].min()))

    def _inner_gate_nodes(self, inside: np.ndarray) -> np.ndarray:
        cache = self.__dict__.setdefault("_gate_nodes", None)
        if cache is None:
            gn = []
            net = self.net
            gmask = net.gate >= 0
            for gi in range(len(net.gates)):
                sel = gmask & (net.gate == gi) & (net.w != net.sink)
                arcs = np.flatnonzero(sel)
                gn.append((gi, [int(net.u[k]) for k in arcs] + [int(net.w[k]) for k in arcs]))
            cache = self.__dict__["_gate_nodes"] = gn
        out = []
        for gi, nodes in cache:
            g = self.net.gates[gi]
            if nodes and all(inside[s] for _, s in g["entry"]):
                out.extend(nodes)
        return np.asarray(out, dtype=np.int64)


def _candidate_cuts(net: _Net, graph: SiteGraph, pp: _People, dsp: np.ndarray):
    """Yields (inside mask over spaces, search flag): every single space; all spaces (the exit cut);
    what lies behind each articulation gate; storey bands; sets of spaces at least as far from an exit."""
    ns = len(net.space_ids)
    occupied = np.bincount(pp.space, minlength=ns) > 0
    for s in np.flatnonzero(occupied):
        m = np.zeros(ns, bool)
        m[s] = True
        yield m, False
    yield np.ones(ns, bool), True
    # what lies behind each articulation gate of the space-gate graph, seen from the outside
    for _, masks in net.behind_gates():
        union = np.zeros(ns, bool)
        for m in masks:
            if (m & occupied).any():
                yield m, True
                union |= m
        if len(masks) > 1 and (union & occupied).any():
            yield union, True
    # storey bands: everything above / below an elevation
    elev = np.asarray([graph.site.spaces[s].elevation for s in net.space_ids])
    levels = np.unique(np.round(elev, 2))
    for e in levels[1:]:
        yield elev >= e - 0.005, True
    for e in levels[:-1]:
        yield elev <= e + 0.005, True
    if len(levels) > 1:
        for e in levels:
            yield np.abs(elev - e) <= 0.005, True
    # level sets of the distance to an exit
    finite = np.isfinite(dsp)
    thr = np.unique(dsp[finite & occupied])
    if len(thr) > 64:
        thr = np.unique(np.quantile(thr, np.linspace(0, 1, 64), method="lower"))
    for t in thr[1:]:
        yield finite & (dsp >= t), True


def _behind_gates(net: _Net, ns: int) -> list[tuple[int, list[np.ndarray]]]:
    """For each gate whose removal cuts spaces off the outside: (gate, the masks of the cut-off parts).

    One depth-first search from the outside over the graph of spaces, gates and the outside (Tarjan's
    low-links): a child c of gate g with low(c) >= disc(g) roots a part that only g joins to the rest,
    and that part is the DFS subtree of c, i.e. the nodes discovered between c's discovery and finish.
    """
    n = 1 + ns + len(net.gates)
    adj: list[list[int]] = [[] for _ in range(n)]
    for gi, g in enumerate(net.gates):
        v = 1 + ns + gi
        for _, sp in g["entry"]:
            adj[v].append(1 + sp)
            adj[1 + sp].append(v)
        if g["kind"] == "exit":
            adj[v].append(0)
            adj[0].append(v)
    disc = [-1] * n
    low = [0] * n
    fin = [0] * n
    parent = [-1] * n
    disc[0] = 0
    clock = 1
    stack = [(0, iter(adj[0]))]
    found: dict[int, list[int]] = {}
    while stack:
        v, it = stack[-1]
        for w in it:
            if disc[w] < 0:
                parent[w] = v
                disc[w] = low[w] = clock
                clock += 1
                stack.append((w, iter(adj[w])))
                break
            if w != parent[v]:
                low[v] = min(low[v], disc[w])
        else:
            stack.pop()
            fin[v] = clock - 1
            if stack:
                p = stack[-1][0]
                low[p] = min(low[p], low[v])
                if p > ns and low[v] >= disc[p]:
                    found.setdefault(p - 1 - ns, []).append(v)
    sd = np.asarray(disc[1:1 + ns])
    out = []
    for gi, children in found.items():
        out.append((gi, [(sd >= disc[c]) & (sd <= fin[c]) for c in children]))
    return out


# -------------------------------------------------------------------------------- time expansion
class _TooBig(Exception):
    pass


class _Expanded:
    """Time-expanded network with Δt = 1 s on a grid shifted by ``phi`` s, for a horizon H (s).

    Only gates and their entries are kept: an entry is a space node in front of a gate (a door side, a
    stair end, the inside of an exit). Walking between entries of one space, or from a gate's far side to
    the entries it leads to, is one arc whose least time d (shortest path, no gate crossed) spans
    floor(d) layers; each group of people reaches each entry of its space at the floor of its members'
    earliest straight-line-then-walk arrival. Layer k stands for the period [base + k + phi,
    base + k + 1 + phi). A gate arc spans no layer; in a period it carries its capacity times the share
    of the period after the earliest arrival of anyone at the gate and at least ``rem`` (the least time
    from that gate to the end of an exit passage) before H. A node keeps the layers between the earliest
    arrival of anyone there and H less its least remaining time. Any run of the crowd model that ends by
    H maps onto a feasible flow (each person's unit split over the periods its passages overlap, times
    rounded down to layers), so an infeasible network proves that the run ends after H.
    """

    def __init__(self, net: _Net, pp: _People, v_net: float, phi: float, e_all: np.ndarray, dsink: np.ndarray,
                 max_nodes: int):
        self.net = net
        self.max_nodes = max_nodes
        self.phi = phi
        self.arrive = np.asarray([min(e_all[x] for x, _ in g["entry"]) for g in net.gates])
        self.rem = _remaining(net, dsink, v_net)
        tt = net.times(v_net)
        # compact nodes: entries, gate in/out nodes, the sink
        entries = sorted({x for g in net.gates for x, _ in g["entry"]})
        gate_arc = np.flatnonzero(net.gate >= 0)
        inner = [int(net.u[k]) for k in gate_arc if net.w[k] != net.sink] + \
                [int(net.w[k]) for k in gate_arc if net.w[k] != net.sink]
        keep = entries + sorted(set(inner)) + [net.sink]
        cid = np.full(net.n, -1, dtype=np.int64)
        cid[keep] = np.arange(len(keep))
        self.n = len(keep)
        self.sink = int(cid[net.sink])
        us, ws, taus, gates = [], [], [], []
        for k in gate_arc:  # gate arcs (in -> out, exit side -> sink)
            us.append(cid[net.u[k]])
            ws.append(cid[net.w[k]])
            taus.append(0)
            gates.append(int(net.gate[k]))
        gin_of = {int(net.gate[k]): int(net.u[k]) for k in gate_arc}
        for gi, g in enumerate(net.gates):  # entry -> gate in
            if g["kind"] == "exit":
                continue
            gin = gin_of[gi]
            for x, _ in g["entry"]:
                us.append(cid[x])
                ws.append(cid[gin])
                taus.append(0)
                gates.append(-1)
        # walking: per space, shortest paths with no gate crossed
        is_gate_node = np.zeros(net.n, bool)
        is_gate_node[inner] = True
        free = (net.gate < 0) & (net.w != net.sink) & ~is_gate_node[net.w]
        is_entry = np.zeros(net.n, bool)
        is_entry[entries] = True
        g_key, g_size = self._keys(pp, phi)
        g_of, g_w, g_k = [], [], []
        for s in range(len(net.space_ids)):
            snodes = net.space_nodes[s]
            ent = snodes[is_entry[snodes]]
            if len(ent) == 0:
                continue
            into = free & (net.space[net.w] == s) & (net.space[net.u] < 0)
            outs = np.unique(net.u[into])
            sub = np.concatenate([snodes, outs])
            loc = np.full(net.n, -1, dtype=np.int64)
            loc[sub] = np.arange(len(sub))
            sel = free & (loc[net.u] >= 0) & (loc[net.w] >= 0)
            m = _csr(loc[net.u[sel]], loc[net.w[sel]], tt[sel], len(sub))
            d = dijkstra(m, directed=True)
            src = np.concatenate([ent, outs])
            dd = d[np.ix_(loc[src], loc[ent])]
            a_src, a_dst = np.nonzero(np.isfinite(dd))
            ok = src[a_src] != ent[a_dst]
            us.append(cid[src[a_src[ok]]])
            ws.append(cid[ent[a_dst[ok]]])
            taus.append(np.maximum(np.floor(dd[a_src[ok], a_dst[ok]] - _EPS_T), 0).astype(np.int64))
            gates.append(np.full(int(ok.sum()), -1))
            # groups of this space: earliest arrival at each entry
            idx = np.flatnonzero(pp.space == s)
            if len(idx) == 0:
                continue
            gids, local = np.unique(g_key[idx], return_inverse=True)
            local = local.ravel()
            best = np.full((len(gids), len(snodes)), np.inf)
            pos = 0
            for ch in _chunks(idx, len(snodes)):
                np.minimum.at(best, local[pos:pos + len(ch)], _arrivals(net, pp, ch, snodes))
                pos += len(ch)
            walk = d[np.ix_(loc[snodes], loc[ent])]
            for j, e in enumerate(ent):
                arr = (best + walk[:, j][None, :]).min(axis=1)
                fin = np.isfinite(arr)
                g_of.append(gids[fin])
                g_w.append(np.full(int(fin.sum()), cid[e]))
                g_k.append(np.floor(arr[fin] - phi - _EPS_T).astype(np.int64))
        self.u = np.concatenate([np.atleast_1d(np.asarray(a, dtype=np.int64)) for a in us])
        self.w = np.concatenate([np.atleast_1d(np.asarray(a, dtype=np.int64)) for a in ws])
        self.tau = np.concatenate([np.atleast_1d(np.asarray(a, dtype=np.int64)) for a in taus])
        self.gate = np.concatenate([np.atleast_1d(np.asarray(a, dtype=np.int64)) for a in gates])
        self.n_people = len(pp.t0)
        self.scale = int(max(1, min(SCALE, (1 << 30) // (self.n_people + 1))))
        self.inf = self.scale * self.n_people + 1
        isg = self.gate >= 0
        self.cap = np.full(len(self.u), self.inf, dtype=np.int64)
        self.cap[isg] = np.ceil(net.gcap[self.gate[isg]] * self.scale).astype(np.int64)
        g_of = np.concatenate(g_of)
        g_w = np.concatenate(g_w)
        g_k = np.concatenate(g_k)
        self.base = int(g_k.min())
        self.g_of, self.g_w, self.g_k = g_of, g_w, g_k - self.base
        self.g_size = g_size
        init = np.full(self.n, np.inf)
        np.minimum.at(init, self.g_w, self.g_k.astype(float))
        tf = self.tau.astype(float)
        # earliest layer from the earliest arrival of anyone; a person's share of a passage sits at the
        # gate's out node from the period the passage starts in, so out nodes go back one passage
        e_in = e_all.copy()
        for k in gate_arc:
            if net.w[k] != net.sink:
                e_in[net.w[k]] = e_all[net.u[k]]
        early = np.floor(e_in[keep] - phi - 1e-9) - self.base
        self.lo = np.maximum(self._int_dist(_dist_from(self.n, self.u, self.w, tf, init)),
                             np.where(np.isfinite(early), early, _BIG).astype(np.int64))
        self.to_sink = self._int_dist(_dist_to(self.n, self.u, self.w, tf, self.sink))
        # least time from a node to the end of an exit passage, without the passage of the gate a person
        # may be queueing for there (its fractions sit at the entry until their period)
        first_gate = np.zeros(net.n)
        for k in gate_arc:
            first_gate[net.u[k]] = 1.0 / net.gcap[net.gate[k]]
        for gi, g in enumerate(net.gates):
            for x, _ in g["entry"]:
                first_gate[x] = 1.0 / net.gcap[gi]
        self.node_rem = np.maximum(dsink[keep] - first_gate[keep], 0.0)
        self.node_rem[self.sink] = 0.0
        self.last_cut: np.ndarray | None = None
        self.cut_at = -math.inf
        self.cut_rate = 0.0
        self.deficit = 0.0
        self.largest = 0

    @staticmethod
    def _int_dist(d: np.ndarray) -> np.ndarray:
        out = np.full(len(d), _BIG, dtype=np.int64)
        ok = np.isfinite(d)
        out[ok] = np.floor(d[ok] + 1e-6).astype(np.int64)
        return out

    @staticmethod
    def _keys(pp: _People, phi: float) -> tuple[np.ndarray, np.ndarray]:
        """Group id of each person (space, grid cell, start bin) and group sizes, at most MAX_GROUPS."""
        bin_t, cell = 1.0, GROUP_CELL
        while True:
            keys = np.stack([pp.space, np.floor(pp.xy[:, 0] / cell), np.floor(pp.xy[:, 1] / cell),
                             np.floor((pp.t0 - phi) / bin_t)], axis=1)
            uniq, inv = np.unique(keys, axis=0, return_inverse=True)
            if len(uniq) <= MAX_GROUPS:
                break
            bin_t *= 2
            cell *= 2
        inv = inv.ravel()
        return inv, np.bincount(inv, minlength=len(uniq))

    def _windows(self, H: float) -> tuple[np.ndarray, np.ndarray]:
        """Last layer of each node for horizon H, and layers per node. Someone at node x in period
        [P, P + 1) is there at P or later and needs ``node_rem[x]`` more to finish an exit passage."""
        T = int(math.floor(H - self.phi + 1e-9)) - self.base
        late = np.floor(H - self.node_rem - self.phi + 1e-9) - self.base
        hi = np.minimum(T - self.to_sink, np.where(np.isfinite(late), late, -_BIG)).astype(np.int64)
        cnt = np.maximum(hi - self.lo + 1, 0)
        cnt[self.sink] = 0
        return hi, cnt

    def size(self, H: float) -> int:
        return int(self._windows(H)[1].sum()) + len(self.g_size) + 2

    def feasible(self, H: float) -> bool:
        """Can everyone pass an exit by ``H`` (s)? Gate k serves in a period only the share of it after
        the earliest arrival ``arrive[k]`` of anyone at it and at least ``rem[k]`` s (its least remaining
        time to an exit) before ``H``."""
        if H < self.base + self.phi:
            return False
        nn = self.size(H)
        if nn > self.max_nodes:
            raise _TooBig
        self.largest = max(self.largest, nn)
        lo = self.lo
        hi, cnt = self._windows(H)
        off = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        n_lay = int(cnt.sum())
        src, sink = n_lay, n_lay + 1
        g0 = n_lay + 2
        rows, cols, caps = [], [], []
        x = np.flatnonzero(cnt >= 2)  # holdover
        _, r = _ranges(off[x], cnt[x] - 1)
        rows.append(r)
        cols.append(r + 1)
        caps.append(np.full(len(r), self.inf, dtype=np.int64))
        u, w, tau = self.u, self.w, self.tau
        to_sink = w == self.sink
        w_ = np.where(to_sink, u, w)
        # an arc from layer k lands at k + tau, or at the head's first layer if that is later (nobody is
        # there earlier); it is dropped when it lands after the head's last layer
        k0 = lo[u]
        k1 = np.where(to_sink, hi[u], np.minimum(hi[u], hi[w_] - tau))
        m = np.where((cnt[u] > 0) & (to_sink | (cnt[w_] > 0)), np.maximum(k1 - k0 + 1, 0), 0)
        arc, k = _ranges(k0, m)
        a_u, a_w = u[arc], w[arc]
        r = off[a_u] + (k - lo[a_u])
        land = np.maximum(k + tau[arc], lo[np.where(to_sink[arc], a_u, a_w)])
        c = np.where(to_sink[arc], sink, off[a_w] + (land - lo[a_w]))
        cap = self.cap[arc].copy()
        isg = self.gate[arc] >= 0
        gi = self.gate[arc[isg]]
        p0 = self.base + k[isg] + self.phi  # period start (s)
        share = np.clip(np.minimum(H - self.rem[gi], p0 + 1.0) - np.maximum(self.arrive[gi], p0), 0.0, 1.0)
        cap[isg] = np.ceil(self.net.gcap[gi] * share * self.scale).astype(np.int64)
        rows.append(r)
        cols.append(c)
        caps.append(cap)
        rows.append(np.full(len(self.g_size), src))  # sources
        cols.append(g0 + np.arange(len(self.g_size)))
        caps.append(self.g_size.astype(np.int64) * self.scale)
        land = np.maximum(self.g_k, lo[self.g_w])
        ok = (land <= hi[self.g_w]) & (cnt[self.g_w] > 0)
        rows.append(g0 + self.g_of[ok])
        cols.append(off[self.g_w[ok]] + land[ok] - lo[self.g_w[ok]])
        caps.append(np.full(int(ok.sum()), self.inf, dtype=np.int64))
        n_all = g0 + len(self.g_size)
        mat = csr_matrix((np.concatenate(caps), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n_all, n_all))
        mat.sum_duplicates()
        mat = csr_matrix((np.minimum(mat.data, self.inf).astype(np.int32), mat.indices, mat.indptr),
                         shape=mat.shape)
        res = maximum_flow(mat, src, sink)
        done = int(res.flow_value) >= self.scale * self.n_people
        if not done:
            self.deficit = (self.scale * self.n_people - int(res.flow_value)) / self.scale
        if not done and H >= self.cut_at:  # gates on the min cut of the latest infeasible horizon
            self.cut_at = H
            resid = (mat.astype(np.int64) - res.flow.astype(np.int64)).tocsr()
            resid.data = (resid.data > 0).astype(np.int8)
            resid.eliminate_zeros()
            reach = np.zeros(n_all, bool)
            reach[breadth_first_order(resid, src, directed=True, return_predecessors=False)] = True
            gsel = np.flatnonzero(isg)
            cross = reach[r[gsel]] & ~reach[c[gsel]]
            self.last_cut = np.bincount(self.gate[arc[gsel[cross]]], minlength=len(self.net.gates))
            self.cut_rate = float(self.net.gcap[self.last_cut > 0].sum())
        return done


def _remaining(net: _Net, dsink: np.ndarray, v: float) -> np.ndarray:
    """Least time (s) from the end of a passage through each gate to the end of an exit passage."""
    rem = np.zeros(len(net.gates))
    for k, g in enumerate(net.gates):
        if g["kind"] != "exit":
            rem[k] = min((net.stair_time(ra, ln, v) + dsink[x] for x, _, ln, ra in g["out"]), default=np.inf)
    return rem


def _dist_from(n: int, u: np.ndarray, w: np.ndarray, t: np.ndarray, init: np.ndarray) -> np.ndarray:
    """Earliest time at every node when node ``x`` can be reached at ``init[x]`` (inf: not)."""
    start = np.flatnonzero(np.isfinite(init))
    if len(start) == 0:
        return np.full(n, np.inf)
    base = float(init[start].min()) - 1.0
    rows = np.concatenate([u, np.full(len(start), n)])
    cols = np.concatenate([w, start])
    wts = np.concatenate([t, init[start] - base])
    d = dijkstra(_csr(rows, cols, wts, n + 1), directed=True, indices=n)
    return d[:n] + base


def _dist_to(n: int, u: np.ndarray, w: np.ndarray, t: np.ndarray, target: int) -> np.ndarray:
    """Least time from every node to ``target``."""
    return dijkstra(_csr(w, u, t, n), directed=True, indices=target)


def _ranges(start: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with ``count`` consecutive values from ``start``: (item index, value) per value."""
    count = np.maximum(count, 0)
    total = int(count.sum())
    item = np.repeat(np.arange(len(count)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    return item, np.repeat(start, count) + (np.arange(total) - first)


# --------------------------------------------------------------------------------------------- API
def flow_lower_bound(graph: SiteGraph, xy: np.ndarray, spaces: Sequence[str], t_start: np.ndarray,
                     calibration: Calibration, v_max: float | np.ndarray, *, closed: Iterable[str] = (),
                     max_nodes: int = 200_000, stair_speed: float | None = None,
                     max_cut_searches: int = MAX_CUT_SEARCHES) -> BoundResult:
    """Lower bound (s) on the time the last person passes an exit: the physical limit of the site.

    Method (reference ``evacuation.md`` section 4; EVACNET4, Kisko & Francis; the quickest transshipment
    of Ford & Fulkerson; capacities from the SFPE hydraulic model, section 3, or the measured calibration):

    1. **Free walk**: for each person the earliest start ``t_start`` plus the least time to an exit at
       their free speed (straight line to a node of their space, then the navigation graph, stairs at
       ``v x calibration.stair_speed_ratio``, one passage ``1 / capacity`` per gate crossed); the max.
    2. **Cut bounds**: for a set U of spaces, its N_U people must pass the gates K on its boundary. Gate k
       can start serving at the earliest arrival a_k of anyone from U and serves c_k persons/s, then
       r_k s remain to an exit, so T >= the least T with sum_k c_k max(0, T - a_k - r_k) >= N_U
       (``t_pre + N_K / C_K + tau`` when all a_k + r_k are equal). U runs over every occupied space,
       all spaces (the exit cut), what lies behind each articulation door or stair, storey bands and the
       sets of spaces farther than a distance from an exit.
    3. **Time-expanded max flow** (EVACNET style, when the expanded network has at most ``max_nodes``
       nodes): layers of Δt = 1 s over the gates and the entries in front of them; walking between them
       is one arc of the shortest walk time rounded *down* to whole periods; gate k carries c_k persons
       per period (integer capacities in millionths of a person, rounded *up*), limited to the part of
       each period after the earliest arrival of anyone at k and at least the least remaining time r_k
       before the horizon H; people are grouped by space, 5 m cell and start second into sources, each
       group reaching each entry of its space at the earliest straight-line-then-walk arrival of its
       members. ``scipy.sparse.csgraph.maximum_flow`` (Dinic) decides whether everyone can be out by
       H; the largest infeasible H is found by bisection to :data:`SEARCH_TOL`. Every run of the crowd
       model that ends by H maps onto a feasible flow, so an infeasible H is a valid bound.

    The result is the largest of the valid bounds; ``critical`` names the gates on the controlling cut
    (the min cut of the last infeasible network, or the best closed-form cut) or ``walk``. People who
    cannot reach an exit are left out (the crowd model traps them). Typical cost: well under a second
    for a hall or a few rooms; a 5-storey office with 540 people builds a 1e5-node network and takes
    about 15 s (use ``max_nodes`` to trade it for the cut bound, about 2 s).

    Parameters
    ----------
    graph: the site's graphs.
    xy: (n, 2) start points (m).
    spaces: the space id of each person.
    t_start: (n,) or scalar, each person's earliest start (s from the alarm: alarm time + pre-movement).
    calibration: door and stair capacities (persons/s) and the stair speed ratio.
    v_max: free speed (m/s), one for all or one per person; never below :data:`MIN_SPEED`.
    closed: door ids locked for the run.
    max_nodes: largest time-expanded network to solve; larger sites get the cut bound.
    stair_speed: m/s along the slope, when people have explicit stair speeds (default: ``v_max`` x the
        calibration's stair speed ratio, as the crowd model uses).
    max_cut_searches: cuts whose earliest arrivals get a shortest-path search (the others use the
        cheaper, looser, still valid estimate); fewer trade tightness for time.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    t0 = np.broadcast_to(np.asarray(t_start, dtype=float), (n,)).copy()
    v = np.maximum(np.broadcast_to(np.asarray(v_max, dtype=float), (n,)), MIN_SPEED).copy()
    if len(spaces) != n:
        raise ValueError(f"spaces: expected {n} ids, got {len(spaces)}")
    net = _net_for(graph, calibration, {str(d) for d in closed}, stair_speed)
    sidx = {s: i for i, s in enumerate(net.space_ids)}
    try:
        sp = np.asarray([sidx[s] for s in spaces], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"unknown or non-walkable space {exc.args[0]!r}") from None
    if n == 0:
        return BoundResult(0.0, "cut bound", 0.0, 0.0, "nobody")
    v_net = float(v.max())
    tt = net.times(v_net)
    dsink = net.to_sink(tt)
    dsp = np.asarray([dsink[nodes].min() if len(nodes) else np.inf for nodes in net.space_nodes])
    keep = np.isfinite(dsp[sp])
    if not keep.any():
        return BoundResult(0.0, "cut bound", 0.0, 0.0, "nobody can reach an exit")
    pp = _People(sp[keep], xy[keep], t0[keep], v[keep])
    v_net = float(pp.v.max())
    tt = net.times(v_net)
    dsink = net.to_sink(tt)
    dsp = np.asarray([dsink[nodes].min() if len(nodes) else np.inf for nodes in net.space_nodes])

    # bound 1, per speed level (each person uses the smallest level at least their speed)
    uv = np.unique(pp.v)
    levels = uv if len(uv) <= SPEED_LEVELS else np.unique(
        np.quantile(uv, np.linspace(0, 1, SPEED_LEVELS), method="higher"))
    lvl = np.searchsorted(levels, pp.v, side="left")
    dl = np.stack([net.to_sink(net.times(float(lv))) for lv in levels])
    walk = np.full(len(pp.t0), np.inf)
    first = np.full(net.n, np.inf)  # earliest first-leg arrival at each space node
    for s in np.unique(pp.space):
        nodes = net.space_nodes[s]
        idx = np.flatnonzero(pp.space == s)
        for ch in _chunks(idx, len(nodes)):
            arr = _arrivals(net, pp, ch, nodes)
            first[nodes] = np.minimum(first[nodes], arr.min(axis=0))
            walk[ch] = (arr + dl[lvl[ch]][:, nodes]).min(axis=1)
    free_walk = _down(float(walk.max()))

    # bound 2, cuts
    cuts = _Cuts(net, pp, first, tt, dsink, v_net, max_cut_searches)
    for inside, search in _candidate_cuts(net, graph, pp, dsp):
        cuts.evaluate(inside, search)
    cut_t, cut_label, cut_gates, a_star = cuts.best
    cut_t = _down(float(cut_t)) if np.isfinite(cut_t) else 0.0

    # bound 3, time expansion
    expanded, te_label, largest = math.nan, "walk", 0
    phi = float((a_star - 1e-6) % 1.0) if np.isfinite(a_star) else float((first.min() - 1e-6) % 1.0)
    n_gate_nodes = sum(len(g["entry"]) + (0 if g["kind"] == "exit" else 2) for g in net.gates)
    te = None
    if n_gate_nodes < max_nodes:
        te = _Expanded(net, pp, v_net, phi, net.from_init(tt, first), dsink, max_nodes)
        # a sure upper end for the search: everyone leaves after the last start, one after the other
        upper = float(pp.t0.max()) + len(pp.t0) * (float((walk - pp.t0).max()) + 1.0) + 10.0
        expanded = _search(te, max(free_walk, cut_t), upper)
        largest = te.largest
        if te.last_cut is not None and te.last_cut.any():
            top = te.last_cut.max()
            te_label = _label(net.gates, np.flatnonzero(te.last_cut >= 0.25 * top))
    method = "cut bound" if math.isnan(expanded) else "time-expanded max flow"
    cands = [(free_walk, "walk"), (cut_t, cut_label)]
    if not math.isnan(expanded):
        cands.append((expanded, te_label))
    t, critical = max(cands, key=lambda c: c[0])
    return BoundResult(float(t), method, free_walk, cut_t, critical, expanded, largest)


def _down(t: float) -> float:
    """Round a closed-form bound down past float noise (sums of many lengths / speeds)."""
    return t - 1e-9 * (1.0 + abs(t))


def _search(te: _Expanded, guess: float, upper: float, tol: float = SEARCH_TOL) -> float:
    """Largest horizon proven infeasible (the run ends later), to ``tol`` s; nan if none was solved."""
    lo = hi = None
    try:
        step = 0.5
        if te.feasible(guess):
            hi = guess
            while lo is None:
                t = hi - step
                if te.feasible(t):
                    hi, step = t, step * 2
                else:
                    lo = t
        else:
            lo = guess
            step, prev = 0.0, None
            while hi is None:
                # secant (or Newton through the gates of the min cut) on the number of people missing;
                # doubling when that stalls
                rate = te.cut_rate
                if prev is not None and te.deficit < prev[1]:
                    rate = (prev[1] - te.deficit) / (lo - prev[0])
                guess_step = te.deficit / rate * 1.05 + tol / 2 if rate > 0 else 0.5
                stalled = prev is not None and te.deficit >= prev[1]
                step = max(guess_step, 2 * step if stalled else 0.0, tol)
                prev = (lo, te.deficit)
                t = lo + step
                if te.feasible(t):
                    hi = t
                elif t > upper:  # cannot happen: a sequential evacuation fits
                    warnings.warn("time-expanded network infeasible past its upper end; using the cut bound",
                                  RuntimeWarning, stacklevel=3)
                    return math.nan
                else:
                    lo = t
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            if te.feasible(mid):
                hi = mid
            else:
                lo = mid
        return lo
    except _TooBig:
        return math.nan if lo is None else lo
