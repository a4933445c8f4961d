"""The report and the replay in a real browser: headless Chromium from Debian's packages, driven by
Selenium. Both pages load from ``file://`` with no console errors, the replay draws people, scrubbing
moves them, the storey switcher works, and names from a hostile sketch and scenario are shown as text,
never run. Screenshots are written next to the pages for humans to look at.

Without Chromium the tests skip locally and fail in CI (``CI`` set), so CI cannot pass by not looking.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from drills.outputs.replay import write_replay
from drills.outputs.report import write_report
from drills.outputs.results import write_results
from drills.sim.engine import run_scenario
from tests.agents.conftest import read_scenario, rect, write_drill

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

HOSTILE = '<script>alert(1)</script>'
ATTR = '" onerror="window.__pwned=1'
IMG = '<img src=x onerror="window.__pwned=1">'


def _need_browser() -> None:
    missing = [n for n, p in (("chromium", CHROMIUM), ("chromedriver", DRIVER)) if not p]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        msg = f"browser tests need {', '.join(missing)} (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, with a fresh profile, logging the page console."""
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="drilltwin-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--no-first-run", f"--user-data-dir={profile}", "--window-size=1400,900"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(drv, page: Path) -> None:
    """Load a page from disk and wait until it is ready (the replay sets ``data-ready`` when set up)."""
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get_log("browser")  # drop what an earlier page left
    drv.get(page.resolve().as_uri())
    WebDriverWait(drv, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    if page.name == "replay.html":
        WebDriverWait(drv, 30).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")


def _errors(drv) -> list[dict]:
    return [e for e in drv.get_log("browser") if e.get("level") in ("SEVERE", "ERROR")]


def _no_alert(drv) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        text = drv.switch_to.alert.text
    except NoAlertPresentException:
        return
    pytest.fail(f"a script from a name ran: alert({text!r})")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, shipped_run) -> Path:
    out = tmp_path_factory.mktemp("browser") / "run"
    write_results(shipped_run("plant_h2s_leak"), out)
    write_report(out)
    write_replay(out)
    return out


def test_report_loads_without_console_errors(browser, demo_run):
    _open(browser, demo_run / "report.html")
    assert _errors(browser) == []
    title = browser.find_element("tag name", "h1").text
    assert "Night-shift H2S leak" in title
    sections = browser.execute_script("return [...document.querySelectorAll('section')].map(s => s.id)")
    for sec in ("overview", "scenario", "targets", "timeline", "evacuation", "exposure", "plans", "sensors",
                "improvement"):
        assert sec in sections
    # every chart decoded: an image that failed would have naturalWidth 0
    widths = browser.execute_script("return [...document.images].map(i => i.naturalWidth)")
    assert widths and min(widths) > 0
    browser.save_screenshot(str(demo_run / "report.png"))


def test_compare_report_loads_without_console_errors(browser, tmp_path):
    from drills.studies.experiment import run_compare
    from tests.drills.studies.test_experiment import _tiny

    pay = run_compare(_tiny(tmp_path, reps=4, crn=False), None, None, None, tmp_path / "cmp", False)
    page = Path(pay["report"])
    _open(browser, page)
    assert _errors(browser) == []
    sections = browser.execute_script("return [...document.querySelectorAll('section')].map(s => s.id)")
    assert sections == ["overview", "results", "diffs", "distributions", "targets", "false-alerts", "convergence"]
    widths = browser.execute_script("return [...document.images].map(i => i.naturalWidth)")
    assert len(widths) >= 4 and min(widths) > 0
    browser.save_screenshot(str(page.with_suffix(".png")))


def test_replay_draws_scrubs_and_switches_storeys(browser, demo_run):
    _open(browser, demo_run / "replay.html")
    assert _errors(browser) == []
    r = "return window.replay"
    assert browser.execute_script(r + ".people") == 229
    # before the alarm everyone is somewhere in a building: the start storey has people drawn
    assert browser.execute_script(r + ".drawn") > 0
    # scrub into the evacuation: someone must have moved
    before = browser.execute_script("window.replay.setTime(400); return window.replay.positionOf(35)")
    browser.execute_script("window.replay.setTime(430)")
    after = browser.execute_script("return window.replay.positionOf(35)")
    assert before is not None and after is not None
    assert (before["x"], before["y"]) != (after["x"], after["y"])
    # the scrubber element itself drives the time (as a trainer's drag does)
    browser.execute_script("const s=document.getElementById('scrub'); s.value='420';"
                           "s.dispatchEvent(new Event('input'))")
    assert abs(browser.execute_script(r + ".t") - 420) < 0.2
    # event list in step: rows up to now are marked as past
    past = browser.execute_script("return document.querySelectorAll('#events tr.past').length")
    assert past > 0
    browser.save_screenshot(str(demo_run / "replay.png"))
    # storey switcher: the select changes the storey shown, and the plan is redrawn
    n = len(browser.execute_script(r + ".storeys"))
    assert n >= 2
    from selenium.webdriver.support.ui import Select

    sel = Select(browser.find_element("id", "storey"))
    current = browser.execute_script(r + ".storey")
    other = (current + 1) % n
    sel.select_by_value(str(other))
    assert browser.execute_script(r + ".storey") == other
    browser.save_screenshot(str(demo_run / "replay-storey.png"))
    # play advances the clock
    browser.execute_script("window.replay.setTime(300); window.replay.play()")
    import time

    time.sleep(0.6)
    browser.execute_script("window.replay.pause()")
    assert browser.execute_script(r + ".t") > 300
    assert _errors(browser) == []


