"""Sensing speed: one demo replication, the 10,000-person drill, and the demo with 8 h of normal
operation before the leak, each against a reference measured in the same run.

References (same process run, same machine load):

* **step by step**: every gas step sensed and stepped one by one, in clean air and with gas
  (``GasHazards.clean_blocks = False``, ``GasHazards.gas_blocks = False``), the reference the tests compare
  the blocks with (identical results);
* **before** (optional, ``--before DIR`` or ``--before-rev REV``): the same cases run with the code of
  another checkout (``--before-rev abdd8f6``, the last commit before gas blocks, is extracted with
  ``git archive`` into a temporary folder), in a subprocess, so a before/after ratio of the whole drill
  is measured in one run.

Targets (issue "Comparisons at interactive speed"): one demo replication < 0.3 s, the 10,000-person
drill < 2 s, 8 h of normal operation before the leak at most 2x the drill without it.

Run: ``.venv/bin/python benchmarks/sensing_speed.py [--before-rev abdd8f6] [--repeat 3]`` (prints a table,
writes benchmarks/sensing_speed.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _timing import report_targets  # noqa: E402

DEMO = ROOT / "scenarios" / "plant_h2s_leak.yaml"

# Runs one case in whatever drilltwin is importable and prints {"wall": s, "sensors": s}. The same
# text runs here and in the --before checkout (whose API may lack clean_blocks).
CASE = textwrap.dedent('''
    import json, sys, time, yaml
    from pathlib import Path
    try:
        from drills.sim.engine import run_scenario
        from drills.spec.scenario import scenario_from_dict
    except ImportError:  # a checkout from before drills/ had subpackages
        from drills.engine import run_scenario
        from drills.scenario import scenario_from_dict
    path, case, blocks, repeat = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
    try:
        from drills.sim.hazards import GasHazards
        GasHazards.clean_blocks = blocks
        GasHazards.gas_blocks = blocks  # (an attribute older versions ignore)
    except ImportError:
        pass
    d = yaml.safe_load(path.read_text())
    if case == "10k":
        total = sum(e["count"] for e in d["population"] if e.get("role", "occupant") == "occupant")
        for e in d["population"]:
            if e.get("role", "occupant") == "occupant":
                e["count"] = round(e["count"] * 10_000 / total)
    if case == "8h":
        d["duration"] = f"{8 * 3600 + 45 * 60}s"
        d["hazards"] = [dict(h, start=f"{8 * 3600 + 300}s") for h in d["hazards"]]
    sc = scenario_from_dict(d, path)
    run_scenario(sc, 1, log_trajectories=False)  # warm caches (twin, calibration)
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        r = run_scenario(sc, 1, log_trajectories=False)
        w = time.perf_counter() - t
        if best is None or w < best[0]:
            best = (w, r.extra["timing"].get("sensors", 0.0))
    print(json.dumps({"wall": best[0], "sensors": best[1]}))
''')


def _case(src: Path, case: str, blocks: bool, repeat: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    demo = src / DEMO.relative_to(ROOT)
    out = subprocess.run([sys.executable, "-c", CASE, str(demo), case, "1" if blocks else "0", str(repeat)],
                         cwd=src, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{case} in {src} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="a checkout of an older version to compare with")
    ap.add_argument("--before-rev", help="a git revision to compare with (checked out into a temporary folder)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs per case")
    args = ap.parse_args()
    if args.before_rev and args.before is None:
        import tempfile
        args.before = Path(tempfile.mkdtemp(prefix="drilltwin-before-"))
        arc = subprocess.run(["git", "-C", str(ROOT), "archive", args.before_rev], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(args.before)], input=arc.stdout, check=True)
    rows = []
    for case, label in (("demo", "demo drill"), ("10k", "10,000 people"), ("8h", "demo + 8 h before the leak")):
        row = {"case": label}
        row["after"] = _case(ROOT, case, True, args.repeat)
        row["step_by_step"] = _case(ROOT, case, False, args.repeat)
        if args.before is not None:
            row["before"] = _case(args.before.resolve(), case, True, args.repeat)
        rows.append(row)
    con = Console(width=150)
    t = Table(title=f"Sensing speed (best of {args.repeat}; load {os.getloadavg()[0]:.2f})")
    for col in ("case", "wall s", "sensing s", "step-by-step wall s", "ratio", "before wall s", "before/after"):
        t.add_column(col, justify="right")
    for r in rows:
        a, s, b = r["after"], r["step_by_step"], r.get("before")
        t.add_row(r["case"], f"{a['wall']:.2f}", f"{a['sensors']:.2f}", f"{s['wall']:.2f}",
                  f"{s['wall'] / a['wall']:.1f}x", f"{b['wall']:.2f}" if b else "-",
                  f"{b['wall'] / a['wall']:.1f}x" if b else "-")
    con.print(t)
    demo, big, pre = (r["after"]["wall"] for r in rows)
    targets = [("demo replication < 0.3 s", demo, 0.3), ("10,000-person drill < 2 s", big, 2.0),
               ("8 h before the leak <= 2x the demo", pre / demo, 2.0)]
    report_targets(con, __file__, rows, targets)


if __name__ == "__main__":
    main()
