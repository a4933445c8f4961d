"""The ``drilltwin`` command line.

Exit codes: 0 success, 1 bad input (one clear line on stderr naming the file and the field or entity),
2 internal error. ``--json`` prints machine-readable results on stdout; the human output is rich tables.
Set ``DRILLTWIN_DEBUG=1`` to see the traceback of an internal error.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

from twin.errors import InputError

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="drilltwin: BIM digital twin for emergency drills.")
twin_app = typer.Typer(no_args_is_help=True, help="Inspect and build site models (IFC or site sketch).")
app.add_typer(twin_app, name="twin")

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_SITE = ROOT / "ifc_models" / "chemical_plant.ifc"

console = Console(stderr=False)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    import numpy as np

    if isinstance(o, np.integer | np.floating):
        return o.item()
    if isinstance(o, set | tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


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
        w.add_column("example")
        by = Counter(x["code"] for x in rep["warnings"])
        for code, n in by.most_common():
            ex = next(x for x in rep["warnings"] if x["code"] == code)
            w.add_row(code, str(n), f"{ex['entity']}: {ex['message']}")
        console.print(w)


@twin_app.command("inspect")
def twin_inspect(
    model: Annotated[Path, typer.Argument(help="IFC file or site sketch (.site.yaml)")],
    json_out: Annotated[bool, typer.Option("--json", help="print the import report as JSON")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a per-storey floor plan PNG")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="re-import even if cached")] = False,
) -> None:
    """Import a model and report what the twin made of it."""
    from twin.load import load_twin

    g = load_twin(model, cache=not no_cache)
    rep = g.report()
    if plot is not None:
        from twin.plot import plot_floor_plans

        rep["plot"] = str(plot_floor_plans(g, plot))
    if json_out:
        _print_json(rep)
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


@app.command("demo")
def demo(
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
    out: Annotated[Path, typer.Option(help="results folder")] = Path("results/demo"),
    json_out: Annotated[bool, typer.Option("--json", help="print results as JSON")] = False,
) -> None:
    """Run the bundled drill on the sample chemical plant and write its results."""
    from twin.load import load_twin
    from twin.plot import plot_floor_plans

    g = load_twin(BUNDLED_SITE)
    rep = g.report()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        plot_floor_plans(g, tmp / "floor_plan.png")
        (tmp / "site_report.json").write_text(json.dumps(rep, indent=2, default=_json_default))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    rep["out"] = str(out)
    if json_out:
        _print_json(rep)
    else:
        _report_tables(rep)
        console.print(f"floor plan and site report written to {out}/")


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
