"""The road network of a joint exercise: where responders drive, and how long it takes them.

Nodes are named points on the region's common map (x east, y north, m). Links join two nodes, are driven
both ways, and carry a length (m; the straight line between their nodes when omitted) and a speed (m/s).
Travel times are shortest paths by time (networkx Dijkstra with ``length / speed`` as the weight), cached
per origin because a dispatcher asks the same few questions again and again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx

from twin.errors import InputError

__all__ = ["RoadLink", "RoadNetwork"]


@dataclass(frozen=True)
class RoadLink:
    """A road between ``a`` and ``b``: ``length`` m driven at ``speed`` m/s (both ways)."""

    a: str
    b: str
    length: float
    speed: float

    @property
    def time(self) -> float:
        """Driving time, s."""
        return self.length / self.speed


@dataclass
class RoadNetwork:
    """Named nodes (x, y in m on the common map) and links; shortest travel times in s."""

    nodes: dict[str, tuple[float, float]]
    links: list[RoadLink]
    graph: nx.Graph = field(init=False, repr=False)
    _cache: dict[str, dict[str, float]] = field(init=False, default_factory=dict, repr=False)
    _paths: dict[str, dict[str, list[str]]] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        g = nx.Graph()
        for name, xy in self.nodes.items():
            g.add_node(name, xy=xy)
        for ln in self.links:
            # two roads between the same nodes: the quicker one is the one anybody takes
            if g.has_edge(ln.a, ln.b) and g.edges[ln.a, ln.b]["time"] <= ln.time:
                continue
            g.add_edge(ln.a, ln.b, time=ln.time, length=ln.length)
        self.graph = g

    @classmethod
    def build(cls, nodes: Mapping[str, Sequence[float]], links: Sequence[tuple[str, str, float | None, float]],
              where: str = "roads") -> RoadNetwork:
        """Check names and numbers; ``links`` are ``(from, to, length m or None, speed m/s)``.
        Errors name the field (``roads.links[2].to``)."""
        pts: dict[str, tuple[float, float]] = {}
        for name, xy in nodes.items():
            if len(xy) != 2 or not all(math.isfinite(float(v)) for v in xy):
                raise InputError("expected [x, y] in m", where=f"{where}.nodes.{name}")
            pts[str(name)] = (float(xy[0]), float(xy[1]))
        out: list[RoadLink] = []
        for k, (a, b, length, speed) in enumerate(links):
            f = f"{where}.links[{k}]"
            for end, key in ((a, "from"), (b, "to")):
                if end not in pts:
                    raise InputError(f"{end!r} is not a road node; nodes: {', '.join(sorted(pts)) or '(none)'}",
                                     where=f"{f}.{key}")
            if a == b:
                raise InputError("a link must join two different nodes", where=f"{f}.to")
            if length is None:
                length = math.dist(pts[a], pts[b])
            if not length > 0:
                raise InputError(f"length must be positive, got {length} m", where=f"{f}.length")
            if not speed > 0:
                raise InputError(f"speed must be positive, got {speed} m/s", where=f"{f}.speed")
            out.append(RoadLink(a, b, float(length), float(speed)))
        return cls(pts, out)

    def times_from(self, origin: str) -> dict[str, float]:
        """Shortest driving time (s) from ``origin`` to every node it reaches."""
        got = self._cache.get(origin)
        if got is None:
            dist, paths = nx.single_source_dijkstra(self.graph, origin, weight="time")
            got = self._cache[origin] = {k: float(v) for k, v in dist.items()}
            self._paths[origin] = paths
        return got

    def travel_time(self, a: str, b: str) -> float:
        """Driving time (s) from ``a`` to ``b``; ``inf`` if no road joins them."""
        return self.times_from(a).get(b, math.inf)

    def route(self, a: str, b: str) -> list[str]:
        """The quickest route from ``a`` to ``b`` as node names (empty if unreachable)."""
        self.times_from(a)
        return list(self._paths[a].get(b, []))

    def nearest(self, xy: Sequence[float]) -> str:
        """The node nearest to ``xy`` (ties: the first name in sorted order, so the answer is stable)."""
        if not self.nodes:
            raise InputError("the road network has no nodes", where="roads.nodes")
        return min(sorted(self.nodes), key=lambda n: math.dist(self.nodes[n], xy))
