"""Drills and comparisons started from the studio, one at a time on a background thread.

A drill runs through :func:`drills.sim.engine.run_scenario` (progress every 1 % of its duration) and
leaves the same results folder as ``drilltwin run`` (:func:`drills.outputs.results.write_results`, the
report and the replay); a comparison runs :func:`drills.studies.experiment.run_compare` like
``drilltwin compare``. Folders go to ``ROOT/.studio/runs/<id>/``; status, progress and KPIs to the run index.
One worker thread: the studio shares its machine with the people using it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from drills.studio.db import Database, RunRecord
from twin.errors import InputError

__all__ = ["RunQueue"]


class RunQueue:
    def __init__(self, db: Database, results: Path):
        self.db = db
        self.results = results
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-run")

    def submit(self, rel: str, target: Path, kind: str, user: tuple[int, str, str]) -> str:
        """Queue ``target`` (a scenario or an experiment); return the run id."""
        if kind not in ("scenario", "experiment"):
            raise InputError("only scenario (drill) and experiment (comparison) files can be run from the studio",
                             source=rel)
        run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        self.db.add_run(RunRecord(id=run_id, path=rel, kind="drill" if kind == "scenario" else "comparison",
                                  user=user[1], user_id=user[0], status="queued"))
        self.db.audit(user=user[1], action="run", path=rel, diff=f"run {run_id} queued")
        self.pool.submit(self._work, run_id, target, kind)
        return run_id

    def folder(self, run_id: str) -> Path:
        return self.results / run_id

    def _work(self, run_id: str, target: Path, kind: str) -> None:
        self.db.update_run(run_id, status="running")
        out = self.folder(run_id)
        try:
            kpis = self._drill(run_id, target, out) if kind == "scenario" else self._compare(target, out)
            self.db.update_run(run_id, status="done", progress=1.0, kpis=json.dumps(kpis, default=_jsonable),
                               out=str(out), finished=dt.datetime.now(dt.UTC))
        except InputError as e:
            self.db.update_run(run_id, status="failed", error=str(e), finished=dt.datetime.now(dt.UTC))
        except Exception as e:  # the run index must say what happened; the server goes on
            self.db.update_run(run_id, status="failed", error=f"internal error: {type(e).__name__}: {e}",
                               finished=dt.datetime.now(dt.UTC))

    def _drill(self, run_id: str, target: Path, out: Path) -> dict:
        from drills.outputs.replay import write_replay
        from drills.outputs.report import write_report
        from drills.outputs.results import write_results
        from drills.sim.engine import run_scenario
        from drills.spec.scenario import load_scenario

        sc = load_scenario(target)
        last = [0.0]

        def progress(t: float) -> None:
            p = min(t / sc.duration, 1.0) * 0.9  # the last 10 %: results, report and replay
            if p - last[0] >= 0.05:
                last[0] = p
                self.db.update_run(run_id, progress=p)

        res = run_scenario(sc, progress=progress)
        write_results(res, out)
        self.db.update_run(run_id, progress=0.95)
        write_report(out)
        write_replay(out)
        return res.kpis

    def _compare(self, target: Path, out: Path) -> dict:
        from drills.studies.experiment import run_compare

        payload = run_compare(target, out=out, progress=False)
        return {"arms": payload.get("arms"), "base_arm": payload.get("base_arm"), "table": payload.get("table")}


def _jsonable(o):
    from drills.outputs.results import jsonable

    return jsonable(o)
