"""Sealing a secret under a password: Argon2id derives the key, AES-256-GCM seals.

Used for each user's private signing key (:mod:`doseprep.store.keys`: bound to the user id) and
for the lab's certifying key (:mod:`doseprep.store.labca`: sealed once per administrator and once
under the recovery code, each bound to the lab key's fingerprint and its holder). The stored text
is canonical JSON holding the Argon2id parameters in force when it was sealed, the salt, the nonce
and the ciphertext; the password hash of an account does not open it.
"""

from __future__ import annotations

import os

from doseprep.jsonread import load_stored
from doseprep.store.canonical import canonical_json
from doseprep.store.errors import SignatureRefusedError


def _derive(password: str, salt: bytes, time_cost: int, memory_cost: int,
            parallelism: int) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(password.encode("utf-8"), salt, time_cost=time_cost,
                           memory_cost=memory_cost, parallelism=parallelism, hash_len=32,
                           type=Type.ID)


def seal(secret: bytes, password: str, binding: str) -> str:
    """``secret`` sealed by ``password``; ``binding`` (a user id, or the lab key and its holder)
    must be given again to open it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from doseprep.store.hashing import HASH_PROFILES, hash_profile

    time_cost, memory_cost, parallelism = HASH_PROFILES[hash_profile()]
    salt, nonce = os.urandom(16), os.urandom(12)
    kek = _derive(password, salt, time_cost, memory_cost, parallelism)
    sealed = AESGCM(kek).encrypt(nonce, secret, binding.encode("utf-8"))
    return canonical_json({"kdf": "argon2id", "t": time_cost, "m": memory_cost,
                           "p": parallelism, "salt": salt.hex(), "nonce": nonce.hex(),
                           "sealed": sealed.hex(), "aead": "aes-256-gcm"})


def unseal(sealed_text: str, password: str, binding: str, refused: str) -> bytes:
    """The secret, or :class:`SignatureRefusedError` saying ``refused`` for a wrong password,
    another binding or an altered box."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        box = load_stored(sealed_text)
        if int(box["m"]) < 8 or int(box["t"]) < 1:
            raise ValueError("not Argon2id parameters")
        kek = _derive(password, bytes.fromhex(box["salt"]), int(box["t"]), int(box["m"]),
                      int(box["p"]))
        return AESGCM(kek).decrypt(bytes.fromhex(box["nonce"]), bytes.fromhex(box["sealed"]),
                                   binding.encode("utf-8"))
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise SignatureRefusedError(refused) from exc
