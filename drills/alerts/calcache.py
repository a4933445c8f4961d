"""The alert policies' calibrations, computed once per machine and per process, not once per run or worker.

Calibrating an early-warning statistic (:func:`drills.alerts.policies.calibrate`) simulates a leak-free
training stream of many sensor-days, a few seconds per detector model. Its result depends only on its
arguments and on the code that computes it, so it is kept:

* in this process (:data:`_MEMO`), where an experiment's parent process also hands its calibrations to
  the Dask workers (:func:`known` there, :func:`preload` in the worker), so no worker repeats them;
* on disk, one small JSON file per calibration in ``$DRILLTWIN_CACHE/calibration`` (the folder of
  :func:`twin.load.cache_dir`, default ``~/.cache/drilltwin``). ``DRILLTWIN_CALIBRATION_CACHE=off``
  switches the disk part off (nothing read or written); deleting the folder clears it.

A file's name is the SHA-256 of the calibration's arguments and of a *code version*: a digest of the
source of everything that decides the numbers (the calibration and statistic code in
:mod:`drills.alerts.policies`, the detector stream of :mod:`twin.sensors`) and of numpy's version (its
random streams are not promised across versions). Editing that code or upgrading numpy therefore never
serves a stale calibration. The file repeats the arguments and the version; an entry that is unreadable,
cut short or says anything else is recomputed and rewritten, never trusted. Writes go to a temporary
file in the same folder and are renamed into place, so two processes writing the same entry at once
each leave a whole file (with the same content) and a reader never sees half of one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["ENV_SWITCH", "register", "folder", "cached", "known", "preload", "probing", "compute", "adopt", "code_version",
           "clear_memory"]

ENV_SWITCH = "DRILLTWIN_CALIBRATION_CACHE"
"""Set to ``off`` (or ``0``, ``false``, ``no``) to neither read nor write calibrations on disk."""
_OFF = {"off", "0", "false", "no"}
_FORMAT = 1
_MEMO: dict[str, Any] = {}  # digest -> Calibration, computed or read in this process (or handed to it)
_PROBE: dict[str, tuple] | None = None  # inside probing(): digest -> arguments of the calibrations missing
_log = logging.getLogger(__name__)


def folder() -> Path | None:
    """Where calibrations are stored (``$DRILLTWIN_CACHE/calibration``), or None when switched off."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in _OFF:
        return None
    from twin.load import cache_dir

    return cache_dir() / "calibration"


_SOURCE: dict[str, Any] = {}  # what drills.alerts.policies registers (see register)


def register(calibrate: Callable[..., Any], calibration: type, code: tuple, constants: Any) -> None:
    """Called by :mod:`drills.alerts.policies` as it is imported: its cached ``_calibrate``, the
    ``Calibration`` class, the functions and classes whose source decides a calibration's numbers, and the
    constants that do. (This module is below the policies: it never imports them.)"""
    _SOURCE.update(calibrate=calibrate, cls=calibration, code=tuple(code), constants=constants)
    code_version.cache_clear()


def _src(name: str) -> Any:
    if not _SOURCE:
        import importlib

        importlib.import_module("drills.alerts.policies")  # registers itself (see register)
    return _SOURCE[name]


@lru_cache(maxsize=1)
def code_version() -> str:
    """Digest of the source that decides a calibration's numbers (as registered by the policies, and
    the detector stream of :mod:`twin.sensors`), and of numpy's version."""
    import numpy as np

    from twin import sensors

    h = hashlib.sha256(f"format{_FORMAT} numpy{np.__version__}".encode())
    for obj in (*_src("code"), sensors):
        h.update(inspect.getsource(obj).encode())
    h.update(repr(_src("constants")).encode())
    return h.hexdigest()[:16]


def _canon(x: Any) -> str:
    """An exact, stable text of a calibration argument (every dataclass field, floats to the last bit)."""
    if x is None or isinstance(x, bool | int | str):
        return repr(x)
    if isinstance(x, float):
        return x.hex()
    if isinstance(x, tuple | list):
        return "(" + ",".join(_canon(v) for v in x) + ")"
    if isinstance(x, Mapping):
        return "{" + ",".join(f"{_canon(k)}:{_canon(v)}" for k, v in sorted(x.items(), key=lambda kv: repr(kv[0]))) + "}"
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        inner = ",".join(f"{f.name}={_canon(getattr(x, f.name))}" for f in dataclasses.fields(x))
        return f"{type(x).__qualname__}({inner})"
    if hasattr(x, "item") and callable(x.item) and getattr(x, "shape", None) == ():  # numpy scalar
        return _canon(x.item())
    raise TypeError(f"no exact text for {type(x).__name__}")


