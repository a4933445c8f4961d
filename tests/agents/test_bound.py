"""Quickest-flow lower bound: hand numbers (RiMEA 9, SFPE example A) and never beaten by the crowd model."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from agents.bound import flow_lower_bound
from agents.crowd import Person
from agents.flow import EMPIRICAL, SFPE, calibration
from agents.model import DrillModel
from twin.graph import build_graph
from twin.site import Door, MusterPoint, Site, Space, Stair, Storey

FC = SFPE.door_capacity(1.0)  # 0.921 p/s through a 1 m door (We = 0.70 m)


def rimea9(doors: int = 4) -> Site:
    """RiMEA test 9: a 30 x 20 m hall, 1 m doors at x = 4-5 and 25-26 on both long walls."""
    s = Site(name="rimea9", source="test", schema="test")
    s.storeys = [Storey("G", "G", 0.0)]
    s.spaces["H"] = Space("H", "Hall", "G", box(0, 0, 30, 20), 0.0, 3.0)
    for did, x, y in (("D1", 4.5, 0.0), ("D2", 25.5, 20.0), ("D3", 25.5, 0.0), ("D4", 4.5, 20.0))[:doors]:
        s.doors[did] = Door(did, did, (x, y, 1.0), 1.0, ("H",), storey="G", external=True, exit=True)
    s.muster["M"] = MusterPoint("M", "M", (15.0, -30.0, 0.0))
    return s


def crowd_xy(n: int, seed: int = 9) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(2, 28, n), rng.uniform(2, 18, n)])  # the inner 26 x 16 m


def simulate(g, people: list[Person], flow: str, closed=()) -> float:
    m = DrillModel(g, seed=3, flow=flow, closed=closed, log_trajectories=False)
    m.add_people(people)
    m.crowd.alarm()
    m.run(until=1e6)
    t = m.crowd.t_exit[: m.crowd.n]
    m.release()
    return float(np.nanmax(t)) if np.isfinite(t).any() else math.nan


@pytest.mark.parametrize("doors, hand", [(4, 1000 / (4 * FC)), (2, 1000 / (2 * FC))])
def test_rimea9_hand_numbers(doors, hand):
    # Reference section 3, example A: 1000 / (4 x 0.921) = 271 s, 2 doors 543 s. Everyone starts at the
    # alarm at 1.34 m/s; the nearest person is about 2 m from a door, so the bound is the hand number
    # plus about 1.5 s of first walk (section 4's networkx check, with tau = 12 s, gave 283 s).
    g = build_graph(rimea9(doors))
    xy = crowd_xy(1000)
    t0 = time.perf_counter()
    r = flow_lower_bound(g, xy, ["H"] * 1000, np.zeros(1000), SFPE, 1.34)
    elapsed = time.perf_counter() - t0
    assert r.method == "time-expanded max flow"
    assert hand < r.expanded < hand + 4.0
    assert hand < r.cut < hand + 4.0
    assert r.expanded >= r.cut - 1.0  # the time expansion loses less than a period to rounding
    assert r.t == max(r.expanded, r.cut, r.free_walk)
    assert r.free_walk < 20.0  # farthest walk about 15 m: the doors control
    assert r.critical == "exits " + ", ".join(f"D{k}" for k in range(1, doors + 1))
    assert elapsed < 5.0


def test_rimea9_two_doors_take_twice_as_long_and_simulation_is_slower():
    xy = crowd_xy(1000)
    r4 = flow_lower_bound(build_graph(rimea9(4)), xy, ["H"] * 1000, np.zeros(1000), SFPE, 1.34)
    g2 = build_graph(rimea9(2))
    r2 = flow_lower_bound(g2, xy, ["H"] * 1000, np.zeros(1000), SFPE, 1.34)
    assert (r2.t - 1.5) / (r4.t - 1.5) == pytest.approx(2.0, rel=0.01)
    t_sim = simulate(g2, [Person("H", tuple(p), 1.34, 0.0) for p in xy], "sfpe")
    assert t_sim >= r2.t
    assert t_sim - r2.t < 15.0  # the crowd model keeps both doors busy: little behaviour loss


def test_cut_bound_alone_for_large_networks():
    g = build_graph(rimea9(4))
    xy = crowd_xy(1000)
    full = flow_lower_bound(g, xy, ["H"] * 1000, np.zeros(1000), SFPE, 1.34)
    cut = flow_lower_bound(g, xy, ["H"] * 1000, np.zeros(1000), SFPE, 1.34, max_nodes=100)
    assert cut.method == "cut bound" and math.isnan(cut.expanded)
    assert cut.t == pytest.approx(full.cut) and cut.critical == full.critical


def corridor(length: float = 40.0) -> Site:
    s = Site(name="c", source="t", schema="t")
    s.storeys = [Storey("G", "G", 0.0)]
    s.spaces["C"] = Space("C", "Corridor", "G", box(0, 0, length, 2), 0.0, 3.0)
    s.doors["E"] = Door("E", "E", (length, 1.0, 1.0), 1.0, ("C",), storey="G", external=True, exit=True)
    s.muster["M"] = MusterPoint("M", "M", (length / 2, -30.0, 0.0))
    return s


def test_single_walker_bound_is_exact():
    # 2 s pre-movement, 39.5 m at 1.25 m/s and one passage of the exit (1 / 0.921 s): the simulator's
    # time exactly, so the free-walk bound is tight.
    g = build_graph(corridor())
    r = flow_lower_bound(g, [[0.5, 1.0]], ["C"], np.array([2.0]), SFPE, 1.25)
    hand = 2.0 + 39.5 / 1.25 + 1 / FC
    assert r.free_walk == pytest.approx(hand, abs=1e-6) and r.free_walk <= hand
    assert r.t == r.free_walk and r.critical == "walk"
    assert simulate(g, [Person("C", (0.5, 1.0), 1.25, 2.0)], "sfpe") == pytest.approx(hand, abs=1e-9)


def two_storeys(stair_width: float = 1.2) -> Site:
    s = Site(name="s", source="t", schema="t")
    s.storeys = [Storey("G", "G", 0.0), Storey("U", "U", 3.0)]
    s.spaces["A"] = Space("A", "Ground", "G", box(0, 0, 10, 10), 0.0, 3.0)
    s.spaces["B"] = Space("B", "Upper", "U", box(0, 0, 10, 10), 3.0, 3.0)
    s.doors["E1"] = Door("E1", "E1", (5.0, 0.0, 1.0), 2.0, ("A",), storey="G", external=True, exit=True)
    s.stairs["S1"] = Stair("S1", "S1", "A", "B", (2.0, 2.0), (2.0, 8.0), 0.0, 3.0, length=math.hypot(6, 3),
                           width=stair_width, riser=0.178, tread=0.279)
    s.muster["M"] = MusterPoint("M", "M", (5.0, -30.0, 0.0))
    return s


def test_stair_controls_upper_storey():
    # 200 people upstairs, one 1.2 m stair of 0.92 p/s (example C: 1.015 p/(s m) x 0.90 m) below a 2 m exit
    g = build_graph(two_storeys())
    rng = np.random.default_rng(4)
    xy = np.column_stack([rng.uniform(1, 9, 200), rng.uniform(1, 9, 200)])
    r = flow_lower_bound(g, xy, ["B"] * 200, np.zeros(200), SFPE, 1.3)
    cap = SFPE.stair_capacity(1.2, 0.178, 0.279)
    assert r.critical == "stair S1"
    assert 200 / cap < r.cut < 200 / cap + 15.0
    assert r.expanded >= r.cut - 1.0
    t_sim = simulate(g, [Person("B", tuple(p), 1.3, 0.0) for p in xy], "sfpe")
    assert t_sim >= r.t


def test_interior_door_is_a_cut():
    # An office of 120 behind one 0.9 m door into a hall with two 2 m exits: the office door controls.
    s = Site(name="o", source="t", schema="t")
    s.storeys = [Storey("G", "G", 0.0)]
    s.spaces["O"] = Space("O", "Office", "G", box(0, 0, 8, 8), 0.0, 3.0)
    s.spaces["H"] = Space("H", "Hall", "G", box(8, 0, 20, 8), 0.0, 3.0)
    s.doors["D"] = Door("D", "D", (8.0, 4.0, 1.0), 0.9, ("O", "H"), storey="G")
    for did, x in (("X1", 12.0), ("X2", 16.0)):
        s.doors[did] = Door(did, did, (x, 0.0, 1.0), 2.0, ("H",), storey="G", external=True, exit=True)
    g = build_graph(s)
    rng = np.random.default_rng(5)
    xy = np.column_stack([rng.uniform(0.5, 7.5, 120), rng.uniform(0.5, 7.5, 120)])
    r = flow_lower_bound(g, xy, ["O"] * 120, np.full(120, 10.0), SFPE, 1.2)
    assert r.critical == "door D"
    assert r.cut > 10.0 + 120 / SFPE.door_capacity(0.9)
    assert simulate(g, [Person("O", tuple(p), 1.2, 10.0) for p in xy], "sfpe") >= r.t


def test_closed_doors():
    g = build_graph(rimea9(4))
    xy = crowd_xy(300)
    open4 = flow_lower_bound(g, xy, ["H"] * 300, np.zeros(300), EMPIRICAL, 1.34)
    shut = flow_lower_bound(g, xy, ["H"] * 300, np.zeros(300), EMPIRICAL, 1.34, closed=["D1", "D3"])
    assert shut.t > 1.8 * (open4.t - 3.0)
    assert shut.critical == "exits D2, D4"
    t_sim = simulate(g, [Person("H", tuple(p), 1.34, 0.0) for p in xy], "empirical", closed=["D1", "D3"])
    assert t_sim >= shut.t
    none = flow_lower_bound(g, xy, ["H"] * 300, np.zeros(300), EMPIRICAL, 1.34, closed=["D1", "D2", "D3", "D4"])
    assert none.t == 0.0 and none.critical == "nobody can reach an exit"
    with pytest.raises(ValueError, match="unknown"):
        flow_lower_bound(g, xy[:1], ["nowhere"], np.zeros(1), SFPE, 1.34)


# ------------------------------------------------------------------------------- property: valid bound
def rooms_in_a_row(rng: np.random.Generator):
    """1-4 rooms in a row joined by doors of 0.8-2 m, exits at one or both ends."""
    k = int(rng.integers(1, 5))
    depth = float(rng.uniform(3.0, 10.0))
    widths = rng.uniform(3.0, 12.0, k)
    x = np.concatenate([[0.0], np.cumsum(widths)])
    s = Site(name="row", source="t", schema="t")
    s.storeys = [Storey("G", "G", 0.0)]
    for i in range(k):
        s.spaces[f"R{i}"] = Space(f"R{i}", f"R{i}", "G", box(x[i], 0, x[i + 1], depth), 0.0, 3.0)

    def door_y(w):
        return float(rng.uniform(w / 2 + 0.1, depth - w / 2 - 0.1))

    for i in range(k - 1):
        w = float(rng.uniform(0.8, 2.0))
        s.doors[f"D{i}"] = Door(f"D{i}", f"D{i}", (x[i + 1], door_y(w), 1.0), w, (f"R{i}", f"R{i + 1}"), storey="G")
    ends = [("W", 0, 0.0), ("E", k - 1, x[-1])]
    which = [ends[int(rng.integers(0, 2))]] if rng.random() < 0.5 else ends
    for did, room, xe in which:
        w = float(rng.uniform(0.8, 2.0))
        s.doors[did] = Door(did, did, (xe, door_y(w), 1.0), w, (f"R{room}",), storey="G", external=True,
                            exit=True)
    s.muster["M"] = MusterPoint("M", "M", (x[-1] / 2, -30.0, 0.0))
    closed = []
    if len(which) == 2 and k > 1 and rng.random() < 0.25:
        closed = [which[int(rng.integers(0, 2))][0]]
    n = int(rng.integers(1, 301))
    room = rng.integers(0, k, n)
    px = x[room] + rng.uniform(0.2, 0.8, n) * widths[room]
    py = rng.uniform(0.2, 0.8, n) * depth
    if rng.random() < 0.5:
        speed = rng.uniform(0.5, 1.8, n)
    else:
        speed = np.full(n, float(rng.uniform(0.6, 1.6)))
    pre = rng.uniform(0.0, 60.0, n) if rng.random() < 0.5 else np.zeros(n)
    people = [Person(f"R{r}", (float(a), float(b)), float(v), float(p))
              for r, a, b, v, p in zip(room, px, py, speed, pre, strict=True)]
    return s, people, closed


def check_bound_holds(seed: int, flow: str):
    s, people, closed = rooms_in_a_row(np.random.default_rng(seed))
    g = build_graph(s)
    t_sim = simulate(g, people, flow, closed=closed)
    xy = np.array([p.xy for p in people])
    r = flow_lower_bound(g, xy, [p.space for p in people], np.array([p.premovement for p in people]),
                         calibration(flow), np.array([p.speed for p in people]), closed=closed)
    assert t_sim >= r.t - 1e-6, (seed, flow, t_sim, r)
    return t_sim, r


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), flow=st.sampled_from(["sfpe", "empirical"]))
def test_simulator_never_beats_the_bound(seed, flow):
    check_bound_holds(seed, flow)


def two_storeys_of_rooms(rng: np.random.Generator):
    """1-3 rooms in a row on two storeys, 1-2 stairs between them, exits on the ground storey."""
    s = Site(name="st", source="t", schema="t")
    s.storeys = [Storey("G", "G", 0.0), Storey("U", "U", 3.0)]
    k = int(rng.integers(1, 4))
    depth = float(rng.uniform(4.0, 10.0))
    widths = rng.uniform(4.0, 12.0, k)
    x = np.concatenate([[0.0], np.cumsum(widths)])

    def door_y(w):
        return float(rng.uniform(w / 2 + 0.1, depth - w / 2 - 0.1))

    for lvl, z in (("G", 0.0), ("U", 3.0)):
        for i in range(k):
            s.spaces[f"{lvl}{i}"] = Space(f"{lvl}{i}", f"{lvl}{i}", lvl, box(x[i], 0, x[i + 1], depth), z, 3.0)
        for i in range(k - 1):
            w = float(rng.uniform(0.8, 2.0))
            s.doors[f"{lvl}D{i}"] = Door(f"{lvl}D{i}", "d", (x[i + 1], door_y(w), z + 1), w,
                                         (f"{lvl}{i}", f"{lvl}{i + 1}"), storey=lvl)
    for j in range(int(rng.integers(1, 3))):
        i = int(rng.integers(0, k))
        y0 = float(rng.uniform(0.5, depth / 2 - 0.5))
        xs = float(rng.uniform(x[i] + 0.5, x[i + 1] - 0.5))
        s.stairs[f"S{j}"] = Stair(f"S{j}", f"S{j}", f"G{i}", f"U{i}", (xs, y0), (xs, y0 + depth / 2), 0.0, 3.0,
                                  length=math.hypot(depth / 2, 3.0), width=float(rng.uniform(0.9, 2.0)),
                                  riser=0.178, tread=0.279)
    ends = [("W", 0, 0.0), ("E", k - 1, x[-1])]
    for did, room, xe in ([ends[int(rng.integers(0, 2))]] if rng.random() < 0.5 else ends):
        w = float(rng.uniform(0.8, 2.0))
        s.doors[did] = Door(did, did, (xe, door_y(w), 1.0), w, (f"G{room}",), storey="G", external=True,
                            exit=True)
    s.muster["M"] = MusterPoint("M", "M", (x[-1] / 2, -30.0, 0.0))
    n = int(rng.integers(1, 301))
    lvl = rng.choice(["G", "U"], n, p=[0.3, 0.7])
    room = rng.integers(0, k, n)
    px = x[room] + rng.uniform(0.2, 0.8, n) * widths[room]
    py = rng.uniform(0.2, 0.8, n) * depth
    speed = rng.uniform(0.5, 1.8, n) if rng.random() < 0.5 else np.full(n, float(rng.uniform(0.6, 1.6)))
    pre = rng.uniform(0.0, 60.0, n) if rng.random() < 0.5 else np.zeros(n)
    return s, [Person(f"{lv}{r}", (float(a), float(b)), float(v), float(p))
               for lv, r, a, b, v, p in zip(lvl, room, px, py, speed, pre, strict=True)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), flow=st.sampled_from(["sfpe", "empirical"]))
def test_simulator_never_beats_the_bound_with_stairs(seed, flow):
    s, people = two_storeys_of_rooms(np.random.default_rng(seed))
    g = build_graph(s)
    t_sim = simulate(g, people, flow)
    r = flow_lower_bound(g, np.array([p.xy for p in people]), [p.space for p in people],
                         np.array([p.premovement for p in people]), calibration(flow),
                         np.array([p.speed for p in people]))
    assert t_sim >= r.t - 1e-6, (seed, flow, t_sim, r)


def test_network_shared_across_calls_gives_the_same_bound():
    # Replications share the site's flow network (built once per graph, calibration and locked doors):
    # a second call on the same graph, and a call on a fresh copy of the graph, give identical results,
    # and a different set of locked doors gets its own network.
    from agents import bound

    site = rimea9(4)
    g = build_graph(site)
    xy = crowd_xy(300)
    args = (["H"] * 300, np.zeros(300), EMPIRICAL, 1.34)
    first = flow_lower_bound(g, xy, *args)
    again = flow_lower_bound(g, xy, *args)
    fresh = flow_lower_bound(build_graph(rimea9(4)), xy, *args)
    assert first == again == fresh
    shut = flow_lower_bound(g, xy, *args, closed=["D1", "D3"])
    assert shut.t > first.t
    assert bound._net_for(g, EMPIRICAL, set(), None) is bound._net_for(g, EMPIRICAL, set(), None)
    assert bound._net_for(g, EMPIRICAL, {"D1"}, None) is not bound._net_for(g, EMPIRICAL, set(), None)


def test_csr_keeps_the_smallest_parallel_arc():
    # _csr builds the compressed arrays directly; it must equal the coordinate form of the deduplicated
    # arcs (scipy would add parallel arcs; the bound needs the least time of them)
    from scipy.sparse import csr_matrix

    from agents.bound import _EPS_W, _csr

    rows = np.array([2, 0, 0, 1, 2, 0])
    cols = np.array([1, 1, 1, 2, 1, 2])
    w = np.array([5.0, 3.0, 1.0, 4.0, 2.0, 0.0])
    m = _csr(rows, cols, w, 3)
    ref = csr_matrix((np.array([1.0, 0.0, 4.0, 2.0]) + _EPS_W, (np.array([0, 0, 1, 2]), np.array([1, 2, 2, 1]))),
                     shape=(3, 3))
    assert np.array_equal(m.indptr, ref.indptr) and np.array_equal(m.indices, ref.indices)
    assert np.array_equal(m.data, ref.data)
