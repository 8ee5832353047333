"""The Cancel/OK row at the foot of a dialog, built once (issue 11: it was built by hand in three
dialogs): right-aligned, Cancel first, the action last; Enter presses the action only where it is
the dialog's default."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QHBoxLayout, QPushButton


def button_row(dialog: QDialog, cancel_text: str, action_text: str,
               action: Callable[[], object], *,
               action_is_default: bool = True) -> tuple[QHBoxLayout, QPushButton, QPushButton]:
    """The row (to add to the dialog's layout), its cancel button (rejects the dialog) and its
    action button (calls ``action``)."""
    row = QHBoxLayout()
    row.addStretch(1)
    cancel = QPushButton(cancel_text, dialog)
    cancel.setAutoDefault(False)
    cancel.clicked.connect(dialog.reject)
    ok = QPushButton(action_text, dialog)
    if action_is_default:
        ok.setDefault(True)
    else:
        ok.setAutoDefault(False)
    ok.clicked.connect(action)
    row.addWidget(cancel)
    row.addWidget(ok)
    return row, cancel, ok
