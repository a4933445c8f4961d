"""Whole-drill speed: wall time per subsystem and events per second, for the bundled demo drill and a
10,000-person version of it.

Targets (issue "The whole drill"): the demo under 2 s wall, the 10,000-person drill under 10 s.
The reference measured in the same run is the bare evacuation of the same people without the gas (the
crowd alone), so the gas subsystems' share can be read as a ratio.

Run: ``.venv/bin/python benchmarks/drill_speed.py`` (prints a table, writes benchmarks/drill_speed.json).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _run(scenario_path: Path, people_scale: int | None, with_gas: bool = True, edit=None):
    """Run the scenario (occupants scaled to ``people_scale``; ``edit(data)`` may change the raw YAML)."""
    from _timing import scaled_scenario

    from drills.sim.engine import run_scenario

    def prepare(data):
        if not with_gas:
            data.pop("hazards", None)
            data["injects"] = [i for i in data.get("injects", []) if i["kind"] not in ("sensor_fail", "leak")]
        if edit is not None:
            edit(data)

    sc = scaled_scenario(scenario_path, people_scale, prepare)
    t0 = time.perf_counter()
    res = run_scenario(sc)
    total = time.perf_counter() - t0
    return res, total


def main() -> None:
    from _timing import report_targets
    from rich.console import Console
    from rich.table import Table

    demo = ROOT / "scenarios" / "plant_h2s_leak.yaml"
    rows = []
    for label, scale in (("demo", None), ("10,000 people", 10_000)):
        bare, _ = _run(demo, scale, with_gas=False)
        res, total = _run(demo, scale)
        tm = res.extra["timing"]
        gas = sum(tm.get(k, 0.0) for k in ("dispersion", "exposure", "sensors"))
        crowd = max(tm["total"] - gas, 0.0)
        ev = res.extra["events"]
        rows.append({
            "case": label, "people": res.kpis["occupants"], "sim_wall_s": tm["total"],
            "crowd_s": crowd, "dispersion_s": tm.get("dispersion", 0.0), "exposure_s": tm.get("exposure", 0.0),
            "sensors_s": tm.get("sensors", 0.0), "kpis_s": tm["kpis"], "run_total_s": total,
            "events": ev, "events_per_s": ev / tm["total"] if tm["total"] else None,
            "bare_evacuation_s": bare.extra["timing"]["total"],
            "gas_overhead_ratio": tm["total"] / bare.extra["timing"]["total"] if bare.extra["timing"]["total"] else None,
            "t_evacuated": res.kpis["t_evacuated"],
        })
    con = Console(width=170)
    t = Table(title=f"Drill speed (2 CPUs; load {os.getloadavg()[0]:.2f})")
    for col in ("case", "people", "sim wall s", "crowd", "dispersion", "exposure", "sensors", "KPIs",
                "run total", "events/s", "bare evac s", "ratio"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(r["case"], f"{r['people']:,}", f"{r['sim_wall_s']:.2f}", f"{r['crowd_s']:.2f}",
                  f"{r['dispersion_s']:.2f}", f"{r['exposure_s']:.2f}", f"{r['sensors_s']:.2f}",
                  f"{r['kpis_s']:.2f}", f"{r['run_total_s']:.2f}", f"{r['events_per_s']:,.0f}",
                  f"{r['bare_evacuation_s']:.2f}", f"{r['gas_overhead_ratio']:.1f}x")
    con.print(t)
    targets = [("demo run total < 2 s", rows[0]["run_total_s"], 2.0),
               ("10,000-person run total < 10 s", rows[1]["run_total_s"], 10.0)]
    report_targets(con, __file__, rows, targets, lambda v: f"{v:.2f} s")


if __name__ == "__main__":
    main()
