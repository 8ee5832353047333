"""Dates and times as the window writes them, for every room (no domain import: the records
strip and cover use them before the first paint, issue 13)."""

from __future__ import annotations

from datetime import date, datetime


def describe_moment(moment: datetime) -> str:
    """A date and time nobody can misread: ``Sun 22 Nov 2026, 08:30 (UTC−08:00)``."""
    offset = moment.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}".replace("-", "−") if offset else "no time zone"
    return f"{moment.strftime('%a %d %b %Y, %H:%M')} ({zone})"


def describe_date(day: date) -> str:
    """A date with the month in letters: ``29 Feb 1980``."""
    return day.strftime("%d %b %Y")
