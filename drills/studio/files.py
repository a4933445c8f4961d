"""The files the studio serves: scenario, region and experiment YAML under one root folder.

Every path from a request goes through :func:`resolve` (relative, no ``..``, no backslash or NUL, inside
the root after symlinks are followed). Validation writes the candidate text to a hidden file next to the
original, so relative references (``site:``, ``base:``, region sites) resolve as they will after saving,
and calls the project's own loader on it: :func:`drills.spec.scenario.load_scenario`,
:func:`drills.region.model.load_region` or :func:`drills.studies.experiment.load_experiment`. The error is the
loader's :class:`~twin.errors.InputError`, the same line the CLI prints, with the hidden name replaced by
the file's own. A scenario is also built (:func:`drills.sim.engine.build_run`, not run), so names that
do not match the site and a bad ``alerts:`` block are caught as ``drilltwin run`` catches them.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from twin.errors import InputError
from twin.yamlio import parse_yaml, read_yaml

__all__ = ["PathRejected", "FileStore", "etag_of", "file_kind", "validate_text", "unified_diff", "sha256"]

SUFFIXES = (".yaml", ".yml")
SKIP_DIRS = {"results", "node_modules", "__pycache__"}


class PathRejected(Exception):
    """A request path outside the root, or not a studio file (``status`` 400 or 404)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def etag_of(data: bytes) -> str:
    """A strong ETag: the quoted SHA-256 of the file's bytes."""
    return f'"{sha256(data)}"'


def file_kind(data: object, path: Path) -> str | None:
    """``scenario``, ``region`` or ``experiment`` for a parsed YAML document, else None (site sketches,
    anything else)."""
    if path.name.endswith((".site.yaml", ".site.yml")) or not isinstance(data, dict):
        return None
    if "arms" in data and "base" in data:
        return "experiment"
    if "sites" in data and "site" not in data:  # the test of drills.spec.region.is_region_file
        return "region"
    if "site" in data:
        return "scenario"
    return None


def _kind_of_file(p: Path) -> str | None:
    try:
        return file_kind(read_yaml(p)[0], p)
    except (OSError, InputError):
        return None


def validate_text(text: str, target: Path, rel: str) -> tuple[str, object]:
    """Load ``text`` as if it were the file ``target`` with the project's loader for its kind.

    Returns ``(kind, loaded object)``; raises :class:`InputError` (source: ``rel``) when it would not load.
    """
    try:
        data = parse_yaml(text, rel)[0]
    except InputError:
        data = None  # the loader below reports the problem with its line
    kind = file_kind(data, target) or "scenario"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".studio-check-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            if kind == "experiment":
                from drills.studies.experiment import load_experiment

                obj = load_experiment(tmp)
            elif kind == "region":
                from drills.region.model import load_region

                obj = load_region(tmp)
            else:
                from drills.sim.engine import build_run
                from drills.spec.scenario import load_scenario

                obj = load_scenario(tmp)
                # what `drilltwin run` checks before the clock starts: names against the site, the alert
                # policy, the workflows' roles
                build_run(obj, log_trajectories=False).model.release()
        except InputError as e:
            src = rel if e.source in (tmp, str(Path(tmp))) else (e.source or rel).replace(tmp, rel)
            raise InputError(e.message.replace(tmp, rel), source=src, where=e.where) from None
        return kind, obj
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def unified_diff(before: str, after: str, rel: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{rel}", tofile=f"b/{rel}"))


@dataclass
class Saved:
    before: bytes
    after: bytes
    etag: str


class StaleETag(Exception):
    """The file changed since the client read it."""


class FileStore:
    """The root folder: listing, safe path resolution, reads and atomic compare-and-swap writes."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise InputError("not a folder", source=str(root))
        self._lock = threading.Lock()

    def list(self) -> list[dict[str, str]]:
        """``[{path, kind}]`` of the scenario, region and experiment files, sorted by path."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
            for fn in sorted(filenames):
                if fn.startswith(".") or not fn.endswith(SUFFIXES):
                    continue
                p = Path(dirpath) / fn
                kind = _kind_of_file(p)
                if kind:
                    out.append({"path": p.relative_to(self.root).as_posix(), "kind": kind})
        return sorted(out, key=lambda r: r["path"])

    def resolve(self, rel: str) -> Path:
        """The file for a request path; :class:`PathRejected` 400 for anything that could leave the root,
        404 for a path that is not a studio file."""
        if not rel or "\x00" in rel or "\\" in rel or rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
            raise PathRejected("expected a path relative to the studio root", 400)
        parts = PurePosixPath(rel).parts
        if any(p in ("..", ".") for p in parts) or any(p.startswith(".") for p in parts):
            raise PathRejected("path components '..', '.' and hidden names are not allowed", 400)
        p = (self.root / PurePosixPath(rel)).resolve()
        if not p.is_relative_to(self.root):
            raise PathRejected("path leaves the studio root", 400)
        if not p.is_file() or not p.name.endswith(SUFFIXES) or _kind_of_file(p) is None:
            raise PathRejected("no scenario, region or experiment file at this path", 404)
        return p

    @contextlib.contextmanager
    def _process_lock(self):
        """An advisory lock on ``ROOT/.studio/save.lock``, so two studio processes on one folder do not
        interleave a save either (POSIX; elsewhere the in-process lock alone)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        d = self.root / ".studio"
        d.mkdir(exist_ok=True)
        with open(d / "save.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def kind(self, rel: str) -> str | None:
        """``scenario``, ``region`` or ``experiment`` of the file at ``rel`` (resolved as :meth:`resolve`)."""
        return _kind_of_file(self.resolve(rel))

    def save(self, rel: str, data: bytes, if_match: str, check) -> Saved:
        """Write ``data`` to ``rel`` if its current ETag is ``if_match``; ``check(text, path)`` raises
        InputError when the text would not load (then nothing is written). Atomic: a temporary file in
        the same folder replaces the original, so readers see the old or the new bytes, never a mix."""
        p = self.resolve(rel)
        text = data.decode("utf-8")
        with self._lock, self._process_lock():  # compare and swap: no other writer between check and replace
            before = p.read_bytes()
            if etag_of(before) != if_match.strip():
                raise StaleETag(etag_of(before))
            check(text, p)
            fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".studio-save-", suffix=p.suffix)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, p.stat().st_mode & 0o777)
                os.replace(tmp, p)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return Saved(before, data, etag_of(data))
