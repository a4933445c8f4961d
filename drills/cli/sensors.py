"""``drilltwin sensors evaluate|optimize``: gas-detector placement (docs/cli.md).

Registered on the main app by :mod:`drills.cli.main`; heavy imports stay inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from drills.cli.common import print_json
from twin.errors import InputError

__all__ = ["sensors_app"]

sensors_app = typer.Typer(no_args_is_help=True,
                          help="Evaluate and optimise gas-detector placement over a leak ensemble.")

CandidatesOpt = Annotated[str, typer.Option(
    "--candidates", help="existing | grid:SPACING (e.g. grid:3m, a lattice per space) | FILE (YAML or CSV)")]
TimeLimitOpt = Annotated[str | None, typer.Option(
    "--time-limit", help="a leak counts as covered when detected within this (e.g. 2min; default the "
                         "scenario's placement.time_limit, 5min)")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="folder for the coverage maps (default results/placement/<scenario>)")]


def _load(scenario: Path, candidates: str, time_limit: str | None, keep_existing: bool, progress: bool):
    from drills.spec.scenario import load_scenario
    from drills.studies.placement import build_ensemble
    from twin.units import parse_duration

    tl = None
    if time_limit is not None:
        try:
            tl = parse_duration(time_limit, "--time-limit")
        except ValueError as e:
            raise InputError(str(e).removeprefix("--time-limit: "), where="--time-limit") from None
    sc = load_scenario(scenario)
    return build_ensemble(sc, candidates, time_limit=tl, keep_existing=keep_existing, progress=progress)


def _out_dir(out: Path | None, scenario: Path) -> Path:
    stem = scenario.name.split(".")[0]
    return out if out is not None else Path("results") / "placement" / stem


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def _tables(res: dict[str, Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    con = Console(markup=False)  # names are printed as written, never parsed as markup
    t = Table(title=title, show_header=True)
    t.add_column("metric")
    t.add_column("value", justify="right")
    sc = res["scenario_coverage"]
    rows = [
        ("leak scenarios", res["scenarios"]),
        ("detectors", res["detectors"]),
        (f"scenario coverage, >=1 detector within {res['time_limit_s']:g} s", f"{sc['1'] * 100:.1f} %"),
        (f"scenario coverage, >=2 detectors within {res['time_limit_s']:g} s", f"{sc['2'] * 100:.1f} %"),
        ("geographic coverage (area share)", f"{res['geographic_coverage'] * 100:.1f} %"),
        ("mean detection time of detected leaks", f"{_fmt(res['mean_detect_s'])} s"),
        ("worst detection time of detected leaks", f"{_fmt(res['worst_detect_s'])} s"),
        (f"expected detection time (undetected = {res['undetected_penalty_s']:g} s)",
         f"{_fmt(res['expected_detect_s'])} s"),
    ]
    for k, v in rows:
        t.add_row(k, str(v))
    con.print(t)
    for key, label, first in (("per_storey", "per storey", "storey"), ("per_space", "per space", "space")):
        tt = Table(title=label)
        cols = [first] + (["building"] if first == "storey" else ["storey"]) + [
            "detectors", "scenarios", "covered", "mean_detect_s", "area_m2", "geographic_coverage"]
        for c in cols:
            tt.add_column(c.replace("_", " "), justify="left" if c in (first, "building", "storey") else "right")
        for r in res[key]:
            tt.add_row(*[_fmt(r.get(c)) if c not in ("covered", "geographic_coverage") or r.get(c) is None
                         else f"{r[c] * 100:.0f} %" for c in cols])
        con.print(tt)
    if res["undetected"]:
        con.print(Text.assemble((f"not detected within {res['time_limit_s']:g} s: ", "bold red"),
                                ", ".join(res["undetected"])))
    for p in res.get("plots", []):
        con.print(f"coverage map: {p}")


@sensors_app.command("evaluate")
def evaluate_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML (its placement: block sets the ensemble)")],
    candidates: CandidatesOpt = "existing",
    time_limit: TimeLimitOpt = None,
    out: OutOpt = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="write a coverage map PNG per storey")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
) -> None:
    """Scenario and geographic coverage, detection times and undetected leaks of a detector layout
    (all the candidates together)."""
    from drills.studies.placement import coverage_maps, evaluate

    ens = _load(scenario, candidates, time_limit, False, progress=sys.stderr.isatty())
    res = evaluate(ens)
    if plots:
        res["plots"] = coverage_maps(ens, list(range(len(ens.candidates))), _out_dir(out, scenario), "evaluate")
    if json_out:
        print_json(res)
        return
    _tables(res, f"{res['scenario']}: {res['gas']} detectors ({candidates})")


@sensors_app.command("optimize")
def optimize_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML (its placement: block sets the ensemble)")],
    budget: Annotated[int | None, typer.Option("--budget", help="number of detectors to choose")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", help="coverage share to reach with the fewest detectors: 0.9 or 90%")] = None,
    method: Annotated[str, typer.Option("--method", help="greedy (lazy greedy + swaps, with a bound) | "
                                                         "mip (exact, Pyomo + HiGHS)")] = "greedy",
    objective: Annotated[str, typer.Option(
        "--objective", help="with --budget: impact (expected detection time) | coverage")] = "impact",
    candidates: CandidatesOpt = "grid:3m",
    keep_existing: Annotated[bool, typer.Option("--keep-existing", help="keep the existing detectors and add "
                                                                        "to them")] = False,
    time_limit: TimeLimitOpt = None,
    write_ifc: Annotated[Path | None, typer.Option("--write-ifc", help="copy of the model with the chosen "
                                                                       "detectors as IfcSensor")] = None,
    write_sensors: Annotated[Path | None, typer.Option(
        "--write-sensors", help="the chosen detectors as a scenario sensors: list (YAML)")] = None,
    mip_time_limit: Annotated[float, typer.Option("--mip-time-limit", help="s for the MIP solver")] = 120.0,
    out: OutOpt = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="write a coverage map PNG per storey")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Choose detectors: K of them (--budget) minimising the expected detection time or maximising
    coverage, or the fewest reaching a coverage share (--target)."""
    from drills.studies.placement import coverage_maps, optimize, write_sensors_yaml

    share = None
    if target is not None:
        txt = target.strip()
        try:
            share = float(txt[:-1]) / 100.0 if txt.endswith("%") else float(txt)
        except ValueError:
            raise InputError(f"expected a share such as 0.9 or 90%, got {target!r}", where="--target") from None
        if share > 1.0 and not txt.endswith("%"):
            raise InputError(f"coverage target {target} is above 100 % (give a share in 0..1 or a percentage)",
                             where="--target")
    if budget is None and share is None:
        raise InputError("give --budget K or --target SHARE", where="--budget")
    if budget is not None and share is not None:
        raise InputError("give --budget or --target, not both", where="--target")
    # check the cheap inputs before the ensemble is computed
    if budget is not None and budget < 1:
        raise InputError(f"budget must be at least 1, got {budget}", where="--budget")
    if share is not None and not 0.0 < share <= 1.0:
        raise InputError(f"coverage target {share * 100:g} % must be above 0 % and at most 100 %", where="--target")
    if method not in ("greedy", "mip"):
        raise InputError(f"method must be greedy or mip, got {method!r}", where="--method")
    if write_ifc is not None and write_ifc.suffix.lower() != ".ifc":
        raise InputError("expected an output path ending in .ifc", where="--write-ifc")
    ens = _load(scenario, candidates, time_limit, keep_existing, progress=sys.stderr.isatty())
    res, chosen = optimize(ens, budget=budget, target=share, method=method, objective=objective,
                           keep_existing=keep_existing, mip_time_limit=mip_time_limit)
    if write_ifc is not None:
        from twin.ifc_sensors import write_sensors_ifc

        new = [ens.candidates[i].sensor for i in chosen if not ens.candidates[i].existing]
        write_sensors_ifc(ens.scenario.site_path(), write_ifc, [s for s in new if s is not None])
        res["ifc"] = str(write_ifc)
    if write_sensors is not None:
        res["sensors_yaml"] = str(write_sensors_yaml(ens, chosen, write_sensors))
    if plots:
        res["plots"] = coverage_maps(ens, chosen, _out_dir(out, scenario), f"optimize_{method}")
    if json_out:
        print_json(res)
        return
    from rich.console import Console
    from rich.text import Text

    con = Console(markup=False)  # names are printed as written, never parsed as markup
    con.print(Text.assemble((method, "bold"), f" chose {len(res['chosen'])} detector(s): "
                            f"{', '.join(res['chosen']) or '-'}"))
    if res["kept"]:
        con.print(f"kept: {', '.join(res['kept'])}")
    con.print(f"objective {res['objective']:g} {res['objective_unit']}; bound {res['bound']:g}; "
              f"gap {res['gap'] * 100:.2f} %")
    _tables(res, f"{res['scenario']}: optimised {res['gas']} layout")
    for k in ("ifc", "sensors_yaml"):
        if k in res:
            con.print(f"written: {res[k]}")
