"""The names of a run's KPIs, in the order ``kpis.json`` lists them (the results-folder format in
``docs/results.md``). Names are only ever added, never renamed: scenarios' ``targets``, experiments and
reports refer to them. Computed by :func:`drills.sim.kpis.compute_kpis`.
"""

__all__ = ["KPI_KEYS", "NUMERIC_KPIS", "kpi_unit"]

KPI_KEYS = ("t_detect", "t_alert", "t_ack", "t_alarm", "t_isolate", "t_evacuated", "t_mustered",
            "t_headcount", "occupants", "safe", "trapped", "incapacitated", "exposed_idlh", "peak_dose",
            "false_alerts", "exit_counts", "wall_s")

# KPIs a comparison can use: the numeric ones of docs/kpis.md plus the numeric extras the engine adds
NUMERIC_KPIS = tuple(k for k in KPI_KEYS if k != "exit_counts") + (
    "t_all_clear", "evacuees", "t_evacuated_p50", "t_evacuated_p95", "premovement_mean", "t_lower_bound",
    "gas_released_kg", "peak_ppm", "t_occupants_out", "t_wardens_out",
    # detection and alerts, the same for every policy (docs/alerts.md)
    "t_first_alert", "t_first_true_alert", "t_first_true_alarm", "t_detect_any", "false_alerts_pre_leak",
    "false_alerts_post_leak", "alert_episodes", "alert_latency", "detector_days")

_COUNTS = {"occupants", "safe", "trapped", "incapacitated", "evacuees", "exposed_idlh"}


def kpi_unit(key: str, kpis: dict | None = None) -> str:
    """The unit a KPI is in, for tables: ``s`` for times, ``people``, ``alerts``, ``kg``, ``ppm``; the
    dose unit from ``kpis["peak_dose_unit"]``; ``""`` for text and mappings."""
    if key.startswith("t_") or key.endswith("_s") or key == "premovement_mean":
        return "s"
    if key in _COUNTS or key == "exit_counts":
        return "people"
    if key in ("false_alerts", "alerts") or key.startswith("false_alerts_") or key == "alert_episodes":
        return "alerts"
    if key.endswith("_kg"):
        return "kg"
    if key.endswith("_ppm"):
        return "ppm"
    if key == "peak_dose":
        return str((kpis or {}).get("peak_dose_unit") or "")
    return ""
