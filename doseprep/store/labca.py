"""The lab's certifying key: sealed under the administrators' passwords, never in clear (issue 25).

Before, the key that certified every user's signing key lay unencrypted in the data folder, so
anyone with the workstation's login could certify a key of their own for someone else and sign as
them. Now the lab key is an EC P-256 key pair made when the first administrator is created: its
self-signed X.509 certificate is in ``lab_keys`` (and pinned on each workstation that sees it,
``signing/lab/`` in the data directory), and its private key exists only sealed
(:mod:`doseprep.store.sealing`) — once under each administrator's password and once under the
**recovery code** printed at set-up. Certifying a user's key therefore needs an administrator's
password (or the recovery code) at that moment; nothing is ever certified at a sign-in.

A user's key is certified with an X.509 certificate the lab key issues (subject: the printed name
and the user id), kept in ``key_certificates``. The same certificate signs the worksheets the person
releases (PAdES), so ``doseprep verify`` can name them.

Which lab certificate a workstation trusts for a store: the ones given with ``--trust`` (then only
those), else the one it pinned for that store's identity (made here, or seen first here), or one in
``DOSEPREP_TRUSTED_CERTS``. A store whose lab certificate differs from the pinned one is reported.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.store.canonical import utc_now, utc_text
from doseprep.store.errors import PermissionDeniedError, SignatureRefusedError
from doseprep.store.keys import UserKey
from doseprep.store.schema import key_certificates, lab_key_seals, lab_keys, store_identity

log = logging.getLogger(__name__)

#: The holder of the seal the recovery code opens.
RECOVERY = ""
_VALIDITY = timedelta(days=365 * 25)


@dataclass(frozen=True)
class LabCertifier:
    """The lab key, unsealed for one transaction: never stored, never logged."""

    lab_key_id: int
    fingerprint: str
    certificate: Any  # cryptography x509.Certificate
    private_key: Any


class NoLabKeyError(PermissionDeniedError):
    """The store has no lab key yet (made before revision 0005)."""


def identity_of(conn: Connection) -> str:
    """The store's identity (revision 0005): what checkpoints and pinned keys are kept by."""
    return conn.execute(sa.select(store_identity.c.identity)
                        .where(store_identity.c.id == 1)).scalar_one()


def lab_key_row(conn: Connection) -> Any:
    """The store's lab key (its first; a store has one), or None."""
    return conn.execute(sa.select(lab_keys).order_by(lab_keys.c.id).limit(1)).first()


def _binding(fingerprint: str, holder: str) -> str:
    return f"doseprep lab key {fingerprint} held by {holder or '(the recovery code)'}"


def new_recovery_code() -> str:
    """32 letters and digits (160 bits) in groups of four, to be written down at set-up."""
    text = base64.b32encode(os.urandom(20)).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def normal_code(text: str) -> str:
    """A recovery code as typed: case, spaces and dashes do not matter."""
    return "".join(c for c in text.upper() if c.isalnum())


def _pem(certificate: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_certificate(pem: str) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode("ascii"))


