"""Signing a record: the expiry checks, the hash a signer binds, and the three signatures (each
re-authenticating the signer, each carrying the signer's digital signature; verification only
after a blind re-entry that matches)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
from doseprep.release import blocked_refusal
from doseprep.signoff import EXCEPTIONAL_RELEASERS, STEPS, SigningStep, State, Step
from doseprep.store import audit
from doseprep.store.canonical import (
    canonical_json,
    content_hash,
    local_zone,
    offset_text,
    utc_now,
    utc_text,
)
from doseprep.store.content import record_content, signature_content
from doseprep.store.engine import Store
from doseprep.store.errors import (
    PermissionDeniedError,
    ReentryMismatchError,
    SignatureRefusedError,
    StaleRecordError,
    WorkflowError,
)
from doseprep.store.expiry import check_not_expired
from doseprep.store.keys import UserKey, current_key, sign_hash, unseal
from doseprep.store.records import (
    Signature,
    StoredRecord,
    check_latest,
    check_row_version,
    find_row,
    load_signatures,
    stored_record,
    version_ref,
)
from doseprep.store.reentry import compare_reentry
from doseprep.store.schema import records, signatures
from doseprep.store.users import User, authenticate, require_active_user

log = logging.getLogger(__name__)


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
                now: datetime | None = None,
                exceptional: Mapping[str, str] | None = None) -> StoredRecord:
    """Sign a record: ``step`` is ``prepare``, ``verify`` or ``release``.

    The signer re-authenticates now. ``verify`` needs the blind ``reentry`` of the key values; a
    mismatch stops it (:class:`ReentryMismatchError` naming the fields) and is audited. A record
    whose infusion has expired (at ``now``) cannot be signed (INFUSION_EXPIRED). With
    ``expected_hash`` (what the signer was shown, :func:`hash_to_sign`), a record whose content
    is another by then is refused: a signature binds exactly what was on screen (issue 10).

    ``exceptional`` ({"reason", "physician"}) makes a release an exceptional release: signed by
    the medical director, only for a record blocked by nothing but findings its protocol lists
    (issue 22); the findings, the reason and the physician are part of the signature's content.
    """
    if step not in STEPS:
        raise WorkflowError(f"\"{step}\" is not a signing step (prepare, verify, release).")
    spec = STEPS[step]
    exception = _exception_texts(spec, exceptional)
    roles = EXCEPTIONAL_RELEASERS if exception is not None else spec.roles
    signer = authenticate(store, user_id, password)
    if signer.role not in roles:
        if exception is not None:
            raise PermissionDeniedError(f"{user_id} is a {signer.role.value}; only the medical "
                                        "director signs an exceptional release.")
        allowed = " or ".join(sorted(r.value for r in spec.roles))
        raise PermissionDeniedError(f"{user_id} is a {signer.role.value}; a record is {spec.after} "
                               f"by a {allowed}.")
    if spec.blind and reentry is None:
        raise WorkflowError("verification needs the blind re-entry of the key values "
                            "(--reentry FILE.json).")
    key, private_key = _unlock_key(store, user_id, password)
    refused: ReentryMismatchError | None = None
    with store.write() as conn:
        require_active_user(conn, user_id, roles, f"sign \"{spec.meaning}\"")
        row = find_row(conn, ref)
        check_latest(row)
        current = version_ref(row["record_id"], row["version"])
        if row["state"] != spec.before.value:
            raise WorkflowError(_wrong_state(current, State(row["state"]), spec))
        check_row_version(row, expected_row_version)
        prior = load_signatures(conn, row["id"])
        plan = load_stored(row["plan_json"])
        refusal = blocked_refusal(plan, row["kind"], spec, exception is not None)
        if refusal is not None:
            raise WorkflowError(f"{current} cannot be signed \"{spec.meaning}\": {refusal}")
        check_not_expired(plan, current, f"be signed \"{spec.meaning}\"",
                          now)
        if spec.not_the_preparer:
            preparer = next((s.user_id for s in prior if s.state == State.PREPARED), None)
            if preparer == user_id:
                raise PermissionDeniedError(f"{user_id} prepared {current}; a different person "
                                            f"must sign \"{spec.meaning}\".")
        if spec.blind:
            assert reentry is not None
            mismatched = compare_reentry(load_stored(row["request_json"]), reentry)
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
            if exception is not None:
                exception = canonical_json({
                    **exception, "findings": [
                        {"code": f["code"], "message": f["message"]} for f in plan["findings"]
                        if f["severity"] == "block"]})
            _add_signature(conn, row, spec, signer, prior, key, private_key, expected_hash,
                           exception)
            _inventory_follows(conn, row, spec, signer.user_id)
            signed = stored_record(conn, find_row(conn, current))
    if refused is not None:
        raise refused
    log.info("%s signed %s: %s", user_id, signed.ref, spec.meaning)
    return signed


def _exception_texts(spec: SigningStep,
                     exceptional: Mapping[str, str] | None) -> dict[str, str] | None:
    """The reason and the physician of an exceptional release, both required."""
    if exceptional is None:
        return None
    if spec.name is not Step.RELEASE:
        raise WorkflowError("only a release can be exceptional.")
    out = {}
    for key, words in (("reason", "the reason for releasing a product that does not meet its "
                                  "release criteria"),
                       ("physician", "the name of the recipient's physician who was told")):
        text = str(exceptional.get(key) or "").strip()
        if not text or len(text) > 500 or "\x00" in text:
            raise WorkflowError(f"an exceptional release needs {words} (--{key}), on at most "
                                "500 characters.")
        out[key] = text
    return out


def _inventory_follows(conn: Connection, row: Mapping[str, Any], spec: SigningStep,
                       user_id: str) -> None:
    """A released freeze record puts its bags in the inventory; a thaw record signed "Prepared
    by" thaws its bag (refused, nothing signed, when the bag is no longer frozen)."""
    from doseprep.store import inventory

    if row["kind"] == "freeze" and spec.after is State.RELEASED:
        inventory.stock(conn, row, user_id, utc_now())
    elif row["kind"] == "thaw" and spec.after is State.PREPARED:
        inventory.mark_thawed(conn, row, user_id, utc_now())


