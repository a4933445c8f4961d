"""``drilltwin alerts replay``: a scenario's alert policy over a recorded historian log.

Baselines are learned from the log: each detector's mean and standard deviation over the first
``baseline`` s (default: the first tenth of the log, at most 1 h) of its in-service readings replace the
ones the policy would take from the detector noise model (the policy's thresholds on its standardized
statistic stay as calibrated). Assumes the baseline period is leak-free; the run says so.

Optional labelled events (CSV ``start[,end][,label]``, ISO 8601) give metrics with the lab's definitions
(:mod:`drills.lab.metrics`): an alert within ``window`` after an event's start detects it, an alert
outside every window is false.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import InputError

__all__ = ["read_events", "replay_log", "write_injects"]


def read_events(path: Path, log: Any) -> list[tuple[float, float | None, str]]:
    """Labelled events as (start s, end s or None, label), times relative to the log's first timestamp."""
    from drills.lab.historian import _parse_time

    if not path.is_file():
        raise InputError(f"no such events file: {path}", where=str(path))
    with path.open(newline="", encoding="utf-8-sig") as f:
        rd = csv.DictReader(f)
        if rd.fieldnames is None or "start" not in [c.strip().lower() for c in rd.fieldnames]:
            raise InputError(f"{path}: expected a column 'start' (and optionally end, label)", where=f"{path}:start")
        out = []
        for i, r in enumerate(rd):
            r = {k.strip().lower(): (v or "").strip() for k, v in r.items() if k}
            row = i + 2
            s = _parse_time(r["start"], path, row)
            e = _parse_time(r["end"], path, row) if r.get("end") else None
            if (s.tzinfo is None) != (log.t0.tzinfo is None):
                raise InputError(f"{path}: row {row}, column start: time zone differs from the log's",
                                 where=f"{path}:{row}:start")
            out.append(((s - log.t0).total_seconds(), None if e is None else (e - log.t0).total_seconds(),
                        r.get("label", "") or f"event {i + 1}"))
    return out


