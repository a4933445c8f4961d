"""The user documentation in docs/ agrees with the code: every field of the scenario and sketch models is
documented with the default the code uses, every inject kind, KPI and command is described, links and
anchors resolve, and nothing cites files users do not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _section(page: str, heading: str) -> str:
    """The text of ``## heading`` (or ###) in ``docs/page`` up to the next heading of the same level."""
    text = (DOCS / page).read_text(encoding="utf-8")
    m = re.search(rf"^(#+) {re.escape(heading)}\n", text, flags=re.M)
    assert m, f"{page}: no section {heading!r}"
    level = len(m.group(1))
    rest = text[m.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def _rows(section: str) -> dict[str, list[str]]:
    """Table rows keyed by each backticked name of their first cell (``alarm.at`` -> ``at``)."""
    out: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        for name in re.findall(r"`([^`]+)`", cells[0]):
            out.setdefault(name.split(".")[-1], cells)  # the first table that names a field describes it
    return out


def _literal(cell: str):
    """The first backticked value of a default cell, read as the YAML value it shows (None if none)."""
    m = re.match(r"`([^`]*)`", cell)
    if not m:
        return None
    tok = m.group(1)
    if tok in ("true", "false"):
        return tok == "true"
    if tok == '""':
        return ""
    if tok == "[]":
        return []
    try:
        return float(tok)
    except ValueError:
        pass
    from twin.units import parse_duration

    try:
        return parse_duration(tok)
    except ValueError:
        return tok


def _models():
    from agents.cues import CuesConfig
    from drills.spec import scenario as s
    from twin import sketch as k

    return [
        ("scenario.md", "Top-level fields", s.Scenario),
        ("scenario.md", "people: defaults for everyone", s.PeopleDefaults),
        ("scenario.md", "people: defaults for everyone", CuesConfig),
        ("scenario.md", "population", s.PopulationEntry),
        ("scenario.md", "alarm and closed", s.AlarmSpec),
        ("scenario.md", "hazards", s.HazardSpec),
        ("scenario.md", "weather", s.WeatherSpec),
        ("scenario.md", "injects", s.Inject),
        ("scenario.md", "placement", s.PlacementSpec),
        ("site-sketch.md", "Top level", k.SketchIn),
        ("site-sketch.md", "storeys", k.StoreyIn),
        ("site-sketch.md", "spaces", k.SpaceIn),
        ("site-sketch.md", "doors", k.DoorIn),
        ("site-sketch.md", "stairs", k.StairIn),
        ("site-sketch.md", "equipment", k.EquipmentIn),
        ("site-sketch.md", "sensors", k.SensorIn),
        ("site-sketch.md", "alarms", k.AlarmIn),
        ("site-sketch.md", "muster", k.MusterIn),
    ]


@pytest.mark.parametrize("page,heading,model", _models(), ids=lambda x: getattr(x, "__name__", str(x)))
def test_every_field_documented_with_the_codes_default(page, heading, model):
    from pydantic_core import PydanticUndefined

    rows = _rows(_section(page, heading))
    for key, f in model.model_fields.items():
        name = f.alias or key
        assert name in rows, f"docs/{page} section {heading!r} does not document {model.__name__}.{name}"
        default = f.default
        if default is PydanticUndefined or default is None or not isinstance(default, bool | int | float | str):
            continue
        shown = _literal(rows[name][2])
        assert shown is not None, f"docs/{page}: {name}: the code's default {default!r} is not shown"
        if isinstance(default, bool) or isinstance(default, str):
            assert shown == default, f"docs/{page}: {name}: docs say {shown!r}, the code {default!r}"
        else:
            assert shown == pytest.approx(float(default)), f"docs/{page}: {name}: docs say {shown}, code {default}"


def test_every_inject_kind_and_contingency_moment_documented():
    from drills.spec.scenario import CONTINGENCY_KPIS, INJECT_KINDS

    section = _section("scenario.md", "injects")
    kinds = _rows(section)
    for kind in INJECT_KINDS:
        assert kind in kinds, f"docs/scenario.md: inject kind {kind!r} missing"
    for kpi in CONTINGENCY_KPIS:
        assert f"`{kpi}`" in section


def test_every_kpi_defined():
    from drills.region.sim import REGION_KPI_KEYS
    from drills.spec.kpi_names import KPI_KEYS, NUMERIC_KPIS
    from drills.studies.region_experiment import REGION_NUMERIC_KPIS

    run = _rows(_section("kpis.md", "KPIs of a run"))
    for k in (*KPI_KEYS, *NUMERIC_KPIS):
        assert k in run, f"docs/kpis.md does not define the run KPI {k!r}"
    region = _rows(_section("kpis.md", "Regional KPIs"))
    for k in (*REGION_KPI_KEYS, *REGION_NUMERIC_KPIS):
        assert k in region, f"docs/kpis.md does not define the regional KPI {k!r}"


def test_every_command_and_option_in_cli_md():
    import typer.main

    from drills.cli import app

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    group = typer.main.get_command(app)

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    found = list(walk(group, []))
    assert len(found) >= 11
    for path, cmd in found:
        heading = "## drilltwin " + " ".join(path)
        assert heading + "\n" in text, f"docs/cli.md has no section {heading!r}"
        section = _section("cli.md", "drilltwin " + " ".join(path))
        for p in cmd.params:
            for opt in p.opts:
                if opt.startswith("-") and opt != "--help":
                    # options shared with another command may be described there ("as `evaluate`")
                    assert opt in section or f"`{opt}" in text, f"docs/cli.md: {' '.join(path)} {opt} missing"


def test_experiment_fields_documented():
    from drills.studies.experiment import _EXP_FIELDS

    rows = _rows(_section("experiment.md", "The experiment file"))
    for f in _EXP_FIELDS:
        assert f in rows, f"docs/experiment.md does not document {f!r}"


def _anchors(text: str) -> set[str]:
    out = set()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for m in re.finditer(r"^#+ (.*)$", text, flags=re.M):
        h = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
        out.add(h.replace(" ", "-"))
    return out


def test_links_and_anchors_resolve():
    """Every relative link of README.md and docs/*.md reaches a file and, with ``#anchor``, a heading.
    A page not (yet) in the repository must at least be one that docs/index.md lists."""
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"\]\(([\w-]+\.md)\)", index))
    bad = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", link):
                continue
            path, _, anchor = link.partition("#")
            target = (page.parent / path) if path else page
            if not target.exists():
                if not (target.parent == DOCS and target.name in listed):
                    bad.append(f"{page.name}: {link} (no such file)")
                continue
            if anchor and target.suffix == ".md" and anchor not in _anchors(target.read_text(encoding="utf-8")):
                bad.append(f"{page.name}: {link} (no such heading)")
    assert not bad, "\n".join(bad)


def test_docs_cite_nothing_users_do_not_have():
    for page in DOCS.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert "shared/" not in text and "CONTRACTS" not in text, page.name


@pytest.mark.slow
def test_every_key_a_run_reports_is_defined():
    """The bundled drill's ``kpis.json`` keys (every one the engine writes with gas, alerts and
    workflows) are all defined in docs/kpis.md."""
    from drills.sim.engine import run_scenario
    from drills.spec.scenario import load_scenario

    res = run_scenario(load_scenario(ROOT / "scenarios" / "plant_h2s_leak.yaml"), log_trajectories=False)
    run = _rows(_section("kpis.md", "KPIs of a run"))
    missing = [k for k in res.kpis if k not in run]
    assert not missing, f"docs/kpis.md does not define {missing}"
