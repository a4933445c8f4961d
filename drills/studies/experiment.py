"""Paired Monte Carlo experiments: arms of one base scenario, replicated with common random numbers.

An experiment file (YAML) names a base scenario and *arms* that override it::

    name: ai_vs_threshold
    base: ../plant_h2s_leak.yaml          # relative to this file
    base_arm: threshold                   # the arm the others are compared with
    replications: 20                      # runs per arm (CLI -n overrides)
    seed: 1000                            # replication i runs with seed + i in every arm
    common_random_numbers: true           # false: every (arm, i) gets its own SeedSequence seed
    kpis: [t_alert, t_alarm, t_evacuated, false_alerts]
    arms:
      threshold: {}                       # the base scenario unchanged
      ai: {alerts: {policy: fusion, k: 1}}

Overrides replace **top-level** scenario fields as a whole (``alerts``, ``workflows``, ``injects``,
``population``, ``sensors``, ``flow``, ``alarm`` ...), in the scenario's YAML form; there is no deep merge,
so an arm that changes one inject lists all the injects it wants. That keeps every arm readable on its own.

Statistics (all times in s, as the KPIs):

* per arm and KPI: mean, sd, median, 95th percentile and an expanded-percentile bootstrap 95 % CI of the
  mean (Hesterberg 2015; 2000 resamples, numpy Generator seeded from the experiment seed, the KPI and
  the arm, so reruns agree);
* KPIs that did not happen in a run (``None``, e.g. no alert was raised) are *censored*: the statistics use
  the runs where the KPI happened and ``share_happened`` / ``n_happened`` say how many that was;
* paired differences ``ARM-BASE`` use the replications where the KPI happened in both arms (``n_pairs``;
  ``only_arm`` / ``only_base`` / ``neither`` count the others): mean, median, bootstrap 95 % CI of the
  mean difference and a Wilcoxon signed-rank p-value (1.0 when every difference is zero);
* convergence (NIST TN 1822: watch the running statistics settle): the relative change of the running
  mean and sd over the last 10 % of replications (in replication order) and the relative standard
  error of the mean; ``converged`` when the mean moved < 1 % and the sd < 5 %.

Execution is serial by default, or on Dask (``workers`` starts a LocalCluster of single-threaded worker
processes, ``scheduler`` joins an existing cluster). Tasks carry small payloads (the base scenario's
path, the arm's overrides, a batch of (replication, seed) pairs); workers load the scenario themselves and
keep, per process and across tasks, what every replication shares: the parsed base, each arm's scenario
and the site graph (a run only reads it), so only the seeded part of a run is redone.
Every finished run is appended to ``runs.jsonl`` at once, so an interrupted experiment resumes from its
output folder without redoing finished runs. A failing run is recorded with its error and counted.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drills.outputs.naming import slug
from drills.sim.run import release_mesa_ids
from drills.spec.experiment import Experiment
from drills.spec.kpi_names import NUMERIC_KPIS
from drills.spec.limits import MAX_REPLICATIONS, MAX_SEED
from twin.errors import InputError
from twin.yamlio import read_yaml

__all__ = ["Experiment", "load_experiment", "run_compare", "run_experiment", "summarize", "run_batch",
           "DaskSession", "DEFAULT_KPIS", "NUMERIC_KPIS"]

DEFAULT_KPIS = ("t_alert", "t_alarm", "t_evacuated", "t_mustered", "t_isolate", "exposed_idlh", "false_alerts")
DEFAULT_REPLICATIONS = 20
"""Runs per arm when an experiment file gives no ``replications`` (site and region experiments alike)."""
N_BOOT = 2000
SCHEDULER_TIMEOUT = "5s"  # a wrong address should fail fast, a busy scheduler still answers in time
CONV_MEAN = 0.01  # relative change of the running mean over the last 10 % of runs counted as settled
CONV_SD = 0.05
WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}
"""Dask settings for the local cluster's workers (see :func:`_open_client`); for a cluster of your own,
set the same in its Dask configuration (README, "From a laptop to a cluster")."""
_EXP_FIELDS = {"name", "description", "base", "base_arm", "replications", "seed", "common_random_numbers",
               "kpis", "arms"}


def _err(msg: str, path: Path, where: str | None = None) -> InputError:
    return InputError(msg, source=str(path), where=where)


@dataclass
class BaseFile:
    """What an experiment needs to know of its base file, a scenario's or a region's: the fields an arm
    may override, how to build an arm (raise :class:`InputError` naming the field), the default seed, the
    KPIs a comparison may use and those it uses by default."""

    kind: str  # "scenario" | "region"
    fields: Any
    build: Callable[[dict[str, Any]], Any]
    seed: int
    default_kpis: tuple[str, ...]
    check_kpi: Callable[[str], str | None]  # None when fine, else why not
    inputs: Callable[[Any], list[Path]]  # the files a built arm reads besides the base (resume fingerprint)


def _scenario_base(base: Path) -> BaseFile:
    from drills.spec.scenario import Scenario, load_scenario

    sc = load_scenario(base)

    def check(k: str) -> str | None:
        return None if k in NUMERIC_KPIS else f"'{k}' is not a numeric KPI (one of {', '.join(NUMERIC_KPIS)})"

    return BaseFile("scenario", Scenario.model_fields, lambda ov: sc.evolve(**ov), sc.seed, DEFAULT_KPIS, check,
                    lambda built: [built.site_path()])


def load_experiment(path: str | os.PathLike) -> Experiment:
    """Read and validate an experiment file over a scenario or a region (the same fields and defaults
    for both); every arm is built once so bad overrides fail here, naming the experiment file and the
    field (``arms.ai.alerts``)."""
    from drills.spec.region import is_region_file

    p = Path(path)
    data, _ = read_yaml(p)
    if not isinstance(data, dict):
        raise _err("expected a mapping of experiment fields", p)
    unknown = sorted(set(data) - _EXP_FIELDS)
    if unknown:
        raise _err(f"unknown field (expected one of {', '.join(sorted(_EXP_FIELDS))})", p, unknown[0])
    for req in ("base", "arms"):
        if req not in data:
            raise _err("required field is missing", p, req)
    base = Path(str(data["base"]))
    if not base.is_absolute():
        base = p.parent / base
    region = is_region_file(base)
    try:
        if region:  # a joint exercise: arms override region fields, KPIs may be SITE.KPI
            from drills.studies.region_experiment import region_base

            bf = BaseFile(**region_base(base))
        else:
            bf = _scenario_base(base)
    except InputError as e:
        raise _err(f"base {'region' if region else 'scenario'}: {e}", p, "base") from None
    arms = data["arms"]
    if not isinstance(arms, dict) or not arms:
        raise _err(f"expected a mapping of arm names to {bf.kind} overrides", p, "arms")
    arms = {str(k): ({} if v is None else v) for k, v in arms.items()}
    inputs = bf.inputs(bf.build({}))  # every file the runs read, for the resume fingerprint
    for name, ov in arms.items():
        if not re.fullmatch(r"[A-Za-z0-9_.]+", name):
            raise _err("arm names may use letters, digits, '_' and '.' only", p, f"arms.{name}")
        if not isinstance(ov, dict):
            raise _err(f"expected a mapping of {bf.kind} fields to override", p, f"arms.{name}")
        for key in ov:
            if key not in bf.fields:
                raise _err(f"unknown {bf.kind} field" + (" (see `drilltwin schema`)" if not region else ""), p,
                           f"arms.{name}.{key}")
        try:
            inputs.extend(bf.inputs(bf.build(ov)))
        except InputError as e:
            raise _err(e.message, p, f"arms.{name}.{e.where}" if e.where else f"arms.{name}") from None
    base_arm = str(data.get("base_arm", next(iter(arms))))
    if base_arm not in arms:
        raise _err(f"'{base_arm}' is not one of the arms ({', '.join(arms)})", p, "base_arm")
    reps = data.get("replications", DEFAULT_REPLICATIONS)
    if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= MAX_REPLICATIONS:
        raise _err(f"must be a whole number from 1 to {MAX_REPLICATIONS:,} (docs/limits.md)", p, "replications")
    seed = data.get("seed", bf.seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise _err(f"must be a whole number from 0 to {MAX_SEED:,} (docs/limits.md)", p, "seed")
    kpis = data.get("kpis", list(bf.default_kpis))
    if isinstance(kpis, str):
        kpis = [kpis]
    if not isinstance(kpis, list) or not kpis:
        raise _err("expected a list of KPI names", p, "kpis")
    for j, k in enumerate(kpis):
        why = bf.check_kpi(str(k))
        if why is not None:
            raise _err(why, p, f"kpis[{j}]")
    crn = data.get("common_random_numbers", True)
    if not isinstance(crn, bool):
        raise _err("must be true or false", p, "common_random_numbers")
    return Experiment(name=str(data.get("name", p.stem)), path=p, base=base, arms=arms, replications=reps,
                      kpis=[str(k) for k in kpis], seed=seed, base_arm=base_arm, common_random_numbers=crn,
                      description=str(data.get("description", "")),
                      extra={"inputs": inputs, **({"region": True} if region else {})})


# ---------------------------------------------------------------- running (workers call these)

# Per process (a Dask worker keeps them between tasks): what every replication of an experiment shares.
_SCENARIOS: dict[str, Any] = {}  # base scenario path -> Scenario (parsed once per worker)
_ARMS: dict[tuple[str, str], Any] = {}  # (base path, overrides as JSON) -> the arm's Scenario
_TWINS: dict[tuple[str, int, int], Any] = {}  # (site path, mtime ns, size) -> SiteGraph (loaded once)
_CACHE_LIMIT = 16  # distinct arms / sites kept per process (a long-lived worker serving many experiments)


def _cached(cache: dict, key: Any, make: Callable[[], Any]) -> Any:
    got = cache.get(key)
    if got is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        got = cache[key] = make()
    return got


def _arm_scenario(base: str, overrides: dict[str, Any]) -> Any:
    """The arm's scenario, built once per process: the base file parsed once, each arm's overrides
    applied once (replications of an arm differ only in their seed)."""
    from drills.spec.scenario import load_scenario

    sc0 = _cached(_SCENARIOS, base, lambda: load_scenario(base))
    if not overrides:
        return sc0
    return _cached(_ARMS, (base, json.dumps(overrides, sort_keys=True, default=str)),
                   lambda: sc0.evolve(**overrides))


def _site_graph(sc: Any) -> Any:
    """The scenario's site graph, loaded once per process and shared by its runs (a run only reads it).
    Keyed by the file's modification time and size too, so an edited site is loaded afresh."""
    from twin.load import load_twin

    p = Path(sc.site_path())
    try:
        st = p.stat()
        return _cached(_TWINS, (str(p.resolve()), st.st_mtime_ns, st.st_size), lambda: load_twin(p))
    except (OSError, InputError):
        return None  # the run then reports the bad site itself, naming the field


