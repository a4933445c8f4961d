"""Generate ``office5.site.yaml``: a five-storey office of about 100 spaces.

Run ``python ifc_models/make_office.py`` (then ``python ifc_models/build.py`` for the IFC). The plan is a
60 m x 18 m slab (x 0..60, y 0..18): a 2.5 m corridor along the middle (y 7.5..10), rooms 7.5 m deep to
the south and 8 m deep to the north, and a stair core at each end of the south side (5 m x 7.5 m) with a
switchback of straight flights (one per storey pair, alternating direction). Every storey has 21 spaces:
corridor, two stair cores, 13 offices, 2 meeting rooms, 2 toilets and a kitchen (a reception on the
ground floor instead of the first north office). Storeys are 3.5 m apart. The ground floor has 1.8 m exits
at both ends of the corridor, 1.2 m exits from both stair cores and a 1.8 m main entrance in reception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
STOREYS = 5
STOREY_HEIGHT = 3.5  # m floor to floor
CLEAR_HEIGHT = 3.0  # m floor to ceiling
LENGTH = 60.0  # m, x extent
SOUTH = (0.0, 7.5)  # y range of the south rooms
CORRIDOR = (7.5, 10.0)  # y range of the corridor
NORTH = (10.0, 18.0)  # y range of the north rooms
STAIR_LENGTH = 6.6  # m along the slope for a 3.5 m rise (run 5.6 m)

# (name stem, x0, x1, use) from west to east
SOUTH_ROOMS = [("Stair A", 0, 5, "stair")] + [(f"Office S{k}", 5 + 6 * (k - 1), 5 + 6 * k, "office")
                                              for k in range(1, 8)] + [
    ("Meeting S", 47, 55, "meeting"), ("Stair B", 55, 60, "stair")]
NORTH_ROOMS = [("Toilets W", 0, 5, "toilet")] + [(f"Office N{k}", 5 + 6 * (k - 1), 5 + 6 * k, "office")
                                                 for k in range(1, 7)] + [
    ("Meeting N", 41, 49, "meeting"), ("Kitchen", 49, 55, "kitchen"), ("Toilets E", 55, 60, "toilet")]


def _num(v: float) -> float | int:
    """Whole numbers as ints, so the YAML reads 60 rather than 60.0."""
    return int(v) if float(v).is_integer() else v


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float | int]]:
    return [[_num(x0), _num(y0)], [_num(x1), _num(y0)], [_num(x1), _num(y1)], [_num(x0), _num(y1)]]


def _storey(level: int) -> dict[str, Any]:
    tag = f"L{level}"
    corridor = f"Corridor {tag}"
    spaces: list[dict[str, Any]] = [
        {"name": corridor, "polygon": _rect(0, CORRIDOR[0], LENGTH, CORRIDOR[1]), "use": "corridor"}]
    doors: list[dict[str, Any]] = []
    for rooms, (y0, y1), door_y in ((SOUTH_ROOMS, SOUTH, SOUTH[1]), (NORTH_ROOMS, NORTH, NORTH[0])):
        for stem, x0, x1, use in rooms:
            if level == 0 and stem == "Office N1":
                stem, use = "Reception", "hall"
            name = f"{stem} {tag}"
            space = {"name": name, "polygon": _rect(x0, y0, x1, y1), "use": use}
            if use != "stair":
                space["height"] = CLEAR_HEIGHT
            spaces.append(space)
            wide = use in ("stair", "meeting", "hall")
            doors.append({"name": f"D-{tag}-{stem.replace(' ', '')}", "at": [_num((x0 + x1) / 2), _num(door_y)],
                          "width": 1.2 if wide else 0.9, "between": [corridor, name]})
    if level == 0:
        doors += [
            {"name": "EXIT-W", "at": [0, 8.75], "width": 1.8, "between": [corridor, "outside"]},
            {"name": "EXIT-E", "at": [LENGTH, 8.75], "width": 1.8, "between": [corridor, "outside"]},
            {"name": "EXIT-SA", "at": [2.5, 0], "width": 1.2, "between": ["Stair A L0", "outside"]},
            {"name": "EXIT-SB", "at": [57.5, 0], "width": 1.2, "between": ["Stair B L0", "outside"]},
            {"name": "EXIT-MAIN", "at": [8, 18], "width": 1.8, "between": ["Reception L0", "outside"]},
        ]
    name = "Ground" if level == 0 else f"Level {level}"
    return {"name": name, "elevation": _num(level * STOREY_HEIGHT), "height": STOREY_HEIGHT,
            "spaces": spaces, "doors": doors}


def _stairs() -> list[dict[str, Any]]:
    """Two flights per storey pair, one in each core; a flight runs north on even levels (from the
    south end of its core) and south on odd levels, so consecutive flights meet at a landing."""
    out = []
    for level in range(STOREYS - 1):
        lower = "Ground" if level == 0 else f"Level {level}"
        upper = f"Level {level + 1}"
        north = level % 2 == 0
        for core, x_left in (("A", 0.0), ("B", 55.0)):
            x = x_left + (1.5 if north else 3.5)
            out.append({
                "name": f"ST-{core}{level}{level + 1}",
                "from": [lower, f"Stair {core} L{level}"],
                "to": [upper, f"Stair {core} L{level + 1}"],
                "width": 1.2,
                "length": STAIR_LENGTH,
                "at": [x, 0.8 if north else 6.7],
                "heading": 90 if north else 270,
            })
    return out


def office_sketch() -> dict[str, Any]:
    """The office sketch as plain data, ready for YAML."""
    return {
        "name": "Five-storey office",
        "storeys": [_storey(level) for level in range(STOREYS)],
        "stairs": _stairs(),
        "equipment": [{"name": "V-GAS", "kind": "valve", "space": "Kitchen L0", "at": [52, 17, 0.3]}],
        "sensors": [{"name": f"SD-L{level}", "kind": "smoke", "space": f"Corridor L{level}",
                     "at": [30, 8.75, 2.9], "period": "2s"} for level in range(STOREYS)]
        + [{"name": "GD-KIT", "gas": "CH4", "space": "Kitchen L0", "at": [52, 17, 2.8],
            "setpoints": ["20 %LEL", "40 %LEL"], "t90": "15s", "noise": "1 %LEL", "period": "1s"}],
        "alarms": [{"name": f"AL-L{level}", "space": f"Corridor L{level}", "at": [20, 8.75, 2.8]}
                   for level in range(STOREYS)],
        "muster": [{"name": "M1 Car Park", "at": [30, -30]}, {"name": "M2 Square", "at": [30, 50]}],
    }


class _FlowLists(yaml.SafeDumper):
    """Short lists (points, pairs) on one line; mappings in block style, one per line."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(v, dict) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_FlowLists.add_representer(list, _represent_list)


def write(path: Path = HERE / "office5.site.yaml") -> Path:
    """Write the sketch YAML (with a header comment) and return its path."""
    header = "# Generated by ifc_models/make_office.py; edit that script, not this file.\n"
    header += "".join(f"# {line}\n".replace("# \n", "#\n") for line in (__doc__ or "").strip().splitlines()[2:])
    body = yaml.dump(office_sketch(), Dumper=_FlowLists, sort_keys=False, width=120)
    path.write_text(header + body, encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write())
