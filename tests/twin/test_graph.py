"""The graphs: lengths inside footprints, cells, exits, distances, muster points."""

import math

import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from twin.cells import split_cells
from twin.geodesic import geodesic_distances
from twin.graph import OUTSIDE, build_graph
from twin.site import Door, MusterPoint, Site, Space, Stair, Storey


def _site(spaces, doors, stairs=(), storeys=None, muster=None) -> Site:
    site = Site(name="t", source="test", schema="test")
    site.storeys = storeys or [Storey("G", "Ground", 0.0)]
    for s in spaces:
        site.spaces[s.id] = s
    for d in doors:
        site.doors[d.id] = d
    for t in stairs:
        site.stairs[t.id] = t
    for m in muster or []:
        site.muster[m.id] = m
    return site


L_ROOM = Polygon([(0, 0), (10, 0), (10, 2), (2, 2), (2, 10), (0, 10)])


def test_geodesic_wraps_inner_corner_of_l_room():
    # Hand calculation: from (9, 1) to (1, 9) the path bends at the reflex corner (2, 2):
    # hypot(7, 1) + hypot(1, 7) = 2 * sqrt(50) = 14.1421 m, against 11.31 m straight through the wall.
    d = geodesic_distances(L_ROOM, np.array([[9.0, 1.0], [1.0, 9.0]]))
    assert d[0, 1] == pytest.approx(2 * math.sqrt(50), abs=1e-3)


def test_geodesic_around_hole():
    room = box(0, 0, 10, 10).difference(box(4, 2, 6, 8))  # a pillar wall in the middle
    d = geodesic_distances(room, np.array([[2.0, 5.0], [8.0, 5.0]]))
    expected = 2 * math.hypot(2, 3) + 2  # via (4, 8) and (6, 8) or via the bottom corners
    assert d[0, 1] == pytest.approx(expected, abs=1e-3)


def test_geodesic_convex_is_straight_line():
    d = geodesic_distances(box(0, 0, 5, 5), np.array([[1, 1], [4, 5]]))  # second point on the boundary
    assert d[0, 1] == pytest.approx(math.hypot(3, 3.95) + 0.05, abs=1e-6)


def test_l_room_door_to_door_length_in_nav_graph():
    # Doors at the two arm ends of the L room: (10, 1) on the east edge and (1, 10) on the north edge.
    # Hand calculation: the walker steps 0.05 m inside each door and wraps the corner at (2, 2):
    # 0.05 + hypot(7.95, 1) + hypot(1, 7.95) + 0.05 = 16.125 m.
    sp = Space("L", "L room", "G", L_ROOM, 0.0, 3.0)
    hall = Space("H", "Hall", "G", box(10, 0, 16, 2), 0.0, 3.0)
    d1 = Door("D1", "D1", (10.0, 1.0, 1.0), 0.9, ("L", "H"), storey="G")
    d2 = Door("D2", "D2", (1.0, 10.0, 1.0), 0.9, ("L",), storey="G", external=True, exit=True)
    g = build_graph(_site([sp, hall], [d1, d2]))
    expected = 0.05 + 2 * math.hypot(7.95, 1.0) + 0.05
    assert g.nav.edges["d:D1", "d:D2"]["length"] == pytest.approx(expected, abs=0.01)
    assert g.nav.edges["d:D1", "d:D2"]["space"] == "L"
    assert g.exits == ["d:D2"]
    # distance to exit of the hall centre: centre (13, 1) to D1 (3 m) then D1 to D2
    assert g.nav.nodes["c:H"]["d_exit"] == pytest.approx(3.0 + expected, abs=0.02)


def test_corridor_split_into_cells_keeps_area_and_distance():
    corr = box(0, 0, 40, 2)
    cells = split_cells(corr)
    assert len(cells) == 4
    assert sum(c.area for c in cells) == pytest.approx(80.0)
    sp = Space("C", "Corridor", "G", corr, 0.0, 3.0)
    d1 = Door("W", "W", (0.0, 1.0, 1.0), 1.0, ("C",), storey="G", external=True, exit=True)
    d2 = Door("E", "E", (40.0, 1.0, 1.0), 1.0, ("C",), storey="G", external=True, exit=True)
    g = build_graph(_site([sp], [d1, d2]))
    assert len(g.space_zones["C"]) == 4
    assert nx.shortest_path_length(g.nav, "d:W", "d:E", weight="length") == pytest.approx(40.0, abs=0.01)
    # zones joined by open cell interfaces in the topology graph, doors to the outside
    kinds = sorted(k for _, _, k in g.topo.edges(data="kind"))
    assert kinds.count("cell") == 3 and kinds.count("door") == 2
    assert g.topo.has_edge(g.zone_at("C", 0.5, 1.0), OUTSIDE)


def test_large_hall_is_split_both_ways():
    cells = split_cells(box(0, 0, 30, 20))
    assert len(cells) == 6
    assert all(c.area == pytest.approx(100.0) for c in cells)


