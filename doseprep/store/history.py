"""The history of records (search, newest first, a page at a time) and of their prints (a print
is audited only when it is real; a second print of a version says REPRINT)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
from doseprep.manifest import RecordInfo
from doseprep.signing import State
from doseprep.store import audit
from doseprep.store.canonical import local_zone, parse_utc_text, utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.errors import (
    WorkflowError,
)
from doseprep.store.expiry import check_not_expired
from doseprep.store.records import (
    PAGE_SIZE,
    PrintEvent,
    RecordSummary,
    StoredRecord,
    find_row,
    stored_record,
    version_ref,
)
from doseprep.store.schema import audit_log, records
from doseprep.store.users import Role, require_active_user

log = logging.getLogger(__name__)


def _since_text(since: date | datetime) -> str:
    if not isinstance(since, datetime):
        since = datetime.combine(since, time(), tzinfo=local_zone()[0])
    elif since.tzinfo is None:
        since = since.replace(tzinfo=local_zone()[0])
    return utc_text(since)


def list_records(store: Store, *, mrn: str | None = None, din: str | None = None,
                 patient: str | None = None, state: str | None = None,
                 since: date | datetime | None = None, limit: int = PAGE_SIZE,
                 before_pk: int | None = None,
                 all_versions: bool = False) -> tuple[RecordSummary, ...]:
    """The history, newest first, one page at a time (``before_pk`` = last pk of the previous page).

    ``mrn`` and ``din`` match exactly, ``patient`` is a case-insensitive part of the name,
    ``since`` a date or moment of creation. Superseded versions are left out unless asked for.
    """
    r = records
    newer = records.alias("newer_version")
    superseded = sa.exists().where(newer.c.supersedes_id == r.c.id)
    query = sa.select(r.c.id, r.c.record_id, r.c.version, r.c.state, r.c.patient_mrn,
                      r.c.patient_name, r.c.din, r.c.dose_level, r.c.plan_status, r.c.created_at,
                      r.c.created_by, r.c.updated_at, r.c.kind, superseded.label("superseded"))
    if mrn:
        query = query.where(r.c.patient_mrn == mrn.strip())
    if din:
        query = query.where(r.c.din == din.strip().upper())
    if patient:
        query = query.where(sa.func.lower(r.c.patient_name).contains(patient.strip().lower(),
                                                                      autoescape=True))
    if state:
        try:
            query = query.where(r.c.state == State(state.strip().lower()).value)
        except ValueError:
            raise WorkflowError(f"\"{state}\" is not a record state (draft, prepared, verified, "
                                "released).") from None
    if since is not None:
        query = query.where(r.c.created_at >= _since_text(since))
    if before_pk is not None:
        query = query.where(r.c.id < before_pk)
    if not all_versions:
        query = query.where(~superseded)
    query = query.order_by(r.c.id.desc()).limit(limit)
    with store.read() as conn:
        return tuple(RecordSummary(pk=row.id, record_id=row.record_id, version=row.version,
                                   state=State(row.state), patient_mrn=row.patient_mrn,
                                   patient_name=row.patient_name, din=row.din,
                                   dose_level=row.dose_level, plan_status=row.plan_status,
                                   created_at=row.created_at, created_by=row.created_by,
                                   updated_at=row.updated_at, superseded=bool(row.superseded),
                                   kind=row.kind)
                     for row in conn.execute(query))


# --- prints --------------------------------------------------------------------------------

def _prints(conn: Connection, ref: str) -> tuple[PrintEvent, ...]:
    rows = conn.execute(sa.select(audit_log.c.at, audit_log.c.user_id, audit_log.c.new_value)
                        .where(audit_log.c.record_ref == ref,
                               audit_log.c.action == "record_print")
                        .order_by(audit_log.c.seq))
    return tuple(PrintEvent(at=parse_utc_text(at), user_id=user,
                            document=load_stored(value or "{}").get("document", "worksheet"))
                 for at, user, value in rows)


def print_history(store: Store, ref: str) -> tuple[PrintEvent, ...]:
    """Every print of a record version, oldest first."""
    with store.read() as conn:
        row = find_row(conn, ref)
        return _prints(conn, version_ref(row["record_id"], row["version"]))


def earlier_print(store: Store, ref: str) -> PrintEvent | None:
    """The first print of this record version, or None: a print now is a reprint exactly when
    this returns an event (its ``at`` is when the original was printed)."""
    history = print_history(store, ref)
    return history[0] if history else None


def check_can_print(store: Store, ref: str, user_id: str) -> StoredRecord:
    """The record version ``ref`` if ``user_id`` may print it now (checked before anything is
    rendered or written, so a refused print leaves no file behind)."""
    with store.read() as conn:
        require_active_user(conn, user_id, frozenset(Role), "print a record")
        return stored_record(conn, find_row(conn, ref))


def register_print(store: Store, ref: str, user_id: str,
                   document: str = "worksheet", *, now: datetime | None = None) -> RecordInfo:
    """Audit a print of a record version and return the :class:`RecordInfo` to print on it;
    its ``reprint_at`` is set (to now) when this version was printed before.

    Call it only once the print is real — the file written, the print job accepted — never when
    a preview opens or a write failed (issue 9): REPRINT must mean a real earlier print."""
    with store.write() as conn:
        user = require_active_user(conn, user_id, frozenset(Role), "print a record")
        row = find_row(conn, ref)
        current = version_ref(row["record_id"], row["version"])
        if "label" in document:
            check_not_expired(load_stored(row["plan_json"]), current, "get a bag label", now)
        before = _prints(conn, current)
        now = utc_now()
        stored = stored_record(conn, row)
        audit.append(conn, "record_print", user.user_id, record_ref=current,
                     new={"document": document, "record_hash": stored.record_hash,
                          "state": stored.state.value, "reprint": bool(before),
                          "first_printed_at": utc_text(before[0].at) if before else None},
                     at=now)
    return stored.info(reprint_at=now if before else None)
