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

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenuBar

from doseprep.signoff import STEPS, State, Step
from doseprep.workflow import allowed_actions
from doseprep_ui.records.browsing import BrowsingActions
from doseprep_ui.records.editing import EditingActions
from doseprep_ui.records.ledger_note import LedgerNotes
from doseprep_ui.records.panel import CoverPage, RecordBanner, RecordPanel, RecordStrip
from doseprep_ui.records.session import IdleWatch, Session
from doseprep_ui.records.session_actions import SessionActions
from doseprep_ui.records.words import local_time, lock_timeout_ms_default

if TYPE_CHECKING:
    from doseprep.deadlines import Deadline
    from doseprep.plans.fresh import PreparationPlan
    from doseprep.store import StoredRecord
    from doseprep_ui.records.port import WindowPort

log = logging.getLogger(__name__)


class RecordWorkflow(SessionActions, EditingActions, BrowsingActions, QObject):
    """See the module docstring. ``changed`` fires whenever what it shows was refreshed."""

    changed = Signal()

    def __init__(self, window: WindowPort) -> None:
        super().__init__(window)
        self.window = window
        self.session = Session()
        self.record: StoredRecord | None = None
        self.correction_reason: str | None = None
        self.blind_hold = False  # the open record's values are withheld (see blind_for)
        #: Record ref → its releaser's key, unsealed when they released it here (issue 25): a
        #: released worksheet is signed with it. Forgotten at lock and sign-out.
        self.worksheet_signers: dict[str, Any] = {}
        self.idle = IdleWatch(lock_timeout_ms_default(), self)
        self.idle.idle.connect(lambda: self.lock(idle=True))
        self._drafts_offered = False
        self.ledger_notes = LedgerNotes(self.session)

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
        #: What has expired of the record in hand at the window clock's last look (None: nothing).
        self.expiry: Deadline | None = None

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
        if record is not None and record.kind != "fresh":
            return False  # shown in the freeze tab, never edited there
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
        if not window.content_ready:  # the form is built right after the first paint
            self.strip.show_user(self.session.user)
            self.strip.show_record(None, "")
            return
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
        now = window.clock.now()
        allowed = allowed_actions(record, user if active else None, has_plan=plan is not None,
                                  dirty=dirty, correcting=correcting, now=now)
        shown_expiry, self.expiry = self._expiries(record, plan, dirty, now)

        note = ""
        if correcting:
            note = "correction being typed — not saved"
        elif record is not None and not latest:
            note = f"corrected by {record.superseded_by}"
        elif state is State.DRAFT and dirty:
            note = "changes not saved — save before signing"
        self.strip.show_user(user)
        self.strip.show_record(record, note, self.expiry)
        window.plan_view.set_record(record.ref if record is not None else None,
                                    state.value if state is not None and not dirty else None,
                                    shown_expiry)

        sign = dict(allowed.sign)
        reasons = dict(allowed.reasons)
        if self.expiry is not None and record is not None:
            # Nothing is signed for a product past its moment, whatever else would allow it.
            for step, spec in STEPS.items():
                if record.state is spec.before:
                    sign[step] = False
                    reasons[step] = f"{self.expiry.headline}: {self.expiry.message}"
        for step, button in self._sign_buttons().items():
            button.setToolTip(reasons.get(step, ""))
        cycle2 = record is not None and record.kind != "fresh"
        # The medical director releases a record blocked only by listed findings by exception.
        exceptional = active and not dirty and self.exceptional_release_possible()
        self.strip.release_button.setText("Exceptional release…" if exceptional else "Release…")
        if exceptional:
            self.strip.release_button.setToolTip(
                "Release by exception (medical director): the findings are shown; the reason "
                "and the recipient's physician who was told are required.")
        enabled = {
            "save": allowed.save and not cycle2,
            **{step.value: on for step, on in sign.items()},
            "release": sign[Step.RELEASE] or (exceptional and self.expiry is None),
            # A freeze or thaw record is corrected with `doseprep record correct`: the window
            # corrects through the fresh form only, and would otherwise unlock the wrong form.
            "correct": allowed.correct and not cycle2,
            # A print shows every value: not to a verifier before the blind re-entry.
            "print": allowed.print and not self.blind_hold,
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
            "Blind verification: the record is printed once you have verified it (a print shows "
            "the values you must type again)." if self.blind_hold else
            f"{self.expiry.headline}: the worksheet prints for the file, without bag labels. "
            f"{self.expiry.message}" if self.expiry is not None else
            "Print the record's signed worksheet and labels (a label scans as a product only "
            "from a verified record).")
        for key, on in enabled.items():
            if key in buttons:
                buttons[key].setEnabled(on)
            if key in self.actions:
                self.actions[key].setEnabled(on)
        self.strip.save_button.setText("Save correction" if correcting else "Save record")
        self.strip.correct_button.setToolTip(
            "A freeze or thaw record is corrected on the command line: doseprep record correct "
            f"{record.ref if record is not None else ''}" if cycle2 else "")
        window.update_bag_actions()

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
        elif signed and self.expiry is not None:
            self.banner.show_expired(
                f"{self.expiry.headline} — {record.ref} is {record.state.words}: do not use it",
                self.expiry.message)
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

    def _expiries(self, record: StoredRecord | None, plan: PreparationPlan | None, dirty: bool,
                  now: Any) -> tuple[Deadline | None, Deadline | None]:
        """What has expired at ``now`` (the domain decides): of the fresh plan on screen, and of
        the record in hand. The window clock ticks at the next of their deadlines."""
        from doseprep.deadlines import expired
        from doseprep.workflow import plan_deadlines, record_deadlines

        window = self.window
        fresh = record is not None and record.kind == "fresh" and not dirty
        done = fresh and record is not None and record.state.signed
        shown = plan_deadlines(plan, done=done) if plan is not None else ()
        if record is None:
            held: tuple[Deadline, ...] = ()
        elif fresh and plan is not None:
            held = shown  # the plan on screen is the record's, computed from its request
        else:
            held = record_deadlines(record, window.site_zone())
        window.clock.watch("fresh plan", (d.at for d in shown))
        window.clock.watch("record", (d.at for d in held))
        return expired(shown, now), expired(held, now)
    def with_ledger_note(self, evaluation: Any) -> Any:
        """The form's evaluation with the ledger of its DIN beside the volume (issue 22)."""
        record = self.record
        own = record.record_id if record is not None and record.kind != "thaw" else None
        return self.ledger_notes.with_note(evaluation, own)

    def _sign_buttons(self) -> dict[Step, Any]:
        return {Step.PREPARE: self.strip.prepare_button, Step.VERIFY: self.strip.verify_button,
                Step.RELEASE: self.strip.release_button}

    def close(self) -> None:
        self.idle.stop()
        self.session.close()
