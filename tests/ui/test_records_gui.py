"""Issue 5 in the window: log in, save, sign, verify blind, release, print, find, correct, lock.

Everything runs against a real SQLite record database in the test's data directory; the dialogs
are the real ones, filled in by handlers (see ``records_helpers``) as a person would.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
from doseprep_ui.documents.print_preview import DocumentPreview
from doseprep_ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from doseprep import drafts
from doseprep.signatures.worksheets import verify_pdf
from tests.conftest import load_case
from tests.ui.conftest import SHOWS_WINDOW, DialogStub, type_request
from tests.ui.records_helpers import (
    ADMIN,
    SUP,
    TECH,
    Person,
    add_people,
    add_user_as_admin,
    create_first_administrator,
    give_reason,
    log_in_as,
    search_history,
    sign_as,
    type_text,
    verify_as,
    visible_texts,
)

REFUSED = "Login refused: wrong user id or password."
#: The blind re-entry of reference case v01, exactly as the source documents give it.
V01_REENTRY = {
    "patient.weight": "70 kg", "product.volume": "200 mL", "product.wbc": "100 x10^3/uL",
    "product.cd3_percent": "40", "product.viability_percent": "98",
    "product.sample_dilution": "1", "order.dose_level": "DL3", "product.din": "G123417654321A",
}
#: What the preparer typed that must never be readable during the blind re-entry.
V01_SECRETS = ("70 kg", "200 mL", "100 x10^3/uL", "G123417654321", "G1234 17 654321")


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def save_pdf_to(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Answer the next Save PDF dialogs with files in tmp_path, one name per call."""

    def answer(name: str) -> Path:
        def get_save_file_name(parent, caption, directory, name_filter):
            return str(tmp_path / name), name_filter
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
        return tmp_path / name

    return answer


@pytest.fixture
def session(qtbot, make_window, dialog_stub: DialogStub):
    """A window with a logged-in person (the accounts are created first); lock in 60 s."""

    def start(person: Person, *others: Person, lock_ms: int = 60_000) -> MainWindow:
        add_people(person, *others)
        window = make_window()
        dialog_stub.handlers.append(log_in_as(qtbot, person))
        assert window.begin_session(lock_ms=lock_ms) is True
        assert window.records.user.user_id == person.user_id
        return window

    return start


def record_text(window: MainWindow) -> str:
    return window.records.strip.record_label.text()


def inputs_enabled(window: MainWindow) -> list[bool]:
    return [f.editor.isEnabled() for f in window.form.fields.values()]


# --- the whole life ----------------------------------------------------------------------------

def prepared_v01(qtbot, window: MainWindow, dialog_stub: DialogStub, preparer):
    """Type reference case v01, save it and sign it as prepared by ``preparer``."""
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.records.save()
    dialog_stub.handlers.append(sign_as(qtbot, preparer))
    return window.records.sign("prepare")


