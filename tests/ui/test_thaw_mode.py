"""The window's thaw mode (issue 12), in the real window under the offscreen platform: the whole
cycle-2 life after the freeze — the bag labels printed from the released freeze record and
decoded, bag B0 chosen by scanning its label, thawed under a thaw record that is prepared,
blindly verified and released, its thawed label printed and decoded, the infusion recorded, a
second thaw of B0 refused (on SQLite and PostgreSQL) — and the misuse a tired or dishonest
person would try on the way: half a scan, another patient's MRN, an infusion before the release,
an expired infusion shown as OK, a discard without a reason."""

from __future__ import annotations

from datetime import datetime

from doseprep_ui.main_window import MainWindow
from PySide6.QtCore import Qt

from tests.doseprep.documents.conftest import decode_barcodes, page_texts
from tests.ui.conftest import SHOWS_WINDOW, DialogStub
from tests.ui.records_helpers import (
    SUP,
    SUP2,
    TECH,
    log_in_as,
    sign_as,
    type_text,
    verify_as,
)
from tests.ui.test_freeze_mode import EXAMPLE, release_freeze_in_window

POST_THAW = {"post_thaw.wbc": "43 x10^3/uL", "post_thaw.sample_dilution": "1",
             "post_thaw.cd3_percent": "40", "post_thaw.viability_percent": "85",
             "post_thaw.sample_volume": "1 mL"}
THAWED_AT = "2026-11-23 11:30"  # half an hour before the tests' clock (tests/conftest.py)


def printed_labels(qtbot, window: MainWindow) -> bytes:
    """Print the open record in the window and return its labels' PDF."""
    preview = window.records.print_record()
    qtbot.addWidget(preview)
    (labels_button,) = preview.companion_buttons
    qtbot.mouseClick(labels_button, Qt.MouseButton.LeftButton)
    (labels,) = preview.companions
    pdf = labels.pdf
    labels.close()
    preview.close()
    return pdf


def start_thaw(qtbot, window: MainWindow, *, mrn: str, scan: tuple[str, str]) -> None:
    """A new form, the thaw tab, the patient typed and the label scanned (a scanner types the
    barcode and presses Enter)."""
    window.new_form()
    window.show_thaw_mode()
    panel = window.thaw_panel
    assert all(not edit.text() for edit in panel.fields.values())  # nothing of the last thaw
    type_text(qtbot, panel.fields["patient.id"], mrn)
    qtbot.keyClick(panel.fields["patient.id"], Qt.Key.Key_Return)  # lists the patient's bags
    for key in ("patient.name", "patient.birth_date", "patient.weight"):
        type_text(qtbot, panel.fields[key], str(EXAMPLE["patient"][key.split(".")[1]]))
    type_text(qtbot, panel.fields["thawed_at"], THAWED_AT)
    for key, text in POST_THAW.items():
        type_text(qtbot, panel.fields[key], text)
    for key, text in zip(("bag.scan_din", "bag.scan_product"), scan, strict=True):
        type_text(qtbot, panel.fields[key], text)
        qtbot.keyClick(panel.fields[key], Qt.Key.Key_Return)
    panel.recompute()


