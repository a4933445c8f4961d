"""Gas-detector placement: leak responses, the detection-time matrix, coverage metrics and the greedy optimiser.

The workflow follows Sandia's Chama (simulate signals -> detection times per scenario and candidate ->
optimise; Klise et al., SAND2017-11472) and the fire-and-gas mapping metrics of ISA TR84.00.07 (scenario and
geographic coverage). Everything here is pure numpy/scipy on arrays: the
drill layer (:mod:`drills.studies.placement`) builds the ensemble from a scenario, and :mod:`twin.placement_opt`
holds the exact MIP.

**Linearity.** The multizone model (:mod:`twin.dispersion`) and the Gaussian plume are linear in the
release rate, so the concentration of a leak of rate ``r`` (kg/s) is ``r`` times the response to a
1 kg/s release in the same zone. :func:`unit_responses` computes the responses of every source zone at
once (one sparse LU, one multi-column solve per step), so an ensemble of items x rates x weather cases
costs one dispersion run per ventilation case, whatever the number of items and rates.

**Detector physics** (as :class:`twin.sensors.DetectorArray`, so that a detector placed here alarms at the
same time in a drill): the input is held between gas steps, a first-order lag with ``tau = T90 / ln 10``
(exact discrete update), samples every ``period`` from the release start, Gaussian noise of one standard
deviation ``noise`` per sample, the display rounded to ``resolution`` and clamped to ``0..full_scale``, and
the alarm at the first sample whose display reaches the lowest set point. Drift is left out (it is below a
tenth of the noise over an hour). Noise comes from one numpy Generator per candidate, derived from the
seed and the candidate's name through :class:`numpy.random.SeedSequence`, so a candidate reads the same
noise whatever other candidates are evaluated with it (common random numbers between layouts).

**Pairs that cannot alarm.** A (scenario, candidate) pair whose noise-free display never comes within
``NOISE_SIGMAS`` standard deviations of the set point is marked undetected without drawing its noise
(the chance of such an excursion is below 1e-15 per sample).

Times are seconds from the start of the release; ``inf`` means "not detected within the horizon".
"""

from __future__ import annotations

import heapq
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter
from scipy.sparse import csc_matrix, diags
from scipy.sparse.linalg import splu

__all__ = [
    "DetectorPhysics",
    "EXACT_MAX_ZONES",
    "GreedyResult",
    "NOISE_SIGMAS",
    "scenario_weights",
    "candidate_rng",
    "coverage_greedy",
    "coverage_matrix",
    "detection_matrix",
    "impact_greedy",
    "impact_objective",
    "lagged",
    "layout_times",
    "scenario_coverage",
    "unit_responses",
]

NOISE_SIGMAS = 8.0
"""Pairs whose noise-free display stays this many noise standard deviations below the set point are not
sampled (P(z > 8) = 6e-16 per sample)."""


# --------------------------------------------------------------------------------------------- dispersion
EXACT_MAX_ZONES = 600
"""Models up to this many zones are propagated with the exact matrix exponential (dense, one ``expm`` of
twice the zone count); larger ones with the theta scheme on the sparse LU."""


