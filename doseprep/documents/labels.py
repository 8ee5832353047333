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
it was printed in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from doseprep import __version__
from doseprep.documents.style import (
    CONDENSED,
    CONDENSED_BOLD,
    DRAFT_TEXT,
    LABEL_FONTS,
    MONO,
    SANS_BOLD,
    document_id,
    draft_reason,
    draw_watermark,
    exceptional_words,
    register_fonts,
    released_codes,
    stamp,
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
from doseprep.plan import PreparationPlan, Severity, not_for_clinical_use
from doseprep.protocol import EXAMPLE_MARK
from doseprep.units import fmt_cells, fmt_dose, fmt_volume

STATEMENTS = (
    "For use by intended recipient only.",
    "Do not irradiate.",
    "Do not use leukocyte reduction filters.",
    "Properly identify intended recipient and product.",
    "Warning: This product may transmit infectious agents.",
)
DEFAULT_INVESTIGATIONAL = ("CAUTION: New Drug — Limited by Federal (or United States) law to "
                           "investigational use.")

BAR_WIDTH = 0.25 * mm  # Code 128 X dimension: ISBT 128 asks for 0.17 mm to 0.25 mm
BAR_HEIGHT = 8 * mm


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
    #: The medical director's exceptional release, in words (the findings, the reason, the
    #: physician told), printed across the label above the recipient; None for every other.
    exceptional: str | None = None


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
        expires = stamp(plan.expires_at)
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
        collected=stamp(product.collected_at),
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
        exceptional=exceptional_words(record),
    )


def label_size(plan: PreparationPlan) -> tuple[float, float]:
    """The label stock's width and height in points (100 mm × 100 mm unless the lab says)."""
    facility = plan.lab.facility
    return (float(facility.get("label_width_mm", 100)) * mm,
            float(facility.get("label_height_mm", 100)) * mm)


def _barcode(canvas: Canvas, data: str, x: float, y: float) -> float:
    """Draw a Code 128 barcode with its bottom-left at (x, y); returns its width."""
    symbol = Code128(data, barWidth=BAR_WIDTH, barHeight=BAR_HEIGHT, humanReadable=False,
                     quiet=True)
    symbol.drawOn(canvas, x, y)
    return symbol.width


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> float:
    """Shrink ``size`` until ``text`` fits ``width``; set the font; return the size."""
    while size > 4 and stringWidth(text, font, size) > width:
        size -= 0.25
    canvas.setFont(font, size)
    return size


def render_labels(plan: PreparationPlan, record: RecordInfo | None = None) -> bytes:
    """The bag label as a one-page PDF of the lab's label stock size."""
    return label_pages([label_data(plan, record)], label_size(plan))


