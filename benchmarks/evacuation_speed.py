"""Evacuation speed: our event-driven hydraulic model against JuPedSim, and how it scales.

Three measurements in one process (each run's numbers are taken in the same run, so the ratios compare
like with like on whatever the machine is doing at the time):

1. **RiMEA 9** (``ifc_models/rimea9.site.yaml``: a 30 m x 20 m room, four 1 m doors, 1000 people spread
   over the inner 26 m x 16 m, no pre-movement). Ours with the ``sfpe`` calibration (the hand
   calculation gives 271-275 s) and the ``empirical`` one, best of ``REPEAT`` runs, against one run of
   JuPedSim's CollisionFreeSpeedModel on the same room (dt 0.01 s, 1 m x 1 m door stubs with the exit
   stage in their outer half, agents placed with ``jupedsim.distribute_by_number`` and sent to their
   nearest door, v0 1.2 m/s, r 0.2 m). JuPedSim 1.4.2 freezes at 1 m doors (two agents at the jambs stop
   for good), so its run stops when nobody has left for ``--stall`` simulated seconds ("froze, k agents
   stuck") or at ``--jps-max-time``. Throughput = the sum over agents of their time in the simulation
   (from t = 0 until they leave, or until the run stops) per wall second of the simulation loop; the
   target is ours >= 1000x JuPedSim's.
2. **Office, 10,000 people** (``ifc_models/office5.site.yaml``, five storeys, ``where: "*"``, pre-movement
   lognormal with median 60 s): the simulation's wall time (``RunResult.wall_s``; target < 3 s) and the
   total with loading the site, building the run and the KPIs.
3. **Scaling**: the same office at 1,000 ... 100,000 people (the geometry is fixed, so density and queues
   grow with N). The exponent ``b`` of ``wall ~ N^b`` is fitted by least squares on log-log; the target
   is ``b <= 1.1``. Sizes whose predicted wall time would overrun ``--budget`` (seconds for the whole
   script) are skipped and say so; ``--full`` runs them all.

Every simulation is timed in wall time and in CPU (process) time; on a busy machine the CPU figures are the
steadier ones. Prints tables and writes ``benchmarks/evacuation_speed.json``.
Run: ``.venv/bin/python benchmarks/evacuation_speed.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from drills.sim.engine import build_run, run_scenario  # noqa: E402
from drills.spec.scenario import scenario_from_dict  # noqa: E402
from twin.load import load_twin  # noqa: E402

RIMEA = REPO / "ifc_models" / "rimea9.site.yaml"
OFFICE = REPO / "ifc_models" / "office5.site.yaml"
OUT = HERE / "evacuation_speed.json"

REPEAT = 3  # best-of for runs that take well under a second
TARGET_RATIO = 1000.0  # our RiMEA 9 throughput / JuPedSim's
TARGET_OFFICE_WALL = 3.0  # s, 10,000 people in the office, simulation only
TARGET_EXPONENT = 1.1  # wall ~ N^b
SIZES = (1000, 3000, 10000, 30000, 100000)
OFFICE_N = 10000
SFPE_HAND = (271.0, 275.0)  # s, evacuation.md section 3, worked example A (Fs = 1.316 / 1.3)
JPS_REF = 166.9  # s, evacuation.md section 6, the one finished 4-door run with v0 = 1.2 m/s


# ------------------------------------------------------------------------------------------- ours
def rimea_scenario(flow: str, seed: int) -> dict:
    return {
        "name": f"RiMEA 9, 4 doors ({flow})",
        "site": str(RIMEA),
        "seed": seed,
        "duration": "2h",
        "flow": flow,
        "people": {"premovement": "0s"},  # RiMEA: immediate reaction; speeds: Weidmann N(1.34, 0.26)
        "population": [{"where": "Hall", "count": 1000, "margin": 2}],  # the inner 26 m x 16 m
        "alarm": {"at": 0},
    }


def office_scenario(n: int, seed: int) -> dict:
    return {
        "name": f"Office, {n} people",
        "site": str(OFFICE),
        "seed": seed,
        "duration": "1000h",  # long enough for 100,000 people in a fixed building
        "flow": "sfpe",
        "people": {"premovement": {"dist": "lognormal", "median": "60s", "sigma": 0.5}},
        "population": [{"where": "*", "count": n}],
        "alarm": {"at": 0},
    }


def simulate_only(sc, graph, trajectories: bool) -> dict[str, Any]:
    """Build the run with :func:`drills.sim.engine.build_run`, then time the SimPy clock alone: the span
    ``run_scenario`` reports as ``RunResult.wall_s``, in wall and in CPU (process) time, without the KPIs."""
    t = time.perf_counter()
    run = build_run(sc, graph=graph, log_trajectories=trajectories)
    build = time.perf_counter() - t
    w0, c0 = time.perf_counter(), time.process_time()
    run.model.run(until=sc.duration)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    c = run.model.crowd
    t_exit = np.array(c.t_exit[: c.n], dtype=float)
    run.model.release()
    ok = np.isfinite(t_exit)
    return {"build_s": build, "wall_s": wall, "cpu_s": cpu, "t_exit": t_exit, "safe": int(ok.sum()),
            "t_evacuated": float(t_exit.max()) if len(t_exit) and ok.all() else None,
            "t50": float(np.median(t_exit[ok])) if ok.any() else None}


def run_ours(data: dict, graph, repeat: int = 1, trajectories: bool = True, kpis: bool = True) -> dict[str, Any]:
    """Run a scenario (same seed) ``repeat`` times with :func:`simulate_only` (wall and CPU time of the
    clock, build time) and, with ``kpis``, ``repeat`` times with :func:`drills.sim.engine.run_scenario`.

    ``wall_s`` is then the best ``RunResult.wall_s`` and ``total_s`` the best whole ``run_scenario`` call
    (build the run, simulate, KPIs including the flow lower bound); without ``kpis`` (the scaling runs, so
    that the KPI lower bound, not under test here, does not eat the time budget) it is the best clock time
    of :func:`simulate_only`.
    """
    sc = scenario_from_dict(data)
    sims = [simulate_only(sc, graph, trajectories) for _ in range(repeat)]
    out: dict[str, Any] = {"sim_wall_runs": [r["wall_s"] for r in sims], "cpu_s": min(r["cpu_s"] for r in sims),
                           "build_s": min(r["build_s"] for r in sims)}
    last = sims[-1]
    t_exit, t_evac, t50 = last["t_exit"], last["t_evacuated"], last["t50"]
    out["safe"] = last["safe"]
    if kpis:
        walls, totals = [], []
        for _ in range(repeat):
            t = time.perf_counter()
            res = run_scenario(sc, graph=graph, log_trajectories=trajectories)
            totals.append(time.perf_counter() - t)
            walls.append(res.wall_s)
        k = res.kpis
        t_exit, t_evac, t50 = res.people["t_exit"], k["t_evacuated"], k.get("t_evacuated_p50")
        out.update(safe=k["safe"], trapped=k["trapped"], exit_counts=k["exit_counts"],
                   t95=k.get("t_evacuated_p95"), t_lower_bound=k.get("t_lower_bound"),
                   wall_runs=walls, wall_s=min(walls), total_s=min(totals),
                   kpis_s=max(min(totals) - min(walls) - out["build_s"], 0.0))
    else:
        out.update(wall_s=min(out["sim_wall_runs"]), total_s=None)
    n = len(t_exit)
    done = np.isfinite(t_exit)
    t_end = t_evac if t_evac is not None else sc.duration
    agent_s = float(np.where(done, t_exit, t_end).sum())
    wall = out["wall_s"]
    out.update({
        "status": "finished" if t_evac is not None else "unfinished",
        "n": n,
        "t_evacuated": t_evac,
        "t50": t50,
        "agent_seconds": agent_s,
        "throughput": agent_s / wall if wall > 0 else math.inf,
        "throughput_cpu": agent_s / out["cpu_s"] if out["cpu_s"] > 0 else math.inf,
        "sim_per_wall": (t_end / wall) if wall > 0 else math.inf,
        "us_per_person": 1e6 * wall / max(n, 1),
    })
    return out


# --------------------------------------------------------------------------------------- JuPedSim
def rimea_geometry() -> tuple[Any, Any, list[tuple[Any, Any, tuple[float, float]]]]:
    """(walkable polygon, inner start area, [(stub, exit stage, door centre)]) from the site sketch:
    the room plus a 1 m x 1 m stub outside each door, the exit stage in the stub's outer half."""
    from shapely.geometry import Polygon, box
    from shapely.ops import unary_union

    site = yaml.safe_load(RIMEA.read_text(encoding="utf-8"))
    st = site["storeys"][0]
    room = Polygon(st["spaces"][0]["polygon"])
    x0, y0, x1, y1 = room.bounds
    doors = []
    for d in st["doors"]:
        x, y = (float(v) for v in d["at"][:2])
        h = float(d["width"]) / 2
        if abs(y - y0) < 1e-6:
            stub, stage = box(x - h, y0 - 1, x + h, y0), box(x - h, y0 - 1, x + h, y0 - 0.5)
        elif abs(y - y1) < 1e-6:
            stub, stage = box(x - h, y1, x + h, y1 + 1), box(x - h, y1 + 0.5, x + h, y1 + 1)
        elif abs(x - x0) < 1e-6:
            stub, stage = box(x0 - 1, y - h, x0, y + h), box(x0 - 1, y - h, x0 - 0.5, y + h)
        else:
            stub, stage = box(x1, y - h, x1 + 1, y + h), box(x1 + 0.5, y - h, x1 + 1, y + h)
        doors.append((stub, stage, (x, y)))
    walkable = unary_union([room] + [s for s, _, _ in doors])
    if walkable.geom_type != "Polygon":
        raise RuntimeError("room and door stubs do not form one polygon")
    inner = box(x0 + 2, y0 + 2, x1 - 2, y1 - 2)
    return walkable, inner, doors


