"""``drilltwin sensors evaluate|optimize``: gas-detector placement (CONTRACTS section 5).

Registered on the main app by :mod:`drills.cli`; heavy imports stay inside the commands.
"""

from __future__ import annotations

import typer

__all__ = ["sensors_app"]

sensors_app = typer.Typer(no_args_is_help=True,
                          help="Evaluate and optimise gas-detector placement over a leak ensemble.")
