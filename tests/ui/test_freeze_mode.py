"""The window's freeze mode (issue 12), in the real window under the offscreen platform: the plan
follows every keystroke, every wrong field is named, and a freeze plan is saved as a record,
signed Prepared, blindly verified (the verifier sees none of the preparer's values) and released
through the record strip, which puts its bags in the inventory."""

from __future__ import annotations

import json
from pathlib import Path

from doseprep_ui.main_window import MainWindow
from PySide6.QtCore import Qt

from tests.ui.conftest import SHOWS_WINDOW, DialogStub
from tests.ui.records_helpers import (
    SUP,
    SUP2,
    TECH,
    add_people,
    log_in_as,
    sign_as,
    type_text,
    verify_as,
)

EXAMPLE = json.loads((Path(__file__).parents[2] / "resources" / "examples"
                      / "freeze-dl3-dl4.json").read_text(encoding="utf-8"))


def test_the_freeze_plan_follows_the_keystrokes(qtbot, window: MainWindow) -> None:
    window.show_freeze_mode()
    panel = window.freeze_panel
    panel.load(EXAMPLE)
    panel.recompute()
    assert panel.status.text() == "FREEZE PLAN OK"
    assert panel.result_table.rowCount() == 2
    assert panel.result_table.item(1, 0).text() == "B0"
    assert "12.00 mL, 20 mL syringe" in panel.result_table.item(1, 2).text()
    assert panel.save_button.isEnabled()

    # A tired technician clears the weight and types a CD3+ of 400 %: both are named, the plan
    # (and its bag volumes) disappears, nothing can be saved.
    panel.fields["patient.weight"].clear()
    type_text(qtbot, panel.fields["product.cd3_percent"], "400")
    panel.recompute()
    problems = panel.problem_label.text()
    assert "patient.weight" in problems and "product.cd3_percent" in problems
    assert panel.result_table.rowCount() == 0 and not panel.save_button.isEnabled()
    assert panel.fields["patient.weight"].toolTip()

    # An aliquot too many for the product: blocked, named per aliquot.
    panel.load(EXAMPLE)
    for _ in range(3):
        panel.add_aliquot(2, 1, "DL6")
    panel.recompute()
    assert panel.plan is None and panel.problem_label.isVisibleTo(panel)
    assert "listed twice" in panel.problem_label.text()


def test_the_freeze_tabs_din_is_typed_with_its_check_character(qtbot, window: MainWindow) -> None:
    """Issue 21: a DIN typed in the freeze tab without its check character (or with a mistyped
    digit) is refused naming product.din; loaded from a request file, the field shows the check
    character; typed with it, or scanned, the plan is back."""
    window.show_freeze_mode()
    panel = window.freeze_panel
    panel.load(EXAMPLE)
    panel.recompute()
    assert panel.fields["product.din"].text() == "G1234 17 654321 A"
    assert panel.status.text() == "FREEZE PLAN OK"
    for typed in ("G123417654321", "G123417654322"):
        panel.fields["product.din"].clear()
        type_text(qtbot, panel.fields["product.din"], typed)
        panel.recompute()
        assert panel.plan is None and not panel.save_button.isEnabled()
        assert "product.din: The DIN" in panel.problem_label.text()
        assert "typed without its check character" in panel.fields["product.din"].toolTip()
    for good in ("G123417654321A", "=G12341765432100"):
        panel.fields["product.din"].clear()
        type_text(qtbot, panel.fields["product.din"], good)
        panel.recompute()
        assert panel.status.text() == "FREEZE PLAN OK"


def release_freeze_in_window(qtbot, make_window, dialog_stub: DialogStub) -> MainWindow:
    """The freeze plan saved, prepared, blindly verified and released in the window (ends with
    SUP2 logged in and the released record open)."""
    add_people(TECH, SUP, SUP2)
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    assert window.begin_session(lock_ms=60_000) is True
    records = window.records
    window.show_freeze_mode()
    panel = window.freeze_panel
    panel.load(EXAMPLE)
    qtbot.waitUntil(panel.save_button.isEnabled)  # the plan follows on the next event turn
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    record = records.record
    assert record is not None and record.kind == "freeze"
    assert panel.fields["patient.weight"].isReadOnly()  # a saved record is not edited here

    dialog_stub.handlers.append(sign_as(qtbot, TECH, meaning="Prepared by"))
    qtbot.mouseClick(records.strip.prepare_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "prepared"

    # The supervisor logs in: the freeze tab holds none of the preparer's values.
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    records.sign_out()
    records.open_record(record.ref)
    assert all(not edit.text() for edit in panel.fields.values())
    assert panel.result_table.rowCount() == 0
    values = {"patient.weight": "70 kg", "product.volume": "200 mL",
              "product.wbc": "100 x10^3/uL", "product.cd3_percent": "40",
              "product.viability_percent": "98", "product.sample_dilution": "1",
              "product.din": "G123417654321A"}
    dialog_stub.handlers.append(verify_as(qtbot, SUP, values))
    qtbot.mouseClick(records.strip.verify_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "verified"
    assert panel.fields["patient.weight"].text() == "70 kg"  # shown again after the re-entry

    dialog_stub.handlers.append(log_in_as(qtbot, SUP2))
    records.sign_out()
    records.open_record(record.ref)
    dialog_stub.handlers.append(sign_as(qtbot, SUP2, meaning="Released by"))
    qtbot.mouseClick(records.strip.release_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "released"
    return window


@SHOWS_WINDOW
def test_a_freeze_record_signed_and_released_in_the_window(
        qtbot, make_window, dialog_stub: DialogStub) -> None:
    from doseprep.store.inventory import list_aliquots

    window = release_freeze_in_window(qtbot, make_window, dialog_stub)
    bags = list_aliquots(window.records.session.store)
    assert [(b.division, b.state.value) for b in bags] == [("A0", "frozen"), ("B0", "frozen")]
