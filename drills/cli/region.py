"""``drilltwin region REGION``: a cross-site joint exercise (docs/cli.md and docs/region.md).

:func:`register` adds the command to the main app (called by :mod:`drills.cli.main`). Heavy imports stay
inside the command so that ``drilltwin --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``region`` command to ``app``."""

    @app.command("region")
    def region(
        region_file: Annotated[Path, typer.Argument(help="region YAML (scenarios/regions/*.yaml)")],
        seed: Annotated[int | None, typer.Option(help="random seed (default: the region's)")] = None,
        out: Annotated[Path | None, typer.Option(help="results folder (default results/<run-id>)")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="print run id, folder and KPIs as JSON")] = False,
    ) -> None:
        """Run a joint exercise: several sites on one clock, shared responders, one outdoor field."""
        from contextlib import nullcontext

        from rich.console import Console

        from drills.cli.common import (
            check_seed,
            kpi_table,
            print_caveats,
            print_json,
            print_warnings,
            run_with_progress,
            status,
        )
        from drills.outputs.region_results import region_caveats, write_region_results
        from drills.outputs.results import check_out, out_lock
        from drills.region.model import load_region
        from drills.region.sim import run_region

        check_seed(seed)
        if out is not None:  # refused before the simulation, not after it
            check_out(out)
        with status(f"loading {region_file.name} and its site models", quiet=json_out):
            reg = load_region(region_file)
        with out_lock(out) if out is not None else nullcontext():
            res = run_with_progress(f"running {reg.name}", reg.spec.duration,
                                    lambda progress: run_region(reg, seed, progress=progress), quiet=json_out)
            with status("writing the results, reports and replays", quiet=json_out):
                path = write_region_results(res, out)
        warnings = [f"{name}: {w}" for name, r in res.sites.items() for w in r.extra.get("warnings", [])]
        print_warnings(warnings)  # each site's own are also in sites/SITE/manifest.json
        payload = {"run_id": path.name, "out": str(path), "kpis": res.kpis,
                   "sites": {name: r.kpis for name, r in res.sites.items()}, "warnings": warnings}
        if json_out:
            print_json(payload)
            return
        console = Console(markup=False)  # names are printed as written, never parsed as markup
        console.print(kpi_table(f"{reg.name} (seed {res.seed}): regional", res.kpis))
        keys = ("t_detect", "t_alert", "t_alarm", "t_evacuated", "occupants", "safe", "exposed_idlh", "peak_ppm")
        from rich.table import Table

        t = Table(title="sites")
        t.add_column("KPI", overflow="fold")
        for name in res.sites:
            t.add_column(name, justify="right", overflow="fold")
        for k in keys:
            t.add_row(k, *["-" if r.kpis.get(k) is None else f"{r.kpis.get(k):,.1f}" if isinstance(r.kpis.get(k), float)
                           else str(r.kpis.get(k)) for r in res.sites.values()])
        console.print(t)
        print_caveats(console, region_caveats(res))
        console.print(f"results written to {path}/ (region_report.html, region_replay.html)")