def unit_responses(K: csc_matrix, V: np.ndarray, dt: float, n_steps: int, sources: Sequence[int],
                   *, scheme: str = "auto") -> np.ndarray:
    """Zone concentrations (kg/m3) after a constant 1 kg/s release in each source zone from t = 0.

    Solves ``V dC/dt = -K C + s`` (the system of :meth:`twin.dispersion.Multizone.ode_system`, outdoor air
    clean) for all sources at once. ``scheme="auto"``: exactly (``"exact"``) for models of up to
    :data:`EXACT_MAX_ZONES` zones: with ``A = -V^-1 K`` and the augmented exponential
    ``expm([[A, I], [0, 0]] dt) = [[Phi, Gamma], [0, I]]``, ``C' = Phi C + Gamma V^-1 s`` (the
    :class:`~twin.dispersion.Multizone` default, its exponential scheme, agrees to its 1e-11 tolerance);
    larger models use the theta scheme of Multizone: the trapezoidal rule where ``dt <= 2 V_i / K_ii`` in
    every zone, else implicit Euler (``"trapezoidal"`` or ``"euler"`` force one).

    Parameters: K (m3/s, sparse, zones x zones), V (m3 per zone), dt (s), n_steps, sources (zone indices).
    Returns an array ``(n_zones, n_sources, n_steps + 1)``: entry ``[z, j, k]`` is the concentration in
    zone ``z`` at ``t = k dt`` for the release in ``sources[j]``; float32 (the noise floor of any detector
    is far above its 1e-7 relative precision).
    """
    n = K.shape[0]
    src = np.asarray(sources, dtype=np.int64)
    out = np.zeros((n, len(src), n_steps + 1), dtype=np.float32)
    s = np.zeros((n, len(src)))
    s[src, np.arange(len(src))] = 1.0  # kg/s
    c = np.zeros((n, len(src)))
    if scheme == "exact" or (scheme == "auto" and n <= EXACT_MAX_ZONES):
        from scipy.linalg import expm

        aug = np.zeros((2 * n, 2 * n))
        aug[:n, :n] = -(K.toarray() / V[:, None]) * dt
        aug[:n, n:] = np.eye(n) * dt
        E = expm(aug)
        phi, gamma = E[:n, :n], E[:n, n:]
        drive = gamma @ (s / V[:, None])  # the step's gain from the source, the same every step
        for k in range(1, n_steps + 1):
            c = phi @ c
            c += drive
            np.maximum(c, 0.0, out=c)
            out[:, :, k] = c
        return out
    kd = K.diagonal()
    with np.errstate(divide="ignore"):
        trap_ok = bool(np.all(np.where(kd > 0, 2.0 * V / np.where(kd > 0, kd, 1.0), np.inf) >= dt))
    theta = {"trapezoidal": 0.5, "euler": 1.0}.get(scheme, 0.5 if trap_ok else 1.0)
    v_dt = V / dt
    lu = splu((diags(v_dt) + theta * K).tocsc())
    for k in range(1, n_steps + 1):
        if theta == 1.0:
            c = lu.solve(v_dt[:, None] * c + s)
        else:
            # the Multizone form: C' = 2 Y - C with (V/dt + K/2) Y = V/dt C + s/2 (one solve, no product)
            y = lu.solve(v_dt[:, None] * c + 0.5 * s)
            c = 2.0 * y - c
        np.maximum(c, 0.0, out=c)
        out[:, :, k] = c
    return out


def lagged(series: np.ndarray, t90: float, dt: float) -> np.ndarray:
    """The first-order lag of a detector (``tau = T90 / ln 10``) applied along the last axis of ``series``
    (values every ``dt`` s from t = 0), as :class:`twin.sensors.DetectorArray` sees it: the input given at
    step ``k - 1`` holds over ``(t_{k-1}, t_k]``, so ``y_k = a y_{k-1} + (1 - a) u_{k-1}`` with
    ``a = exp(-dt / tau)`` and ``y_0 = 0``. With T90 = 0 the detector shows the input itself."""
    if t90 <= 0:
        return series
    a = math.exp(-dt * math.log(10.0) / t90)
    return lfilter([0.0, 1.0 - a], [1.0, -a], series, axis=-1).astype(series.dtype, copy=False)


# ----------------------------------------------------------------------------------------- the matrix
@dataclass(frozen=True)
class DetectorPhysics:
    """One candidate's detector, in its reading unit (``ppm`` or ``%LEL``).

    setpoint: lowest alarm set point; per_kgm3: reading units per kg/m3 of the gas; t90 (s); noise: one
    standard deviation per sample; period: sampling period (s); resolution: display step (0 = none);
    full_scale: top of the range."""

    setpoint: float
    per_kgm3: float
    t90: float
    noise: float
    period: float
    resolution: float
    full_scale: float

    @property
    def lag_key(self) -> float:
        return round(self.t90, 9)


