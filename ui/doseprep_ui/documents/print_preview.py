"""Preview, print and save a document the domain rendered (the worksheet, the bag labels).

The dialog shows the PDF bytes exactly as rendered by ``doseprep.documents`` (each page drawn by
PDFium, :mod:`doseprep_ui.documents.pdf_pages`), prints them through the system print dialog by
rendering each page to the printer's painter, and saves the *original* bytes with Save PDF — so the
saved file keeps its text and barcodes as drawn. A document that is not for clinical use (a blocked
plan, an unapproved protocol) can be previewed and saved — the domain watermarks it — but a red box
above the preview lists the reasons, the print button says "NOT FOR CLINICAL USE", and printing asks
for a confirmation that repeats the reasons. A saved record's print comes with its labels as a
companion document, opened from a button in the same dialog. This module imports pypdfium2 and
QtPrintSupport, so the window imports it only when a document is first opened."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from doseprep_ui.documents.pdf_pages import PageView, PdfPages
from doseprep_ui.widgets import dialogs
from doseprep_ui.widgets.style import set_role

log = logging.getLogger(__name__)

#: Resolution pages are rendered at for printing: sharp barcodes, bounded memory.
PRINT_DPI = 300
PAPER_SIZES = (("letter", "Letter"), ("a4", "A4"))


def load_pdf(data: bytes, parent: QWidget | None = None) -> tuple[PdfPages, bytes]:
    """The pages of ``data`` (raises :class:`PdfLoadError`), and the bytes they were read from."""
    return PdfPages(data), data


def print_pdf(document: PdfPages, printer: QPrinter) -> int:
    """Print every page of ``document`` on ``printer``; returns the number of pages printed.

    Each page is rendered at the printer's resolution (at most ``PRINT_DPI``) to an image and
    drawn to fill the paper, keeping its proportions.
    """
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError("The printer could not be started; check that it is on and connected.")
    try:
        for page in range(document.pageCount()):
            if page:
                printer.newPage()
            area = painter.viewport()
            size = QSizeF(document.pagePointSize(page)).scaled(
                QSizeF(area.size()), Qt.AspectRatioMode.KeepAspectRatio)
            image = document.render(page, size.toSize())
            painter.drawImage(QRectF(QPointF(area.topLeft()), size), image)
    finally:
        painter.end()
    return document.pageCount()


def make_printer(document: PdfPages) -> QPrinter:
    """A printer set up for the document's first page size, full page, at ``PRINT_DPI``."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setResolution(PRINT_DPI)
    printer.setFullPage(True)
    size = document.pagePointSize(0)
    orientation = (QPageLayout.Orientation.Landscape if size.width() > size.height()
                   else QPageLayout.Orientation.Portrait)
    page_size = QPageSize(size, QPageSize.Unit.Point, "", QPageSize.SizeMatchPolicy.FuzzyMatch)
    printer.setPageLayout(QPageLayout(page_size, orientation, printer.pageLayout().margins()))
    printer.setDocName(document.title or "doseprep")
    return printer


