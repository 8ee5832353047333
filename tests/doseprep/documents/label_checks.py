"""Reading a bag label back from what was drawn, independently of the layout that placed it.

The PDF label is drawn on a canvas that records every string (with its font and size), rule,
frame and barcode bar; the ZPL label is parsed field by field. From the rules alone the checks
find the quadrants and the bottom band, then measure every line of text — with reportlab's
``stringWidth`` and the font's ascent and descent for the PDF, with field origin + character
count × cell width for ZPL — and report each line that leaves its region or the label's printable
area, crosses a rule, a frame or a barcode with its quiet zones, or lies over another line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.pdfgen.canvas import Canvas

#: Nothing may be printed nearer the label's edge than this (printers shift label stock).
EDGE_CLEARANCE = 1.5 * mm
QUIET_MODULES = 10


@dataclass(frozen=True)
class Box:
    """A rectangle, x to the right and y *upwards* for PDF, *downwards* for ZPL (lo < hi)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def inside(self, other: Box, slack: float = 0.01) -> bool:
        return (self.x0 >= other.x0 - slack and self.y0 >= other.y0 - slack
                and self.x1 <= other.x1 + slack and self.y1 <= other.y1 + slack)

    def overlaps(self, other: Box, slack: float = 0.01) -> bool:
        return (self.x0 < other.x1 - slack and other.x0 < self.x1 - slack
                and self.y0 < other.y1 - slack and other.y0 < self.y1 - slack)


@dataclass
class Drawn:
    """One label as drawn: texts, rules, frame strokes and barcodes, in one coordinate system."""

    width: float
    height: float
    texts: list[tuple[Box, str]] = field(default_factory=list)
    rules: list[Box] = field(default_factory=list)  # the area each rule's stroke covers
    frames: list[tuple[Box, float]] = field(default_factory=list)  # outline and stroke width
    barcodes: list[Box] = field(default_factory=list)  # bars with both quiet zones

    def regions(self) -> dict[str, Box]:
        """The quadrants and the bottom band, from the rules alone: one vertical rule between
        the quadrants, two horizontal rules between the bands."""
        vertical = [r for r in self.rules if r.y1 - r.y0 > r.x1 - r.x0]
        horizontal = sorted((r for r in self.rules if r.x1 - r.x0 > r.y1 - r.y0),
                            key=lambda r: r.y0)
        assert len(vertical) == 1 and len(horizontal) == 2, (vertical, horizontal)
        v, (first, second) = vertical[0], horizontal
        out: dict[str, Box] = {}
        for n, (lo, hi) in enumerate(((0.0, first.y0), (first.y1, second.y0),
                                      (second.y1, self.height))):
            if v.y0 <= (lo + hi) / 2 <= v.y1:  # the vertical rule splits this band
                out[f"band {n} left"] = Box(0, lo, v.x0, hi)
                out[f"band {n} right"] = Box(v.x1, lo, self.width, hi)
            else:
                out[f"band {n}"] = Box(0, lo, self.width, hi)
        assert len(out) == 5, out
        return out

    def problems(self, clearance: float = EDGE_CLEARANCE) -> list[str]:
        """Every way a line of text or a barcode breaks the label's rules (empty: none);
        ``clearance``: the margin along the label's edges, in this drawing's units."""
        out: list[str] = []
        regions = self.regions()
        printable = Box(clearance, clearance, self.width - clearance, self.height - clearance)
        strokes = [stroke for box, lw in self.frames for stroke in _frame_strokes(box, lw)]
        for box, text in self.texts:
            if not box.inside(printable):
                out.append(f"{text!r} leaves the printable area")
            if not any(box.inside(region) for region in regions.values()):
                out.append(f"{text!r} is not inside one quadrant or the bottom band")
            for rule in self.rules:
                if box.overlaps(rule):
                    out.append(f"{text!r} crosses a rule")
            for stroke in strokes:
                if box.overlaps(stroke):
                    out.append(f"{text!r} crosses a frame")
            for code in self.barcodes:
                if box.overlaps(code):
                    out.append(f"{text!r} lies on a barcode or its quiet zone")
        for n, (box, text) in enumerate(self.texts):
            for other, other_text in self.texts[n + 1:]:
                if box.overlaps(other):
                    out.append(f"{text!r} lies over {other_text!r}")
        for code in self.barcodes:
            if not any(code.inside(region) for region in regions.values()):
                out.append(f"a barcode at {code} is not inside one quadrant with its quiet zones")
            if not code.inside(printable):
                out.append(f"a barcode at {code} leaves the printable area")
        return out

    def text(self) -> str:
        """Everything printed, in drawing order, without white space (lines wrap at spaces)."""
        return "".join(re.sub(r"\s+", "", text) for _, text in self.texts)


def _frame_strokes(box: Box, lw: float) -> list[Box]:
    half = lw / 2
    return [Box(box.x0 - half, box.y0 - half, box.x1 + half, box.y0 + half),
            Box(box.x0 - half, box.y1 - half, box.x1 + half, box.y1 + half),
            Box(box.x0 - half, box.y0 - half, box.x0 + half, box.y1 + half),
            Box(box.x1 - half, box.y0 - half, box.x1 + half, box.y1 + half)]


# --- PDF -------------------------------------------------------------------------------------

