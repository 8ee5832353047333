"""Words the records room shows: stored UTC times in local time, durations, lists of names."""

from __future__ import annotations

from doseprep_ui.widgets.moments import describe_moment


def local_time(utc_text: str) -> str:
    """A stored UTC time as this workstation's local time in words."""
    from doseprep.store.canonical import parse_utc_text

    return describe_moment(parse_utc_text(utc_text).astimezone())


def short_local_time(utc_text: str) -> str:
    """A stored UTC time as local ``2026-11-23 10:03``, for the history table."""
    from doseprep.store.canonical import parse_utc_text

    return parse_utc_text(utc_text).astimezone().strftime("%Y-%m-%d %H:%M")


def lock_timeout_ms_default() -> int:
    """Until a session begins the timer is idle; this is only its initial interval."""
    return 600_000


def duration(ms: int) -> str:
    """The lock time in words: ``10 minutes``, ``1 minute``, ``30 seconds``."""
    if ms >= 60_000:
        minutes = round(ms / 60_000, 1)
        return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
    seconds = round(ms / 1000, 1)
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
