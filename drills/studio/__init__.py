"""drilltwin studio: a browser workbench over the scenario, region and experiment files of one folder.

The server stack (Starlette, uvicorn, SQLAlchemy, ruamel.yaml) is imported only by the modules of this
package, never by ``drills.cli`` at start-up, so ``drilltwin --help`` stays light. Entry points:
:func:`drills.studio.app.create_app` (the ASGI app) and :func:`drills.studio.db.add_user`.
"""

__all__ = ["ROLES"]

ROLES = ("viewer", "editor", "controller", "admin")
"""Who may do what: viewers read; editors save files and run drills; controllers run drills; admins all."""
