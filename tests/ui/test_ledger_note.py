"""The window shows what the product ledger of the DIN has left beside the volume field (issue 22,
item 6), once the DIN is known and someone is logged in; the open record's own draw is not counted
against it, and a save that claims more than is left is refused with the form kept."""

from __future__ import annotations

from doseprep_ui.main_window import MainWindow

from tests.conftest import load_case
from tests.ui.conftest import DialogStub, type_request
from tests.ui.records_helpers import TECH, add_people, log_in_as, type_text

V01 = load_case("v01-basic-dl3")["request"]


def logged_in(qtbot, make_window, dialog_stub: DialogStub) -> MainWindow:
    window = make_window()
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    assert window.begin_session(lock_ms=60_000) is True
    return window


def volume_note(window: MainWindow) -> str:
    window.flush()
    return window.form.fields["product.volume"].note_label.text()


def test_the_remainder_is_shown_beside_the_volume_once_the_din_is_known(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    from doseprep.store import open_store, save_draft
    from doseprep.workflow import compute_plan

    add_people(TECH)
    with open_store() as store:
        first = save_draft(store, compute_plan(V01, store=store), TECH.user_id)
    window = logged_in(qtbot, make_window, dialog_stub)
    type_request(qtbot, window, V01)
    note = volume_note(window)
    assert "ledger: 198.2 mL left of 200 mL" in note, note
    assert first.ref in note and "MORE THAN IS LEFT" in note  # the form says 200 mL
    type_text(qtbot, window.form.fields["product.din"].editor, "G123417000001L")
    assert "ledger" not in volume_note(window)  # a DIN no record names yet
    type_text(qtbot, window.form.fields["product.din"].editor, "G12341700000")  # cut short
    assert "ledger" not in volume_note(window)
    # Saving the 200 mL again is refused by the store, naming the field; the form stays.
    type_text(qtbot, window.form.fields["product.din"].editor, "G123417654321A")
    window.flush()
    dialog_stub.allow_messages = True
    assert window.records.save() is None
    (message,) = dialog_stub.messages
    assert "198.2 mL" in message["text"] and window.form.fields["product.volume"].text() \
        == "200 mL"
    type_text(qtbot, window.form.fields["product.volume"].editor, "198.2 mL")
    assert "MORE THAN" not in volume_note(window)
    saved = window.records.save()
    assert saved is not None
    # The open record's own draw is not counted against it.
    assert "198.2 mL left of 200 mL" in volume_note(window)
    assert "MORE THAN" not in volume_note(window)


def test_nothing_is_read_before_a_log_in(qtbot, make_window) -> None:
    add_people(TECH)
    window = make_window()
    type_request(qtbot, window, V01)
    assert "ledger" not in volume_note(window)
