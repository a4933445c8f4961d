"""Regional experiments: ``drilltwin compare`` on an experiment file whose ``base`` is a region file.

The experiment file is the one of :mod:`drills.studies.experiment` (name, base, base_arm, replications, seed,
common_random_numbers, kpis, arms). For a region:

* arms override **top-level region fields** (``weather``, ``resources``, ``workflows``, ``injects``,
  ``roads``, ``sites`` ...) as a whole, in YAML form; every arm is loaded once up front so bad overrides fail
  before anything runs, naming the experiment file and ``arms.ARM.FIELD``;
* ``kpis`` are regional KPIs (:data:`REGION_NUMERIC_KPIS`) or one site's KPI as ``SITE.KPI``
  (``Neighbour.t_detect``);
* replication *i* runs the whole region with seed ``seed + i`` in every arm (common random numbers), on the
  experiment machinery's serial or Dask path (:func:`run_region_batch` is what each task runs).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from drills.sim.run import release_mesa_ids
from drills.spec.experiment import Experiment
from drills.spec.kpi_names import NUMERIC_KPIS
from twin.errors import InputError

__all__ = ["load_region_experiment", "run_region_batch", "REGION_NUMERIC_KPIS", "DEFAULT_REGION_KPIS"]

REGION_NUMERIC_KPIS = ("t_first_aid_arrival", "t_all_sites_warned", "exposed_offsite", "resource_wait_s",
                       "resource_wait_max_s", "aid_requests", "aid_arrived", "peak_ppm_offsite", "occupants",
                       "safe", "trapped", "incapacitated", "exposed_idlh")
DEFAULT_REGION_KPIS = ("t_first_aid_arrival", "t_all_sites_warned", "exposed_offsite", "resource_wait_s")
_FIELDS = {"name", "description", "base", "base_arm", "replications", "seed", "common_random_numbers", "kpis",
           "arms"}


def load_region_experiment(p: Path, data: dict[str, Any], base: Path):
    """Validate an experiment over the region file ``base`` (already resolved against ``p``)."""
    from drills.region.model import load_region
    from drills.spec.region import RegionSpec

    def err(msg: str, where: str | None = None) -> InputError:
        return InputError(msg, source=str(p), where=where)

    try:
        reg = load_region(base)
    except InputError as e:
        raise err(f"base region: {e}", "base") from None
    arms = data["arms"]
    if not isinstance(arms, dict) or not arms:
        raise err("expected a mapping of arm names to region overrides", "arms")
    arms = {str(k): ({} if v is None else v) for k, v in arms.items()}
    for name, ov in arms.items():
        if not re.fullmatch(r"[A-Za-z0-9_.]+", name):
            raise err("arm names may use letters, digits, '_' and '.' only", f"arms.{name}")
        if not isinstance(ov, dict):
            raise err("expected a mapping of region fields to override", f"arms.{name}")
        for key in ov:
            if key not in RegionSpec.model_fields:
                raise err("unknown region field", f"arms.{name}.{key}")
        try:
            load_region(base, ov)
        except InputError as e:
            raise err(e.message, f"arms.{name}.{e.where}" if e.where else f"arms.{name}") from None
    base_arm = str(data.get("base_arm", next(iter(arms))))
    if base_arm not in arms:
        raise err(f"'{base_arm}' is not one of the arms ({', '.join(arms)})", "base_arm")
    reps = data.get("replications", 10)
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise err("must be a positive whole number", "replications")
    seed = data.get("seed", reg.spec.seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise err("must be a non-negative whole number", "seed")
    kpis = data.get("kpis", list(DEFAULT_REGION_KPIS))
    if isinstance(kpis, str):
        kpis = [kpis]
    if not isinstance(kpis, list) or not kpis:
        raise err("expected a list of KPI names", "kpis")
    sites = [s.name for s in reg.sites]
    for j, k in enumerate(kpis):
        site, _, kpi = str(k).rpartition(".")
        if site:
            if site not in sites:
                raise err(f"'{site}' is not a site of the region ({', '.join(sites)})", f"kpis[{j}]")
            if kpi not in NUMERIC_KPIS:
                raise err(f"'{kpi}' is not a numeric site KPI (one of {', '.join(NUMERIC_KPIS)})", f"kpis[{j}]")
        elif k not in REGION_NUMERIC_KPIS:
            raise err(f"'{k}' is not a numeric regional KPI (one of {', '.join(REGION_NUMERIC_KPIS)}) or "
                      "SITE.KPI", f"kpis[{j}]")
    crn = data.get("common_random_numbers", True)
    if not isinstance(crn, bool):
        raise err("must be true or false", "common_random_numbers")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise err(f"unknown field (expected one of {', '.join(sorted(_FIELDS))})", unknown[0])
    return Experiment(name=str(data.get("name", p.stem)), path=p, base=base, arms=arms, replications=reps,
                      kpis=[str(k) for k in kpis], seed=seed, base_arm=base_arm, common_random_numbers=crn,
                      description=str(data.get("description", "")), extra={"region": True})


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
