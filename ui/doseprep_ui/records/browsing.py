"""The records controller's history, opening a record, printing it, and carrying a restored
draft back to its record."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QDialog

from doseprep.errors import DoseprepError, InputError
from doseprep.workflow import blind_for
from doseprep_ui.records.words import (
    short_local_time,
)
from doseprep_ui.widgets import dialogs
from doseprep_ui.widgets.dialogs import sentence

if TYPE_CHECKING:
    from doseprep.store import StoredRecord


log = logging.getLogger(__name__)


class BrowsingActions:
    """Part of :class:`~doseprep_ui.records.controller.RecordWorkflow` (its attributes are
    set there)."""

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
        dialog = HistoryDialog(self.search, short_local_time, self.window,
                               withheld=self.withheld_in_history)
        dialog.search()
        chosen = dialogs.run_dialog(dialog) if run else False
        ref = dialog.chosen_ref
        dialog.deleteLater()
        if not chosen or ref is None:
            return None
        if not self.window.may_replace_form(f"Open {ref} in place of the form?"):
            return None
        return self.open_record(ref)

    def withheld_in_history(self, row: Any) -> bool:
        """Whether the history must not show ``row``'s DIN and dose level (values a verifier
        re-enters blind): a PREPARED record waits for its blind verification, whoever looks;
        while the window holds a record blind, neither are that record's other versions or the
        other records of its DIN shown with them (a freeze record of the thawed bag)."""
        from doseprep.signoff import State

        held = self.record if self.blind_hold else None
        return row.state is State.PREPARED or (held is not None and (
            row.record_id == held.record_id or row.din == held.din))

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
        if record.kind != "fresh":  # a freeze or thaw record: shown in the freeze tab
            window.show_cryo_record(record, blind=self.blind_hold)
            self.refresh()
            return
        window.show_fresh_mode()
        if self.blind_hold:
            # Not merely covered: no tab holds any of the preparer's values until the
            # verification ends. The record itself is in ``self.record``.
            window.clear_for_blind()
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
        self.window.set_read_only(False)  # the freeze tab too: a new plan may be typed
        self.refresh()

    def print_record(self) -> QDialog | None:
        """Show the saved record's signed worksheet and labels in the preview; printing or saving
        either is audited as a print of the record then — opening the preview is not a print —
        and a document printed before for this version in the same signed state says REPRINT."""
        from doseprep.plans.fresh import not_for_clinical_use
        from doseprep.store import register_print
        from doseprep.workflow import render_record
        from doseprep_ui.documents.paper import default_paper

        window = self.window
        plan = window.current_plan
        record, user = self.record, self.session.user
        if record is None or user is None or self.blind_hold or (record.kind == "fresh" and (
                plan is None or self.is_dirty(plan))):
            return None
        signer = self._worksheet_signer(record)
        if signer is False:
            return None
        # Past its expiry a record's worksheet still prints for the file; its bag labels never
        # do (the domain refuses them; the window does not offer them).
        expiry = self.expiry
        try:
            printed = render_record(self.session.store, record.ref, user.user_id,
                                    page_size=default_paper(), lab=window.lab_path or None,
                                    labels=expiry is None, signer=signer or None)
        except DoseprepError as exc:
            dialogs.inform(window, icon=dialogs.Icon.Warning, title="Record not printed",
                           text=sentence(exc.message))
            return None
        marks = printed.marks  # each document says REPRINT only if it was printed in this state
        suffix = {kind: " — REPRINT" if count else "" for kind, count in marks.items()}
        stem = f"{record.record_id}-v{record.version}"
        ref = record.ref

        def audit_output(how: str, title: str) -> None:
            document = "labels" if title.startswith("Labels") else "worksheet"
            reprint = bool(marks[document])
            try:
                register_print(self.session.store, ref, user.user_id,
                     document=f"{document} ({how})", marked={document: marks[document]})
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

        reasons = not_for_clinical_use(printed.plan)
        if expiry is not None:
            reasons += (f"{expiry.headline}: {expiry.message} No bag label is printed.",)
        return window.show_document(
            printed.worksheet, f"Worksheet {ref}{suffix['worksheet']}", f"worksheet-{stem}",
            reasons=reasons, on_output=audit_output,
            companions=() if expiry is not None else (
                (f"Labels {ref}{suffix['labels']}", printed.labels, f"labels-{stem}"),))

    def _worksheet_signer(self, record: Any) -> Any:
        """A released record's worksheet is signed with its releaser's key (issue 25): the one
        kept since they released it here, else asked for now (False: they did not type it)."""
        from doseprep.store.worksheet_signer import releaser_of
        from doseprep.workflow import worksheet_signer_for
        from doseprep_ui.records.sign_dialogs import WorksheetSignDialog

        releaser = releaser_of(record)
        if releaser is None or record.ref in self.worksheet_signers:
            return self.worksheet_signers.get(record.ref)
        store = self.session.store
        dialog = WorksheetSignDialog(record.ref, releaser, self.window)
        dialog.action = lambda d: worksheet_signer_for(store, record.ref, d.password.text())
        signed = dialogs.run_dialog(dialog)
        signer = dialog.result_value
        dialog.deleteLater()
        if not signed:
            return False
        self.worksheet_signers[record.ref] = signer
        return signer

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
