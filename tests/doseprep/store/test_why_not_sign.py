"""What the window disables before any typing is exactly what the store would refuse (issue 9):
the wrong role, the preparer verifying, a blocked plan, an expired infusion, the wrong state."""

from __future__ import annotations

from datetime import datetime

from doseprep.store import compute_plan, get_record, prepare_record, save_draft
from doseprep.store.records import why_not_sign
from doseprep.store.users import get_user
from tests.conftest import load_case


def user(store, user_id):
    with store.read() as conn:
        return get_user(conn, user_id)


def test_the_reasons_match_the_store(store, people) -> None:
    record = save_draft(store, compute_plan(load_case("v01-basic-dl3")["request"]), people.tech)
    tech, sup = user(store, people.tech), user(store, people.sup)
    assert why_not_sign(record, "prepare", tech) is None
    assert "DRAFT" in why_not_sign(record, "verify", sup)
    late = datetime.fromisoformat("2026-11-23T14:00:00-08:00")
    assert why_not_sign(record, "prepare", tech, now=late).startswith("INFUSION_EXPIRED")
    prepare_record(store, record.ref, people.tech, people.password(people.tech))
    prepared = get_record(store, record.ref)
    assert why_not_sign(prepared, "verify", sup) is None
    assert "signed by a supervisor" in why_not_sign(prepared, "verify", tech)
    assert "VERIFIED record" in why_not_sign(prepared, "release", sup)
    assert why_not_sign(prepared, "verify", None) == "Log in first."


def test_a_blocked_plan_cannot_be_prepared(store, people) -> None:
    blocked = save_draft(store, compute_plan(load_case("v06-low-viability-blocks")["request"]),
                         people.tech)
    assert "blocked" in why_not_sign(blocked, "prepare", user(store, people.tech))
