"""The window's crash drafts: offered after a log-in, written as the form changes, removed
once saved."""

from __future__ import annotations

import logging
from datetime import datetime

from doseprep import drafts
from doseprep_ui.widgets import dialogs

log = logging.getLogger(__name__)


class DraftActions:
    """Part of :class:`~doseprep_ui.main_window.MainWindow` (its widgets are made there)."""

    # --- drafts ----------------------------------------------------------------------------

    def offer_draft(self) -> bool:
        """Offer the draft left by a crash or an accidental close; then start saving drafts.

        Returns True when a draft was restored.
        """
        draft = drafts.load()
        self._drafts_active = True
        if draft is None or draft.is_empty:
            return False
        when = draft.saved_at.astimezone()
        who = draft.fields.get("patient.name", "").strip() or "no name"
        din = draft.fields.get("product.din", "").strip() or "no DIN"
        typed_by = str(draft.extra.get("typed_by") or "")
        typist = typed_by or "nobody (no one was logged in)"
        if typed_by and typed_by != self._typist():
            typist += " — not you: check every value before using it"
        answer = dialogs.choose(
            self, title="Restore the unsaved form?",
            text=f"Restore the unsaved form from {when:%H:%M}?",
            informative=(f"doseprep was closed on {when:%a %d %b %Y at %H:%M} before this form "
                         f"was finished ({who}, {din}).\nTyped by: {typist}.\n\nRestore it to "
                         "carry on, or discard it and start with an empty form."),
            choices=(("restore", "Restore the form"), ("discard", "Discard it")),
            default="restore", escape="restore")
        if answer != "restore":
            drafts.clear()
            log.info("draft from %s discarded", when)
            return False
        lab = str(draft.extra.get("lab", "") or "")
        if lab != self.lab_path:
            self.use_lab(lab or None)
        protocol = draft.fields.get("protocol", "")
        if protocol and protocol not in dict(self._choices):
            self._add_protocol_choice(protocol)
            self.form.set_protocol_choices(self._choices)
        self.form.set_raw(draft.fields)
        self.flush()
        self.records.reattach(draft.extra)
        log.info("draft from %s restored", when)
        self.statusBar().showMessage(f"Restored the form from {when:%H:%M}.", 8000)
        return True

    def save_draft(self) -> None:
        """Write the form's text as the draft now (or delete the draft when nothing in the form
        is unsaved: a blank form, or a saved record as it was saved)."""
        self._draft_timer.stop()
        if not self._drafts_active:
            return
        self.flush()
        if not self.records.unsaved_work():
            drafts.clear()
            self.draft_saved.emit("")
            return
        try:
            path = drafts.save(self.form.raw(),
                               extra={"lab": self.lab_path, "typed_by": self._typist(),
                                      **self.records.draft_extra()})
        except OSError as exc:
            log.warning("draft not saved: %s", exc)
            self.statusBar().showMessage(f"The draft could not be saved: {exc}", 0)
            return
        self.statusBar().showMessage(f"Draft saved at {datetime.now():%H:%M:%S}.", 4000)
        self.draft_saved.emit(str(path))

    def _typist(self) -> str:
        """Who is typing into the form now, as a draft remembers it ("" when nobody is logged
        in)."""
        user = self.records.session.user
        return "" if user is None else f"{user.printed_name} ({user.user_id})"

    def discard_draft(self) -> None:
        """The form was saved as a record: the crash draft is no longer needed."""
        self._draft_timer.stop()
        if self._drafts_active:
            drafts.clear()
