"""The documents of a print of a saved record, rendered from values (the use case
:func:`doseprep.workflow.render_record` reads the record, its plan as signed and its earlier
prints; documents never read the store).

The worksheet carries every signature's manifestation and the record hash, and the PDF is
digitally signed as this record version and the state it is in, which ``doseprep verify``
reports: by the ``signer`` given (a released record's releaser, issue 25), else by the
installation (a draft). Each document says REPRINT only when that document — the worksheet, or
the labels (PDF or ZPL) — was printed before for this record version in the same signed state: a
worksheet printed while the record was Prepared is another document than the Released one
(issue 21).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from doseprep.documents.labels import render_labels
from doseprep.documents.style import document_id, state_words
from doseprep.documents.worksheet import render_worksheet
from doseprep.documents.zpl import render_zpl
from doseprep.manifest import RecordInfo
from doseprep.signatures.worksheets import sign_pdf

if TYPE_CHECKING:
    from doseprep.plans.freeze import FreezePlan
    from doseprep.plans.fresh import PreparationPlan
    from doseprep.plans.thaw import ThawPlan
    from doseprep.signatures.pades import SigningMaterial

    AnyPlan = PreparationPlan | FreezePlan | ThawPlan


@dataclass(frozen=True)
class RenderedDocuments:
    """A print's documents, each with the record information it carries (its REPRINT mark)."""

    worksheet: bytes  # digitally signed PDF
    labels: bytes  # PDF, one page per bag (empty when not asked for)
    zpl: str  # one ^XA…^XZ label per bag (empty when not asked for)
    worksheet_info: RecordInfo
    labels_info: RecordInfo


def as_printed(info: RecordInfo, earlier: int, now: datetime) -> RecordInfo:
    """``info`` for a document printed ``earlier`` times before in this state: REPRINT (at
    ``now``) when that is more than none, a first print otherwise."""
    return replace(info, reprint=earlier, reprint_at=now if earlier else None)


def render_documents(plan: AnyPlan, info: RecordInfo, *, page_size: str = "letter",
                     zpl_dpi: int = 203, earlier: Mapping[str, int] | None = None,
                     now: datetime | None = None, labels: bool = True,
                     signer: SigningMaterial | None = None) -> RenderedDocuments:
    """The digitally signed worksheet PDF, the label PDF and the label ZPL of ``plan`` (fresh,
    freeze or thaw) as the record version ``info`` (its state, signatures and audit checkpoint).
    ``earlier``: how many times each document (``worksheet``, ``labels``) was printed before in
    this state, with ``now`` the moment of this print; without it ``info``'s own REPRINT is used
    for both. A freeze record's labels are one page (one ZPL label) per bag. Without ``labels``
    only the worksheet is made (the labels empty): a worksheet printed for the file never fails
    because the labels would not fit their stock."""
    from doseprep.plans.freeze import FreezePlan
    from doseprep.plans.thaw import ThawPlan

    worksheet_info = labels_info = info
    if earlier is not None:
        if now is None:
            raise ValueError("render_documents needs the moment of the print with earlier prints")
        worksheet_info = as_printed(info, earlier.get("worksheet", 0), now)
        labels_info = as_printed(info, earlier.get("labels", 0), now)
    if isinstance(plan, FreezePlan | ThawPlan):
        from doseprep.documents.cryo import (
            render_cryo_labels,
            render_cryo_worksheet,
            render_cryo_zpl,
        )

        worksheet = render_cryo_worksheet(plan, page_size=page_size, record=worksheet_info)
        label_pdf = render_cryo_labels(plan, labels_info) if labels else b""
        zpl = render_cryo_zpl(plan, labels_info, dpi=zpl_dpi) if labels else ""
    else:
        worksheet = render_worksheet(plan, page_size=page_size, record=worksheet_info)
        label_pdf = render_labels(plan, labels_info) if labels else b""
        zpl = render_zpl(plan, labels_info, dpi=zpl_dpi) if labels else ""
    signed = sign_pdf(worksheet, document_id=f"{document_id(plan, info)} {state_words(info)}",
                      location=plan.lab.name, material=signer)
    return RenderedDocuments(worksheet=signed, labels=label_pdf, zpl=zpl,
                             worksheet_info=worksheet_info, labels_info=labels_info)