def _row(experiment: str, arm: str, rep: int, seed: int, kpis: dict[str, Any] | None, error: str | None,
         wall: float) -> dict[str, Any]:
    row: dict[str, Any] = {"experiment": experiment, "arm": arm, "rep": rep, "seed": seed}
    for k in NUMERIC_KPIS:
        v = None if kpis is None else kpis.get(k)
        row[k] = None if v is None or isinstance(v, bool) or not isinstance(v, int | float) else float(v)
    row["error"] = error
    row["run_wall_s"] = round(wall, 4)
    return row


def run_batch(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one batch of replications of one arm; a picklable payload in, plain rows out.

    ``payload``: ``{"experiment", "base" (scenario path), "arm", "overrides", "runs": [[rep, seed], ...]}``
    and optionally ``"calibrations"`` (:func:`drills.alerts.calcache.known` of the process that planned the
    experiment). An exception inside a run becomes that row's ``error``; the batch goes on.
    """
    from drills.alerts.calcache import preload
    from drills.sim.engine import run_scenario
    from drills.spec.region import is_region_file

    preload(payload.get("calibrations"))  # computed once by the experiment, not again in each worker
    if is_region_file(payload["base"]):  # a regional experiment: whole joint exercises per replication
        from drills.studies.region_experiment import run_region_batch

        return run_region_batch(payload)
    rows = []
    sc = graph = None
    for rep, seed in payload["runs"]:
        t = time.perf_counter()
        try:
            if sc is None:
                sc = _arm_scenario(payload["base"], payload["overrides"])
                graph = _site_graph(sc)
            res = run_scenario(sc, int(seed), graph=graph, log_trajectories=False)
            rows.append(_row(payload["experiment"], payload["arm"], rep, seed, res.kpis, None,
                             time.perf_counter() - t))
        except Exception as e:  # noqa: BLE001 - one broken run must not end the experiment
            rows.append(_row(payload["experiment"], payload["arm"], rep, seed, None,
                             f"{type(e).__name__}: {e}", time.perf_counter() - t))
        finally:
            release_mesa_ids()
    return rows


def _read_done(runs_file: Path) -> dict[tuple[str, int], dict[str, Any]]:
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if runs_file.exists():
        for line in runs_file.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: that run is simply redone
            done[(r["arm"], int(r["rep"]))] = r
    return done


def _open_client(workers: int | None, scheduler: str | None):
    """A dask.distributed Client (and the LocalCluster it owns, if any)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=SCHEDULER_TIMEOUT), None
        except (OSError, TimeoutError) as e:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} within {SCHEDULER_TIMEOUT} ({e})",
                             where="--scheduler") from None
        except ValueError as e:
            raise InputError(f"not a Dask scheduler address: {scheduler!r} ({e})", where="--scheduler") from None
    # A drill run is pure Python holding the GIL. Dask's defaults poll it from other threads many times a
    # second (the statistical profiler every 10 ms, the event-loop tick every 20 ms, the nanny's memory
    # monitor every 100 ms), which on 2 cores made every run ~24 % slower than the same run serially
    # (benchmarks/sweep_scaling.py); at these intervals the slowdown is ~9 %, that of two plain processes.
    import warnings

    import dask

    # dashboard_address=None still starts the scheduler's HTTP server on :8787 and warns on stderr when
    # another cluster holds that port; nothing of ours uses it, so the warning would only pollute
    # the output (and --json users' logs)
    with dask.config.set(WORKER_CONFIG), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s)Port \d+ is already in use", category=UserWarning)
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
    return Client(cluster), cluster


