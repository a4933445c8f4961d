"""The site view's data: per-level floor plans of the twin as JSON for the page's SVG.

Geometry is the twin's own (:func:`twin.load.load_twin`); the levels and rings are those of the report and
the replay (:func:`drills.outputs.report._storeys`, :func:`drills.outputs.replay._ring_list`), so the
studio, the report and the replay draw one plan. Coordinates in metres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["site_plan"]


def site_plan(site_file: Path) -> dict[str, Any]:
    """``{name, levels: [{name, elevation}], spaces, doors, sensors, equipment, alarms, musters}``; each item
    carries its level index ``s``, a name the scenario can use and its position or rings (m)."""
    from drills.outputs.replay import _ring_list
    from drills.outputs.report import _storeys
    from twin.load import load_twin

    g = load_twin(site_file)
    site = g.site
    levels = _storeys(g)
    st_index = {sid: i for i, lv in enumerate(levels) for sid in lv.ids}
    ground = min(range(len(levels)), key=lambda i: abs(levels[i].elevation)) if levels else 0

    def level_of(space: str | None, storey: str | None) -> int:
        sp = site.spaces.get(space) if space else None
        return st_index.get(sp.storey if sp is not None else storey, ground)

    def xy(p) -> list[float]:
        return [round(float(p[0]), 2), round(float(p[1]), 2)]

    spaces = [{"s": st_index[sp.storey], "name": sp.name, "label": sp.label, "rings": _ring_list(sp.footprint),
               "walk": bool(sp.walkable)} for sp in site.spaces.values() if sp.storey in st_index]
    doors = [{"s": level_of(d.spaces[0] if d.spaces else None, d.storey), "name": d.name, "xy": xy(d.position),
              "exit": bool(d.exit)} for d in site.doors.values()]
    sensors = [{"s": level_of(x.space, x.storey), "name": x.name, "xy": xy(x.position), "kind": x.kind,
                "gas": x.gas, "setpoints": [str(c) for c in x.setpoints]} for x in site.sensors.values()]
    equipment = [{"s": level_of(e.space, e.storey), "name": e.name, "xy": xy(e.position), "kind": e.kind}
                 for e in site.equipment.values()]
    alarms = [{"s": level_of(a.space, a.storey), "name": a.name, "xy": xy(a.position)} for a in site.alarms.values()]
    musters = [{"s": ground, "name": m.name, "xy": xy(m.position)} for m in site.muster.values()]
    return {"name": site.name, "levels": [{"name": lv.name, "elevation": lv.elevation} for lv in levels],
            "spaces": spaces, "doors": doors, "sensors": sensors, "equipment": equipment, "alarms": alarms,
            "musters": musters}
