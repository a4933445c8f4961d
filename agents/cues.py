"""People who act on what they notice themselves: odour, irritation, and others leaving.

An *unaware* person (occupants and wardens before any alarm) becomes aware, and starts their own
pre-movement time, when one of these cues reaches them; no alarm is needed. (A warden who is aware
already tells the unaware people of the spaces they sweep: :meth:`agents.crowd.Crowd.alarm` and the
sweep in :mod:`agents.crowd`.)

Odour and irritation
    Each gas step the drill hands :meth:`Cues.breathe` the concentration (ppm) each person breathes now
    (:meth:`agents.exposure.Exposure.update` returns it). A person acts on the odour when the
    concentration is at or above their own action level and below the level where smell is lost
    (olfactory fatigue or paralysis), and on irritation at or above their own irritation level. The
    median levels per gas, with their sources, are in :mod:`twin.odour`. People differ: each person's
    levels are the median times ``10 ** (spread_log10 * z)``, ``z`` one standard normal draw per person
    and cue (the same ``z`` for every gas: a keen nose is keen for all of them). ``spread_log10 = 0.25``
    is a modelling choice of the order of the between-person variation of odour thresholds measured for
    propionic acid (90 % interval of about 0.8 log10 units near threshold, Kendal-Reed et al. 1998,
    Chem. Senses 23(1):71-82). People wearing breathing apparatus breathe the filtered air and notice
    nothing.

Others leaving
    A threshold model of collective behaviour (Granovetter 1978, Am. J. Sociol. 83(6):1420-1443): when a
    person sets off to leave a space, everyone unaware whose start space it is sees the share ``s`` of
    the people of that space who have set off so far; those whose own threshold ``theta <= s`` become
    aware. ``theta`` is drawn per person uniform on ``[0, 2 * others_share]`` (mean ``others_share``,
    default 0.3: a modelling choice). That people's reactions in the first phase of an evacuation follow
    those of the people around them was observed in unannounced cinema evacuations (Nilsson & Johansson
    2009, Fire Safety Journal 44(1):71-79). Only the start space counts as "in view": people walking
    through a space are not counted (a stated simplification).

Everything here is vectorised over people and driven by events: the gas cues cost one comparison of
the step's concentrations with the lowest level anyone acts on (nothing more while the air is clean),
the social cue runs once per person who sets off. Random draws come from the run's ``cues`` stream,
made once per person when the person is first seen. :meth:`Cues.first_notice` looks ahead over many gas
steps for the first at which anyone would notice the gas.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from twin.errors import InputError
from twin.gas import get_gas
from twin.odour import ODORISABLE, odour_for

if TYPE_CHECKING:
    from .crowd import Crowd

__all__ = ["Cues", "CuesConfig", "DEFAULT_SPREAD_LOG10", "DEFAULT_OTHERS_SHARE"]

DEFAULT_SPREAD_LOG10 = 0.25
"""sd of log10 of a person's cue levels around the median (modelling choice; module docstring)."""
DEFAULT_OTHERS_SHARE = 0.3
"""Mean share of a space's people seen leaving that makes an unaware person aware (modelling choice)."""


class CuesConfig(BaseModel):
    """The scenario's ``people.cues``: which self-noticed cues make unaware people aware."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    odour: bool = Field(True, description="act on a gas's odour (levels in twin/odour.py)")
    irritation: bool = Field(True, description="act on eye/nose/throat irritation")
    others_leaving: bool = Field(True, description="act on seeing people of one's own space set off")
    spread_log10: float = Field(DEFAULT_SPREAD_LOG10, ge=0, le=2,
                                description="between-person sd of log10 of the odour/irritation levels")
    others_share: float = Field(DEFAULT_OTHERS_SHARE, gt=0, le=0.5,
                                description="mean threshold share of people seen leaving (uniform on [0, 2x])")
    odorised: list[str] = Field(default_factory=list,
                                description="gases carrying an odorant: smelled at 1/5 of their LEL")

    @field_validator("odorised")
    @classmethod
    def _gases(cls, v: list[str]) -> list[str]:
        out = []
        for name in v:
            try:
                g = get_gas(name)
            except InputError:  # say it here so that pydantic attaches the field path
                raise ValueError(f"{name!r} is not a known gas") from None
            if g.key not in ODORISABLE:
                raise ValueError(f"{name!r} is not a fuel gas that carries an odorant ({', '.join(ODORISABLE)})")
            out.append(g.key)
        return out

    def caveats(self, gases: list[str], social: bool = True) -> list[str]:
        """Lines for the run's caveats: the cue levels and spread for ``gases`` (the run's gases), with
        the status of each value; the social cue's threshold when ``social`` (it made anyone aware)."""
        out = []
        for key in gases:
            d = odour_for(key, key in self.odorised)
            parts = []
            if self.odour and d.act_ppm is not None:
                lost = f", not above {d.smell_lost_ppm:g} ppm (smell lost)" if d.smell_lost_ppm else ""
                parts.append(f"odour acted on from {d.act_ppm:g} ppm{lost}")
            if self.irritation and d.irritation_ppm is not None:
                parts.append(f"irritation from {d.irritation_ppm:g} ppm")
            if parts:
                out.append(f"People notice {key} without an alarm: {'; '.join(parts)} (median person; sources in "
                           f"docs/people.md)")
            out.extend(d.caveats())
        if gases and (self.odour or self.irritation):
            out.append(f"Between-person spread of cue levels: sd {self.spread_log10:g} log10 units (modelling "
                       "choice, order of Kendal-Reed et al. 1998)")
        if social and self.others_leaving:
            out.append(f"Seeing others leave: aware when the share of one's own space set off reaches a personal "
                       f"threshold uniform on [0, {2 * self.others_share:g}] (Granovetter 1978 threshold model; "
                       "value a modelling choice)")
        return out


