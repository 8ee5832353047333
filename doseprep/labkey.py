"""The lab's signing key, for what the record database cannot vouch for by itself (issue 10).

The key that signs worksheet PDFs (:mod:`doseprep.pdfsign`: the installation's own key, or the
lab's PKCS#12 file in ``DOSEPREP_SIGNING_P12``) also certifies each user's signing key and signs
the audit checkpoints written outside the database. Someone who can write to the database but does
not hold this key can therefore neither make a user key the checks accept nor a checkpoint.

Verification accepts signatures by any trusted certificate: the installation's own, the lab's
PKCS#12 certificate, and those named in ``DOSEPREP_TRUSTED_CERTS`` (one lab, several
workstations: share one PKCS#12 file, or list every workstation's certificate there).
Certificates are named by the SHA-256 of their DER encoding, as ``doseprep verify`` prints it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from doseprep.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabKey:
    """The private key that signs here, with its certificate's fingerprint."""

    private_key: Any  # a cryptography private key (EC or RSA)
    fingerprint: str  # SHA-256 of the certificate (DER), hex

    def sign(self, data: bytes) -> bytes:
        return _sign(self.private_key, data)


def _sign(key: Any, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise InputError("DOSEPREP_SIGNING_P12", "the lab's signing key is neither EC nor RSA; "
                                             "use an EC or RSA key.")


def certificate_fingerprint(certificate: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def _p12_path() -> Path | None:
    value = os.environ.get("DOSEPREP_SIGNING_P12", "").strip()
    return Path(value) if value else None


def _load_p12(path: Path) -> tuple[Any, Any]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    if not path.is_file():
        raise InputError("DOSEPREP_SIGNING_P12", f"the signing certificate {path} does not "
                                                 "exist; check the path in "
                                                 "DOSEPREP_SIGNING_P12.")
    passphrase = os.environ.get("DOSEPREP_SIGNING_P12_PASSPHRASE", "").encode() or None
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase)
    except (ValueError, TypeError, OSError):
        key = certificate = None
    if key is None or certificate is None:
        raise InputError("DOSEPREP_SIGNING_P12", f"the signing certificate {path} cannot be "
                                                 "opened: wrong passphrase "
                                                 "(DOSEPREP_SIGNING_P12_PASSPHRASE) or not a "
                                                 "PKCS#12 file.")
    return key, certificate


@cache
def _cached_key(source: str, stamp: float) -> LabKey:
    from cryptography import x509

    from doseprep.pdfsign import ensure_installation_key, load_installation_key

    p12 = _p12_path()
    if p12 is not None:
        key, certificate = _load_p12(p12)
    else:
        key_path, cert_path = ensure_installation_key()
        key = load_installation_key(key_path)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return LabKey(key, certificate_fingerprint(certificate))


def lab_key() -> LabKey:
    """The key that signs on this workstation (loaded once per process and source)."""
    from doseprep.pdfsign import installation_certificate_path

    p12 = _p12_path()
    source = str(p12) if p12 is not None else str(installation_certificate_path())
    try:
        stamp = Path(source).stat().st_mtime
    except OSError:
        stamp = 0.0
    return _cached_key(source, stamp)


def trusted_keys(extra: list[Path] | tuple[Path, ...] = ()) -> dict[str, Any]:
    """Fingerprint → public key of every certificate trusted here (see the module docstring)."""
    from cryptography import x509

    from doseprep.pdfsign import installation_certificate_path

    out: dict[str, Any] = {}
    paths = list(extra)
    own = installation_certificate_path()
    if own.is_file():
        paths.append(own)
    paths += [Path(p) for p in os.environ.get("DOSEPREP_TRUSTED_CERTS", "").split(os.pathsep)
              if p]
    for path in paths:
        try:
            data = path.read_bytes()
            certificate = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                           else x509.load_der_x509_certificate(data))
        except (OSError, ValueError) as exc:
            log.warning("cannot read trusted certificate %s: %s", path, exc)
            continue
        out[certificate_fingerprint(certificate)] = certificate.public_key()
    p12 = _p12_path()
    if p12 is not None and p12.is_file():
        try:
            key = _cached_key(str(p12), p12.stat().st_mtime)
            out[key.fingerprint] = key.private_key.public_key()
        except InputError as exc:
            log.warning("the lab's PKCS#12 file is not trusted: %s", exc)
    return out


def check(public_key: Any, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s signature of ``data``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
