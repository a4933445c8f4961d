"""Evacuation lower bound (``agents.bound.flow_lower_bound``) per replication: the current version against
a reference version of the module (a git revision, by default the last one before the network was shared
across replications), both run in this process on the same inputs, interleaved.

The inputs are those ``drills.sim.kpis`` hands the bound after a run (start points, spaces, earliest
starts, the calibration and the top speed of the people who got out) for ``--reps`` replications of the
demo drill, plus one 10,000-person drill. Each replication has its own people (positions differ per
seed); what replications share is the site's flow network, which the current version builds once.

Prints per case the mean CPU time per bound (s) of each version, the speed-up, and whether every
``BoundResult`` is identical; writes benchmarks/bound_speed.json.

Run: ``.venv/bin/python benchmarks/bound_speed.py [--reps 10] [--ref REV]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
REF = "f64ce76"
"""The main branch before the bound's network was shared across replications (issue 21)."""


def _reference_bound(rev: str):
    from _timing import reference_module

    return reference_module(rev, "agents/bound.py", "_bound_reference").flow_lower_bound


def _inputs(scale: int | None, seeds: range) -> list[tuple]:
    """The bound's arguments after each run, as ``drills.sim.kpis._bound`` builds them."""
    from _timing import scaled_scenario

    from drills.sim.engine import build_run
    from drills.sim.kpis import BOUND_MAX_NODES, _got_out, _start_space

    sc = scaled_scenario(ROOT / "scenarios" / "plant_h2s_leak.yaml", scale)
    out = []
    for seed in seeds:
        run = build_run(sc, seed, log_trajectories=False)
        run.model.run(until=sc.duration)
        c = run.model.crowd
        n = c.n
        must = np.flatnonzero(c.must_leave[:n] & np.isfinite(c.t_aware[:n]) & _got_out(c.state[:n], c.t_exit[:n]))
        spaces = [c.space_ids[s] for s in _start_space(c, must)]
        closed = [run.graph.site.find("doors", d) for d in sc.closed]
        out.append(((run.graph, c.initial_xy[must], spaces, c.t_aware[must] + c.premove[must], c.cal,
                     float(c.v0[must].max())), {"closed": closed, "max_nodes": BOUND_MAX_NODES}))
        run.model.release()
    return out


def _time(fn, cases) -> tuple[float, list]:
    """Mean CPU time (s) per bound: on a shared machine wall time mostly measures the others' load."""
    t = time.process_time()
    res = [fn(*a, **kw) for a, kw in cases]
    return (time.process_time() - t) / len(cases), res


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from agents.bound import flow_lower_bound

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10, help="demo replications (default 10)")
    ap.add_argument("--ref", default=REF, help=f"git revision of the reference (default {REF})")
    ap.add_argument("--repeat", type=int, default=3, help="timings per version (best kept)")
    args = ap.parse_args()
    ref = _reference_bound(args.ref)
    rows = []
    for label, scale, seeds in (("demo drill", None, range(args.reps)), ("10,000-person drill", 10_000, range(1))):
        cases = _inputs(scale, seeds)
        best = {"reference": float("inf"), "current": float("inf")}
        results = {}
        for _ in range(args.repeat):
            for name, fn in (("reference", ref), ("current", flow_lower_bound)):
                t, res = _time(fn, cases)
                best[name] = min(best[name], t)
                results[name] = [(r.t, r.method, r.free_walk, r.cut, r.critical, r.expanded, r.nodes) for r in res]
        rows.append({"case": label, "bounds": len(cases), "ref_s": best["reference"], "cur_s": best["current"],
                     "speedup": best["reference"] / best["current"],
                     "identical": results["reference"] == results["current"]})
    con = Console(width=130)
    t = Table(title=f"Evacuation lower bound per replication vs {args.ref} (load {os.getloadavg()[0]:.2f})")
    for col in ("case", "bounds", "reference CPU s", "current CPU s", "speed-up", "identical results"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(r["case"], str(r["bounds"]), f"{r['ref_s']:.4f}", f"{r['cur_s']:.4f}", f"{r['speedup']:.2f}x",
                  "yes" if r["identical"] else "NO")
    con.print(t)
    out = Path(__file__).with_suffix(".json")
    out.write_text(json.dumps({"reference": args.ref, "loadavg": os.getloadavg(), "rows": rows}, indent=2) + "\n")
    con.print(f"wrote {out}")


if __name__ == "__main__":
    main()
