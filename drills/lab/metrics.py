"""Scoring alert policies against labelled leaks: detection, lead times, false alerts, precision/recall/F1,
windowed accuracy at the plant's base rate, and the ISA-18.2 / EEMUA 191 alarm-rate KPIs.

Definitions (docs/alert-lab.md explains them with examples):

* **Detection window**: an alert of a policy in an episode is *true* when its time lies in
  ``[start, start + detection_window]``; *false* when it comes before the start (normal operation); and
  *late* after the window (neither true nor false). A leak is *detected* when at least one alert is true.
* **Lead time vs the set point**: ``t_ref - t_policy`` with ``t_ref`` the first true alert of the
  reference policy (the site's own set points); positive = earlier. Defined where both detect.
* **Lead time vs people**: ``t_odour - t_policy`` with ``t_odour`` the first time the true concentration in
  the release zone reaches the gas's odour action level (a person at the leak would notice and act).
* **False alerts per day** over all leak-free time: the leak-free stream plus every episode's pre-leak part.
  Per operator: divided by the number of operators who share the alerts.
* **Precision, recall, F1 at the plant's base rate**: recall = detected / episodes; over a plant-year the
  expected true alerts are ``leaks_per_year x recall`` and the false ones ``365 x false alerts per day``,
  so precision = true / (true + false). The lab's own mix of leaks and leak-free time is arbitrary, so its
  raw precision is reported only to show how far it is from the plant's.
* **Windowed accuracy**: time is cut into slots (``slot``, default 10 min); a slot is *positive* when it
  lies in a detection window, *predicted positive* when an alert falls in it. Accuracy = share of slots
  classified right, at the plant's base rate (``leaks_per_year``). A system that never alerts scores the
  share of negative slots, which for one leak a year is 99.9 %: "accuracy" without its windows and base
  rate says nothing, and is shown next to that trivial score.
* **Alarm-rate KPIs** (ISA-18.2-2016 section 16.5 and EEMUA 191 3rd ed. 2013 performance levels), on
  leak-free operation per operator: average alerts per 10 min against the benchmark of 1 per 10 min
  ("very likely to be acceptable", about 144 a day), the share of 10-min slots above it, the share of
  time in flood (a slot with more than 10 alerts per operator, the ISA-18.2 flood definition), the peak
  10-min count, *chattering* activations (an activation of a zone that is one of 3 or more within 60 s,
  ISA-18.2 / EEMUA 191 chattering-alarm criterion) and *stale* activations (active longer than 24 h).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BENCHMARK_PER_10MIN", "CHATTER_COUNT", "CHATTER_WINDOW", "FLOOD_PER_10MIN", "STALE_AFTER",
           "alarm_rate_kpis", "episode_outcomes", "odour_times", "summary"]

BENCHMARK_PER_10MIN = 1.0  # ISA-18.2-2016 Table 5 / EEMUA 191: ~1 alarm per 10 min per operator, acceptable
FLOOD_PER_10MIN = 10.0  # ISA-18.2-2016: more than 10 alarms in 10 min per operator is a flood
CHATTER_COUNT, CHATTER_WINDOW = 3, 60.0  # 3 or more activations within 60 s (ISA-18.2 / EEMUA 191)
STALE_AFTER = 86400.0  # active more than 24 h (ISA-18.2-2016 stale alarm)
YEAR_DAYS = 365.0


def odour_times(src_ppm: np.ndarray, act_ppm: float | None, start: float, dt: float) -> np.ndarray:
    """First time (s from the episode's beginning) the release zone reaches ``act_ppm``, per episode
    (``src_ppm``: (steps, episodes) at ``t = (k + 1) dt``); NaN where never or when the gas has no cue."""
    out = np.full(src_ppm.shape[1], np.nan)
    if act_ppm is None:
        return out
    hit = src_ppm >= act_ppm
    any_hit = hit.any(axis=0)
    first = hit.argmax(axis=0)
    out[any_hit] = (first[any_hit] + 1) * dt
    return np.maximum(out, start) if start else out


def episode_outcomes(alert_copy: np.ndarray, alert_t: np.ndarray, n_episodes: int, start: np.ndarray,
                     window: float) -> dict[str, np.ndarray]:
    """Per episode: ``detected`` (bool), ``t_first`` (first true alert, s; NaN when missed),
    ``n_false`` (alerts before the start), ``n_true`` (alerts in the window), ``n_late`` (after it)."""
    start = np.broadcast_to(np.asarray(start, dtype=float), (n_episodes,))
    c = np.asarray(alert_copy, dtype=np.int64)
    t = np.asarray(alert_t, dtype=float)
    s = start[c] if c.size else np.zeros(0)
    true = (t >= s - 1e-9) & (t <= s + window + 1e-9)
    false = t < s - 1e-9
    late = t > s + window + 1e-9
    t_first = np.full(n_episodes, np.nan)
    if true.any():
        order = np.lexsort((t[true], c[true]))
        cc, tt = c[true][order], t[true][order]
        firsts = np.r_[True, cc[1:] != cc[:-1]]
        t_first[cc[firsts]] = tt[firsts]
    return {"detected": ~np.isnan(t_first), "t_first": t_first,
            "n_true": np.bincount(c[true], minlength=n_episodes),
            "n_false": np.bincount(c[false], minlength=n_episodes),
            "n_late": np.bincount(c[late], minlength=n_episodes)}


def _slot_counts(copy: np.ndarray, t: np.ndarray, copies: int, duration: float, slot: float) -> np.ndarray:
    """Alerts per (copy, slot); slots of ``slot`` s from each copy's start (a last partial slot is dropped)."""
    ns = int(duration // slot)
    counts = np.zeros((copies, max(ns, 0)), dtype=np.int64)
    if ns == 0 or len(t) == 0:
        return counts
    k = np.floor((np.asarray(t) - 1e-9) / slot).astype(np.int64)
    ok = (k >= 0) & (k < ns)
    np.add.at(counts, (np.asarray(copy)[ok], k[ok]), 1)
    return counts


def alarm_rate_kpis(copy: np.ndarray, t: np.ndarray, copies: int, duration: float, operators: int,
                    intervals: Sequence[tuple[int, Any, float, float]] = (), slot: float = 600.0) -> dict[str, Any]:
    """ISA-18.2 / EEMUA 191 KPIs of one policy on leak-free operation (``copies`` streams of ``duration``
    s; alert ``copy``/``t``; activity ``intervals`` as (copy, zone, start, end)). Rates per operator."""
    counts = _slot_counts(copy, t, copies, duration, slot) / max(operators, 1)
    scale = 600.0 / slot
    per10 = counts * scale
    n_slots = counts.size
    chatter = 0
    stale = 0
    by_zone: dict[tuple[int, Any], list[float]] = {}
    for c, z, a, b in intervals:
        by_zone.setdefault((c, z), []).append(a)
        stale += (b - a) > STALE_AFTER
    for starts in by_zone.values():
        s = np.sort(np.asarray(starts))
        if s.size >= CHATTER_COUNT:
            # an activation is chattering when CHATTER_COUNT activations fit in CHATTER_WINDOW around it
            j = np.searchsorted(s, s + CHATTER_WINDOW, side="right")
            burst = (j - np.arange(s.size)) >= CHATTER_COUNT
            mark = np.zeros(s.size, dtype=bool)
            for i in np.flatnonzero(burst):
                mark[i:j[i]] = True
            chatter += int(mark.sum())
    return {
        "alerts_per_operator_per_10min": float(per10.mean()) if n_slots else 0.0,
        "benchmark_per_10min": BENCHMARK_PER_10MIN,
        "share_slots_over_benchmark": float((per10 > BENCHMARK_PER_10MIN).mean()) if n_slots else 0.0,
        "share_time_in_flood": float((per10 > FLOOD_PER_10MIN).mean()) if n_slots else 0.0,
        "peak_per_10min": float(per10.max()) if n_slots else 0.0,
        "chattering_activations": chatter,
        "stale_activations": int(stale),
        "activations": len(intervals),
    }


def _nanmedian(x: np.ndarray) -> float | None:
    x = x[~np.isnan(x)]
    return float(np.median(x)) if x.size else None


def summary(outcomes: dict[str, np.ndarray], ref_first: np.ndarray, t_odour: np.ndarray, *,
            false_alerts: int, leak_free_days: float, operators: int, leaks_per_year: float,
            window: float, slot: float, slot_tpr: float, slot_fpr: float, start: np.ndarray,
            mask: np.ndarray | None = None) -> dict[str, Any]:
    """The metrics of one policy over the episodes in ``mask`` (default all): see the module docstring.
    ``slot_tpr``/``slot_fpr``: share of positive / negative slots with an alert."""
    m = np.ones(len(outcomes["detected"]), dtype=bool) if mask is None else mask
    start = np.broadcast_to(np.asarray(start, dtype=float), m.shape)
    det = outcomes["detected"][m]
    n = int(m.sum())
    tf = outcomes["t_first"][m]
    lead_sp = ref_first[m] - tf
    lead_od = t_odour[m] - tf
    fpd = false_alerts / leak_free_days if leak_free_days > 0 else math.nan
    recall = float(det.mean()) if n else math.nan
    tp_y = leaks_per_year * recall
    fp_y = YEAR_DAYS * fpd
    precision = tp_y / (tp_y + fp_y) if (tp_y + fp_y) > 0 else math.nan
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    pos = leaks_per_year * window / slot
    neg = YEAR_DAYS * 86400.0 / slot - pos
    acc = (slot_tpr * pos + (1 - slot_fpr) * neg) / (pos + neg)
    lab_tp = int(outcomes["n_true"][m].clip(max=1).sum())
    return {
        "episodes": n,
        "detected": int(det.sum()),
        "probability_of_detection": recall,
        "detected_where_reference_missed": int((det & np.isnan(ref_first[m])).sum()),
        "lead_vs_setpoint_median_s": _nanmedian(lead_sp),
        "lead_vs_setpoint_p10_s": float(np.nanpercentile(lead_sp, 10)) if (~np.isnan(lead_sp)).any() else None,
        "lead_vs_odour_median_s": _nanmedian(lead_od),
        "time_to_detect_median_s": _nanmedian(tf - start[m]),
        "false_alerts": int(false_alerts),
        "false_alerts_per_day": fpd,
        "false_alerts_per_day_per_operator": fpd / max(operators, 1),
        "false_alerts_per_week_per_operator": 7 * fpd / max(operators, 1),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy_windowed": acc,
        "accuracy_never_alert": neg / (pos + neg),
        "lab_precision_raw": lab_tp / (lab_tp + false_alerts) if lab_tp + false_alerts else math.nan,
    }
