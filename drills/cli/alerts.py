"""``drilltwin alerts evaluate|tune|train|replay``: the alert lab (docs/alert-lab.md).

Registered on the main app by :mod:`drills.cli.main`; heavy imports stay inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from drills.cli.common import console, print_json
from twin.errors import InputError

__all__ = ["alerts_app"]

alerts_app = typer.Typer(no_args_is_help=True,
                         help="Measure, tune, train and replay alert policies (the alert lab).")

JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable results on stdout")]


def _out(out: Path | None, lab: Path, kind: str) -> Path:
    return out if out is not None else Path("results") / "alert-lab" / (lab.name.split(".")[0] + kind)


def _duration(v: str | None, name: str) -> float | None:
    """A command-line duration (``30d``, ``2h``) in s; None stays None; errors name the option."""
    if v is None:
        return None
    from twin.units import parse_duration

    try:
        x = parse_duration(v, name)
    except ValueError as e:
        raise InputError(str(e).removeprefix(f"{name}: "), where=name) from None
    if not x > 0:
        raise InputError(f"must be positive, got {v!r}", where=name)
    return x


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if 0.99 < v < 1 else f"{v:.3g}"
    return str(v)


@alerts_app.command("evaluate")
def evaluate(
    lab_file: Annotated[Path, typer.Argument(help="the lab file (YAML; docs/alert-lab.md)")],
    out: Annotated[Path | None, typer.Option("--out", help="results folder (default results/alert-lab/<lab>)")] = None,
    episodes: Annotated[int | None, typer.Option("--episodes", help="override the lab file's episodes")] = None,
    leak_free: Annotated[str | None, typer.Option("--leak-free", help="override leak_free (e.g. 30d)")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="override the lab file's seed")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Score every policy of a lab file: detection, lead times, false alerts, KPIs; Parquet, plots, HTML."""
    from drills.lab.evaluate import run_lab, score
    from drills.lab.labfile import load_lab
    from drills.lab.report import json_result, write_outputs

    spec = load_lab(lab_file)
    lf = _duration(leak_free, "--leak-free")
    if episodes is not None and episodes < 1:
        raise InputError("must be at least 1", where="--episodes")
    lab = run_lab(spec, seed=seed, episodes=episodes, leak_free=lf)
    tables = score(lab)
    paths = write_outputs(lab, tables, _out(out, lab_file, ""))
    res = json_result(lab, tables)
    res["outputs"] = paths
    if json_out:
        print_json(res)
        return
    from rich.table import Table

    t = Table(title=f"alert lab: {lab_file.name} ({len(lab.episodes)} leaks, {res['leak_free_days']:.1f} "
                    f"leak-free days, {lab.operators} operator(s))")
    cols = {"probability_of_detection": "P(detect)", "lead_vs_setpoint_median_s": "lead vs set point s",
            "lead_vs_odour_median_s": "lead vs odour s", "false_alerts_per_week_per_operator": "false /op-week",
            "precision": "precision", "f1": "F1", "accuracy_windowed": "accuracy",
            "accuracy_never_alert": "accuracy never alerting"}
    t.add_column("policy", no_wrap=True)
    for c in cols.values():
        t.add_column(c, justify="right")
    swept = {}
    for name, d in res["policies"].items():
        short = name
        if d.get("parameter") is not None:  # a swept variant: cusum[0.01], the parameter said below
            short = f"{d['policy']}[{d['value']}]"
            swept[d["policy"]] = d["parameter"]
        t.add_row(short, *(_fmt(d.get(c)) for c in cols))
    console.print(t)
    for pol, param in swept.items():
        console.print(f"{pol}[x]: {param} = x")
    console.print("medians over the leaks both detect; precision, F1 and accuracy at "
                  f"{spec.leaks_per_year:g} leak(s) per plant-year (docs/alert-lab.md)")
    for n in lab.notes:
        console.print(f"note: {n}", style="yellow")
    console.print(f"report: {paths['html']}")


