"""The preparation worksheet: every number of the plan, the checklist and the signature blocks.

A second person checks this page and signs it, and an inspector reads it years later, so it
carries everything: who the patient is, what the product is (as entered, with units and analyzer
notation), what was ordered, each step of the arithmetic, the instruction in large type, the
findings, the expiry with its time zone, a checklist to tick by hand and the Prepared / Verified /
Released blocks. Every page shows the worksheet id and "Page N of M". A blocked plan or an
unapproved protocol prints a diagonal NOT FOR CLINICAL USE and the reasons on the first page.
Black and white only: meaning never depends on colour.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from html import escape
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from doseprep import __version__
from doseprep.documents.sections import (
    ledger_rows,
    record_instruction,
    settings_rows,
    status_line,
)
from doseprep.documents.style import (
    DRAFT_TEXT,
    MONO,
    PAGE_SIZES,
    SANS,
    SANS_BOLD,
    WATERMARK_TEXT,
    WORKSHEET_FONTS,
    document_id,
    draft_reason,
    draw_watermark,
    register_fonts,
    released_codes,
    state_words,
)
from doseprep.isbt128 import din_structure, parse_din
from doseprep.manifest import ExceptionalRelease, RecordInfo, checkpoint_keyword
from doseprep.plans.fresh import PreparationPlan, Severity, not_for_clinical_use
from doseprep.protocol import EXAMPLE_MARK
from doseprep.signoff import MEANINGS
from doseprep.units import (
    fixed,
    fmt_cells,
    fmt_concentration,
    fmt_dose,
    fmt_mass,
    fmt_percent,
    fmt_volume,
)
from doseprep.units.instants import show, show_with_utc

MARGIN = 15 * mm
SEVERITY_WORD = {Severity.BLOCK: "BLOCK", Severity.WARNING: "WARNING", Severity.INFO: "INFO"}
CHECKLIST = (
    "Patient identity confirmed with two identifiers (name and MRN) against the physician order.",
    "Physician order matches: protocol, cycle, infusion and dose level as printed above.",
    "Product identity: the DIN on the product bag matches this worksheet.",
    "Cytokine-release syndrome resolved, as confirmed by the clinical team.",
    "Volumes drawn as instructed, syringe size as printed; labels checked against this worksheet.",
)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=SANS, fontSize=8.5, leading=10.5, alignment=TA_LEFT)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9),
        "h1": ParagraphStyle("h1", parent=base, fontName=SANS_BOLD, fontSize=14, leading=17),
        "h2": ParagraphStyle("h2", parent=base, fontName=SANS_BOLD, fontSize=10, leading=13,
                             spaceBefore=6, spaceAfter=3),
        "bold": ParagraphStyle("bold", parent=base, fontName=SANS_BOLD),
        "instruction": ParagraphStyle("instruction", parent=base, fontName=SANS_BOLD,
                                      fontSize=15, leading=19),
        "status": ParagraphStyle("status", parent=base, fontName=SANS_BOLD, fontSize=12,
                                 leading=15),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=7.5, leading=9),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text, quote=False), style)  # &, < and > (not xml.sax: 6 ms)


def _grid(rows: list[list], widths: list[float], header: bool = False,
          style: list | None = None, heights: list | None = None) -> Table:
    table = Table(rows, colWidths=widths, rowHeights=heights, repeatRows=1 if header else 0)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.88, 0.88)))
    table.setStyle(TableStyle(commands + (style or [])))
    return table


def _pairs(rows: list[tuple[str, str]], s: dict, width: float, columns: int = 2) -> Table:
    """Label/value pairs laid out in ``columns`` column pairs."""
    cells = [[_p(label, s["bold"]), _p(value, s["base"])] for label, value in rows]
    per_row = []
    for i in range(0, len(cells), columns):
        chunk = [c for pair in cells[i:i + columns] for c in pair]
        chunk += [""] * (2 * columns - len(chunk))
        per_row.append(chunk)
    label_w = 30 * mm
    value_w = width / columns - label_w
    return _grid(per_row, [label_w, value_w] * columns)


class _NumberedCanvas(Canvas):
    """A canvas that knows the page count when it finishes, for "Page N of M" and marks."""

    def __init__(self, *args, footer: str = "", watermark: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []
        self._footer = footer
        self._watermark = watermark  # the text across every page, or "" for none

    def showPage(self) -> None:  # noqa: N802 — reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            width, height = self._pagesize
            if self._watermark:
                draw_watermark(self, width, height, font_size=60, text=self._watermark)
            self.setFillGray(0)
            label = f"Page {number} of {total}"
            for text, size, y in footer_lines(self._footer, label, width):
                self.setFont(SANS, size)
                self.drawString(MARGIN, y, text)
            self.setFont(SANS_BOLD, 8.5)
            self.drawRightString(width - MARGIN, 9 * mm, label)
            super().showPage()
        super().save()


def footer_lines(footer: str, page_label: str, width: float) -> list[tuple[str, float, float]]:
    """The footer as (text, font size, baseline) lines that end before the page number: one line,
    smaller type if need be (not below 6 pt), else two lines split at a " · " (a long draft
    footer ran into "Page 1 of 3")."""
    register_fonts(WORKSHEET_FONTS)
    room = width - 2 * MARGIN - stringWidth(page_label, SANS_BOLD, 8.5) - 4 * mm
    size = 7.5
    while stringWidth(footer, SANS, size) > room and size > 6:
        size -= 0.25
    if stringWidth(footer, SANS, size) <= room:
        return [(footer, size, 9 * mm)]
    parts = footer.split(" · ")
    for size in (7.0, 6.0):
        for cut in range(len(parts) - 1, 0, -1):
            first, second = " · ".join(parts[:cut]), " · ".join(parts[cut:])
            if stringWidth(first, SANS, size) <= room and stringWidth(second, SANS, size) <= room:
                return [(first, size, 12 * mm), (second, size, 9 * mm)]
    return [(footer, 6.0, 9 * mm)]


def render_worksheet(plan: PreparationPlan, *, page_size: str = "letter",
                     record: RecordInfo | None = None,
                     printed_at: datetime | None = None) -> bytes:
    """The worksheet PDF for ``plan`` (``page_size`` ``letter`` or ``a4``)."""
    register_fonts(WORKSHEET_FONTS)
    size = page_dimensions(page_size)
    s = _styles()
    reasons = not_for_clinical_use(plan, released_codes(record))
    story = _story(plan, record, s, size[0] - 2 * MARGIN, reasons)
    return build_document(plan, record, story, title="Preparation worksheet", size=size,
                          printed_at=printed_at)


def page_dimensions(page_size: str) -> tuple[float, float]:
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page size must be one of {', '.join(PAGE_SIZES)}")
    return PAGE_SIZES[page_size]


def build_document(plan: Any, record: RecordInfo | None, story: list, *, title: str,
                   size: tuple[float, float], printed_at: datetime | None = None) -> bytes:
    """A worksheet PDF of any plan (fresh, freeze or thaw): the header with the lab, protocol
    and worksheet id, the footer with the state and "Page N of M", the draft box and the
    diagonal mark, around ``story``."""
    register_fonts(WORKSHEET_FONTS)
    s = _styles()
    worksheet_id = document_id(plan, record)
    reasons = not_for_clinical_use(plan, released_codes(record))
    draft = draft_reason(record)
    mark = DRAFT_TEXT if draft else WATERMARK_TEXT if reasons else ""
    printed = printed_at or datetime.now(UTC)
    width = size[0] - 2 * MARGIN
    lab = plan.lab
    protocol = plan.protocol

    def header(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        top = size[1] - 10 * mm
        canvas.setFont(SANS_BOLD, 9)
        canvas.drawString(MARGIN, top, lab.name + (f" — facility data {EXAMPLE_MARK}"
                                                    if lab.example_facility else ""))
        canvas.drawRightString(size[0] - MARGIN, top, f"Worksheet {worksheet_id}")
        canvas.setFont(SANS_BOLD, 7.5)
        canvas.drawRightString(size[0] - MARGIN, top - 20, state_words(record))
        canvas.setFont(SANS, 7.5)
        canvas.drawString(MARGIN, top - 10, f"{protocol.title}")
        approval = "approved" if protocol.approved else "NOT APPROVED"
        lab_approval = "approved" if lab.approved else "NOT APPROVED"
        settings = (f"Protocol {protocol.version} · {protocol.fingerprint[:16]} · {approval}  |  "
                    f"Lab file {lab.fingerprint[:16]} · {lab_approval}")
        # Beside the state on the right, never under it: smaller type when both are long.
        room = (size[0] - 2 * MARGIN - stringWidth(state_words(record), SANS_BOLD, 7.5) - 10)
        font_size = 7.5
        while font_size > 5 and stringWidth(settings, SANS, font_size) > room:
            font_size -= 0.25
        canvas.setFont(SANS, font_size)
        canvas.drawString(MARGIN, top - 19, settings)
        if record is not None and record.reprint_at is not None:
            canvas.setFont(SANS_BOLD, 9)
            canvas.drawRightString(size[0] - MARGIN, top - 12,
                                   f"REPRINT {show(record.reprint_at, lab.time_zone)}")
        canvas.setLineWidth(0.7)
        canvas.line(MARGIN, top - 24, size[0] - MARGIN, top - 24)
        canvas.restoreState()

    footer = (f"Worksheet {worksheet_id} · {state_words(record)} · doseprep {__version__} · "
              f"printed {show(printed, lab.time_zone)}" + (f" · {mark}" if mark else ""))
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer, pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=22 * mm,
        bottomMargin=16 * mm, title=f"{title} {worksheet_id}",
        author=f"doseprep {__version__}", subject=f"{protocol.title} — {protocol.version}",
        creator=f"doseprep {__version__}",
        keywords=(checkpoint_keyword(*record.audit_checkpoint)
                  if record is not None and record.audit_checkpoint else ""))
    frame = Frame(MARGIN, 16 * mm, width, size[1] - 38 * mm, id="body", leftPadding=0,
                  rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=header)])
    story = list(story)
    if record is not None and record.exceptional_release is not None:
        story.insert(1, exceptional_box(record.exceptional_release, s, width, lab.time_zone))
    if draft:
        story.insert(1, _draft_box(draft, s, width))
    doc.build(story, canvasmaker=lambda *a, **k: _NumberedCanvas(
        *a, footer=footer, watermark=mark, **k))
    return buffer.getvalue()


def status_and_reasons(status_line: str, reasons: tuple[str, ...], s: dict,
                       width: float) -> list:
    """The status box and, when the documents are NOT FOR CLINICAL USE, why."""
    flow: list = [_grid([[_p(status_line, s["status"])]], [width],
                        style=[("BOX", (0, 0), (-1, -1), 2, colors.black)]), Spacer(1, 4)]
    if reasons:
        rows = [[_p(f"{WATERMARK_TEXT} — why:", s["bold"])]]
        rows += [[_p(f"• {reason}", s["base"])] for reason in reasons]
        flow += [_grid(rows, [width], style=[("BOX", (0, 0), (-1, -1), 1.5, colors.black)]),
                 Spacer(1, 4)]
    return flow


def steps_table(steps: Any, s: dict, width: float) -> list:
    """Every step of the arithmetic: formula, values substituted, result."""
    rows = [[_p(h, s["bold"]) for h in ("#", "Step", "Formula", "Values substituted", "Result")]]
    rows += [[_p(str(n), s["small"]), _p(step.name, s["small"]), _p(step.formula, s["small"]),
              _p(step.substituted, s["small"]), _p(step.result, s["bold"])]
             for n, step in enumerate(steps, 1)]
    return [CondPageBreak(40 * mm), _p("Calculation", s["h2"]),
            _grid(rows, [7 * mm, 30 * mm, 42 * mm, width - 119 * mm, 40 * mm], header=True)]


def findings_table(findings: Any, s: dict, width: float) -> list:
    flow: list = [_p("Findings", s["h2"])]
    if findings:
        rows = [[_p("Severity", s["bold"]), _p("Code", s["bold"]), _p("What it means", s["bold"])]]
        rows += [[_p(SEVERITY_WORD[f.severity], s["bold"]), _p(f.code, s["small"]),
                  _p(f.message, s["small"])] for f in findings]
        flow.append(_grid(rows, [20 * mm, 62 * mm, width - 82 * mm], header=True))
    else:
        flow.append(_p("None.", s["base"]))
    return flow


def checklist(items: tuple[str, ...], s: dict, width: float) -> KeepTogether:
    rows = [[_p("☐", s["h1"]), _p(text, s["base"]), _p("Initials ______", s["small"])]
            for text in items]
    return KeepTogether([_p("Checklist (tick by hand)", s["h2"]),
                         _grid(rows, [8 * mm, width - 38 * mm, 30 * mm])])


def din_block(din_text: str, flags: str, rows: list[tuple[str, str]], s: dict,
              width: float) -> Table:
    """Rows of facts beside the DIN barcode."""
    din = parse_din(din_text)
    barcode = Code128(din_structure(din, flags), barHeight=9 * mm, barWidth=0.3 * mm,
                      humanReadable=False, quiet=True)
    barcode_cell = [barcode, _p(din_structure(din, flags), s["mono"])]
    table = _pairs(rows, s, width - 62 * mm, columns=1)
    return Table([[table, barcode_cell]], colWidths=[width - 62 * mm, 62 * mm],
                 style=[("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("LEFTPADDING", (1, 0), (1, 0), 6)])


def exceptional_box(release: ExceptionalRelease, s: dict, width: float, zone: str) -> Table:
    """The medical director's exceptional release, first thing under the title: the findings
    released (each with its message), the reason and the recipient's physician who was told."""
    rows = [[_p(f"EXCEPTIONAL RELEASE — authorised by {release.printed_name} "
                f"({release.user_id}), medical director, "
                f"{show_with_utc(release.signed_at, zone)}", s["bold"])]]
    rows += [[_p(f"• {code}: {message}", s["base"])] for code, message in release.findings]
    rows += [[_p(f"Reason: {release.reason}", s["base"])],
             [_p(f"Recipient's physician told: {release.physician}", s["base"])]]
    return _grid(rows, [width], style=[("BOX", (0, 0), (-1, -1), 2, colors.black)])


