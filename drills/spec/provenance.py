"""Content digests of input files and the code version, for resumable outputs (an experiment folder must
only ever hold runs of the same inputs and the same code)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

__all__ = ["file_digests", "code_version", "git_commit"]


def file_digests(paths: list[str | os.PathLike]) -> dict[str, str]:
    """``{absolute path: sha256 of its bytes}`` for each distinct file (``"missing"`` if it cannot be read)."""
    out: dict[str, str] = {}
    for p in paths:
        key = str(Path(p).resolve())
        if key in out:
            continue
        h = hashlib.sha256()
        try:
            with open(key, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out[key] = h.hexdigest()
        except OSError:
            out[key] = "missing"
    return dict(sorted(out.items()))


def code_version() -> dict[str, str | None]:
    """The drilltwin version and, in a git checkout, its commit (uncommitted edits are not seen)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("drilltwin")
    except PackageNotFoundError:
        ver = None
    return {"drilltwin": ver, "git_commit": git_commit()}


def git_commit() -> str | None:
    """The commit of the drilltwin checkout the code runs from (None outside git)."""
    root = Path(__file__).resolve().parents[2]
    try:
        run = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return run.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
