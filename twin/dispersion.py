"""Indoor gas transport: the well-mixed multizone mass balance (CONTAM style) over the topology graph.

Each air zone ``i`` of :attr:`twin.graph.SiteGraph.topo` is well mixed with volume ``V_i`` (m3) and
concentration ``C_i`` (kg/m3 of the released gas: a trace species, or with ``gas_density`` a volume source that
displaces zone air, see "Volume sources" below). The outside is a boundary of fixed concentration (0 unless set, e.g. from an outdoor plume).
Per zone (NIST CONTAM User Guide, TN 1887r1, "Theory")::

    V_i dC_i/dt = sum_j Q_ji C_j - (sum_j Q_ij + k_i V_i) C_i + S_i

with Q_ij the air flow from i to j (m3/s), k_i a first-order sink (1/s: deposition, sorption, a scrubber)
and S_i the source (kg/s). Air flows, all balanced so that inflow = outflow at every zone:

* **Ventilation** from the zone's ``ach`` (1/h): supply from outside = exhaust to outside,
  ``Q = ach V / 3600``. The supply carries the outdoor concentration of that zone's inlet.
* **Open doors** (``kind="door"``, ``open=True``): a two-way exchange ``Q`` each way, driven by a small
  temperature difference across the opening (:func:`doorway_exchange`).
* **Shut doors**: the same exchange law through the crack around the leaf (:func:`leak_exchange`).
* **Stairs** (``kind="stair"``): open shafts, treated as an always-open doorway of the stair's width and
  ``stair_height`` (2.1 m, door headroom).
* **Cells of one space** (``kind="cell"``): strong exchange ``Q = u_mix * L * H`` across the shared
  length L (m) over the zone height H, with an effective mixing velocity ``u_mix`` (default 0.05 m/s).
* **Directed flows** added with :meth:`Multizone.add_flow` (fans, ducts, transfer air): these must
  balance at every zone or :class:`~twin.errors.InputError` is raised.

**Units.** C in kg/m3, V in m3, Q and K in m3/s, k in 1/s, S in kg/s, t and dt in s. The balance is
linear, so any concentration unit works for C if sources use it times m3/s.

**Numerics.** Write the balance as ``V dC/dt = -K C + b`` (K: the transport matrix above, column sums =
loss to outside and sinks; b: sources and outdoor inflow, kg/s) and ``J = -V^-1 K`` (1/s). Three
schemes, ``scheme=`` (:attr:`Multizone.active_scheme` says which one a step uses):

* **Exponential** (``"exponential"``, the default). Over one step with constant coefficients the exact
  solution is ``C' = exp(J dt) C + phi_1(J dt) dt V^-1 b``. The step applies the degree-m Taylor
  polynomial of the exponential of the augmented generator ``[[J h, g], [0, 0]]`` to ``(C, 1)`` by
  Horner's rule (m sparse products, no factorisation), in s substeps of ``h = dt / s``, with g the gas the
  sources and the outdoor inflow add per substep (the exact mass released over the step, spread evenly).
  The degree is the smallest whose remainder bound ``rho^(m+1) / (m+1)! / (1 - rho/(m+2))`` is below
  ``exp_tol`` (:data:`EXP_TOL` = 1e-11 relative to the gas mass, per step), rho being the mass-weighted
  1-norm of ``J h`` (``max_j sum_i |K_ij| / V_j * h``). The result is exact to that bound: after N steps
  the relative error is at most about ``N * exp_tol``, and on the 2,000-zone benchmark it is at
  round-off (4e-15 of the peak at 1 s and 5 s steps). Door toggles update J in place (four entries per
  door); sources and the outdoor boundary are as for the trapezoidal rule (outdoor inflow averaged between
  the boundary at the step's start and end: second order in a time-varying boundary, exact for a
  constant one). Fixing ``exp_degree=m`` instead gives the order-m Taylor method (for verification).
  *Positivity*: the Taylor polynomials of exp have threshold factor 1 (every derivative
  ``p_k(-1) = sum_{i<=k} (-1)^i / i!`` is >= 0), and ``J h + I`` is non-negative when
  ``h max_i K_ii / V_i <= 1``, so ``p(J h) = p(-I + (J h + I))`` expanded about -1 is a non-negative
  matrix: the substeps are chosen so (``s >= dt max_i (outflow_i + k_i V_i) / V_i``), which makes the
  scheme non-negative for any dt. The augmented column g is non-negative too. *Mass*: the outflow over a
  substep is ``h loss . w_2`` (w_2: the Horner vector entering the last level, the augmented system's
  outflow-accumulator row), so the per-step balance closes to round-off whatever the degree. *Cost and
  fallback*: s x m sparse products per step (6 at dt = 1 s on the benchmark, about 5 us each for 2,000
  zones); when a stiff model (tiny zones with large flows at a long step) would need more than
  :data:`EXP_MAX_MATVECS`, the step falls back to the trapezoidal rule or implicit Euler below, which
  an LU makes cheaper there, and returns to the exponential scheme when the state allows it again.
  *Blocks*: while nothing changes (doors, ventilation, the releases' per-step masses, the outdoor
  boundary, the state between steps), the next r steps are the Taylor polynomials of the same
  propagator at ``h, 2h, ..., rh`` and come from one basis of K sparse products
  (:mod:`twin.taylor_block`: 26 steps from 17 products on the benchmark, about a fifth of the cost per
  step). A block starts once the model has been unchanged for two steps, is at most as long as it has
  been unchanged (doubling to the best length), and only as long as positivity allows
  (``r dt max_i K_ii / V_i <= 1``); any change ends it. Its steps meet the same tolerance, positivity
  and mass balance (``exp_blocks=False`` turns them off; the results agree to round-off).
* **The implicit schemes**, a theta scheme with ``theta = 1/2`` or 1 and s the sources and inflow::

    (V/dt + theta K) C' = (V/dt - (1 - theta) K) C + s

* **Trapezoidal rule** (Crank-Nicolson, ``theta = 1/2``, ``"trapezoidal"``): second order, error ~ dt^2
  (1e-6 of the peak at 1 s on the benchmark). It keeps
  concentrations non-negative when the explicit half ``V/dt - K/2`` is non-negative, i.e. when every zone
  satisfies ``dt <= 2 V_i / (outflow_i + k_i V_i)`` (twice the zone's residence time;
  :meth:`Multizone.max_trapezoidal_dt`). Its off-diagonals ``Q_ji/2`` are non-negative anyway, and the
  inverse of the implicit matrix is non-negative (below), so the propagator is then non-negative, and it
  has no spurious oscillation (every mode's factor ``(1 - z/2)/(1 + z/2)`` lies in [0, 1) for
  ``0 <= z <= 2``). It is solved as ``C' = 2 Y - C`` with ``(V/dt + K/2) Y = V/dt C + s/2``: one solve,
  no product with K. The outdoor inflow is averaged between the boundary at the start of the step (what
  the previous step's hook set) and at its end.
* **Implicit Euler** (``theta = 1``, ContamX's default contaminant solver, ``"euler"``): first order,
  non-negative for any step. Used when asked for, and automatically whenever the trapezoidal step
  condition fails (checked at every factorisation).

After every step a negative concentration can only be round-off (every propagator above is
non-negative); it is set to 0 and the largest such value is kept in :attr:`Multizone.max_clipped`, so
that clipping never hides a flaw (the tests hold it at round-off).

The implicit matrix ``V/dt + theta K`` is an M-matrix (positive diagonal, non-positive off-diagonals,
every column diagonally dominant by at least ``V_j/dt``), so its inverse is non-negative. It is checked on
every assembly and factorised with ``scipy.sparse.linalg.splu`` (minimum-degree ordering of ``A + A^T``,
diagonal pivots: no pivoting is needed for a diagonally dominant matrix), again only when ventilation, a
sink, a directed flow or the step changes, or a door opens or shuts. On models of
:data:`LOW_RANK_MIN_ZONES` zones or more, door toggles are folded into the existing factorisation as
low-rank corrections (Woodbury identity; one extra solve per toggled door, up to
:attr:`Multizone.LOW_RANK_MAX` doors before refactorising) instead. Sources enter as the exact mass
released over each step (rate curves are integrated exactly; callables by the midpoint rule; a burst is
mixed into its zone at the start of its step), so the per-step mass balance
``M' - M = released + dt*(inflow from outside - outflow to outside - sink)`` (outflows at the scheme's
time level, or integrated over the step by the exponential scheme) closes to round-off (:meth:`Multizone.mass_balance_error`, relative, well below 1e-9).

**Volume sources** (``gas_density=``, the density of the pure released gas at the zones' temperature and
pressure, kg/m3). A release of m kg/s brings its own volume ``q = m / rho_gas`` (m3/s) into the zone, which
pushes an equal extra outflow of the zone's mixture out: straight to outside when the zone has an exterior
path (exhaust, exterior door, the crack of a shut one), else through the fewest interior openings to the
nearest zone that has one (each zone on the way passes the same volume on). Then the mole fraction
``x = C / rho_gas`` of one ventilated zone is ``q / (Q + q) (1 - exp(-(Q + q) t / V))``, bounded by 1
(without it, a trace species, ``m / Q`` grows past pure gas). The flows follow the releases' rates
(updated when a zone's changes by :data:`DISPLACEMENT_TOL`); a burst of volume ``M / rho_gas`` pushes that
volume of mixture out before it mixes. After every step the largest fraction is kept
(:attr:`Multizone.max_mole_fraction`); zones passing :data:`NEAR_PURE` are reported
(:attr:`Multizone.near_pure`, a ``RuntimeWarning``); fractions above 1 (round-off) are cut back to 1.
Oxygen is displaced with the air: ``O2 = 0.2095 (1 - x)`` (:meth:`Multizone.oxygen_fraction`). The gas
is still assumed to mix with the zone air (no density layering), and the displacement adds no pressure
(the flows are volumes, as CONTAM's non-trace species add mass to a zone's air; NIST TN 1887r1).

**Limits.** Well mixed: a detector in the source zone sees the zone mean, not the jet or a dense layer
near the floor. No stack or wind pressures: door exchange is a fixed estimate per opening, not solved
from pressures. Dense gases are treated as passive. Numerically, every scheme takes the mass each source
releases over a step exactly but not its timing within the step (each treats it as a constant rate over
the step): rate changes within a step are resolved only to dt, which is also where the exponential
scheme's exactness ends (it is exact for rates constant over each step).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import networkx as nx
import numpy as np
from scipy.sparse import csc_matrix, csr_matrix, diags
from scipy.sparse.linalg import MatrixRankWarning, splu, spsolve

from .errors import InputError
from .taylor_block import TaylorBlock, block_plan


def _csr_matvec_fallback(n_row: int, n_col: int, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                         x: np.ndarray, y: np.ndarray) -> None:
    """``y += A x`` for the CSR arrays of A through the public operator (if scipy's kernel moves)."""
    y += csr_matrix((data, indices, indptr), shape=(n_row, n_col)) @ x


try:  # scipy's compiled kernel behind ``A @ x`` for CSR: y += A x in place, without the ~10 us of Python
    # dispatch that ``A @ x`` costs on every call (a 2,000-zone product itself takes ~4 us)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - a future scipy may move it: fall back to the public operator
    _csr_matvec = _csr_matvec_fallback

__all__ = [
    "CELL_VELOCITY",
    "DOOR_CD",
    "DISPLACEMENT_TOL",
    "DOOR_DT",
    "EXP_MAX_MATVECS",
    "EXP_TOL",
    "SCHEMES",
    "LEAK_GAP",
    "Multizone",
    "NEAR_PURE",
    "O2_IN_AIR",
    "Opening",
    "RateCurve",
    "STAIR_HEIGHT",
    "doorway_exchange",
    "leak_exchange",
    "taylor_degree",
]

OUTSIDE = "outside"  # the boundary node of the topology graph (twin.graph.OUTSIDE)
G = 9.80665
"""Standard gravity, m/s2."""
T_ROOM = 293.15
"""Indoor reference temperature, K (20 °C)."""
DOOR_CD = 0.6
"""Discharge coefficient of a sharp-edged opening (the value used for doors and windows in CIBSE Guide A
and the ASHRAE Handbook of Fundamentals, ch. "Ventilation and infiltration")."""
DOOR_DT = 1.0
"""Temperature difference (K) assumed across an open interior door. Rooms of one building differ by a
degree or two; 1 K gives about 0.1 m3/s each way through a 0.9 m x 2.1 m door, the order measured for
doorway exchange between rooms (Lidwell, J. Hyg. Camb. 79 (1977) 141)."""
LEAK_GAP = 0.003
"""Mean width (m) of the crack around a shut door leaf (3 mm all round). An assumption: undercuts of
5-10 mm are common, weather-stripped doors are tighter."""
CELL_VELOCITY = 0.05
"""Effective one-way mixing velocity (m/s) across the open interface between two cells of one space.
Air speeds in occupied rooms are typically 0.05-0.2 m/s (ASHRAE 55 treats below 0.2 m/s as still air);
taking the low end as the net exchange velocity keeps cells of a hall strongly but not instantly mixed."""
STAIR_HEIGHT = 2.1
"""Height (m) of the opening a stair presents between two storeys, as for a door."""
LOW_RANK_MIN_ZONES = 256
"""Models with at least this many zones fold door toggles into the existing factorisation as low-rank
(Woodbury) updates; smaller ones refactorise (cheap there)."""
EXP_TOL = 1e-11
"""Per-step truncation tolerance of ``scheme="exponential"``: the Taylor degree is the smallest whose
remainder bound ``rho^(m+1) / (m+1)! / (1 - rho/(m+2))`` (rho: the norm of ``J h``, mass-weighted) is at
most this, relative to the gas mass. A bound: the error measured is at round-off (see the module notes)."""
EXP_MAX_MATVECS = 48
"""Most sparse products per step the exponential scheme may spend (substeps x degree). A stiffer model
(tiny zones with large flows at a long step) falls back to the implicit scheme (:attr:`Multizone.active_scheme`):
beyond this an LU solve is cheaper."""
SCHEMES = ("exponential", "trapezoidal", "euler")
DISPLACEMENT_TOL = 0.01
"""Relative change of a zone's release volume flow (m3/s) that updates the displacement flows in the
transport matrix (volume sources, ``gas_density``). Smaller changes keep the flows in force, so a slowly
ramping release does not rebuild the matrix every step: the released mass stays exact, the outflow it
pushes is within this fraction."""
NEAR_PURE = 0.5
"""Mole fraction of the released gas above which a zone is reported as nearly pure gas (a warning, and
:attr:`Multizone.near_pure`): the air there is at most half air, and oxygen below 10.5 %."""
O2_IN_AIR = 0.2095
"""Mole fraction of oxygen in dry air (U.S. Standard Atmosphere 1976, NOAA/NASA/USAF, Table 3)."""
"""The time-stepping schemes of :class:`Multizone` (``scheme=``)."""


def taylor_degree(rho: float, tol: float = EXP_TOL, max_degree: int = 60) -> int:
    """The smallest degree m >= 1 whose Taylor remainder of ``exp`` at norm ``rho`` is at most ``tol``:
    ``rho^(m+1) / (m+1)! / (1 - rho / (m+2)) <= tol`` (the first neglected term times the geometric bound
    of the rest). ``max_degree + 1`` when no degree up to ``max_degree`` is enough."""
    if rho <= 0.0:
        return 1
    term = rho  # rho^(m+1) / (m+1)! for m = 0
    for m in range(1, max_degree + 1):
        term *= rho / (m + 1)
        if rho < m + 2 and term / (1.0 - rho / (m + 2)) <= tol:
            return m
    return max_degree + 1


def doorway_exchange(width: float, height: float, *, cd: float = DOOR_CD, dT: float = DOOR_DT,
                     T: float = T_ROOM) -> float:
    """Two-way exchange through a vertical opening, m3/s each way.

    Buoyancy-driven counterflow through an opening of width W and height H with a temperature difference
    dT between the rooms, neutral plane at mid-height (Brown & Solvason, Int. J. Heat Mass Transfer 5
    (1962) 859; the single-opening formula of CIBSE Guide A)::

        Q = (cd / 3) * W * H * sqrt(g * H * dT / T)
    """
    if width <= 0 or height <= 0:
        return 0.0
    return cd / 3.0 * width * height * math.sqrt(G * height * max(dT, 0.0) / T)


def leak_exchange(width: float, height: float, *, gap: float = LEAK_GAP, cd: float = DOOR_CD,
                  dT: float = DOOR_DT, T: float = T_ROOM) -> float:
    """Exchange through the crack around a shut door, m3/s each way: :func:`doorway_exchange` with the
    crack area ``2 (W + H) gap`` in place of ``W H`` (about 1 % of the open door)."""
    if width <= 0 or height <= 0:
        return 0.0
    area = 2.0 * (width + height) * gap
    return cd / 3.0 * area * math.sqrt(G * height * max(dT, 0.0) / T)


# ------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class RateCurve:
    """A release rate (kg/s) given at ``times`` (s after the source's start, ascending).

    ``interp="linear"`` joins the points; ``"step"`` holds each rate until the next time. Before the first
    time the rate is 0; after the last it holds the last rate (end with a 0 to stop the release).
    """

    times: tuple[float, ...]
    rates: tuple[float, ...]
    interp: Literal["linear", "step"] = "linear"

    def __post_init__(self) -> None:
        t = np.asarray(self.times, dtype=float)
        r = np.asarray(self.rates, dtype=float)
        if t.ndim != 1 or t.shape != r.shape or len(t) == 0:
            raise InputError("a rate curve needs as many rates as times, at least one")
        if np.any(np.diff(t) <= 0) or t[0] < 0:
            raise InputError("rate curve times must be ascending and not negative (s after the start)")
        if np.any(r < 0) or not np.all(np.isfinite(r)):
            raise InputError("rate curve rates must be finite and not negative (kg/s)")
        if self.interp not in ("linear", "step"):
            raise InputError(f"rate curve interpolation must be 'linear' or 'step', got {self.interp!r}")

    def rate(self, tau: float | np.ndarray) -> np.ndarray:
        """Rate (kg/s) at ``tau`` s after the start."""
        t = np.asarray(self.times, dtype=float)
        r = np.asarray(self.rates, dtype=float)
        tau = np.asarray(tau, dtype=float)
        if self.interp == "linear":
            return np.interp(tau, t, r, left=0.0, right=r[-1])
        k = np.searchsorted(t, tau, side="right") - 1
        return np.where(k >= 0, r[np.clip(k, 0, None)], 0.0)

    def mass(self, a: float, b: float) -> float:
        """Mass (kg) released between ``a`` and ``b`` s after the start (exact: the curve is linear or
        constant between its breakpoints, where the midpoint rule is exact)."""
        if b <= a:
            return 0.0
        t = np.asarray(self.times, dtype=float)
        pts = np.concatenate(([a], t[(t > a) & (t < b)], [b]))
        return float(np.sum(np.diff(pts) * self.rate(0.5 * (pts[:-1] + pts[1:]))))


RateLike = float | RateCurve | Callable[[float], float] | tuple[Sequence[float], Sequence[float]]


@dataclass
class _Source:
    id: str
    zone: int
    start: float
    stop: float
    rate: float | None = None
    curve: RateCurve | None = None
    fn: Callable[[float], float] | None = None
    burst: float = 0.0

    def mass(self, t0: float, t1: float) -> float:
        """Mass (kg) released in [t0, t1): continuous part plus a burst whose time falls in it."""
        m = 0.0
        if self.burst and t0 <= self.start < t1 and self.start < self.stop:
            m += self.burst
        a, b = max(t0, self.start), min(t1, self.stop)
        if b <= a:
            return m
        if self.rate is not None:
            m += self.rate * (b - a)
        elif self.curve is not None:
            m += self.curve.mass(a - self.start, b - self.start)
        elif self.fn is not None:
            m += max(float(self.fn(0.5 * (a + b))), 0.0) * (b - a)
        return m

    def rate_at(self, t: float) -> float:
        """Instantaneous rate (kg/s) at time t (bursts excluded)."""
        if not (self.start <= t < self.stop):
            return 0.0
        if self.rate is not None:
            return self.rate
        if self.curve is not None:
            return float(self.curve.rate(t - self.start))
        if self.fn is not None:
            return max(float(self.fn(t)), 0.0)
        return 0.0


@dataclass(frozen=True)
class Opening:
    """Where outdoor air enters: a zone's ventilation inlet (``kind="vent"``, ``id`` = zone id), an
    exterior door or stair (``id`` = edge key) or a directed flow from outside (``id`` = flow id).
    ``xy``/``z`` (m) are known when the model was built from a :class:`~twin.graph.SiteGraph`."""

    id: str
    kind: str
    zone: str
    xy: tuple[float, float] | None = None
    z: float | None = None


@dataclass
class _Link:
    key: str
    kind: str
    a: int  # zone index, -1 = outside
    b: int
    q_open: float
    q_shut: float
    is_open: bool


# ------------------------------------------------------------------------------------------ the model
class Multizone:
    """The multizone mass balance of one gas over a topology graph.

    Parameters
    ----------
    graph:
        A :class:`~twin.graph.SiteGraph` or its ``topo`` MultiGraph. Zone nodes need ``volume`` (m3);
        ``ach`` (1/h, default 0), ``height`` (m) and ``area`` (m2) are used when present.
    dt:
        Time step, s.
    door_exchange:
        ``f(width, height) -> m3/s`` each way through an open door or stair; default
        :func:`doorway_exchange` with ``door_cd`` and ``door_dT``.
    leak_gap, cell_velocity, stair_height:
        See :data:`LEAK_GAP`, :data:`CELL_VELOCITY`, :data:`STAIR_HEIGHT`.
    outdoor:
        Default outdoor concentration (kg/m3) at every opening.
    outdoor_hook:
        Called as ``hook(t_end, model)`` at the start of each step (``t_end`` = the end of the step). It
        may call :meth:`set_outdoor`, e.g. with an outdoor plume at each of :meth:`exterior_openings`.
        Implicit Euler uses that boundary over the step; the trapezoidal rule averages it with the one set
        at the previous step (the boundary at the step's start; the initial one before the first step).

    scheme:
        ``"exponential"`` (default; the exact step propagator to :data:`EXP_TOL` by a Taylor polynomial,
        non-negative for any step; falls back to the implicit schemes when a stiff model would need more
        than :data:`EXP_MAX_MATVECS` sparse products per step), ``"trapezoidal"`` (second order, falls back
        to implicit Euler whenever its positivity condition fails) or ``"euler"`` (implicit Euler, first
        order, positive for any step). See the module notes.
    low_rank:
        Fold door toggles into the factorisation as low-rank (Woodbury) updates instead of refactorising;
        default on from :data:`LOW_RANK_MIN_ZONES` zones. (The exponential scheme has no factorisation:
        with this on it updates its matrix in place, else it reassembles it.)
    exp_tol:
        Per-step truncation tolerance of the exponential scheme (:data:`EXP_TOL`).
    exp_degree:
        Fix the exponential scheme's Taylor degree instead of choosing it from ``exp_tol`` (then the scheme
        is of order ``exp_degree`` in dt: for verification and studies; no Taylor blocks then).
    exp_blocks:
        Take the exponential scheme's steps in Taylor blocks while nothing changes (:mod:`twin.taylor_block`;
        default). Off: every step by its own Horner recursion (for comparison; same results to round-off).

    Zones are ordered by sorted id (:attr:`zones`, :attr:`zone_index`); :attr:`c` is in that order.
    """

    LOW_RANK_MAX = 32
    """Most door links held as low-rank corrections before the matrix is refactorised."""

    def __init__(self, graph: Any, *, dt: float = 1.0, door_exchange: Callable[[float, float], float] | None = None,
                 door_cd: float = DOOR_CD, door_dT: float = DOOR_DT, leak_gap: float = LEAK_GAP,
                 cell_velocity: float = CELL_VELOCITY, stair_height: float = STAIR_HEIGHT, t0: float = 0.0,
                 outdoor: float = 0.0, outdoor_hook: Callable[[float, Multizone], None] | None = None,
                 scheme: Literal["exponential", "trapezoidal", "euler"] = "exponential",
                 low_rank: bool | None = None, exp_tol: float = EXP_TOL, exp_degree: int | None = None,
                 exp_blocks: bool = True, gas_density: float | None = None,
                 displacement_tol: float = DISPLACEMENT_TOL):
        self._site_graph = graph if hasattr(graph, "topo") else None
        topo: nx.MultiGraph = graph.topo if hasattr(graph, "topo") else graph
        if dt <= 0:
            raise InputError(f"time step must be positive, got {dt} s")
        if scheme not in SCHEMES:
            raise InputError(f"scheme must be one of {', '.join(map(repr, SCHEMES))}, got {scheme!r}")
        if not exp_tol > 0:
            raise InputError(f"exp_tol must be positive, got {exp_tol}")
        if exp_degree is not None and not (isinstance(exp_degree, int) and 1 <= exp_degree <= EXP_MAX_MATVECS):
            raise InputError(f"exp_degree must be an integer from 1 to {EXP_MAX_MATVECS}, got {exp_degree!r}")
        self.scheme = scheme
        """The requested scheme (each falls back to the next of exponential -> trapezoidal -> Euler where
        its cost cap or step condition fails; :attr:`active_scheme` says which is in use)."""
        if gas_density is not None and not gas_density > 0:
            raise InputError(f"gas_density must be positive (kg/m3 of the pure gas), got {gas_density!r}")
        self.gas_density = None if gas_density is None else float(gas_density)
        """Density (kg/m3) of the pure released gas at the zones' temperature and pressure: with it the
        sources are volume sources that displace zone air (module notes, "Volume sources"); None: a trace
        species (the released gas adds mass only)."""
        self._disp_tol = float(displacement_tol)
        self._exp_tol = float(exp_tol)
        self._exp_degree = exp_degree
        self._exp_blocks = bool(exp_blocks)
        nodes = {str(n): n for n in topo.nodes if n != OUTSIDE}
        self.zones: list[str] = sorted(nodes)
        self.zone_index: dict[str, int] = {z: i for i, z in enumerate(self.zones)}
        self.n = len(self.zones)
        self.volume = np.array([_volume(topo, nodes[z]) for z in self.zones], dtype=float)
        self.ach = np.array([float(topo.nodes[nodes[z]].get("ach", 0.0) or 0.0) for z in self.zones])
        self.sink = np.zeros(self.n)
        exch = door_exchange or (lambda w, h: doorway_exchange(w, h, cd=door_cd, dT=door_dT))
        self._links = self._build_links(topo, exch, leak_gap, door_cd, door_dT, cell_velocity, stair_height)
        self._doors: dict[str, list[int]] = {}
        for k, ln in enumerate(self._links):
            if ln.kind == "door":
                self._doors.setdefault(ln.key, []).append(k)
        # link arrays for vectorised assembly (the door states live in _lopen)
        self._la = np.array([ln.a for ln in self._links], dtype=np.int64)
        self._lb = np.array([ln.b for ln in self._links], dtype=np.int64)
        self._lq_open = np.array([ln.q_open for ln in self._links], dtype=float)
        self._lq_shut = np.array([ln.q_shut for ln in self._links], dtype=float)
        self._lopen = np.array([ln.is_open for ln in self._links], dtype=bool)
        inner = (self._la >= 0) & (self._lb >= 0)
        self._inner = np.flatnonzero(inner)
        self._outer = np.flatnonzero(~inner)
        self._outer_zone = np.maximum(self._la, self._lb)[self._outer]
        self._outer_keys = [self._links[k].key for k in self._outer]
        self._outer_pos = {int(k): i for i, k in enumerate(self._outer)}
        self._flows: dict[str, tuple[int, int, float]] = {}
        self._sources: dict[str, _Source] = {}
        self._outdoor_default = float(outdoor)
        self._outdoor: dict[str, float] = {}
        self._ext_c: np.ndarray | None = None
        self._ext_pos: dict[str, list[int]] = {}
        self.outdoor_hook = outdoor_hook
        self.c = np.zeros(self.n)
        """Concentrations, kg/m3, in :attr:`zones` order: a new array after every step (write with
        :meth:`set_concentration`)."""
        self._dt = float(dt)
        self._t_anchor = float(t0)
        self._k = 0
        self._dirty = True
        self._lu = None
        self._theta = 1.0
        self._mode = "euler"  # the scheme in use: exponential, trapezoidal or euler
        self._exp_plan = (1, 1)  # exponential scheme: (substeps, Taylor degree) per step
        self._J: csr_matrix | None = None
        self._exp_data: list[np.ndarray] = []
        self._exp_bufs = (np.empty(0), np.empty(0))  # work vectors of the exponential step
        self._exp_g: tuple[tuple, np.ndarray] | None = None  # (key, g/(s j) per level): _exp_source
        # Taylor blocks (twin.taylor_block): several steps from one basis while nothing changes
        self._mat_ver = 0  # bumped whenever J or the exponential plan changes (_set_plan)
        self._blk: TaylorBlock | None = None
        self._blk_key: tuple | None = None  # what the coefficients depend on, at the last step
        self._blk_stable = 0  # steps in a row with that key
        self._blk_plans: list[tuple[int, int]] = []  # block_plan(): (r, K) per cap on r
        self._blk_state: np.ndarray | None = None  # copy of the state a block step produced
        self._pending: dict[int, float] = {}  # link -> new exchange (m3/s), doors toggled since the last step
        self._low_rank = self.n >= LOW_RANK_MIN_ZONES if low_rank is None else bool(low_rank)
        self._ext_ver = 0
        self._inflow_cache: tuple[int, np.ndarray, float] | None = None
        self._lr_reset()
        self._last_error = 0.0
        self.max_mass_balance_error = 0.0
        """Largest per-step relative mass balance error so far."""
        self.max_clipped = 0.0
        """Largest negative concentration (kg/m3, as a positive number) set to 0 after a step so far: only
        round-off can produce one (every scheme's propagator is non-negative), and this shows its size."""
        self.released = 0.0
        """Total mass released indoors so far, kg."""
        self._disp_q = np.zeros(self.n)  # displacement volume flow (m3/s) per source zone in the matrix
        self._disp_sig: tuple = ()  # the releases (zone, kg) of the step the flows were last checked at
        self._routes: dict[int, list[tuple[int, int]]] = {}  # source zone -> its displacement route
        self.max_mole_fraction = 0.0
        """Largest mole fraction of the released gas in any zone so far (only with ``gas_density``)."""
        self.near_pure: list[tuple[float, str, float]] = []
        """(t, zone, mole fraction) the first time each zone passed :data:`NEAR_PURE` (with ``gas_density``)."""
        self.max_overfill = 0.0
        """Largest mole fraction above 1 cut back to 1 after a step (round-off only: the volume source
        bounds the fraction by construction; kept to show its size)."""
        self.factorisations = 0
        """How many times the matrix was factorised (for tests and benchmarks)."""
        self.low_rank_updates = 0
        """How many times door changes were folded into the factorisation as a low-rank update."""
        self.block_steps = 0
        """How many steps of the exponential scheme came from Taylor blocks (:mod:`twin.taylor_block`)."""
        self.blocks = 0
        """How many Taylor block bases were computed."""

    # ---------------------------------------------------------------------------------- construction
    def _build_links(self, topo: nx.MultiGraph, exch, leak_gap: float, cd: float, dT: float,
                     u_mix: float, stair_height: float) -> list[_Link]:
        links = []
        door_q: dict[tuple[float, float], tuple[float, float]] = {}  # most doors share a few sizes
        for u, v, key, data in topo.edges(keys=True, data=True):
            kind = data.get("kind", "door")
            a, b = self._node_index(u), self._node_index(v)
            if a < 0 and b < 0:
                continue
            width = float(data.get("width", 0.0) or 0.0)
            if kind == "door":
                h = float(data.get("height", 2.1) or 2.1)
                q = door_q.get((width, h))
                if q is None:
                    q = door_q[width, h] = (float(exch(width, h)),
                                            leak_exchange(width, h, gap=leak_gap, cd=cd, dT=dT))
                links.append(_Link(str(key), kind, a, b, q[0], q[1], bool(data.get("open", False))))
            elif kind == "stair":
                q = float(exch(width, stair_height))
                links.append(_Link(str(key), kind, a, b, q, q, True))
            elif kind == "cell":
                h = min(_height(topo, n) for n in (u, v) if n != OUTSIDE)
                q = u_mix * width * h
                links.append(_Link(str(key), kind, a, b, q, q, True))
            else:
                raise InputError(f"edge {u}-{v} ({key}) has unknown kind {kind!r}; expected door, stair or cell")
        return links

    def _node_index(self, node: Any) -> int:
        return -1 if node == OUTSIDE else self.zone_index[str(node)]

    def _zone(self, zone: str) -> int:
        try:
            return self.zone_index[zone]
        except KeyError:
            shown = ", ".join(self.zones[:20]) + (" ..." if self.n > 20 else "")
            raise InputError(f"unknown zone {zone!r}; zones: {shown}") from None

    # ------------------------------------------------------------------------------------ properties
    @property
    def t(self) -> float:
        """Current time, s."""
        return self._t_anchor + self._k * self._dt

    @property
    def dt(self) -> float:
        """Time step, s."""
        return self._dt

    def set_dt(self, dt: float) -> None:
        """Change the time step (refactorises on the next step)."""
        if dt <= 0:
            raise InputError(f"time step must be positive, got {dt} s")
        if dt != self._dt:
            self._t_anchor, self._k = self.t, 0
            self._dt = float(dt)
            self._dirty = True

    def mass(self) -> float:
        """Gas mass indoors, kg."""
        return float(self.volume @ self.c)

    def concentration(self, zone: str) -> float:
        """Concentration of one zone, kg/m3."""
        return float(self.c[self._zone(zone)])

    def mass_balance_error(self) -> float:
        """Relative mass balance error of the last step (0 before the first)."""
        return self._last_error

    # -------------------------------------------------------------------------------------- controls
    def set_door(self, door_id: str, open: bool) -> None:
        """Open or shut a door (an edge of kind ``door``); refactorises only if its state changes."""
        idx = self._doors.get(door_id)
        if idx is None:
            raise InputError(f"unknown door {door_id!r} in the topology graph")
        for k in idx:
            if self._lopen[k] != bool(open):
                self._lopen[k] = bool(open)
                self._pending[k] = float(self._lq_open[k] if open else self._lq_shut[k])

    def door_open(self, door_id: str) -> bool:
        idx = self._doors.get(door_id)
        if idx is None:
            raise InputError(f"unknown door {door_id!r} in the topology graph")
        return bool(self._lopen[idx[0]])

    def set_ach(self, zone: str, ach: float) -> None:
        """Set a zone's ventilation rate, air changes per hour (supply = exhaust)."""
        if ach < 0:
            raise InputError(f"air changes per hour must not be negative, got {ach}")
        i = self._zone(zone)
        if self.ach[i] != ach:
            self.ach[i] = ach
            self._routes.clear()
            self._dirty = True

    def set_sink(self, zone: str, k: float) -> None:
        """Set a zone's first-order removal rate ``k`` (1/s)."""
        if k < 0:
            raise InputError(f"sink rate must not be negative, got {k}")
        i = self._zone(zone)
        if self.sink[i] != k:
            self.sink[i] = k
            self._dirty = True

    def add_flow(self, src: str, dst: str, q: float, flow_id: str | None = None) -> str:
        """Add (or replace) a directed air flow ``q`` (m3/s) from zone ``src`` to zone ``dst``; either may
        be ``"outside"``. Directed flows must balance at every zone by the next step."""
        if q < 0:
            raise InputError(f"flow must not be negative, got {q} m3/s")
        a = -1 if src == OUTSIDE else self._zone(src)
        b = -1 if dst == OUTSIDE else self._zone(dst)
        if a == b:
            raise InputError("a flow needs two different ends")
        fid = flow_id or f"flow:{src}->{dst}"
        self._flows[fid] = (a, b, float(q))
        self._routes.clear()
        self._dirty = True
        return fid

    def add_exchange(self, zone_a: str, zone_b: str, q: float) -> tuple[str, str]:
        """A two-way exchange of ``q`` m3/s each way between two zones (or a zone and outside)."""
        return self.add_flow(zone_a, zone_b, q), self.add_flow(zone_b, zone_a, q)

    def set_concentration(self, zone: str, c: float) -> None:
        """Set one zone's concentration (kg/m3), e.g. an initial condition."""
        if c < 0:
            raise InputError(f"concentration must not be negative, got {c}")
        self.c[self._zone(zone)] = c

    def set_outdoor(self, default: float | None = None, openings: Mapping[str, float] | None = None) -> None:
        """Set the outdoor concentration (kg/m3) seen by openings: ``default`` for all without their own
        value, ``openings`` by :class:`Opening` id (zone id for a ventilation inlet, door/stair key, flow
        id). Does not refactorise."""
        if default is not None:
            self._outdoor_default = float(default)
            self._ext_c = None  # every opening without its own value changes
        if openings:
            for k, v in openings.items():
                self._outdoor[k] = float(v)
                if self._ext_c is not None:
                    for i in self._ext_pos.get(k, ()):
                        self._ext_c[i] = float(v)
        self._ext_ver += 1

    def exterior_openings(self) -> list[Opening]:
        """Every place outdoor air enters, with positions when built from a SiteGraph."""
        out = [Opening(z, "vent", z, *self._zone_position(z)) for z in self.zones]
        for ln in self._links:
            if (ln.a < 0) != (ln.b < 0):
                z = self.zones[max(ln.a, ln.b)]
                out.append(Opening(ln.key, ln.kind, z, *self._door_position(ln.key)))
        for fid, (a, b, _) in self._flows.items():
            if a < 0 and b >= 0:
                out.append(Opening(fid, "flow", self.zones[b], *self._zone_position(self.zones[b])))
        return out

    def _zone_position(self, zone: str) -> tuple[tuple[float, float] | None, float | None]:
        g = self._site_graph
        if g is None or zone not in getattr(g, "zones", {}):
            return None, None
        z = g.zones[zone]
        p = z.polygon.centroid
        return (float(p.x), float(p.y)), float(z.elevation + 0.5 * z.height)

    def _door_position(self, key: str) -> tuple[tuple[float, float] | None, float | None]:
        g = self._site_graph
        door = g.site.doors.get(key) if g is not None else None
        if door is None:
            return None, None
        return door.xy, float(door.position[2])

    # --------------------------------------------------------------------------------------- sources
    def add_source(self, zone: str, rate: RateLike, start: float = 0.0, stop: float | None = None, *,
                   interp: Literal["linear", "step"] = "linear", source_id: str | None = None) -> str:
        """Add a release in ``zone`` from ``start`` to ``stop`` (s; ``None`` = no end). Returns its id.

        ``rate`` is a constant (kg/s), a :class:`RateCurve`, a ``(times, rates)`` pair (times in s after
        ``start``, interpolated with ``interp``) or a callable ``f(t) -> kg/s`` of absolute time
        (integrated over each step by the midpoint rule).
        """
        src = _Source(self._new_id(source_id), self._zone(zone), float(start), math.inf if stop is None else float(stop))
        if isinstance(rate, RateCurve):
            src.curve = rate
        elif isinstance(rate, tuple | list) and len(rate) == 2:
            src.curve = RateCurve(tuple(map(float, rate[0])), tuple(map(float, rate[1])), interp)
        elif callable(rate):
            src.fn = rate
        else:
            r = float(rate)
            if r < 0 or not math.isfinite(r):
                raise InputError(f"release rate must be finite and not negative, got {rate} kg/s")
            src.rate = r
        self._sources[src.id] = src
        return src.id

    def add_burst(self, zone: str, mass: float, t: float, *, source_id: str | None = None) -> str:
        """An instantaneous release of ``mass`` kg into ``zone`` at time ``t`` (mixed into the zone at the
        start of the step containing t). Returns its id."""
        if mass < 0:
            raise InputError(f"burst mass must not be negative, got {mass} kg")
        src = _Source(self._new_id(source_id), self._zone(zone), float(t), math.inf, burst=float(mass))
        self._sources[src.id] = src
        return src.id

    def source_state(self, source_id: str, t: float) -> tuple[float, float, float]:
        """(rate kg/s, start s, stop s) of a continuous source at ``t``: its rate then, or, once it has
        stopped, its rate just before the stop (for models that superpose a stopped release)."""
        try:
            src = self._sources[source_id]
        except KeyError:
            raise InputError(f"unknown source {source_id!r}; sources: {', '.join(self._sources)}") from None
        at = t if t < src.stop else src.stop - 1e-9
        return src.rate_at(at), src.start, src.stop

    def isolate(self, source_id: str, t: float) -> None:
        """Stop (isolate) a source at time ``t``, s."""
        try:
            src = self._sources[source_id]
        except KeyError:
            raise InputError(f"unknown source {source_id!r}; sources: {', '.join(self._sources)}") from None
        src.stop = min(src.stop, float(t))

    def _new_id(self, source_id: str | None) -> str:
        sid = source_id or f"src{len(self._sources) + 1}"
        if sid in self._sources:
            raise InputError(f"source id {sid!r} is already used")
        return sid

    # -------------------------------------------------------------------------------------- assembly
    def _assemble_parts(self) -> tuple[csc_matrix, np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """The transport matrix K (m3/s: ``V dC/dt = -K C + ...``) of the current state, without side
        effects: ``(K, loss, ext_zone, ext_q, ext_id)`` with the loss to outside and sinks per zone (the
        column sums of K) and, per inflow from outside, its zone, flow (m3/s) and opening id."""
        n = self.n
        q_vent = self.ach * self.volume / 3600.0
        out = q_vent.copy()  # total outflow of each zone, m3/s
        out_ext = q_vent.copy()  # outflow to outside
        q_link = np.where(self._lopen, self._lq_open, self._lq_shut)
        ia, ib, qi = self._la[self._inner], self._lb[self._inner], q_link[self._inner]
        rows, cols, vals = [ia, ib], [ib, ia], [-qi, -qi]
        out += np.bincount(ia, qi, n) + np.bincount(ib, qi, n)
        qo = q_link[self._outer]
        out += np.bincount(self._outer_zone, qo, n)
        out_ext += np.bincount(self._outer_zone, qo, n)
        ext_zone = [np.arange(n), self._outer_zone]
        ext_q = [q_vent, qo]
        ext_id = self.zones + self._outer_keys  # a new list: directed-flow ids are appended below
        f_rows, f_cols, f_vals, fe_zone, fe_q = [], [], [], [], []
        net = np.zeros(n)
        for fid, (a, b, q) in self._flows.items():
            if q <= 0:
                continue
            if a >= 0:
                out[a] += q
                net[a] -= q
            if b >= 0:
                net[b] += q
            if a >= 0 and b >= 0:
                f_rows.append(b)
                f_cols.append(a)
                f_vals.append(-q)
            elif a < 0:
                fe_zone.append(b)
                fe_q.append(q)
                ext_id.append(fid)
            else:
                out_ext[a] += q
        for i in np.flatnonzero(self._disp_q):
            # a volume source: the gas's own volume pushes an equal outflow of zone mixture along the
            # zone's route to outside (balanced at every zone it passes; the source zone's extra outflow
            # is the released volume, which is not an air inflow, so it is left out of ``net``)
            q = float(self._disp_q[i])
            for a, b in self._route(int(i)):
                out[a] += q
                if b >= 0:
                    f_rows.append(b)
                    f_cols.append(a)
                    f_vals.append(-q)
                else:
                    out_ext[a] += q
        scale = max((q for *_, q in self._flows.values()), default=0.0)
        bad = np.flatnonzero(np.abs(net) > 1e-9 * scale + 1e-15)
        if len(bad):
            names = ", ".join(f"{self.zones[i]} ({net[i]:+.3g} m3/s)" for i in bad[:10])
            raise InputError(f"directed air flows do not balance at: {names}; add a return flow")
        diag = out + self.sink * self.volume
        rows.append(np.asarray(f_rows, dtype=np.int64))
        cols.append(np.asarray(f_cols, dtype=np.int64))
        vals.append(np.asarray(f_vals, dtype=float))
        K = csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)) \
            + diags(diag, format="csc")
        return (K.tocsc(), out_ext + self.sink * self.volume,
                np.concatenate([*ext_zone, np.asarray(fe_zone, dtype=np.int64)]),
                np.concatenate([*ext_q, np.asarray(fe_q, dtype=float)]), ext_id)

    def _route(self, zone: int) -> list[tuple[int, int]]:
        """The (from, to) zone pairs (-1 = outside) along which a volume source in ``zone`` pushes its
        displaced mixture: straight out when the zone has an exterior path (ventilation exhaust, an
        exterior door or stair, or the crack of a shut one), else through the fewest interior openings
        to the nearest zone that has one (breadth first, ties by zone order). Cached per zone (the
        ventilation rates of :meth:`set_ach` reset the cache)."""
        hit = self._routes.get(zone)
        if hit is not None:
            return hit
        exterior = self.ach > 0
        exterior[self._outer_zone] = True
        nbrs: dict[int, list[int]] = {}
        for a, b in zip(self._la[self._inner], self._lb[self._inner], strict=True):
            nbrs.setdefault(int(a), []).append(int(b))
            nbrs.setdefault(int(b), []).append(int(a))
        for a, b, q in self._flows.values():
            if a >= 0 and b < 0 and q > 0:
                exterior[a] = True
        prev = {zone: -1}
        queue, end = [zone], None
        for z in queue:
            if exterior[z]:
                end = z
                break
            for y in sorted(nbrs.get(z, ())):
                if y not in prev:
                    prev[y] = z
                    queue.append(y)
        if end is None:
            raise InputError(f"zone {self.zones[zone]!r} has no path to outside: a release there cannot "
                             "displace its air (give the zone ventilation or an exterior opening)")
        path = [end]
        while path[-1] != zone:
            path.append(prev[path[-1]])
        path.reverse()
        route = [(a, b) for a, b in zip(path, path[1:], strict=False)] + [(end, -1)]
        self._routes[zone] = route
        return route

    def _assemble(self, with_storage: bool = True) -> csc_matrix:
        """The implicit-Euler matrix ``V/dt + K`` (or K with ``with_storage=False``) of the current state."""
        K = self._assemble_parts()[0]
        return (K + diags(self.volume / self._dt, format="csc")).tocsc() if with_storage else K

    def _set_exterior(self, ext_zone: np.ndarray, ext_q: np.ndarray, ext_id: list[str]) -> None:
        self._ext_zone, self._ext_q, self._ext_id = ext_zone, ext_q, ext_id
        self._ext_pos = {}
        for i, k in enumerate(ext_id):
            self._ext_pos.setdefault(k, []).append(i)
        self._ext_c = None
        self._ext_ver += 1

    def _factorise(self) -> None:
        """Assemble, choose the scheme (:meth:`_choose_mode`) and prepare it: the step matrix ``J h`` of the
        exponential scheme, or the LU factorisation of ``V/dt + theta K`` of the implicit ones."""
        K, loss, ext_zone, ext_q, ext_id = self._assemble_parts()
        v_dt = self.volume / self._dt
        kd = K.diagonal()
        # column sums of |K|: the mass-weighted 1-norm of J = -V^-1 K is max_j colabs_j / V_j
        colabs = 2.0 * kd - np.asarray(K.sum(axis=0)).ravel()
        mode, plan = self._choose_mode(kd, colabs)
        self._mode = mode
        self._kdiag = kd
        self._colabs = colabs
        self._loss = loss
        self._set_exterior(ext_zone, ext_q, ext_id)
        self._v_dt = v_dt
        self._lq0 = np.where(self._lopen, self._lq_open, self._lq_shut)
        self._lr_reset()
        self._pending.clear()
        self._dirty = False
        self.factorisations += 1
        if mode == "exponential":
            # the positivity argument needs K's off-diagonals <= 0 and its columns dominant: the same
            # invariant as the implicit schemes' M-matrix
            check_m_matrix((K + diags(v_dt, format="csc")).tocsc(), v_dt)
            # J = -V^-1 K in CSR with sorted indices (door updates find their entries by bisection)
            J = csr_matrix(diags(-1.0 / self.volume) @ K)
            J.sort_indices()
            self._J = J
            self._lu = None
            self._theta = 0.5  # the boundary is averaged over the step, as for the trapezoidal rule
            self._set_plan(plan)
            return
        theta = 0.5 if mode == "trapezoidal" else 1.0
        A = (theta * K + diags(v_dt, format="csc")).tocsc()
        check_m_matrix(A, v_dt)
        # An M-matrix, column diagonally dominant: no pivoting needed (no growth). The minimum-degree
        # ordering of A + A^T (the pattern is symmetric) gives 40 % less fill than the default COLAMD
        # and solves 1.6x faster on the 2,000-zone benchmark grid.
        self._lu = splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                        options={"SymmetricMode": True})
        self._J = None
        self._theta = theta

    def _choose_mode(self, kdiag: np.ndarray, colabs: np.ndarray) -> tuple[str, tuple[int, int] | None]:
        """The scheme for a state with K's diagonal ``kdiag`` and column sums of |K| ``colabs`` (m3/s):
        the requested one when it is admissible, else the next of exponential -> trapezoidal -> Euler.
        Returns (mode, (substeps, degree) for the exponential scheme or None)."""
        v = self.volume
        if self.scheme == "exponential":
            plan = self._taylor_plan(self._dt * float(np.max(kdiag / v, initial=0.0)),
                                     self._dt * float(np.max(colabs / v, initial=0.0)))
            if plan is not None:
                return "exponential", plan
        if self.scheme != "euler" and np.all(kdiag <= 2.0 * v / self._dt * (1 + 1e-12)):
            return "trapezoidal", None
        return "euler", None

    def _taylor_plan(self, diag_dt: float, norm_dt: float) -> tuple[int, int] | None:
        """(substeps s, Taylor degree m) of the exponential scheme for ``diag_dt = dt max_i K_ii/V_i`` and
        ``norm_dt = dt ||J||`` (mass-weighted 1-norm), or None when ``s m`` would exceed
        :data:`EXP_MAX_MATVECS`. Positivity needs ``h max_i K_ii/V_i <= 1`` per substep h = dt/s (the
        Taylor polynomials' threshold factor is 1, see the module notes); among the few s from there, the
        one with the fewest products ``s m`` for the tolerance."""
        if not math.isfinite(diag_dt) or diag_dt > EXP_MAX_MATVECS:
            return None
        s0 = max(1, math.ceil(diag_dt * (1.0 - 1e-12)))
        if self._exp_degree is not None:
            best = (s0, self._exp_degree)
        else:
            best = min(((s, taylor_degree(norm_dt / s, self._exp_tol)) for s in range(s0, s0 + 8)),
                       key=lambda p: (p[0] * p[1], p[0]))
        return best if best[0] * best[1] <= EXP_MAX_MATVECS else None

    def _set_plan(self, plan: tuple[int, int] | None) -> None:
        """Store the exponential plan and the scaled copies ``(h/j) J`` (j = 1..m) of J's entries that
        the Horner recursion multiplies by (one product per level, no separate scaling)."""
        assert plan is not None and self._J is not None
        s, m = plan
        self._exp_plan = plan
        h = self._dt / s
        data = self._J.data
        self._exp_data = [data * (h / j) for j in range(1, m + 1)]
        self._exp_g = None
        self._mat_ver += 1
        v = self.volume
        self._blk_plans = [] if s != 1 or self._exp_degree is not None or not self._exp_blocks else block_plan(
            self._dt * float(np.max(self._colabs / v, initial=0.0)),
            self._dt * float(np.max(self._kdiag / v, initial=0.0)),
            self._J.nnz, self.n, self._exp_tol, taylor_degree)

    def _csr_pos(self, i: int, j: int) -> int:
        """Index of entry (i, j) in ``self._J.data``, or -1 when it is not stored."""
        J = self._J
        a, b = J.indptr[i], J.indptr[i + 1]
        k = a + int(np.searchsorted(J.indices[a:b], j))
        return k if k < b and J.indices[k] == j else -1

    def _exp_door_changes(self) -> bool:
        """Fold the doors toggled since the last step into J in place (four entries per inner door, one
        per exterior door) and re-plan. False when a refactorisation is needed instead (an entry is not
        stored, or the model got too stiff for the exponential scheme)."""
        changes = [(k, q) for k, q in self._pending.items() if q != self._lq0[k]]
        kdiag, colabs = self._kdiag.copy(), self._colabs.copy()
        edits: list[tuple[int, float]] = []  # (position in J.data, change of K there)
        for k, q in changes:
            a, b = int(self._la[k]), int(self._lb[k])
            a, b = max(a, b), min(a, b)  # b = -1 for an exterior link
            dq = q - self._lq0[k]
            pairs = [(a, a, dq)] + ([(b, b, dq), (a, b, -dq), (b, a, -dq)] if b >= 0 else [])
            for i, j, dk in pairs:
                pos = self._csr_pos(i, j)
                if pos < 0:
                    return False
                edits.append((pos, -dk / self.volume[i]))
            kdiag[a] += dq
            colabs[a] += 2.0 * dq if b >= 0 else dq
            if b >= 0:
                kdiag[b] += dq
                colabs[b] += 2.0 * dq
        mode, plan = self._choose_mode(kdiag, colabs)
        if mode != "exponential":
            return False
        data = self._J.data
        for pos, dj in edits:
            data[pos] += dj
        for k, q in changes:
            a, b = int(self._la[k]), int(self._lb[k])
            if min(a, b) < 0:  # an exterior door: also the loss to outside and the inflow of outdoor air
                self._loss[max(a, b)] += q - self._lq0[k]
                self._ext_q[self.n + self._outer_pos[k]] = q
                self._ext_ver += 1
            self._lq0[k] = q
        self._kdiag, self._colabs = kdiag, colabs
        self._set_plan(plan)
        self._pending.clear()
        if changes:
            self.low_rank_updates += 1
        return True

    # ---------------------------------------------------------------- low-rank (Woodbury) door updates
    def _lr_reset(self) -> None:
        self._lr_col: dict[int, int] = {}
        self._lr_a = np.zeros(0, dtype=np.int64)
        self._lr_b = np.zeros(0, dtype=np.int64)
        self._lr_d = np.zeros(0)
        self._lr_Z = np.zeros((self.n, 0))
        self._lr_M = np.zeros((0, 0))

    def _apply_door_changes(self) -> bool:
        """Fold the doors toggled since the last step into the factorisation as a low-rank update:
        ``A = A0 + U (theta D) U^T`` with one column ``e_a - e_b`` (or ``e_a`` for an exterior door) per
        changed link, solved by the Woodbury identity. Returns False when a refactorisation is needed
        instead (low-rank updates off, too many columns, or the scheme changes because the trapezoidal
        positivity condition starts to fail or to hold)."""
        if not self._low_rank:
            return False
        if self._mode == "exponential":
            return self._exp_door_changes()
        cur = {k: self._lq0[k] + (self._lr_d[j] if (j := self._lr_col.get(k)) is not None else 0.0)
               for k in self._pending}
        changes = [(k, q) for k, q in self._pending.items() if q != cur[k]]
        if not changes:
            self._pending.clear()
            return True
        new_cols = sum(1 for k, _ in changes if k not in self._lr_col)
        if len(self._lr_col) + new_cols > self.LOW_RANK_MAX:
            return False
        kdiag, colabs = self._kdiag.copy(), self._colabs.copy()
        for k, q in changes:
            a, b = int(self._la[k]), int(self._lb[k])
            old = self._lq0[k] + (self._lr_d[self._lr_col[k]] if k in self._lr_col else 0.0)
            for z in (a, b):
                if z >= 0:
                    kdiag[z] += q - old
                    colabs[z] += (2.0 if min(a, b) >= 0 else 1.0) * (q - old)
        if self._choose_mode(kdiag, colabs)[0] != self._mode:
            return False  # the scheme changes: e.g. the trapezoidal condition now fails, or holds again
        Z = [self._lr_Z] if new_cols else []
        a_l, b_l, d_l = list(self._lr_a), list(self._lr_b), list(self._lr_d)
        for k, q in changes:
            a, b = int(self._la[k]), int(self._lb[k])
            a, b = max(a, b), min(a, b)  # b = -1 for an exterior link
            old = self._lq0[k] + (d_l[self._lr_col[k]] if k in self._lr_col else 0.0)
            if b < 0:  # an exterior door: also the loss to outside and the inflow of outdoor air
                self._loss[a] += q - old
                self._ext_q[self.n + self._outer_pos[k]] = q
                self._ext_ver += 1
            if k in self._lr_col:
                d_l[self._lr_col[k]] = q - self._lq0[k]
                continue
            u = np.zeros(self.n)
            u[a] = 1.0
            if b >= 0:
                u[b] = -1.0
            Z.append(self._lu.solve(u)[:, None])
            self._lr_col[k] = len(a_l)
            a_l.append(a)
            b_l.append(b)
            d_l.append(q - self._lq0[k])
        self._kdiag, self._colabs = kdiag, colabs
        self._lr_a = np.asarray(a_l, dtype=np.int64)
        self._lr_b = np.asarray(b_l, dtype=np.int64)
        self._lr_d = np.asarray(d_l, dtype=float)
        if Z:
            self._lr_Z = np.hstack(Z)
        UtZ = self._ut(self._lr_Z)
        E = np.diag(self._theta * self._lr_d)
        self._lr_M = np.linalg.solve(np.eye(len(a_l)) + E @ UtZ, E)
        self._pending.clear()
        self.low_rank_updates += 1
        return True

    def _ut(self, x: np.ndarray) -> np.ndarray:
        """``U^T x`` for the low-rank columns (x a vector or an n x m array)."""
        b = self._lr_b
        xb = np.where((b >= 0).reshape((-1,) + (1,) * (x.ndim - 1)), x[np.maximum(b, 0)], 0.0)
        return x[self._lr_a] - xb

    def _solve(self, r: np.ndarray) -> np.ndarray:
        y = self._lu.solve(r)
        if len(self._lr_d):
            y -= self._lr_Z @ (self._lr_M @ self._ut(y))
        return y

    # ------------------------------------------------------------------------------ outdoor boundary
    def _ext_concentrations(self) -> np.ndarray:
        """Outdoor concentration (kg/m3) at each inflow term, cached until the boundary or flows change."""
        if self._ext_c is None:
            d, get = self._outdoor_default, self._outdoor.get
            self._ext_c = np.array([get(k, d) for k in self._ext_id], dtype=float)
        return self._ext_c

    def _inflow(self) -> tuple[np.ndarray, float]:
        """Outdoor gas entering each zone (kg/s) and its total, cached per boundary version."""
        if self._inflow_cache is None or self._inflow_cache[0] != self._ext_ver or self._ext_c is None:
            ext = self._ext_q * self._ext_concentrations()
            total = float(ext.sum())
            inflow = np.bincount(self._ext_zone, weights=ext, minlength=self.n) if total else np.zeros(self.n)
            self._inflow_cache = (self._ext_ver, inflow, total)
        return self._inflow_cache[1], self._inflow_cache[2]

    def _source_mass(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray | None, tuple, float]:
        """Mass (kg) released in [t0, t1) per zone: (continuous releases, bursts or None, the continuous
        releases as a tuple of (zone, kg) pairs, their total in kg). The tuple is equal from step to step
        while the releases are (constant rates): the exponential scheme keys its source terms on it."""
        m = np.zeros(self.n)
        burst = None
        sig: list[tuple[int, float]] = []
        for s in self._sources.values():
            if s.stop > t0 or (s.burst and s.start < t1):
                if s.burst:
                    dm = s.mass(t0, t1)
                    if dm:
                        if burst is None:
                            burst = np.zeros(self.n)
                        burst[s.zone] += dm
                    continue
                dm = s.mass(t0, t1)
                if dm:
                    m[s.zone] += dm
                    sig.append((s.zone, dm))
        return m, burst, tuple(sig), math.fsum(dm for _, dm in sig)

    def _prepare(self) -> None:
        if self._dirty:
            self._factorise()
        elif self._pending and not self._apply_door_changes():
            self._factorise()

    # ------------------------------------------------------------------------------------- stepping
    def step(self) -> None:
        """Advance one time step with the scheme in use (:attr:`active_scheme`)."""
        t0, t1 = self.t, self.t + self._dt
        cont, burst, sig, released = self._source_mass(t0, t1)
        if self.gas_density is not None and sig != self._disp_sig:
            self._disp_sig = sig  # the releases changed: their volume may change the flows
            self._update_displacement(cont)
        self._prepare()
        if self.outdoor_hook is not None:
            in0, tot0 = self._inflow()  # the boundary the previous step's hook set: the value at t0
            ver0 = self._ext_ver
            self.outdoor_hook(t1, self)
            self._prepare()
        dt, theta = self._dt, self._theta
        ver0 = self._ext_ver if self.outdoor_hook is None else ver0
        in1, tot1 = self._inflow()
        if self.outdoor_hook is None or theta == 1.0:
            inflow, ext_total = in1, tot1
        else:
            inflow, ext_total = theta * in1 + (1.0 - theta) * in0, theta * tot1 + (1.0 - theta) * tot0
        c_old = self.c
        pushed = 0.0  # zone mixture a burst's own volume pushed out (volume sources)
        if burst is None:
            c_start = c_old
        elif self.gas_density is None:
            c_start = c_old + burst / self.volume  # a burst mixes in at t0
        else:
            c_start, pushed = self._burst_displace(c_old, burst)
        from_block = None
        if self._mode == "exponential":
            # what the source terms depend on: the releases, and the outdoor boundary when gas enters
            src_key = (sig, ver0, self._ext_ver) if ext_total > 0.0 else (sig,)
            gj = self._exp_source(src_key, ext_total, cont, inflow)
            if burst is None:
                from_block = self._block_step((self._mat_ver, src_key), gj)
            else:
                self._blk_key = self._blk = None  # a burst: blocks start over
            c_new, loss = from_block if from_block is not None else self._exp_step(c_start, gj)
        else:
            self._blk_key = self._blk = None  # an implicit step: blocks start over
            if theta == 1.0:
                c_new = self._solve(self._v_dt * c_start + cont / dt + inflow)
                loss = dt * float(self._loss @ c_new)
            else:
                # (V/dt + K/2) C' = (V/dt - K/2) C + s  <=>  C' = 2 Y - C with (V/dt + K/2) Y = V/dt C + s/2:
                # the same factorisation and one solve, no product with K.
                c_new = self._solve(self._v_dt * c_start + 0.5 * (cont / dt + inflow))
                c_new *= 2.0
                c_new -= c_start
                loss = 0.5 * dt * float(self._loss @ (c_new + c_start))
        # Every scheme's propagator is non-negative (see the module notes): only round-off can go below
        # zero. Such values are set to 0 and the largest is recorded, so that this never hides a flaw.
        low = float(c_new.min())
        if low < 0.0:
            self.max_clipped = max(self.max_clipped, -low)
            np.maximum(c_new, 0.0, out=c_new)
            self._blk = None  # the block's trajectory no longer is the state
        if self.gas_density is not None:
            self._bound_fraction(c_new, t1)
        if from_block is not None:
            self._blk_state = c_new.copy()
        if burst is not None:
            released += float(burst.sum())
            loss += pushed
        m_old, m_new = float(self.volume @ c_old), float(self.volume @ c_new)
        gain = released + dt * ext_total
        scale = max(m_old, m_new, gain, loss)
        self._last_error = abs(m_new - m_old - gain + loss) / scale if scale > 0 else 0.0
        self.max_mass_balance_error = max(self.max_mass_balance_error, self._last_error)
        self.released += released
        self.c = c_new
        self._k += 1

    def _update_displacement(self, cont: np.ndarray) -> None:
        """Volume sources: set the displacement flows (m3/s) to the volume the releases add over this
        step, ``mass / (dt rho_gas)`` per zone, when a zone's changes by more than :data:`DISPLACEMENT_TOL`
        (relative) or starts or stops (the matrix is then rebuilt on :meth:`_prepare`)."""
        q = cont / (self._dt * self.gas_density)
        old = self._disp_q
        changed = (q > 0) != (old > 0)
        changed |= np.abs(q - old) > self._disp_tol * np.maximum(q, old)
        if changed.any():
            self._disp_q = np.where(changed, q, old)
            self._dirty = True

    def _burst_displace(self, c: np.ndarray, burst: np.ndarray) -> tuple[np.ndarray, float]:
        """Mix bursts (kg per zone) into ``c`` (kg/m3) as volume sources: a burst of volume
        ``Vb = M / rho_gas`` pushes ``Vb`` of the zone's mixture out (to outside) before it mixes; one
        larger than the zone fills it with pure gas and the rest escapes. Returns (concentrations, kg
        pushed out)."""
        rho, v = self.gas_density, self.volume
        f = np.minimum(burst / (rho * v), 1.0)  # fraction of the zone's volume the burst takes
        c_new = np.where(f < 1.0, c * (1.0 - f) + burst / v, rho)
        pushed = float(v @ c + burst.sum() - v @ c_new)
        return c_new, max(pushed, 0.0)

    def _bound_fraction(self, c: np.ndarray, t: float) -> None:
        """Volume sources: record the largest mole fraction ``c / rho_gas``, report zones passing
        :data:`NEAR_PURE` (once each, with a warning) and cut fractions above 1 back to 1 (round-off:
        the volume source bounds them; :attr:`max_overfill` keeps the size)."""
        rho = self.gas_density
        top = float(c.max(initial=0.0)) / rho
        if top > self.max_mole_fraction:
            self.max_mole_fraction = top
        if top > NEAR_PURE:
            seen = {z for _, z, _ in self.near_pure}
            for i in np.flatnonzero(c > NEAR_PURE * rho):
                z = self.zones[i]
                if z not in seen:
                    x = float(c[i]) / rho
                    self.near_pure.append((t, z, x))
                    warnings.warn(f"zone {z!r} is {100 * x:.0f} % released gas at t = {t:g} s (oxygen "
                                  f"{100 * O2_IN_AIR * (1 - min(x, 1.0)):.1f} %)", RuntimeWarning, stacklevel=3)
        if top > 1.0:
            self.max_overfill = max(self.max_overfill, top - 1.0)
            np.minimum(c, rho, out=c)
            self._blk = None  # the block's trajectory no longer is the state

    def mole_fraction(self) -> np.ndarray:
        """Mole (volume) fraction of the released gas per zone, in :attr:`zones` order (ideal gases at
        the same temperature and pressure: ``c / rho_gas``). Needs ``gas_density``."""
        if self.gas_density is None:
            raise InputError("mole fractions need the pure gas density (Multizone(gas_density=...))")
        return np.minimum(self.c / self.gas_density, 1.0)

    def oxygen_fraction(self) -> np.ndarray:
        """Oxygen mole fraction per zone: the released gas displaces air, ``O2_IN_AIR (1 - x)``
        (:data:`O2_IN_AIR`). Needs ``gas_density``."""
        return O2_IN_AIR * (1.0 - self.mole_fraction())

    def _block_step(self, key: tuple, gj: np.ndarray | None) -> tuple[np.ndarray, float] | None:
        """The step from a Taylor block (:mod:`twin.taylor_block`) when the coefficients (``key``: the
        matrix version and the source terms' key) have stayed the same for two steps or more and the
        state is the one the block produced; a new block is as long as the coefficients have been stable
        (up to the best length). ``gj``: the source terms of :meth:`_exp_source` (blocks have one
        substep, so ``gj[0]`` is the gas added over one step). None: take an ordinary step."""
        if key != self._blk_key:
            self._blk_key, self._blk_stable, self._blk = key, 0, None
            return None
        self._blk_stable += 1
        blk = self._blk
        state_kept = blk is not None and np.array_equal(self.c, self._blk_state)
        if blk is not None and not state_kept:
            # the state was set from outside: the next steps start over from it like after a change
            self._blk_stable, self._blk = 0, None
            return None
        if blk is None or blk.exhausted:
            cap = min(self._blk_stable, len(self._blk_plans) + 1)
            if cap < 2:
                return None
            r, k = self._blk_plans[cap - 2]
            J = self._J
            blk = self._blk = TaylorBlock(J.indptr, J.indices, self._exp_data[0], _csr_matvec, self.c,
                                          None if gj is None else gj[0], self._loss, self._dt, r, k)
            self.blocks += 1
        self.block_steps += 1
        return blk.next()

    def _exp_source(self, key: tuple, ext_total: float, cont: np.ndarray,
                    inflow: np.ndarray) -> np.ndarray | None:
        """The exponential scheme's source terms ``g / (s j)`` for the levels j = 1..m (kg/m3; one row per
        level), g being the gas the sources and the outdoor inflow add over the step per zone; None when
        nothing enters (most of a drill after isolation). Kept while ``key`` (the releases of
        :meth:`_source_mass`, then the outdoor boundary's versions at the step's start and end when gas
        enters from outside) and the plan stay: sources are mostly constant for many steps."""
        if not key[0] and ext_total <= 0.0:
            return None
        cached = self._exp_g
        if cached is not None and cached[0] == key:
            return cached[1]
        s, m = self._exp_plan
        g = (cont + self._dt * inflow) / self.volume
        gj = np.multiply.outer(1.0 / (s * np.arange(1, m + 1)), g)
        self._exp_g = (key, gj)
        return gj

    def _exp_step(self, c: np.ndarray, gj: np.ndarray | None) -> tuple[np.ndarray, float]:
        """One step of the exponential scheme from ``c`` (kg/m3) with ``gj`` the source terms of
        :meth:`_exp_source` (or None). Returns the new concentrations (a new array) and the mass (kg)
        that left to outside or sinks during the step.

        Per substep h = dt/s, the degree-m Taylor polynomial of the exponential of the augmented
        generator ``[[J h, g/s], [0, 0]]`` applied to ``(c, 1)``, by Horner's rule
        ``w <- c + (J h w + g/s) / j`` for j = m..1. The loss integral is ``h loss . w_2`` with w_2 the
        vector entering the last level (the augmented system's outflow-accumulator row), so the mass
        balance closes to round-off whatever the degree."""
        s, m = self._exp_plan
        data, J, n = self._exp_data, self._J, self.n
        indptr, indices = J.indptr, J.indices
        matvec = _csr_matvec
        h_loss = self._loss * (self._dt / s)
        bufs = self._exp_bufs
        if bufs[0].shape != (n,):
            bufs = self._exp_bufs = (np.empty(n), np.empty(n))
        loss = 0.0
        for _ in range(s):
            w = c
            for j in range(m, 1, -1):
                y = bufs[j & 1]  # ping-pong: never the w being multiplied
                if gj is None:
                    np.copyto(y, c)
                else:
                    np.add(c, gj[j - 1], out=y)
                matvec(n, n, indptr, indices, data[j - 1], w, y)  # y += (h/j) J w
                w = y
            # the last level: w is w_2, and the result is a new array (c of the next substep, or self.c)
            loss += float(h_loss @ w)
            y = c.copy() if gj is None else c + gj[0]
            matvec(n, n, indptr, indices, data[0], w, y)
            c = y
        return c, loss

    @property
    def active_scheme(self) -> str:
        """The scheme the next step uses: ``"exponential"``, ``"trapezoidal"`` or ``"euler"`` (the
        requested :attr:`scheme`, or its fallback, see the module notes). Factorises first if anything
        changed."""
        if self._dirty or self._pending:
            self._prepare()
        return self._mode

    @property
    def exp_plan(self) -> tuple[int, int] | None:
        """(substeps, Taylor degree) per step of the exponential scheme, None when it is not in use."""
        return self._exp_plan if self.active_scheme == "exponential" else None

    @property
    def outdoor(self) -> Mapping[str, float]:
        """The outdoor concentrations (kg/m3) set by :meth:`set_outdoor` per opening id (a read-only live
        view; openings not in it see the default). For outdoor hooks that add to what another set."""
        return MappingProxyType(self._outdoor)

    def max_trapezoidal_dt(self) -> float:
        """The largest step (s) for which the trapezoidal scheme keeps a non-negative propagator in the
        current state: ``min_i 2 V_i / (outflow_i + k_i V_i)`` (inf when nothing flows)."""
        kd = self._assemble_parts()[0].diagonal()
        with np.errstate(divide="ignore"):
            return float(np.min(np.where(kd > 0, 2.0 * self.volume / kd, np.inf)))

    def checkpoint(self) -> tuple:
        """The stepping state now, for :meth:`restore` (a caller that steps ahead speculatively, e.g.
        :class:`drills.sim.hazards.GasHazards` reading a block of gas steps at once, and then needs the
        state of an earlier step). Covers what :meth:`step` and :meth:`set_outdoor` change; not door,
        ventilation, flow or source edits (callers must not make them between the two calls)."""
        blk = self._blk
        ext_c = None if self._ext_c is None else self._ext_c.copy()
        loss = np.array(getattr(self, "_loss", ()))
        return (self.__dict__.copy(), dict(self._outdoor), ext_c, dict(self._pending), list(self.near_pure), loss,
                blk, None if blk is None else blk.done)

    def restore(self, cp: tuple) -> None:
        """Put the model back in the state of :meth:`checkpoint` ``cp``: stepping on from here gives
        exactly the steps taken after that checkpoint (the same operations on the same values)."""
        state, outdoor, ext_c, pending, near_pure, loss, blk, done = cp
        self.__dict__.clear()
        self.__dict__.update(state)
        self._outdoor, self._ext_c, self._pending, self.near_pure, self._loss = \
            dict(outdoor), None if ext_c is None else ext_c.copy(), dict(pending), list(near_pure), loss.copy()
        if "_loss" not in state:
            del self._loss
        if blk is not None:
            blk.done = done

    def advance(self, t_end: float) -> None:
        """Step until time ``t_end`` (s). A remainder shorter than ``dt`` is taken as one shorter step
        (two extra factorisations: call at multiples of ``dt`` to avoid them)."""
        eps = 1e-9 * self._dt
        while self.t < t_end - eps:
            remaining = t_end - self.t
            if remaining < self._dt - eps:
                saved = self._dt
                self.set_dt(remaining)
                self.step()
                self.set_dt(saved)
            else:
                self.step()

    def _boundary(self) -> tuple[csc_matrix, np.ndarray]:
        """(K, outdoor inflow per zone in kg/s) of the current state, without touching the stepping state
        (the exterior terms are stored when the model is not factorised yet)."""
        K, _, ext_zone, ext_q, ext_id = self._assemble_parts()
        d, get = self._outdoor_default, self._outdoor.get
        ext_c = np.array([get(k, d) for k in ext_id], dtype=float)
        if self._dirty:
            self._set_exterior(ext_zone, ext_q, ext_id)
        return K, np.bincount(ext_zone, weights=ext_q * ext_c, minlength=self.n)

    def ode_system(self, t: float | None = None) -> tuple[csc_matrix, np.ndarray, np.ndarray]:
        """The continuous system ``V dC/dt = -K C + b`` in its current state: ``(K, V, b)`` with K (m3/s,
        sparse), V (m3) and b (kg/s) = the sources' rates at ``t`` (default: now) plus the inflow of
        outdoor gas. For cross-checks against other integrators; bursts are not included."""
        K, inflow = self._boundary()
        t = self.t if t is None else t
        b = np.zeros(self.n)
        for src in self._sources.values():
            b[src.zone] += src.rate_at(t)
        return K, self.volume.copy(), b + inflow

    def steady_state(self, source_rates: Mapping[str, float] | None = None) -> np.ndarray:
        """The steady concentrations (kg/m3) for constant sources: ``source_rates`` (zone -> kg/s) or the
        rates of the model's sources at the current time, with the current outdoor concentrations.
        Raises :class:`InputError` when some zone has no path to outside or a sink. With volume sources
        (``gas_density``) the displacement flows are those of these rates."""
        s = np.zeros(self.n)
        if source_rates is None:
            for src in self._sources.values():
                s[src.zone] += src.rate_at(self.t)
        else:
            for z, r in source_rates.items():
                s[self._zone(z)] += r
        if self.gas_density is not None:
            saved, self._disp_q = self._disp_q, s / self.gas_density
            try:
                A, inflow = self._boundary()
            finally:
                self._disp_q = saved
        else:
            A, inflow = self._boundary()
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", MatrixRankWarning)
            try:
                c = spsolve(A, s + inflow)
            except RuntimeError:
                c = np.full(self.n, np.nan)
        if not np.all(np.isfinite(c)):
            raise InputError("no steady state: some zones exchange no air with outside and have no sink")
        return np.maximum(c, 0.0)


def check_m_matrix(A: csc_matrix, margin: np.ndarray) -> None:
    """Assert the implicit-Euler matrix is an M-matrix with column dominance of at least ``margin``
    (V/dt): positive diagonal, non-positive off-diagonals. Raises AssertionError (also under -O)."""
    d = A.diagonal()
    off = A - diags(d, format="csc")
    if off.nnz and off.data.max() > 0:
        raise AssertionError("positive off-diagonal entry in the transport matrix")
    col_off = np.asarray(-off.sum(axis=0)).ravel()
    if np.any(d - col_off < margin * (1 - 1e-9)):
        raise AssertionError("transport matrix is not column diagonally dominant")


def _volume(topo: nx.MultiGraph, zone: str) -> float:
    v = topo.nodes[zone].get("volume")
    if v is None or not v > 0:
        raise InputError(f"zone {zone!r} needs a positive volume (m3), got {v!r}")
    return float(v)


def _height(topo: nx.MultiGraph, zone: Any) -> float:
    a = topo.nodes[zone]
    if a.get("height"):
        return float(a["height"])
    if a.get("area"):
        return float(a["volume"]) / float(a["area"])
    return 3.0
