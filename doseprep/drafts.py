"""Drafts: the raw text of an unfinished form, kept on disk so nothing typed is ever lost.

The window saves the text of every field (exactly as typed, before any parsing) on every change,
and offers it again on the next start after a crash or an accidental close. A draft is one small
JSON file in the user's data directory, written atomically (a temporary file in the same folder,
flushed to disk, then ``os.replace``), so a crash in the middle of a save leaves either the old
draft or the new one, never half of each. A draft that cannot be read is moved aside (never
deleted) and reported as absent. No Qt here: the window decides when to save and how to ask.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from doseprep.jsonread import load_json
from doseprep.paths import data_dir, private_dir

log = logging.getLogger(__name__)

FORMAT = "doseprep-draft"
FORMAT_VERSION = 1
DEFAULT_NAME = "form"


@dataclass(frozen=True)
class Draft:
    """A saved form: each field's raw text by field key, and when it was saved (aware)."""

    fields: Mapping[str, str]
    saved_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """True when no field holds anything but spaces."""
        return not any(value.strip() for value in self.fields.values())


def drafts_dir() -> Path:
    """The folder drafts live in (inside the user's data directory)."""
    return data_dir() / "drafts"


def draft_path(name: str = DEFAULT_NAME) -> Path:
    """The file of the draft called ``name``."""
    return drafts_dir() / f"{name}.json"


def save(fields: Mapping[str, str], *, name: str = DEFAULT_NAME, now: datetime | None = None,
         extra: Mapping[str, Any] | None = None) -> Path:
    """Write the draft atomically and return its path.

    ``fields`` maps field keys to raw text; values that are not text are refused (a draft keeps
    what was typed, not what it was parsed into). ``now`` defaults to the current time.
    """
    for key, value in fields.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"draft fields must map text to text (got {key!r}: {value!r})")
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("the draft time must carry a time zone")
    body = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "saved_at": moment.isoformat(),
        "fields": dict(fields),
        "extra": dict(extra or {}),
    }
    path = draft_path(name)
    private_dir(path.parent)  # drafts hold patient data: 0700, and mkstemp makes the file 0600
    handle, temporary = tempfile.mkstemp(prefix=f".{name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(body, out, ensure_ascii=False, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def load(name: str = DEFAULT_NAME) -> Draft | None:
    """The saved draft, or None when there is none (or it could not be read).

    An unreadable draft is renamed to ``<name>.unreadable-<time>.json`` beside it, so whatever it
    holds can still be recovered by hand, and a warning is logged.
    """
    path = draft_path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("draft %s cannot be read: %s", path, exc)
        return None
    try:
        return _parse(text)
    except (ValueError, TypeError, KeyError) as exc:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = path.with_name(f"{name}.unreadable-{stamp}.json")
        log.warning("draft %s is not a doseprep draft (%s); moved to %s", path, exc, aside)
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        return None


def clear(name: str = DEFAULT_NAME) -> None:
    """Delete the draft (the user deliberately cleared the form or started a new one)."""
    with contextlib.suppress(FileNotFoundError):
        draft_path(name).unlink()


def _parse(text: str) -> Draft:
    data = load_json(text, field="draft", source="The draft", exact=False)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a doseprep draft")
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"draft format version {data.get('version')!r} is not supported")
    fields = data["fields"]
    if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
        raise ValueError("draft fields are not text")
    saved_at = datetime.fromisoformat(data["saved_at"])
    if saved_at.tzinfo is None:
        raise ValueError("draft time has no time zone")
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise ValueError("draft extra is not an object")
    return Draft(fields=fields, saved_at=saved_at, extra=extra)
