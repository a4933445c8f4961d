"""People's own cues (odour, irritation, others leaving): wall time spent deciding who notices what.

For the bundled demo drill and its 10,000-person version (scaled as in ``drill_speed.py``) this reports
the simulation's wall time, the part spent in :class:`agents.cues.Cues` (per gas step: one comparison of
every person's ppm with the lowest level anyone acts on; per person setting off: the unaware people of
their start space), its share, and as the reference measured in the same run the same drill with the
cues switched off. The two drills differ (people who smell gas leave earlier), so the ratio of their
totals is a bound on the cost, not the cost itself: the share column is.

Target: cues under 5 % of the simulation's wall time.

Run: ``.venv/bin/python benchmarks/people_cues.py`` (prints a table, writes benchmarks/people_cues.json).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import report_targets  # noqa: E402
from drill_speed import ROOT, _run  # noqa: E402  (the same scaling of the same demo)

OFF = {"odour": False, "irritation": False, "others_leaving": False}


def _cues_off(data: dict) -> None:
    data.setdefault("people", {})["cues"] = dict(OFF)


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    demo = ROOT / "scenarios" / "plant_h2s_leak.yaml"
    rows = []
    for label, scale in (("demo", None), ("10,000 people", 10_000)):
        ref, _ = _run(demo, scale, edit=_cues_off)
        res, total = _run(demo, scale)
        tm = res.extra["timing"]
        aware = {}
        for e in res.events:
            if e[1] == "aware":
                cue = e[4].split(" ")[0]
                aware[cue] = aware.get(cue, 0) + 1
        rows.append({
            "case": label, "people": res.kpis["occupants"], "sim_wall_s": tm["total"], "cues_s": tm.get("cues", 0.0),
            "cues_share": tm.get("cues", 0.0) / tm["total"] if tm["total"] else None,
            "no_cues_sim_wall_s": ref.extra["timing"]["total"],
            "ratio": tm["total"] / ref.extra["timing"]["total"] if ref.extra["timing"]["total"] else None,
            "aware_by": aware,
        })
    con = Console(width=150)
    t = Table(title=f"People's cues (2 CPUs; load {os.getloadavg()[0]:.2f})")
    for col in ("case", "people", "sim wall s", "cues s", "cues share", "no cues s", "ratio", "aware by"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(r["case"], f"{r['people']:,}", f"{r['sim_wall_s']:.2f}", f"{r['cues_s']:.3f}",
                  f"{100 * r['cues_share']:.1f} %", f"{r['no_cues_sim_wall_s']:.2f}", f"{r['ratio']:.2f}x",
                  ", ".join(f"{k} {v}" for k, v in sorted(r["aware_by"].items())))
    con.print(t)
    targets = [(f"{r['case']}: cues < 5 % of the simulation", r["cues_share"], 0.05) for r in rows]
    report_targets(con, __file__, rows, targets, lambda v: f"{100 * v:.1f} %")


if __name__ == "__main__":
    main()
