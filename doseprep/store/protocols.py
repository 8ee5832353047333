"""Protocol and lab file approval: only an administrator's signed, audited approval makes a
protocol — and a lab file — clinical.

A protocol file that says ``approved = true`` of itself grants nothing (issue 8): that flag is its
author's intention. :func:`approve_protocol` records an administrator's approval of one exact
file — its SHA-256 fingerprint — after the administrator's password, like a signature: the row
carries the printed name, the time and a hash of its content, and the audit trail a
``protocol_approve`` event with the same hash. :func:`with_approval` gives a loaded protocol its
approval when the store holds one for that fingerprint; a file edited afterwards has another
fingerprint and is unapproved again. ``doseprep audit verify`` checks every approval row against
its hash and its audit event (:func:`approval_problems`).

A lab file is approved the same way (:func:`approve_lab`, ``lab_approve``, its own table): a
document is for clinical use only when both files it was computed with are approved (issue 22).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.approvals import approval_hash as _approval_hash
from doseprep.approvals import approval_of
from doseprep.jsonread import load_stored
from doseprep.protocol import LabSettings, Protocol, ProtocolApproval
from doseprep.store import audit
from doseprep.store.canonical import utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.errors import PermissionDeniedError, WorkflowError
from doseprep.store.schema import audit_log, lab_approvals, protocol_approvals
from doseprep.store.users import Role, authenticate


def _mapping(row: Any) -> dict[str, Any]:
    return dict(row) if isinstance(row, dict) else dict(row._mapping)


def approval_hash(row: Any, kind: str = "protocol") -> str:
    """SHA-256 of an approval row's content (what the administrator approved, who, when)."""
    return _approval_hash(_mapping(row), kind)


def _approval(row: Any, kind: str = "protocol") -> ProtocolApproval:
    approval = approval_of(_mapping(row), kind)
    assert approval is not None
    return approval


def approve_protocol(store: Store, protocol: Protocol, admin_id: str,
                     password: str) -> ProtocolApproval:
    """Approve ``protocol`` (its exact fingerprint) for clinical use, as administrator."""
    admin = authenticate(store, admin_id, password, purpose="protocol approval")
    if admin.role is not Role.ADMINISTRATOR:
        raise PermissionDeniedError(f"{admin.user_id} is a {admin.role.value}; only an "
                                    "administrator can approve a protocol.")
    with store.write() as conn:
        existing = conn.execute(sa.select(protocol_approvals).where(
            protocol_approvals.c.fingerprint == protocol.fingerprint)).first()
        if existing is not None:
            raise WorkflowError(f"protocol {protocol.id} version {protocol.version} (fingerprint "
                                f"{protocol.fingerprint[:16]}…) was already approved by "
                                f"{existing.printed_name} at {existing.approved_at}.")
        row = {"fingerprint": protocol.fingerprint, "protocol_id": protocol.id,
               "protocol_version": protocol.version, "title": protocol.title,
               "approved_by": admin.user_id, "printed_name": admin.printed_name,
               "approved_at": utc_text(utc_now())}
        row["approval_hash"] = approval_hash(row)
        conn.execute(protocol_approvals.insert().values(**row))
        audit.append(conn, "protocol_approve", admin.user_id,
                     new={"fingerprint": protocol.fingerprint, "protocol_id": protocol.id,
                          "protocol_version": protocol.version,
                          "approval_hash": row["approval_hash"],
                          "author_approved": protocol.author_approved})
        stored = conn.execute(sa.select(protocol_approvals).where(
            protocol_approvals.c.fingerprint == protocol.fingerprint)).one()
    return _approval(stored)


def protocol_approval(store: Store, fingerprint: str) -> ProtocolApproval | None:
    """The approval of this fingerprint, or None (also when the row does not match its hash)."""
    with store.read() as conn:
        row = conn.execute(sa.select(protocol_approvals).where(
            protocol_approvals.c.fingerprint == fingerprint)).first()
    if row is None or approval_hash(row) != row.approval_hash:
        return None
    return _approval(row)


def with_approval(store: Store, protocol: Protocol) -> Protocol:
    """``protocol`` with the store's approval of its fingerprint attached (or none)."""
    return dataclasses.replace(protocol, approval=protocol_approval(store, protocol.fingerprint))


def list_approvals(store: Store) -> tuple[ProtocolApproval, ...]:
    with store.read() as conn:
        rows = conn.execute(sa.select(protocol_approvals)
                            .order_by(protocol_approvals.c.id)).all()
    return tuple(_approval(row) for row in rows)


