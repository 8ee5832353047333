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

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep import __version__
from doseprep.manifest import RecordInfo, SignatureManifest
from doseprep.signing import EDITORS, STEPS, SigningStep, State, Step
from doseprep.store import audit
from doseprep.store.canonical import (
    canonical_json,
    content_hash,
    local_zone,
    offset_text,
    parse_utc_text,
    utc_now,
    utc_text,
    zone_from_name,
)
from doseprep.store.engine import Store
from doseprep.store.errors import (
    ImmutableRecordError,
    InfusionExpiredError,
    PermissionDeniedError,
    RecordNotFoundError,
    ReentryMismatchError,
    SignatureRefusedError,
    StaleRecordError,
    WorkflowError,
)
from doseprep.store.keys import UserKey, current_key, sign_hash, unseal
from doseprep.store.reentry import compare_reentry
from doseprep.store.schema import audit_log, counters, records, signatures
from doseprep.store.users import Role, User, authenticate, require_active_user

if TYPE_CHECKING:
    from doseprep.plan import PreparationPlan

log = logging.getLogger(__name__)

ID_PREFIX = "PREP"
_REF = re.compile(rf"^\s*({ID_PREFIX}-\d{{4}}-\d{{6,}})(?:\s*/\s*[vV](\d+))?\s*$", re.IGNORECASE)
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

    @property
    def ref(self) -> str:
        return version_ref(self.record_id, self.version)

    def signature(self, meaning: str) -> Signature | None:
        return next((s for s in self.signatures if s.meaning == meaning), None)

    def info(self, reprint_at: datetime | None = None) -> RecordInfo:
        """What a printed document says about this record."""
        return RecordInfo(record_id=self.record_id, version=self.version, state=self.state.value,
                          record_hash=self.record_hash,
                          signatures=tuple(s.manifest() for s in self.signatures),
                          reprint_at=reprint_at, supersedes=self.supersedes,
                          correction_reason=self.correction_reason,
                          superseded_by=self.superseded_by)


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

    @property
    def ref(self) -> str:
        return version_ref(self.record_id, self.version)


@dataclass(frozen=True)
class PrintEvent:
    """One print of a record version, from the audit trail."""

    at: datetime
    user_id: str | None
    document: str


# --- references and canonical content --------------------------------------------------------

def version_ref(record_id: str, version: int) -> str:
    """The reference of one version: ``PREP-2026-000123/v2``."""
    return f"{record_id}/v{version}"


def parse_ref(text: str) -> tuple[str, int | None]:
    """``PREP-2026-000123`` → (id, None: the latest version); ``.../v2`` → (id, 2)."""
    match = _REF.match(text or "")
    if not match:
        raise RecordNotFoundError(f"\"{text}\" is not a record id; record ids look like "
                             f"{ID_PREFIX}-2026-000123 (one version: {ID_PREFIX}-2026-000123/v2).")
    return match.group(1).upper(), int(match.group(2)) if match.group(2) else None


SIGNATURE_FIELDS = ("seq", "meaning", "state", "user_id", "printed_name", "role", "signed_at_utc",
                    "time_zone", "utc_offset", "record_hash")


