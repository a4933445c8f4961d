"""What people breathe: concentration where each person is, toxic load, IDLH exceedance, incapacitation.

Each gas step the hazard model hands over the zone concentrations (kg/m3); every person inside is given
the concentration of the zone they stand in or walk through (their current space's zone nearest the node
they are at or walking to), vectorised over the crowd. The toxic load is ``sum(C^n dt)`` in ppm^n min with
the gas's probit exponent ``n``; the probit ``Y = a + b ln(load)`` gives the probability ``Phi(Y - 5)``
(:mod:`twin.gas`). Each person draws one uniform threshold from the ``exposure`` stream at the start, and
collapses (``incapacitated``) once the probit probability of their load passes it, so the share of people
who collapse follows the probit while each person's fate is reproducible with the seed.

People in the open (a joint exercise, :mod:`drills.region.field`) breathe the regional outdoor air through
:meth:`Exposure.breathe_outdoors`: the same load, the same probit and the same per-person threshold, so a
person who walked out into a plume collapses at the load that would have felled them indoors. They fall
where they stand (outdoors, ``incapacitated`` with detail ``outdoors``) even after passing an exit.

**Incapacitation and lethality are separate.** Each person carries an incapacitation dose (FED,
:mod:`twin.toxicity`): ISO 13571's asphyxiant terms (CO, HCN), Purser's hypoxia term for the oxygen the
released gas displaces (``O2 = 20.95 % (1 - x)``, x the gas's own fraction where the person breathes),
and the H2S knockdown bands (OSHA, ATSDR). A person collapses (``incapacitated``) when the FED reaches
1 (ISO 13571's median person), at :attr:`Exposure.t_incap`. The probit is a *lethality* probit (CCPS /
TNO): when it passes the person's threshold the person has received a lethal dose
(:attr:`Exposure.fatal`, at :attr:`Exposure.t_fatal`) and is down too. For gases with no incapacitation
term (ammonia, chlorine: ISO 13571 gives no incapacitating concentration for them) the lethal dose is
the only collapse criterion, which is late for collapse; the drills say so in the caveats.
People wearing breathing apparatus (``protected``) breathe the zone concentration divided by the assigned
protection factor of a pressure-demand SCBA, 10,000 (OSHA 29 CFR 1910.134(d)(3)(i)(A), Table 1).

While nobody moves, many gas steps can be looked ahead at once (:meth:`Exposure.block`): it names the
first step at which someone would collapse or receive a lethal dose and commits the steps before it
exactly as the step-by-step calls would have (the same operations; the sums taken step after step).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import ndtri

from twin.gas import MOLAR_VOLUME_25C, Gas, kgm3_to_ppm, probit_probability
from twin.graph import SiteGraph
from twin.toxicity import fed_onset_ppm, fed_rate_displacing

from .crowd import INCAPACITATED, SAFE, Crowd

__all__ = ["Exposure", "SCBA_PROTECTION_FACTOR"]

SCBA_PROTECTION_FACTOR = 10_000.0


class Exposure:
    """Accumulates each person's exposure to one gas.

    ``zone_index`` maps zone ids to positions in the concentration arrays that :meth:`update` receives.
    """

    def __init__(self, crowd: Crowd, graph: SiteGraph, zone_index: dict[str, int], gas: Gas,
                 rng: np.random.Generator, *, protection_factor: float = SCBA_PROTECTION_FACTOR):
        self.crowd = crowd
        self.gas = gas
        self.rng = rng
        self.pf = float(protection_factor)
        nav = graph.nav
        # zone of each navigation node; doors take the zone of the walker's own space (see _zones)
        self.node_zone = np.full(len(graph.nodes), -1, dtype=np.int64)
        for k, nid in enumerate(graph.nodes):
            a = nav.nodes[nid]
            if a["kind"] == "cell":
                self.node_zone[k] = zone_index[a["zone"]]
            elif a["kind"] == "stair_end":
                self.node_zone[k] = zone_index[graph.zone_at(a["space"], *a["xy"])]
        self.space_zone = np.array([zone_index[graph.space_zones[s][0]] for s in crowd.space_ids]
                                   + [-1] * len(crowd.stair_ids), dtype=np.int64)
        # a stair pseudo-space breathes the air of its bottom zone
        for j, sid in enumerate(crowd.stair_ids):
            st = graph.site.stairs[sid]
            self.space_zone[len(crowd.space_ids) + j] = zone_index[graph.zone_at(st.bottom, *st.bottom_xy)]
        self.n = 0
        self.load = np.zeros(0)  # ppm^n min
        self.peak = np.zeros(0)  # ppm
        self.over_idlh = np.zeros(0, dtype=bool)
        self._onset = fed_onset_ppm(gas.key)  # ppm below which the FED does not grow
        self._load_floor = 0.0  # toxic load below which no probit passes anyone's threshold (see _grow)
        self.fed = np.zeros(0)  # incapacitation dose (1 = the median person collapses)
        self.t_incap = np.zeros(0)  # s: when the FED reached 1 (inf: never)
        self.fatal = np.zeros(0, dtype=bool)  # the lethality probit passed the person's threshold
        self.t_fatal = np.zeros(0)  # s: when (inf: never)
        self.threshold = np.zeros(0)
        self.last_zone = np.zeros(0, dtype=np.int64)
        self._down = np.zeros(0, dtype=bool)
        self.down_outdoors = np.zeros(0, dtype=bool)  # collapsed in the open (breathes no zone air)
        self._cache = None
        self._seen = 0  # how far into crowd.journal the zones below are up to date
        self._zone = np.zeros(0, dtype=np.int64)  # breathing zone per person (-1: none)
        self._prot = np.zeros(0, dtype=bool)

    def _grow(self) -> None:
        m = self.crowd.n - self.n
        if m <= 0:
            return
        self.load = np.concatenate([self.load, np.zeros(m)])
        self.peak = np.concatenate([self.peak, np.zeros(m)])
        self.over_idlh = np.concatenate([self.over_idlh, np.zeros(m, dtype=bool)])
        self.fed = np.concatenate([self.fed, np.zeros(m)])
        self.t_incap = np.concatenate([self.t_incap, np.full(m, np.inf)])
        self.fatal = np.concatenate([self.fatal, np.zeros(m, dtype=bool)])
        self.t_fatal = np.concatenate([self.t_fatal, np.full(m, np.inf)])
        self.threshold = np.concatenate([self.threshold, self.rng.uniform(0.0, 1.0, m)])
        self.last_zone = np.concatenate([self.last_zone, np.full(m, -1, dtype=np.int64)])
        self._down = np.concatenate([self._down, np.zeros(m, dtype=bool)])
        self.down_outdoors = np.concatenate([self.down_outdoors, np.zeros(m, dtype=bool)])
        self._zone = np.concatenate([self._zone, np.full(m, -1, dtype=np.int64)])
        self._prot = self.crowd.protected[: self.crowd.n].copy()  # fixed when a person is added
        pr = self.gas.probit
        if pr is not None and len(self.threshold):
            # the load whose probit probability equals the lowest threshold (with a margin for round-off):
            # Phi(a + b ln L - 5) > u  <=>  ln L > (Phi^-1(u) + 5 - a) / b
            u = float(self.threshold.min())
            self._load_floor = float(np.exp((ndtri(u) + 5.0 - pr.a) / pr.b)) * (1.0 - 1e-9) if u > 0 else 0.0
        self._cache = None
        self.n = self.crowd.n

    def zones(self) -> np.ndarray:
        """Zone index of each person now (-1: outdoors or no longer exposed)."""
        c = self.crowd
        node = c.node
        nxt = c.nxt
        space = c.space
        at = np.where(nxt >= 0, nxt, node)
        z = np.where(at >= 0, self.node_zone[np.maximum(at, 0)], -1)
        own = np.where(space >= 0, self.space_zone[np.maximum(space, 0)], -1)
        z = np.where(z >= 0, z, own)
        z[space < 0] = -1  # outside the buildings (or collapsed: see update)
        return z

    def update(self, t: float, dt: float, c_zone: np.ndarray) -> np.ndarray:
        """Add ``dt`` seconds at zone concentrations ``c_zone`` (kg/m3); returns each person's ppm now and
        incapacitates those whose threshold the probit passes."""
        self._grow()
        if self.n == 0 or not c_zone.any():
            return np.zeros(self.n)  # nobody, or no gas yet
        idx, z, prot = self._breathers()
        ppm = np.zeros(self.n)
        if len(idx) == 0:
            return ppm
        c = self._ppm(c_zone[z], prot)
        ppm[idx] = c
        self._breathe(idx, c, dt, outdoors=False, t=t)
        return ppm

    def block(self, times: np.ndarray, dts: np.ndarray, c_rows: np.ndarray
              ) -> tuple[int, np.ndarray, np.ndarray, Callable[[int], None]]:
        """Look ahead over ``m`` gas steps without changing anything: row ``i`` is the step of ``dts[i]`` s
        ending at ``times[i]`` (s) at zone concentrations ``c_rows[i]`` (kg/m3), the crowd standing still
        (no event between the rows). Returns ``(j, idx, ppm_rows, commit)``:

        * ``j``: the first row at which :meth:`update` would incapacitate someone (FED 1) or give someone a
          lethal dose (``m``: none); it may stop early where nothing happens, never late;
        * ``idx``: the people breathing zone air (person indices) and ``ppm_rows`` (m, len(idx)): the ppm
          :meth:`update` would return for them at each row (0 in rows with no gas anywhere);
        * ``commit(k)`` (``k <= j``): applies rows ``[0, k)`` exactly as ``k`` calls of :meth:`update`
          would (peak, IDLH flags, FED, toxic load: the same operations, the sums taken row after row).

        People breathing the same zone with the same protection breathe the same ppm: the physics is
        evaluated once per such group and row, the running sums per person only where some dose grows.
        """
        self._grow()
        c_rows = np.asarray(c_rows, dtype=float)
        m = len(c_rows)
        if self.n == 0:
            return m, np.zeros(0, dtype=np.int64), np.zeros((m, 0)), _no_commit(m)
        idx, z, prot = self._breathers()
        rows = np.flatnonzero(c_rows.any(axis=1))  # update() returns before breathing in the others
        if len(idx) == 0 or not len(rows):
            return m, idx, np.zeros((m, len(idx))), _no_commit(m)
        groups, gid = np.unique(z * 2 + prot, return_inverse=True)
        c = self._ppm(c_rows[rows][:, groups // 2], (groups % 2).astype(bool))  # (rows, groups)
        if len(rows) == m:
            ppm = c[:, gid]
        else:
            ppm = np.zeros((m, len(idx)))
            ppm[rows] = c[:, gid]
        dtm = (np.asarray(dts, dtype=float)[rows] / 60.0)[:, None]
        stop = len(rows)  # first breathing row at which somebody collapses or dies
        fed = fed_who = None
        above = c >= self._onset  # the FED grows only there (the skip in _breathe is the same test)
        if above.any():
            inc = np.zeros(c.shape)
            inc[above] = fed_rate_displacing(self.gas.key, c[above]) * np.broadcast_to(dtm, c.shape)[above]
            fed_who = np.flatnonzero(above.any(axis=0)[gid])  # positions in idx of people dosed at all
            g = gid[fed_who]
            fed = _running(self.fed[idx[fed_who]], inc, g)
            # the FED only grows: who collapses in the block is at or above 1 in its last row
            up = np.flatnonzero((fed[-1] >= 1.0) & ~self._down[idx[fed_who]])
            if len(up):
                hit = ((fed[:, up] >= 1.0) & above[:, g[up]]).any(axis=1)
                stop = int(np.argmax(hit))
        load = load_who = None
        pr = self.gas.probit
        if pr is not None:
            if pr.b <= 0:
                stop = 0  # a probit falling with the load: not supported here, step by step
            grows = (c > 0).any(axis=0)
            load_who = np.flatnonzero(grows[gid])
            load = _running(self.load[idx[load_who]], self._load_step(c, dtm), gid[load_who])
            # the probit passes a person's threshold u when the load passes the load L*(u) of probit u
            # (both grow with the load; L* has margins for round-off, so the look-ahead stops at the row
            # of a death or before, never after); the load only grows, so who dies in the block is
            # past L* in its last row
            who = idx[load_who]
            lstar = np.where(self.fatal[who], np.inf, self._lethal_load(who))
            up = np.flatnonzero(load[-1] >= lstar)
            if len(up):
                stop = min(stop, int(np.argmax((load[:, up] >= lstar[up]).any(axis=1))))
            rest = np.setdiff1d(idx, who)  # loads that stay as they are: had anyone passed, stop now
            rest = rest[~self.fatal[rest] & (self.load[rest] > 0)]
            if len(rest) and (self.load[rest] >= self._lethal_load(rest)).any():
                stop = 0
        j = int(rows[stop]) if stop < len(rows) else m
        top = np.maximum.accumulate(c, axis=0)
        idlh = None if self.gas.idlh is None else np.logical_or.accumulate(c > self.gas.idlh, axis=0)

        def commit(k: int) -> None:
            if not 0 <= k <= j:
                raise ValueError(f"commit({k}) outside the block's safe rows [0, {j}]")
            r = int(np.searchsorted(rows, k))  # breathing rows before row k
            if r == 0:
                return
            self.peak[idx] = np.maximum(self.peak[idx], top[r - 1][gid])
            if idlh is not None:
                self.over_idlh[idx] |= idlh[r - 1][gid]
            if fed is not None:
                self.fed[idx[fed_who]] = fed[r - 1]
            if load is not None:
                self.load[idx[load_who]] = load[r - 1]

        return j, idx, ppm, commit

    def _lethal_load(self, who: np.ndarray) -> np.ndarray:
        """The toxic load at which the lethality probit passes each person's threshold u, with margins
        for round-off: Phi(a + b ln L - 5) > u  <=>  ln L > (Phi^-1(u) + 5 - a) / b, taken at u - 1e-12
        (far above the absolute error of Phi, which matters where u is close to 1) and less 1e-9 of the
        load (the error of ln and exp). 0 where u is within 1e-12 of 0: any load may kill."""
        pr = self.gas.probit
        u = np.maximum(self.threshold[who] - 1e-12, 0.0)
        return np.exp((ndtri(u) + 5.0 - pr.a) / pr.b) * (1.0 - 1e-9)

    def _ppm(self, c: np.ndarray, prot: np.ndarray) -> np.ndarray:
        """ppm breathed from zone concentrations ``c`` (kg/m3; people along the last axis, ``prot``: who
        wears breathing apparatus)."""
        ppm = kgm3_to_ppm(np.maximum(c, 0.0), self.gas)
        ppm[..., prot] /= self.pf
        return ppm

    def _load_step(self, c: np.ndarray, minutes: float | np.ndarray) -> np.ndarray:
        """Toxic load added by ``minutes`` at ``c`` ppm (the probit's unit^n min)."""
        pr = self.gas.probit
        cc = c if pr.unit == "ppm" else c * self.gas.molar_mass * 1000.0 / MOLAR_VOLUME_25C
        return cc ** pr.n * minutes

    def breathe_outdoors(self, who: np.ndarray, c: np.ndarray, dt: float, t: float | None = None) -> np.ndarray:
        """People ``who`` (outside every building) breathe outdoor concentrations ``c`` (kg/m3) for ``dt``
        seconds: peak, IDLH flag, toxic load and the probit collapse exactly as indoors. Returns their ppm
        (after breathing apparatus). People with no exposure arrays yet get them here (the same threshold
        draws, in person order, as the first indoor update would make)."""
        self._grow()
        who = np.asarray(who, dtype=np.int64)
        ppm = kgm3_to_ppm(np.maximum(np.asarray(c, dtype=float), 0.0), self.gas)
        ppm[self._prot[who]] /= self.pf
        self._breathe(who, ppm, dt, outdoors=True, t=t)
        return ppm

    def _breathe(self, idx: np.ndarray, c: np.ndarray, dt: float, *, outdoors: bool, t: float | None = None) -> None:
        """Add ``dt`` s at ``c`` ppm for people ``idx`` (the step ending at ``t``, s): the FED
        incapacitates at 1, the lethality probit at the person's threshold (module notes)."""
        np.maximum.at(self.peak, idx, c)
        if self.gas.idlh is not None:
            self.over_idlh[idx] |= c > self.gas.idlh
        t_now = self.crowd.now if t is None else t
        # incapacitation dose: the gas's own terms and the hypoxia of the oxygen it displaces (nothing
        # accumulates below the onset: skip the arithmetic there)
        if self._onset <= 0.0 or (len(c) and c.max() >= self._onset):
            above = np.flatnonzero(c >= self._onset)  # below the onset the dose does not grow
            who = idx[above]
            self.fed[who] += fed_rate_displacing(self.gas.key, c[above]) * (dt / 60.0)
            hit = who[(self.fed[who] >= 1.0) & ~self._down[who]]
            for i in hit:
                self._fall(int(i), outdoors)
            self.t_incap[hit] = t_now
        pr = self.gas.probit
        if pr is None:
            return
        self.load[idx] += self._load_step(c, dt / 60.0)
        if self.load[idx].max(initial=0.0) < self._load_floor:
            return  # below the load at which even the lowest threshold is passed: nobody can die yet
        live = idx[(self.load[idx] > 0) & ~self.fatal[idx]]
        if len(live):
            p = probit_probability(pr.value(self.load[live]))
            dead = live[p > self.threshold[live]]
            if len(dead):
                self.fatal[dead] = True
                self.t_fatal[dead] = t_now
            for i in dead:
                i = int(i)
                if not self._down[i]:
                    self._fall(i, outdoors)
                    self.t_incap[i] = t_now

    def _fall(self, i: int, outdoors: bool) -> None:
        if outdoors:
            self._collapse_outdoors(i)
        else:
            self.crowd.incapacitate(i)
        self._down[i] = True

    def _collapse_outdoors(self, i: int) -> None:
        """Person ``i`` collapses in the open. :meth:`Crowd.incapacitate` leaves people who passed an exit
        alone (they count as safe), so the same change is made here for them: the state, a new version
        (which cancels a pending arrival at the muster point), the journal entry and the event."""
        c = self.crowd
        if c._state[i] == INCAPACITATED:
            return
        if c._state[i] != SAFE:  # not yet out (a start point in the open): the crowd's own path
            c.incapacitate(i)
        else:
            c._poke()
            c._pending_edge.pop(i, None)
            c._state[i] = INCAPACITATED
            c._version[i] += 1
            c.count_out(i)  # journals the change (the person is already out of every space)
            v = c._node[i]
            c.events.append((c.now, "incapacitated", i, c.node_ids[v] if v >= 0 else "", "outdoors"))
        self.down_outdoors[i] = True

    def _breathers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """People inside (index, zone, protected). Only the people the crowd's journal names since the
        last call are looked at again: rebuilding every zone from the crowd's lists each gas step cost
        more than the rest of a 10,000-person drill."""
        journal = self.crowd.journal
        if self._cache is not None and self._seen == len(journal):
            return self._cache
        touched = journal[self._seen:] if self._cache is not None else range(self.n)
        self._seen = len(journal)
        place = self.crowd.place
        state = self.crowd._state
        node_zone, space_zone = self.node_zone, self.space_zone
        zone, last = self._zone, self.last_zone
        for i in set(touched):
            v, sp = place(i)
            z = -1
            if sp >= 0:
                z = int(node_zone[v]) if v >= 0 else -1
                if z < 0:
                    z = int(space_zone[sp])
            if z >= 0:
                last[i] = z
            elif state[i] == INCAPACITATED and not self.down_outdoors[i]:
                # a collapsed person is no longer counted in a space but goes on breathing where they fell
                # (in the open: the regional outdoor air, see breathe_outdoors)
                z = int(last[i])
            zone[i] = z
        idx = np.flatnonzero(zone >= 0)
        self._cache = (idx, zone[idx], self._prot[idx])
        return self._cache


def _running(start: np.ndarray, inc: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Running sums ``start + inc[0, cols] + ... + inc[i, cols]`` for each row ``i`` (rows, len(cols)),
    added row after row as the per-step code adds them, so the same to the bit: np.cumsum along the
    first axis for a few columns, else a loop of whole-row additions (faster there: np.cumsum walks
    each column across the rows)."""
    if len(cols) < 100:
        return np.cumsum(np.vstack([start[None, :], inc[:, cols]]), axis=0)[1:]
    out = np.empty((len(inc), len(cols)))
    acc = start
    for i in range(len(inc)):
        acc = np.add(acc, inc[i].take(cols), out=out[i])
    return out


def _no_commit(j: int) -> Callable[[int], None]:
    """The commit of a block that changes nothing (no gas, or nobody breathing it)."""
    def commit(k: int) -> None:
        if not 0 <= k <= j:
            raise ValueError(f"commit({k}) outside the block's safe rows [0, {j}]")
    return commit
