"""Replay smoothness: does ``replay.html`` stay smooth for 10,000 agents over 30 minutes?

The bundled plant drill (``scenarios/plant_h2s_leak.yaml``: H2S leak, detectors, phone tree) is scaled to
10,000 occupants and 30 simulated minutes, run, and its ``replay.html`` written. The page is opened from
disk in headless Chromium (Debian's package, driven by Selenium, as the browser tests) and measured:

* **draw**: the time of one frame drawn by the page's own ``setTime`` (every person's interpolated
  position, the zone colouring and the event list), at 120 times spread over the run, on the storey
  with the most people;
* **playback**: the page playing at 60x for 5 s of wall time: frames per second actually drawn (the
  page's own frame counter) and the 95th percentile of the interval between animation frames.

Reference, in the same run: the same drill with 1,000 occupants; the ratio of draw times shows how the
frame cost grows with the number of people. Target: playback at >= 30 frames per second for 10,000
people (p95 frame interval <= 33 ms, the usual smoothness threshold); the page size is reported too.
Headless Chromium draws in software, so a desktop browser with a GPU does at least as well.

Run: ``.venv/bin/python benchmarks/replay_smoothness.py`` (needs ``chromium`` and ``chromedriver``:
``apt-get install chromium chromium-driver``). Prints a table; writes benchmarks/replay_smoothness.json.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().with_suffix(".json")
SIZES = (1_000, 10_000)
DURATION = "30min"

DRAW_JS = """
const r = window.replay, n = arguments[0], out = [];
for (let i = 0; i < n; i++) {
  const t = r.tEnd * (i + 0.5) / n, a = performance.now();
  r.setTime(t);
  out.push(performance.now() - a);
}
return out;
"""

PLAY_JS = """
const done = arguments[arguments.length - 1], r = window.replay, ms = arguments[0];
const stamps = [], f0 = r.frames, w0 = performance.now();
document.getElementById('speed').value = '60';
document.getElementById('speed').dispatchEvent(new Event('change'));
r.setTime(0); r.play();
function tick(now) {
  stamps.push(now);
  if (now - w0 < ms) { requestAnimationFrame(tick); return; }
  r.pause();
  done({stamps: stamps, frames: r.frames - f0, wall: performance.now() - w0, t: r.t});
}
requestAnimationFrame(tick);
"""


def _build(people: int, folder: Path) -> tuple[Path, float, float]:
    """Run the scaled drill and write its replay; return the page, the run's and the replay's wall (s)."""
    import yaml

    from drills.outputs.replay import write_replay
    from drills.outputs.results import write_results
    from drills.sim.engine import run_scenario
    from drills.spec.scenario import scenario_from_dict

    path = ROOT / "scenarios" / "plant_h2s_leak.yaml"
    data = yaml.safe_load(path.read_text())
    occ = [e for e in data["population"] if e.get("role", "occupant") == "occupant"]
    total = sum(e["count"] for e in occ)
    for e in occ:
        e["count"] = round(e["count"] * people / total)
    data["duration"] = DURATION
    sc = scenario_from_dict(data, path)
    t = time.perf_counter()
    res = run_scenario(sc)
    run_wall = time.perf_counter() - t
    out = write_results(res, folder / f"run{people}")
    t = time.perf_counter()
    page = write_replay(out)
    return page, run_wall, time.perf_counter() - t


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        sys.exit("needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="drilltwin-bench-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
              "--no-first-run", f"--user-data-dir={profile}", "--window-size=1400,900"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(driver), options=opts)
    drv.set_page_load_timeout(120)
    drv.set_script_timeout(120)
    return drv, profile


def _measure(drv, page: Path) -> dict:
    import numpy as np
    from selenium.webdriver.support.ui import WebDriverWait

    t = time.perf_counter()
    drv.get(page.resolve().as_uri())
    WebDriverWait(drv, 120).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    load = time.perf_counter() - t
    drv.execute_script(DRAW_JS, 10)  # warm the JIT
    draws = np.array(drv.execute_script(DRAW_JS, 120))
    play = drv.execute_async_script(PLAY_JS, 5000)
    gaps = np.diff(np.array(play["stamps"]))
    return {"load_s": load, "people": drv.execute_script("return window.replay.people"),
            "drawn_on_storey": drv.execute_script("return window.replay.drawn"),
            "draw_ms_median": float(np.median(draws)), "draw_ms_p95": float(np.percentile(draws, 95)),
            "fps": play["frames"] / (play["wall"] / 1000.0),
            "frame_interval_ms_p95": float(np.percentile(gaps, 95)) if gaps.size else None,
            "sim_minutes_played": play["t"] / 60.0}


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        pages = {n: _build(n, Path(tmp)) for n in SIZES}
        drv, profile = _browser()
        try:
            for n, (page, run_wall, replay_wall) in pages.items():
                m = _measure(drv, page)
                m.update(run_s=run_wall, replay_write_s=replay_wall, page_mb=page.stat().st_size / 1e6)
                rows[n] = m
        finally:
            drv.quit()
            shutil.rmtree(profile, ignore_errors=True)
    ref, big = rows[SIZES[0]], rows[SIZES[-1]]
    tab = Table(title=f"replay.html smoothness (plant drill, {DURATION}, headless Chromium)")
    for c in ("people", "page (MB)", "write (s)", "load (s)", "draw median (ms)", "draw p95 (ms)", "fps",
              "frame p95 (ms)", "drawn"):
        tab.add_column(c, justify="right")
    for n, m in rows.items():
        tab.add_row(f"{n:,}", f"{m['page_mb']:.2f}", f"{m['replay_write_s']:.2f}", f"{m['load_s']:.2f}",
                    f"{m['draw_ms_median']:.2f}", f"{m['draw_ms_p95']:.2f}", f"{m['fps']:.1f}",
                    f"{m['frame_interval_ms_p95']:.1f}", str(m["drawn_on_storey"]))
    con = Console()
    con.print(tab)
    ratio = big["draw_ms_median"] / max(ref["draw_ms_median"], 1e-9)
    ok = big["fps"] >= 30 and (big["frame_interval_ms_p95"] or 1e9) <= 33.4
    con.print(f"draw time {SIZES[-1]:,} / {SIZES[0]:,} people: {ratio:.2f}x; "
              f"target >= 30 fps and p95 frame interval <= 33 ms at {SIZES[-1]:,}: {'met' if ok else 'NOT met'}")
    OUT.write_text(json.dumps({"sizes": {str(k): v for k, v in rows.items()}, "draw_ratio": ratio, "target_met": ok,
                               "loadavg": os.getloadavg(), "cpus": os.cpu_count()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
