"""A resumed experiment folder only ever holds runs of the same inputs (issue 16): the fingerprint covers
the content of the base scenario and the site model, the arms and the code version."""

from __future__ import annotations

import json
import shutil

import pytest

from drills.studies.experiment import load_experiment, run_experiment
from tests.conftest import MODELS
from twin.errors import InputError

BASE = """name: tiny hall
site: rimea9.site.yaml
duration: 5min
population:
  - {where: Hall, count: 10}
alarm: {at: 0s}
"""
EXP = """name: resume
base: base.yaml
replications: 2
kpis: [t_evacuated]
arms:
  a: {}
  b: {flow: empirical}
"""


@pytest.fixture
def exp_dir(tmp_path):
    shutil.copy(MODELS / "rimea9.site.yaml", tmp_path / "rimea9.site.yaml")
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "exp.yaml").write_text(EXP)
    return tmp_path


def _start(exp_dir):
    """The state after `compare -n 2` was interrupted: the fingerprint written, no run yet."""
    out = exp_dir / "out"
    out.mkdir()
    (out / "experiment.json").write_text(json.dumps(load_experiment(exp_dir / "exp.yaml").fingerprint()))
    return out


def test_fingerprint_has_input_digests_and_code_version(exp_dir):
    fp = load_experiment(exp_dir / "exp.yaml").fingerprint()
    assert {str((exp_dir / "base.yaml").resolve()), str((exp_dir / "rimea9.site.yaml").resolve())} <= set(fp["inputs"])
    assert all(len(h) == 64 for h in fp["inputs"].values())
    assert "drilltwin" in fp["code"] and "git_commit" in fp["code"]


@pytest.mark.parametrize("edit,needle", [
    (lambda d: (d / "base.yaml").write_text(BASE.replace("count: 10", "count: 11")), "base.yaml changed"),
    (lambda d: (d / "rimea9.site.yaml").write_text((d / "rimea9.site.yaml").read_text().replace("width: 1.0", "width: 1.2", 1)),
     "rimea9.site.yaml changed"),
    (lambda d: (d / "exp.yaml").write_text(EXP.replace("flow: empirical", "flow: sfpe")), "arms differs"),
])
def test_edited_input_refuses_the_resume(exp_dir, edit, needle):
    out = _start(exp_dir)
    edit(exp_dir)
    exp = load_experiment(exp_dir / "exp.yaml")
    with pytest.raises(InputError, match="different experiment") as e:
        run_experiment(exp, out, n=1)
    assert needle in str(e.value)
    assert not (out / "runs.jsonl").exists()


def test_unchanged_inputs_resume(exp_dir):
    out = _start(exp_dir)
    exp = load_experiment(exp_dir / "exp.yaml")
    assert json.loads((out / "experiment.json").read_text()) == exp.fingerprint()


@pytest.mark.parametrize("field,value", [("replications", 10_000_000), ("replications", True), ("seed", -1),
                                         ("seed", 2**64)])
def test_experiment_numbers_have_limits(exp_dir, field, value):
    import yaml

    data = yaml.safe_load(EXP)
    data[field] = value
    (exp_dir / "exp.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match=rf"{field}: must be a whole number from"):
        load_experiment(exp_dir / "exp.yaml")


def test_compare_n_has_a_limit(exp_dir):
    from drills.studies.experiment import run_compare

    with pytest.raises(InputError, match=r"-n: the number of replications must be from 1 to 10,000"):
        run_compare(exp_dir / "exp.yaml", n=50_000, out=exp_dir / "o")
    assert not (exp_dir / "o").exists()
