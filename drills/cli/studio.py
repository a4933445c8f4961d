"""``drilltwin studio ROOT``: the browser workbench; ``drilltwin studio user add``: its users.

:func:`register` adds the group to the main app. The server stack (Starlette, uvicorn, SQLAlchemy,
ruamel.yaml) is imported inside the commands only, so ``drilltwin --help`` does not load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

__all__ = ["register"]


class _StudioGroup(TyperGroup):
    """``studio ROOT`` serves; ``studio user ...`` manages users: a first word naming a subcommand is not
    taken for ROOT."""

    def parse_args(self, ctx, args):
        if args and args[0] in self.commands:
            saved = self.params
            self.params = [p for p in saved if p.name != "root"]
            try:
                return super().parse_args(ctx, args)
            finally:
                self.params = saved
        ctx.allow_interspersed_args = True  # serving: `studio ROOT --port N` as well as `studio --port N ROOT`
        return super().parse_args(ctx, args)


studio_app = typer.Typer(cls=_StudioGroup, invoke_without_command=True, no_args_is_help=True,
                         help="The browser workbench over a folder of scenario, region and experiment files.")
user_app = typer.Typer(no_args_is_help=True, help="Studio users: roles viewer, editor, controller, admin.")
studio_app.add_typer(user_app, name="user")


def _db_url(root: Path, db: str | None) -> str:
    from drills.studio.db import default_url
    from twin.errors import InputError

    if not root.is_dir():
        raise InputError("not a folder", source=str(root))
    return db or default_url(root)


@studio_app.callback()
def studio(
    ctx: typer.Context,
    root: Annotated[Path | None, typer.Argument(help="folder holding the scenario, region and experiment files")] = None,
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8765,
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the users, audit and runs database "
                                                 "(default sqlite:///ROOT/.studio/studio.db)")] = None,
) -> None:
    """Serve the studio for the files under ROOT (open http://HOST:PORT/ in a browser)."""
    if ctx.invoked_subcommand is not None:
        return
    if root is None:
        raise typer.BadParameter("give the folder to serve", param_hint="ROOT")
    import uvicorn

    from drills.studio.app import create_app

    app = create_app(root, _db_url(root, db))
    print(f"drilltwin studio: http://{host}:{port}/  (files under {app.state.store.root}; Ctrl+C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="user name (shown in the audit log)")],
    role: Annotated[str, typer.Option(help="viewer | editor | controller | admin")],
    root: Annotated[Path, typer.Option(help="the studio's folder (its database lives in ROOT/.studio/)")],
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL, if the studio runs with --db")] = None,
) -> None:
    """Create a user, or give an existing one a new role and token; print the API token (one line)."""
    from drills.studio.db import Database

    token = Database(_db_url(root, db)).add_user(name, role)
    print(token)


def register(app: typer.Typer) -> None:
    """Add the ``studio`` group to ``app``."""
    app.add_typer(studio_app, name="studio", cls=_StudioGroup)
