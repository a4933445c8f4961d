"""Control-room people and their alarm fatigue: who is told what about an alert, and what they learn.

The alert layer hands a person an :class:`AlertRecord`: what a console shows (id, time, zone, level,
policy, sensors, confidence) and nothing else. Whether the alert was true is not part of it. A person
learns that only when someone has *investigated* the alert (a timed task, :meth:`Operators.
investigation_time`), and the caller (the drill, which alone can look at the air) reports the finding with
:meth:`Operators.learn`. Each person keeps their own history, so two operators on one shift (or an
operator and the supervisor an alert escalates to) can be tired to different degrees.

The model (per person)
----------------------
The person's belief in the alarm system is the recent share of false alerts,
``f = F / (F + T + trust_prior)`` over the last ``memory`` alerts of theirs whose outcome they have
learned (the shift's earlier ``false_alerts_seen`` / ``true_alerts_seen`` count as the oldest entries;
``trust_prior`` pseudo-true alerts make a fresh person trust the system). Alerts still being
investigated, and alerts dismissed without investigation, do not count: their outcome is unknown.

* dismiss probability ``p = dismiss_gain * f`` (times ``corroborated_factor`` when more than one sensor
  contributed). The basis is *probability matching*: in Bliss, Gilson & Deaton (1995), Ergonomics
  38(11):2000-2012, about 90 % of subjects responded to alarms in proportion to their measured reliability
  (25/50/75 %), so ``dismiss_gain = 1``. Credibility falls with each false alarm (Breznitz 1984, *Cry
  Wolf*). Alarms that can be cross-checked are answered by their own validity (Wiczorek & Manzey 2014,
  Ergonomics 57(6)), hence ``corroborated_factor`` (0.2: a modelling choice, no figure in the sources).
  ``dismiss_gain = 0`` switches the effect off, as measured for en-route air traffic controllers (Wickens
  et al. 2009, Human Factors 51(4): no cry-wolf effect at 45 % false alerts).
* acknowledgement delay: lognormal with median ``ack_median * (1 + beta * f)`` and ``ack_sigma``. The
  direction is measured: response latencies are short at a high positive predictive value and long at a
  low one (Getty, Swets, Pickett & Gonthier 1995, J. Exp. Psychol. Applied 1(1):19-33); nurses' response
  times grew with the number of preceding non-actionable alarms (Bonafide et al. 2015, J. Hosp. Med.
  10(6):345-351), where 0.5 % of 11,745 alarms were actionable and the adjusted median response was
  10.4 min (Bonafide et al. 2017, JAMA Pediatrics 171(6):524-531). ``ack_median = 30 s``, ``ack_sigma =
  0.5`` and ``beta = 3`` are modelling choices with no sourced value: set them in the scenario.
* investigation: ``investigation`` is the time (s) from an acknowledgement until the outcome is known
  (walk to the zone, check with a portable detector, report back): lognormal, median 10 min, sigma 0.5
  by default, a stated planning value (no sourced figure); set it in the scenario.

Randomness: every draw comes from the Generator the caller passes; :meth:`Operators.respond` makes two
draws per call whatever the outcome, so the stream does not depend on it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin.distributions import Distribution
from twin.errors import InputError
from twin.units import parse_bounded

__all__ = [
    "DEFAULT_INVESTIGATION",
    "AlertRecord",
    "FatigueConfig",
    "OperatorFatigue",
    "Operators",
    "RolePrior",
    "fatigue_caveats",
]

DEFAULT_INVESTIGATION = {"dist": "lognormal", "median": "10min", "sigma": 0.5}
"""Time from acknowledgement to a known outcome: a stated planning value, not a sourced figure."""


@dataclass(frozen=True)
class AlertRecord:
    """An alert as a person is told it: what a console shows, never whether it is true.

    ``t`` s on the drill clock; ``level`` ``"warning"``/``"alarm"`` with its ``rank``; ``zone`` the
    alerting zone's label; ``policy`` the alert policy (or ``"camera"``); ``sensors`` the contributing
    sensors; ``confidence`` 0..1 (the policy's evidence ranking)."""

    id: str
    t: float
    zone: str
    level: str = "alarm"
    rank: int = 1
    policy: str = ""
    sensors: tuple[str, ...] = ()
    confidence: float = 0.0

    @classmethod
    def of(cls, alert: Any) -> AlertRecord:
        """The record of any alert-like object: only the console fields are copied, so nothing else the
        object carries (a truth flag, a score) can reach a person."""
        if isinstance(alert, AlertRecord):
            return alert
        inner = getattr(alert, "alert", None)  # a workflow's event wrapping the policy's alert
        src = inner if inner is not None and hasattr(inner, "id") else alert

        def get(key: str, default: Any) -> Any:
            if isinstance(src, dict):
                return src.get(key, default)
            return getattr(src, key, default)

        return cls(id=str(get("id", "")), t=float(get("t", 0.0)), zone=str(get("zone", "")),
                   level=str(get("level", "alarm")), rank=int(get("rank", 1)), policy=str(get("policy", "")),
                   sensors=tuple(str(s) for s in get("sensors", ()) or ()),
                   confidence=float(get("confidence", 0.0)))


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RolePrior(_Cfg):
    """What the people of one role saw earlier in the shift (counts of alerts of known outcome)."""

    false_alerts_seen: int = Field(0, ge=0, description="false alerts earlier in the shift")
    true_alerts_seen: int = Field(0, ge=0, description="true alerts earlier in the shift")


class FatigueConfig(_Cfg):
    """Alarm-fatigue parameters (the scenario's ``alerts.operator``); see the module docstring."""

    ack_median: float = Field(30.0, description="s; median acknowledgement delay with no false alerts "
                                                "(modelling choice, no sourced value)")
    ack_sigma: float = Field(0.5, ge=0, description="sd of ln(delay)")
    beta: float = Field(3.0, ge=0, description="median delay grows by (1 + beta * false share)")
    dismiss_gain: float = Field(1.0, ge=0, le=1, description="p(dismiss) = gain * false share "
                                                             "(1 = probability matching, Bliss et al. 1995)")
    corroborated_factor: float = Field(0.2, ge=0, le=1, description="dismissal factor for corroborated alerts")
    trust_prior: float = Field(1.0, ge=0, description="pseudo-count of true alerts a fresh person assumes")
    memory: int = Field(20, ge=1, description="how many recent alerts of known outcome a person remembers")
    false_alerts_seen: int = Field(0, ge=0, description="false alerts the operators saw earlier in the shift")
    true_alerts_seen: int = Field(0, ge=0, description="true alerts the operators saw earlier in the shift")
    roles: dict[str, RolePrior] = Field(
        default_factory=dict, description="per-role shift history, e.g. {supervisor: {false_alerts_seen: 2}}; "
                                          "roles not named start fresh (operators: the two counts above)")
    investigation: Any = Field(DEFAULT_INVESTIGATION, validate_default=True, description="s from acknowledgement until the outcome "
                                                                  "is known (distribution; stated planning value)")

    @field_validator("ack_median", mode="before")
    @classmethod
    def _t(cls, v: Any) -> float:
        return parse_bounded(v, "time", "ack_median")

    @field_validator("roles", mode="after")
    @classmethod
    def _roles(cls, v: dict[str, RolePrior]) -> dict[str, RolePrior]:
        from .crowd import ROLES

        bad = sorted(set(v) - set(ROLES))
        if bad:
            raise ValueError(f"not a role: {', '.join(bad)}; roles: {', '.join(ROLES)}")
        return v

    @field_validator("investigation", mode="after")
    @classmethod
    def _inv(cls, v: Any) -> Distribution:
        d = Distribution.parse(v, "time", "investigation")
        if d.kind == "fixed" and d.params["value"] < 0:
            raise ValueError("must be non-negative")
        return d

    def prior(self, role: str) -> RolePrior:
        """The shift history a person of ``role`` starts with."""
        if role in self.roles:
            return self.roles[role]
        if role == "operator":
            return RolePrior(false_alerts_seen=self.false_alerts_seen, true_alerts_seen=self.true_alerts_seen)
        return RolePrior()

    @classmethod
    def parse(cls, raw: Any, where: str = "alerts.operator") -> FatigueConfig:
        """Validate ``raw`` (a mapping or a config); raise :class:`InputError` naming the field."""
        if isinstance(raw, cls):
            return raw
        try:
            return cls.model_validate(raw or {})
        except ValidationError as e:
            err = e.errors()[0]
            msg = err["msg"].removeprefix("Value error, ")
            raise InputError(msg, where=".".join([where, *map(str, err["loc"])])) from None


@dataclass
class OperatorFatigue:
    """One person's trust in the alarm system, from their own alert history.

    ``history`` holds ``(alert id, outcome)`` in the order the person saw the alerts; the outcome is
    ``None`` until learned, then True for a false alert. ``role`` picks the shift history
    (:meth:`FatigueConfig.prior`)."""

    params: FatigueConfig = field(default_factory=FatigueConfig)
    role: str = "operator"
    history: list[tuple[str, bool | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.params = FatigueConfig.parse(self.params)
        pr = self.params.prior(self.role)
        # The shift's earlier alerts are the oldest memories (true first: the false ones are taken as the
        # more recent, the conservative reading of "how many false alerts the shift has already seen").
        self._prior = [False] * pr.true_alerts_seen + [True] * pr.false_alerts_seen

    def recent_false_share(self) -> float:
        """``F / (F + T + trust_prior)`` over the last ``memory`` alerts of known outcome."""
        judged = self._prior + [bool(f) for _, f in self.history if f is not None]
        recent = judged[-self.params.memory:]
        den = len(recent) + self.params.trust_prior
        return sum(recent) / den if den > 0 else 0.0

    def ack_delay(self, rng: np.random.Generator, false_share: float | None = None) -> float:
        """Seconds from the alert to its acknowledgement: lognormal, median ``ack_median (1 + beta f)``."""
        f = self.recent_false_share() if false_share is None else float(false_share)
        p = self.params
        return float(p.ack_median * (1.0 + p.beta * f) * math.exp(p.ack_sigma * rng.standard_normal()))

    def p_dismiss(self, false_share: float | None = None, corroborated: bool = False) -> float:
        """Probability of dismissing an alert: ``dismiss_gain * f`` (probability matching)."""
        f = self.recent_false_share() if false_share is None else float(false_share)
        p = self.params.dismiss_gain * f * (self.params.corroborated_factor if corroborated else 1.0)
        return float(min(max(p, 0.0), 1.0))

    def respond(self, rng: np.random.Generator, alert: Any, corroborated: bool | None = None) -> tuple[bool, float]:
        """(dismissed, acknowledgement delay in s) for an alert the person is shown now; it joins the
        history with an unknown outcome. Only the :class:`AlertRecord` of ``alert`` is read.
        ``corroborated`` defaults to "more than one sensor contributed". Two draws per call, always."""
        rec = AlertRecord.of(alert)
        corr = len(rec.sensors) > 1 if corroborated is None else corroborated
        f = self.recent_false_share()
        u = rng.random()
        delay = self.ack_delay(rng, f)
        if not any(aid == rec.id for aid, _ in self.history):
            self.history.append((rec.id, None))
        return bool(u < self.p_dismiss(f, corr)), delay

    def saw(self, alert_id: str) -> bool:
        return any(aid == alert_id for aid, _ in self.history)

    def judge(self, alert_id: str, false: bool) -> None:
        """Record the outcome of alert ``alert_id`` (learned from an investigation)."""
        for i, (aid, _) in enumerate(self.history):
            if aid == alert_id:
                self.history[i] = (aid, bool(false))
                return
        self.history.append((alert_id, bool(false)))


class Operators:
    """Everyone who handles alerts in one run, each with their own :class:`OperatorFatigue`.

    People are keyed by any hashable (a crowd index; a workflow's off-site member number; or, when the
    caller does not know who, the role name). The investigation outcome of an alert reaches the people
    who were shown that alert."""

    def __init__(self, params: FatigueConfig | dict | None = None):
        self.params = FatigueConfig.parse(params)
        self.people: dict[Hashable, OperatorFatigue] = {}
        self.outcomes: dict[str, bool] = {}  # alert id -> False alert? (learned outcomes only)
        self.investigating: set[str] = set()

    def person(self, who: Hashable, role: str = "operator") -> OperatorFatigue:
        """The fatigue state of ``who`` (created with ``role``'s shift history the first time)."""
        p = self.people.get(who)
        if p is None:
            p = self.people[who] = OperatorFatigue(self.params, role)
        return p

    def respond(self, rng: np.random.Generator, alert: Any, who: Hashable | None = None,
                role: str = "operator") -> tuple[bool, float]:
        """(dismissed, delay s) of ``who`` (default: the role itself) shown ``alert`` now (see
        :meth:`OperatorFatigue.respond`). If the outcome was already learned, the person knows it too."""
        rec = AlertRecord.of(alert)
        p = self.person(role if who is None else who, role)
        out = p.respond(rng, rec)
        if rec.id in self.outcomes:
            p.judge(rec.id, self.outcomes[rec.id])
        return out

    def investigation_time(self, rng: np.random.Generator, alert: Any) -> float | None:
        """Draw how long investigating ``alert`` takes (s); None if it is already being investigated or
        its outcome is known (one investigation per alert)."""
        rec = AlertRecord.of(alert)
        if rec.id in self.investigating or rec.id in self.outcomes:
            return None
        self.investigating.add(rec.id)
        return float(self.params.investigation.sample(rng, 1)[0])

    def learn(self, alert_id: str, false: bool, people: Iterable[Hashable] | None = None) -> None:
        """The investigation of ``alert_id`` found it false (or true): everyone who was shown it (or only
        ``people``) now knows."""
        self.investigating.discard(alert_id)
        self.outcomes[alert_id] = bool(false)
        for who, p in self.people.items():
            if (people is None and p.saw(alert_id)) or (people is not None and who in people):
                p.judge(alert_id, false)

    def recent_false_share(self, who: Hashable, role: str = "operator") -> float:
        return self.person(who, role).recent_false_share()


def fatigue_caveats(params: FatigueConfig) -> list[str]:
    """Lines for the run's caveats: the alarm-fatigue values a run's KPIs depend on and their basis."""
    p = params
    inv = p.investigation
    return [
        f"Operator alarm fatigue: p(dismiss) = {p.dismiss_gain:g} x share of false alerts among the person's "
        f"last {p.memory} investigated alerts (+{p.trust_prior:g} trusted); probability matching, Bliss, "
        f"Gilson & Deaton 1995 (Ergonomics 38(11)); corroborated alerts x {p.corroborated_factor:g} (modelling "
        "choice)",
        f"Operator acknowledgement delay: lognormal, median {p.ack_median:g} s x (1 + {p.beta:g} x false share), "
        f"sigma {p.ack_sigma:g}; direction measured (Getty et al. 1995; Bonafide et al. 2015, J. Hosp. Med. "
        "10(6)), values are modelling choices",
        f"Alert outcomes are known only after an investigation: {inv.kind} {_fmt(inv.params)} (s; stated "
        "planning value, no sourced figure)",
    ]


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, int | float) else f"{k} {v}" for k, v in params.items())