@SHOWS_WINDOW
def test_the_whole_life_of_a_preparation_in_the_window(
        qtbot, window: MainWindow, dialog_stub: DialogStub, save_pdf_to) -> None:
    records = window.records
    stub = dialog_stub
    window.show()
    qtbot.waitExposed(window)

    # First start: no administrator yet. Create one, then a wrong password, then log in.
    stub.handlers += [create_first_administrator(qtbot),
                      log_in_as(qtbot, ADMIN, password="not-the-password", expect=REFUSED)]
    stub.allow_messages = True
    assert window.begin_session(lock_ms=60_000) is False
    stub.allow_messages = False
    (shown,) = stub.messages  # issue 25: the recovery code, once, and the lab key's fingerprint
    assert shown["title"] == "Recovery code"
    assert re.search(r"([A-Z2-7]{4}-){7}[A-Z2-7]{4}", shown["text"])
    assert re.search(r"[0-9a-f]{64}", shown["informative"])
    stub.messages.clear()
    assert window.cover_mode == "signed-out" and not window.content.isVisible()
    assert not records.strip.save_button.isEnabled()
    stub.handlers.append(log_in_as(qtbot, ADMIN))
    qtbot.mouseClick(records.cover.log_in_button, Qt.MouseButton.LeftButton)
    assert records.user.user_id == "admin" and window.cover_mode == ""
    assert records.strip.user_label.text() == "Logged in: ADMIN, ANN (admin) — administrator"

    # The administrator adds a technician and a supervisor, then hands over.
    assert records.actions["add_user"].isEnabled()
    stub.handlers += [add_user_as_admin(qtbot, TECH)]
    records.actions["add_user"].trigger()
    stub.handlers += [add_user_as_admin(qtbot, SUP)]
    records.actions["add_user"].trigger()
    stub.handlers.append(log_in_as(qtbot, TECH))
    records.actions["sign_out"].trigger()
    assert records.user.user_id == "tech"

    # The technician types the reference case and saves it.
    assert record_text(window) == "Not saved"
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.flush()
    assert not records.strip.prepare_button.isEnabled()
    qtbot.mouseClick(records.strip.save_button, Qt.MouseButton.LeftButton)
    record = records.record
    assert re.fullmatch(r"PREP-\d{4}-000001", record.record_id)
    ref = f"{record.record_id}/v1"
    assert record_text(window) == f"{ref} — DRAFT"
    assert records.strip.state == "draft"
    assert all(inputs_enabled(window))

    # Prepared by the technician: the dialog shows the meaning, the record and the first 16
    # hex digits of exactly the hash the signature binds.
    shown: list[str] = []

    def shows_what_is_signed(dialog) -> None:
        text = visible_texts(dialog)
        assert ref in text and "legally binding equivalent of your handwritten signature" in text
        (digits,) = re.findall(r"\b[0-9a-f]{16}…", text)
        shown.append(digits[:16])

    stub.handlers.append(sign_as(qtbot, TECH, meaning="Prepared by",
                                 check=shows_what_is_signed))
    qtbot.mouseClick(records.strip.prepare_button, Qt.MouseButton.LeftButton)
    assert record_text(window) == f"{ref} — PREPARED"
    assert records.record.signatures[-1].record_hash[:16] == shown[-1]
    assert not any(inputs_enabled(window)), "a signed record is read-only"
    assert records.banner.isVisible()
    assert records.banner.headline.text() == ("READ-ONLY — signed record; use Correct… to make "
                                              "a new version")

    # The preparer cannot verify: Verify is disabled and says why; the supervisor logs in here
    # (and sees the record without its values until the blind re-entry is done).
    assert not records.strip.verify_button.isEnabled()
    assert "signed by a supervisor" in records.strip.verify_button.toolTip()
    stub.handlers.append(log_in_as(qtbot, SUP))
    records.sign_out()
    assert records.user.user_id == "sup" and records.strip.verify_button.isEnabled()

    # Verified by the supervisor, blind: the preparer's values are hidden while it is open.
    def blind(dialog) -> None:
        assert window.cover_mode == "blind"
        assert not window.form.isVisible() and not window.plan_view.isVisible()
        text = visible_texts(dialog)
        assert not any(secret in text for secret in V01_SECRETS), text

    # A slip in the re-entry: the dialog stays open with every typed value, only the field that
    # differs is marked (never with the preparer's value), and the corrected value signs.
    mismatch = V01_REENTRY | {"product.cd3_percent": "45"}

    def slip_then_correct(dialog) -> None:
        blind(dialog)
        shows_what_is_signed(dialog)
        for key, text in mismatch.items():
            type_text(qtbot, dialog.reentry[key], text)
        type_text(qtbot, dialog.user_id, SUP.user_id)
        type_text(qtbot, dialog.password, SUP.password)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.result() != QDialog.DialogCode.Accepted.value, "nothing was signed"
        assert {k: e.text() for k, e in dialog.reentry.items()} == mismatch, "typed values kept"
        marked = [k for k, note in dialog.reentry_notes.items() if note.isVisibleTo(dialog)]
        assert marked == ["product.cd3_percent"]
        assert "CD3+ percentage" in dialog.error_label.text()
        assert window.cover_mode == "blind" and not window.form.isVisible()
        dialog.reentry["product.cd3_percent"].clear()
        type_text(qtbot, dialog.reentry["product.cd3_percent"], "40")
        type_text(qtbot, dialog.password, SUP.password)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.result() == QDialog.DialogCode.Accepted.value, dialog.error_label.text()

    stub.handlers.append(slip_then_correct)
    qtbot.mouseClick(records.strip.verify_button, Qt.MouseButton.LeftButton)
    assert record_text(window) == f"{ref} — VERIFIED"
    assert records.record.signatures[-1].record_hash[:16] == shown[-1]
    assert stub.messages == []
    assert window.form.fields["patient.weight"].text() == "70 kg", "shown once verified"

    stub.handlers.append(sign_as(qtbot, SUP, meaning="Released by",
                                 check=shows_what_is_signed))
    qtbot.mouseClick(records.strip.release_button, Qt.MouseButton.LeftButton)
    assert record_text(window) == f"{ref} — RELEASED"
    assert records.record.signatures[-1].record_hash[:16] == shown[-1]
    assert len(set(shown)) == 3
    assert records.strip.state == "released"
    signatures = records.panel.signature_lines
    assert [line.split(" (")[0] for line in signatures] == [
        "Prepared by TECH, TOM", "Verified by SUPERVISOR, SUE", "Released by SUPERVISOR, SUE"]

    # Print: the signed worksheet, saved as a PDF that `doseprep verify` accepts for this record.
    preview = records.print_record()
    qtbot.addWidget(preview)
    assert isinstance(preview, DocumentPreview) and preview.isVisible()
    saved = save_pdf_to("first.pdf")
    assert preview.save_pdf() == saved
    checked = verify_pdf(saved.read_bytes())
    assert checked.valid, checked.problems
    assert checked.document_id == ref
    text = pdf_text(saved.read_bytes())
    assert "RELEASED" in text and "TECH, TOM (tech)" in text and "REPRINT" not in text
    assert all(digits in text for digits in shown), "the paper shows the hashes signed"
    (labels_button,) = preview.companion_buttons
    qtbot.mouseClick(labels_button, Qt.MouseButton.LeftButton)
    (labels,) = preview.companions
    assert labels.isVisible() and "G1234 17 654321" in pdf_text(labels.pdf)
    labels.close()
    preview.close()

    again = records.print_record()
    qtbot.addWidget(again)
    assert again.windowTitle().startswith(f"Worksheet {ref} — REPRINT")
    assert "REPRINT" in pdf_text(again.pdf)
    assert verify_pdf(again.pdf).valid
    again.close()

    # A new form; then the history finds the record by MRN and opens it read-only.
    window.new_form()
    assert record_text(window) == "Not saved" and all(inputs_enabled(window))

    def finds_one(dialog) -> None:
        assert [row.ref for row in dialog.rows] == [ref]
        assert dialog.table.item(0, 1).text() == "RELEASED"

    stub.handlers.append(search_history(qtbot, mrn="MRN-000123", check=finds_one))
    qtbot.mouseClick(records.strip.history_button, Qt.MouseButton.LeftButton)
    assert records.record.ref == ref
    assert window.form.fields["patient.weight"].text() == "70 kg"
    assert not any(inputs_enabled(window))
    assert not window.open_lab_action.isEnabled()
    assert len(records.panel.signature_lines) == 3
    assert window.plan_view.state == "ok"
    qtbot.keyClicks(window.form.fields["patient.weight"].editor, "5")
    assert window.form.fields["patient.weight"].text() == "70 kg", "disabled inputs take nothing"

    # A correction with a reason unlocks the form; saving it makes version 2.
    stub.handlers.append(give_reason(qtbot, "Patient re-weighed on the ward: 71 kg."))
    qtbot.mouseClick(records.strip.correct_button, Qt.MouseButton.LeftButton)
    assert all(inputs_enabled(window))
    assert records.banner.headline.text() == f"CORRECTING {ref} — saving makes version 2"
    type_text(qtbot, window.form.fields["patient.weight"].editor, "71 kg")
    assert records.strip.save_button.text() == "Save correction"
    qtbot.mouseClick(records.strip.save_button, Qt.MouseButton.LeftButton)
    corrected = records.record
    assert corrected.ref == f"{record.record_id}/v2"
    assert corrected.supersedes == ref
    assert corrected.correction_reason == "Patient re-weighed on the ward: 71 kg."
    assert corrected.state.value == "draft" and corrected.request["patient"]["weight"] == "71 kg"
    assert record_text(window) == f"{record.record_id}/v2 — DRAFT"
    assert all(inputs_enabled(window)) and not records.banner.isVisible()
    assert "Corrects " + ref in records.panel.lines.text()

    from doseprep.store import get_record, open_store, verify_store

    with open_store() as store:
        old = get_record(store, ref)
        assert old.state.value == "released" and old.superseded_by == corrected.ref
        assert verify_store(store).problem is None


