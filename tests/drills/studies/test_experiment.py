"""Paired Monte Carlo experiments (drills/studies/experiment.py): statistics, resume, Dask = serial, bad input.

The tiny site is one 12 m x 8 m hall with one exit; the alarm is an *inject* so the KPI clock starts at 0
(no hazard, no ``alarm:`` block) and delaying the inject by 60 s delays ``t_evacuated`` by a known 60 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from drills.studies import experiment as ex
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[3]
SITE = {"name": "Tiny", "storeys": [{"name": "Ground", "elevation": 0, "height": 3,
        "spaces": [{"name": "Hall", "polygon": [[0, 0], [12, 0], [12, 8], [0, 8]]}],
        "doors": [{"name": "D1", "at": [12, 4], "width": 1.0, "between": ["Hall", "outside"]}]}]}
DELAY = 60.0


def _tiny(tmp_path: Path, reps: int = 6, seed: int = 5, crn: bool = True, **arms) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tiny.site.yaml").write_text(yaml.safe_dump(SITE, sort_keys=False))
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump({
        "name": "tiny", "site": "tiny.site.yaml", "seed": 1, "duration": "10min",
        "population": [{"where": "Hall", "count": 12}],
        "injects": [{"id": 1, "time": "0s", "kind": "alarm"}]}))
    exp = {"name": "tiny-delay", "base": "tiny.yaml", "base_arm": "now", "replications": reps, "seed": seed,
           "common_random_numbers": crn, "kpis": ["t_evacuated", "t_alarm", "t_detect"],
           "arms": {"now": {}, "late": {"injects": [{"id": 1, "time": f"{DELAY:g}s", "kind": "alarm"}]}, **arms}}
    p = tmp_path / "exp.yaml"
    p.write_text(yaml.safe_dump(exp, sort_keys=False))
    return p


def _table(out: Path) -> list[dict]:
    rows = pq.read_table(out / "runs.parquet").to_pylist()
    for r in rows:
        r.pop("run_wall_s")
        r.pop("wall_s")  # wall-clock time of the run: the only thing allowed to differ
    return rows


def test_compare_payload_outputs_and_a_known_delay(tmp_path):
    p = _tiny(tmp_path)
    out = tmp_path / "out"
    pay = ex.run_compare(p, None, None, None, out, False)
    assert pay["arms"] == ["now", "late"]
    s = pay["kpis"]["t_evacuated"]["now"]
    assert set(s) >= {"mean", "median", "p95", "ci95", "share_happened", "convergence"}
    assert s["ci95"][0] <= s["mean"] <= s["ci95"][1] and s["median"] <= s["p95"]
    d = pay["diffs"]["t_evacuated"]["late-now"]
    # common random numbers: everyone's draws are the same, so the delay shows exactly
    assert d["n_pairs"] == 6 and d["mean"] == pytest.approx(DELAY) and d["ci95"] == pytest.approx([DELAY] * 2)
    assert d["p_value"] < 0.05
    # a KPI that never happened is reported with its share and counts, not dropped
    assert pay["kpis"]["t_detect"]["late"]["share_happened"] == 0.0
    assert pay["diffs"]["t_detect"]["late-now"] == {**pay["diffs"]["t_detect"]["late-now"], "n_pairs": 0,
                                                    "neither": 6, "p_value": None}
    assert json.loads((out / "compare.json").read_text())["diffs"] == pay["diffs"]
    rows = pq.read_table(out / "runs.parquet").to_pylist()
    assert len(rows) == 12 and {"experiment", "arm", "rep", "seed", "t_evacuated", "error"} <= set(rows[0])
    assert [r["seed"] for r in rows if r["arm"] == "late"] == [r["seed"] for r in rows if r["arm"] == "now"]
    assert (out / "runs.csv").read_text().count("\n") == 13
    names = {f.name for f in (out / "plots").iterdir()}
    assert {"box_t_evacuated.png", "ecdf_t_evacuated.png", "paired_diffs.png"} <= names
    assert {"arm", "kpi", "mean", "median", "p95", "ci95_low", "ci95_high", "share_happened"} <= set(pay["table"][0])
    # rerun on the same folder: nothing is redone and the statistics agree (seeded bootstrap)
    again = ex.run_compare(p, None, None, None, out, False)
    assert again["kpis"] == pay["kpis"] and len((out / "runs.jsonl").read_text().splitlines()) == 12


def test_interrupted_experiment_resumes_to_the_same_table(tmp_path, monkeypatch):
    p = _tiny(tmp_path, reps=5)
    full = tmp_path / "full"
    ex.run_compare(p, None, None, None, full, False, plots=False)
    real = ex.run_batch
    calls = []

    def dies_after_three(payload):
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if killed: BaseException, not a recorded run failure
        calls.append(1)
        return real(payload)

    part = tmp_path / "part"
    monkeypatch.setattr(ex, "run_batch", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        ex.run_compare(p, None, None, None, part, False, plots=False)
    assert len((part / "runs.jsonl").read_text().splitlines()) == 3 and not (part / "compare.json").exists()
    monkeypatch.setattr(ex, "run_batch", real)
    seen = []
    monkeypatch.setattr(ex, "run_batch", lambda pl: seen.append(pl["runs"]) or real(pl))
    ex.run_compare(p, None, None, None, part, False, plots=False)
    assert len(seen) == 7  # only the 7 missing runs
    assert _table(part) == _table(full)
    # more replications later extend the same folder
    ex.run_compare(p, 7, None, None, part, False, plots=False)
    assert len(seen) == 11 and len(_table(part)) == 14


def test_a_failing_replication_is_recorded_not_fatal(tmp_path):
    # the zone passes validation but does not exist in the site: the run itself fails
    p = _tiny(tmp_path, reps=2, broken={"alarm": {"at": "0s", "zones": ["Nowhere"]}})
    pay = ex.run_compare(p, None, None, None, tmp_path / "o", False, plots=False)
    assert pay["n_failed"] == 2 and {f["arm"] for f in pay["failed"]} == {"broken"}
    assert "Nowhere" in pay["failed"][0]["error"]
    assert pay["kpis"]["t_evacuated"]["broken"]["n_runs"] == 0
    assert pay["diffs"]["t_evacuated"]["broken-now"]["n_pairs"] == 0
    assert pay["kpis"]["t_evacuated"]["now"]["n_runs"] == 2


def test_dask_and_serial_give_identical_runs(tmp_path):
    p = _tiny(tmp_path, reps=4)
    ex.run_compare(p, None, None, None, tmp_path / "serial", False, plots=False)
    ex.run_compare(p, None, 2, None, tmp_path / "dask", False, plots=False)
    assert _table(tmp_path / "serial") == _table(tmp_path / "dask")


def test_an_existing_scheduler_runs_the_same_experiment(tmp_path):
    """``--scheduler ADDR``: the documented laptop-to-cluster path, against a cluster started apart."""
    from distributed import LocalCluster

    p = _tiny(tmp_path, reps=3)
    ex.run_compare(p, None, None, None, tmp_path / "serial", False, plots=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        ex.run_compare(p, None, None, cluster.scheduler_address, tmp_path / "remote", False, plots=False)
    assert _table(tmp_path / "serial") == _table(tmp_path / "remote")


@pytest.mark.parametrize("arms, field, msg", [
    ({"late": {"bogus": 1}}, "arms.late.bogus", "unknown scenario field"),
    ({"late": {"population": [{"where": "Hall", "count": -3}]}}, "arms.late.population", ""),
])
def test_bad_arms_name_the_file_and_field(tmp_path, arms, field, msg):
    p = _tiny(tmp_path)
    data = yaml.safe_load(p.read_text())
    data["arms"].update(arms)
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as e:
        ex.load_experiment(p)
    assert str(p) in str(e.value) and field in str(e.value) and msg in str(e.value)


@pytest.mark.parametrize("change, field", [
    ({"replications": 0}, "replications"), ({"base_arm": "nope"}, "base_arm"), ({"kpis": ["t_nope"]}, "kpis[0]"),
    ({"surprise": 1}, "surprise"), ({"base": "missing.yaml"}, "base"),
])
def test_bad_experiment_fields(tmp_path, change, field):
    p = _tiny(tmp_path)
    data = yaml.safe_load(p.read_text())
    data.update(change)
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as e:
        ex.load_experiment(p)
    assert str(p) in str(e.value) and field in str(e.value)


def test_zero_replications_from_the_command_line_and_unreachable_scheduler(tmp_path, monkeypatch):
    p = _tiny(tmp_path)
    with pytest.raises(InputError, match="-n"):
        ex.run_compare(p, 0, None, None, tmp_path / "o", False)
    monkeypatch.setattr(ex, "SCHEDULER_TIMEOUT", "1s")
    with pytest.raises(InputError, match="scheduler"):
        ex.run_compare(p, 1, None, "tcp://127.0.0.1:9", tmp_path / "o2", False)


def test_paired_statistics_edge_cases():
    rng = np.random.default_rng(0)
    same = ex.paired_diff({0: 1.0, 1: 2.0, 2: None}, {0: 1.0, 1: 2.0, 2: 5.0}, rng)
    assert same["p_value"] == 1.0 and same["ci95"] == [0.0, 0.0] and same["only_base"] == 1
    conv = ex.convergence(np.full(20, 3.0))
    assert conv["converged"] and conv["rel_change_mean"] == 0.0
    assert not ex.convergence(np.arange(1.0, 21.0))["converged"]
    assert ex.bootstrap_ci(np.array([]), rng) is None


def test_shipped_experiments_load():
    for f in sorted((ROOT / "scenarios" / "experiments").glob("*.yaml")):
        e = ex.load_experiment(f)
        # every shipped comparison shows the false-alert price (a joint exercise: of a member site)
        assert e.base_arm in e.arms and any(k.rpartition(".")[2] == "false_alerts" for k in e.kpis)


@pytest.mark.slow
def test_intervals_cover_a_known_delay_and_crn_narrows_them(tmp_path):
    """50 small experiments: the 95 % interval of the paired difference of t_evacuated covers the true
    60 s delay in >= 90 % of them, and common random numbers give narrower intervals than independent
    seeds on the same experiment.

    With common random numbers every pair differs by exactly the delay here, so the sampling statement
    that can fail is the one with independent seeds (8 runs per arm, real spread in pre-movement)."""
    covered = {True: 0, False: 0}
    narrower = 0
    n_exp = 50
    for j in range(n_exp):
        widths = {}
        for crn in (True, False):
            p = _tiny(tmp_path / f"e{j}{crn}", reps=8, seed=1000 * j, crn=crn)
            e = ex.load_experiment(p)
            rows = ex.run_experiment(e, tmp_path / f"o{j}{crn}")
            d = ex.summarize(e, rows)["diffs"]["t_evacuated"]["late-now"]
            lo, hi = d["ci95"]
            covered[crn] += lo - 1e-6 <= DELAY <= hi + 1e-6
            widths[crn] = hi - lo
        narrower += widths[True] < widths[False]
    assert covered[True] >= 0.9 * n_exp
    assert covered[False] >= 0.9 * n_exp
    assert narrower == n_exp


def test_replications_share_the_loaded_twin_and_arm_with_unchanged_results(tmp_path):
    """A worker parses the base and each arm once and loads the site once; the rows equal fresh runs."""
    from drills.sim.engine import run_scenario
    from drills.spec.scenario import load_scenario

    p = _tiny(tmp_path, reps=3)
    exp = ex.load_experiment(p)
    ex._TWINS.clear()
    ex._ARMS.clear()
    payload = {"experiment": exp.name, "base": str(exp.base.resolve()), "arm": "late",
               "overrides": exp.arms["late"], "runs": [[i, exp.seed_of("late", i)] for i in range(3)]}
    rows = ex.run_batch(payload)
    again = ex.run_batch(payload)
    assert len(ex._TWINS) == 1 and len(ex._ARMS) == 1
    sc = ex._arm_scenario(payload["base"], payload["overrides"])
    assert sc is ex._arm_scenario(payload["base"], json.loads(json.dumps(payload["overrides"])))
    fresh = load_scenario(exp.base).evolve(**exp.arms["late"])
    for r, r2, (_rep, seed) in zip(rows, again, payload["runs"], strict=True):
        want = run_scenario(fresh, seed, log_trajectories=False).kpis  # its own graph, loaded afresh
        for k in ("t_evacuated", "t_alarm", "t_mustered", "t_lower_bound"):
            assert r[k] == r2[k] == (None if want.get(k) is None else float(want[k]))
        assert r["error"] is None


@pytest.mark.slow
def test_shipped_comparison_on_two_workers_equals_serial(tmp_path):
    """``compare ai_vs_threshold -n 2 --workers 2`` gives every run's KPIs exactly as a serial run (each
    worker shares its twin and arms across its batches; the results must not notice)."""
    p = ROOT / "scenarios" / "experiments" / "ai_vs_threshold.yaml"
    ex.run_compare(p, 2, None, None, tmp_path / "serial", False, plots=False)
    ex.run_compare(p, 2, 2, None, tmp_path / "dask", False, plots=False)
    serial, dask = _table(tmp_path / "serial"), _table(tmp_path / "dask")
    assert len(serial) == 2 * len(ex.load_experiment(p).arms) and not any(r["error"] for r in serial)
    assert serial == dask
