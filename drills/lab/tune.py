"""``drilltwin alerts tune``: choose a policy's parameter for a false-alert budget or a detection target.

The candidates are the values of the lab file's sweep for that policy (``sweeps:``), or, when there is
none, ``false_alerts_per_sensor_day`` over :data:`DEFAULT_GRID` for the calibrated policies (cusum, ewma,
rate_of_rise, fusion) and ``delay_on`` over :data:`DEFAULT_DELAYS` for threshold. Every candidate runs on
the same ensemble and leak-free stream (:func:`drills.lab.evaluate.run_lab`). The Pareto front keeps the
candidates that no other beats on all three of: fewer false alerts per operator-week, a higher
probability of detection, a longer median lead over the set point.

Choice: with a budget (``1/week`` = at most one false alert per operator per week), the candidate
within budget with the highest detection probability (then the longest lead); with a detection target,
the candidate reaching it with the fewest false alerts. The choice is then checked on **fresh** leak-free
operation (a seed the tuning never saw): the tuned rate and the fresh rate are both reported, and
``meets_budget_on_fresh_data`` says whether the fresh rate is within budget.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import InputError

__all__ = ["DEFAULT_DELAYS", "DEFAULT_GRID", "candidates", "choose", "pareto", "parse_budget", "tune",
           "write_tuned_scenario"]

DEFAULT_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # false alerts per sensor-day (calibration target)
DEFAULT_DELAYS = (0.0, 10.0, 30.0, 60.0)  # s, delay-on of the set-point policy
PERIODS = {"day": 1.0, "week": 7.0, "month": 30.0, "year": 365.0, "shift": 0.5}


def parse_budget(text: str) -> float:
    """``"1/week"`` -> false alerts per operator per week (``day``, ``week``, ``month``, ``year``,
    ``shift`` = 12 h)."""
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(?:per|/)\s*(day|week|month|year|shift)\s*", str(text))
    if not m:
        raise InputError(f"expected a budget such as 1/week or 0.5/day, got {text!r}", where="--budget")
    try:
        x = float(m.group(1))
    except ValueError:
        raise InputError(f"expected a number before the period, got {text!r}", where="--budget") from None
    if not x >= 0:
        raise InputError(f"must not be negative, got {text!r}", where="--budget")
    return x * 7.0 / PERIODS[m.group(2)]


def candidates(spec: Any, policy: str) -> tuple[str, list[Any]]:
    """(parameter, values) to try for ``policy`` (a name in the lab file's ``policies``)."""
    if policy not in spec.policies:
        raise InputError(f"{policy!r} is not a policy of the lab file ({', '.join(spec.policies)})", where="--policy")
    if policy in spec.sweeps:
        ((param, values),) = spec.sweeps[policy].items()
        return param, list(values)
    kind = spec.policies[policy].get("policy")
    if kind == "threshold":
        return "delay_on", list(DEFAULT_DELAYS)
    if kind == "model":
        return "threshold", [0.3, 0.5, 0.7, 0.9]
    return "false_alerts_per_sensor_day", list(DEFAULT_GRID)


def pareto(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points no other point dominates on (min ``fp``, max ``pod``, max ``lead``)."""
    def key(p: dict) -> tuple[float, float, float]:
        return (p["fp"], -p["pod"], -(p["lead"] if p["lead"] is not None else -np.inf))

    out = []
    for p in points:
        kp = key(p)
        dominated = any(all(a <= b for a, b in zip(key(q), kp, strict=True)) and key(q) != kp for q in points)
        if not dominated:
            out.append(p)
    return sorted(out, key=lambda p: p["fp"])


def choose(points: list[dict[str, Any]], budget: float | None, target: float | None) -> dict[str, Any] | None:
    """The chosen point (see the module docstring) or None when nothing qualifies."""
    if budget is not None:
        ok = [p for p in points if p["fp"] <= budget + 1e-12]
        return max(ok, key=lambda p: (p["pod"], p["lead"] or -np.inf, -p["fp"])) if ok else None
    ok = [p for p in points if p["pod"] >= target - 1e-12]
    return min(ok, key=lambda p: (p["fp"], -(p["lead"] or -np.inf))) if ok else None


def tune(spec: Any, policy: str, *, budget: float | None = None, target: float | None = None,
         leak_class: str = "all", episodes: int | None = None, leak_free: float | None = None,
         fresh_leak_free: float | None = None, seed: int | None = None) -> dict[str, Any]:
    """Run the candidates, the Pareto front, the choice and its check on fresh data."""
    from drills.lab.evaluate import run_lab, score
    from drills.lab.site import load_lab_site

    if (budget is None) == (target is None):
        raise InputError("give either --budget or --target-pod", where="--budget")
    param, values = candidates(spec, policy)
    base = dict(spec.policies[policy])
    pols = {f"{policy}[{param}={v}]": {**base, param: v} for v in values}
    ref = spec.reference
    pols[ref] = dict(spec.policies[ref])
    site = load_lab_site(spec.scenario, spec.gas)
    lab = run_lab(spec, seed=seed, episodes=episodes, leak_free=leak_free, site=site, policies=pols)
    tables = score(lab)
    rows = {r["variant"]: r for r in tables["summary"] if r["leak_class"] == leak_class}
    if not rows:
        raise InputError(f"no episodes of leak class {leak_class!r} in the ensemble", where="--leak-class")
    pts = []
    for v in values:
        r = rows[f"{policy}[{param}={v}]"]
        pts.append({"value": v, "fp": r["false_alerts_per_week_per_operator"], "pod": r["probability_of_detection"],
                    "lead": r["lead_vs_setpoint_median_s"], "false_alerts": r["false_alerts"]})
    front = pareto(pts)
    chosen = choose(pts, budget, target)
    res: dict[str, Any] = {"policy": policy, "parameter": param, "budget_per_operator_week": budget,
                           "target_pod": target, "leak_class": leak_class, "candidates": pts,
                           "pareto": [p["value"] for p in front], "chosen": chosen, "operators": lab.operators,
                           "leak_free_days": lab.free_sim.copies * lab.free_sim.duration / 86400.0}
    if chosen is not None:
        cfg = {**base, param: chosen["value"]}
        res["config"] = cfg
        # fresh leak-free data: a seed the tuning never used (the lab's seed sequence, a fourth child)
        fresh_seed = int(np.random.SeedSequence(lab.seed).spawn(4)[3].generate_state(1)[0])
        fl = fresh_leak_free if fresh_leak_free is not None else (leak_free or spec.leak_free)
        fresh = run_lab(spec, seed=fresh_seed, episodes=1, leak_free=fl, site=site, policies={"tuned": cfg})
        ft = score(fresh)
        frow = next(r for r in ft["summary"] if r["leak_class"] == "all")
        # the fresh rate counts leak-free operation only (its single episode's pre-leak time included)
        res["fresh"] = {"seed": fresh_seed, "leak_free_days": fresh.free_sim.copies * fresh.free_sim.duration / 86400.0,
                        "false_alerts": frow["false_alerts"],
                        "false_alerts_per_week_per_operator": frow["false_alerts_per_week_per_operator"]}
        if budget is not None:
            res["meets_budget_on_fresh_data"] = frow["false_alerts_per_week_per_operator"] <= budget + 1e-12
    return res


def write_tuned_scenario(scenario: Path, config: dict[str, Any], out: Path, note: str) -> Path:
    """A copy of ``scenario`` with its ``alerts:`` block replaced by ``config`` (comments and the rest of
    the file kept line for line; a relative ``site:`` is rewritten for the new folder)."""
    import os

    import yaml

    lines = scenario.read_text(encoding="utf-8").splitlines()
    block = "alerts: " + yaml.safe_dump(config, default_flow_style=True, sort_keys=False).strip()
    new, i, done = [], 0, False
    while i < len(lines):
        ln = lines[i]
        if re.match(r"^alerts\s*:", ln):
            new.append(f"# {note}")
            new.append(block)
            i += 1
            while i < len(lines) and (lines[i].startswith((" ", "\t")) or not lines[i].strip()):
                if not lines[i].strip():
                    break
                i += 1
            done = True
            continue
        m = re.match(r"^site\s*:\s*(\S.*?)\s*$", ln)
        if m and out.parent.resolve() != scenario.parent.resolve():
            val = m.group(1).strip("'\"")
            if not Path(val).is_absolute():
                target = (scenario.parent / val).resolve()
                ln = f"site: {os.path.relpath(target, out.parent.resolve())}"
        new.append(ln)
        i += 1
    if not done:
        new += [f"# {note}", block]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(new) + "\n", encoding="utf-8")
    from drills.spec.scenario import load_scenario

    load_scenario(out)  # the copy must still be a valid scenario
    return out
