"""The medical director's exceptional release (issue 22): a signature "Released by" for a record
blocked only by findings its protocol lists, with the reason and the recipient's physician.

:class:`ExceptionalReleaseDialog` shows every blocking finding released (code and message), asks
for the reason and the name of the physician who was told — both required, OK stays disabled
without them — then the medical director's user id and password, like every signature. The store
decides (:func:`doseprep.store.release_exceptionally`); this dialog only collects.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QWidget

from doseprep_ui.records.sign_dialogs import SignDialog
from doseprep_ui.widgets.style import set_role


class ExceptionalReleaseDialog(SignDialog):
    """Sign "Released by" as an exceptional release; ``findings`` are (code, message)."""

    def __init__(self, record_ref: str, record_hash: str,
                 findings: Sequence[tuple[str, str]], details: Sequence[tuple[str, str]] = (),
                 parent: QWidget | None = None) -> None:
        self._findings = tuple(findings)
        super().__init__("Released by", record_ref, record_hash, details, parent)
        self.setObjectName("exceptional-release-dialog")
        self.setWindowTitle("Exceptional release — doseprep")
        self.reason.setFocus()
        self.reason.textChanged.connect(self._changed)
        self.physician.textChanged.connect(self._changed)
        self._changed()

    def _build_reentry(self) -> None:
        heading = set_role(QLabel("EXCEPTIONAL RELEASE — the product does not meet its release "
                                  "criteria:", self), "dialog-title")
        heading.setWordWrap(True)
        self.body.addWidget(heading)
        self.findings_label = set_role(QLabel("\n".join(f"• {code}: {message}"
                                                        for code, message in self._findings),
                                              self), "value")
        self.findings_label.setObjectName("released-findings")
        self.findings_label.setWordWrap(True)
        self.body.addWidget(self.findings_label)
        form = self.new_form()
        self.reason = QPlainTextEdit(self)
        self.reason.setObjectName("exceptional-reason")
        self.reason.setAccessibleName("Reason for the exceptional release")
        self.reason.setPlaceholderText("why the product is released all the same")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(80)
        self.reason.setMinimumWidth(380)
        caption = set_role(QLabel("&Reason", self), "caption")
        caption.setBuddy(self.reason)
        form.addRow(caption, self.reason)
        self.physician = QLineEdit(self)
        self.physician.setObjectName("exceptional-physician")
        self.physician.setAccessibleName("The recipient's physician who was told")
        self.physician.setPlaceholderText("name of the recipient's physician who was told")
        self.physician.setMinimumWidth(380)
        caption = set_role(QLabel("Ph&ysician told", self), "caption")
        caption.setBuddy(self.physician)
        form.addRow(caption, self.physician)

    def _changed(self) -> None:
        self.ok_button.setEnabled(bool(self.texts()["reason"] and self.texts()["physician"]))

    def texts(self) -> dict[str, str]:
        return {"reason": self.reason.toPlainText().strip(),
                "physician": self.physician.text().strip()}

    def check(self) -> str:
        if not self.texts()["reason"]:
            return "Write the reason: why the product is released although it does not meet " \
                   "its release criteria."
        if not self.texts()["physician"]:
            return "Name the recipient's physician who was told."
        return super().check()