def signature_content(values: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical content of a signature (what its ``signature_hash`` covers)."""
    out = {name: values[name] for name in SIGNATURE_FIELDS}
    out["state"] = str(out["state"])
    return out


def record_content(row: Mapping[str, Any], supersedes: str | None, state: str,
                   prior_signatures: Sequence[Mapping[str, Any]], *,
                   request: Any = None, plan: Any = None) -> dict[str, Any]:
    """The canonical content of a record version in ``state`` after ``prior_signatures``.

    This is what a signature's ``record_hash`` covers (with ``state`` the state the signature
    moves the record to) and, for a draft, what the audit trail's ``content_hash`` covers.
    """
    return {
        "record_id": row["record_id"], "version": row["version"], "supersedes": supersedes,
        "correction_reason": row["correction_reason"], "state": state,
        "request": json.loads(row["request_json"]) if request is None else request,
        "plan": json.loads(row["plan_json"]) if plan is None else plan,
        "patient_mrn": row["patient_mrn"], "patient_name": row["patient_name"],
        "din": row["din"], "dose_level": row["dose_level"], "plan_status": row["plan_status"],
        "protocol_id": row["protocol_id"], "protocol_version": row["protocol_version"],
        "protocol_fingerprint": row["protocol_fingerprint"],
        "lab_fingerprint": row["lab_fingerprint"], "program_version": row["program_version"],
        "created_at": row["created_at"], "created_by": row["created_by"],
        "signatures": [signature_content(s) for s in prior_signatures],
    }


# Placeholders for the request and plan in a record's content, replaced by their stored canonical
# text: hashing a record then costs no JSON parsing or writing of its (large) request and plan.
_REQUEST_SLOT = "\x00doseprep:request\x00"
_PLAN_SLOT = "\x00doseprep:plan\x00"
_REQUEST_TEXT = canonical_json(_REQUEST_SLOT)
_PLAN_TEXT = canonical_json(_PLAN_SLOT)


class RecordHasher:
    """Hashes of one stored record version's content in its successive states (what each of its
    signatures binds), as :func:`record_content` and ``content_hash`` give, for ``audit verify``.

    The stored ``request_json`` and ``plan_json`` text is placed into the content instead of
    being parsed and written again, and the part of the content that is the same in every state
    (everything up to the request, the bulk of it) is hashed once per record. Equal to
    ``content_hash(record_content(row, ...))`` when the stored text is canonical, as saved; for
    any other text it differs (the signer hashed canonical text), so an altered row still fails.
    """

    def __init__(self, row: Mapping[str, Any], supersedes: str | None) -> None:
        self.row = row
        self.supersedes = supersedes
        self._prefix: str | None = None
        self._base: Any = None

    def __call__(self, state: str, prior_signatures: Sequence[Mapping[str, Any]]) -> str:
        row = self.row
        text = canonical_json(record_content(row, self.supersedes, state, prior_signatures,
                                             request=_REQUEST_SLOT, plan=_PLAN_SLOT))
        plan_at, request_at = text.find(_PLAN_TEXT), text.find(_REQUEST_TEXT)
        if (text.count(_REQUEST_TEXT) != 1 or text.count(_PLAN_TEXT) != 1
                or not 0 <= plan_at < request_at or not isinstance(row["request_json"], str)
                or not isinstance(row["plan_json"], str)):
            return self._in_full(state, prior_signatures)
        cut = request_at + len(_REQUEST_TEXT)
        prefix, suffix = text[:cut], text[cut:]
        if prefix != self._prefix:
            self._prefix = prefix
            self._base = hashlib.sha256(
                (text[:plan_at] + row["plan_json"] + text[plan_at + len(_PLAN_TEXT):request_at]
                 + row["request_json"]).encode("utf-8"))
        digest = self._base.copy()
        digest.update(suffix.encode("utf-8"))
        return digest.hexdigest()

    def _in_full(self, state: str, prior_signatures: Sequence[Mapping[str, Any]]) -> str:
        try:
            request, plan = json.loads(self.row["request_json"]), json.loads(self.row["plan_json"])
        except (TypeError, ValueError):
            return ""
        return content_hash(record_content(self.row, self.supersedes, state, prior_signatures,
                                           request=request, plan=plan))


def _content_columns(plan: PreparationPlan) -> dict[str, Any]:
    from doseprep.report import plan_to_dict
    from doseprep.request import request_to_dict

    request = request_to_dict(plan.request)
    plan_dict = plan_to_dict(plan)
    return {
        "request_json": canonical_json(request),
        "plan_json": canonical_json(plan_dict),
        "patient_mrn": plan.request.patient.id,
        "patient_name": plan.request.patient.name,
        "din": plan.request.product.din,
        "dose_level": plan.request.order.dose_level,
        "plan_status": str(plan.status),
        "protocol_id": plan.protocol.id,
        "protocol_version": plan.protocol.version,
        "protocol_fingerprint": plan.protocol.fingerprint,
        "lab_fingerprint": plan.lab.fingerprint,
        "program_version": __version__,
    }


# --- loading -------------------------------------------------------------------------------

_older = records.alias("older")
_newer = records.alias("newer")


def _select_version() -> sa.Select:
    return (sa.select(records,
                      (_older.c.record_id + "/v" + sa.cast(_older.c.version, sa.String))
                      .label("supersedes_ref"),
                      (_newer.c.record_id + "/v" + sa.cast(_newer.c.version, sa.String))
                      .label("superseded_by_ref"))
            .outerjoin(_older, _older.c.id == records.c.supersedes_id)
            .outerjoin(_newer, _newer.c.supersedes_id == records.c.id))


def _signatures(conn: Connection, record_pk: int) -> tuple[Signature, ...]:
    rows = conn.execute(sa.select(signatures).where(signatures.c.record_pk == record_pk)
                        .order_by(signatures.c.seq)).mappings()
    return tuple(Signature(**{**{k: r[k] for k in SIGNATURE_FIELDS}, "state": State(r["state"]),
                              "signature_hash": r["signature_hash"]}) for r in rows)


def _find_row(conn: Connection, ref: str) -> sa.RowMapping:
    record_id, version = parse_ref(ref)
    query = _select_version().where(records.c.record_id == record_id)
    if version is None:
        query = query.order_by(records.c.version.desc()).limit(1)
    else:
        query = query.where(records.c.version == version)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise RecordNotFoundError(f"there is no record {ref.strip()}; check the id "
                             "(doseprep record list shows the history).")
    return row


def _stored(conn: Connection, row: Mapping[str, Any]) -> StoredRecord:
    sigs = _signatures(conn, row["id"])
    request = json.loads(row["request_json"])
    plan = json.loads(row["plan_json"])
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
        superseded_by=row["superseded_by_ref"], signatures=sigs, record_hash=record_hash)


def get_record(store: Store, ref: str) -> StoredRecord:
    """A record version by reference (``PREP-2026-000123`` means its latest version)."""
    with store.read() as conn:
        return _stored(conn, _find_row(conn, ref))


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
            "state": State.DRAFT.value, "request": json.loads(row["request_json"]),
            "plan_status": row["plan_status"]}


def save_draft(store: Store, plan: PreparationPlan, user_id: str) -> StoredRecord:
    """Save a computed plan as a new record (version 1, draft); returns it with its new id."""
    columns = _content_columns(plan)
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "save a record")
        now = utc_now()
        stamp = utc_text(now)
        values = {**columns, "record_id": _next_record_id(conn, now), "version": 1,
                  "supersedes_id": None, "correction_reason": None, "state": State.DRAFT.value,
                  "created_at": stamp, "created_by": user_id, "updated_at": stamp,
                  "updated_by": user_id, "row_version": 1}
        conn.execute(records.insert().values(**values))
        audit.append(conn, "record_create", user_id,
                     record_ref=version_ref(values["record_id"], 1),
                     new=_draft_audit_value(values, None), at=now)
        row = _find_row(conn, version_ref(values["record_id"], 1))
        saved = _stored(conn, row)
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


def _check_row_version(row: Mapping[str, Any], expected: int | None) -> None:
    if expected is not None and row["row_version"] != expected:
        raise StaleRecordError(
            f"{version_ref(row['record_id'], row['version'])} was changed by "
            f"{row['updated_by']} at {row['updated_at']} UTC after you opened it (you had row "
            f"version {expected}, it is now {row['row_version']}); your change was not saved — "
            "reopen the record and enter your change again.")


def edit_draft(store: Store, ref: str, plan: PreparationPlan, user_id: str, *,
               expected_row_version: int | None, reason: str | None = None) -> StoredRecord:
    """Replace a draft's request and plan. Refused when someone saved it since
    ``expected_row_version`` was read (:class:`StaleRecordError`) or when it is signed."""
    columns = _content_columns(plan)
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "edit a record")
        row = _find_row(conn, ref)
        _check_latest(row)
        if row["state"] != State.DRAFT.value:
            raise ImmutableRecordError(f"{version_ref(row['record_id'], row['version'])} is signed "
                                  f"({row['state']}) and cannot change; correct it instead "
                                  "(a new version with a reason).")
        _check_row_version(row, expected_row_version)
        now = utc_now()
        result = conn.execute(records.update().where(
            records.c.id == row["id"], records.c.row_version == row["row_version"],
            records.c.state == State.DRAFT.value).values(
                **columns, updated_at=utc_text(now), updated_by=user_id,
                row_version=row["row_version"] + 1))
        if result.rowcount != 1:  # pragma: no cover - writers are serialized
            raise StaleRecordError("the record changed while it was being saved; reopen it.")
        new_row = _find_row(conn, version_ref(row["record_id"], row["version"]))
        old_diff, new_diff = _diff(json.loads(row["request_json"]),
                                   json.loads(new_row["request_json"]))
        audit.append(conn, "record_edit", user_id, record_ref=version_ref(row["record_id"],
                                                                          row["version"]),
                     old={"content_hash": _draft_audit_value(row, row["supersedes_ref"])
                          ["content_hash"], "request": old_diff},
                     new={**_draft_audit_value(new_row, row["supersedes_ref"]),
                          "request": new_diff, "plan_status": new_row["plan_status"]},
                     reason=reason, at=now)
        return _stored(conn, new_row)


def _check_latest(row: Mapping[str, Any]) -> None:
    if row["superseded_by_ref"] is not None:
        raise WorkflowError(f"{version_ref(row['record_id'], row['version'])} was corrected by "
                            f"{row['superseded_by_ref']}; work on the newest version.")


def correct_record(store: Store, ref: str, plan: PreparationPlan, user_id: str, reason: str, *,
                   expected_row_version: int | None = None) -> StoredRecord:
    """Correct a record: a signed version gets a new draft version that supersedes it; a draft is
    edited in place. ``reason`` is mandatory and goes into the record and the audit trail."""
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("a correction needs a reason; say what was wrong and why it is "
                            "changed (--reason).")
    with store.read() as conn:
        row = _find_row(conn, ref)
    if row["state"] == State.DRAFT.value:
        return edit_draft(store, ref, plan, user_id, reason=reason,
                          expected_row_version=expected_row_version)
    columns = _content_columns(plan)
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "correct a record")
        row = _find_row(conn, ref)
        _check_latest(row)
        _check_row_version(row, expected_row_version)
        now = utc_now()
        stamp = utc_text(now)
        old_ref = version_ref(row["record_id"], row["version"])
        values = {**columns, "record_id": row["record_id"], "version": row["version"] + 1,
                  "supersedes_id": row["id"], "correction_reason": reason,
                  "state": State.DRAFT.value, "created_at": stamp, "created_by": user_id,
                  "updated_at": stamp, "updated_by": user_id, "row_version": 1}
        conn.execute(records.insert().values(**values))
        new_ref = version_ref(row["record_id"], row["version"] + 1)
        old_diff, new_diff = _diff(json.loads(row["request_json"]),
                                   json.loads(values["request_json"]))
        audit.append(conn, "record_correct", user_id, record_ref=new_ref,
                     old={"supersedes": old_ref, "state": row["state"], "request": old_diff},
                     new={**_draft_audit_value(values, old_ref), "request": new_diff},
                     reason=reason, at=now)
        saved = _stored(conn, _find_row(conn, new_ref))
    log.info("record %s corrected as %s by %s", ref, saved.ref, user_id)
    return saved


# --- signatures ----------------------------------------------------------------------------

def expiry_now() -> datetime:
    """The moment the expiry checks compare with: now (a function, so tests can sign at a set
    time of the day the reference cases were prepared on)."""
    return utc_now()


def infusion_expired_at(plan: Mapping[str, Any], now: datetime | None = None) -> datetime | None:
    """When the infusion of a stored plan expired, if it has by ``now``; else None."""
    text = plan.get("expires_at")
    if not isinstance(text, str):
        return None
    expires = datetime.fromisoformat(text)
    return expires if (now or expiry_now()) >= expires else None


def check_not_expired(plan: Mapping[str, Any], ref: str, doing: str,
                      now: datetime | None = None) -> None:
    """Refuse (INFUSION_EXPIRED) to ``doing`` for a record whose infusion has expired."""
    expired = infusion_expired_at(plan, now)
    if expired is not None:
        raise InfusionExpiredError(
            f"INFUSION_EXPIRED: the infusion of {ref} expired at "
            f"{expired.strftime('%Y-%m-%d %H:%M')} (UTC{expired.strftime('%z')[:3]}:"
            f"{expired.strftime('%z')[3:]}); it cannot {doing}. Do not infuse it; prepare a "
            "new product (a new request) with the physician.")


def hash_to_sign(record: StoredRecord, state_after: str) -> str:
    """The SHA-256 a signature moving ``record`` to ``state_after`` binds: its content in that
    state after its earlier signatures. Show it to the signer and pass it to
    :func:`sign_record` as ``expected_hash``."""
    row = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    return content_hash(record_content(row, record.supersedes, state_after,
                                       [s.content() for s in record.signatures],
                                       request=record.request, plan=record.plan))


def sign_record(store: Store, ref: str, step: str, user_id: str, password: str, *,
                reentry: Mapping[str, Any] | None = None,
                expected_row_version: int | None = None,
                expected_hash: str | None = None,
                now: datetime | None = None) -> StoredRecord:
    """Sign a record: ``step`` is ``prepare``, ``verify`` or ``release``.

    The signer re-authenticates now. ``verify`` needs the blind ``reentry`` of the key values; a
    mismatch stops it (:class:`ReentryMismatchError` naming the fields) and is audited. A record
    whose infusion has expired (at ``now``) cannot be signed (INFUSION_EXPIRED). With
    ``expected_hash`` (what the signer was shown, :func:`hash_to_sign`), a record whose content
    is another by then is refused: a signature binds exactly what was on screen (issue 10).
    """
    if step not in STEPS:
        raise WorkflowError(f"\"{step}\" is not a signing step (prepare, verify, release).")
    spec = STEPS[step]
    signer = authenticate(store, user_id, password)
    if signer.role not in spec.roles:
        allowed = " or ".join(sorted(r.value for r in spec.roles))
        raise PermissionDeniedError(f"{user_id} is a {signer.role.value}; a record is {spec.after} "
                               f"by a {allowed}.")
    if spec.blind and reentry is None:
        raise WorkflowError("verification needs the blind re-entry of the key values "
                            "(--reentry FILE.json).")
    key, private_key = _unlock_key(store, user_id, password)
    refused: ReentryMismatchError | None = None
    with store.write() as conn:
        require_active_user(conn, user_id, spec.roles, f"sign \"{spec.meaning}\"")
        row = _find_row(conn, ref)
        _check_latest(row)
        current = version_ref(row["record_id"], row["version"])
        if row["state"] != spec.before.value:
            raise WorkflowError(_wrong_state(current, State(row["state"]), spec))
        _check_row_version(row, expected_row_version)
        prior = _signatures(conn, row["id"])
        if spec.name is Step.PREPARE and row["plan_status"] == "blocked":
            codes = ", ".join(f["code"] for f in json.loads(row["plan_json"])["findings"]
                              if f["severity"] == "block")
            raise WorkflowError(f"{current} cannot be signed: its plan is blocked ({codes}); "
                                "do not prepare — correct the request or the product first.")
        check_not_expired(json.loads(row["plan_json"]), current, f"be signed \"{spec.meaning}\"",
                          now)
        if spec.not_the_preparer:
            preparer = next((s.user_id for s in prior if s.state == State.PREPARED), None)
            if preparer == user_id:
                raise PermissionDeniedError(f"{user_id} prepared {current}; a different person "
                                            f"must sign \"{spec.meaning}\".")
        if spec.blind:
            assert reentry is not None
            mismatched = compare_reentry(json.loads(row["request_json"]), reentry)
            if mismatched:
                audit.append(conn, "record_verify_refused", user_id, record_ref=current,
                             new={"mismatched_fields": list(mismatched)},
                             reason="blind re-entry does not match")
                refused = ReentryMismatchError(mismatched)
        if refused is None:
            latest = current_key(conn, user_id)
            if latest is None or latest[0].key_id != key.key_id:
                raise StaleRecordError(f"the signing key of {user_id} changed while signing "
                                       "(a password reset); sign again.")
            _add_signature(conn, row, spec, signer, prior, key, private_key, expected_hash)
            signed = _stored(conn, _find_row(conn, current))
    if refused is not None:
        raise refused
    log.info("%s signed %s: %s", user_id, signed.ref, spec.meaning)
    return signed


def _wrong_state(ref: str, state: State, spec: SigningStep) -> str:
    if state == spec.after or list(State).index(state) > list(State).index(spec.after):
        return f"{ref} is already {state.value}."
    return (f"{ref} is {state.value}; it must be {spec.before.value} before it can be "
            f"{spec.after.value}.")


def _unlock_key(store: Store, user_id: str, password: str) -> tuple[UserKey, Any]:
    """The signer's newest key, unsealed with the password just checked (issue 10)."""
    with store.read() as conn:
        found = current_key(conn, user_id)
    if found is None:  # pragma: no cover - authenticate() makes a missing key
        raise SignatureRefusedError(f"{user_id} has no signing key; sign in once to make it.")
    key, sealed = found
    return key, unseal(sealed, password, user_id)


