"""Several exponential steps from one Taylor basis: the multizone model's fast path while nothing changes.

While the doors, ventilation, sources and outdoor boundary of :class:`twin.dispersion.Multizone` stay as
they are, its balance ``dC/dt = J C + b`` has constant coefficients and the exact solution from a state
``C_0`` is ``C(t) = exp(t A) (C_0, 1)`` with the augmented generator ``A = [[J, b], [0, 0]]``. Its Taylor
polynomial of degree K is a combination of the vectors

    v_0 = C_0,   v_1 = h (J C_0 + b),   v_i = h J v_(i-1)  (i >= 2),   C(j h) ~ sum_i j^i / i! v_i,

so one basis of K sparse products gives the next r steps at once, each as one small dense product
``coef_j @ basis``, instead of r times the m sparse products of a single step (:meth:`Multizone.step`'s
Horner recursion). On the 2,000-zone benchmark grid a step costs 6 products (32 us) alone; in blocks of
26 steps the basis takes 17 products: about 7 us per step including the combination.

Every output ``C(j h)`` is the Taylor polynomial of the exact propagator at ``t = j h``, so the same
arguments as for one step hold (module notes of :mod:`twin.dispersion`):

* *accuracy*: K is the smallest degree whose remainder bound at the block's last step is below the
  tolerance; earlier steps are more accurate. Steps within a block do not accumulate error (each is
  computed from the block's start);
* *positivity*: with ``r h max_i K_ii / V_i <= 1`` every output's propagator is a non-negative matrix
  (the Taylor polynomials' threshold factor is 1), so :func:`block_plan` never makes a block longer;
* *mass*: with ``lambda_i = loss . v_i`` the outflow over step j is
  ``h sum_(i<K) lambda_i (j^(i+1) - (j-1)^(i+1)) / (i+1)!`` (the integral of the degree K-1 part: the
  augmented system's outflow-accumulator row, as for one step), which closes the mass balance to
  round-off whatever K.

The basis is computed only when the model has been stable for a while, and a block is only as long as
the number of steps it has been stable before (doubling up to the best length): a change mid-block wastes
at most the basis, never more than the steps already saved.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["BLOCK_MAX", "TaylorBlock", "block_plan"]

BLOCK_MAX = 32
"""Longest block, steps. Beyond about 30 the basis grows (K) nearly as fast as the block, and the
positivity condition usually binds first."""
GEMV_WEIGHT = 0.2
"""Cost of one entry of the dense combination relative to one stored entry of the sparse product: the
dense product streams contiguous rows, the sparse one gathers (measured on the benchmark grid: 0.1 ns
against 0.5 ns)."""


def block_plan(norm_dt: float, diag_dt: float, nnz: int, n: int, tol: float,
               degree: Callable[[float, float], int], r_max: int = BLOCK_MAX) -> list[tuple[int, int]]:
    """The (steps r, degree K) of the cheapest block for each cap on r: entry ``r_cap - 2`` is the plan
    for blocks of at most ``r_cap`` steps (r_cap = 2 .. r_max); empty when no block of two steps is
    positive (``2 diag_dt > 1``).

    ``norm_dt``: the mass-weighted 1-norm of ``J h``; ``diag_dt``: ``h max_i K_ii / V_i``; ``nnz`` and
    ``n``: the stored entries and rows of J; ``degree(rho, tol)``: the Taylor degree for norm ``rho``
    (:func:`twin.dispersion.taylor_degree`). The cost per step of a block is
    ``K (nnz + n) / r + GEMV_WEIGHT (K + 1) n`` (the basis spread over the block, plus one combination).
    """
    if diag_dt <= 0.0:
        r_pos = r_max
    else:
        r_pos = min(r_max, int(math.floor((1.0 + 1e-12) / diag_dt)))
    best: tuple[float, int, int] | None = None
    plans: list[tuple[int, int]] = []
    for r in range(2, r_pos + 1):
        k = degree(norm_dt * r, tol)
        cost = k * (nnz + n) / r + GEMV_WEIGHT * (k + 1) * n
        if best is None or cost < best[0]:
            best = (cost, r, k)
        plans.append((best[1], best[2]))
    return plans


class TaylorBlock:
    """The basis of one block and its outputs (see the module notes).

    Parameters
    ----------
    indptr, indices, data:
        ``h J`` in CSR form (1, dimensionless per step).
    matvec:
        ``matvec(n_row, n_col, indptr, indices, data, x, y)``: ``y += A x`` (scipy's kernel).
    c0:
        The state at the block's start, kg/m3 (copied).
    hb:
        The sources and outdoor inflow over one step, ``h b`` (kg/m3 per step), or None.
    loss:
        Outflow to outside and sinks per unit concentration, m3/s (column sums of K).
    h:
        Step, s.
    steps, degree:
        The block length r and the Taylor degree K.
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                 matvec: Callable[..., None], c0: np.ndarray, hb: np.ndarray | None, loss: np.ndarray,
                 h: float, steps: int, degree: int):
        n = len(c0)
        basis = np.zeros((degree + 1, n))
        basis[0] = c0
        if hb is not None:
            basis[1] = hb
        for i in range(1, degree + 1):
            matvec(n, n, indptr, indices, data, basis[i - 1], basis[i])
        self.basis = basis
        self.steps = steps
        self.done = 0
        """Steps taken from this block so far."""
        i = np.arange(degree + 1)
        inv_fact = np.array([1.0 / math.factorial(k) for k in i])
        j = np.arange(1, steps + 1, dtype=float)[:, None]
        self._coef = j ** i * inv_fact  # row j-1: j^i / i!
        # outflow over step j: h sum_(i<K) lambda_i (j^(i+1) - (j-1)^(i+1)) / (i+1)!
        lam = basis[:degree] @ loss
        p = i[:degree] + 1
        self._loss = h * ((j ** p - (j - 1.0) ** p) * inv_fact[1:]) @ lam

    def next(self) -> tuple[np.ndarray, float]:
        """The next step's concentrations (a new array, kg/m3) and the mass (kg) that left during it."""
        k = self.done
        self.done += 1
        return self._coef[k] @ self.basis, float(self._loss[k])

    @property
    def exhausted(self) -> bool:
        return self.done >= self.steps
