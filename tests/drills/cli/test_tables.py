"""Terminal tables a new user can read (issue 16): KPIs with units and minutes:seconds, tables that fold to
the terminal's width instead of running off it."""

from __future__ import annotations

import io

from rich.console import Console

from drills.cli.common import kpi_table
from drills.cli.main import _kpi_label, _list_table
from drills.spec.kpi_names import kpi_unit

KPIS = {"t_alarm": 12.5, "t_evacuated": 495.4, "occupants": 61, "false_alerts": 0, "peak_dose": 3.2,
        "peak_dose_unit": "ppm^2 min", "gas_released_kg": 1.5, "exit_counts": {"EXIT-SA": 32, "EXIT-SB": 29},
        "lower_bound_method": "cut bound", "t_detect": None}


def _render(table, width: int) -> list[str]:
    buf = io.StringIO()
    Console(file=buf, width=width, markup=False).print(table)
    return buf.getvalue().splitlines()


def test_kpi_units():
    assert [kpi_unit(k, KPIS) for k in ("t_alarm", "occupants", "false_alerts", "peak_dose", "gas_released_kg",
                                        "lower_bound_method", "wall_s", "premovement_mean")] == \
        ["s", "people", "alerts", "ppm^2 min", "kg", "", "s", "s"]
    assert _kpi_label("t_alert") == "t_alert (s)" and _kpi_label("PlantA.safe") == "PlantA.safe (people)"


def test_kpi_table_has_units_and_minutes():
    lines = "\n".join(_render(kpi_table("run", KPIS), 100))
    assert "495.40 (8:15.4)" in lines and "12.50 " in lines  # under a minute: seconds only
    row = next(ln for ln in lines.splitlines() if "t_evacuated" in ln)
    assert row.rstrip("│ ").endswith("s")
    assert "peak_dose_unit" not in lines and "ppm^2 min" in lines


def test_tables_fit_a_narrow_terminal():
    for width in (60, 80):
        assert max(len(ln) for ln in _render(kpi_table("run", KPIS), width)) <= width
    items = [{"label": "exit from Foyer (A101), Level 1", "use_name": "M_Single-Flush:1250mm x 2010mm:1250mm x 2010mm:146596",
              "width_m": 1.25, "id": "1hOSvn6df7F8_7GcBWlRGQ"}]
    lines = _render(_list_table("exits", items), 80)
    assert max(len(ln) for ln in lines) <= 80
    assert any("1hOSvn6df7F8_7GcBWlRGQ" in ln for ln in lines)  # ids stay whole, to be copied