def _draft_box(reason: str, s: dict, width: float) -> Table:
    """The first thing under the title of a draft: what it is and that it must not be used."""
    return _grid([[_p(f"{DRAFT_TEXT} — {reason}. Prepare, label and release only from the "
                      "record once it is verified.", s["bold"])]], [width])


def _story(plan: PreparationPlan, record: RecordInfo | None, s: dict, width: float,
           reasons: tuple[str, ...]) -> list:
    r = plan.request
    story: list = [_p("HMCT preparation worksheet", s["h1"]), Spacer(1, 3)]
    story += status_and_reasons(status_line(plan, record), reasons, s, width)

    # Instruction in large type.
    story += [_grid([[_p(record_instruction(plan, record), s["instruction"])]], [width],
                    style=[("BOX", (0, 0), (-1, -1), 2, colors.black),
                           ("TOPPADDING", (0, 0), (-1, -1), 6),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 6)])]

    # Patient.
    story.append(_p("Patient", s["h2"]))
    weight = r.patient.weight
    story.append(_pairs([
        ("Name", r.patient.name), ("MRN", r.patient.id),
        ("Date of birth", r.patient.birth_date.isoformat()),
        ("Dosing weight", f"{fmt_mass(weight.entered)} → {fixed(plan.dosing_weight.magnitude, 2)}"
                          f" kg used"),
    ], s, width))

    # Product.
    p = r.product
    din = parse_din(p.din)
    story.append(_p("Product (donor apheresis)", s["h2"]))
    if p.volume is not None:
        volume = f"{p.volume.text} (= {fmt_volume(plan.product_volume)})"
    else:
        assert p.net_weight is not None
        volume = (f"net weight {p.net_weight.text} ÷ {plan.lab.specific_gravity.magnitude:g} g/mL"
                  f" = {fmt_volume(plan.product_volume)}")
    product_rows = [
        ("DIN", f"{din.eye_readable}  check character [{din.check_character}]  flags "
                f"{p.din_flags}"),
        ("Collected", show(p.collected_at, plan.lab.time_zone)),
        ("Volume", volume),
        ("WBC (analyzer)", f"{p.wbc.text} = {fmt_concentration(p.wbc.value, digits=4)}"),
        ("Sample dilution", f"× {p.sample_dilution:g}"),
        ("CD3+ (of viable CD45+)", fmt_percent(p.cd3_percent)),
        ("Viability", fmt_percent(p.viability_percent)),
        ("Donor ABO/Rh", p.abo_rh or "not given"),
        *ledger_rows(record),
    ]
    story.append(din_block(p.din, p.din_flags, product_rows, s, width))

    # Order.
    story.append(_p("Physician order", s["h2"]))
    story.append(_pairs([
        *settings_rows(plan),
        ("Cycle / infusion", f"cycle {r.order.cycle}, infusion {r.order.infusion}"),
        ("Dose level", r.order.dose_level),
        ("Target dose", fmt_dose(plan.target_dose)),
    ], s, width))

    # Key results.
    story.append(_p("Results", s["h2"]))
    story.append(_pairs(_result_rows(plan), s, width))

    story += steps_table(plan.steps, s, width)
    story += findings_table(plan.findings, s, width)

    # Expiry.
    expiry = (show(plan.expires_at, plan.lab.time_zone) if plan.expires_at is not None
              else "not applicable — nothing is prepared")
    story += [Spacer(1, 4), _grid([[_p(f"Infusion expires: {expiry}", s["status"])]], [width],
                                  style=[("BOX", (0, 0), (-1, -1), 1.5, colors.black)])]

    story.append(checklist(CHECKLIST, s, width))

    # Signatures.
    story.append(KeepTogether(_signature_blocks(record, s, width, plan.lab.time_zone)))
    return story


