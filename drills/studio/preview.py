"""What an alert rule would have done: the preview on the alert rules board.

Both figures come from the project's own code, never a re-implementation:

- **on a simulated leak**: the scenario (with the edited ``alerts:`` block) runs once through
  :func:`drills.sim.engine.run_scenario` on its own seed; ``t_alert`` is the time from the leak's start
  to the first alert (s). The *lead time* is how much earlier that is than the alert of the detectors'
  own set points (``{policy: threshold}``) in the same run conditions: positive means earlier.
- **on a leak-free week**: :func:`drills.alerts.policies.false_alert_rate` feeds the site's detector models
  (with their zones, as the run builds them) zero true concentration for one site-week (7 sensor-days per
  detector) and counts the alerts; ``false_alerts_per_week`` is that rate times the detectors times 7.
"""

from __future__ import annotations

from typing import Any

__all__ = ["preview_alerts"]

WEEK_DAYS = 7.0


def preview_alerts(sc: Any, alerts: dict[str, Any] | None, seed: int = 0) -> dict[str, Any]:
    """Preview ``alerts`` (the raw ``alerts:`` mapping) on scenario ``sc`` (a loaded Scenario)."""
    import numpy as np

    from drills.alerts.policies import false_alert_rate
    from drills.sim.engine import build_run, run_scenario

    edited = sc.evolve(alerts=alerts)
    res = run_scenario(edited, log_trajectories=False)
    base = run_scenario(sc.evolve(alerts={"policy": "threshold"}), log_trajectories=False)
    t_alert, t_base = res.kpis.get("t_alert"), base.kpis.get("t_alert")
    lead = None if t_alert is None or t_base is None else round(float(t_base) - float(t_alert), 1)

    run = build_run(edited, log_trajectories=False)
    eng = run.hazards.alert_engine if run.hazards is not None else None
    weekly = None
    n = 0
    if eng is not None and eng.specs:
        n = len(eng.specs)
        zones = [eng.zone_labels[c] for c in eng.zc]
        rate = false_alert_rate(edited.alerts, eng.specs, WEEK_DAYS * n, np.random.default_rng(seed),
                                zones=zones, positions=eng.pos, step=edited.gas_step)
        weekly = round(rate * n * WEEK_DAYS, 2)
    run.model.release()
    return {"policy": eng.policy if eng is not None else None, "detectors": n,
            "t_alert": t_alert, "t_alert_setpoints": t_base, "lead_time": lead,
            "t_detect": res.kpis.get("t_detect"), "alerts_in_drill": res.kpis.get("alerts"),
            "false_alerts_in_drill": res.kpis.get("false_alerts"), "false_alerts_per_week": weekly,
            "week_sensor_days": WEEK_DAYS * n}
