"""The lab end to end on the sample plant: ensembles, scoring, outputs, tuning and learned policies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from drills.lab.labfile import load_lab, parse_lab
from tests.conftest import SCENARIOS
from twin.errors import InputError

SCEN = SCENARIOS / "plant_h2s_leak_ai.yaml"


def _lab(tmp_path: Path, **over) -> Path:
    import yaml

    data = {"scenario": str(SCEN), "seed": 5, "episodes": 12, "pre_leak": "10min", "horizon": "20min",
            "detection_window": "15min", "leak_free": "4h", "warmup": "5min",
            "policies": {"setpoint": {"policy": "threshold"}, "cusum": {"policy": "cusum"}}}
    data.update(over)
    p = tmp_path / "lab.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.fixture(scope="module")
def site():
    from drills.lab.site import load_lab_site

    return load_lab_site(SCEN)


def test_lab_file_errors(tmp_path):
    with pytest.raises(InputError, match=r"families: unknown \['flood'\]"):
        load_lab(_lab(tmp_path, families={"flood": 1}))
    with pytest.raises(InputError, match="train_seeds and test_seeds overlap"):
        load_lab(_lab(tmp_path, train_seeds=[0, 10], test_seeds=[10, 20]))
    with pytest.raises(InputError, match=r"policies\.bad"):
        load_lab(_lab(tmp_path, policies={"bad": {"policy": "cusum", "k": -1}}))
    with pytest.raises(InputError, match="unknown field"):
        load_lab(_lab(tmp_path, episode=3))
    with pytest.raises(InputError, match="no such lab file"):
        load_lab(tmp_path / "missing.yaml")


def test_ensemble_is_reproducible_and_micro_leaks_stay_below_set_points(tmp_path, site):
    from drills.lab.ensemble import sample_episodes, true_traces

    spec = load_lab(_lab(tmp_path, families={"micro": 1.0}))
    n_steps = int((spec.pre_leak + spec.horizon) / site.dt)
    site.compute_responses(spec.pre_leak + spec.horizon)
    a = sample_episodes(spec, site, 8, np.random.default_rng(3))
    b = sample_episodes(spec, site, 8, np.random.default_rng(3))
    assert a == b and {e.family for e in a} == {"micro"}
    tr, _ = true_traces(a, site, n_steps)
    sp = np.array([s.setpoints[0] for s in site.specs])
    frac = tr.max(axis=0) / sp  # (episodes, detectors)
    # the most exposed detector peaks at exactly `fraction` of its first set point (0.2 .. 0.8), or no
    # detector of the gas sees the source at all
    seen = frac.max(axis=1) > 0
    assert seen.sum() >= 4
    np.testing.assert_allclose(frac.max(axis=1)[seen], np.array([e.fraction for e in a])[seen], rtol=1e-3)
    assert all(e.rate > 0 for e in a)
    assert (tr[: int(spec.pre_leak / site.dt) - 1] == 0).all()  # nothing before the labelled start


def test_convolution_matches_superposed_steps(site, tmp_path):
    """A weeping profile by FFT convolution equals the sum of shifted step responses (linearity)."""
    from drills.lab.ensemble import Episode, profile, true_traces

    site.compute_responses(1800.0)
    src = site.sources[0]
    ep = Episode(0, "weeping", "small", src.name, src.space, src.zone_col, 60.0, 1e-3, period=200.0, duty=0.5)
    tr, src_ppm = true_traces([ep], site, 1800)
    q = profile(ep, 1800, site.dt)
    dq = np.diff(q, prepend=0.0)
    S = site.step[src.zone_col, src.zone_col, 1:1801].astype(float)
    ref = np.zeros(1800)
    for j in np.flatnonzero(dq):
        ref[j:] += dq[j] * S[: 1800 - j]
    from twin.gas import kgm3_to_ppm

    ref *= float(kgm3_to_ppm(1.0, site.gas))
    # float32 traces and FFT round-off: 1e-5 of the peak
    np.testing.assert_allclose(src_ppm[:, 0], ref, rtol=0, atol=1e-5 * ref.max())
    assert (src_ppm[:60, 0] == 0).all()


@pytest.mark.slow
def test_evaluate_end_to_end_outputs(tmp_path, site):
    from drills.lab.evaluate import run_lab, score
    from drills.lab.report import write_outputs

    spec = load_lab(_lab(tmp_path, policies={"setpoint": {"policy": "threshold"}, "<b>cusum</b>": {"policy": "cusum"}}))
    lab = run_lab(spec, site=site)
    t = score(lab)
    rows = {(r["variant"], r["leak_class"]): r for r in t["summary"]}
    assert rows[("setpoint", "all")]["lead_vs_setpoint_median_s"] in (0.0, None)
    if ("setpoint", "family=micro") in rows:  # a set point never sees a leak below it
        assert rows[("setpoint", "family=micro")]["probability_of_detection"] == 0.0
    paths = write_outputs(lab, t, tmp_path / "out")
    html = Path(paths["html"]).read_text()
    assert "<b>cusum</b>" not in html and "&lt;b&gt;cusum&lt;/b&gt;" in html
    assert "<script" not in html
    res = json.loads(Path(paths["json"]).read_text())
    assert set(res["policies"]) == {"setpoint", "<b>cusum</b>"}
    import pyarrow.parquet as pq

    assert pq.read_table(paths["episodes"]).num_rows == 2 * spec.episodes


@pytest.mark.slow
def test_tuned_policy_meets_its_budget_on_fresh_data(tmp_path, site):
    from drills.lab.tune import tune, write_tuned_scenario

    spec = load_lab(_lab(tmp_path, leak_free="2d",
                         sweeps={"cusum": {"false_alerts_per_sensor_day": [0.01, 0.3, 3.0]}}))
    res = tune(spec, "cusum", budget=7.0, leak_free=2 * 86400.0, fresh_leak_free=4 * 86400.0)
    assert res["chosen"] is not None and res["chosen"]["fp"] <= 7.0
    # a budget of 7 per operator-week (2 operators): 3 per sensor-day is far over it, 0.01 far under
    assert res["chosen"]["value"] != 3.0
    assert res["fresh"]["seed"] != spec.seed and res["meets_budget_on_fresh_data"]
    out = write_tuned_scenario(SCEN, res["config"], tmp_path / "sub" / "tuned.yaml", "tuned for the test")
    text = out.read_text()
    assert "# tuned for the test" in text and "# The same leak as plant_h2s_leak.yaml" in text
    assert "false_alerts_per_sensor_day" in text


@pytest.mark.slow
def test_model_trained_on_one_seed_range_is_scored_on_another(tmp_path):
    from drills.alerts.learned import load_model
    from drills.lab.training import train

    spec = load_lab(_lab(tmp_path, train_seeds=[100, 199], test_seeds=[200, 299]))
    card = train(spec, tmp_path / "m.joblib", episodes=10, leak_free=4 * 3600.0, test_episodes=10,
                 test_leak_free=4 * 3600.0)
    td, ho = card["training_data"], card["held_out"]
    assert td["seed"] == 100 and ho["seed"] == 200
    assert set(range(td["seed_range"][0], td["seed_range"][1] + 1)).isdisjoint(
        range(ho["seed_range"][0], ho["seed_range"][1] + 1))
    assert ho["window_roc_auc"] > 0.8 and ho["probability_of_detection"] > 0
    assert load_model(tmp_path / "m.joblib")["card"]["held_out"]["seed"] == 200
    assert json.loads((tmp_path / "m.card.json").read_text())["features"]
    # policy: model in a drill (path relative to the scenario file)
    from drills.lab.tune import write_tuned_scenario
    from drills.sim.engine import run_scenario
    from drills.spec.scenario import load_scenario

    sc_path = write_tuned_scenario(SCEN, {"policy": "model", "path": "m.joblib", "threshold": 0.5},
                                   tmp_path / "drill.yaml", "model policy")
    sc = load_scenario(sc_path).evolve(duration="12min")
    res = run_scenario(sc, seed=1)
    alerts = [e for e in res.extra.get("alert_episodes", [])]
    assert any(a.get("policy") == "model" for a in alerts), alerts


def test_parse_lab_resolves_relative_scenario(tmp_path):
    spec = parse_lab({"scenario": "x.yaml"}, tmp_path / "lab.yaml")
    assert spec.scenario == (tmp_path / "x.yaml").resolve()
    assert "setpoint" in spec.policies  # the reference is always there


def test_history_gives_operators_the_measured_false_alerts(tmp_path):
    from drills.lab.history import write_history_scenario

    lab_json = tmp_path / "lab.json"
    lab_json.write_text(json.dumps({"policies": {
        "cusum": {"false_alerts_per_day_per_operator": 3.0, "config": {"policy": "cusum"}},
        "setpoint": {"false_alerts_per_day_per_operator": 0.2, "config": {"policy": "threshold"}}}}))
    r = write_history_scenario(SCEN, lab_json, "cusum", tmp_path / "s" / "ai.yaml", elapsed=8 * 3600.0)
    assert r["false_alerts_seen"] == 1  # 3 per day x 8 h
    from drills.spec.scenario import load_scenario

    sc = load_scenario(r["scenario"])
    alerts = sc.alerts if isinstance(sc.alerts, dict) else sc.alerts.model_dump()
    assert alerts["operator"]["false_alerts_seen"] == 1
    r2 = write_history_scenario(SCEN, lab_json, "setpoint", tmp_path / "s" / "sp.yaml", elapsed=8 * 3600.0)
    assert r2["false_alerts_seen"] == 0
    with pytest.raises(InputError, match="'nope' is not a policy"):
        write_history_scenario(SCEN, lab_json, "nope", tmp_path / "x.yaml")


def test_history_experiment_compares_policies_with_their_fatigue(tmp_path):
    from drills.lab.history import write_history_experiment
    from drills.studies.experiment import load_experiment

    lab_json = tmp_path / "lab.json"
    lab_json.write_text(json.dumps({"policies": {
        "cusum": {"false_alerts_per_day_per_operator": 12.0, "config": {"policy": "cusum"}},
        "setpoint": {"false_alerts_per_day_per_operator": 0.2, "config": {"policy": "threshold"}}}}))
    r = write_history_experiment(SCEN, lab_json, ["setpoint", "cusum"], tmp_path / "exp" / "e.yaml")
    assert r["arms"]["cusum"]["false_alerts_seen"] == 3 and r["arms"]["setpoint"]["false_alerts_seen"] == 0
    exp = load_experiment(tmp_path / "exp" / "e.yaml")
    assert set(exp.arms) == {"setpoint", "cusum"} if hasattr(exp, "arms") else True
    text = (tmp_path / "exp" / "e.yaml").read_text()
    assert "t_ack" in text and "false_alerts_seen: 3" in text
