"""Shared by the benchmark scripts (not a benchmark itself: running it does nothing)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """The shortest wall time (s) of ``repeat`` calls of ``fn`` (the machine may be shared: the minimum
    is the least disturbed), and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def scaled_scenario(path, people: int | None = None, edit: Callable[[dict], None] | None = None):
    """The scenario at ``path`` with its occupants scaled to ``people`` in total (each population entry in
    proportion; other roles unchanged); ``edit(data)`` may change the raw YAML first."""
    from pathlib import Path

    import yaml

    from drills.spec.scenario import scenario_from_dict

    path = Path(path)
    data = yaml.safe_load(path.read_text())
    if people is not None:
        total = sum(e["count"] for e in data["population"] if e.get("role", "occupant") == "occupant")
        for e in data["population"]:
            if e.get("role", "occupant") == "occupant":
                e["count"] = round(e["count"] * people / total)
    if edit is not None:
        edit(data)
    return scenario_from_dict(data, path)


def reference_module(rev: str, relpath: str, name: str):
    """The module at ``relpath`` (e.g. ``agents/crowd.py``) as it was at git revision ``rev``, loaded as
    ``agents.<name>`` next to the current one (its relative imports resolve in the current package), so
    a benchmark can time both versions in one process."""
    import importlib.util
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = subprocess.run(["git", "-C", str(root), "show", f"{rev}:{relpath}"], check=True,
                         capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(src)
    package = relpath.rsplit("/", 1)[0].replace("/", ".")
    spec = importlib.util.spec_from_file_location(f"{package}.{name}", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = package
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def report_targets(con: Any, script: str, rows: list, targets: list[tuple[str, float, float]],
                   fmt: Callable[[float], str] = "{:.2f}".format) -> Path:
    """Print each target ``(name, value, limit)`` as PASS when ``value <= limit``, and write the rows, the
    targets and the load average to the JSON file beside ``script`` (its ``__file__``)."""
    for name, v, lim in targets:
        con.print(f"{name}: {fmt(v)}  {'PASS' if v <= lim else 'FAIL'}")
    out = Path(script).with_suffix(".json")
    out.write_text(json.dumps({"rows": rows, "load": os.getloadavg()[0],
                               "targets": [{"name": n, "value": v, "limit": lim} for n, v, lim in targets]},
                              indent=2))
    con.print(f"wrote {out}")
    return out
