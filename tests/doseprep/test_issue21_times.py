"""Issue 21's examples, as the lab typed them, through the real ``doseprep`` processes (site zone
America/Los_Angeles, the bundled lab file), and what a tired technician or an inspector would
see: each fails on the wall-clock arithmetic it replaces.

- Collected 2026-10-30T10:00, prepared 2026-11-02T10:00 (no offsets): 73 real hours, so
  PRODUCT_EXPIRED (it said OK).
- Prepared 2026-10-31T23:30: the infusion expires 4 real hours later, 02:30 PST (it said 03:30).
- A thaw at 01:30 on 7 Nov 2027 (no offset): that time happens twice, so it is refused asking for
  the offset; typed with either offset, infuse by 60 real minutes later (it said 2 hours).
- Freeze and thaw requests with a stale offset get UTC_OFFSET_MISMATCH (they got nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from doseprep.resources import resource_path


def example(name: str) -> dict:
    return json.loads(resource_path("examples", name).read_text(encoding="utf-8"))


def doseprep(tmp_path: Path, command: str, request: dict, *args: str
             ) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "doseprep", command, str(path), *args],
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr
    return done


def as_json(done: subprocess.CompletedProcess[str]) -> dict:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def codes(plan: dict) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in plan["findings"]}


def fresh(collected: str, prepared: str) -> dict:
    request = example("request-dl3.json")
    request["product"]["collected_at"] = collected
    request["prepared_at"] = prepared
    return request


def thaw(thawed: str) -> dict:
    request = example("thaw-b0.json")
    request.pop("post_thaw")
    request["thawed_at"] = thawed
    return request


def hours_between(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 3600


def test_collected_30_oct_prepared_2_nov_is_73_hours_and_expired(tmp_path: Path) -> None:
    plan = as_json(doseprep(tmp_path, "plan", fresh("2026-10-30T10:00:00",
                                                    "2026-11-02T10:00:00"), "--json"))
    assert plan["status"] == "blocked"
    assert codes(plan)["PRODUCT_EXPIRED"] == "block"
    message = next(f["message"] for f in plan["findings"] if f["code"] == "PRODUCT_EXPIRED")
    assert "collected 73 h before preparation" in message
    # The product itself expired 72 real hours after collection: 09:00 PST on 2 Nov.
    assert plan["expires_at"] == "2026-11-02T09:00:00-08:00"
    # The report a technician reads says so too.
    report = doseprep(tmp_path, "plan", fresh("2026-10-30T10:00:00", "2026-11-02T10:00:00"))
    assert report.stdout.startswith("STATUS: BLOCKED")
    assert "Expires 02 NOV 2026 09:00 PST" in report.stdout


def test_prepared_31_oct_2330_expires_4_real_hours_later(tmp_path: Path) -> None:
    plan = as_json(doseprep(tmp_path, "plan", fresh("2026-10-30T10:00:00",
                                                    "2026-10-31T23:30:00"), "--json"))
    assert plan["status"] == "ok"
    assert plan["expires_at"] == "2026-11-01T02:30:00-08:00"
    assert hours_between("2026-10-31T23:30:00-07:00", plan["expires_at"]) == 4
    expiry = next(s for s in plan["steps"] if s["name"] == "Infusion expiry")
    assert expiry["substituted"] == ("min(31 OCT 2026 23:30 PDT + 4 h, "
                                     "30 OCT 2026 10:00 PDT + 72 h)")
    assert expiry["result"] == "01 NOV 2026 02:30 PST"


def test_a_thaw_at_0130_on_7_nov_2027_asks_for_the_offset(tmp_path: Path) -> None:
    done = doseprep(tmp_path, "thaw", thaw("2027-11-07T01:30:00"), "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["field"] == "thawed_at"
    assert "happens twice on 7 Nov 2027 in America/Los_Angeles" in error["message"]
    assert "-07:00 for the first, -08:00 for the second" in error["message"]
    assert done.stderr.startswith("doseprep: thawed_at: 2027-11-07T01:30:00 happens twice")
    for offset, infuse_by in (("-07:00", "2027-11-07T01:30:00-08:00"),
                              ("-08:00", "2027-11-07T02:30:00-08:00")):
        plan = as_json(doseprep(tmp_path, "thaw", thaw(f"2027-11-07T01:30:00{offset}"),
                                "--json"))
        assert plan["infuse_by"] == infuse_by
        assert hours_between(f"2027-11-07T01:30:00{offset}", plan["infuse_by"]) == 1
        assert "UTC_OFFSET_MISMATCH" not in codes(plan)


def test_a_thaw_before_the_spring_change_is_infused_by_60_real_minutes_later(
        tmp_path: Path) -> None:
    plan = as_json(doseprep(tmp_path, "thaw", thaw("2027-03-14T01:30:00"), "--json"))
    assert plan["infuse_by"] == "2027-03-14T03:30:00-07:00"  # 01:30 PST + 60 min
    done = doseprep(tmp_path, "thaw", thaw("2027-03-14T02:30:00"), "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["field"] == "thawed_at" and "does not exist" in error["message"]


def test_a_preparation_time_in_the_gap_or_fold_is_refused_by_name(tmp_path: Path) -> None:
    for collected, prepared, field in (
            ("2026-03-07T10:00:00", "2026-03-08T02:30:00", "prepared_at"),
            ("2026-11-01T01:15:00", "2026-11-01T10:00:00", "product.collected_at")):
        done = doseprep(tmp_path, "plan", fresh(collected, prepared), "--json")
        assert done.returncode == 2, done.stdout
        assert json.loads(done.stdout)["error"]["field"] == field


def test_freeze_and_thaw_give_utc_offset_mismatch(tmp_path: Path) -> None:
    """A stale summer offset (UTC−07:00) typed in late November, when the site is at UTC−08:00:
    the time is an hour off what the technician meant."""
    request = example("freeze-dl3-dl4.json")
    request["frozen_at"] = "2026-11-22T14:00:00-07:00"
    plan = as_json(doseprep(tmp_path, "freeze", request, "--json"))
    assert codes(plan)["UTC_OFFSET_MISMATCH"] == "warning"
    assert plan["status"] == "warning"
    message = next(f["message"] for f in plan["findings"] if f["code"] == "UTC_OFFSET_MISMATCH")
    assert message.startswith("frozen_at: the offset UTC−07:00 is not America/Los_Angeles's")
    assert "22 NOV 2026 13:00 PST at the site" in message
    # The frozen expiry is 1825 × 24 real hours after the instant typed, shown at the site.
    assert plan["frozen_expires_at"] == "2031-11-21T13:00:00-08:00"

    request = thaw("2026-12-20T09:00:00-07:00")
    plan = as_json(doseprep(tmp_path, "thaw", request, "--json"))
    assert codes(plan)["UTC_OFFSET_MISMATCH"] == "warning"
    assert plan["infuse_by"] == "2026-12-20T09:00:00-08:00"


def test_the_example_request_is_collected_24_real_hours_before(tmp_path: Path) -> None:
    """``doseprep example`` on the morning after the clocks went back: the collection is 24 real
    hours before now (it was 25, the same wall-clock time the day before)."""
    from doseprep.cli.example import example_request

    for now in ("2026-11-01T18:30:00+00:00", "2026-03-08T18:30:00+00:00"):
        request = example_request("America/Los_Angeles", datetime.fromisoformat(now))
        assert hours_between(request["product"]["collected_at"], request["prepared_at"]) == 24
        assert datetime.fromisoformat(request["prepared_at"]) == \
            datetime.fromisoformat(now).astimezone(UTC)


@pytest.mark.parametrize("command", ["plan", "freeze", "thaw"])
def test_reports_print_times_in_the_site_zone(tmp_path: Path, command: str) -> None:
    request = {"plan": lambda: fresh("2026-11-22T08:30:00-08:00", "2026-11-23T10:00:00-08:00"),
               "freeze": lambda: example("freeze-dl3-dl4.json"),
               "thaw": lambda: thaw("2026-12-20T09:00:00-08:00")}[command]()
    done = doseprep(tmp_path, command, request)
    assert done.returncode == 0, done.stderr
    expected = {"plan": ["collected 22 NOV 2026 08:30 PST", "Expires 23 NOV 2026 14:00 PST"],
                "freeze": ["collected 22 NOV 2026 08:30 PST, frozen 22 NOV 2026 14:00 PST",
                           "frozen expiry 21 NOV 2031 14:00 PST"],
                "thaw": ["by 20 DEC 2026 10:00 PST."]}[command]
    for text in expected:
        assert text in done.stdout, done.stdout
    assert "T08:30" not in done.stdout and "UTC−08:00" not in done.stdout


def test_an_offset_typed_to_make_an_old_product_look_fresh_is_flagged(tmp_path: Path) -> None:
    """A dishonest insider types far-off offsets so that the product of 30 Oct looks 48 hours
    old when it is 73: the plan is not OK (UTC_OFFSET_MISMATCH names both fields), and every
    time is shown as the site's clocks showed it, so the worksheet gives it away."""
    plan = as_json(doseprep(tmp_path, "plan", fresh("2026-10-30T10:00:00-12:00",
                                                    "2026-11-02T10:00:00+13:00"), "--json"))
    assert plan["status"] == "warning"
    mismatches = [f["message"] for f in plan["findings"] if f["code"] == "UTC_OFFSET_MISMATCH"]
    assert [m.split(":")[0] for m in mismatches] == ["product.collected_at", "prepared_at"]
    assert "is 30 OCT 2026 15:00 PDT at the site" in mismatches[0]
    assert "is 01 NOV 2026 13:00 PST at the site" in mismatches[1]
    expiry = next(s for s in plan["steps"] if s["name"] == "Infusion expiry")
    assert expiry["substituted"] == ("min(01 NOV 2026 13:00 PST + 4 h, "
                                     "30 OCT 2026 15:00 PDT + 72 h)")