class Cues:
    """The self-noticed cues of one run's crowd. Build, then :meth:`attach` (for the social cue) and call
    :meth:`breathe` every gas step with each gas's per-person ppm."""

    def __init__(self, crowd: Crowd, config: CuesConfig | dict | None = None,
                 rng: np.random.Generator | None = None):
        # the crowd's state codes; imported here so that a scenario can validate CuesConfig without
        # loading the crowd's dependencies (scipy, simpy)
        from .crowd import _T_EXIT, UNAWARE

        self._unaware, self._to_exit = UNAWARE, _T_EXIT
        self.crowd = crowd
        self.config = config if isinstance(config, CuesConfig) else CuesConfig.model_validate(config or {})
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.n = 0
        self.z_odour = np.zeros(0)
        self.z_irr = np.zeros(0)
        self.theta = np.zeros(0)
        self._aware = np.zeros(0, dtype=bool)  # known to be past unaware (a cache of the crowd's state)
        # gas key -> ((odour levels, irritation levels, smell lost), lowest level anyone acts on)
        self._gas: dict[str, tuple[tuple[np.ndarray, np.ndarray, float], float]] = {}
        self._members: dict[int, np.ndarray] = {}  # start space -> its people, by threshold
        self._thetas: dict[int, np.ndarray] = {}  # start space -> their thresholds, ascending
        self._reached: dict[int, int] = {}  # start space -> how many of them a share has passed so far
        self._size: dict[int, int] = {}  # start space -> how many people started there
        self._set_off = np.zeros(0, dtype=np.int64)  # per start space: people who have set off to leave
        self._counted: set[int] = set()
        self.noticed: dict[str, int] = {}  # cue name -> people made aware by it (for reports and tests)
        self.wall = 0.0  # s of wall time spent here (benchmarks/people_cues.py)

    # ------------------------------------------------------------------------------------ people
    def _grow(self) -> None:
        m = self.crowd.n - self.n
        if m <= 0:
            return
        # three draws per person, in person order, whatever cues are on: the stream does not depend on them
        z = self.rng.standard_normal((m, 2))
        u = self.rng.random(m)
        self.z_odour = np.concatenate([self.z_odour, z[:, 0]])
        self.z_irr = np.concatenate([self.z_irr, z[:, 1]])
        self.theta = np.concatenate([self.theta, u * 2.0 * self.config.others_share])
        self._aware = np.concatenate([self._aware, np.zeros(m, dtype=bool)])
        self.n = self.crowd.n
        self._members = {}
        self._size = {}
        self._gas = {}

    def attach(self) -> Cues:
        """Listen for people setting off (the social cue); draws for everyone present now."""
        self._grow()
        if self.config.others_leaving:
            self.crowd.on_start.append(self._on_start)
        return self

    # ------------------------------------------------------------------------------------ gas cues
    def levels(self, gas_key: str) -> tuple[np.ndarray, np.ndarray, float]:
        """Each person's odour action level and irritation level (ppm, inf where the cue is off or the
        gas gives none) and the level where smell is lost (inf: never)."""
        self._grow()
        d = odour_for(gas_key, gas_key in self.config.odorised)
        k = 10.0 ** self.config.spread_log10
        act = np.full(self.n, np.inf)
        irr = np.full(self.n, np.inf)
        if self.config.odour and d.act_ppm is not None:
            act = d.act_ppm * k ** self.z_odour
        if self.config.irritation and d.irritation_ppm is not None:
            irr = d.irritation_ppm * k ** self.z_irr
        lost = d.smell_lost_ppm if d.smell_lost_ppm is not None else np.inf
        return act, irr, lost

    def breathe(self, gas_key: str, ppm: np.ndarray) -> int:
        """People breathing ``ppm`` (per person, this gas step) who notice it become aware now.
        Returns how many did."""
        t0 = time.perf_counter()
        try:
            return self._breathe(gas_key, ppm)
        finally:
            self.wall += time.perf_counter() - t0

    def _breathe(self, gas_key: str, ppm: np.ndarray) -> int:
        ppm = np.asarray(ppm, dtype=float)
        if not ppm.size:
            return 0
        if self.n < len(ppm):
            self._grow()
        hit = self._gas.get(gas_key)
        if hit is None:
            hit = self._gas[gas_key] = self._levels_low(gas_key)
        (act, irr, lost), low = hit
        if not np.isfinite(low) or ppm.max() < low:
            return 0  # the usual step: nobody breathes anything they could notice
        cand = np.flatnonzero((ppm >= low) & ~self._aware[: len(ppm)])
        if not len(cand):
            return 0
        state = self.crowd._state
        unaware = self._unaware
        still = np.fromiter((state[i] == unaware for i in cand), dtype=bool, count=len(cand))
        self._aware[cand[~still]] = True  # nobody becomes unaware again: never looked at again
        cand = cand[still]
        if not len(cand):
            return 0
        c = ppm[cand]
        irritated = c >= irr[cand]
        smelled = (c >= act[cand]) & (c < lost) & ~irritated
        n = self._notice(cand[irritated], f"irritation {gas_key}")
        return n + self._notice(cand[smelled], f"odour {gas_key}")

    def _levels_low(self, gas_key: str) -> tuple[tuple[np.ndarray, np.ndarray, float], float]:
        """:meth:`levels` and the lowest level anyone acts on (ppm)."""
        act, irr, lost = self.levels(gas_key)
        return (act, irr, lost), float(min(act.min(initial=np.inf), irr.min(initial=np.inf)))

    def first_notice(self, gas_key: str, idx: np.ndarray, ppm_rows: np.ndarray) -> int:
        """The first of ``m`` gas steps at which :meth:`breathe` could make anyone aware (or learn that
        someone is no longer unaware), when step ``i`` gives people ``idx`` the ppm ``ppm_rows[i]`` and
        everyone else none; ``m`` if none. Changes nothing (0 while people are not drawn yet: the caller
        then goes step by step)."""
        ppm_rows = np.asarray(ppm_rows, dtype=float)
        m = len(ppm_rows)
        idx = np.asarray(idx, dtype=np.int64)
        if self.n < self.crowd.n:
            return 0  # breathe() would draw the new people's levels first
        if not len(idx) or not m:
            return m
        hit = self._gas.get(gas_key)
        (act, irr, lost), low = hit if hit is not None else self._levels_low(gas_key)
        if not np.isfinite(low):
            return m  # nobody notices this gas at any concentration
        if not low > 0.0:
            return 0  # people breathing nothing would be candidates too: go step by step
        watch = idx[~self._aware[idx]]
        if not len(watch):
            return m
        c = ppm_rows[:, ~self._aware[idx]]
        # breathe() looks at people at or above the lowest level: those no longer unaware are flagged
        # (a change), the unaware act on irritation or on the odour below the level where smell is lost
        known = self.crowd.state[watch] != self._unaware
        acts = (c >= low) & (known | (c >= irr[watch]) | ((c >= act[watch]) & (c < lost)))
        rows = acts.any(axis=1)
        return int(np.argmax(rows)) if rows.any() else m

    def _notice(self, people: np.ndarray, cue: str) -> int:
        if not len(people):
            return 0
        n = self.crowd.alarm(people, cue=cue)
        self.noticed[cue] = self.noticed.get(cue, 0) + n
        return n

    # ---------------------------------------------------------------------------------- social cue
    def _on_start(self, i: int, t: float) -> None:
        t0 = time.perf_counter()
        try:
            self._seen_leaving(i)
        finally:
            self.wall += time.perf_counter() - t0

    def _seen_leaving(self, i: int) -> None:
        c = self.crowd
        if i in self._counted or not c._must_leave[i] or c._target[i] != self._to_exit:
            return  # responders sent somewhere, or people already counted, are not "leaving"
        self._counted.add(i)
        if self.n < c.n:
            self._grow()
        s = int(c._start_space[i])
        if s < 0:
            return
        if not self._members:
            # each start space's people, ordered by threshold: a check only looks at the people whose
            # threshold the share has just passed, so all checks of a run cost O(people) together
            start = c.start_space[: self.n]
            order = np.lexsort((self.theta[: self.n], start))
            bounds = np.searchsorted(start[order], np.arange(len(c.count) + 1))
            self._members = {k: order[bounds[k]:bounds[k + 1]] for k in range(len(c.count))}
            self._thetas = {k: self.theta[m] for k, m in self._members.items()}
            self._reached = dict.fromkeys(self._members, 0)
            self._size = {k: len(m) for k, m in self._members.items()}
            self._set_off = np.zeros(len(c.count), dtype=np.int64)
            for j in self._counted - {i}:
                self._set_off[int(c._start_space[j])] += 1
        self._set_off[s] += 1
        members = self._members.get(s)
        if members is None or self._size[s] < 2:
            return
        share = self._set_off[s] / self._size[s]
        k = int(np.searchsorted(self._thetas[s], share, side="right"))
        first = self._reached[s]
        if k <= first:
            return
        reached = members[first:k]
        self._reached[s] = k
        state = c._state
        space = c._space
        code = self._unaware
        unaware = reached[np.fromiter((state[j] == code and space[j] == s for j in reached), dtype=bool,
                                      count=len(reached))]
        self._notice(unaware, "others leaving")

    @property
    def summary(self) -> dict[str, Any]:
        """How many people each cue made aware (``{"odour H2S": 12, "others leaving": 30, ...}``)."""
        return dict(sorted(self.noticed.items()))
