"""``drilltwin studio``: ``user add`` prints one token line that the server accepts; bad input exits 1;
``drilltwin --help`` does not load the server stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from drills.cli import main


def test_user_add_prints_one_token_line(root, capsys):
    main(["studio", "user", "add", "ann", "--role", "editor", "--root", str(root)])
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("dts_")
    from drills.studio.db import Database, default_url

    assert Database(default_url(root)).user_for_token(out.strip())[1:] == ("ann", "editor")


@pytest.mark.parametrize("args, message", [
    (["studio", "user", "add", "ann", "--role", "boss"], "unknown role"),
    (["studio", "user", "add", "ann", "--role", "viewer", "--root", "/no/such/folder"], "not a folder"),
    (["studio", "/no/such/folder"], "not a folder"),
])
def test_bad_input_exits_1(root, capsys, args, message):
    if "--root" not in args and args[1] == "user":
        args = [*args, "--root", str(root)]
    with pytest.raises(SystemExit) as ex:
        main(args)
    assert ex.value.code == 1
    assert message in capsys.readouterr().err


def test_help_does_not_import_the_server_stack():
    code = ("import sys\nfrom drills.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('starlette', 'uvicorn', 'sqlalchemy', 'ruamel', 'drills.studio.app') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_studio_serves_root_with_options_after_it(root):
    """``drilltwin studio ROOT --port P`` starts the server (options after ROOT are read as options)."""
    import json
    import time
    import urllib.request
    from pathlib import Path

    from tests.drills.studio.conftest import free_port

    port = free_port()
    exe = Path(sys.executable).parent / "drilltwin"
    proc = subprocess.Popen([str(exe), "studio", str(root), "--port", str(port), "--host", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t_end = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    assert json.loads(r.read()) == {"status": "ok"}
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > t_end:
                    raise AssertionError(f"the studio did not start: {proc.stderr.read()}") from None
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as r:
            assert "drilltwin studio" in r.read().decode() and "script-src 'self'" in r.headers["Content-Security-Policy"]
    finally:
        proc.terminate()
        proc.wait(10)
