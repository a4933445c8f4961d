"""Helpers for the evacuation-model verification tests (RiMEA, NIST TN 1822, SFPE worked examples).

Each test builds its site as a sketch dict (CONTRACTS section 2), writes it and a scenario to ``tmp_path``
and runs the drill engine on them:

>>> res = run_drill(tmp_path, site, scenario, seed=1)          # doctest: +SKIP

"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from drills.sim.engine import RunResult, build_run, run_scenario
from drills.spec.scenario import Scenario, scenario_from_dict

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = [
    "rect",
    "write_drill",
    "run_drill",
    "run_probed",
    "node_times",
    "exit_times",
    "exit_doors",
    "points_as_population",
    "grid_points",
    "door_node",
    "stair_nodes",
    "steady_rate",
]


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """The polygon of an axis-aligned rectangle (m)."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def write_drill(tmp_path: Path, site: dict, scenario: dict, name: str = "drill") -> Path:
    """Write ``<name>.site.yaml`` and ``<name>.yaml`` (the scenario, its ``site`` set) and return the
    scenario's path."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    site_file = tmp_path / f"{name}.site.yaml"
    site_file.write_text(yaml.dump(site, Dumper=_Dumper, sort_keys=False), encoding="utf-8")
    sc = copy.deepcopy(scenario)
    sc.setdefault("name", name)
    sc["site"] = site_file.name
    sc_file = tmp_path / f"{name}.yaml"
    sc_file.write_text(yaml.dump(sc, Dumper=_Dumper, sort_keys=False), encoding="utf-8")
    return sc_file


def read_scenario(path: Path) -> Scenario:
    """:func:`drills.spec.scenario.load_scenario` with libyaml's parser (a scenario of 1000 one-person
    entries takes seconds to parse in pure Python)."""
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_Loader)
    return scenario_from_dict(data, path)


def run_drill(tmp_path: Path, site: dict, scenario: dict, seed: int = 1, name: str = "drill") -> RunResult:
    """Write the site sketch and the scenario to ``tmp_path``, load both as the CLI would and run them."""
    path = write_drill(tmp_path, site, scenario, name)
    return run_scenario(read_scenario(path), seed)


def run_probed(tmp_path: Path, site: dict, scenario: dict, every: float,
               probe: Callable[[Any, float], None], seed: int = 1, name: str = "drill"):
    """Run a drill with ``probe(crowd, t)`` called every ``every`` seconds of simulated time (a SimPy
    process beside the crowd, like an observer with a stopwatch). Returns the built run."""
    path = write_drill(tmp_path, site, scenario, name)
    sc = read_scenario(path)
    run = build_run(sc, seed)
    env = run.model.env
    crowd = run.model.crowd

    def monitor():
        while True:
            probe(crowd, env.now)
            yield env.timeout(every)

    env.process(monitor())
    run.model.run(until=sc.duration)
    return run


def node_times(res: RunResult) -> dict[str, dict[int, float]]:
    """``{node: {agent: first arrival time}}`` from the trajectories."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for agent, t, node in res.trajectories:
        out[node].setdefault(agent, t)
    return out


def exit_times(res: RunResult) -> dict[str, np.ndarray]:
    """Sorted exit times per exit node (``d:<door id>``) from the ``exit`` events."""
    out: dict[str, list[float]] = defaultdict(list)
    for t, kind, _agent, node, _detail in res.events:
        if kind == "exit":
            out[node].append(t)
    return {k: np.sort(np.asarray(v)) for k, v in out.items()}


def exit_doors(res: RunResult) -> dict[int, str]:
    """``{agent: door name}`` of the door each person left by."""
    nav = res.extra["graph"].nav
    return {a: nav.nodes[n]["name"] for t, k, a, n, _ in res.events if k == "exit"}


def door_node(res: RunResult, name: str) -> str:
    """Navigation node id (``d:<id>``) of the door named ``name``."""
    site = res.extra["graph"].site
    return f"d:{site.find('doors', name)}"


def stair_nodes(res: RunResult, name: str) -> tuple[str, str]:
    """(bottom, top) navigation node ids of the stair named ``name``."""
    site = res.extra["graph"].site
    sid = site.find("stairs", name)
    return f"s:{sid}:b", f"s:{sid}:t"


def points_as_population(points: Iterable[tuple[float, float]], where: str, **fields) -> list[dict]:
    """One population entry of one person per point (to fill part of a space exactly)."""
    return [{"where": where, "count": 1, "at": [round(float(x), 4), round(float(y), 4)], **fields}
            for x, y in points]


def grid_points(x0: float, y0: float, x1: float, y1: float, nx: int, ny: int) -> list[tuple[float, float]]:
    """``nx * ny`` points on a regular grid filling the rectangle (cell centres)."""
    xs = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    ys = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
    return [(float(x), float(y)) for x in xs for y in ys]


def steady_rate(times: np.ndarray, lo: float = 0.1, hi: float = 0.9) -> float:
    """Persons per second over the steady middle of a sorted list of passage times (from the
    ``lo`` to the ``hi`` quantile of the people, by rank)."""
    t = np.sort(np.asarray(times, dtype=float))
    i, j = int(round(lo * (len(t) - 1))), int(round(hi * (len(t) - 1)))
    return (j - i) / (t[j] - t[i])
