"""Shared by the benchmark scripts (not a benchmark itself: running it does nothing)."""

from __future__ import annotations

import time
from collections.abc import Callable
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
