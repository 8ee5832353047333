"""The main window's freeze mode (cycle 2): the tab that holds the freeze panel, saving a freeze
plan as a record, and showing a saved freeze or thaw record there (signed through the same record
strip and history as any record)."""

from __future__ import annotations

import logging
from typing import Any

from doseprep.errors import DoseprepError
from doseprep_ui.freeze.panel import FreezePanel
from doseprep_ui.widgets import dialogs

log = logging.getLogger(__name__)

FRESH_TAB, FREEZE_TAB = 0, 1


class FreezeActions:
    """Part of :class:`~doseprep_ui.main_window.MainWindow`."""

    def _build_freeze_panel(self) -> FreezePanel:
        self.freeze_panel = FreezePanel(lambda: self.lab_path or None, self)
        self.freeze_panel.save_button.clicked.connect(self.save_freeze_record)
        return self.freeze_panel

    def show_freeze_mode(self) -> None:
        self.modes.setCurrentIndex(FREEZE_TAB)

    def show_fresh_mode(self) -> None:
        self.modes.setCurrentIndex(FRESH_TAB)

    def save_freeze_record(self) -> Any:
        """Save the freeze panel's plan as a draft record of the person logged in."""
        from doseprep.store import save_draft

        panel = self.freeze_panel
        panel.recompute()
        records = self.records
        user = records.session.user
        if panel.plan_object is None or user is None or self.cover_mode:
            if user is None:
                self.statusBar().showMessage("Log in to save the freeze plan as a record.", 8000)
            return None
        try:
            saved = save_draft(records.session.store, panel.plan_object, user.user_id)
        except DoseprepError as exc:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Record not saved",
                           text=exc.message, informative="The freeze plan is kept as typed.")
            return None
        records.record = saved
        records.correction_reason = None
        records.blind_hold = False
        panel.set_read_only(True)
        records.refresh()
        self.statusBar().showMessage(f"Saved {saved.ref} (freeze) as a draft.", 10000)
        return saved

    def show_cryo_record(self, record: Any, *, blind: bool) -> None:
        """Show a saved freeze or thaw record in the freeze tab (its values withheld during a
        blind verification)."""
        panel = self.freeze_panel
        self.modes.setCurrentIndex(FREEZE_TAB)
        if blind:
            panel.clear()
        elif record.kind == "freeze":
            panel.show_text("")
            panel.load(record.request)
            panel.recompute()
        else:
            from doseprep.cryo.report import thaw_text
            from doseprep.workflow import stored_plan

            try:
                text = thaw_text(stored_plan(record, lab=self.lab_path or None))
            except DoseprepError as exc:
                text = f"{record.ref}: {exc}"
            panel.show_text(f"Thaw record {record.ref} ({record.state.words})\n\n{text}")
        panel.set_read_only(True)
