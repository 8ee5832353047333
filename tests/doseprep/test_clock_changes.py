"""``doseprep plan``, ``freeze`` and ``thaw`` on the days the clocks change, every 15 minutes,
against an independent computation: the C library's time-zone code (``TZ`` + ``tzset``,
``mktime`` and ``localtime``) and epoch arithmetic, never Python's zoneinfo.

Issue 21 (DESIGN.md Revision 3, "Time"): ages, expiries and infuse-by times were computed on the
wall clock. Here, for America/Los_Angeles, Europe/Berlin and Australia/Sydney and both of their
2026 transition days (with the evening before, so that a 4 h expiry runs across the change):

- a time typed without offset that the site's clocks show once gives the contract's answers:
  PRODUCT_EXPIRED exactly when more than 72 real hours passed, the infusion expiry, the frozen
  expiry and the infuse-by as instants (their ISO 8601 text with the site's offset then, and the
  step text in the site zone with its abbreviation, both as the C library says);
- a time in the gap or the fold is an input error (exit 2) naming the field;
- the same time typed with an offset the site had is accepted without UTC_OFFSET_MISMATCH, and
  with an offset the site did not have at that instant gives UTC_OFFSET_MISMATCH on that field.

The commands run in-process (``doseprep.cli.main``) with their argument parser built once, so
that its 4 200 runs take about 30 s of CPU; the named regressions of the issue run as real processes
(tests/doseprep/test_issue21_times.py).
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

import doseprep.cli as cli
from doseprep.resources import resource_path

#: About 4 200 command runs (some 30 s of CPU).
pytestmark = pytest.mark.slow

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
#: The 2026 transition days (spring forward, fall back) — checked against the C library below.
ZONES = {
    "America/Los_Angeles": (date(2026, 3, 8), date(2026, 11, 1)),
    "Europe/Berlin": (date(2026, 3, 29), date(2026, 10, 25)),
    "Australia/Sydney": (date(2026, 10, 4), date(2026, 4, 5)),
}
DAYS = [pytest.param(zone, day, id=f"{zone.split('/')[1]}-{day}")
        for zone, days in ZONES.items() for day in days]
#: The bundled protocol's and lab's figures the expectations use.
MAX_AGE = 72 * 3600
INFUSION_EXPIRY = 4 * 3600
SHELF_LIFE = 1825 * 86400
THAWED_EXPIRY = 60 * 60


# --- the independent computation: the C library's tz code -----------------------------------

@contextlib.contextmanager
def c_zone(zone: str) -> Iterator[None]:
    """The process's C-library zone set to ``zone`` (restored after)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def _wall(t: time.struct_time) -> tuple[int, ...]:
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min)


def c_epochs(wall: datetime) -> list[int]:
    """Every instant (epoch seconds) the zone's clocks show as ``wall``: one, none (the gap) or
    two (the fold). Candidates are ``wall`` less each UTC offset the zone has within a day of
    it (from ``localtime``), kept when ``localtime`` shows ``wall`` again."""
    as_utc = calendar.timegm(wall.timetuple())
    offsets = {time.localtime(as_utc + hours * 3600).tm_gmtoff for hours in range(-26, 27)}
    found = {as_utc - offset for offset in offsets
             if _wall(time.localtime(as_utc - offset)) == _wall(wall.timetuple())}
    return sorted(found)


def c_mktime(wall: datetime) -> int:
    """``mktime`` with tm_isdst = -1 (the library decides), for a time the clocks show once."""
    return int(time.mktime((wall.year, wall.month, wall.day, wall.hour, wall.minute, 0, 0, 0,
                            -1)))


def c_offset(epoch: int) -> int:
    return time.localtime(epoch).tm_gmtoff


def iso_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}"


