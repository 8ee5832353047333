"""Blind means blind (issue 21, item 5): while a blind re-entry is pending or open, no widget of
the window shows any of the values the verifier must type again.

The preparer types a record with values found nowhere else (weight 63.7 kg, volume 187.3 mL,
WBC 91.3 ×10³/µL, CD3+ 37.9 %, viability 93.7 %), saves and signs it; a supervisor logs in at the
same workstation, finds it in the history and opens it. At three moments — the history listing
it, the record held blind on screen, the verification dialog open before anything is typed —
every widget of the application that belongs to the window is walked (``QApplication.allWidgets``,
shown or hidden): its text, placeholder, tooltip, status tip, window title, accessible name and
description, combo box items, and every cell and header of every list, table and tree. None may
hold the record's DIN (13 characters, with its check character, eye-readable
``G1234 17 654321``), dose level, weight or counts. For a fresh, a freeze and a thaw record.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from doseprep_ui.main_window import MainWindow
from PySide6.QtCore import QCoreApplication, QEvent, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from doseprep.isbt128 import din_from_scan_or_entry
from tests.conftest import load_case
from tests.ui.conftest import SHOWS_WINDOW, DialogStub, type_request
from tests.ui.records_helpers import (
    SUP,
    SUP2,
    TECH,
    add_people,
    log_in_as,
    search_history,
    sign_as,
    type_text,
    verify_as,
)
from tests.ui.test_freeze_mode import EXAMPLE
from tests.ui.test_thaw_mode import start_thaw

DIN = din_from_scan_or_entry("G123417654321", "din")[0]
#: Every form of the DIN: 13 characters, with its check character, eye-readable.
DIN_FORMS = (DIN.code, DIN.code + DIN.check_character, DIN.eye_readable,
             DIN.eye_readable.replace(" ", ""))
#: The counts and the weight as typed (and the WBC as the domain writes it per mL).
WEIGHT, VOLUME, WBC, CD3, VIABILITY = "63.7", "187.3", "91.3", "37.9", "93.7"
VALUES = (WEIGHT, VOLUME, WBC, "9.13", CD3, VIABILITY)


def fresh_request() -> dict:
    request = copy.deepcopy(load_case("v01-basic-dl3")["request"])
    request["order"]["dose_level"] = "DL4"  # the domain's own messages give DL3 as an example
    request["patient"]["weight"] = f"{WEIGHT} kg"
    request["product"].update(volume=f"{VOLUME} mL", wbc=f"{WBC} x10^3/uL",
                              cd3_percent=CD3, viability_percent=VIABILITY)
    return request


def freeze_request() -> dict:
    request = copy.deepcopy(EXAMPLE)
    request["aliquots"][0]["dose_level"] = "DL2"  # not DL3: the domain's example
    request["patient"]["weight"] = f"{WEIGHT} kg"
    request["product"].update(volume=f"{VOLUME} mL", wbc=f"{WBC} x10^3/uL",
                              cd3_percent=CD3, viability_percent=VIABILITY)
    return request


# --- the walk ----------------------------------------------------------------------------------

def _belongs_to(widget: QWidget, window: MainWindow) -> bool:
    while widget is not None:
        if widget is window:
            return True
        widget = widget.parentWidget()
    return False


def _view_texts(view: QAbstractItemView) -> Iterable[str]:
    model = view.model()
    if model is None:
        return
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
             Qt.ItemDataRole.StatusTipRole, Qt.ItemDataRole.AccessibleTextRole)

    def walk(parent: QModelIndex) -> Iterable[str]:
        for row in range(model.rowCount(parent)):
            for column in range(model.columnCount(parent)):
                index = model.index(row, column, parent)
                for role in roles:
                    value = model.data(index, role)
                    if value is not None:
                        yield str(value)
                if column == 0 and model.rowCount(index) > 0:  # a tree's branch
                    yield from walk(index)

    yield from walk(QModelIndex())
    for orientation, count in ((Qt.Orientation.Horizontal, model.columnCount()),
                               (Qt.Orientation.Vertical, model.rowCount())):
        for section in range(count):
            value = model.headerData(section, orientation, Qt.ItemDataRole.DisplayRole)
            if value is not None:
                yield str(value)


def widget_texts(widget: QWidget) -> list[str]:
    """Everything ``widget`` could show or say about itself."""
    texts = [widget.windowTitle(), widget.toolTip(), widget.statusTip(), widget.whatsThis(),
             widget.accessibleName(), widget.accessibleDescription()]
    if isinstance(widget, QLabel | QAbstractButton):
        texts.append(widget.text())
    if isinstance(widget, QLineEdit):
        texts += [widget.text(), widget.placeholderText()]
    if isinstance(widget, QComboBox):
        texts += [widget.currentText(), *(widget.itemText(i) for i in range(widget.count()))]
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        texts += [widget.toPlainText(), widget.placeholderText()]
    if isinstance(widget, QAbstractItemView):
        texts += list(_view_texts(widget))
    if isinstance(widget, QMenu):
        texts += [t for a in widget.actions() for t in (a.text(), a.toolTip(), a.statusTip())]
    return texts


def walk_every_widget(window: MainWindow, secrets: Iterable[str], when: str) -> int:
    """Assert that no widget of the window (its dialogs included) holds any of ``secrets``;
    returns how many widgets were walked."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # gone from the screen
    QApplication.processEvents()
    mine = [w for w in QApplication.allWidgets() if _belongs_to(w, window)]
    strays = [w for w in QApplication.topLevelWidgets()
              if w.isVisible() and not _belongs_to(w, window)]
    assert not strays, f"{when}: windows not of this window: {strays}"
    found = []
    for widget in mine:
        texts = widget_texts(widget)
        if widget is window:
            texts.append(window.statusBar().currentMessage())
        for text in texts:
            for secret in secrets:
                if secret and secret in text:
                    found.append(f"{type(widget).__name__} {widget.objectName()!r}: "
                                 f"{secret!r} in {text!r}")
    assert not found, f"{when}: the record's values are on screen:\n" + "\n".join(found)
    return len(mine)


