"""IFC import cases of issue 16, each with the exact input: an unterminated comment, unsupported schemas,
entities lost by the reader, models with no exit or unreachable spaces; the inspect listing; the longest
walk over indoor nodes only; ``--plot DIR/``."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import MODELS, SHARED_IFC, needs_ifc
from twin.errors import InputError
from twin.graph import build_graph
from twin.ifc import read_ifc
from twin.inventory import KINDS, inventory
from twin.load import load_twin
from twin.plot import plot_path
from twin.sketch import sketch_from_dict
from twin.yamlio import read_yaml

FZK = "AC20-FZK-Haus.ifc"
OPENHOUSE = "IfcOpenHouse_IFC4.ifc"
DUPLEX = "Duplex_A_20110907.ifc"


def _hide_tail(tmp_path, name: str, frac: float) -> tuple:
    """The real file with '/* hidden' inserted before the last (1 - frac) of its DATA lines."""
    lines = (SHARED_IFC / name).read_bytes().split(b"\n")
    end = max(k for k, ln in enumerate(lines) if ln.startswith(b"ENDSEC"))
    k = int(end * frac)
    p = tmp_path / f"commented_{name}"
    p.write_bytes(b"\n".join(lines[:k] + [b"/* hidden"] + lines[k:]))
    return p, k + 1


@needs_ifc(FZK)
def test_unterminated_comment_is_named_with_its_line(tmp_path):
    # hiding the last 1 % of FZK-Haus leaves a file ifcopenshell reads without a word (it used to import
    # with exit 0); the comment is now an error naming its line
    p, line = _hide_tail(tmp_path, FZK, 0.99)
    with pytest.raises(InputError, match=rf"comment '/\*' opened at line {line} is never closed") as e:
        read_ifc(p)
    assert str(p) in str(e.value) and "entities" in str(e.value)


@needs_ifc(FZK)
def test_closed_comments_are_fine(tmp_path):
    data = (SHARED_IFC / FZK).read_bytes()
    i = data.index(b"\n", data.index(b"DATA;")) + 1
    p = tmp_path / "ok.ifc"
    p.write_bytes(data[:i] + b"/* a note: #1=IFCWALL(); */\n" + data[i:])
    assert len(read_ifc(p).spaces) == 7


@needs_ifc(OPENHOUSE)
@pytest.mark.parametrize("schema", ["IFC2X_FINAL", "IFC4RC4", "IFC4X3_RC2"])
def test_unsupported_schema_is_named_not_called_corrupt(tmp_path, schema):
    text = (SHARED_IFC / OPENHOUSE).read_bytes().replace(b"FILE_SCHEMA(('IFC4'))", f"FILE_SCHEMA(('{schema}'))".encode())
    p = tmp_path / f"{schema}.ifc"
    p.write_bytes(text)
    with pytest.raises(InputError) as e:
        read_ifc(p)
    msg = str(e.value)
    assert f"unsupported IFC schema '{schema}'" in msg and "IFC2X3, IFC4" in msg and "corrupt" not in msg


@needs_ifc(FZK)
def test_entities_the_reader_drops_are_counted(tmp_path, monkeypatch):
    # a definition the parser skips without an error: simulated by hiding one IfcDoor from the reader's
    # count, which the cross-check against the text must notice
    import twin.ifc as ifc

    real = ifc._text_entities

    def more_doors(p):
        c = real(p)
        c["IFCDOOR"] += 2
        return c

    monkeypatch.setattr(ifc, "_text_entities", more_doors)
    with pytest.raises(InputError, match=r"2 entities defined in the file were not read \(2 IFCDOOR\)"):
        read_ifc(SHARED_IFC / FZK)


@needs_ifc(OPENHOUSE)
def test_no_ifcspace_is_still_the_diagnosis_when_there_is_none():
    with pytest.raises(InputError, match="no IfcSpace"):
        read_ifc(SHARED_IFC / OPENHOUSE)


def _sketch(doors):
    return {"name": "two rooms", "storeys": [{"name": "G", "elevation": 0, "height": 3, "spaces": [
        {"name": "A", "polygon": [[0, 0], [10, 0], [10, 10], [0, 10]]},
        {"name": "B", "polygon": [[10, 0], [20, 0], [20, 10], [10, 10]]}], "doors": doors}]}


def test_zero_exits_is_a_named_warning():
    g = build_graph(sketch_from_dict(_sketch([{"name": "AB", "at": [10, 5], "width": 1, "between": ["A", "B"]}])))
    rep = g.report()
    assert rep["exits"] == 0
    assert [w["code"] for w in rep["warnings"]].count("no_exits") == 1


def test_unreachable_space_is_a_named_warning():
    g = build_graph(sketch_from_dict(_sketch([{"name": "EX", "at": [5, 0], "width": 1, "between": ["A", "outside"]}])))
    rep = g.report()
    warned = [w for w in rep["warnings"] if w["code"] == "space_unreachable"]
    assert rep["unreachable_spaces"] == 1 and [w["entity"] for w in warned] == ["B"]


def test_longest_walk_excludes_muster_points():
    # the issue: rimea9 reported 22.6 m, the distance of a muster point; the farthest zone centre is 11.7 m
    rep = load_twin(MODELS / "rimea9.site.yaml").report()
    assert rep["max_exit_distance_m"] == pytest.approx(11.66, abs=0.01)


def test_inventory_lists_every_kind_with_a_name_that_resolves():
    g = load_twin(MODELS / "chemical_plant.ifc")
    for kind in KINDS:
        rows = inventory(g, kind)
        assert rows, kind
        items = "doors" if kind == "exits" else kind
        for r in rows:
            assert g.site.find(items, r["use_name"]) == r["id"]
            assert r["storey"]
    assert {r["id"] for r in inventory(g, "exits")} == {n[2:] for n in g.exits}
    assert all(r["label"].startswith("exit from ") for r in inventory(g, "exits"))


@needs_ifc(DUPLEX)
def test_revit_exits_get_readable_labels():
    g = load_twin(SHARED_IFC / DUPLEX)
    rows = inventory(g, "exits")
    assert len(rows) == 4
    assert rows[0]["label"] == "exit from Foyer (A101), Level 1"
    assert rows[0]["name"].startswith("M_Single-Flush:")  # what the file calls it


def test_inspect_list_cli(capsys):
    from drills.cli.main import main

    main(["twin", "inspect", str(MODELS / "rimea9.site.yaml"), "--list", "exits", "--json"])
    import json

    rep = json.loads(capsys.readouterr().out)
    assert rep["list"] == "exits" and [r["use_name"] for r in rep["items"]] == ["D1", "D2", "D3", "D4"]
    with pytest.raises(SystemExit) as e:
        main(["twin", "inspect", str(MODELS / "rimea9.site.yaml"), "--list", "rooms"])
    assert e.value.code == 1
    assert "--list: expected one of spaces, doors, exits" in capsys.readouterr().err


def test_plot_into_a_folder(tmp_path):
    assert plot_path(f"{tmp_path}/plans/", "x/rimea9.site.yaml") == tmp_path / "plans" / "rimea9_plan.png"
    assert plot_path(tmp_path, "m.ifc") == tmp_path / "m_plan.png"
    assert plot_path(tmp_path / "a.png", "m.ifc") == tmp_path / "a.png"


def test_sketch_duplicate_key_refused(tmp_path):
    data, _ = read_yaml(MODELS / "rimea9.site.yaml")
    assert copy.deepcopy(data)["name"]
    p = tmp_path / "dup.site.yaml"
    p.write_text((MODELS / "rimea9.site.yaml").read_text().replace("name: RiMEA 9 hall", "name: a\nname: b"))
    with pytest.raises(InputError, match="duplicate key 'name'"):
        load_twin(p, cache=False)


@needs_ifc("Jesse.1.ifc")
def test_no_ifcspace_says_what_the_model_has_instead():
    with pytest.raises(InputError, match=r"no IfcSpace \(it has 8 IfcBuildingStorey, 160 IfcWall, 61 IfcDoor"):
        read_ifc(SHARED_IFC / "Jesse.1.ifc")
