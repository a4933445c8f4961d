"""Closing the loop: a drill's operators start their shift with the alert history the lab measured.

The lab's false-alert rate of a policy (per operator per day, on leak-free operation) gives the false
alerts an operator has already seen when the drill's leak starts: ``round(rate x shift elapsed)``
(default: 6 h into a 12 h shift). It goes into the scenario's ``alerts.operator.false_alerts_seen``
(the operator model's memory of earlier alerts, see docs/alerts.md), so that an "AI vs set points"
comparison (``drilltwin compare``) carries each arm's own fatigue cost into t_ack, t_alarm, t_isolate
and exposure. The count is an expectation, rounded; the exact rate is written next to it as a comment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from twin.errors import InputError

__all__ = ["HISTORY_KPIS", "history_config", "write_history_experiment", "write_history_scenario"]

HISTORY_KPIS = ("t_ack", "t_alarm", "t_isolate", "exposed_idlh", "t_first_true_alert", "false_alerts")


def history_config(lab_json: Path, variant: str, elapsed: float = 6 * 3600.0) -> tuple[dict[str, Any], float, int]:
    """(the variant's alerts config with ``operator.false_alerts_seen``, the rate per operator-day, the
    count) from a lab result (``lab.json`` of ``drilltwin alerts evaluate``)."""
    if not lab_json.is_file():
        raise InputError(f"no such lab result: {lab_json}", where=str(lab_json))
    try:
        res = json.loads(lab_json.read_text(encoding="utf-8"))
        pols = res["policies"]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{lab_json}: not a lab.json written by drilltwin alerts evaluate", where=str(lab_json)) from None
    if variant not in pols:
        raise InputError(f"{variant!r} is not a policy of {lab_json} ({', '.join(pols)})", where="--policy")
    p = pols[variant]
    rate = p.get("false_alerts_per_day_per_operator")
    if rate is None or p.get("config") is None:
        raise InputError(f"{lab_json}: {variant!r} has no false-alert rate or config", where=str(lab_json))
    n = int(round(rate * elapsed / 86400.0))
    cfg = dict(p["config"])
    op = dict(cfg.get("operator") or {})
    op["false_alerts_seen"] = n
    cfg["operator"] = op
    return cfg, float(rate), n


def write_history_scenario(scenario: Path, lab_json: Path, variant: str, out: Path,
                           elapsed: float = 6 * 3600.0) -> dict[str, Any]:
    """A copy of ``scenario`` whose alerts block is the lab's ``variant`` with the measured history."""
    from drills.lab.tune import write_tuned_scenario

    cfg, rate, n = history_config(lab_json, variant, elapsed)
    note = (f"alert history from {lab_json.name}: {variant} gives {rate:.3g} false alerts per operator-day, "
            f"so {n} seen in the {elapsed / 3600:g} h of the shift before the leak")
    path = write_tuned_scenario(scenario, cfg, out, note)
    return {"scenario": str(path), "policy": variant, "false_alerts_per_day_per_operator": rate,
            "false_alerts_seen": n, "shift_elapsed_s": elapsed}


def write_history_experiment(scenario: Path, lab_json: Path, variants: list[str], out: Path, *,
                             elapsed: float = 6 * 3600.0, replications: int = 20, seed: int = 1000) -> dict[str, Any]:
    """An experiment (``drilltwin compare``) on ``scenario`` with one arm per lab policy, each with the
    alert history the lab measured for it: the comparison then reports the net effect of each policy,
    fatigue included, on t_ack, t_alarm, t_isolate and exposure (:data:`HISTORY_KPIS`)."""
    import os

    import yaml

    if len(variants) < 2:
        raise InputError("give at least two policies to compare (e.g. setpoint,cusum)", where="--arms")
    arms, seen = {}, {}
    for v in variants:
        cfg, rate, n = history_config(lab_json, v, elapsed)
        arms[v] = {"alerts": cfg}
        seen[v] = {"false_alerts_per_day_per_operator": rate, "false_alerts_seen": n}
    base = os.path.relpath(scenario.resolve(), out.parent.resolve())
    doc = {"name": out.stem, "description": f"alert policies from {lab_json.name} with their measured alert "
                                            f"history ({elapsed / 3600:g} h into the shift)",
           "base": base, "base_arm": variants[0], "replications": replications, "seed": seed,
           "kpis": list(HISTORY_KPIS), "arms": arms}
    head = "".join(f"# {v}: {d['false_alerts_per_day_per_operator']:.3g} false alerts per operator-day in the lab, "
                   f"{d['false_alerts_seen']} seen before the leak\n" for v, d in seen.items())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# written by drilltwin alerts history from {lab_json.name}\n" + head
                   + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    from drills.studies.experiment import load_experiment

    load_experiment(out)  # the experiment must load
    return {"experiment": str(out), "arms": seen, "shift_elapsed_s": elapsed}