# --- log-in -------------------------------------------------------------------------------------

def test_nothing_is_shown_before_a_log_in(qtbot, make_window, dialog_stub: DialogStub) -> None:
    add_people(TECH)
    window = make_window()
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    dialog_stub.handlers.append(lambda dialog: dialog.reject())  # the log-in is cancelled
    assert window.begin_session(lock_ms=60_000) is False
    assert window.cover_mode == "signed-out"
    assert window.stack.currentWidget() is window.records.cover
    for action in (window.preview_action, window.labels_action, window.new_action,
                   *window.records.actions.values()):
        assert not action.isEnabled(), action.text()
    assert window.records.cover.log_in_button.isVisibleTo(window.records.cover)


def test_a_wrong_password_never_says_which_and_five_lock_the_account(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    add_people(TECH)
    window = make_window()
    nobody = Person("nobody", "NO, BODY", "technician")
    dialog_stub.handlers.append(log_in_as(qtbot, nobody, expect=REFUSED))
    assert window.begin_session(lock_ms=60_000) is False
    for _ in range(4):
        dialog_stub.handlers.append(log_in_as(qtbot, TECH, password="wrong-password",
                                              expect=REFUSED))
        assert window.records.log_in() is False
    locked = re.compile(r"Login refused: the account tech is locked after 5 wrong passwords in a "
                        r"row, until \d{4}-\d\d-\d\d \d\d:\d\d UTC; every further wrong "
                        r"password extends the lock\. Wait, or ask an administrator to reset its "
                        r"password \(doseprep users reset-password tech\); the last "
                        r"administrator can be recovered at the workstation with the recovery "
                        r"code \(doseprep users recover tech\)\.")
    dialog_stub.handlers.append(log_in_as(qtbot, TECH, password="wrong-password", expect=locked))
    assert window.records.log_in() is False
    dialog_stub.handlers.append(log_in_as(qtbot, TECH, expect=locked))  # the right one, too late
    assert window.records.log_in() is False
    assert window.records.user is None


def test_the_first_administrator_types_the_password_twice_and_meets_the_policy(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    window = make_window()

    def refused_then_created(dialog) -> None:
        create_first_administrator(qtbot, again="something-else")(dialog)
        assert dialog.error_label.text().startswith("The two passwords differ")
        assert dialog.password.text() == "" and dialog.password_again.text() == ""
        type_text(qtbot, dialog.password, "short")
        type_text(qtbot, dialog.password_again, "short")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.error_label.text() == "A password must have at least 8 characters."
        create_first_administrator(qtbot)(dialog)
        assert dialog.result() == dialog.DialogCode.Accepted.value

    def prefilled(dialog) -> None:
        assert dialog.user_id.text() == "admin" and dialog.password.text() == ""
        log_in_as(qtbot, ADMIN)(dialog)

    dialog_stub.handlers += [refused_then_created, prefilled]
    dialog_stub.allow_messages = True  # the recovery code
    assert window.begin_session(lock_ms=60_000) is True
    assert window.records.user.role.value == "administrator"
    assert [m["title"] for m in dialog_stub.messages] == ["Recovery code"]


# --- lock ---------------------------------------------------------------------------------------

@SHOWS_WINDOW
def test_the_window_locks_after_inactivity_and_unlocks_with_the_password(
        qtbot, session) -> None:
    window = session(TECH, lock_ms=300)
    window.show()
    qtbot.waitExposed(window)
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    typed = window.form.raw()
    qtbot.waitUntil(lambda: window.cover_mode == "locked", timeout=5000)
    cover = window.records.cover
    assert not window.form.isVisible() and not window.plan_view.isVisible()
    assert cover.isVisible() and "TECH, TOM (tech)" in cover.text.text()
    assert not window.preview_action.isEnabled()
    assert not window.records.actions["history"].isEnabled()

    qtbot.keyClicks(cover.password, "wrong-password")
    qtbot.mouseClick(cover.unlock_button, Qt.MouseButton.LeftButton)
    assert window.cover_mode == "locked"
    assert cover.error.text() == "Unlock refused: wrong user id or password."
    assert cover.password.text() == ""

    qtbot.keyClicks(cover.password, TECH.password)
    qtbot.keyClick(cover.password, Qt.Key.Key_Return)
    assert window.cover_mode == "" and window.form.isVisible()
    assert window.form.raw() == typed, "nothing typed is lost"
    assert window.current_plan is not None
    assert window.records.idle.timer.isActive(), "the inactivity count starts again"


def test_input_restarts_the_inactivity_count(qtbot, session) -> None:
    window = session(TECH, lock_ms=2000)
    timer = window.records.idle.timer
    qtbot.waitUntil(lambda: timer.remainingTime() < 1500, timeout=3000)
    qtbot.keyClick(window.form.fields["patient.weight"].editor, Qt.Key.Key_7)
    assert timer.remainingTime() > 1800
    assert window.cover_mode == ""


def test_sign_out_from_the_lock_lets_someone_else_carry_on_with_the_form(
        qtbot, session, dialog_stub: DialogStub) -> None:
    window = session(TECH, SUP)
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    typed = window.form.raw()
    window.records.lock()
    assert window.cover_mode == "locked"
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    qtbot.mouseClick(window.records.cover.sign_out_button, Qt.MouseButton.LeftButton)
    assert window.records.user.user_id == "sup"
    assert window.cover_mode == ""
    assert window.form.raw() == typed
    assert "SUPERVISOR, SUE" in window.records.strip.user_label.text()


@SHOWS_WINDOW
def test_locking_during_a_blind_reentry_closes_it_and_signs_nothing(
        qtbot, session, dialog_stub: DialogStub) -> None:
    window = session(TECH, SUP)
    prepared_v01(qtbot, window, dialog_stub, TECH)

    def idle_while_open(dialog) -> None:
        dialog.show()
        type_text(qtbot, dialog.reentry["patient.weight"], "70 kg")
        window.records.idle.timer.timeout.emit()  # nobody touched anything for the lock time
        assert not dialog.isVisible()

    dialog_stub.handlers.append(idle_while_open)
    assert window.records.sign("verify") is None
    assert window.cover_mode == "locked", "still covered: locked, not back to the form"
    assert "locked itself after 1 minute without input" in window.records.cover.text.text()
    assert window.records.record.state.value == "prepared"


# --- saving, signing, correcting -----------------------------------------------------------------

def test_a_stale_draft_save_is_refused_and_the_form_is_kept(qtbot, session,
                                                            dialog_stub: DialogStub) -> None:
    from doseprep.store import edit_draft, open_store
    from doseprep.workflow import compute_plan

    window = session(TECH, Person("tech2", "TECHNICIAN, TINA", "technician"))
    request = load_case("v01-basic-dl3")["request"]
    type_request(qtbot, window, request)
    saved = window.records.save()
    assert saved is not None and saved.row_version == 1

    # Another workstation saves the same draft first.
    with open_store() as store:
        edit_draft(store, saved.ref, compute_plan(request | {"patient": request["patient"] | {
            "weight": "72 kg"}}), "tech2", expected_row_version=1)

    type_text(qtbot, window.form.fields["patient.weight"].editor, "71 kg")
    window.flush()
    assert "changes not saved" in record_text(window)
    assert not window.records.strip.prepare_button.isEnabled(), "sign only what is saved"
    typed = window.form.raw()
    dialog_stub.allow_messages = True
    qtbot.mouseClick(window.records.strip.save_button, Qt.MouseButton.LeftButton)
    (message,) = dialog_stub.messages
    assert message["title"] == "Record not saved"
    assert "was changed by tech2" in message["text"] and "row version 1" in message["text"]
    assert message["informative"] == "The form is kept exactly as typed."
    assert window.form.raw() == typed
    assert window.records.record.row_version == 1


def test_saving_a_draft_again_updates_it_and_signing_waits_for_the_save(qtbot, session) -> None:
    window = session(TECH)
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    first = window.records.save()
    window.flush()
    assert not window.records.strip.save_button.isEnabled(), "nothing new to save"
    assert window.records.strip.prepare_button.isEnabled()
    type_text(qtbot, window.form.fields["patient.weight"].editor, "71 kg")
    window.flush()
    assert record_text(window) == f"{first.ref} — DRAFT · changes not saved — save before signing"
    assert not window.records.strip.prepare_button.isEnabled()
    assert not window.records.strip.print_button.isEnabled()
    second = window.records.save()
    assert second.ref == first.ref and second.row_version == 2
    assert second.request["patient"]["weight"] == "71 kg"
    assert window.records.strip.prepare_button.isEnabled()


def test_the_preparer_cannot_verify_their_own_record(qtbot, session,
                                                     dialog_stub: DialogStub) -> None:
    window = session(SUP)
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    record = window.records.save()
    dialog_stub.handlers.append(sign_as(qtbot, SUP))
    window.records.sign("prepare")
    dialog_stub.handlers.append(verify_as(
        qtbot, SUP, V01_REENTRY,
        expect=f"sup prepared {record.ref}; a different person must sign \"Verified by\"."))
    assert window.records.sign("verify") is None
    assert window.records.record.state.value == "prepared"
    assert window.cover_mode == "", "the form comes back when the dialog closes"


def test_a_wrong_signing_password_keeps_the_dialog_open(qtbot, session,
                                                       dialog_stub: DialogStub) -> None:
    window = session(TECH)
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.records.save()

    def wrong_then_right(dialog) -> None:
        type_text(qtbot, dialog.user_id, "tech")
        type_text(qtbot, dialog.password, "wrong-password")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.error_label.text() == "Signature refused: wrong user id or password."
        assert dialog.password.text() == "" and dialog.user_id.text() == "tech"
        sign_as(qtbot, TECH)(dialog)

    dialog_stub.handlers.append(wrong_then_right)
    assert window.records.sign("prepare").state.value == "prepared"


def test_a_reentry_that_cannot_be_read_is_marked_beside_its_field(
        qtbot, session, dialog_stub: DialogStub) -> None:
    window = session(TECH, SUP)
    prepared_v01(qtbot, window, dialog_stub, TECH)

    def unreadable(dialog) -> None:
        verify_as(qtbot, SUP, V01_REENTRY | {"product.wbc": "lots"},
                  expect="The WBC count cannot be read; see beside the field.")(dialog)
        note = dialog.reentry_notes["product.wbc"]
        assert not note.isHidden() and note.text().startswith("✖ ")
        assert dialog.reentry_notes["patient.weight"].isHidden()

    dialog_stub.handlers.append(unreadable)
    assert window.records.sign("verify") is None
    assert window.records.record.state.value == "prepared"


def test_a_correction_needs_a_reason_and_can_be_cancelled(qtbot, session,
                                                         dialog_stub: DialogStub) -> None:
    window = session(TECH)
    record = prepared_v01(qtbot, window, dialog_stub, TECH)

    def empty_reason(dialog) -> None:
        qtbot.keyClicks(dialog.reason, "   ")
        assert not dialog.ok_button.isEnabled()
        dialog.accept()  # even forced, a blank reason does not close it accepted
        assert dialog.result() != dialog.DialogCode.Accepted.value
        dialog.reject()

    dialog_stub.handlers.append(empty_reason)
    assert window.records.correct() is False
    assert not any(inputs_enabled(window))

    dialog_stub.handlers.append(give_reason(qtbot, "Wrong DIN typed."))
    assert window.records.correct() is True
    type_text(qtbot, window.form.fields["patient.weight"].editor, "71 kg")
    dialog_stub.answers.append("discard")
    qtbot.mouseClick(window.records.banner.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog_stub.questions[-1]["text"] == "Discard the changes typed for this correction?"
    assert window.form.fields["patient.weight"].text() == "70 kg"
    assert not any(inputs_enabled(window))
    assert window.records.record.ref == record.ref


def test_a_blocked_plan_is_saved_but_the_store_refuses_to_sign_it(
        qtbot, session, dialog_stub: DialogStub) -> None:
    # Insufficient product: a block the protocol does not allow to be released by exception
    # (LOW_VIABILITY may be: tests/ui/test_exceptional_release_gui.py).
    window = session(TECH)
    type_request(qtbot, window, load_case("v05-insufficient-product")["request"])
    record = window.records.save()
    assert record.plan_status == "blocked"
    assert "cannot be signed" in window.statusBar().currentMessage()
    dialog_stub.handlers.append(sign_as(
        qtbot, TECH, expect="its plan is blocked by INSUFFICIENT_PRODUCT, which the protocol"))
    assert window.records.sign("prepare") is None


def test_a_crash_draft_of_an_open_record_comes_back_to_that_record(
        qtbot, session, make_window, dialog_stub: DialogStub) -> None:
    window = session(TECH)
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    record = window.records.save()
    assert drafts.load() is None, "a saved record needs no crash draft"
    type_text(qtbot, window.form.fields["patient.weight"].editor, "71 kg")
    window.save_draft()
    assert drafts.load().extra["record"] == record.ref

    second = make_window()
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    dialog_stub.answers.append("restore")
    assert second.begin_session(lock_ms=60_000) is True
    assert second.records.record.ref == record.ref
    assert second.form.fields["patient.weight"].text() == "71 kg"
    assert "changes not saved" in record_text(second)
    saved = second.records.save()
    assert saved.ref == record.ref and saved.request["patient"]["weight"] == "71 kg"


# --- history ------------------------------------------------------------------------------------

def test_the_history_searches_newest_first_by_name_din_state_and_date(
        qtbot, session, dialog_stub: DialogStub) -> None:
    window = session(TECH)
    request = load_case("v01-basic-dl3")["request"]
    # One collection (DIN) for the three: each record is saved with what its ledger has left
    # (each draws 1.8 mL; issue 22).
    for mrn, name, volume in (("MRN-000001", "ROE, RICHARD", "200 mL"),
                              ("MRN-000002", "POE, EDGAR", "198.2 mL"),
                              ("MRN-000003", "ROE, RITA", "196.4 mL")):
        window.records.detach()
        window.load_request(request | {"patient": request["patient"] | {"id": mrn,
                                                                        "name": name},
                                       "product": request["product"] | {"volume": volume}})
        assert window.records.save() is not None
    dialog_stub.handlers.append(sign_as(qtbot, TECH))
    window.records.sign("prepare")  # ROE, RITA is prepared, the others are drafts

    def searches(dialog) -> None:
        assert [r.patient_name for r in dialog.rows] == ["ROE, RITA", "POE, EDGAR",
                                                          "ROE, RICHARD"], "newest first"
        type_text(qtbot, dialog.patient, "roe")
        qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
        assert [r.patient_mrn for r in dialog.rows] == ["MRN-000003", "MRN-000001"]
        dialog.state.setCurrentIndex(dialog.state.findData("draft"))
        qtbot.keyClick(dialog.patient, Qt.Key.Key_Return)
        assert [r.patient_mrn for r in dialog.rows] == ["MRN-000001"]
        dialog.clear()
        type_text(qtbot, dialog.din, "G1234 17 654321")  # as printed under the barcode
        assert dialog.search() == 3
        type_text(qtbot, dialog.since, "23/11/2026")
        assert dialog.search() == 0
        assert "is not a date; write it like 2026-11-23" in dialog.error_label.text()
        type_text(qtbot, dialog.since, "2999-01-01")
        assert dialog.search() == 0 and dialog.count_label.text() == "No records match."
        assert not dialog.open_button.isEnabled()
        dialog.reject()

    dialog_stub.handlers.append(searches)
    assert window.records.history() is None
    assert window.records.record.patient_mrn == "MRN-000003", "closing opens nothing"


@SHOWS_WINDOW
def test_a_preview_is_not_a_print_and_the_first_real_print_is_not_a_reprint(
        qtbot, session, dialog_stub: DialogStub, save_pdf_to) -> None:
    """Issue 9: opening the preview counted as a print, so the first real print said REPRINT."""
    from doseprep.store import events

    window = session(TECH, SUP)
    records = window.records
    prepared_v01(qtbot, window, dialog_stub, TECH)
    dialog_stub.handlers.append(verify_as(qtbot, SUP, V01_REENTRY))
    records.sign("verify")
    dialog_stub.handlers.append(sign_as(qtbot, SUP, meaning="Released by"))
    records.sign("release")
    ref = records.record.ref
    window.flush()
    headline = window.plan_view.banner.headline.text()
    assert headline == f"RELEASED — {ref}" and "ready to prepare" not in headline

    def prints() -> list:
        return [e for e in events(records.session.store) if e.action == "record_print"]

    looked = records.print_record()
    qtbot.addWidget(looked)
    looked.close()  # looked at, not printed
    assert prints() == []
    first = records.print_record()
    qtbot.addWidget(first)
    assert "REPRINT" not in first.windowTitle() and "REPRINT" not in pdf_text(first.pdf)
    save_pdf_to("first.pdf")
    assert first.save_pdf() is not None
    assert len(prints()) == 1 and prints()[0].record_ref == ref
    first.close()
    again = records.print_record()
    qtbot.addWidget(again)
    assert "REPRINT" in again.windowTitle()


@SHOWS_WINDOW
def test_a_released_worksheet_printed_later_is_signed_by_the_releaser(
        qtbot, session, dialog_stub: DialogStub) -> None:
    """Issue 25: a released worksheet is signed with the releaser's own key. Printed right after
    the release it needs nothing more; after a lock (or in another session) the releaser types
    their password in the print dialog, which counts a wrong one like any sign-in."""
    from tests.ui.records_helpers import SUP2

    window = session(TECH, SUP, SUP2)
    records = window.records
    prepared_v01(qtbot, window, dialog_stub, TECH)
    dialog_stub.handlers.append(verify_as(qtbot, SUP, V01_REENTRY))
    records.sign("verify")
    dialog_stub.handlers.append(sign_as(qtbot, SUP2, meaning="Released by"))
    records.sign("release")
    right_away = records.print_record()  # the releaser's key was kept from the release
    qtbot.addWidget(right_away)
    first = verify_pdf(right_away.pdf)
    assert first.valid and not first.draft and first.signer_user_id == "sup2", first
    right_away.close()

    records.lock()
    assert records.unlock(TECH.password)

    def wrong_then_right(dialog: QDialog) -> None:
        assert dialog.objectName() == "worksheet-sign-dialog"
        assert "VERIFIER, VIC (sup2)" in visible_texts(dialog)
        type_text(qtbot, dialog.password, "not-the-password")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.result() != QDialog.DialogCode.Accepted.value
        assert "refused" in dialog.error_label.text(), dialog.error_label.text()
        type_text(qtbot, dialog.password, SUP2.password)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    dialog_stub.handlers.append(wrong_then_right)
    later = records.print_record()
    qtbot.addWidget(later)
    checked = verify_pdf(later.pdf)
    assert checked.valid and not checked.draft and checked.signer_user_id == "sup2", checked
    later.close()

    records.lock()
    assert records.unlock(TECH.password)
    dialog_stub.handlers.append(lambda dialog: dialog.reject())  # the releaser is not here
    assert records.print_record() is None


@SHOWS_WINDOW
def test_a_print_job_is_audited_only_when_the_printer_accepts_it(
        qtbot, session, dialog_stub: DialogStub, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """Issue 9: a print is audited when the print job is accepted — a print dialog cancelled,
    or a printer that fails, is not a print."""
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter

    from doseprep.store import events

    window = session(TECH, SUP)
    records = window.records
    prepared_v01(qtbot, window, dialog_stub, TECH)
    dialog_stub.handlers.append(verify_as(qtbot, SUP, V01_REENTRY))
    records.sign("verify")
    dialog_stub.handlers.append(sign_as(qtbot, SUP, meaning="Released by"))
    records.sign("release")

    def prints() -> list:
        return [e for e in events(records.session.store) if e.action == "record_print"]

    answer = {"accept": False}
    target = tmp_path / "job.pdf"

    def exec_(dialog: QPrintDialog) -> int:
        printer = dialog.printer()
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(target))
        return (QDialog.DialogCode.Accepted if answer["accept"]
                else QDialog.DialogCode.Rejected).value

    monkeypatch.setattr(QPrintDialog, "exec", exec_)
    preview = records.print_record()
    qtbot.addWidget(preview)
    dialog_stub.default_answer = "print"  # the example protocol is not approved: confirm
    assert preview.print_document() is False
    assert prints() == [] and not target.exists()

    answer["accept"] = True
    assert preview.print_document() is True
    assert target.stat().st_size > 0
    (job,) = prints()
    assert job.record_ref == records.record.ref and job.user_id == TECH.user_id


def test_a_form_left_open_past_its_expiry_cannot_be_signed(
        qtbot, session, dialog_stub: DialogStub, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: at 23:03 the window said OK for an infusion that expired at 18:03. The signature
    is refused at the moment of signing (INFUSION EXPIRED), whatever the screen said before
    (issue 21: the dialog checks the window's clock, which is the store's)."""
    from datetime import datetime

    import doseprep.store.expiry as store_sign

    window = session(TECH)
    records = window.records
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    records.save()
    late = datetime.fromisoformat("2026-11-23T14:00:01-08:00")  # one second past the expiry
    monkeypatch.setattr(store_sign, "expiry_now", lambda: late)
    dialog_stub.handlers.append(sign_as(qtbot, TECH, expect="INFUSION EXPIRED"))
    records.sign("prepare")
    assert records.record.state.value == "draft" and records.record.signatures == ()


def _all_widget_texts(window) -> str:
    """Every text any widget of the window holds, shown or not (dialogs already closed and
    deleted excepted)."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QTextEdit, QWidget

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    parts = []
    for widget in window.findChildren(QWidget):
        if isinstance(widget, QLineEdit | QLabel | QAbstractButton):
            parts.append(widget.text())
        elif isinstance(widget, QComboBox):
            parts.append(widget.currentText())
        elif isinstance(widget, QTextEdit):
            parts.append(widget.toPlainText())
    return "\n".join(parts)


def test_a_supervisor_opening_a_prepared_record_finds_no_preparer_value_anywhere(
        qtbot, session, dialog_stub: DialogStub) -> None:
    """Issue 9: a supervisor who opened a PREPARED record saw every value before Verify."""
    window = session(TECH, SUP)
    prepared_v01(qtbot, window, dialog_stub, TECH)
    ref = window.records.record.ref
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    window.records.sign_out()
    assert window.records.user.user_id == "sup"
    window.new_form()
    assert window.records.open_record(ref) is not None
    window.flush()
    texts = _all_widget_texts(window)
    for secret in (*V01_SECRETS, "MRN-000123", "DOE, JANE", "1.80 mL"):
        assert secret not in texts, secret
    assert window.records.strip.verify_button.isEnabled()
    assert "BLIND VERIFICATION" in window.records.banner.headline.text()
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))  # the preparer sees the values again
    window.records.sign_out()
    assert window.form.fields["patient.weight"].text() == "70 kg"


@SHOWS_WINDOW
def test_enter_after_a_scanned_din_in_the_reentry_moves_on_and_never_signs(
        qtbot, session, dialog_stub: DialogStub) -> None:
    """Issue 9: the scanner's Enter in the re-entry DIN field pressed "Sign"."""
    window = session(TECH, SUP)
    prepared_v01(qtbot, window, dialog_stub, TECH)
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    window.records.sign_out()

    def scan(dialog) -> None:
        dialog.show()  # shown, as the real dialog is: Enter would press its default button
        qtbot.waitExposed(dialog)
        for key, text in V01_REENTRY.items():  # every value right, the DIN scanned last
            if key != "product.din":
                type_text(qtbot, dialog.reentry[key], text)
        type_text(qtbot, dialog.user_id, SUP.user_id)
        type_text(qtbot, dialog.password, SUP.password)
        din = dialog.reentry["product.din"]
        din.setFocus()
        qtbot.keyClicks(din, "=G12341765432100")
        qtbot.keyClick(din, Qt.Key.Key_Return)  # the scanner's Enter
        assert dialog.result() != QDialog.DialogCode.Accepted.value
        assert dialog.isVisible() or not dialog.error_label.text()
        assert not din.hasFocus() or dialog.focusWidget() is not din
        dialog.reject()

    dialog_stub.handlers.append(scan)
    assert window.records.sign("verify") is None
    assert window.records.record.state.value == "prepared", "nothing was signed"


def test_the_sign_dialog_shows_what_is_signed_and_the_verify_dialog_does_not(
        qtbot, session, dialog_stub: DialogStub) -> None:
    """Issue 9: sign dialogs showed id, patient and hash, not the instruction, volume, DIN or
    status. The verifier sees none of them before the blind re-entry."""
    window = session(TECH, SUP)
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.records.save()
    seen: list[str] = []
    dialog_stub.handlers.append(sign_as(qtbot, TECH, check=lambda d: seen.append(
        visible_texts(d))))
    assert window.records.sign("prepare") is not None
    for shown in ("Draw 1.80 mL of product with a 3 mL syringe", "G123417654321", "DL3",
                  "OK", "version 1", "DOE, JANE"):
        assert shown in seen[0], shown
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    window.records.sign_out()
    dialog_stub.handlers.append(verify_as(qtbot, SUP, V01_REENTRY, check=lambda d: seen.append(
        visible_texts(d))))
    assert window.records.sign("verify") is not None
    assert "1.80 mL" not in seen[1] and "G123417654321" not in seen[1]


def test_a_restored_draft_says_who_typed_it_and_warns_another_user(
        qtbot, session, make_window, dialog_stub: DialogStub) -> None:
    """Issue 9: a form left by a crash is offered with the name of the person who typed it; a
    different person logging in is told it is not theirs, to check every value."""
    tech_window = session(TECH, SUP)
    tech_window.offer_draft()
    type_request(qtbot, tech_window, load_case("v01-basic-dl3")["request"])
    tech_window.save_draft()
    assert drafts.load().extra["typed_by"] == f"{TECH.printed_name} ({TECH.user_id})"
    tech_window.records.session.close()

    sup_window = make_window()
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    dialog_stub.answers.append("restore")
    assert sup_window.begin_session() is True
    assert sup_window.form.fields["patient.name"].text() == "DOE, JANE"
    informative = dialog_stub.questions[-1]["informative"]
    assert f"Typed by: {TECH.printed_name} ({TECH.user_id}) — not you" in informative
