"""The studio in a real browser (headless Chromium from Debian, driven by Selenium, as the report and
replay tests): an editor changes a set point and a workflow step in the page and connects two steps by
mouse, saves, the YAML on disk keeps its comments and the audit log shows the change, then runs the drill
and sees its KPIs; a viewer cannot save; hostile names show as text; two editors saving the same file: the
second gets a conflict and nothing is lost. The server listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

from tests.drills.outputs.test_browser import _errors, _no_alert, browser  # noqa: F401  (the fixture)
from tests.drills.studio.conftest import HOSTILE, HOSTILE_FILE, SCRIPT


def _wait(drv, cond, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(drv, timeout).until(cond)


def _login(drv, live, who: str) -> None:
    drv.get(live.url + "/")
    _wait(drv, lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    drv.execute_script("logout()")
    drv.find_element("id", "token").send_keys(live.tokens[who])
    drv.find_element("id", "login").click()
    _wait(drv, lambda d: d.find_element("id", "who").text)


def _open(drv, path: str) -> None:
    btn = _wait(drv, lambda d: [b for b in d.find_elements("css selector", "#files button")
                                if b.get_attribute("data-path") == path])
    btn[0].click()
    _wait(drv, lambda d: d.execute_script("return S.path") == path and d.find_element("id", "status").text)


def _type(drv, elem_id: str, value: str) -> None:
    """Replace a field's text as a user does (select all, type, leave the field)."""
    from selenium.webdriver.common.keys import Keys

    e = drv.find_element("id", elem_id)
    e.send_keys(Keys.CONTROL, "a")
    e.send_keys(value, Keys.TAB)


def _tab(drv, name: str) -> None:
    drv.find_element("css selector", f".tab[data-tab={name}]").click()


def test_editor_edits_saves_audits_and_runs(browser, live):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains

    before = (live.root / "leak.yaml").read_text(encoding="utf-8")
    _login(browser, live, "editor")
    assert browser.find_element("id", "who").text == "editor-1 (editor)"
    _open(browser, "leak.yaml")
    assert browser.find_element("id", "status").text.startswith("valid")

    _tab(browser, "alerts")
    assert browser.find_element("id", "policy").get_attribute("value") == "threshold"
    _type(browser, "f-alerts-setpoints", "5 ppm, 15 ppm")
    _wait(browser, lambda d: "setpoints: [5 ppm, 15 ppm]" in d.execute_script("return S.text"))

    _tab(browser, "flow")
    browser.find_element("css selector", "#flow-svg g.node[data-id=ack]").click()
    _type(browser, "step-timeout", "90s")
    _wait(browser, lambda d: "timeout: 90s" in d.execute_script("return S.text"))
    # connect by mouse: the alarm also waits for the call
    port = browser.find_element("css selector", "#flow-svg g.node[data-id=call] circle.port")
    target = browser.find_element("css selector", "#flow-svg g.node[data-id=alarm] rect")
    ActionChains(browser).click_and_hold(port).move_to_element(target).release().perform()
    _wait(browser, lambda d: "after: [ack, call]" in d.execute_script("return S.text"))
    assert browser.find_element("id", "status").text.startswith("valid")

    browser.find_element("id", "save").click()
    _wait(browser, lambda d: d.find_element("id", "savemsg").text.startswith("saved"))
    after = (live.root / "leak.yaml").read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [
        ("alerts: {policy: threshold}  # the detectors' own set points",
         "alerts: {policy: threshold, setpoints: [5 ppm, 15 ppm]} # the detectors' own set points"),
        ("      - {id: ack, kind: wait_ack, role: operator, timeout: 60s, escalate_to: supervisor}",
         "      - {id: ack, kind: wait_ack, role: operator, timeout: 90s, escalate_to: supervisor}"),
        ('      - {id: alarm, kind: sound_alarm, zones: ["*"], after: [ack]}',
         '      - {id: alarm, kind: sound_alarm, zones: ["*"], after: [ack, call]}'),
    ]

    _tab(browser, "audit")
    _wait(browser, lambda d: d.find_elements("css selector", "#audit tr.audit-row"))
    row = browser.find_elements("css selector", "#audit tr.audit-row")[0].text
    assert "editor-1" in row and "save" in row and "leak.yaml" in row
    diff = browser.find_element("css selector", "#audit pre.diff").text
    assert "+      - {id: ack, kind: wait_ack, role: operator, timeout: 90s" in diff

    _tab(browser, "runs")
    browser.find_element("id", "run-file").click()
    _wait(browser, lambda d: d.find_elements("id", "run-kpis"), timeout=60)
    kpis = {r.get_attribute("data-kpi"): r.find_elements("tag name", "td")[1].text
            for r in browser.find_elements("css selector", "#run-kpis tr[data-kpi]")}
    assert kpis["occupants"] == "5" and float(kpis["t_alert"]) > 0
    assert browser.find_element("id", "run-report").get_attribute("href").endswith("/report.html")
    assert _errors(browser) == []


