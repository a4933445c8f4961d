"""The ``drilltwin`` command line: one module per command group (:mod:`.main` holds the app and ``main``)."""

from drills.cli.main import app, main

__all__ = ["app", "main"]
