"""Preparation records: drafts, electronic signatures, corrections, prints and the history.

A record moves Draft → Prepared (a technician signs) → Verified (a supervisor who is not the
preparer signs, after a blind re-entry of the key values matches) → Released (a supervisor who is
not the preparer signs). Each signature re-authenticates the signer (user id + password now) and
is bound to the SHA-256 of the canonical record it signs: the request, the plan, the protocol and
lab fingerprints, the record id, version and state, and every earlier signature.

A draft can be edited (optimistic locking through ``row_version``: a second workstation's stale
save is refused). Once signed, a record never changes — the code refuses, triggers refuse, and the
hashes would tell; a correction is a new version of the same record id, pointing to the version it
supersedes, with a mandatory reason, and it starts again as a draft.

Record ids look like ``PREP-2026-000123`` (the year and a running number); one version is written
``PREP-2026-000123/v2``. Everything that changes a record, and every print, is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
from doseprep.manifest import ExceptionalRelease, RecordInfo, SignatureManifest
from doseprep.signoff import EDITORS, State
from doseprep.store import audit, ledger
from doseprep.store.canonical import (
    content_hash,
    local_zone,
    parse_utc_text,
    utc_now,
    utc_text,
    zone_from_name,
)
from doseprep.store.content import (
    SIGNATURE_FIELDS,
    content_columns,
    record_content,
    signature_content,
)
from doseprep.store.engine import Store
from doseprep.store.errors import (
    ImmutableRecordError,
    StaleRecordError,
    WorkflowError,
    checked_reason,
)
from doseprep.store.kept import keep_settings, kept_text
from doseprep.store.refs import ID_PREFIX, find_row, version_ref
from doseprep.store.schema import counters, records, signatures
from doseprep.store.users import require_active_user

if TYPE_CHECKING:
    from doseprep.store.content import AnyPlan

log = logging.getLogger(__name__)

PAGE_SIZE = 100


@dataclass(frozen=True)
class Signature:
    """One stored electronic signature."""

    seq: int
    meaning: str
    state: State
    user_id: str
    printed_name: str
    role: str
    signed_at_utc: str
    time_zone: str
    utc_offset: str
    record_hash: str
    signature_hash: str
    #: An exceptional release's findings, reason and physician (canonical JSON), or None.
    exception_json: str | None = None

    @property
    def exception(self) -> dict[str, Any] | None:
        """The exceptional release this signature authorised: {"findings": [{code, message}],
        "reason", "physician"} — None for every ordinary signature."""
        return None if self.exception_json is None else load_stored(self.exception_json)

    @property
    def signed_at(self) -> datetime:
        """The moment of signing in the signer's time zone (aware)."""
        return parse_utc_text(self.signed_at_utc).astimezone(
            zone_from_name(self.time_zone, self.utc_offset))

    def manifest(self) -> SignatureManifest:
        return SignatureManifest(meaning=self.meaning, printed_name=self.printed_name,
                                 user_id=self.user_id, signed_at=self.signed_at,
                                 record_hash=self.record_hash)

    def content(self) -> dict[str, Any]:
        return signature_content(self.__dict__)


@dataclass(frozen=True)
class StoredRecord:
    """One version of a preparation record, as stored."""

    pk: int
    record_id: str
    version: int
    state: State
    row_version: int
    request: dict[str, Any]
    plan: dict[str, Any]
    patient_mrn: str
    patient_name: str
    din: str
    dose_level: str
    plan_status: str
    protocol_id: str
    protocol_version: str
    protocol_fingerprint: str
    lab_fingerprint: str
    program_version: str
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    supersedes: str | None
    correction_reason: str | None
    superseded_by: str | None
    signatures: tuple[Signature, ...]
    record_hash: str  # the hash last signed, or for a draft the hash of its current content
    kind: str = "fresh"  # fresh, freeze or thaw: which plan the record holds
    #: The SHA-256 of the exact protocol and lab file texts the plan was computed with (kept in
    #: ``settings_texts``; None for a record saved before revision 0006), and the texts.
    protocol_text_sha256: str | None = None
    lab_text_sha256: str | None = None
    protocol_text: str | None = None
    lab_text: str | None = None

    @property
    def ref(self) -> str:
        return version_ref(self.record_id, self.version)

    def signature(self, meaning: str) -> Signature | None:
        return next((s for s in self.signatures if s.meaning == meaning), None)

    @property
    def exceptional_release(self) -> Signature | None:
        """The medical director's exceptional release signature, if the record has one."""
        return next((s for s in self.signatures if s.exception_json is not None), None)

    def info(self, reprint_at: datetime | None = None) -> RecordInfo:
        """What a printed document says about this record."""
        exceptional = self.exceptional_release
        return RecordInfo(record_id=self.record_id, version=self.version, state=self.state.value,
                          record_hash=self.record_hash,
                          signatures=tuple(s.manifest() for s in self.signatures),
                          reprint_at=reprint_at, supersedes=self.supersedes,
                          correction_reason=self.correction_reason,
                          superseded_by=self.superseded_by,
                          exceptional_release=None if exceptional is None else
                          exceptional_manifest(exceptional))


