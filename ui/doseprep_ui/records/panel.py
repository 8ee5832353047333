"""What the window shows about the session and the saved record, and the cover over patient data.

- :class:`RecordStrip`, along the top: who is logged in (printed name and role), the record in the
  form — "Not saved" or ``PREP-2026-000123/v1 — DRAFT`` with a state icon (a square while it can
  change, a circle with P, V or a tick once signed) — and the record buttons.
- :class:`RecordBanner`, below it, for a signed record: a padlock and "READ-ONLY — signed record;
  use Correct… to make a new version"; while a correction is typed, what saving will make; for a
  record past its expiry, INFUSION EXPIRED or PRODUCT EXPIRED and what to do.
- :class:`RecordPanel`, above the plan: the record's history in words — created by, the version
  it corrects and why, and every signature with its meaning, printed name, time and zone.
- :class:`CoverPage`, which replaces the form and the plan when nobody is logged in, when the
  workstation locks after inactivity (password to unlock, or sign out) and during a blind
  re-entry.

None of these calls the store; the window gives them what to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from doseprep_ui.widgets.banner import IconBanner
from doseprep_ui.widgets.icons import padlock_pixmap, record_pixmap, status_pixmap
from doseprep_ui.widgets.moments import describe_moment
from doseprep_ui.widgets.style import set_role, set_state

HASH_DIGITS = 16


class ElidingLabel(QLabel):
    """A one-line label that never widens the window: it paints its text elided ("…") when
    short of room; ``text()`` stays complete and the full text is the tooltip."""

    MINIMUM_WIDTH = 60

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.MINIMUM_WIDTH), hint.height())

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), 240), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        if self.fontMetrics().horizontalAdvance(self.text()) <= rect.width():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                              rect.width())
        self.style().drawItemText(painter, rect, int(self.alignment()), self.palette(),
                                  self.isEnabled(), shown, self.foregroundRole())


class RecordStrip(QFrame):
    """The session and record line with the record buttons (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        set_role(self, "strip")
        self.setObjectName("record-strip")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.setSpacing(8)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.user_label = set_role(ElidingLabel(self), "strip-user")
        self.user_label.setTextFormat(Qt.TextFormat.PlainText)
        record_row = QHBoxLayout()
        record_row.setSpacing(6)
        self.record_icon = QLabel(self)
        self.record_icon.setFixedSize(24, 24)
        self.record_label = set_role(ElidingLabel(self), "strip-record")
        self.record_label.setTextFormat(Qt.TextFormat.PlainText)
        self.record_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        record_row.addWidget(self.record_icon)
        record_row.addWidget(self.record_label, 1)
        texts.addWidget(self.user_label)
        texts.addLayout(record_row)
        row.addLayout(texts, 1)

        # No mnemonics: the form's captions use most letters; the Record menu has its own.
        def button(text: str, name: str, tip: str) -> QPushButton:
            widget = set_role(QPushButton(text, self), "strip")
            widget.setObjectName(name)
            widget.setToolTip(tip)
            widget.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            row.addWidget(widget)
            return widget

        self.save_button = button("Save record", "save-record",
                                  "Save the plan as a draft record (or save the open draft)")
        self.prepare_button = button("Sign as prepared…", "sign-prepared",
                                     "Sign “Prepared by” (user id and password)")
        self.verify_button = button("Verify…", "verify",
                                    "A second person re-enters the key values blind and signs "
                                    "“Verified by”")
        self.release_button = button("Release…", "release", "Sign “Released by”")
        self.correct_button = button("Correct…", "correct",
                                     "Make a new version of this signed record, with a reason")
        self.print_button = button("Print record…", "print-record",
                                   "The saved record's signed worksheet and labels")
        self.history_button = button("History…", "history", "Search the saved records")
        self.show_user(None)
        self.show_record(None)

    def show_user(self, user: Any | None) -> None:
        if user is None:
            self.user_label.setText("Nobody is logged in")
        else:
            self.user_label.setText(f"Logged in: {user.printed_name} ({user.user_id}) — "
                                    f"{user.role.value}")
        self.user_label.setAccessibleName(self.user_label.text())

    def show_record(self, record: Any | None, note: str = "", expiry: Any = None) -> None:
        """The record in the form (None: not saved), a note (changes not saved, ...) and what
        of it has expired at the window clock's instant (a Deadline, or None)."""
        if record is None:
            state, text = "unsaved", "Not saved"
        else:
            state, text = record.state.value, f"{record.ref} — {record.state.words}"
        if expiry is not None:
            text = f"{text} · {expiry.headline}"
        if note:
            text = f"{text} · {note}"
        self.state = state
        self.record_icon.setPixmap(record_pixmap(state, 24) if expiry is None
                                   else status_pixmap("blocked", 24))
        self.record_label.setText(text)
        self.record_label.setAccessibleName(f"Record: {text}")


class RecordBanner(IconBanner):
    """READ-ONLY for a signed record, or what a correction in progress will make."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, roles=("record-banner", "record-banner-text",
                                        "record-banner-detail"), icon_size=36)
        self.setObjectName("record-banner")
        self.cancel_button = QPushButton("Cancel correction", self)
        self.cancel_button.setObjectName("cancel-correction")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.add_trailing(self.cancel_button)
        self.mode = ""
        self.hide()

    def show_read_only(self, headline: str, detail: str) -> None:
        self._show("read-only", headline, detail)
        self.icon.setPixmap(padlock_pixmap(36))

    def show_expired(self, headline: str, detail: str) -> None:
        """A record past its expiry: nothing may be done with its product any more."""
        self._show("expired", headline, detail)
        self.icon.setPixmap(status_pixmap("blocked", 36))

    def show_correcting(self, headline: str, detail: str) -> None:
        self._show("correcting", headline, detail)
        self.icon.setPixmap(record_pixmap("draft", 36))

    def _show(self, mode: str, headline: str, detail: str) -> None:
        self.mode = mode
        for widget in (self, self.headline):
            set_state(widget, mode)
        self.headline.setText(headline)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        self.cancel_button.setVisible(mode == "correcting")
        self.setAccessibleName(headline)
        self.setAccessibleDescription(detail)
        self.show()

    def clear(self) -> None:
        self.mode = ""
        self.hide()


def signature_line(signature: Any) -> str:
    """One signature in words: meaning, printed name (user id), local time with zone, hash."""
    return (f"{signature.meaning} {signature.printed_name} ({signature.user_id}) — "
            f"{describe_moment(signature.signed_at)} {signature.time_zone} — record hash "
            f"{signature.record_hash[:HASH_DIGITS]}…")


class RecordPanel(QFrame):
    """The saved record in words, above the plan: versions, reason, signatures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        set_role(self, "record-panel")
        self.setObjectName("record-panel")
        # The plan's side keeps the width the splitter gives it; long lines wrap or clip here.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(4)
        self.title = set_role(QLabel(self), "heading")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title)
        self.lines = set_role(QLabel(self), "record-lines")
        self.lines.setWordWrap(True)
        self.lines.setTextFormat(Qt.TextFormat.PlainText)
        self.lines.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.lines)
        self.signatures = QWidget(self)
        self.grid = QGridLayout(self.signatures)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(2)
        self.grid.setColumnStretch(3, 1)
        layout.addWidget(self.signatures)
        self.signature_lines: tuple[str, ...] = ()
        self.hide()

    def show_record(self, record: Any | None, created: str = "",
                    extra: Sequence[str] = ()) -> None:
        """Show ``record`` (a StoredRecord); ``created`` says when and by whom, in words."""
        if record is None:
            self.signature_lines = ()
            self.hide()
            return
        self.title.setText(f"Record {record.ref} — {record.state.words}")
        lines = [created] if created else []
        if record.supersedes:
            lines.append(f"Corrects {record.supersedes}. Reason: {record.correction_reason}")
        if record.superseded_by:
            lines.append(f"Corrected by {record.superseded_by}: this version is kept as it was "
                         "signed and is no longer the one to use.")
        if not record.signatures:
            lines.append("No signatures yet: a draft can still change.")
        lines.extend(extra)
        self.lines.setText("\n".join(lines))
        self._show_signatures(record.signatures)
        self.setAccessibleName(self.title.text())
        self.setAccessibleDescription("\n".join([self.lines.text(), *self.signature_lines]))
        self.show()

    def _show_signatures(self, signatures: Sequence[Any]) -> None:
        lines = tuple(signature_line(s) for s in signatures)
        if lines == self.signature_lines and self.grid.count():
            return
        self.signature_lines = lines
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        for row, signature in enumerate(signatures):
            texts = ("✔", signature.meaning, f"{signature.printed_name} ({signature.user_id})",
                     describe_moment(signature.signed_at))
            for column, text in enumerate(texts):
                label = set_role(QLabel(text, self.signatures),
                                 "value" if column in (1, 2) else "record-lines")
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                label.setToolTip(f"{signature_line(signature)}\nTime zone {signature.time_zone}"
                                 f"\nFull record hash: {signature.record_hash}")
                self.grid.addWidget(label, row, column)
        if signatures:
            last = signatures[-1].record_hash
            hash_label = set_role(QLabel(f"Record hash signed last: {last[:HASH_DIGITS]}…",
                                         self.signatures), "record-lines")
            hash_label.setToolTip(last)
            hash_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.grid.addWidget(hash_label, len(signatures), 1, 1, 3)
        self.signatures.setVisible(bool(signatures))


