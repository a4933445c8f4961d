"""User YAML is read safely (issue 16): duplicate keys and alias bombs are refused naming the line, fast."""

from __future__ import annotations

import time

import pytest

from twin.errors import InputError
from twin.yamlio import MAX_NODES, parse_yaml, read_yaml

BOMB = """name: lol
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_refused_in_well_under_a_second(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(BOMB)
    t = time.perf_counter()
    with pytest.raises(InputError, match=f"expands to more than {MAX_NODES:,} values") as e:
        read_yaml(p)
    assert time.perf_counter() - t < 0.5  # the old line mapper walked 387 million alias paths (5.5 GB)
    assert str(p) in str(e.value) and "line" in str(e.value)


def test_moderate_aliases_are_fine_and_lines_are_at_the_anchor():
    data, lines = parse_yaml("base: &w {speed: 1.3}\na: *w\nb: *w\n")
    assert data == {"base": {"speed": 1.3}, "a": {"speed": 1.3}, "b": {"speed": 1.3}}
    assert lines[("a",)] == 2 and lines[("base", "speed")] == 1


@pytest.mark.parametrize("text,line,first", [
    ("name: x\nduration: 30min\nduration: 1s\n", 3, 2),  # last-wins would run for one second
    ("{a: 1, a: 2}", 1, 1),
    ("people:\n  - {where: Hall, count: 3, count: 5}\n", 2, 2),
])
def test_duplicate_keys_refused(text, line, first):
    with pytest.raises(InputError, match=rf"line {line}, column \d+: not valid YAML: duplicate key .* \(also on line {first}\)"):
        parse_yaml(text, "s.yaml")


def test_merge_keys_may_override():
    data, _ = parse_yaml("x: &m {a: 1, b: 2}\ny:\n  <<: *m\n  a: 3\n")
    assert data["y"] == {"a": 3, "b": 2}


def test_recursive_alias_refused():
    with pytest.raises(InputError, match="recursive alias"):
        parse_yaml("a: &x [1, *x]\n")


def test_syntax_error_and_unreadable_files(tmp_path):
    with pytest.raises(InputError, match=r"s.yaml: line 3, column 1: not valid YAML"):
        parse_yaml("a: [1,\nb: 2\n", "s.yaml")
    with pytest.raises(InputError, match="file not found"):
        read_yaml(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="is a folder"):
        read_yaml(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="not a text file"):
        read_yaml(tmp_path / "bin.yaml")
    with pytest.raises(InputError, match="too long|cannot read"):
        read_yaml(tmp_path / ("a" * 5000))
