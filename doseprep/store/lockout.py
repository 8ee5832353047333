"""Wrong passwords: how they are counted, when they lock an account and for how long (issue 25).

Five wrong passwords in a row lock an account for 15 minutes from the last one; every further
wrong password — also while locked — extends the lock and doubles it, up to a day, so guessing
never gets faster by waiting it out. Never for good: the last enabled administrator, typing at the
workstation's own terminal (the window, or a terminal prompt rather than a script), is locked at
most 15 minutes after the lock began or after their own last wrong password there, however many
wrong passwords others send meanwhile.

The counters live in the ``users`` row (:data:`COUNTER_FIELDS`) and in every audit row that changes
them, so ``audit verify`` holds the row against the trail. A wrong password may only count up and
lock, at the time of its audit row; only a signature may count down or unlock (the account's own
key at a right password, or an administrator's). A time in the future is never honoured: an
account locked "until 2999" by someone writing to the database is not locked, and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from doseprep.store.canonical import parse_utc_text

MAX_FAILED_ATTEMPTS = 5
#: How long five wrong passwords lock an account; each further wrong password doubles it.
LOCK_PERIOD = timedelta(minutes=15)
MAX_LOCK_PERIOD = timedelta(hours=24)
#: The longest the last administrator waits at the workstation's own terminal.
TERMINAL_LOCK_PERIOD = timedelta(minutes=15)
#: Clocks of workstations differ a little; a time further ahead than this is not believed.
CLOCK_SKEW = timedelta(minutes=5)
TIME_FIELDS = ("locked_at", "last_failed_at", "terminal_failed_at")
COUNTER_FIELDS = ("failed_attempts", "locked", *TIME_FIELDS)


def counters(row: Any) -> dict[str, Any]:
    """The lock counters of a ``users`` row, as audited."""
    values = row._mapping if hasattr(row, "_mapping") else row
    return {"failed_attempts": int(values["failed_attempts"]), "locked": bool(values["locked"]),
            **{name: values[name] for name in TIME_FIELDS}}


def cleared() -> dict[str, Any]:
    """The counters of an account with no wrong password pending."""
    return {"failed_attempts": 0, "locked": False, **dict.fromkeys(TIME_FIELDS)}


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_utc_text(text)
    except (TypeError, ValueError):
        return None


def from_the_future(values: Mapping[str, Any], now: datetime) -> bool:
    """True when a lock time is later than ``now`` (beyond clock skew) or unreadable."""
    for name in TIME_FIELDS:
        if values.get(name) is not None:
            moment = _time(values[name])
            if moment is None or moment > now + CLOCK_SKEW:
                return True
    return False


def locked_until(row: Any, now: datetime, *, last_admin_at_terminal: bool = False
                 ) -> datetime | None:
    """When the lock of an account ends (None when it is not locked, or its times cannot be
    believed: see the module docstring)."""
    values = counters(row)
    if not values["locked"] or from_the_future(values, now):
        return None
    last = _time(values["last_failed_at"]) or _time(values["locked_at"])
    if last is None:
        return None
    extra = max(0, min(values["failed_attempts"] - MAX_FAILED_ATTEMPTS, 16))
    until = last + min(LOCK_PERIOD * (2 ** extra), MAX_LOCK_PERIOD)
    if last_admin_at_terminal:
        began = [t for t in (_time(values["locked_at"]), _time(values["terminal_failed_at"]))
                 if t is not None]
        if began:
            until = min(until, max(began) + TERMINAL_LOCK_PERIOD)
    return until


def after_wrong_password(values: Mapping[str, Any], at: str, *, at_terminal: bool
                         ) -> dict[str, Any]:
    """The counters after one more wrong password at ``at`` (UTC text)."""
    out = dict(values)
    out["failed_attempts"] = int(values["failed_attempts"]) + 1
    out["last_failed_at"] = at
    if at_terminal:
        out["terminal_failed_at"] = at
    if out["failed_attempts"] >= MAX_FAILED_ATTEMPTS and not values["locked"]:
        out["locked"], out["locked_at"] = True, at
    return out


def unsigned_change_problem(before: Mapping[str, Any], after: Mapping[str, Any],
                            at: str) -> str | None:
    """Why ``after`` cannot follow ``before`` through a wrong password audited at ``at`` (the only
    change no one signs), or None."""
    if int(after["failed_attempts"]) not in (int(before["failed_attempts"]),
                                             int(before["failed_attempts"]) + 1):
        return "its failure count was changed other than by one wrong password"
    for name in ("last_failed_at", "terminal_failed_at"):
        if after[name] not in (before[name], at):
            return f"its {name} is not the time of a wrong password"
    if before["locked"]:
        if not after["locked"] or after["locked_at"] != before["locked_at"]:
            return "it was unlocked without a signature"
    elif after["locked"]:
        if int(after["failed_attempts"]) < MAX_FAILED_ATTEMPTS or after["locked_at"] != at:
            return "it was locked without the wrong passwords that lock it"
    elif after["locked_at"] != before["locked_at"]:
        return "its lock time was changed"
    return None
