"""Round-trip edits: what the studio did not touch stays byte for byte as written by hand."""

from __future__ import annotations

import pytest

from drills.studio.yamledit import apply_edits
from tests.drills.studio.conftest import LEAK
from twin.errors import InputError

TEXT = LEAK.replace("PUMP", "Pump Room")


def _changed(a: str, b: str) -> list[tuple[str, str]]:
    return [(x, y) for x, y in zip(a.splitlines(), b.splitlines(), strict=False) if x != y]


def test_no_edit_is_the_identity():
    assert apply_edits(TEXT, []) == TEXT


def test_scalar_edit_changes_one_line():
    out = apply_edits(TEXT, [{"path": ["population", 0, "count"], "value": 7}])
    assert _changed(TEXT, out) == [("  - {where: Pump Room, count: 3}", "  - {where: Pump Room, count: 7}")]


def test_new_item_follows_its_siblings_style_and_comments_stay():
    out = apply_edits(TEXT, [{"path": ["workflows", 0, "steps", 3],
                              "value": {"id": "clear", "kind": "all_clear", "after": ["alarm"]}}])
    assert out.startswith(TEXT)
    assert out[len(TEXT):] == "      - {id: clear, kind: all_clear, after: [alarm]}\n"


def test_delete_and_folded_lines():
    text = TEXT.replace("  - {where: Control Room, count: 1, role: operator}\n",
                        "  - {where: Control Room, count: 1,\n     role: operator}\n")
    out = apply_edits(text, [{"path": ["population", 0], "delete": True}])
    assert "{where: Pump Room, count: 3}" not in out
    assert "  - {where: Control Room, count: 1,\n     role: operator}\n" in out  # untouched: kept as folded


def test_bad_path_names_the_edit():
    with pytest.raises(InputError, match="workflows.0.steps.9"):
        apply_edits(TEXT, [{"path": ["workflows", 0, "steps", 9, "id"], "value": "x"}])


def test_replaced_mapping_keeps_its_flow_style_and_comment():
    out = apply_edits(TEXT, [{"path": ["alerts"], "value": {"policy": "cusum", "h": 5}}])
    assert _changed(TEXT, out) == [("alerts: {policy: threshold}  # the detectors' own set points",
                                    "alerts: {policy: cusum, h: 5} # the detectors' own set points")]
