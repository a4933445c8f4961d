"""What ``drilltwin alerts evaluate`` writes: Parquet tables, PNG plots and one self-contained HTML page.

Folder layout (``--out``, default ``results/alert-lab/<lab file stem>``)::

    summary.parquet    one row per policy variant and leak class (all, family=..., hole=...)
    episodes.parquet   one row per episode and variant (detected, first true alert, lead times)
    ensemble.parquet   the labelled episodes (family, hole class, source, rate, weather)
    alerts.parquet     every alert record (stream, variant, copy, time, zone, level, sensors)
    kpis.parquet       ISA-18.2 / EEMUA 191 alarm-rate KPIs per variant (leak-free operation)
    tradeoff.png, detection.png, lead.png
    report.html        no scripts, no network; every name escaped
    lab.json           the --json output
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["json_result", "write_outputs"]

HEAD_COLS = ("probability_of_detection", "lead_vs_setpoint_median_s", "lead_vs_odour_median_s",
             "false_alerts_per_day_per_operator", "precision", "recall", "f1", "accuracy_windowed",
             "accuracy_never_alert")


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def json_result(lab: Any, tables: dict[str, list[dict]]) -> dict[str, Any]:
    """The ``--json`` object: policies (summary rows with leak class ``all`` and per class), KPIs,
    the trade-off points, the notes and the run's size and timings."""
    by: dict[str, dict[str, Any]] = {}
    for r in tables["summary"]:
        row = {k: _clean(v) for k, v in r.items() if k not in ("variant", "leak_class")}
        d = by.setdefault(r["variant"], {"policy": r["policy"], "parameter": r["parameter"], "value": r["value"],
                                          "config": lab.variants[r["variant"]][3], "classes": {}})
        if r["leak_class"] == "all":
            d.update({k: v for k, v in row.items() if k not in ("policy", "parameter", "value")})
            fpd = row.get("false_alerts_per_day_per_operator")
            d["false_alerts_per_shift_per_operator"] = None if fpd is None else fpd / 2.0  # 12 h shifts
        else:
            d["classes"][r["leak_class"]] = {k: v for k, v in row.items() if k not in ("policy", "parameter", "value")}
    for k in tables["kpis"]:
        by[k["variant"]]["alarm_kpis"] = {a: _clean(b) for a, b in k.items() if a not in ("variant", "policy")}
    return {"lab": str(lab.spec.scenario), "seed": lab.seed, "episodes": len(lab.episodes),
            "leak_free_days": lab.free_sim.copies * lab.free_sim.duration / 86400.0,
            "operators": lab.operators, "reference": lab.spec.reference, "policies": by,
            "tradeoff": [{k: _clean(r[k]) for k in ("variant", "policy", "parameter", "value",
                                                    "false_alerts_per_week_per_operator",
                                                    "probability_of_detection", "lead_vs_setpoint_median_s")}
                         for r in tables["tradeoff"]],
            "notes": lab.notes, "timing_s": {k: round(v, 2) for k, v in lab.timing.items()}}


