"""The site as graphs: a topology graph for air and alarm zones, a navigation graph for movement.

**Topology graph** (``nx.MultiGraph``): one node per *zone* (a space, or a cell of a large space) plus
``"outside"``. Edges are doors (key = door id, ``kind="door"``), stairs (``kind="stair"``) and the open
interfaces between cells of one space (``kind="cell"``). Zones carry area (m2), volume (m3), ach (1/h).

**Navigation graph** (``nx.Graph``), node ids by kind:

=================  =========================================================================
``d:<door id>``    a door; ``width`` (m), ``exit`` (True for doors to the outside at ground)
``c:<zone id>``    the centre of a zone, where occupants start and where doses are read
``s:<stair>:b/t``  the bottom and top of a stair
``m:<muster id>``  a muster point outdoors
=================  =========================================================================

Edges carry ``length`` (m, measured inside the footprint, around corners of L-shaped rooms and never
through walls), ``kind`` (``walk``, ``stair``, ``outdoor``; outdoor edges carry ``via``, the corners of the
walk around the buildings, listed from the node ``via_from``), ``space`` for walks, ``width``/``up`` for
stairs. Every node has ``xy`` (m), ``z`` (m), ``storey`` and ``d_exit`` (m, shortest distance to the
nearest exit; ``inf`` when none is reachable).

:class:`SiteGraph` also holds numpy index arrays (node order, coordinates, distances, CSR adjacency) for
hot loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from shapely.geometry import Point, Polygon, box
from shapely.ops import unary_union

from .cells import CELL_SIZE, SPLIT_AREA, SPLIT_LENGTH, split_cells
from .geodesic import geodesic_distances, geodesic_paths
from .muster import ensure_muster
from .site import Site

__all__ = ["SiteGraph", "Zone", "build_graph", "OUTSIDE", "COMPLETE_LIMIT"]

OUTSIDE = "outside"
COMPLETE_LIMIT = 60
"""Spaces with at most this many navigation points are joined all-to-all; larger ones only between
points in the same or touching cells (keeps huge halls from growing quadratic edge counts)."""


@dataclass
class Zone:
    """A well-mixed air zone and movement cell: a whole space or one cell of it."""

    id: str
    space: str
    storey: str
    polygon: Polygon
    elevation: float
    height: float
    ach: float

    @property
    def area(self) -> float:
        return float(self.polygon.area)

    @property
    def volume(self) -> float:
        return float(self.polygon.area * self.height)


@dataclass
class SiteGraph:
    """Graphs and index arrays of one site. Build with :func:`build_graph`."""

    site: Site
    topo: nx.MultiGraph
    nav: nx.Graph
    zones: dict[str, Zone]
    space_zones: dict[str, list[str]]
    exits: list[str]
    musters: list[str]
    nodes: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    z: np.ndarray = field(default_factory=lambda: np.zeros(0))
    d_exit: np.ndarray = field(default_factory=lambda: np.zeros(0))
    adjacency: csr_matrix | None = None

    def zone_node(self, zone_id: str) -> str:
        """Navigation node of a zone's centre."""
        return f"c:{zone_id}"

    def space_nodes(self, space_id: str) -> list[str]:
        """Navigation nodes of the centres of a space's zones."""
        return [f"c:{z}" for z in self.space_zones.get(space_id, [])]

    def zone_at(self, space_id: str, x: float, y: float) -> str:
        """The zone of ``space_id`` that contains (or is nearest to) the point (m)."""
        zs = self.space_zones[space_id]
        if len(zs) == 1:
            return zs[0]
        p = Point(x, y)
        return min(zs, key=lambda z: (self.zones[z].polygon.distance(p), z))

    def components(self) -> list[set[str]]:
        """Connected components of the navigation graph that hold at least one zone centre."""
        comps = [c for c in nx.connected_components(self.nav) if any(n.startswith("c:") for n in c)]
        return sorted(comps, key=lambda c: (-len(c), min(c)))

    def unreachable_spaces(self) -> list[str]:
        """Ids of walkable spaces from which no exit can be reached."""
        out = []
        for sid, zs in self.space_zones.items():
            if all(not np.isfinite(self.nav.nodes[f"c:{z}"]["d_exit"]) for z in zs):
                out.append(sid)
        return sorted(out)

    def report(self) -> dict[str, Any]:
        """The import report of ``drilltwin twin inspect --json`` (docs/cli.md)."""
        site = self.site
        st = site.stats
        real_doors = [d for d in site.doors.values() if d.kind == "door"]
        doors_connected = sum(1 for d in real_doors if d.spaces)
        unreach = self.unreachable_spaces()
        return {
            "name": site.name,
            "source": site.source,
            "schema": site.schema,
            "storeys": len(site.storeys),
            "storeys_walkable": sum(1 for s in site.storeys if s.walkable),
            "buildings": len(site.buildings),
            "spaces": len(site.spaces),
            "spaces_walkable": sum(1 for s in site.spaces.values() if s.walkable),
            "zones": len(self.zones),
            "doors": int(st.get("doors_total", len(real_doors))),
            "doors_connected": doors_connected,
            "passages": len(site.doors) - len(real_doors),
            "exits": len(self.exits),
            "stairs": int(st.get("stairs_total", len(site.stairs))),
            "stairs_connected": len(site.stairs),
            "equipment": len(site.equipment),
            "sensors": len(site.sensors),
            "alarms": len(site.alarms),
            "muster": len(self.musters),
            "components": len(self.components()),
            "unreachable_spaces": len(unreach),
            "unreachable": [site.spaces[s].label for s in unreach],
            "nav_nodes": self.nav.number_of_nodes(),
            "nav_edges": self.nav.number_of_edges(),
            # where people are (zone centres), not the muster points beyond the exits
            "max_exit_distance_m": _finite_max(self.d_exit[[n.startswith("c:") for n in self.nodes]]
                                               if len(self.d_exit) else self.d_exit),
            "warnings": [w.to_dict() for w in site.warnings] + self.graph_warnings(),
        }

    def edge_polyline(self, u: str, v: str) -> list[tuple[float, float]]:
        """The walk from node ``u`` to ``v`` as drawn: their positions with the corners of an outdoor
        walk around the buildings between them (m)."""
        d = self.nav.edges[u, v]
        via = list(d.get("via") or [])
        if via and d.get("via_from", u) != u:
            via = via[::-1]
        return [tuple(self.nav.nodes[u]["xy"][:2]), *via, tuple(self.nav.nodes[v]["xy"][:2])]

    def graph_warnings(self) -> list[dict[str, str]]:
        """Named warnings about the routes (``no_exits``, ``space_unreachable``): a model that imports
        cleanly can still leave nobody a way out."""
        out = []
        if not self.exits:
            out.append({"code": "no_exits", "entity": self.site.name,
                        "message": "no door leads outside, so nobody can evacuate; check that exit doors are "
                                   "exported and touch the outside"})
        elif unreach := self.unreachable_spaces():
            for sid in unreach:
                out.append({"code": "space_unreachable", "entity": self.site.spaces[sid].label,
                            "message": "no route from this space to an exit (a missing or unconnected door?)"})
        return out


