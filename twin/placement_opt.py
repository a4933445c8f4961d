"""Exact detector placement: the impact (p-median) and coverage MIPs in Pyomo, solved with HiGHS.

The formulations are Chama's (Klise, Nicholson and Laird, *Sensor placement optimization using Chama*,
Sandia report SAND2017-11472, 2017), written from the mathematics rather than its code, and built sparse so that large matrices stay quick:

**Impact** (minimise the expected detection time). Binary ``y_c`` (detector c installed), continuous
``x_sc`` in [0, 1] only for the pairs where c alarms before the penalty time P (``d_sc < P``)::

    min  sum_s w_s [ P - sum_c (P - d_sc) x_sc ]
    s.t. sum_c x_sc <= 1            (each scenario is "first detected" by at most one detector)
         x_sc <= y_c
         sum_c y_c <= K + |fixed|,  y_f = 1 for fixed f

The undetected slack of Chama's dummy sensor is the ``<= 1``. At an optimum x picks the earliest installed
detector of each scenario, so the x may stay continuous.

**Coverage** (maximise the share of scenarios detected within the time limit)::

    max  sum_s w_s z_s   s.t.  z_s <= sum_{c covers s} y_c,  sum_c y_c <= K + |fixed|

or, for a target share T, ``min sum_c y_c  s.t.  sum_s w_s z_s >= T``.

Needs the ``placement`` extra (``pip install drilltwin[placement]``: pyomo and highspy).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .placement import scenario_weights

__all__ = ["MipResult", "coverage_mip", "impact_mip", "solver_available"]


@dataclass
class MipResult:
    """chosen: candidate indices; objective: expected detection time (s) or covered share (or, for a
    target, the number of detectors); bound: the solver's best bound; gap: relative optimality gap;
    status: the termination condition; build_s / solve_s: wall seconds."""

    chosen: list[int]
    objective: float
    bound: float
    gap: float
    status: str
    build_s: float
    solve_s: float


def _pyomo():
    try:
        import pyomo.environ as pe
    except ImportError:
        raise InputError("the exact method needs Pyomo and HiGHS: pip install 'drilltwin[placement]'",
                         where="--method") from None
    return pe


def solver_available() -> bool:
    """Whether Pyomo and HiGHS are importable."""
    try:
        import highspy  # noqa: F401
        import pyomo.environ  # noqa: F401
    except ImportError:
        return False
    return True


def _solve(pe, m, sense_min: bool, time_limit: float, mip_gap: float):
    """Solve with HiGHS through Pyomo's in-memory interface; return (status, incumbent, bound)."""
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs()
    if not opt.available():
        raise InputError("HiGHS is not available to Pyomo: pip install highspy", where="--method")
    opt.config.time_limit = float(time_limit)
    opt.config.mip_gap = float(mip_gap)
    opt.config.load_solution = False
    opt.config.stream_solver = False
    res = opt.solve(m)
    status = str(res.termination_condition).split(".")[-1]
    try:
        res.solution_loader.load_vars()
    except Exception:  # no feasible solution found (time limit before the first incumbent)
        raise InputError(f"the MIP found no solution ({status}); raise the time limit or use greedy",
                         where="--method") from None
    inc = res.best_feasible_objective
    bnd = res.best_objective_bound
    if bnd is None or not math.isfinite(bnd):
        bnd = inc
    return status, float(inc), float(bnd)


