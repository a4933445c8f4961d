"""Report and replay speed on the bundled demo drill, and on a comparison.

Measures, best of ``REPEAT`` runs each:

* the demo drill itself (``run_scenario`` of ``scenarios/plant_h2s_leak.yaml``), the reference;
* writing its results folder (``write_results``);
* ``report.html`` (``write_report``: every chart rendered and inlined). Target: under 3 s;
* ``replay.html`` (``write_replay``);
* the comparison report of a small experiment (``write_compare_report`` on 2 arms x 8 runs).

Each is also shown as a ratio to the drill's own wall time, which moves less with the machine's load
than the absolute seconds. Prints a table; writes benchmarks/report_speed.json (gitignored).

Run: ``.venv/bin/python benchmarks/report_speed.py``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from _timing import best_of  # noqa: E402 - the benchmarks folder is the script's own

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().with_suffix(".json")
REPEAT = 3
TARGET_REPORT_S = 3.0


def main() -> None:
    import yaml
    from rich.console import Console
    from rich.table import Table

    from drills.outputs.compare_report import write_compare_report
    from drills.outputs.replay import write_replay
    from drills.outputs.report import write_report
    from drills.outputs.results import write_results
    from drills.sim.engine import run_scenario
    from drills.spec.scenario import load_scenario
    from drills.studies.experiment import run_compare

    sc = load_scenario(ROOT / "scenarios" / "plant_h2s_leak.yaml")
    run_scenario(sc)  # warm the twin cache and the imports
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        times["drill (reference)"], res = best_of(lambda: run_scenario(sc), REPEAT)
        k = iter(range(100))
        times["results folder"], folder = best_of(lambda: write_results(res, tmp / f"run{next(k)}"), REPEAT)
        times["report.html"], _ = best_of(lambda: write_report(folder), REPEAT)
        times["replay.html"], _ = best_of(lambda: write_replay(folder), REPEAT)
        exp = tmp / "exp.yaml"
        exp.write_text(yaml.safe_dump({
            "name": "report-speed", "base": str(ROOT / "scenarios" / "plant_h2s_leak.yaml"), "base_arm": "threshold",
            "replications": 8, "seed": 0, "kpis": ["t_alert", "t_alarm", "t_evacuated", "false_alerts"],
            "arms": {"threshold": {}, "ai": {"alerts": {"policy": "fusion", "k": 1}}}}, sort_keys=False))
        pay = run_compare(exp, out=tmp / "cmp", plots=False)
        times["comparison report.html"], _ = best_of(lambda: write_compare_report(pay["out"]), REPEAT)
    ref = times["drill (reference)"]
    tab = Table(title=f"report and replay speed (demo drill; best of {REPEAT})")
    for c in ("step", "wall (s)", "x drill"):
        tab.add_column(c, justify="right")
    for name, t in times.items():
        tab.add_row(name, f"{t:.3f}", f"{t / ref:.2f}")
    con = Console()
    con.print(tab)
    ok = times["report.html"] < TARGET_REPORT_S
    con.print(f"report.html for the demo: {times['report.html']:.2f} s (target < {TARGET_REPORT_S:g} s: "
              f"{'met' if ok else 'NOT met'}); load {os.getloadavg()}")
    OUT.write_text(json.dumps({"times_s": times, "target_met": ok, "loadavg": os.getloadavg(),
                               "cpus": os.cpu_count()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
