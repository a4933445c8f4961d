"""The results folder of a joint exercise, written atomically (a temporary sibling folder, then a rename).

Layout::

    region.yaml            the region as run (resolved site paths, the seed used)
    kpis.json              {"kpis": {regional}, "sites": {SITE: {KPI ...}}}
    events.parquet/.csv    the combined timeline: t, site, kind, agent, node, detail
    alerts.parquet         every site's alerts: t, site, id, level, rank, kind, gas, policy, zone, ...
    workflow.parquet       the regional workflows' transitions: t, workflow, instance, step, state, ..., site
    warned.parquet         when and how each site was first warned: site, t, how
    aid.parquet/.csv       every mutual-aid job: request, dispatch, arrival, release, return, wait
    sites/SITE/            each site's own results folder (as ``drilltwin run`` writes it)
    region_report.html     regional KPIs, resources, timeline and every site's report behind a switcher
    region_replay.html     the map and every site's replay behind a switcher
    manifest.json
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from drills.outputs.naming import slug
from drills.outputs.results import (
    atomic_dir,
    events_table,
    jsonable,
    write_event_tables,
    write_manifest,
    write_results,
)
from drills.region.sim import RegionResult

__all__ = ["write_region_results", "region_run_id"]



def region_run_id(res: RegionResult) -> str:
    """``region-<name>-s<seed>-<hash of the region file>``: stable for the same input."""
    h = hashlib.sha256(_region_yaml(res).encode()).hexdigest()[:8]
    return f"region-{slug(res.region.name, 'region')}-s{res.seed}-{h}"


def _region_yaml(res: RegionResult) -> str:
    data = res.region.spec.model_dump(mode="json", exclude_none=True)
    data["seed"] = res.seed
    base = res.region.path.parent if res.region.path else Path.cwd()
    for s in data["sites"]:
        p = Path(s["scenario"])
        s["scenario"] = str((p if p.is_absolute() else base / p).resolve())
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def region_caveats(res: RegionResult) -> list[str]:
    """The data caveats of every site (see :meth:`twin.gas.Gas.caveats`), each once."""
    return sorted({c for r in [res, *res.sites.values()] for c in r.extra.get("caveats", [])})


def payload(res: RegionResult) -> dict[str, Any]:
    """``{"kpis": {...regional}, "sites": {SITE: {KPI ...}}}`` (docs/cli.md)."""
    return {"kpis": res.kpis, "sites": {name: r.kpis for name, r in res.sites.items()}}


def write_region_results(res: RegionResult, out: str | os.PathLike | None = None, *,
                         root: str | os.PathLike = "results", html: bool = True) -> Path:
    """Write the exercise's folder (``out``, or ``root/<run-id>``) atomically; return its path."""
    run_id = region_run_id(res)
    final = Path(out) if out is not None else Path(root) / run_id
    text = _region_yaml(res)
    with atomic_dir(final) as tmp:
        (tmp / "region.yaml").write_text(text, encoding="utf-8")
        (tmp / "kpis.json").write_text(json.dumps(payload(res), indent=2, default=jsonable) + "\n")
        ev = res.events
        cols = ("t", "site", "kind", "agent", "node", "detail")
        pq.write_table(events_table(ev, cols), tmp / "events.parquet")
        with (tmp / "events.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            w.writerows((repr(e[0]), *e[1:]) for e in ev)
        site_alerts = [(name, a) for name, r in res.sites.items() for a in r.extra.get("alerts", [])]
        site_alerts.sort(key=lambda x: x[1].t)  # one exercise clock: every site's alerts in time order
        write_event_tables(tmp, [a for _, a in site_alerts], res.extra.get("transitions", []),
                           sites=[n for n, _ in site_alerts])
        aid_cols = ("request", "resource", "kind", "site", "step", "t_request", "t_dispatch", "wait", "t_arrive",
                    "travel_s", "t_release", "t_back")
        rows = [[getattr(a, c) for c in aid_cols] for a in res.aid]
        pq.write_table(pa.table({c: [r[k] for r in rows] for k, c in enumerate(aid_cols)}) if rows
                       else pa.table({c: pa.array([], pa.float64()) for c in aid_cols}), tmp / "aid.parquet")
        with (tmp / "aid.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(aid_cols)
            w.writerows(rows)
        (tmp / "sites").mkdir()
        for name, r in res.sites.items():
            site_dir = write_results(r, tmp / "sites" / slug(name, 'site'))
            if html:
                from drills.outputs.replay import write_replay
                from drills.outputs.report import write_report

                write_report(site_dir)
                write_replay(site_dir)
        warned = res.extra.get("warned", {})
        pq.write_table(pa.table({
            "site": pa.array(list(warned), pa.string()),
            "t": pa.array([v[0] for v in warned.values()], pa.float64()),
            "how": pa.array([v[1] for v in warned.values()], pa.string()),
        }), tmp / "warned.parquet")
        manifest = {
            "run_id": final.name if out is not None else run_id,
            "region": res.region.name,
            "region_file": str(res.region.path) if res.region.path else None,
            "region_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "seed": res.seed,
            "sites": {name: f"sites/{slug(name, 'site')}" for name in res.sites},
            "wall_s": round(res.wall_s, 4),
            "data_caveats": region_caveats(res),
            "t0": res.extra.get("t0", 0.0),  # s on the exercise clock: the origin of every KPI
        }
        pages = ("region_report.html", "region_replay.html") if html else ()
        write_manifest(tmp, manifest, pages)
        if html:  # the pages are built from the folder's own files, as `drilltwin report` builds them later
            from drills.outputs.region_report import write_region_html

            write_region_html(tmp, res.region)
    return final