def _wrong_state(ref: str, state: State, spec: SigningStep) -> str:
    if state == spec.after or list(State).index(state) > list(State).index(spec.after):
        return f"{ref} is already {state.value}."
    return (f"{ref} is {state.value}; it must be {spec.before.value} before it can be "
            f"{spec.after.value}.")


def _unlock_key(store: Store, user_id: str, password: str) -> tuple[UserKey, Any]:
    """The signer's newest key, unsealed with the password just checked (issue 10); refused when
    the lab key does not certify it (issue 25: a key made at a sign-in waits for an
    administrator)."""
    from doseprep.store.labca import require_certified

    with store.read() as conn:
        found = current_key(conn, user_id)
        if found is None:  # pragma: no cover - authenticate() makes a missing key
            raise SignatureRefusedError(f"{user_id} has no signing key; sign in once to make "
                                        "it.")
        require_certified(conn, found[0])
    key, sealed = found
    return key, unseal(sealed, password, user_id)


def _add_signature(conn: Connection, row: Mapping[str, Any], spec: SigningStep, signer: User,
                   prior: Sequence[Signature], key: UserKey, private_key: Any,
                   expected_hash: str | None = None, exception: str | None = None) -> None:
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
    signature_hash = content_hash(signature_content({**values, "exception_json": exception}))
    conn.execute(signatures.insert().values(
        record_pk=row["id"], signature_hash=signature_hash, key_id=key.key_id,
        digital_signature=sign_hash(private_key, signature_hash), exception_json=exception,
        **values))
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
                      "utc_offset": values["utc_offset"], "key_id": key.key_id,
                      **({} if exception is None else
                         {"exceptional_release": load_stored(exception)})},
                 reason=None if exception is None else
                 f"EXCEPTIONAL RELEASE: {load_stored(exception)['reason']}", at=now)


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


def release_exceptionally(store: Store, ref: str, user_id: str, password: str, *, reason: str,
                          physician: str, **kw: Any) -> StoredRecord:
    """Sign "Released by" as an exceptional release (the medical director, not the preparer),
    with the reason and the recipient's physician who was told."""
    return sign_record(store, ref, "release", user_id, password,
                       exceptional={"reason": reason, "physician": physician}, **kw)
