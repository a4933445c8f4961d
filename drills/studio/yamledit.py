"""Round-trip edits of a YAML document that keep its comments, key order, quoting and flow style.

The page never rewrites a whole file from its own model: it sends small edits, ``{"path": [...], "value":
...}`` (set) or ``{"path": [...], "delete": true}``, and :func:`apply_edits` applies them with ruamel.yaml's
round-trip loader, so what the studio did not touch stays byte for byte as written by hand.

ruamel.yaml re-emits a document in its own layout in places (a flow mapping written over two lines comes
back on one), so the dump is not written as is: :func:`_merge` diffs the dump of the unedited document
against the dump of the edited one and replaces only the original lines behind the changed lines.
"""

from __future__ import annotations

import difflib
import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from twin.errors import InputError
from twin.yamlio import parse_yaml

__all__ = ["apply_edits", "load_roundtrip"]


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never fold a line the user wrote on one line
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load_roundtrip(text: str) -> Any:
    return _yaml().load(text)


def _indent_of(text: str) -> tuple[int, int]:
    """(sequence indent, dash offset) used by the document's block sequences: ``- x`` flush under its
    key is (2, 0), indented by two is (4, 2)."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        s = line.rstrip()
        if s.endswith(":") and not s.lstrip().startswith("#"):
            nxt = lines[i + 1]
            if nxt.lstrip().startswith("- "):
                key_ind = len(line) - len(line.lstrip())
                off = len(nxt) - len(nxt.lstrip()) - key_ind
                return off + 2, off
    return 2, 0


def _plain(v: Any) -> Any:
    """A JSON value as ruamel nodes; mappings and lists inside a flow-style parent stay flow style."""
    if isinstance(v, dict):
        m = CommentedMap()
        for k, x in v.items():
            m[k] = _plain(x)
        return m
    if isinstance(v, list):
        s = CommentedSeq()
        s.extend(_plain(x) for x in v)
        return s
    return v


def _set(node: Any, key: Any, value: Any) -> None:
    new = _plain(value)
    flow = getattr(node, "fa", None) is not None and node.fa.flow_style()
    if isinstance(node, list) and node and getattr(node[0], "fa", None) is not None:
        flow = flow or node[0].fa.flow_style()  # a new item looks like its siblings
    old = node.get(key) if isinstance(node, dict) else (node[key] if 0 <= key < len(node) else None)
    if getattr(old, "fa", None) is not None:
        flow = flow or old.fa.flow_style()  # a replaced collection keeps its style
    if flow and isinstance(new, CommentedMap | CommentedSeq):
        new.fa.set_flow_style()
    if isinstance(node, list):
        if key == len(node):
            node.append(new)
        else:
            node[key] = new
    else:
        node[key] = new


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """``text`` with ``edits`` applied (see the module docstring). Raises :class:`InputError` naming the
    edit's path when it cannot be applied (a missing parent, a list index out of range)."""
    parse_yaml(text, "the text")  # refuses duplicate keys, alias bombs and oversized documents first
    y = _yaml()
    seq, off = _indent_of(text)
    y.indent(mapping=2, sequence=seq, offset=off)
    doc = y.load(text)
    if doc is None:
        doc = CommentedMap()
    for ed in edits:
        path = list(ed.get("path") or [])
        if not path:
            raise InputError("an edit needs a non-empty path", where="edits")
        where = ".".join(str(p) for p in path)
        node = doc
        try:
            for i, k in enumerate(path[:-1]):
                if isinstance(node, dict) and k not in node and not ed.get("delete"):
                    node[k] = CommentedMap() if not isinstance(path[i + 1], int) else CommentedSeq()
                node = node[k]
            last = path[-1]
            if ed.get("delete"):
                if (isinstance(node, dict) and last in node) or (isinstance(node, list) and 0 <= last < len(node)):
                    del node[last]
            else:
                if isinstance(node, list) and not (isinstance(last, int) and 0 <= last <= len(node)):
                    raise IndexError(last)
                _set(node, last, ed.get("value"))
        except (KeyError, IndexError, TypeError):
            raise InputError("cannot apply the edit: no such place in the document", where=where) from None
    return _merge(text, _dump(y, y.load(text)), _dump(y, doc))


def _dump(y: YAML, doc: Any) -> str:
    buf = io.StringIO()
    y.dump(doc, buf)
    return buf.getvalue()


def _merge(orig_text: str, before_text: str, after_text: str) -> str:
    """``orig`` with the change from ``before`` (ruamel's dump of it) to ``after`` (the edited dump)
    applied: runs of lines where ``before`` matches ``orig`` map one to one; a run ruamel re-laid-out is
    replaced as a whole, and only if the edit touched it."""
    orig = orig_text.splitlines(keepends=True)
    o = before_text.splitlines(keepends=True)
    n = after_text.splitlines(keepends=True)
    spans: list[tuple[int, int, int, int]] = []  # (o start, o end, orig start, orig end), in order
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, orig, o, autojunk=False).get_opcodes():
        if tag == "equal":
            spans.extend((j1 + d, j1 + d + 1, i1 + d, i1 + d + 1) for d in range(j2 - j1))
        else:
            spans.append((j1, j2, i1, i2))
    g: dict[int, int] = {}  # where the content starting at line j of `o` starts in `n` (insertions first)
    for tag, j1, j2, k1, _k2 in difflib.SequenceMatcher(None, o, n, autojunk=False).get_opcodes():
        if tag == "equal":
            for d in range(j2 - j1):
                g.setdefault(j1 + d, k1 + d)
        else:
            g.setdefault(j1, k1)
    g.setdefault(len(o), len(n))
    out: list[str] = []
    start = 0
    lo = 0  # orig start of the current group
    for _j1, j2, _i1, i2 in spans:
        if j2 not in g:
            continue
        if n[g[start]:g[j2]] == o[start:j2]:
            out.extend(orig[lo:i2])
        else:
            out.extend(n[g[start]:g[j2]])
        start, lo = j2, i2
    out.extend(orig[lo:])
    out.extend(n[g[len(o)]:] if start == len(o) else [])
    return "".join(out)
