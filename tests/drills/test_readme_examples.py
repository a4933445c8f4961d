"""The README's Python examples run as printed (with their output folders moved to a temporary one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert BLOCKS, "the README shows how to script drills from Python"


@pytest.mark.parametrize("k", range(len(BLOCKS)))
def test_readme_python_example_runs(k, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = BLOCKS[k].replace('"results/', f'"{tmp_path}/')
    exec(compile(code, f"README.md python block {k + 1}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip(), "the example prints its results"