def _fp_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What changed between two experiment fingerprints, in words."""
    changed = [f"{Path(f).name} changed" for f, h in new.get("inputs", {}).items()
               if f in old.get("inputs", {}) and old["inputs"][f] != h]
    changed += [f"{Path(f).name} is new" for f in new.get("inputs", {}) if f not in old.get("inputs", {})]
    changed += [f"{k} differs" for k in sorted(set(old) | set(new)) if k != "inputs" and old.get(k) != new.get(k)]
    if "inputs" not in old:
        changed.append("written by an older drilltwin without input checksums")
    return "; ".join(changed) or "settings differ"


class DaskSession:
    """A Dask client, opened once (in the background after :meth:`start`, else on first use) and closed
    once: a LocalCluster of ``workers`` single-threaded processes (``local``: they share this machine's
    files), or the cluster at ``scheduler``.

    On opening, every worker is sent a first task that imports what a drill run needs (and matplotlib when
    ``plots``), so the workers load their code while this process plans the experiment.
    """

    def __init__(self, workers: int | None, scheduler: str | None, *, plots: bool = False):
        self.workers, self.scheduler, self.plots = workers, scheduler, plots
        self._client = self._cluster = None
        self._warm: list[Any] = []
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def opened(self) -> bool:
        return self._client is not None

    @property
    def local(self) -> bool:
        return self._cluster is not None

    def start(self) -> DaskSession:
        """Start opening the client in a background thread: the cluster's processes start while this
        process reads the experiment and plans its calibrations. Errors surface at :attr:`client`."""
        if self._client is None and self._thread is None:
            self._thread = threading.Thread(target=self._open_in_background, name="drilltwin-dask", daemon=True)
            self._thread.start()
        return self

    def _open_in_background(self) -> None:
        try:
            self._open()
        except BaseException as e:  # noqa: BLE001 - raised in the caller's thread by .client
            self._error = e

    def _open(self) -> None:
        self._client, self._cluster = _open_client(self.workers, self.scheduler)
        for w in self._client.scheduler_info().get("workers", {}):
            self._warm.append(self._client.submit(_warm_worker, self.plots, workers=[w], allow_other_workers=False,
                                                  pure=False, priority=100))

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            err, self._error = self._error, None
            if err is not None:
                raise err

    @property
    def client(self) -> Any:
        self._join()
        if self._client is None:
            self._open()
        return self._client

    def close(self) -> None:
        try:
            self._join()
        except BaseException:  # noqa: BLE001 - closing after a failed start: nothing was opened
            pass
        if self._client is not None:
            self._warm.clear()
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None

    def __enter__(self) -> DaskSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _warm_worker(plots: bool) -> None:
    """Import what a run (and the plots) need, on a worker that has just started."""
    import drills.alerts.policies  # noqa: F401
    import drills.sim.engine  # noqa: F401
    import drills.sim.hazards  # noqa: F401

    if plots:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401

        import drills.outputs.compare_report  # noqa: F401


def _plan_calibrations(exp: Experiment) -> tuple[dict[str, Any], dict[str, dict[str, tuple]]]:
    """The alert calibrations the arms need (:mod:`drills.alerts.calcache`): those at hand (this process's
    memory or the disk cache) and, per arm, the arguments of those still to compute. Each arm's run is built
    (not run) once here, dry; an arm that fails to build is left to its runs, which report the error."""
    from drills.alerts import calcache
    from drills.alerts.policies import parse_alerts
    from drills.sim.engine import build_run

    base = str(exp.base.resolve())
    missing: dict[str, dict[str, tuple]] = {}
    for a, ov in exp.arms.items():
        with calcache.probing() as miss:
            try:
                sc = _arm_scenario(base, ov)
                if parse_alerts(sc.alerts).policy != "threshold":  # set points learn nothing: no need to build
                    build_run(sc, exp.seed_of(a, 0), graph=_site_graph(sc), log_trajectories=False)
            except Exception:  # noqa: BLE001 - the arm's runs report it, naming the field
                pass
            finally:
                release_mesa_ids()
        missing[a] = dict(miss)
    return calcache.known(), missing


def _submit_calibrations(client: Any, payloads: list[dict[str, Any]], at_hand: dict[str, Any],
                         missing: dict[str, dict[str, tuple]]) -> dict[str, tuple]:
    """Give every payload the calibrations its arm needs (:func:`_plan_calibrations`): those at hand as
    values, the missing ones as futures of tasks computing each once on a worker, ahead of the runs (Dask
    hands a run its results). Return ``{digest: (args, future)}`` of the computed ones."""
    from drills.alerts import calcache

    futs: dict[str, tuple] = {}
    for need in missing.values():
        for d, args in need.items():
            if d not in futs:
                futs[d] = (args, client.submit(calcache.compute, args, pure=False, priority=10))
    for pl in payloads:
        pl["calibrations"] = {**at_hand, **{d: futs[d][1] for d in missing.get(pl["arm"], {})}}
    return futs


def run_experiment(exp: Experiment, out: Path, *, n: int | None = None, workers: int | None = None,
                   scheduler: str | None = None, progress: bool = False, batch: int | None = None,
                   on_row: Callable[[dict[str, Any]], None] | None = None,
                   session: DaskSession | None = None) -> list[dict[str, Any]]:
    """Run every (arm, replication) not yet in ``out/runs.jsonl``, appending rows as they finish;
    return all rows sorted by arm order and replication.

    On Dask (``workers``, ``scheduler`` or an open ``session``, which is then left open) the calibrations
    of the arms' alert policies are computed once for the experiment, never once per worker."""
    reps = exp.replications if n is None else n
    out.mkdir(parents=True, exist_ok=True)
    meta = out / "experiment.json"
    fp = exp.fingerprint()
    if meta.exists():
        old = json.loads(meta.read_text(encoding="utf-8"))
        if old != fp:
            raise InputError(f"the output folder holds runs of a different experiment ({_fp_diff(old, fp)}); "
                             "mixing them would give a meaningless table: choose another --out",
                             source=str(out))
    else:
        _atomic_write(meta, json.dumps(fp, indent=2))
    runs_file = out / "runs.jsonl"
    done = _read_done(runs_file)
    todo = [(a, i) for a in exp.arms for i in range(reps) if (a, i) not in done]
    use_dask = bool(workers) or bool(scheduler) or session is not None
    payloads = []
    for a, reps_a in _batches(todo, batch, use_dask, int(workers or 2)):
        payloads.append({"experiment": exp.name, "base": str(exp.base.resolve()), "arm": a,
                         "overrides": exp.arms[a], "runs": [[i, exp.seed_of(a, i)] for i in reps_a]})
    bar = _Progress(len(todo), exp.name) if progress and todo else None
    with runs_file.open("a", encoding="utf-8") as fh:
        def record(batch_rows: Iterable[dict[str, Any]]) -> None:
            rows = list(batch_rows)
            for r in rows:
                fh.write(json.dumps(r) + "\n")
                done[(r["arm"], int(r["rep"]))] = r
                if on_row is not None:
                    on_row(r)
            fh.flush()
            os.fsync(fh.fileno())
            if bar is not None:
                bar.advance(len(rows))

        try:
            if not use_dask or not payloads:
                for pl in payloads:
                    record(run_batch(pl))
            else:
                from distributed import as_completed

                from drills.alerts.calcache import adopt

                own = session is None
                dask = DaskSession(workers, scheduler) if own else session
                try:
                    # planned while the cluster starts (DaskSession.start)
                    plan = ({}, {}) if exp.extra.get("region") else _plan_calibrations(exp)
                    client = dask.client
                    cals = _submit_calibrations(client, payloads, *plan)
                    futures = [client.submit(run_batch, pl, pure=False) for pl in payloads]
                    for fut in as_completed(futures):
                        record(fut.result())
                    for args, fut in cals.values():  # this machine's cache learns what remote workers computed
                        adopt(args, fut.result())
                finally:
                    if own:
                        dask.close()
        finally:
            if bar is not None:
                bar.stop()
    order = {a: k for k, a in enumerate(exp.arms)}
    return sorted((r for (a, i), r in done.items() if a in exp.arms and i < reps),
                  key=lambda r: (order[r["arm"]], r["rep"]))


