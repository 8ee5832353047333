"""The records controller's log-in, lock, unlock, sign-out and account actions."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog

from doseprep.errors import DoseprepError
from doseprep_ui.records.session import lock_timeout_ms
from doseprep_ui.records.words import (
    duration,
)
from doseprep_ui.widgets import dialogs
from doseprep_ui.widgets.dialogs import sentence

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)


class SessionActions:
    """Part of :class:`~doseprep_ui.records.controller.RecordWorkflow` (its attributes are
    set there)."""

    # --- log-in, lock, sign out ----------------------------------------------------------------

    def begin(self, lock_ms: int | None = None) -> bool:
        """Cover the window and ask for a log-in (first creating the administrator if none)."""
        self.idle.set_timeout_ms(lock_timeout_ms() if lock_ms is None else lock_ms)
        self.window.show_cover("signed-out")
        self.cover.show_signed_out()
        return self.log_in()

    def log_in(self) -> bool:
        """Ask who is at the workstation; True once someone logged in."""
        from doseprep.store import administrator_exists, authenticate
        from doseprep.store.accounts import create_first_administrator

        window = self.window
        try:
            store = self.session.store
            has_admin = administrator_exists(store)
        except DoseprepError as exc:
            log.error("record store not opened: %s", exc)
            dialogs.inform(window, icon=dialogs.Icon.Critical, title="Record database",
                           text="The record database cannot be opened.",
                           informative=f"{sentence(exc.message)}\n\nCheck the database setting "
                                       "(DOSEPREP_DATABASE_URL or settings.toml) or ask IT, then "
                                       "log in again.")
            self.cover.show_signed_out(sentence(exc.message))
            return False
        user_id = ""
        if not has_admin:
            from doseprep_ui.records.account_dialogs import FirstAdministratorDialog

            first = FirstAdministratorDialog(window)
            first.action = lambda d: create_first_administrator(
                store, d.user_id.text(), d.printed_name.text(), d.password.text())
            created = dialogs.run_dialog(first)
            setup = first.result_value
            first.deleteLater()
            if not created:
                return False
            admin = setup.user
            user_id = admin.user_id
            dialogs.inform(  # issue 25: the only way back in for a lone, locked-out administrator
                window, title="Recovery code",
                text=f"Write down this recovery code now; it is shown only once:\n\n"
                     f"{setup.recovery_code}",
                informative="Keep it locked away from this workstation. With it, the last "
                            "administrator can get back in at this workstation when locked out "
                            "or when the password is lost (doseprep users recover). Write down "
                            "the lab key's certificate fingerprint too; inspectors check "
                            f"worksheets against it:\n{setup.lab_fingerprint}")
            window.statusBar().showMessage(f"Administrator {admin.user_id} created; log in.",
                                           8000)
        from doseprep_ui.records.account_dialogs import LoginDialog

        dialog = LoginDialog(window, user_id=user_id)
        dialog.action = lambda d: authenticate(store, d.user_id.text(), d.password.text(),
                                       purpose="login", at_terminal=True)
        accepted = dialogs.run_dialog(dialog)
        user = dialog.result_value
        dialog.deleteLater()
        if not accepted:
            return False
        self.session.user = user
        log.info("%s logged in (%s)", user.user_id, user.role.value)
        self._audit_session("login", user.user_id)
        window.reload_approvals()  # the store is open now: protocols carry their approval
        if self.record is not None:  # another person: the open record is shown for them
            self._show_in_form(self.record)
        window.hide_cover()
        self.idle.start()
        self.refresh()
        window.statusBar().showMessage(f"Logged in as {user.printed_name} ({user.role.value}).",
                                       6000)
        if not self._drafts_offered:
            self._drafts_offered = True
            window.offer_draft()
        return True

    def lock(self, *, idle: bool = False) -> None:
        """Hide the form and the plan until the logged-in user's password is typed again
        (``idle``: because nobody used the workstation for the lock time)."""
        user = self.session.user
        if user is None or self.window.cover_mode in ("locked", "signed-out"):
            return
        self._close_dialogs()
        self.worksheet_signers.clear()
        self.idle.stop()
        self.window.show_cover("locked")
        why = (f"doseprep locked itself after {duration(self.idle.timeout_ms)} without input."
               if idle else f"{user.printed_name} locked doseprep.")
        self.cover.show_locked(f"{user.printed_name} ({user.user_id})", why)
        log.info("window locked for %s", user.user_id)
        self._audit_session("lock", user.user_id, "idle" if idle else "locked by the user")
        self.refresh()

    def unlock(self, password: str) -> bool:
        from doseprep.store import authenticate

        user = self.session.user
        if user is None:
            return False
        try:
            authenticate(self.session.store, user.user_id, password, purpose="unlock",
                         at_terminal=True)
        except DoseprepError as exc:
            self.cover.show_error(sentence(exc.message, [user.user_id]))
            return False
        log.info("window unlocked by %s", user.user_id)
        self._audit_session("unlock", user.user_id)
        self.window.hide_cover()
        self.idle.start()
        self.refresh()
        return True

    def sign_out(self) -> bool:
        """Forget who was logged in (the form stays as typed) and ask for a log-in."""
        if self.session.user is not None:
            log.info("%s signed out", self.session.user.user_id)
            self._audit_session("logout", self.session.user.user_id)
        self._close_dialogs()
        self.worksheet_signers.clear()
        self.session.user = None
        self.idle.stop()
        self.window.show_cover("signed-out")
        self.cover.show_signed_out()
        self.refresh()
        return self.log_in()

    def _audit_session(self, action: str, user_id: str, detail: str | None = None) -> None:
        """Put a session event into the audit trail; a failure is logged, never blocks a lock."""
        from doseprep.store.users import record_session_event

        try:
            record_session_event(self.session.store, action, user_id, detail=detail)
        except DoseprepError as exc:
            log.error("session event %s of %s not audited: %s", action, user_id, exc)

    def _close_dialogs(self) -> None:
        """Close every dialog over the window (they may show patient data)."""
        for dialog in self.window.findChildren(QDialog):
            if dialog.isVisible():
                dialog.reject()

    def add_user(self) -> bool:
        from doseprep.store import add_user
        from doseprep_ui.records.account_dialogs import AddUserDialog

        admin = self.session.user
        if admin is None:
            return False
        store = self.session.store
        dialog = AddUserDialog(f"{admin.printed_name} ({admin.user_id})", self.window)
        dialog.action = lambda d: add_user(
            store, d.user_id.text(), d.printed_name.text(), d.role.currentData(),
            d.password.text(), admin_id=admin.user_id, admin_password=d.admin_password.text(),
            at_terminal=True)
        added = dialogs.run_dialog(dialog)
        user = dialog.result_value
        dialog.deleteLater()
        if added:
            self.window.statusBar().showMessage(
                f"Added {user.user_id} ({user.printed_name}) as {user.role.value}.", 8000)
        return added
