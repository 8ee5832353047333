"""Helpers for the record tests in the window: people, and dialog handlers that act as a person.

Each ``*_as`` / ``fill_*`` function returns a handler for :class:`tests.ui.conftest.DialogStub`:
it types into the real dialog with key clicks and presses its buttons, and checks what a person
would see (a refused log-in stays open with the store's message, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit

Handler = Callable[[QDialog], None]


@dataclass(frozen=True)
class Person:
    user_id: str
    printed_name: str
    role: str

    @property
    def password(self) -> str:
        return f"{self.user_id}-secret-pw"


ADMIN = Person("admin", "ADMIN, ANN", "administrator")
TECH = Person("tech", "TECH, TOM", "technician")
SUP = Person("sup", "SUPERVISOR, SUE", "supervisor")
SUP2 = Person("sup2", "VERIFIER, VIC", "supervisor")


def add_people(*people: Person) -> None:
    """Create the accounts in the test's record database, as an administrator would."""
    from doseprep.store import add_user, administrator_exists, open_store

    with open_store() as store:
        if not administrator_exists(store):
            add_user(store, ADMIN.user_id, ADMIN.printed_name, ADMIN.role, ADMIN.password)
        for person in people:
            if person is not ADMIN:
                add_user(store, person.user_id, person.printed_name, person.role,
                         person.password, admin_id=ADMIN.user_id, admin_password=ADMIN.password)


def type_text(qtbot, editor: QLineEdit, text: str) -> None:
    editor.clear()
    qtbot.keyClicks(editor, text)
    assert editor.text() == text


def visible_texts(dialog: QDialog) -> str:
    """Every label and field text in the dialog, as one string (what a person could read)."""
    parts = [w.text() for w in dialog.findChildren(QLabel)]
    parts += [w.text() for w in dialog.findChildren(QLineEdit)]
    parts += [w.placeholderText() for w in dialog.findChildren(QLineEdit)]
    return "\n".join(parts)


def log_in_as(qtbot, person: Person, *, password: str | None = None,
              expect: str | re.Pattern[str] | None = None) -> Handler:
    """Type user id and password and press Log in; ``expect``: the refusal shown (then Cancel),
    as the exact text or a pattern it must match in full."""

    def handle(dialog: QDialog) -> None:
        assert dialog.objectName() == "login-dialog", dialog.windowTitle()
        type_text(qtbot, dialog.user_id, person.user_id)
        type_text(qtbot, dialog.password, password or person.password)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        if expect is None:
            assert dialog.result() == QDialog.DialogCode.Accepted.value, \
                dialog.error_label.text()
        else:
            assert dialog.result() != QDialog.DialogCode.Accepted.value
            if isinstance(expect, re.Pattern):
                assert expect.fullmatch(dialog.error_label.text()), dialog.error_label.text()
            else:
                assert dialog.error_label.text() == expect
            dialog.reject()

    return handle


def create_first_administrator(qtbot, person: Person = ADMIN, *,
                               again: str | None = None) -> Handler:
    def handle(dialog: QDialog) -> None:
        assert dialog.objectName() == "first-administrator-dialog"
        type_text(qtbot, dialog.user_id, person.user_id)
        type_text(qtbot, dialog.printed_name, person.printed_name)
        type_text(qtbot, dialog.password, person.password)
        type_text(qtbot, dialog.password_again, again or person.password)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    return handle


def add_user_as_admin(qtbot, person: Person, admin: Person = ADMIN) -> Handler:
    def handle(dialog: QDialog) -> None:
        assert dialog.objectName() == "add-user-dialog"
        type_text(qtbot, dialog.user_id, person.user_id)
        type_text(qtbot, dialog.printed_name, person.printed_name)
        dialog.role.setCurrentIndex(dialog.role.findData(person.role))
        type_text(qtbot, dialog.password, person.password)
        type_text(qtbot, dialog.password_again, person.password)
        type_text(qtbot, dialog.admin_password, admin.password)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.result() == QDialog.DialogCode.Accepted.value, dialog.error_label.text()

    return handle


def sign_as(qtbot, person: Person, *, meaning: str | None = None,
            check: Callable[[QDialog], Any] | None = None,
            expect: str | None = None) -> Handler:
    """Sign in a SignDialog; ``expect``: the refusal shown in the dialog (then Cancel)."""

    def handle(dialog: QDialog) -> None:
        assert dialog.objectName() in ("sign-dialog", "verify-dialog"), dialog.windowTitle()
        if meaning is not None:
            assert dialog.meaning == meaning
        if check is not None:
            check(dialog)
        type_text(qtbot, dialog.user_id, person.user_id)
        type_text(qtbot, dialog.password, person.password)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        if expect is not None:
            assert dialog.result() != QDialog.DialogCode.Accepted.value
            assert expect in dialog.error_label.text(), dialog.error_label.text()
            dialog.reject()

    return handle


def verify_as(qtbot, person: Person, values: Mapping[str, str], **options: Any) -> Handler:
    """Re-enter ``values`` (dotted path → text) in the VerifyDialog, then sign as ``person``."""
    inner_check = options.pop("check", None)

    def check(dialog: QDialog) -> None:
        assert dialog.objectName() == "verify-dialog"
        assert set(dialog.reentry) == set(values), sorted(dialog.reentry)
        assert all(editor.text() == "" for editor in dialog.reentry.values())
        if inner_check is not None:
            inner_check(dialog)
        for key, text in values.items():
            type_text(qtbot, dialog.reentry[key], text)

    return sign_as(qtbot, person, meaning="Verified by", check=check, **options)


def give_reason(qtbot, reason: str) -> Handler:
    def handle(dialog: QDialog) -> None:
        assert dialog.objectName() == "reason-dialog"
        assert not dialog.ok_button.isEnabled(), "a correction without a reason is refused"
        qtbot.keyClicks(dialog.reason, reason)
        assert dialog.ok_button.isEnabled()
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    return handle


def search_history(qtbot, *, mrn: str = "", patient: str = "", din: str = "",
                   state: str = "", open_row: int | None = 0,
                   check: Callable[[QDialog], Any] | None = None) -> Handler:
    """Search the history dialog and open row ``open_row`` (None: close without opening)."""

    def handle(dialog: QDialog) -> None:
        assert dialog.objectName() == "history-dialog"
        for editor, text in ((dialog.mrn, mrn), (dialog.patient, patient), (dialog.din, din)):
            if text:
                type_text(qtbot, editor, text)
        if state:
            dialog.state.setCurrentIndex(dialog.state.findData(state))
        qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
        if check is not None:
            check(dialog)
        if open_row is None:
            dialog.reject()
            return
        dialog.table.selectRow(open_row)
        qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)

    return handle