class RecordingCanvas(Canvas):
    """A reportlab canvas that also records, page by page, what the label drawing puts on it
    (the diagonal watermark is drawn with ``drawCentredString`` and is not recorded)."""

    last: RecordingCanvas | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pages: list[list[tuple]] = [[]]
        RecordingCanvas.last = self

    def _at(self, x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = self._currentMatrix
        return a * x + c * y + e, b * x + d * y + f

    def drawString(self, x: float, y: float, text: str, *args: Any,  # noqa: N802 (reportlab)
                   **kwargs: Any) -> None:
        self.pages[-1].append(("text", *self._at(x, y), text, self._fontname, self._fontsize))
        super().drawString(x, y, text, *args, **kwargs)

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.pages[-1].append(("line", *self._at(x1, y1), *self._at(x2, y2), self._lineWidth))
        super().line(x1, y1, x2, y2)

    def rect(self, x: float, y: float, width: float, height: float, stroke: int = 1,
             fill: int = 0) -> None:
        x0, y0 = self._at(x, y)
        x1, y1 = self._at(x + width, y + height)
        kind = "bar" if fill and not stroke else "frame"
        self.pages[-1].append((kind, min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1),
                               self._lineWidth))
        super().rect(x, y, width, height, stroke=stroke, fill=fill)

    def showPage(self) -> None:  # noqa: N802 (reportlab)
        super().showPage()
        self.pages.append([])


def pdf_drawn(ops: list[tuple], width: float, height: float) -> Drawn:
    """A recorded PDF page as a :class:`Drawn` (y upwards)."""
    drawn = Drawn(width, height)
    bars: list[tuple[float, float, float, float]] = []
    for op in ops:
        if op[0] == "text":
            _, x, y, text, font, size = op
            ascent, descent = getAscentDescent(font, size)
            drawn.texts.append((Box(x, y + descent, x + stringWidth(text, font, size),
                                    y + ascent), text))
        elif op[0] == "line":
            _, x0, y0, x1, y1, lw = op
            drawn.rules.append(Box(min(x0, x1) - lw / 2, min(y0, y1) - lw / 2,
                                   max(x0, x1) + lw / 2, max(y0, y1) + lw / 2))
        elif op[0] == "frame":
            _, x0, y0, x1, y1, lw = op
            drawn.frames.append((Box(x0, y0, x1, y1), lw))
        else:
            bars.append(op[1:5])
    # The bars of one symbol share their bottom and height, the narrowest is one module, and no
    # space inside a Code 128 symbol is wider than 4 modules: a wider gap starts another symbol.
    rows: dict[tuple[float, float], list[tuple[float, float, float, float]]] = {}
    for bar in bars:
        rows.setdefault((round(bar[1], 3), round(bar[3], 3)), []).append(bar)
    for row in rows.values():
        row.sort()
        module = min(b[2] - b[0] for b in row)
        symbols = [[row[0]]]
        for bar in row[1:]:
            if bar[0] - symbols[-1][-1][2] > 4 * module + 1e-6:
                symbols.append([])
            symbols[-1].append(bar)
        quiet = QUIET_MODULES * module
        for symbol in symbols:
            drawn.barcodes.append(Box(symbol[0][0] - quiet, symbol[0][1],
                                      max(b[2] for b in symbol) + quiet, symbol[0][3]))
    return drawn


# --- ZPL -------------------------------------------------------------------------------------

_FIELD = re.compile(r"\^FO(\d+),(\d+)(.*?)\^FS")


def _unescaped(text: str) -> str:
    return re.sub(r"_([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


def zpl_labels(zpl: str) -> list[str]:
    return re.findall(r"\^XA.*?\^XZ", zpl, flags=re.S)


def zpl_drawn(label: str) -> Drawn:
    """One ``^XA…^XZ`` label as a :class:`Drawn` in dots (y downwards): a text field spans
    its character count × cell width from its origin (no character of font 0 is wider than its
    cell) and its cell height; a Code 128 field its modules × module width, with 10 modules of
    quiet zone each side."""
    width = int(re.search(r"\^PW(\d+)", label).group(1))
    height = int(re.search(r"\^LL(\d+)", label).group(1))
    drawn = Drawn(width, height)
    for x_text, y_text, body in _FIELD.findall(label):
        x, y = int(x_text), int(y_text)
        if text := re.fullmatch(r"\^A0N,(\d+),(\d+)\^FH\^FD(.*)", body):
            h, w, data = int(text.group(1)), int(text.group(2)), _unescaped(text.group(3))
            drawn.texts.append((Box(x, y, x + len(data) * w, y + h), data))
        elif box := re.fullmatch(r"\^GB(\d+),(\d+),(\d+)", body):
            w, h, t = (int(v) for v in box.groups())
            if w == t or h == t:  # a rule: a filled line
                drawn.rules.append(Box(x, y, x + w, y + h))
            else:  # a frame: ^GB draws its border inwards from the outer edge
                drawn.frames.append((Box(x + t / 2, y + t / 2, x + w - t / 2, y + h - t / 2), t))
        elif code := re.fullmatch(r"\^BY(\d+)\^BCN,(\d+),N,N,N,A\^FD(.*)", body):
            module, h, data = int(code.group(1)), int(code.group(2)), code.group(3)
            modules = round(Code128(data, barWidth=1, humanReadable=False, quiet=False).width)
            quiet = QUIET_MODULES * module
            drawn.barcodes.append(Box(x - quiet, y, x + modules * module + quiet, y + h))
        else:
            raise AssertionError(f"a ZPL field the checks do not know: {body!r}")
    return drawn


def zpl_problems(label: str, dpi: int) -> list[str]:
    """:meth:`Drawn.problems` of one ZPL label printed at ``dpi``."""
    return zpl_drawn(label).problems(clearance=EDGE_CLEARANCE * dpi / 72)
