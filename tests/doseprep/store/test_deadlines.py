"""What a screen left open must say at an instant (issue 21): the domain decides when a plan or a
record has expired and in which words; the window only asks, at every tick of its clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from doseprep.deadlines import (
    INFUSION_EXPIRED,
    PRODUCT_EXPIRED,
    deadlines,
    expired,
    next_deadline,
    product_age_limit,
    site_time,
)
from doseprep.store import prepare_record, save_draft
from doseprep.workflow import compute_plan, plan_deadlines, record_deadlines
from tests.conftest import load_case

ZONE = "America/Los_Angeles"
EXAMPLES = Path(__file__).parents[3] / "resources" / "examples"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_fresh_plan_expires_at_its_infusion_expiry_then_its_product_age() -> None:
    plan = compute_plan(load_case("v01-basic-dl3")["request"])  # prepared 23 Nov 10:00 PST
    found = plan_deadlines(plan)
    assert expired(found, at("2026-11-23T13:59:59-08:00")) is None
    infusion = expired(found, at("2026-11-23T14:00:00-08:00"))  # at the instant itself
    assert infusion.code == INFUSION_EXPIRED and infusion.headline == "INFUSION EXPIRED"
    assert infusion.message.startswith("This plan's infusion expiry, 23 NOV 2026 14:00 PST, has "
                                       "passed: do not prepare from it.")
    # Collected 22 Nov 08:30: past 72 h nothing helps, not even a new preparation time.
    product = expired(found, at("2026-11-25T08:30:00-08:00"))
    assert product.code == PRODUCT_EXPIRED
    assert "25 NOV 2026 08:30 PST: do not prepare it" in product.message
    assert next_deadline(found, at("2026-11-23T12:00:00-08:00")).when == "23 NOV 2026 14:00 PST"
    assert next_deadline(found, at("2026-11-26T00:00:00-08:00")) is None


def test_once_prepared_only_the_infusion_expiry_counts_and_it_says_do_not_infuse() -> None:
    plan = compute_plan(load_case("v01-basic-dl3")["request"])
    found = plan_deadlines(plan, done=True)
    assert [d.code for d in found] == [INFUSION_EXPIRED]
    late = expired(found, at("2026-11-30T00:00:00-08:00"))
    assert late.message.startswith("The infusion expired at 23 NOV 2026 14:00 PST: do not "
                                   "infuse it.")


def test_the_product_age_is_counted_in_real_hours_across_the_clock_change() -> None:
    """Collected 30 Oct 10:00 PDT; 72 real hours later the clocks have gone back: 09:00 PST on
    2 Nov, not 10:00 (a wall-clock sum would give an hour more)."""
    collected = at("2026-10-30T10:00:00-07:00")
    limit = product_age_limit(collected.astimezone(ZoneInfo(ZONE)), timedelta(hours=72))
    assert limit == at("2026-11-02T09:00:00-08:00")
    assert site_time(limit, ZONE) == "02 NOV 2026 09:00 PST"
    assert site_time(at("2026-07-01T12:00:00+00:00"), ZONE) == "01 JUL 2026 05:00 PDT"


def test_a_thaw_before_and_after_the_bag_was_thawed() -> None:
    frozen, infuse_by = at("2031-11-21T14:00:00-08:00"), at("2026-11-23T12:30:00-08:00")
    before = deadlines("thaw", done=False, zone=ZONE, infusion=infuse_by, frozen=frozen)
    assert expired(before, at("2026-11-23T12:30:00-08:00")).code == INFUSION_EXPIRED
    past_frozen = deadlines("thaw", done=False, zone=ZONE, infusion=at("2031-11-22T09:00-08:00"),
                            frozen=frozen)
    assert expired(past_frozen, at("2031-11-23T00:00:00-08:00")).code == PRODUCT_EXPIRED
    thawed = deadlines("thaw", done=True, zone=ZONE, infusion=infuse_by, frozen=frozen)
    assert [d.code for d in thawed] == [INFUSION_EXPIRED]
    assert "discard the bag" in thawed[0].message


def test_a_freeze_plan_before_it_is_saved_and_its_bags_after() -> None:
    request = json.loads((EXAMPLES / "freeze-dl3-dl4.json").read_text(encoding="utf-8"))
    plan = compute_plan(request)  # collected 22 Nov 08:30 PST, frozen 22 Nov 14:00 PST
    found = plan_deadlines(plan)
    assert expired(found, at("2026-11-25T08:29:59-08:00")) is None
    age = expired(found, at("2026-11-25T08:30:00-08:00"))
    assert age.code == PRODUCT_EXPIRED and "do not freeze it" in age.message
    stored = plan_deadlines(plan, done=True)
    assert expired(stored, at("2026-11-25T08:30:00-08:00")) is None
    bags = expired(stored, at("2031-11-21T14:00:00-08:00"))  # 1825 days after freezing
    assert bags.code == PRODUCT_EXPIRED and "none may be thawed" in bags.message


def test_a_records_deadlines_are_what_it_stores(store, people) -> None:
    record = save_draft(store, compute_plan(load_case("v01-basic-dl3")["request"]), people.tech)
    (draft,) = record_deadlines(record, ZONE)
    assert draft.at == at("2026-11-23T14:00:00-08:00") and "do not prepare" in draft.message
    prepared = prepare_record(store, record.ref, people.tech, people.password(people.tech))
    (signed,) = record_deadlines(prepared, ZONE)
    assert signed.at == draft.at and "do not infuse" in signed.message
