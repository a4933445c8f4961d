"""``drilltwin alerts evaluate``: run every policy variant of a lab file over a leak ensemble and over
leak-free operation, and score them (:mod:`drills.lab.metrics`).

Seeds: one :class:`numpy.random.SeedSequence` per lab run (the lab file's ``seed``) spawns three streams:
the ensemble draws, the detectors during the episodes, and the detectors during leak-free operation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drills.lab.ensemble import Episode, sample_episodes, true_traces
from drills.lab.labfile import LabSpec, variants
from drills.lab.metrics import alarm_rate_kpis, episode_outcomes, odour_times, summary
from drills.lab.policies import SimResult, simulate

__all__ = ["LabRun", "EPISODE_BATCH", "FREE_CHUNK", "run_lab", "score"]

EPISODE_BATCH = 1000  # episodes side by side per simulation (memory: steps x batch x detectors float32)
FREE_CHUNK = 8 * 3600.0  # s of leak-free operation per folded copy


@dataclass
class LabRun:
    """Everything a lab run produced: the spec, site, episodes, simulation results and timings."""

    spec: LabSpec
    site: Any
    episodes: list[Episode]
    ep_sim: SimResult
    free_sim: SimResult
    t_odour: np.ndarray
    odour: tuple[float | None, str]
    operators: int
    variants: dict[str, tuple[str, str | None, Any, dict[str, Any]]]
    seed: int
    timing: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _merge(parts: list[SimResult], offsets: list[int]) -> SimResult:
    from dataclasses import replace

    from drills.lab.policies import Activity

    out = SimResult(copies=sum(p.copies for p in parts), duration=parts[0].duration if parts else 0.0,
                    dt=parts[0].dt if parts else 1.0)
    for p, off in zip(parts, offsets, strict=True):
        out.alerts += [replace(a, copy=a.copy + off) for a in p.alerts]
    for label in parts[0].activity if parts else []:
        acts = [p.activity[label] for p in parts]
        out.activity[label] = Activity(np.concatenate([a.copy + off for a, off in zip(acts, offsets, strict=True)]),
                                       np.concatenate([a.zone for a in acts]),
                                       np.concatenate([a.start for a in acts]),
                                       np.concatenate([a.end for a in acts]))
    return out


def run_lab(spec: LabSpec, *, seed: int | None = None, episodes: int | None = None,
            leak_free: float | None = None, site: Any = None, policies: dict[str, Any] | None = None,
            progress: Callable[[str, float], None] | None = None) -> LabRun:
    """Simulate the lab: ``episodes`` leaks and ``leak_free`` s of normal operation (defaults from
    ``spec``) through every policy variant (or the given ``policies``: label -> config)."""
    from drills.lab.odour import act_ppm
    from drills.lab.policies import parse_policy
    from drills.lab.site import load_lab_site

    t_all = time.perf_counter()
    timing: dict[str, float] = {}
    seed = spec.seed if seed is None else seed
    n_ep = spec.episodes if episodes is None else episodes
    free = spec.leak_free if leak_free is None else leak_free
    t0 = time.perf_counter()
    site = site if site is not None else load_lab_site(spec.scenario, spec.gas)
    operators = spec.operators or site.operators
    n_steps = int(math.ceil((spec.pre_leak + spec.horizon) / site.dt - 1e-9))
    site.compute_responses(spec.pre_leak + spec.horizon)
    timing["site_s"] = time.perf_counter() - t0
    vs = variants(spec) if policies is None else {k: (k, None, None, v) for k, v in policies.items()}
    cfgs = {k: parse_policy(v[3], where=f"policies.{k}") for k, v in vs.items()}
    ss = np.random.SeedSequence(seed)
    s_ens, s_ep, s_free = ss.spawn(3)
    eps = sample_episodes(spec, site, n_ep, np.random.default_rng(s_ens))
    warm = int(round(spec.warmup / site.dt))
    base_dir = spec.scenario.parent
    # --- episodes, in batches --------------------------------------------------------------------------
    t0 = time.perf_counter()
    parts, offs, odour_all = [], [], []
    rng_ep = np.random.default_rng(s_ep)
    level, level_src = act_ppm(site.gas.key)
    for b in range(0, n_ep, EPISODE_BATCH):
        batch = eps[b : b + EPISODE_BATCH]
        traces, src_ppm = true_traces(batch, site, n_steps)
        odour_all.append(odour_times(src_ppm, level, spec.pre_leak, site.dt))
        parts.append(simulate(cfgs, site.specs, site.zones, site.positions, copies=len(batch), steps=n_steps,
                              dt=site.dt, rng=rng_ep, true_at=lambda k, tr=traces: tr[k], warmup_steps=warm,
                              rearm=None, base_dir=base_dir))
        offs.append(b)
        if progress:
            progress("episodes", min(b + EPISODE_BATCH, n_ep) / n_ep)
    ep_sim = _merge(parts, offs)
    timing["episodes_s"] = time.perf_counter() - t0
    # --- leak-free operation, folded into copies ---------------------------------------------------------
    t0 = time.perf_counter()
    chunk = min(FREE_CHUNK, free)
    copies = max(1, int(math.ceil(free / chunk - 1e-9)))
    free_steps = int(round(chunk / site.dt))
    free_sim = simulate(cfgs, site.specs, site.zones, site.positions, copies=copies, steps=free_steps, dt=site.dt,
                        rng=np.random.default_rng(s_free), warmup_steps=warm, base_dir=base_dir)
    timing["leak_free_s"] = time.perf_counter() - t0
    timing["total_s"] = time.perf_counter() - t_all
    notes = []
    if site.skipped:
        notes.append("outdoor equipment left out of the ensemble (indoor multizone model only): "
                     + ", ".join(site.skipped))
    notes.append(f"odour action level for {site.gas.key}: "
                 + (f"{level:g} ppm ({level_src})" if level is not None else f"none ({level_src})"))
    return LabRun(spec, site, eps, ep_sim, free_sim, np.concatenate(odour_all) if odour_all else np.zeros(0),
                  (level, level_src), operators, vs, seed, timing, notes)


def _arrays(sim: SimResult, label: str) -> tuple[np.ndarray, np.ndarray]:
    """(copy, time) of every activation of ``label`` that began inside its copy's stream."""
    a = sim.activity[label]
    ok = a.start >= 0
    return a.copy[ok], a.start[ok]


