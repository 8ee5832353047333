"""``doseprep record list --since DATE`` reads the date in the lab's time zone, not the
computer's (DESIGN.md Revision 3, "Time": a time without offset is in the site zone).

A records server kept in UTC, or a laptop set to another zone, moved the start of "today" by
hours: records of the day were left out, or yesterday's let in. Here the computer is set to
UTC+14 (Pacific/Kiritimati) and the lab to UTC−11 (Pacific/Pago_Pago), a day and an hour apart.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from doseprep.resources import resource_path
from tests.doseprep.store.helpers import current, run_cli

SITE = "Pacific/Pago_Pago"
COMPUTER = {"TZ": "Pacific/Kiritimati"}


def listed(*args: str) -> list[str]:
    done = run_cli("record", "list", *args, "--json", user="tech", env=COMPUTER)
    assert done.returncode == 0, done.stderr
    return [row["ref"] for row in json.loads(done.stdout)]


def test_since_is_the_start_of_that_day_at_the_site(people, tmp_path: Path,
                                                    base_request: dict) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(current(base_request)), encoding="utf-8")
    saved = run_cli("record", "save", str(request), user="tech")
    assert saved.returncode == 0, saved.stderr
    lab = tmp_path / "lab.toml"
    lab.write_text(resource_path("lab.toml").read_text(encoding="utf-8").replace(
        'time_zone = "America/Los_Angeles"', f'time_zone = "{SITE}"'), encoding="utf-8")
    today = datetime.now(ZoneInfo(SITE)).date()
    assert len(listed("--since", today.isoformat(), "--lab", str(lab))) == 1
    # Tomorrow at the site has not begun; at UTC+14 it began 25 hours earlier.
    assert listed("--since", (today + timedelta(days=1)).isoformat(), "--lab", str(lab)) == []
    # A time without offset is the site's wall clock too.
    midnight = f"{today + timedelta(days=1)}T00:00"
    assert listed("--since", midnight, "--lab", str(lab)) == []


def test_a_since_time_in_the_fold_asks_for_the_offset(people) -> None:
    done = run_cli("record", "list", "--since", "2026-11-01T01:30", user="tech", env=COMPUTER)
    assert done.returncode == 2
    assert done.stderr.startswith("doseprep: since: 2026-11-01T01:30:00 happens twice")
    assert "Traceback" not in done.stderr


def test_a_since_year_out_of_range_is_named_not_a_crash(people) -> None:
    """Year 1 with a positive offset has no UTC time (it was exit 70); year 999 compared as
    text after every stored time ("999-…" > "2026-…") and silently listed nothing."""
    for text in ("0001-01-01T00:00:00+05:00", "0999-01-01"):
        done = run_cli("record", "list", "--since", text, user="tech")
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("doseprep: since: The year ")
        assert "Traceback" not in done.stderr
