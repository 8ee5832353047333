"""Reading one field of a request: text, whole numbers, times, percentages, confirmations;
and the collector that gathers every field error of a request."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from doseprep.errors import InputError, InvalidRequestError
from doseprep.request._base import CONFIRMABLE, CRYO_KEYS, KNOWN_KEYS, MAX_TEXT, MAX_YEAR, MIN_YEAR
from doseprep.units import parse_number
from doseprep.units.instants import read_instant


def _check_keys(data: Mapping[str, Any], section: str, path: str | None = None) -> None:
    """Refuse any key the request format does not have, suggesting the nearest known one.
    ``section`` names the key list (:data:`KNOWN_KEYS`); ``path`` where the keys are in the
    request (default: the section; "" for the top level)."""
    known = KNOWN_KEYS[section] if section in KNOWN_KEYS else CRYO_KEYS[section]
    path = section if path is None else path
    for key in data:
        if key in known:
            continue
        where = (f"{path}.{key}" if path else str(key)) or "request"
        if not isinstance(key, str):
            raise InputError(where, "Keys of a request are text.")
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) or \
            [k for k in known if k.lower() == key.lower()]
        hint = f" Did you mean \"{close[0]}\"?" if close else \
            f" Known keys here: {', '.join(known)}."
        raise InputError(where[:120], f"\"{key[:60]}\" is not a field of the request; it would "
                                      f"be ignored.{hint}")


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise InputError(key, f"The request has no {key} section; add \"{key}\": {{...}}.")
    _check_keys(value, key)
    return value


def _text(section: Mapping[str, Any], field: str, what: str, limit: int = MAX_TEXT) -> str:
    key = field.rsplit(".", 1)[1]
    value = section.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, f"Enter the {what}.")
    if len(value.strip()) > limit:
        raise InputError(field, f"The {what} is {len(value.strip())} characters long; at most "
                                f"{limit} are accepted.")
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or 0xD800 <= ord(ch) <= 0xDFFF
           for ch in value):
        raise InputError(field, f"The {what} holds a control character (a tab, a line break or "
                                "an invisible code); retype it.")
    return value.strip()


def _whole(section: Mapping[str, Any], field: str, what: str) -> int:
    key = field.rsplit(".", 1)[1]
    value = section.get(key)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() \
            and len(value.strip()) <= 6:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999_999:
        raise InputError(field, f"Enter the {what} as a whole number.")
    return value


def _timestamp(value: Any, field: str, what: str, zone: ZoneInfo | str | None,
               assumed: list[str]) -> datetime:
    """A typed date and time as an instant (:func:`doseprep.units.instants.read_instant`: the
    one place that reads them). A time without an offset is the site's wall-clock time
    (DESIGN.md, "Time") and its field is added to ``assumed``; one in the site's gap or fold is
    refused, asking for the offset."""
    moment, zone_assumed = read_instant(value, field, what, zone, (MIN_YEAR, MAX_YEAR))
    if zone_assumed:
        assumed.append(field)
    return moment


def _percent(section: Mapping[str, Any], field: str, what: str) -> Decimal:
    value = parse_number(section.get(field.rsplit(".", 1)[1]), field, what)
    if not 0 < value <= 100:
        raise InputError(field, f"The {what} must be more than 0 and at most 100 % "
                                f"(got {value:g} %).")
    return value


def _confirmations(data: Mapping[str, Any],
                   confirmable: tuple[str, ...] = CONFIRMABLE) -> dict[str, str]:
    value = data.get("confirmations", {})
    if not isinstance(value, Mapping):
        raise InputError("confirmations", "Give confirmations as an object: "
                                          "{\"product.cd3_percent\": \"reason\"}.")
    out: dict[str, str] = {}
    for key, reason in value.items():
        if key not in confirmable:
            close = difflib.get_close_matches(str(key), confirmable, n=1)
            hint = f" Did you mean \"{close[0]}\"?" if close else ""
            raise InputError(f"confirmations.{str(key)[:60]}",
                             f"Only {', '.join(confirmable)} can be confirmed.{hint}")
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise InputError(f"confirmations.{key}", "Give the reason for confirming this "
                                                     "value (who checked it, and how).")
        if len(reason) > 500 or any(ord(ch) < 32 and ch not in "\t" for ch in reason):
            raise InputError(f"confirmations.{key}", "The reason must be one line of at most "
                                                     "500 characters.")
        out[key] = reason.strip()
    return out


class _Errors:
    """Collects every field's error (the first per field) and every field parsed, so that a
    request is checked whole: the command line and the window name each wrong field at once
    (issue 11: parsing stopped at the first, and the window re-parsed with stand-in values to
    find the others)."""

    def __init__(self) -> None:
        self.found: list[InputError] = []
        self.parsed: dict[str, Any] = {}

    def add(self, *errors: InputError) -> None:
        for error in errors:
            if all(e.field != error.field for e in self.found):
                self.found.append(error)

    def get(self, field: str | None, parse: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """``parse(*args, **kw)``, kept under ``field``; None (and the error kept) if it fails."""
        try:
            value = parse(*args, **kw)
        except InvalidRequestError as exc:
            self.add(*exc.errors)
            self.parsed.update(exc.parsed)
            return None
        except InputError as exc:
            self.add(exc)
            return None
        if field is not None:
            self.parsed[field] = value
        return value

    def check(self) -> None:
        """Raise :class:`InvalidRequestError` if anything was wrong."""
        if self.found:
            raise InvalidRequestError(tuple(self.found), dict(self.parsed))
