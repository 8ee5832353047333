"""Instants: the one place where a typed time becomes a moment on the real time line, and where
a moment becomes the text a document prints.

A time typed without a UTC offset is the site's wall-clock time (the lab file's ``time_zone``,
an IANA zone). A wall-clock time the site's clocks never showed (the spring gap) or showed twice
(the autumn fold) is an input error naming the field and asking for the offset: guessing either
way moves an expiry by an hour. Every instant is then held with a *fixed* UTC offset (the one
typed, or the site's at that instant), never with a ``ZoneInfo``: Python adds and subtracts
datetimes that share a ``ZoneInfo`` on the wall clock, which made 73 real hours look like 72
(issue 21). Ages, expiries and infuse-by times are computed here on UTC (:func:`later`,
:func:`elapsed`) and handed back as the site's clocks show them (:func:`at_site`), so their ISO
8601 text keeps the site's offset.

Documents print every time one way, in the site zone with its abbreviation
(:func:`show`: ``23 NOV 2026 10:00 PST``); UTC is added only for signatures and audit details
(:func:`show_with_utc`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doseprep.errors import InputError

#: How a date and time is written when it is asked for.
EXAMPLE = "2026-11-23T10:00:00-08:00"
#: Longest text accepted as a date and time (ISO 8601 with offset and microseconds is 32).
MAX_TIME_TEXT = 40
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

Zone = str | tzinfo


@lru_cache(maxsize=64)
def _zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def site_zone(zone: Zone) -> tzinfo:
    """The zone ``zone`` names (an IANA name such as ``America/Los_Angeles``), or ``zone``
    itself when it already is one. An unknown name is a :class:`ValueError` (the lab file's
    ``time_zone`` is checked when the file is loaded)."""
    if isinstance(zone, tzinfo):
        return zone
    try:
        return _zone_named(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{zone!r} is not an IANA time zone") from None


def zone_name(zone: Zone) -> str:
    """The name of ``zone`` as the lab file writes it."""
    return zone if isinstance(zone, str) else getattr(zone, "key", None) or str(zone)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A programming error, not a typing slip: every typed time is resolved by read_instant.
        raise ValueError(f"{moment.isoformat()} has no UTC offset; it is not an instant")
    return moment


def utc(moment: datetime) -> datetime:
    """The instant in UTC: safe for arithmetic whatever zone ``moment`` carries."""
    return _aware(moment).astimezone(UTC)


def fixed(moment: datetime) -> datetime:
    """The same instant and wall-clock time with its offset fixed (a ``ZoneInfo`` replaced by
    the offset it has at that instant), so that later arithmetic on it is real time."""
    offset = _aware(moment).utcoffset()
    assert offset is not None
    return moment.replace(tzinfo=timezone(offset), fold=0)


def at_site(moment: datetime, zone: Zone) -> datetime:
    """The instant as the site's clocks show it, held with the site's offset at that instant
    (``2026-11-01T01:30:00-08:00`` for the second 01:30 of a fold): its ISO 8601 text is what
    plan JSON carries."""
    return fixed(utc(moment).astimezone(site_zone(zone)))


def later(moment: datetime, span: timedelta) -> datetime:
    """``span`` of real time after ``moment`` (in UTC; :func:`at_site` shows it at the site)."""
    return utc(moment) + span


def elapsed(start: datetime, end: datetime) -> timedelta:
    """The real time from ``start`` to ``end`` (never the wall-clock difference)."""
    return utc(end) - utc(start)


def site_now(zone: Zone, now: datetime | None = None) -> datetime:
    """Now (or ``now``) as the site's clocks show it, with a fixed offset: what a form fills in
    and a screen compares expiries with."""
    return at_site(now if now is not None else datetime.now(UTC), zone)


def offset_text(moment: datetime) -> str:
    """The UTC offset of ``moment`` as printed: ``−08:00`` (a real minus sign), ``+05:30``."""
    offset = _aware(moment).utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    sign = "−" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _iso_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _abbreviation(local: datetime) -> str:
    name = local.tzname() or ""
    # Zones without a letter abbreviation call themselves "+04" or "-03": print the offset whole.
    if not name or name[0] in "+-" or (name.startswith("UTC") and len(name) > 3):
        return f"UTC{offset_text(local)}"
    return name


def show(moment: datetime, zone: Zone) -> str:
    """A moment as documents, plans and reports print it: in the site zone, with its
    abbreviation — ``23 NOV 2026 10:00 PST``. The abbreviation tells the two 01:30s of a fold
    apart (``PDT`` then ``PST``)."""
    local = utc(moment).astimezone(site_zone(zone))
    return (f"{local.day:02d} {_MONTHS[local.month - 1]} {local.year} "
            f"{local.hour:02d}:{local.minute:02d} {_abbreviation(local)}")


def show_with_utc(moment: datetime, zone: Zone) -> str:
    """:func:`show` with the instant in UTC after it, for signatures and audit details:
    ``23 NOV 2026 10:02 PST (18:02 UTC)``; the UTC date is added when it is another day."""
    local = utc(moment).astimezone(site_zone(zone))
    at = utc(moment)
    when = (f"{at.hour:02d}:{at.minute:02d} UTC" if at.date() == local.date() else
            f"{at.day:02d} {_MONTHS[at.month - 1]} {at.year} {at.hour:02d}:{at.minute:02d} UTC")
    return f"{show(moment, zone)} ({when})"


def _day_text(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1].title()} {day.year}"


def _change_near(naive: datetime, tz: tzinfo) -> tuple[datetime, timedelta, timedelta]:
    """The clock change nearest the wall-clock time ``naive``: its instant (naive UTC, to the
    minute), the offset before and the offset after."""
    lo = naive - timedelta(hours=26)
    hi = naive + timedelta(hours=26)

    def offset(at: datetime) -> timedelta:
        value = at.replace(tzinfo=UTC).astimezone(tz).utcoffset()
        assert value is not None
        return value

    old = offset(lo)
    while hi - lo > timedelta(minutes=1):
        mid = (lo + (hi - lo) / 2).replace(second=0, microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(minutes=1)
        if offset(mid) == old:
            lo = mid
        else:
            hi = mid
    return hi, old, offset(hi)


def wall_clock(local: datetime, zone: Zone, field: str) -> datetime:
    """The instant the site's clocks show as ``local`` (a time without offset), with the site's
    offset fixed. Refused (:class:`InputError` naming ``field``) when that clock time does not
    exist there (the spring gap) or exists twice (the autumn fold): the offset must be typed."""
    tz = site_zone(zone)
    naive = local.replace(tzinfo=None, fold=0)
    first = naive.replace(tzinfo=tz, fold=0)
    if first.utcoffset() == naive.replace(tzinfo=tz, fold=1).utcoffset():
        return fixed(first)
    change, old, new = _change_near(naive, tz)
    typed = naive.isoformat(timespec="seconds")
    where = f"on {_day_text(naive.date())} in {zone_name(zone)}"
    clocks = f"from {(change + old):%H:%M} to {(change + new):%H:%M}"
    if new > old:  # the gap: the clocks jump forward over it
        raise InputError(field, f"{typed} does not exist {where} (the clocks go forward "
                                f"{clocks}); check the time. If a clock really showed it, add "
                                f"that clock's offset: {_iso_offset(old)} before the change, "
                                f"{_iso_offset(new)} after.")
    raise InputError(field, f"{typed} happens twice {where} (the clocks go back {clocks}); add "
                            f"the offset: {_iso_offset(old)} for the first, {_iso_offset(new)} "
                            f"for the second (e.g. {typed}{_iso_offset(old)}).")


def read_instant(value: Any, field: str, what: str, zone: Zone | None,
                 years: tuple[int, int] = (2000, 2999)) -> tuple[datetime, bool]:
    """A typed date and time (ISO 8601) as an instant with a fixed offset, and whether the
    site's zone was assumed (no offset typed). Without ``zone`` every time needs its offset.
    Refused, naming ``field``: no text, not a date and time, a year outside ``years`` (a typing
    slip), and a time without offset in the site's gap or fold (:func:`wall_clock`)."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, f"Enter the {what} as date and time with its UTC offset, "
                                f"e.g. {EXAMPLE}.")
    text = value.strip()
    if len(text) > MAX_TIME_TEXT or not text.isascii():
        raise InputError(field, f"\"{value[:MAX_TIME_TEXT]}\" is not a date and time; write it "
                                f"like {EXAMPLE}.")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"\"{text}\" is not a date and time; write it like "
                                f"{EXAMPLE}.") from None
    # The year first: a year 1 or 9999 must not reach the offset arithmetic (it overflows).
    if not years[0] <= moment.year <= years[1]:
        raise InputError(field, f"The year {moment.year} is not plausible for the {what} "
                                f"({years[0]}–{years[1]}); check the date.")
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        return fixed(moment), False
    if zone is None:
        raise InputError(field, f"\"{text}\" has no time zone; add the UTC offset, e.g. "
                                f"{EXAMPLE}.")
    return wall_clock(moment, zone, field), True


def start_of_day(day: date, zone: Zone) -> datetime:
    """The first instant of ``day`` at the site (its midnight; where a clock change skips
    midnight, the moment the day begins)."""
    tz = site_zone(zone)
    midnight = datetime.combine(day, time())
    first = midnight.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None, fold=0) == midnight:
        return fixed(first)
    change, _, _ = _change_near(midnight, tz)
    return at_site(change.replace(tzinfo=UTC), zone)
