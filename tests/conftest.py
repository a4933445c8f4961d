"""Shared fixtures: paths to the repository's samples and the shared IFC folder, an isolated cache."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_IFC = ROOT.parent / "shared" / "ifc"
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
