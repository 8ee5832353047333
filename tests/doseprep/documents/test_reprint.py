"""REPRINT marks what was printed before in the same signed state — on the worksheet and on the
labels, PDF and ZPL — and the audit trail says which print each document was (issue 21).

Printed while only Prepared, the worksheet and labels are other documents than those of the
Released record: the first print after release is not a reprint. Printed again in the same state,
each document says REPRINT, the labels visibly and off their barcodes (which still scan). Runs on
SQLite and, when configured, PostgreSQL, through the real command line and the real store.
"""

from __future__ import annotations

import json
from pathlib import Path

from doseprep.store import audit as audit_module
from doseprep.store import (
    edit_draft,
    events,
    prepare_record,
    register_print,
    release_record,
    save_draft,
    verify_record,
    verify_store,
)
from doseprep.workflow import compute_plan, render_record
from tests.conftest import load_case
from tests.doseprep.documents.conftest import decode_barcodes, page_texts
from tests.doseprep.documents.label_checks import zpl_drawn, zpl_labels, zpl_problems

# The record-store fixtures (SQLite, and PostgreSQL when configured), as the store suite has them.
from tests.doseprep.store.conftest import _test_hash_profile, people, store  # noqa: F401
from tests.doseprep.store.helpers import People, current, reentry_of, run_cli, with_din

pw = People.password
FIRST = {"worksheet": "first print", "labels": "first print"}


def _prints(store) -> list[dict]:  # noqa: F811 (the fixture's name)
    return [e.new_value for e in events(store, action="record_print")]


def test_a_print_while_prepared_is_not_a_reprint_after_release_and_a_second_print_is(
        people: People, store, tmp_path: Path) -> None:  # noqa: F811
    request = current(load_case("v01-basic-dl3")["request"])
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
    record_id = run_cli("record", "save", str(request_file), user=people.tech).stdout.split()[0]

    def sign(step: str, user: str, *extra: str) -> None:
        done = run_cli("record", step, record_id, "--user", user, "--password-stdin", *extra,
                       stdin=pw(user) + "\n")
        assert done.returncode == 0, done.stderr

    def print_all(n: int) -> tuple[str, str, str, str]:
        w, lab, z = tmp_path / f"w{n}.pdf", tmp_path / f"l{n}.pdf", tmp_path / f"l{n}.zpl"
        # A released record's worksheet is signed by its releaser, who types their password.
        done = run_cli("record", "print", record_id, "-o", str(w), "--labels", str(lab),
                       "--zpl", str(z), user=people.sup,
                       stdin=pw(people.sup2) + "\n" if n > 1 else None)
        assert done.returncode == 0, done.stderr
        return (done.stdout, " ".join(page_texts(w.read_bytes())),
                " ".join(page_texts(lab.read_bytes())), z.read_text("utf-8"))

    sign("prepare", people.tech)
    said, worksheet, labels, zpl = print_all(1)  # while PREPARED: draft documents
    assert "first print" in said and "PREPARED" in said
    assert "REPRINT" not in worksheet + labels + zpl
    sign("verify", people.sup, "--reentry", str(reentry))
    sign("release", people.sup2)

    said, worksheet, labels, zpl = print_all(2)  # the first print of the released record
    assert "first print" in said and "RELEASED" in said, said
    assert "REPRINT" not in worksheet + labels + zpl
    said, worksheet, labels, zpl = print_all(3)  # the same documents again
    assert "worksheet: REPRINT 1; labels: REPRINT 1" in said, said
    assert "REPRINT" in worksheet
    assert "REPRINT 1" in labels
    (block,) = zpl_labels(zpl)
    assert "REPRINT 1" in [text for _, text in zpl_drawn(block).texts]
    assert zpl_problems(block, 203) == []  # the mark inside the bottom band, off every barcode
    for n in (2, 3):  # the barcodes still scan: the released record's product and expiry
        (codes,) = decode_barcodes((tmp_path / f"l{n}.pdf").read_bytes())
        assert {"=G12341765432100", "=<S1234200"} <= set(codes)
        assert any(code.startswith("&>") for code in codes)

    # The trail says which print each was, in which state, and what the paper said.
    prints = _prints(store)
    assert [(p["state"], p["prints"]) for p in prints] == [
        ("prepared", FIRST), ("released", FIRST),
        ("released", {"worksheet": "reprint 1", "labels": "reprint 1"})]
    assert all(p["marked"] == p["prints"] for p in prints)
    assert prints[2]["first_printed_at"] is not None and prints[1]["first_printed_at"] is None
    assert verify_store(store).ok


def _released(store, people: People):  # noqa: F811
    request = current(load_case("v01-basic-dl3")["request"])
    record = save_draft(store, compute_plan(request), people.tech)
    prepare_record(store, record.record_id, people.tech, pw(people.tech))
    verify_record(store, record.record_id, people.sup, pw(people.sup), reentry_of(request))
    return release_record(store, record.record_id, people.sup2, pw(people.sup2))