def _slot_rates(lab: LabRun, label: str, ec: np.ndarray, et: np.ndarray, fc: np.ndarray, ft: np.ndarray
                ) -> tuple[float, float]:
    """Share of positive slots (in a detection window) and of negative slots (leak-free and pre-leak)
    that hold an alert."""
    sp = lab.spec
    n_ep = len(lab.episodes)
    n_pos_per = int(sp.detection_window // sp.slot)
    pos_hit = 0
    if n_pos_per and n_ep:
        rel = et - sp.pre_leak
        k = np.floor(rel / sp.slot).astype(np.int64)
        ok = (rel >= 0) & (k < n_pos_per)
        pos_hit = len(set(zip(ec[ok].tolist(), k[ok].tolist(), strict=True)))
    n_pre_per = int(sp.pre_leak // sp.slot)
    pre_hit = 0
    if n_pre_per:
        k = np.floor(et / sp.slot).astype(np.int64)
        ok = (et < n_pre_per * sp.slot)
        pre_hit = len(set(zip(ec[ok].tolist(), k[ok].tolist(), strict=True)))
    n_free_per = int(lab.free_sim.duration // sp.slot)
    k = np.floor((ft - 1e-9) / sp.slot).astype(np.int64)
    ok = k < n_free_per
    free_hit = len(set(zip(fc[ok].tolist(), k[ok].tolist(), strict=True)))
    n_pos = n_pos_per * n_ep
    n_neg = n_pre_per * n_ep + n_free_per * lab.free_sim.copies
    return (pos_hit / n_pos if n_pos else math.nan), ((pre_hit + free_hit) / n_neg if n_neg else math.nan)


def score(lab: LabRun) -> dict[str, Any]:
    """Tables of a lab run: ``summary`` (one row per policy variant and leak class), ``episodes`` (one row
    per episode and variant), ``alerts`` (every alert), ``kpis`` (alarm-rate KPIs per variant),
    ``tradeoff`` (the swept variants)."""
    sp = lab.spec
    n_ep = len(lab.episodes)
    start = np.array([e.start for e in lab.episodes])
    fams = np.array([e.family for e in lab.episodes])
    holes = np.array([e.hole_class for e in lab.episodes])
    free_days = lab.free_sim.copies * lab.free_sim.duration / 86400.0
    pre_days = n_ep * sp.pre_leak / 86400.0
    outs: dict[str, dict[str, np.ndarray]] = {}
    arrays = {}
    for label in lab.variants:
        ec, et = _arrays(lab.ep_sim, label)
        fc, ft = _arrays(lab.free_sim, label)
        arrays[label] = (ec, et, fc, ft)
        outs[label] = episode_outcomes(ec, et, n_ep, start, sp.detection_window)
    ref = outs.get(sp.reference, {"t_first": np.full(n_ep, np.nan)})["t_first"]
    rows, ep_rows, kpi_rows = [], [], []
    classes = [("all", np.ones(n_ep, dtype=bool))]
    classes += [(f"family={f}", fams == f) for f in sorted(set(fams))]
    classes += [(f"hole={h}", holes == h) for h in sorted(set(holes))]
    for label, (pol, param, value, _cfg) in lab.variants.items():
        ec, et, fc, ft = arrays[label]
        o = outs[label]
        n_false = int(o["n_false"].sum()) + len(ft)
        tpr, fpr = _slot_rates(lab, label, ec, et, fc, ft)
        for cname, mask in classes:
            if not mask.any():
                continue
            s = summary(o, ref, lab.t_odour, false_alerts=n_false, leak_free_days=free_days + pre_days,
                        operators=lab.operators, leaks_per_year=sp.leaks_per_year, window=sp.detection_window,
                        slot=sp.slot, slot_tpr=tpr, slot_fpr=fpr, start=start, mask=mask)
            rows.append({"variant": label, "policy": pol, "parameter": param, "value": _jsonable(value),
                         "leak_class": cname, **s})
        a = lab.free_sim.activity[label]
        ivs = list(zip(a.copy.tolist(), a.zone.tolist(), np.maximum(a.start, 0).tolist(), a.end.tolist(),
                       strict=True))
        k = alarm_rate_kpis(fc, ft, lab.free_sim.copies, lab.free_sim.duration, lab.operators, ivs, sp.slot)
        kpi_rows.append({"variant": label, "policy": pol, **k})
        for e, ep in enumerate(lab.episodes):
            ep_rows.append({"variant": label, "episode": ep.id, "family": ep.family, "hole_class": ep.hole_class,
                            "source": ep.source, "rate_kg_s": ep.rate, "detected": bool(o["detected"][e]),
                            "t_first_true_s": _f(o["t_first"][e] - ep.start),
                            "lead_vs_setpoint_s": _f(ref[e] - o["t_first"][e]),
                            "lead_vs_odour_s": _f(lab.t_odour[e] - o["t_first"][e]),
                            "false_before_start": int(o["n_false"][e])})
    alerts = [{"stream": "episode", "variant": a.policy, "copy": a.copy, "t_s": a.t, "zone": str(a.zone),
               "level": a.level, "sensors": ",".join(a.sensors)} for a in lab.ep_sim.alerts]
    alerts += [{"stream": "leak_free", "variant": a.policy, "copy": a.copy, "t_s": a.t, "zone": str(a.zone),
                "level": a.level, "sensors": ",".join(a.sensors)} for a in lab.free_sim.alerts]
    trade = [r for r in rows if r["leak_class"] == "all" and r["parameter"] is not None]
    return {"summary": rows, "episodes": ep_rows, "alerts": alerts, "kpis": kpi_rows, "tradeoff": trade,
            "ensemble": [e.to_dict() for e in lab.episodes]}


def _f(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _jsonable(v: Any) -> Any:
    return v if v is None or isinstance(v, int | float | str | bool) else str(v)
