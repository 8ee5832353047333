"""Electronic signatures (21 CFR Part 11) and the reason for a correction.

:class:`SignDialog` asks for the signer's user id and password at the moment of signing and
shows what is being signed: the meaning ("Prepared by", "Verified by", "Released by"), the
record and version, the first 16 hex digits of the record hash, and the statement that the
electronic signature is the legally binding equivalent of a handwritten one.

:class:`VerifyDialog` adds the blind double entry: empty fields for the key values (patient
weight, product volume or net weight, WBC, CD3+ %, viability %, sample dilution, dose level,
DIN), re-typed from the source documents. It shows none of the preparer's values, and the window
hides its form and plan while it is open. The store compares the values; a mismatch closes the
dialog (nothing signed) and the window names the fields.

:class:`ReasonDialog` asks why a signed record is corrected; it cannot be accepted empty.

:class:`WorksheetSignDialog` asks the person who released a record for their password, to sign
its worksheet with their own key (issue 25), when it is printed in a later session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from doseprep.errors import DoseprepError, InputError
from doseprep.signoff import STEPS, State
from doseprep_ui.form.fields import ERROR_MARK
from doseprep_ui.widgets.action_dialog import FIELD_HEIGHT, ActionDialog
from doseprep_ui.widgets.buttons import button_row
from doseprep_ui.widgets.dialogs import sentence
from doseprep_ui.widgets.icons import record_pixmap
from doseprep_ui.widgets.style import STYLE_SHEET, set_role, set_state

if TYPE_CHECKING:
    from doseprep.deadlines import Deadline
    from doseprep_ui.widgets.clock import WindowClock

HASH_DIGITS = 16
STATEMENT = ("Your electronic signature is the legally binding equivalent of your handwritten "
             "signature (21 CFR Part 11). Signing records your printed name, the date and time "
             "with its time zone and the meaning “{meaning}”, bound to the record hash above.")

#: Hints for the re-entered fields: how to type them, never what was typed.
REENTRY_HINTS = {
    "patient.weight": "e.g. 72.4 kg or 159.6 lb",
    "product.volume": "e.g. 212 mL or 0.212 L",
    "product.net_weight": "e.g. 218.4 g",
    "product.wbc": "e.g. 85.3 x10^3/uL or 87.5 10^9/L",
    "product.cd3_percent": "% of viable CD45+",
    "product.viability_percent": "% viable",
    "product.sample_dilution": "1 if undiluted; 5 for 1 in 5",
    "order.dose_level": "as on the order, e.g. DL2",
    "product.din": "scan the DIN barcode, or type the DIN and its check character",
}


class SignDialog(ActionDialog):
    """See the module docstring. ``record_hash`` is the hash the signature will bind;
    ``details`` are (caption, text) rows about the record; ``status`` the plan's status as
    signed ("" for a blind verification, which does not show it). ``deadlines`` (the domain's,
    for this record) are checked against ``clock`` while the dialog is open — its status line
    follows — and again when Sign is pressed: past one, nothing is signed and the dialog says
    why (issue 21)."""

    def __init__(self, meaning: str, record_ref: str, record_hash: str,
                 details: Sequence[tuple[str, str]] = (), parent: QWidget | None = None, *,
                 clock: WindowClock | None = None, deadlines: Sequence[Deadline] = (),
                 status: str = "") -> None:
        self._clock = clock
        self._deadlines = tuple(deadlines)
        self._status = status
        super().__init__(f"Sign: {meaning}", f"&Sign — {meaning}", parent)
        self.setObjectName("sign-dialog")
        after = next((s.after for s in STEPS.values() if s.meaning == meaning), State.DRAFT)
        self.set_icon(record_pixmap(after.value, 40))
        self.meaning = meaning
        self.record_ref = record_ref
        self.hash_prefix = record_hash[:HASH_DIGITS]
        self.record_label = self._detail("Record", record_ref)
        for caption, text in details:
            self._detail(caption, text)
        self.status_label = self._detail("Plan status" if status else "Expiry", "")
        self.status_label.setObjectName("sign-status")
        self.hash_label = self._detail("Record hash", f"{self.hash_prefix}…")
        set_role(self.hash_label, "hash")
        self.hash_label.setToolTip(
            f"SHA-256 {record_hash}\nThe record as saved, in the state this signature gives it, "
            "after the earlier signatures; the printed worksheet shows the same first 16 digits "
            "beside the signature.")
        self._build_reentry()
        self.statement = set_role(QLabel(STATEMENT.format(meaning=meaning), self), "statement")
        self.statement.setWordWrap(True)
        self.layout_.insertWidget(self.layout_.indexOf(self.error_label), self.statement)
        # The credentials come after the statement, as the signature line does on paper.
        credentials = self.new_form()
        self.user_id = self.add_field("Signer's &user id", hint="your own user id",
                                      name="user-id", form=credentials)
        self.password = self.add_field("&Password", password=True, name="password",
                                       form=credentials)
        self.user_id.setFocus()
        if clock is not None:
            clock.ticked.connect(self.follow_clock)
        self.follow_clock()

    def expired(self) -> Deadline | None:
        """What of the record has expired at the clock's instant (None: nothing, or no clock)."""
        if self._clock is None:
            return None
        from doseprep.deadlines import expired

        return expired(self._deadlines, self._clock.now())

    def follow_clock(self) -> None:
        """Show the record's status at the clock's instant; past a deadline, Sign is disabled
        and the dialog says why."""
        from doseprep.deadlines import next_deadline

        expiry = self.expired()
        upcoming = (next_deadline(self._deadlines, self._clock.now())
                    if self._clock is not None else None)
        if expiry is not None:  # the whole sentence is in the refusal below
            text = f"{expiry.headline} at {expiry.when}"
        elif upcoming is not None:
            text = " · ".join(filter(None, (self._status, f"expires {upcoming.when}")))
        else:
            text = self._status
        self.status_label.setText(text)
        set_state(self.status_label, "error" if expiry is not None else "")
        self.status_label.setVisible(bool(text))
        self.status_label.property("caption_label").setVisible(bool(text))
        self.ok_button.setEnabled(expiry is None)
        if expiry is not None:
            self.show_error(self._refusal(expiry))

    @staticmethod
    def _refusal(expiry: Deadline) -> str:
        return f"Not signed: {expiry.headline}. {expiry.message}"

    def _detail(self, caption: str, text: str) -> QLabel:
        row = QHBoxLayout()
        name = set_role(QLabel(caption, self), "key")
        name.setMinimumWidth(110)
        value = set_role(QLabel(text, self), "value")
        value.setProperty("caption_label", name)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        value.setWordWrap(True)
        row.addWidget(name, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(value, 1)
        self.body.addLayout(row)
        return value

    def _build_reentry(self) -> None:
        """Subclasses add fields here (between the record details and the statement)."""

    def check(self) -> str:
        expiry = self.expired()  # at the moment Sign is pressed, not when the dialog opened
        if expiry is not None:
            self.follow_clock()
            return self._refusal(expiry)
        if not self.user_id.text().strip():
            return "Type your user id: each signature needs the signer's user id and password."
        if not self.password.text():
            return "Type your password: each signature needs it at the moment of signing."
        return ""


class VerifyDialog(SignDialog):
    """A signature "Verified by" after a blind re-entry of ``fields`` (dotted request paths)."""

    def __init__(self, record_ref: str, record_hash: str, fields: Sequence[str],
                 labels: Mapping[str, str], details: Sequence[tuple[str, str]] = (),
                 parent: QWidget | None = None, *, clock: WindowClock | None = None,
                 deadlines: Sequence[Deadline] = ()) -> None:
        self._reentry_fields = tuple(fields)
        self._labels = dict(labels)
        super().__init__("Verified by", record_ref, record_hash, details, parent, clock=clock,
                         deadlines=deadlines)
        self.setObjectName("verify-dialog")
        first = next(iter(self.reentry.values()), None)
        if first is not None:
            first.setFocus()

    def _build_reentry(self) -> None:
        intro = set_role(QLabel(
            "Blind re-entry: type each value again from the source documents (the order, the "
            "analyzer printout, the bag label). What the preparer entered is hidden until you "
            "have verified.", self), "cover-text")
        intro.setWordWrap(True)
        self.body.addWidget(intro)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(8)
        self.layout_.insertLayout(self.layout_.indexOf(self.error_label), grid)
        self.reentry: dict[str, QLineEdit] = {}
        self.reentry_notes: dict[str, QLabel] = {}
        rows = (len(self._reentry_fields) + 1) // 2
        for index, key in enumerate(self._reentry_fields):
            row, column = index % rows, 2 * (index // rows)
            caption = self._labels[key]
            editor = QLineEdit(self)
            editor.setObjectName(f"reentry-{key}")
            editor.setPlaceholderText(REENTRY_HINTS.get(key, ""))
            editor.setToolTip(REENTRY_HINTS.get(key, ""))
            editor.setMinimumWidth(260)
            editor.setAccessibleName(caption)
            label = set_role(QLabel(caption[:1].upper() + caption[1:], self), "caption")
            label.setBuddy(editor)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            note = set_role(QLabel(self), "note", "error")
            note.setWordWrap(True)
            note.setMaximumWidth(300)
            note.hide()
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(editor)
            cell.addWidget(note)
            grid.addWidget(label, row, column, Qt.AlignmentFlag.AlignRight |
                           Qt.AlignmentFlag.AlignTop)
            grid.addLayout(cell, row, column + 1)
            label.setMinimumHeight(FIELD_HEIGHT)
            self.reentry[key] = editor
            self.reentry_notes[key] = note
            editor.installEventFilter(self)  # Enter moves on; it never signs

    def values(self) -> dict[str, str]:
        """The re-entered values by dotted path, as typed or scanned: the store compares them
        (a typed DIN must carry its check character there)."""
        return {key: editor.text().strip() for key, editor in self.reentry.items()}

    def check(self) -> str:
        for note in self.reentry_notes.values():
            note.hide()
        empty = [self._labels[k] for k, e in self.reentry.items()
                 if not e.text().strip() and k != "product.sample_dilution"]
        if empty:
            return "Re-enter every value from the source documents: " + ", ".join(empty) + "."
        return super().check()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in a re-entry field moves to the next one and never signs: a keyboard-wedge
        scanner ends the DIN with Enter (issue 9: that pressed "Sign")."""
        if (event.type() == QEvent.Type.KeyPress and watched in self.reentry.values()
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)):
            editors = list(self.reentry.values())
            index = editors.index(watched)
            following = editors[index + 1] if index + 1 < len(editors) else self.user_id
            following.setFocus()
            return True
        return super().eventFilter(watched, event)

    def refused(self, error: DoseprepError) -> None:
        from doseprep.store import ReentryMismatchError

        if isinstance(error, ReentryMismatchError):
            # The typed values stay; only the fields that differ are marked — never with the
            # preparer's value. Each refused attempt is in the audit trail.
            for key, note in self.reentry_notes.items():
                differs = key in error.fields
                set_state(self.reentry[key], "error" if differs else "")
                note.setText(f"{ERROR_MARK} differs from what the preparer entered; check the "
                             "source document" if differs else "")
                note.setVisible(differs)
            self.show_error("Not signed: the re-entered "
                            f"{', '.join(self._labels[k] for k in error.fields)} "
                            f"{'does' if len(error.fields) == 1 else 'do'} not match. Check the "
                            "source documents with the preparer; nothing was signed.")
            self.password.clear()
            self.reentry[error.fields[0]].setFocus()
            return
        key = getattr(error, "field", "").removeprefix("reentry.")
        if isinstance(error, InputError) and key in self.reentry:
            note = self.reentry_notes[key]
            note.setText(f"{ERROR_MARK} {sentence(error.message)}")
            set_state(note, "error")
            note.show()
            self.reentry[key].setFocus()
            self.show_error(f"The {self._labels[key]} cannot be read; see beside the field.")
            return
        super().refused(error)


class WorksheetSignDialog(ActionDialog):
    """The releaser's password, to sign a released record's worksheet with their own key."""

    def __init__(self, record_ref: str, releaser: tuple[str, str],
                 parent: QWidget | None = None) -> None:
        super().__init__("Sign the released worksheet", "&Sign worksheet", parent)
        self.setObjectName("worksheet-sign-dialog")
        self.set_icon(record_pixmap(State.RELEASED.value, 40))
        self.releaser = releaser
        self.add_text(f"The worksheet of {record_ref} is signed with the key of the person who "
                      f"released it, {releaser[1]} ({releaser[0]}), so that it cannot be made "
                      f"without them. {releaser[1]} types their password.")
        self.password = self.add_field(f"Password of {releaser[0]}", password=True,
                                       name="password")
        self.password.setFocus()

    def check(self) -> str:
        return "" if self.password.text() else "Type the password."


class _WhyDialog(QDialog):
    """A reason to write before an irreversible change; OK only once something is written."""

    def __init__(self, name: str, title: str, heading: str, text: str, accessible: str,
                 placeholder: str, ok_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(f"{title} — doseprep")
        self.setStyleSheet(STYLE_SHEET)
        layout = QVBoxLayout(self)
        layout.addWidget(set_role(QLabel(heading, self), "dialog-title"))
        label = QLabel(text, self)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.reason = QPlainTextEdit(self)
        self.reason.setObjectName("reason")
        self.reason.setAccessibleName(accessible)
        self.reason.setPlaceholderText(placeholder)
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(110)
        layout.addWidget(self.reason)
        buttons, _, self.ok_button = button_row(self, "Cancel", ok_text, self.accept)
        layout.addLayout(buttons)
        self.reason.textChanged.connect(self._changed)
        self._changed()

    def _changed(self) -> None:
        self.ok_button.setEnabled(bool(self.text()))

    def text(self) -> str:
        return self.reason.toPlainText().strip()

    def accept(self) -> None:
        if self.text():
            super().accept()


class ReasonDialog(_WhyDialog):
    """Why a signed record is corrected."""

    def __init__(self, record_ref: str, next_version: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(
            "reason-dialog", "Correct a signed record", f"Correct {record_ref}",
            f"{record_ref} is signed and stays as it is. Correcting it makes version "
            f"{next_version}: a new draft that points to this one, carries your reason and must "
            "be signed again. Say what was wrong and why it changes (this goes into the record "
            "and the audit trail).", "Reason for the correction",
            "e.g. patient re-weighed on the ward: 71.2 kg, not 70 kg",
            "&Correct — unlock the form", parent)


class DiscardDialog(_WhyDialog):
    """Why a frozen or thawed bag is discarded (it is never thawed or infused after)."""

    def __init__(self, bag_ref: str, state: str, parent: QWidget | None = None) -> None:
        super().__init__(
            "discard-dialog", "Discard a bag", f"Discard {bag_ref} ({state})",
            f"{bag_ref} will never be thawed or infused after this. Say why it is discarded "
            "(this goes into the inventory and the audit trail).", "Reason for the discard",
            "e.g. bag cracked on thawing; infusion expired before the patient arrived",
            "&Discard the bag", parent)
