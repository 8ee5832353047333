"""The bag label's layout as data, worked out once for the PDF and the Zebra printer alike.

A label is two bands of two quadrants and a bottom band, separated by rules: upper left the DIN
(barcode, eye-readable with its flags and boxed check character, the collection or thaw time),
upper right the donor's ABO/RhD (and on the ZPL label, which has no diagonal watermark,
DRAFT — NOT FOR USE or NOT FOR CLINICAL USE), lower left the product (code, proper name,
description), lower right the expiry (barcode, caption, time, storage), and across the
bottom the volume, cells and dose, the intended recipient, the statements, the lab's name and
address, and at the foot REPRINT (when the same labels were printed before in the same signed
state) beside the document's id.

:func:`layout_label` places all of it for one label stock and one
:class:`~doseprep.documents.label_boxes.Metrics` — how wide a text is and how tall its line
(reportlab's font metrics for the PDF; the printer's character cell for ZPL), how wide a barcode —
and returns a :class:`~doseprep.documents.label_boxes.Layout`: every line of text with its
position, size and the region it must stay inside, every rule, frame and barcode. The PDF and
ZPL writers only draw it, and tests check it. A text too wide for its region first shrinks to its
smallest legible size, then wraps (a word longer than a whole line breaks between characters);
nothing is cut or left out (issue 21: the thawed label's instruction was cut mid-sentence, an
aliquot's volume ran across the rule, a 30 mm label dropped the expiry and the recipient). When
even that cannot fit, the label stock is too small: a :class:`~doseprep.errors.SettingsError`
names ``facility.label_width_mm`` or ``facility.label_height_mm`` and says what size would do.

Lengths are in points (1/72 inch), from the label's top-left corner, y downwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from reportlab.lib.units import mm

from doseprep import __version__
from doseprep.documents.label_boxes import (
    FRAME_WIDTH,
    Barcode,
    Column,
    DoesNotFitError,
    Frame,
    Layout,
    Metrics,
    Rect,
    Run,
    Style,
    mm_text,
)
from doseprep.documents.style import (
    CONDENSED,
    CONDENSED_BOLD,
    DRAFT_TEXT,
    MONO,
    SANS_BOLD,
    WATERMARK_TEXT,
)
from doseprep.errors import SettingsError

#: Nothing is printed nearer the label's edge than this (label stock shifts ±1 mm in a printer).
EDGE = 2.0 * mm
#: Space between a rule and the text or barcode beside it.
PAD = 1.0 * mm
#: The rules between the quadrants and the bands.
RULE_WIDTH = 0.6
#: Where a 100 mm ISBT 128 label has its rules: they stand there when the content allows.
NOMINAL_RULES = (31 * mm, 62 * mm)
#: Joins the parts of one line of text (the lab's name and address lines; cells and dose): a
#: no-break space keeps the dot with the part before it when the line wraps.
JOIN = "\u00a0· "


#: The statements every cellular therapy bag label carries.
STATEMENTS = (
    "For use by intended recipient only.",
    "Do not irradiate.",
    "Do not use leukocyte reduction filters.",
    "Properly identify intended recipient and product.",
    "Warning: This product may transmit infectious agents.",
)


@dataclass(frozen=True)
class LabelData:
    """Everything one label says, worked out once for the PDF and the ZPL alike."""

    din_structure: str
    din_text: str
    flags: str
    check_character: str
    product_code: str | None
    expiration: str | None
    abo_rh: str | None
    abo_rh_text: str
    proper_name: str
    description: str
    volume: str
    cells: str
    dose: str
    recipient: tuple[str, str, str]  # name, MRN, date of birth
    collected: str
    expires: str
    storage: str
    lab_lines: tuple[str, ...]
    investigational: str
    blocked_reason: str | None
    watermark: bool
    document_id: str
    draft: str | None = None  # why this label is a draft that must not be used
    state: str = ""  # the record state it was printed in
    collected_caption: str = "Collected"  # a thawed bag: "Thawed"
    dose_suffix: str = " recipient weight"
    expires_caption: str = "EXPIRES"  # a thawed bag: "INFUSE BY"
    reprint: str | None = None  # "REPRINT 1" when printed before in the same signed state
    #: The medical director's exceptional release, in words (the findings, the reason, the
    #: physician told), printed in full across the label above the recipient; None otherwise.
    exceptional: str | None = None


# --- the label's parts -----------------------------------------------------------------------

def _fonts() -> dict[str, str]:
    """The label's fonts by role (the bundled DejaVu faces: lab notation needs ×, µ, 10⁷)."""
    return {"regular": CONDENSED, "bold": CONDENSED_BOLD, "mono": MONO, "heavy": SANS_BOLD}


def _upper_left(c: Column, d: LabelData, f: dict[str, str]) -> None:
    c.barcode(d.din_structure, "DIN")
    c.gap(1.2 * mm)
    c.din_line(d.din_text, d.flags, d.check_character, f["mono"])
    c.text(f"{d.collected_caption} {d.collected}", Style(f["regular"], 6.5, 6),
           "collection time")


