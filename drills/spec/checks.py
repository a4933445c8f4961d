"""Checks of a validated scenario that look across fields: references that can never fire are refused,
events that will not happen within the run are warned about (the warnings are printed and stored in the
results' ``manifest.json``). Checks that need the site (how many people of a role exist, how dense a
start is, how many set points the detectors have) are in :mod:`drills.sim.engine`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin.errors import InputError

if TYPE_CHECKING:
    from drills.spec.scenario import Scenario

__all__ = ["check_references", "scenario_warnings"]

# inject kinds that alert people on their own (an alarm sounds, an evacuation is ordered)
_CUE_KINDS = ("alarm", "evacuate")


def check_references(sc: Scenario) -> None:
    """Raise :class:`InputError` (``where`` is the field path) for a reference nothing can satisfy."""
    ids = [str(i.id) for i in sc.injects]
    for i, wf in enumerate(sc.workflows):
        t = wf.trigger
        if t.inject is not None and str(t.inject) not in ids:
            known = ", ".join(ids) or "(none: the scenario has no injects)"
            raise InputError(f"no inject has id {t.inject!r}, so workflow {wf.name!r} could never start; "
                             f"inject ids: {known}", where=f"workflows[{i}].trigger.inject")


def _fmt(t: float) -> str:
    return f"{t / 60:g} min" if t >= 60 else f"{t:g} s"


def scenario_warnings(sc: Scenario) -> list[str]:
    """What in ``sc`` will silently not happen: events timed at or after ``duration``, and a population
    that nothing alerts (no alarm, hazard, alert policy, alarm or evacuate inject, or workflow)."""
    out: list[str] = []
    end = sc.duration

    def late(field: str, t: float | None, what: str) -> None:
        if t is not None and t >= end:
            out.append(f"{field}: {what} at {_fmt(t)} is at or after the end of the run (duration {_fmt(end)}); "
                       "it never happens")

    if sc.alarm is not None:
        late("alarm.at", sc.alarm.at, "the alarm")
    for k, inj in enumerate(sc.injects):
        late(f"injects[{k}].time", inj.time, f"inject {inj.id} ({inj.kind})")
    for k, h in enumerate(sc.hazards):
        late(f"hazards[{k}].start", h.start, f"release {h.id if h.id is not None else k + 1}")
    for i, wf in enumerate(sc.workflows):
        late(f"workflows[{i}].trigger.at", wf.trigger.at, f"workflow {wf.name!r}")
    alerted = (sc.alarm is not None or bool(sc.hazards) or sc.alerts is not None or bool(sc.workflows)
               or any(inj.kind in _CUE_KINDS or inj.kind == "leak" for inj in sc.injects))
    if sum(e.count for e in sc.population) and not alerted:
        out.append("nothing alerts the people (no alarm, hazard, alert policy, alarm or evacuate inject, or "
                   "workflow): nobody will move and every evacuation KPI stays empty")
    return out