def candidate_rng(seed: int, name: str) -> np.random.Generator:
    """The noise stream of one candidate: a Generator from ``SeedSequence(seed)`` spawned by a key derived
    from the candidate's name (CRC-32), independent of the other candidates evaluated with it."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(name.encode()),)))


def detection_matrix(responses: dict[float, np.ndarray] | np.ndarray, dt: float, scenario_src: np.ndarray,
                     scenario_rate: np.ndarray, candidate_col: np.ndarray, physics: Sequence[DetectorPhysics],
                     names: Sequence[str], seed: int, progress=None) -> np.ndarray:
    """Alarm time (s after the release start) of every candidate in every scenario; ``inf`` = never.

    Parameters
    ----------
    responses:
        Unit responses ``(n_cols, n_src, n_steps + 1)`` (kg/m3 per kg/s, every ``dt`` s), or a mapping from
        each detector's :attr:`DetectorPhysics.lag_key` to such an array already lagged with
        :func:`lagged` (the caller then caches the lag per T90).
    scenario_src, scenario_rate:
        Per scenario: the source column of ``responses`` axis 1 and the release rate (kg/s). The rate may be
        zero (a scenario that never alarms).
    candidate_col:
        Per candidate: the column of ``responses`` axis 0 it reads (its zone or outdoor point).
    physics, names, seed:
        Per candidate detector physics and name (the name keys its noise stream, :func:`candidate_rng`).
    progress:
        Optional callable ``progress(k)`` after each candidate.
    """
    S, C = len(scenario_src), len(candidate_col)
    out = np.full((S, C), np.inf)
    if isinstance(responses, np.ndarray):
        raw = responses
        cache: dict[float, np.ndarray] = {}

        def series_of(ph: DetectorPhysics, col: int) -> np.ndarray:
            key = (ph.lag_key, int(col))
            if key not in cache:
                cache[key] = lagged(raw[col], ph.t90, dt)
            return cache[key]
    else:
        def series_of(ph: DetectorPhysics, col: int) -> np.ndarray:
            return responses[ph.lag_key][col]

    rate = np.asarray(scenario_rate, dtype=float)
    srcs = np.asarray(scenario_src, dtype=np.int64)
    for c in range(C):
        ph = physics[c]
        y = series_of(ph, int(candidate_col[c]))  # (n_src, T+1), per kg/s
        n_steps = y.shape[-1] - 1
        stride = max(int(round(ph.period / dt)), 1)
        ks = np.arange(stride, n_steps + 1, stride)  # sample steps (the first sample is one period in)
        if ks.size == 0:
            continue
        # per source, the peak noise-free display per unit rate: screen whole scenarios at once
        peak = y[:, ks].max(axis=1).astype(float)[srcs] * rate * ph.per_kgm3
        reach = ph.setpoint - NOISE_SIGMAS * ph.noise - 0.5 * ph.resolution
        rows = np.flatnonzero(peak >= reach)
        if rows.size:
            val = y[srcs[rows]][:, ks].astype(float)
            val *= (rate[rows] * ph.per_kgm3)[:, None]
            if ph.noise > 0:
                val += ph.noise * candidate_rng(seed, names[c]).standard_normal(val.shape)
            if ph.resolution > 0:
                val = np.rint(val / ph.resolution) * ph.resolution
            np.clip(val, 0.0, ph.full_scale, out=val)
            hit = val >= ph.setpoint
            first = hit.argmax(axis=1)
            ok = hit[np.arange(rows.size), first]
            out[rows[ok], c] = ks[first[ok]] * dt
        if progress is not None:
            progress(c + 1)
    return out


# ------------------------------------------------------------------------------------------- metrics
def layout_times(D: np.ndarray, chosen: Sequence[int], k: int = 1) -> np.ndarray:
    """Per scenario, the time the ``k``-th detector of the layout ``chosen`` alarms (k-out-of-n voting:
    the executive action waits for k detectors); ``inf`` when fewer than k ever do."""
    idx = np.asarray(list(chosen), dtype=np.int64)
    if idx.size < k:
        return np.full(D.shape[0], np.inf)
    sub = D[:, idx]
    if k == 1:
        return sub.min(axis=1)
    return np.partition(sub, k - 1, axis=1)[:, k - 1]


def scenario_coverage(times: np.ndarray, limit: float, weights: np.ndarray | None = None) -> float:
    """Weighted share of scenarios whose (voted) detection time is within ``limit`` s."""
    w = np.ones(times.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    tot = float(w.sum())
    return float(w[times <= limit].sum() / tot) if tot > 0 else 0.0


def impact_objective(times: np.ndarray, penalty: float, weights: np.ndarray | None = None) -> float:
    """Expected detection time (s): the weighted mean of ``min(time, penalty)``, an undetected scenario
    counting as ``penalty`` (Chama's "undetected impact")."""
    w = np.ones(times.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    return float(w @ np.minimum(times, penalty) / w.sum())


def coverage_matrix(D: np.ndarray, limit: float) -> np.ndarray:
    """Boolean (scenario x candidate): the candidate alone alarms within ``limit`` s."""
    return D <= limit


# ------------------------------------------------------------------------------------------- greedy
@dataclass
class GreedyResult:
    """A layout from :func:`impact_greedy` or :func:`coverage_greedy`.

    chosen: candidate indices (fixed ones first, then in the order added). objective: the expected
    detection time (s, impact) or the covered share (coverage). bound: a bound on the optimum from the
    data (a lower bound on the expected time, an upper bound on the coverage; for a coverage target, a
    lower bound on the number of detectors). gap: relative distance between objective and bound.
    greedy_objective: before the interchange polish. a_priori: the (1 - 1/e) guarantee on the reduction
    of the objective (None for a target)."""

    chosen: list[int]
    objective: float
    bound: float
    gap: float
    greedy_objective: float
    a_priori: float | None = None
    evaluations: int = 0
    swaps: int = 0
    history: list[float] = field(default_factory=list)


def scenario_weights(S: int, weights: np.ndarray | None) -> np.ndarray:
    """The probability of each of ``S`` leak scenarios: ``weights`` normalised, or uniform."""
    w = np.ones(S) if weights is None else np.asarray(weights, dtype=float)
    return w / w.sum()


def _lazy_greedy(gain_of, all_gains, candidates: np.ndarray, budget: int, apply) -> tuple[list[int], float, int]:
    """Lazy greedy (CELF, Minoux 1978) on a monotone submodular set function given by its marginal gains.

    ``all_gains()`` gives the exact gain of every candidate now, ``gain_of(c)`` that of one, ``apply(c)``
    adds c. Stale gains are upper bounds of the true ones (submodularity), so the top of the heap only
    needs re-evaluating. Returns (chosen, the best data-dependent bound on the optimal total gain seen
    along the way, evaluations). The bound (Leskovec et al. 2007): for any set S and any k-set OPT,
    ``F(OPT) <= F(S) + sum of the k largest marginal gains at S`` (stale gains only loosen it).
    """
    g0 = all_gains()
    heap = [(-float(g0[i]), int(c), 0) for i, c in enumerate(candidates)]
    heapq.heapify(heap)
    chosen: list[int] = []
    total = 0.0
    best_bound = math.inf
    evals = len(candidates)
    rnd = 0
    while len(chosen) < budget and heap:
        top = sorted(-h[0] for h in heapq.nsmallest(budget, heap))
        best_bound = min(best_bound, total + sum(max(g, 0.0) for g in top))
        while True:
            neg, c, when = heapq.heappop(heap)
            if when == rnd:
                break
            g = float(gain_of(c))
            evals += 1
            heapq.heappush(heap, (-g, c, rnd))
        if -neg <= 0.0 and chosen:
            heapq.heappush(heap, (neg, c, when))
            break
        chosen.append(c)
        total += -neg
        apply(c)
        rnd += 1
    return chosen, best_bound, evals


def impact_greedy(D: np.ndarray, budget: int, penalty: float, *, weights: np.ndarray | None = None,
                  fixed: Sequence[int] = (), polish: bool = True, restarts: int = 8) -> GreedyResult:
    """Choose ``budget`` further detectors minimising the expected detection time (p-median objective).

    ``D``: detection times (scenario x candidate, s, inf = never); ``penalty``: the time counted for an
    undetected scenario (s); ``fixed``: candidates kept in any case (existing detectors). The reduction of
    the objective is monotone submodular (a facility-location function), so lazy greedy is within
    ``1 - 1/e`` of the best reduction; the data-dependent bound is usually far tighter. A 1-swap
    interchange pass (Teitz & Bart 1968) then polishes the layout, and ``restarts`` further greedy runs,
    each forced to start from one of the next-best single detectors, are polished the same way (the best
    layout wins). The bound holds for any layout, so it stays valid.
    """
    S, C = D.shape
    w = scenario_weights(S, weights)
    d = np.minimum(D, penalty)
    fixed = [int(f) for f in fixed]
    cur = np.full(S, float(penalty))
    for f in fixed:
        np.minimum(cur, d[:, f], out=cur)
    base = float(w @ cur)
    free = np.array([c for c in range(C) if c not in set(fixed)], dtype=np.int64)
    budget = min(int(budget), free.size)

    def all_gains() -> np.ndarray:
        return w @ np.maximum(cur[:, None] - d[:, free], 0.0)

    def gain_of(c: int) -> float:
        return float(w @ np.maximum(cur - d[:, c], 0.0))

    def apply(c: int) -> None:
        np.minimum(cur, d[:, c], out=cur)

    added, best_gain_bound, evals = _lazy_greedy(gain_of, all_gains, free, budget, apply)
    greedy_obj = float(w @ cur)
    layout = fixed + added
    swaps = 0
    if polish and added:
        layout, swaps = _interchange(d, w, fixed, added, free)
        obj0 = float(w @ d[:, layout].min(axis=1))
        # Restarts: greedy again with each of the next-best first picks forced, then the interchange;
        # keeps the best layout. Each costs a few vectorised passes; they lift greedy out of the local
        # optima a single 1-swap pass can get stuck in.
        first = all_gains_from(cur0 := _start(d, fixed, S, penalty), d, w, free)
        for c0 in free[np.argsort(-first, kind="stable")[1:restarts + 1]] if budget > 1 else []:
            cur[:] = cur0
            np.minimum(cur, d[:, int(c0)], out=cur)
            keep = free != c0
            rest, _, ev = _lazy_greedy(gain_of, lambda keep=keep: all_gains()[keep], free[keep], budget - 1, apply)
            evals += ev
            lay, sw = _interchange(d, w, fixed, [int(c0)] + rest, free)
            o = float(w @ d[:, lay].min(axis=1))
            if o < obj0 - 1e-12 * max(obj0, 1.0):
                layout, obj0, swaps = lay, o, swaps + sw
        cur = d[:, layout].min(axis=1) if layout else np.full(S, float(penalty))
    obj = float(w @ cur)
    # the bound at the final layout too (exact gains there)
    if budget:
        g = np.sort(w @ np.maximum(cur[:, None] - d[:, free], 0.0))[::-1][:budget]
        best_gain_bound = min(best_gain_bound, (base - obj) + float(np.maximum(g, 0).sum()))
    bound = max(base - best_gain_bound, float(w @ d[:, np.r_[free, fixed].astype(np.int64)].min(axis=1))
                if C else base)
    bound = min(bound, obj)
    gap = (obj - bound) / obj if obj > 0 else 0.0
    return GreedyResult(layout, obj, bound, gap, greedy_obj, a_priori=1.0 - 1.0 / math.e, evaluations=evals,
                        swaps=swaps)


def _start(d: np.ndarray, fixed: list[int], S: int, penalty: float) -> np.ndarray:
    cur = np.full(S, float(penalty))
    for f in fixed:
        np.minimum(cur, d[:, f], out=cur)
    return cur


def all_gains_from(cur: np.ndarray, d: np.ndarray, w: np.ndarray, free: np.ndarray) -> np.ndarray:
    """The reduction of the expected time each free candidate would bring to the per-scenario times cur."""
    return w @ np.maximum(cur[:, None] - d[:, free], 0.0)


def _interchange(d: np.ndarray, w: np.ndarray, fixed: list[int], added: list[int],
                 free: np.ndarray) -> tuple[list[int], int]:
    """Best-improvement 1-swaps of the added detectors (fixed ones stay) until none helps. Each pass is
    vectorised: for every placed j, the per-scenario best without j comes from the best and second best."""
    added = list(added)
    swaps = 0
    for _ in range(50):  # each accepted swap strictly lowers the objective; 50 passes is plenty in practice
        layout = fixed + added
        sub = d[:, layout]
        order = np.argsort(sub, axis=1, kind="stable")
        best = sub[np.arange(sub.shape[0]), order[:, 0]]
        second = sub[np.arange(sub.shape[0]), order[:, 1]] if len(layout) > 1 else np.full(sub.shape[0], d.max())
        cur = float(w @ best)
        best_move = (0.0, -1, -1)
        in_layout = set(layout)
        cand = np.array([c for c in free if c not in in_layout], dtype=np.int64)
        if cand.size == 0:
            break
        for pos in range(len(added)):
            jcol = len(fixed) + pos
            without = np.where(order[:, 0] == jcol, second, best)
            vals = w @ np.minimum(without[:, None], d[:, cand])
            k = int(np.argmin(vals))
            delta = cur - float(vals[k])
            if delta > best_move[0] + 1e-12 * max(cur, 1.0):
                best_move = (delta, pos, int(cand[k]))
        if best_move[1] < 0:
            break
        added[best_move[1]] = best_move[2]
        swaps += 1
    return fixed + added, swaps


def coverage_greedy(cover: np.ndarray, *, budget: int | None = None, target: float | None = None,
                    weights: np.ndarray | None = None, fixed: Sequence[int] = ()) -> GreedyResult:
    """Maximise the weighted share of scenarios covered (``cover``: scenario x candidate booleans) with
    ``budget`` further detectors, or add detectors until the share reaches ``target`` (0..1).

    Coverage is monotone submodular: lazy greedy is within ``1 - 1/e`` for a budget (with the
    data-dependent bound as for :func:`impact_greedy`), and within ``1 + ln(max coverage count)`` of the
    fewest detectors for a target. For a target, ``bound`` is a lower bound on the number of detectors
    still needed beyond the fixed ones (the fewest whose single coverages could add up to the target).
    """
    S, C = cover.shape
    w = scenario_weights(S, weights)
    fixed = [int(f) for f in fixed]
    covered = cover[:, fixed].any(axis=1) if fixed else np.zeros(S, dtype=bool)
    free = np.array([c for c in range(C) if c not in set(fixed)], dtype=np.int64)
    base = float(w @ covered)
    cov_f = cover.astype(float)

    def all_gains() -> np.ndarray:
        return (w * ~covered) @ cov_f[:, free]

    def gain_of(c: int) -> float:
        return float((w * ~covered) @ cov_f[:, c])

    def apply(c: int) -> None:
        np.logical_or(covered, cover[:, c], out=covered)

    if target is None:
        k = min(int(budget or 0), free.size)
        added, gbound, evals = _lazy_greedy(gain_of, all_gains, free, k, apply)
        obj = float(w @ covered)
        bound = min(1.0, base + gbound) if k else obj
        bound = max(bound, obj)
        gap = (bound - obj) / bound if bound > 0 else 0.0
        return GreedyResult(fixed + added, obj, bound, gap, obj, a_priori=1.0 - 1.0 / math.e, evaluations=evals)
    # target: add the best detector until reached (ties broken by index for determinism)
    added = []
    evals = 0
    tol = 1e-12
    single = (w * ~covered) @ cov_f[:, free]
    need = target - base
    lb = 0
    if need > tol:
        acc = np.cumsum(np.sort(single)[::-1])
        reach = np.flatnonzero(acc >= need - tol)
        lb = int(reach[0]) + 1 if reach.size else free.size + 1
    while float(w @ covered) < target - tol:
        g = (w * ~covered) @ cov_f[:, free]
        evals += free.size
        c = int(np.argmax(g))
        if g[c] <= 0:
            break
        added.append(int(free[c]))
        apply(int(free[c]))
    obj = float(w @ covered)
    gap = (len(added) - lb) / len(added) if added else 0.0
    return GreedyResult(fixed + added, obj, float(lb), gap, obj, a_priori=None, evaluations=evals)
