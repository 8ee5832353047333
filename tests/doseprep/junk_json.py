"""Garbled JSON documents for the command-line fuzz tests (issue 21): a valid document mutated
the ways a tired technician, a broken script or a dishonest insider would — wrong types, deep
nesting, huge numbers, NaN and Infinity, long strings, control characters, other scripts, keys
repeated, keys and sections missing or added — and sometimes the text itself cut or spliced.

The documents are built as text (a Python dict cannot hold a repeated key or a NaN token that
json.dumps would write), so what the program reads is exactly what a file could hold.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

#: DOSEPREP_FUZZ_EXAMPLES raises the number of documents per command (default: a quick run).
BIG_RUN = int(os.environ.get("DOSEPREP_FUZZ_EXAMPLES", "0") or 0)


def examples(default: int) -> int:
    return BIG_RUN or default


@dataclass(frozen=True)
class Raw:
    """A JSON token written as is: NaN, Infinity, 1e999, a 5000-digit number, deep brackets."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written pair by pair, so a key may appear twice."""

    items: tuple[tuple[str, Any], ...]


def dump(node: Any) -> str:
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in node.items) + "}"
    if isinstance(node, dict):
        return dump(Pairs(tuple(node.items())))
    if isinstance(node, list):
        return "[" + ", ".join(dump(v) for v in node) + "]"
    return json.dumps(node, ensure_ascii=False)


TOKENS = [Raw(t) for t in ("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E-400", "-0",
                           "9" * 5000, "-" + "9" * 60, "4.99999999999999999999", "0.1", "1e30",
                           "[" * 3000 + "]" * 3000, "{}",
                           '"\\ud800"', '"DOE, \\udfffJANE"', '"\\ud83d\\ude00"', '"\\u0000"')]
CONTROL = st.text(alphabet=st.characters(max_codepoint=0x9F, categories=("Cc",)), max_size=8)
WORDS = st.sampled_from(["70 kg", "0 mL", "-1 mL", "24 mL", "1e3/uL", "100 x10^3/uL", "DL3",
                         "dl99", "B0", "A0", "G123417654321", "G123417654321A",
                         "=G12341765432100", "2026-11-23T10:00:00-08:00", "2026-03-08T02:30:00",
                         "2026-11-01T01:30:00", "hmct-blinatumomab", "thaw", "freeze", "fresh",
                         "", " ", "%", "10 %", "0x10", "1_000", "٣", "１２", "½", "∞"])
#: Text far longer than any field takes: one character repeated, or a word (a paste, a stuck key).
LONG = st.one_of(st.builds(lambda c, n: c * n, st.characters(), st.integers(100, 20_000)),
                 st.builds(lambda w, n: w * n, WORDS, st.integers(20, 2_000)))
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 40), max_value=10 ** 40),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(TOKENS), WORDS,
    st.text(max_size=20), CONTROL, LONG,
)
#: What a field is set to: as often a long text, a token or a word as any other value.
VALUES = st.one_of(
    LONG, st.sampled_from(TOKENS), WORDS,
    st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


def _parent(doc: Any, path: tuple) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


@st.composite
def garbled(draw: st.DrawFn, valid: dict) -> str:
    """``valid`` mutated one to four times, as JSON text (sometimes cut or spliced)."""
    doc: Any = json.loads(json.dumps(valid))
    repeated: list[tuple[tuple, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add", "repeat", "wrap"]))
        if not path:
            if action == "set":
                doc = draw(VALUES)
            continue
        parent = _parent(doc, path)
        if not isinstance(parent, dict | list):
            continue
        key = path[-1]
        if action == "set":
            parent[key] = draw(VALUES)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(VALUES)
        elif action == "repeat" and isinstance(parent, dict):
            repeated.append((path, draw(VALUES)))
        elif action == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"value": parent[key]}
    doc = _with_repeats(doc, repeated)
    text = dump(doc)
    if draw(st.integers(0, 9)) == 0 and text:  # the text itself damaged: cut, or a byte spliced
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(["", '"', "}", ",", "\\", "\x00", "\ufeff"])) \
            + text[at + draw(st.integers(0, 3)):]
    return text


def _with_repeats(doc: Any, repeated: list[tuple[tuple, Any]]) -> Any:
    """Each (path, value): the key at ``path`` given a second time, after the first."""
    for path, value in repeated:
        try:
            parent = _parent(doc, path)
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue
        items = list(parent.items())
        index = next(i for i, (k, _) in enumerate(items) if k == path[-1])
        items.insert(index + 1, (path[-1], value))
        replacement = Pairs(tuple(items))
        if len(path) == 1:
            doc = replacement
        else:
            _parent(doc, path[:-1])[path[-2]] = replacement
    return doc
