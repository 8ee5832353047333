"""Per-user signing keys: a signature that needs the signer's secret (issue 10).

Each account has an Ed25519 key pair. The private key is stored sealed: AES-256-GCM under a key
derived from the user's password with Argon2id (the password-hashing cost in force, its own salt),
so only someone who knows the password can use it; the stored password hash does not help. The
public key is certified by the lab's signing key (:mod:`doseprep.labkey`): a certificate is the
lab key's signature of the canonical JSON of the key's user, public key and creation time.

Every electronic signature (:func:`doseprep.store.records.sign_record`) is also signed with the
signer's private key over its ``signature_hash`` — which covers the record hash, the meaning, the
signer and the time — and ``audit verify`` checks each one against a certified key of that user.
A password set by an administrator or a recovery makes a new key (the old private key cannot be
unsealed without the old password); old keys stay in the append-only table, so old signatures stay
verifiable. An account made before revision 0003 gets its key at its next successful sign-in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
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


def _derive(password: str, salt: bytes, time_cost: int, memory_cost: int,
            parallelism: int) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(password.encode("utf-8"), salt, time_cost=time_cost,
                           memory_cost=memory_cost, parallelism=parallelism, hash_len=32,
                           type=Type.ID)


def seal(private_raw: bytes, password: str, user_id: str) -> str:
    """The private key sealed by the password (JSON text)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from doseprep.store.hashing import HASH_PROFILES, hash_profile

    time_cost, memory_cost, parallelism = HASH_PROFILES[hash_profile()]
    salt, nonce = os.urandom(16), os.urandom(12)
    kek = _derive(password, salt, time_cost, memory_cost, parallelism)
    sealed = AESGCM(kek).encrypt(nonce, private_raw, user_id.encode("utf-8"))
    return canonical_json({"kdf": "argon2id", "t": time_cost, "m": memory_cost,
                           "p": parallelism, "salt": salt.hex(), "nonce": nonce.hex(),
                           "sealed": sealed.hex(), "aead": "aes-256-gcm"})


def unseal(sealed_text: str, password: str, user_id: str) -> Any:
    """The Ed25519 private key, or :class:`SignatureRefusedError` for a wrong password."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        box = load_stored(sealed_text)
        kek = _derive(password, bytes.fromhex(box["salt"]), int(box["t"]), int(box["m"]),
                      int(box["p"]))
        raw = AESGCM(kek).decrypt(bytes.fromhex(box["nonce"]), bytes.fromhex(box["sealed"]),
                                  user_id.encode("utf-8"))
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise SignatureRefusedError(f"the signing key of {user_id} cannot be unlocked with this "
                                    "password; ask an administrator to reset the password "
                                    "(which makes a new key).") from exc


def create_key(conn: Connection, user_id: str, password: str) -> UserKey:
    """Make, seal, certify and store a new key for ``user_id`` (inside a write transaction)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from doseprep.labkey import lab_key

    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw).hex()
    created_at = utc_text(utc_now())
    lab = lab_key()
    certificate = lab.sign(certificate_content(user_id, public, created_at)).hex()
    key_id = conn.execute(user_keys.insert().values(
        user_id=user_id, created_at=created_at, public_key=public,
        sealed_private_key=seal(raw, password, user_id), certified_by=lab.fingerprint,
        certificate=certificate).returning(user_keys.c.id)).scalar_one()
    return UserKey(key_id, user_id, created_at, public, lab.fingerprint, certificate)


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


def certificate_problem(key: UserKey, trusted: dict[str, Any]) -> str | None:
    """Why ``key``'s certificate is not acceptable here, or None."""
    from doseprep.labkey import check

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
