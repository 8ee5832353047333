"""Canonical JSON, SHA-256 and the timestamps that go into hashed and signed content.

Everything the store hashes (a record as signed, a signature, an audit row) is first turned into
canonical JSON: keys sorted, no whitespace, UTF-8, no NaN. Timestamps are stored as fixed-width
UTC text (``2026-11-23T18:00:00.000000Z``) so that SQLite and PostgreSQL give back exactly the bytes
that were hashed, and so that text order is time order. :func:`local_zone` names the workstation's
time zone (IANA name where it can be found) for the manifestation of a signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doseprep.jsonread import load_stored

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False)
_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a JSON-shaped value."""
    return _ENCODER.encode(value)


def sha256_hex(text: str) -> str:
    """SHA-256 of ``text`` encoded as UTF-8, as 64 hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``."""
    return sha256_hex(canonical_json(value))


def is_canonical(text: str) -> bool:
    """True when ``text`` is JSON written exactly as :func:`canonical_json` writes it."""
    try:
        return canonical_json(load_stored(text)) == text
    except (ValueError, TypeError):
        return False


def utc_text(moment: datetime) -> str:
    """A moment as fixed-width UTC text, the form stored and hashed."""
    return moment.astimezone(UTC).strftime(_UTC_FORMAT)


def parse_utc_text(text: str) -> datetime:
    """The aware UTC datetime of a stored timestamp."""
    return datetime.strptime(text, _UTC_FORMAT).replace(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def offset_text(offset: timedelta | None) -> str:
    """A UTC offset as ``+02:00`` / ``-08:00``."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def local_zone() -> tuple[tzinfo, str]:
    """This workstation's time zone and its name: the IANA name where it can be found.

    Looks at ``TZ``, then the ``/etc/localtime`` link, then ``/etc/timezone``; falls back to the
    current fixed UTC offset (named ``UTC+hh:mm``) where none of these names a zone.
    """
    candidates: list[str] = []
    if os.environ.get("TZ"):
        candidates.append(os.environ["TZ"].lstrip(":"))
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if not name:
            continue
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            continue
    offset = datetime.now().astimezone().utcoffset() or timedelta()
    return timezone(offset), f"UTC{offset_text(offset)}"


def zone_from_name(name: str, offset: str) -> tzinfo:
    """The zone a signature was made in: its IANA zone, else its recorded fixed offset."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = offset[1:].split(":")
        return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
