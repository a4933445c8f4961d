"""Regional experiments: ``drilltwin compare`` on an experiment file whose ``base`` is a region file.

The experiment file and its one loader are those of :mod:`drills.studies.experiment` (name, base, base_arm,
replications, seed, common_random_numbers, kpis, arms; the same defaults). For a region:

* arms override **top-level region fields** (``weather``, ``resources``, ``workflows``, ``injects``,
  ``roads``, ``sites`` ...) as a whole, in YAML form; every arm is loaded once up front so bad overrides fail
  before anything runs, naming the experiment file and ``arms.ARM.FIELD``;
* ``kpis`` are regional KPIs (:data:`REGION_NUMERIC_KPIS`) or one site's KPI as ``SITE.KPI``
  (``Neighbour.t_detect``);
* replication *i* runs the whole region with seed ``seed + i`` in every arm (common random numbers), on the
  experiment machinery's serial or Dask path (:func:`run_region_batch` is what each task runs).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from drills.sim.run import release_mesa_ids
from drills.spec.kpi_names import NUMERIC_KPIS

__all__ = ["region_base", "run_region_batch", "REGION_NUMERIC_KPIS", "DEFAULT_REGION_KPIS"]

REGION_NUMERIC_KPIS = ("t_first_aid_arrival", "t_all_sites_warned", "exposed_offsite", "resource_wait_s",
                       "resource_wait_max_s", "aid_requests", "aid_arrived", "peak_ppm_offsite", "occupants",
                       "safe", "trapped", "incapacitated", "exposed_idlh")
DEFAULT_REGION_KPIS = ("t_first_aid_arrival", "t_all_sites_warned", "exposed_offsite", "resource_wait_s")


def region_base(base: Path) -> dict[str, Any]:
    """What the experiment loader (:func:`drills.studies.experiment.load_experiment`) needs of a region
    base file, as the fields of its ``BaseFile``; raise ``InputError`` when the region does not load."""
    from drills.region.model import load_region
    from drills.spec.region import RegionSpec

    reg = load_region(base)
    sites = [s.name for s in reg.sites]

    def check(k: str) -> str | None:
        site, _, kpi = k.rpartition(".")
        if site:
            if site not in sites:
                return f"'{site}' is not a site of the region ({', '.join(sites)})"
            if kpi not in NUMERIC_KPIS:
                return f"'{kpi}' is not a numeric site KPI (one of {', '.join(NUMERIC_KPIS)})"
            return None
        if k not in REGION_NUMERIC_KPIS:
            return f"'{k}' is not a numeric regional KPI (one of {', '.join(REGION_NUMERIC_KPIS)}) or SITE.KPI"
        return None

    return {"kind": "region", "fields": RegionSpec.model_fields, "build": lambda ov: load_region(base, ov),
            "seed": reg.spec.seed, "default_kpis": DEFAULT_REGION_KPIS, "check_kpi": check,
            "inputs": region_inputs}


def region_inputs(reg) -> list[Path]:
    """Every file a region run reads: its member scenarios and their site models."""
    out = []
    for s in reg.sites:
        if s.scenario.path is not None:
            out.append(s.scenario.path)
        out.append(s.scenario.site_path())
    return out


def _num(v: Any) -> float | None:
    return None if v is None or isinstance(v, bool) or not isinstance(v, int | float) else float(v)


def run_region_batch(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One batch of replications of one arm of a regional experiment (the payload of
    :func:`drills.studies.experiment.run_batch`); rows carry every regional KPI and every ``SITE.KPI``."""
    from drills.region.model import load_region
    from drills.region.sim import run_region

    rows = []
    reg = None
    for rep, seed in payload["runs"]:
        t = time.perf_counter()
        row: dict[str, Any] = {"experiment": payload["experiment"], "arm": payload["arm"], "rep": rep, "seed": seed}
        try:
            if reg is None:
                reg = load_region(payload["base"], payload["overrides"] or None)
            res = run_region(reg, int(seed), log_trajectories=False)
            for k in REGION_NUMERIC_KPIS:
                row[k] = _num(res.kpis.get(k))
            for name, r in res.sites.items():
                for k in NUMERIC_KPIS:
                    row[f"{name}.{k}"] = _num(r.kpis.get(k))
            row["error"] = None
        except Exception as e:  # noqa: BLE001 - one broken run must not end the experiment
            row["error"] = f"{type(e).__name__}: {e}"
        finally:
            release_mesa_ids()
        row["run_wall_s"] = round(time.perf_counter() - t, 4)
        rows.append(row)
    return rows