class CoverPage(QWidget):
    """Stands in for the form and the plan: signed out, locked, or blind re-entry."""

    unlock_requested = Signal(str)
    sign_out_requested = Signal()
    log_in_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cover")
        set_role(self, "cover")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        outer = QVBoxLayout(self)
        outer.addStretch(2)
        box = QFrame(self)
        box.setMaximumWidth(720)
        column = QVBoxLayout(box)
        column.setSpacing(12)
        top = QHBoxLayout()
        self.icon = QLabel(box)
        self.icon.setFixedSize(56, 56)
        self.title = set_role(QLabel(box), "cover-title")
        self.title.setWordWrap(True)
        top.addWidget(self.icon)
        top.addWidget(self.title, 1)
        column.addLayout(top)
        self.text = set_role(QLabel(box), "cover-text")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        column.addWidget(self.text)
        self.password = QLineEdit(box)
        self.password.setObjectName("unlock-password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        self.password.returnPressed.connect(self._unlock)
        column.addWidget(self.password)
        self.error = set_role(QLabel(box), "reasons")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        column.addWidget(self.error)
        buttons = QHBoxLayout()
        self.unlock_button = QPushButton("&Unlock", box)
        self.unlock_button.clicked.connect(self._unlock)
        self.sign_out_button = QPushButton("Sign &out — log in as someone else", box)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.log_in_button = QPushButton("&Log in…", box)
        self.log_in_button.clicked.connect(self.log_in_requested)
        self.quit_button = QPushButton("&Quit doseprep", box)
        self.quit_button.clicked.connect(self.quit_requested)
        for widget in (self.unlock_button, self.sign_out_button, self.log_in_button,
                       self.quit_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        column.addLayout(buttons)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)
        self.mode = ""

    def _set(self, mode: str, title: str, text: str, *, icon: Any,
             buttons: Sequence[QWidget], password: bool = False) -> None:
        self.mode = mode
        self.title.setText(title)
        self.text.setText(text)
        self.icon.setPixmap(icon)
        self.password.clear()
        self.password.setVisible(password)
        self.error.clear()
        self.error.hide()
        for widget in (self.unlock_button, self.sign_out_button, self.log_in_button,
                       self.quit_button):
            widget.setVisible(widget in buttons)
        self.setAccessibleName(title)
        self.setAccessibleDescription(text)

    def show_signed_out(self, text: str = "") -> None:
        self._set("signed-out", "Log in to use doseprep",
                  text or "The form, the plan and the records are shown only to a person who "
                          "has logged in.",
                  icon=padlock_pixmap(56), buttons=(self.log_in_button, self.quit_button))
        self.log_in_button.setDefault(True)

    def show_locked(self, who: str, why: str) -> None:
        self._set("locked", "Locked",
                  f"{why} The form and the plan are hidden; nothing typed is lost.\n\n"
                  f"Type the password of {who} to carry on, or sign out so that someone else "
                  "can log in.",
                  icon=padlock_pixmap(56), buttons=(self.unlock_button, self.sign_out_button),
                  password=True)
        self.password.setFocus()

    def show_blind(self, record_ref: str) -> None:
        self._set("blind", "Blind re-entry in progress",
                  f"Verification of {record_ref}: the values the preparer entered are hidden "
                  "until the verification dialog is closed.",
                  icon=record_pixmap("prepared", 56), buttons=())

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        self.password.clear()
        self.password.setFocus()

    def _unlock(self) -> None:
        if self.mode == "locked":
            self.unlock_requested.emit(self.password.text())
