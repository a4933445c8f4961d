"""Reading YAML written by users (scenarios, site sketches, regions, experiments) safely.

Plain ``yaml.safe_load`` has three traps this module closes (docs/limits.md):

* **duplicate keys**: YAML keeps the last of two equal keys silently, so ``duration: 30min`` followed by
  ``duration: 1s`` runs for one second; here it is an error naming both lines;
* **alias bombs** ("billion laughs"): nine anchors of nine aliases each expand to 387 million nodes from a
  few hundred bytes; the expanded size is counted on the composed node graph (each node once, so the
  count itself is linear in the file) and a document larger than :data:`MAX_NODES` is refused before
  anything walks it;
* **size**: files above :data:`MAX_BYTES` are refused before they are parsed.

:func:`parse_yaml` also returns the 1-based line of every mapping key and sequence item, keyed by its path
(``("population", 2, "count")``), so validation errors can point at the line. Aliased nodes are visited
once, at their anchor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from twin.errors import InputError

__all__ = ["MAX_NODES", "MAX_BYTES", "parse_yaml", "read_yaml"]

MAX_NODES = 200_000
"""Largest YAML document accepted, in nodes (scalars, sequences, mappings) after aliases are expanded.
The largest file shipped (the five-storey office sketch, 105 rooms) has about 4,000, so a sketch of
some 5,000 rooms still fits."""
MAX_BYTES = 20_000_000
"""Largest YAML file accepted (bytes)."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"


def read_yaml(path: str | os.PathLike) -> tuple[Any, dict[tuple, int]]:
    """Read and parse the YAML file ``path``: (data, lines). Raises :class:`InputError` naming the file."""
    p = Path(path)
    src = str(p)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise InputError(f"file too large ({p.stat().st_size:,} bytes; the limit is {MAX_BYTES:,})", source=src)
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", source=src) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a YAML file", source=src) from None
    except UnicodeDecodeError:
        raise InputError("not a text file (not UTF-8)", source=src) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=src) from None
    return parse_yaml(text, src)


def parse_yaml(text: str, source: str = "<yaml>") -> tuple[Any, dict[tuple, int]]:
    """Parse one YAML document: (data, lines). Raises :class:`InputError` naming ``source`` and the line
    for invalid YAML, a duplicate key, a recursive alias or a document larger than :data:`MAX_NODES`."""
    if len(text) > MAX_BYTES:
        raise InputError(f"document too large ({len(text):,} characters; the limit is {MAX_BYTES:,})",
                         source=source)
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check(node, source)
        lines = _lines(node)
        data = loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"not valid YAML: {problem}", source=source,
                         where=f"line {mark.line + 1}, column {mark.column + 1}" if mark else None) from None
    except RecursionError:
        raise InputError("not valid YAML: nested too deeply", source=source) from None
    finally:
        loader.dispose()
    return data, lines


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for kv in node.value for n in kv]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check(root: yaml.Node, source: str) -> None:
    """Expanded size (each distinct node sized once), recursive aliases and duplicate keys."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        k = id(node)
        if done:
            on_path.discard(k)
            size[k] = 1 + sum(size[id(c)] for c in _children(node))
            if size[k] > MAX_NODES:
                raise InputError(
                    f"the YAML expands to more than {MAX_NODES:,} values (aliases '*name' repeat what an anchor "
                    "'&name' holds; a file that multiplies them is refused)", source=source,
                    where=f"line {node.start_mark.line + 1}")
            continue
        if k in size:
            continue
        if k in on_path:
            raise InputError("an alias refers to the mapping or list that contains it (recursive alias)",
                             source=source, where=f"line {node.start_mark.line + 1}")
        on_path.add(k)
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple, int] = {}
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
                    line = key.start_mark.line + 1
                    if (key.tag, key.value) in seen:
                        raise InputError(f"not valid YAML: duplicate key {key.value!r} (also on line "
                                         f"{seen[key.tag, key.value]}); YAML would silently keep only the last one",
                                         source=source, where=f"line {line}, column {key.start_mark.column + 1}")
                    seen[key.tag, key.value] = line
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _lines(root: yaml.Node) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        out.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        todo: list[tuple[yaml.Node, tuple]] = []  # children in document order, so an anchor is met first
        if isinstance(node, yaml.MappingNode):
            for key, val in node.value:
                if isinstance(key, yaml.ScalarNode):
                    out[path + (key.value,)] = key.start_mark.line + 1
                    todo.append((val, path + (key.value,)))
        elif isinstance(node, yaml.SequenceNode):
            todo = [(val, path + (i,)) for i, val in enumerate(node.value)]
        stack.extend(reversed(todo))
    return out
