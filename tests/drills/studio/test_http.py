"""The studio's HTTP contract, one test per status code and rule: health, listing, ETags, saves that are
atomic compare-and-swap writes of exactly the bytes sent and are refused (file unchanged) without a token
(401), for a viewer (403), with a stale ETag (409), without one (428), when the file would not load
(422, the CLI's own message) and for any path outside the root (400/404, literal, encoded and absolute);
the audit log and runs."""

from __future__ import annotations

import http.client
import json

import pytest

from drills.studio.files import sha256
from tests.drills.studio.conftest import LEAK, add_users, auth, wait_run


@pytest.fixture
def client(root):
    from starlette.testclient import TestClient

    from drills.studio.app import create_app

    app = create_app(root)
    c = TestClient(app)
    c.tokens = add_users(app)
    c.root = root
    return c


def _read(client, path="leak.yaml"):
    r = client.get(f"/api/files/{path}")
    assert r.status_code == 200
    return r.text, r.headers["etag"]


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_files_lists_scenarios_regions_experiments_only(client):
    paths = {f["path"]: f["kind"] for f in client.get("/api/files").json()}
    assert paths["leak.yaml"] == "scenario"
    assert paths["studies/compare.yaml"] == "experiment"
    assert "mini.site.yaml" not in paths and "notes.yaml" not in paths  # a site sketch, not a studio file
    assert not any(p.startswith(".studio") for p in paths)


def test_get_file_text_and_etag(client):
    r = client.get("/api/files/leak.yaml")
    assert r.text == (client.root / "leak.yaml").read_text(encoding="utf-8")
    assert r.headers["etag"] == f'"{sha256((client.root / "leak.yaml").read_bytes())}"'


def test_put_writes_exactly_the_bytes_and_audits(client):
    text, etag = _read(client)
    new = text.replace("timeout: 60s", "timeout: 90s") + "# a trailing comment stays\n"
    r = client.put("/api/files/leak.yaml", content=new.encode(),
                   headers=auth(client.tokens["editor"], **{"If-Match": etag}))
    assert r.status_code == 200, r.text
    assert (client.root / "leak.yaml").read_bytes() == new.encode()
    assert r.headers["etag"] == f'"{sha256(new.encode())}"' != etag
    log = client.get("/api/audit", headers=auth(client.tokens["viewer"])).json()
    e = next(x for x in log if x["action"] == "save")
    assert e["user"] == "editor-1" and e["path"] == "leak.yaml"
    assert e["before_sha256"] == sha256(text.encode()) and e["after_sha256"] == sha256(new.encode())
    assert "-      - {id: ack, kind: wait_ack, role: operator, timeout: 60s" in e["diff"]
    assert "+      - {id: ack, kind: wait_ack, role: operator, timeout: 90s" in e["diff"]
    assert not list(client.root.glob(".studio-*"))  # no temporary file left behind


@pytest.mark.parametrize("token", [None, "dts_1_wrong", "garbage", ""])
def test_put_without_a_valid_token_is_401(client, token):
    text, etag = _read(client)
    headers = {"If-Match": etag}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    r = client.put("/api/files/leak.yaml", content=b"name: x\n", headers=headers)
    assert r.status_code == 401 and "Bearer" in r.headers["www-authenticate"]
    assert (client.root / "leak.yaml").read_text(encoding="utf-8") == text


def test_viewer_and_controller_cannot_save_403(client):
    text, etag = _read(client)
    for role in ("viewer", "controller"):
        r = client.put("/api/files/leak.yaml", content=text.replace("60s", "61s").encode(),
                       headers=auth(client.tokens[role], **{"If-Match": etag}))
        assert r.status_code == 403, role
    assert (client.root / "leak.yaml").read_text(encoding="utf-8") == text


