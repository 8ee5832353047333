"""Records in the window: log-in, lock, save, sign, verify blind, release, correct, print, history.

:class:`RecordWorkflow` is the window's half of issue 5. It owns the session (the record store and
the logged-in user, :mod:`doseprep_ui.records.session`), the record open in the form, and the
widgets that show them (:mod:`doseprep_ui.records.panel`), and it turns each button into one call of
the use cases (:mod:`doseprep.workflow`) or the store — no SQL, no hashing and no arithmetic here;
what is enabled comes from :func:`doseprep.workflow.allowed_actions`. What the store refuses is
shown in its own words.

The record in the form is *dirty* when the form's request, or the protocol or lab settings it is
computed with, differ from the saved record's; only a clean record can be signed or printed, so
a signature or a printout never covers anything but what was saved and what is on screen. A
signed record is read-only: every input is disabled until "Correct…" is given a reason; saving
then makes the next version. The store and its libraries (SQLAlchemy, argon2) are imported only
when first needed, after the window has painted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenuBar

from doseprep.errors import DoseprepError, InputError
from doseprep.signing import Role, State, Step, step_named
from doseprep.workflow import allowed_actions, blind_for, signing_hash
from doseprep_ui.form.evaluation import describe_moment
from doseprep_ui.records.panel import CoverPage, RecordBanner, RecordPanel, RecordStrip
from doseprep_ui.records.session import IdleWatch, Session, lock_timeout_ms
from doseprep_ui.widgets import dialogs
from doseprep_ui.widgets.dialogs import sentence

if TYPE_CHECKING:
    from doseprep.plan import PreparationPlan
    from doseprep.store import StoredRecord
    from doseprep_ui.records.port import WindowPort

log = logging.getLogger(__name__)

T = TypeVar("T")



def local_time(utc_text: str) -> str:
    """A stored UTC time as this workstation's local time in words."""
    from doseprep.store.canonical import parse_utc_text

    return describe_moment(parse_utc_text(utc_text).astimezone())


def short_local_time(utc_text: str) -> str:
    """A stored UTC time as local ``2026-11-23 10:03``, for the history table."""
    from doseprep.store.canonical import parse_utc_text

    return parse_utc_text(utc_text).astimezone().strftime("%Y-%m-%d %H:%M")