def c_iso(epoch: int) -> str:
    """The instant as ISO 8601 with the zone's offset at that instant."""
    t = time.localtime(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + iso_offset(t.tm_gmtoff)


def c_show(epoch: int) -> str:
    """The instant as documents print it, from the C library: ``01 NOV 2026 02:30 PST``."""
    t = time.localtime(epoch)
    return (f"{t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year} {t.tm_hour:02d}:"
            f"{t.tm_min:02d} {t.tm_zone}")


def typed(wall: datetime, offset: int | None = None) -> str:
    text = wall.strftime("%Y-%m-%dT%H:%M:%S")
    return text if offset is None else text + iso_offset(offset)


def quarter_hours(day: date) -> list[datetime]:
    """Every 15 minutes of ``day``, from 20:00 the evening before (a 4 h expiry from then runs
    across the change)."""
    start = datetime.combine(day, datetime.min.time()) - timedelta(hours=4)
    return [start + timedelta(minutes=15 * n) for n in range(28 * 4)]


# --- the command, in-process ----------------------------------------------------------------

@dataclass
class Run:
    status: int
    out: dict


@pytest.fixture
def doseprep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``doseprep COMMAND request.json --json --lab LAB`` in-process, for a lab in ``zone``."""
    monkeypatch.setattr(cli, "build_parser", functools.cache(cli.build_parser))
    lab_text = resource_path("lab.toml").read_text(encoding="utf-8")
    assert 'time_zone = "America/Los_Angeles"' in lab_text

    def run(command: str, zone: str, request: dict) -> Run:
        lab = tmp_path / f"lab-{zone.replace('/', '-')}.toml"
        if not lab.exists():
            lab.write_text(lab_text.replace('time_zone = "America/Los_Angeles"',
                                            f'time_zone = "{zone}"'), encoding="utf-8")
        path = tmp_path / "request.json"
        path.write_text(json.dumps(request), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main([command, str(path), "--json", "--lab", str(lab)])
        assert "Traceback" not in err.getvalue()
        return Run(status, json.loads(out.getvalue()))

    return run


def fresh(collected: str, prepared: str) -> dict:
    request = json.loads(resource_path("examples", "request-dl3.json").read_text("utf-8"))
    request["product"]["collected_at"] = collected
    request["prepared_at"] = prepared
    return request


def freeze(collected: str, frozen: str) -> dict:
    request = json.loads(resource_path("examples", "freeze-dl3-dl4.json").read_text("utf-8"))
    request["product"]["collected_at"] = collected
    request["frozen_at"] = frozen
    return request


def thaw(thawed: str, frozen_expires: str) -> dict:
    request = json.loads(resource_path("examples", "thaw-b0.json").read_text("utf-8"))
    request.pop("post_thaw", None)  # the count is not what is tested here
    request["aliquot"]["frozen_expires_at"] = frozen_expires
    request["thawed_at"] = thawed
    return request


def codes(run: Run) -> set[str]:
    return {f["code"] for f in run.out["findings"]}


def mismatched(run: Run) -> set[str]:
    """The fields named by UTC_OFFSET_MISMATCH findings (each message starts with its field)."""
    return {f["message"].split(":")[0] for f in run.out["findings"]
            if f["code"] == "UTC_OFFSET_MISMATCH"}


def step(run: Run, name: str) -> dict:
    return next(s for s in run.out["steps"] if s["name"] == name)


def refused(run: Run, field: str, epochs: list[int]) -> None:
    """A gap (no instant) or fold (two) time: exit 2 naming the field, asking for the offset."""
    assert run.status == 2, run.out
    error = run.out["error"]
    assert error["field"] == field, error
    assert ("happens twice" if len(epochs) == 2 else "does not exist") in error["message"]
    assert "offset" in error["message"]


def variants(wall: datetime, epochs: list[int]) -> list[tuple[str, int, bool]]:
    """``wall`` typed with an offset: (text, its instant, whether the site had that offset
    then). A fold: both offsets the site had. A gap: the offsets before and after (neither is
    the site's at the instant they give). A time the clocks show once, on the hour: the right
    offset and one an hour off (a stale offset after the change)."""
    as_utc = calendar.timegm(wall.timetuple())
    if len(epochs) == 2:
        return [(typed(wall, as_utc - e), e, True) for e in epochs]
    if not epochs:
        offsets = {c_offset(as_utc - 86400), c_offset(as_utc + 86400)}
        return [(typed(wall, o), as_utc - o, c_offset(as_utc - o) == o) for o in offsets]
    if wall.minute:
        return []
    right = as_utc - epochs[0]
    return [(typed(wall, right), epochs[0], True),
            (typed(wall, right + 3600), epochs[0] - 3600, False)]


# --- the checks ------------------------------------------------------------------------------

@pytest.mark.parametrize(("zone", "day"), DAYS)
def test_the_c_library_agrees_these_are_the_transition_days(zone: str, day: date) -> None:
    with c_zone(zone):
        start = c_mktime(datetime.combine(day, datetime.min.time()))
        end = c_mktime(datetime.combine(day + timedelta(days=1), datetime.min.time()))
    assert (end - start) // 3600 in (23, 25)


@pytest.mark.parametrize(("zone", "day"), DAYS)
def test_fresh_plan_on_a_clock_change_day(doseprep, zone: str, day: date) -> None:
    """Prepared at each quarter hour, collected one and three calendar days before at the same
    wall time. Three days: 71, 72 or 73 real hours — PRODUCT_EXPIRED exactly when more than 72,
    and the expiry is the collection's. One day: the expiry is the preparation's + 4 real
    hours, across the change for the evening before and the small hours."""
    checked = {"once": 0, "gap or fold": 0, "offset typed": 0, "4 h binding": 0}
    for wall, days in ((w, d) for w in quarter_hours(day) for d in (1, 3)):
        collected_wall = wall - timedelta(days=days)
        with c_zone(zone):
            epochs = c_epochs(wall)
            (collected,) = c_epochs(collected_wall)
            assert c_mktime(collected_wall) == collected
            if len(epochs) == 1:
                assert c_mktime(wall) == epochs[0]
            cases = [(typed(wall), epochs[0], True)] if len(epochs) == 1 else []
            cases += variants(wall, epochs)
            expected = {text: (epoch, site_offset,
                               c_iso(min(epoch + INFUSION_EXPIRY, collected + MAX_AGE)),
                               c_show(min(epoch + INFUSION_EXPIRY, collected + MAX_AGE)))
                        for text, epoch, site_offset in cases}
        if len(epochs) != 1:
            refused(doseprep("plan", zone, fresh(typed(collected_wall), typed(wall))),
                    "prepared_at", epochs)
            checked["gap or fold"] += 1
        for text, (epoch, site_offset, expires_iso, expires_shown) in expected.items():
            run = doseprep("plan", zone, fresh(typed(collected_wall), text))
            assert run.status == 0, (text, run.out)
            assert run.out["expires_at"] == expires_iso, text
            assert step(run, "Infusion expiry")["result"] == expires_shown, text
            assert ("PRODUCT_EXPIRED" in codes(run)) == (epoch - collected > MAX_AGE), text
            assert mismatched(run) == (set() if site_offset else {"prepared_at"}), text
            checked["offset typed" if text != typed(wall) else "once"] += 1
            checked["4 h binding"] += epoch + INFUSION_EXPIRY < collected + MAX_AGE
    assert checked["once"] >= 200 and checked["gap or fold"] == 8, checked
    assert checked["offset typed"] >= 2 * (24 + 8) and checked["4 h binding"] >= 100, checked


@pytest.mark.parametrize(("zone", "day"), DAYS)
def test_freeze_plan_on_a_clock_change_day(doseprep, zone: str, day: date) -> None:
    """Frozen at each quarter hour, collected three calendar days before: the age at freezing
    in real hours, and the frozen expiry 1825 × 24 real hours after freezing."""
    for wall in quarter_hours(day):
        collected_wall = wall - timedelta(days=3)
        with c_zone(zone):
            epochs = c_epochs(wall)
            (collected,) = c_epochs(collected_wall)
            cases = [(typed(wall), epochs[0], True)] if len(epochs) == 1 else []
            cases += variants(wall, epochs)
            expected = {text: (epoch, ok, c_iso(epoch + SHELF_LIFE), c_show(epoch + SHELF_LIFE))
                        for text, epoch, ok in cases}
        if len(epochs) != 1:
            refused(doseprep("freeze", zone, freeze(typed(collected_wall), typed(wall))),
                    "frozen_at", epochs)
        for text, (epoch, site_offset, expires_iso, expires_shown) in expected.items():
            run = doseprep("freeze", zone, freeze(typed(collected_wall), text))
            assert run.status == 0, (text, run.out)
            assert run.out["frozen_expires_at"] == expires_iso, text
            assert step(run, "Frozen expiry")["result"] == expires_shown, text
            assert ("PRODUCT_EXPIRED" in codes(run)) == (epoch - collected > MAX_AGE), text
            assert mismatched(run) == (set() if site_offset else {"frozen_at"}), text


@pytest.mark.parametrize(("zone", "day"), DAYS)
def test_thaw_plan_on_a_clock_change_day(doseprep, zone: str, day: date) -> None:
    """Thawed at each quarter hour: infuse by 60 real minutes later; the bag's frozen expiry
    15 minutes before or after the thaw (typed with the site's offset then) decides
    PRODUCT_EXPIRED."""
    for number, wall in enumerate(quarter_hours(day)):
        with c_zone(zone):
            epochs = c_epochs(wall)
            cases = [(typed(wall), epochs[0], True)] if len(epochs) == 1 else []
            cases += variants(wall, epochs)
            expires = (epochs or [calendar.timegm(wall.timetuple())])[0] \
                + (900 if number % 2 else -900)
            expected = {text: (epoch, ok, c_iso(epoch + THAWED_EXPIRY),
                               c_show(epoch + THAWED_EXPIRY))
                        for text, epoch, ok in cases}
            expires_text = c_iso(expires)
        if len(epochs) != 1:
            refused(doseprep("thaw", zone, thaw(typed(wall), expires_text)), "thawed_at", epochs)
        for text, (epoch, site_offset, infuse_iso, infuse_shown) in expected.items():
            run = doseprep("thaw", zone, thaw(text, expires_text))
            assert run.status == 0, (text, run.out)
            assert run.out["infuse_by"] == infuse_iso, text
            assert step(run, "Infuse by")["result"] == infuse_shown, text
            assert ("PRODUCT_EXPIRED" in codes(run)) == (epoch > expires), text
            assert mismatched(run) == (set() if site_offset else {"thawed_at"}), text


@pytest.mark.parametrize(("zone", "day"), DAYS)
def test_every_typed_time_of_the_cycle_2_requests_is_checked(doseprep, zone: str,
                                                             day: date) -> None:
    """The other times of the freeze and thaw requests are read the same way: a collection
    time or a frozen expiry in the gap or the fold is refused by name, and a stale offset on
    them is UTC_OFFSET_MISMATCH naming them."""
    with c_zone(zone):
        odd = next(w for w in quarter_hours(day) if len(c_epochs(w)) != 1)
        epochs = c_epochs(odd)
        after = odd + timedelta(hours=6)
        (after_epoch,) = c_epochs(after)
        wrong = typed(after, c_offset(after_epoch) + 3600)  # an hour off the site's offset
        frozen = odd + timedelta(days=3)
    refused(doseprep("freeze", zone, freeze(typed(odd), typed(frozen))), "product.collected_at",
            epochs)
    refused(doseprep("thaw", zone, thaw(typed(after), typed(odd))), "aliquot.frozen_expires_at",
            epochs)
    run = doseprep("freeze", zone, freeze(wrong, typed(frozen)))
    assert run.status == 0 and mismatched(run) == {"product.collected_at"}, run.out
    run = doseprep("thaw", zone, thaw(typed(after), wrong))
    assert run.status == 0 and mismatched(run) == {"aliquot.frozen_expires_at"}, run.out