def _parquet(rows: list[dict], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if rows:
        cols = {k: [_clean(r.get(k)) for r in rows] for k in rows[0]}
        t = pa.table({k: pa.array([None if v is None else (str(v) if isinstance(v, list | tuple | dict) else v)
                                   for v in vs]) for k, vs in cols.items()})
    else:
        t = pa.table({})
    pq.write_table(t, path)


def _plots(tables: dict[str, list[dict]]) -> dict[str, Any]:
    from drills.outputs.report import _plt

    plt = _plt()
    figs = {}
    rows = [r for r in tables["summary"] if r["leak_class"] == "all"]
    # trade-off: detection probability and lead vs false alerts per operator-week, each policy a line
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["policy"], []).append(r)
    for pol, rs in groups.items():
        rs = sorted(rs, key=lambda r: r["false_alerts_per_week_per_operator"])
        x = [max(r["false_alerts_per_week_per_operator"], 1e-3) for r in rs]
        axes[0].plot(x, [r["probability_of_detection"] for r in rs], "o-", label=pol)
        axes[1].plot(x, [(r["lead_vs_setpoint_median_s"] or 0) / 60 for r in rs], "o-", label=pol)
    for ax, yl in zip(axes, ("probability of detection", "median lead vs set point (min)"), strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("false alerts per operator-week (0 shown at 1e-3)")
        ax.set_ylabel(yl)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    figs["tradeoff"] = fig
    # detection probability per family
    fam = [r for r in tables["summary"] if r["leak_class"].startswith("family=") and r["parameter"] is None]
    fams = sorted({r["leak_class"] for r in fam})
    pols = [v for v in dict.fromkeys(r["variant"] for r in fam)]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    w = 0.8 / max(len(pols), 1)
    for i, p in enumerate(pols):
        vals = [next((r["probability_of_detection"] for r in fam if r["variant"] == p and r["leak_class"] == f), 0)
                for f in fams]
        ax.bar([j + i * w for j in range(len(fams))], vals, width=w, label=p)
    ax.set_xticks([j + 0.4 - w / 2 for j in range(len(fams))], [f.removeprefix("family=") for f in fams])
    ax.set_ylabel("probability of detection")
    ax.legend(fontsize=7)
    fig.tight_layout()
    figs["detection"] = fig
    # lead-time distribution vs the set point
    fig, ax = plt.subplots(figsize=(8, 3.5))
    eps = tables["episodes"]
    data, labels = [], []
    for p in pols:
        xs = [e["lead_vs_setpoint_s"] / 60 for e in eps if e["variant"] == p and e["lead_vs_setpoint_s"] is not None]
        if xs:
            data.append(xs)
            labels.append(p)
    if data:
        ax.boxplot(data, tick_labels=labels)
    ax.set_ylabel("lead vs set point (min)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    figs["lead"] = fig
    return figs


def _table_html(rows: list[dict], cols: list[str]) -> str:
    from drills.outputs.report import _esc

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return "-"
        if isinstance(v, float):
            return f"{v:.3g}"
        return _esc(v)

    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_outputs(lab: Any, tables: dict[str, list[dict]], out: Path) -> dict[str, str]:
    """Write the folder described in the module docstring; return ``{name: path}``."""
    from drills.outputs.report import _esc, _png

    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("summary", "episodes", "ensemble", "alerts", "kpis"):
        p = out / f"{name}.parquet"
        _parquet(tables[name], p)
        paths[name] = str(p)
    figs = _plots(tables)
    imgs = {}
    for name, fig in figs.items():
        p = out / f"{name}.png"
        fig.savefig(p, dpi=90)
        paths[name + "_png"] = str(p)
        imgs[name] = _png(fig)
    res = json_result(lab, tables)
    (out / "lab.json").write_text(json.dumps(res, indent=2, allow_nan=False), encoding="utf-8")
    paths["json"] = str(out / "lab.json")
    all_rows = [r for r in tables["summary"] if r["leak_class"] == "all"]
    cls_rows = [r for r in tables["summary"] if r["leak_class"] != "all" and r["parameter"] is None]
    sp = lab.spec
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Alert lab: {_esc(sp.scenario.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}th{{background:#eee}}</style></head><body>
<h1>Alert lab: {_esc(sp.scenario.name)}</h1>
<p>{len(lab.episodes)} leak episodes ({_esc(", ".join(f"{k} {v:g}" for k, v in sp.families.items()))}),
{res['leak_free_days']:.1f} days of leak-free operation, {lab.operators} operator(s), seed {lab.seed}.
Gas {_esc(lab.site.gas.key)}. Detection window {sp.detection_window / 60:g} min after the labelled start; accuracy
slots {sp.slot / 60:g} min; base rate {sp.leaks_per_year:g} leak(s) per plant-year. Reference: {_esc(sp.reference)}.</p>
<h2>Policies (all leaks)</h2>{_table_html(all_rows, ["variant", *HEAD_COLS, "false_alerts", "detected"])}
<p>Precision, F1 and accuracy are at the plant's base rate. <b>accuracy_never_alert</b> is what a system that
never alerts scores: accuracy without its windows and base rate is meaningless.</p>
<h2>Trade-off</h2>{imgs['tradeoff']}
<h2>Per leak class</h2>{_table_html(cls_rows, ["variant", "leak_class", "episodes", "probability_of_detection",
                                             "lead_vs_setpoint_median_s", "lead_vs_odour_median_s",
                                             "time_to_detect_median_s"])}
{imgs['detection']}{imgs['lead']}
<h2>Alarm-rate KPIs (ISA-18.2 / EEMUA 191, leak-free operation, per operator)</h2>
{_table_html(tables['kpis'], list(tables['kpis'][0].keys()) if tables['kpis'] else [])}
<h2>Notes</h2><ul>{''.join(f'<li>{_esc(n)}</li>' for n in lab.notes)}</ul>
<p>Definitions: docs/alert-lab.md.</p></body></html>"""
    (out / "report.html").write_text(page, encoding="utf-8")
    paths["html"] = str(out / "report.html")
    return paths