def _add_signature(conn: Connection, row: Mapping[str, Any], spec: SigningStep, signer: User,
                   prior: Sequence[Signature], key: UserKey, private_key: Any,
                   expected_hash: str | None = None) -> None:
    now = utc_now()
    zone, zone_name = local_zone()
    local = now.astimezone(zone)
    state = spec.after.value
    record_hash = content_hash(record_content(row, row["supersedes_ref"], state,
                                              [s.content() for s in prior]))
    if expected_hash is not None and expected_hash != record_hash:
        current = version_ref(row["record_id"], row["version"])
        raise StaleRecordError(f"{current} is not what was shown to you: its content changed "
                               f"(last by {row['updated_by']}); nothing was signed. Open it "
                               "again, read it, and sign what is on screen.")
    values = {"seq": len(prior) + 1, "meaning": spec.meaning, "state": state,
              "user_id": signer.user_id, "printed_name": signer.printed_name,
              "role": signer.role.value, "signed_at_utc": utc_text(now), "time_zone": zone_name,
              "utc_offset": offset_text(local.utcoffset()), "record_hash": record_hash}
    signature_hash = content_hash(signature_content(values))
    conn.execute(signatures.insert().values(
        record_pk=row["id"], signature_hash=signature_hash, key_id=key.key_id,
        digital_signature=sign_hash(private_key, signature_hash), **values))
    result = conn.execute(records.update().where(
        records.c.id == row["id"], records.c.row_version == row["row_version"]).values(
            state=state, updated_at=utc_text(now), updated_by=signer.user_id,
            row_version=row["row_version"] + 1))
    if result.rowcount != 1:  # pragma: no cover - writers are serialized
        raise StaleRecordError("the record changed while it was being signed; reopen it.")
    audit.append(conn, "record_sign", signer.user_id,
                 record_ref=version_ref(row["record_id"], row["version"]),
                 old={"state": row["state"]},
                 new={"state": state, "meaning": spec.meaning, "signature_seq": values["seq"],
                      "record_hash": record_hash, "signature_hash": signature_hash,
                      "printed_name": signer.printed_name, "time_zone": zone_name,
                      "utc_offset": values["utc_offset"], "key_id": key.key_id}, at=now)