def _upper_right(c: Column, d: LabelData, f: dict[str, str], marks_as_text: bool) -> None:
    """ABO/RhD; and where no diagonal watermark says it (ZPL), DRAFT — NOT FOR USE or NOT FOR
    CLINICAL USE."""
    if d.abo_rh:
        c.barcode(d.abo_rh, "ABO/RhD")
        c.gap(1.5 * mm)
        c.text(d.abo_rh_text, Style(f["heavy"], 20, 12), "ABO/RhD")
    else:
        c.gap(2 * mm)
        c.text(d.abo_rh_text, Style(f["regular"], 8, 6), "ABO/RhD")
    if marks_as_text and (d.draft or d.watermark):
        c.gap(0.5 * mm)
        c.text(DRAFT_TEXT if d.draft else WATERMARK_TEXT, Style(f["bold"], 8, 6), "mark")


def _no_barcode(c: Column, d: LabelData, f: dict[str, str]) -> None:
    def fill(inner: Column) -> None:
        inner.text("NO BARCODE", Style(f["bold"], 8), "blocked box")
        inner.text(DRAFT_TEXT if d.draft else "NOT FOR CLINICAL USE", Style(f["bold"], 7, 6),
                   "blocked box")
        inner.text(f"Blocked: {d.blocked_reason}" if d.blocked_reason else f"Draft: {d.draft}",
                   Style(f["regular"], 6, 5.5), "reason for no barcode")

    c.framed(fill, 0.8 * mm, 1.0)


def _lower_left(c: Column, d: LabelData, f: dict[str, str]) -> None:
    if d.product_code:
        c.barcode(d.product_code, "product code")
        c.gap(0.6 * mm)
        c.text(d.product_code, Style(f["mono"], 7, 6), "product code")
    else:
        _no_barcode(c, d, f)
    c.gap(0.8 * mm)
    c.text(d.proper_name, Style(f["bold"], 9.5, 7), "proper name")
    c.text(d.description, Style(f["regular"], 5.5), "product description")


def _lower_right(c: Column, d: LabelData, f: dict[str, str]) -> None:
    if d.expiration:
        c.barcode(d.expiration, "expiry")
        c.gap(0.6 * mm)
        c.text(d.expiration, Style(f["mono"], 7, 6), "expiry code")
    else:
        _no_barcode(c, d, f)
    c.gap(0.8 * mm)
    c.text(d.expires_caption, Style(f["bold"], 8.5), "expiry caption")
    c.text(d.expires, Style(f["bold"], 9, 7), "expiry")
    c.gap(0.6 * mm)
    c.text(d.storage, Style(f["regular"], 6.2, 6), "storage statement")


def _bottom(c: Column, d: LabelData, f: dict[str, str]) -> None:
    name, mrn, dob = d.recipient
    # The product's volume, cells and dose across the whole label, under both quadrants.
    c.text(f"Volume {d.volume}", Style(f["bold"], 8, 6.5), "volume")
    cells = f"{d.cells}{JOIN}{d.dose}{d.dose_suffix}" if d.dose else d.cells
    c.text(cells, Style(f["regular"], 7, 6), "cells and dose")
    c.gap(0.8 * mm)
    if d.exceptional:  # in bold, whole (the worksheet has the same words)
        c.text(d.exceptional, Style(f["bold"], 6.5, 5.5), "exceptional release")
        c.gap(0.8 * mm)

    def recipient(inner: Column) -> None:
        # MRN and date of birth are always complete; the name follows on lines of its own,
        # never below 6 pt and never cut (issue 9: a long name pushed MRN and DOB off).
        inner.pair("INTENDED RECIPIENT", Style(f["regular"], 6.5), f"MRN {mrn}   DOB {dob}",
                   Style(f["bold"], 8.5, 6), "MRN and date of birth")
        inner.gap(0.3 * mm)
        inner.text(name, Style(f["bold"], 10, 6), "patient name")

    c.framed(recipient, 0.9 * mm, FRAME_WIDTH)
    c.gap(1.2 * mm)
    c.text(" ".join(STATEMENTS), Style(f["bold"], 6.2, 5.5), "statements")
    c.text(d.investigational, Style(f["regular"], 6, 5.5), "investigational statement")
    c.text(JOIN.join(d.lab_lines), Style(f["regular"], 6, 5.5), "lab name and address")


def _footer(c: Column, d: LabelData, f: dict[str, str]) -> None:
    """REPRINT (when it is one) and the document's id, state and program version at the foot."""
    ident = f"{d.document_id} · {d.state} · doseprep {__version__}"
    if d.reprint:
        c.pair(d.reprint, Style(f["heavy"], 8, 7), ident, Style(f["regular"], 5), "REPRINT")
    else:
        c.text(ident, Style(f["regular"], 5), "document id", "right")


# --- the whole label -------------------------------------------------------------------------

