"""The window's documents: the worksheet preview and the bag labels of the form on screen."""

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
    from doseprep.plan import PreparationPlan

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
                                  reasons=_not_for_clinical_use(plan), render=render,
                                  paper=paper)

    def print_labels(self) -> QWidget | None:
        """Render the bag labels with the domain and show them with Print and Save PDF."""
        plan = self.current_plan
        if plan is None:
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
                                  reasons=_not_for_clinical_use(plan))

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
    from doseprep.plan import not_for_clinical_use

    return not_for_clinical_use(plan)