def run_jupedsim(n: int, seed: int, max_time: float, stall: float, wall_cap: float, v0: float = 1.2,
                 dt: float = 0.01) -> dict[str, Any]:
    """One JuPedSim CollisionFreeSpeedModel run of RiMEA 9, stopped by the stall detector, ``max_time``
    (simulated s) or ``wall_cap`` (wall s). Wall time counts the iteration loop only."""
    try:
        import jupedsim as jps
    except Exception as e:  # ImportError, or a broken binary wheel
        return {"status": "n/a", "reason": f"import jupedsim failed: {type(e).__name__}: {e}"}
    t_setup = time.perf_counter()
    walkable, inner, doors = rimea_geometry()
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=walkable, dt=dt)
    stages, journeys = [], []
    for _, stage, _ in doors:
        sid = sim.add_exit_stage(list(stage.exterior.coords)[:-1])
        stages.append(sid)
        journeys.append(sim.add_journey(jps.JourneyDescription([sid])))
    pos = jps.distribute_by_number(polygon=inner, number_of_agents=n, distance_to_agents=0.4,
                                   distance_to_polygon=0.2, seed=seed)
    centres = np.array([c for _, _, c in doors])
    per_door = [0] * len(doors)
    for p in pos:
        k = int(np.argmin(np.hypot(centres[:, 0] - p[0], centres[:, 1] - p[1])))
        per_door[k] += 1
        sim.add_agent(jps.CollisionFreeSpeedModelAgentParameters(
            journey_id=journeys[k], stage_id=stages[k], position=p, radius=0.2, desired_speed=v0))
    setup = time.perf_counter() - t_setup
    n0 = sim.agent_count()
    exits: list[float] = []
    agent_s = 0.0
    last_exit = 0.0
    status = "finished"
    w0, c0 = time.perf_counter(), time.process_time()
    while True:
        count = sim.agent_count()
        t = sim.elapsed_time()
        if count == 0:
            break
        if t - last_exit >= stall:
            status = "froze"
            break
        if t >= max_time:
            status = "capped"
            break
        if time.perf_counter() - w0 > wall_cap:
            status = "wall-capped"
            break
        sim.iterate()
        agent_s += count * dt  # everyone present during the step
        left = count - sim.agent_count()
        if left:
            last_exit = sim.elapsed_time()
            exits.extend([last_exit] * left)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    t_end = sim.elapsed_time()
    stuck = sim.agent_count()
    return {
        "status": status,
        "n": n0,
        "per_door": per_door,
        "stuck": stuck,
        "t_evacuated": last_exit if status == "finished" else None,
        "last_exit": last_exit if exits else None,
        "t50": float(np.median(exits)) if len(exits) * 2 >= n0 else None,
        "t_end": t_end,
        "wall_s": wall,
        "cpu_s": cpu,
        "setup_s": setup,
        "agent_seconds": agent_s,
        "throughput": agent_s / wall if wall > 0 else math.inf,
        "throughput_cpu": agent_s / cpu if cpu > 0 else math.inf,
        "sim_per_wall": t_end / wall if wall > 0 else math.inf,
        "version": getattr(jps, "__version__", "?"),
        "params": {"model": "CollisionFreeSpeedModel (defaults)", "dt": dt, "v0": v0, "radius": 0.2,
                   "distance_to_agents": 0.4, "distance_to_polygon": 0.2, "seed": seed,
                   "stall_s": stall, "max_time_s": max_time, "wall_cap_s": wall_cap},
    }


