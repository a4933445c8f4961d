"""IFC import speed: our importer against the bare geometry pass it cannot avoid.

For every IFC file in ``../shared/ifc`` (next to the repository) this measures, in one process:

* ``import``: a cold :func:`twin.ifc.read_ifc` (no cache), best of ``REPEAT`` runs;
* ``bare``: ``ifcopenshell.open`` (best of ``REPEAT``) plus one ``ifcopenshell.geom.iterator`` pass (world
  coordinates, default kernel, 1 thread; best of ``REPEAT``) over every IfcSpace and IfcOpeningElement --
  the work any importer of this file must do; the pass with ``cpu_count()`` threads is shown too;
* ``ratio`` = import / bare (the target is at most 2); ``vs pass`` = import / the iterator pass alone;
* ``cached``: :func:`twin.load.load_site` once the cache is warm (hash the file, unpickle), best of
  ``REPEAT``, in a throw-away cache folder.

Prints a table and writes ``benchmarks/import_speed.json``. Run: ``.venv/bin/python benchmarks/import_speed.py``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import ifcopenshell  # noqa: E402
import ifcopenshell.geom  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from twin.errors import InputError  # noqa: E402
from twin.ifc import read_ifc  # noqa: E402

try:  # written by another part of the project; the benchmark still runs without it
    from twin.load import load_site
except ImportError:  # pragma: no cover
    load_site = None  # type: ignore[assignment]

IFC_DIR = REPO / ".." / "shared" / "ifc"
OUT = HERE / "import_speed.json"
REPEAT = 5


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time (s) of one call, and its result."""
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def iterate(model: ifcopenshell.file, threads: int) -> int:
    """One bare iterator pass over spaces and openings; returns the number of shapes."""
    elements = list(model.by_type("IfcSpace")) + list(model.by_type("IfcOpeningElement"))
    if not elements:
        return 0
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    it = ifcopenshell.geom.iterator(settings, model, threads, include=elements)
    n = 0
    if it.initialize():
        while True:
            it.get()
            n += 1
            if not it.next():
                break
    return n


def measure(path: Path, cache_dir: Path) -> dict[str, Any]:
    """Interleaved rounds (open, bare pass, our import) so that load from other processes hits all
    three alike; each figure is the best of ``REPEAT`` rounds. ``bare`` = best open + best pass."""
    row: dict[str, Any] = {"file": path.name}
    best: dict[str, float] = {}
    model, site, failure = None, None, None
    cpus = multiprocessing.cpu_count()
    for _ in range(REPEAT):
        t, model = timed(lambda: ifcopenshell.open(str(path)))
        best["open_s"] = min(best.get("open_s", t), t)
        for key, threads in (("iter_s", 1), ("iter_ncpu_s", cpus)):
            t, n = timed(lambda m=model, k=threads: iterate(m, k))
            best[key] = min(best.get(key, t), t)
        try:
            t, site = timed(lambda: read_ifc(path))
            best["import_s"] = min(best.get("import_s", t), t)
        except InputError as exc:
            failure = exc
    assert model is not None
    row.update(best, bare_s=best["open_s"] + best["iter_s"], shapes=n,
               spaces=len(model.by_type("IfcSpace")), openings=len(model.by_type("IfcOpeningElement")))
    if failure is not None or site is None:
        msg = failure.message if failure is not None else "no result"
        row.update(status="no IfcSpace" if "IfcSpace" in msg else f"error: {msg}")
        row.pop("import_s", None)
        return row
    row.update(status="ok", ratio=row["import_s"] / row["bare_s"], ratio_pass=row["import_s"] / row["iter_s"],
               **site.summary(), doors_ifc=site.stats.get("doors_total"),
               passages=sum(d.kind == "passage" for d in site.doors.values()),
               doors_connected=site.stats.get("doors_connected"), warnings=len(site.warnings))
    if load_site is not None:
        os.environ["DRILLTWIN_CACHE"] = str(cache_dir)
        load_site(path)  # fills the cache
        row["cached_s"] = min(timed(lambda: load_site(path))[0] for _ in range(REPEAT))
    return row


def fmt(x: Any, spec: str = ".3f") -> str:
    return "n/a" if x is None else format(x, spec)


def main() -> int:
    files = sorted(IFC_DIR.glob("*.ifc"))
    if not files:
        print(f"no IFC files in {IFC_DIR.resolve()}", file=sys.stderr)
        return 1
    # Warm the interpreter (imports, kernel plug-ins) so the first file is not charged for it.
    try:
        read_ifc(next(f for f in files if "FZK" in f.name))
    except (StopIteration, InputError):
        pass
    rows = []
    with tempfile.TemporaryDirectory(prefix="drilltwin-bench-cache-") as cache:
        for f in files:
            rows.append(measure(f, Path(cache)))
    cpus = multiprocessing.cpu_count()
    table = Table(title=f"IFC import speed (best of {REPEAT}; s)")
    for col in ("file", "spaces", "doors", "passages", "stairs", "open", "pass 1 thr", f"pass {cpus} thr",
                "bare", "import", "ratio", "vs pass", "cached"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for r in rows:
        if r["status"] != "ok":
            table.add_row(r["file"].removesuffix(".ifc"), str(r["spaces"]), "-", "-", "-", fmt(r["open_s"]),
                          fmt(r["iter_s"]), fmt(r["iter_ncpu_s"]), fmt(r["bare_s"]), r["status"], "-", "-", "-")
            continue
        table.add_row(r["file"].removesuffix(".ifc"), str(r["spaces"]), str(r["doors_ifc"]), str(r["passages"]),
                      str(r["stairs"]), fmt(r["open_s"]), fmt(r["iter_s"]), fmt(r["iter_ncpu_s"]), fmt(r["bare_s"]),
                      fmt(r["import_s"]), fmt(r["ratio"], ".2f"), fmt(r["ratio_pass"], ".2f"), fmt(r.get("cached_s")))
    Console(width=max(150, Console().width)).print(table)
    OUT.write_text(json.dumps({
        "python": platform.python_version(),
        "ifcopenshell": ifcopenshell.version,
        "cpus": cpus,
        "repeat": REPEAT,
        "note": "bare = best ifcopenshell.open + best geom.iterator pass (1 thread) over IfcSpace+IfcOpeningElement; "
            "ratio = import/bare; times in s",
        "files": rows,
    }, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