def create_lab_key(conn: Connection, admin_id: str, admin_password: str,
                   identity: str) -> tuple[LabCertifier, str]:
    """Make the store's lab key, seal it for ``admin_id`` and under a new recovery code (both
    returned; show the code once). Inside the write transaction that creates the administrator
    or certifies the first key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from doseprep.signatures.installation_key import certificate_fingerprint

    if lab_key_row(conn) is not None:
        raise PermissionDeniedError("this record database has its lab key already.")
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"doseprep lab key {identity[:8]}"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "doseprep"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, identity),
    ])
    now = utc_now().replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(private.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private.public_key()),
                       critical=False)
        .sign(private, hashes.SHA256()))
    fingerprint = certificate_fingerprint(certificate)
    lab_key_id = conn.execute(lab_keys.insert().values(
        fingerprint=fingerprint, certificate=_pem(certificate), created_at=utc_text(utc_now()),
        created_by=admin_id).returning(lab_keys.c.id)).scalar_one()
    certifier = LabCertifier(lab_key_id, fingerprint, certificate, private)
    seal_for(conn, certifier, admin_id, admin_password)
    code = new_recovery_code()
    seal_for(conn, certifier, RECOVERY, normal_code(code))
    return certifier, code


def seal_for(conn: Connection, certifier: LabCertifier, holder: str, secret: str) -> None:
    """Seal the lab key under ``secret``: an administrator's password, or the recovery code
    (holder :data:`RECOVERY`)."""
    from cryptography.hazmat.primitives import serialization

    from doseprep.store.sealing import seal

    raw = certifier.private_key.private_bytes(serialization.Encoding.DER,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
    conn.execute(lab_key_seals.insert().values(
        lab_key_id=certifier.lab_key_id, holder=holder,
        sealed=seal(raw, secret, _binding(certifier.fingerprint, holder)),
        created_at=utc_text(utc_now())))


def unseal_lab_key(conn: Connection, holder: str, secret: str) -> LabCertifier:
    """The lab key opened with ``holder``'s password (or the recovery code), for this
    transaction. Refused when the store has none, the holder has no seal, or the secret is
    wrong."""
    from cryptography.hazmat.primitives import serialization

    from doseprep.store.sealing import unseal

    row = lab_key_row(conn)
    if row is None:
        raise NoLabKeyError("this record database has no lab key yet (it was made before "
                            "doseprep sealed it); an administrator makes it with doseprep "
                            "users certify --all --admin ID.")
    seal = conn.execute(sa.select(lab_key_seals.c.sealed).where(
        lab_key_seals.c.lab_key_id == row.id, lab_key_seals.c.holder == holder)
        .order_by(lab_key_seals.c.id.desc()).limit(1)).scalar()
    who = holder or "the recovery code"
    if seal is None:
        raise PermissionDeniedError(f"{who} holds no copy of the lab key; another "
                                    "administrator must do this.")
    what = f"the password of {holder}" if holder else "this recovery code"
    raw = unseal(seal, secret, _binding(row.fingerprint, holder),
                 f"the lab key cannot be opened with {what}; nothing was changed.")
    try:
        certificate = load_certificate(row.certificate)
        private = serialization.load_der_private_key(raw, password=None)
        matches = (private.public_key().public_numbers()
                   == certificate.public_key().public_numbers())
    except (ValueError, TypeError, AttributeError):
        matches = False
    if not matches:
        raise SignatureRefusedError("the sealed lab key does not belong to the lab's "
                                    "certificate (altered); nothing was changed.")
    return LabCertifier(row.id, row.fingerprint, certificate, private)


def certify(conn: Connection, certifier: LabCertifier, key: UserKey, printed_name: str,
            issued_by: str, now: datetime | None = None) -> str:
    """Issue and store the X.509 certificate of ``key`` (its user id and printed name); returns
    it (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.x509.oid import NameOID

    issued = (now or utc_now()).replace(microsecond=0)
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.public_key))
    ca_public = certifier.certificate.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, printed_name or key.user_id),
            x509.NameAttribute(NameOID.USER_ID, key.user_id),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "doseprep")]))
        .issuer_name(certifier.certificate.subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued)
        .not_valid_after(min(issued + _VALIDITY, certifier.certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public),
                       critical=False)
        .sign(certifier.private_key, hashes.SHA256()))
    pem = _pem(certificate)
    conn.execute(key_certificates.insert().values(
        key_id=key.key_id, lab_key_id=certifier.lab_key_id, certificate=pem,
        issued_at=utc_text(issued), issued_by=issued_by))
    return pem


def certificates_of(conn: Connection, key_id: int | None = None) -> dict[int, list[str]]:
    """Key id → the certificates issued for it (PEM), oldest first."""
    query = sa.select(key_certificates.c.key_id, key_certificates.c.certificate) \
        .order_by(key_certificates.c.id)
    if key_id is not None:
        query = query.where(key_certificates.c.key_id == key_id)
    out: dict[int, list[str]] = {}
    for row in conn.execute(query):
        out.setdefault(row.key_id, []).append(row.certificate)
    return out


