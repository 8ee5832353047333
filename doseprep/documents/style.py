"""Fonts, page sizes and the shared marks of every document (watermark, dates, ids).

DejaVu Sans ships in ``resources/fonts`` because the documents print lab notation — ``10⁷``,
``×``, ``µL``, ``≥``, ``−`` — which the PDF base fonts cannot show. Dates are printed with their
UTC offset and in UTC, so a worksheet read in another time zone is still unambiguous.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from doseprep.manifest import RecordInfo
from doseprep.plans.fresh_report import plan_to_dict
from doseprep.request import request_to_dict
from doseprep.resources import resource_path
from doseprep.signoff import USABLE_STATES

SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
CONDENSED = "DejaVuSansCondensed"
CONDENSED_BOLD = "DejaVuSansCondensed-Bold"
MONO = "DejaVuSansMono"

PAGE_SIZES = {"letter": LETTER, "a4": A4}

WATERMARK_TEXT = "NOT FOR CLINICAL USE"


ALL_FONTS = (SANS, SANS_BOLD, CONDENSED, CONDENSED_BOLD, MONO)
WORKSHEET_FONTS = (SANS, SANS_BOLD, MONO)
LABEL_FONTS = (SANS, SANS_BOLD, CONDENSED, CONDENSED_BOLD, MONO)


@cache
def _register_font(name: str) -> None:
    pdfmetrics.registerFont(TTFont(name, str(resource_path("fonts", f"{name}.ttf"))))
    if name == SANS_BOLD:
        _register_font(SANS)
        pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS,
                                      boldItalic=SANS_BOLD)


def register_fonts(names: tuple[str, ...] = ALL_FONTS) -> None:
    """Register the bundled fonts a document uses with reportlab, each once per process (a
    TrueType font is parsed in about 20 ms, so a worksheet alone parses only its three)."""
    for name in names:
        _register_font(name)


def content_hash(plan: Any) -> str:
    """SHA-256 of the request and plan as computed: the identity of an unsaved worksheet (of a
    fresh, freeze or thaw plan)."""
    from doseprep.plans.freeze import FreezePlan, freeze_request_to_dict, freeze_to_dict
    from doseprep.plans.thaw import ThawPlan, thaw_request_to_dict, thaw_to_dict

    if isinstance(plan, FreezePlan):
        content = {"request": freeze_request_to_dict(plan.request), "plan": freeze_to_dict(plan)}
    elif isinstance(plan, ThawPlan):
        content = {"request": thaw_request_to_dict(plan.request), "plan": thaw_to_dict(plan)}
    else:
        content = {"request": request_to_dict(plan.request), "plan": plan_to_dict(plan)}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def document_id(plan: Any, record: RecordInfo | None) -> str:
    """The id printed on every page: the record's id and version, or UNSAVED- and a hash."""
    if record is not None:
        return f"{record.record_id}/v{record.version}"
    return f"UNSAVED-{content_hash(plan)[:10].upper()}"


#: What a document made from a form or an unverified record says across every page.
DRAFT_TEXT = "DRAFT — NOT FOR USE"
#: Record states whose documents may be used: a bag label scans as a product only from these.


def draft_reason(record: RecordInfo | None) -> str | None:
    """Why a document is a draft that must not be used (None for a verified or released record).

    Documents follow the record (issue 9): from a form, or a record that is only a draft or
    prepared, the worksheet and the label say DRAFT — NOT FOR USE and the label carries no
    product barcodes.
    """
    if record is None:
        return "made from the form, not from a saved record"
    if record.state not in USABLE_STATES:
        return (f"record {record.record_id}/v{record.version} is {record.state.upper()}, "
                "not yet verified")
    return None


def released_codes(record: RecordInfo | None) -> tuple[str, ...]:
    """The blocking findings the medical director released by exception on this record."""
    if record is None or record.exceptional_release is None:
        return ()
    return record.exceptional_release.codes


def exceptional_words(record: RecordInfo | None) -> str | None:
    """A label's line on an exceptional release: the findings released, the physician told and
    the reason (the worksheet carries each message in full)."""
    release = None if record is None else record.exceptional_release
    if release is None:
        return None
    return (f"EXCEPTIONAL RELEASE of {', '.join(release.codes)} by {release.printed_name}, "
            f"medical director; physician told: {release.physician}; reason (in full on the "
            f"worksheet): {release.reason}")


def state_words(record: RecordInfo | None) -> str:
    """The record state a document was made in, as printed on it."""
    if record is None:
        return "FORM — not saved"
    words = record.state.upper()
    if record.exceptional_release is not None:
        words += " — EXCEPTIONAL RELEASE"
    if record.superseded_by:
        words += f" — SUPERSEDED by {record.superseded_by}"
    return words


def draw_watermark(canvas: Canvas, width: float, height: float, font_size: float = 54,
                   text: str = WATERMARK_TEXT) -> None:
    """The diagonal mark (NOT FOR CLINICAL USE, or DRAFT — NOT FOR USE) across the page."""
    canvas.saveState()
    canvas.setFillGray(0.55, alpha=0.35)
    canvas.setFont(SANS_BOLD, font_size)
    while font_size > 8 and canvas.stringWidth(text, SANS_BOLD, font_size) > 1.25 * max(
            width, height):
        font_size -= 2
        canvas.setFont(SANS_BOLD, font_size)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(45 if height >= width else 30)
    canvas.drawCentredString(0, -font_size / 3, text)
    canvas.restoreState()
