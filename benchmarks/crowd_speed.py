"""Crowd movement speed: the current ``agents.crowd`` against a reference version of it (a git revision,
by default the last one before the crowd was batched), both run in this process, interleaved.

Cases (people scaled as in ``drill_speed.py``):

* **10,000-person evacuation** (``scenarios/plant_evacuation.yaml``): the crowd alone, no gas: the
  simulation wall time is the crowd's cost (plus SimPy and the people's own cues).
* **10,000-person drill** (``scenarios/plant_h2s_leak.yaml``): crowd + gas; the crowd's share is the
  simulation wall time less the gas subsystems' timers, as in ``drill_speed.py``.
* **demo drill** (229 people).

For each case and version: the best of ``--repeat`` simulation CPU times (s), the crowd's share (the gas
timers' share of the wall time taken off), and
whether the event logs and trajectories of the two versions are identical (they must be: the change is
in how events are processed, not in what happens).

Run: ``.venv/bin/python benchmarks/crowd_speed.py [--ref REV] [--repeat 3]`` (writes crowd_speed.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
REF = "f64ce76"
"""The main branch before the crowd's event loop was batched (issue 21)."""
GAS_TIMERS = ("dispersion", "exposure", "sensors")


def _reference_crowd(rev: str):
    """``agents.crowd.Crowd`` as it was at ``rev``."""
    from _timing import reference_module

    return reference_module(rev, "agents/crowd.py", "_crowd_reference").Crowd


def _scenario(scenario: str, scale: int | None):
    from _timing import scaled_scenario

    return scaled_scenario(ROOT / "scenarios" / scenario, scale)


def _case(sc, crowd_cls):
    """One run with ``crowd_cls``: CPU s of the simulation less the gas timers, CPU s of the simulation,
    the event log with the trajectories, and the head count. CPU (process) time, because on a shared
    machine wall time mostly measures the others' load."""
    import agents.model
    from drills.sim.engine import build_run, finish_run

    agents.model.Crowd = crowd_cls
    run = build_run(sc, None, log_trajectories=True)
    t = time.process_time()
    w = time.perf_counter()
    run.model.run(until=sc.duration)
    if run.hazards is not None:
        run.hazards.finish(sc.duration)
    cpu = time.process_time() - t
    res = finish_run(run, time.perf_counter() - w)
    tm = res.extra["timing"]
    gas = sum(tm.get(k, 0.0) for k in GAS_TIMERS) * cpu / max(tm["total"], 1e-9)  # wall share -> CPU
    log = [repr(e) for e in res.events] + [repr(e) for e in res.trajectories]
    return cpu - gas, cpu, log, res.kpis["occupants"]


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    import agents.crowd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=REF, help=f"git revision of the reference crowd (default {REF})")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case and version (best is kept)")
    args = ap.parse_args()
    versions = {"reference": _reference_crowd(args.ref), "current": agents.crowd.Crowd}
    cases = [("10,000-person evacuation", "plant_evacuation.yaml", 10_000),
             ("10,000-person drill", "plant_h2s_leak.yaml", 10_000),
             ("demo drill", "plant_h2s_leak.yaml", None)]
    rows = []
    try:
        for label, scenario, scale in cases:
            got = {}
            sc = _scenario(scenario, scale)
            # interleaved, so both versions see the same machine load
            for _ in range(args.repeat):
                for name, cls in versions.items():
                    crowd, sim, log, people = _case(sc, cls)
                    prev = got.get(name)
                    if prev is None or crowd < prev[0]:
                        got[name] = (crowd, sim, log, people)
            ref, cur = got["reference"], got["current"]
            rows.append({"case": label, "people": cur[3], "crowd_ref_s": ref[0], "crowd_s": cur[0],
                         "sim_ref_s": ref[1], "sim_s": cur[1], "crowd_speedup": ref[0] / cur[0],
                         "identical_events": ref[2] == cur[2]})
    finally:
        agents.model.Crowd = agents.crowd.Crowd
    con = Console(width=150)
    t = Table(title=f"Crowd speed vs {args.ref} (best of {args.repeat}; load {os.getloadavg()[0]:.2f})")
    for col in ("case", "people", "crowd ref CPU s", "crowd CPU s", "speed-up", "sim ref CPU s", "sim CPU s", "same events"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(r["case"], f"{r['people']:,}", f"{r['crowd_ref_s']:.3f}", f"{r['crowd_s']:.3f}",
                  f"{r['crowd_speedup']:.2f}x", f"{r['sim_ref_s']:.2f}", f"{r['sim_s']:.2f}",
                  "yes" if r["identical_events"] else "NO")
    con.print(t)
    out = Path(__file__).with_suffix(".json")
    out.write_text(json.dumps({"reference": args.ref, "repeat": args.repeat, "loadavg": os.getloadavg(),
                               "rows": rows}, indent=2) + "\n")
    con.print(f"wrote {out}")


if __name__ == "__main__":
    main()
