"""One ledger per collection (issue 22, item 6).

A fresh record drew 1.8 mL from DIN G123417654321; a freeze record for the same DIN then assumed
the full 200 mL again, with no link and no warning. Now the ledger of a DIN is read from its
records: received (the first record's volume), every draw (the newest version of each record),
QC samples and the remainder; a record claiming more than remains is refused naming
``product.volume``, with what is left and which records used it. A draw enters the ledger when its
record is saved, so two drafts cannot claim the same millilitres; a correction replaces its draw.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep.errors import InputError
from doseprep.store import (
    correct_record,
    edit_draft,
    events,
    get_record,
    save_draft,
    sign_record,
    verify_store,
)
from doseprep.store.ledger import product_ledger, take_sample
from doseprep.store.schema import product_samples
from doseprep.workflow import compute_plan, render_record
from tests.conftest import load_case
from tests.doseprep.documents.conftest import page_texts
from tests.doseprep.store.helpers import (
    People,
    current,
    current_freeze,
    reentry_of,
    run_cli,
    with_din,
)

pw = People.password
EXAMPLES = Path(__file__).parents[3] / "resources" / "examples"
FRESH = load_case("v01-basic-dl3")["request"]  # DIN G123417654321, 200 mL, draws 1.80 mL
FREEZE = json.loads((EXAMPLES / "freeze-dl3-dl4.json").read_text("utf-8"))  # same DIN, 200 mL


def volume(request: dict, ml: str) -> dict:
    return request | {"product": request["product"] | {"volume": f"{ml} mL"}}


def save(store, people, request: dict):
    return save_draft(store, compute_plan(request, store=store), people.tech)


def test_a_freeze_claiming_the_full_volume_after_a_fresh_draw_is_refused(store, people) -> None:
    fresh = save(store, people, FRESH)
    with pytest.raises(InputError) as refused:
        save(store, people, FREEZE)
    assert refused.value.field == "product.volume"
    message = refused.value.message
    for words in ("200 mL", "198.2 mL", fresh.ref, "1.8 mL", "G123417654321"):
        assert words in message, words
    # With the remainder it is accepted, and the ledger lists both.
    freeze = save(store, people, volume(FREEZE, "198.2"))
    ledger = product_ledger(store, "G123417654321")
    assert ledger.received_ml == Decimal(200) and ledger.received_ref == fresh.ref
    assert [d.ref for d in ledger.draws] == [fresh.ref, freeze.ref]
    assert [d.used_ml for d in ledger.draws] == [Decimal("1.8"),
                                                 Decimal(str(freeze.plan["product_used_mL"]))]
    assert ledger.remaining_ml == Decimal(200) - Decimal("1.8") - ledger.draws[1].used_ml
    assert ledger.draws[0].cells == Decimal("1.8") * Decimal(str(fresh.plan["viable_cd3_per_mL"]))
    assert all(d.saved_by == people.tech and d.prepared_at is None for d in ledger.draws)


def test_a_second_draft_cannot_claim_what_the_first_draft_reserved(store, people) -> None:
    """Two technicians type the same product at two workstations: the first save reserves."""
    save(store, people, FRESH)
    with pytest.raises(InputError, match=r"198\.2 mL"):
        save(store, people, FRESH)  # the same 200 mL again: the first draft already drew 1.8


def test_a_correction_replaces_its_draw_and_never_adds_to_it(store, people) -> None:
    fresh = save(store, people, FRESH)
    sign_record(store, fresh.ref, "prepare", people.tech, pw(people.tech))
    dl4 = FRESH | {"order": FRESH["order"] | {"dose_level": "DL4"}}
    corrected = correct_record(store, fresh.ref, compute_plan(dl4, store=store), people.tech,
                               "physician changed the order to DL4")
    ledger = product_ledger(store, "G123417654321")
    assert [d.ref for d in ledger.draws] == [corrected.ref]  # v1's draw is replaced
    used = ledger.draws[0].used_ml
    assert used == Decimal(200) - Decimal(str(corrected.plan["remaining_product_mL"]))
    assert ledger.remaining_ml == Decimal(200) - used
    # A draft edited in place replaces its draw too.
    freeze = save(store, people, volume(FREEZE, str(ledger.remaining_ml)))
    edited = edit_draft(store, freeze.ref, compute_plan(volume(FREEZE, "150"), store=store),
                        people.tech, expected_row_version=freeze.row_version)
    ledger = product_ledger(store, "G123417654321")
    assert [d.ref for d in ledger.draws] == [corrected.ref, edited.ref]
    assert ledger.draws[1].product_volume_ml == Decimal(150)


def test_correcting_the_first_record_may_not_leave_the_ledger_below_zero(store, people) -> None:
    fresh = save(store, people, FRESH)
    save(store, people, volume(FREEZE, "198.2"))
    with pytest.raises(InputError) as refused:  # "the bag held 10 mL": the freeze used 14.3
        correct_record(store, fresh.ref, compute_plan(volume(FRESH, "10"), store=store),
                       people.tech, "volume misread")
    assert refused.value.field == "product.volume" and "more than the 10 mL" in \
        refused.value.message


def test_a_plan_that_can_never_be_prepared_draws_nothing(store, people) -> None:
    """IMPLAUSIBLE_INPUT cannot be released by exception: nothing is drawn under such a plan."""
    slip = FRESH | {"product": FRESH["product"] | {"cd3_percent": 0.4}}
    blocked = save(store, people, slip)
    assert blocked.plan_status == "blocked"
    ledger = product_ledger(store, "G123417654321")
    assert ledger.draws[0].counted is False and ledger.draws[0].used_ml == 0
    assert ledger.remaining_ml == Decimal(200)
    save(store, people, FRESH)  # the full 200 mL is still there


def test_a_plan_blocked_only_by_a_listed_finding_draws_its_volume(store, people) -> None:
    """LOW_VIABILITY may be released by the medical director: its draw is reserved."""
    low = FRESH | {"product": FRESH["product"] | {"viability_percent": 60}}
    save(store, people, low)
    ledger = product_ledger(store, "G123417654321")
    assert ledger.draws[0].counted and ledger.draws[0].used_ml > 0


def test_qc_samples_come_off_the_remainder_and_are_audited(store, people) -> None:
    save(store, people, FRESH)
    ledger = take_sample(store, "G123417654321", Decimal("1.0"), "sterility culture",
                         people.tech)
    assert ledger.sampled_ml == Decimal(1) and ledger.remaining_ml == Decimal("197.2")
    assert events(store)[-1].action == "product_sample"
    with pytest.raises(InputError, match=r"197\.2 mL left"):
        take_sample(store, "G123417654321", Decimal(500), "too much", people.tech)
    with pytest.raises(InputError) as refused:
        save(store, people, volume(FREEZE, "198.2"))  # the sample is gone from the bag
    assert "197.2 mL" in refused.value.message and "QC samples 1 mL" in refused.value.message
    save(store, people, volume(FREEZE, "197.2"))
    assert verify_store(store).ok


def test_a_sample_written_into_the_database_is_found(store, people) -> None:
    save(store, people, FRESH)
    from doseprep.store.ledger import sample_hash

    row = {"din": "G123417654321", "volume_ml": "5", "purpose": "x",
           "taken_at": "2026-11-24T00:00:00.000000Z", "created_by": people.tech}
    with store.write() as conn:
        conn.execute(product_samples.insert().values(**row, sample_hash=sample_hash(row)))
    report = verify_store(store)
    assert not report.ok and report.problem.table == "product_samples"
    with pytest.raises(sa.exc.DatabaseError), store.write() as conn:
        conn.execute(sa.delete(product_samples))


def test_thaw_records_and_other_dins_are_not_in_the_ledger(store, people) -> None:
    save(store, people, FRESH)
    save(store, people, with_din(FRESH, 9))
    ledger = product_ledger(store, "G123417654321")
    assert len(ledger.draws) == 1 and ledger.remaining_ml == Decimal("198.2")
    assert product_ledger(store, "G123417000009").remaining_ml == Decimal("198.2")
    assert product_ledger(store, "G123417000010").received_ml is None


def test_the_fresh_then_freeze_life_through_the_command_line(people, tmp_path) -> None:
    fresh = current(FRESH)
    fresh_file = tmp_path / "fresh.json"
    fresh_file.write_text(json.dumps(fresh), encoding="utf-8")
    record_id = run_cli("record", "save", str(fresh_file), user=people.tech).stdout.strip()
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(fresh)), encoding="utf-8")
    for step, user, extra in (("prepare", people.tech, ()),
                              ("verify", people.sup, ("--reentry", str(reentry))),
                              ("release", people.sup2, ())):
        assert run_cli("record", step, record_id, *extra, user=user).returncode == 0

    freeze = current_freeze(FREEZE)
    freeze_file = tmp_path / "freeze.json"
    freeze_file.write_text(json.dumps(freeze), encoding="utf-8")
    refused = run_cli("record", "save", str(freeze_file), user=people.tech)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    [line] = refused.stderr.splitlines()
    assert line.startswith("doseprep: product.volume:") and "198.2 mL" in line
    assert f"{record_id}/v1" in line
    freeze_file.write_text(json.dumps(volume(freeze, "198.2")), encoding="utf-8")
    freeze_id = run_cli("record", "save", str(freeze_file), user=people.tech).stdout.strip()
    assert freeze_id.startswith("PREP-")

    shown = run_cli("product", "show", "G123417654321", "--json", user=people.tech)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["received_mL"] == 200 and data["received_with"] == f"{record_id}/v1"
    assert [d["record"] for d in data["draws"]] == [f"{record_id}/v1", f"{freeze_id}/v1"]
    assert data["draws"][0]["prepared_by"] == people.tech
    assert data["draws"][0]["used_mL"] == pytest.approx(1.8)
    text = run_cli("product", "show", "G123417654321", user=people.tech).stdout
    assert f"{record_id}/v1" in text and f"{freeze_id}/v1" in text and "Remaining" in text
    assert run_cli("product", "show", "G123417654321").returncode == 2  # no --user: refused
    sampled = run_cli("product", "sample", "G123417654321", "--volume", "1 mL", "--purpose",
                      "sterility", user=people.tech)
    assert sampled.returncode == 0, sampled.stderr
    bad = run_cli("product", "sample", "G123417654321", "--volume", "lots", "--purpose", "x",
                  user=people.tech)
    assert bad.returncode == 2 and "volume" in bad.stderr and "Traceback" not in bad.stderr

    # The worksheet prints the ledger line.
    out = tmp_path / "fresh.pdf"
    # Its releaser types their password to sign the released worksheet (issue 25).
    assert run_cli("record", "print", record_id, "-o", str(out), user=people.sup,
                   stdin=pw(people.sup2) + "\n").returncode == 0
    text = " ".join(" ".join(page_texts(out.read_bytes())).split())
    assert "Product ledger" in text and "received 200 mL" in text
    assert "this record 1.8 mL of 200 mL" in text
    assert run_cli("audit", "verify").returncode == 0


def test_the_freeze_worksheet_prints_what_was_drawn_before_it(store, people) -> None:
    fresh = save(store, people, FRESH)
    freeze = save(store, people, volume(current_freeze(FREEZE), "198.2"))
    for step, user, extra in (("prepare", people.tech, {}),
                              ("verify", people.sup,
                               {"reentry": reentry_of(get_record(store, freeze.ref).request)}),
                              ("release", people.sup2, {})):
        sign_record(store, freeze.ref, step, user, pw(user), **extra)
    printed = render_record(store, freeze.ref, people.sup, labels=False,
                            releaser_password=pw(people.sup2))
    text = " ".join(" ".join(page_texts(printed.worksheet)).split())
    assert f"drawn before this record: {fresh.ref} 1.8 mL" in text
    assert "of 198.2 mL" in text
