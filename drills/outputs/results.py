"""The results folder of one run (ARCHITECTURE.md): written to a temporary folder and renamed when
complete, so a crash never leaves a half-written run.

``manifest.json`` (scenario hash, seed, versions, git commit, wall time), ``scenario.yaml`` (resolved),
``kpis.json``, ``events.parquet`` (t, kind, agent, node, detail), ``trajectories.parquet`` (agent, t,
node), ``people.parquet`` (one row per person).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from agents.crowd import ROLES, STATES
from drills.outputs.naming import slug
from drills.sim.run import RunResult
from drills.spec.provenance import git_commit
from twin.errors import InputError

__all__ = ["write_results", "run_id_for", "git_commit", "versions", "atomic_dir", "jsonable", "events_table",
           "EVENT_COLUMNS", "write_manifest", "alerts_table", "transitions_table", "write_event_tables",
           "ALERT_COLUMNS", "TRANSITION_COLUMNS", "check_out", "out_lock", "is_results_folder",
           "add_manifest_files", "FORMAT", "MAX_PATH"]

EVENT_COLUMNS = ("t", "kind", "agent", "node", "detail")
_EVENT_TYPES = {"t": pa.float64(), "site": pa.string(), "kind": pa.string(), "agent": pa.int64(),
                "node": pa.string(), "detail": pa.string()}


def events_table(events: list[tuple], cols: tuple[str, ...] = EVENT_COLUMNS) -> pa.Table:
    """The event log as an Arrow table: one column per tuple position, named by ``cols`` (``t`` in s,
    ``agent`` -1 for events of no one; a joint exercise adds ``site`` after ``t``)."""
    return pa.table({c: pa.array([e[k] for e in events], _EVENT_TYPES[c]) for k, c in enumerate(cols)})



def run_id_for(res: RunResult) -> str:
    """``<scenario-slug>-s<seed>-<UTC timestamp>``."""
    return f"{slug(res.scenario.name)}-s{res.seed}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"


ALERT_COLUMNS = ("t", "id", "level", "rank", "kind", "gas", "policy", "zone", "x", "y", "confidence", "sensors")
"""``alerts.parquet``: one row per alert (t in s; x, y in m in the site's frame; ``sensors`` a list)."""
TRANSITION_COLUMNS = ("t", "workflow", "instance", "step", "state", "role", "agent", "node", "detail")
"""``workflow.parquet``: one row per workflow transition (``step`` empty for the workflow itself)."""


def alerts_table(alerts: list, sites: list[str] | None = None) -> pa.Table:
    """Alerts (:class:`drills.sim.hazards.AlertEvent`) as a table of :data:`ALERT_COLUMNS`; ``sites`` (one
    per alert) adds a ``site`` column after ``t``."""
    def col(f):
        return [f(a) for a in alerts]

    cols = {
        "t": pa.array(col(lambda a: float(a.t)), pa.float64()),
        "id": pa.array(col(lambda a: str(a.id)), pa.string()),
        "level": pa.array(col(lambda a: str(a.level)), pa.string()),
        "rank": pa.array(col(lambda a: int(a.rank)), pa.int64()),
        "kind": pa.array(col(lambda a: a.kind), pa.string()),
        "gas": pa.array(col(lambda a: a.gas), pa.string()),
        "policy": pa.array(col(lambda a: str(a.policy)), pa.string()),
        "zone": pa.array(col(lambda a: str(a.zone)), pa.string()),
        "x": pa.array(col(lambda a: float(a.location[0])), pa.float64()),
        "y": pa.array(col(lambda a: float(a.location[1])), pa.float64()),
        "confidence": pa.array(col(lambda a: float(a.confidence)), pa.float64()),
        "sensors": pa.array(col(lambda a: [str(x) for x in a.sensors]), pa.list_(pa.string())),
    }
    if sites is not None:
        cols = {"t": cols.pop("t"), "site": pa.array(sites, pa.string()), **cols}
    return pa.table(cols)


def transitions_table(transitions: list) -> pa.Table:
    """Workflow transitions (:class:`drills.workflow.engine.Transition`) as a table of
    :data:`TRANSITION_COLUMNS` plus ``site`` (the site a regional run acts for; empty in a site's run)."""
    types = {"t": pa.float64(), "instance": pa.int64(), "agent": pa.int64()}
    cols = {c: pa.array([getattr(tr, c) for tr in transitions], types.get(c, pa.string()))
            for c in (*TRANSITION_COLUMNS, "site")}
    return pa.table(cols)


def write_event_tables(folder: Path, alerts: list, transitions: list, sites: list[str] | None = None) -> None:
    """Write ``alerts.parquet`` and ``workflow.parquet`` into ``folder`` (empty tables when nothing
    happened, so a reader never has to guess whether a file is missing or the run was quiet)."""
    pq.write_table(alerts_table(alerts, sites), folder / "alerts.parquet")
    pq.write_table(transitions_table(transitions), folder / "workflow.parquet")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("drilltwin", "simpy", "mesa", "networkx", "numpy", "scipy", "shapely", "ifcopenshell"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


FORMAT = "drilltwin-results/1"
"""``manifest.json["format"]`` of every results folder: only folders that say so are ever replaced."""
MAX_PATH = 1024
"""Longest results path accepted (characters); file systems refuse 4,096 (Linux PATH_MAX) or 260 (Windows
without long paths) and a run must not find out after the simulation."""
_HELD: dict[str, int] = {}  # resolved folder -> lock fd held by this process


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def is_results_folder(folder: Path) -> bool:
    """Does ``folder`` hold a drilltwin results folder: a ``manifest.json`` with ``format``, or one written
    before the format field (``run_id`` and ``versions.drilltwin``)?"""
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(m, dict):
        return False
    return str(m.get("format", "")).startswith("drilltwin-") or (
        "run_id" in m and isinstance(m.get("versions"), dict) and "drilltwin" in m["versions"])


def check_out(out: str | os.PathLike, *, field: str = "--out", resumable: str | None = None) -> Path:
    """Refuse, before anything runs, a results folder that cannot be written or would destroy something.

    ``out`` may be missing, an empty folder, or a drilltwin results folder (replaced when the new one is
    complete); a file, a symlink, or a folder of anything else is refused. With ``resumable`` (a file
    name, ``experiment.json``) the folder is continued rather than replaced, and must hold that file. The
    nearest existing parent must be a writable folder. Returns the absolute path (``X/..`` normalised)."""
    raw = str(out)
    if not raw.strip():
        raise InputError("empty path", where=field)
    if len(raw) > MAX_PATH or any(len(part) > 255 for part in Path(raw).parts):
        raise InputError(f"path too long ({len(raw):,} characters; the limit is {MAX_PATH:,}, 255 per name)",
                         where=field)
    final = Path(os.path.abspath(raw))
    if final.parent == final:
        raise InputError("the file system root cannot be a results folder", source=raw, where=field)
    if final.is_symlink():
        raise InputError("is a symbolic link, which a results folder must not be (replacing it could reach "
                         "elsewhere); nothing was touched: give the real folder", source=raw, where=field)
    if final.exists() and not final.is_dir():
        raise InputError("exists and is not a folder; nothing was touched (choose another path)", source=raw,
                         where=field)
    if final.is_dir():
        try:
            entries = [x.name for x in final.iterdir()]
        except OSError as e:
            raise InputError(f"cannot read the folder: {e.strerror or e}", source=raw, where=field) from None
        ok = not entries or ((final / resumable).exists() if resumable else is_results_folder(final))
        if not ok:
            raise InputError("exists and is not a drilltwin results folder (its manifest.json does not say so); "
                             "nothing was touched: choose another path or empty it yourself", source=raw,
                             where=field)
    anc = final if final.is_dir() else final.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir() or not os.access(anc, os.W_OK | os.X_OK) or (final.is_dir() and not os.access(
            final.parent, os.W_OK | os.X_OK)):
        raise InputError(f"cannot write here ({anc} is not a writable folder)", source=raw, where=field)
    return final


class out_lock:
    """Context manager: an exclusive lock on a results folder for the whole command (simulation and
    writing), so a second run on the same ``--out`` is refused instead of silently overwriting the first.
    The lock is ``.<name>.lock`` beside the folder (``flock``: released by the kernel if the process dies)
    and removed on exit. Re-entrant within one process."""

    def __init__(self, out: str | os.PathLike, *, field: str = "--out"):
        self.final = Path(os.path.abspath(out))
        self.field = field
        self.own = False

    def __enter__(self) -> Path:
        key = str(self.final)
        if key in _HELD:
            return self.final
        self.lock = self.final.with_name(f".{self.final.name}.lock")
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            fd = self._open()
        except OSError as e:
            raise InputError(f"cannot write here: {e.strerror or e}", source=str(self.final),
                             where=self.field) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD[key] = fd
        self.own = True
        return self.final

    def _open(self) -> int:
        while True:
            fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise InputError("another drilltwin command is writing this results folder now; wait for it "
                                 "or choose another path", source=str(self.final), where=self.field) from None
            # the holder before us may have removed the lock file between our open and our flock
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)

    def __exit__(self, *exc) -> None:
        if not self.own:
            return
        fd = _HELD.pop(str(self.final))
        try:
            os.unlink(self.lock)
        except FileNotFoundError:
            pass
        os.close(fd)


class atomic_dir:
    """Context manager: a temporary sibling folder, renamed to ``final`` on success, removed on error.

    ``final`` is checked first (:func:`check_out`: only an empty folder or a drilltwin results folder is
    replaced) and locked (:class:`out_lock`) unless this process already holds its lock. The folder gets
    the permissions of a plain ``mkdir`` (the umask), not the 0700 of a temporary folder."""

    def __init__(self, final: str | os.PathLike, *, check: bool = True):
        self.final = Path(os.path.abspath(final))
        self.check = check

    def __enter__(self) -> Path:
        if self.check:
            check_out(self.final, field=str(self.final))
        self.locked = out_lock(self.final)
        self.locked.__enter__()
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            while True:
                self.tmp = self.final.with_name(f".{self.final.name}.tmp-{secrets.token_hex(4)}")
                try:
                    os.mkdir(self.tmp)
                    break
                except FileExistsError:
                    continue
        except BaseException:
            self.locked.__exit__(None, None, None)
            raise
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                return
            try:
                if self.final.exists():
                    if self.check and not (is_results_folder(self.final) or not any(self.final.iterdir())):
                        raise InputError("appeared while the run was going and is not a drilltwin results "
                                         "folder; nothing was replaced", source=str(self.final))
                    old = self.final.with_name(f".{self.final.name}.old-{secrets.token_hex(4)}")
                    os.replace(self.final, old)
                    os.replace(self.tmp, self.final)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(self.tmp, self.final)
            except BaseException:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise
        finally:
            self.locked.__exit__(None, None, None)


def jsonable(o: Any):
    """``json.dumps`` default for numpy scalars and arrays, sets and tuples."""
    if isinstance(o, np.integer | np.floating):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, set | tuple):
        return list(o)
    raise TypeError(type(o).__name__)


