"""The ISBT 128 bag label: a 100 mm × 100 mm PDF page and the same label in ZPL.

The nurse scans this label at the bedside, so each barcode must carry exactly the data structure
printed beside it: the DIN with its flags (and the boxed keyboard-entry check character), the
product code, the expiration date and time, and the donor's ABO/RhD where it is known. Around them
the label names the product, its volume and cells, the intended recipient, the collection and
expiry times with their zone, storage, the lab, and the statements a cellular therapy bag carries.

Only a saved record that is at least Verified gets the product-code and expiry barcodes: a label
made from the form, or from a record that is only a draft or prepared, says DRAFT — NOT FOR USE
across it and has no product barcodes (issue 9: a clean, scannable label once came from an
unsigned form). A blocked plan gets none either, and carries NOT FOR CLINICAL USE with the
reason. An unapproved protocol keeps a verified record's barcodes under the watermark, so labels
can be tested end to end before approval. The label names the record, its version and the state
it was printed in, and says REPRINT when the same labels were printed before in that state.

Where each part goes is worked out as data by :mod:`doseprep.documents.label_layout` (the same
layout, measured with the printer's cell widths, makes the ZPL label): every text inside its
quadrant, nothing cut, and a label stock too small for it is a settings error. This module
measures with reportlab's font metrics and draws the layout.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.pdfgen.canvas import Canvas

from doseprep import __version__
from doseprep.documents.label_boxes import BAR_HEIGHT, MODULE, QUIET_MODULES, Layout
from doseprep.documents.label_layout import RULE_WIDTH, layout_label
from doseprep.documents.label_layout import STATEMENTS as STATEMENTS
from doseprep.documents.label_layout import LabelData as LabelData
from doseprep.documents.style import (
    DRAFT_TEXT,
    LABEL_FONTS,
    document_id,
    draft_reason,
    draw_watermark,
    exceptional_words,
    register_fonts,
    released_codes,
    state_words,
)
from doseprep.isbt128 import (
    abo_rh_structure,
    din_structure,
    expiration_structure,
    parse_abo_rh,
    parse_din,
    product_code_structure,
)
from doseprep.manifest import RecordInfo
from doseprep.plans.fresh import PreparationPlan, Severity, not_for_clinical_use
from doseprep.protocol import EXAMPLE_MARK
from doseprep.units import fmt_cells, fmt_dose, fmt_volume
from doseprep.units.instants import show

DEFAULT_INVESTIGATIONAL = ("CAUTION: New Drug — Limited by Federal (or United States) law to "
                           "investigational use.")

#: The label stock when the lab file names none (mm).
DEFAULT_LABEL_MM = 100


def label_data(plan: PreparationPlan, record: RecordInfo | None = None) -> LabelData:
    """Work out the label's content from the plan and the lab's facility settings."""
    facility = plan.lab.facility
    product = plan.request.product
    din = parse_din(product.din)
    released = released_codes(record)
    blocking = [f for f in plan.findings if f.severity is Severity.BLOCK
                and f.code not in released]
    abo_rh = abo_text = None
    if product.abo_rh:
        abo, rh = parse_abo_rh(product.abo_rh)
        abo_rh = abo_rh_structure(abo, rh)
        abo_text = f"{abo} Rh {'POS' if rh == 'POS' else 'NEG'}"
    code = expiration = None
    draft = draft_reason(record)
    if not blocking and draft is None:
        code = product_code_structure(str(facility.get("product_description_code", "")),
                                      str(facility.get("donation_type", "")),
                                      str(facility.get("division", "00")),
                                      field="lab.facility.product_description_code")
        assert plan.expires_at is not None
        expiration = expiration_structure(plan.expires_at)
    if plan.insufficient:
        volume, cells, dose = "—", "Nothing prepared: insufficient product", ""
        expires = "not prepared"
    else:
        volume = fmt_volume(plan.final_volume)
        cells = fmt_cells(plan.delivered_cells, "viable CD3+ cells")
        dose = fmt_dose(plan.delivered_dose)
        assert plan.expires_at is not None
        expires = show(plan.expires_at, plan.lab.time_zone)
    return LabelData(
        din_structure=din_structure(din, product.din_flags),
        din_text=din.eye_readable,
        flags=product.din_flags,
        check_character=din.check_character,
        product_code=code,
        expiration=expiration,
        abo_rh=abo_rh,
        abo_rh_text=abo_text or "ABO/Rh not given",
        proper_name=str(facility.get("proper_name", "Cellular therapy product")).upper(),
        description=str(facility.get("product_description", "")),
        volume=volume,
        cells=cells,
        dose=dose,
        recipient=(plan.request.patient.name, plan.request.patient.id,
                   plan.request.patient.birth_date.isoformat()),
        collected=show(product.collected_at, plan.lab.time_zone),
        expires=expires,
        storage=str(facility.get("storage", "")),
        lab_lines=(plan.lab.name + (f" (FIN {facility['fin']})" if "fin" in facility else "")
                   + (f" {EXAMPLE_MARK}" if plan.lab.example_facility else ""),
                   *plan.lab.address),
        investigational=str(facility.get("investigational_statement", DEFAULT_INVESTIGATIONAL)),
        blocked_reason=("; ".join(f.code for f in blocking) if blocking else None),
        watermark=bool(not_for_clinical_use(plan, released)),
        document_id=document_id(plan, record),
        draft=draft,
        state=state_words(record),
        reprint=reprint_words(record),
        exceptional=exceptional_words(record),
    )


@dataclass(frozen=True)
class LabelStock:
    """The lab's label stock: width and height in points, and the lab file that sets them (named
    when a label does not fit on it)."""

    width: float
    height: float
    source: str = ""


def label_size(plan: Any) -> LabelStock:
    """The label stock of ``plan``'s lab (100 mm × 100 mm unless the lab file says)."""
    facility = plan.lab.facility
    return LabelStock(float(facility.get("label_width_mm", DEFAULT_LABEL_MM)) * mm,
                      float(facility.get("label_height_mm", DEFAULT_LABEL_MM)) * mm,
                      plan.lab.source)


