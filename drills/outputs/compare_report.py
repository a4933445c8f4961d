"""The report of a comparison (``report.html`` in a ``drilltwin compare`` output folder).

:func:`write_compare_report` reads the folder :func:`drills.studies.experiment.run_compare` leaves
(``compare.json``, ``runs.parquet``, ``experiment.json``) and writes one self-contained page (no scripts,
no network, charts as base64 PNGs, every name from the experiment, its scenarios or the site escaped).
Sections, in order:

1. Experiment overview: base scenario, arms and what each overrides, replications, seeds, failed runs.
2. Results per arm: mean, median, 95th percentile and 95 % interval of every KPI, with the share of runs
   in which it happened (a KPI that did not happen is censored, never silently dropped).
3. Paired differences against the base arm: mean with its bootstrap interval, Wilcoxon p-value, and a
   forest plot; pairs where only one arm reached the KPI are counted.
4. Distributions per arm (box and dots per KPI) and the ECDF of the evacuation time.
5. Capability targets: the share of runs in each arm that met each target of the base scenario (or the
   arm's own ``targets:``; the defaults of :data:`drills.outputs.report.DEFAULT_TARGETS` otherwise).
6. False-alert cost: false alerts per run and per 24 h of operation against the time each arm gains
   on the base arm; for leak-free arms, the share of runs in which a needless alarm sounded.
7. Convergence (NIST TN 1822): running mean of the main KPIs as replications accumulate, and whether
   mean and standard deviation have settled.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from drills.outputs.report import (
    DEFAULT_TARGETS,
    TARGET_LABELS,
    _esc,
    _fmt_t,
    _grid,
    _kv,
    _parse_target,
    _plt,
    _png,
    html_page,
)

__all__ = ["write_compare_report", "compare_sections"]

MAIN_KPIS = ("t_alert", "t_alarm", "t_evacuated", "t_mustered", "t_headcount", "t_isolate")
DAY = 86400.0


def _is_time(kpi: str) -> bool:
    k = kpi.rpartition(".")[2]  # SITE.KPI in a joint exercise
    return k.startswith("t_") or k.endswith("_s")


def _fmt(kpi: str, v: float | None, signed: bool = False) -> str:
    """A KPI value for a table: times as m:ss, counts with up to two decimals."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if _is_time(kpi):
        # differences of a few seconds matter (a faster channel, a shorter time-out): show them as such
        s = f"{v:.1f} s" if signed and abs(v) < 60 else _fmt_t(v)
        return ("+" + s) if signed and v > 0 else s
    s = f"{v:,.2f}".rstrip("0").rstrip(".")
    return ("+" + s) if signed and v > 0 else s


def _ci(kpi: str, ci: list[float] | None, signed: bool = False) -> str:
    if not ci:
        return "-"
    return f"[{_fmt(kpi, ci[0], signed)}, {_fmt(kpi, ci[1], signed)}]"


