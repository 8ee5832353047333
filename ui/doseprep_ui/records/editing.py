"""The records controller's saving, signing (blind verification included) and corrections."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from doseprep.errors import DoseprepError
from doseprep.signoff import State, Step, step_named
from doseprep.workflow import signing_hash
from doseprep_ui.records.words import (
    join_names,
)
from doseprep_ui.widgets import dialogs
from doseprep_ui.widgets.dialogs import sentence

if TYPE_CHECKING:
    from doseprep.store import StoredRecord


log = logging.getLogger(__name__)


class EditingActions:
    """Part of :class:`~doseprep_ui.records.controller.RecordWorkflow` (its attributes are
    set there)."""

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
        self.ledger_notes.forget()  # the ledger of its DIN has changed
        if saved.plan_status == "blocked":
            from doseprep.release import why_not_prepared

            done += (" Its plan is blocked: it cannot be signed until it is corrected."
                     if why_not_prepared(saved.plan, saved.kind) else
                     " Its plan is blocked only by findings the medical director may release "
                     "by exception.")
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

    def _signed_and_kept(self, signed: StoredRecord, password: str) -> StoredRecord:
        """After "Released by": keep the releaser's key, unsealed with the password just typed,
        to sign the worksheet printed next (issue 25) — never the password itself."""
        from doseprep.workflow import worksheet_signer_for

        if signed.state is State.RELEASED:
            try:
                self.worksheet_signers[signed.ref] = worksheet_signer_for(
                    self.session.store, signed.ref, password)
            except DoseprepError as exc:  # printing will ask, and say why
                log.warning("the releaser's key for %s is not kept: %s", signed.ref, exc)
        return signed

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
        if step == "release" and self.exceptional_release_possible():
            return self.release_exceptionally()
        store = self.session.store
        spec = step_named(step)
        details = [("Record", f"{record.record_id}, version {record.version}"),
                   ("Patient", f"{record.patient_name} (MRN {record.patient_mrn})"),
                   ("Signing", f"{record.state.words} → {spec.after.words}")]
        status = ""
        if not spec.blind:  # what is signed; the verifier sees it only after re-entering it
            stored = record.plan
            codes = ", ".join(f"{f['code']} ({f['severity']})" for f in stored.get("findings", []))
            details += [("DIN", record.din), ("Dose level", record.dose_level),
                        ("Instruction", str(stored.get("instruction", "")))]
            status = f"{str(stored.get('status', '')).upper()}{' — ' + codes if codes else ''}"
        signed_hash = signing_hash(record, spec.name)
        clock = window.clock
        # The record's moment is checked again while the dialog is open and when Sign is pressed
        # (issue 21: a dialog opened before the expiry said "Plan status OK" after it).
        found = self._record_deadlines(record)
        if spec.blind:
            fields = fields_for(record.request)
            dialog = VerifyDialog(record.ref, signed_hash, fields,
                                  {f: label(f) for f in fields}, details, window,
                                  clock=clock, deadlines=found)
            dialog.action = lambda d: verify_record(
                store, record.ref, d.user_id.text().strip(), d.password.text(),
                reentry=d.values(), expected_row_version=record.row_version,
                expected_hash=signed_hash, now=clock.now())
        else:
            dialog = SignDialog(spec.meaning, record.ref, signed_hash, details, window,
                                clock=clock, deadlines=found, status=status)
            sign = prepare_record if spec.name is Step.PREPARE else release_record
            dialog.action = lambda d: self._signed_and_kept(sign(
                store, record.ref, d.user_id.text().strip(), d.password.text(),
                expected_row_version=record.row_version, expected_hash=signed_hash,
                now=clock.now()), d.password.text())
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
                text=(f"Verification stopped: the re-entered {join_names(names)} "
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

    def _record_deadlines(self, record: StoredRecord) -> tuple[Any, ...]:
        """The deadlines of ``record`` as the window shows them (a fresh record's from the plan
        on screen when it is the record's, with its product's age; else from what it stores)."""
        from doseprep.workflow import plan_deadlines, record_deadlines

        plan = self.window.evaluation.plan if self.window.evaluation is not None else None
        if record.kind == "fresh" and plan is not None and not self.blind_hold \
                and not self.is_dirty(plan):
            return plan_deadlines(plan, done=record.state.signed)
        return record_deadlines(record, self.window.site_zone())
    def exceptional_release_possible(self) -> bool:
        """The user is the medical director and may release the open record by exception."""
        from doseprep.workflow import why_not_release_exceptionally

        return (self.record is not None and self.correction_reason is None
                and why_not_release_exceptionally(self.record, self.session.user) is None)

    def release_exceptionally(self) -> StoredRecord | None:
        """The medical director's exceptional release of the open record: the findings shown,
        the reason and the physician required, then the signature (issue 22)."""
        from doseprep.store import StaleRecordError, release_exceptionally
        from doseprep.workflow import signing_hash
        from doseprep_ui.records.exceptional import ExceptionalReleaseDialog

        window, record, store = self.window, self.record, self.session.store
        assert record is not None
        findings = [(f["code"], f["message"]) for f in record.plan.get("findings", [])
                    if f.get("severity") == "block"]
        signed_hash = signing_hash(record, "release")
        details = [("Patient", f"{record.patient_name} (MRN {record.patient_mrn})"),
                   ("DIN", record.din), ("Signing", "VERIFIED → RELEASED (exceptional)")]
        dialog = ExceptionalReleaseDialog(record.ref, signed_hash, findings, details, window)
        dialog.action = lambda d: release_exceptionally(
            store, record.ref, d.user_id.text().strip(), d.password.text(),
            expected_row_version=record.row_version, expected_hash=signed_hash, **d.texts())
        dialog.closing_errors = (StaleRecordError,)
        signed = dialogs.run_dialog(dialog)
        failure, result = dialog.failure, dialog.result_value
        dialog.deleteLater()
        if failure is not None:
            dialogs.inform(window, icon=dialogs.Icon.Warning, title="Not released",
                           text=sentence(getattr(failure, "message", str(failure))),
                           informative="Nothing was signed.")
        if failure is not None or not signed:
            self.refresh()
            return None
        self.record = result
        window.set_read_only(True)
        self.refresh()
        window.statusBar().showMessage(
            f"{result.ref} RELEASED by exception by {result.signatures[-1].printed_name}.", 10000)
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
