"""The comparison report (drills/outputs/compare_report.py): sections, numbers as computed, names escaped,
``drilltwin report`` on a comparison folder."""

from __future__ import annotations

import html
import re

import pytest
import yaml

from drills.cli.main import main
from drills.outputs.compare_report import _fmt, write_compare_report
from drills.studies import experiment as ex
from tests.drills.studies.test_experiment import _tiny

HOSTILE = '<script>alert(1)</script>" onerror="x'


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    p = _tiny(tmp, reps=6, seed=11, crn=False)
    data = yaml.safe_load(p.read_text())
    data["name"] = f"delay {HOSTILE}"
    data["description"] = HOSTILE
    data["kpis"] = ["t_evacuated", "t_alarm", "false_alerts"]
    base = yaml.safe_load((tmp / "tiny.yaml").read_text())
    base["targets"] = {"t_evacuated": "150s"}
    (tmp / "tiny.yaml").write_text(yaml.safe_dump(base))
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp / "out"
    pay = ex.run_compare(p, None, None, None, out, False)
    return out, pay


def _text(page: str) -> str:
    """The page's visible text (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_report_has_every_section_and_the_computed_numbers(folder):
    out, pay = folder
    page = (out / "report.html").read_text()
    assert pay["report"] == str(out / "report.html")
    for anchor in ("overview", "results", "diffs", "distributions", "targets", "false-alerts", "convergence"):
        assert f"id='{anchor}'" in page
    assert page.count("data:image/png;base64,") >= 4  # distributions, ECDF, forest plot, running means
    text = _text(page)
    d = pay["diffs"]["t_evacuated"]["late-now"]
    # the paired difference exactly as computed (m:ss, signed), with its interval
    assert f"{_fmt('t_evacuated', d['mean'], True)}  [{_fmt('t_evacuated', d['ci95'][0], True)}, " \
           f"{_fmt('t_evacuated', d['ci95'][1], True)}]" in text
    # the scenario's own target (150 s) replaced the default, and each arm's share is counted
    now = [r for r in ex._read_done(out / "runs.jsonl").values() if r["arm"] == "now"]
    met = sum(1 for r in now if r["t_evacuated"] is not None and r["t_evacuated"] <= 150)
    assert f"{met}/6 ({met / 6:.0%}) within 2:30" in text
    # no leak in the tiny drill: both arms are leak-free, so an alarm there is a needless one
    assert "6/6" in text.split("False-alert cost", 2)[-1]


def test_formats_times_counts_and_signed_differences():
    assert _fmt("t_alarm", 75.0) == "1:15" and _fmt("t_alarm", None) == "-"
    assert _fmt("t_alarm", -8.25, True) == "-8.2 s" and _fmt("t_alarm", 8.25, True) == "+8.2 s"
    assert _fmt("t_alarm", 3725.0, True) == "+1:02:05" and _fmt("t_alarm", -90.0, True) == "-1:30"
    assert _fmt("false_alerts", 2.5) == "2.5" and _fmt("false_alerts", 3.0, True) == "+3"


def test_names_are_shown_as_text_never_markup(folder):
    out, _ = folder
    page = (out / "report.html").read_text()
    assert "<script" not in page and 'onerror="x' not in page
    assert HOSTILE in _text(page)


def test_cli_report_rewrites_a_comparison_folder(folder, capsys):
    out, _ = folder
    (out / "report.html").unlink()
    main(["report", str(out)])
    assert (out / "report.html").exists() and str(out / "report.html") in capsys.readouterr().out
    assert write_compare_report(out) == out / "report.html"


def test_cli_report_on_a_folder_that_is_neither_exits_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["report", str(tmp_path)])
    assert e.value.code == 1
    assert "compare.json" in capsys.readouterr().err


def test_a_regional_comparison_keeps_its_columns_and_gets_a_report(tmp_path):
    """A joint exercise as the base: the tidy table carries the regional and SITE.KPI columns, the plots
    skip the evacuation ECDF (no single evacuation), and the report shows SITE.KPI times as times."""
    import pyarrow.parquet as pq

    from tests.drills.region.test_region import _write

    _write(tmp_path, duration="15min")
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({
        "name": "wind", "base": "region.yaml", "replications": 1, "seed": 10,
        "kpis": ["t_all_sites_warned", "B.t_detect", "A.false_alerts"],
        "arms": {"base": {}, "calm": {"weather": {"wind_speed": "2 m/s", "wind_from": 270, "stability": "D"}}}}))
    pay = ex.run_compare(exp, out=tmp_path / "out")
    assert pay["n_failed"] == 0
    cols = pq.read_table(tmp_path / "out" / "runs.parquet").column_names
    assert {"resource_wait_s", "t_all_sites_warned", "B.t_detect", "A.false_alerts"} <= set(cols)
    assert not (tmp_path / "out" / "plots" / "ecdf_t_evacuated.png").exists()
    text = _text((tmp_path / "out" / "report.html").read_text())
    t = pay["kpis"]["B.t_detect"]["base"]["mean"]
    assert t is not None and _fmt("B.t_detect", t) in text and ":" in _fmt("B.t_detect", t)
