"""Action dialogs (log-in, signatures, accounts): a refusal of several lines grows the dialog
instead of overlapping the fields and buttons (issue 9)."""

from __future__ import annotations

from doseprep_ui.widgets.action_dialog import ActionDialog
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import SHOWS_WINDOW


@SHOWS_WINDOW
def test_a_long_refusal_grows_the_dialog_and_overlaps_nothing(qtbot) -> None:
    dialog = ActionDialog("Sign as prepared", "Sign")
    qtbot.addWidget(dialog)
    dialog.add_field("User ID", name="user-id")
    dialog.add_field("Password", password=True)
    dialog.show()
    QApplication.processEvents()
    before = dialog.height()
    dialog.show_error("The record changed since it was shown: PREP-2026-000001/v1 was edited "
                      "by tech at 09:14. Close this dialog, read the record again and sign "
                      "what is on screen. " * 3)
    QApplication.processEvents()
    assert dialog.height() > before
    error = dialog.error_label.geometry()
    assert error.height() >= dialog.error_label.heightForWidth(error.width())
    assert error.bottom() < dialog.ok_button.geometry().top()
    assert error.bottom() < dialog.cancel_button.geometry().top()