def verify_blind_walking(qtbot, window: MainWindow, dialog_stub: DialogStub, ref: str,
                         secrets: tuple[str, ...], reentry: dict[str, str]) -> None:
    """As SUP: find the record in the history and open it, look, open Verify… and look — the
    walk at each moment — then re-enter the values and sign."""
    records = window.records
    walked: list[int] = []

    def listed(dialog: QDialog) -> None:
        refs = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
        assert ref in refs, refs
        walked.append(walk_every_widget(window, secrets, "the history listing it"))
        dialog.table.selectRow(refs.index(ref))

    dialog_stub.handlers.append(search_history(qtbot, mrn="MRN-000123", open_row=None,
                                               check=listed))
    records.history()  # closed without opening: searched only
    dialog_stub.handlers.append(search_history(qtbot, mrn="MRN-000123",
                                               open_row=_row_of(records, ref)))
    assert records.history() is not None and records.record.ref == ref
    assert records.blind_hold
    walked.append(walk_every_widget(window, secrets, "the record held blind"))
    # A print would show every value: not before the re-entry.
    assert not records.strip.print_button.isEnabled() and not records.actions["print"].isEnabled()
    assert "Blind verification" in records.strip.print_button.toolTip()
    assert records.print_record() is None
    dialog_stub.handlers.append(search_history(qtbot, mrn="MRN-000123", open_row=None,
                                               check=lambda _d: walked.append(walk_every_widget(
                                                   window, secrets, "history while held"))))
    records.history()

    def look_first(dialog: QDialog) -> None:
        walked.append(walk_every_widget(window, secrets, "the verification dialog open"))

    dialog_stub.handlers.append(verify_as(qtbot, SUP, reentry, check=look_first))
    assert records.sign("verify") is not None
    assert records.record.state.value == "verified"
    assert all(count > 200 for count in walked), walked  # the whole window was walked


def _row_of(records, ref: str) -> int:
    rows = records.search(mrn="MRN-000123")
    return [r.ref for r in rows].index(ref)


def secrets_of(dose_level: str, *extra: str) -> tuple[str, ...]:
    return (*DIN_FORMS, dose_level, *VALUES, *extra)


# --- fresh, freeze, thaw -----------------------------------------------------------------------

