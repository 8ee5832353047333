"""Printing a saved record: the signed worksheet and the labels, with signatures and REPRINT.

The window and ``doseprep record print`` both come here, so a record prints the same way from
either. The plan is recomputed from the stored request and must equal the stored plan (the store
refuses otherwise); the print is written to the audit trail first, which tells whether this is a
reprint; the worksheet carries every signature's manifestation and the record hash, and the PDF is
digitally signed as this record version, which ``doseprep verify`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from doseprep.documents.labels import render_labels, render_zpl
from doseprep.documents.style import document_id
from doseprep.documents.worksheet import render_worksheet
from doseprep.manifest import RecordInfo
from doseprep.pdfsign import sign_pdf

if TYPE_CHECKING:
    from doseprep.store import Store


@dataclass(frozen=True)
class PrintedRecord:
    """The documents of one print of a record version."""

    info: RecordInfo
    worksheet: bytes  # digitally signed PDF
    labels: bytes
    zpl: str


def print_record(store: Store, ref: str, user_id: str, *, page_size: str = "letter",
                 protocol: str | None = None, lab: str | None = None,
                 zpl_dpi: int = 203) -> PrintedRecord:
    """Audit a print of record ``ref`` by ``user_id`` and render its documents."""
    from doseprep.store import get_record, register_print, stored_plan

    record = get_record(store, ref)
    plan = stored_plan(record, protocol, lab, store=store)
    info = register_print(store, record.ref, user_id, document="worksheet and labels")
    worksheet = render_worksheet(plan, page_size=page_size, record=info)
    signed = sign_pdf(worksheet, document_id=document_id(plan, info), location=plan.lab.name)
    return PrintedRecord(info=info, worksheet=signed, labels=render_labels(plan, info),
                         zpl=render_zpl(plan, info, dpi=zpl_dpi))