def test_stairs_unreachable_and_balcony():
    storeys = [Storey("G", "Ground", 0.0), Storey("U", "Upper", 3.0)]
    g0 = Space("A", "Hall", "G", box(0, 0, 10, 10), 0.0, 3.0)
    u1 = Space("B", "Landing", "U", box(0, 0, 10, 10), 3.0, 3.0)
    lost = Space("X", "Locked store", "G", box(20, 0, 25, 5), 0.0, 3.0)
    doors = [
        Door("E1", "Front", (5.0, 0.0, 1.0), 1.2, ("A",), storey="G", external=True, exit=True),
        Door("BAL", "Balcony", (10.0, 5.0, 4.0), 0.9, ("B",), storey="U", external=True, exit=False),
    ]
    st = Stair("S1", "S1", "A", "B", (2.0, 2.0), (2.0, 8.0), 0.0, 3.0, length=math.hypot(6, 3), width=1.2)
    g = build_graph(_site([g0, u1, lost], doors, [st], storeys=storeys,
                          muster=[MusterPoint("M1", "M1", (5.0, -30.0, 0.0))]))
    assert g.exits == ["d:E1"]  # the balcony door is not an exit
    rep = g.report()
    assert rep["unreachable_spaces"] == 1 and rep["unreachable"] == ["Locked store"]
    assert rep["components"] == 2
    top = g.nav.nodes["c:B"]["d_exit"]
    # landing centre (5, 5) -> stair top (2, 8) -> slope -> stair bottom (2, 2) -> exit (5, 0)
    expected = math.hypot(3, 3) + math.hypot(6, 3) + math.hypot(3, 2 - 0.05) + 0.05
    assert top == pytest.approx(expected, abs=0.02)
    # outdoor leg straight to the muster point, 30 m south of the door
    assert g.nav.edges["d:E1", "m:M1"]["length"] == pytest.approx(30.0, abs=0.1)


def test_outdoor_leg_walks_around_building():
    hall = Space("A", "Hall", "G", box(0, 0, 20, 10), 0.0, 3.0)
    north = Door("N", "North", (10.0, 10.0, 1.0), 1.0, ("A",), storey="G", external=True, exit=True)
    site = _site([hall], [north], muster=[MusterPoint("M", "M", (10.0, -10.0, 0.0))])
    g = build_graph(site)
    # around a corner of the building: (10,10)->(0,10)->(0,0)->(10,-10)
    expected = 10 + 10 + math.hypot(10, 10)
    assert g.nav.edges["d:N", "m:M"]["length"] == pytest.approx(expected, abs=0.3)


def test_auto_muster_placed_with_warning():
    hall = Space("A", "Hall", "G", box(0, 0, 20, 10), 0.0, 3.0)
    door = Door("E", "E", (10.0, 0.0, 1.0), 1.0, ("A",), storey="G", external=True, exit=True)
    site = _site([hall], [door])
    g = build_graph(site)
    assert len(g.musters) == 1
    m = next(iter(site.muster.values()))
    assert m.auto and any(w.code == "muster_auto" for w in site.warnings)
    assert box(0, 0, 20, 10).distance(__import__("shapely").geometry.Point(m.position[:2])) >= 29.0


def test_index_arrays_match_graph():
    sp = Space("L", "L room", "G", L_ROOM, 0.0, 3.0)
    d2 = Door("D2", "D2", (1.0, 10.0, 1.0), 0.9, ("L",), storey="G", external=True, exit=True)
    g = build_graph(_site([sp], [d2]))
    assert len(g.nodes) == g.nav.number_of_nodes() == g.adjacency.shape[0]
    i, j = g.index["c:L"], g.index["d:D2"]
    assert g.adjacency[i, j] == pytest.approx(g.nav.edges["c:L", "d:D2"]["length"])
    assert np.isfinite(g.d_exit).all()


def test_geodesic_paths_turn_at_the_inner_corner():
    """The walk between the arm ends of the L-shaped room turns once, at the inner corner (2, 2), and its
    polyline is as long as the geodesic distance."""
    from twin.geodesic import geodesic_paths

    pts = np.array([[9.0, 1.0], [1.0, 9.0]])
    paths = geodesic_paths(L_ROOM, pts, [0])
    assert [tuple(round(c, 6) for c in p) for p in paths[(0, 1)]] == [(2.0, 2.0)]
    line = np.array([pts[0], *paths[(0, 1)], pts[1]])
    assert np.linalg.norm(np.diff(line, axis=0), axis=1).sum() == pytest.approx(
        geodesic_distances(L_ROOM, pts)[0, 1], abs=1e-3)
    assert geodesic_paths(box(0, 0, 5, 5), pts[:1] * 0.4, [0]) == {}


def test_outdoor_edges_carry_the_walk_around_the_buildings():
    """Issue 16: outdoor legs are drawn as walked. Every outdoor edge's polyline starts and ends at its
    nodes, never crosses a building, and is as long as the edge."""
    from shapely.geometry import LineString
    from shapely.ops import unary_union

    from tests.conftest import MODELS
    from twin.load import load_twin

    g = load_twin(MODELS / "chemical_plant.ifc", cache=False)
    ground = g.site.ground_storeys()
    blocks = unary_union([sp.footprint for sp in g.site.spaces.values() if sp.walkable and sp.storey in ground])
    bent = 0
    for u, v, d in g.nav.edges(data=True):
        if d.get("kind") != "outdoor":
            continue
        for a, b in ((u, v), (v, u)):
            line = g.edge_polyline(a, b)
            assert line[0] == tuple(g.nav.nodes[a]["xy"][:2]) and line[-1] == tuple(g.nav.nodes[b]["xy"][:2])
            assert LineString(line).length == pytest.approx(d["length"], abs=0.2)
            assert LineString(line).intersection(blocks.buffer(-0.2)).length < 1e-6
        bent += bool(d["via"])
    assert bent >= 10  # most exits of the plant reach a muster point only around a building