@dataclass(frozen=True)
class RecordSummary:
    """One line of the history."""

    pk: int
    record_id: str
    version: int
    state: State
    patient_mrn: str
    patient_name: str
    din: str
    dose_level: str
    plan_status: str
    created_at: str
    created_by: str
    updated_at: str
    superseded: bool
    kind: str = "fresh"

    @property
    def ref(self) -> str:
        return version_ref(self.record_id, self.version)


@dataclass(frozen=True)
class PrintEvent:
    """One print of a record version, from the audit trail."""

    at: datetime
    user_id: str | None
    document: str
    state: str | None = None  # the signed state the record was printed in
    record_hash: str | None = None  # the hash of the record as printed


# --- references and canonical content --------------------------------------------------------

# --- loading -------------------------------------------------------------------------------

def exceptional_manifest(signature: Signature) -> ExceptionalRelease:
    """What documents print of an exceptional release."""
    exception = signature.exception or {}
    return ExceptionalRelease(
        findings=tuple((str(f.get("code")), str(f.get("message", "")))
                       for f in exception.get("findings", [])),
        reason=str(exception.get("reason", "")), physician=str(exception.get("physician", "")),
        printed_name=signature.printed_name, user_id=signature.user_id,
        signed_at=signature.signed_at)


def load_signatures(conn: Connection, record_pk: int) -> tuple[Signature, ...]:
    rows = conn.execute(sa.select(signatures).where(signatures.c.record_pk == record_pk)
                        .order_by(signatures.c.seq)).mappings()
    return tuple(Signature(**{**{k: r[k] for k in SIGNATURE_FIELDS}, "state": State(r["state"]),
                              "signature_hash": r["signature_hash"],
                              "exception_json": r["exception_json"]}) for r in rows)


def stored_record(conn: Connection, row: Mapping[str, Any]) -> StoredRecord:
    sigs = load_signatures(conn, row["id"])
    request = load_stored(row["request_json"])
    plan = load_stored(row["plan_json"])
    if sigs:
        record_hash = sigs[-1].record_hash
    else:
        record_hash = content_hash(record_content(row, row["supersedes_ref"], row["state"], (),
                                                  request=request, plan=plan))
    return StoredRecord(
        pk=row["id"], record_id=row["record_id"], version=row["version"],
        state=State(row["state"]), row_version=row["row_version"], request=request, plan=plan,
        patient_mrn=row["patient_mrn"], patient_name=row["patient_name"], din=row["din"],
        dose_level=row["dose_level"], plan_status=row["plan_status"],
        protocol_id=row["protocol_id"], protocol_version=row["protocol_version"],
        protocol_fingerprint=row["protocol_fingerprint"],
        lab_fingerprint=row["lab_fingerprint"], program_version=row["program_version"],
        created_at=row["created_at"], created_by=row["created_by"],
        updated_at=row["updated_at"], updated_by=row["updated_by"],
        supersedes=row["supersedes_ref"], correction_reason=row["correction_reason"],
        superseded_by=row["superseded_by_ref"], signatures=sigs, record_hash=record_hash,
        kind=row["kind"], protocol_text_sha256=row["protocol_text_sha256"],
        lab_text_sha256=row["lab_text_sha256"],
        protocol_text=kept_text(conn, row["protocol_text_sha256"], "protocol",
                                     row["protocol_fingerprint"]),
        lab_text=kept_text(conn, row["lab_text_sha256"], "lab", row["lab_fingerprint"]))


