"""Alert levels: one vocabulary for the alert policies, the workflow triggers and conditions, site and region.

An alert carries a ``rank`` (1, 2, 3, ...) and a ``level`` word. Triggers and conditions may name a level
by any of these, all meaning "this rank or higher":

=================  ======  =====================================================================
word               rank    meaning
=================  ======  =====================================================================
``warning``        1       the first stage: an early-warning policy's alert, or a detector's first
``low``            1       set point (the low alarm of a two-stage gas detector)
``alarm``          2       the second stage: a detector's second set point, or an early warning
``high``           2       confirmed by a set point reached
``1``, ``2``, ...  N       the set-point number itself (a threshold policy's rank N is the zone
                           reaching its N-th set point)
=================  ======  =====================================================================

The two word pairs name the two stages of a fixed gas detector's alarm (its low and high set points):
``warning``/``low`` is the first, ``alarm``/``high`` the second. Anything else is refused at load time with
the allowed values named, so a misspelt level can never make a trigger silently never fire.
:func:`matches` is the only place that decides whether an alert satisfies a trigger.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LEVEL_WORDS", "ALLOWED_LEVELS", "level_rank", "check_level", "alert_rank", "matches"]

LEVEL_WORDS: dict[str, int] = {"warning": 1, "low": 1, "alarm": 2, "high": 2}
"""Level words and the rank each stands for."""

ALLOWED_LEVELS = "warning, low (rank 1), alarm, high (rank 2) or a set-point number 1, 2, 3, ..."
"""The allowed level values, as error messages name them."""


def level_rank(level: Any) -> int:
    """The rank a level stands for (``None``: 1, the lowest). Raise ``ValueError`` naming the allowed values
    for anything else (an unknown word, 0, a negative or fractional number, a bool)."""
    if level is None:
        return 1
    if isinstance(level, bool):
        raise ValueError(f"unknown alert level {level!r}; expected {ALLOWED_LEVELS}")
    if isinstance(level, int):
        rank = level
    elif isinstance(level, float) and level.is_integer():
        rank = int(level)
    elif isinstance(level, str) and level.strip().lower() in LEVEL_WORDS:
        return LEVEL_WORDS[level.strip().lower()]
    elif isinstance(level, str) and level.strip().isdigit():
        rank = int(level.strip())
    else:
        raise ValueError(f"unknown alert level {level!r}; expected {ALLOWED_LEVELS}")
    if rank < 1:
        raise ValueError(f"alert level {level!r}: set-point numbers start at 1; expected {ALLOWED_LEVELS}")
    return rank


def check_level(level: Any) -> Any:
    """A pydantic validator body: ``level`` unchanged when :func:`level_rank` accepts it."""
    level_rank(level)
    return level


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def alert_rank(alert: Any) -> int:
    """The rank of an alert (an object or mapping with ``rank`` and/or ``level``)."""
    rank = _get(alert, "rank")
    if isinstance(rank, int | float) and not isinstance(rank, bool):
        return int(rank)
    return level_rank(_get(alert, "level"))


def matches(trigger: Any, alert: Any) -> bool:
    """Does ``alert`` satisfy ``trigger``? The one rule for every trigger and condition, site and region.

    ``trigger`` has (as attributes or keys) ``alert``: the alert kind (``gas``, ``camera``), a gas name
    (``H2S``) or ``any`` / ``None`` for every alert; ``level``: the lowest level that fires (``None``:
    any level, see :func:`level_rank`); and optionally ``site``: only alerts of that site (regions). The
    alert has ``kind``, ``gas``, ``rank`` or ``level``, and in a region ``site``.
    """
    if alert is None:
        return False
    site = _get(trigger, "site")
    if site is not None and _get(alert, "site") != site:
        return False
    kind = _get(trigger, "alert")
    if kind is not None and str(kind).lower() != "any":
        names = {str(v).lower() for v in (_get(alert, "kind"), _get(alert, "gas")) if v is not None}
        if str(kind).lower() not in names:
            return False
    return alert_rank(alert) >= level_rank(_get(trigger, "level"))