@SHOWS_WINDOW
def test_bag_b0_thawed_released_and_infused_in_the_window_and_never_thawed_again(
        qtbot, make_window, dialog_stub: DialogStub, backend: str) -> None:
    from doseprep.store import events
    from doseprep.store.inventory import get_aliquot

    window = release_freeze_in_window(qtbot, make_window, dialog_stub)
    records, panel = window.records, window.thaw_panel
    store = records.session.store
    assert str(store.url).startswith(backend)
    freeze_ref = records.record.ref

    # The freeze record's labels, printed from the window and decoded: one per bag.
    pages = decode_barcodes(printed_labels(qtbot, window))
    assert len(pages) == 2
    din_scan = next(code for code in pages[1] if code.startswith("=G"))
    product_scan = next(code for code in pages[1] if code.startswith("=<"))
    assert product_scan == "=<S12352B0"

    # The technician thaws B0: half a scan, then another patient's MRN, are named and refused.
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    records.sign_out()
    start_thaw(qtbot, window, mrn="MRN-999999", scan=(din_scan, product_scan))
    assert panel.plan is None and not panel.save_button.isEnabled()
    assert panel.bag_note.text() == (
        f"{freeze_ref}:B0 was frozen for patient MRN MRN-000123, not MRN-999999: wrong patient "
        "or wrong bag. Do not thaw it.")
    assert panel.problem_label.text().startswith("bag: ")
    assert panel.bag_table.rowCount() == 0  # no bags for that MRN
    panel.fields["bag.scan_product"].clear()
    type_text(qtbot, panel.fields["patient.id"], EXAMPLE["patient"]["id"])
    qtbot.keyClick(panel.fields["patient.id"], Qt.Key.Key_Return)
    panel.recompute()
    assert "Scan both barcodes" in panel.bag_note.text() and panel.plan is None
    assert [panel.bag_table.item(r, 1).text() for r in range(2)] == ["frozen", "frozen"]
    type_text(qtbot, panel.fields["bag.scan_product"], product_scan)
    panel.recompute()
    assert panel.status.text() == "THAW PLAN OK", panel.problem_label.text()
    assert f"{freeze_ref}:B0" in panel.bag_note.text()
    # The post-thaw sample (1 mL, typed in its own field) is not infused (Revision 3).
    assert "Infuse the whole bag: G123417654321 B0, 23 mL" in panel.summary.text()
    assert panel.request()["post_thaw"]["sample_volume"] == "1 mL"
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    thaw = records.record
    assert thaw is not None and thaw.kind == "thaw"
    assert thaw.request["aliquot_ref"] == f"{freeze_ref}:B0"
    assert panel.fields["patient.weight"].isReadOnly() and panel.shown_record is not None

    dialog_stub.handlers.append(sign_as(qtbot, TECH, meaning="Prepared by"))
    qtbot.mouseClick(records.strip.prepare_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "prepared"
    assert get_aliquot(store, f"{freeze_ref}:B0").state.value == "thawed"
    assert not panel.infuse_button.isEnabled()  # not before the thaw record is released
    assert "released" in panel.infuse_button.toolTip()
    assert not records.strip.correct_button.isEnabled()

    # Blind verification: the thaw tab holds none of the preparer's values.
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    records.sign_out()
    records.open_record(thaw.ref)
    assert window.modes.currentWidget() is panel
    assert all(not edit.text() for edit in panel.fields.values())
    assert panel.steps.rowCount() == 0 and not panel.summary.text()
    assert not panel.infuse_button.isEnabled() and not panel.discard_button.isEnabled()
    values = {"patient.weight": "70 kg", "aliquot.din": "G123417654321A",
              "aliquot.division": "B0", **POST_THAW}
    dialog_stub.handlers.append(verify_as(qtbot, SUP, values))
    qtbot.mouseClick(records.strip.verify_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "verified"
    assert panel.fields["patient.weight"].text() == "70 kg"

    dialog_stub.handlers.append(log_in_as(qtbot, SUP2))
    records.sign_out()
    records.open_record(thaw.ref)
    dialog_stub.handlers.append(sign_as(qtbot, SUP2, meaning="Released by"))
    qtbot.mouseClick(records.strip.release_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "released"

    # The thawed label, printed from the window: the thawed product's code and INFUSE BY.
    labels = printed_labels(qtbot, window)
    [codes] = decode_barcodes(labels)
    assert "=<S12362B0" in codes
    assert "INFUSE BY" in page_texts(labels)[0]

    # The infusion, confirmed against the bag and patient named; recorded once.
    assert panel.infuse_button.isEnabled()
    dialog_stub.answers.append("infuse")
    qtbot.mouseClick(panel.infuse_button, Qt.MouseButton.LeftButton)
    question = dialog_stub.questions[-1]
    assert f"{freeze_ref}:B0" in question["text"] and "MRN-000123" in question["text"]
    assert get_aliquot(store, f"{freeze_ref}:B0").state.value == "infused"
    assert not panel.infuse_button.isEnabled() and not panel.discard_button.isEnabled()
    # Issue 21: the tab said "Infuse the whole bag" after the infusion. It says what happened.
    assert panel.status.text() == (f"BAG INFUSED — {freeze_ref}:B0 was infused (recorded by "
                                   f"{SUP2.user_id}). Nothing more is done with it.")
    assert panel.summary.text().startswith("Infused: ") and "Infuse the whole" not in \
        panel.summary.text()
    records.open_record(thaw.ref)  # opened again later: the same
    assert panel.status.text().startswith("BAG INFUSED")
    assert not panel.infuse_button.isEnabled() and not panel.discard_button.isEnabled()

    # A second thaw of B0, scanned again: refused, named, nothing to save.
    start_thaw(qtbot, window, mrn=EXAMPLE["patient"]["id"], scan=(din_scan, product_scan))
    assert panel.plan is None and not panel.save_button.isEnabled()
    assert "already thawed and infused" in panel.bag_note.text()
    states = {panel.bag_table.item(r, 0).text(): panel.bag_table.item(r, 1).text()
              for r in range(panel.bag_table.rowCount())}
    assert states == {f"{freeze_ref}:A0": "frozen", f"{freeze_ref}:B0": "infused"}

    # The audit trail has every step of B0.
    bag_events = [e.action for e in events(store, record_ref=f"{freeze_ref}:B0")]
    assert bag_events == ["aliquot_store", "aliquot_thaw", "aliquot_infuse"]


@SHOWS_WINDOW
def test_an_expired_thaw_never_shows_ok_and_its_bag_is_discarded_with_a_reason(
        qtbot, make_window, dialog_stub: DialogStub, monkeypatch) -> None:
    from doseprep.store import expiry
    from doseprep.store.inventory import get_aliquot

    window = release_freeze_in_window(qtbot, make_window, dialog_stub)
    records, panel = window.records, window.thaw_panel
    freeze_ref = records.record.ref
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    records.sign_out()
    # The bag is chosen from the patient's bags rather than scanned.
    start_thaw(qtbot, window, mrn=EXAMPLE["patient"]["id"], scan=("", ""))
    panel.bag_table.selectRow(1)
    qtbot.mouseClick(panel.choose_button, Qt.MouseButton.LeftButton)
    assert panel.fields["bag.ref"].text() == f"{freeze_ref}:B0"
    panel.recompute()
    assert panel.status.text() == "THAW PLAN OK"
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    thaw = records.record
    dialog_stub.handlers.append(sign_as(qtbot, TECH, meaning="Prepared by"))
    qtbot.mouseClick(records.strip.prepare_button, Qt.MouseButton.LeftButton)
    for person, step in ((SUP, "verify"), (SUP2, "release")):
        dialog_stub.handlers.append(log_in_as(qtbot, person))
        records.sign_out()
        records.open_record(thaw.ref)
        if step == "verify":
            dialog_stub.handlers.append(verify_as(qtbot, SUP, {
                "patient.weight": "70 kg", "aliquot.din": "G123417654321A",
                "aliquot.division": "B0", **POST_THAW}))
            qtbot.mouseClick(records.strip.verify_button, Qt.MouseButton.LeftButton)
        else:
            dialog_stub.handlers.append(sign_as(qtbot, SUP2, meaning="Released by"))
            qtbot.mouseClick(records.strip.release_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "released"
    assert panel.status.text() == "THAW PLAN OK"

    # The next morning the record is opened again: EXPIRED, not OK; no infusion can be recorded.
    monkeypatch.setattr(expiry, "expiry_now",
                        lambda: datetime.fromisoformat("2026-11-24T08:00:00-08:00"))
    records.open_record(thaw.ref)
    assert panel.status.text().startswith(
        "INFUSION EXPIRED — The thawed bag had to be infused by 23 NOV 2026 12:30 PST")
    assert "Do not infuse" in panel.summary.text()
    assert not panel.infuse_button.isEnabled()
    assert "discard" in panel.infuse_button.toolTip()

    # Discard needs a reason; an empty one cannot be given.
    def discard(dialog) -> None:
        assert dialog.objectName() == "discard-dialog"
        assert not dialog.ok_button.isEnabled()
        qtbot.keyClicks(dialog.reason, "infusion expired before the patient arrived")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    dialog_stub.handlers.append(discard)
    qtbot.mouseClick(panel.discard_button, Qt.MouseButton.LeftButton)
    bag = get_aliquot(records.session.store, f"{freeze_ref}:B0")
    assert bag.state.value == "discarded"
    assert bag.reason == "infusion expired before the patient arrived"
    assert not panel.discard_button.isEnabled()
    assert panel.status.text() == (f"BAG DISCARDED — {freeze_ref}:B0: infusion expired before "
                                   "the patient arrived. It is never infused.")


@SHOWS_WINDOW
def test_a_stale_thaw_tab_cannot_save_a_bag_another_workstation_discarded(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    """The thaw tab said THAW PLAN OK; meanwhile the bag was discarded at another workstation.
    Save computes again first: the refusal appears under the bag, nothing is saved, the status
    bar says so, and the typed values stay."""
    from doseprep.store import list_records
    from doseprep.store.inventory import discard

    window = release_freeze_in_window(qtbot, make_window, dialog_stub)
    records, panel = window.records, window.thaw_panel
    freeze_ref = records.record.ref
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    records.sign_out()
    start_thaw(qtbot, window, mrn=EXAMPLE["patient"]["id"],
               scan=("=G12341765432100", "=<S12352B0"))
    assert panel.status.text() == "THAW PLAN OK"
    discard(records.session.store, f"{freeze_ref}:B0", SUP.user_id, "bag cracked in the tank")
    before = len(list_records(records.session.store))
    panel.save_button.click()  # the screen still shows the old plan: no recompute in between
    assert len(list_records(records.session.store)) == before
    assert "was discarded (bag cracked in the tank)" in panel.bag_note.text()
    assert window.statusBar().currentMessage().startswith("Nothing saved: the thaw plan")
    assert not panel.save_button.isEnabled()
    assert panel.fields["patient.weight"].text() == "70 kg" and panel.shown_record is None