@alerts_app.command("replay")
def replay(
    log: Annotated[Path, typer.Argument(help="historian log: CSV or Parquet with timestamp, tag, value[, unit]")],
    scenario: Annotated[Path, typer.Option("--scenario", help="the scenario whose detectors and policy to use")],
    tag_map: Annotated[Path | None, typer.Option("--map", help="TAGS.yaml: one 'TAG: DETECTOR_ID' per line")] = None,
    events: Annotated[Path | None, typer.Option("--events", help="labelled events CSV: start[,end][,label]")] = None,
    window: Annotated[str, typer.Option("--window", help="detection window after an event's start")] = "30min",
    step: Annotated[str | None, typer.Option("--step", help="grid step (default the log's sampling interval)")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", help="leak-free start of the log used for "
                                                                    "baselines (default a tenth, at most 1h)")] = None,
    injects: Annotated[Path | None, typer.Option("--injects", help="write the alerts as drill injects (YAML)")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a scenario's alert policy over a recorded sensor log."""
    from drills.lab.replay import replay_log, write_injects

    res = replay_log(scenario, log, tag_map, step=_duration(step, "--step"), baseline=_duration(baseline, "--baseline"),
                     events=events, window=_duration(window, "--window") or 1800.0)
    if injects is not None:
        res["injects"] = str(write_injects(res, injects))
    if json_out:
        print_json(res)
        return
    import sys

    for w in res["warnings"]:
        print(f"drilltwin: warning: {w['warning']}: {w.get('detector', '')}: {w['detail']}", file=sys.stderr)
    from rich.table import Table

    t = Table(title=f"replay of {log.name}: {len(res['alerts'])} alert(s)")
    for c in ("time", "detector", "level", "policy"):
        t.add_column(c)
    for a in res["alerts"]:
        t.add_row(a["time"], str(a["detector"]), a["level"], a["policy"])
    console.print(t)
    if "metrics" in res:
        m = res["metrics"]
        console.print(f"events {m['events']}: detected {m['detected']}, missed {m['missed']}, "
                      f"false alerts {m['false_alerts']}")
    for n in res["notes"]:
        console.print(f"note: {n}", style="yellow")


@alerts_app.command("tune")
def tune(
    lab_file: Annotated[Path, typer.Argument(help="the lab file (YAML; docs/alert-lab.md)")],
    policy: Annotated[str, typer.Option("--policy", help="the lab file's policy to tune (its name)")],
    budget: Annotated[str | None, typer.Option("--budget", help="false alerts per operator, e.g. 1/week")] = None,
    target_pod: Annotated[float | None, typer.Option("--target-pod", help="detection probability to reach")] = None,
    leak_class: Annotated[str, typer.Option("--leak-class", help="all, family=micro, hole=small, ...")] = "all",
    scenario_out: Annotated[Path | None, typer.Option("--write-scenario", help="write the scenario with the tuned "
                                                                              "policy here (a copy)")] = None,
    episodes: Annotated[int | None, typer.Option("--episodes")] = None,
    leak_free: Annotated[str | None, typer.Option("--leak-free", help="e.g. 30d")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Choose a policy's parameter for a false-alert budget or a detection target; Pareto front."""
    from drills.lab.labfile import load_lab
    from drills.lab.tune import parse_budget, write_tuned_scenario
    from drills.lab.tune import tune as run_tune

    spec = load_lab(lab_file)
    b = parse_budget(budget) if budget is not None else None
    if target_pod is not None and not 0 < target_pod <= 1:
        raise InputError(f"must be in (0, 1], got {target_pod}", where="--target-pod")
    lf = _duration(leak_free, "--leak-free")
    res = run_tune(spec, policy, budget=b, target=target_pod, leak_class=leak_class, episodes=episodes, leak_free=lf)
    if scenario_out is not None:
        if res.get("config") is None:
            raise InputError("no candidate meets the budget or target: nothing to write", where="--write-scenario")
        what = f"{budget}" if budget is not None else f"detection {target_pod}"
        note = (f"tuned by drilltwin alerts tune {lab_file.name} --policy {policy} ({what}): "
                f"{res['parameter']} = {res['chosen']['value']}")
        res["scenario"] = str(write_tuned_scenario(spec.scenario, res["config"], scenario_out, note))
    if json_out:
        print_json(res)
        return
    from rich.table import Table

    t = Table(title=f"tune {policy}: {res['parameter']} ({res['leak_free_days']:.1f} leak-free days, "
                    f"{res['operators']} operator(s))")
    for c in ("value", "false/op-week", "P(detect)", "median lead s", "pareto", "chosen"):
        t.add_column(c, justify="right")
    for p in res["candidates"]:
        t.add_row(str(p["value"]), _fmt(p["fp"]), _fmt(p["pod"]), _fmt(p["lead"]),
                  "*" if p["value"] in res["pareto"] else "", "<-" if p is res["chosen"] or p == res["chosen"] else "")
    console.print(t)
    if res.get("fresh"):
        f = res["fresh"]
        console.print(f"fresh data (seed {f['seed']}, {f['leak_free_days']:.1f} days): "
                      f"{_fmt(f['false_alerts_per_week_per_operator'])} false alerts per operator-week"
                      + (f"; meets budget: {res['meets_budget_on_fresh_data']}" if b is not None else ""))
    if res.get("scenario"):
        console.print(f"tuned scenario: {res['scenario']}")


@alerts_app.command("train")
def train(
    lab_file: Annotated[Path, typer.Argument(help="the lab file (YAML; train_seeds and test_seeds)")],
    out: Annotated[Path, typer.Option("--out", help="model file to write (a model card .card.json next to it)")],
    episodes: Annotated[int | None, typer.Option("--episodes", help="training episodes (default the lab's)")] = None,
    leak_free: Annotated[str | None, typer.Option("--leak-free", help="training leak-free time, e.g. 2d")] = None,
    threshold: Annotated[float, typer.Option("--threshold", help="alert when the probability reaches this")] = 0.5,
    json_out: JsonOpt = False,
) -> None:
    """Train a gradient-boosted-trees alert model on labelled windows from the twin; save it with a model card."""
    from drills.lab.labfile import load_lab
    from drills.lab.training import train as run_train

    spec = load_lab(lab_file)
    if not 0 < threshold < 1:
        raise InputError(f"must be in (0, 1), got {threshold}", where="--threshold")
    lf = _duration(leak_free, "--leak-free")
    card = run_train(spec, out, episodes=episodes, leak_free=lf, threshold=threshold, lab_path=lab_file)
    if json_out:
        print_json(card)
        return
    h = card["held_out"]
    console.print(f"model: {card['model_path']}  card: {card['card_path']}")
    console.print(f"trained on seed {card['training_data']['seed']} ({card['training_data']['windows']} windows, "
                  f"{card['training_data']['positive_windows']} positive); held out on seed {h['seed']}: "
                  f"window ROC AUC {_fmt(h['window_roc_auc'])}, P(detect) {_fmt(h['probability_of_detection'])} "
                  f"(set point {_fmt(h['reference_probability_of_detection'])}), false alerts per operator-week "
                  f"{_fmt(h['false_alerts_per_week_per_operator'])}")


@alerts_app.command("history")
def history(
    lab_json: Annotated[Path, typer.Argument(help="lab.json written by drilltwin alerts evaluate")],
    scenario: Annotated[Path, typer.Option("--scenario", help="the drill to give the alert history")],
    out: Annotated[Path, typer.Option("--out", help="the scenario copy (--policy) or experiment (--arms) to write")],
    policy: Annotated[str | None, typer.Option("--policy", help="one lab policy: write a scenario copy")] = None,
    arms: Annotated[str | None, typer.Option("--arms", help="lab policies, comma-separated: write an experiment "
                                                            "for drilltwin compare (first = base arm)")] = None,
    elapsed: Annotated[str, typer.Option("--elapsed", help="shift time before the leak")] = "6h",
    json_out: JsonOpt = False,
) -> None:
    """Start a drill's operators with the false alerts the lab measured (fatigue cost), for one policy or
    as an experiment comparing several."""
    from drills.lab.history import write_history_experiment, write_history_scenario

    if (policy is None) == (arms is None):
        raise InputError("give either --policy NAME or --arms A,B", where="--policy")
    el = _duration(elapsed, "--elapsed")
    if policy is not None:
        res = write_history_scenario(scenario, lab_json, policy, out, el)
    else:
        res = write_history_experiment(scenario, lab_json, [a.strip() for a in arms.split(",") if a.strip()], out,
                                       elapsed=el)
    if json_out:
        print_json(res)
        return
    if policy is not None:
        console.print(f"{res['scenario']}: operators start with {res['false_alerts_seen']} false alert(s) seen "
                      f"({res['false_alerts_per_day_per_operator']:.3g} per operator-day from the lab)")
    else:
        for a, d in res["arms"].items():
            console.print(f"{a}: {d['false_alerts_seen']} false alert(s) seen before the leak "
                          f"({d['false_alerts_per_day_per_operator']:.3g} per operator-day)")
        console.print(f"experiment: {res['experiment']} (run it with drilltwin compare)")