def _finite_max(a: np.ndarray) -> float | None:
    f = a[np.isfinite(a)] if len(a) else a
    return round(float(f.max()), 2) if len(f) else None


def build_graph(site: Site, *, cell_size: float = CELL_SIZE, split_length: float = SPLIT_LENGTH,
                split_area: float = SPLIT_AREA) -> SiteGraph:
    """Build the topology and navigation graphs of ``site``.

    Adds automatic muster points to ``site`` (with a warning) when it has none. Lengths are metres.
    """
    ensure_muster(site)
    zones, space_zones = _zones(site, cell_size, split_length, split_area)
    topo = _topology(site, zones, space_zones)
    nav = nx.Graph()
    _nav_points(site, zones, space_zones, nav)
    _nav_walks(site, zones, space_zones, topo, nav)
    _nav_stairs(site, nav)
    exits = sorted(n for n, a in nav.nodes(data=True) if a.get("exit"))
    musters = _nav_outdoor(site, nav, exits)
    g = SiteGraph(site, topo, nav, zones, space_zones, exits, musters)
    _distances(g)
    return g


# ---------------------------------------------------------------------------------------------- zones
def _zones(site: Site, cell_size: float, split_length: float, split_area: float):
    zones: dict[str, Zone] = {}
    space_zones: dict[str, list[str]] = {}
    for sid, sp in site.spaces.items():
        if not sp.walkable:
            continue
        cells = split_cells(sp.footprint, cell_size, split_length, split_area)
        ids = [sid] if len(cells) == 1 else [f"{sid}#{k}" for k in range(len(cells))]
        for zid, poly in zip(ids, cells, strict=True):
            zones[zid] = Zone(zid, sid, sp.storey, poly, sp.elevation, sp.height, sp.effective_ach())
        space_zones[sid] = ids
    return zones, space_zones


