"""The issue's command, timed as a user runs it: ``drilltwin compare
scenarios/experiments/ai_vs_threshold.yaml -n 40 --workers 2`` (4 arms: 160 runs) and ``-n 50`` (200 runs).

Each size runs on 2 workers twice:

* **cold**: an empty calibration cache (``$DRILLTWIN_CACHE/calibration`` removed; the site's import cache
  stays warm, it is not what this measures), so the AI arms' calibrations are computed in the run;
* **warm**: the calibrations from the cold run's cache.

The reference measured in the same run is the same command without ``--workers`` (serial, warm cache) at
the largest size; its per-run KPIs must equal every Dask run's (the first ``n`` replications for a smaller
``n``: replication i has the same seed whatever ``n`` is), and at the same size its statistics too
(``compare.json``: ``kpis``, ``diffs``). Printed: wall time, CPU time of the command and its children,
speed-up against the serial run (per run, so sizes compare), the load average before and after each
command, and the target (under 60 s) as PASS/FAIL. The machine may be shared: the load average is in the
JSON (benchmarks/compare_speed.json) next to every figure.

    python benchmarks/compare_speed.py                # -n 40 and -n 50, cold and warm, and the serial run
    python benchmarks/compare_speed.py --sizes 40 --no-serial
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
EXPERIMENT = "scenarios/experiments/ai_vs_threshold.yaml"
TARGET_S = 60.0


def _drilltwin() -> str:
    exe = Path(sys.executable).with_name("drilltwin")
    return str(exe) if exe.exists() else (shutil.which("drilltwin") or "drilltwin")


def _command(n: int, workers: int | None, out: Path, env: dict[str, str]) -> dict:
    """Run ``drilltwin compare`` once from the repository root; wall and CPU time (s) of it and its workers."""
    cmd = [_drilltwin(), "compare", EXPERIMENT, "-n", str(n), "--out", str(out)]
    if workers:
        cmd += ["--workers", str(workers)]
    load0 = os.getloadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return {"command": "drilltwin " + " ".join(cmd[1:cmd.index("--out")] + cmd[cmd.index("--out") + 2:]),
            "n": n, "runs": len(pq.read_table(out / "runs.parquet")), "workers": workers or 0, "wall_s": wall,
            "cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
            "load_before": load0, "load_after": os.getloadavg()[0], "out": out}


def _runs(out: Path) -> list[dict]:
    rows = pq.read_table(out / "runs.parquet").to_pylist()
    for r in rows:
        r.pop("run_wall_s", None)
        r.pop("wall_s", None)
    return rows


def _stats(out: Path) -> dict:
    pay = json.loads((out / "compare.json").read_text())
    return {"kpis": pay["kpis"], "diffs": pay["diffs"]}


def main() -> None:
    from _timing import report_targets
    from rich.console import Console
    from rich.table import Table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[40, 50], help="replications per arm (default 40 50)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-serial", action="store_true", help="skip the serial reference (no KPI check, no ratio)")
    args = ap.parse_args()
    con = Console(width=160)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "DRILLTWIN_CACHE": str(tmp / "cache")}
        env.pop("DRILLTWIN_CALIBRATION_CACHE", None)
        _command(1, None, tmp / "warm-up", env)  # the site's import cache (not measured here)
        for n in args.sizes:
            for mode in ("cold", "warm"):
                if mode == "cold":
                    shutil.rmtree(tmp / "cache" / "calibration", ignore_errors=True)
                r = _command(n, args.workers, tmp / f"{mode}-{n}", env)
                results.append({"mode": mode, **r})
                con.print(f"{r['command']} ({mode}): {r['wall_s']:.1f} s")
        serial = None
        if not args.no_serial:
            serial = {"mode": "serial (reference)", **_command(max(args.sizes), None, tmp / "serial", env)}
            con.print(f"{serial['command']} (serial): {serial['wall_s']:.1f} s")
            ref_rows = _runs(serial["out"])
            for r in results:
                rows = _runs(r["out"])
                r["same_kpis_as_serial"] = rows == [x for x in ref_rows if x["rep"] < r["n"]]
                if r["n"] == serial["n"]:
                    r["same_kpis_as_serial"] &= _stats(r["out"]) == _stats(serial["out"])
            results.append(serial)
        per_run_serial = serial["wall_s"] / serial["runs"] if serial else None
        rows = []
        for r in results:
            r.pop("out")
            r["per_run_s"] = r["wall_s"] / r["runs"]
            r["speedup_vs_serial"] = per_run_serial / r["per_run_s"] if per_run_serial else None
            rows.append(r)
    t = Table(title=f"drilltwin compare {EXPERIMENT} (cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f})")
    for c in ("mode", "-n", "runs", "workers", "wall (s)", "CPU (s)", "per run (s)", "speed-up vs serial",
              "load before/after", "same KPIs as serial", "target"):
        t.add_column(c, justify="right")
    for r in rows:
        same = r.get("same_kpis_as_serial")
        t.add_row(r["mode"], str(r["n"]), str(r["runs"]), str(r["workers"]), f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
                  f"{r['per_run_s']:.3f}", "" if r["speedup_vs_serial"] is None else f"{r['speedup_vs_serial']:.2f}",
                  f"{r['load_before']:.2f}/{r['load_after']:.2f}", "" if same is None else ("yes" if same else "NO"),
                  "" if not r["workers"] else f"< {TARGET_S:.0f} s")
    con.print(t)
    targets = [(f"-n {r['n']} --workers {r['workers']} ({r['mode']}) wall s", r["wall_s"], TARGET_S)
               for r in rows if r["workers"]]
    targets += [(f"-n {r['n']} ({r['mode']}) KPIs differ from serial (0 = identical)",
                 float(not r["same_kpis_as_serial"]), 0.0) for r in rows if r.get("same_kpis_as_serial") is not None]
    report_targets(con, __file__, rows, targets, lambda v: f"{v:.2f}")


if __name__ == "__main__":
    main()
