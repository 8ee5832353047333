"""Account changes signed by a person (issue 25).

Before, a ``users`` row plus a correctly chained ``user_add`` audit row — both within reach of
anyone who can write to the database — made a working supervisor. Now every audit row that
changes an account carries the account's state after the change (:func:`account_hash` of its name,
role, password hash, disabled flag; its lock :func:`counters <doseprep.store.lockout.counters>` in
clear) and, unless it only counts a wrong password, the digital signature of that state by a
person's certified key:

- an administrator's, for what administrators do (:data:`ADMIN_ACTIONS`): add an account, disable
  it, reset its password, certify its key; the first administrator signs their own creation;
- the account's own, for what its holder does with the right password (:data:`SELF_ACTIONS`):
  clear the wrong-password count, re-hash the password, a recovery with the recovery code.

What is signed also names the audit row before it, so a signature cannot be replayed later in the
trail. ``audit verify`` (:mod:`doseprep.store.verify_accounts`) checks each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.store import audit
from doseprep.store.canonical import canonical_json, content_hash
from doseprep.store.keys import UserKey
from doseprep.store.lockout import counters
from doseprep.store.schema import audit_head, users

#: What a signature of an account change signs: this prefix, then the canonical JSON of the change.
ACCOUNT_PREFIX = b"doseprep account change v1\n"
#: The columns of a users row that only a signed change may change.
ACCOUNT_FIELDS = ("user_id", "printed_name", "role", "password_hash", "disabled", "created_at")
#: Signed by an enabled administrator (the first administrator by itself).
ADMIN_ACTIONS = frozenset({"user_add", "user_disable", "user_password_reset", "user_certify"})
#: Signed by the account's own certified key.
SELF_ACTIONS = frozenset({"password_rehash", "account_unlocked", "auth_reset",
                          "account_recovered"})
#: Not signed: a wrong password counted, a lock, a key made at a sign-in (not yet certified).
UNSIGNED_ACTIONS = frozenset({"auth_failed", "account_locked", "user_key_create"})
ACCOUNT_ACTIONS = ADMIN_ACTIONS | SELF_ACTIONS | UNSIGNED_ACTIONS


@dataclass(frozen=True)
class Signer:
    """A person's unsealed key, for the one transaction that signs with it."""

    user_id: str
    key: UserKey
    private_key: Any


def account_hash(row: Any) -> str:
    """The hash of a users row's signed columns."""
    values = row._mapping if hasattr(row, "_mapping") else row
    return content_hash({name: (bool(values[name]) if name == "disabled" else values[name])
                         for name in ACCOUNT_FIELDS})


def payload(action: str, user_id: str, state_hash: str, lock: dict[str, Any],
            previous: str) -> bytes:
    """What the signer of an account change signs."""
    return ACCOUNT_PREFIX + canonical_json(
        {"account_hash": state_hash, "action": action, "counters": lock, "previous": previous,
         "user_id": user_id}).encode("utf-8")


def account_event(conn: Connection, action: str, actor: str | None, user_id: str, *,
                  signer: Signer | None, old: Any = None, extra: dict[str, Any] | None = None,
                  reason: str | None = None, at: Any = None) -> audit.AuditEvent:
    """Audit a change of account ``user_id`` as it now is in the transaction, signed by
    ``signer`` (None only for :data:`UNSIGNED_ACTIONS`)."""
    if (signer is None) != (action in UNSIGNED_ACTIONS):
        raise ValueError(f"{action} must {'not ' if signer is None else ''}be signed")
    row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).one()
    state, lock = account_hash(row), counters(row)
    new: dict[str, Any] = {**(extra or {}), "user_id": user_id, "account_hash": state,
                           "counters": lock}
    if signer is not None:
        previous = conn.execute(sa.select(audit_head.c.hash)
                                .where(audit_head.c.id == 1)).scalar_one()
        new["signed_by"] = signer.user_id
        new["signer_key_id"] = signer.key.key_id
        new["account_signature"] = signer.private_key.sign(
            payload(action, user_id, state, lock, previous)).hex()
    return audit.append(conn, action, actor, old=old, new=new, reason=reason, at=at)


def signature_verifies(public_key: str, signature: str, action: str, user_id: str,
                       state_hash: str, lock: dict[str, Any], previous: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), payload(action, user_id, state_hash, lock, previous))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