def test_stale_etag_is_409_and_nothing_overwritten(client):
    text, etag = _read(client)
    first = text.replace("timeout: 60s", "timeout: 70s")
    r1 = client.put("/api/files/leak.yaml", content=first.encode(),
                    headers=auth(client.tokens["editor"], **{"If-Match": etag}))
    assert r1.status_code == 200
    r2 = client.put("/api/files/leak.yaml", content=text.replace("count: 3", "count: 4").encode(),
                    headers=auth(client.tokens["editor2"], **{"If-Match": etag}))
    assert r2.status_code == 409
    assert r2.json()["current_etag"] == r1.headers["etag"] == r2.headers["etag"]
    assert (client.root / "leak.yaml").read_text(encoding="utf-8") == first  # the first save is kept


def test_missing_if_match_is_428(client):
    text, _ = _read(client)
    r = client.put("/api/files/leak.yaml", content=text.encode(), headers=auth(client.tokens["editor"]))
    assert r.status_code == 428


@pytest.mark.parametrize("change, field", [
    (("count: 3", "count: -3"), "population[0].count"),
    (("kind: notify", "kind: notfy"), "workflows[0].steps[0].kind"),
    (("timeout: 60s", "timeout: soon"), "workflows[0].steps[1].timeout"),
    (("alerts: {policy: threshold}", "alerts: {policy: threshold, k: 0}"), None),
    (("name: Mini leak", "name: [unclosed"), None),
])
def test_file_that_would_not_load_is_422_and_unchanged(client, change, field):
    text, etag = _read(client)
    bad = text.replace(*change)
    assert bad != text
    r = client.put("/api/files/leak.yaml", content=bad.encode(),
                   headers=auth(client.tokens["editor"], **{"If-Match": etag}))
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["source"] == "leak.yaml" and err["message"]
    if field:
        assert err["field"] == field
    assert (client.root / "leak.yaml").read_text(encoding="utf-8") == text


def test_422_message_is_the_cli_message(client, capsys, monkeypatch):
    """The page and the API report what ``drilltwin run`` prints for the same file."""
    from drills.cli import main

    bad = LEAK.replace("PUMP", "Pump Room").replace("timeout: 60s", "timeout: -5s")
    (client.root / "copy.yaml").write_text(bad, encoding="utf-8")
    monkeypatch.chdir(client.root)
    with pytest.raises(SystemExit) as ex:
        main(["run", "copy.yaml"])
    assert ex.value.code == 1
    cli_line = capsys.readouterr().err.strip()
    r = client.post("/api/validate", json={"path": "copy.yaml", "text": bad})
    assert r.json()["ok"] is False
    assert r.json()["errors"][0]["text"] == cli_line


BAD_PATHS = [
    ("%2e%2e/leak.yaml", 400),
    ("studies/%2e%2e/%2e%2e/etc/passwd", 400),
    ("%2E%2E%2Fleak.yaml", 400),
    ("/etc/passwd", 400),
    ("C:/Windows/win.ini", 400),
    ("studies\\..\\leak.yaml", 400),
    (".studio/studio.db", 400),
    ("mini.site.yaml", 404),
    ("notes.yaml", 404),
    ("missing.yaml", 404),
    ("%252e%252e/leak.yaml", None),  # 400 or 404: either way nothing outside is reached
]


@pytest.mark.parametrize("path, status", BAD_PATHS)
def test_paths_outside_the_root_are_refused(client, path, status):
    text, etag = _read(client)
    ok = (400, 404) if status is None else (status,)
    assert client.get(f"/api/files/{path}").status_code in ok
    r = client.put(f"/api/files/{path}", content=b"name: x\nsite: mini.site.yaml\n",
                   headers=auth(client.tokens["editor"], **{"If-Match": etag}))
    assert r.status_code in ok
    assert (client.root / "leak.yaml").read_text(encoding="utf-8") == text