def test_each_document_is_a_reprint_only_of_itself(store, people: People) -> None:  # noqa: F811
    """Labels printed alone, then the worksheet: the worksheet's first print is not a reprint;
    the labels printed again as ZPL are (a second set of labels for the same bags)."""
    ref = _released(store, people).ref
    printed = render_record(store, ref, people.sup, releaser_password=pw(people.sup2))
    assert printed.marks == {"worksheet": 0, "labels": 0}
    register_print(store, ref, people.sup, document="labels", marked={"labels": 0})
    again = render_record(store, ref, people.sup, releaser_password=pw(people.sup2))
    assert again.marks == {"worksheet": 0, "labels": 1}
    assert "REPRINT" not in " ".join(page_texts(again.worksheet))
    assert "REPRINT 1" in page_texts(again.labels)[0] and "REPRINT 1" in again.zpl
    info = register_print(store, ref, people.tech, document="labels (ZPL)",
                          marked={"labels": 1})
    assert info.reprint == 1 and info.reprint_at is not None
    assert [p["prints"] for p in _prints(store)] == [{"labels": "first print"},
                                                     {"labels": "reprint 1"}]


def test_a_paper_printed_without_its_mark_shows_in_the_trail(store, people: People) -> None:  # noqa: F811
    """Two workstations render the labels at once and both print: the second paper says no
    REPRINT, and the trail records both what it is (reprint 1) and what the paper said."""
    ref = _released(store, people).ref
    first, second = (render_record(store, ref, user, releaser_password=pw(people.sup2))
                     for user in (people.tech, people.sup))
    for printed, user in ((first, people.tech), (second, people.sup)):
        register_print(store, ref, user, document="labels",
                       marked={"labels": printed.marks["labels"]})
    last = _prints(store)[-1]
    assert last["prints"] == {"labels": "reprint 1"} and last["marked"] == {
        "labels": "first print"}


def test_an_edited_draft_is_another_document_and_an_old_entry_counts_as_printed(
        store, people: People) -> None:  # noqa: F811
    """A draft's documents are of its content: printed, edited, printed — not a reprint; printed
    again unchanged — a reprint. A print entry from before the states were recorded counts as
    the same state, so that a duplicate is never left unmarked."""
    request = with_din(current(load_case("v01-basic-dl3")["request"]), 1)  # its own product
    draft = save_draft(store, compute_plan(request), people.tech)
    register_print(store, draft.record_id, people.tech)
    edited = dict(request, patient=request["patient"] | {"weight": "71 kg"})
    edit_draft(store, draft.record_id, compute_plan(edited), people.tech,
               expected_row_version=draft.row_version)
    assert render_record(store, draft.record_id, people.tech).marks["worksheet"] == 0
    register_print(store, draft.record_id, people.tech)
    assert render_record(store, draft.record_id, people.tech).marks["worksheet"] == 1

    ref = _released(store, people).ref
    with store.write() as conn:  # what an earlier doseprep wrote for a print
        audit_module.append(conn, "record_print", people.tech, record_ref=ref,
                            new={"document": "worksheet and labels"})
    assert render_record(store, ref, people.sup, releaser_password=pw(people.sup2)).marks == {
        "worksheet": 1, "labels": 1}
    assert verify_store(store).ok


def test_a_worksheet_is_printed_for_the_file_even_when_its_labels_do_not_fit(
        store, people: People, tmp_path: Path) -> None:  # noqa: F811
    """A record whose patient's name does not fit the lab's smallest label stock: the labels
    are refused naming label_height_mm, the worksheet alone still prints (and is a print)."""
    import pytest

    from doseprep.errors import SettingsError
    from doseprep.protocol._base import LABEL_MIN_WIDTH_MM
    from doseprep.resources import resource_path

    lab = tmp_path / "small-labels.toml"
    lab.write_text(resource_path("lab.toml").read_text(encoding="utf-8").replace(
        "label_width_mm = 100", f"label_width_mm = {LABEL_MIN_WIDTH_MM}"), encoding="utf-8")
    request = current(load_case("v01-basic-dl3")["request"])
    request["patient"] |= {"name": "W" * 200, "id": "W" * 64}
    record = save_draft(store, compute_plan(request, lab=str(lab)), people.tech)
    with pytest.raises(SettingsError) as refused:
        render_record(store, record.ref, people.tech, lab=str(lab))
    assert refused.value.key == "facility.label_height_mm"
    printed = render_record(store, record.ref, people.tech, lab=str(lab), labels=False)
    assert "W" * 60 in " ".join(page_texts(printed.worksheet)).replace(" ", "")
    assert printed.labels == b"" and printed.zpl == ""