def _scenario_yaml(res: RunResult) -> str:
    sc = res.scenario
    data = sc.model_dump(mode="json", exclude_none=True)
    data["seed"] = res.seed
    data["site"] = str(sc.site_path().resolve())
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True)


def _plain(o):
    """Distributions back to their YAML form."""
    from twin.distributions import Distribution

    if isinstance(o, Distribution):
        return o.params["value"] if o.kind == "fixed" else {"dist": o.kind, **o.params}
    if isinstance(o, dict):
        return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_plain(v) for v in o]
    return o


def write_results(res: RunResult, out: str | os.PathLike | None = None, *, root: str | os.PathLike = "results") -> Path:
    """Write the run's folder (``out``, or ``root/<run-id>``) atomically; return its path."""
    run_id = run_id_for(res)
    final = Path(out) if out is not None else Path(root) / run_id
    scen_text = _scenario_yaml(res)
    with atomic_dir(final) as tmp:
        (tmp / "scenario.yaml").write_text(scen_text, encoding="utf-8")
        (tmp / "kpis.json").write_text(json.dumps(res.kpis, indent=2, default=jsonable) + "\n")
        pq.write_table(events_table(res.events), tmp / "events.parquet")
        write_event_tables(tmp, res.extra.get("alerts", []), res.extra.get("transitions", []))
        tr = res.trajectories
        pq.write_table(pa.table({
            "agent": pa.array([r[0] for r in tr], pa.int64()),
            "t": pa.array([r[1] for r in tr], pa.float64()),
            "node": pa.array([r[2] for r in tr], pa.string()),
        }), tmp / "trajectories.parquet")
        ts = res.extra.get("timeseries")
        if ts is not None:
            sensors, zones = ts
            pq.write_table(pa.table({
                "t": pa.array([r[0] for r in sensors] + [r[0] for r in zones], pa.float64()),
                "kind": pa.array(["sensor"] * len(sensors) + ["zone"] * len(zones), pa.string()),
                "series": pa.array([r[1] for r in sensors] + [r[1] for r in zones], pa.string()),
                "value": pa.array([r[2] for r in sensors] + [r[2] for r in zones], pa.float64()),
                "unit": pa.array([r[3] for r in sensors] + ["ppm"] * len(zones), pa.string()),
            }), tmp / "timeseries.parquet")
        p = res.people
        cols = {k: pa.array(v.tolist() if v.dtype == object else v) for k, v in p.items() if k not in ("role", "state")}
        cols["role"] = pa.array([ROLES[r] for r in p["role"]], pa.string())
        cols["state"] = pa.array([STATES[s] for s in p["state"]], pa.string())
        pq.write_table(pa.table(cols), tmp / "people.parquet")
        manifest = {
            "run_id": final.name if out is not None else run_id,
            "scenario": res.scenario.name,
            "scenario_file": str(res.scenario.path) if res.scenario.path else None,
            "scenario_sha256": hashlib.sha256(scen_text.encode()).hexdigest(),
            "site": str(res.scenario.site_path()),
            "seed": res.seed,
            "wall_s": round(res.wall_s, 4),
            # values the results depend on that are not yet checked against a primary source
            "data_caveats": list(res.extra.get("caveats", [])),
            # what in the input will silently not happen (events after the end, nobody alerted, ...)
            "warnings": list(res.extra.get("warnings", [])),
        }
        write_manifest(tmp, manifest)
    return final


def write_manifest(folder: Path, fields: dict[str, Any], to_come: tuple[str, ...] = ()) -> None:
    """Write ``folder/manifest.json``: ``fields`` then the provenance every results folder carries (time
    of creation, git commit, package versions) and the list of files in the folder (with ``to_come``:
    files written after the manifest, from what it says)."""
    files = {x.name for x in folder.iterdir()} | {"manifest.json", *to_come}
    manifest = {"format": FORMAT, **fields, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "git_commit": git_commit(), "versions": versions(), "files": sorted(files)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def add_manifest_files(folder: str | os.PathLike) -> None:
    """Bring ``manifest.json["files"]`` up to date after files were added to a finished folder (the
    report and replay HTML, a floor plan)."""
    p = Path(folder) / "manifest.json"
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    m["files"] = sorted({x.name for x in Path(folder).iterdir() if not x.name.startswith(".")} | {"manifest.json"})
    tmp = p.with_name(f".manifest.json.tmp-{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(m, indent=2) + "\n")
    os.replace(tmp, p)