def impact_mip(D: np.ndarray, budget: int, penalty: float, *, weights: np.ndarray | None = None,
               fixed: Sequence[int] = (), time_limit: float = 120.0, mip_gap: float = 0.0) -> MipResult:
    """Exact minimum expected detection time with ``budget`` detectors beyond ``fixed`` (see module)."""
    pe = _pyomo()
    t0 = time.perf_counter()
    S, C = D.shape
    w = scenario_weights(S, weights)
    fixed = sorted({int(f) for f in fixed})
    ss, cc = np.nonzero(D < penalty)
    benefit = (penalty - D[ss, cc]) * w[ss]  # objective reduction when s is first seen by c
    used = np.unique(np.r_[cc, fixed]).astype(np.int64)
    pos = {int(c): i for i, c in enumerate(used)}
    m = pe.ConcreteModel()
    m.Y = pe.RangeSet(0, len(used) - 1) if len(used) else pe.Set(initialize=[])
    m.y = pe.Var(m.Y, within=pe.Binary)
    m.P = pe.RangeSet(0, len(ss) - 1) if len(ss) else pe.Set(initialize=[])
    m.x = pe.Var(m.P, bounds=(0.0, 1.0))
    base = float(penalty)
    m.obj = pe.Objective(expr=base - sum(float(benefit[p]) * m.x[p] for p in range(len(ss))), sense=pe.minimize)
    # group pairs by scenario once (argsort), not per constraint
    order = np.argsort(ss, kind="stable")
    bounds = np.searchsorted(ss[order], np.arange(S + 1))
    m.one = pe.ConstraintList()
    for s in range(S):
        ps = order[bounds[s]:bounds[s + 1]]
        if ps.size > 1:
            m.one.add(sum(m.x[int(p)] for p in ps) <= 1)
    m.link = pe.Constraint(m.P, rule=lambda mm, p: mm.x[p] <= mm.y[pos[int(cc[p])]])
    k_total = min(int(budget) + len(fixed), C)
    m.budget = pe.Constraint(expr=sum(m.y[i] for i in m.Y) <= k_total)
    for f in fixed:
        m.y[pos[f]].fix(1)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    status, inc, bnd = _solve(pe, m, True, time_limit, mip_gap)
    solve = time.perf_counter() - t1
    chosen = [int(used[i]) for i in m.Y if pe.value(m.y[i]) > 0.5]
    chosen = fixed + [c for c in chosen if c not in set(fixed)]
    # the objective of the chosen layout from the data (not the LP value: x may sit below y)
    obj = float(w @ np.minimum(D[:, chosen].min(axis=1), penalty)) if chosen else base
    gap = max(obj - bnd, 0.0) / obj if obj > 0 else 0.0
    return MipResult(chosen, obj, min(bnd, obj), gap, status, build, solve)


def coverage_mip(cover: np.ndarray, *, budget: int | None = None, target: float | None = None,
                 weights: np.ndarray | None = None, fixed: Sequence[int] = (), time_limit: float = 120.0,
                 mip_gap: float = 0.0) -> MipResult:
    """Exact maximum coverage with ``budget`` detectors beyond ``fixed``, or the fewest detectors whose
    covered share reaches ``target`` (see module). ``cover``: scenario x candidate booleans."""
    pe = _pyomo()
    t0 = time.perf_counter()
    S, C = cover.shape
    w = scenario_weights(S, weights)
    fixed = sorted({int(f) for f in fixed})
    ss, cc = np.nonzero(cover)
    used = np.unique(np.r_[cc, fixed]).astype(np.int64)
    pos = {int(c): i for i, c in enumerate(used)}
    scen = np.unique(ss)
    m = pe.ConcreteModel()
    m.Y = pe.RangeSet(0, len(used) - 1) if len(used) else pe.Set(initialize=[])
    m.y = pe.Var(m.Y, within=pe.Binary)
    m.Z = pe.Set(initialize=[int(s) for s in scen])
    m.z = pe.Var(m.Z, bounds=(0.0, 1.0))
    order = np.argsort(ss, kind="stable")
    bounds = np.searchsorted(ss[order], np.arange(S + 1))
    m.cov = pe.ConstraintList()
    for s in scen:
        cs = cc[order[bounds[s]:bounds[s + 1]]]
        m.cov.add(m.z[int(s)] <= sum(m.y[pos[int(c)]] for c in cs))
    share = sum(float(w[s]) * m.z[int(s)] for s in scen)
    for f in fixed:
        m.y[pos[f]].fix(1)
    if target is None:
        m.budget = pe.Constraint(expr=sum(m.y[i] for i in m.Y) <= min(int(budget or 0) + len(fixed), C))
        m.obj = pe.Objective(expr=share, sense=pe.maximize)
    else:
        m.target = pe.Constraint(expr=share >= float(target) - 1e-9)
        m.obj = pe.Objective(expr=sum(m.y[i] for i in m.Y), sense=pe.minimize)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    status, inc, bnd = _solve(pe, m, target is not None, time_limit, mip_gap)
    solve = time.perf_counter() - t1
    chosen = [int(used[i]) for i in m.Y if pe.value(m.y[i]) > 0.5]
    chosen = fixed + [c for c in chosen if c not in set(fixed)]
    got = float(w @ cover[:, chosen].any(axis=1)) if chosen else 0.0
    if target is None:
        bnd = max(bnd, got)
        gap = (bnd - got) / bnd if bnd > 0 else 0.0
        return MipResult(chosen, got, bnd, gap, status, build, solve)
    n_added = len(chosen) - len(fixed)
    lb = max(math.ceil(bnd - 1e-6) - len(fixed), 0)
    gap = (n_added - lb) / n_added if n_added else 0.0
    return MipResult(chosen, got, float(lb), gap, status, build, solve)