class DocumentPreview(QDialog):
    """Shows one rendered document with Print, Save PDF and Close.

    ``render`` re-renders the document for a paper size (``"letter"`` or ``"a4"``); when given,
    a paper choice is offered. ``reasons`` are why the document is not for clinical use.
    ``companions`` are further documents shown from a button: (title, PDF bytes, file name).
    ``on_output`` is called with how the document left the program ("printed" or "saved")
    once it really did — a print job accepted, a file written; opening the preview is neither.
    """

    def __init__(self, pdf: bytes, *, title: str, file_name: str, reasons: tuple[str, ...],
                 render: Callable[[str], bytes] | None = None, paper: str = "letter",
                 companions: Sequence[tuple[str, bytes, str]] = (),
                 on_output: Callable[[str, str], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.on_output = on_output
        self.setObjectName("document-preview")
        self.setWindowTitle(f"{title} — doseprep")
        self.resize(900, 1000)
        self.pdf = pdf
        self.file_name = file_name
        self.reasons = reasons
        self._render = render
        layout = QVBoxLayout(self)

        self.reasons_label = set_role(QLabel(self), "reasons")
        self.reasons_label.setWordWrap(True)
        self.reasons_label.setTextFormat(Qt.TextFormat.PlainText)
        if reasons:
            self.reasons_label.setText(
                "NOT FOR CLINICAL USE — this document is watermarked and must not be used to "
                "prepare, label or release a product:\n" + "\n".join(f"• {r}" for r in reasons))
            self.reasons_label.setAccessibleName("Not for clinical use")
        self.reasons_label.setVisible(bool(reasons))
        layout.addWidget(self.reasons_label)

        self.document, self._buffer = load_pdf(pdf, self)
        self.view = PageView(self)
        self.view.setDocument(self.document)
        layout.addWidget(self.view, 1)

        buttons = QHBoxLayout()
        self.paper = QComboBox(self)
        for key, label in PAPER_SIZES:
            self.paper.addItem(f"Paper: {label}", key)
        self.paper.setCurrentIndex(max(0, self.paper.findData(paper)))
        self.paper.setVisible(render is not None)
        self.paper.currentIndexChanged.connect(self._paper_changed)
        buttons.addWidget(self.paper)
        self.companions: list[DocumentPreview] = []
        self.companion_buttons: list[QPushButton] = []
        for companion in companions:
            button = QPushButton(f"Show {companion[0].split(' ')[0].lower()}…", self)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, c=companion: self.show_companion(c))
            buttons.addWidget(button)
            self.companion_buttons.append(button)
        buttons.addStretch(1)
        self.save_button = QPushButton("&Save PDF…", self)
        self.save_button.clicked.connect(self.save_pdf)
        self.print_button = QPushButton(
            "&Print — NOT FOR CLINICAL USE…" if reasons else "&Print…", self)
        self.print_button.clicked.connect(self.print_document)
        self.close_button = QPushButton("&Close", self)
        self.close_button.clicked.connect(self.reject)
        for button in (self.save_button, self.print_button, self.close_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.print_button.setDefault(not reasons)

    def show_companion(self, companion: tuple[str, bytes, str]) -> DocumentPreview:
        """Open one of the companion documents in its own preview over this one."""
        title, pdf, file_name = companion
        preview = DocumentPreview(pdf, title=title, file_name=file_name, reasons=self.reasons,
                                  on_output=self.on_output, parent=self)
        preview.setWindowModality(Qt.WindowModality.WindowModal)
        preview.show()
        self.companions.append(preview)
        return preview

    def _paper_changed(self) -> None:
        if self._render is None:
            return
        self.pdf = self._render(self.paper.currentData())
        old = self.document
        self.document, self._buffer = load_pdf(self.pdf, self)
        self.view.setDocument(self.document)
        old.close()

    def save_pdf(self) -> Path | None:
        """Ask where, then write the document's bytes there; returns the file written."""
        path = dialogs.save_file(self, "Save PDF", self.file_name, "PDF documents (*.pdf)")
        if path is None:
            return None
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        try:
            path.write_bytes(self.pdf)
        except OSError as exc:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="PDF not saved",
                           text=f"The PDF could not be saved to {path}.",
                           informative=f"{exc.strerror or exc}. Choose another folder.")
            return None
        log.info("saved %s (%d bytes)", path, len(self.pdf))
        self._output("saved")
        return path

    def print_document(self) -> bool:
        """Confirm when not for clinical use, show the print dialog, print; True if printed."""
        if self.reasons:
            answer = dialogs.choose(
                self, icon=dialogs.Icon.Warning, title="Not for clinical use",
                text="This document is NOT FOR CLINICAL USE.",
                informative=("\n".join(f"• {r}" for r in self.reasons) + "\n\nIt prints with the "
                             "NOT FOR CLINICAL USE watermark. Print it only for training, "
                             "testing or a deviation record."),
                choices=(("print", "Print marked NOT FOR CLINICAL USE"), ("cancel", "Cancel")),
                default="cancel", escape="cancel")
            if answer != "print":
                return False
        printer = make_printer(self.document)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print — doseprep")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        try:
            pages = print_pdf(self.document, printer)
        except OSError as exc:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Not printed",
                           text="The document was not printed.", informative=str(exc))
            return False
        log.info("printed %s: %d page(s) to %s", self.file_name, pages,
                 printer.outputFileName() or printer.printerName())
        self._output("printed")
        return True

    def _output(self, how: str) -> None:
        if self.on_output is not None:
            self.on_output(how, self.windowTitle().removesuffix(" — doseprep"))