def label_pages(labels: list[LabelData], size: tuple[float, float]) -> bytes:
    """Labels as a PDF, one page of the label stock's size each."""
    register_fonts(LABEL_FONTS)
    width, height = size
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height))
    canvas.setTitle(f"ISBT 128 label {labels[0].document_id}")
    canvas.setAuthor(f"doseprep {__version__}")
    for data in labels:
        _draw_label(canvas, data, width, height)
        if data.draft:
            draw_watermark(canvas, width, height, font_size=22, text=DRAFT_TEXT)
        elif data.watermark:
            draw_watermark(canvas, width, height, font_size=22)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_label(c: Canvas, d: LabelData, width: float, height: float) -> None:
    left, mid, right = 3 * mm, width / 2 + 1 * mm, width - 3 * mm
    half = width / 2 - 5 * mm
    c.setLineWidth(0.6)
    c.line(width / 2, height - 2 * mm, width / 2, height - 62 * mm)
    c.line(2 * mm, height - 31 * mm, width - 2 * mm, height - 31 * mm)
    c.line(2 * mm, height - 62 * mm, width - 2 * mm, height - 62 * mm)

    # Upper left: DIN with flags and the boxed check character.
    top = height - 3 * mm
    _barcode(c, d.din_structure, left, top - BAR_HEIGHT)
    y = top - BAR_HEIGHT - 5 * mm
    c.setFont(MONO, 10.5)
    c.drawString(left, y, d.din_text)
    text_w = stringWidth(d.din_text, MONO, 10.5)
    c.setFont(MONO, 6.5)
    c.drawString(left + text_w + 1.2 * mm, y + 1.5, d.flags)
    box_x = left + text_w + 1.2 * mm + stringWidth(d.flags, MONO, 6.5) + 1.2 * mm
    c.rect(box_x, y - 1.2, 4.2 * mm, 4.6 * mm)
    c.setFont(MONO, 10.5)
    c.drawCentredString(box_x + 2.1 * mm, y, d.check_character)
    c.setFont(CONDENSED, 6.5)
    c.drawString(left, y - 3.6 * mm, d.collected_caption)
    _fit(c, d.collected, CONDENSED, 6.5, half)
    c.drawString(left, y - 6.4 * mm, d.collected)
    _fit(c, d.lab_lines[0], CONDENSED_BOLD, 6.5, half)
    c.drawString(left, y - 9.4 * mm, d.lab_lines[0])

    # Upper right: ABO/RhD.
    if d.abo_rh:
        _barcode(c, d.abo_rh, mid + 2 * mm, top - BAR_HEIGHT)
        _fit(c, d.abo_rh_text, SANS_BOLD, 20, half)
        c.drawString(mid + 2 * mm, top - BAR_HEIGHT - 9 * mm, d.abo_rh_text)
    else:
        c.setFont(CONDENSED, 8)
        c.drawString(mid + 2 * mm, top - 10 * mm, d.abo_rh_text)

    # Lower left (middle band): product code, proper name, volume and cells.
    top = height - 33 * mm
    y = top - BAR_HEIGHT
    if d.product_code:
        _barcode(c, d.product_code, left, y)
        c.setFont(MONO, 7)
        c.drawString(left, y - 3 * mm, d.product_code)
    else:
        _blocked_box(c, left, y - 3 * mm, half, BAR_HEIGHT + 3 * mm, d.blocked_reason, d.draft)
    _fit(c, d.proper_name, CONDENSED_BOLD, 9.5, half)
    c.drawString(left, y - 7 * mm, d.proper_name)
    c.setFont(CONDENSED, 5.5)
    for n, line in enumerate(_wrap(d.description, CONDENSED, 5.5, half)[:2]):
        c.drawString(left, y - (9.6 + 2.1 * n) * mm, line)
    c.setFont(CONDENSED_BOLD, 7.5)
    c.drawString(left, y - 14.6 * mm, f"Volume {d.volume}")
    _fit(c, d.cells, CONDENSED, 7, half)
    c.drawString(left, y - 17.2 * mm, d.cells)
    if d.dose:
        _fit(c, f"{d.dose}{d.dose_suffix}", CONDENSED, 7, half)
        c.drawString(left, y - 19.8 * mm, f"{d.dose}{d.dose_suffix}")

    # Lower right (middle band): expiration.
    if d.expiration:
        _barcode(c, d.expiration, mid + 2 * mm, y)
        c.setFont(MONO, 7)
        c.drawString(mid + 2 * mm, y - 3 * mm, d.expiration)
    else:
        _blocked_box(c, mid + 2 * mm, y - 3 * mm, half, BAR_HEIGHT + 3 * mm, d.blocked_reason,
                     d.draft)
    c.setFont(CONDENSED_BOLD, 8.5)
    c.drawString(mid + 2 * mm, y - 7.5 * mm, d.expires_caption)
    _fit(c, d.expires, CONDENSED_BOLD, 9, half)
    c.drawString(mid + 2 * mm, y - 11.5 * mm, d.expires)
    c.setFont(CONDENSED, 6.2)
    for n, line in enumerate(_wrap(d.storage, CONDENSED, 6.2, half)[:2]):
        c.drawString(mid + 2 * mm, y - (15 + 2.8 * n) * mm, line)

    # An exceptional release, in bold across the label just above the recipient.
    lines: list[str] = []
    if d.exceptional:
        c.setFont(CONDENSED_BOLD, 5.8)
        lines = _wrap(d.exceptional, CONDENSED_BOLD, 5.8, right - left)
        if len(lines) > 2:  # the reason is last; the worksheet carries it in full
            lines = [lines[0], _clip(" ".join(lines[1:]), CONDENSED_BOLD, 5.8, right - left)]
        for n, line in enumerate(lines):
            c.drawString(left, height - (64.4 + 2.2 * n) * mm, line)
    # Bottom band: the intended recipient, statements, lab.
    top = height - (62 + (2.2 * len(lines) + 0.8 if lines else 0)) * mm
    c.setLineWidth(1.2)
    c.rect(left, top - 11.5 * mm, right - left, 10 * mm)
    # MRN and date of birth are always complete, on the first line; the name has the second line
    # to itself, never below 6 pt — a name too long even then is abbreviated with "…" (the
    # worksheet carries it in full). A long name once pushed MRN and DOB off the label (issue 9).
    inner = right - left - 3 * mm
    c.setFont(CONDENSED, 6.5)
    c.drawString(left + 1.5 * mm, top - 4.0 * mm, "INTENDED RECIPIENT")
    name, mrn, dob = d.recipient
    ids = f"MRN {mrn}   DOB {dob}"
    beside = inner - stringWidth("INTENDED RECIPIENT", CONDENSED, 6.5) - 3 * mm
    if stringWidth(ids, CONDENSED_BOLD, 6) <= beside:
        c.setFont(CONDENSED_BOLD, _fit(c, ids, CONDENSED_BOLD, 8.5, beside))
        c.drawRightString(right - 1.5 * mm, top - 4.0 * mm, ids)
    else:  # a very long MRN: it takes the whole first line, complete
        c.setFillGray(1)
        c.rect(left + 1 * mm, top - 5.2 * mm, inner + 1 * mm, 3.6 * mm, stroke=0, fill=1)
        c.setFillGray(0)
        c.setFont(CONDENSED_BOLD, max(5.5, _fit(c, ids, CONDENSED_BOLD, 7, inner)))
        c.drawString(left + 1.5 * mm, top - 4.0 * mm, ids)
    size = max(6.0, _fit(c, name, CONDENSED_BOLD, 10, inner))
    c.setFont(CONDENSED_BOLD, size)
    c.drawString(left + 1.5 * mm, top - 9 * mm, _clip(name, CONDENSED_BOLD, size, inner))
    y = top - 15 * mm
    c.setFont(CONDENSED_BOLD, 6.2)
    statements = " ".join(STATEMENTS)
    for line in _wrap(statements, CONDENSED_BOLD, 6.2, right - left):
        c.drawString(left, y, line)
        y -= 2.6 * mm
    c.setFont(CONDENSED, 6)
    for line in _wrap(d.investigational, CONDENSED, 6, right - left):
        c.drawString(left, y, line)
        y -= 2.5 * mm
    lab = " · ".join(d.lab_lines)
    for line in _wrap(lab, CONDENSED, 6, right - left):
        c.drawString(left, y, line)
        y -= 2.5 * mm
    c.setFont(CONDENSED, 5)
    c.drawRightString(right, 2.2 * mm, f"{d.document_id} · {d.state} · doseprep {__version__}")


def _blocked_box(c: Canvas, x: float, y: float, w: float, h: float, reason: str | None,
                 draft: str | None = None) -> None:
    c.saveState()
    c.setLineWidth(1)
    c.rect(x, y, w, h)
    inner = w - 3 * mm
    lines = ((3.6, "NO BARCODE", CONDENSED_BOLD, 8),
             (6.6, DRAFT_TEXT if draft else "NOT FOR CLINICAL USE", CONDENSED_BOLD, 7),
             (9.4, f"Blocked: {reason}" if reason else f"Draft: {draft}", CONDENSED, 6))
    for offset, text, font, size in lines:
        _fit(c, text, font, size, inner)
        c.drawString(x + 1.5 * mm, y + h - offset * mm, _clip(text, font, c._fontsize, inner))
    c.restoreState()


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if stringWidth(candidate, font, size) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _clip(text: str, font: str, size: float, width: float) -> str:
    while text and stringWidth(text, font, size) > width:
        text = text[:-2] + "…"
    return text
