"""The site view's data: per-level floor plans of the twin as JSON for the page's SVG.

Geometry is the twin's own (:func:`twin.load.load_twin`); the levels and rings are those of the report and
the replay (:func:`drills.outputs.report._storeys`, :func:`drills.outputs.replay._ring_list`), so the
studio, the report and the replay draw one plan. Coordinates in metres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["site_plan", "coverage"]


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


def coverage(sc: Any, out_dir: Path) -> dict[str, Any]:
    """Coverage of the scenario's existing detectors, as ``drilltwin sensors evaluate`` computes it
    (:func:`drills.studies.placement.build_ensemble`, :func:`~drills.studies.placement.evaluate`), with its
    coverage map PNGs per storey (:func:`~drills.studies.placement.coverage_maps`) written to ``out_dir``."""
    from drills.studies.placement import build_ensemble, coverage_maps, evaluate

    ens = build_ensemble(sc, "existing", progress=False)
    res = evaluate(ens)
    out_dir.mkdir(parents=True, exist_ok=True)
    res["maps"] = [Path(p).name for p in coverage_maps(ens, list(range(len(ens.candidates))), out_dir, "studio")]
    return res