def _result_rows(plan: PreparationPlan) -> list[tuple[str, str]]:
    rows = [
        ("Viable CD3+ conc.", fmt_concentration(plan.viable_cd3_concentration, digits=4)),
        ("Total viable CD3+", fmt_cells(plan.total_viable_cd3, digits=4)),
        ("Target cells", fmt_cells(plan.target_cells, digits=4)),
        ("Exact volume", f"{fixed(plan.exact_volume.magnitude, 4)} mL"),
    ]
    if plan.insufficient:
        rows.append(("Largest achievable", fmt_dose(plan.max_achievable_dose)))
        return rows
    assert plan.syringe is not None
    rows += [
        ("Dilution", "none" if plan.dilution_factor == 1 else f"1 in {plan.dilution_factor}"),
        ("Volume to draw", f"{fmt_volume(plan.withdraw_volume)} "
                           f"({plan.syringe.capacity.magnitude:g} mL syringe, "
                           f"graduation {plan.syringe.graduation.magnitude:g} mL)"),
        ("Diluent to add", fmt_volume(plan.diluent_volume) if plan.diluent_volume.magnitude > 0
         else "none — the draw is the final volume"),
        ("Final volume", fmt_volume(plan.final_volume)),
        ("Delivered cells", fmt_cells(plan.delivered_cells, digits=4)),
        ("Delivered dose", fmt_dose(plan.delivered_dose, digits=4)),
        ("Deviation", f"{'+' if plan.deviation_percent >= 0 else ''}"
                      f"{fixed(plan.deviation_percent, 2)} % "
                      f"(tolerance ± {plan.protocol.tolerance_percent:g} %)"),
        ("Final concentration", fmt_concentration(plan.final_concentration, digits=4)),
        ("Product remaining", fmt_volume(plan.remaining_product)),
    ]
    return rows


