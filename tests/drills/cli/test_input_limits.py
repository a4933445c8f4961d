"""Bad input is refused with exit 1 naming the field and the limit, and input that would silently do
nothing is warned about, printed and kept in the manifest (issue 16). Each case is the exact input of the
issue."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import MODELS, cli

HEAD = f"""name: tiny hall
site: {MODELS / 'rimea9.site.yaml'}
"""
TINY = HEAD + """duration: 5min
population:
  - {where: Hall, count: 10}
alarm: {at: 0s}
"""


def _write(tmp_path, text: str):
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _refused(capsys, tmp_path, text, *needles, argv=()):
    p = _write(tmp_path, text)
    code, out, err = cli(capsys, "run", str(p), "--out", str(tmp_path / "never"), *argv)
    assert code == 1, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)
    assert not (tmp_path / "never").exists()
    return err


@pytest.mark.parametrize("body,needles", [
    ("population:\n  - {where: Hall, count: 10000000}\n", ["population[0].count", "100000", "limit"]),
    ("population:\n  - {where: Hall, count: true}\n", ["population[0].count", "whole number", "True"]),
    ("gas_step: 1e-6\npopulation: []\n", ["gas_step", "at least 0.1 s"]),
    ("hazards:\n  - {gas: H2S, source: Hall, rate: 0.1 kg/s, stop: 1000000h}\n", ["hazards[0].stop", "172,800 s"]),
    ('duration: "1e400s"\n', ["duration", "too large to be a number"]),
    ("hazards:\n  - {gas: H2S, source: Hall, rate: 1e30 kg/s}\n", ["hazards[0].rate", "at most 10,000 kg/s"]),
    ("alarm: {at: -30s}\n", ["alarm.at", "non-negative"]),
    ("seed: -1\n", ["seed", "greater than or equal to 0"]),
    ("duration: 30min\nduration: 1s\n", ["line 4", "duplicate key 'duration'", "also on line 3"]),
    ("population:\n  - {where: Hall, count: 200000}\n", ["population", "100000"]),
    ("duration: 48h\nrecord_every: 0.05s\n", ["record_every", "2,000,000"]),
    ("injects: [{id: 1, time: 1min, kind: message}]\nworkflows:\n  - name: w\n    trigger: {inject: 99}\n"
     "    steps: [{id: a, kind: sound_alarm}]\n", ["workflows[0].trigger.inject", "no inject has id 99", "1"]),
])
def test_exact_inputs_of_the_issue_exit_1(capsys, tmp_path, body, needles):
    _refused(capsys, tmp_path, HEAD + body, *needles)


def test_negative_cli_seed_and_long_site_path(capsys, tmp_path):
    _refused(capsys, tmp_path, TINY, "--seed", "between 0", argv=("--seed", "-1"))
    long_site = TINY.replace(str(MODELS / "rimea9.site.yaml"), "/" + "a" * 5000)
    _refused(capsys, tmp_path, long_site, "site", "path too long", "1,024")


def test_start_denser_than_the_floor_is_refused(capsys, tmp_path):
    # the hall is 30 m x 20 m = 600 m2; 50,000 people are 83.3 p/m2 (the issue's 200,000 at 83 p/m2 scaled)
    _refused(capsys, tmp_path, HEAD + "population:\n  - {where: Hall, count: 50000}\nalarm: {at: 0s}\n",
             "population", "50,000 people start in 'Hall'", "83.3 p/m2", "10 p/m2")


def test_start_above_jam_density_runs_with_a_warning(capsys, tmp_path):
    # 5,000 people in 600 m2 are 8.3 p/m2: denser than Weidmann's jam density, but crowds that dense exist
    p = _write(tmp_path, HEAD + "duration: 1s\npopulation:\n  - {where: Hall, count: 5000}\n")
    code, out, err = cli(capsys, "run", str(p), "--out", str(tmp_path / "run"), "--json")
    assert code == 0, err
    assert "8.3 p/m2, above the jam density 5.4 p/m2" in err
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert any("jam density" in w for w in man["warnings"])


def test_alias_bomb_scenario_exit_1_fast(capsys, tmp_path):
    from tests.twin.test_yamlio import BOMB

    t = time.perf_counter()
    _refused(capsys, tmp_path, BOMB, "expands to more than")
    assert time.perf_counter() - t < 1.0


def test_warnings_are_printed_and_kept_in_the_manifest(capsys, tmp_path):
    text = TINY + """injects:
  - {id: 1, time: 2h, kind: message, message: never}
workflows:
  - name: late
    trigger: {at: 1h}
    roles: {responder: 3}
    steps: [{id: a, kind: sound_alarm}]
"""
    out = tmp_path / "run"
    code, stdout, err = cli(capsys, "run", str(_write(tmp_path, text)), "--out", str(out), "--json")
    assert code == 0, err
    payload = json.loads(stdout)  # stdout stays pure JSON; warnings go to stderr
    warns = payload["warnings"]
    assert any(w.startswith("injects[0].time") and "never happens" in w for w in warns), warns
    assert any(w.startswith("workflows[0].trigger.at") for w in warns), warns
    assert any("workflows[0].roles.responder: 3 wanted, 0 responder(s)" in w for w in warns), warns
    assert all(f"warning: {w}" in err.replace("\n", " ") or w[:40] in err for w in warns)
    assert json.loads((out / "manifest.json").read_text())["warnings"] == warns


def test_no_alarm_nobody_moves_warning(capsys, tmp_path):
    text = HEAD + "duration: 2min\npopulation:\n  - {where: Hall, count: 5}\n"
    out = tmp_path / "run"
    code, stdout, err = cli(capsys, "run", str(_write(tmp_path, text)), "--out", str(out), "--json")
    assert code == 0, err
    assert any("nobody will move" in w for w in json.loads(stdout)["warnings"])
    assert "nobody will move" in err


def test_set_point_no_detector_has_and_too_many_unavailable_responders_warn(capsys, tmp_path):
    import yaml

    from tests.conftest import SCENARIOS

    data = yaml.safe_load((SCENARIOS / "plant_h2s_leak.yaml").read_text())
    data["site"] = str((SCENARIOS / data["site"]).resolve())
    data["duration"] = "1min"
    data["workflows"] = [*data.get("workflows", []), {"name": "never", "trigger": {"alert": "gas", "level": 5},
                                                      "steps": [{"id": "a", "kind": "sound_alarm"}]}]
    data["injects"] = [{"id": 900, "time": "10s", "kind": "responder_unavailable", "count": 500}]
    p = tmp_path / "levels.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    code, stdout, err = cli(capsys, "run", str(p), "--out", str(tmp_path / "r"), "--json")
    assert code == 0, err
    warns = json.loads(stdout)["warnings"]
    k = len(data["workflows"]) - 1
    assert any(w.startswith(f"workflows[{k}].trigger.level: set point 5") and "never starts" in w for w in warns), warns
    assert any(w.startswith("injects[0].count: 500 responder(s) to drop out") for w in warns), warns
