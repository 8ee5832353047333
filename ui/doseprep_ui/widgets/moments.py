"""Dates and times as the window writes them, for every room (no domain import: the records
strip and cover use them before the first paint, issue 13)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def describe_moment(moment: datetime) -> str:
    """A date and time nobody can misread: ``Sun 22 Nov 2026, 08:30 (UTC−08:00)``."""
    offset = moment.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}".replace("-", "−") if offset else "no time zone"
    return f"{moment.strftime('%a %d %b %Y, %H:%M')} ({zone})"


def describe_date(day: date) -> str:
    """A date with the month in letters: ``29 Feb 1980``."""
    return day.strftime("%d %b %Y")


def wall_clock_text(moment: datetime, zone: str | None) -> str:
    """An instant as typed on the site's wall clock, ``2026-11-23 10:00`` (``zone``: the site's
    IANA zone; None: this computer's). In the hour a clock change repeats, the offset is added
    (``2026-11-01 01:30-07:00``): the wall time alone would name two instants."""
    local = moment.astimezone(ZoneInfo(zone)) if zone else moment.astimezone()
    text = f"{local:%Y-%m-%d %H:%M}"
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        text += local.isoformat(timespec="minutes")[16:]
    return text
