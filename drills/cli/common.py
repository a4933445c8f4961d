"""What every command group shares: the console, JSON output, KPI tables, caveat lines and the progress bar.

Kept apart from :mod:`drills.cli.main` so that the command groups (:mod:`.region`, :mod:`.sensors`) import
it without importing the app that registers them.
"""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

__all__ = ["console", "print_json", "print_caveats", "print_warnings", "check_seed", "kpi_table", "run_with_progress", "status"]

# markup off: names from models and scenarios ("Plant [A]") are printed as written, never parsed
console = Console(stderr=False, markup=False)


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    from drills.outputs.results import jsonable

    return jsonable(o)


def print_caveats(console: Console, lines: list[str]) -> None:
    """One line per value the results depend on that is not yet checked against a primary source."""
    for line in lines:
        console.print(f"data caveat: {line}", style="yellow")


def print_warnings(lines: list[str]) -> None:
    """One line per input warning (also kept in the results' manifest.json), on stderr so that ``--json``
    output stays clean."""
    err = Console(stderr=True, markup=False)
    for line in lines:
        err.print(f"warning: {line}", style="yellow", soft_wrap=True)


def check_seed(seed: int | None) -> None:
    """``--seed``: 0 .. MAX_SEED (exit 1, not a numpy traceback)."""
    from drills.spec.limits import MAX_SEED

    if seed is not None and not 0 <= seed <= MAX_SEED:
        from twin.errors import InputError

        raise InputError(f"must be between 0 and {MAX_SEED:,} (docs/limits.md), got {seed}", where="--seed")


def kpi_table(title: str, kpis: dict) -> Table:
    """KPI, value and unit; times also as minutes:seconds. Long cells fold to fit the terminal."""
    from drills.spec.kpi_names import kpi_unit

    t = Table(title=title, show_header=True)
    t.add_column("KPI", overflow="fold")
    t.add_column("value", justify="right", overflow="fold")
    t.add_column("unit")
    for k, v in kpis.items():
        if k.endswith("_unit"):
            continue
        unit = kpi_unit(k, kpis)
        if isinstance(v, dict):
            v = ", ".join(f"{a}: {b}" for a, b in v.items()) or "-"
        elif v is None:
            v = "-"
        elif isinstance(v, float):
            v = f"{v:,.2f}" + (f" ({int(v // 60)}:{v % 60:04.1f})" if unit == "s" and v >= 60 else "")
        t.add_row(k, str(v), unit)
    return t


def status(message: str, *, quiet: bool = False):
    """A spinner with ``message`` on stderr while a step runs (nothing with ``quiet`` or when stderr is
    not a terminal), so no step of more than a few seconds looks like a hang."""
    from contextlib import nullcontext

    if quiet or not sys.stderr.isatty():
        return nullcontext()
    return Console(stderr=True).status(message)


def run_with_progress(description: str, duration: float, run, *, quiet: bool = False):
    """``run(progress)`` with a progress bar on stderr over ``duration`` simulated seconds; ``progress``
    is None (no bar) with ``quiet`` (``--json``) or when stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        return run(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), TextColumn("{task.fields[sim]}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=duration, sim="t = 0 s")
        return run(lambda t: bar.update(task, completed=t, sim=f"t = {t:,.0f} s"))
