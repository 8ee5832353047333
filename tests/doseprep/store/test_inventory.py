"""Cycle 2 in the record store (issue 12): a freeze record signed and released puts its bags in
the inventory; a thaw record takes its bag's data from there and thaws it when signed "Prepared
by"; the bag is infused once; every change is audited and ``audit verify`` holds the inventory to
the trail. And the misuse a tired or dishonest person would try: a second thaw of the same bag,
another patient's bag, an expired bag, typed bag data, a bag set back to frozen in the database.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep import workflow
from doseprep.errors import InputError
from doseprep.store import (
    WorkflowError,
    correct_record,
    events,
    get_record,
    list_records,
    save_draft,
    sign_record,
    verify_store,
)
from doseprep.store.errors import InfusionExpiredError, RecordNotFoundError
from doseprep.store.inventory import (
    AliquotState,
    aliquot_by_scan,
    discard,
    get_aliquot,
    infuse,
    list_aliquots,
    locate,
)
from tests.doseprep.store.helpers import People, reentry_of

pw = People.password
EXAMPLES = Path(__file__).parents[3] / "resources" / "examples"
FREEZE = json.loads((EXAMPLES / "freeze-dl3-dl4.json").read_text(encoding="utf-8"))
PATIENT = FREEZE["patient"]
THAWED_AT = "2026-11-23T11:30:00-08:00"  # half an hour before the tests' signing time


def sign_all(store, ref: str, people: People, request: dict) -> None:
    sign_record(store, ref, "prepare", people.tech, pw(people.tech))
    sign_record(store, ref, "verify", people.sup, pw(people.sup), reentry=reentry_of(request))
    sign_record(store, ref, "release", people.sup2, pw(people.sup2))


def released_freeze(store, people: People, request: dict | None = None) -> str:
    request = request or FREEZE
    record = save_draft(store, workflow.compute_plan(request, store=store), people.tech)
    assert record.kind == "freeze"
    sign_all(store, record.ref, people, record.request)
    return record.ref


def thaw_request(store, bag: str, **changes) -> dict:
    data = {"kind": "thaw", "protocol": "hmct-blinatumomab", "patient": dict(PATIENT),
            "thawed_at": THAWED_AT,
            "post_thaw": {"wbc": "43 x10^3/uL", "sample_dilution": 1, "cd3_percent": 40,
                          "viability_percent": 85, "sample_volume": "1 mL"}} | changes
    return workflow.thaw_request_from_store(store, data, aliquot=bag)


def test_a_released_freeze_record_stocks_its_bags(store, people):
    ref = released_freeze(store, people)
    bags = list_aliquots(store, mrn=PATIENT["id"])
    assert [(b.ref, b.state, b.dose_level, b.cycle, b.infusion, b.product_code) for b in bags] \
        == [(f"{ref}:A0", AliquotState.FROZEN, "DL3", 2, 1, "S12352A0"),
            (f"{ref}:B0", AliquotState.FROZEN, "DL4", 2, 2, "S12352B0")]
    assert list_aliquots(store, mrn="MRN-OTHER") == ()
    [summary] = [r for r in list_records(store) if r.ref == ref]
    assert summary.kind == "freeze" and summary.dose_level == "DL3/DL4"
    assert verify_store(store).ok


def test_bags_enter_the_inventory_only_on_release(store, people):
    record = save_draft(store, workflow.compute_plan(FREEZE, store=store), people.tech)
    sign_record(store, record.ref, "prepare", people.tech, pw(people.tech))
    sign_record(store, record.ref, "verify", people.sup, pw(people.sup),
                reentry=reentry_of(record.request))
    assert list_aliquots(store) == ()
    with pytest.raises(RecordNotFoundError, match="enter it when the record is released"):
        thaw_request(store, f"{record.ref}:B0")


def test_the_whole_life_of_bag_b0(store, people):
    ref = released_freeze(store, people)
    bag = f"{ref}:B0"
    locate(store, bag, people.tech, "LN2 tank 2, rack C, box 4, position 17")
    request = thaw_request(store, bag)
    assert request["aliquot"]["final_volume"] == "24 mL"
    assert request["aliquot"]["planned_weight"] == "70 kg"
    thaw = save_draft(store, workflow.compute_plan(request, store=store), people.tech)
    assert thaw.kind == "thaw" and thaw.plan["status"] == "ok"
    assert thaw.request["aliquot_ref"] == bag
    assert get_aliquot(store, bag).state is AliquotState.FROZEN  # a draft thaws nothing
    sign_record(store, thaw.ref, "prepare", people.tech, pw(people.tech))
    thawed = get_aliquot(store, bag)
    assert thawed.state is AliquotState.THAWED and thawed.thaw_record == thaw.ref
    with pytest.raises(WorkflowError, match="must be released before the bag is infused"):
        infuse(store, bag, people.tech)
    sign_record(store, thaw.ref, "verify", people.sup, pw(people.sup),
                reentry=reentry_of(thaw.request))
    sign_record(store, thaw.ref, "release", people.sup2, pw(people.sup2))
    assert infuse(store, bag, people.tech).state is AliquotState.INFUSED
    # The trail holds every step of the bag, in order.
    actions = [e.action for e in events(store) if e.record_ref == bag]
    assert actions == ["aliquot_store", "aliquot_locate", "aliquot_thaw", "aliquot_infuse"]
    assert get_aliquot(store, f"{ref}:A0").state is AliquotState.FROZEN
    assert verify_store(store).ok


def test_a_second_thaw_of_the_same_bag_is_refused(store, people):
    ref = released_freeze(store, people)
    bag = f"{ref}:B0"
    first = save_draft(store, workflow.compute_plan(thaw_request(store, bag), store=store),
                       people.tech)
    # Two technicians start a thaw of B0 at once: both drafts may exist, only one is signed.
    second = save_draft(store, workflow.compute_plan(thaw_request(store, bag), store=store),
                        people.tech2)
    sign_record(store, first.ref, "prepare", people.tech, pw(people.tech))
    with pytest.raises(WorkflowError, match=rf"{bag} was already thawed .thaw record "
                                            f"{first.ref}"):
        sign_record(store, second.ref, "prepare", people.tech2, pw(people.tech2))
    assert get_record(store, second.ref).state.value == "draft"  # nothing signed
    with pytest.raises(WorkflowError, match="already thawed"):
        thaw_request(store, bag)


def test_another_patients_bag_is_refused(store, people):
    ref = released_freeze(store, people)
    other = dict(PATIENT, id="MRN-000999", name="ROE, RICHARD")
    with pytest.raises(WorkflowError, match="frozen for patient MRN MRN-000123, not MRN-000999"):
        thaw_request(store, f"{ref}:B0", patient=other)


def test_a_bag_past_its_frozen_expiry_is_refused(store, people):
    ref = released_freeze(store, people)
    with pytest.raises(WorkflowError, match="expired frozen at 2031-11-21 14:00"):
        thaw_request(store, f"{ref}:A0", thawed_at="2031-11-22T09:00:00-08:00")


def test_typed_bag_data_never_replace_the_freeze_records(store, people):
    """A technician who types a bigger frozen count (to pass the dose check) is refused; the
    bag's data come only from its freeze record."""
    ref = released_freeze(store, people)
    request = thaw_request(store, f"{ref}:B0")
    request["aliquot"] = dict(request["aliquot"], frozen_viable_cd3=9.9e8)
    with pytest.raises(Exception, match="not what the freeze record of"):
        workflow.thaw_request_from_store(store, request)
    plan = workflow.compute_plan(request, store=store)  # computed from the typed data...
    with pytest.raises(WorkflowError, match="not what the freeze record"):
        save_draft(store, plan, people.tech)  # ...is never saved
    no_ref = {k: v for k, v in request.items() if k != "aliquot_ref"}
    with pytest.raises(WorkflowError, match="a thaw record names its bag"):
        save_draft(store, workflow.compute_plan(no_ref, store=store), people.tech)