def _digest(key: str) -> str:
    return hashlib.sha256(f"{code_version()}\n{key}".encode()).hexdigest()[:32]


def _read(path: Path, key: str, fields: tuple[str, ...]) -> dict[str, float] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None  # missing, unreadable or cut short
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("code") != code_version() \
            or data.get("key") != key:
        return None
    value = data.get("value")
    if not isinstance(value, dict) or set(value) != set(fields):
        return None
    if not all(isinstance(v, float | int) and not isinstance(v, bool) for v in value.values()):
        return None
    return {k: float(v) for k, v in value.items()}


def _write(path: Path, key: str, value: dict[str, float]) -> None:
    text = json.dumps({"format": _FORMAT, "code": code_version(), "key": key, "value": value}, indent=1)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:  # a read-only home is no reason to fail a drill: it is recomputed next time
        _log.debug("calibration cache not written (%s): %s", path, e)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cached(compute: Callable[..., Any], args: tuple) -> Any:
    """``compute(*args)`` (a :class:`~drills.alerts.policies.Calibration`, a frozen dataclass of floats),
    from this process's memory, else from the disk cache, else computed and stored in both."""
    try:
        key = _canon(args)
    except TypeError:
        return compute(*args)  # an argument with no exact text: never guess a key
    d = _digest(key)
    got = _MEMO.get(d)
    if got is not None:
        return got
    where = folder()
    path = None if where is None else where / f"{d}.json"
    cls = None
    if path is not None:
        cls = _src("cls")
        fields = tuple(f.name for f in dataclasses.fields(cls))
        value = _read(path, key, fields)
        if value is not None:
            got = cls(**value)
    if got is None:
        if _PROBE is not None:  # a dry build asks what it needs: note it, compute nothing, keep nothing
            _PROBE[d] = args
            return _stand_in()
        got = compute(*args)
        if path is not None and isinstance(got, cls):
            _write(path, key, dataclasses.asdict(got))
    _MEMO[d] = got
    return got


def known() -> dict[str, Any]:
    """Every calibration this process computed, read or was handed (digest -> Calibration), to hand on."""
    return dict(_MEMO)


def preload(entries: Mapping[str, Any] | None) -> None:
    """Take calibrations computed elsewhere (:func:`known` of the experiment's parent process). They are
    keyed by the digest of their arguments and code version, so a worker running other code ignores them."""
    if entries:
        _MEMO.update({d: v for d, v in entries.items() if v is not None})


def clear_memory() -> None:
    """Forget this process's calibrations (the disk cache stays): for tests and benchmarks."""
    _MEMO.clear()
    if _SOURCE:
        _SOURCE["calibrate"].cache_clear()


def _stand_in() -> Any:
    return _src("cls")(mu0=0.0, sigma0=1.0, threshold=1.0, rate_per_day=0.0, sensor_days=0.0)


@contextmanager
def probing() -> Iterator[dict[str, tuple]]:
    """Within this block a calibration that is neither in memory nor on disk is not computed: its arguments
    are collected in the yielded ``{digest: args}`` and a stand-in is returned, so a *dry* build of a run
    (thrown away afterwards) tells which calibrations it needs, to be computed elsewhere (:func:`compute`,
    e.g. on Dask workers in parallel). Stand-ins are kept nowhere; not for use from several threads."""
    _calibrate = _src("calibrate")
    global _PROBE
    _calibrate.cache_clear()  # so every call of the block reaches cached() and is seen
    _PROBE = {}
    try:
        yield _PROBE
    finally:
        _PROBE = None
        _calibrate.cache_clear()  # no stand-in survives the block


def compute(args: tuple) -> Any:
    """The calibration of ``_calibrate(*args)`` (the arguments :func:`probing` collected), through the
    caches of this process (a Dask worker's task); None when it fails, so the runs that need it meet the
    error themselves and report it, naming the field."""
    try:
        return _src("calibrate")(*args)
    except Exception:  # noqa: BLE001 - reported by every run that needs it
        return None


def adopt(args: tuple, value: Any) -> None:
    """Keep a calibration computed in another process (a remote worker) here and on this disk."""
    key = _canon(args)
    d = _digest(key)
    if value is None or d in _MEMO:
        return
    _MEMO[d] = value
    where = folder()
    if where is not None and not (where / f"{d}.json").exists():
        _write(where / f"{d}.json", key, dataclasses.asdict(value))
