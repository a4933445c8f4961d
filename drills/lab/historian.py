"""Historian logs for ``drilltwin alerts replay``: reading, checking, and putting on a time grid.

A log is CSV or Parquet with columns ``timestamp`` (ISO 8601, e.g. ``2026-03-01T08:00:00Z`` or
``2026-03-01 08:00:00+01:00``), ``tag``, ``value`` and optionally ``unit`` (``ppm`` or ``%LEL``), one
reading per row, as SCADA/DCS historians export ("long" format). A tag map (YAML, one ``TAG: DETECTOR``
per line) names the scenario detector (name or id) of each tag; without a map every tag must be a
detector name.

Checks (nothing is dropped silently):

errors (exit 1, naming the file, the row and the column)
    a missing column; a timestamp that is not ISO 8601, or mixes time-zone-aware and naive times; a value
    that is not a number (text, empty); a tag that is neither mapped nor a detector; two units for one tag,
    or a unit that is not the detector's; time going backwards within a tag (a log sorted by tag is
    fine); the same timestamp twice for a tag with two different values.
warnings (printed and returned by name)
    ``duplicate_timestamp``: the same timestamp twice with the same value (the repeat is not used);
    ``gap``: no reading for more than ``gap_factor`` (3) times the tag's median sampling interval: the
    detector counts as out of service over the gap (it does not vote and its statistics hold);
    ``unmapped_detector``: a detector of the scenario with no tag (out of service for the whole replay).

Grid: the replay steps every ``step`` s (default: the smallest median sampling interval of the tags)
from the first timestamp; each detector shows its latest reading at or before each grid time (sample
and hold) and takes a fresh sample when a new reading arrived.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import InputError

__all__ = ["GAP_FACTOR", "HistorianLog", "format_time", "load_tag_map", "read_log", "to_grid"]

GAP_FACTOR = 3.0


@dataclass
class HistorianLog:
    """A checked log: per tag, sorted times (s since ``t0``) and values, its unit, and the warnings."""

    path: Path
    t0: datetime
    zulu: bool
    tags: dict[str, tuple[np.ndarray, np.ndarray]]
    units: dict[str, str | None]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0


def _parse_time(s: Any, path: Path, row: int) -> datetime:
    if isinstance(s, datetime):
        return s
    text = str(s).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise InputError(f"{path}: row {row}, column timestamp: {text!r} is not an ISO 8601 time "
                         "(e.g. 2026-03-01T08:00:00Z)", where=f"{path}:{row}:timestamp") from None


def _read_rows(path: Path) -> tuple[list[str], list[list[Any]]]:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            t = pq.read_table(path)
        except Exception as e:  # pyarrow raises several types for a bad file
            raise InputError(f"{path}: not a readable Parquet file ({e})", where=str(path)) from None
        cols = list(t.column_names)
        data = [t.column(c).to_pylist() for c in cols]
        return cols, [list(r) for r in zip(*data, strict=True)]
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rd = csv.reader(f)
            header = next(rd, None)
            if header is None:
                raise InputError(f"{path}: empty file", where=str(path))
            return [h.strip() for h in header], [r for r in rd]
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text CSV file", where=str(path)) from None


def load_tag_map(path: Path) -> dict[str, str]:
    """``TAG: DETECTOR`` lines of a YAML file; errors name the line."""
    from drills.lab.labfile import read_yaml

    data = read_yaml(path, "tag map")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected one 'TAG: DETECTOR_ID' per line", where=str(path))
    out = {}
    for k, v in data.items():
        if not isinstance(v, str | int) or isinstance(v, bool):
            raise InputError(f"{path}: tag {k!r}: expected a detector id, got {v!r}", where=f"{path}:{k}")
        out[str(k)] = str(v)
    return out


def read_log(path: str | Path, detectors: dict[str, str], tag_map: dict[str, str] | None = None) -> HistorianLog:
    """Read and check a historian log (see the module docstring). ``detectors``: detector name (and id)
    -> its unit. Returns a :class:`HistorianLog` keyed by detector name (mapped tags)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such log: {p}", where=str(p))
    cols, rows = _read_rows(p)
    low = [c.lower() for c in cols]
    for need in ("timestamp", "tag", "value"):
        if need not in low:
            raise InputError(f"{p}: missing column {need!r} (columns: {', '.join(cols) or 'none'}); expected "
                             "timestamp, tag, value[, unit]", where=f"{p}:{need}")
    it, ig, iv = low.index("timestamp"), low.index("tag"), low.index("value")
    iu = low.index("unit") if "unit" in low else None
    tmap = tag_map or {}
    per: dict[str, list[tuple[datetime, float, int]]] = {}
    units: dict[str, str | None] = {}
    unknown: dict[str, int] = {}
    aware: bool | None = None
    zulu = False
    for n, r in enumerate(rows):
        row = n + 2  # 1-based, after the header (Parquet: the same numbering)
        if len(r) < len(cols):
            raise InputError(f"{p}: row {row}: expected {len(cols)} columns, got {len(r)}", where=f"{p}:{row}")
        tag = str(r[ig]).strip() if r[ig] is not None else ""
        if not tag:
            raise InputError(f"{p}: row {row}, column tag: empty tag", where=f"{p}:{row}:tag")
        ts = _parse_time(r[it], p, row)
        a = ts.tzinfo is not None
        if aware is None:
            aware = a
            zulu = str(r[it]).strip().endswith("Z")
        elif a != aware:
            raise InputError(f"{p}: row {row}, column timestamp: mixes times with and without a time zone",
                             where=f"{p}:{row}:timestamp")
        raw = r[iv]
        try:
            if raw is None or isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip()):
                raise ValueError
            val = float(raw)
            if not math.isfinite(val):
                raise ValueError
        except (TypeError, ValueError):
            raise InputError(f"{p}: row {row}, column value: {raw!r} is not a number", where=f"{p}:{row}:value") from None
        det = tmap.get(tag, tag)
        if det not in detectors:
            unknown.setdefault(tag, row)
            continue
        if iu is not None:
            u = str(r[iu]).strip() if r[iu] is not None else ""
            u = {"%lel": "%LEL", "lel%": "%LEL"}.get(u.lower(), u) if u else ""
            if u:
                prev = units.get(det)
                if prev is not None and prev != u:
                    raise InputError(f"{p}: row {row}, column unit: tag {tag!r} switches from {prev} to {u} "
                                     "(mixed units)", where=f"{p}:{row}:unit")
                if u != detectors[det]:
                    raise InputError(f"{p}: row {row}, column unit: tag {tag!r} is in {u} but detector {det!r} "
                                     f"reads in {detectors[det]}", where=f"{p}:{row}:unit")
                units[det] = u
        per.setdefault(det, []).append((ts, val, row))
    if unknown:
        lst = ", ".join(f"{t!r} (first at row {r})" for t, r in sorted(unknown.items(), key=lambda x: x[1])[:10])
        raise InputError(f"{p}: unknown tag(s) {lst}: map them to detectors with --map TAGS.yaml "
                         f"(detectors: {', '.join(sorted(detectors)[:20])})", where=f"{p}:tag")
    if not per:
        raise InputError(f"{p}: no readings", where=str(p))
    t0 = min(v[0][0] for v in per.values())
    warnings: list[dict[str, Any]] = []
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for det, obs in per.items():
        times, vals = [], []
        for i, (ts, val, row) in enumerate(obs):
            t = (ts - t0).total_seconds()
            if times and t < times[-1]:
                raise InputError(f"{p}: row {row}, column timestamp: time goes backwards for tag of detector "
                                 f"{det!r} ({ts.isoformat()} after {obs[i - 1][0].isoformat()}, row {obs[i - 1][2]})",
                                 where=f"{p}:{row}:timestamp")
            if times and t == times[-1]:
                if val != vals[-1]:
                    raise InputError(f"{p}: row {row}: duplicate timestamp {ts.isoformat()} for detector {det!r} "
                                     f"with a different value ({val:g} vs {vals[-1]:g} at row {obs[i - 1][2]})",
                                     where=f"{p}:{row}:timestamp")
                warnings.append({"warning": "duplicate_timestamp", "detector": det, "row": row,
                                 "time": ts.isoformat(), "detail": "same value repeated; the repeat is not used"})
                continue
            times.append(t)
            vals.append(val)
        out[det] = (np.asarray(times), np.asarray(vals))
    log = HistorianLog(p, t0, zulu, out, units, warnings, len(rows))
    return log