def _zone_for(zones: dict[str, Zone], space_zones: dict[str, list[str]], sid: str, x: float, y: float) -> str:
    zs = space_zones[sid]
    if len(zs) == 1:
        return zs[0]
    p = Point(x, y)
    return min(zs, key=lambda z: (zones[z].polygon.distance(p), z))


def _topology(site: Site, zones: dict[str, Zone], space_zones: dict[str, list[str]]) -> nx.MultiGraph:
    topo = nx.MultiGraph()
    topo.add_node(OUTSIDE, kind="outside")
    for zid, z in zones.items():
        topo.add_node(zid, kind="zone", space=z.space, storey=z.storey, area=z.area, volume=z.volume,
                      ach=z.ach, elevation=z.elevation, height=z.height)
    for zs in space_zones.values():
        for i, a in enumerate(zs):
            for b in zs[i + 1:]:
                shared = zones[a].polygon.boundary.intersection(zones[b].polygon.buffer(1e-6)).length
                if shared > 0.1:
                    topo.add_edge(a, b, key=f"{a}|{b}", kind="cell", width=float(shared))
    for did, d in site.doors.items():
        ends = [_zone_for(zones, space_zones, s, *d.xy) for s in d.spaces if s in space_zones]
        if len(ends) == 2:
            topo.add_edge(ends[0], ends[1], key=did, kind="door", door=did, width=d.width, open=d.open,
                          height=d.height)
        elif len(ends) == 1 and d.external:
            topo.add_edge(ends[0], OUTSIDE, key=did, kind="door", door=did, width=d.width, open=d.open,
                          height=d.height, exit=d.exit)
    for tid, s in site.stairs.items():
        if s.bottom in space_zones and s.top in space_zones:
            a = _zone_for(zones, space_zones, s.bottom, *s.bottom_xy)
            b = _zone_for(zones, space_zones, s.top, *s.top_xy)
            topo.add_edge(a, b, key=tid, kind="stair", stair=tid, width=s.width)
    return topo


# ------------------------------------------------------------------------------------------ navigation
def _storey_z(site: Site, sid: str) -> tuple[str, float]:
    sp = site.spaces[sid]
    return sp.storey, sp.elevation


def _nav_points(site: Site, zones, space_zones, nav: nx.Graph) -> None:
    for zid, z in zones.items():
        rp = z.polygon.centroid
        if not z.polygon.contains(rp):
            rp = z.polygon.representative_point()
        nav.add_node(f"c:{zid}", kind="cell", zone=zid, space=z.space, storey=z.storey,
                     xy=(float(rp.x), float(rp.y)), z=z.elevation, area=z.area)
    for did, d in site.doors.items():
        spaces = [s for s in d.spaces if s in space_zones]
        if not spaces:
            continue
        storey, elev = _storey_z(site, spaces[0])
        nav.add_node(f"d:{did}", kind="door", door=did, name=d.name, width=d.width, spaces=tuple(spaces),
                     storey=storey, xy=d.xy, z=elev, exit=bool(d.exit and len(spaces) == 1),
                     external=d.external)
    for tid, s in site.stairs.items():
        if s.bottom not in space_zones or s.top not in space_zones:
            continue
        nav.add_node(f"s:{tid}:b", kind="stair_end", stair=tid, space=s.bottom,
                     storey=site.spaces[s.bottom].storey, xy=s.bottom_xy, z=s.bottom_z)
        nav.add_node(f"s:{tid}:t", kind="stair_end", stair=tid, space=s.top,
                     storey=site.spaces[s.top].storey, xy=s.top_xy, z=s.top_z)


def _nav_walks(site: Site, zones, space_zones, topo: nx.MultiGraph, nav: nx.Graph) -> None:
    members: dict[str, list[tuple[str, str]]] = {sid: [] for sid in space_zones}  # (node, zone)
    for n, a in nav.nodes(data=True):
        if a["kind"] == "cell":
            members[a["space"]].append((n, a["zone"]))
        elif a["kind"] == "door":
            for sid in a["spaces"]:
                members[sid].append((n, _zone_for(zones, space_zones, sid, *a["xy"])))
        elif a["kind"] == "stair_end":
            members[a["space"]].append((n, _zone_for(zones, space_zones, a["space"], *a["xy"])))
    for sid, pts in members.items():
        if len(pts) < 2:
            continue
        sp = site.spaces[sid]
        xy = np.array([nav.nodes[n]["xy"] for n, _ in pts], dtype=float)
        dist = geodesic_distances(sp.footprint, xy)
        complete = len(pts) <= COMPLETE_LIMIT
        near = _zone_neighbours(topo, space_zones[sid]) if not complete else None
        for i, (a, za) in enumerate(pts):
            for j in range(i + 1, len(pts)):
                b, zb = pts[j]
                if a == b or not np.isfinite(dist[i, j]):
                    continue
                if near is not None and zb not in near[za]:
                    continue
                length = float(dist[i, j])
                if nav.has_edge(a, b) and nav.edges[a, b]["length"] <= length:
                    continue
                nav.add_edge(a, b, length=length, kind="walk", space=sid, storey=sp.storey)


