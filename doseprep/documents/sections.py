"""The parts of a worksheet that say what a record is built on and where it stands, as text: the
two settings files with their fingerprints and approvals, the product ledger line, and the status
and instruction of a record the medical director released by exception (issue 22). Shared by the
fresh worksheet and the freezing and thawing worksheets."""

from __future__ import annotations

from typing import Any

from doseprep.manifest import RecordInfo
from doseprep.plans.fresh import PreparationPlan, instruction
from doseprep.plans.fresh_report import STATUS_LINE, approval_line, lab_approval_line


def ledger_rows(record: RecordInfo | None) -> list[tuple[str, str]]:
    """The product ledger of the record's DIN (none for a form or a thaw record)."""
    if record is None or not record.ledger_line:
        return []
    return [("Product ledger", record.ledger_line)]


def settings_rows(plan: Any) -> list[tuple[str, str]]:
    """The two settings files a plan was computed with, each with its whole fingerprint and who
    approved it in the record store (a document is clinical only when both are approved)."""
    protocol, lab = plan.protocol, plan.lab
    return [
        ("Protocol", f"{protocol.id} version {protocol.version}, fingerprint "
                     f"{protocol.fingerprint}"),
        ("Approval", approval_line(protocol, lab.time_zone)),
        ("Lab settings", f"{lab.name}, fingerprint {lab.fingerprint}"),
        ("Lab approval", lab_approval_line(lab, lab.time_zone)),
    ]


def status_line(plan: Any, record: RecordInfo | None) -> str:
    """The status box's words; a blocked plan released by the medical director says so instead
    of DO NOT PREPARE (the box above it gives the findings, the reason and the physician)."""
    if record is not None and record.exceptional_release is not None:
        return "STATUS: BLOCKED — RELEASED BY EXCEPTION by the medical director (see above)"
    return STATUS_LINE[plan.status]


def record_instruction(plan: PreparationPlan, record: RecordInfo | None) -> str:
    """The instruction in large type: as signed, or for a record the medical director released
    by exception, the draw it was prepared with (its numbers are the record's)."""
    if record is None or record.exceptional_release is None or plan.insufficient:
        return instruction(plan)
    from dataclasses import replace

    from doseprep.plans.fresh import Status

    draw = instruction(replace(plan, status=Status.WARNING, signed_instruction=None))
    return f"Exceptional release — {draw[0].lower()}{draw[1:]}"