def test_scanning_the_bag_label_selects_the_bag(store, people):
    ref = released_freeze(store, people)
    found = aliquot_by_scan(store, "=G12341765432100", "=<S12352B0")
    assert found.ref == f"{ref}:B0"
    with pytest.raises(WorkflowError, match="not that bag's label"):
        aliquot_by_scan(store, "=G12341765432100", "=<S12342B0")
    with pytest.raises(RecordNotFoundError, match="division C0"):
        aliquot_by_scan(store, "=G12341765432100", "=<S12352C0")


@pytest.mark.parametrize("typed", ["G123417654321", "G1234 17 654321", "G123417654322A"])
def test_a_bag_din_typed_instead_of_scanned_needs_its_check_character(store, people, typed):
    """Issue 21: the bag's DIN typed (the thaw tab, ``--scan``) without its check character, or
    with a mistyped digit, chose a bag all the same; it is refused naming the field now."""
    ref = released_freeze(store, people)
    with pytest.raises(InputError) as info:
        aliquot_by_scan(store, typed, "=<S12352B0")
    assert info.value.field == "scan.din"
    assert "boxed character printed after the DIN" in info.value.message
    assert aliquot_by_scan(store, "G1234 17 654321 A", "=<S12352B0").ref == f"{ref}:B0"