def _zone_neighbours(topo: nx.MultiGraph, zs: list[str]) -> dict[str, set[str]]:
    near = {z: {z} for z in zs}
    for z in zs:
        for _, other, k in topo.edges(z, data="kind"):
            if k == "cell":
                near[z].add(other)
    return near


def _nav_stairs(site: Site, nav: nx.Graph) -> None:
    for tid, s in site.stairs.items():
        b, t = f"s:{tid}:b", f"s:{tid}:t"
        if b in nav and t in nav:
            nav.add_edge(b, t, length=float(s.length), kind="stair", stair=tid, width=float(s.width),
                         up=t, rise=float(s.top_z - s.bottom_z), riser=s.riser, tread=s.tread)


def _nav_outdoor(site: Site, nav: nx.Graph, exits: list[str]) -> list[str]:
    musters = []
    for mid, m in site.muster.items():
        n = f"m:{mid}"
        nav.add_node(n, kind="muster", muster=mid, name=m.name, storey=None, xy=(m.position[0], m.position[1]),
                     z=m.position[2], auto=m.auto)
        musters.append(n)
    if not exits or not musters:
        return musters
    ground = site.ground_storeys()
    blocks = [sp.footprint for sp in site.spaces.values() if sp.walkable and sp.storey in ground]
    obstacles = unary_union(blocks).buffer(-0.05) if blocks else Polygon()
    pts = np.array([nav.nodes[n]["xy"] for n in exits + musters], dtype=float)
    minx, miny = pts.min(axis=0) - 100.0
    maxx, maxy = pts.max(axis=0) + 100.0
    if not obstacles.is_empty:
        bx = obstacles.bounds
        minx, miny = min(minx, bx[0] - 100), min(miny, bx[1] - 100)
        maxx, maxy = max(maxx, bx[2] + 100), max(maxy, bx[3] + 100)
    free = box(minx, miny, maxx, maxy).difference(obstacles.simplify(0.05))
    free_polys = list(free.geoms) if hasattr(free, "geoms") else [free]
    region = max(free_polys, key=lambda p: p.area)
    dist = geodesic_distances(region, pts)
    ne = len(exits)
    # the corners of each walk around the buildings, for drawing it as it is walked (replays, plans)
    via = geodesic_paths(region, pts, list(range(ne)))
    for i, e in enumerate(exits):
        for j, m in enumerate(musters):
            d = float(dist[i, ne + j])
            if np.isfinite(d):
                nav.add_edge(e, m, length=d, kind="outdoor", via=via.get((i, ne + j), []), via_from=e)
    return musters


def _distances(g: SiteGraph) -> None:
    nav = g.nav
    if g.exits:
        d = nx.multi_source_dijkstra_path_length(nav, g.exits, weight="length")
    else:
        d = {}
    for n in nav.nodes:
        nav.nodes[n]["d_exit"] = float(d.get(n, np.inf))
    g.nodes = sorted(nav.nodes)
    g.index = {n: i for i, n in enumerate(g.nodes)}
    g.xy = np.array([nav.nodes[n]["xy"] for n in g.nodes], dtype=float).reshape(-1, 2)
    g.z = np.array([nav.nodes[n]["z"] for n in g.nodes], dtype=float)
    g.d_exit = np.array([nav.nodes[n]["d_exit"] for n in g.nodes], dtype=float)
    if g.nodes:
        u = np.array([g.index[a] for a, b in nav.edges], dtype=np.int64)
        v = np.array([g.index[b] for a, b in nav.edges], dtype=np.int64)
        w = np.array([ln for _, _, ln in nav.edges(data="length")], dtype=float)
        n = len(g.nodes)
        g.adjacency = csr_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                                 shape=(n, n))