def _signature_blocks(record: RecordInfo | None, s: dict, width: float, zone: str) -> list:
    """The Prepared / Verified / Released blocks; each signature's time in the site zone with
    UTC beside it (DESIGN.md, "Time": UTC appears only in signature and audit details)."""
    flow: list = [_p("Signatures", s["h2"])]
    signed = {m.meaning: m for m in record.signatures} if record is not None else {}
    rows = [[_p(h, s["bold"]) for h in ("Meaning", "Printed name", "Signature",
                                        "Date / time (with zone)")]]
    for meaning in MEANINGS:
        manifest = signed.get(meaning)
        if manifest is not None:
            rows.append([_p(meaning, s["bold"]),
                         _p(f"{manifest.printed_name} ({manifest.user_id})", s["base"]),
                         _p(f"Signed electronically; record SHA-256 {manifest.record_hash[:16]}…",
                            s["small"]),
                         _p(show_with_utc(manifest.signed_at, zone), s["base"])])
        else:
            rows.append([_p(meaning, s["bold"]), "", "", ""])
    # Rows tall enough to sign by hand.
    flow.append(_grid(rows, [26 * mm, 50 * mm, width - 126 * mm, 50 * mm], header=True,
                      heights=[None] + [13 * mm] * len(MEANINGS)))
    if record is not None:
        flow.append(Spacer(1, 3))
        flow.append(_p(f"Record {record.record_id} version {record.version}, state "
                       f"{record.state.upper()}; record SHA-256 {record.record_hash}", s["mono"]))
        if record.supersedes:
            flow.append(_p(f"Corrects {record.supersedes}: {record.correction_reason}",
                           s["small"]))
        if record.audit_checkpoint:
            seq, head = record.audit_checkpoint
            flow.append(_p(f"Audit trail when printed: row {seq}, SHA-256 {head}", s["mono"]))
    else:
        flow.append(_p("Not saved as a record: electronic signatures appear here once the "
                       "preparation is saved and signed.", s["small"]))
    return flow
