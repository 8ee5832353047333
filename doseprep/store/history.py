"""The history of records (search, newest first, a page at a time) and of their prints (a print
is audited only when it is real; a document printed again for the same record version in the
same signed state says REPRINT)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
from doseprep.manifest import RecordInfo
from doseprep.signoff import State
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

#: The documents of a print: the worksheet, and the labels (PDF or ZPL: a second set of labels
#: for the same bags is a reprint whichever way it is printed).
DOCUMENT_KINDS = ("worksheet", "labels")


def document_kinds(document: str) -> tuple[str, ...]:
    """The documents a print holds, from the audit entry's ``document`` (``"worksheet and labels
    and labels (ZPL)"``, ``"labels (printed)"``)."""
    text = document.lower()
    kinds = tuple(kind for kind in DOCUMENT_KINDS if kind.rstrip("s") in text)
    return kinds or (document,)


def _prints(conn: Connection, ref: str) -> tuple[PrintEvent, ...]:
    rows = conn.execute(sa.select(audit_log.c.at, audit_log.c.user_id, audit_log.c.new_value)
                        .where(audit_log.c.record_ref == ref,
                               audit_log.c.action == "record_print")
                        .order_by(audit_log.c.seq))
    events = []
    for at, user, value in rows:
        new = load_stored(value or "{}")
        events.append(PrintEvent(at=parse_utc_text(at), user_id=user,
                                 document=new.get("document", "worksheet"),
                                 state=new.get("state"), record_hash=new.get("record_hash")))
    return tuple(events)


def _same_state(event: PrintEvent, record: StoredRecord) -> bool:
    """Whether ``event`` printed ``record`` as it is now: the same signed state and hash (an
    entry that does not say counts as the same, so that a duplicate is never unmarked)."""
    return (event.state in (None, record.state.value)
            and event.record_hash in (None, record.record_hash))


def _counts(events: tuple[PrintEvent, ...], record: StoredRecord) -> dict[str, int]:
    counts = dict.fromkeys(DOCUMENT_KINDS, 0)
    for event in events:
        if _same_state(event, record):
            for kind in document_kinds(event.document):
                counts[kind] = counts.get(kind, 0) + 1
    return counts


def print_words(count: int) -> str:
    """``first print`` or ``reprint n`` (n earlier prints of the same document in the same
    state), as the audit trail and the command line say it."""
    return "first print" if count == 0 else f"reprint {count}"


def print_history(store: Store, ref: str) -> tuple[PrintEvent, ...]:
    """Every print of a record version, oldest first."""
    with store.read() as conn:
        row = find_row(conn, ref)
        return _prints(conn, version_ref(row["record_id"], row["version"]))


def earlier_print(store: Store, ref: str) -> PrintEvent | None:
    """The first print of this record version in any state, or None."""
    history = print_history(store, ref)
    return history[0] if history else None


def earlier_prints(store: Store, ref: str) -> dict[str, int]:
    """How many times each document (``worksheet``, ``labels``) of record version ``ref`` was
    printed before in the signed state it is in now: a print now is a REPRINT of a document
    exactly when its count is above 0. A worksheet printed while the record was only Prepared
    is another document than the one printed once it is Released (issue 21)."""
    with store.read() as conn:
        record = stored_record(conn, find_row(conn, ref))
        return _counts(_prints(conn, record.ref), record)


def check_can_print(store: Store, ref: str, user_id: str) -> StoredRecord:
    """The record version ``ref`` if ``user_id`` may print it now (checked before anything is
    rendered or written, so a refused print leaves no file behind)."""
    with store.read() as conn:
        require_active_user(conn, user_id, frozenset(Role), "print a record")
        return stored_record(conn, find_row(conn, ref))


def register_print(store: Store, ref: str, user_id: str,
                   document: str = "worksheet", *, now: datetime | None = None,
                   marked: Mapping[str, int] | None = None) -> RecordInfo:
    """Audit a print of a record version and return the :class:`RecordInfo` to print on it:
    ``reprint`` (and ``reprint_at``, now) set when a document of the print was printed before in
    the same signed state. The audit entry says for each document "first print" or
    "reprint n"; ``marked`` is what the paper says (the counts it was rendered with), recorded
    beside it so that a paper printed without its REPRINT mark (another workstation printed in
    between) shows in the trail.

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
        counts = _counts(before, stored)
        kinds = document_kinds(document)
        count = max(counts.get(kind, 0) for kind in kinds)
        same = [e for e in before if _same_state(e, stored)
                and set(document_kinds(e.document)) & set(kinds)]
        new = {"document": document, "record_hash": stored.record_hash,
               "state": stored.state.value, "reprint": bool(count),
               "prints": {kind: print_words(counts.get(kind, 0)) for kind in kinds},
               "first_printed_at": utc_text(same[0].at) if same else None}
        if marked is not None:
            new["marked"] = {kind: print_words(n) for kind, n in marked.items()}
        audit.append(conn, "record_print", user.user_id, record_ref=current, new=new, at=now)
    return replace(stored.info(reprint_at=now if count else None), reprint=count)