# ---------------------------------------------------------------------------------------- helpers
def fit_exponent(ns: list[int], walls: list[float]) -> float | None:
    """Least-squares slope of log(wall) on log(N)."""
    if len(ns) < 2:
        return None
    b, _ = np.polyfit(np.log(ns), np.log(walls), 1)
    return float(b)


def f(x: float | None, fmt: str = ".1f", na: str = "-") -> str:
    return na if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def verdict(ok: bool | None) -> str:
    return "[dim]n/a[/]" if ok is None else ("[green]PASS[/]" if ok else "[red]FAIL[/]")


def jps_status(j: dict) -> str:
    s = j["status"]
    if s == "n/a":
        return "n/a"
    if s == "froze":
        return f"froze, {j['stuck']} agents stuck"
    if s in ("capped", "wall-capped"):
        return f"{s} at {j['t_end']:.0f} s, {j['stuck']} left"
    return "finished"


def git_state() -> dict[str, Any]:
    """The commit measured and whether the engine's files differ from it (others edit them)."""
    import subprocess

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = git("status", "--porcelain", "--", "agents", "drills", "twin").splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "engine_changes_not_committed": dirty}


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=float, default=300.0, help="s for the whole script (scaling sizes "
                    "that would overrun it are skipped)")
    ap.add_argument("--full", action="store_true", help="run every scaling size whatever the budget")
    ap.add_argument("--no-jupedsim", action="store_true", help="skip the JuPedSim run")
    ap.add_argument("--jps-max-time", type=float, default=400.0, help="simulated s cap for JuPedSim")
    ap.add_argument("--jps-wall-cap", type=float, default=240.0, help="wall s cap for JuPedSim")
    ap.add_argument("--stall", type=float, default=60.0, help="simulated s with no exit = frozen")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--no-trajectories", action="store_true",
                    help="run without trajectory logging (default: logged, as `drilltwin run` does)")
    args = ap.parse_args(argv)
    traj = not args.no_trajectories
    start = time.perf_counter()
    con = Console(width=None if sys.stdout.isatty() else 140)
    load0 = loadavg()
    gs = git_state()
    con.print(f"[bold]Evacuation speed[/] | Python {platform.python_version()} | {platform.machine()} | "
              f"{os.cpu_count()} CPUs | load average {load0} | seed {args.seed} | commit {gs['commit']}"
              + (f" + {len(gs['engine_changes_not_committed'])} uncommitted engine file(s)"
                 if gs["engine_changes_not_committed"] else ""))

    # 1. RiMEA 9: ours, then JuPedSim ---------------------------------------------------------
    g_rimea = load_twin(RIMEA)
    ours = {flow: run_ours(rimea_scenario(flow, args.seed), g_rimea, REPEAT, traj) for flow in ("sfpe", "empirical")}
    if args.no_jupedsim:
        jps_res: dict[str, Any] = {"status": "n/a", "reason": "skipped (--no-jupedsim)"}
    else:
        con.print(f"JuPedSim: 1000 agents, dt 0.01 s, up to {args.jps_max_time:.0f} simulated s "
                  f"(stall detector {args.stall:.0f} s) ...")
        try:
            jps_res = run_jupedsim(1000, args.seed, args.jps_max_time, args.stall, args.jps_wall_cap)
        except Exception as e:  # a harness failure must not hide our numbers
            jps_res = {"status": "n/a", "reason": f"JuPedSim run failed: {type(e).__name__}: {e}"}
    jps_ok = jps_res["status"] != "n/a"
    sf = ours["sfpe"]

    def vs_jps(r: dict, key: str = "throughput") -> float | None:
        return r[key] / jps_res[key] if jps_ok and jps_res[key] > 0 else None

    ratio, ratio_cpu = vs_jps(sf), vs_jps(sf, "throughput_cpu")
    t = Table(title="RiMEA 9: 30 m x 20 m room, 4 doors of 1 m, 1000 people (inner 26 m x 16 m)")
    for c in ("model", "status", "evac [s]", "t50 [s]", "wall [s]", "CPU [s]", "agent-s", "agent-s/wall-s",
              "sim-s/wall-s", "vs JuPedSim (wall)", "(CPU)"):
        t.add_column(c, justify="left" if c in ("model", "status") else "right")
    for flow, r in ours.items():
        rr, rc = vs_jps(r), vs_jps(r, "throughput_cpu")
        t.add_row(f"drilltwin ({flow}), best of {REPEAT}", r["status"], f(r["t_evacuated"]), f(r["t50"]),
                  f(r["wall_s"], ".3f"), f(r["cpu_s"], ".3f"), f(r["agent_seconds"], ",.0f"),
                  f(r["throughput"], ",.0f"), f(r["sim_per_wall"], ",.0f"),
                  f(rr, ",.0f", "n/a") + ("x" if rr else ""), f(rc, ",.0f", "n/a") + ("x" if rc else ""))
    if jps_ok:
        j = jps_res
        evac = f(j["t_evacuated"]) if j["t_evacuated"] is not None else f"(last exit {f(j['last_exit'])})"
        t.add_row(f"JuPedSim {j['version']} CFSM", jps_status(j), evac, f(j["t50"]), f(j["wall_s"], ".1f"),
                  f(j["cpu_s"], ".1f"), f(j["agent_seconds"], ",.0f"), f(j["throughput"], ",.0f"),
                  f(j["sim_per_wall"], ".2f"), "1x", "1x")
    else:
        t.add_row("JuPedSim CFSM", *(["n/a"] * 10))
    con.print(t)
    con.print("  wall/CPU: the simulation clock only (ours: RunResult.wall_s; CPU from a build_run + clock run); "
              "agent-s: the sum over agents of their time in the simulation.")
    if not jps_ok:
        con.print(f"  JuPedSim n/a: {jps_res['reason']}")
    else:
        con.print(f"  JuPedSim: setup {jps_res['setup_s']:.2f} s (not in wall), agents per door "
                  f"{jps_res['per_door']}; a frozen run's wall includes the {args.stall:.0f} s stall window.")
    jt = jps_res.get("t_evacuated") if jps_ok else None
    con.print(f"  ours (sfpe) {f(sf['t_evacuated'])} s vs the SFPE hand calculation {SFPE_HAND[0]:.0f}-"
              f"{SFPE_HAND[1]:.0f} s (+ ~2 s walk-up); JuPedSim {f(jt, '.1f', 'no finish time')} s here, "
              f"{JPS_REF} s in the reference (evacuation.md section 6); ours/JuPedSim evacuation time "
              f"{f(sf['t_evacuated'] / jt if jt and sf['t_evacuated'] else None, '.2f', 'n/a')}")
    con.print(f"  throughput ratio ours (sfpe) / JuPedSim: {f(ratio, ',.0f', 'n/a')}{'x' if ratio else ''} wall, "
              f"{f(ratio_cpu, ',.0f', 'n/a')}{'x' if ratio_cpu else ''} CPU (target >= {TARGET_RATIO:,.0f}x) "
              f"{verdict(None if ratio is None else ratio >= TARGET_RATIO)}")

    # 2. Office, 10,000 people --------------------------------------------------------------------
    t0 = time.perf_counter()
    g_office = load_twin(OFFICE, cache=False)
    load_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_twin(OFFICE)
    load_cached = time.perf_counter() - t0
    office = run_ours(office_scenario(OFFICE_N, args.seed), g_office, 1, traj)
    office.update(load_s=load_cold, load_cached_s=load_cached, total_with_load_s=load_cold + office["total_s"])
    t = Table(title=f"Five-storey office ({len(g_office.space_zones)} walkable spaces), {OFFICE_N:,} people, "
                    "where: '*', pre-movement lognormal median 60 s")
    for c in ("part", "wall [s]", "target", "verdict"):
        t.add_column(c, justify="left" if c == "part" else "right")
    t.add_row("load site: sketch -> graphs (no cache)", f(load_cold, ".2f"), "", "")
    t.add_row("  (same, from the twin cache)", f(load_cached, ".2f"), "", "")
    t.add_row("build run (place people, schedule cues)", f(office["build_s"], ".2f"), "", "")
    t.add_row("[bold]simulation (RunResult.wall_s)[/]", f(office["wall_s"], ".2f"), f"< {TARGET_OFFICE_WALL:.0f}",
              verdict(office["wall_s"] < TARGET_OFFICE_WALL))
    t.add_row("  (same span in a second run: wall / CPU)",
              f"{office['sim_wall_runs'][0]:.2f} / {office['cpu_s']:.2f}", "", "")
    t.add_row("KPIs (incl. flow lower bound)", f(office["kpis_s"], ".2f"), "", "")
    t.add_row("total: load (no cache) + run_scenario", f(office["total_with_load_s"], ".2f"), "", "")
    con.print(t)
    con.print(f"  evacuated {office['safe']:,}/{office['n']:,} in {f(office['t_evacuated'])} s (t50 "
              f"{f(office['t50'])} s); {office['throughput']:,.0f} agent-sim-s per wall-s; "
              f"{office['us_per_person']:.0f} us per person; exits {office['exit_counts']}")

    # 3. Scaling -------------------------------------------------------------------------------------
    rows: list[dict[str, Any]] = []
    done_n: list[int] = []
    done_w: list[float] = []
    done_c: list[float] = []
    for n in sorted(set(args.sizes)):
        if n == OFFICE_N:  # the office run above: the same clock span, measured twice
            w = min(office["sim_wall_runs"] + office["wall_runs"])
            r = dict(office, wall_s=w, us_per_person=1e6 * w / n, throughput=office["agent_seconds"] / w,
                     reused=True)
        else:
            pred = None
            if done_n:
                b = max(fit_exponent(done_n, done_w) or 1.0, 1.0)
                pred = done_w[-1] * (n / done_n[-1]) ** b
                left = args.budget - (time.perf_counter() - start)
                if not args.full and pred > left:
                    rows.append({"n": n, "status": "skipped", "predicted_wall_s": pred,
                                 "reason": f"predicted {pred:.0f} s > {max(left, 0):.0f} s left of the "
                                           f"{args.budget:.0f} s budget (--full runs it)"})
                    continue
            rep = REPEAT if n <= 3000 else 1
            con.print(f"scaling: {n:,} people ..." + (f" (predicted {pred:.0f} s)" if pred else ""))
            r = run_ours(office_scenario(n, args.seed), g_office, rep, traj, kpis=False)
        rows.append(dict(r, n=n))
        done_n.append(n)
        done_w.append(r["wall_s"])
        done_c.append(r["cpu_s"])
    b = fit_exponent(done_n, done_w)
    b_cpu = fit_exponent(done_n, done_c)
    t = Table(title="Scaling: the office at N people (fixed geometry), simulation only (build_run + clock)")
    for c in ("N", "runs", "status", "wall [s]", "CPU [s]", "us/person", "local b", "evac [s]", "agent-s/wall-s"):
        t.add_column(c, justify="right")
    prev = None
    for r in rows:
        if r["status"] == "skipped":
            t.add_row(f"{r['n']:,}", "", "[yellow]skipped[/]", f"(~{r['predicted_wall_s']:.0f})", "", "", "", "", "")
            continue
        lb = math.log(r["wall_s"] / prev["wall_s"]) / math.log(r["n"] / prev["n"]) if prev else None
        r["local_b"] = lb
        runs = "2 (office run)" if r.get("reused") else f"best of {len(r['sim_wall_runs'])}"
        t.add_row(f"{r['n']:,}", runs, r["status"], f(r["wall_s"], ".2f"), f(r["cpu_s"], ".2f"),
                  f(r["us_per_person"], ".0f"), f(lb, ".2f"), f(r["t_evacuated"], ".0f"), f(r["throughput"], ",.0f"))
        prev = r
    con.print(t)
    span = f"{min(done_n):,}-{max(done_n):,}" if done_n else "-"
    con.print(f"  fitted exponent b = {f(b, '.2f', 'n/a')} on wall time (CPU time: {f(b_cpu, '.2f', 'n/a')}) over "
              f"N = {span} ({len(done_n)} sizes; target b <= {TARGET_EXPONENT}) "
              f"{verdict(None if b is None else b <= TARGET_EXPONENT)}")
    for r in rows:
        if r["status"] == "skipped":
            con.print(f"  N = {r['n']:,} skipped: {r['reason']}")

    # summary and JSON -------------------------------------------------------------------------------
    elapsed = time.perf_counter() - start
    load1 = loadavg()
    t = Table(title="Targets")
    for c in ("measure", "value", "target", "verdict"):
        t.add_column(c, justify="left" if c == "measure" else "right")
    t.add_row("RiMEA 9 throughput, ours / JuPedSim", f(ratio, ",.0f", "n/a") + ("x" if ratio else ""),
              f">= {TARGET_RATIO:,.0f}x", verdict(None if ratio is None else ratio >= TARGET_RATIO))
    t.add_row(f"office {OFFICE_N:,} people, simulation wall", f"{office['wall_s']:.2f} s",
              f"< {TARGET_OFFICE_WALL:.0f} s", verdict(office["wall_s"] < TARGET_OFFICE_WALL))
    t.add_row(f"scaling exponent b, wall (N = {span}; CPU: {f(b_cpu, '.2f', 'n/a')})", f(b, ".2f", "n/a"),
              f"<= {TARGET_EXPONENT}",
              verdict(None if b is None else b <= TARGET_EXPONENT))
    con.print(t)
    con.print(f"  whole script {elapsed:.0f} s; load average {load0} -> {load1} (a busy machine inflates "
              "every wall time; ratios taken in the same run are fairer than absolute numbers)")
    out = {
        "benchmark": "evacuation_speed",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "loadavg_start": load0, "loadavg_end": load1},
        "git": gs,
        "args": vars(args),
        "rimea9": {"ours": ours, "jupedsim": jps_res, "throughput_ratio": ratio, "throughput_ratio_cpu": ratio_cpu,
                   "target_ratio": TARGET_RATIO, "sfpe_hand_s": SFPE_HAND, "jupedsim_reference_s": JPS_REF},
        "office": dict(office, target_wall_s=TARGET_OFFICE_WALL),
        "scaling": {"rows": rows, "exponent": b, "exponent_cpu": b_cpu, "fitted_on": done_n,
                    "target_exponent": TARGET_EXPONENT},
        "elapsed_s": elapsed,
    }
    OUT.write_text(json.dumps(out, indent=2, default=float), encoding="utf-8")
    con.print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
