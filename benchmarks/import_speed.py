"""IFC import speed: our importer against the bare geometry pass it cannot avoid.

For every IFC file in ``../shared/ifc`` (next to the repository) this measures, in one process:

* ``import``: a cold :func:`twin.ifc.read_ifc` (no cache), best of ``REPEAT`` runs;
* ``bare``: ``ifcopenshell.open`` plus one ``ifcopenshell.geom.iterator`` pass (world coordinates, default
  kernel) over every IfcSpace and IfcOpeningElement, best of ``REPEAT``; the iterator part alone is
  shown too, with 1 thread and with ``cpu_count()`` threads;
* ``ratio`` = import / bare (the target is at most 2);
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


def best_of(fn: Callable[[], Any], n: int = REPEAT) -> tuple[float, Any]:
    """Shortest wall time (s) of ``n`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(n):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


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


def bare(path: Path) -> int:
    return iterate(ifcopenshell.open(str(path)), 1)


def measure(path: Path, cache_dir: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"file": path.name}
    t_open, model = best_of(lambda: ifcopenshell.open(str(path)))
    t_iter1, n = best_of(lambda: iterate(model, 1))
    t_iterN, _ = best_of(lambda: iterate(model, multiprocessing.cpu_count()))
    t_bare, _ = best_of(lambda: bare(path))
    row.update(open_s=t_open, iter_s=t_iter1, iter_ncpu_s=t_iterN, bare_s=t_bare, shapes=n,
               spaces=len(model.by_type("IfcSpace")), openings=len(model.by_type("IfcOpeningElement")))
    try:
        t_import, site = best_of(lambda: read_ifc(path))
    except InputError as exc:
        row.update(status="no IfcSpace" if "IfcSpace" in exc.message else f"error: {exc.message}")
        return row
    row.update(status="ok", import_s=t_import, ratio=t_import / t_bare, **site.summary(),
               doors_connected=site.stats.get("doors_connected"), warnings=len(site.warnings))
    if load_site is not None:
        os.environ["DRILLTWIN_CACHE"] = str(cache_dir)
        load_site(path)  # fills the cache
        row["cached_s"], _ = best_of(lambda: load_site(path))
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
    for col in ("file", "spaces", "doors", "stairs", "open", "iter 1 thr", f"iter {cpus} thr", "bare",
                "import", "ratio", "cached"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for r in rows:
        if r["status"] != "ok":
            table.add_row(r["file"].removesuffix(".ifc"), str(r["spaces"]), "-", "-", fmt(r["open_s"]), fmt(r["iter_s"]),
                          fmt(r["iter_ncpu_s"]), fmt(r["bare_s"]), r["status"], "-", "-")
            continue
        table.add_row(r["file"].removesuffix(".ifc"), str(r["spaces"]), str(r["doors"]), str(r["stairs"]), fmt(r["open_s"]),
                      fmt(r["iter_s"]), fmt(r["iter_ncpu_s"]), fmt(r["bare_s"]), fmt(r["import_s"]),
                      fmt(r["ratio"], ".2f"), fmt(r.get("cached_s")))
    Console(width=max(150, Console().width)).print(table)
    OUT.write_text(json.dumps({
        "python": platform.python_version(),
        "ifcopenshell": ifcopenshell.version,
        "cpus": cpus,
        "repeat": REPEAT,
        "note": "bare = ifcopenshell.open + one geom.iterator pass over IfcSpace+IfcOpeningElement; ratio = import/bare",
        "files": rows,
    }, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
