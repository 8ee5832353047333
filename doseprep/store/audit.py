"""The audit trail: an append-only table whose rows are chained by SHA-256.

Every create, edit, correction, signature, refused signature, print, export and user change is one
row: who, when (UTC), what, which record version, the old and new values (canonical JSON) and the
reason. Each row stores the previous row's hash and its own hash, SHA-256 over the previous hash
followed by the canonical JSON of the row's content, so removing, inserting or altering a row
breaks the chain at that row (:mod:`doseprep.store.verify` checks it). ``audit_head`` holds the last
link; rows are appended only inside :meth:`Store.write <doseprep.store.engine.Store.write>`, which
holds the writers' lock, so concurrent workstations extend one linear chain. Triggers reject UPDATE
and DELETE on the table itself.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring as _encode_string  # type: ignore[attr-defined]
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
from doseprep.store.canonical import canonical_json, parse_utc_text, utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.schema import audit_head, audit_log

log = logging.getLogger(__name__)

#: The columns of an audit row in chain order, as exported.
COLUMNS = ("seq", "at", "user_id", "action", "record_ref", "old_value", "new_value", "reason",
           "prev_hash", "hash")


@dataclass(frozen=True)
class AuditEvent:
    """One row of the audit trail, values decoded from JSON."""

    seq: int
    at: datetime
    user_id: str | None
    action: str
    record_ref: str | None
    old_value: Any
    new_value: Any
    reason: str | None
    prev_hash: str
    hash: str


def row_content(seq: int, at: str, user_id: str | None, action: str, record_ref: str | None,
                old_value: str | None, new_value: str | None, reason: str | None) -> str:
    """The canonical JSON of an audit row's content (everything but the two hashes).

    Exactly ``canonical_json`` of the dict of these eight fields, written out by hand because
    ``audit verify`` computes it a million times: keys in sorted order, strings escaped by the same
    C encoder the json module uses.
    """
    e = _encode_string
    return (f'{{"action":{e(action)},"at":{e(at)},'
            f'"new_value":{"null" if new_value is None else e(new_value)},'
            f'"old_value":{"null" if old_value is None else e(old_value)},'
            f'"reason":{"null" if reason is None else e(reason)},'
            f'"record_ref":{"null" if record_ref is None else e(record_ref)},'
            f'"seq":{int.__repr__(seq)},"user_id":{"null" if user_id is None else e(user_id)}}}')


def row_hash(prev_hash: str, seq: int, at: str, user_id: str | None, action: str,
             record_ref: str | None, old_value: str | None, new_value: str | None,
             reason: str | None) -> str:
    """The hash of one audit row: SHA-256 of the previous hash + the row's canonical JSON.

    ``old_value`` and ``new_value`` enter as the stored JSON text, so every stored byte counts.
    """
    content = row_content(seq, at, user_id, action, record_ref, old_value, new_value, reason)
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def append(conn: Connection, action: str, user_id: str | None, *, record_ref: str | None = None,
           old: Any = None, new: Any = None, reason: str | None = None,
           at: datetime | None = None) -> AuditEvent:
    """Append one row to the chain; ``conn`` must be in a :meth:`Store.write` transaction."""
    head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)
                        .where(audit_head.c.id == 1)).one()
    seq = head.seq + 1
    at_text = utc_text(at or utc_now())
    old_text = None if old is None else canonical_json(old)
    new_text = None if new is None else canonical_json(new)
    digest = row_hash(head.hash, seq, at_text, user_id, action, record_ref, old_text, new_text,
                      reason)
    conn.execute(audit_log.insert().values(
        seq=seq, at=at_text, user_id=user_id, action=action, record_ref=record_ref,
        old_value=old_text, new_value=new_text, reason=reason, prev_hash=head.hash, hash=digest))
    updated = conn.execute(audit_head.update()
                           .where(audit_head.c.id == 1, audit_head.c.seq == head.seq)
                           .values(seq=seq, hash=digest))
    if updated.rowcount != 1:  # pragma: no cover - the writers' lock makes this impossible
        raise RuntimeError("the audit trail's head moved during a write; nothing was saved")
    log.debug("audit %s %s %s by %s", seq, action, record_ref, user_id)
    return AuditEvent(seq, parse_utc_text(at_text), user_id, action, record_ref, old, new, reason,
                      head.hash, digest)


def head_of(store: Store) -> tuple[int, str] | None:
    """The newest audit row's number and hash (None for an empty trail)."""
    with store.read() as conn:
        head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)
                            .where(audit_head.c.id == 1)).first()
    return None if head is None or head.seq == 0 else (head.seq, head.hash)


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        seq=row.seq, at=parse_utc_text(row.at), user_id=row.user_id, action=row.action,
        record_ref=row.record_ref,
        old_value=None if row.old_value is None else load_stored(row.old_value),
        new_value=None if row.new_value is None else load_stored(row.new_value),
        reason=row.reason, prev_hash=row.prev_hash, hash=row.hash)


def events(store: Store, *, record_ref: str | None = None, action: str | None = None,
           limit: int | None = None) -> tuple[AuditEvent, ...]:
    """Audit rows in chain order, optionally for one record version and/or one action."""
    query = sa.select(audit_log).order_by(audit_log.c.seq)
    if record_ref is not None:
        query = query.where(audit_log.c.record_ref == record_ref)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if limit is not None:
        query = query.limit(limit)
    with store.read() as conn:
        return tuple(_event(row) for row in conn.execute(query))


def iter_rows(conn: Connection, batch: int = 20_000) -> Iterator[tuple]:
    """Every audit row as a plain tuple in :data:`COLUMNS` order, streamed in chain order."""
    result = conn.execution_options(stream_results=True, yield_per=batch).exec_driver_sql(
        "SELECT seq, at, user_id, action, record_ref, old_value, new_value, reason, prev_hash, "
        "hash FROM audit_log ORDER BY seq")
    for part in result.partitions():
        yield from part


class _HashingWriter:
    """A text stream that also hashes what goes through it (for the export's own audit row)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        self.digest.update(text.encode("utf-8"))
        return self.out.write(text)


def export_csv(store: Store, out: TextIO, user_id: str, destination: str) -> int:
    """Write the whole audit trail as CSV to ``out``; the export is itself audited.

    Returns the number of rows written. The audit row of the export names the destination, the
    last row exported and the SHA-256 of the CSV text.
    """
    writer_stream = _HashingWriter(out)
    writer = csv.writer(writer_stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = last = 0
    with store.read() as conn:
        for row in iter_rows(conn):
            writer.writerow(row)
            count += 1
            last = row[0]
    with store.write() as conn:
        append(conn, "audit_export", user_id,
               new={"rows": count, "through_seq": last, "destination": destination,
                    "sha256": writer_stream.digest.hexdigest()})
    return count
