"""The instants module (doseprep/units/instants.py): typed times to instants, the gap and the
fold refused by name, arithmetic on real time, and the one printed format.

Issue 21: ``moment.replace(tzinfo=ZoneInfo(...))`` and then ``+``/``-`` on datetimes sharing that
ZoneInfo is wall-clock arithmetic in Python: 73 real hours looked like 72.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from doseprep.errors import InputError
from doseprep.units.instants import (
    at_site,
    elapsed,
    later,
    read_instant,
    show,
    show_with_utc,
    site_now,
    start_of_day,
    utc,
    wall_clock,
)

LA = "America/Los_Angeles"


def test_a_time_without_offset_is_the_site_wall_clock_held_with_a_fixed_offset() -> None:
    moment, assumed = read_instant("2026-10-30T10:00:00", "product.collected_at", "time", LA)
    assert assumed
    assert moment.isoformat() == "2026-10-30T10:00:00-07:00"
    assert isinstance(moment.tzinfo, timezone)  # never a ZoneInfo: arithmetic stays real time
    typed, assumed = read_instant("2026-10-30T10:00:00-05:00", "f", "time", LA)
    assert not assumed and typed.isoformat() == "2026-10-30T10:00:00-05:00"


def test_ages_across_the_autumn_change_are_real_hours() -> None:
    collected, _ = read_instant("2026-10-30T10:00:00", "c", "t", LA)
    prepared, _ = read_instant("2026-11-02T10:00:00", "p", "t", LA)
    assert elapsed(collected, prepared) == timedelta(hours=73)
    # What Python does with a shared ZoneInfo (the old code): 72 wall-clock hours.
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(LA)
    wall = datetime(2026, 11, 2, 10, tzinfo=zone) - datetime(2026, 10, 30, 10, tzinfo=zone)
    assert wall == timedelta(hours=72)


def test_later_is_real_time_and_at_site_gives_the_site_offset() -> None:
    prepared, _ = read_instant("2026-10-31T23:30:00", "p", "t", LA)
    expires = at_site(later(prepared, timedelta(hours=4)), LA)
    assert expires.isoformat() == "2026-11-01T02:30:00-08:00"
    assert utc(expires) - utc(prepared) == timedelta(hours=4)


@pytest.mark.parametrize(("zone", "text", "first", "second"), [
    (LA, "2026-11-01T01:30:00", "-07:00", "-08:00"),
    ("Europe/Berlin", "2026-10-25T02:30:00", "+02:00", "+01:00"),
    ("Australia/Sydney", "2026-04-05T02:30:00", "+11:00", "+10:00"),
])
def test_a_time_in_the_fold_is_refused_asking_for_the_offset(zone: str, text: str, first: str,
                                                            second: str) -> None:
    with pytest.raises(InputError) as info:
        read_instant(text, "thawed_at", "thawing time", zone)
    assert info.value.field == "thawed_at"
    message = info.value.message
    assert "happens twice" in message and zone in message and "clocks go back" in message
    assert f"{first} for the first, {second} for the second" in message
    # Typed with either offset it is accepted, as that instant.
    for offset in (first, second):
        moment, assumed = read_instant(text + offset, "thawed_at", "t", zone)
        assert not assumed and moment.isoformat() == text + offset


def test_the_fold_message_reads_as_the_brief_asks() -> None:
    with pytest.raises(InputError) as info:
        read_instant("2026-11-01T01:30", "prepared_at", "time", LA)
    assert info.value.message == (
        "2026-11-01T01:30:00 happens twice on 1 Nov 2026 in America/Los_Angeles (the clocks go "
        "back from 02:00 to 01:00); add the offset: -07:00 for the first, -08:00 for the second "
        "(e.g. 2026-11-01T01:30:00-07:00).")


@pytest.mark.parametrize(("zone", "text"), [
    (LA, "2026-03-08T02:30:00"), (LA, "2026-03-08T02:00:00"),
    ("Europe/Berlin", "2026-03-29T02:59:00"), ("Australia/Sydney", "2026-10-04T02:15:00"),
])
def test_a_time_in_the_gap_is_refused(zone: str, text: str) -> None:
    with pytest.raises(InputError) as info:
        read_instant(text, "product.collected_at", "collection time", zone)
    assert info.value.field == "product.collected_at"
    assert "does not exist" in info.value.message
    assert "clocks go forward from 02:00 to 03:00" in info.value.message


def test_the_minutes_either_side_of_a_change_are_accepted() -> None:
    for text, iso in (("2026-03-08T01:59", "2026-03-08T01:59:00-08:00"),
                      ("2026-03-08T03:00", "2026-03-08T03:00:00-07:00"),
                      ("2026-11-01T00:59", "2026-11-01T00:59:00-07:00"),
                      ("2026-11-01T02:00", "2026-11-01T02:00:00-08:00")):
        assert wall_clock(datetime.fromisoformat(text), LA, "f").isoformat() == iso


def test_a_zone_with_a_half_hour_change_is_named_with_its_offsets() -> None:
    with pytest.raises(InputError) as info:
        read_instant("2026-04-05T01:45", "f", "t", "Australia/Lord_Howe")
    assert "from 02:00 to 01:30" in info.value.message
    assert "+11:00 for the first, +10:30 for the second" in info.value.message


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-13-01T10:00", "1999-11-23T10:00:00",
                                  "9999-12-31T23:59:59", "0001-01-01T00:00:00-08:00",
                                  "2026-11-23T10:00:00 PST", "x" * 300])
def test_malformed_times_name_the_field(text: str) -> None:
    with pytest.raises(InputError) as info:
        read_instant(text, "prepared_at", "preparation time", LA, (2000, 2999))
    assert info.value.field == "prepared_at"


def test_without_a_site_zone_every_time_needs_its_offset() -> None:
    with pytest.raises(InputError, match="no time zone"):
        read_instant("2026-11-23T10:00", "prepared_at", "t", None)


def test_show_prints_the_site_zone_with_its_abbreviation() -> None:
    first, _ = read_instant("2026-11-01T01:30:00-07:00", "f", "t", LA)
    second, _ = read_instant("2026-11-01T01:30:00-08:00", "f", "t", LA)
    assert show(first, LA) == "01 NOV 2026 01:30 PDT"
    assert show(second, LA) == "01 NOV 2026 01:30 PST"
    # Typed in another offset, it is shown as the site's clocks show it.
    moment = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert show(moment, LA) == "23 NOV 2026 10:00 PST"
    assert show(moment, "Europe/Berlin") == "23 NOV 2026 19:00 CET"
    assert show(moment, "Australia/Sydney") == "24 NOV 2026 05:00 AEDT"
    assert show(moment, "Asia/Dubai") == "23 NOV 2026 22:00 UTC+04:00"  # no letter abbreviation
    assert show_with_utc(moment, LA) == "23 NOV 2026 10:00 PST (18:00 UTC)"
    assert show_with_utc(moment, "Australia/Sydney") == \
        "24 NOV 2026 05:00 AEDT (23 NOV 2026 18:00 UTC)"


def test_site_now_and_start_of_day() -> None:
    now = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # 01:30 PST, the second one
    assert site_now(LA, now).isoformat() == "2026-11-01T01:30:00-08:00"
    assert start_of_day(date(2026, 11, 1), LA).isoformat() == "2026-11-01T00:00:00-07:00"
    # Santiago skipped midnight on 2026-09-06 (clocks 00:00 -> 01:00): the day starts at 01:00.
    assert start_of_day(date(2026, 9, 6), "America/Santiago").isoformat() == \
        "2026-09-06T01:00:00-03:00"


def test_arithmetic_on_a_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        later(datetime(2026, 11, 1, 1, 30), timedelta(hours=1))
