"""Alert-lab speed: a plant-year of 1 Hz readings through every built-in policy, and 1,000 leak episodes.

Measures on the sample plant (``scenarios/plant_h2s_leak_ai.yaml``: 11 gas detectors):

* **reference**: the same detectors and policies stepped one sample at a time for one copy of the site
  (``update`` per sample, no clean-air blocks), over ``REF_HOURS`` hours, extrapolated to the span;
* **plant-year**: one plant-year of leak-free 1 Hz readings through threshold, rate_of_rise, cusum, ewma
  and fusion with the lab's folded copies (:func:`drills.lab.policies.simulate`: 8 h chunks side by side,
  15 min warm-up each, clean-air blocks). Target: under 60 s on 2 cores; memory bounded by the chunk (peak RSS shown);
* **evaluate 1,000 episodes**: :func:`drills.lab.evaluate.run_lab` + :func:`score` with 1,000 leak episodes
  (30 min before and 60 min after each start) and every built-in policy. Target: under 120 s.

Calibration streams (the policies' one-off set-up per detector model) are included in the times.
Prints a table (wall times, CPU times and the load average: the machine may be shared); writes
benchmarks/alert_lab_speed.json. ``--quick``: 30 days and 100 episodes.

Run: ``.venv/bin/python benchmarks/alert_lab_speed.py``.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().with_suffix(".json")
SCEN = ROOT / "scenarios" / "plant_h2s_leak_ai.yaml"
POLICIES = ("threshold", "rate_of_rise", "cusum", "ewma", "fusion")
REF_HOURS = 0.5
YEAR_S = 365.0 * 86400.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from drills.lab.evaluate import FREE_CHUNK, run_lab, score
    from drills.lab.labfile import parse_lab
    from drills.lab.policies import parse_policy, simulate
    from drills.lab.site import load_lab_site

    quick = "--quick" in sys.argv
    span = 30 * 86400.0 if quick else YEAR_S
    n_ep = 100 if quick else 1000
    site = load_lab_site(SCEN)
    cfgs = {p: parse_policy({"policy": p}, p) for p in POLICIES}
    n = len(site.specs)
    # warm the policies' calibration caches once, so that the reference and the lab pay it alike
    t = time.perf_counter()
    simulate(cfgs, site.specs, site.zones, site.positions, copies=1, steps=2, dt=site.dt,
             rng=np.random.default_rng(0), warmup_steps=0)
    calib = time.perf_counter() - t
    # reference: one copy, sample by sample
    steps = int(REF_HOURS * 3600 / site.dt)
    t = time.perf_counter()
    zeros = np.zeros((1, n))  # true values given: the step-by-step path, as a drill steps
    simulate(cfgs, site.specs, site.zones, site.positions, copies=1, steps=steps, dt=site.dt,
             rng=np.random.default_rng(1), warmup_steps=0, true_at=lambda k: zeros)
    ref = time.perf_counter() - t
    ref_span = ref * span / (REF_HOURS * 3600.0)
    # the lab: folded copies
    copies = int(math.ceil(span / FREE_CHUNK))
    load0 = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    res = simulate(cfgs, site.specs, site.zones, site.positions, copies=copies, steps=int(FREE_CHUNK / site.dt),
                   dt=site.dt, rng=np.random.default_rng(2), warmup_steps=int(900 / site.dt))
    year, year_cpu = time.perf_counter() - t, time.process_time() - c
    rss_year = _rss_mb()
    n_alerts = {p: int((res.activity[p].start >= 0).sum()) for p in POLICIES}
    # evaluate over 1,000 episodes
    spec = parse_lab({"scenario": str(SCEN), "seed": 1, "episodes": n_ep, "pre_leak": "30min", "horizon": "1h",
                      "detection_window": "30min", "leak_free": "8h",
                      "policies": {"setpoint": {"policy": "threshold"},
                                   **{p: {"policy": p} for p in POLICIES if p != "threshold"}}}, SCEN)
    t, c = time.perf_counter(), time.process_time()
    lab = run_lab(spec, site=site)
    score(lab)
    ev, ev_cpu = time.perf_counter() - t, time.process_time() - c
    load1 = os.getloadavg()[0]
    rss_ev = _rss_mb()
    rows = [
        ("policy calibration (one-off)", calib, None, None),
        (f"reference: 1 copy step by step, {REF_HOURS:g} h", ref, None, None),
        (f"reference extrapolated to {span / 86400:g} days", ref_span, None, None),
        (f"lab: {span / 86400:g} days x {n} detectors x {len(POLICIES)} policies", year, 60.0 * span / YEAR_S,
         ref_span / year),
        (f"evaluate: {n_ep} episodes x {len(spec.policies)} policies", ev, 120.0 * n_ep / 1000, None),
    ]
    tab = Table(title=f"alert lab speed (sample plant, {n} detectors){' --quick' if quick else ''}")
    for c in ("case", "wall s", "target s", "speed-up vs reference"):
        tab.add_column(c, justify="right" if c != "case" else "left")
    for name, s, target, ratio in rows:
        tab.add_row(name, f"{s:.1f}", "-" if target is None else f"{target:.0f}",
                    "-" if ratio is None else f"{ratio:.1f}x")
    Console().print(tab)
    print(f"CPU time: {year_cpu:.1f} s for the span, {ev_cpu:.1f} s for the episodes; load average {load0:.1f} "
          f"before, {load1:.1f} after (2 cores shared)")
    print(f"peak RSS: {rss_year:.0f} MB after the year, {rss_ev:.0f} MB after the episodes; "
          f"false activations over the span: {n_alerts}")
    OUT.write_text(json.dumps({
        "quick": quick, "detectors": n, "policies": list(POLICIES), "span_days": span / 86400.0,
        "calibration_s": calib, "reference_s": ref, "reference_hours": REF_HOURS,
        "reference_extrapolated_s": ref_span, "lab_span_s": year, "speedup_vs_reference": ref_span / year,
        "target_span_s": 60.0 * span / YEAR_S, "evaluate_episodes": n_ep, "evaluate_s": ev,
        "target_evaluate_s": 120.0 * n_ep / 1000, "peak_rss_mb": max(rss_year, rss_ev),
        "lab_span_cpu_s": year_cpu, "evaluate_cpu_s": ev_cpu, "load_average": [load0, load1],
        "false_activations": n_alerts, "timing": lab.timing}, indent=2))


if __name__ == "__main__":
    main()