class CompareData:
    """A comparison folder loaded once."""

    def __init__(self, folder: Path):
        import pyarrow.parquet as pq

        self.path = folder
        self.payload: dict[str, Any] = json.loads((folder / "compare.json").read_text(encoding="utf-8"))
        meta = folder / "experiment.json"
        self.meta: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {}
        self.rows: list[dict[str, Any]] = pq.read_table(folder / "runs.parquet").to_pylist()
        self.arms: list[str] = list(self.payload["arms"])
        self.base: str = self.payload["base_arm"]
        self.kpis: list[str] = list(self.payload["kpis"])
        self.notes: list[str] = []
        self.ok = [r for r in self.rows if not r.get("error")]
        self.scenarios = self._arm_scenarios()

    def _arm_scenarios(self) -> dict[str, dict[str, Any]]:
        """Each arm's scenario as plain data (base YAML with the arm's top-level overrides)."""
        base = self.meta.get("base") or self.payload.get("base")
        data: dict[str, Any] = {}
        if base and Path(base).is_file():
            try:
                data = yaml.safe_load(Path(base).read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as e:
                self.notes.append(f"base scenario unreadable: {e}")
        else:
            self.notes.append("base scenario not found; durations and targets use the defaults")
        overrides = self.meta.get("arms") or self.payload.get("overrides") or {}
        return {a: {**data, **(overrides.get(a) or {})} for a in self.arms}

    def values(self, kpi: str, arm: str) -> np.ndarray:
        """The KPI in the runs of ``arm`` where it happened, in replication order."""
        rs = sorted((r for r in self.ok if r["arm"] == arm), key=lambda r: r["rep"])
        return np.array([r[kpi] for r in rs if r.get(kpi) is not None], dtype=float)

    def n_runs(self, arm: str) -> int:
        return sum(1 for r in self.ok if r["arm"] == arm)


def _overview(d: CompareData) -> str:
    p = d.payload
    rows = [("experiment", p.get("experiment")), ("description", p.get("description") or "-"),
            ("base scenario", d.meta.get("base") or p.get("base") or "-"), ("base arm", d.base),
            ("replications per arm", p.get("replications")),
            ("seeds", f"{p.get('seed')} + replication"
             + (" in every arm (common random numbers)" if p.get("common_random_numbers", True)
                else ", independent per arm")),
            ("runs", ", ".join(f"{a}: {n}" for a, n in (p.get("runs") or {}).items())),
            ("failed runs", p.get("n_failed", 0))]
    html = _kv(rows)
    overrides = d.meta.get("arms") or p.get("overrides") or {}
    arm_rows = []
    for a in d.arms:
        ov = overrides.get(a) or {}
        text = yaml.safe_dump(ov, sort_keys=False, default_flow_style=None, width=100).strip() if ov else "(base)"
        arm_rows.append(f"<tr><th>{_esc(a)}</th><td><pre>{_esc(text)}</pre></td></tr>")
    html += "<h3>Arms</h3><table class='grid'><thead><tr><th>arm</th><th>overrides of the base scenario</th>" \
            "</tr></thead><tbody>" + "".join(arm_rows) + "</tbody></table>"
    if p.get("failed"):
        html += "<h3>Failed runs</h3>" + _grid(["arm", "replication", "seed", "error"],
                                                [[f["arm"], f["rep"], f["seed"], f["error"]] for f in p["failed"]])
    for n in d.notes:
        html += f"<p class='note'>{_esc(n)}</p>"
    return html


def _results(d: CompareData) -> str:
    rows = []
    for k in d.kpis:
        for a in d.arms:
            s = d.payload["kpis"][k][a]
            share = s.get("share_happened")
            rows.append([TARGET_LABELS.get(k, k) + f" ({k})", a, s.get("n_runs"),
                         "-" if share is None else f"{share:.0%}", _fmt(k, s.get("mean")), _fmt(k, s.get("median")),
                         _fmt(k, s.get("p95")), _ci(k, s.get("ci95"))])
    return ("<p class='note'>Times in m:ss from the event. Statistics use the runs in which the KPI happened "
            "(share in 'happened'); the interval is the bootstrap 95 % interval of the mean.</p>"
            + _grid(["KPI", "arm", "runs", "happened", "mean", "median", "p95", "95 % interval"], rows))


def _diffs(d: CompareData) -> str:
    others = [a for a in d.arms if a != d.base]
    if not others:
        return "<p>Only one arm: nothing to compare.</p>"
    rows = []
    for k in d.kpis:
        for a in others:
            x = d.payload["diffs"][k].get(f"{a}-{d.base}", {})
            p = x.get("p_value")
            rows.append([k, f"{a} - {d.base}", x.get("n_pairs"), x.get("only_arm"), x.get("only_base"),
                         _fmt(k, x.get("mean"), True), _ci(k, x.get("ci95"), True),
                         "-" if p is None else f"{p:.3g}", _verdict(x)])
    html = ("<p class='note'>Paired by replication (same seed in both arms). Negative is earlier or fewer "
            "than the base arm. 'only arm' / 'only base': runs where the KPI happened in one arm only "
            "(censored, not in the mean).</p>"
            + _grid(["KPI", "difference", "pairs", "only arm", "only base", "mean", "95 % interval", "p",
                     "reading"], rows))
    return html + _forest(d, others)


def _verdict(x: dict[str, Any]) -> str:
    ci = x.get("ci95")
    if not ci or x.get("mean") is None:
        return "no pairs"
    if (x.get("n_pairs") or 0) < 6:
        return "too few pairs"  # below 6 pairs no two-sided signed-rank test can reach p < 0.05
    if ci[1] < 0:
        return "lower"
    if ci[0] > 0:
        return "higher"
    return "no clear difference"


def _forest(d: CompareData, others: list[str]) -> str:
    ks = [k for k in d.kpis if any(d.payload["diffs"][k].get(f"{a}-{d.base}", {}).get("mean") is not None
                                   for a in others)]
    if not ks:
        return ""
    plt = _plt()
    ncol = 2 if len(ks) > 1 else 1
    nrow = math.ceil(len(ks) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 0.9 + (0.3 * len(others) + 0.6) * nrow),
                             squeeze=False)
    for ax, k in zip(axes.flat, ks, strict=False):
        scale = 60.0 if _is_time(k) else 1.0
        for j, a in enumerate(others):
            x = d.payload["diffs"][k].get(f"{a}-{d.base}", {})
            if x.get("mean") is None:
                continue
            m = x["mean"] / scale
            lo, hi = (c / scale for c in x["ci95"])
            ax.errorbar(m, j, xerr=[[m - lo], [hi - m]], fmt="o", capsize=3, color="#345")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(range(len(others)), others, fontsize=6)
        ax.set_ylim(-0.6, len(others) - 0.4)
        ax.set_title(f"{k}: arm - {d.base} ({'min' if scale == 60 else 'count'})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(ks):]:
        ax.set_visible(False)
    fig.tight_layout()
    return "<p class='note'>Mean paired difference with its 95 % interval.</p>" + _png(fig)


def _distributions(d: CompareData) -> str:
    ks = [k for k in d.kpis if any(d.values(k, a).size for a in d.arms)]
    html = ""
    if ks:
        plt = _plt()
        ncol = 2 if len(ks) > 1 else 1
        nrow = math.ceil(len(ks) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 2.9 * nrow), squeeze=False)
        jitter = np.random.default_rng(0)  # spreads the dots sideways only
        for ax, k in zip(axes.flat, ks, strict=False):
            scale = 60.0 if _is_time(k) else 1.0
            data = [d.values(k, a) / scale for a in d.arms]
            ax.boxplot([x if x.size else [np.nan] for x in data], showfliers=False)
            for j, x in enumerate(data, start=1):
                ax.plot(j + jitter.uniform(-0.15, 0.15, x.size), x, "o", ms=2.5, alpha=0.5)
            ax.set_xticks(range(1, len(d.arms) + 1),
                          [f"{a}\n{d.values(k, a).size}/{d.n_runs(a)}" for a in d.arms], fontsize=6)
            ax.set_title(f"{k} ({'min' if scale == 60 else 'count'})", fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
        for ax in list(axes.flat)[len(ks):]:
            ax.set_visible(False)
        fig.tight_layout()
        html += "<p class='note'>Per arm: runs in which the KPI happened / runs.</p>" + _png(fig)
    if any(r.get("t_evacuated") is not None for r in d.ok):
        plt = _plt()
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for a in d.arms:
            x = np.sort(d.values("t_evacuated", a)) / 60.0
            n = d.n_runs(a)
            if x.size and n:
                ax.step(np.r_[0.0, x], np.r_[0.0, np.arange(1, x.size + 1) / n], where="post", label=a)
        ax.set_xlabel("t_evacuated (min)")
        ax.set_ylabel("share of runs evacuated")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
        ax.set_title("ECDF of the evacuation time (runs that never finished stay below 1)", fontsize=9)
        fig.tight_layout()
        html += "<h3>Evacuation time</h3>" + _png(fig)
    return html or "<p>No KPI happened in any run.</p>"


def arm_targets(d: CompareData, arm: str) -> dict[str, tuple[float, str]]:
    """The capability targets that apply to ``arm``: defaults, replaced key by key by the scenario's."""
    targets = {k: (v, "default") for k, v in DEFAULT_TARGETS.items()}
    own = d.scenarios.get(arm, {}).get("targets") or {}
    if isinstance(own, dict):
        for k, v in own.items():
            try:
                targets[str(k)] = (_parse_target(str(k), v), "scenario")
            except Exception as err:  # noqa: BLE001 - a bad target is a note, not a failed report
                d.notes.append(f"arm {arm}: target {k!r} = {v!r} ignored: {err}")
    return targets


def _targets(d: CompareData) -> str:
    keys: list[str] = []
    per_arm = {a: arm_targets(d, a) for a in d.arms}
    for a in d.arms:
        keys.extend(k for k in per_arm[a] if k not in keys)
    rows = []
    for k in keys:
        row = [TARGET_LABELS.get(k, k)]
        shown = False
        for a in d.arms:
            tgt = per_arm[a].get(k)
            runs = [r for r in d.ok if r["arm"] == a]
            if tgt is None or not runs or not any(k in r for r in runs):
                row.append("-")
                continue
            happened = [r[k] for r in runs if r.get(k) is not None]
            if not happened and tgt[1] == "default":
                row.append("not exercised")
                continue
            met = sum(1 for v in happened if v <= tgt[0] + 1e-9)
            row.append(f"{met}/{len(runs)} ({met / len(runs):.0%}) within {_fmt(k, tgt[0])}")
            shown = True
        if shown:
            rows.append(row)
    if not rows:
        return "<p>No targets were exercised.</p>"
    return ("<p class='note'>Share of runs that met each target (a run in which the KPI never happened misses "
            "it). Targets from each arm's scenario, else the defaults.</p>" + _grid(["target", *d.arms], rows))


def _false_alert_cost(d: CompareData) -> str:
    if not any(r.get("false_alerts") is not None for r in d.ok):
        return ("<p>The runs carry no false-alert count (no alert policy). Add <code>false_alerts</code> to "
                "the experiment's KPIs.</p>")
    from twin.units import parse_duration

    rows = []
    gain_k = [k for k in ("t_alert", "t_alarm") if k in d.payload["diffs"]]
    for a in d.arms:
        runs = [r for r in d.ok if r["arm"] == a]
        if not runs:
            continue
        fa = np.array([r["false_alerts"] or 0.0 for r in runs], dtype=float)
        sc = d.scenarios.get(a, {})
        try:
            dur = float(parse_duration(sc.get("duration", "1h"), "duration"))
        except Exception:  # noqa: BLE001 - shown as '-' below
            dur = float("nan")
        leak_free = not sc.get("hazards") and not any(
            isinstance(i, dict) and i.get("kind") == "leak" for i in sc.get("injects") or [])
        alarmed = sum(1 for r in runs if r.get("t_alarm") is not None)
        row = [a, len(runs), f"{fa.mean():.2f}", f"{(fa > 0).mean():.0%}",
               f"{fa.mean() / dur * DAY:.1f}" if math.isfinite(dur) and dur > 0 else "-",
               f"{alarmed}/{len(runs)}" if leak_free else "n/a (leak)"]
        for k in gain_k:
            x = d.payload["diffs"][k].get(f"{a}-{d.base}") if a != d.base else None
            row.append("base" if a == d.base else _fmt(k, (x or {}).get("mean"), True))
        rows.append(row)
    head = ["arm", "runs", "false alerts / run", "runs with one", "per 24 h", "needless alarms",
            *[f"Δ{k} vs base" for k in gain_k]]
    return ("<p class='note'>A false alert is one raised while no hazard was present. 'per 24 h' scales each "
            "arm's mean by its simulated duration; 'needless alarms' counts leak-free runs in which the "
            "general alarm sounded. The last columns show what each arm gains (negative: earlier) for that "
            "price.</p>" + _grid(head, rows))


def _convergence(d: CompareData) -> str:
    ks = [k for k in MAIN_KPIS if k in d.kpis] or d.kpis[:4]
    ks = [k for k in ks if any(d.values(k, a).size >= 2 for a in d.arms)][:4]
    html = ""
    if ks:
        plt = _plt()
        fig, axes = plt.subplots(len(ks), 1, figsize=(8, 2.2 * len(ks)), squeeze=False)
        for ax, k in zip(axes[:, 0], ks, strict=True):
            scale = 60.0 if _is_time(k) else 1.0
            for a in d.arms:
                x = d.values(k, a) / scale
                if x.size:
                    ax.plot(np.arange(1, x.size + 1), np.cumsum(x) / np.arange(1, x.size + 1), label=a, lw=1.2)
            ax.set_ylabel(f"{k}\n({'min' if scale == 60 else 'count'})", fontsize=7)
            ax.tick_params(labelsize=7)
        axes[-1, 0].set_xlabel("runs (in replication order)")
        axes[0, 0].legend(fontsize=7, ncol=min(4, len(d.arms)))
        axes[0, 0].set_title("Running mean as replications accumulate (NIST TN 1822)", fontsize=9)
        fig.tight_layout()
        html += _png(fig)
    rows = []
    for k in d.kpis:
        for a in d.arms:
            c = d.payload["kpis"][k][a].get("convergence") or {}
            if not c.get("n"):
                continue
            rows.append([k, a, c.get("n"), _pct(c.get("rel_change_mean")), _pct(c.get("rel_change_sd")),
                         _pct(c.get("rel_se_mean")), "yes" if c.get("converged") else "no"])
    return (html + "<p class='note'>Change of the running mean and standard deviation over the last 10 % of "
            "runs; settled when the mean moved under 1 % and the sd under 5 %. If not, run more "
            "replications (<code>-n</code>); the folder resumes.</p>"
            + _grid(["KPI", "arm", "runs", "Δmean", "Δsd", "rel. SE of mean", "settled"], rows))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def compare_sections(d: CompareData) -> list[tuple[str, str, str]]:
    """The report's ``(anchor, title, html)`` sections, in order."""
    return [("overview", "Experiment overview", _overview(d)),
            ("results", "Results per arm", _results(d)),
            ("diffs", "Paired differences", _diffs(d)),
            ("distributions", "Distributions", _distributions(d)),
            ("targets", "Capability targets", _targets(d)),
            ("false-alerts", "False-alert cost", _false_alert_cost(d)),
            ("convergence", "Convergence", _convergence(d))]


def write_compare_report(folder: str | Path) -> Path:
    """Write ``folder/report.html`` for the comparison in ``folder`` and return its path."""
    folder = Path(folder)
    d = CompareData(folder)
    secs = compare_sections(d)
    title = f"Comparison: {d.payload.get('experiment') or folder.name}"
    page = html_page(title, f"drilltwin comparison report: {len(d.arms)} arms, "
                            f"{_esc(d.payload.get('replications'))} replications each.", secs,
                     css="pre{margin:0;font-size:.85em;white-space:pre-wrap}")
    out = folder / "report.html"
    tmp = folder / ".report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