def test_viewer_cannot_save(browser, live):  # noqa: F811
    before = (live.root / "leak.yaml").read_bytes()
    _login(browser, live, "viewer")
    _open(browser, "leak.yaml")
    _tab(browser, "yaml")
    browser.find_element("id", "yaml").send_keys("# a viewer's note\n")
    _wait(browser, lambda d: d.find_element("id", "dirty").is_displayed())
    assert not browser.find_element("id", "save").is_enabled()
    assert not browser.find_element("id", "run-file").is_enabled()
    browser.execute_script("save()")  # the button is off; the server refuses too
    _wait(browser, lambda d: d.find_element("id", "savemsg").text)
    assert "may not save" in browser.find_element("id", "savemsg").text
    assert (live.root / "leak.yaml").read_bytes() == before


def test_hostile_names_are_escaped(browser, live):  # noqa: F811
    _login(browser, live, "viewer")
    names = [b.get_attribute("data-path") for b in browser.find_elements("css selector", "#files button")]
    assert HOSTILE_FILE in names
    _open(browser, HOSTILE_FILE)
    assert browser.find_element("id", "current").text == HOSTILE_FILE
    _wait(browser, lambda d: d.find_elements("css selector", "#plan polygon"))
    spaces = [p.get_attribute("data-name") for p in browser.find_elements("css selector", "#plan polygon")]
    assert HOSTILE in spaces
    poly = [p for p in browser.find_elements("css selector", "#plan polygon") if p.get_attribute("data-name") == HOSTILE]
    # the room's centre holds the pump and a detector, so click the polygon itself
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", poly[0])
    assert browser.find_element("id", "picked").text == f"space: {HOSTILE}"
    _tab(browser, "flow")
    assert browser.find_element("css selector", "#wf-select option").text == SCRIPT
    _tab(browser, "yaml")
    assert SCRIPT in browser.find_element("id", "yaml").get_attribute("value")
    _no_alert(browser)
    assert browser.execute_script("return window.__pwned") is None
    assert browser.find_elements("css selector", "main img, main script, #sidebar img") == []


def test_two_editors_second_gets_a_conflict_nothing_lost(browser, live):  # noqa: F811
    first = browser.current_window_handle
    _login(browser, live, "editor")
    _open(browser, "leak.yaml")
    browser.switch_to.new_window("tab")
    try:
        _login(browser, live, "editor2")
        _open(browser, "leak.yaml")
        _tab(browser, "flow")
        browser.find_element("css selector", "#flow-svg g.node[data-id=call]").click()
        _type(browser, "step-message", "gas alarm in the pump room")
        _wait(browser, lambda d: "gas alarm in the pump room" in d.execute_script("return S.text"))
        browser.find_element("id", "save").click()
        _wait(browser, lambda d: d.find_element("id", "savemsg").text.startswith("saved"))
    finally:
        browser.close()
        browser.switch_to.window(first)
    theirs = (live.root / "leak.yaml").read_text(encoding="utf-8")
    _tab(browser, "alerts")
    _type(browser, "f-alerts-k", "2")
    _wait(browser, lambda d: "k: 2" in d.execute_script("return S.text"))
    browser.find_element("id", "save").click()
    _wait(browser, lambda d: d.find_element("id", "savemsg").text)
    assert "conflict" in browser.find_element("id", "savemsg").text
    assert (live.root / "leak.yaml").read_text(encoding="utf-8") == theirs  # their save is kept
    assert "k: 2" in browser.execute_script("return S.text")  # and mine is still in the page
    saves = [e for e in live.app.state.db.audit_entries("leak.yaml") if e["action"] == "save"]
    assert saves[0]["user"] == "editor-2"


def test_site_picks_feed_rules_and_steps(browser, live):  # noqa: F811
    """A space picked on the plan becomes a dispatch target; a detector's set points become the rule."""
    _login(browser, live, "editor")
    _open(browser, "leak.yaml")
    _wait(browser, lambda d: d.find_elements("css selector", "#plan circle.sensor"))
    det = [c for c in browser.find_elements("css selector", "#plan circle.sensor") if c.get_attribute("data-name") == "GD-2"]
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", det[0])
    browser.find_element("id", "use-setpoints").click()
    _wait(browser, lambda d: "alerts: {policy: threshold, setpoints: [10 ppm, 20 ppm]}" in d.execute_script("return S.text"))
    room = [c for c in browser.find_elements("css selector", "#plan polygon") if c.get_attribute("data-name") == "Corridor"]
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", room[0])
    _tab(browser, "flow")
    browser.find_element("id", "step-kind-new").send_keys("dispatch")
    browser.find_element("id", "add-step").click()
    _wait(browser, lambda d: d.find_elements("id", "use-pick-to"))
    browser.find_element("id", "use-pick-to").click()
    _wait(browser, lambda d: "to: Corridor" in d.execute_script("return S.text"))
    assert browser.find_element("id", "status").text.startswith("valid"), browser.find_element("id", "status").text
    # an arrow clicked is a dependency removed (the editor test made the alarm wait for the call)
    edge = [e for e in browser.find_elements("css selector", "#flow-svg path.edge")
            if (e.get_attribute("data-from"), e.get_attribute("data-to")) == ("call", "alarm")]
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", edge[0])
    _wait(browser, lambda d: 'zones: ["*"], after: [ack]}' in d.execute_script("return S.text"))
