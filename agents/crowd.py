"""Event-driven crowd movement on the navigation graph (the hydraulic model, one person at a time).

Nobody ticks. Each person has one pending event in a heap: the end of pre-movement, the arrival at the next
node, or the end of a passage through a door or onto a stair. Passing a door or stair is a flow gate: a
person arriving at ``t`` is served at ``max(t, free)`` and leaves ``1 / capacity`` seconds later, so a
queue discharges at exactly the SFPE (or measured) capacity, as in the hand calculation. Walking speed on
an edge is the person's free speed scaled by the speed-density law of the space being crossed, taken when
the person sets off. The cost is O(nodes on the path) per person.

State lives in numpy arrays indexed by person; the Mesa agents of ``agents.people`` are thin views.

Routes are chosen by descent on a cost-to-go field: a Dijkstra from the exits (or from a target node)
whose edge weights are ``max(length, v_ref * backlog / capacity)`` for the gate at the edge's end, where
the backlog counts people queued at or walking to that gate. A person picks the next node with the live
backlog, so a crowd leaving at once spreads over the doors, and the field is refreshed every
``replan_interval`` seconds while queues exist and at once when a door is locked or a node turns
hazardous. People walking towards a newly locked door or hazardous node turn back from where they are.

**Clock.** The crowd is one SimPy process. It runs its own events ahead while they come before the next
event anything else has scheduled in the SimPy environment (``env.peek()``), so a pure evacuation costs
no SimPy events at all, while a door locked by an inject at ``t`` sees every movement before ``t``
already done. Callers that change the crowd (``alarm``, ``block``, ``set_hazard``, ``send``) do so from
SimPy processes at ``env.now``.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import simpy
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin.graph import SiteGraph

from .flow import BOUNDARY_LAYER_STAIR, Calibration

__all__ = ["Crowd", "STATES", "ROLES", "Person"]

# states
UNAWARE, PREMOVE, MOVING, QUEUED, SAFE, TRAPPED, INCAPACITATED, IDLE = range(8)
STATES = ("unaware", "premovement", "moving", "queued", "safe", "trapped", "incapacitated", "idle")
ROLES = ("occupant", "warden", "operator", "responder", "supervisor")
# event kinds
_START, _ARRIVE, _GATE, _REPLAN, _GATEQ = range(5)
# targets
_T_EXIT, _T_NODE, _T_STAY = range(3)
# edge kinds
_WALK, _STAIR, _OUTDOOR = range(3)

V_REF = 1.2  # m/s: converts queue waits into metres of walking in the cost field
_INF = math.inf
_NAN = math.nan


@dataclass
class Person:
    """Where one person starts and how they move (all SI)."""

    space: str
    xy: tuple[float, float]
    speed: float
    premovement: float
    role: str = "occupant"
    exit: str | None = None  # a door id: static exit assignment (RiMEA 10)
    stair_up: float | None = None  # m/s along the slope; None: from speed and the stair's k
    stair_down: float | None = None
    protected: bool = False  # breathing apparatus: ignores hazardous nodes
    zone: tuple[str, ...] = ()  # wardens: the spaces they sweep


class Crowd:
    """All people of one run and their movement. Build, :meth:`add` people, then :meth:`start`."""

    def __init__(self, env: simpy.Environment, graph: SiteGraph, calibration: Calibration, *,
                 closed: Sequence[str] = (), replan_interval: float = 30.0, log_trajectories: bool = True,
                 refresh_min: int = 5, refresh_share: float = 0.2):
        self.env = env
        self.g = graph
        self.cal = calibration
        self.replan_interval = float(replan_interval)
        self.refresh_min = refresh_min
        self.refresh_share = refresh_share
        self.log_trajectories = log_trajectories
        self.now = 0.0
        self.moves = 0  # bumps whenever someone's place or plan changes (lets observers cache)
        # every person whose node, next node or space may have changed, in order; observers keep their
        # own read offset and recompute only those people (exposure does, every gas step)
        self.journal: list[int] = []
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self._wake: simpy.Event | None = None
        self._proc: simpy.Process | None = None
        self.events: list[tuple[float, str, int, str, str]] = []  # t, kind, person, node, detail
        self.traj: list[tuple[int, float, int]] = []  # person, t, node index
        self.on_exit: list[Callable[[int, float], None]] = []
        self.on_muster: list[Callable[[int, float], None]] = []
        # called as (person, t) when someone first sets off after pre-movement (others may see them go)
        self.on_start: list[Callable[[int, float], None]] = []
        self._build_arrays(closed)
        self._init_people()
        self._pending_edge: dict[int, tuple | None] = {}  # the edge a person takes once through a gate
        self._free_density = calibration.free_density
        self._d_capacity = calibration.capacity_density
        self._factor = calibration.factor
        self._fields: dict[tuple, np.ndarray] = {}
        self._field_lists: dict[tuple, list[float]] = {}  # the same fields as lists, for per-person scans
        self._hops: dict[tuple, dict[int, tuple | None]] = {}
        self._epoch = 0
        self._replan_pending = False

    # ------------------------------------------------------------------------------------ the graph
    def _build_arrays(self, closed: Sequence[str]) -> None:
        g = self.g
        nav = g.nav
        self.node_ids = g.nodes
        idx = g.index
        n = len(self.node_ids)
        self.n_nodes = n
        # spaces: real spaces first, then one pseudo-space per stair (its density slows the stair)
        self.space_ids = sorted(g.space_zones)
        self.space_index = {s: i for i, s in enumerate(self.space_ids)}
        areas = [self.cal.effective_area(g.site.spaces[s].footprint) for s in self.space_ids]
        self.stair_ids = sorted({a["stair"] for _, _, a in nav.edges(data=True) if a["kind"] == "stair"})
        self.stair_index = {s: len(areas) + i for i, s in enumerate(self.stair_ids)}
        for s in self.stair_ids:
            st = g.site.stairs[s]
            areas.append(max(st.length * max(st.width - 2 * BOUNDARY_LAYER_STAIR, 0.3), 1.0))
        self.area = [float(a) for a in areas]
        self._stair_ratio = [1.0] * len(self.space_ids) + [
            self.cal.stair_speed_ratio(g.site.stairs[s].riser, g.site.stairs[s].tread) for s in self.stair_ids]
        self.count = [0] * len(areas)  # people in each space (and on each stair)
        self.space_hazard = np.zeros(len(areas), dtype=bool)  # spaces whose air is hazardous
        self._sh = [False] * len(areas)
        self._space_hazard_any = False
        # gates: a door node or a stair; capacity in persons per second
        cap = []
        self.gate_of_node = np.full(n, -1, dtype=np.int64)
        space_cap = {s: self.cal.space_capacity(g.site.spaces[s].footprint) for s in self.space_ids}
        for i, nid in enumerate(self.node_ids):
            a = nav.nodes[nid]
            if a["kind"] == "door":
                self.gate_of_node[i] = len(cap)
                c = self.cal.door_capacity(float(a["width"]))
                for sid in a.get("spaces", ()):
                    c = min(c, space_cap.get(sid, math.inf))
                cap.append(c)
        self.gate_of_stair = {}
        for s in self.stair_ids:
            st = g.site.stairs[s]
            self.gate_of_stair[s] = len(cap)
            cap.append(self.cal.stair_capacity(st.width, st.riser, st.tread))
        self.gate_cap = np.asarray(cap, dtype=float)
        self._cap_l = [float(c) for c in cap]
        self.gate_free = [0.0] * len(cap)
        self.gate_backlog = [0] * len(cap)  # people queued at or walking to each gate
        self._snap = np.zeros(len(cap))
        self._snap_l = [0.0] * len(cap)
        self.gate_passed = [0] * len(cap)
        self._gate_q: list[deque[tuple[float, int, int]]] = [deque() for _ in cap]  # (end, person, version)
        self._gate_walkers: list[list[tuple[float, int, int]]] = [[] for _ in cap]  # (arrival, person, version)
        # adjacency as python lists (small per node, fast to scan) plus arrays for the Dijkstra
        self.adj: list[list[tuple[int, float, int, int, int]]] = [[] for _ in range(n)]  # (v, len, space, kind, gate)
        us, vs, ls, gs, sps = [], [], [], [], []
        self.muster_of_exit = np.full(n, -1, dtype=np.int64)
        self.muster_len = np.zeros(n)
        for a, b, attr in nav.edges(data=True):
            ia, ib = idx[a], idx[b]
            kind = attr["kind"]
            length = float(attr["length"])
            if kind == "outdoor":
                ex, mu = (ia, ib) if nav.nodes[a]["kind"] == "door" else (ib, ia)
                if self.muster_of_exit[ex] < 0 or length < self.muster_len[ex]:
                    self.muster_of_exit[ex] = mu
                    self.muster_len[ex] = length
                continue
            if kind == "stair":
                sp = self.stair_index[attr["stair"]]
                gate = self.gate_of_stair[attr["stair"]]
                k = _STAIR
            else:
                sp = self.space_index[attr["space"]]
                k = _WALK
                gate = -1
            for u, v in ((ia, ib), (ib, ia)):
                gv = gate if k == _STAIR else int(self.gate_of_node[v])
                self.adj[u].append((v, length, sp, k, gate))
                sps.append(sp)
                us.append(u)
                vs.append(v)
                ls.append(length)
                gs.append(gv)
        self._eu = np.asarray(us, dtype=np.int64)
        self._esp = np.asarray(sps, dtype=np.int64)
        self._ev = np.asarray(vs, dtype=np.int64)
        self._elen = np.asarray(ls, dtype=float)
        self._egate = np.asarray(gs, dtype=np.int64)
        # the field's static parts: edges into gates with their capacities, and the reversed edges in
        # compressed-row order (row = head, column = tail), so a refresh fills in weights only
        self._e_has_gate = np.flatnonzero(self._egate >= 0)
        self._e_gate = self._egate[self._e_has_gate]
        self._e_gate_cap = self.gate_cap[self._e_gate]
        order = np.lexsort((self._eu, self._ev))
        rows, cols = self._ev[order], self._eu[order]
        dup = bool(((rows[1:] == rows[:-1]) & (cols[1:] == cols[:-1])).any()) if len(rows) > 1 else False
        self._rev = None if dup else (order, rows, cols)  # parallel edges: the general path below
        self.stair_up_node = {}
        for a, b, attr in nav.edges(data=True):
            if attr["kind"] == "stair":
                self.stair_up_node[(idx[a], idx[b])] = idx[attr["up"]] == idx[b]
                self.stair_up_node[(idx[b], idx[a])] = idx[attr["up"]] == idx[a]
        # Cell centres are useful waypoints only in big spaces joined cell to cell; in a space whose nodes
        # are joined all-to-all a direct edge is never longer, and a detour via a centre would only dodge
        # the live queue penalty of the door it leads to.
        from twin.graph import COMPLETE_LIMIT

        per_space: dict[str, int] = {}
        for nid in self.node_ids:
            a = nav.nodes[nid]
            for sid in ((a["space"],) if a["kind"] in ("cell", "stair_end") else a.get("spaces", ())):
                per_space[sid] = per_space.get(sid, 0) + 1
        self.waypoint_ok = np.ones(n, dtype=bool)
        for i, nid in enumerate(self.node_ids):
            a = nav.nodes[nid]
            if a["kind"] == "cell" and per_space.get(a["space"], 0) <= COMPLETE_LIMIT:
                self.waypoint_ok[i] = False
        self.is_exit = np.zeros(n, dtype=bool)
        for e in g.exits:
            self.is_exit[idx[e]] = True
        self.blocked = np.zeros(n, dtype=bool)
        self.hazard = np.zeros(n, dtype=bool)
        door_node = {nav.nodes[nid]["door"]: i for i, nid in enumerate(self.node_ids)
                     if nav.nodes[nid]["kind"] == "door"}
        self.door_node = door_node
        for d in closed:
            if d in door_node:
                self.blocked[door_node[d]] = True
        # list mirrors of the node arrays for the per-event hot path (numpy stays for the Dijkstra)
        self._gon = self.gate_of_node.tolist()
        self._via = self.waypoint_ok.tolist()
        self._isexit = self.is_exit.tolist()
        self._blk = self.blocked.tolist()
        self._hz = self.hazard.tolist()
        self.muster_of_exit_l = self.muster_of_exit.tolist()
        self.muster_len_l = self.muster_len.tolist()

    # ----------------------------------------------------------------------------------- the people
    # Per-person state lives in plain Python lists while the clock runs: one movement event reads and
    # writes a dozen of them, and list items are several times cheaper to touch than numpy scalars.
    # Read-only numpy copies are offered by properties of the same name without the underscore.
    _FIELDS = (
        ("state", UNAWARE, np.int8),
        ("role", 0, np.int8),
        ("node", -1, np.int64),
        ("nxt", -1, np.int64),
        ("space", -1, np.int64),
        ("v0", 0.0, float),
        ("premove", 0.0, float),
        ("t_dep", 0.0, float),
        ("t_arr", 0.0, float),
        ("version", 0, np.int64),
        ("target", _T_EXIT, np.int8),
        ("target_node", -1, np.int64),
        ("gate", -1, np.int64),
        ("t_aware", _NAN, float),
        ("t_start", _NAN, float),
        ("t_exit", _NAN, float),
        ("t_muster", _NAN, float),
        ("exit_node", -1, np.int64),
        ("assigned_exit", -1, np.int64),
        ("protected", False, bool),
        ("up_speed", _NAN, float),
        ("down_speed", _NAN, float),
        ("must_leave", False, bool),
        ("start_space", -1, np.int64),
    )

    def _init_people(self) -> None:
        self.n = 0
        for name, _, _ in self._FIELDS:
            setattr(self, "_" + name, [])
        self._start_xy: list[tuple[float, float]] = []
        self._xy0: list[tuple[float, float]] = []
        self._legs: dict[int, list[float]] = {}  # first-leg distances, computed in bulk when people are added
        self.waypoints: dict[int, list[int]] = {}
        self.on_arrival: dict[int, Callable[[int, float], None]] = {}
        self.sheltered: set[int] = set()
        self.collapsed_in: dict[int, str] = {}  # person -> space id where they collapsed
        self.sweep_spaces: dict[int, list[int]] = {}

    def add(self, people: Sequence[Person]) -> np.ndarray:
        """Add people; returns their indices. Occupants and wardens must leave on the alarm; operators,
        responders and supervisors stay at their post (``idle``) until sent somewhere."""
        m = len(people)
        ids = np.arange(self.n, self.n + m)
        for name, fill, _ in self._FIELDS:
            getattr(self, "_" + name).extend([fill] * m)
        self.journal.extend(ids.tolist())
        for i, p in zip(ids.tolist(), people, strict=True):
            self._role[i] = ROLES.index(p.role)
            sp = self.space_index[p.space]
            self._space[i] = sp
            self._start_space[i] = sp
            self._v0[i] = float(p.speed)
            self._premove[i] = float(p.premovement)
            self._start_xy.append((float(p.xy[0]), float(p.xy[1])))
            self._xy0.append((float(p.xy[0]), float(p.xy[1])))
            self._protected[i] = bool(p.protected)
            self._up_speed[i] = _NAN if p.stair_up is None else float(p.stair_up)
            self._down_speed[i] = _NAN if p.stair_down is None else float(p.stair_down)
            leave = p.role in ("occupant", "warden")
            self._must_leave[i] = leave
            self._state[i] = UNAWARE if leave else IDLE
            if p.exit is not None:
                self._assigned_exit[i] = self.door_node[p.exit]
                self._target[i] = _T_NODE
                self._target_node[i] = self.door_node[p.exit]
            if p.role == "warden":
                self.sweep_spaces[i] = [self.space_index[s] for s in p.zone if s in self.space_index]
            self.count[sp] += 1
        self.n += m
        self._precompute_legs(ids)
        return ids

    @property
    def initial_xy(self) -> np.ndarray:
        """(n, 2) where each person was placed (m), never changed."""
        return np.asarray(self._xy0, dtype=float).reshape(-1, 2)

    @property
    def start_xy(self) -> np.ndarray:
        """(n, 2) start points (m); updated when someone turns back on their first leg."""
        return np.asarray(self._start_xy, dtype=float).reshape(-1, 2)

    @property
    def state(self) -> np.ndarray:
        return np.asarray(self._state, dtype=np.int8)

    @property
    def role(self) -> np.ndarray:
        return np.asarray(self._role, dtype=np.int8)

    @property
    def node(self) -> np.ndarray:
        return np.asarray(self._node, dtype=np.int64)

    @property
    def nxt(self) -> np.ndarray:
        return np.asarray(self._nxt, dtype=np.int64)

    @property
    def space(self) -> np.ndarray:
        return np.asarray(self._space, dtype=np.int64)

    @property
    def v0(self) -> np.ndarray:
        return np.asarray(self._v0, dtype=float)

    @property
    def premove(self) -> np.ndarray:
        return np.asarray(self._premove, dtype=float)

    @property
    def t_dep(self) -> np.ndarray:
        return np.asarray(self._t_dep, dtype=float)

    @property
    def t_arr(self) -> np.ndarray:
        return np.asarray(self._t_arr, dtype=float)

    @property
    def version(self) -> np.ndarray:
        return np.asarray(self._version, dtype=np.int64)

    @property
    def target(self) -> np.ndarray:
        return np.asarray(self._target, dtype=np.int8)

    @property
    def target_node(self) -> np.ndarray:
        return np.asarray(self._target_node, dtype=np.int64)

    @property
    def gate(self) -> np.ndarray:
        return np.asarray(self._gate, dtype=np.int64)

    @property
    def t_aware(self) -> np.ndarray:
        return np.asarray(self._t_aware, dtype=float)

    @property
    def t_start(self) -> np.ndarray:
        return np.asarray(self._t_start, dtype=float)

    @property
    def t_exit(self) -> np.ndarray:
        return np.asarray(self._t_exit, dtype=float)

    @property
    def t_muster(self) -> np.ndarray:
        return np.asarray(self._t_muster, dtype=float)

    @property
    def exit_node(self) -> np.ndarray:
        return np.asarray(self._exit_node, dtype=np.int64)

    @property
    def assigned_exit(self) -> np.ndarray:
        return np.asarray(self._assigned_exit, dtype=np.int64)

    @property
    def protected(self) -> np.ndarray:
        return np.asarray(self._protected, dtype=bool)

    @property
    def up_speed(self) -> np.ndarray:
        return np.asarray(self._up_speed, dtype=float)

    @property
    def down_speed(self) -> np.ndarray:
        return np.asarray(self._down_speed, dtype=float)

    @property
    def must_leave(self) -> np.ndarray:
        return np.asarray(self._must_leave, dtype=bool)

    @property
    def start_space(self) -> np.ndarray:
        return np.asarray(self._start_space, dtype=np.int64)

    # ------------------------------------------------------------------------------------- the clock
    def start(self) -> simpy.Process:
        """Register the crowd's SimPy process (call once, before ``env.run``)."""
        self._proc = self.env.process(self._run())
        return self._proc

    def _push(self, t: float, kind: int, i: int) -> None:
        self.moves += 1
        self._seq += 1
        heapq.heappush(self._heap, (float(t), self._seq, kind, i, int(self._version[i]) if i >= 0 else 0))

    def _poke(self) -> None:
        self.now = max(self.now, self.env.now)
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _run(self):
        env = self.env
        heap = self._heap
        pop = heapq.heappop
        peek = env.peek
        version = self._version  # never rebound, only extended
        handlers = (self._on_start, self._on_arrive, self._on_gate, self._on_replan, self._on_gate_queue)
        while True:
            # A batch: every own event due before the next event of anyone else (``peek`` is asked
            # again after each one, since a handler's callbacks may schedule SimPy events). ``env.now``
            # cannot move inside the batch: nothing yields.
            now = env.now
            while heap:
                t = heap[0][0]
                if t > now and t >= peek():
                    break
                t, _, kind, i, ver = pop(heap)
                if i >= 0 and kind != _GATEQ and ver != version[i]:
                    continue  # superseded (turned back, re-planned, cancelled)
                self.now = t if t > now else now
                handlers[kind](i)
            self._wake = env.event()
            if not heap:
                yield self._wake
            else:
                yield env.timeout(heap[0][0] - env.now) | self._wake
                self.now = env.now

    # ------------------------------------------------------------------------------------ the field
    def _weights(self, protected: bool) -> np.ndarray:
        """Edge weights (m) with queue penalties at gates; ``inf`` into locked or hazardous nodes."""
        pen = np.zeros(len(self._elen))
        pen[self._e_has_gate] = V_REF * self._snap[self._e_gate] / self._e_gate_cap
        w = np.maximum(self._elen, pen)
        bad = self.blocked[self._ev] | self.blocked[self._eu]
        if not protected:
            bad |= self.hazard[self._ev]
            if self._space_hazard_any:
                bad |= self.space_hazard[self._esp]
        w[bad] = _INF
        return w

    def _field(self, key: tuple) -> np.ndarray:
        f = self._fields.get(key)
        if f is not None:
            return f
        kind, protected = key[0], key[-1]
        w = self._weights(protected)
        n = self.n_nodes
        # Dijkstra *from* the targets over reversed edges: cost of going from each node to a target
        if self._rev is not None:  # the compressed rows directly: the matrix the coordinate form gives
            order, rows, cols = self._rev
            w = w[order]
            ok = np.isfinite(w)
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows[ok], minlength=n), out=indptr[1:])
            mat = csr_matrix((w[ok] + 1e-9, cols[ok], indptr), shape=(n, n))
        else:
            ok = np.isfinite(w)
            mat = csr_matrix((w[ok] + 1e-9, (self._ev[ok], self._eu[ok])), shape=(n, n))
        if kind == "exit":
            src = np.flatnonzero(self.is_exit & ~self.blocked)
            if not protected:
                src = src[~self.hazard[src]]
        else:
            src = np.array([key[1]]) if not self.blocked[key[1]] else np.zeros(0, dtype=np.int64)
        if len(src) == 0:
            f = np.full(self.n_nodes, _INF)
        else:
            f = dijkstra(mat, directed=True, indices=src, min_only=True)
        self._fields[key] = f
        return f

    def _field_list(self, key: tuple) -> list[float]:
        """:meth:`_field` as a list (the per-person scans index it with ints, cheaper than numpy)."""
        fl = self._field_lists.get(key)
        if fl is None:
            fl = self._field_lists[key] = self._field(key).tolist()
        return fl

    def _invalidate(self) -> None:
        self._fields.clear()
        self._field_lists.clear()
        self._hops.clear()
        self._epoch += 1
        self._snap = np.asarray(self.gate_backlog, dtype=float)
        self._snap_l = self._snap.tolist()

    def _backlog_add(self, g: int, delta: int) -> None:
        """Change a gate's backlog; refresh the fields once it drifts from the snapshot they used, so
        routes see queues as they build (geometrically fewer refreshes as queues grow)."""
        backlog = self.gate_backlog
        b = backlog[g] + delta
        backlog[g] = b
        snap = self._snap_l[g]
        lim = self.refresh_share * snap
        if abs(b - snap) > (lim if lim > self.refresh_min else self.refresh_min):
            self._invalidate()

    def _field_for(self, i: int) -> np.ndarray:
        prot = bool(self._protected[i])
        if self._target[i] == _T_EXIT:
            return self._field(("exit", prot))
        return self._field(("node", int(self._target_node[i]), prot))

    def _field_key(self, i: int) -> tuple:
        prot = bool(self._protected[i])
        if self._target[i] == _T_EXIT:
            return ("exit", prot)
        return ("node", int(self._target_node[i]), prot)

    def _choose(self, i: int, u: int, key: tuple | None = None) -> tuple[int, float, int, int, int] | None:
        """Best next edge out of node ``u`` for person ``i``: (v, len, space, kind, gate) or None.

        Uses the same queue penalties as the field (the snapshot), so each step strictly descends one
        field and nobody paces between two doors. The answer depends only on the field and the node,
        so it is cached per node until the fields refresh; people standing at a locked door are the
        exception (they may only step back into their own space). ``key``: the person's field key,
        when the caller already has it.
        """
        at_locked = self._blk[u]
        if key is None:
            key = self._field_key(i)
        in_hazard = self._space_hazard_any and self._sh[self._space[i]] and not key[-1]
        if in_hazard:
            at_locked = True  # an exception like a locked door: no cached hop, own space only
        if not at_locked:
            cache = self._hops.get(key)
            if cache is None:
                cache = self._hops[key] = {}
            hit = cache.get(u, 0)
            if hit != 0:
                return hit
        f = self._field_list(key)
        best = None
        best_cost = _INF
        cur_space = self._space[i]
        prot = key[-1]
        snap = self._snap_l
        cap = self._cap_l
        via = self._via
        tn = key[1] if key[0] == "node" else -1
        gate_of_node = self._gon
        blocked = self._blk
        hazard = self._hz
        for e in self.adj[u]:
            v, length, sp, kind, sgate = e
            if blocked[v] or (hazard[v] and not prot):
                continue
            if at_locked and sp != cur_space and not (in_hazard and not self._blk[u]):
                continue  # standing at a locked door: only back into the space one came from
            if self._space_hazard_any and not prot and self._sh[sp] and not (in_hazard and sp == cur_space):
                continue  # never into gassed air; those already in it may cross their own space
            if not via[v] and v != tn:
                continue
            fv = f[v]
            if fv == _INF:
                continue
            gate = sgate if kind == _STAIR else gate_of_node[v]
            w = length
            if gate >= 0:
                q = V_REF * snap[gate] / cap[gate]
                if q > w:
                    w = q
            c = w + fv
            if c < best_cost - 1e-9:
                best_cost = c
                best = e
        if not at_locked:
            cache[u] = best
        return best

    # ---------------------------------------------------------------------------------- the events
    def _start_moving(self, i: int) -> None:
        """End of pre-movement (or a new order): leave the start point for the best first node."""
        t = self.now
        if math.isnan(self._t_start[i]):
            self._t_start[i] = t
            self.events.append((t, "start", i, "", ""))
            for cb in self.on_start:
                cb(i, t)
        self._state[i] = MOVING
        if self._node[i] >= 0:
            self._decide(i, int(self._node[i]))
            return
        # first leg: from the start point straight (or around the corner) to a node of the start space
        s = int(self._space[i])
        cand, dist = self._first_leg_candidates(i, s)
        # the field as a list: indexing a list with an int is several times cheaper than a numpy scalar
        key = self._field_key(i)
        fl = self._field_list(key)
        blk, hz, gon, backlog, isexit = self._blk, self._hz, self._gon, self.gate_backlog, self._isexit
        prot = self._protected[i]
        best, best_c = -1, _INF
        for v, d in zip(cand, dist, strict=True):
            fv = fl[v]
            if blk[v] or (hz[v] and not prot) or fv == _INF:
                continue
            gate = gon[v]
            w = d
            if gate >= 0:
                hop = self._choose(i, v, key)
                if hop is not None and hop[2] == s and not isexit[v]:
                    continue  # a door whose best way on leads back into this space is a detour
                b = backlog[gate]
                if b:
                    w = max(w, V_REF * (self._queue_start(gate, t) + b / self._cap_l[gate]))
            elif not self._via[v] and not (self._target[i] == _T_NODE and self._target_node[i] == v):
                continue
            c = w + fv
            if c < best_c - 1e-9:
                best, best_c, best_d = v, c, d
        if best < 0:
            self._trap(i, -1)
            return
        self._depart(i, -1, best, best_d, s, _WALK, int(self._gon[best]))

    def _queue_start(self, g: int, t: float) -> float:
        """Seconds from ``t`` until gate ``g`` starts serving its backlog: 0 when people already wait or
        pass there, else the arrival of the first person walking to it. A farther exit whose first
        user is still on the way clears its queue later than its backlog alone suggests."""
        if self.gate_free[g] > t:
            return 0.0
        h = self._gate_walkers[g]
        while h:
            ta, i, ver = h[0]
            if self._version[i] == ver and self._gate[i] == g:
                return ta - t if ta > t else 0.0
            heapq.heappop(h)
        return 0.0

    def _first_leg_candidates(self, i: int, s: int) -> tuple[list[int], list[float]]:
        """Nodes of space ``s`` and the walking distances (m) to them from person ``i``'s start point."""
        pre = self._legs.pop(i, None)
        if pre is not None:
            return self._space_nodes(s), pre
        nodes = self._space_nodes(s)
        x, y = self._start_xy[i]
        xy = self.g.xy[nodes]
        d = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
        poly = self.g.site.spaces[self.space_ids[s]].footprint
        if not self._convex(s):
            d = self._detour(i, s, nodes, d, poly)
        return nodes, d.tolist()

    def _precompute_legs(self, ids: np.ndarray) -> None:
        """First-leg distances of newly added people, vectorised per start space (convex spaces only;
        people in concave spaces get theirs, with the wall check, when they set off)."""
        by_space: dict[int, list[int]] = {}
        for i in ids.tolist():
            by_space.setdefault(self._space[i], []).append(i)
        for s, members in by_space.items():
            if not self._convex(s):
                continue
            nodes = self._space_nodes(s)
            if not nodes:
                continue
            xy = self.g.xy[nodes]
            p = np.asarray([self._start_xy[i] for i in members])
            d = np.hypot(p[:, 0:1] - xy[None, :, 0], p[:, 1:2] - xy[None, :, 1])
            for i, row in zip(members, d.tolist(), strict=True):
                self._legs[i] = row

    def _space_nodes(self, s: int) -> list[int]:
        cache = getattr(self, "_space_nodes_cache", None)
        if cache is None:
            cache = {}
            for u in range(self.n_nodes):
                for v, _, sp, kind, _ in self.adj[u]:
                    if kind == _WALK:
                        cache.setdefault(sp, set()).update((u, v))
            cache = {k: sorted(v) for k, v in cache.items()}
            self._space_nodes_cache = cache
        return cache.get(s, [])

    def _convex(self, s: int) -> bool:
        cache = self.__dict__.setdefault("_convex_cache", {})
        if s not in cache:
            p = self.g.site.spaces[self.space_ids[s]].footprint
            cache[s] = (not p.interiors) and (p.convex_hull.area - p.area) <= 1e-6 * max(p.area, 1.0)
        return cache[s]

    def _detour(self, i, s, nodes, d, poly):
        """Lengths from a start point in a concave space: straight where the segment stays inside,
        else via the zone centre (a safe over-estimate, never through a wall)."""
        import shapely
        from shapely.geometry import Point

        x, y = self._start_xy[i]
        segs = shapely.linestrings([[(x, y), tuple(self.g.xy[v])] for v in nodes])
        ok = shapely.covers(poly.buffer(1e-3), segs)
        if ok.all():
            return d
        zone = self.g.zone_at(self.space_ids[s], x, y)
        c = self.g.index[f"c:{zone}"]
        cx, cy = self.g.xy[c]
        to_c = math.hypot(cx - x, cy - y) if poly.covers(shapely.linestrings([(x, y), (cx, cy)])) else (
            poly.exterior.distance(Point(x, y)) + math.hypot(cx - x, cy - y))
        nav = self.g.nav
        cid = self.node_ids[c]
        out = d.copy()
        for k, v in enumerate(nodes):
            if ok[k]:
                continue
            vid = self.node_ids[v]
            if v == c:
                out[k] = to_c
            elif nav.has_edge(cid, vid):
                out[k] = to_c + nav.edges[cid, vid]["length"]
            else:
                out[k] = to_c + d[k] * 2.0
        return out

    def _speed(self, i: int, sp: int, kind: int, u: int, v: int) -> float:
        """Speed (m/s) of person ``i`` setting off along an edge of ``kind`` in space ``sp``."""
        v0 = self._v0[i]
        if kind == _OUTDOOR:
            return v0
        d = self.count[sp] / self.area[sp]
        if kind == _WALK and d < self._free_density:
            return v0  # the free branch of the speed-density law (factor 1)
        if d > self._d_capacity:
            # Movers stay on the uncongested branch of the speed-density law: spaces and stairs are
            # entered through gates at no more than their capacity, and denser crowds are people
            # standing in a queue, whose discharge the gate already sets. Without this clamp a full
            # corridor would slow itself into a jam the hydraulic model does not have.
            d = self._d_capacity
        fac = 1.0 if d < self._free_density else self._factor(d)
        if kind == _STAIR:
            up = self.stair_up_node.get((u, v), True)
            given = self._up_speed[i] if up else self._down_speed[i]
            if given == given:  # not NaN: a speed given for this person
                return given * fac
            return v0 * self._stair_ratio[sp] * fac
        return v0 * fac

    def _depart(self, i: int, u: int, v: int, length: float, sp: int, kind: int, gate: int) -> None:
        t = self.now
        space = self._space
        si = space[i]
        if sp != si and sp >= 0:
            count = self.count
            count[si] -= 1
            count[sp] += 1
            space[i] = sp
        speed = self._speed(i, sp, kind, u, v)
        if speed < 0.05:
            speed = 0.05
        self._nxt[i] = v
        self.journal.append(i)
        self._t_dep[i] = t
        ta = t + length / speed
        self._t_arr[i] = ta
        version = self._version
        ver = version[i] + 1
        version[i] = ver
        self.moves += 1
        if gate >= 0 and kind != _STAIR:
            self._gate[i] = gate
            self._backlog_add(gate, 1)
            heapq.heappush(self._gate_walkers[gate], (ta, i, ver))
        seq = self._seq + 1
        self._seq = seq
        heapq.heappush(self._heap, (ta, seq, _ARRIVE, i, ver))

    def _on_start(self, i: int) -> None:
        if self._state[i] == PREMOVE:
            self._start_moving(i)

    def _on_arrive(self, i: int) -> None:
        nxt = self._nxt
        v = int(nxt[i])
        self._node[i] = v
        nxt[i] = -1
        self.journal.append(i)
        if self.log_trajectories:
            self.traj.append((i, self.now, v))
        g = self._gate[i]
        if g >= 0 and self._gon[v] != g:
            self._backlog_add(g, -1)  # walked to a node that is not the gate it counted against
            self._gate[i] = -1
        if self._state[i] == SAFE:  # reached the muster point
            self._t_muster[i] = self.now
            self.events.append((self.now, "mustered", i, self.node_ids[v], ""))
            self.count_out(i)
            for cb in self.on_muster:
                cb(i, self.now)
            return
        self._decide(i, v)

    def count_out(self, i: int) -> None:
        """Stop counting person ``i`` in any space (left the site, or incapacitated)."""
        self.moves += 1
        self.journal.append(i)
        if self._space[i] >= 0:
            self.count[self._space[i]] -= 1
            self._space[i] = -1

    def _decide(self, i: int, v: int) -> None:
        """At node ``v``: leave if it is the target exit, run a waypoint hook, else take the next edge."""
        tgt = self._target[i]
        gon = self._gon
        if self._isexit[v] and not self._blk[v] and (
                (tgt == _T_EXIT) or (tgt == _T_NODE and self._target_node[i] == v and self._assigned_exit[i] == v)):
            self._pass_gate(i, v, gon[v])
            return
        if tgt == _T_NODE and self._target_node[i] == v:
            self._reached_target(i, v)
            return
        e = self._choose(i, v)
        if e is None and tgt == _T_NODE and i in self.sweep_spaces:
            # a warden cannot reach this part of the sweep (locked or gassed): skip it, go on, or leave
            wps = self.waypoints.get(i)
            if wps:
                self._target_node[i] = wps.pop(0)
            else:
                del self.sweep_spaces[i]
                self._target[i] = _T_EXIT
                self.events.append((self.now, "sweep_done", i, self.node_ids[v], "rest unreachable"))
            self._decide(i, v)
            return
        if e is None:
            self._trap(i, v)
            return
        w, length, sp, kind, sgate = e
        if kind == _STAIR:
            self._pass_gate(i, v, sgate, edge=e)
        elif gon[v] >= 0 and sp != self._space[i]:
            self._pass_gate(i, v, gon[v], edge=e)
        else:
            if self._gate[i] >= 0:
                self._release_gate(i)
            self._depart(i, v, w, length, sp, kind, gon[w])

    def _release_gate(self, i: int) -> None:
        g = int(self._gate[i])
        if g >= 0:
            self._backlog_add(g, -1)
            self._gate[i] = -1

    def _pass_gate(self, i: int, v: int, gate: int, edge=None) -> None:
        t = self.now
        if gate < 0:  # an exit without a gate cannot happen, but never hang on it
            self._after_gate(i, v, edge)
            return
        if self._gate[i] != gate:
            self._release_gate(i)
            self._gate[i] = gate
            self._backlog_add(gate, 1)
        free = self.gate_free[gate]
        begin = free if free > t else t
        end = begin + 1.0 / self._cap_l[gate]
        self.gate_free[gate] = end
        if begin > t:
            self._state[i] = QUEUED
        self._pending_edge[i] = edge
        ver = self._version[i] + 1
        self._version[i] = ver
        # A gate serves in order, so its people wait in a FIFO and only the head holds a heap entry:
        # the heap stays as small as the number of walkers, not of everyone queued.
        q = self._gate_q[gate]
        q.append((end, i, ver))
        if len(q) == 1:
            self._seq += 1
            heapq.heappush(self._heap, (end, self._seq, _GATEQ, gate, 0))

    def _on_gate_queue(self, g: int) -> None:
        """The person at the head of gate ``g``'s queue is through; hand the heap slot to the next."""
        q = self._gate_q[g]
        _end, i, ver = q.popleft()
        if q:
            seq = self._seq + 1
            self._seq = seq
            heapq.heappush(self._heap, (q[0][0], seq, _GATEQ, g, 0))
        if self._version[i] == ver:
            self._on_gate(i)

    def _on_gate(self, i: int) -> None:
        edge = self._pending_edge.pop(i, None)
        v = self._node[i]
        g = self._gate[i]
        if g >= 0:
            self._backlog_add(g, -1)
            self.gate_passed[g] += 1
            self._gate[i] = -1
        state = self._state
        if state[i] == QUEUED:
            state[i] = MOVING
        if edge is None:  # passed an exit
            self._exited(i, v)
            return
        w, length, sp, kind, sgate = edge
        self._depart(i, v, w, length, sp, kind, -1 if kind == _STAIR else self._gon[w])

    def _after_gate(self, i: int, v: int, edge) -> None:
        if edge is None:  # passed an exit
            self._exited(i, v)
            return
        w, length, sp, kind, sgate = edge
        self._depart(i, v, w, length, sp, kind, -1 if kind == _STAIR else int(self._gon[w]))

    def _exited(self, i: int, v: int) -> None:
        t = self.now
        self._t_exit[i] = t
        self._exit_node[i] = v
        self._state[i] = SAFE
        self.events.append((t, "exit", i, self.node_ids[v], ""))
        for cb in self.on_exit:
            cb(i, t)
        mu = self.muster_of_exit_l[v]
        self.count_out(i)
        if mu < 0:
            return
        speed = max(self._v0[i], 0.05)
        self._nxt[i] = mu
        self.journal.append(i)
        self._t_dep[i] = t
        self._t_arr[i] = t + self.muster_len_l[v] / speed
        self._version[i] += 1
        self._push(self._t_arr[i], _ARRIVE, i)

    def _trap(self, i: int, v: int) -> None:
        self._release_gate(i)
        self._state[i] = TRAPPED
        self.events.append((self.now, "trapped", i, self.node_ids[v] if v >= 0 else "", "no route to a target"))

    def _reached_target(self, i: int, v: int) -> None:
        wps = self.waypoints.get(i)
        self._release_gate(i)
        if i in self.sweep_spaces:
            self._sweep_visit(i, v)
        if wps:
            nxt = wps.pop(0)
            self._target_node[i] = nxt
            self._decide(i, v)
            return
        cb = self.on_arrival.pop(i, None)
        if i in self.sweep_spaces:  # sweep done: the warden leaves too
            del self.sweep_spaces[i]
            self._target[i] = _T_EXIT
            self.events.append((self.now, "sweep_done", i, self.node_ids[v], ""))
            self._decide(i, v)
            return
        self._state[i] = IDLE
        self._target[i] = _T_STAY
        self.events.append((self.now, "arrived", i, self.node_ids[v], ""))
        if cb is not None:
            cb(i, self.now)

    def _on_replan(self, _i: int) -> None:
        self._replan_pending = False
        self._invalidate()
        if any(b > 0 for b in self.gate_backlog):
            self._schedule_replan()

    def _schedule_replan(self) -> None:
        if not self._replan_pending and self.replan_interval > 0:
            self._replan_pending = True
            self._seq += 1
            heapq.heappush(self._heap, (self.now + self.replan_interval, self._seq, _REPLAN, -1, 0))

    # ----------------------------------------------------------------------------------- commands
    def alarm(self, people: np.ndarray | None = None, *, spaces: Sequence[str] | None = None,
              cue: str = "alarm") -> int:
        """Make unaware people aware now; each starts moving after their pre-movement time.

        ``people`` (indices) or ``spaces`` (ids) limit who hears it; neither means everyone.
        Returns how many became aware.
        """
        self._poke()
        t = self.now
        sel = self.state[: self.n] == UNAWARE
        if people is not None:
            mask = np.zeros(self.n, dtype=bool)
            mask[np.asarray(people, dtype=np.int64)] = True
            sel &= mask
        if spaces is not None:
            sp = np.array([self.space_index[s] for s in spaces if s in self.space_index], dtype=np.int64)
            sel &= np.isin(self.space[: self.n], sp)
        idx = np.flatnonzero(sel)
        for i in idx:
            self._make_aware(int(i), t, cue)
        if len(idx):
            self._schedule_replan()
        return len(idx)

    def _make_aware(self, i: int, t: float, cue: str) -> None:
        self._state[i] = PREMOVE
        self._t_aware[i] = t
        self.events.append((t, "aware", i, "", cue))
        if i in self.sweep_spaces:
            self._plan_sweep(i)
        self._version[i] += 1
        self._push(t + self._premove[i], _START, i)

    def _plan_sweep(self, i: int) -> None:
        """Greedy nearest-first tour of the centres of the warden's spaces."""
        spaces = self.sweep_spaces[i]
        x, y = self._start_xy[i]
        todo = []
        for s in spaces:
            todo.extend(self.g.index[n] for n in self.g.space_nodes(self.space_ids[s]))
        tour = []
        while todo:
            k = min(range(len(todo)), key=lambda j: math.hypot(self.g.xy[todo[j]][0] - x, self.g.xy[todo[j]][1] - y))
            v = todo.pop(k)
            tour.append(v)
            x, y = self.g.xy[v]
        if not tour:
            del self.sweep_spaces[i]
            return
        self._target[i] = _T_NODE
        self._target_node[i] = tour[0]
        self.waypoints[i] = tour[1:]

    def _sweep_visit(self, i: int, v: int) -> None:
        zone = self.g.nav.nodes[self.node_ids[v]].get("space")
        if zone is None:
            return
        s = self.space_index[zone]
        told = np.flatnonzero((self.state[: self.n] == UNAWARE) & (self.space[: self.n] == s))
        for j in told:
            self._make_aware(int(j), self.now, f"warden {i}")
        if len(told):
            self.events.append((self.now, "warned", i, self.node_ids[v], f"{len(told)} told"))

    def send(self, i: int, node: str, on_arrival: Callable[[int, float], None] | None = None) -> None:
        """Send person ``i`` (a responder, operator, ...) to navigation node ``node`` now.

        ``on_arrival(i, t)`` is called at the arrival time ``t`` (which may be ahead of ``env.now``:
        schedule SimPy events with ``env.timeout(t - env.now)``)."""
        self._poke()
        self._target[i] = _T_NODE
        self._target_node[i] = self.g.index[node]
        if on_arrival is not None:
            self.on_arrival[i] = on_arrival
        self._redirect(i)

    def evacuate(self, people: np.ndarray) -> None:
        """Order people (any role) to leave now, with no pre-movement for those already at work."""
        self._poke()
        for i in np.asarray(people, dtype=np.int64):
            i = int(i)
            if self._state[i] in (SAFE, TRAPPED, INCAPACITATED):
                continue
            self._must_leave[i] = True
            self._target[i] = _T_EXIT
            if self._state[i] == UNAWARE:
                self._make_aware(i, self.now, "order")
            else:
                self._redirect(i)

    def shelter(self, people: np.ndarray) -> int:
        """Order people to shelter in place now: they stop where they are and count as safe (as ordered)
        while still breathing the air of their space. Returns how many were ordered."""
        self._poke()
        n = 0
        for i in np.asarray(people, dtype=np.int64).tolist():
            if self._state[i] in (SAFE, TRAPPED, INCAPACITATED):
                continue
            self._release_gate(i)
            self._pending_edge.pop(i, None)
            self._version[i] += 1
            if self._nxt[i] >= 0:
                self._node[i] = self._nxt[i]  # stops at the next node (the nearest place to stand)
                self._nxt[i] = -1
                self.journal.append(i)
            self._state[i] = SAFE
            self._must_leave[i] = False
            self.sheltered.add(i)
            self.events.append((self.now, "shelter", i, "", ""))
            n += 1
        return n

    def _redirect(self, i: int) -> None:
        """Re-plan person ``i`` from where they are now."""
        st = self._state[i]
        if st in (SAFE, TRAPPED, INCAPACITATED):
            return
        if st in (IDLE, UNAWARE, PREMOVE):
            self._state[i] = PREMOVE
            self._version[i] += 1
            self._push(self.now, _START, i)
            return
        if st == QUEUED:
            return  # re-plans when through the gate
        if self._nxt[i] >= 0:
            self._turn_back(i, reason="re-planned")

    def block(self, door: str) -> None:
        """Lock a door (id) now: nobody passes; people walking to it turn back, queues dissolve."""
        self._poke()
        v = self.door_node[door]
        self.blocked[v] = True
        self._blk[v] = True
        self._invalidate()
        self._scatter(v, "door locked")

    def unblock(self, door: str) -> None:
        """Unlock a door (id) now; trapped people try again."""
        self._poke()
        self.blocked[self.door_node[door]] = False
        self._blk[self.door_node[door]] = False
        self._invalidate()
        self._retry_trapped()

    def set_hazard(self, nodes: Sequence[str], hazardous: bool = True) -> None:
        """Flag navigation nodes as hazardous (or clear them). Unprotected people re-route around them and
        those walking towards one turn back. The hook the hazard model calls."""
        self._poke()
        changed = []
        for n in nodes:
            v = self.g.index[n]
            if self.hazard[v] != hazardous:
                self.hazard[v] = hazardous
                self._hz[v] = hazardous
                changed.append(v)
        if not changed:
            return
        self._invalidate()
        if hazardous:
            for v in changed:
                self._scatter(v, "hazard", skip_protected=True)
        else:
            self._retry_trapped()

    def set_hazard_spaces(self, spaces: Sequence[str], hazardous: bool = True) -> None:
        """Flag whole spaces (ids) as hazardous (or clear them). Unprotected people route around them;
        people inside still walk out through them by the quickest way. The hook the gas model calls."""
        self._poke()
        changed = False
        for sid in spaces:
            k = self.space_index.get(sid)
            if k is not None and self._sh[k] != hazardous:
                self._sh[k] = hazardous
                self.space_hazard[k] = hazardous
                changed = True
        if not changed:
            return
        self._space_hazard_any = bool(self.space_hazard.any())
        self._invalidate()
        if not hazardous:
            self._retry_trapped()

    def _scatter(self, v: int, reason: str, skip_protected: bool = False) -> None:
        act = np.flatnonzero((self.state[: self.n] == MOVING) | (self.state[: self.n] == QUEUED))
        for i in act:
            i = int(i)
            if skip_protected and self._protected[i]:
                continue
            if self._nxt[i] == v:
                self._turn_back(i, reason)
            elif self._node[i] == v and i in self._pending_edge and self._state[i] == QUEUED and reason == "door locked":
                self._pending_edge.pop(i, None)
                self._state[i] = MOVING
                self._release_gate(i)
                self._version[i] += 1
                self.events.append((self.now, "turned_back", i, self.node_ids[v], reason))
                self._decide(i, v)

    def _turn_back(self, i: int, reason: str) -> None:
        t = self.now
        self.journal.append(i)
        v = int(self._nxt[i])
        u = int(self._node[i])
        self._release_gate(i)
        self.events.append((t, "turned_back", i, self.node_ids[v], reason))
        if u < 0:  # still on the first leg from the start point: re-choose from there
            back = t - self._t_dep[i]
            frac = 0.0 if self._t_arr[i] <= self._t_dep[i] else back / (self._t_arr[i] - self._t_dep[i])
            x0, y0 = self._start_xy[i]
            x1, y1 = self.g.xy[v]
            self._start_xy[i] = (x0 + frac * (x1 - x0), y0 + frac * (y1 - y0))
            self._legs.pop(i, None)
            self._nxt[i] = -1
            self._version[i] += 1
            self._push(t, _START, i)
            self._state[i] = PREMOVE
            return
        elapsed = max(t - self._t_dep[i], 0.0)
        self._nxt[i] = u
        self._node[i] = v
        self._t_dep[i] = t
        self._t_arr[i] = t + elapsed
        self._version[i] += 1
        self._push(self._t_arr[i], _ARRIVE, i)

    def _retry_trapped(self) -> None:
        for i in np.flatnonzero(self.state[: self.n] == TRAPPED):
            i = int(i)
            self._state[i] = MOVING
            self.events.append((self.now, "retry", i, "", ""))
            if self._node[i] >= 0:
                self._decide(i, int(self._node[i]))
            else:
                self._start_moving(i)

    def incapacitate(self, i: int) -> None:
        """Person ``i`` collapses where they are (their pending movement is cancelled)."""
        self._poke()
        if self._state[i] in (SAFE, INCAPACITATED):
            return
        self._release_gate(i)
        self._pending_edge.pop(i, None)
        self._state[i] = INCAPACITATED
        self._version[i] += 1
        if 0 <= self._space[i] < len(self.space_ids):
            self.collapsed_in[i] = self.space_ids[self._space[i]]
        self.count_out(i)
        self.events.append((self.now, "incapacitated", i, self.node_ids[self._node[i]] if self._node[i] >= 0 else "", ""))

    # ------------------------------------------------------------------------------------ queries
    def place(self, i: int) -> tuple[int, int]:
        """Where person ``i`` counts now: ``(node, space)``: the node walked to (or stood at; -1 on the
        first leg from a start point) and the space index (-1 once out of every space)."""
        v = self._nxt[i]
        return (v if v >= 0 else self._node[i]), self._space[i]

    def positions(self, t: float | None = None, idx: np.ndarray | None = None) -> np.ndarray:
        """(n, 2) positions (m) at time ``t`` (default now), interpolated along the current edge; of the
        people ``idx`` only (in that order) when given: a few people out of a large crowd cost only
        their own interpolation."""
        t = self.now if t is None else t
        idx = np.arange(self.n) if idx is None else np.asarray(idx, dtype=np.int64)
        node, nxt = self.node[idx], self.nxt[idx]
        at = node >= 0
        out = np.empty((len(idx), 2))
        out[at] = self.g.xy[node[at]]
        if not at.all():  # still on the first leg from a start point
            out[~at] = self.start_xy[idx[~at]]
        mv = np.flatnonzero(nxt >= 0)
        if len(mv):
            who = idx[mv]
            t_arr, t_dep = self.t_arr[who], self.t_dep[who]
            span = np.maximum(t_arr - t_dep, 1e-9)
            f = np.clip((t - t_dep) / span, 0.0, 1.0)[:, None]
            a = out[mv]
            b = self.g.xy[nxt[mv]]
            out[mv] = a + f * (b - a)
        return out

    def state_counts(self) -> dict[str, int]:
        c = np.bincount(self.state[: self.n], minlength=len(STATES))
        return {s: int(c[k]) for k, s in enumerate(STATES)}