def replay_log(scenario: Path, log_path: Path, tag_map: Path | None = None, *, step: float | None = None,
               baseline: float | None = None, events: Path | None = None, window: float = 1800.0) -> dict[str, Any]:
    """Replay ``log_path`` through the alert policy of ``scenario``; see the module docstring."""
    from drills.alerts.policies import parse_alerts
    from drills.lab.historian import format_time, load_tag_map, read_log, to_grid
    from drills.lab.metrics import episode_outcomes
    from drills.lab.policies import replay
    from drills.lab.site import load_lab_site

    site = load_lab_site(scenario)
    cfg = site.scenario.alerts
    cfg = parse_alerts(cfg) if not (isinstance(cfg, dict) and cfg.get("policy") == "model") else cfg
    units = {}
    for name, spec in zip(site.names, site.specs, strict=True):
        units[name] = spec.unit
    tmap = load_tag_map(tag_map) if tag_map is not None else None
    if tmap:
        # a map may name detectors by id too
        ids = {spec.id: name for name, spec in zip(site.names, site.specs, strict=True) if spec.id}
        bad = [(t, d) for t, d in tmap.items() if d not in units and d not in ids]
        if bad:
            raise InputError(f"{tag_map}: tag {bad[0][0]!r} maps to {bad[0][1]!r}, which is no detector of the "
                             f"scenario ({', '.join(site.names)})", where=f"{tag_map}:{bad[0][0]}")
        tmap = {t: ids.get(d, d) for t, d in tmap.items()}
    log = read_log(log_path, units, tmap)
    g = to_grid(log, site.names, step)
    T = len(g["times"])
    if baseline is None:
        baseline = min(3600.0, 0.1 * g["times"][-1]) if T > 1 else 0.0
    nb = max(int(baseline // g["step"]), 2)
    vals, ok = g["values"][:nb], ~g["out"][:nb]
    mu = np.array([vals[ok[:, j], j].mean() if ok[:, j].sum() >= 2 else np.nan for j in range(len(site.names))])
    sd = np.array([vals[ok[:, j], j].std() if ok[:, j].sum() >= 2 else np.nan for j in range(len(site.names))])
    res = [s.resolution or 0.0 for s in site.specs]
    # a quantized, quiet reading has sd 0: floor it at a tenth of the display step (as the policies do)
    sd = np.where(np.isnan(sd), np.nan, np.maximum(sd, np.maximum(0.1 * np.asarray(res), 1e-9)))
    have = ~np.isnan(mu)
    alerts = replay(cfg, site.specs, site.zones, site.positions, values=g["values"], fresh=g["fresh"],
                    out_of_service=g["out"], step=g["step"], mu0=mu, sigma0=sd)
    notes = [f"baseline learned from the first {nb * g['step']:g} s of the log (assumed leak-free)"]
    if not have.all():
        notes.append("baselines from the detector noise model for detectors with no readings in the baseline "
                     "period: " + ", ".join(n for n, h in zip(site.names, have, strict=True) if not h))
    out: dict[str, Any] = {
        "log": str(log_path), "scenario": str(scenario), "rows": log.rows, "step_s": g["step"],
        "alerts": [{"time": format_time(log, a.t), "detector": ",".join(a.sensors) if a.sensors else None,
                    "level": a.level, "policy": a.policy, "zone": str(a.zone), "t_s": a.t} for a in alerts],
        "warnings": log.warnings, "notes": notes,
        "baseline": {n: {"mean": _f(m), "sd": _f(s)} for n, m, s in zip(site.names, mu, sd, strict=True)},
    }
    if events is not None:
        evs = read_events(events, log)
        start = np.array([e[0] for e in evs])
        # one copy per event: every alert belongs to the events whose window holds it
        t = np.array([a.t for a in alerts])
        det, lead = [], []
        false = 0
        in_any = np.zeros(len(t), dtype=bool)
        for _i, s in enumerate(start):
            o = episode_outcomes(np.zeros(len(t), dtype=np.int64), t, 1, np.array([s]), window)
            det.append(bool(o["detected"][0]))
            lead.append(None if math.isnan(o["t_first"][0]) else float(o["t_first"][0] - s))
            in_any |= (t >= s) & (t <= s + window)
        false = int((~in_any).sum())
        days = (g["times"][-1] + g["step"]) / 86400.0
        out["metrics"] = {"events": len(evs), "detected": int(sum(det)), "missed": len(evs) - int(sum(det)),
                          "true_alerts": int(in_any.sum()), "false_alerts": false,
                          "false_alerts_per_day": false / days if days > 0 else None,
                          "time_to_detect_s": lead, "window_s": window,
                          "per_event": [{"label": e[2], "detected": d, "time_to_detect_s": x}
                                        for e, d, x in zip(evs, det, lead, strict=True)]}
    return out


def _f(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def write_injects(result: dict[str, Any], path: Path) -> Path:
    """The replayed alerts as a scenario ``injects:`` list, time from the log's start: each alert an
    ``alert`` inject (zone: the detector's space, level, policy, detector) that the drill delivers as its
    own alert layer would, so its workflows and operators react to the same alert history. An alert of a
    detector in the open names no space: it becomes a ``message`` inject (said in the file's header)."""
    import yaml

    from drills.lab.site import OUTDOORS

    inj: list[dict[str, Any]] = []
    outdoor = 0
    for i, a in enumerate(result["alerts"]):
        src = f"replayed {a['level']} from {a['policy']} at {a['detector']} ({a['time']})"
        row: dict[str, Any] = {"id": f"R{i + 1}", "time": f"{a['t_s']:g}s"}
        if a["zone"] == OUTDOORS:
            outdoor += 1
            row.update(kind="message", message=src)
        else:
            row.update(kind="alert", zone=a["zone"], level=a["level"], policy=a["policy"], message=src)
            if a["detector"]:
                row["detector"] = a["detector"]
        inj.append(row)
    head = "# alerts replayed from a historian log (drilltwin alerts replay --injects)\n"
    if outdoor:
        head += (f"# {outdoor} alert(s) of detectors in the open name no space: written as message injects, "
                 "which no workflow trigger sees\n")
    path.write_text(head + yaml.safe_dump({"injects": inj}, sort_keys=False), encoding="utf-8")
    return path
