"""Shared fixtures: paths to the repository's samples and the shared IFC folder, an isolated cache, and the
shipped drills run once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_IFC = Path(os.environ.get("DRILLTWIN_TEST_IFC") or ROOT.parent / "shared" / "ifc")
"""Public real-world IFC files the import tests read (never copied into the repository): the folder named
by ``DRILLTWIN_TEST_IFC``, else ``../shared/ifc`` beside the checkout. tests/twin/IFC_FILES.md says where
each file comes from."""
IFC_WHY = (f"needs the public IFC test files in {SHARED_IFC} (set DRILLTWIN_TEST_IFC to their folder); they "
           "are not in the repository (third-party licences): tests/twin/IFC_FILES.md lists where to download "
           "each one")


def needs_ifc(*names: str):
    """Skip unless the shared IFC folder holds ``names`` (every file of the folder if none given)."""
    ok = SHARED_IFC.is_dir() and all((SHARED_IFC / n).is_file() for n in names)
    return pytest.mark.skipif(not ok, reason=IFC_WHY)
MODELS = ROOT / "ifc_models"
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the twin cache of a test session out of the user's home."""
    import os

    old = os.environ.get("DRILLTWIN_CACHE")
    os.environ["DRILLTWIN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("DRILLTWIN_CACHE", None)
    else:
        os.environ["DRILLTWIN_CACHE"] = old


@pytest.fixture(scope="session")
def shipped_run():
    """``shipped_run(name, seed=None)``: the :class:`~drills.sim.run.RunResult` of ``scenarios/NAME.yaml``,
    run once per test session (many tests only read the KPIs or events of the same shipped drill). Tests
    that need a run of their own (reproducibility, mutation) call ``run_scenario`` themselves."""
    from drills.sim.engine import run_scenario
    from drills.spec.scenario import load_scenario

    cache: dict = {}

    def get(name: str, seed: int | None = None):
        if (name, seed) not in cache:
            cache[name, seed] = run_scenario(load_scenario(SCENARIOS / f"{name}.yaml"), seed)
        return cache[name, seed]

    return get


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``drilltwin ARGV`` in this process: (exit code, stdout, stderr), as the console script ends."""
    from drills.cli.main import main

    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def calibration_cache(tmp_path, monkeypatch):
    """An empty alert-calibration cache folder of this test (drills/alerts/calcache.py), nothing remembered
    in the process before or after it; yields the folder the calibrations go to."""
    from drills.alerts import calcache

    monkeypatch.setenv("DRILLTWIN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(calcache.ENV_SWITCH, raising=False)
    calcache.clear_memory()
    yield tmp_path / "cache" / "calibration"
    calcache.clear_memory()
