"""A PDF's pages as images, and a scrolling view of them, drawn by PDFium (pypdfium2).

The window previews and prints the documents the domain rendered. PDFium — the engine of Chrome,
through the well-kept pypdfium2 binding — draws each page to a bitmap that becomes a ``QImage``;
so the window needs only the essential Qt modules, not QtPdf (which ships only in the large
PySide6-Addons wheel, with WebEngine). :class:`PdfPages` keeps the API the preview used
(``pageCount``, ``pagePointSize``, ``render``); :class:`PageView` shows every page fitted to the
view's width, redrawn when the view is resized.
"""

from __future__ import annotations

import pypdfium2 as pdfium
from PySide6.QtCore import QSize, QSizeF, Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

#: Gap between pages in the view, in pixels.
PAGE_GAP = 12


class PdfLoadError(RuntimeError):
    """The rendered bytes could not be opened as a PDF (a fault in the document code)."""


class PdfPages:
    """The pages of one PDF (its bytes kept), drawn on demand."""

    def __init__(self, data: bytes) -> None:
        try:
            self._pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise PdfLoadError(f"the document could not be opened ({exc})") from None
        if len(self._pdf) < 1:
            raise PdfLoadError("the document has no pages")
        self._sizes = [self._pdf[i].get_size() for i in range(len(self._pdf))]
        self.title = str(self._pdf.get_metadata_dict().get("Title") or "")

    def pageCount(self) -> int:
        return len(self._sizes)

    def pagePointSize(self, page: int) -> QSizeF:
        width, height = self._sizes[page]
        return QSizeF(width, height)

    def render(self, page: int, size: QSize) -> QImage:
        """Page ``page`` drawn to an image of ``size`` pixels (white background)."""
        width, _ = self._sizes[page]
        scale = max(size.width(), 1) / width
        bitmap = self._pdf[page].render(scale=scale, rev_byteorder=False, may_draw_forms=True)
        image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride,
                       QImage.Format.Format_RGB32 if bitmap.n_channels == 4 else
                       QImage.Format.Format_BGR888)
        return image.copy()  # own the pixels: the bitmap's buffer goes with it

    def close(self) -> None:
        self._pdf.close()


class PageView(QScrollArea):
    """Every page of a :class:`PdfPages`, one under the other, fitted to the width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page-view")
        self.setWidgetResizable(True)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self._document: PdfPages | None = None
        self._pages = QWidget(self)
        self._layout = QVBoxLayout(self._pages)
        self._layout.setSpacing(PAGE_GAP)
        self.setWidget(self._pages)
        self.labels: list[QLabel] = []
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(120)
        self._redraw.timeout.connect(self._draw)
        self._drawn_width = 0

    def setDocument(self, document: PdfPages) -> None:
        self._document = document
        for label in self.labels:
            label.deleteLater()
        self.labels = []
        for page in range(document.pageCount()):
            label = QLabel(self._pages)
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            label.setAccessibleName(f"Page {page + 1} of {document.pageCount()}")
            self._layout.addWidget(label)
            self.labels.append(label)
        self._drawn_width = 0
        self._draw()

    def _draw(self) -> None:
        if self._document is None:
            return
        width = max(200, self.viewport().width() - 2 * PAGE_GAP)
        if width == self._drawn_width:
            return
        self._drawn_width = width
        ratio = self.devicePixelRatioF()
        for page, label in enumerate(self.labels):
            points = self._document.pagePointSize(page)
            height = round(width * points.height() / points.width())
            image = self._document.render(page, QSize(round(width * ratio),
                                                      round(height * ratio)))
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(ratio)
            label.setPixmap(pixmap)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._redraw.start()