def approve_lab(store: Store, lab: LabSettings, admin_id: str, password: str) -> ProtocolApproval:
    """Approve the lab settings file ``lab`` (its exact fingerprint) for clinical use, as
    administrator; audited as ``lab_approve``."""
    admin = authenticate(store, admin_id, password, purpose="lab settings approval")
    if admin.role is not Role.ADMINISTRATOR:
        raise PermissionDeniedError(f"{admin.user_id} is a {admin.role.value}; only an "
                                    "administrator can approve a lab settings file.")
    with store.write() as conn:
        existing = conn.execute(sa.select(lab_approvals).where(
            lab_approvals.c.fingerprint == lab.fingerprint)).first()
        if existing is not None:
            raise WorkflowError(f"the lab settings of {lab.name} (fingerprint "
                                f"{lab.fingerprint[:16]}…) were already approved by "
                                f"{existing.printed_name} at {existing.approved_at}.")
        row = {"fingerprint": lab.fingerprint, "lab_name": lab.name[:200],
               "approved_by": admin.user_id, "printed_name": admin.printed_name,
               "approved_at": utc_text(utc_now())}
        row["approval_hash"] = approval_hash(row, "lab")
        conn.execute(lab_approvals.insert().values(**row))
        audit.append(conn, "lab_approve", admin.user_id,
                     new={"fingerprint": lab.fingerprint, "lab_name": lab.name,
                          "approval_hash": row["approval_hash"]})
        stored = conn.execute(sa.select(lab_approvals).where(
            lab_approvals.c.fingerprint == lab.fingerprint)).one()
    return _approval(stored, "lab")


def lab_approval(store: Store, fingerprint: str) -> ProtocolApproval | None:
    """The approval of this lab file fingerprint, or None (also when the row does not match its
    hash)."""
    with store.read() as conn:
        row = conn.execute(sa.select(lab_approvals).where(
            lab_approvals.c.fingerprint == fingerprint)).first()
    if row is None or approval_hash(row, "lab") != row.approval_hash:
        return None
    return _approval(row, "lab")


def with_lab_approval(store: Store, lab: LabSettings) -> LabSettings:
    """``lab`` with the store's approval of its fingerprint attached (or none)."""
    return dataclasses.replace(lab, approval=lab_approval(store, lab.fingerprint))


def list_lab_approvals(store: Store) -> tuple[tuple[str, ProtocolApproval], ...]:
    """Every approved lab file: (the lab's name, the approval)."""
    with store.read() as conn:
        rows = conn.execute(sa.select(lab_approvals).order_by(lab_approvals.c.id)).all()
    return tuple((row.lab_name, _approval(row, "lab")) for row in rows)


def _audited(conn: Connection, action: str) -> dict[str, str]:
    audited: dict[str, str] = {}
    for new_value in conn.execute(sa.select(audit_log.c.new_value)
                                  .where(audit_log.c.action == action)).scalars():
        try:
            value = load_stored(new_value or "{}")
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("fingerprint"), str):
            audited[value["fingerprint"]] = str(value.get("approval_hash"))
    return audited


def lab_approval_problems(conn: Connection) -> list[str]:
    """Lab approval rows that do not match their hash or have no matching audit event."""
    audited = _audited(conn, "lab_approve")
    problems = []
    for row in conn.execute(sa.select(lab_approvals).order_by(lab_approvals.c.id)):
        if approval_hash(row, "lab") != row.approval_hash:
            problems.append(f"lab approval {row.id} ({row.lab_name}) does not match its hash: "
                            "it was altered")
        elif audited.get(row.fingerprint) != row.approval_hash:
            problems.append(f"lab approval {row.id} ({row.lab_name}) has no matching "
                            "lab_approve event in the audit trail: it was not made by doseprep")
    return problems


def approval_problems(conn: Connection) -> list[str]:
    """Approval rows that do not match their hash or have no matching audit event."""
    audited: dict[str, str] = {}
    for new_value in conn.execute(sa.select(audit_log.c.new_value)
                                  .where(audit_log.c.action == "protocol_approve")).scalars():
        try:
            value = load_stored(new_value or "{}")
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("fingerprint"), str):
            audited[value["fingerprint"]] = str(value.get("approval_hash"))
    problems = []
    for row in conn.execute(sa.select(protocol_approvals).order_by(protocol_approvals.c.id)):
        if approval_hash(row) != row.approval_hash:
            problems.append(f"protocol approval {row.id} ({row.protocol_id} "
                            f"{row.protocol_version}) does not match its hash: it was altered")
        elif audited.get(row.fingerprint) != row.approval_hash:
            problems.append(f"protocol approval {row.id} ({row.protocol_id} "
                            f"{row.protocol_version}) has no matching protocol_approve event in "
                            "the audit trail: it was not made by doseprep")
    return problems


