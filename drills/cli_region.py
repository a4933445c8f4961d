"""``drilltwin region REGION``: a cross-site joint exercise (CONTRACTS sections 5 and 7).

:func:`register` adds the command to the main app (called by :mod:`drills.cli`).
"""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``region`` command to ``app``."""
