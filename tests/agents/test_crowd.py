"""Crowd mechanics: gates, turn-back, trapped, hazard hook, orders to roles, Mesa memory."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
from shapely.geometry import box

from agents.crowd import Person
from agents.flow import EMPIRICAL, SFPE, stair_k
from agents.model import DrillModel
from agents.rng import RngStreams
from twin.graph import build_graph
from twin.site import Door, MusterPoint, Site, Space, Storey

H = 1.0 / SFPE.door_capacity(1.0)  # s, one person's passage through a 1 m door


def corridor_site(length=40.0, exits=("W", "E")) -> Site:
    s = Site(name="c", source="t", schema="t")
    s.storeys = [Storey("G", "G", 0.0)]
    s.spaces["C"] = Space("C", "Corridor", "G", box(0, 0, length, 2), 0.0, 3.0)
    if "W" in exits:
        s.doors["W"] = Door("W", "W", (0.0, 1.0, 1.0), 1.0, ("C",), storey="G", external=True, exit=True)
    if "E" in exits:
        s.doors["E"] = Door("E", "E", (length, 1.0, 1.0), 1.0, ("C",), storey="G", external=True, exit=True)
    s.muster["M"] = MusterPoint("M", "M", (length / 2, -30.0, 0.0))
    return s


def test_sfpe_constants():
    # SFPE: Fs,max = k/(4a) = 1.316 p/(s m) for doors; We = 1.0 - 2 x 0.15 = 0.70 m -> 0.921 p/s (example A)
    assert SFPE.door_capacity(1.0) == pytest.approx(0.921, abs=1e-3)
    assert SFPE.factor(0.3) == 1.0
    # S = k(1 - aD) at D = 2.4 p/m2 is 0.506 m/s against the free 0.85 k = 1.19 m/s
    assert SFPE.factor(2.4) * 0.85 * 1.4 == pytest.approx(1.4 * (1 - 0.266 * 2.4), rel=1e-9)
    assert stair_k(0.178, 0.279) == 1.08
    # example C: a 1.12 m stair between walls, We = 0.82 m, Fc = 1.015 x 0.82 = 0.83 p/s
    assert SFPE.stair_capacity(1.12, 0.178, 0.279) == pytest.approx(0.83, abs=0.01)
    assert EMPIRICAL.door_capacity(1.0) == pytest.approx(1.9)
    assert EMPIRICAL.factor(1.0) == pytest.approx(1 - math.exp(-1.913 * (1 - 1 / 5.4)))


def test_single_walker_free_speed_and_muster():
    g = build_graph(corridor_site(exits=("E",)))
    m = DrillModel(g, seed=1)
    m.add_people([Person("C", (0.5, 1.0), 1.25, 2.0)])
    m.crowd.alarm()
    m.run(1e4)
    c = m.crowd
    # 2 s pre-movement, 39.5 m at 1.25 m/s, one passage through the exit gate (1 / 0.921 s)
    assert c.t_exit[0] == pytest.approx(2.0 + 39.5 / 1.25 + H, abs=1e-6)
    assert c.t_muster[0] > c.t_exit[0]
    assert m.people[0].state == "safe"


def test_gate_discharges_at_capacity():
    g = build_graph(corridor_site(exits=("E",)))
    m = DrillModel(g, seed=1)
    n = 60
    m.add_people([Person("C", (30.0 + 0.1 * k, 1.0), 1.3, 0.0) for k in range(n)])
    m.crowd.alarm()
    m.run(1e4)
    t = np.sort(m.crowd.t_exit[:n])
    gaps = np.diff(t)
    assert gaps.min() >= 1 / SFPE.door_capacity(1.0) - 1e-9  # never faster than the gate
    assert (t[-1] - t[0]) == pytest.approx((n - 1) / SFPE.door_capacity(1.0), rel=0.01)


def test_locked_door_turns_walkers_back():
    g = build_graph(corridor_site())
    m = DrillModel(g, seed=1)
    m.add_people([Person("C", (30.0, 1.0), 1.0, 0.0)])  # heads east (10 m) first
    m.crowd.alarm()

    def lock():
        yield m.env.timeout(4.0)
        m.crowd.block("E")

    m.env.process(lock())
    m.run(1e4)
    c = m.crowd
    assert g.nodes[c.exit_node[0]] == "d:W"
    # walked 4 m east, 4 m back, then 30 m west
    assert c.t_exit[0] == pytest.approx(38.0 + H, abs=0.01)
    kinds = [e[1] for e in c.events]
    assert "turned_back" in kinds


def test_no_route_is_trapped_not_a_hang():
    g = build_graph(corridor_site())
    m = DrillModel(g, seed=1, closed=["W", "E"])
    m.add_people([Person("C", (10.0, 1.0), 1.0, 0.0)])
    m.crowd.alarm()
    m.run(1e4)
    assert m.people[0].state == "trapped"
    m2 = DrillModel(g, seed=1, closed=["W", "E"])
    m2.add_people([Person("C", (10.0, 1.0), 1.0, 0.0)])
    m2.crowd.alarm()

    def unlock():
        yield m2.env.timeout(100.0)
        m2.crowd.unblock("W")

    m2.env.process(unlock())
    m2.run(1e4)
    assert m2.people[0].state == "safe" and m2.crowd.t_exit[0] == pytest.approx(110.0 + H, abs=0.1)


def test_hazard_hook_reroutes_unprotected_only():
    g = build_graph(corridor_site())
    m = DrillModel(g, seed=1)
    m.add_people([Person("C", (30.0, 1.0), 1.0, 0.0), Person("C", (30.0, 1.0), 1.0, 0.0, protected=True)])
    m.crowd.set_hazard(["d:E"])
    m.crowd.alarm()
    m.run(1e4)
    c = m.crowd
    assert g.nodes[c.exit_node[0]] == "d:W"
    assert g.nodes[c.exit_node[1]] == "d:E"


def test_roles_stay_until_sent_or_ordered():
    g = build_graph(corridor_site())
    m = DrillModel(g, seed=1)
    idx = m.add_people([Person("C", (20.0, 1.0), 1.0, 0.0, role="operator"),
                        Person("C", (20.0, 1.0), 1.0, 0.0, role="responder")])
    arrived = []
    m.crowd.alarm()

    def orders():
        yield m.env.timeout(10.0)
        m.crowd.send(int(idx[1]), "d:W", on_arrival=lambda i, t: arrived.append((i, t)))
        yield m.env.timeout(50.0)
        m.crowd.evacuate(idx[:1])

    m.env.process(orders())
    m.run(1e4)
    assert arrived == [(1, pytest.approx(30.0, abs=0.01))]
    assert m.people[0].state == "safe" and m.crowd.t_exit[0] == pytest.approx(80.0 + H, abs=0.01)
    assert m.people[1].state == "idle"


def test_streams_are_independent_and_stable():
    a, b = RngStreams(5), RngStreams(5)
    x = a["people"].random(3)
    a["sensors"].random(1000)  # drawing from another stream does not shift people's draws
    assert np.array_equal(np.concatenate([x, a["people"].random(2)]), b["people"].random(5))
    assert not np.array_equal(RngStreams(6)["people"].random(3), RngStreams(5)["people"].random(3))


def test_models_are_freed_after_release():
    g = build_graph(corridor_site())
    refs = []
    for k in range(30):
        m = DrillModel(g, seed=k)
        m.add_people([Person("C", (10.0, 1.0), 1.0, 0.0) for _ in range(5)])
        m.crowd.alarm()
        m.run(1e3)
        m.release()
        refs.append(weakref.ref(m))
        del m
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


def test_positions_interpolate_along_edges():
    g = build_graph(corridor_site(exits=("E",)))
    m = DrillModel(g, seed=1)
    m.add_people([Person("C", (10.0, 1.0), 1.0, 0.0), Person("C", (20.0, 1.0), 2.0, 0.0)])
    m.crowd.alarm()
    m.run(5.0)
    p = m.crowd.positions(5.0)
    assert p[0] == pytest.approx([15.0, 1.0], abs=1e-6)
    assert p[1] == pytest.approx([30.0, 1.0], abs=1e-6)


def test_no_pacing_between_doors_in_a_congested_office():
    """Routes descend one cost field: in the five-storey office with crowded stairs nobody paces back and
    forth between a landing and its door (a regression once seen as 28 hops per person)."""
    from collections import Counter

    from tests.conftest import MODELS
    from twin.load import load_twin

    g = load_twin(MODELS / "office5.ifc")
    m = DrillModel(g, seed=3)
    rng = m.streams["people"]
    from agents.people import sample_points

    people = []
    for sid in sorted(g.space_zones):
        for x, y in sample_points(g.site.spaces[sid].footprint, 20, rng):
            people.append(Person(sid, (float(x), float(y)), float(rng.uniform(1.0, 1.5)), float(rng.uniform(0, 60))))
    m.add_people(people)
    m.crowd.alarm()
    m.run(1e5)
    hops = Counter(a for a, _, _ in m.crowd.traj)
    assert m.crowd.state_counts()["safe"] == len(people)
    assert np.mean(list(hops.values())) < 10
    assert max(hops.values()) <= 25


def test_route_field_from_compressed_rows_equals_the_coordinate_form():
    # The cost-to-go field is built from the reversed edges in compressed-row order, filled in place on
    # each refresh; it must equal the field from scipy's coordinate form bit for bit (a locked door and
    # queue penalties included), or routes and event logs would change.
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    site = corridor_site(40.0)
    site.spaces["R"] = Space("R", "Room", "G", box(10, 2, 20, 10), 0.0, 3.0)
    site.doors["RC"] = Door("RC", "RC", (15.0, 2.0, 1.0), 1.0, ("R", "C"), storey="G")
    m = DrillModel(build_graph(site), seed=1, log_trajectories=False)
    c = m.crowd
    assert c._rev is not None
    c.gate_backlog = [3 * (k + 1) for k in range(len(c.gate_backlog))]
    c._invalidate()
    c.block("W")
    for key in (("exit", False), ("node", int(c.door_node["RC"]), False)):
        got = c._field(key)
        w = c._weights(False)
        ok = np.isfinite(w)
        mat = csr_matrix((w[ok] + 1e-9, (c._ev[ok], c._eu[ok])), shape=(c.n_nodes, c.n_nodes))
        src = np.flatnonzero(c.is_exit & ~c.blocked) if key[0] == "exit" else np.array([key[1]])
        want = dijkstra(mat, directed=True, indices=src, min_only=True)
        assert np.array_equal(got, want)
        assert np.isfinite(got).sum() >= 3
    m.release()
