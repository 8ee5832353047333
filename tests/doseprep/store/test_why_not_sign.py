"""What the window disables before any typing is exactly what the store would refuse (issue 9):
the wrong role, the preparer verifying, a blocked plan, an expired infusion, the wrong state."""

from __future__ import annotations

from datetime import datetime

import pytest

from doseprep.store import get_record, prepare_record, save_draft
from doseprep.store.users import get_user
from doseprep.workflow import compute_plan, why_not_sign
from tests.conftest import load_case
from tests.doseprep.store.helpers import with_din


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
    # Too little product: no exceptional release (LOW_VIABILITY, in v06, may be released).
    blocked = save_draft(store, compute_plan(load_case("v05-insufficient-product")["request"]),
                         people.tech)
    assert "blocked by INSUFFICIENT_PRODUCT" in why_not_sign(blocked, "prepare",
                                                             user(store, people.tech))
    listed = save_draft(store, compute_plan(with_din(
        load_case("v06-low-viability-blocks")["request"], 6)), people.tech)  # another bag
    assert why_not_sign(listed, "prepare", user(store, people.tech)) is None


def test_allowed_actions_follow_the_signing_table(store, people) -> None:
    """Issue 11: one pure answer to "what may this user do now", used by the window and the
    command line; a button the store would refuse is never enabled."""
    from doseprep.signoff import Step
    from doseprep.workflow import allowed_actions

    record = save_draft(store, compute_plan(load_case("v01-basic-dl3")["request"]), people.tech)
    tech, sup, admin = (user(store, u) for u in (people.tech, people.sup, people.admin))
    clean = {"has_plan": True, "dirty": False, "correcting": False}

    draft = allowed_actions(record, tech, **clean)
    assert draft.sign == {Step.PREPARE: True, Step.VERIFY: False, Step.RELEASE: False}
    assert not draft.print and not draft.correct and not draft.save  # nothing changed to save
    assert allowed_actions(record, tech, **{**clean, "dirty": True}).save
    assert not allowed_actions(record, tech, **{**clean, "dirty": True}).sign[Step.PREPARE]
    # An administrator manages accounts and signs, saves or corrects nothing.
    as_admin = allowed_actions(record, admin, **{**clean, "dirty": True})
    assert as_admin.manage_accounts and not as_admin.save
    admin_now = allowed_actions(record, admin, **clean)
    assert not admin_now.sign[Step.PREPARE]
    assert "administrator" in admin_now.reasons[Step.PREPARE]
    assert not any(allowed_actions(record, None, **clean).sign.values())

    prepare_record(store, record.ref, people.tech, people.password(people.tech))
    prepared = get_record(store, record.ref)
    by_preparer = allowed_actions(prepared, tech, **clean)
    assert not by_preparer.sign[Step.VERIFY] and by_preparer.print and by_preparer.correct
    assert "supervisor" in by_preparer.reasons[Step.VERIFY]
    assert allowed_actions(prepared, sup, **clean).sign == {
        Step.PREPARE: False, Step.VERIFY: True, Step.RELEASE: False}
    correcting = allowed_actions(prepared, sup, **{**clean, "correcting": True})
    assert correcting.save and not correcting.correct and not any(correcting.sign.values())
    late = datetime.fromisoformat("2026-11-23T14:00:00-08:00")
    expired = allowed_actions(prepared, sup, **clean, now=late)
    assert not expired.sign[Step.VERIFY]
    assert expired.reasons[Step.VERIFY].startswith("INFUSION_EXPIRED")


def test_the_signing_hash_is_the_one_the_store_binds(store, people) -> None:
    from doseprep.store import verify_record
    from doseprep.store.errors import StaleRecordError
    from doseprep.workflow import signing_hash
    from tests.doseprep.store.helpers import reentry_of

    record = save_draft(store, compute_plan(load_case("v01-basic-dl3")["request"]), people.tech)
    shown = signing_hash(record, "prepare")
    prepared = prepare_record(store, record.ref, people.tech, people.password(people.tech),
                              expected_hash=shown)
    assert prepared.signatures[-1].record_hash == shown
    stale = signing_hash(record, "verify")  # the draft's content, not the prepared record's
    with pytest.raises(StaleRecordError, match="not what was shown"):
        verify_record(store, record.ref, people.sup, people.password(people.sup),
                      reentry=reentry_of(prepared.request), expected_hash=stale)
    assert signing_hash(prepared, "verify") != stale
