"""Per-user signing keys: a signature that needs the signer's secret (issues 10 and 25).

Each account has an Ed25519 key pair. The private key is stored sealed: AES-256-GCM under a key
derived from the user's password with Argon2id (the password-hashing cost in force, its own salt),
so only someone who knows the password can use it; the stored password hash does not help. The
public key is certified by the lab's certifying key with an X.509 certificate
(:mod:`doseprep.store.labca`), which needs an administrator's password at that moment; a key made
without one (an account from before revision 0003, at its first sign-in) signs nothing until an
administrator certifies it (``doseprep users certify``). Keys certified before revision 0005 by an
installation key (a signature of the canonical JSON of the key's user, public key and creation
time) stay valid for the signatures they made, only if they were made before the store's upgrade.

Every electronic signature (:func:`doseprep.store.records.sign_record`) is also signed with the
signer's private key over its ``signature_hash`` — which covers the record hash, the meaning, the
signer and the time — and ``audit verify`` checks each one against a certified key of that user.
A password set by an administrator or a recovery makes a new key (the old private key cannot be
unsealed without the old password); old keys stay in the append-only table, so old signatures stay
verifiable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.store.canonical import canonical_json, utc_now, utc_text
from doseprep.store.errors import SignatureRefusedError
from doseprep.store.schema import user_keys

#: What a user key signs: a fixed prefix, then the signature row's hash (hex).
SIGNATURE_PREFIX = b"doseprep e-signature v1\n"
#: What the lab key signs for a user key: a fixed prefix, then the certificate content.
CERTIFICATE_PREFIX = b"doseprep user key v1\n"


@dataclass(frozen=True)
class UserKey:
    """A user's key as stored (never the unsealed private key)."""

    key_id: int
    user_id: str
    created_at: str
    public_key: str  # raw Ed25519 public key, hex
    certified_by: str  # fingerprint of the lab certificate that certified it
    certificate: str  # hex signature by that certificate's key


def certificate_content(user_id: str, public_key: str, created_at: str) -> bytes:
    return CERTIFICATE_PREFIX + canonical_json(
        {"created_at": created_at, "public_key": public_key, "user_id": user_id}).encode("utf-8")


def seal(private_raw: bytes, password: str, user_id: str) -> str:
    """The private key sealed by the password (JSON text), bound to the user id."""
    from doseprep.store.sealing import seal as seal_secret

    return seal_secret(private_raw, password, user_id)


def unseal(sealed_text: str, password: str, user_id: str) -> Any:
    """The Ed25519 private key, or :class:`SignatureRefusedError` for a wrong password."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from doseprep.store.sealing import unseal as unseal_secret

    raw = unseal_secret(sealed_text, password, user_id,
                        f"the signing key of {user_id} cannot be unlocked with this password; "
                        "ask an administrator to reset the password (which makes a new key).")
    try:
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise SignatureRefusedError(f"the signing key of {user_id} is damaged; ask an "
                                    "administrator to reset the password.") from exc


def create_key(conn: Connection, user_id: str, password: str) -> tuple[UserKey, Any]:
    """Make, seal and store a new key for ``user_id`` (inside a write transaction); returns it
    and its private key. It is not certified: an administrator's unsealed lab key does that
    (:func:`doseprep.store.labca.certify`), never the workstation (issue 25)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw).hex()
    created_at = utc_text(utc_now())
    key_id = conn.execute(user_keys.insert().values(
        user_id=user_id, created_at=created_at, public_key=public,
        sealed_private_key=seal(raw, password, user_id), certified_by="",
        certificate="").returning(user_keys.c.id)).scalar_one()
    return UserKey(key_id, user_id, created_at, public, "", ""), private


def _key(row: Any) -> UserKey:
    return UserKey(row.id, row.user_id, row.created_at, row.public_key, row.certified_by,
                   row.certificate)


def current_key(conn: Connection, user_id: str) -> tuple[UserKey, str] | None:
    """The user's newest key and its sealed private key, or None."""
    row = conn.execute(sa.select(user_keys).where(user_keys.c.user_id == user_id)
                       .order_by(user_keys.c.id.desc()).limit(1)).first()
    return None if row is None else (_key(row), row.sealed_private_key)


def all_keys(conn: Connection) -> dict[int, UserKey]:
    return {row.id: _key(row) for row in conn.execute(sa.select(user_keys))}


def sign_hash(private_key: Any, signature_hash: str) -> str:
    """The digital signature (hex) of an e-signature's hash."""
    return private_key.sign(SIGNATURE_PREFIX + signature_hash.encode("ascii")).hex()


def check_signature(key: UserKey, signature_hash: str, signature_hex: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.public_key)).verify(
            bytes.fromhex(signature_hex), SIGNATURE_PREFIX + signature_hash.encode("ascii"))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def is_legacy(key: UserKey) -> bool:
    """A key certified the way revisions 0003 and 0004 did: by an installation's key."""
    return bool(key.certified_by and key.certificate)


def legacy_certificate_problem(key: UserKey, trusted: Mapping[str, Any]) -> str | None:
    """Why ``key``'s old-style certificate (by an installation key, before revision 0005) is not
    acceptable here, or None. Such a key counts only when it was made before the store's
    ``security_upgrade`` (checked by the caller): an installation key is on the workstation."""
    from doseprep.signatures.installation_key import check

    public = trusted.get(key.certified_by)
    if public is None:
        return (f"it is certified by a lab key this computer does not trust "
                f"(certificate SHA-256 {key.certified_by}); trust that certificate "
                "(DOSEPREP_TRUSTED_CERTS) if it is the lab's.")
    try:
        signature = bytes.fromhex(key.certificate)
    except ValueError:
        signature = b""
    if not check(public, certificate_content(key.user_id, key.public_key, key.created_at),
                 signature):
        return "its certificate does not match it (the key was altered or inserted)."
    return None
