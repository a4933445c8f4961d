"""The studio's ASGI application (Starlette): the HTTP contract, the page and its helpers.

Reading (files, site plans, runs, reports) is open to whoever reaches the server, which listens on
127.0.0.1 unless told otherwise; saving, running, previews and the audit log need ``Authorization: Bearer
TOKEN`` (tokens from ``drilltwin studio user add``). Roles: viewers read; editors save and run; controllers
run; admins do all. Status codes: 400/404 for a path outside the root or not a studio file, 401 without a
valid token, 403 for a role without the right, 409 for a stale ``If-Match`` (with the current ``ETag``),
428 without ``If-Match``, 413 for a body larger than a YAML file may be, 422 with the loader's field error
when a file would not load.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from drills.studio.db import Database, default_url
from drills.studio.files import (
    FileStore,
    PathRejected,
    StaleETag,
    etag_of,
    sha256,
    unified_diff,
    validate_text,
)
from drills.studio.runs import RunQueue
from twin.errors import InputError

__all__ = ["create_app", "CAN"]

STATIC = Path(__file__).parent / "static"
CAN = {"save": ("editor", "admin"), "run": ("editor", "controller", "admin"),
       "preview": ("editor", "controller", "admin")}
"""The roles allowed each action (reading and the audit log: every valid token)."""

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.headers, self.extra = status, message, headers or {}, extra


def _err_json(e: InputError) -> dict[str, Any]:
    """One field error as the CLI prints it (``text``) and in parts, with its line when the loader gave one."""
    where = e.where or ""
    line = None
    if where.startswith("line "):
        head, _, rest = where.partition(": ")
        line = int(head[5:]) if head[5:].isdigit() else None
        where = rest
    return {"source": e.source, "field": where or None, "line": line, "message": e.message,
            "text": f"drilltwin: error: {e}"}


def create_app(root: str | os.PathLike, db_url: str | None = None) -> Starlette:
    """The studio over the files under ``root``, with users, audit log and run index in ``db_url``
    (default ``sqlite:///ROOT/.studio/studio.db``)."""
    store = FileStore(root)
    db = Database(db_url or default_url(store.root))
    runs = RunQueue(db, store.root / ".studio" / "runs")

    async def user_of(request: Request, need: str | None = None) -> tuple[int, str, str]:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        user = None
        if scheme.lower() == "bearer" and token.strip():  # scrypt off the event loop
            user = await run_in_threadpool(db.user_for_token, token.strip())
        if user is None:
            raise HTTPError(401, "a valid API token is needed (Authorization: Bearer TOKEN)",
                            {"WWW-Authenticate": 'Bearer realm="drilltwin studio"'})
        if need is not None and user[2] not in CAN[need]:
            raise HTTPError(403, f"role {user[2]} may not {need}; allowed: {', '.join(CAN[need])}")
        return user

    def target(rel: str) -> Path:
        try:
            return store.resolve(rel)
        except PathRejected as e:
            raise HTTPError(e.status, str(e)) from None

    def check_size(request: Request) -> None:
        from twin.yamlio import MAX_BYTES

        n = request.headers.get("content-length", "")
        if n.isdigit() and int(n) > MAX_BYTES + 1_000_000:
            raise HTTPError(413, f"request too large (the limit for a YAML file is {MAX_BYTES:,} bytes)")

    async def body_json(request: Request) -> dict[str, Any]:
        check_size(request)
        try:
            data = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise HTTPError(400, "expected a JSON body") from None
        if not isinstance(data, dict):
            raise HTTPError(400, "expected a JSON object")
        return data

    # -- the contract --------------------------------------------------------------------------------------
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def list_files(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(store.list), headers=_HEADERS)

    async def get_file(request: Request) -> Response:
        p = target(request.path_params["path"])
        data = p.read_bytes()
        return Response(data, media_type="text/plain; charset=utf-8", headers={"ETag": etag_of(data), **_HEADERS})

    async def put_file(request: Request) -> Response:
        user = await user_of(request, "save")
        rel = request.path_params["path"]
        target(rel)
        if_match = request.headers.get("if-match")
        if not if_match:
            raise HTTPError(428, "If-Match with the ETag the file was read with is required")
        check_size(request)
        data = await request.body()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(422, "the body is not UTF-8 text", errors=[]) from None

        def save():
            return store.save(rel, data, if_match, lambda t, p: validate_text(t, p, rel))

        try:
            saved = await run_in_threadpool(save)
        except StaleETag as e:
            raise HTTPError(409, "the file changed since you opened it; reload it and apply your change again",
                            {"ETag": str(e)}, current_etag=str(e)) from None
        except InputError as e:
            raise HTTPError(422, "the file would not load; nothing was written", errors=[_err_json(e)]) from None
        except PathRejected as e:
            raise HTTPError(e.status, str(e)) from None
        before = saved.before.decode("utf-8", errors="replace")
        db.audit(user=user[1], action="save", path=rel, before_sha256=sha256(saved.before),
                 after_sha256=sha256(saved.after), diff=unified_diff(before, text, rel))
        return JSONResponse({"path": rel, "etag": saved.etag, "sha256": sha256(saved.after)},
                            headers={"ETag": saved.etag, **_HEADERS})

    async def audit(request: Request) -> Response:
        await user_of(request)
        path = request.query_params.get("path")
        return JSONResponse(await run_in_threadpool(db.audit_entries, path), headers=_HEADERS)

    async def start_run(request: Request) -> Response:
        user = await user_of(request, "run")
        data = await body_json(request)
        rel = str(data.get("path") or "")
        p = target(rel)
        try:
            run_id = runs.submit(rel, p, store.kind(rel) or "", user)
        except InputError as e:
            raise HTTPError(422, str(e), errors=[_err_json(e)]) from None
        return JSONResponse({"id": run_id, "status": "queued"}, status_code=202, headers=_HEADERS)

    async def get_run(request: Request) -> Response:
        rec = db.get_run(request.path_params["id"])
        if rec is None:
            raise HTTPError(404, "no such run")
        return JSONResponse(rec.to_dict(), headers=_HEADERS)

    async def list_runs(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(db.runs), headers=_HEADERS)

    async def run_page(request: Request) -> Response:
        rec = db.get_run(request.path_params["id"])
        page = request.path_params["page"]
        if rec is None or rec.status != "done" or page not in ("report.html", "replay.html"):
            raise HTTPError(404, "no such page")
        f = runs.folder(rec.id) / page
        if not f.is_file():
            raise HTTPError(404, "no such page")
        return FileResponse(f, media_type="text/html; charset=utf-8", headers=_HEADERS)

    # -- the page's helpers -------------------------------------------------------------------------------
    async def me(request: Request) -> Response:
        uid, name, role = await user_of(request)
        return JSONResponse({"name": name, "role": role, "can": {k: role in v for k, v in CAN.items()}})

    async def meta(request: Request) -> Response:
        from drills.studio.meta import allowed_values

        return JSONResponse(await run_in_threadpool(allowed_values), headers=_HEADERS)

    def check(text: str, p: Path, rel: str) -> dict[str, Any]:
        """The loader's verdict on ``text`` as file ``rel``, and the document as plain data for the forms."""
        from twin.yamlio import parse_yaml

        try:
            data = json.loads(json.dumps(parse_yaml(text, rel)[0], default=str))
        except InputError:
            data = None
        try:
            kind, _ = validate_text(text, p, rel)
        except InputError as e:
            return {"ok": False, "errors": [_err_json(e)], "data": data}
        return {"ok": True, "kind": kind, "errors": [], "data": data}

    async def validate(request: Request) -> Response:
        data = await body_json(request)
        rel = str(data.get("path") or "")
        p = target(rel)
        text = data.get("text")
        if not isinstance(text, str):
            raise HTTPError(400, "expected {path, text}")
        return JSONResponse(await run_in_threadpool(check, text, p, rel), headers=_HEADERS)

    async def edit(request: Request) -> Response:
        from drills.studio.yamledit import apply_edits

        data = await body_json(request)
        text, edits = data.get("text"), data.get("edits")
        if not isinstance(text, str) or not isinstance(edits, list):
            raise HTTPError(400, "expected {path, text, edits: [{path, value} | {path, delete: true}]}")
        rel = str(data.get("path") or "")
        p = target(rel)
        try:
            new = await run_in_threadpool(apply_edits, text, edits)
        except InputError as e:
            raise HTTPError(422, str(e), errors=[_err_json(e)]) from None
        except Exception as e:  # ruamel's parse errors: the text is not YAML it can edit
            raise HTTPError(422, f"cannot edit this text: {type(e).__name__}: {e}", errors=[]) from None
        return JSONResponse({"text": new, **await run_in_threadpool(check, new, p, rel)}, headers=_HEADERS)

    async def on_scenario(text: str, p, rel: str, what: str, fn):
        """``fn(scenario)`` in a worker thread for a page that needs a scenario file: the text validated by
        the project's loaders first; bad input (or another kind of file) is a 422 naming the field."""
        def work():
            kind, sc = validate_text(text, p, rel)
            if kind != "scenario":
                raise InputError(f"{what} works on scenario files only", source=rel)
            return fn(sc)

        try:
            return await run_in_threadpool(work)
        except InputError as e:
            raise HTTPError(422, str(e), errors=[_err_json(e)]) from None

    async def site(request: Request) -> Response:
        from drills.studio.site import site_plan

        rel = request.query_params.get("path", "")
        p = target(rel)
        plan = await on_scenario(p.read_text(encoding="utf-8"), p, rel, "the site view",
                                 lambda sc: site_plan(sc.site_path()))
        return JSONResponse(plan, headers=_HEADERS)

    async def preview(request: Request) -> Response:
        from drills.studio.preview import preview_alerts

        await user_of(request, "preview")
        data = await body_json(request)
        rel = str(data.get("path") or "")
        p = target(rel)
        text = data.get("text")
        if not isinstance(text, str):
            text = p.read_text(encoding="utf-8")
        out = await on_scenario(text, p, rel, "the preview",
                                lambda sc: preview_alerts(sc, data.get("alerts", sc.alerts)))
        return JSONResponse(out, headers=_HEADERS)

    async def coverage(request: Request) -> Response:
        from drills.studio.site import coverage as site_coverage

        await user_of(request, "preview")
        data = await body_json(request)
        rel = str(data.get("path") or "")
        p = target(rel)
        text = p.read_text(encoding="utf-8")
        key = sha256(f"{rel}\n{text}".encode())[:20]
        res = await on_scenario(text, p, rel, "coverage maps",
                                lambda sc: site_coverage(sc, store.root / ".studio" / "coverage" / key))
        res["maps"] = [f"/api/coverage/{key}/{m}" for m in res["maps"]]
        return JSONResponse(json.loads(json.dumps(res, default=str)), headers=_HEADERS)

    async def coverage_png(request: Request) -> Response:
        key, name = request.path_params["key"], request.path_params["name"]
        if not re.fullmatch(r"[0-9a-f]{20}", key) or not re.fullmatch(r"[\w.-]+\.png", name) or name.startswith("."):
            raise HTTPError(404, "no such map")
        f = store.root / ".studio" / "coverage" / key / name
        if not f.is_file():
            raise HTTPError(404, "no such map")
        return FileResponse(f, media_type="image/png", headers=_HEADERS)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": _CSP, **_HEADERS})

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPError)
        return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status,
                            headers={**exc.headers, **_HEADERS})

    routes = [
        Route("/", index),
        Route("/api/health", health),
        Route("/api/files", list_files),
        Route("/api/files/{path:path}", get_file, methods=["GET"]),
        Route("/api/files/{path:path}", put_file, methods=["PUT"]),
        Route("/api/audit", audit),
        Route("/api/runs", start_run, methods=["POST"]),
        Route("/api/runs", list_runs, methods=["GET"]),
        Route("/api/runs/{id}", get_run),
        Route("/api/runs/{id}/{page}", run_page),
        Route("/api/me", me),
        Route("/api/meta", meta),
        Route("/api/validate", validate, methods=["POST"]),
        Route("/api/edit", edit, methods=["POST"]),
        Route("/api/site", site),
        Route("/api/preview", preview, methods=["POST"]),
        Route("/api/coverage", coverage, methods=["POST"]),
        Route("/api/coverage/{key}/{name}", coverage_png),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPError: on_http_error})
    app.state.store, app.state.db, app.state.runs = store, db, runs
    return app