def test_symlink_out_of_the_root_is_refused(client, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(LEAK.replace("PUMP", "Pump Room"), encoding="utf-8")
    (client.root / "link.yaml").symlink_to(outside)
    assert client.get("/api/files/link.yaml").status_code == 400


def test_literal_dot_dot_on_the_wire(live):
    """``..`` sent as is (clients such as httpx would normalise it away), through the real server."""
    for raw in ("/api/files/../leak.yaml", "/api/files/studies/../../leak.yaml", "/api/files/..%2fleak.yaml"):
        c = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
        c.request("PUT", raw, body=b"name: x\n", headers={"Authorization": f"Bearer {live.tokens['admin']}",
                                                          "If-Match": '"x"'})
        assert c.getresponse().status in (400, 404), raw
        c.close()


def test_audit_needs_a_token(client):
    assert client.get("/api/audit").status_code == 401
    assert client.get("/api/audit", headers=auth("dts_9_nope")).status_code == 401
    r = client.get("/api/audit", headers=auth(client.tokens["viewer"]))
    assert r.status_code == 200
    assert {"user", "time", "path", "action", "before_sha256", "after_sha256", "diff"} <= set(r.json()[0])


def test_audit_is_append_only(client):
    from sqlalchemy import text

    from drills.studio.db import AuditEntry

    db = client.app.state.db
    db.audit(user="x", action="save", path="leak.yaml", diff="")
    with pytest.raises(PermissionError), db.session.begin() as s:
        s.query(AuditEntry).first().user = "someone else"
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as c:
        c.execute(text("DELETE FROM audit"))
    assert len(db.audit_entries()) >= 1


def test_tokens_stored_hashed(client):
    from drills.studio.db import User

    with client.app.state.db.session() as s:
        rows = s.query(User).all()
    for tok in client.tokens.values():
        secret = tok.split("_", 2)[2]
        assert all(secret not in (u.token_hash, u.salt) for u in rows)


def test_run_a_drill(client):
    r = client.post("/api/runs", json={"path": "leak.yaml"})
    assert r.status_code == 401
    r = client.post("/api/runs", json={"path": "leak.yaml"}, headers=auth(client.tokens["viewer"]))
    assert r.status_code == 403
    r = client.post("/api/runs", json={"path": "../leak.yaml"}, headers=auth(client.tokens["controller"]))
    assert r.status_code == 400
    r = client.post("/api/runs", json={"path": "leak.yaml"}, headers=auth(client.tokens["controller"]))
    assert r.status_code == 202
    d = wait_run(client.get, r.json()["id"])
    assert d["status"] == "done", d["error"]
    assert d["progress"] == 1.0 and d["kpis"]["t_alert"] is not None and d["kpis"]["occupants"] == 5
    assert client.get(f"/api/runs/{d['id']}/report.html").status_code == 200
    assert client.get(f"/api/runs/{d['id']}/replay.html").status_code == 200
    assert client.get(f"/api/runs/{d['id']}/kpis.json").status_code == 404
    assert client.get("/api/runs/nope").status_code == 404
    assert [x["id"] for x in client.get("/api/runs").json()] == [d["id"]]


def test_edit_keeps_comments_and_validates(client):
    text, _ = _read(client)
    r = client.post("/api/edit", json={"path": "leak.yaml", "text": text, "edits": [
        {"path": ["alerts", "setpoints"], "value": ["5 ppm", "15 ppm"]},
        {"path": ["workflows", 0, "steps", 1, "timeout"], "value": "90s"}]})
    assert r.status_code == 200 and r.json()["ok"], r.text
    new = r.json()["text"]
    assert "# escalate to the supervisor when nobody answers" in new and "# short: the tests run it" in new
    changed = [a for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b]
    assert changed == ["alerts: {policy: threshold}  # the detectors' own set points",
                       "      - {id: ack, kind: wait_ack, role: operator, timeout: 60s, escalate_to: supervisor}"]
    assert r.json()["data"]["alerts"]["setpoints"] == ["5 ppm", "15 ppm"]
    bad = client.post("/api/edit", json={"path": "leak.yaml", "text": text, "edits": [
        {"path": ["workflows", 0, "steps", 1, "role"], "value": "janitor"}]}).json()
    assert bad["ok"] is False and bad["errors"][0]["field"] == "workflows[0].steps[1].role"


def test_meta_values_come_from_the_models(client):
    from drills.alerts.policies import POLICIES
    from drills.workflow.engine import CHANNELS, KINDS, REGISTRY

    m = client.get("/api/meta").json()
    assert tuple(m["policies"]) == POLICIES and set(KINDS) <= set(m["step_kinds"])
    assert m["step_kinds"]["wait_ack"]["required"] == list(REGISTRY["wait_ack"].fields["site"][0])
    assert tuple(m["channels"]) == CHANNELS
    assert m["policies"]["threshold"]["fields"]["k"]["minimum"] == 1


def test_site_plan(client):
    d = client.get("/api/site", params={"path": "leak.yaml"}).json()
    assert {s["name"] for s in d["spaces"]} == {"Corridor", "Pump Room", "Control Room"}
    assert {s["name"] for s in d["sensors"]} == {"GD-1", "GD-2"} and d["equipment"][0]["name"] == "P-1"
    assert client.get("/api/site", params={"path": "studies/compare.yaml"}).status_code == 422


def test_bad_json_bodies_are_400(client):
    tok = auth(client.tokens["editor"])
    assert client.post("/api/runs", content=b"{nope", headers=tok).status_code == 400
    assert client.post("/api/edit", content=json.dumps([1]), headers=tok).status_code == 400


def test_alert_preview_uses_the_policies_own_code(client):
    """Lower set points alert earlier on the simulated leak than the detectors' own; the leak-free week is
    counted by drills.alerts.policies.false_alert_rate on the site's detectors."""
    import numpy as np

    from drills.alerts.policies import false_alert_rate
    from drills.sim.engine import build_run
    from drills.spec.scenario import load_scenario

    text, _ = _read(client)
    edited = text.replace("alerts: {policy: threshold}", "alerts: {policy: threshold, setpoints: [2 ppm, 20 ppm]}")
    assert client.post("/api/preview", json={"path": "leak.yaml", "text": edited}).status_code == 401
    r = client.post("/api/preview", json={"path": "leak.yaml", "text": edited}, headers=auth(client.tokens["editor"]))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["detectors"] == 2 and d["policy"] == "threshold"
    assert d["t_alert"] < d["t_alert_setpoints"] and d["lead_time"] == pytest.approx(d["t_alert_setpoints"] - d["t_alert"])
    sc = load_scenario(client.root / "leak.yaml").evolve(alerts={"policy": "threshold", "setpoints": ["2 ppm", "20 ppm"]})
    run = build_run(sc, log_trajectories=False)
    eng = run.hazards.alert_engine
    rate = false_alert_rate(sc.alerts, eng.specs, 14.0, np.random.default_rng(0),
                            zones=[eng.zone_labels[c] for c in eng.zc], positions=eng.pos, step=sc.gas_step)
    run.model.release()
    assert d["false_alerts_per_week"] == pytest.approx(round(rate * 14.0, 2))
    bad = client.post("/api/preview", json={"path": "leak.yaml", "text": text.replace("threshold}", "magic}")},
                      headers=auth(client.tokens["editor"]))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "alerts.policy"


def test_run_a_comparison(client):
    r = client.post("/api/runs", json={"path": "studies/compare.yaml"}, headers=auth(client.tokens["editor"]))
    assert r.status_code == 202
    d = wait_run(client.get, r.json()["id"], timeout=120)
    assert d["status"] == "done", d["error"]
    assert d["kind"] == "comparison" and set(d["kpis"]["arms"]) == {"setpoints", "cusum"}
    assert client.get(f"/api/runs/{d['id']}/report.html").status_code == 200
    assert client.get(f"/api/runs/{d['id']}/replay.html").status_code == 404


def test_coverage_maps_of_the_existing_detectors(client):
    from drills.spec.scenario import load_scenario
    from drills.studies.placement import build_ensemble, evaluate

    assert client.post("/api/coverage", json={"path": "leak.yaml"}).status_code == 401
    r = client.post("/api/coverage", json={"path": "leak.yaml"}, headers=auth(client.tokens["viewer"]))
    assert r.status_code == 403
    r = client.post("/api/coverage", json={"path": "leak.yaml"}, headers=auth(client.tokens["controller"]))
    assert r.status_code == 200, r.text
    d = r.json()
    ref = evaluate(build_ensemble(load_scenario(client.root / "leak.yaml"), "existing", progress=False))
    assert d["geographic_coverage"] == ref["geographic_coverage"] and d["detectors"] == 2
    png = client.get(d["maps"][0])
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(d["maps"][0].rsplit("/", 1)[0] + "/..%2fstudio.db").status_code == 404


def test_alias_bomb_and_duplicate_keys_are_refused(client):
    text, etag = _read(client)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + text
    dup = text + "duration: 1s\n"
    for bad in (bomb, dup):
        r = client.put("/api/files/leak.yaml", content=bad.encode(),
                       headers=auth(client.tokens["editor"], **{"If-Match": etag}))
        assert r.status_code == 422
        assert client.post("/api/validate", json={"path": "leak.yaml", "text": bad}).json()["ok"] is False
        assert client.post("/api/edit", json={"path": "leak.yaml", "text": bad, "edits": []}).status_code == 422
    assert (client.root / "leak.yaml").read_text(encoding="utf-8") == text


def test_oversized_body_is_413(client):
    from twin.yamlio import MAX_BYTES

    _, etag = _read(client)
    r = client.put("/api/files/leak.yaml", content=b"#" * (MAX_BYTES + 2_000_000),
                   headers=auth(client.tokens["editor"], **{"If-Match": etag}))
    assert r.status_code == 413


def test_region_files_are_checked_by_the_region_loader(tmp_path):
    """The bundled joint exercise loads as a region; a bad field is reported by the region loader, naming
    the file as the studio knows it."""
    import shutil

    from drills.studio.files import validate_text
    from tests.conftest import MODELS, SCENARIOS
    from twin.errors import InputError

    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    shutil.copytree(MODELS, tmp_path / "ifc_models")
    p = tmp_path / "scenarios" / "regions" / "riverside_park.yaml"
    text = p.read_text(encoding="utf-8")
    assert validate_text(text, p, "regions/riverside_park.yaml")[0] == "region"
    with pytest.raises(InputError) as e:
        validate_text(text.replace("origin: [1500, 10]", "origin: [1500, 10], colour: red"), p,
                      "regions/riverside_park.yaml")
    assert e.value.source == "regions/riverside_park.yaml" and "sites[1]" in str(e.value)
    assert sorted(x.name for x in p.parent.iterdir() if x.name.startswith(".")) == []


def test_simultaneous_saves_one_wins_one_conflicts(live):
    """Two editors press save at the same moment with the same ETag: one 200, one 409, and the file
    holds exactly the winner's bytes."""
    import threading
    import urllib.request

    rel = "leak.yaml"
    with urllib.request.urlopen(f"{live.url}/api/files/{rel}") as r:
        text, etag = r.read().decode(), r.headers["ETag"]
    bodies = {"editor": text + "# from editor 1\n", "editor2": text + "# from editor 2\n"}
    status: dict[str, int] = {}
    go = threading.Barrier(2)

    def put(who: str) -> None:
        c = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
        go.wait()
        c.request("PUT", f"/api/files/{rel}", body=bodies[who].encode(),
                  headers={"Authorization": f"Bearer {live.tokens[who]}", "If-Match": etag})
        status[who] = c.getresponse().status
        c.close()

    ts = [threading.Thread(target=put, args=(w,)) for w in bodies]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert sorted(status.values()) == [200, 409]
    winner = next(w for w, s in status.items() if s == 200)
    assert (live.root / rel).read_text(encoding="utf-8") == bodies[winner]
