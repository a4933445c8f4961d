"""Scaling of a compare sweep: N replications of the bundled demo drill, serially and on a 2-worker Dask
LocalCluster, in the same process run.

Prints wall times (s), the speed-up (target >= 1.7x on 2 cores) and Dask's overhead per run relative to
the serial per-run time (target < 10 %), and writes benchmarks/sweep_scaling.json (gitignored).

The overhead is split in two, because only one part is Dask's:

* **total overhead** = (Dask wall - serial wall / workers) / runs / serial per-run time: everything that
  keeps the speed-up below the number of workers;
* **in-run slowdown** = mean time of one run inside a worker / mean time of one run serially - 1: the
  runs themselves get slower when two run at once (shared caches and memory bandwidth, turbo, the
  hypervisor; and anything else running on the machine). Dask cannot remove this; a plain process pool
  pays it too;
* **Dask's own overhead** = (Dask wall - sum of the worker-side run times / workers) / runs / serial
  per-run time: the cluster start, task scheduling, transfers and idle tails.

Run on an otherwise idle machine: anything else running shows up as in-run slowdown.

    python benchmarks/sweep_scaling.py            # 200 replications (a few minutes)
    python benchmarks/sweep_scaling.py --reps 40  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "plant_h2s_leak.yaml"


def _experiment(folder: Path, reps: int) -> Path:
    """A one-arm experiment over the demo scenario (the sweep's cost is the runs, not the arms)."""
    p = folder / "sweep.yaml"
    p.write_text(yaml.safe_dump({"name": "sweep", "base": str(DEMO), "base_arm": "demo", "replications": reps,
                                 "seed": 0, "kpis": ["t_evacuated"], "arms": {"demo": {}}}, sort_keys=False))
    return p


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from drills.studies.experiment import load_experiment, run_experiment

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200, help="replications per mode (default 200)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        exp = load_experiment(_experiment(Path(tmp), args.reps))
        # warm the twin cache so neither mode pays for the first IFC import
        run_experiment(exp, Path(tmp) / "warm", n=1)
        for mode, workers in (("serial", None), (f"dask x{args.workers}", args.workers)):
            t = time.perf_counter()
            rows = run_experiment(exp, Path(tmp) / mode.replace(" ", "_"), workers=workers, progress=True)
            wall = time.perf_counter() - t
            results[mode] = {"wall_s": wall, "runs": len(rows), "failed": sum(1 for r in rows if r["error"]),
                             "run_s_sum": sum(r["run_wall_s"] for r in rows),
                             "t_evacuated": [r["t_evacuated"] for r in rows]}
    serial, dask = results["serial"], results[f"dask x{args.workers}"]
    per_run_serial = serial["wall_s"] / serial["runs"]
    speedup = serial["wall_s"] / dask["wall_s"]
    # overhead: Dask's wall time beyond a perfect split of the serial work, per run, vs a serial run
    overhead = (dask["wall_s"] - serial["wall_s"] / args.workers) / dask["runs"] / per_run_serial
    slowdown = (dask["run_s_sum"] / dask["runs"]) / (serial["run_s_sum"] / serial["runs"]) - 1.0
    own = (dask["wall_s"] - dask["run_s_sum"] / args.workers) / dask["runs"] / per_run_serial
    same = serial["t_evacuated"] == dask["t_evacuated"]
    summary = {"reps": args.reps, "workers": args.workers, "cpus": os.cpu_count(),
               "serial_wall_s": round(serial["wall_s"], 2), "dask_wall_s": round(dask["wall_s"], 2),
               "serial_per_run_s": round(per_run_serial, 4), "speedup": round(speedup, 3),
               "dask_overhead_per_run": round(overhead, 4), "in_run_slowdown": round(slowdown, 4),
               "dask_own_overhead_per_run": round(own, 4), "identical_results": same,
               "loadavg": os.getloadavg(),
               "failed": serial["failed"] + dask["failed"]}
    t = Table(title=f"compare sweep: {args.reps} x demo drill")
    for c in ("mode", "wall (s)", "per run (s)", "speed-up", "overhead/run"):
        t.add_column(c, justify="right")
    t.add_row("serial", f"{serial['wall_s']:.1f}", f"{per_run_serial:.3f}", "1.00", "")
    t.add_row(f"dask x{args.workers}", f"{dask['wall_s']:.1f}", f"{dask['wall_s'] / dask['runs']:.3f}",
              f"{speedup:.2f} (target >= 1.7)", f"{overhead:.1%} (target < 10 %)")
    Console().print(t)
    Console().print(f"of the total overhead: in-run slowdown {slowdown:.1%} (runs slower side by side), "
                    f"Dask's own {own:.1%} (start, scheduling, transfers, idle tail) of a serial run")
    Console().print(f"identical per-run results: {same}; cpus: {os.cpu_count()}; load {os.getloadavg()}")
    (ROOT / "benchmarks" / "sweep_scaling.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
