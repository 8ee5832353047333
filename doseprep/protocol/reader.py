"""Reading a settings TOML file: each key checked for its type, range and unit, every problem
named with the file and the key."""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from doseprep.errors import SettingsError
from doseprep.protocol._base import SCHEMA_VERSION


class _Reader:
    """Reads typed, checked values out of one parsed TOML table, naming the file on error."""

    def __init__(self, source: str, data: Mapping[str, Any]) -> None:
        self.source = source
        self.data = data

    def fail(self, key: str, message: str) -> SettingsError:
        return SettingsError(self.source, key, message)

    def get(self, key: str) -> Any:
        if key not in self.data:
            raise self.fail(key, "this key is missing; add it (the bundled file shows an "
                                 "example).")
        return self.data[key]

    def text(self, key: str, limit: int = 200) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be non-empty text in quotes.")
        if len(value.strip()) > limit or not value.strip().isprintable():
            raise self.fail(key, f"must be one line of at most {limit} characters.")
        return value.strip()

    def known_keys(self, known: frozenset[str] | tuple[str, ...], prefix: str = "",
                   data: Mapping[str, Any] | None = None) -> None:
        """Refuse any key not in ``known``, suggesting the nearest known one."""
        for key in (self.data if data is None else data):
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise self.fail(f"{prefix}{key}", f"is not a setting doseprep knows; it would be "
                                              f"ignored.{hint}")

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false.")
        return value

    def number(self, key: str, *, minimum: float = 0.0, strict: bool = True,
               maximum: float | None = None, value: Any = None) -> float:
        if value is None:
            value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number (got {value!r}).")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(key, f"must be a finite number (got {value!r}).")
        if (strict and number <= minimum) or number < minimum:
            relation = "greater than" if strict else "at least"
            raise self.fail(key, f"must be {relation} {minimum:g} (got {value!r}).")
        if maximum is not None and number > maximum:
            raise self.fail(key, f"must be at most {maximum:g} (got {value!r}).")
        return number

    def table(self, key: str) -> Mapping[str, Any]:
        value = self.get(key)
        if not isinstance(value, dict) or not value:
            raise self.fail(key, "must be a non-empty table.")
        return value


def _read_text(path: Path) -> str:
    """The exact text of a settings file (what a record keeps)."""
    source = str(path)
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SettingsError(source, "", "file not found.") from None
    except OSError as exc:
        raise SettingsError(source, "", f"cannot be read ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise SettingsError(source, "", "is not UTF-8 text.") from None
    except ValueError:  # a path no file system takes (a NUL character)
        raise SettingsError(source[:200], "", "is not a file name.") from None


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    """The table of a settings file's text, its schema version checked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(source, "", f"is not valid TOML: {exc}.") from None
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise SettingsError(source, "schema_version",
                                f"this file is for a newer doseprep (schema {version}); "
                                "update doseprep.")
        raise SettingsError(source, "schema_version", f"must be {SCHEMA_VERSION}.")
    return data


def _read_toml(path: Path) -> dict[str, Any]:
    return _parse_toml(_read_text(path), str(path))
