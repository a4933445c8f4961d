"""What a site holds, item by item, for ``drilltwin twin inspect --list KIND``: each space, door, exit,
sensor or equipment item with its storey, its id and the name to write in a scenario.

The name to use is the item's Name when that resolves to exactly this item (:meth:`twin.site.Site.find`),
else its LongName, else its id (GlobalId), which always resolves. Exits are labelled by where they lead
from ("exit from Kitchen, Ground floor"), because IFC door names are often the authoring tool's type string
(``M_Single-Flush:0915 x 2134mm:152483``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from twin.graph import SiteGraph

__all__ = ["KINDS", "inventory"]

KINDS = ("spaces", "doors", "exits", "sensors", "equipment")


def _use_name(items: dict[str, Any], it: Any, counts: Counter) -> str:
    """The shortest reference :meth:`Site.find` resolves to ``it`` alone."""
    for n in (it.name, getattr(it, "long_name", None)):
        if n and counts[n] == 1:
            return n
    return it.id


def _name_counts(items: dict[str, Any]) -> Counter:
    c: Counter = Counter()
    for it in items.values():
        for n in {it.id, it.name, getattr(it, "long_name", None)} - {None, ""}:
            c[n] += 1
    return c


def _space_text(sp: Any) -> str:
    """``Foyer (A101)``: the LongName a person reads, with the Name a drawing shows."""
    if sp.long_name and sp.name and sp.long_name != sp.name:
        return f"{sp.long_name} ({sp.name})"
    return sp.label


def inventory(g: SiteGraph, kind: str) -> list[dict[str, Any]]:
    """Rows (dicts of plain values) describing every item of ``kind`` (one of :data:`KINDS`), sorted by
    storey elevation and name. Lengths in m, areas in m2."""
    site = g.site
    storey = {s.id: s for s in site.storeys}

    def st_name(sid: str | None) -> str:
        return storey[sid].name if sid in storey else "-"

    def st_elev(sid: str | None) -> float:
        return storey[sid].elevation if sid in storey else 0.0

    rows: list[tuple[float, str, dict[str, Any]]] = []
    if kind == "spaces":
        counts = _name_counts(site.spaces)
        for s in site.spaces.values():
            rows.append((st_elev(s.storey), s.label, {
                "use_name": _use_name(site.spaces, s, counts), "name": s.name, "long_name": s.long_name,
                "storey": st_name(s.storey), "area_m2": round(s.area, 1), "walkable": s.walkable,
                "reachable": s.id not in set(g.unreachable_spaces()) if s.walkable else None, "id": s.id}))
    elif kind in ("doors", "exits"):
        counts = _name_counts(site.doors)
        exits = {n[2:] for n in g.exits}
        for d in site.doors.values():
            if kind == "exits" and d.id not in exits:
                continue
            between = [_space_text(site.spaces[s]) for s in d.spaces if s in site.spaces]
            is_exit = d.id in exits
            label = (f"exit from {' / '.join(between) or 'outside'}, {st_name(d.storey)}" if is_exit
                     else " <-> ".join(between) or "-")
            rows.append((st_elev(d.storey), label, {
                "label": label, "use_name": _use_name(site.doors, d, counts), "name": d.name,
                "storey": st_name(d.storey), "width_m": round(d.width, 2), "kind": d.kind, "exit": is_exit,
                "between": between, "id": d.id}))
    elif kind in ("sensors", "equipment"):
        items = getattr(site, kind)
        counts = _name_counts(items)
        for it in items.values():
            space = _space_text(site.spaces[it.space]) if it.space in site.spaces else "outdoors"
            row = {"use_name": _use_name(items, it, counts), "name": it.name, "kind": it.kind,
                   "storey": st_name(it.storey), "space": space,
                   "xyz_m": [round(float(v), 2) for v in it.position], "id": it.id}
            if kind == "sensors":
                row["gas"] = it.gas
                row["setpoints"] = [str(c) for c in it.setpoints]
            rows.append((st_elev(it.storey), it.name, row))
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]