class RecordWorkflow(QObject):
    """See the module docstring. ``changed`` fires whenever what it shows was refreshed."""

    changed = Signal()

    def __init__(self, window: WindowPort) -> None:
        super().__init__(window)
        self.window = window
        self.session = Session()
        self.record: StoredRecord | None = None
        self.correction_reason: str | None = None
        self.blind_hold = False  # the open record's values are withheld (see blind_for)
        self.idle = IdleWatch(lock_timeout_ms_default(), self)
        self.idle.idle.connect(lambda: self.lock(idle=True))
        self._drafts_offered = False

        self.strip = RecordStrip(window)
        self.banner = RecordBanner(window)
        self.panel = RecordPanel(window)
        self.cover = CoverPage(window)
        strip = self.strip
        strip.save_button.clicked.connect(self.save)
        strip.prepare_button.clicked.connect(lambda: self.sign("prepare"))
        strip.verify_button.clicked.connect(lambda: self.sign("verify"))
        strip.release_button.clicked.connect(lambda: self.sign("release"))
        strip.correct_button.clicked.connect(self.correct)
        strip.print_button.clicked.connect(self.print_record)
        strip.history_button.clicked.connect(self.history)
        self.banner.cancel_requested.connect(self.cancel_correction)
        self.cover.unlock_requested.connect(self.unlock)
        self.cover.sign_out_requested.connect(self.sign_out)
        self.cover.log_in_requested.connect(self.log_in)
        self.cover.quit_requested.connect(window.close)
        self.actions: dict[str, QAction] = {}

    @property
    def user(self) -> Any:
        return self.session.user

    # --- menus ---------------------------------------------------------------------------------

    def build_menus(self, bar: QMenuBar) -> None:
        """The Record and Session menus (the same steps as the strip's buttons)."""
        record = bar.addMenu("&Record")
        session = bar.addMenu("&Session")

        def add(menu: Any, key: str, text: str, slot: Callable[[], object],
                shortcut: str | None = None) -> None:
            action = QAction(text, self.window)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _checked=False: slot())
            menu.addAction(action)
            self.actions[key] = action

        add(record, "save", "&Save record", self.save, "Ctrl+S")
        add(record, "prepare", "Sign as &prepared…", lambda: self.sign("prepare"))
        add(record, "verify", "&Verify…", lambda: self.sign("verify"))
        add(record, "release", "R&elease…", lambda: self.sign("release"))
        record.addSeparator()
        add(record, "correct", "&Correct…", self.correct)
        add(record, "print", "Print rec&ord…", self.print_record, "Ctrl+Shift+P")
        add(record, "history", "&History…", self.history, "Ctrl+H")
        add(session, "lock", "&Lock now", self.lock, "Ctrl+Shift+L")
        add(session, "sign_out", "Sign &out", self.sign_out)
        session.addSeparator()
        add(session, "add_user", "&Add a user… (administrators)", self.add_user)

    # --- state shown -------------------------------------------------------------------------

    def is_dirty(self, plan: PreparationPlan | None) -> bool:
        """True when the form differs from the saved record (or there is none)."""
        record = self.record
        if record is None or plan is None:
            return True
        from doseprep.request import request_to_dict

        return (request_to_dict(plan.request) != record.request
                or plan.protocol.fingerprint != record.protocol_fingerprint
                or plan.lab.fingerprint != record.lab_fingerprint)

    def settings_differ(self, plan: PreparationPlan | None) -> bool:
        record = self.record
        return (record is not None and plan is not None
                and (plan.protocol.fingerprint != record.protocol_fingerprint
                     or plan.lab.fingerprint != record.lab_fingerprint))

    def unsaved_work(self) -> bool:
        """True when closing or clearing the form would lose something typed."""
        if not self.window.form.has_user_input():
            return False
        if self.record is None or self.correction_reason is not None:
            return True
        evaluation = self.window.evaluation
        return self.is_dirty(evaluation.plan if evaluation is not None else None)

    def refresh(self) -> None:
        """Show the user, the record and its state, and enable what can be done now."""
        window = self.window
        user = self.session.user
        record = self.record
        evaluation = window.evaluation
        plan = evaluation.plan if evaluation is not None else None
        dirty = False if self.blind_hold else self.is_dirty(plan)
        active = user is not None and not window.cover_mode
        correcting = self.correction_reason is not None and record is not None
        latest = record is not None and record.superseded_by is None
        state = record.state if record is not None else None
        signed = record is not None and record.state.signed
        allowed = allowed_actions(record, user if active else None, has_plan=plan is not None,
                                  dirty=dirty, correcting=correcting)

        note = ""
        if correcting:
            note = "correction being typed — not saved"
        elif record is not None and not latest:
            note = f"corrected by {record.superseded_by}"
        elif state is State.DRAFT and dirty:
            note = "changes not saved — save before signing"
        self.strip.show_user(user)
        self.strip.show_record(record, note)
        window.plan_view.set_record(record.ref if record is not None else None,
                                    state.value if state is not None and not dirty else None)

        for step, button in self._sign_buttons().items():
            button.setToolTip(allowed.reasons.get(step, ""))
        enabled = {
            "save": allowed.save,
            **{step.value: on for step, on in allowed.sign.items()},
            "correct": allowed.correct,
            "print": allowed.print,
            "history": active,
            "lock": active,
            "sign_out": user is not None,
            "add_user": allowed.manage_accounts,
        }
        buttons = {"save": self.strip.save_button, "prepare": self.strip.prepare_button,
                   "verify": self.strip.verify_button, "release": self.strip.release_button,
                   "correct": self.strip.correct_button, "print": self.strip.print_button,
                   "history": self.strip.history_button}
        self.strip.print_button.setToolTip(
            "A draft record has nothing signed to print: sign it as prepared first (the form's "
            "Preview worksheet shows it, marked DRAFT — NOT FOR USE)." if state is State.DRAFT else
            "Print the record's signed worksheet and labels (a label scans as a product only "
            "from a verified record).")
        for key, on in enabled.items():
            if key in buttons:
                buttons[key].setEnabled(on)
            if key in self.actions:
                self.actions[key].setEnabled(on)
        self.strip.save_button.setText("Save correction" if correcting else "Save record")

        if correcting:
            assert record is not None
            self.banner.show_correcting(
                f"CORRECTING {record.ref} — saving makes version {record.version + 1}",
                f"Reason: {self.correction_reason}\nThe signed version stays exactly as it was "
                "signed; the new version is a draft and must be signed again.")
        elif record is not None and not latest:
            self.banner.show_read_only(
                f"READ-ONLY — {record.ref} was corrected by {record.superseded_by}",
                "This version is kept as it was signed. Open the newest version from the "
                "history to work on it.")
        elif self.blind_hold and record is not None:
            self.banner.show_read_only(
                f"BLIND VERIFICATION — {record.ref} is PREPARED; its values are hidden",
                "A second person verifies it by typing the key values again from the source "
                "documents (Verify…). What the preparer entered is shown once it is verified.")
        elif signed:
            detail = (f"{record.ref} is {record.state.words}: it cannot change. Correct… makes a "
                      "new version with a reason; the signatures of this version stay valid.")
            if self.settings_differ(plan):
                detail += ("\nThe plan on screen is computed with other protocol or lab settings "
                           "than the record's; open the record's settings files to see its own "
                           "numbers. Printing waits until they match.")
            self.banner.show_read_only("READ-ONLY — signed record; use Correct… to make a new "
                                       "version", detail)
        else:
            self.banner.clear()
        if record is None:
            self.panel.show_record(None)
        else:
            created = f"Created by {record.created_by}, {local_time(record.created_at)}."
            if not record.signatures and record.updated_at != record.created_at:
                created += (f" Last saved by {record.updated_by}, "
                            f"{local_time(record.updated_at)}.")
            self.panel.show_record(record, created)
        self.changed.emit()

    def _sign_buttons(self) -> dict[Step, Any]:
        return {Step.PREPARE: self.strip.prepare_button, Step.VERIFY: self.strip.verify_button,
                Step.RELEASE: self.strip.release_button}

    # --- log-in, lock, sign out ----------------------------------------------------------------

    def begin(self, lock_ms: int | None = None) -> bool:
        """Cover the window and ask for a log-in (first creating the administrator if none)."""
        self.idle.set_timeout_ms(lock_timeout_ms() if lock_ms is None else lock_ms)
        self.window.show_cover("signed-out")
        self.cover.show_signed_out()
        return self.log_in()

    def log_in(self) -> bool:
        """Ask who is at the workstation; True once someone logged in."""
        from doseprep.store import add_user, administrator_exists, authenticate

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
            first.action = lambda d: add_user(store, d.user_id.text(),
                                          d.printed_name.text(), Role.ADMINISTRATOR,
                                          d.password.text())
            created = dialogs.run_dialog(first)
            admin = first.result_value
            first.deleteLater()
            if not created:
                return False
            user_id = admin.user_id
            window.statusBar().showMessage(f"Administrator {admin.user_id} created; log in.",
                                           8000)
        from doseprep_ui.records.account_dialogs import LoginDialog

        dialog = LoginDialog(window, user_id=user_id)
        dialog.action = lambda d: authenticate(store, d.user_id.text(), d.password.text(),
                                       purpose="login")
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
        self.idle.stop()
        self.window.show_cover("locked")
        why = (f"doseprep locked itself after {_duration(self.idle.timeout_ms)} without input."
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
            authenticate(self.session.store, user.user_id, password, purpose="unlock")
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
            d.password.text(), admin_id=admin.user_id, admin_password=d.admin_password.text())
        added = dialogs.run_dialog(dialog)
        user = dialog.result_value
        dialog.deleteLater()
        if added:
            self.window.statusBar().showMessage(
                f"Added {user.user_id} ({user.printed_name}) as {user.role.value}.", 8000)
        return added

    # --- saving --------------------------------------------------------------------------------

    def save(self) -> StoredRecord | None:
        """Save the plan: as a new draft, over the open draft, or as a correction."""
        from doseprep.store import correct_record, edit_draft, save_draft

        window = self.window
        plan = window.current_plan
        user = self.session.user
        if plan is None or user is None or window.cover_mode:
            return None
        record = self.record
        store = self.session.store
        try:
            if record is not None and self.correction_reason is not None:
                saved = correct_record(store, record.ref, plan, user.user_id,
                             self.correction_reason, expected_row_version=record.row_version)
                done = f"Saved {saved.ref}, correcting {record.ref}, as a draft."
            elif record is not None:
                saved = edit_draft(store, record.ref, plan, user.user_id,
                             expected_row_version=record.row_version)
                done = f"Saved the changes to {saved.ref}."
            else:
                saved = save_draft(store, plan, user.user_id)
                done = f"Saved {saved.ref} as a draft."
        except DoseprepError as exc:
            log.warning("record not saved: %s", exc)
            dialogs.inform(window, icon=dialogs.Icon.Warning, title="Record not saved",
                           text=sentence(exc.message, [user.user_id]),
                           informative="The form is kept exactly as typed.")
            return None
        if saved.plan_status == "blocked":
            done += " Its plan is blocked: it cannot be signed until it is corrected."
        self.record = saved
        self.correction_reason = None
        self.blind_hold = False
        # The saved time is the record's: the field stops following the clock (it would
        # otherwise make the saved form differ from its record a minute later).
        window.form.prepared_follows_clock = False
        window.set_read_only(False)
        window.discard_draft()
        self.refresh()
        window.statusBar().showMessage(done, 10000)
        return saved

    # --- signatures ----------------------------------------------------------------------------

    def sign(self, step: str) -> StoredRecord | None:
        """Ask for the signature ``step`` (prepare, verify, release); sign if the store agrees."""
        from doseprep.store import (
            ReentryMismatchError,
            StaleRecordError,
            prepare_record,
            release_record,
            verify_record,
        )
        from doseprep.store.reentry import fields_for, label
        from doseprep_ui.records.sign_dialogs import SignDialog, VerifyDialog

        window = self.window
        window.flush()
        record = self.record
        if record is None or self.session.user is None or window.cover_mode:
            return None
        store = self.session.store
        spec = step_named(step)
        details = [("Record", f"{record.record_id}, version {record.version}"),
                   ("Patient", f"{record.patient_name} (MRN {record.patient_mrn})"),
                   ("Signing", f"{record.state.words} → {spec.after.words}")]
        if not spec.blind:  # what is signed; the verifier sees it only after re-entering it
            stored = record.plan
            codes = ", ".join(f"{f['code']} ({f['severity']})" for f in stored.get("findings", []))
            details += [("DIN", record.din), ("Dose level", record.dose_level),
                        ("Instruction", str(stored.get("instruction", ""))),
                        ("Plan status", f"{str(stored.get('status', '')).upper()}"
                                        f"{' — ' + codes if codes else ''}")]
        signed_hash = signing_hash(record, spec.name)
        if spec.blind:
            fields = fields_for(record.request)
            dialog = VerifyDialog(record.ref, signed_hash, fields,
                                  {f: label(f) for f in fields}, details, window)
            dialog.action = lambda d: verify_record(
                store, record.ref, d.user_id.text().strip(), d.password.text(),
                reentry=d.values(), expected_row_version=record.row_version,
                expected_hash=signed_hash)
        else:
            dialog = SignDialog(spec.meaning, record.ref, signed_hash, details, window)
            sign = prepare_record if spec.name is Step.PREPARE else release_record
            dialog.action = lambda d: sign(store, record.ref, d.user_id.text().strip(),
                                           d.password.text(),
                                           expected_row_version=record.row_version,
                                           expected_hash=signed_hash)
        # A mismatch keeps the dialog open with the typed values, the differing fields marked
        # (issue 9: it closed, lost the eight values and put the preparer's back on screen).
        dialog.closing_errors = (StaleRecordError,)
        blind = spec.blind
        if blind:
            window.show_cover("blind")
            self.cover.show_blind(record.ref)
        try:
            signed = dialogs.run_dialog(dialog)
        finally:
            if blind and window.cover_mode == "blind":
                window.hide_cover()
        failure, result = dialog.failure, dialog.result_value
        dialog.deleteLater()
        if isinstance(failure, ReentryMismatchError):
            names = [label(f) for f in failure.fields]
            dialogs.inform(
                window, icon=dialogs.Icon.Warning, title="Verification stopped",
                text=(f"Verification stopped: the re-entered {_join(names)} "
                      f"{'does' if len(names) == 1 else 'do'} not match what the preparer "
                      "entered."),
                informative=("Nothing was signed. Check the source documents with the preparer "
                             "before verifying again; the refused attempt is in the audit "
                             "trail."))
            self.refresh()
            return None
        if failure is not None:
            dialogs.inform(window, icon=dialogs.Icon.Warning, title="Not signed",
                           text=sentence(getattr(failure, "message", str(failure))),
                           informative="Nothing was signed.")
            self.refresh()
            return None
        if not signed:
            self.refresh()
            return None
        self.record = result
        if spec.blind:
            self._show_in_form(result)  # verified: now the values may be seen
        else:
            window.set_read_only(True)
            self.refresh()
        signature = result.signatures[-1]
        if signature.record_hash != signed_hash:  # the store and the dialog disagree: say so
            log.error("%s: signed hash %s, shown %s", result.ref, signature.record_hash,
                      signed_hash)
        window.statusBar().showMessage(
            f"{result.ref} signed “{signature.meaning}” by {signature.printed_name}: "
            f"{result.state.words}.", 10000)
        return result

    # --- corrections ---------------------------------------------------------------------------

    def correct(self) -> bool:
        """Ask the reason for correcting the signed record, then unlock the form."""
        from doseprep_ui.records.sign_dialogs import ReasonDialog

        record = self.record
        if record is None or not record.state.signed or self.session.user is None:
            return False
        dialog = ReasonDialog(record.ref, record.version + 1, self.window)
        accepted = dialogs.run_dialog(dialog)
        reason = dialog.text()
        dialog.deleteLater()
        if not accepted or not reason:
            return False
        self.correction_reason = reason
        self.window.set_read_only(False)
        self.refresh()
        self.window.form.fields["patient.weight"].editor.setFocus()
        self.window.statusBar().showMessage(
            f"Correcting {record.ref}: change the form, then Save correction.", 10000)
        return True

    def cancel_correction(self) -> bool:
        """Drop the correction being typed and show the signed record again."""
        record = self.record
        if record is None or self.correction_reason is None:
            return False
        if self.is_dirty(self.window.current_plan) and dialogs.choose(
                self.window, icon=dialogs.Icon.Warning, title="Cancel the correction?",
                text="Discard the changes typed for this correction?",
                informative=f"The form goes back to {record.ref} as it was signed.",
                choices=(("discard", "Discard the changes"), ("keep", "Keep correcting")),
                default="keep", escape="keep") != "discard":
            return False
        self.correction_reason = None
        self._show_in_form(record)
        return True

    # --- opening and printing ------------------------------------------------------------------

    def search(self, **criteria: Any) -> list[Any]:
        """The history rows for a search (a DIN may be scanned or typed with its spaces)."""
        from doseprep.isbt128 import din_from_scan_or_entry
        from doseprep.store import list_records

        din = criteria.get("din")
        if din:
            # A DIN that does not parse is searched as typed: it finds nothing, as the list says.
            with contextlib.suppress(InputError):
                criteria["din"] = din_from_scan_or_entry(din, "din")[0].code
        return list(list_records(self.session.store, **criteria))

    def history(self, *, run: bool = True) -> StoredRecord | None:
        """Show the history; the record chosen there is opened in the window."""
        from doseprep_ui.records.history import HistoryDialog

        if self.session.user is None or self.window.cover_mode:
            return None
        dialog = HistoryDialog(self.search, short_local_time, self.window)
        dialog.search()
        chosen = dialogs.run_dialog(dialog) if run else False
        ref = dialog.chosen_ref
        dialog.deleteLater()
        if not chosen or ref is None:
            return None
        if not self.window.may_replace_form(f"Open {ref} in place of the form?"):
            return None
        return self.open_record(ref)

    def open_record(self, ref: str) -> StoredRecord | None:
        """Load a saved record into the form (read-only once signed) with its signatures."""
        from doseprep.store import get_record

        try:
            record = get_record(self.session.store, ref)
        except DoseprepError as exc:
            dialogs.inform(self.window, icon=dialogs.Icon.Warning, title="Record not opened",
                           text=sentence(exc.message))
            return None
        self.record = record
        self.correction_reason = None
        self._show_in_form(record)
        self.window.statusBar().showMessage(
            f"Opened {record.ref} ({record.state.words}).", 8000)
        return record

    def blind_for(self, record: StoredRecord | None) -> bool:
        """True while ``record`` must be shown to the person logged in without its values: it
        is PREPARED and waits for a second person's blind re-entry, and this is not its
        preparer (issue 9: a supervisor saw every value before pressing Verify)."""
        return blind_for(record, self.session.user)

    def _show_in_form(self, record: StoredRecord) -> None:
        window = self.window
        window.set_read_only(False)
        self.blind_hold = self.blind_for(record)
        if self.blind_hold:
            # Not merely covered: the form holds none of the preparer's values until the
            # verification ends. The record itself is in ``self.record``.
            window.form.set_raw({})
        else:
            window.load_request(record.request)
        window.flush()
        window.set_read_only(record.state.signed or record.superseded_by is not None)
        window.discard_draft()
        self.refresh()

    def detach(self) -> None:
        """The form no longer shows a saved record (a new form, a request file)."""
        self.record = None
        self.blind_hold = False
        self.correction_reason = None
        self.window.set_read_only(False)
        self.refresh()

    def print_record(self) -> QDialog | None:
        """Show the saved record's signed worksheet and labels in the preview; printing or saving
        either is audited as a print of the record then — opening the preview is not a print —
        and a print after a real earlier one says REPRINT."""
        from doseprep.plan import not_for_clinical_use
        from doseprep.store import register_print
        from doseprep.workflow import render_record
        from doseprep_ui.documents.paper import default_paper

        window = self.window
        plan = window.current_plan
        record, user = self.record, self.session.user
        if record is None or user is None or plan is None or self.is_dirty(plan):
            return None
        try:
            printed = render_record(self.session.store, record.ref, user.user_id,
                           page_size=default_paper(), lab=window.lab_path or None)
        except DoseprepError as exc:
            dialogs.inform(window, icon=dialogs.Icon.Warning, title="Record not printed",
                           text=sentence(exc.message))
            return None
        reprint = printed.info.reprint_at is not None
        suffix = " — REPRINT" if reprint else ""
        stem = f"{record.record_id}-v{record.version}"
        ref = record.ref

        def audit_output(how: str, title: str) -> None:
            document = "labels" if title.startswith("Labels") else "worksheet"
            try:
                register_print(self.session.store, ref, user.user_id,
                     document=f"{document} ({how})")
            except DoseprepError as exc:
                log.error("print of %s not audited: %s", ref, exc)
                dialogs.inform(window, icon=dialogs.Icon.Warning, title="Print not recorded",
                               text=f"The {document} left the program but the print could not "
                                    "be recorded in the audit trail.",
                               informative=sentence(exc.message))
                return
            window.statusBar().showMessage(
                f"{ref} {document} {how}{' (REPRINT)' if reprint else ''}; the print is in the "
                "audit trail.", 10000)

        return window.show_document(
            printed.worksheet, f"Worksheet {ref}{suffix}", f"worksheet-{stem}",
            reasons=not_for_clinical_use(plan), on_output=audit_output,
            companions=((f"Labels {ref}{suffix}", printed.labels, f"labels-{stem}"),))

    # --- drafts --------------------------------------------------------------------------------

    def draft_extra(self) -> dict[str, Any]:
        """What a crash draft must remember about the record being edited."""
        if self.record is None:
            return {}
        extra: dict[str, Any] = {"record": self.record.ref,
                                 "row_version": self.record.row_version}
        if self.correction_reason is not None:
            extra["correcting"] = self.correction_reason
        return extra

    def reattach(self, extra: Mapping[str, Any]) -> bool:
        """After a restored draft: carry on editing the draft or correction it was made from."""
        from doseprep.store import get_record

        ref = extra.get("record")
        if not ref or self.session.user is None:
            return False
        try:
            record = get_record(self.session.store, str(ref))
        except DoseprepError as exc:
            log.warning("draft's record %s not reopened: %s", ref, exc)
            return False
        if record.superseded_by is not None:
            return False
        reason = extra.get("correcting")
        if reason and record.state.signed:
            self.correction_reason = str(reason)
        elif record.state.signed:
            return False
        row_version = extra.get("row_version")
        if isinstance(row_version, int):
            # Saving checks against the version the draft was typed on, not today's.
            record = dataclasses.replace(record, row_version=row_version)
        self.record = record
        self.window.set_read_only(False)
        self.refresh()
        return True

    def close(self) -> None:
        self.idle.stop()
        self.session.close()


def lock_timeout_ms_default() -> int:
    """Until a session begins the timer is idle; this is only its initial interval."""
    return 600_000


def _duration(ms: int) -> str:
    """The lock time in words: ``10 minutes``, ``1 minute``, ``30 seconds``."""
    if ms >= 60_000:
        minutes = round(ms / 60_000, 1)
        return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
    seconds = round(ms / 1000, 1)
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
