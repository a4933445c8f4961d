"""Tenability of the places of a drill, from the zone concentrations of one gas: when each place stops
allowing escape (ASET), the oxygen left, and for flammable gases the share of the LEL and the flammable
volume.

**ASET** of a zone: the time from the first release at which a person standing there from the start
would be incapacitated, i.e. the zone's incapacitation dose (:func:`twin.toxicity.fed_rate`: ISO 13571
FED, Purser's hypoxia term, the H2S knockdown bands) reaches 1; a place's ASET is the earliest of its
zones. It is compared with the **RSET** of the people who started there: the time the last of them
passed an exit (the KPI ``aset_rset_margin`` is the smallest ASET - RSET over the places people left,
negative when a place became untenable before everyone had left it).

**Flammable gases**: %LEL after NFPA 497 (the registry's LEL, :mod:`twin.gas`), the time any zone spent at
or above 10, 25 and 50 %LEL (detector alarm and ESD levels), and the flammable cloud: the zones at or
above the LEL (and below the UEL), their volume and places, at the moment that volume peaked.

Many gas steps can be accounted at once (:meth:`Tenability.update_block`), with the same result as one
:meth:`Tenability.update` per step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.dispersion import O2_IN_AIR, Multizone
from twin.gas import Gas, kgm3_to_ppm
from twin.toxicity import FED_SUSCEPTIBLE, fed_onset_ppm, fed_rate_displacing

__all__ = ["LEL_LEVELS", "Tenability"]

LEL_LEVELS = (10, 25, 50)
"""%LEL levels whose time above is reported (common alarm set points 10/20-25 %LEL and executive action at
40-60 %LEL; e.g. IEC 60079-29-2 guidance on set points)."""


class Tenability:
    """Per-zone tenability bookkeeping of one gas (see the module notes). Call :meth:`update` after every
    gas step with the step's length, or :meth:`update_block` for many steps at once."""

    def __init__(self, gas: Gas, n_zones: int):
        self.gas = gas
        self.fed = np.zeros(n_zones)
        self.aset = np.full(n_zones, np.inf)  # absolute s
        self._open = np.ones(n_zones, dtype=bool)  # zones whose ASET is not reached yet
        self.min_o2 = 100.0 * O2_IN_AIR
        self.max_fraction = 0.0
        self.lel_pct_peak = 0.0
        self.t_above = {lv: 0.0 for lv in LEL_LEVELS}
        self.cloud_volume = 0.0
        self.cloud_zones: list[int] = []
        self._lel_ppm = gas.lel_for() * 1e4 if gas.flammable else None
        self._uel_ppm = gas.uel * 1e4 if gas.flammable and gas.uel else None
        self._to_ppm = float(kgm3_to_ppm(1.0, gas))  # ppm per kg/m3
        self._onset = fed_onset_ppm(gas.key)

    def update(self, t: float, dt: float, mz: Multizone) -> None:
        """Account the step of ``dt`` s ending at ``t`` (s) of the zone state of ``mz``."""
        top_ppm = float(mz.c.max(initial=0.0)) * self._to_ppm
        if top_ppm <= 0.0:
            return
        top, o2 = self._air(top_ppm)
        self.max_fraction = max(self.max_fraction, float(top))
        self.min_o2 = min(self.min_o2, float(o2))
        if top_ppm >= self._onset:
            # only zones above the onset whose ASET is not yet known: nothing else changes an ASET
            z = np.flatnonzero(self._dosed(mz.c) & self._open)
            if len(z):
                self.fed[z] += self._fed_step(mz.c[z], dt)
                hit = z[self.fed[z] >= 1.0]
                self.aset[hit] = t
                self._open[hit] = False
        if self._lel_ppm is not None:
            peak = self._lel_pct(top_ppm)
            self.lel_pct_peak = max(self.lel_pct_peak, float(peak))
            for lv in LEL_LEVELS:
                if peak >= lv:
                    self.t_above[lv] += dt
            if peak >= 100.0:
                self._cloud(mz.c, mz.volume)

    def update_block(self, times: np.ndarray, dts: np.ndarray, c_rows: np.ndarray, volume: np.ndarray) -> None:
        """:meth:`update` for every row in order: the step of ``dts[i]`` s ending at ``times[i]`` (s) with
        zone concentrations ``c_rows[i]`` (kg/m3) in zones of ``volume`` (m3), vectorised over the rows
        (the same operations per row; sums are taken row after row, so the result is the same to the
        bit)."""
        c_rows = np.asarray(c_rows, dtype=float)
        if not len(c_rows):
            return
        top_ppm = c_rows.max(axis=1, initial=0.0) * self._to_ppm
        rows = np.flatnonzero(top_ppm > 0.0)  # update() returns at once for the others
        if not len(rows):
            return
        times = np.asarray(times, dtype=float)[rows]
        dts = np.asarray(dts, dtype=float)[rows]
        c_rows, top_ppm = c_rows[rows], top_ppm[rows]
        top, o2 = self._air(top_ppm)
        self.max_fraction = max(self.max_fraction, float(top.max()))
        self.min_o2 = min(self.min_o2, float(o2.min()))
        dosed = self._dosed(c_rows) & (top_ppm >= self._onset)[:, None] & self._open
        if dosed.any():
            cols = np.flatnonzero(dosed.any(axis=0))  # zones that take a dose in some row
            d = dosed[:, cols]
            inc = np.zeros(d.shape)
            inc[d] = self._fed_step(c_rows[:, cols][d], np.broadcast_to(dts[:, None], d.shape)[d])
            fed = np.cumsum(np.vstack([self.fed[cols][None, :], inc]), axis=0)[1:]
            # a zone stops taking doses after the row whose FED reached 1 (its ASET)
            hit = (fed >= 1.0) & d
            closed = hit.any(axis=0)
            last = np.where(closed, np.argmax(hit, axis=0), len(rows) - 1)
            self.fed[cols] = fed[last, np.arange(len(cols))]
            self.aset[cols[closed]] = times[last[closed]]
            self._open[cols[closed]] = False
        if self._lel_ppm is not None:
            peak = self._lel_pct(top_ppm)
            self.lel_pct_peak = max(self.lel_pct_peak, float(peak.max()))
            for lv in LEL_LEVELS:
                sel = dts[peak >= lv]
                if len(sel):  # a sum taken step after step, as update() adds them
                    self.t_above[lv] = float(np.cumsum(np.concatenate([[self.t_above[lv]], sel]))[-1])
            for i in np.flatnonzero(peak >= 100.0):
                self._cloud(c_rows[i], volume)

    def _air(self, top_ppm: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Largest volume fraction of the gas and the least oxygen (%) it leaves, from the top ppm."""
        top = np.minimum(np.multiply(top_ppm, 1e-6), 1.0)
        return top, 100.0 * O2_IN_AIR * (1.0 - top)

    def _dosed(self, c: np.ndarray) -> np.ndarray:
        """Where concentrations ``c`` (kg/m3) are at or above the FED onset."""
        return c >= self._onset / self._to_ppm

    def _fed_step(self, c: np.ndarray, dt: float | np.ndarray) -> np.ndarray:
        """FED of ``dt`` s at concentrations ``c`` (kg/m3)."""
        return fed_rate_displacing(self.gas.key, c * self._to_ppm) * (np.divide(dt, 60.0))

    def _lel_pct(self, top_ppm: float | np.ndarray) -> float | np.ndarray:
        """%LEL of ``top_ppm``."""
        return top_ppm / self._lel_ppm * 100.0

    def _cloud(self, c: np.ndarray, volume: np.ndarray) -> None:
        """The flammable cloud of zone concentrations ``c`` (kg/m3): kept when its volume is the largest yet."""
        ppm = c * self._to_ppm
        lel = ppm / self._lel_ppm * 100.0
        inside = (lel >= 100.0) & ((ppm < self._uel_ppm) if self._uel_ppm else True)
        vol = float(volume[inside].sum())
        if vol > self.cloud_volume:
            self.cloud_volume = vol
            self.cloud_zones = np.flatnonzero(inside).tolist()

    def kpis(self, t0: float, graph: Any, zones: list[str], crowd: Any, exposure: Any) -> dict[str, Any]:
        """The KPIs of this gas (times in s from ``t0``): see :func:`drills.sim.hazards.GasHazards.kpis`."""
        n = crowd.n
        space_of = [graph.zones[z].space for z in zones]
        names = {sid: sp.name for sid, sp in graph.site.spaces.items()}
        aset_space: dict[str, float] = {}
        for zi, sid in enumerate(space_of):
            if np.isfinite(self.aset[zi]):
                aset_space[sid] = min(aset_space.get(sid, np.inf), float(self.aset[zi]))
        out: dict[str, Any] = {
            "min_o2_pct": round(self.min_o2, 3),
            "max_gas_fraction": round(self.max_fraction, 6),
            "fatal_exposures": int(exposure.fatal[:n].sum()) if exposure.n else 0,
            "fed_susceptible": int((exposure.fed[:n] >= FED_SUSCEPTIBLE).sum()) if exposure.n else 0,
            "aset_min": None, "aset_place": None, "aset_rset_margin": None, "aset_rset_place": None,
        }
        if aset_space:
            sid = min(aset_space, key=lambda s: (aset_space[s], names.get(s, s)))
            out["aset_min"] = round(aset_space[sid] - t0, 3)
            out["aset_place"] = names.get(sid, sid)
            out["aset_by_place"] = {names.get(s, s): round(v - t0, 3) for s, v in sorted(aset_space.items())}
            # RSET per starting place: the last of its people through an exit (inf if someone never left)
            start = crowd.start_space[:n]
            t_exit = crowd.t_exit[:n]
            margins = {}
            for s, a in aset_space.items():
                if s not in crowd.space_index:
                    continue
                who = start == crowd.space_index[s]
                if not who.any():
                    continue
                te = t_exit[who]
                rset = float(np.max(np.where(np.isfinite(te), te, np.inf)))
                margins[s] = a - rset
            if margins:
                s = min(margins, key=lambda k: (margins[k], names.get(k, k)))
                m = margins[s]
                out["aset_rset_margin"] = round(m, 3) if np.isfinite(m) else None
                out["aset_rset_place"] = names.get(s, s)
        if self._lel_ppm is not None:
            out.update({
                "peak_lel_pct": round(self.lel_pct_peak, 3),
                **{f"t_above_{lv}_lel": round(self.t_above[lv], 3) for lv in LEL_LEVELS},
                "flammable_volume_m3": round(self.cloud_volume, 3),
                "flammable_places": sorted({names.get(space_of[z], space_of[z]) for z in self.cloud_zones}),
            })
        return out
