"""Fixtures of the studio tests: a small root folder (a site sketch, a drill with comments, an
experiment, a drill with hostile names) and the studio served on 127.0.0.1 on a free port."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SITE = """\
# A small plant for the studio tests: a pump room, a control room and a corridor.
name: Mini plant
buildings:
  - name: Plant
    storeys:
      - name: Ground
        elevation: 0
        height: 4
        spaces:
          - {name: Corridor, polygon: [[0, 0], [20, 0], [20, 3], [0, 3]], use: corridor}
          - {name: PUMP, polygon: [[0, 3], [10, 3], [10, 12], [0, 12]], use: process, ach: 6}
          - {name: Control Room, polygon: [[10, 3], [20, 3], [20, 12], [10, 12]], use: control}
        doors:
          - {name: E1, at: [0, 1.5], width: 1.5, between: [Corridor, outside]}
          - {name: E2, at: [20, 1.5], width: 1.5, between: [Corridor, outside]}
          - {name: D1, at: [5, 3], width: 1.0, between: [Corridor, PUMP]}
          - {name: D2, at: [15, 3], width: 1.0, between: [Corridor, Control Room]}
    equipment:
      - {name: P-1, kind: pump, space: PUMP, at: [5, 8, 0.5]}
    sensors:
      - {name: GD-1, gas: H2S, space: PUMP, at: [6, 8, 0.5], setpoints: [10 ppm, 20 ppm], t90: 30s, noise: 0.5 ppm, period: 1s}
      - {name: GD-2, gas: H2S, space: Corridor, at: [10, 1.5, 0.5], setpoints: [10 ppm, 20 ppm], t90: 30s, noise: 0.5 ppm, period: 1s}
    alarms:
      - {name: AL-1, space: Corridor, at: [10, 1.5, 2.5]}
"""

LEAK = """\
# Studio test drill: an H2S leak at pump P-1.
# The operator is phoned and must acknowledge within a minute.
name: Mini leak
site: mini.site.yaml
seed: 3
duration: 10min   # short: the tests run it
population:
  - {where: PUMP, count: 3}
  - {where: Control Room, count: 1, role: operator}
  - {where: Control Room, count: 1, role: supervisor}
hazards:
  - {id: L1, kind: gas_leak, gas: H2S, source: P-1, rate: 0.005 kg/s, start: 1min}
alerts: {policy: threshold}  # the detectors' own set points
workflows:
  - name: phone-tree
    trigger: {alert: gas, level: low}
    roles: {operator: 1, supervisor: 1}
    steps:
      - {id: call, kind: notify, role: operator, channel: phone}
      # escalate to the supervisor when nobody answers
      - {id: ack, kind: wait_ack, role: operator, timeout: 60s, escalate_to: supervisor}
      - {id: alarm, kind: sound_alarm, zones: ["*"], after: [ack]}
"""

EXPERIMENT = """\
# two arms, one replication each: enough to check the studio runs comparisons
name: mini comparison
base: ../leak.yaml
replications: 1
arms:
  setpoints: {}
  cusum: {alerts: {policy: cusum}}
"""

HOSTILE = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_FILE = "hostile <img src=x onerror=alert(2)>.yaml"


def hostile_texts() -> tuple[str, str]:
    """A site sketch and a drill whose names try to run script."""
    site = SITE.replace("PUMP", f"'{HOSTILE}'").replace("Mini plant", f"'{SCRIPT}'")
    sc = (LEAK.replace("site: mini.site.yaml", "site: hostile.site.yaml").replace("PUMP", f"'{HOSTILE}'")
          .replace("name: Mini leak", f"name: '{SCRIPT}'").replace("name: phone-tree", f"name: '{SCRIPT}'"))
    return site, sc


def make_root(root: Path) -> Path:
    """The test root: ``mini.site.yaml``, ``leak.yaml``, ``studies/compare.yaml``, the hostile pair and a
    file outside any scenario kind (``notes.yaml``)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "mini.site.yaml").write_text(SITE.replace("PUMP", "Pump Room"), encoding="utf-8")
    (root / "leak.yaml").write_text(LEAK.replace("PUMP", "Pump Room"), encoding="utf-8")
    (root / "studies").mkdir(exist_ok=True)
    (root / "studies" / "compare.yaml").write_text(EXPERIMENT, encoding="utf-8")
    site, sc = hostile_texts()
    (root / "hostile.site.yaml").write_text(site, encoding="utf-8")
    (root / HOSTILE_FILE).write_text(sc, encoding="utf-8")
    (root / "notes.yaml").write_text("just: notes\n", encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch):
    """Cheaper scrypt for the many test users (the stored hash records its parameters, so verification
    uses the same); production keeps the default."""
    from drills.studio import db

    monkeypatch.setitem(db.SCRYPT, "n", 2**8)


@pytest.fixture
def root(tmp_path) -> Path:
    return make_root(tmp_path / "root")


def add_users(app) -> dict[str, str]:
    """A token per role, and a second editor."""
    from drills.studio import ROLES

    tokens = {r: app.state.db.add_user(f"{r}-1", r) for r in ROLES}
    tokens["editor2"] = app.state.db.add_user("editor-2", "editor")
    return tokens


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def wait_run(get, run_id: str, timeout: float = 60.0) -> dict:
    """Poll ``GET /api/runs/{id}`` until the run is done or failed."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        d = get(f"/api/runs/{run_id}").json()
        if d["status"] in ("done", "failed"):
            return d
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    url: str
    port: int
    root: Path
    tokens: dict[str, str]
    app: object


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The studio on 127.0.0.1 on a free port, in a thread of the test process."""
    import uvicorn

    from drills.studio.app import create_app

    root = make_root(tmp_path_factory.mktemp("studio") / "root")
    app = create_app(root)
    tokens = add_users(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    t_end = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > t_end or not th.is_alive():
            raise RuntimeError("the studio server did not start")
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", port, root, tokens, app)
    finally:
        server.should_exit = True
        th.join(10)
