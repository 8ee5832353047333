"""The bag label in ZPL II, for a Zebra thermal printer at 203, 300 or 600 dpi: the same content
and the same layout as the PDF label (:mod:`doseprep.documents.label_layout`), Code 128 barcode
fields, rules and frames as graphic boxes.

The printer's resident font 0 is proportional and its metrics are the printer's, so the layout is
measured with a bound instead: for a scalable font ``w`` of ``^A0N,h,w`` is the width of the
whole character cell (ZPL II manual, ^A), so a line of n characters takes at most n × w dots from
its field origin. Lines are wrapped to that bound, which keeps every field inside its quadrant
whatever the printer's font does (on paper the text is narrower than the bound). Barcodes are
measured with their Code 128 module count as reportlab encodes them (subset C for digit runs, the
shortest encoding), at the module width the printer can make — a whole number of dots; the
printer's automatic mode (``^BC…,A``) is assumed to encode no longer than that, which this
program cannot check without a printer.
"""

from __future__ import annotations

import re
from dataclasses import replace

from reportlab.lib.units import mm

from doseprep.documents.label_boxes import MODULE, QUIET_MODULES, Layout
from doseprep.documents.label_layout import layout_label
from doseprep.documents.labels import (
    LabelData,
    LabelStock,
    code128_modules,
    label_data,
    label_size,
)
from doseprep.manifest import RecordInfo
from doseprep.plans.fresh import PreparationPlan

#: Characters the printer's resident font may lack, written the way a keyboard would.
_ZPL_PLAIN = str.maketrans({"−": "-", "×": "x", "—": "-", "–": "-", "·": "-", "µ": "u",
                            "\u00a0": " "})
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
#: A character cell's width as a share of its height (font 0 a little condensed).
CELL_WIDTH = 0.6
#: The smallest character height and width the printer accepts (dots).
MIN_CELL = 10


def plain(text: str) -> str:
    """Text as the label prints it in ZPL: ``7.06 × 10⁷`` as ``7.06 x 10^7``, dashes, the middle
    dot and µ as a keyboard writes them."""
    text = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+", lambda m: "^" + m.group().translate(_SUPERSCRIPT), text)
    return text.replace("× 10^", "x10^").translate(_ZPL_PLAIN)


def _escaped(text: str) -> str:
    """Field data safe for ^FH: the ZPL control characters written as hex escapes."""
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


def unescaped(field: str) -> str:
    """The text a ^FH field prints (for reading a label back)."""
    return re.sub(r"_([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), field)


class ZplMetrics:
    """The label measured as the printer draws it at ``dpi`` (points in, points out)."""

    def __init__(self, dpi: int) -> None:
        self.dpi = dpi

    def dots(self, points: float) -> int:
        return round(points * self.dpi / 72)

    def points(self, dots: float) -> float:
        return dots * 72 / self.dpi

    def cell(self, size: float) -> tuple[int, int]:
        """Character height and width (dots) of text of ``size`` points."""
        height = max(MIN_CELL, self.dots(size))
        return height, max(MIN_CELL, round(CELL_WIDTH * height))

    def width(self, text: str, font: str, size: float) -> float:
        # One dot more: the field origin is rounded to a whole dot.
        return self.points(len(text) * self.cell(size)[1] + 1)

    def line(self, font: str, size: float) -> tuple[float, float]:
        height = self.cell(size)[0]
        return self.points(height + 1), self.points(max(height + 2, round(1.1 * height)))

    def module_dots(self) -> int:
        return max(1, self.dots(MODULE))

    def barcode(self, data: str) -> tuple[float, float]:
        module = self.points(self.module_dots())
        return module, (code128_modules(data) + 2 * QUIET_MODULES) * module + self.points(1)


def zpl_data(d: LabelData) -> LabelData:
    """The label's texts as the printer's font prints them (see :func:`plain`)."""
    texts = ("din_text", "abo_rh_text", "proper_name", "description", "volume", "cells", "dose",
             "collected", "expires", "storage", "investigational", "document_id", "draft",
             "state", "collected_caption", "dose_suffix", "expires_caption", "reprint",
             "blocked_reason", "exceptional")
    changes: dict[str, object] = {k: plain(v) for k in texts if isinstance(v := getattr(d, k), str)}
    changes["recipient"] = tuple(plain(v) for v in d.recipient)
    changes["lab_lines"] = tuple(plain(v) for v in d.lab_lines)
    return replace(d, **changes)


def zpl_layout(d: LabelData, stock: LabelStock, dpi: int) -> Layout:
    """Where everything on the ZPL label goes at ``dpi`` (checked to fit)."""
    return layout_label(zpl_data(d), stock.width, stock.height, ZplMetrics(dpi),
                        source=stock.source, marks_as_text=True)


def render_zpl(plan: PreparationPlan, record: RecordInfo | None = None, dpi: int = 203) -> str:
    """The same label in ZPL II for a Zebra thermal printer (Code 128 barcode fields)."""
    return label_zpl(label_data(plan, record), label_size(plan), dpi)


def label_zpl(d: LabelData, size: LabelStock | tuple[float, float], dpi: int = 203) -> str:
    """One label in ZPL II."""
    stock = size if isinstance(size, LabelStock) else LabelStock(*size)
    layout = zpl_layout(d, stock, dpi)
    m = ZplMetrics(dpi)

    def at(x: float, y: float) -> str:
        return f"^FO{m.dots(x)},{m.dots(y)}"

    lines = ["^XA", "^CI28", f"^PW{round(stock.width / mm * dpi / 25.4)}",
             f"^LL{round(stock.height / mm * dpi / 25.4)}"]
    for rule in layout.rules:
        thick = max(1, m.dots(min(rule.w, rule.h)))
        lines.append(f"{at(rule.x, rule.y)}^GB{max(thick, m.dots(rule.w))},"
                     f"{max(thick, m.dots(rule.h))},{thick}^FS")
    for frame in layout.frames:  # ^GB draws its border inwards from the box's outer edge
        lw = frame.line_width
        outer = replace(frame.rect, x=frame.rect.x - lw / 2, y=frame.rect.y - lw / 2,
                        w=frame.rect.w + lw, h=frame.rect.h + lw)
        lines.append(f"{at(outer.x, outer.y)}^GB{m.dots(outer.w)},{m.dots(outer.h)},"
                     f"{max(1, m.dots(lw))}^FS")
    for code in layout.barcodes:  # the field origin is where the bars start
        if set(code.data) & set("^~_"):  # ISBT 128 data structures never hold them
            raise ValueError(f"{code.data!r} is not barcode data")
        lines.append(f"{at(code.bars.x, code.rect.y)}^BY{m.module_dots()}"
                     f"^BCN,{m.dots(code.rect.h)},N,N,N,A^FD{code.data}^FS")
    for run in layout.runs:
        height, width = m.cell(run.size)
        text = _escaped(run.text.translate(_ZPL_PLAIN))  # the layout's own joins, one for one
        lines.append(f"{at(run.x, run.y)}^A0N,{height},{width}^FH^FD{text}^FS")
    lines.append("^XZ")
    return "\n".join(lines) + "\n"
