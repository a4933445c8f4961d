"""Results folders never destroy what is not theirs (issue 16): ``--out`` is checked before the simulation,
locked while a command writes it, written atomically with the user's umask, and its manifest lists every
file, the HTML included."""

from __future__ import annotations

import json
import os
import stat

import pytest

import drills.sim.engine
from drills.outputs.results import FORMAT, atomic_dir, check_out, is_results_folder, out_lock
from tests.conftest import MODELS, cli
from twin.errors import InputError

TINY = f"""name: tiny hall
site: {MODELS / 'rimea9.site.yaml'}
duration: 5min
population:
  - {{where: Hall, count: 10}}
alarm: {{at: 0s}}
"""


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY, encoding="utf-8")
    return p


@pytest.fixture
def no_sim(monkeypatch):
    """Any simulation started fails the test: refusals must come before the run."""
    def boom(*a, **k):
        raise AssertionError("the simulation started")
    monkeypatch.setattr(drills.sim.engine, "run_scenario", boom)


def _refused(capsys, *argv, needles=()) -> str:
    code, out, err = cli(capsys, *argv)
    assert code == 1, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)
    return err


def _hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_out_folder_of_user_files_is_refused_untouched(capsys, tmp_path, tiny, no_sim):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("precious")
    _refused(capsys, "run", str(tiny), "--out", str(mine), needles=["--out", "not a drilltwin results folder"])
    assert [p.name for p in mine.iterdir()] == ["chapter1.tex"]
    assert (mine / "chapter1.tex").read_text() == "precious"
    assert _hidden(tmp_path) == []


def test_out_file_is_refused_untouched(capsys, tmp_path, tiny, no_sim):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    _refused(capsys, "run", str(tiny), "--out", str(f), needles=["not a folder"])
    assert f.read_text() == "keep me" and _hidden(tmp_path) == []


def test_out_symlink_is_refused(capsys, tmp_path, tiny, no_sim):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    _refused(capsys, "run", str(tiny), "--out", str(tmp_path / "link"), needles=["symbolic link"])


def test_out_dotdot_is_refused_and_leaves_no_temp(capsys, tmp_path, tiny, no_sim):
    x = tmp_path / "X"
    x.mkdir()
    (tmp_path / "data.csv").write_text("1,2")
    _refused(capsys, "run", str(tiny), "--out", f"{x}/..", needles=["not a drilltwin results folder"])
    assert _hidden(tmp_path) == [] and (tmp_path / "data.csv").exists()


def test_unwritable_out_refused_before_the_run(capsys, tmp_path, tiny, no_sim):
    f = tmp_path / "plain_file"
    f.write_text("")
    _refused(capsys, "run", str(tiny), "--out", str(f / "run1"), needles=["cannot write here"])
    if os.geteuid() != 0:  # root writes anywhere; the permission case only means something for users
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        _refused(capsys, "run", str(tiny), "--out", str(ro / "run1"), needles=["cannot write here"])


def test_long_out_path_exit_1(capsys, tmp_path, tiny, no_sim):
    _refused(capsys, "run", str(tiny), "--out", str(tmp_path / ("a" * 5000)), needles=["too long", "--out"])


def test_second_writer_is_refused_while_the_first_holds_the_lock(capsys, tmp_path, tiny, no_sim):
    out = tmp_path / "run1"
    with out_lock(out):
        # a second process would see the kernel lock; in one process the lock is re-entrant, so the test
        # asks a child process to try
        import subprocess
        import sys

        code = subprocess.run([sys.executable, "-c", "from drills.cli.main import main; main()", "run", str(tiny),
                               "--out", str(out)], capture_output=True, text=True, timeout=120)
        assert code.returncode == 1, code.stderr
        assert "another drilltwin command is writing" in code.stderr
    assert not out.exists() and _hidden(tmp_path) == []  # the lock file goes with the lock


def test_results_folder_is_replaced_and_others_are_not(tmp_path):
    old = tmp_path / "run"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"format": FORMAT}))
    (old / "stale.parquet").write_text("")
    assert is_results_folder(old)
    with atomic_dir(old) as tmp:
        (tmp / "kpis.json").write_text("{}")
    assert sorted(p.name for p in old.iterdir()) == ["kpis.json"]
    # a manifest written before the format field still counts
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "manifest.json").write_text(json.dumps({"run_id": "x", "versions": {"drilltwin": "0.1"}}))
    assert is_results_folder(legacy)
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"name": "a web app"}))
    assert not is_results_folder(other)
    with pytest.raises(InputError, match="not a drilltwin results folder"):
        with atomic_dir(other):
            pass
    assert (other / "manifest.json").exists()


def test_failed_write_leaves_nothing_and_empty_folder_is_fine(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "r"):
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()
    assert check_out(tmp_path / "empty") == tmp_path / "empty"


def test_folder_mode_follows_umask_not_0700(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "r") as tmp:
            (tmp / "a.txt").write_text("x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "r").stat().st_mode)
    assert mode == 0o755, oct(mode)


def test_compare_out_must_be_an_experiment_folder(tmp_path):
    mine = tmp_path / "stuff"
    mine.mkdir()
    (mine / "a.txt").write_text("x")
    with pytest.raises(InputError, match="not a drilltwin results folder"):
        check_out(mine, resumable="experiment.json")
    (mine / "experiment.json").write_text("{}")
    check_out(mine, resumable="experiment.json")
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"format": FORMAT}))
    with pytest.raises(InputError):  # a run's folder is not appended to by an experiment
        check_out(run, resumable="experiment.json")


def test_manifest_lists_the_html_and_rerun_replaces_its_own_folder(capsys, tmp_path, tiny):
    out = tmp_path / "run1"
    code, stdout, err = cli(capsys, "run", str(tiny), "--out", str(out), "--json")
    assert code == 0, err
    man = json.loads((out / "manifest.json").read_text())
    assert man["format"] == FORMAT
    assert {"report.html", "replay.html", "manifest.json"} <= set(man["files"])
    assert set(man["files"]) == {p.name for p in out.iterdir()}
    code, stdout, err = cli(capsys, "run", str(tiny), "--out", str(out), "--json")
    assert code == 0, err
    assert _hidden(tmp_path) == [p.name for p in [tiny] if p.name.startswith(".")]


def test_report_and_replay_written_later_join_the_manifest(capsys, tmp_path, tiny):
    """Callers other than the CLI (the studio) write the pages after the folder: the manifest follows."""
    from drills.outputs.replay import write_replay
    from drills.outputs.report import write_report

    out = tmp_path / "run1"
    assert cli(capsys, "run", str(tiny), "--out", str(out), "--json")[0] == 0
    for page in ("report.html", "replay.html"):
        (out / page).unlink()
    man = json.loads((out / "manifest.json").read_text())
    man["files"] = [f for f in man["files"] if not f.endswith(".html")]
    (out / "manifest.json").write_text(json.dumps(man))
    write_report(out)
    write_replay(out)
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert {"report.html", "replay.html"} <= set(files) and not [f for f in files if f.startswith(".")]