def get_record(store: Store, ref: str) -> StoredRecord:
    """A record version by reference (``PREP-2026-000123`` means its latest version)."""
    with store.read() as conn:
        return stored_record(conn, find_row(conn, ref))


def record_info(store: Store, ref: str) -> RecordInfo:
    """The :class:`RecordInfo` documents print for a record version (not marking a print)."""
    return get_record(store, ref).info()


# --- saving and editing --------------------------------------------------------------------

def _next_record_id(conn: Connection, now: datetime) -> str:
    year = now.astimezone(local_zone()[0]).year
    name = f"{ID_PREFIX}-{year}"
    value = conn.execute(sa.select(counters.c.value).where(counters.c.name == name)).scalar()
    if value is None:
        value = 1
        conn.execute(counters.insert().values(name=name, value=value))
    else:
        value += 1
        conn.execute(counters.update().where(counters.c.name == name).values(value=value))
    return f"{name}-{value:06d}"


def _draft_audit_value(row: Mapping[str, Any], supersedes: str | None) -> dict[str, Any]:
    return {"content_hash": content_hash(record_content(row, supersedes, State.DRAFT.value, ())),
            "state": State.DRAFT.value, "request": load_stored(row["request_json"]),
            "plan_status": row["plan_status"]}


def save_draft(store: Store, plan: AnyPlan, user_id: str) -> StoredRecord:
    """Save a computed plan (fresh, freeze or thaw) as a new record (version 1, draft); returns
    it with its new id. A thaw plan must name a stored aliquot that may be thawed."""
    columns = content_columns(plan)
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "save a record")
        _check_kind(conn, None, columns)
        now = utc_now()
        stamp = utc_text(now)
        keep_settings(conn, plan, now)
        values = {**columns, "record_id": _next_record_id(conn, now), "version": 1,
                  "supersedes_id": None, "correction_reason": None, "state": State.DRAFT.value,
                  "created_at": stamp, "created_by": user_id, "updated_at": stamp,
                  "updated_by": user_id, "row_version": 1}
        conn.execute(records.insert().values(**values))
        audit.append(conn, "record_create", user_id,
                     record_ref=version_ref(values["record_id"], 1),
                     new=_draft_audit_value(values, None), at=now)
        row = find_row(conn, version_ref(values["record_id"], 1))
        saved = stored_record(conn, row)
    log.info("record %s saved by %s", saved.ref, user_id)
    return saved


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def _diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[dict, dict]:
    a, b = _flatten(old), _flatten(new)
    changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    return {k: a.get(k) for k in changed}, {k: b.get(k) for k in changed}


def check_row_version(row: Mapping[str, Any], expected: int | None) -> None:
    if expected is not None and row["row_version"] != expected:
        raise StaleRecordError(
            f"{version_ref(row['record_id'], row['version'])} was changed by "
            f"{row['updated_by']} at {row['updated_at']} UTC after you opened it (you had row "
            f"version {expected}, it is now {row['row_version']}); your change was not saved — "
            "reopen the record and enter your change again.")


def edit_draft(store: Store, ref: str, plan: AnyPlan, user_id: str, *,
               expected_row_version: int | None, reason: str | None = None) -> StoredRecord:
    """Replace a draft's request and plan. Refused when someone saved it since
    ``expected_row_version`` was read (:class:`StaleRecordError`) or when it is signed."""
    columns = content_columns(plan)
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "edit a record")
        row = find_row(conn, ref)
        check_latest(row)
        if row["state"] != State.DRAFT.value:
            raise ImmutableRecordError(f"{version_ref(row['record_id'], row['version'])} is signed "
                                  f"({row['state']}) and cannot change; correct it instead "
                                  "(a new version with a reason).")
        check_row_version(row, expected_row_version)
        _check_kind(conn, row, columns)
        now = utc_now()
        keep_settings(conn, plan, now)
        result = conn.execute(records.update().where(
            records.c.id == row["id"], records.c.row_version == row["row_version"],
            records.c.state == State.DRAFT.value).values(
                **columns, updated_at=utc_text(now), updated_by=user_id,
                row_version=row["row_version"] + 1))
        if result.rowcount != 1:  # pragma: no cover - writers are serialized
            raise StaleRecordError("the record changed while it was being saved; reopen it.")
        new_row = find_row(conn, version_ref(row["record_id"], row["version"]))
        old_diff, new_diff = _diff(load_stored(row["request_json"]),
                                   load_stored(new_row["request_json"]))
        audit.append(conn, "record_edit", user_id, record_ref=version_ref(row["record_id"],
                                                                          row["version"]),
                     old={"content_hash": _draft_audit_value(row, row["supersedes_ref"])
                          ["content_hash"], "request": old_diff},
                     new={**_draft_audit_value(new_row, row["supersedes_ref"]),
                          "request": new_diff, "plan_status": new_row["plan_status"]},
                     reason=reason, at=now)
        return stored_record(conn, new_row)


