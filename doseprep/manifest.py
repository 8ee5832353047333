"""What a printed document says about the record it comes from and the people who signed it.

These values travel from the record store (``doseprep.store``) to the documents
(``doseprep.documents``): the record's id, version, state and hash, and each electronic
signature's manifestation as 21 CFR 11.50 asks for — printed name, date and time with zone, and
meaning. A worksheet printed without a saved record gets ``None`` and says it is a draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SignatureManifest:
    """One electronic signature as it appears on paper."""

    meaning: str  # "Prepared by", "Verified by" or "Released by"
    printed_name: str
    user_id: str
    signed_at: datetime  # aware; printed in local time with its zone, and in UTC
    record_hash: str  # SHA-256 (hex) of the canonical record that was signed


@dataclass(frozen=True)
class ExceptionalRelease:
    """The medical director's release of a product that does not meet its release criteria
    (FACT-JACIE D11), as every document prints it: the findings released, the reason, the
    recipient's physician who was told, who authorised it and when."""

    findings: tuple[tuple[str, str], ...]  # (code, message)
    reason: str
    physician: str
    printed_name: str
    user_id: str
    signed_at: datetime

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.findings)

    def words(self) -> str:
        """One paragraph: EXCEPTIONAL RELEASE, the findings, reason, physician, who and when."""
        return (f"EXCEPTIONAL RELEASE of {', '.join(self.codes)} by {self.printed_name} "
                f"({self.user_id}, medical director) at "
                f"{self.signed_at:%Y-%m-%d %H:%M} {self.signed_at.tzname() or ''}; reason: "
                f"{self.reason}; the recipient's physician {self.physician} was told.")


@dataclass(frozen=True)
class RecordInfo:
    """The saved record behind a document."""

    record_id: str
    version: int
    state: str  # "draft", "prepared", "verified", "released"
    record_hash: str
    signatures: tuple[SignatureManifest, ...] = ()
    reprint_at: datetime | None = None  # set when this is not the first print
    # How many times this document (worksheet, or labels) was printed before for this version
    # in this signed state: 0 for a first print, n for "reprint n".
    reprint: int = 0
    supersedes: str | None = None  # id of the version this one corrects
    correction_reason: str | None = None
    superseded_by: str | None = None  # "PREP-…/v2" when a newer version corrects this one
    # The audit trail's head when the document was made (row, SHA-256): a checkpoint outside the
    # database that ``doseprep audit verify --against FILE.pdf`` holds the trail against.
    audit_checkpoint: tuple[int, str] | None = None
    # The product ledger of the record's DIN as one line (DESIGN.md, "One ledger per
    # collection"): received, drawn before this record, this record's draw, remaining.
    ledger_line: str | None = None
    # The medical director's exceptional release, when the record was released so.
    exceptional_release: ExceptionalRelease | None = None


#: How a document carries its audit checkpoint in the PDF keywords.
CHECKPOINT_KEYWORD = "doseprep-audit-checkpoint"


def checkpoint_keyword(seq: int, head_hash: str) -> str:
    return f"{CHECKPOINT_KEYWORD}:{seq}:{head_hash}"
