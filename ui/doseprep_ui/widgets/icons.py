"""Status icons whose *shape* carries the meaning, so they read without colour.

OK is a circle with a tick, a warning a triangle with "!", blocked an octagon (a stop sign) with a
bar, information a circle with "i", and "no valid plan" a square with "?". Each is drawn once,
in dark outline with a light or dark fill, so it survives a monochrome printout and a
colour-blind reader. Icons are painted with QPainter at first use; no image files to ship.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap, QPolygonF

from doseprep_ui.widgets.style import COLOURS

#: Outline shapes on a 100 × 100 grid.
_TRIANGLE = ((50, 6), (96, 92), (4, 92))
_OCTAGON = ((31, 4), (69, 4), (96, 31), (96, 69), (69, 96), (31, 96), (4, 69), (4, 31))
_TICK = ((26, 52), (43, 69), (75, 33))

_GLYPH = {"warning": "!", "info": "i", "invalid": "?"}
_FILL = {"ok": COLOURS["ok"][2], "warning": "#f2b600", "blocked": COLOURS["blocked"][1],
         "info": COLOURS["info"][2], "invalid": "#ffffff"}
_INK = {"ok": "#ffffff", "warning": "#000000", "blocked": "#ffffff", "info": "#ffffff",
        "invalid": "#000000"}


@cache
def status_pixmap(state: str, size: int = 40) -> QPixmap:
    """The icon for ``state`` (ok, warning, blocked, info, invalid) as a square pixmap."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 100, size / 100)
    painter.setPen(QPen(QColor("#000000"), 6))
    painter.setBrush(QColor(_FILL[state]))
    if state == "warning":
        painter.drawPolygon(_polygon(_TRIANGLE))
    elif state == "blocked":
        painter.drawPolygon(_polygon(_OCTAGON))
    elif state == "invalid":
        painter.drawRect(QRectF(6, 6, 88, 88))
    else:
        painter.drawEllipse(QRectF(5, 5, 90, 90))
    ink = QColor(_INK[state])
    if state == "ok":
        painter.setPen(QPen(ink, 12, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                            Qt.PenJoinStyle.RoundJoin))
        painter.drawPolyline(_polygon(_TICK))
    elif state == "blocked":
        painter.fillRect(QRectF(20, 40, 60, 20), ink)
    else:
        font = QFont("DejaVu Sans")
        font.setBold(True)
        font.setPixelSize(56 if state != "warning" else 50)
        painter.setFont(font)
        painter.setPen(ink)
        box = QRectF(0, 22, 100, 70) if state == "warning" else QRectF(0, 0, 100, 100)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, _GLYPH[state])
    painter.end()
    return pixmap


def _polygon(points: tuple[tuple[int, int], ...]) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in points])


#: Record states: (shape, fill, ink, glyph); "tick" draws the OK tick instead of a glyph.
_RECORD = {
    "unsaved": ("dashed", "#ffffff", "#000000", "–"),
    "draft": ("square", "#ffffff", "#000000", "D"),
    "prepared": ("circle", COLOURS["info"][1], "#0d2f57", "P"),
    "verified": ("circle", COLOURS["info"][2], "#ffffff", "V"),
    "released": ("circle", COLOURS["ok"][2], "#ffffff", "tick"),
}


@cache
def record_pixmap(state: str, size: int = 32) -> QPixmap:
    """The icon of a record state (unsaved, draft, prepared, verified, released).

    A draft is a square (it can still change), a signed record a circle; the letter inside
    (D, P, V) or the tick of a released record reads without colour.
    """
    shape, fill, ink, glyph = _RECORD[state]
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 100, size / 100)
    pen = QPen(QColor("#000000"), 6)
    if shape == "dashed":
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(QColor(fill))
    if shape == "circle":
        painter.drawEllipse(QRectF(5, 5, 90, 90))
    else:
        painter.drawRect(QRectF(6, 6, 88, 88))
    if glyph == "tick":
        painter.setPen(QPen(QColor(ink), 12, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                            Qt.PenJoinStyle.RoundJoin))
        painter.drawPolyline(_polygon(_TICK))
    else:
        font = QFont("DejaVu Sans")
        font.setBold(True)
        font.setPixelSize(56)
        painter.setFont(font)
        painter.setPen(QColor(ink))
        painter.drawText(QRectF(0, 0, 100, 100), Qt.AlignmentFlag.AlignCenter, glyph)
    painter.end()
    return pixmap


@cache
def padlock_pixmap(size: int = 40, colour: str = "#0d2f57") -> QPixmap:
    """A closed padlock: a record that cannot be changed, or a locked workstation."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 100, size / 100)
    ink = QColor(colour)
    painter.setPen(QPen(ink, 11, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawArc(QRectF(28, 8, 44, 56), 0, 180 * 16)
    painter.drawLine(QPointF(28, 36), QPointF(28, 48))
    painter.drawLine(QPointF(72, 36), QPointF(72, 48))
    painter.setPen(QPen(ink, 4))
    painter.setBrush(ink)
    painter.drawRoundedRect(QRectF(14, 46, 72, 48), 6, 6)
    painter.setBrush(QColor("#ffffff"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(QRectF(43, 59, 14, 14))
    painter.drawRect(QRectF(47, 68, 6, 16))
    painter.end()
    return pixmap
