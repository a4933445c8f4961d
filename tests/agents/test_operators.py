"""Operators' alarm fatigue: no truth before an investigation, a history per person, priors per role."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pytest

from agents.operators import AlertRecord, FatigueConfig, OperatorFatigue, Operators
from twin.errors import InputError


@dataclass
class _ScoredAlert:
    """An alert as a scoring layer might hold it: console fields plus the truth nobody may see."""

    id: str
    t: float
    zone: str
    level: str
    rank: int
    policy: str
    sensors: tuple[str, ...]
    confidence: float
    false: bool
    true_positive: bool


def _alerts(truth: bool, n: int = 12) -> list[_ScoredAlert]:
    return [_ScoredAlert(f"A{k}", 60.0 * k, "Pump Room", "warning", 1, "cusum", ("GD-1",), 0.5,
                         false=not truth, true_positive=truth) for k in range(n)]


def test_record_carries_no_truth():
    names = {f.name for f in fields(AlertRecord)}
    assert names == {"id", "t", "zone", "level", "rank", "policy", "sensors", "confidence"}
    rec = AlertRecord.of(_alerts(False, 1)[0])
    assert not hasattr(rec, "false") and not hasattr(rec, "true_positive")
    assert rec == AlertRecord("A0", 0.0, "Pump Room", "warning", 1, "cusum", ("GD-1",), 0.5)


def test_decisions_do_not_depend_on_truth_until_investigated():
    """The same alerts, once all true and once all false: identical dismissals and delays while no
    outcome has been learned. Fails if respond() reads any truth the alert object carries."""
    def decisions(truth: bool):
        ops = Operators({"false_alerts_seen": 5, "true_alerts_seen": 2})
        rng = np.random.default_rng(3)
        return [ops.respond(rng, a, who=0) for a in _alerts(truth)]

    assert decisions(True) == decisions(False)


def test_learning_moves_only_the_people_who_saw_the_alert():
    ops = Operators()
    rng = np.random.default_rng(0)
    for k in range(4):
        ops.respond(rng, AlertRecord(f"A{k}", float(k), "Z"), who=7)
    assert ops.recent_false_share(7) == 0.0  # nothing investigated yet
    for k in range(4):
        ops.learn(f"A{k}", True)
    assert ops.recent_false_share(7) == pytest.approx(4 / 5)  # 4 false + 1 trusted pseudo-alert
    assert ops.recent_false_share(8) == 0.0  # another operator, who was not shown them
    # someone shown an alert after its outcome is known learns it at once
    ops.respond(rng, AlertRecord("A0", 0.0, "Z"), who=8)
    assert ops.recent_false_share(8) == pytest.approx(1 / 2)


def test_priors_are_per_role():
    cfg = FatigueConfig.parse({"false_alerts_seen": 12, "true_alerts_seen": 1,
                               "roles": {"supervisor": {"false_alerts_seen": 1, "true_alerts_seen": 3}}})
    ops = Operators(cfg)
    assert ops.recent_false_share("op", "operator") == pytest.approx(12 / 14)
    assert ops.recent_false_share("sup", "supervisor") == pytest.approx(1 / 5)
    assert ops.recent_false_share("ert", "responder") == 0.0  # not named: fresh


def test_one_investigation_per_alert():
    ops = Operators({"investigation": {"dist": "lognormal", "median": "4min", "sigma": 0.3}})
    rng = np.random.default_rng(1)
    a = AlertRecord("A1", 0.0, "Z")
    d = ops.investigation_time(rng, a)
    assert 60.0 < d < 960.0
    assert ops.investigation_time(rng, a) is None  # already under way
    ops.learn("A1", False)
    assert ops.investigation_time(rng, a) is None  # outcome known


def test_fatigue_direction():
    base = OperatorFatigue({"false_alerts_seen": 0})
    tired = OperatorFatigue({"false_alerts_seen": 8, "true_alerts_seen": 2})
    assert base.recent_false_share() == 0.0 and tired.recent_false_share() > 0.5
    assert tired.p_dismiss() > base.p_dismiss() == 0.0
    d0 = [base.ack_delay(np.random.default_rng(s)) for s in range(300)]
    d1 = [tired.ack_delay(np.random.default_rng(s)) for s in range(300)]
    assert np.median(d1) > 2 * np.median(d0)
    assert tired.p_dismiss(corroborated=True) < tired.p_dismiss()
    # a supervisor under the same config is fresh: the shift counts belong to operators
    assert OperatorFatigue({"false_alerts_seen": 8}, role="supervisor").p_dismiss() == 0.0


def test_deterministic():
    def run():
        ops = Operators({"false_alerts_seen": 3})
        rng = np.random.default_rng(11)
        out = []
        for k, a in enumerate(_alerts(False)):
            out.append(ops.respond(rng, a, who=k % 2))
            out.append(ops.investigation_time(rng, a))
            ops.learn(a.id, k % 3 == 0)
        return out

    assert run() == run()


@pytest.mark.parametrize(("raw", "where"), [
    ({"dismiss_gain": 3}, "alerts.operator.dismiss_gain"),
    ({"investigation": "5 furlongs"}, "alerts.operator.investigation"),
    ({"roles": {"supervisor": {"false_alerts_seen": -1}}}, "alerts.operator.roles.supervisor.false_alerts_seen"),
    ({"roles": {"janitor": {}}}, "alerts.operator.roles"),
])
def test_bad_config_names_the_field(raw, where):
    with pytest.raises(InputError) as e:
        FatigueConfig.parse(raw)
    assert e.value.where == where
