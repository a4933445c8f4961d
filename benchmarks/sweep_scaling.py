"""Scaling of a compare sweep: N replications of the bundled demo drill run serially, on a Dask
LocalCluster of 1 and 2 workers, and on a cluster of separate ``dask scheduler`` / ``dask worker``
processes (127.0.0.1 only) joined with ``--scheduler``, all in one run of this script.

Modes:

* **serial, nothing shared (before)**: every replication loads the site and builds its arm afresh, as
  before workers kept them (the reference for the sharing);
* **serial**: what ``drilltwin compare`` does without ``--workers``: the base scenario, each arm and the
  site graph are built once per process and shared by the replications;
* **dask x1 .. dask xN**: ``--workers 1`` up to ``--workers N`` (``--workers``, default 2): the scaling
  curve, printed as its own table with the speed-up against one worker and the parallel efficiency
  (speed-up / workers), all measured in this run;
* **cluster x2**: ``--scheduler tcp://127.0.0.1:PORT`` against ``dask scheduler`` and two ``dask worker
  --nthreads 1`` processes this script starts (and stops) itself: the same command a cluster of many
  machines runs (README, "From a laptop to a cluster").

Printed: wall time (s), time per run, CPU time per run of the serial modes (this process; on a shared
machine the load-independent before/after of the sharing), speed-up against the serial run and against
the serial run before sharing, and whether every mode's per-run results equal the serial run's. The
overhead of Dask is split:

* **in-run slowdown** = mean time of one run inside a worker / mean time of one run serially - 1: the
  runs themselves get slower when two run at once (shared caches and memory bandwidth, turbo, the
  hypervisor; and anything else running on the machine). Dask cannot remove this;
* **Dask's own overhead** = (Dask wall - sum of the worker-side run times / workers) / runs / serial
  per-run time: the cluster start, task scheduling, transfers and idle tails.

Run on an otherwise idle machine: anything else running shows up as in-run slowdown.
Writes benchmarks/sweep_scaling.json (gitignored).

    python benchmarks/sweep_scaling.py            # 40 replications per mode (a few minutes)
    python benchmarks/sweep_scaling.py --reps 200 # the issue's sweep size
    python benchmarks/sweep_scaling.py --no-cluster
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
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


@contextlib.contextmanager
def _unshared():
    """Serial runs as before per-process sharing: the base parsed once per process (as before), the site
    loaded and the arm built for every run."""
    from drills.spec.scenario import load_scenario
    from drills.studies import experiment as ex

    saved = ex._site_graph, ex._arm_scenario

    def arm(base, overrides):
        sc = ex._cached(ex._SCENARIOS, base, lambda: load_scenario(base))
        return sc.evolve(**overrides) if overrides else sc

    ex._site_graph, ex._arm_scenario = (lambda sc: None), arm
    try:
        yield
    finally:
        ex._site_graph, ex._arm_scenario = saved


def _dask_bin() -> str:
    exe = Path(sys.executable).with_name("dask")
    return str(exe) if exe.exists() else (shutil.which("dask") or "dask")


@contextlib.contextmanager
def process_cluster(workers: int, folder: Path):
    """``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes on 127.0.0.1, with the
    worker settings of ``drills.studies.experiment.WORKER_CONFIG`` as DASK_* environment variables;
    yields the scheduler address and stops exactly the processes it started."""
    from drills.studies.experiment import WORKER_CONFIG

    env = dict(os.environ)
    for key, value in WORKER_CONFIG.items():  # distributed.worker.profile.enabled -> DASK_DISTRIBUTED__...
        env["DASK_" + "__".join(part.upper().replace("-", "_") for part in key.split("."))] = str(value)
    sched_file = folder / "scheduler.json"
    log = (folder / "cluster.log").open("w")
    procs = [subprocess.Popen([_dask_bin(), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], env=env, stdout=log, stderr=log)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError(f"dask scheduler did not start (see {folder / 'cluster.log'})")
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(workers):
            procs.append(subprocess.Popen([_dask_bin(), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                           "--no-dashboard"], env=env, stdout=log, stderr=log, cwd=str(ROOT)))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def _mode(exp, out: Path, **kw) -> dict:
    from drills.studies.experiment import run_experiment

    t = time.perf_counter()
    cpu = time.process_time()
    rows = run_experiment(exp, out, progress=False, **kw)
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu  # this process only: the runs' CPU time when serial
    return {"wall_s": wall, "cpu_s": cpu, "runs": len(rows), "failed": sum(1 for r in rows if r["error"]),
            "run_s_sum": sum(r["run_wall_s"] for r in rows),
            "results": [{k: v for k, v in r.items() if k not in ("run_wall_s", "wall_s")} for r in rows]}


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from drills.studies.experiment import load_experiment, run_experiment

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40, help="replications per mode (default 40)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-cluster", action="store_true", help="skip the dask scheduler/worker processes")
    args = ap.parse_args()
    w = args.workers
    res: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        exp = load_experiment(_experiment(tmp, args.reps))
        run_experiment(exp, tmp / "warm", n=1)  # the twin cache on disk, so no mode pays the IFC import
        with _unshared():
            res["serial, nothing shared (before)"] = _mode(exp, tmp / "before")
        res["serial"] = _mode(exp, tmp / "serial")
        for k in range(1, w + 1):  # the scaling curve
            res[f"dask x{k}"] = _mode(exp, tmp / f"dask{k}", workers=k)
        if not args.no_cluster:
            try:
                with process_cluster(w, tmp) as address:
                    res[f"cluster x{w} (--scheduler)"] = _mode(exp, tmp / "cluster", scheduler=address)
                    res[f"cluster x{w} (--scheduler)"]["address"] = address
            except Exception as e:  # noqa: BLE001 - report, the other modes stand
                Console().print(f"cluster mode failed: {type(e).__name__}: {e}")
    serial, before = res["serial"], res["serial, nothing shared (before)"]
    per_serial = serial["wall_s"] / serial["runs"]
    workers_of = {"serial, nothing shared (before)": 1, "serial": 1, f"cluster x{w} (--scheduler)": w,
                  **{f"dask x{k}": k for k in range(1, w + 1)}}
    rows = []
    for mode, r in res.items():
        k = workers_of[mode]
        rows.append({
            "mode": mode, "workers": k, "wall_s": round(r["wall_s"], 2), "per_run_s": round(r["wall_s"] / r["runs"], 4),
            "speedup_vs_serial": round(serial["wall_s"] / r["wall_s"], 3),
            "cpu_per_run_s": round(r["cpu_s"] / r["runs"], 4) if mode.startswith("serial") else None,
            "speedup_vs_before": round(before["wall_s"] / r["wall_s"], 3),
            "in_run_slowdown": round((r["run_s_sum"] / r["runs"]) / (serial["run_s_sum"] / serial["runs"]) - 1, 4),
            "dask_own_overhead_per_run": (round((r["wall_s"] - r["run_s_sum"] / k) / r["runs"] / per_serial, 4)
                                          if mode.startswith(("dask", "cluster")) else None),
            "identical_results": r["results"] == serial["results"], "failed": r["failed"],
            **({"address": r["address"]} if "address" in r else {})})
    t = Table(title=f"compare sweep: {args.reps} x demo drill per mode (cpus {os.cpu_count()}, "
                    f"load {os.getloadavg()[0]:.2f})")
    for c in ("mode", "wall (s)", "per run (s)", "CPU/run (s)", "speed-up vs serial", "vs before", "in-run slowdown",
              "Dask's own/run", "same results"):
        t.add_column(c, justify="right")
    for r in rows:
        own = r["dask_own_overhead_per_run"]
        cpu = "" if r["cpu_per_run_s"] is None else f"{r['cpu_per_run_s']:.3f}"
        t.add_row(r["mode"], f"{r['wall_s']:.1f}", f"{r['per_run_s']:.3f}", cpu, f"{r['speedup_vs_serial']:.2f}",
                  f"{r['speedup_vs_before']:.2f}", f"{r['in_run_slowdown']:.1%}", "" if own is None else f"{own:.1%}",
                  "yes" if r["identical_results"] else "NO")
    con = Console(width=160)
    con.print(t)
    one = res["dask x1"]["wall_s"]
    curve = [{"workers": k, "wall_s": round(res[f"dask x{k}"]["wall_s"], 2),
              "runs_per_s": round(res[f"dask x{k}"]["runs"] / res[f"dask x{k}"]["wall_s"], 3),
              "speedup_vs_1_worker": round(one / res[f"dask x{k}"]["wall_s"], 3),
              "efficiency": round(one / res[f"dask x{k}"]["wall_s"] / k, 3),
              "speedup_vs_serial": round(serial["wall_s"] / res[f"dask x{k}"]["wall_s"], 3)} for k in range(1, w + 1)]
    c = Table(title=f"scaling curve: {args.reps} runs on 1..{w} Dask workers (one LocalCluster each, this run)")
    for col in ("workers", "wall (s)", "runs/s", "speed-up vs 1 worker", "efficiency", "speed-up vs serial"):
        c.add_column(col, justify="right")
    for r in curve:
        c.add_row(str(r["workers"]), f"{r['wall_s']:.1f}", f"{r['runs_per_s']:.2f}", f"{r['speedup_vs_1_worker']:.2f}",
                  f"{r['efficiency']:.0%}", f"{r['speedup_vs_serial']:.2f}")
    con.print(c)
    con.print(f"target: dask x{w} speed-up vs serial >= 1.7 on {w} otherwise idle cores")
    (ROOT / "benchmarks" / "sweep_scaling.json").write_text(json.dumps(
        {"reps": args.reps, "workers": w, "cpus": os.cpu_count(), "loadavg": os.getloadavg(), "modes": rows,
         "curve": curve}, indent=2) + "\n")


if __name__ == "__main__":
    main()