def layout_label(d: LabelData, width: float, height: float, metrics: Metrics, *,
                 source: str = "", marks_as_text: bool = False) -> Layout:
    """Place everything ``d`` says on a label ``width`` × ``height`` points, measured with
    ``metrics``. ``marks_as_text``: write DRAFT — NOT FOR USE / NOT FOR CLINICAL USE under the
    ABO/RhD (ZPL, which has no diagonal watermark). Raises :class:`SettingsError` naming
    ``facility.label_width_mm`` or ``facility.label_height_mm`` of the lab file ``source`` when
    the label stock is too small for it."""
    f = _fonts()
    half = width / 2
    quadrant = half - EDGE - PAD
    columns = {"upper left": Column(metrics, "upper left", quadrant),
               "upper right": Column(metrics, "upper right", quadrant),
               "lower left": Column(metrics, "lower left", quadrant),
               "lower right": Column(metrics, "lower right", quadrant),
               "bottom": Column(metrics, "bottom", width - 2 * EDGE),
               "footer": Column(metrics, "bottom", width - 2 * EDGE)}
    parts = {"upper left": lambda c: _upper_left(c, d, f),
             "upper right": lambda c: _upper_right(c, d, f, marks_as_text),
             "lower left": lambda c: _lower_left(c, d, f),
             "lower right": lambda c: _lower_right(c, d, f),
             "bottom": lambda c: _bottom(c, d, f),
             "footer": lambda c: _footer(c, d, f)}
    for name, fill in parts.items():
        try:
            fill(columns[name])
        except DoesNotFitError as exc:
            across = exc.needs + 2 * EDGE if name in ("bottom", "footer") else \
                2 * (exc.needs + EDGE + PAD)
            raise SettingsError(source, "facility.label_width_mm",
                                f"the label stock is too narrow: {exc.message} on a label "
                                f"{width / mm:g} mm wide. Use wider label stock and set "
                                f"label_width_mm to at least {math.ceil(across / mm)}.") from None

    # Heights: each band as tall as its taller quadrant, the rules where a 100 mm label has them
    # when there is room, the bottom band taking the rest (all of it on taller stock).
    band1 = max(columns["upper left"].y, columns["upper right"].y)
    band2 = max(columns["lower left"].y, columns["lower right"].y)
    bottom = columns["bottom"].y + 1.0 * mm + columns["footer"].y
    needs = EDGE + band1 + 2 * PAD + band2 + 2 * PAD + bottom + EDGE
    if needs > height + 1e-6:
        raise SettingsError(
            source, "facility.label_height_mm",
            f"the label stock is too short for this label: the upper quadrants need "
            f"{mm_text(band1)}, the lower {mm_text(band2)} and the bottom band (intended "
            f"recipient, statements, lab) {mm_text(bottom)}, {needs / mm:.0f} mm in all with the "
            f"margins, on a label {height / mm:g} mm high. Use taller label stock and set "
            f"label_height_mm to at least {math.ceil(needs / mm)}.")
    spare = height - needs
    rule1 = EDGE + band1 + PAD
    grow = min(spare, max(0.0, NOMINAL_RULES[0] - rule1))
    rule1, spare = rule1 + grow, spare - grow
    rule2 = rule1 + PAD + band2 + PAD
    grow = min(spare, max(0.0, NOMINAL_RULES[1] - rule2))
    rule2 += grow

    regions = {
        "upper left": Rect(EDGE, EDGE, quadrant, rule1 - PAD - EDGE),
        "upper right": Rect(half + PAD, EDGE, quadrant, rule1 - PAD - EDGE),
        "lower left": Rect(EDGE, rule1 + PAD, quadrant, rule2 - rule1 - 2 * PAD),
        "lower right": Rect(half + PAD, rule1 + PAD, quadrant, rule2 - rule1 - 2 * PAD),
        "bottom": Rect(EDGE, rule2 + PAD, width - 2 * EDGE, height - EDGE - rule2 - PAD),
    }
    runs: list[Run] = []
    frames: list[Frame] = []
    barcodes: list[Barcode] = []
    footer = columns.pop("footer")
    placed = [(c, regions[name].x, regions[name].y) for name, c in columns.items()]
    placed.append((footer, regions["bottom"].x, regions["bottom"].bottom - footer.y))
    for column, dx, dy in placed:
        runs += [replace(r, x=r.x + dx, y=r.y + dy) for r in column.runs]
        frames += [replace(fr, rect=fr.rect.moved(dx, dy)) for fr in column.frames]
        barcodes += [replace(b, rect=b.rect.moved(dx, dy)) for b in column.barcodes]
    half_rule = RULE_WIDTH / 2
    rules = (Rect(half - half_rule, EDGE - PAD, RULE_WIDTH, rule2 - EDGE + PAD),
             Rect(EDGE - PAD, rule1 - half_rule, width - 2 * (EDGE - PAD), RULE_WIDTH),
             Rect(EDGE - PAD, rule2 - half_rule, width - 2 * (EDGE - PAD), RULE_WIDTH))
    return Layout(width=width, height=height, regions=tuple(regions.items()), rules=rules,
                  frames=tuple(frames), runs=tuple(runs), barcodes=tuple(barcodes))
