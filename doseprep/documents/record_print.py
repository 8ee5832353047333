"""Printing a saved record: the signed worksheet and the labels, with signatures and REPRINT.

The window and ``doseprep record print`` both come here, so a record prints the same way from
either. The plan is recomputed from the stored request and must equal the stored plan in every
number and finding code (the store refuses otherwise); the instruction, findings and steps are
printed in the wording that was signed; the worksheet carries every signature's
manifestation and the record hash, and the PDF is digitally signed as this record version and the
state it is in, which ``doseprep verify`` reports.

:func:`render_record` renders without auditing: the caller writes the files (or sends the print
job) and only then calls :func:`doseprep.store.register_print` — a preview that is closed, or a
write that fails, is never a print, and REPRINT means a real earlier print (issue 9).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from doseprep.documents.labels import render_labels, render_zpl
from doseprep.documents.style import document_id, state_words
from doseprep.documents.worksheet import render_worksheet
from doseprep.manifest import RecordInfo
from doseprep.pdfsign import sign_pdf

if TYPE_CHECKING:
    from doseprep.store import Store


@dataclass(frozen=True)
class PrintedRecord:
    """The documents of one print of a record version (not yet registered as printed)."""

    info: RecordInfo
    worksheet: bytes  # digitally signed PDF
    labels: bytes
    zpl: str


def render_record(store: Store, ref: str, user_id: str, *, page_size: str = "letter",
                  protocol: str | None = None, lab: str | None = None,
                  zpl_dpi: int = 203, labels: bool = True) -> PrintedRecord:
    """Render the documents of a print of record ``ref`` by ``user_id`` (who must be allowed to
    print); REPRINT when this version was really printed before. Nothing is audited here.

    With ``labels``, an expired infusion is refused (INFUSION_EXPIRED): its worksheet can still
    be printed for the file, never a bag label."""
    from doseprep.store import audit_head, earlier_print, stored_plan
    from doseprep.store.records import check_can_print, check_not_expired

    record = check_can_print(store, ref, user_id)
    if labels:
        check_not_expired(record.plan, record.ref, "get a bag label")
    plan = stored_plan(record, protocol, lab, store=store)
    reprint = earlier_print(store, record.ref) is not None
    info = replace(record.info(reprint_at=datetime.now(UTC) if reprint else None),
                   audit_checkpoint=audit_head(store))
    worksheet = render_worksheet(plan, page_size=page_size, record=info)
    signed = sign_pdf(worksheet, document_id=f"{document_id(plan, info)} {state_words(info)}",
                      location=plan.lab.name)
    return PrintedRecord(info=info, worksheet=signed, labels=render_labels(plan, info),
                         zpl=render_zpl(plan, info, dpi=zpl_dpi))
