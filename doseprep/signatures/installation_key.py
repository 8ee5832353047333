"""The workstation's own signing key: drafts and the checkpoints it writes (issues 10 and 25).

The key that signs draft worksheets (:mod:`doseprep.signatures.worksheets`: the installation's
own key, or the PKCS#12 file in ``DOSEPREP_SIGNING_P12``) also signs the audit checkpoints this
workstation writes outside the database. It lies on the workstation, so it vouches for nothing
a person must vouch for: since revision 0005 it certifies no one's key (the lab key does that,
sealed under the administrators' passwords: :mod:`doseprep.store.labca`), and a worksheet it
signs is a draft.
Keys it certified before revision 0005 are checked against it (:func:`workstation_keys`) and count
only for what was signed before the store's upgrade.

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
class WorkstationKey:
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
def _cached_key(source: str, stamp: float) -> WorkstationKey:
    from cryptography import x509

    from doseprep.signatures.worksheets import ensure_installation_key, load_installation_key

    p12 = _p12_path()
    if p12 is not None:
        key, certificate = _load_p12(p12)
    else:
        key_path, cert_path = ensure_installation_key()
        key = load_installation_key(key_path)
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return WorkstationKey(key, certificate_fingerprint(certificate))


def workstation_key() -> WorkstationKey:
    """The key that signs on this workstation (loaded once per process and source)."""
    from doseprep.signatures.worksheets import installation_certificate_path

    p12 = _p12_path()
    source = str(p12) if p12 is not None else str(installation_certificate_path())
    try:
        stamp = Path(source).stat().st_mtime
    except OSError:
        stamp = 0.0
    return _cached_key(source, stamp)


def workstation_keys(restrict: list[Path] | tuple[Path, ...] = ()) -> dict[str, Any]:
    """Fingerprint → public key of the workstation certificates trusted here: those in
    ``restrict`` alone when given (``--trust``), else this installation's own, those named in
    ``DOSEPREP_TRUSTED_CERTS`` and the PKCS#12 file's."""
    from doseprep.signatures.worksheets import installation_certificate_path, read_certificates

    out: dict[str, Any] = {}
    if restrict:
        for certificate in read_certificates(restrict):
            out[certificate_fingerprint(certificate)] = certificate.public_key()
        return out
    own = installation_certificate_path()
    paths = [own] if own.is_file() else []
    paths += [Path(p) for p in os.environ.get("DOSEPREP_TRUSTED_CERTS", "").split(os.pathsep)
              if p]
    for certificate in read_certificates(paths, missing_ok=True):
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
