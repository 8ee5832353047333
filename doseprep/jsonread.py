"""The one JSON reader of doseprep: every document the program reads goes through
:func:`load_json`, so that nothing typed in it is silently dropped or rounded on the way in.

Python's :func:`json.loads` keeps the last of two equal keys without a word
(``"sample_dilution": 10, "sample_dilution": 1`` read as 1: a 10× dose) and reads every decimal
through a binary float (``4.99999999999999999999`` becomes 5.0 and passes a ≥ 5 % check). Here:

- a key repeated in one object is an :class:`InputError` naming its dotted path
  (``product.sample_dilution``, ``aliquots[1].infusion``);
- with ``exact`` (documents people or other programs wrote: requests, re-entries, drafts), a
  number with a fraction or an exponent is read as an exact :class:`~decimal.Decimal`, and
  ``NaN``, ``Infinity`` and integers of more than 40 digits too, so that the field's own parser
  refuses them naming the field rather than the reader failing on the whole file;
- a string holding an unpaired UTF-16 surrogate (``"\\ud800"``, which JSON's escapes allow but
  no text is made of, and which nothing can print or hash) is refused by its path too;
- text that is not JSON, or nested too deeply, is an :class:`InputError` on ``field``.

The error is also a :class:`ValueError`, so callers that treat any unreadable JSON alike (a
record's stored JSON checked for alteration, a draft moved aside) keep doing so.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from doseprep.errors import InputError

#: Integers longer than this are read as Decimal (Python's int() refuses more than 4 300 digits
#: with a ValueError that is not a JSON error; no count or factor doseprep reads has 40).
_LONGEST_INT = 40

#: A surrogate code point, and the JSON escape that makes one.
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonInputError(InputError, ValueError):
    """A JSON document that cannot be read as it is: not JSON, too deep, or a repeated key."""


class _Repeated(dict):
    """An object in which a key appeared more than once (its names in ``repeated``)."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]], found: list[bool]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    found.append(True)
    seen: set[str] = set()
    repeated = []
    for key, _ in pairs:
        if key in seen and key not in repeated:
            repeated.append(key)
        seen.add(key)
    marked = _Repeated(out)
    marked.repeated = tuple(repeated)
    return marked


def _integer(text: str) -> int | Decimal:
    return Decimal(text) if len(text.lstrip("-")) > _LONGEST_INT else int(text)


def load_json(text: str | bytes, *, field: str = "request", prefix: str = "",
              source: str | None = None, exact: bool = True) -> Any:
    """Read one JSON document.

    ``field`` names the whole document in errors about it (``request``, ``reentry``); ``prefix``
    goes before the dotted path of a repeated key (``reentry.`` gives ``reentry.product.din``);
    ``source`` is how the document is called in messages (a file name). ``exact``: decimals as
    :class:`~decimal.Decimal` (documents typed by people); without it, as floats (documents the
    program wrote itself, whose numbers came from floats).
    """
    name = source or "The text"
    found: list[bool] = []
    hooks: dict[str, Any] = {"object_pairs_hook": lambda pairs: _object(pairs, found)}
    if exact:
        hooks.update(parse_float=Decimal, parse_int=_integer, parse_constant=Decimal)
    try:
        data = json.loads(text, **hooks)
    except RecursionError:
        raise JsonInputError(field, f"{name} is nested too deeply to be read.") from None
    except json.JSONDecodeError as exc:
        raise JsonInputError(field, f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                    f"column {exc.colno}.") from None
    except (ValueError, UnicodeDecodeError) as exc:  # an over-long integer, bytes not UTF-8
        raise JsonInputError(field, f"{name} cannot be read as JSON ({exc.__class__.__name__})."
                             ) from None
    where = _first_repeated(data) if found else None
    if where is not None:
        path, key = where
        raise JsonInputError(f"{prefix}{path}"[:160],
                             f"The key \"{printable(key)[:60]}\" appears twice in this object; "
                             "keep one. (Only one of the two values would be read, silently.)")
    if isinstance(text, str) and (_ESCAPED_SURROGATE.search(text) or _SURROGATE.search(text)):
        path = _first_not_text(data)
        if path is not None:
            raise JsonInputError(f"{prefix}{path}"[:160] or field,
                                 "This holds a character that is not text (an unpaired UTF-16 "
                                 "surrogate, \\ud800 to \\udfff); type the value again.")
    return data


def printable(text: str) -> str:
    """``text`` with any unpaired surrogate written as its escape (``\\ud800``), so that it
    can be shown, printed and written as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _first_not_text(data: Any) -> str | None:
    """The path of the first key or string holding a surrogate code point (None if none)."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return path
            continue
        if isinstance(node, dict):
            children = []
            for key, value in node.items():
                where = f"{path}.{printable(key)}" if path else printable(key)
                if _SURROGATE.search(key):
                    return where
                children.append((value, where))
        elif isinstance(node, list):
            children = [(value, f"{path}[{index}]") for index, value in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))
    return None


def _first_repeated(data: Any) -> tuple[str, str] | None:
    """The dotted path and name of the first repeated key, in document order (None if none).
    Walked with a stack, not recursion: the document may be as deep as the parser allows."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if isinstance(node, _Repeated):
                key = printable(node.repeated[0])
                return (f"{path}.{key}" if path else key), key
            children = [(value, f"{path}.{printable(key)}" if path else printable(key))
                        for key, value in node.items()]
        elif isinstance(node, list):
            children = [(value, f"{path}[{index}]") for index, value in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))
    return None


def load_stored(text: str | bytes, what: str = "record") -> Any:
    """JSON the program wrote itself (a record's request and plan, an audit value, a sealed key):
    numbers as floats, as they were written; a repeated key — which the program never writes, so
    the text was altered — is refused like any other (a :class:`ValueError` the integrity checks
    already treat as "not what the program writes")."""
    return load_json(text, field=what, source=f"The stored {what}", exact=False)
