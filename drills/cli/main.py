"""The ``drilltwin`` command line.

Exit codes: 0 success, 1 bad input (one clear line on stderr naming the file and the field or entity),
2 internal error. ``--json`` prints machine-readable results on stdout; the human output is rich tables.
Set ``DRILLTWIN_DEBUG=1`` to see the traceback of an internal error.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.table import Table

from drills.cli.alerts import alerts_app
from drills.cli.common import (
    check_seed,
    console,
    kpi_table,
    print_caveats,
    print_json,
    print_warnings,
    run_with_progress,
    status,
)
from drills.cli.region import register as _register_region
from drills.cli.sensors import sensors_app
from drills.cli.studio import register as _register_studio
from twin.errors import InputError

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="drilltwin: BIM digital twin for emergency drills.")
twin_app = typer.Typer(no_args_is_help=True, help="Inspect and build site models (IFC or site sketch).")
app.add_typer(twin_app, name="twin")

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_SITE = ROOT / "ifc_models" / "chemical_plant.ifc"
BUNDLED_SCENARIO = ROOT / "scenarios" / "plant_h2s_leak.yaml"

def _report_tables(rep: dict) -> None:
    t = Table(title=f"{rep['name']}  ({rep['schema']})", show_header=True)
    t.add_column("item")
    t.add_column("count", justify="right")
    rows = [
        ("buildings", rep["buildings"]),
        ("storeys (walkable)", f"{rep['storeys']} ({rep['storeys_walkable']})"),
        ("spaces (walkable)", f"{rep['spaces']} ({rep['spaces_walkable']})"),
        ("zones (cells)", rep["zones"]),
        ("doors connected", f"{rep['doors_connected']} / {rep['doors']}"),
        ("open passages", rep.get("passages", 0)),
        ("exits", rep["exits"]),
        ("stairs connected", f"{rep['stairs_connected']} / {rep['stairs']}"),
        ("equipment", rep["equipment"]),
        ("sensors", rep["sensors"]),
        ("alarms", rep["alarms"]),
        ("muster points", rep["muster"]),
        ("graph components", rep["components"]),
        ("unreachable spaces", rep["unreachable_spaces"]),
        ("longest walk to an exit", f"{rep['max_exit_distance_m']} m"),
    ]
    for k, v in rows:
        t.add_row(k, str(v))
    console.print(t)
    if rep["warnings"]:
        w = Table(title="import warnings", show_header=True)
        w.add_column("code")
        w.add_column("n", justify="right")
        w.add_column("example", overflow="fold")
        by = Counter(x["code"] for x in rep["warnings"])
        for code, n in by.most_common():
            ex = next(x for x in rep["warnings"] if x["code"] == code)
            w.add_row(code, str(n), f"{ex['entity']}: {ex['message']}")
        console.print(w)


_LIST_COLUMNS = {
    "spaces": (("use_name", "name to use"), ("long_name", "long name"), ("storey", "storey"),
               ("area_m2", "area (m2)"), ("walkable", "walkable"), ("reachable", "exit reachable"), ("id", "id")),
    "doors": (("label", "between"), ("use_name", "name to use"), ("storey", "storey"), ("width_m", "width (m)"),
              ("exit", "exit"), ("id", "id")),
    "exits": (("label", "exit"), ("use_name", "name to use"), ("width_m", "width (m)"), ("id", "id")),
    "sensors": (("use_name", "name to use"), ("kind", "kind"), ("gas", "gas"), ("setpoints", "set points"),
                ("space", "space"), ("storey", "storey"), ("id", "id")),
    "equipment": (("use_name", "name to use"), ("kind", "kind"), ("space", "space"), ("storey", "storey"),
                  ("xyz_m", "x, y, z (m)"), ("id", "id")),
}


def _list_table(kind: str, items: list[dict]) -> Table:
    t = Table(title=f"{kind} ({len(items)})", show_header=True)
    for key, label in _LIST_COLUMNS[kind]:  # ids stay on one line so they can be copied
        t.add_column(label, overflow="fold", no_wrap=key == "id", min_width=22 if key == "id" else None)
    for it in items:
        cells = []
        for key, _ in _LIST_COLUMNS[kind]:
            v = it.get(key)
            cells.append("-" if v is None or v == [] else ", ".join(map(str, v)) if isinstance(v, list)
                         else ("yes" if v else "no") if isinstance(v, bool) else str(v))
        t.add_row(*cells)
    return t


@twin_app.command("inspect")
def twin_inspect(
    model: Annotated[Path, typer.Argument(help="IFC file or site sketch (.site.yaml)")],
    json_out: Annotated[bool, typer.Option("--json", help="print the import report as JSON")] = False,
    plot: Annotated[str | None, typer.Option("--plot", help="write a per-storey floor plan PNG (a file, or a "
                                                           "folder ending in /)")] = None,
    list_kind: Annotated[str | None, typer.Option(
        "--list", help="list the items of one kind: spaces, doors, exits, sensors or equipment, with the name "
                       "to use in a scenario")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="re-import even if cached")] = False,
) -> None:
    """Import a model and report what the twin made of it."""
    from twin.inventory import KINDS, inventory
    from twin.load import load_twin

    if list_kind is not None and list_kind not in KINDS:
        raise InputError(f"expected one of {', '.join(KINDS)}, got {list_kind!r}", where="--list")
    with status(f"importing {model.name}", quiet=json_out):
        g = load_twin(model, cache=not no_cache)
    rep = g.report()
    if list_kind is not None:
        rep["list"] = list_kind
        rep["items"] = inventory(g, list_kind)
    if plot is not None:
        from twin.plot import plot_floor_plans

        rep["plot"] = str(plot_floor_plans(g, plot))
    if json_out:
        print_json(rep)
    else:
        if list_kind is not None:
            console.print(_list_table(list_kind, rep["items"]))
        else:
            _report_tables(rep)
        if plot is not None:
            console.print(f"floor plan: {rep['plot']}")


@twin_app.command("build")
def twin_build(
    sketch: Annotated[Path, typer.Argument(help="site sketch (.site.yaml)")],
    out: Annotated[Path, typer.Option("-o", "--out", help="IFC4 file to write")],
) -> None:
    """Convert a site sketch to an IFC4 model that loads back to the same twin."""
    from twin.ifc_build import build_ifc
    from twin.load import SKETCH_SUFFIXES, load_site

    if sketch.suffix.lower() not in SKETCH_SUFFIXES:
        raise InputError("expected a site sketch (.site.yaml)", source=str(sketch))
    site = load_site(sketch, cache=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-", suffix=".ifc")
    os.close(fd)
    try:
        build_ifc(site, tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    console.print(f"wrote {out} ({len(site.spaces)} spaces, {len(site.doors)} doors, {len(site.stairs)} stairs)")


def _run_and_write(scenario: Path, seed: int | None, out: Path | None, json_out: bool, *, plot: bool = False) -> dict:
    from contextlib import nullcontext

    from drills.outputs.results import add_manifest_files, check_out, out_lock, write_results
    from drills.sim.engine import run_scenario, site_graph
    from drills.spec.scenario import load_scenario

    check_seed(seed)
    if out is not None:  # refused before the simulation, not after it
        check_out(out)
    sc = load_scenario(scenario)
    with out_lock(out) if out is not None else nullcontext():
        with status(f"importing the site model {sc.site_path().name}", quiet=json_out):
            graph = site_graph(sc)
        res = run_with_progress(f"running {sc.name}", sc.duration,
                                lambda progress: run_scenario(sc, seed, graph=graph, progress=progress),
                                quiet=json_out)
        with status("writing the results, report and replay", quiet=json_out):
            path = write_results(res, out)
            from drills.outputs.replay import write_replay
            from drills.outputs.report import write_report

            write_report(path)
            write_replay(path)
            if plot:
                from twin.plot import plot_floor_plans

                plot_floor_plans(res.extra["graph"], path / "floor_plan.png")
            add_manifest_files(path)
    payload = {"run_id": path.name, "out": str(path), "kpis": res.kpis, "warnings": res.extra.get("warnings", [])}
    print_warnings(payload["warnings"])
    if json_out:
        print_json(payload)
    else:
        console.print(kpi_table(f"{sc.name} (seed {res.seed})", res.kpis))
        print_caveats(console, res.extra.get("caveats", []))
        console.print(f"results written to {path}/")
    return payload


@app.command("run")
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML")],
    seed: Annotated[int | None, typer.Option(help="random seed (default: the scenario's)")] = None,
    out: Annotated[Path | None, typer.Option(help="results folder (default results/<run-id>)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print run id, folder and KPIs as JSON")] = False,
) -> None:
    """Run one drill and write its results folder."""
    _run_and_write(scenario, seed, out, json_out)


@app.command("demo")
def demo(
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    out: Annotated[Path, typer.Option(help="results folder")] = Path("results/demo"),
    json_out: Annotated[bool, typer.Option("--json", help="print results as JSON")] = False,
) -> None:
    """Run the bundled drill on the sample chemical plant, print its KPIs and write its results."""
    _run_and_write(BUNDLED_SCENARIO, seed, out, json_out, plot=True)


@app.command("compare")
def compare(
    experiment: Annotated[Path, typer.Argument(help="experiment YAML (scenarios/experiments/*.yaml)")],
    n: Annotated[int | None, typer.Option("-n", help="replications per arm (default: the file's)")] = None,
    workers: Annotated[int | None, typer.Option(help="run on a local Dask cluster of N workers")] = None,
    scheduler: Annotated[str | None, typer.Option(help="address of an existing Dask scheduler")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (resumes if it holds finished runs)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,
) -> None:
    """Arms x replications with common random numbers: KPI statistics and paired differences."""
    from drills.studies.experiment import run_compare

    if workers is not None and scheduler is not None:
        raise InputError("give --workers or --scheduler, not both", where="--scheduler")
    payload = run_compare(experiment, n, workers, scheduler, out, progress=not json_out)
    if json_out:
        print_json({k: v for k, v in payload.items() if k != "table"})
        return
    t = Table(title=f"{experiment.name}: {len(payload['arms'])} arms, base {payload.get('base_arm')}")
    cols = (("kpi", "KPI"), ("arm", "arm"), ("n", "runs"), ("share_happened", "happened"), ("mean", "mean"),
            ("ci95_low", "ci95 lo"), ("ci95_high", "ci95 hi"), ("diff_mean", "diff vs base"),
            ("diff_ci95_low", "diff lo"), ("diff_ci95_high", "diff hi"), ("p_value", "p"))
    for _, label in cols:  # eleven columns: cells fold rather than run off a narrow terminal
        t.add_column(label, justify="right", overflow="fold")
    for r in payload.get("table", []):
        t.add_row(*[_kpi_label(r.get(k)) if k == "kpi" else _cell(r.get(k)) for k, _ in cols])
    console.print(t)
    console.print(f"results written to {payload.get('out')}/ (report: {payload.get('report', '-')})")


def _kpi_label(kpi) -> str:
    """``t_alert (s)``: the unit of a comparison row's KPI (a site's ``SITE.KPI`` by its KPI)."""
    from drills.spec.kpi_names import kpi_unit

    unit = kpi_unit(str(kpi).rpartition(".")[2])
    return f"{kpi} ({unit})" if unit else str(kpi)


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


@app.command("report")
def report(run_dir: Annotated[Path, typer.Argument(help="a run's, a joint exercise's or a comparison's "
                                                        "results folder")]) -> None:
    """Write the after-action report (report.html) of a run, the region pages of a joint exercise (and
    each site's report), or the report of a comparison."""
    if (run_dir / "compare.json").exists() and (run_dir / "runs.parquet").exists():
        from drills.outputs.compare_report import write_compare_report

        console.print(str(write_compare_report(run_dir)))
        return
    from drills.outputs.region_report import is_region_folder
    from drills.outputs.report import write_report

    if is_region_folder(run_dir):
        import json

        from drills.outputs.region_report import write_region_html

        man = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")) \
            if (run_dir / "manifest.json").exists() else {}
        for sub in (man.get("sites") or {}).values():
            if (run_dir / sub / "kpis.json").exists():
                write_report(run_dir / sub)
        console.print(str(write_region_html(run_dir)[0]))
        return

    if not (run_dir / "kpis.json").exists():
        raise InputError("not a run folder (no kpis.json) nor a comparison folder (no compare.json)",
                         source=str(run_dir))
    console.print(str(write_report(run_dir)))


@app.command("replay")
def replay(
    run_dir: Annotated[Path, typer.Argument(help="a run's results folder")],
    gif: Annotated[Path | None, typer.Option(help="also write an animated GIF")] = None,
    mp4: Annotated[Path | None, typer.Option(help="also write an MP4 (needs ffmpeg)")] = None,
) -> None:
    """Write the replay (replay.html) of a run, optionally a GIF or MP4 for slides."""
    from drills.outputs.replay import write_replay

    if not (run_dir / "trajectories.parquet").exists():
        raise InputError("not a run folder (no trajectories.parquet)", source=str(run_dir))
    console.print(str(write_replay(run_dir, gif=gif, mp4=mp4)))


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from drills.spec.scenario import scenario_schema

    print_json(scenario_schema())



app.add_typer(sensors_app, name="sensors")
app.add_typer(alerts_app, name="alerts")
_register_region(app)
_register_studio(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point with the exit-code contract."""
    try:
        app(args=argv, standalone_mode=False)
    except InputError as e:
        print(f"drilltwin: error: {e}", file=sys.stderr)
        sys.exit(1)
    except click.exceptions.UsageError as e:
        print(f"drilltwin: error: {e.format_message()}", file=sys.stderr)
        sys.exit(1)
    except click.exceptions.Abort:
        print("drilltwin: aborted", file=sys.stderr)
        sys.exit(1)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # the contract: exit 2 with a short message, traceback on request
        if os.environ.get("DRILLTWIN_DEBUG"):
            traceback.print_exc()
        print(f"drilltwin: internal error: {type(e).__name__}: {e} (set DRILLTWIN_DEBUG=1 for the traceback)",
              file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