@SHOWS_WINDOW
def test_a_fresh_record_in_blind_verification_is_nowhere_on_screen(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    add_people(TECH, SUP, SUP2)
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    assert window.begin_session(lock_ms=3_600_000)
    records = window.records
    type_request(qtbot, window, fresh_request())
    window.flush()
    assert window.current_plan is not None and window.current_plan.status.value != "blocked"
    assert records.save() is not None
    dialog_stub.handlers.append(sign_as(qtbot, TECH, meaning="Prepared by"))
    assert records.sign("prepare") is not None
    ref = records.record.ref
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    records.sign_out()
    verify_blind_walking(qtbot, window, dialog_stub, ref, secrets_of("DL4"), {
        "patient.weight": f"{WEIGHT} kg", "product.volume": f"{VOLUME} mL",
        "product.wbc": f"{WBC} x10^3/uL", "product.cd3_percent": CD3,
        "product.viability_percent": VIABILITY, "product.sample_dilution": "1",
        "order.dose_level": "DL4", "product.din": DIN.keyboard_entry})
    assert window.form.fields["patient.weight"].text() == f"{WEIGHT} kg"  # verified: shown


def prepared_freeze(qtbot, make_window, dialog_stub: DialogStub) -> MainWindow:
    add_people(TECH, SUP, SUP2)
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    assert window.begin_session(lock_ms=3_600_000)
    records = window.records
    window.show_freeze_mode()
    panel = window.freeze_panel
    panel.load(freeze_request())
    panel.recompute()
    assert panel.status.text() in ("FREEZE PLAN OK", "FREEZE PLAN — CHECK THE WARNINGS"), \
        panel.status.text() + panel.findings.text()
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    dialog_stub.handlers.append(sign_as(qtbot, TECH, meaning="Prepared by"))
    qtbot.mouseClick(records.strip.prepare_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "prepared"
    return window


FREEZE_REENTRY = {"patient.weight": f"{WEIGHT} kg", "product.volume": f"{VOLUME} mL",
                  "product.wbc": f"{WBC} x10^3/uL", "product.cd3_percent": CD3,
                  "product.viability_percent": VIABILITY, "product.sample_dilution": "1",
                  "product.din": DIN.keyboard_entry}


@SHOWS_WINDOW
def test_a_freeze_record_in_blind_verification_is_nowhere_on_screen(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    window = prepared_freeze(qtbot, make_window, dialog_stub)
    ref = window.records.record.ref
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    window.records.sign_out()
    # The freeze plan's dose levels are DL2 (A0) and DL4 (B0).
    verify_blind_walking(qtbot, window, dialog_stub, ref, secrets_of("DL2", "DL4"),
                         FREEZE_REENTRY)


@SHOWS_WINDOW
def test_a_thaw_record_in_blind_verification_is_nowhere_on_screen(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    """The released freeze record of the same DIN stays on the freeze tab and in the history
    of the technician who thawed the bag; while the thaw waits for its blind verification,
    neither shows the DIN, the division or the dose level."""
    window = prepared_freeze(qtbot, make_window, dialog_stub)
    records = window.records
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    records.sign_out()
    dialog_stub.handlers.append(verify_as(qtbot, SUP, FREEZE_REENTRY))
    assert records.sign("verify") is not None
    dialog_stub.handlers.append(log_in_as(qtbot, SUP2))
    records.sign_out()
    dialog_stub.handlers.append(sign_as(qtbot, SUP2, meaning="Released by"))
    assert records.sign("release") is not None

    # The technician thaws B0 (DL4) with today's weight and the post-thaw counts; the freeze
    # tab still holds the freeze of that DIN.
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    records.sign_out()
    start_thaw(qtbot, window, mrn="MRN-000123", scan=(f"={DIN.code}00", "=<S12352B0"))
    assert window.freeze_panel.fields["product.din"].text() == DIN.typed_form
    panel = window.thaw_panel
    counts = {"patient.weight": "61.3 kg", "post_thaw.wbc": "38.9 x10^3/uL",
              "post_thaw.sample_dilution": "1", "post_thaw.cd3_percent": "36.1",
              "post_thaw.viability_percent": "83.9", "post_thaw.sample_volume": "1 mL"}
    for key, text in counts.items():
        type_text(qtbot, panel.fields[key], text)
    panel.recompute()
    assert panel.status.text().startswith("THAW PLAN"), panel.problem_label.text()
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    dialog_stub.handlers.append(sign_as(qtbot, TECH, meaning="Prepared by"))
    qtbot.mouseClick(records.strip.prepare_button, Qt.MouseButton.LeftButton)
    thaw_ref = records.record.ref
    assert records.record.kind == "thaw" and records.record.state.value == "prepared"

    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    records.sign_out()
    secrets = (*DIN_FORMS, "DL4", ":B0", "61.3", "38.9", "36.1", "83.9", *VALUES)
    verify_blind_walking(qtbot, window, dialog_stub, thaw_ref, secrets, {
        **counts, "aliquot.din": DIN.keyboard_entry, "aliquot.division": "B0"})
    assert panel.fields["patient.weight"].text() == "61.3 kg"