def _hostile_site() -> dict:
    return {
        "name": f"Site {HOSTILE}",
        "storeys": [{
            "name": f"Ground {IMG}", "elevation": 0, "height": 3,
            "spaces": [
                {"name": f"Room {HOSTILE}", "polygon": rect(0, 0, 10, 10)},
                {"name": f"Hall {ATTR} 'q'", "polygon": rect(10, 0, 20, 10), "use": "corridor"},
            ],
            "doors": [
                {"name": f"D {IMG}", "at": [10, 5], "width": 1.0, "between": [f"Room {HOSTILE}", f"Hall {ATTR} 'q'"]},
                {"name": f"X {HOSTILE}", "at": [20, 5], "width": 1.2, "between": [f"Hall {ATTR} 'q'", "outside"]},
            ],
        }],
        "sensors": [{"name": f"GD {ATTR}", "gas": "H2S", "space": f"Room {HOSTILE}", "at": [5, 5, 1.5],
                     "setpoints": ["10 ppm", "20 ppm"]}],
        "alarms": [{"name": f"AL {IMG}", "space": f"Hall {ATTR} 'q'", "at": [15, 5]}],
        "muster": [{"name": f"M {HOSTILE}", "at": [30, 5]}],
    }


def test_hostile_names_are_text_never_code(browser, tmp_path):
    scen = {"name": f"Drill {HOSTILE} {ATTR}", "duration": "5min",
            "population": [{"where": f"Room {HOSTILE}", "count": 8, "margin": 0.5}],
            "people": {"premovement": "5s"}, "alarm": {"at": "10s"}}
    path = write_drill(tmp_path, _hostile_site(), scen)
    out = write_results(run_scenario(read_scenario(path)), tmp_path / "run")
    report, replay = write_report(out), write_replay(out)
    for page in (report, replay):
        src = page.read_text(encoding="utf-8")
        assert "<script>alert(1)" not in src
        assert "<img src=x" not in src
        _open(browser, page)
        _no_alert(browser)
        assert browser.execute_script("return window.__pwned") is None
        assert _errors(browser) == []
    # the names are on the pages as the text they are
    _open(browser, report)
    body = browser.find_element("tag name", "body").text
    assert f"Drill {HOSTILE}" in body
    assert "&lt;script&gt;" in report.read_text(encoding="utf-8")
    _open(browser, replay)
    assert browser.find_element("id", "title").text == f"Drill {HOSTILE} {ATTR}"
    assert browser.execute_script("return window.replay.drawn") == 8
    events = browser.find_element("id", "events").text
    assert "alarm" in events
    browser.save_screenshot(str(tmp_path / "hostile-replay.png"))
    _no_alert(browser)
    assert browser.execute_script("return window.__pwned") is None


def test_region_pages_load_switch_sites_and_show_hostile_names_as_text(browser, tmp_path):
    """The joint-exercise report and replay: no console errors, the site switcher loads each site's own
    page, and a region and site named like markup are shown as text, never run."""
    import yaml

    from drills.cli.main import main
    from tests.drills.region.test_region import _write

    p = _write(tmp_path)
    d = yaml.safe_load(p.read_text())
    d["name"] = HOSTILE
    d["sites"][1]["name"] = IMG
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    out = tmp_path / "out"
    main(["region", str(p), "--out", str(out), "--json"])
    for name in ("region_report.html", "region_replay.html"):
        _open(browser, out / name)
        assert _errors(browser) == []
        _no_alert(browser)
        assert browser.execute_script("return window.__pwned") is None
        assert HOSTILE in browser.find_element("tag name", "h1").text
        sel = browser.find_element("id", "site")
        options = [o.text for o in sel.find_elements("tag name", "option")]
        assert options == ["A", IMG]
        frame = browser.find_element("tag name", "iframe")
        first = frame.get_attribute("src")
        browser.execute_script("const s = document.getElementById('site'); s.selectedIndex = 1;"
                               "s.dispatchEvent(new Event('change'));")
        assert frame.get_attribute("src") != first
        browser.switch_to.frame(frame)
        try:
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(browser, 30).until(lambda dr: dr.execute_script("return document.readyState") == "complete")
            assert browser.execute_script("return window.__pwned") is None
        finally:
            browser.switch_to.default_content()
        assert _errors(browser) == []
        browser.save_screenshot(str(out / name.replace(".html", ".png")))
