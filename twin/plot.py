"""Floor plans: one panel per walkable storey with spaces, doors, exits, stairs and the registries."""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from shapely.geometry import MultiPolygon, Polygon  # noqa: E402

from .graph import SiteGraph  # noqa: E402

__all__ = ["plot_floor_plans", "plot_path"]


def _rings(poly):
    polys = poly.geoms if isinstance(poly, MultiPolygon) else [poly]
    for p in polys:
        if isinstance(p, Polygon):
            yield p


def plot_path(out: str | os.PathLike, source: str) -> Path:
    """Where the plan goes: ``out`` itself, or ``out/<model>_plan.png`` when ``out`` is a folder (an
    existing one, or a path written with a trailing ``/``)."""
    raw = os.fspath(out)
    p = Path(raw)
    if raw.endswith(("/", os.sep)) or p.is_dir():
        return p / f"{Path(source).name.split('.')[0] or 'site'}_plan.png"
    return p


def plot_floor_plans(g: SiteGraph, out: str | os.PathLike, *, dpi: int = 110, labels: bool = True) -> Path:
    """Draw each walkable storey of ``g`` and write a PNG to ``out``. Returns the path.

    Spaces are filled by use, doors are dots (exits red triangles, external non-exit doors orange),
    stairs blue arrows from bottom to top, equipment black squares, gas sensors purple diamonds, alarms
    gold stars, muster points green crosses (on the ground panels), outdoor legs dotted.
    """
    site = g.site
    storeys = [s for s in site.storeys if s.walkable and any(sp.storey == s.id for sp in site.spaces.values())]
    if not storeys:
        storeys = site.storeys[:1]
    # one panel per level: storeys of several buildings at the same elevation share a panel, so the
    # ground panel shows the whole site with its outdoor routes
    levels: dict[float, list] = {}
    for st in storeys:
        levels.setdefault(round(st.elevation, 1), []).append(st)
    panels = [(sorted({s.name for s in sts}), {s.id for s in sts}, elev) for elev, sts in sorted(levels.items())]
    n = max(len(panels), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 5.5 * rows), squeeze=False)
    ground = site.ground_storeys()
    cmap = plt.get_cmap("tab20")
    uses = sorted({sp.use or "other" for sp in site.spaces.values()})
    colour = {u: cmap(i % 20) for i, u in enumerate(uses)}
    for ax, (names, ids, elev) in zip(axes.flat, panels, strict=False):
        for sp in site.spaces.values():
            if sp.storey not in ids:
                continue
            for p in _rings(sp.footprint):
                x, y = p.exterior.xy
                ax.fill(x, y, color=colour[sp.use or "other"], alpha=0.35 if sp.walkable else 0.1, lw=0)
                ax.plot(x, y, color="0.25", lw=0.8)
            if labels:
                c = sp.footprint.representative_point()
                ax.text(c.x, c.y, sp.label[:18], fontsize=6, ha="center", va="center", color="0.1")
        for _, a in g.nav.nodes(data=True):
            if a.get("storey") not in ids:
                continue
            x, y = a["xy"]
            if a["kind"] == "door":
                if a.get("exit"):
                    ax.plot(x, y, marker="^", color="red", ms=7, ls="none")
                elif a.get("external"):
                    ax.plot(x, y, marker="o", color="orange", ms=4, ls="none")
                else:
                    ax.plot(x, y, marker="o", color="0.3", ms=3, ls="none")
        for s in site.stairs.values():
            sp_b = site.spaces.get(s.bottom)
            sp_t = site.spaces.get(s.top)
            if (sp_b and sp_b.storey in ids) or (sp_t and sp_t.storey in ids):
                ax.annotate("", xy=s.top_xy, xytext=s.bottom_xy,
                            arrowprops={"arrowstyle": "->", "color": "tab:blue", "lw": 1.5})
        for reg, marker, col in ((site.equipment, "s", "black"), (site.sensors, "D", "purple"),
                                 (site.alarms, "*", "goldenrod")):
            for it in reg.values():
                sp = site.spaces.get(it.space) if it.space else None
                if (sp and sp.storey in ids) or (sp is None and it.storey in ids):
                    ax.plot(it.position[0], it.position[1], marker=marker, color=col, ms=6, ls="none")
                    if labels:
                        ax.text(it.position[0], it.position[1], " " + it.name, fontsize=5, color=col)
        if ids & ground:
            for m in g.musters:
                x, y = g.nav.nodes[m]["xy"]
                ax.plot(x, y, marker="X", color="green", ms=9, ls="none")
                ax.text(x, y, " " + g.nav.nodes[m]["name"], fontsize=6, color="green")
                for e in g.nav.neighbors(m):
                    if g.nav.nodes[e].get("storey") in ids:
                        xs, ys = zip(*g.edge_polyline(e, m), strict=True)  # around the buildings, as walked
                        ax.plot(xs, ys, ls=":", color="green", lw=0.4, alpha=0.5)
        ax.set_title(f"{' / '.join(names)} ({elev:+.2f} m)", fontsize=9)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    legend = [
        Line2D([], [], marker="^", color="red", ls="none", label="exit"),
        Line2D([], [], marker="o", color="orange", ls="none", label="external door"),
        Line2D([], [], marker="o", color="0.3", ls="none", label="door"),
        Line2D([], [], color="tab:blue", label="stair (up)"),
        Line2D([], [], marker="s", color="black", ls="none", label="equipment"),
        Line2D([], [], marker="D", color="purple", ls="none", label="sensor"),
        Line2D([], [], marker="*", color="goldenrod", ls="none", label="alarm"),
        Line2D([], [], marker="X", color="green", ls="none", label="muster"),
    ]
    fig.legend(handles=legend, loc="lower center", ncol=8, fontsize=7, frameon=False)
    fig.suptitle(f"{site.name}  ({site.schema}, {len(site.spaces)} spaces, {len(g.exits)} exits)", fontsize=11)
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    out = plot_path(out, site.source)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out
