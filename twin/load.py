"""Loading a site from an IFC file or a site sketch, with a cache keyed by file hash and code version.

>>> g = load_twin("ifc_models/chemical_plant.ifc")      # doctest: +SKIP
>>> g.report()["exits"]                                  # doctest: +SKIP

The cache lives in ``$DRILLTWIN_CACHE`` (default ``~/.cache/drilltwin``). A key is the SHA-256 of the
file's bytes, the package version, a digest of the ``twin`` package's source and the graph settings, so
editing the model or upgrading drilltwin never serves a stale twin. Writes are atomic (temp file, then
rename); a cache entry that fails to load is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path

from .errors import InputError
from .graph import SiteGraph, build_graph
from .site import Site

__all__ = ["load_site", "load_twin", "read_model", "cache_dir", "SKETCH_SUFFIXES", "IFC_SUFFIXES"]

SKETCH_SUFFIXES = (".yaml", ".yml")
IFC_SUFFIXES = (".ifc",)
_FORMAT = 1


def cache_dir() -> Path:
    """Folder of cached twins (``$DRILLTWIN_CACHE`` or ``~/.cache/drilltwin``)."""
    env = os.environ.get("DRILLTWIN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "drilltwin"


@lru_cache(maxsize=1)
def _code_digest() -> str:
    h = hashlib.sha256(f"format{_FORMAT}".encode())
    try:
        from importlib.metadata import version

        h.update(version("drilltwin").encode())
    except Exception:  # not installed (running from a checkout): the source digest still protects us
        pass
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _check_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", source=str(p))
    if p.is_dir():
        raise InputError("is a folder; expected an .ifc file or a .site.yaml sketch", source=str(p))
    if p.suffix.lower() not in SKETCH_SUFFIXES + IFC_SUFFIXES:
        raise InputError(f"unknown model type {p.suffix!r}; expected .ifc or .site.yaml", source=str(p))
    return p


def read_model(path: str | os.PathLike) -> Site:
    """Read an IFC file or a site sketch into a :class:`Site`, without the cache."""
    p = _check_path(path)
    if p.suffix.lower() in IFC_SUFFIXES:
        from .ifc import read_ifc

        return read_ifc(p)
    from .sketch import read_sketch

    return read_sketch(p)


def _key(p: Path, kind: str, extra: str = "") -> Path:
    h = hashlib.sha256(p.read_bytes()).hexdigest()[:24]
    return cache_dir() / f"{kind}-{h}-{_code_digest()}{extra}.pkl"


def _load(key: Path):
    try:
        with key.open("rb") as fh:
            return pickle.load(fh)
    except Exception:
        return None


def _store(key: Path, obj) -> None:
    try:
        key.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=key.parent, prefix=".tmp-", suffix=".pkl")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, key)
    except OSError:
        pass  # a read-only home is no reason to fail a run; the twin is simply rebuilt next time


def load_site(path: str | os.PathLike, *, cache: bool = True) -> Site:
    """The :class:`Site` of an IFC file or sketch, from the cache when the file is unchanged."""
    p = _check_path(path)
    if not cache:
        return read_model(p)
    key = _key(p, "site")
    site = _load(key) if key.exists() else None
    if site is None:
        site = read_model(p)
        _store(key, site)
    return site


def load_twin(path: str | os.PathLike, *, cache: bool = True, **graph_options) -> SiteGraph:
    """The :class:`SiteGraph` (site, topology and navigation graphs) of an IFC file or sketch.

    ``graph_options`` go to :func:`twin.graph.build_graph` (``cell_size``, ``split_length``, ...).
    """
    p = _check_path(path)
    if not cache:
        return build_graph(read_model(p), **graph_options)
    extra = "-" + hashlib.sha256(repr(sorted(graph_options.items())).encode()).hexdigest()[:8] if graph_options else ""
    key = _key(p, "twin", extra)
    g = _load(key) if key.exists() else None
    if g is None:
        g = build_graph(load_site(p, cache=True), **graph_options)
        _store(key, g)
    return g
