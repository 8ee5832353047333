"""The documents of a print of a saved record, rendered from values (the use case
:func:`doseprep.workflow.render_record` reads the record and its plan as signed; documents never
read the store).

The worksheet carries every signature's manifestation and the record hash, and the PDF is
digitally signed as this record version and the state it is in, which ``doseprep verify``
reports: by the ``signer`` given (a released record's releaser, issue 25), else by the
installation (a draft).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from doseprep.documents.labels import render_labels
from doseprep.documents.style import document_id, state_words
from doseprep.documents.worksheet import render_worksheet
from doseprep.documents.zpl import render_zpl
from doseprep.pdfsign import sign_pdf

if TYPE_CHECKING:
    from doseprep.cryo.freeze import FreezePlan
    from doseprep.cryo.thaw import ThawPlan
    from doseprep.manifest import RecordInfo
    from doseprep.pades import SigningMaterial
    from doseprep.plan import PreparationPlan

    AnyPlan = PreparationPlan | FreezePlan | ThawPlan


def render_documents(plan: AnyPlan, info: RecordInfo, *, page_size: str = "letter",
                     zpl_dpi: int = 203, signer: SigningMaterial | None = None
                     ) -> tuple[bytes, bytes, str]:
    """The digitally signed worksheet PDF, the label PDF and the label ZPL of ``plan`` (fresh,
    freeze or thaw) as the record version ``info`` (its state, signatures, REPRINT and audit
    checkpoint). A freeze record's labels are one page (one ZPL label) per bag."""
    from doseprep.cryo.freeze import FreezePlan
    from doseprep.cryo.thaw import ThawPlan

    if isinstance(plan, FreezePlan | ThawPlan):
        from doseprep.documents.cryo import (
            render_cryo_labels,
            render_cryo_worksheet,
            render_cryo_zpl,
        )

        worksheet = render_cryo_worksheet(plan, page_size=page_size, record=info)
        labels, zpl = render_cryo_labels(plan, info), render_cryo_zpl(plan, info, dpi=zpl_dpi)
    else:
        worksheet = render_worksheet(plan, page_size=page_size, record=info)
        labels, zpl = render_labels(plan, info), render_zpl(plan, info, dpi=zpl_dpi)
    signed = sign_pdf(worksheet, document_id=f"{document_id(plan, info)} {state_words(info)}",
                      location=plan.lab.name, material=signer)
    return signed, labels, zpl
