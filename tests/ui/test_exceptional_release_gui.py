"""The medical director's exceptional release in the real window (issue 22, item 3), on SQLite and
PostgreSQL: a record blocked by LOW_VIABILITY, prepared and verified, is released by the medical
director in a dialog that shows the findings and requires the reason and the physician; a
supervisor is told why Release is not theirs; a technician's plan blocked by an unlisted finding
is refused the "Prepared by" signature."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from tests.conftest import load_case
from tests.ui.conftest import SHOWS_WINDOW, DialogStub, type_request
from tests.ui.records_helpers import (
    SUP,
    SUP2,
    TECH,
    Person,
    add_people,
    log_in_as,
    sign_as,
    type_text,
)

MD = Person("drdan", "DIRECTOR, DAN", "medical_director")
REASON = "No other donor; the attending accepts 60 % viability."
PHYSICIAN = "Dr. Paula Ortiz"
LOW = load_case("v06-low-viability-blocks")["request"]


def verified_low_viability_record() -> str:
    """v06 (LOW_VIABILITY) saved, prepared by TECH and verified by SUP, through the store."""
    from doseprep.store import open_store, save_draft, sign_record
    from doseprep.workflow import compute_plan
    from tests.doseprep.store.helpers import reentry_of

    add_people(TECH, SUP, SUP2, MD)
    with open_store() as store:
        record = save_draft(store, compute_plan(LOW, store=store), TECH.user_id)
        sign_record(store, record.ref, "prepare", TECH.user_id, TECH.password)
        sign_record(store, record.ref, "verify", SUP.user_id, SUP.password,
                    reentry=reentry_of(record.request))
    return record.ref


def open_as(qtbot, make_window, dialog_stub: DialogStub, person: Person, ref: str):
    window = make_window()
    dialog_stub.handlers.append(log_in_as(qtbot, person))
    assert window.begin_session(lock_ms=60_000) is True
    assert window.records.open_record(ref) is not None
    window.flush()
    return window


def release_as_director(qtbot, *, reason: str, physician: str):
    def handle(dialog: QDialog) -> None:
        assert dialog.objectName() == "exceptional-release-dialog"
        findings = dialog.findings_label.text()
        assert "LOW_VIABILITY" in findings and "below the protocol minimum" in findings
        assert not dialog.ok_button.isEnabled(), "neither text typed yet"
        qtbot.keyClicks(dialog.reason, reason)
        assert not dialog.ok_button.isEnabled(), "the physician is required too"
        type_text(qtbot, dialog.physician, physician)
        assert dialog.ok_button.isEnabled()
        type_text(qtbot, dialog.user_id, MD.user_id)
        type_text(qtbot, dialog.password, MD.password)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.result() == QDialog.DialogCode.Accepted.value, dialog.error_label.text()

    return handle


@SHOWS_WINDOW
def test_the_medical_director_releases_by_exception_in_the_window(
        qtbot, make_window, dialog_stub: DialogStub, backend: str) -> None:
    ref = verified_low_viability_record()
    window = open_as(qtbot, make_window, dialog_stub, MD, ref)
    strip = window.records.strip
    assert strip.release_button.isEnabled()
    assert strip.release_button.text() == "Exceptional release…"
    assert not strip.prepare_button.isEnabled() and not strip.verify_button.isEnabled()
    dialog_stub.handlers.append(release_as_director(qtbot, reason=REASON, physician=PHYSICIAN))
    released = window.records.sign("release")
    assert released is not None and released.state.value == "released"
    exception = released.signatures[-1].exception
    assert exception["reason"] == REASON and exception["physician"] == PHYSICIAN
    assert "RELEASED" in window.records.strip.record_label.text()
    assert not strip.release_button.isEnabled()


@SHOWS_WINDOW
def test_a_supervisor_is_told_that_the_release_is_the_medical_directors(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    ref = verified_low_viability_record()
    window = open_as(qtbot, make_window, dialog_stub, SUP2, ref)
    button = window.records.strip.release_button
    assert not button.isEnabled() and button.text() == "Release…"
    assert "only the medical director can release it" in button.toolTip()


@SHOWS_WINDOW
def test_a_plan_blocked_by_an_unlisted_finding_is_refused_the_prepared_signature(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    add_people(TECH)
    window = make_window()
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    assert window.begin_session(lock_ms=60_000) is True
    type_request(qtbot, window, load_case("v05-insufficient-product")["request"])
    record = window.records.save()
    assert record.plan_status == "blocked"
    assert "cannot be signed" in window.statusBar().currentMessage()
    window.flush()
    assert not window.records.strip.prepare_button.isEnabled()
    assert "INSUFFICIENT_PRODUCT, which the protocol does not allow" in \
        window.records.strip.prepare_button.toolTip()
    dialog_stub.handlers.append(sign_as(qtbot, TECH, expect="INSUFFICIENT_PRODUCT"))
    assert window.records.sign("prepare") is None
