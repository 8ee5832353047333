"""``doseprep audit verify``: is the audit trail whole, and is every record what was signed?

Two passes over the database, both read-only:

1. **The chain.** Rows are read in order; each must follow the previous one without a gap, carry
   the previous row's hash, and hash to its stored hash. ``audit_head`` must point at the last row
   (so rows cut off the end are noticed too).
2. **The records.** Every record version's JSON must be canonical; each signature's
   ``record_hash`` must equal the hash of the record as it is stored now (with the state and
   earlier signatures it was signed after), its ``signature_hash`` must match its own row, and the
   audit trail must hold that signature; a draft must hash to what its last audited save says.

The first problem found is reported with the table, the row and what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
from doseprep.store.audit import iter_rows, row_hash
from doseprep.store.canonical import GENESIS_HASH, canonical_json, content_hash
from doseprep.store.checkpoints import Checkpoint, read_checkpoints
from doseprep.store.content import SIGNATURE_FIELDS, RecordHasher, signature_content
from doseprep.store.engine import Store
from doseprep.store.inventory import ALIQUOT_ACTIONS, aliquot_hash
from doseprep.store.keys import UserKey
from doseprep.store.records import State, version_ref
from doseprep.store.schema import aliquots, audit_head, audit_log, records, signatures
from doseprep.store.signature_checks import SignatureChecks
from doseprep.store.verify_accounts import (
    TRACKED,
    AccountTrail,
    check_account_events,
    check_account_signatures,
    check_keys,
    check_lab_key,
    check_users,
)

log = logging.getLogger(__name__)

_CONTENT_ACTIONS = frozenset({"record_create", "record_edit", "record_correct"})
_STATE_AFTER = {1: State.PREPARED.value, 2: State.VERIFIED.value, 3: State.RELEASED.value}


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong: where (table and row) and what."""

    table: str
    row: str
    message: str

    def __str__(self) -> str:
        return f"{self.table} row {self.row}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """What ``audit verify`` found."""

    audit_rows: int
    records: int
    signatures: int
    problem: Problem | None
    checkpoints: int = 0  # checkpoints outside the database the chain was held against

    @property
    def ok(self) -> bool:
        return self.problem is None


class _FoundError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _fail(table: str, row: str, message: str) -> NoReturn:
    raise _FoundError(Problem(table, row, message))


@dataclass
class _Trail:
    """What the chain pass remembers for the record pass."""

    rows: int = 0
    content: dict[str, str] | None = None  # record ref -> content hash of its last save
    signed: dict[str, set[str]] | None = None  # record ref -> signature hashes audited
    account: AccountTrail = field(default_factory=AccountTrail)  # accounts, keys, the lab key
    aliquots: dict[str, str] = field(default_factory=dict)  # bag ref -> last audited row hash
    witnessed: int = 0  # checkpoints the chain was held against


def verify_store(store: Store, trust: Sequence[Path] = (),
                 against: Sequence[Checkpoint] = ()) -> VerifyReport:
    """Check the chain (against this workstation's checkpoints and ``against``), every
    account and key, and every signed record; never changes anything in the database.
    ``trust``: the lab certificates to trust, instead of those this workstation knows (issue 25:
    ``--trust`` restricts); a file that cannot be read is an input error."""
    from doseprep.signatures.installation_key import workstation_keys

    workstation = workstation_keys(list(trust))
    url = store.engine.url.render_as_string(hide_password=True)
    with store.read() as conn:
        witnessed, file_problem = read_checkpoints(conn, url)
        if file_problem is not None:
            return VerifyReport(0, 0, 0, Problem("checkpoints", file_problem.split(" ")[0],
                                                 file_problem))
        return verify_connection(conn, trust, [*witnessed, *against], workstation=workstation)


def verify_connection(conn: Connection, trust: Sequence[Path] = (),
                      witnessed: Sequence[Checkpoint] = (), *,
                      workstation: Mapping[str, Any] | None = None) -> VerifyReport:
    """:func:`verify_store` on an open connection (what it sees in its transaction)."""
    from doseprep.signatures.installation_key import workstation_keys

    trail = _Trail(content={}, signed={}, witnessed=len(witnessed))
    counts = [0, 0]
    try:
        _check_chain(conn, trail, witnessed)
        check_account_events(trail.account, _fail)
        lab_certificate = check_lab_key(conn, trail.account, trust, _fail)
        keys, since = check_keys(conn, trail.account, lab_certificate,
                                 workstation if workstation is not None
                                 else workstation_keys(list(trust)), _fail)
        check_account_signatures(trail.account, keys, since, _fail)
        check_users(conn, trail.account, _fail)
        _check_records(conn, trail, counts, keys, since)
        _check_approvals(conn)
        _check_inventory(conn, trail)
    except _FoundError as found:
        log.warning("audit verify: %s", found.problem)
        return VerifyReport(trail.rows, counts[0], counts[1], found.problem)
    except sa.exc.OperationalError as exc:
        if conn.dialect.name != "sqlite" or "decode" not in str(exc):
            raise
        # SQLite stores any bytes in a text column; bytes that are not UTF-8 were not written by
        # doseprep. Find the row byte by byte.
        problem = _undecodable_row(conn) or Problem("database", "?", "a stored text is not "
                                                    "valid UTF-8 (altered).")
        return VerifyReport(trail.rows, counts[0], counts[1], problem)
    return VerifyReport(trail.rows, counts[0], counts[1], None, trail.witnessed)


def _check_inventory(conn: Connection, trail: _Trail) -> None:
    """Every bag of the freezer inventory is as its last audited change left it (state,
    location, thaw record …), and every audited bag is there."""
    seen = set()
    for row in conn.execute(sa.select(aliquots).order_by(aliquots.c.id)).mappings():
        seen.add(row["aliquot_ref"])
        if trail.aliquots.get(row["aliquot_ref"]) != aliquot_hash(row):
            _fail("aliquots", f"{row['id']} ({row['aliquot_ref']})",
                  "the bag is not as its last audited change left it (its state, location or "
                  "thaw record was changed outside doseprep, or the row was inserted).")
    missing = sorted(set(trail.aliquots) - seen)
    if missing:
        _fail("aliquots", missing[0], "the audit trail holds this bag but the inventory does "
                                      "not (removed).")


def _check_approvals(conn: Connection) -> None:
    """Every protocol and lab file approval matches its hash and its audit event (issues 8,
    22)."""
    from doseprep.store.ledger import sample_problems
    from doseprep.store.protocols import approval_problems, lab_approval_problems

    for table, problems in (("protocol_approvals", approval_problems(conn)),
                            ("lab_approvals", lab_approval_problems(conn)),
                            ("product_samples", sample_problems(conn))):
        if problems:
            _fail(table, problems[0].split(" (")[0].rsplit(" ", 1)[-1], problems[0])


def _undecodable_row(conn: Connection) -> Problem | None:
    for table, key in ((audit_log, "seq"), (records, "id"), (signatures, "id")):
        texts = [c for c in table.c if isinstance(c.type, sa.String) and c.name != key]
        query = sa.select(table.c[key], *[sa.cast(c, sa.LargeBinary) for c in texts]).order_by(
            table.c[key])
        for row in conn.execute(query):
            for column, raw in zip(texts, row[1:], strict=True):
                try:
                    if raw is not None:
                        bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    return Problem(table.name, str(row[0]), f"{column.name} is not valid UTF-8 "
                                                            "text (altered).")
    return None


def _top_level_hash(value: str | None, key: str, seq: int) -> str:
    """A hash stored under ``key`` at the top of a row's canonical JSON value.

    The common case is found by position without parsing: in canonical JSON a string cannot hold
    an unescaped quote, so ``"key":"`` is a key, and only the top level of these values has
    objects. Anything else is parsed properly.
    """
    if value is not None:
        at = value.find(f'"{key}":"')
        start = at + len(key) + 4
        if at > 0 and value[at - 1] in "{," and value[start + 64:start + 65] == '"':
            return value[start:start + 64]
    try:
        parsed = load_stored(value or "")
        found = parsed[key]
        if isinstance(found, str):
            return found
    except (TypeError, ValueError, KeyError):
        pass
    _fail("audit_log", str(seq), "its new value is not what the program writes.")


def _check_chain(conn: Connection, trail: _Trail, witnessed: Sequence[Checkpoint] = ()) -> None:
    assert trail.content is not None and trail.signed is not None
    content, signed = trail.content, trail.signed
    by_seq: dict[int, list[Checkpoint]] = {}
    for checkpoint in witnessed:
        by_seq.setdefault(checkpoint.seq, []).append(checkpoint)
    previous_hash = GENESIS_HASH
    expected = 1
    for seq, at, user_id, action, ref, old, new, reason, prev_hash, stored_hash in iter_rows(conn):
        for checkpoint in by_seq.get(seq, ()):
            if checkpoint.hash != stored_hash:
                _fail("audit_log", str(seq), f"it differs from the checkpoint in "
                      f"{checkpoint.source} (the trail was rewritten at or before this row).")
        if seq != expected:
            _fail("audit_log", str(seq), f"rows are missing before this one "
                  f"(expected row {expected}).")
        if prev_hash != previous_hash:
            _fail("audit_log", str(seq), "its link to the previous row is broken "
                  "(previous hash differs).")
        if row_hash(prev_hash, seq, at, user_id, action, ref, old, new, reason) != stored_hash:
            _fail("audit_log", str(seq), "its content does not match its hash "
                  "(the row was altered).")
        if action == "record_sign":
            signed.setdefault(ref, set()).add(_top_level_hash(new, "signature_hash", seq))
        elif action in _CONTENT_ACTIONS:
            content[ref] = _top_level_hash(new, "content_hash", seq)
        elif action in TRACKED:
            trail.account.add(seq, at, user_id, action, new, prev_hash)
        elif action in ALIQUOT_ACTIONS:
            trail.aliquots[ref] = _top_level_hash(new, "aliquot_hash", seq)
        previous_hash = stored_hash
        expected += 1
        trail.rows += 1
    beyond = max((c for c in witnessed if c.seq > trail.rows), key=lambda c: c.seq,
                 default=None)
    if beyond is not None:
        _fail("audit_log", str(trail.rows + 1), f"the trail ends at row {trail.rows}, but "
              f"{beyond.source} saw row {beyond.seq}: rows were removed from the end.")
    head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash)
                        .where(audit_head.c.id == 1)).first()
    if head is None or head.seq != trail.rows or head.hash != previous_hash:
        where = str(trail.rows + 1) if head is not None and head.seq > trail.rows else "head"
        _fail("audit_log", where,
              f"the trail ends at row {trail.rows} but its head says row "
              f"{head.seq if head else '(missing)'}: rows were removed from the "
              "end or the head was altered.")


def _check_digital_signature(sig: Mapping[str, Any], where: str,
                             keys: Mapping[int, UserKey], since: Mapping[int, str],
                             checks: SignatureChecks) -> None:
    key = keys.get(sig["key_id"]) if sig["key_id"] is not None else None
    if key is None or not sig["digital_signature"]:
        _fail("signatures", where, "it carries no digital signature by a key of its signer "
              "(inserted without the signer's password).")
    if key.user_id != sig["user_id"] or key.created_at > sig["signed_at_utc"]:
        _fail("signatures", where, f"it is signed with key {key.key_id}, which is not "
              f"{sig['user_id']}'s key at that time (forged).")
    certified = since.get(key.key_id)
    if certified is None or certified > sig["signed_at_utc"]:
        _fail("signatures", where, f"it is signed with {sig['user_id']}'s key {key.key_id}, "
              "which the lab key had not certified then (a key made or certified without an "
              "administrator: forged).")
    checks.add(where, f"its digital signature does not verify with {sig['user_id']}'s key "
               f"{key.key_id} (the signature or the record was altered).", key.public_key,
               sig["signature_hash"], sig["digital_signature"])


def _signatures_by_record(conn: Connection) -> dict[int, list[Mapping[str, Any]]]:
    out: dict[int, list[Mapping[str, Any]]] = {}
    for row in conn.execute(sa.select(signatures).order_by(signatures.c.record_pk,
                                                           signatures.c.seq)).mappings():
        out.setdefault(row["record_pk"], []).append(row)
    return out


def _check_json(row: Mapping[str, Any], where: str) -> None:
    """Name the column when a record's request or plan is not its canonical JSON (called once a
    hash has not matched: the hash is taken over the stored text, so any change of it shows)."""
    for column in ("request_json", "plan_json"):
        try:
            parsed = load_stored(row[column])
        except (TypeError, ValueError):
            _fail("records", where, f"{column} is not valid JSON (altered).")
        if canonical_json(parsed) != row[column]:
            _fail("records", where, f"{column} is not byte-for-byte as saved (altered).")


def _check_records(conn: Connection, trail: _Trail, counts: list[int],
                   keys: Mapping[int, UserKey], since: Mapping[int, str]) -> None:
    from doseprep.store.kept import kept_texts

    assert trail.content is not None and trail.signed is not None
    # The settings file texts records keep (issue 22): checked once each, then by key per record.
    texts, problems = kept_texts(conn)
    if problems:
        _fail(*problems[0])
    sigs_by_record = _signatures_by_record(conn)
    checks = SignatureChecks(sum(len(v) for v in sigs_by_record.values()))
    try:
        _record_pass(conn, trail, counts, keys, since, sigs_by_record, checks, texts)
        failure = checks.first_failure()
    finally:
        checks.close()
    if failure is not None:
        _fail("signatures", *failure)


def _record_pass(conn: Connection, trail: _Trail, counts: list[int],
                 keys: Mapping[int, UserKey], since: Mapping[int, str],
                 sigs_by_record: Mapping[int, list[Mapping[str, Any]]],
                 checks: SignatureChecks, texts: Mapping[str, Any]) -> None:
    from doseprep.store.kept import record_text_problem

    assert trail.content is not None and trail.signed is not None
    refs = {row.id: version_ref(row.record_id, row.version) for row in
            conn.execute(sa.select(records.c.id, records.c.record_id, records.c.version))}
    query = sa.select(records).order_by(records.c.id).execution_options(yield_per=2000)
    for row in conn.execute(query).mappings():
        ref = refs[row["id"]]
        counts[0] += 1
        where = f"{row['id']} ({ref})"
        supersedes = refs.get(row["supersedes_id"]) if row["supersedes_id"] is not None else None
        if row["supersedes_id"] is not None and (supersedes is None
                                                 or not (row["correction_reason"] or "").strip()):
            _fail("records", where, "its correction link or reason is broken.")
        kept = record_text_problem(row, texts)
        if kept is not None:
            _fail("records", where, kept)
        sigs = sigs_by_record.get(row["id"], [])
        record_hash = RecordHasher(row, supersedes)
        prior: list[Mapping[str, Any]] = []
        for sig in sigs:
            counts[1] += 1
            sig_where = f"{sig['id']} ({ref}, \"{sig['meaning']}\")"
            if sig["seq"] != len(prior) + 1 or sig["state"] != _STATE_AFTER.get(sig["seq"]):
                _fail("signatures", sig_where, "the signatures are out of order.")
            if content_hash(signature_content(sig)) != sig["signature_hash"]:
                _fail("signatures", sig_where, "the signature row does not match "
                      "its hash (altered).")
            if sig["signature_hash"] not in trail.signed.get(ref, ()):
                _fail("signatures", sig_where, "the audit trail holds no such "
                      "signature (altered or inserted).")
            _check_digital_signature(sig, sig_where, keys, since, checks)
            expected = record_hash(sig["state"], prior)
            if expected != sig["record_hash"]:
                _check_json(row, where)
                _fail("records", where,
                      f"the stored record does not match the hash signed "
                      f"\"{sig['meaning']}\" by {sig['user_id']} (the record or "
                      "its signature was altered).")
            prior.append({**{k: sig[k] for k in SIGNATURE_FIELDS},
                          "exception_json": sig["exception_json"]})
        state = sigs[-1]["state"] if sigs else State.DRAFT.value
        if row["state"] != state:
            _fail("records", where, f"its state says {row['state']} but its "
                  f"signatures say {state} (altered).")
        if not sigs:
            expected = record_hash(State.DRAFT.value, ())
            if trail.content.get(ref) != expected:
                _check_json(row, where)
                _fail("records", where, "the draft does not match its last "
                      "audited save (altered).")
        elif ref in trail.signed and len(trail.signed[ref]) != len(sigs):
            _fail("signatures", where, "a signature the audit trail recorded is "
                  "missing (removed).")