def _check_kind(conn: Connection, row: Mapping[str, Any] | None,
                columns: Mapping[str, Any]) -> None:
    """A record keeps its kind (fresh, freeze or thaw) through edits and corrections; a thaw
    record's bag must be one it may thaw; a freeze record whose bags are in the inventory is not
    corrected (the same bags would be stocked twice); a fresh or freeze record claims no more
    product than the ledger of its DIN has left (:mod:`doseprep.store.ledger`)."""
    from doseprep.store import inventory

    if row is not None and row["kind"] != columns["kind"]:
        raise WorkflowError(f"{version_ref(row['record_id'], row['version'])} is a "
                            f"{row['kind']} record; it cannot become a {columns['kind']} one. "
                            "Save the new plan as a new record.")
    if columns["kind"] == "thaw":
        inventory.check_thaw_request(conn, load_stored(columns["request_json"]),
                                     None if row is None else row["record_id"])
    if row is not None and row["kind"] == "freeze" and inventory.in_stock(conn, row["id"]):
        raise WorkflowError(f"the bags of {version_ref(row['record_id'], row['version'])} are "
                            "in the freezer inventory; a correction would stock them twice. "
                            "Record a deviation, and discard bags that must not be used "
                            "(doseprep inventory discard) with the reason.")
    # The product ledger of the DIN: a draw enters it when the record is saved (issue 22).
    ledger.check_claim(conn, columns, None if row is None else row["record_id"])


def check_latest(row: Mapping[str, Any]) -> None:
    if row["superseded_by_ref"] is not None:
        raise WorkflowError(f"{version_ref(row['record_id'], row['version'])} was corrected by "
                            f"{row['superseded_by_ref']}; work on the newest version.")


def correct_record(store: Store, ref: str, plan: AnyPlan, user_id: str, reason: str, *,
                   expected_row_version: int | None = None) -> StoredRecord:
    """Correct a record: a signed version gets a new draft version that supersedes it; a draft is
    edited in place. ``reason`` is mandatory and goes into the record and the audit trail."""
    reason = checked_reason(reason, "a correction needs a reason; say what was wrong and why "
                                    "it is changed (--reason).")
    with store.read() as conn:
        row = find_row(conn, ref)
    if row["state"] == State.DRAFT.value:
        return edit_draft(store, ref, plan, user_id, reason=reason,
                          expected_row_version=expected_row_version)
    columns = content_columns(plan)
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "correct a record")
        row = find_row(conn, ref)
        check_latest(row)
        check_row_version(row, expected_row_version)
        _check_kind(conn, row, columns)
        now = utc_now()
        stamp = utc_text(now)
        keep_settings(conn, plan, now)
        old_ref = version_ref(row["record_id"], row["version"])
        values = {**columns, "record_id": row["record_id"], "version": row["version"] + 1,
                  "supersedes_id": row["id"], "correction_reason": reason,
                  "state": State.DRAFT.value, "created_at": stamp, "created_by": user_id,
                  "updated_at": stamp, "updated_by": user_id, "row_version": 1}
        conn.execute(records.insert().values(**values))
        new_ref = version_ref(row["record_id"], row["version"] + 1)
        old_diff, new_diff = _diff(load_stored(row["request_json"]),
                                   load_stored(values["request_json"]))
        audit.append(conn, "record_correct", user_id, record_ref=new_ref,
                     old={"supersedes": old_ref, "state": row["state"], "request": old_diff},
                     new={**_draft_audit_value(values, old_ref), "request": new_diff},
                     reason=reason, at=now)
        saved = stored_record(conn, find_row(conn, new_ref))
    log.info("record %s corrected as %s by %s", ref, saved.ref, user_id)
    return saved