def _batches(todo: list[tuple[str, int]], batch: int | None, use_dask: bool,
             workers: int) -> list[tuple[str, list[int]]]:
    """Cut the (arm, replication) list into tasks of one arm each.

    Serially every run is its own batch (the resume log then grows run by run). On Dask a fixed ``batch``
    is honoured; by default batches are *guided*: each takes a quarter of the remaining runs per worker,
    capped at 10, so the many early tasks hide Dask's per-task cost and the last ones are single runs
    that leave no worker idle while another finishes a long batch.
    """
    out: list[tuple[str, list[int]]] = []
    k = 0
    while k < len(todo):
        if not use_dask:
            size = 1
        elif batch is not None:
            size = max(1, int(batch))
        else:
            size = max(1, min(10, math.ceil((len(todo) - k) / (4 * max(1, workers)))))
        arm = todo[k][0]
        chunk = []
        while k < len(todo) and len(chunk) < size and todo[k][0] == arm:
            chunk.append(todo[k][1])
            k += 1
        out.append((arm, chunk))
    return out


class _Progress:
    """A rich progress bar on stderr."""

    def __init__(self, total: int, name: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(TextColumn("{task.description}", markup=False, style="bold"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           console=Console(stderr=True), transient=True)
        self._p.start()
        self._task = self._p.add_task(name, total=total)

    def advance(self, k: int) -> None:
        self._p.advance(self._task, k)

    def stop(self) -> None:
        self._p.stop()


# ---------------------------------------------------------------- statistics


def _rng(seed: int, *keys: str) -> np.random.Generator:
    # a stable (not hash()-randomised) stream per statistic, so results do not depend on what else ran
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in keys)])