def _median_dt(t: np.ndarray) -> float:
    d = np.diff(t)
    d = d[d > 0]
    return float(np.median(d)) if d.size else math.inf


def to_grid(log: HistorianLog, names: list[str], step: float | None = None) -> dict[str, Any]:
    """Sample-and-hold values on a regular grid for the detectors ``names`` (in that order).

    Returns ``times`` (s since t0, shape (T,)), ``values`` (T, n), ``fresh`` (T, n), ``out`` (T, n: no
    reading yet, in a gap, or no tag) and ``step``; adds ``gap`` and ``unmapped_detector`` warnings."""
    meds = {d: _median_dt(t) for d, (t, _) in log.tags.items()}
    if step is None:
        finite = [m for m in meds.values() if math.isfinite(m)]
        step = min(finite) if finite else 1.0
    end = max(float(t[-1]) for t, _ in log.tags.values())
    T = int(math.floor(end / step + 1e-9)) + 1
    grid = np.arange(T) * step
    n = len(names)
    vals = np.zeros((T, n))
    fresh = np.zeros((T, n), dtype=bool)
    out = np.ones((T, n), dtype=bool)
    for j, d in enumerate(names):
        if d not in log.tags:
            log.warnings.append({"warning": "unmapped_detector", "detector": d,
                                 "detail": "no tag in the log: out of service for the whole replay"})
            continue
        t, v = log.tags[d]
        idx = np.searchsorted(t, grid + 1e-9, side="right") - 1  # latest reading at or before each grid time
        has = idx >= 0
        vals[has, j] = v[idx[has]]
        out[has, j] = False
        newer = np.r_[has[:1], (idx[1:] != idx[:-1]) & has[1:]]
        fresh[:, j] = newer
        med = meds[d]
        if math.isfinite(med):
            gaps = np.flatnonzero(np.diff(t) > GAP_FACTOR * med)
            for g in gaps:
                a, b = t[g], t[g + 1]
                log.warnings.append({"warning": "gap", "detector": d, "from_s": float(a), "to_s": float(b),
                                     "detail": f"no reading for {b - a:g} s (median interval {med:g} s): out of "
                                               "service over the gap"})
                out[(grid > a + GAP_FACTOR * med) & (grid < b), j] = True
    return {"times": grid, "values": vals, "fresh": fresh, "out": out, "step": step}


def format_time(log: HistorianLog, t: float) -> str:
    """Seconds since the log's first timestamp as ISO 8601 in the log's own style (``Z`` if it used it)."""
    from datetime import timedelta

    ts = log.t0 + timedelta(seconds=float(t))
    s = ts.isoformat()
    if log.zulu and ts.tzinfo is not None and ts.utcoffset() == UTC.utcoffset(None):
        s = s.replace("+00:00", "Z")
    return s
