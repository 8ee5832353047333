"""The window's documents: the worksheet preview and the bag labels of the form on screen, and
when the document buttons are enabled (never a bag label for a plan past its expiry)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QWidget,
)

from doseprep_ui.documents.paper import default_paper

if TYPE_CHECKING:
    from doseprep.plans.fresh import PreparationPlan

log = logging.getLogger(__name__)


class DocumentActions:
    """Part of :class:`~doseprep_ui.main_window.MainWindow` (its widgets are made there)."""

    # --- documents -------------------------------------------------------------------------

    def preview_worksheet(self) -> QWidget | None:
        """Render the worksheet with the domain and show it with Print and Save PDF."""
        plan = self.current_plan
        if plan is None:
            return None
        from doseprep.documents.worksheet import render_worksheet

        def render(paper: str) -> bytes:
            return render_worksheet(plan, page_size=paper)

        paper = default_paper()
        return self.show_document(render(paper), "Worksheet", self._file_stem("worksheet", plan),
                                  reasons=self._reasons(plan), render=render,
                                  paper=paper)

    def print_labels(self) -> QWidget | None:
        """Render the bag labels with the domain and show them with Print and Save PDF; never
        for a plan past its expiry (the button is disabled and says why)."""
        plan = self.current_plan
        if plan is None or self.plan_view.expiry is not None:
            return None
        from doseprep.documents.labels import render_labels
        from doseprep.errors import DoseprepError
        from doseprep_ui.widgets import dialogs

        try:
            pdf = render_labels(plan)
        except DoseprepError as exc:  # the lab's label stock is too small for this label
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Labels not made",
                           text=dialogs.sentence(exc.message), informative=str(exc))
            return None
        return self.show_document(pdf, "Labels", self._file_stem("labels", plan),
                                  reasons=self._reasons(plan))

    def _reasons(self, plan: PreparationPlan) -> tuple[str, ...]:
        """Why a document of ``plan`` is not for clinical use, its expiry at the window clock's
        instant included."""
        expiry = self.plan_view.expiry
        return _not_for_clinical_use(plan) + (
            (f"{expiry.headline}: {expiry.message}",) if expiry is not None else ())

    def _update_actions(self) -> None:
        """Enable the document buttons and the File menu for what is on screen, and say in the
        print note why a document would not be for clinical use (or no label can be printed)."""
        if not self.content_ready:  # nothing to act on yet: the form is built after the paint
            for act in (self.preview_action, self.labels_action, self.new_action,
                        self.open_request_action, self.open_protocol_action,
                        self.open_lab_action, self.bundled_lab_action):
                act.setEnabled(False)
            return
        plan = self.evaluation.plan if self.evaluation is not None else None
        covered = bool(self.cover_mode)
        expiry = self.plan_view.expiry if plan is not None else None
        for widget in (self.preview_button, self.preview_action):
            widget.setEnabled(plan is not None and not covered)
        # No bag label for a plan past its moment (issue 21): the button says why.
        for widget in (self.labels_button, self.labels_action):
            widget.setEnabled(plan is not None and not covered and expiry is None)
            widget.setToolTip(f"{expiry.headline}: no bag label. {expiry.message}"
                              if expiry is not None else "The bag labels of the plan on screen")
        for act in (self.new_action, self.open_request_action):
            act.setEnabled(not covered)
        # A signed record is shown with the settings it was computed with; they stay put.
        for act in (self.open_protocol_action, self.open_lab_action, self.bundled_lab_action):
            act.setEnabled(not covered and not self.read_only)
        if plan is None:
            note = "Nothing to preview or print: there is no valid plan for the form as it stands."
        else:
            from doseprep.plans.fresh import not_for_clinical_use

            reasons = not_for_clinical_use(plan)
            note = ("Documents will be marked NOT FOR CLINICAL USE:\n" +
                    "\n".join(f"• {r}" for r in reasons)) if reasons else ""
            if expiry is not None:
                note = f"{expiry.headline}: no bag label can be printed.\n{note}".strip()
        self.print_note.setText(note)
        self.print_note.setVisible(bool(note))

    @staticmethod
    def _file_stem(kind: str, plan: PreparationPlan) -> str:
        return "-".join([kind, plan.request.patient.id, plan.request.product.din])

    def show_document(self, pdf: bytes, title: str, stem: str, *, reasons: tuple[str, ...],
                      companions: tuple[tuple[str, bytes, str], ...] = (),
                      **options: Any) -> QWidget:
        """Show a rendered document with Print and Save PDF (suggested as ``stem``.pdf in the
        home folder); ``companions`` are further documents (title, PDF, stem) it can show."""
        from doseprep_ui.documents.print_preview import DocumentPreview

        def file_name(name: str) -> str:
            return str(Path.home() / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".pdf"))

        if self.preview is not None:
            self.preview.close()
        self.preview = DocumentPreview(
            pdf, title=title, file_name=file_name(stem), reasons=reasons, parent=self,
            companions=tuple((t, data, file_name(n)) for t, data, n in companions), **options)
        # Window-modal: the form cannot change under a document made from it.
        self.preview.setWindowModality(Qt.WindowModality.WindowModal)
        self.preview.show()
        return self.preview


def _not_for_clinical_use(plan: PreparationPlan) -> tuple[str, ...]:
    from doseprep.plans.fresh import not_for_clinical_use

    return not_for_clinical_use(plan)
