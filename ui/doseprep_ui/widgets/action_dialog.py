"""The base of the window's own dialogs: a short form whose main button does one thing.

An :class:`ActionDialog` holds labelled fields and two buttons. The main button first runs the
dialog's own checks (an empty field, two passwords that differ), then its ``action`` — a call into
the domain that the window supplies (log in, sign, add a user). When the domain refuses, its
sentence appears in the dialog in dark red on pink and the dialog stays open with everything typed
except the password, so the person can correct and try again; when it accepts, the result is kept in
``result_value`` and the dialog closes. An error listed in ``closing_errors`` (a blind re-entry that
does not match) closes the dialog instead, kept in ``failure`` for the window to explain. The
dialogs are shown through :func:`doseprep_ui.widgets.dialogs.run_dialog`, so tests fill them in and
press the button as a person would."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from doseprep.errors import DoseprepError
from doseprep_ui.widgets.buttons import button_row
from doseprep_ui.widgets.dialogs import sentence
from doseprep_ui.widgets.style import STYLE_SHEET, set_role

log = logging.getLogger(__name__)

CAPTION_WIDTH = 190
#: The height of a field with the window's style (34 px + padding and border), so that
#: captions beside fields are centred on them.
FIELD_HEIGHT = 44


class ActionDialog(QDialog):
    """See the module docstring. Subclasses add fields with :meth:`add_field`."""

    def __init__(self, title: str, button_text: str, parent: QWidget | None = None, *,
                 cancel_text: str = "Cancel") -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{title} — doseprep")
        self.setStyleSheet(STYLE_SHEET)
        self.setModal(True)
        self.action: Callable[[Any], Any] | None = None
        self.closing_errors: tuple[type[BaseException], ...] = ()
        self.result_value: Any = None
        self.failure: BaseException | None = None
        self.layout_ = QVBoxLayout(self)
        self.layout_.setSpacing(10)
        self._sized = False
        top = QHBoxLayout()
        self.icon_label = QLabel(self)
        self.icon_label.setFixedSize(40, 40)
        self.icon_label.hide()
        self.title_label = set_role(QLabel(title, self), "dialog-title")
        self.title_label.setWordWrap(True)
        top.addWidget(self.icon_label)
        top.addWidget(self.title_label, 1)
        self.layout_.addLayout(top)
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        self.layout_.addLayout(self.body)
        self.error_label = set_role(QLabel(self), "reasons")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setAccessibleName("Problem")
        self.error_label.hide()
        self.layout_.addWidget(self.error_label)
        self.fields = self.new_form()
        buttons, self.cancel_button, self.ok_button = button_row(self, cancel_text, button_text,
                                                                 self.submit)
        self.layout_.addLayout(buttons)
        self._passwords: list[QLineEdit] = []

    def set_icon(self, pixmap: QPixmap) -> None:
        """A shape beside the title (a padlock for a log-in, the state a signature makes)."""
        self.icon_label.setPixmap(pixmap)
        self.icon_label.show()

    # --- building ----------------------------------------------------------------------------

    def add_text(self, text: str, role: str = "") -> QLabel:
        """A paragraph above the fields."""
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        if role:
            set_role(label, role)
        self.body.addWidget(label)
        return label

    def new_form(self) -> QFormLayout:
        """A further block of fields, added above the error line."""
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.layout_.insertLayout(self.layout_.indexOf(self.error_label), form)
        return form

    def add_field(self, caption: str, *, hint: str = "", password: bool = False,
                  name: str = "", form: QFormLayout | None = None) -> QLineEdit:
        """A labelled one-line field; a password field never shows what is typed."""
        editor = QLineEdit(self)
        editor.setPlaceholderText(hint)
        editor.setMinimumWidth(360)
        editor.setAccessibleName(caption.replace("&", ""))
        if name:
            editor.setObjectName(name)
        if password:
            editor.setEchoMode(QLineEdit.EchoMode.Password)
            self._passwords.append(editor)
        label = QLabel(caption, self)
        set_role(label, "caption")
        label.setBuddy(editor)
        label.setMinimumWidth(CAPTION_WIDTH)
        label.setMinimumHeight(FIELD_HEIGHT)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        (form or self.fields).addRow(label, editor)
        return editor

    def showEvent(self, event: QShowEvent) -> None:
        if not self._sized:
            # Opened at the size its contents ask for: wrapped sentences and fields are never
            # squeezed (Qt would otherwise start a dialog at its minimum).
            self._sized = True
            self.resize(self.sizeHint().expandedTo(self.size()))
        super().showEvent(event)

    # --- acting ------------------------------------------------------------------------------

    def check(self) -> str:
        """The dialog's own checks before the action; a message, or "" when all is well."""
        return ""

    def submit(self) -> bool:
        """Run the checks and the action; True when the dialog closed accepted."""
        problem = self.check()
        if problem:
            self.show_error(problem)
            return False
        assert self.action is not None, "an ActionDialog needs its action"
        try:
            self.result_value = self.action(self)
        except self.closing_errors as exc:
            self.failure = exc
            log.info("%s: %s", self.windowTitle(), exc)
            self.reject()
            return False
        except DoseprepError as exc:
            log.info("%s refused: %s", self.windowTitle(), exc)
            self.refused(exc)
            return False
        self.error_label.hide()
        self.accept()
        return True

    def refused(self, error: DoseprepError) -> None:
        """Show why the domain refused; passwords are cleared to be typed again."""
        self.show_error(sentence(error.message, self.names()))
        for editor in self._passwords:
            editor.clear()
        if self._passwords:
            self._passwords[0].setFocus()

    def names(self) -> tuple[str, ...]:
        """User ids typed in the dialog (a message that begins with one keeps its case)."""
        return tuple(e.text().strip() for e in self.findChildren(QLineEdit)
                     if e.objectName() in ("user-id", "admin-id"))

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow (never shrink) to the height the contents need at the current width, so a
        refusal of several lines never overlaps the fields or the buttons (issue 9)."""
        self.layout_.activate()
        if self.layout_.hasHeightForWidth():
            needed = self.layout_.totalHeightForWidth(self.width())
        else:
            needed = self.layout_.totalSizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)