def prepare_record(store: Store, ref: str, user_id: str, password: str, **kw: Any) -> StoredRecord:
    """Sign "Prepared by" (a technician or supervisor)."""
    return sign_record(store, ref, "prepare", user_id, password, **kw)


def verify_record(store: Store, ref: str, user_id: str, password: str,
                  reentry: Mapping[str, Any], **kw: Any) -> StoredRecord:
    """Sign "Verified by" after the blind re-entry matches (a supervisor, not the preparer)."""
    return sign_record(store, ref, "verify", user_id, password, reentry=reentry, **kw)


def release_record(store: Store, ref: str, user_id: str, password: str, **kw: Any) -> StoredRecord:
    """Sign "Released by" (a supervisor, not the preparer)."""
    return sign_record(store, ref, "release", user_id, password, **kw)


# --- history -------------------------------------------------------------------------------

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
                      r.c.created_by, r.c.updated_at, superseded.label("superseded"))
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
                                   updated_at=row.updated_at, superseded=bool(row.superseded))
                     for row in conn.execute(query))


# --- prints --------------------------------------------------------------------------------

def _prints(conn: Connection, ref: str) -> tuple[PrintEvent, ...]:
    rows = conn.execute(sa.select(audit_log.c.at, audit_log.c.user_id, audit_log.c.new_value)
                        .where(audit_log.c.record_ref == ref,
                               audit_log.c.action == "record_print")
                        .order_by(audit_log.c.seq))
    return tuple(PrintEvent(at=parse_utc_text(at), user_id=user,
                            document=json.loads(value or "{}").get("document", "worksheet"))
                 for at, user, value in rows)


