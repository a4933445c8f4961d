"""Detector placement: ours against Chama 0.3.0 on the same detection-time matrix, and the issue's size.

1. Builds the issue's ensemble on the sample plant: 20 equipment items (the plant's 9 and 11 more, all
   indoors: a site sketch has no outdoor equipment) x 6 weather cases x 3 release rates x 1 ventilation
   case = 360 leaks, and 200 candidate detectors (every second point of a 3 m grid per space, at 0.5 m,
   the first 200), through ``drills.studies.placement``
   (dispersion, detector physics, matrix) and optimises it (greedy and MIP, budget 5). The wall time of
   evaluating plus optimising is the issue's "under 30 s" figure.
2. Writes that matrix to a JSON file and runs Chama's ``ImpactFormulation`` and ``CoverageFormulation``
   (HiGHS through Pyomo, ``appsi_highs``) on it in a separate virtual environment
   (``benchmarks/.chama-venv``: ``chama==0.3.0``, ``pandas<3``, pyomo, highspy; created on first use;
   Chama 0.3.0 misbehaves silently on pandas 3, see leak_sensors.md section 5), timing ``solve()`` only.
3. Runs ours on the same matrix in this process: lazy greedy (impact and coverage) and the MIPs, best of
   ``REPEAT`` for wall times. Every chosen layout, Chama's too, is scored by one function, so the objective
   values compare like with like.

Prints objectives, wall times and ratios measured in this run, and writes ``placement_vs_chama.json`` next
to this script. Run: ``.venv/bin/python benchmarks/placement_vs_chama.py``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from _timing import best_of  # noqa: E402 - the benchmarks folder is the script's own

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HERE = Path(__file__).resolve().parent
VENV = HERE / ".chama-venv"
BUDGET = 5
REPEAT = 3

CHAMA_SCRIPT = r'''
import json, sys, time
import pandas as pd
import chama

data = json.load(open(sys.argv[1]))
scen = data["scenarios"]
pairs = data["impact"]  # [scenario, sensor, time] for detecting pairs below the penalty
impact = pd.DataFrame(pairs, columns=["Scenario", "Sensor", "Impact"])
impact["Impact"] = impact["Impact"].astype(float)
sensor = pd.DataFrame({"Sensor": data["sensors"], "Cost": [1.0] * len(data["sensors"])})
scenario = pd.DataFrame({"Scenario": scen, "Undetected Impact": [float(data["penalty"])] * len(scen),
                         "Probability": [1.0 / len(scen)] * len(scen)})
out = {"chama": chama.__version__, "pandas": pd.__version__}
t = time.perf_counter()
res = chama.optimize.ImpactFormulation().solve(impact=impact, sensor=sensor, scenario=scenario,
                                              sensor_budget=data["budget"], mip_solver_name="appsi_highs")
out["impact"] = {"wall_s": time.perf_counter() - t, "sensors": list(res["Sensors"]),
                 "objective": float(res["Objective"])}
cov_pairs = pd.DataFrame(data["cover"], columns=["Scenario", "Sensor", "Impact"])
coverage = chama.impact.impact_to_coverage(cov_pairs)
entity = pd.DataFrame({"Entity": scen, "Weight": [1.0] * len(scen)})
t = time.perf_counter()
res = chama.optimize.CoverageFormulation().solve(coverage=coverage, sensor=sensor, entity=entity,
                                                sensor_budget=data["budget"], mip_solver_name="appsi_highs")
out["coverage"] = {"wall_s": time.perf_counter() - t, "sensors": list(res["Sensors"]),
                   "objective": float(res["Objective"]), "fraction": float(res.get("FractionDetected", float("nan")))}
json.dump(out, open(sys.argv[2], "w"))
'''


def _chama_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print("creating benchmarks/.chama-venv (chama 0.3.0, pandas<3, pyomo, highspy) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "chama==0.3.0", "pandas<3", "pyomo", "highspy"],
                       check=True)
    return py


def _study(tmp: Path) -> tuple[Path, Path]:
    """A sketch of the plant with 20 indoor leak sources and a scenario with 6 weather cases and 3 rates."""
    sketch = yaml.safe_load((ROOT / "ifc_models" / "chemical_plant.site.yaml").read_text())
    extra = {  # building index -> items (name, space, x, y, z)
        0: [("P-103", "Pump Room", 11, 10, 0.5), ("V-103", "Process Hall A", 4, 27, 1.2),
            ("V-104", "Process Hall B", 37, 14, 1.2), ("E-201", "Process Hall B", 24, 28, 1.0),
            ("V-105", "Workshop", 30, 5, 1.0), ("PL-402", "Mezzanine West", 6, 15, 1.0),
            ("V-106", "Analyser Room", 38, 10, 1.0), ("V-107", "Process Corridor", 30, 1.5, 1.0)],
        1: [("GC-502", "Lab Store", 88, 18, 1.0)],
        2: [("V-602", "Dispatch", 25, 73, 1.0), ("V-603", "Storage Hall", 25, 65, 1.0)],
    }
    for b, items in extra.items():
        for name, space, x, y, z in items:
            sketch["buildings"][b]["equipment"].append({"name": name, "kind": "valve", "space": space,
                                                        "at": [x, y, z]})
    # (a site sketch has no outdoor equipment; outdoor releases are exercised by an IFC with items outside)
    p_site = tmp / "plant20.site.yaml"
    p_site.write_text(yaml.safe_dump(sketch, sort_keys=False))
    sc = yaml.safe_load((ROOT / "scenarios" / "plant_h2s_leak.yaml").read_text())
    sc["site"] = str(p_site)
    sc["injects"] = []
    sc["placement"] = {
        "gas": "H2S", "rates": ["2 g/s", "10 g/s", "50 g/s"], "horizon": "20min", "time_limit": "3min",
        "height": "0.5 m",
        "weather": [{"wind_speed": f"{u} m/s", "wind_from": d, "stability": s}
                    for u, d, s in ((3, 270, "D"), (3, 90, "D"), (1.5, 270, "F"), (1.5, 0, "F"),
                                    (5, 180, "C"), (2, 45, "E"))],
    }
    p_sc = tmp / "plant20.yaml"
    p_sc.write_text(yaml.safe_dump(sc, sort_keys=False))
    return p_site, p_sc


def _candidates_file(tmp: Path, sc) -> Path:
    """200 candidate positions: every third point of a 3 m grid over the monitored spaces, plus outdoors."""
    from drills.studies.placement import _grid_points, _monitored_spaces
    from twin.load import load_twin

    g = load_twin(sc.site_path())
    pts = _grid_points(g, _monitored_spaces(sc, g), 3.0, 0.5)
    pick = pts[::2][:200]
    rows = [{"name": f"C{k:03d}", "space": g.site.spaces[s].name, "at": [x, y, 0.5]}
            for k, (s, x, y, _z) in enumerate(pick)]
    p = tmp / "candidates200.yaml"
    p.write_text(yaml.safe_dump(rows, sort_keys=False))
    return p


def main() -> None:
    from drills.spec.scenario import load_scenario
    from drills.studies.placement import build_ensemble, optimize
    from twin.placement import coverage_greedy, coverage_matrix, impact_greedy, impact_objective, layout_times
    from twin.placement_opt import coverage_mip, impact_mip

    chama_py = _chama_python()
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        _, p_sc = _study(tmp)
        sc = load_scenario(p_sc)
        cands = _candidates_file(tmp, sc)
        # ---- 1. the size: evaluate + optimise, end to end --------------------------------
        t0 = time.perf_counter()
        ens = build_ensemble(sc, str(cands), progress=False)
        t_eval = time.perf_counter() - t0
        t1 = time.perf_counter()
        g_res, _ = optimize(ens, budget=BUDGET, target=None, method="greedy")
        t_greedy = time.perf_counter() - t1
        t2 = time.perf_counter()
        m_res, _ = optimize(ens, budget=BUDGET, target=None, method="mip")
        t_mip = time.perf_counter() - t2
        S, C = ens.D.shape
        size = {"equipment": len({c.source for c in ens.cases}), "weather_cases": 6, "rates": 3,
                "scenarios": S, "candidates": C, "budget": BUDGET,
                "evaluate_s": round(t_eval, 3), "timing": {k: round(v, 3) for k, v in ens.timing.items()},
                "greedy_s": round(t_greedy, 3), "mip_s": round(t_mip, 3),
                "evaluate_and_greedy_s": round(t_eval + t_greedy, 3),
                "evaluate_and_both_s": round(t_eval + t_greedy + t_mip, 3),
                "greedy_objective_s": g_res["objective"], "mip_objective_s": m_res["objective"]}
        print(f"issue size: {size['equipment']} items x 6 weather x 3 rates = {S} leaks, {C} candidates")
        print(f"  evaluate (load, dispersion, matrix) {t_eval:.2f} s  {size['timing']}")
        print(f"  optimise greedy {t_greedy:.3f} s (objective {g_res['objective']} s), "
              f"MIP {t_mip:.3f} s (objective {m_res['objective']} s)")
        print(f"  evaluate + optimise (greedy and MIP): {size['evaluate_and_both_s']:.2f} s (target < 30 s)")

        # ---- 2. the same matrix to Chama ------------------------------------------------------
        D, P, tl = ens.D, ens.penalty, ens.time_limit
        names = [c.name for c in ens.candidates]
        scen = [f"S{k:04d}" for k in range(S)]
        ss, cc = np.nonzero(D < P)
        sv, cv = np.nonzero(D <= tl)
        payload = {"scenarios": scen, "sensors": names, "penalty": P, "budget": BUDGET,
                   "impact": [[scen[s], names[c], float(D[s, c])] for s, c in zip(ss, cc, strict=True)],
                   "cover": [[scen[s], names[c], float(D[s, c])] for s, c in zip(sv, cv, strict=True)]}
        f_in, f_out = tmp / "matrix.json", tmp / "chama_out.json"
        f_in.write_text(json.dumps(payload))
        (tmp / "run_chama.py").write_text(CHAMA_SCRIPT)
        print(f"running Chama on the same matrix ({len(ss)} detecting pairs) ...", flush=True)
        subprocess.run([str(chama_py), str(tmp / "run_chama.py"), str(f_in), str(f_out)], check=True)
        ch = json.loads(f_out.read_text())

    # ---- 3. ours on the same matrix, same scoring -----------------------------------------------
    idx = {n: i for i, n in enumerate(names)}
    cover = coverage_matrix(D, tl)

    def impact_of(sel):
        return impact_objective(layout_times(D, [idx[s] if isinstance(s, str) else s for s in sel]), P)

    def cov_of(sel):
        return float(cover[:, [idx[s] if isinstance(s, str) else s for s in sel]].any(axis=1).mean())

    tg, rg = best_of(lambda: impact_greedy(D, BUDGET, P), REPEAT)
    tm, rm = best_of(lambda: impact_mip(D, BUDGET, P), REPEAT)
    tcg, rcg = best_of(lambda: coverage_greedy(cover, budget=BUDGET), REPEAT)
    tcm, rcm = best_of(lambda: coverage_mip(cover, budget=BUDGET), REPEAT)
    ci, cc_ = ch["impact"], ch["coverage"]
    res = {
        "impact": {
            "chama_objective_s": impact_of(ci["sensors"]), "chama_reported": ci["objective"],
            "chama_wall_s": ci["wall_s"], "chama_sensors": ci["sensors"],
            "greedy_objective_s": impact_of(rg.chosen), "greedy_wall_s": tg, "greedy_bound_s": rg.bound,
            "greedy_gap": rg.gap,
            "mip_objective_s": impact_of(rm.chosen), "mip_wall_s": tm, "mip_gap": rm.gap,
            "speedup_greedy_vs_chama": ci["wall_s"] / tg, "speedup_mip_vs_chama": ci["wall_s"] / tm,
        },
        "coverage": {
            "chama_objective": cov_of(cc_["sensors"]), "chama_reported": cc_["objective"],
            "chama_wall_s": cc_["wall_s"], "chama_sensors": cc_["sensors"],
            "greedy_objective": cov_of(rcg.chosen), "greedy_wall_s": tcg, "greedy_bound": rcg.bound,
            "mip_objective": cov_of(rcm.chosen), "mip_wall_s": tcm,
            "speedup_greedy_vs_chama": cc_["wall_s"] / tcg, "speedup_mip_vs_chama": cc_["wall_s"] / tcm,
        },
    }
    print(f"\nsame matrix: {S} scenarios x {C} candidates, budget {BUDGET}, penalty {P:g} s, limit {tl:g} s "
          f"(Chama {ch['chama']}, pandas {ch['pandas']}; ours best of {REPEAT})")
    print(f"{'formulation':<10} {'solver':<14} {'objective':>12} {'wall s':>9} {'Chama/ours':>11}")
    r = res["impact"]
    print(f"{'impact':<10} {'Chama MIP':<14} {r['chama_objective_s']:>12.4f} {r['chama_wall_s']:>9.4f}")
    print(f"{'impact':<10} {'ours greedy':<14} {r['greedy_objective_s']:>12.4f} {r['greedy_wall_s']:>9.4f} "
          f"{r['speedup_greedy_vs_chama']:>10.1f}x")
    print(f"{'impact':<10} {'ours MIP':<14} {r['mip_objective_s']:>12.4f} {r['mip_wall_s']:>9.4f} "
          f"{r['speedup_mip_vs_chama']:>10.1f}x")
    r = res["coverage"]
    print(f"{'coverage':<10} {'Chama MIP':<14} {r['chama_objective']:>12.4f} {r['chama_wall_s']:>9.4f}")
    print(f"{'coverage':<10} {'ours greedy':<14} {r['greedy_objective']:>12.4f} {r['greedy_wall_s']:>9.4f} "
          f"{r['speedup_greedy_vs_chama']:>10.1f}x")
    print(f"{'coverage':<10} {'ours MIP':<14} {r['mip_objective']:>12.4f} {r['mip_wall_s']:>9.4f} "
          f"{r['speedup_mip_vs_chama']:>10.1f}x")
    print("(impact objective: expected detection time in s, lower is better; coverage: share of leaks "
          "detected within the limit, higher is better)")
    out = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "note": "2 cores shared with other jobs while measured"},
           "issue_size": size, "same_matrix": res}
    p = HERE / "placement_vs_chama.json"
    tmpf = p.with_suffix(".json.tmp")
    tmpf.write_text(json.dumps(out, indent=2, default=float))
    os.replace(tmpf, p)
    print(f"written {p}")


if __name__ == "__main__":
    main()
