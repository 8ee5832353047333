"""Digital signatures on worksheet PDFs (PAdES) and checking them: ``doseprep verify``.

A worksheet that leaves doseprep as a file is signed with the installation's key, so an inspector
can tell that the PDF in front of them is byte for byte the one doseprep wrote, for which record.
On first use a key pair and a self-signed certificate are made in the data directory
(``signing/``); a lab that has an organisation certificate points ``DOSEPREP_SIGNING_P12`` (and
``DOSEPREP_SIGNING_P12_PASSPHRASE``) at its PKCS#12 file instead. Verification trusts the
installation certificate, any certificate files named in ``DOSEPREP_TRUSTED_CERTS`` (separated by
the path separator) and any given on the command line, and reports valid, the signer and the
record, or exactly why not. Any change to the file after signing — an edited byte, an appended
revision — fails it.
"""

from __future__ import annotations

import io
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from doseprep.errors import InputError
from doseprep.paths import data_dir, private_dir

log = logging.getLogger(__name__)

SIGNATURE_FIELD = "doseprep"
REASON_PREFIX = "Preparation worksheet "


@dataclass(frozen=True)
class Verification:
    """What ``doseprep verify`` found in one PDF."""

    valid: bool
    signer: str | None = None
    document_id: str | None = None  # "PREP-…/v1": the record and version
    state: str | None = None  # the record's state when it was printed ("VERIFIED", ...)
    signed_at: datetime | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)
    signer_fingerprint: str | None = None  # SHA-256 of the signer's certificate (hex)


def signing_dir() -> Path:
    return data_dir() / "signing"


def installation_certificate_path() -> Path:
    return signing_dir() / "installation-cert.pem"


#: A passphrase that protects the installation key at rest (PKCS#8, AES-256): set it in the
#: environment of every doseprep process on the workstation (e.g. from the OS's credential store
#: at log-in), never in a file beside the key.
KEY_PASSPHRASE_ENV = "DOSEPREP_SIGNING_KEY_PASSPHRASE"


def key_passphrase() -> bytes | None:
    value = os.environ.get(KEY_PASSPHRASE_ENV, "")
    return value.encode("utf-8") if value else None


def load_installation_key(key_path: Path):
    """The installation's private key, opened with the passphrase when it is protected."""
    from cryptography.hazmat.primitives import serialization

    data = key_path.read_bytes()
    passphrase = key_passphrase()
    encrypted = b"ENCRYPTED" in data.split(b"\n", 1)[0]
    if encrypted and passphrase is None:
        raise InputError(KEY_PASSPHRASE_ENV, f"the installation signing key in {key_path.parent} "
                                             f"is protected by a passphrase; set "
                                             f"{KEY_PASSPHRASE_ENV}.")
    try:
        return serialization.load_pem_private_key(data, password=passphrase if encrypted
                                                  else None)
    except (ValueError, TypeError) as exc:
        raise InputError(KEY_PASSPHRASE_ENV, f"the installation signing key in "
                                             f"{key_path.parent} cannot be opened: wrong "
                                             f"passphrase ({KEY_PASSPHRASE_ENV}).") from exc


def ensure_installation_key() -> tuple[Path, Path]:
    """The installation's key and certificate, made on first use (protected by
    :data:`KEY_PASSPHRASE_ENV` when it is set)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = signing_dir()
    key_path, cert_path = folder / "installation-key.pem", installation_certificate_path()
    if key_path.is_file() and cert_path.is_file():
        return key_path, cert_path
    private_dir(folder)  # the signing key's folder: owner only
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"doseprep installation {socket.gethostname()}"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "doseprep"),
    ])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_tmp, cert_tmp = key_path.with_suffix(".tmp"), cert_path.with_suffix(".tmp")
    fd = os.open(key_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        passphrase = key_passphrase()
        handle.write(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase) if passphrase
            else serialization.NoEncryption()))
    cert_tmp.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.replace(key_tmp, key_path)
    os.replace(cert_tmp, cert_path)
    log.info("created the installation signing key in %s", folder)
    return key_path, cert_path


def _signing_material():
    """The key and certificate worksheets are signed with: the lab's PKCS#12 file when
    ``DOSEPREP_SIGNING_P12`` names one, else the installation key (made on first use)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    from doseprep.pades import SigningMaterial

    p12 = os.environ.get("DOSEPREP_SIGNING_P12")
    if p12:
        if not Path(p12).is_file():
            raise InputError("DOSEPREP_SIGNING_P12", f"the signing certificate {p12} does not "
                                                     "exist; check the path in "
                                                     "DOSEPREP_SIGNING_P12.")
        passphrase = os.environ.get("DOSEPREP_SIGNING_P12_PASSPHRASE", "").encode() or None
        try:
            key, certificate, chain = pkcs12.load_key_and_certificates(
                Path(p12).read_bytes(), passphrase)
        except (ValueError, TypeError, OSError):
            key = certificate = None
        if key is None or certificate is None:
            raise InputError("DOSEPREP_SIGNING_P12", f"the signing certificate {p12} cannot be "
                                                     "opened: wrong passphrase "
                                                     "(DOSEPREP_SIGNING_P12_PASSPHRASE) or not a "
                                                     "PKCS#12 file.")
        return SigningMaterial(key, certificate.public_bytes(Encoding.DER),
                               tuple(c.public_bytes(Encoding.DER) for c in chain))
    key_path, cert_path = ensure_installation_key()
    key = load_installation_key(key_path)  # a clear error for a missing or wrong passphrase
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise OSError(f"cannot load the installation signing certificate in "
                      f"{cert_path.parent}: {exc}") from exc
    return SigningMaterial(key, certificate.public_bytes(Encoding.DER))


