"""A dismissed alert does not stall a drill forever: the workflow's contingency re-notifies it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drills.sim.engine import run_scenario
from drills.spec.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[3]
NIGHT = ROOT / "scenarios/plant_night_fatigue.yaml"
RENOTIFY = 120.0  # s


def _variant(renotify: str):
    """The night-shift drill with an operator who has seen 8 false alerts and no true one this shift (so
    dismissals are likely) and nobody to escalate to: only the contingency can bring the alert back."""
    raw = yaml.safe_load(NIGHT.read_text())
    wf = raw["workflows"]
    wf[0]["steps"][1] = {"id": "ack", "kind": "wait_ack", "role": "operator", "timeout": "60s",
                         "renotify": renotify}
    return load_scenario(NIGHT).evolve(
        workflows=wf, duration="25min",
        alerts={"policy": "threshold", "operator": {"false_alerts_seen": 8, "true_alerts_seen": 0}})


def _ack(res):
    return [(x.t, x.state) for x in res.extra["transitions"] if x.step == "ack"
            and x.state in ("dismissed", "renotified", "acknowledged", "failed")]


@pytest.mark.slow
def test_every_dismissal_is_renotified_and_a_later_round_can_sound_the_alarm():
    """Seeds 0-3: every dismissal is followed by a re-notification 120 s later (while the drill lasts) and
    the step never fails; where a later round is acknowledged the alarm sounds then. With
    ``renotify: never`` the same seeds stall at the first dismissal: no alarm, ever."""
    with_contingency, stalled = _variant("2min"), _variant("never")
    acknowledged_after_dismissal = 0
    for seed in range(4):
        res = run_scenario(with_contingency, seed, log_trajectories=False)
        ack = _ack(res)
        dismissed = [t for t, s in ack if s == "dismissed"]
        assert dismissed, f"seed {seed}: the operator should dismiss at least once (fixture)"
        renotified = [t for t, s in ack if s == "renotified"]
        expected = [t + RENOTIFY for t in dismissed if t + RENOTIFY <= 25 * 60]
        assert renotified == expected
        assert "failed" not in {s for _, s in ack}
        if ack[-1][1] == "acknowledged":
            acknowledged_after_dismissal += 1
            assert res.kpis["t_alarm"] is not None and res.extra["transitions"]
        old = run_scenario(stalled, seed, log_trajectories=False)
        assert [s for _, s in _ack(old)] == ["dismissed", "failed"]
        assert old.kpis["t_alarm"] is None and old.kpis["t_ack"] is None
    assert acknowledged_after_dismissal >= 1