def print_history(store: Store, ref: str) -> tuple[PrintEvent, ...]:
    """Every print of a record version, oldest first."""
    with store.read() as conn:
        row = _find_row(conn, ref)
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
        return _stored(conn, _find_row(conn, ref))


def register_print(store: Store, ref: str, user_id: str,
                   document: str = "worksheet", *, now: datetime | None = None) -> RecordInfo:
    """Audit a print of a record version and return the :class:`RecordInfo` to print on it;
    its ``reprint_at`` is set (to now) when this version was printed before.

    Call it only once the print is real — the file written, the print job accepted — never when
    a preview opens or a write failed (issue 9): REPRINT must mean a real earlier print."""
    with store.write() as conn:
        user = require_active_user(conn, user_id, frozenset(Role), "print a record")
        row = _find_row(conn, ref)
        current = version_ref(row["record_id"], row["version"])
        if "label" in document:
            check_not_expired(json.loads(row["plan_json"]), current, "get a bag label", now)
        before = _prints(conn, current)
        now = utc_now()
        stored = _stored(conn, row)
        audit.append(conn, "record_print", user.user_id, record_ref=current,
                     new={"document": document, "record_hash": stored.record_hash,
                          "state": stored.state.value, "reprint": bool(before),
                          "first_printed_at": utc_text(before[0].at) if before else None},
                     at=now)
    return stored.info(reprint_at=now if before else None)