def sign_pdf(pdf: bytes, *, document_id: str, location: str) -> bytes:
    """Sign ``pdf`` (PAdES B-B, SHA-256) as the worksheet ``document_id``
    (:mod:`doseprep.pades`; ``doseprep verify`` checks it with pyHanko)."""
    from doseprep.pades import sign

    return sign(pdf, _signing_material(), field_name=SIGNATURE_FIELD,
                reason=f"{REASON_PREFIX}{document_id}", location=location)


def _trusted_certificates(extra: list[Path]) -> list:
    from pyhanko.keys import load_cert_from_pemder

    paths = list(extra)
    own = installation_certificate_path()
    if own.is_file():
        paths.append(own)
    paths += [Path(p) for p in os.environ.get("DOSEPREP_TRUSTED_CERTS", "").split(os.pathsep)
              if p]
    certificates = []
    for path in paths:
        try:
            certificates.append(load_cert_from_pemder(str(path)))
        except (OSError, ValueError) as exc:
            log.warning("cannot read trusted certificate %s: %s", path, exc)
    return certificates


def _unsigned_gap_problem(data: bytes, byte_range) -> str | None:
    """Check the one part of the file a PDF signature cannot cover: its own /Contents.

    The signature's hex string is padded with zeros and, being excluded from the signed byte
    range, could be altered without the cryptography noticing. doseprep therefore insists that it
    is exactly the hex of a DER-encoded signature followed by zeros, in one letter case.
    """
    try:
        start, end = int(byte_range[1]), int(byte_range[2])
    except (TypeError, ValueError, IndexError):
        return "the signature has no usable byte range"
    raw = data[start:end]
    digits = raw[1:-1]
    if (raw[:1], raw[-1:]) != (b"<", b">") or not (digits.islower() or digits.isupper()
                                                   or digits.isdigit()):
        return "the signature field was changed after signing (not plain hex)"
    try:
        contents = bytes.fromhex(digits.decode("ascii"))
    except ValueError:
        return "the signature field was changed after signing (not plain hex)"
    if len(contents) < 2 or contents[0] != 0x30:
        return "the signature field does not hold a signature"
    length = contents[1]
    header = 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(contents[2:2 + count], "big")
        header += count
    if any(contents[header + length:]):
        return "the signature field was changed after signing (its padding is not blank)"
    return None


def verify_pdf(data: bytes, trust: list[Path] | None = None) -> Verification:
    """Check the doseprep signature of a PDF; never raises for a bad file."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        return Verification(False, problems=(f"not a readable PDF ({exc})",))
    ours = [s for s in signatures if s.field_name == SIGNATURE_FIELD]
    if not ours:
        return Verification(False, problems=("the PDF carries no doseprep signature",))
    embedded = ours[0]
    problems: list[str] = []
    reason = str(embedded.sig_object.get("/Reason", ""))
    document = reason[len(REASON_PREFIX):] if reason.startswith(REASON_PREFIX) else None
    state = None
    if document and " " in document:  # "PREP-…/v1 VERIFIED" since issue 9
        document, _, state = document.partition(" ")
    context = ValidationContext(trust_roots=_trusted_certificates(trust or []),
                                allow_fetching=False)
    try:
        status = validate_pdf_signature(embedded, signer_validation_context=context)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        return Verification(False, document_id=document, state=state,
                            problems=(f"the signature cannot be checked ({exc})",))
    signer = status.signing_cert.subject.human_friendly if status.signing_cert else None
    fingerprint = (status.signing_cert.sha256.hex() if status.signing_cert is not None
                   else None)
    if not status.intact:
        problems.append("the content was changed after signing (the digest does not match)")
    if not status.valid:
        problems.append("the signature value is not valid for this content")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append("the file was changed after signing: the signature does not cover "
                        "the whole file")
    gap = _unsigned_gap_problem(data, embedded.sig_object.get("/ByteRange"))
    if gap:
        problems.append(gap)
    if not status.trusted:
        problems.append(f"the signer ({signer}) is not trusted on this computer; pass the "
                        "signer's certificate with --trust if you know it")
    return Verification(valid=not problems, signer=signer, document_id=document,
                        signed_at=status.signer_reported_dt, problems=tuple(problems),
                        signer_fingerprint=fingerprint, state=state)