def bootstrap_ci(x: np.ndarray, rng: np.random.Generator, n_boot: int = N_BOOT) -> list[float] | None:
    """Expanded-percentile bootstrap 95 % interval of the mean of ``x`` (None for no data).

    The plain percentile bootstrap is too narrow for the small samples drills produce (it behaves like a
    z interval with the biased sd: about 88 % coverage at n = 8). Hesterberg's expansion (The American
    Statistician 69(4), 2015, "What teachers should know about the bootstrap", section 5) widens the
    percentile levels to ``Phi(+-sqrt(n / (n - 1)) * t_{0.975, n-1})``, which restores nominal coverage
    for near-normal data while keeping the bootstrap's skewness.
    """
    from scipy.special import ndtr
    from scipy.stats import t as student_t

    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return None
    if x.size == 1 or np.all(x == x[0]):
        return [float(x[0]), float(x[0])]
    n = x.size
    a = float(ndtr(-math.sqrt(n / (n - 1)) * student_t.ppf(0.975, n - 1)))
    means = x[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    lo, hi = np.quantile(means, [a, 1.0 - a])
    return [float(lo), float(hi)]


def convergence(x: np.ndarray) -> dict[str, Any]:
    """Relative change of the running mean and sd over the last 10 % of runs (at least one), and the
    relative standard error of the mean; NIST TN 1822 asks to show the statistics have settled."""
    x = np.asarray(x, dtype=float)
    n = x.size
    out: dict[str, Any] = {"n": int(n), "rel_change_mean": None, "rel_change_sd": None, "rel_se_mean": None,
                           "converged": False}
    if n < 3:
        return out
    k = max(1, math.ceil(0.1 * n))
    head = x[: n - k]
    m, m0 = float(x.mean()), float(head.mean())
    s = float(x.std(ddof=1))
    scale = max(abs(m), 1e-12)
    out["rel_change_mean"] = abs(m - m0) / scale
    out["rel_se_mean"] = s / math.sqrt(n) / scale
    if head.size >= 2:
        s0 = float(head.std(ddof=1))
        out["rel_change_sd"] = abs(s - s0) / max(s, 1e-12) if s > 0 or s0 > 0 else 0.0
    out["converged"] = bool(out["rel_change_mean"] < CONV_MEAN and out["rel_change_sd"] is not None
                            and out["rel_change_sd"] < CONV_SD)
    return out


def _describe(x: np.ndarray, n_ok: int, rng: np.random.Generator) -> dict[str, Any]:
    d: dict[str, Any] = {"n_runs": n_ok, "n_happened": int(x.size),
                         "share_happened": (x.size / n_ok) if n_ok else None,
                         "mean": None, "sd": None, "median": None, "p95": None, "ci95": None}
    if x.size:
        d.update(mean=float(x.mean()), sd=float(x.std(ddof=1)) if x.size > 1 else 0.0,
                 median=float(np.median(x)), p95=float(np.percentile(x, 95)), ci95=bootstrap_ci(x, rng))
    d["convergence"] = convergence(x)
    return d


def paired_diff(a: dict[int, float | None], b: dict[int, float | None], rng: np.random.Generator) -> dict[str, Any]:
    """Paired differences a - b over the replications where both happened (a, b: rep -> value or None
    for runs that finished; failed runs are absent)."""
    from scipy.stats import wilcoxon

    reps = sorted(set(a) & set(b))
    both = [i for i in reps if a[i] is not None and b[i] is not None]
    # KPIs carry 3 decimals; rounding drops float noise so identical shifts give a zero-width interval
    d = np.round(np.array([a[i] - b[i] for i in both], dtype=float), 6)
    out: dict[str, Any] = {
        "n_pairs": len(both),
        "only_arm": sum(1 for i in reps if a[i] is not None and b[i] is None),
        "only_base": sum(1 for i in reps if a[i] is None and b[i] is not None),
        "neither": sum(1 for i in reps if a[i] is None and b[i] is None),
        "mean": None, "median": None, "ci95": None, "p_value": None,
    }
    if d.size:
        out.update(mean=float(d.mean()), median=float(np.median(d)), ci95=bootstrap_ci(d, rng))
        if np.all(d == 0):
            out["p_value"] = 1.0  # no difference at all: wilcoxon() would refuse
        else:
            out["p_value"] = float(wilcoxon(d, zero_method="zsplit").pvalue)
    return out


def summarize(exp: Experiment, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The docs/cli.md payload (``arms``, ``kpis``, ``diffs``) plus counts and convergence."""
    arms = list(exp.arms)
    ok = {a: {r["rep"]: r for r in rows if r["arm"] == a and not r.get("error")} for a in arms}
    failed = [{"arm": r["arm"], "rep": r["rep"], "seed": r["seed"], "error": r["error"]}
              for r in rows if r.get("error")]
    kpis: dict[str, Any] = {}
    diffs: dict[str, Any] = {}
    for k in exp.kpis:
        kpis[k] = {}
        for a in arms:
            x = np.array([r[k] for _, r in sorted(ok[a].items()) if r.get(k) is not None], dtype=float)
            kpis[k][a] = _describe(x, len(ok[a]), _rng(exp.seed, "kpi", k, a))
        diffs[k] = {}
        base = {i: r.get(k) for i, r in ok[exp.base_arm].items()}
        for a in arms:
            if a == exp.base_arm:
                continue
            mine = {i: r.get(k) for i, r in ok[a].items()}
            diffs[k][f"{a}-{exp.base_arm}"] = paired_diff(mine, base, _rng(exp.seed, "diff", k, a))
    runs = {a: sum(1 for r in rows if r["arm"] == a) for a in arms}
    return {"experiment": exp.name, "description": exp.description, "base": str(exp.base),
            "overrides": exp.arms, "base_arm": exp.base_arm, "arms": arms, "kpis": kpis, "diffs": diffs,
            "runs": runs, "failed": failed, "n_failed": len(failed), "seed": exp.seed,
            "common_random_numbers": exp.common_random_numbers,
            "replications": max((r["rep"] + 1 for r in rows), default=0)}


def table_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (KPI, arm) for the terminal table."""
    rows = []
    base = payload["base_arm"]
    for k, per_arm in payload["kpis"].items():
        for a, s in per_arm.items():
            ci = s["ci95"] or [None, None]
            d = payload["diffs"][k].get(f"{a}-{base}", {})
            dci = d.get("ci95") or [None, None]
            rows.append({"kpi": k, "arm": a, "n": s["n_runs"], "share_happened": _r(s["share_happened"], 3),
                         "mean": _r(s["mean"]), "median": _r(s["median"]), "p95": _r(s["p95"]),
                         "ci95_low": _r(ci[0]), "ci95_high": _r(ci[1]),
                         "diff_mean": _r(d.get("mean")), "diff_ci95_low": _r(dci[0]),
                         "diff_ci95_high": _r(dci[1]), "p_value": _r(d.get("p_value"), 4),
                         "converged": s["convergence"]["converged"]})
    return rows


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


# ---------------------------------------------------------------- output


def _atomic_write(path: Path, text: str | bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    mask = os.umask(0o022)
    os.umask(mask)
    os.fchmod(fd, 0o666 & ~mask)  # readable like any other file the user writes, not mkstemp's 0600
    with os.fdopen(fd, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    os.replace(tmp, path)


def _write_tables(out: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    head, tail = ["experiment", "arm", "rep", "seed"], ["error", "run_wall_s"]
    # every KPI column the rows carry, in first-seen order: a drill's NUMERIC_KPIS, or a joint exercise's
    # regional KPIs and SITE.KPI columns
    kpi_cols = list(NUMERIC_KPIS) if not rows else []
    for r in rows:
        kpi_cols.extend(k for k in r if k not in head and k not in tail and k not in kpi_cols)
    cols = [*head, *kpi_cols, *tail]
    types = {"experiment": pa.string(), "arm": pa.string(), "rep": pa.int64(), "seed": pa.int64(),
             "error": pa.string()}
    schema = pa.schema([(c, types.get(c, pa.float64())) for c in cols])
    table = pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows], schema=schema)
    for name, writer in (("runs.parquet", pq.write_table), ("runs.csv", pacsv.write_csv)):
        tmp = out / f".{name}.tmp"
        writer(table, str(tmp))
        os.replace(tmp, out / name)


def _write_plots(out: Path, exp: Experiment, rows: list[dict[str, Any]], payload: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pdir = out / "plots"
    pdir.mkdir(exist_ok=True)
    arms = payload["arms"]
    written = []
    ok = [r for r in rows if not r.get("error")]
    for k in exp.kpis:
        fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(arms), 4))
        data = [np.array([r[k] for r in ok if r["arm"] == a and r[k] is not None], dtype=float) for a in arms]
        ax.boxplot([d if d.size else [np.nan] for d in data], showfliers=False)
        jitter = np.random.default_rng(0)  # only spreads the dots sideways
        for j, d in enumerate(data, start=1):
            ax.plot(j + jitter.uniform(-0.15, 0.15, d.size), d, "o", ms=3, alpha=0.5)
        ax.set_xticks(range(1, len(arms) + 1),
                      [f"{a}\n({payload['kpis'][k][a]['n_happened']}/{payload['kpis'][k][a]['n_runs']})"
                       for a in arms], fontsize=8)
        ax.set_ylabel(k)
        ax.set_title(f"{exp.name}: {k} per arm (happened/runs)")
        fig.tight_layout()
        written.append(_save(fig, pdir / f"box_{k}.png"))
        plt.close(fig)
    if any(r.get("t_evacuated") is not None for r in ok):  # a joint exercise has no single evacuation
        fig, ax = plt.subplots(figsize=(6, 4))
        for a in arms:
            d = np.sort([r["t_evacuated"] for r in ok if r["arm"] == a and r.get("t_evacuated") is not None])
            if len(d):
                ax.step(d, np.arange(1, len(d) + 1) / max(1, sum(1 for r in ok if r["arm"] == a)), where="post",
                        label=a)
        ax.set_xlabel("t_evacuated (s)")
        ax.set_ylabel("share of runs evacuated")
        ax.set_title(f"{exp.name}: ECDF of t_evacuated")
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(_save(fig, pdir / "ecdf_t_evacuated.png"))
        plt.close(fig)
    others = [a for a in arms if a != exp.base_arm]
    if others:
        fig, axes = plt.subplots(len(exp.kpis), 1, figsize=(7, 1.2 + 1.1 * len(exp.kpis) * max(1, len(others)) / 2),
                                 squeeze=False)
        for ax, k in zip(axes[:, 0], exp.kpis, strict=True):
            for j, a in enumerate(others):
                d = payload["diffs"][k][f"{a}-{exp.base_arm}"]
                if d["mean"] is not None:
                    lo, hi = d["ci95"]
                    ax.errorbar(d["mean"], j, xerr=[[d["mean"] - lo], [hi - d["mean"]]], fmt="o", capsize=3)
            ax.axvline(0, color="grey", lw=0.8)
            ax.set_yticks(range(len(others)), others, fontsize=7)
            ax.set_ylim(-0.5, len(others) - 0.5)
            ax.set_title(f"{k}: arm - {exp.base_arm} (mean, 95 % CI)", fontsize=8)
        fig.tight_layout()
        written.append(_save(fig, pdir / "paired_diffs.png"))
        plt.close(fig)
    return written


def _save(fig, path: Path) -> str:
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    return str(path)



def run_compare(path: Path, n: int | None = None, workers: int | None = None, scheduler: str | None = None,
                out: Path | None = None, progress: bool = False, *, plots: bool = True) -> dict[str, Any]:
    """Run (or resume) an experiment and write its outputs; return the ``--json`` payload of docs/cli.md
    plus ``out``, ``runs``, ``failed`` and ``table`` (rows for the terminal).

    Writes to ``out`` (default ``results/compare-<name>-<timestamp>``): ``runs.jsonl`` (appended as runs
    finish; the resume log), ``runs.parquet`` / ``runs.csv`` (tidy per-run table), ``compare.json`` (the
    payload), ``plots/*.png`` and ``report.html`` (:mod:`drills.outputs.compare_report`).
    Rerunning with the same ``out`` skips finished runs.
    """
    path = Path(path)
    if n is not None and (isinstance(n, bool) or not 1 <= int(n) <= MAX_REPLICATIONS):
        raise InputError(f"the number of replications must be from 1 to {MAX_REPLICATIONS:,} (docs/limits.md)",
                         source=str(path), where="-n")
    if workers is not None and int(workers) < 1:
        raise InputError("the number of workers must be at least 1", where="--workers")
    if workers and scheduler:
        raise InputError("give either --workers or --scheduler, not both", where="--scheduler")
    exp = load_experiment(path)
    if out is None:
        out = Path("results") / f"compare-{slug(exp.name, 'experiment')}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(out)
    from drills.outputs.results import check_out, out_lock

    check_out(out, resumable="experiment.json")  # never append to a folder of something else
    dask = None
    if workers or scheduler:
        dask = DaskSession(workers, scheduler, plots=plots)
    with out_lock(out), (dask or contextlib.nullcontext()):
        reps = exp.replications if n is None else int(n)
        if dask is not None and len(_read_done(out / "runs.jsonl")) < reps * len(exp.arms):
            dask.start()  # workers start while the experiment is planned (nothing to start on a finished one)
        rows = run_experiment(exp, out, n=n, workers=workers, scheduler=scheduler, progress=progress, session=dask)
        payload = summarize(exp, rows)
        payload["out"] = str(out)
        payload["table"] = table_rows(payload)
        _write_tables(out, rows)
        if plots:
            _write_figures(out, exp, rows, payload, dask.client if dask is not None and dask.local else None)
        else:
            _atomic_write(out / "compare.json", json.dumps(payload, indent=2))
    return payload


def _write_figures(out: Path, exp: Experiment, rows: list[dict[str, Any]], payload: dict[str, Any],
                   client: Any = None) -> None:
    """Write the plots, ``compare.json`` (with the plots' paths) and the HTML report; sets ``payload``'s
    ``plots`` and ``report``. With the ``client`` of a local cluster (its workers share this machine's
    files) the plots and the report, which reads only compare.json and the run table, are drawn at once on
    two workers (the same files as drawn here: only the wall time differs)."""
    from drills.outputs.compare_report import write_compare_report

    if client is None:
        payload["plots"] = _write_plots(out, exp, rows, payload)
        _atomic_write(out / "compare.json", json.dumps(payload, indent=2))
        payload["report"] = str(write_compare_report(out))
        return
    full = out.resolve()
    _atomic_write(out / "compare.json", json.dumps(payload, indent=2))  # what the report reads
    report = client.submit(write_compare_report, full, pure=False)
    plots = client.submit(_write_plots, full, exp, rows, payload, pure=False)
    payload["plots"] = [str(out / Path(p).relative_to(full)) for p in plots.result()]
    _atomic_write(out / "compare.json", json.dumps(payload, indent=2))
    payload["report"] = str(out / Path(report.result()).relative_to(full))