def reprint_words(record: RecordInfo | None) -> str | None:
    """What a label says when the same labels were printed before for this record version in
    the same signed state: ``REPRINT 2`` for the second reprint; None for a first print. (When
    is in the audit trail; the label has no room to spare for it.)"""
    if record is None or record.reprint_at is None:
        return None
    return f"REPRINT {record.reprint}" if record.reprint else "REPRINT"


class PdfMetrics:
    """Text and barcodes measured as reportlab draws them on the PDF label."""

    def width(self, text: str, font: str, size: float) -> float:
        return stringWidth(text, font, size)

    def line(self, font: str, size: float) -> tuple[float, float]:
        ascent, descent = getAscentDescent(font, size)
        height = ascent - descent
        return height, max(height, 1.17 * size)

    def barcode(self, data: str) -> tuple[float, float]:
        return MODULE, _symbol(data, MODULE).width


def _symbol(data: str, module: float, height: float = BAR_HEIGHT) -> Code128:
    quiet = QUIET_MODULES * module
    return Code128(data, barWidth=module, barHeight=height, humanReadable=False, quiet=True,
                   lquiet=quiet, rquiet=quiet)


def code128_modules(data: str) -> int:
    """The modules (narrowest bar widths) of the Code 128 symbol of ``data`` without its quiet
    zones: the subsets switched as ISBT 128 data needs (the DIN's 14 digits in subset C)."""
    return round(Code128(data, barWidth=1, humanReadable=False, quiet=False).width)


def render_labels(plan: PreparationPlan, record: RecordInfo | None = None) -> bytes:
    """The bag label as a one-page PDF of the lab's label stock size."""
    return label_pages([label_data(plan, record)], label_size(plan))


def pdf_layout(data: LabelData, stock: LabelStock) -> Layout:
    """Where everything on the PDF label goes (checked to fit: see :mod:`label_layout`)."""
    register_fonts(LABEL_FONTS)
    return layout_label(data, stock.width, stock.height, PdfMetrics(), source=stock.source)


def label_pages(labels: list[LabelData], size: LabelStock | tuple[float, float]) -> bytes:
    """Labels as a PDF, one page of the label stock's size each."""
    stock = size if isinstance(size, LabelStock) else LabelStock(*size)
    layouts = [pdf_layout(data, stock) for data in labels]  # all fit before anything is drawn
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(stock.width, stock.height))
    canvas.setTitle(f"ISBT 128 label {labels[0].document_id}")
    canvas.setAuthor(f"doseprep {__version__}")
    for data, layout in zip(labels, layouts, strict=True):
        draw_layout(canvas, layout)
        if data.draft:
            draw_watermark(canvas, stock.width, stock.height, font_size=22, text=DRAFT_TEXT)
        elif data.watermark:
            draw_watermark(canvas, stock.width, stock.height, font_size=22)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def draw_layout(c: Canvas, layout: Layout) -> None:
    """Draw a label's layout on the canvas (PDF y runs upwards from the bottom)."""
    top = layout.height
    c.saveState()
    c.setLineWidth(RULE_WIDTH)
    for rule in layout.rules:
        if rule.w >= rule.h:
            c.line(rule.x, top - rule.y - rule.h / 2, rule.right, top - rule.y - rule.h / 2)
        else:
            c.line(rule.x + rule.w / 2, top - rule.y, rule.x + rule.w / 2, top - rule.bottom)
    for frame in layout.frames:
        c.setLineWidth(frame.line_width)
        c.rect(frame.rect.x, top - frame.rect.bottom, frame.rect.w, frame.rect.h)
    for code in layout.barcodes:
        _symbol(code.data, code.module, code.rect.h).drawOn(c, code.rect.x, top - code.rect.bottom)
    for run in layout.runs:
        c.setFont(run.font, run.size)
        c.drawString(run.x, top - run.y - getAscentDescent(run.font, run.size)[0], run.text)
    c.restoreState()