def test_discard_needs_a_reason_and_is_final(store, people):
    ref = released_freeze(store, people)
    bag = f"{ref}:A0"
    with pytest.raises(WorkflowError, match="needs a reason"):
        discard(store, bag, people.tech, "  ")
    with pytest.raises(WorkflowError, match="at most 500"):
        discard(store, bag, people.tech, "cracked " * 100)
    assert get_aliquot(store, bag).state is AliquotState.FROZEN  # nothing was written
    assert discard(store, bag, people.tech, "bag cracked in the tank").state \
        is AliquotState.DISCARDED
    with pytest.raises(WorkflowError, match="already discarded"):
        discard(store, bag, people.tech, "again")
    with pytest.raises(WorkflowError, match=r"was discarded .bag cracked"):
        thaw_request(store, bag)
    with pytest.raises(WorkflowError, match="only a frozen bag has a freezer location"):
        locate(store, bag, people.tech, "tank 1")


def test_an_expired_thawed_bag_is_not_infused(store, people):
    ref = released_freeze(store, people)
    bag = f"{ref}:B0"
    request = thaw_request(store, bag)
    thaw = save_draft(store, workflow.compute_plan(request, store=store), people.tech)
    sign_all(store, thaw.ref, people, thaw.request)
    late = datetime.fromisoformat("2026-11-23T12:31:00-08:00")
    with pytest.raises(InfusionExpiredError, match="INFUSION_EXPIRED"):
        infuse(store, bag, people.tech, now=late)
    assert get_aliquot(store, bag).state is AliquotState.THAWED


def test_a_freeze_record_in_stock_is_not_corrected(store, people):
    ref = released_freeze(store, people)
    plan = workflow.compute_plan(FREEZE, store=store)
    with pytest.raises(WorkflowError, match="would stock them twice"):
        correct_record(store, ref, plan, people.tech, "WBC typed wrong")


def test_a_record_keeps_its_kind(store, people, base_request):
    ref = released_freeze(store, people)
    with pytest.raises(WorkflowError, match="is a freeze record; it cannot become a fresh one"):
        correct_record(store, ref, workflow.compute_plan(base_request, store=store),
                       people.tech, "wrong form")


def test_a_bag_set_back_to_frozen_in_the_database_is_found(store, people):
    """The dishonest insider: after B0 is thawed and infused, its row is set back to frozen so it
    could be "thawed" again. The database allows the update; audit verify finds it."""
    ref = released_freeze(store, people)
    bag = f"{ref}:B0"
    thaw = save_draft(store, workflow.compute_plan(thaw_request(store, bag), store=store),
                      people.tech)
    sign_record(store, thaw.ref, "prepare", people.tech, pw(people.tech))
    assert verify_store(store).ok
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE aliquots SET state = 'frozen', thaw_record = NULL "
                             "WHERE aliquot_ref = :ref"), {"ref": bag})
    report = verify_store(store)
    assert not report.ok
    assert report.problem.table == "aliquots" and bag in report.problem.row


def test_a_bags_identity_cannot_change_and_bags_are_never_deleted(store, people):
    ref = released_freeze(store, people)
    for statement in ("UPDATE aliquots SET patient_mrn = 'MRN-000999'",
                      "UPDATE aliquots SET division = 'C0'", "DELETE FROM aliquots"):
        with pytest.raises(sa.exc.DBAPIError, match=r"doseprep: an aliquot|never deleted"), \
                store.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert len(list_aliquots(store)) == 2 and ref


def test_the_kind_of_a_signed_record_cannot_change(store, people):
    ref = released_freeze(store, people)
    with pytest.raises(sa.exc.DBAPIError, match="a signed record cannot be changed"), \
            store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE records SET kind = 'fresh' WHERE kind = 'freeze'"))
    assert get_record(store, ref).kind == "freeze"