def certificate_problem(pem: str, key: UserKey, lab_certificate: Any) -> tuple[str | None, str]:
    """Why ``pem`` is not a certificate of ``key`` by ``lab_certificate`` (None when it is), and
    the time from which it certifies the key (UTC text)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    try:
        certificate = load_certificate(pem)
        certificate.verify_directly_issued_by(lab_certificate)
    except (ValueError, TypeError, InvalidSignature):
        return "its certificate was not issued by the lab key (forged or altered).", ""
    raw = certificate.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw).hex()
    user_ids = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    if raw != key.public_key or [a.value for a in user_ids] != [key.user_id]:
        return "its certificate is for another key or person (altered).", ""
    return None, utc_text(certificate.not_valid_before_utc)


def valid_from(conn: Connection, key: UserKey, lab_certificate: Any) -> str | None:
    """From when the lab key certifies ``key`` (UTC text), or None when it does not."""
    times = []
    for pem in certificates_of(conn, key.key_id).get(key.key_id, ()):
        problem, since = certificate_problem(pem, key, lab_certificate)
        if problem is None:
            times.append(since)
    return min(times) if times else None


def key_certificate_pem(conn: Connection, key: UserKey, lab_certificate: Any) -> str | None:
    """The newest certificate of ``key`` the lab key issued (PEM), or None."""
    for pem in reversed(certificates_of(conn, key.key_id).get(key.key_id, ())):
        if certificate_problem(pem, key, lab_certificate)[0] is None:
            return pem
    return None


def trusted_lab_certificate(conn: Connection, trust: Sequence[Path] = ()
                            ) -> tuple[Any, str | None]:
    """The store's lab certificate if this computer trusts it, else None and why (see the module
    docstring). Pins it for the store's identity the first time this workstation sees it."""
    from doseprep.signatures.installation_key import certificate_fingerprint
    from doseprep.signatures.worksheets import (
        pin_lab_certificate,
        pinned_lab_certificate,
        read_certificates,
    )

    row = lab_key_row(conn)
    if row is None:
        return None, None
    try:
        certificate = load_certificate(row.certificate)
    except ValueError:
        return None, "the lab key's certificate cannot be read (altered)."
    fingerprint = certificate_fingerprint(certificate)
    if fingerprint != row.fingerprint:
        return None, "the lab key's certificate does not match its fingerprint (altered)."
    if trust:
        given = {certificate_fingerprint(c) for c in read_certificates(trust)}
        if fingerprint in given:
            return certificate, None
        return None, (f"the lab key of this database (certificate SHA-256 {fingerprint}) is "
                      "not among the certificates given with --trust.")
    identity = identity_of(conn)
    pinned = pinned_lab_certificate(identity)
    if pinned is not None:
        if certificate_fingerprint(pinned) == fingerprint:
            return certificate, None
        return None, (f"the lab key of this database (certificate SHA-256 {fingerprint}) is not "
                      f"the one this workstation knows for it "
                      f"({certificate_fingerprint(pinned)}): it was replaced.")
    env = os.environ.get("DOSEPREP_TRUSTED_CERTS", "")
    listed = {certificate_fingerprint(c) for c in read_certificates(
        [Path(p) for p in env.split(os.pathsep) if p], missing_ok=True)}
    if listed and fingerprint not in listed:
        return None, (f"the lab key of this database (certificate SHA-256 {fingerprint}) is "
                      "not among DOSEPREP_TRUSTED_CERTS.")
    pin_lab_certificate(identity, row.certificate)
    log.warning("first sight of the lab key of %s on this workstation: pinned %s", identity,
                fingerprint)
    return certificate, None


def certified_since(conn: Connection, key: UserKey) -> str | None:
    """From when this workstation accepts ``key`` as certified (UTC text), or None: a
    certificate by the store's trusted lab key, or — for a key made before the store's upgrade
    to revision 0005 — the installation's certificate of those days."""
    from doseprep.signatures.installation_key import workstation_keys
    from doseprep.store.keys import is_legacy, legacy_certificate_problem

    lab_certificate, _ = trusted_lab_certificate(conn)
    if lab_certificate is not None:
        since = valid_from(conn, key, lab_certificate)
        if since is not None:
            return since
    if is_legacy(key):
        upgraded = conn.execute(sa.select(store_identity.c.created_at)
                                .where(store_identity.c.id == 1)).scalar_one()
        if key.created_at < upgraded and legacy_certificate_problem(
                key, workstation_keys()) is None:
            return key.created_at
    return None


def require_certified(conn: Connection, key: UserKey) -> None:
    """Refuse a key no lab key certifies (a key made at a sign-in, or inserted)."""
    if certified_since(conn, key) is None:
        raise SignatureRefusedError(
            f"the signing key of {key.user_id} is not certified by the lab key, so it cannot "
            f"sign; an administrator certifies it: doseprep users certify {key.user_id} "
            "--admin ID.")
