"""Digital signatures on worksheet PDFs (PAdES) and checking them: ``doseprep verify``.

A worksheet that leaves doseprep as a file is signed, so an inspector can tell that the PDF in
front of them is byte for byte the one doseprep wrote, for which record, and who vouches for it:

- A **released** record's worksheet is signed by the person who released it, with their own key
  and the X.509 certificate the lab key issued for it (:mod:`doseprep.store.labca`); it needs
  their password at print time, so no one holding the workstation's files can make one.
- Everything else — a draft, a record not yet released, a worksheet of a request — is signed with
  the installation's key (made on first use in the data directory, ``signing/``; or the PKCS#12
  file in ``DOSEPREP_SIGNING_P12``), and ``doseprep verify`` reports it as a **draft**: that key is
  on the workstation, so a worksheet it signs that says RELEASED is refused (issue 25).

Verification trusts the certificates given on the command line — then only those — else the
installation certificate, the lab certificates this workstation has pinned (``signing/lab/``) and
any certificate files named in ``DOSEPREP_TRUSTED_CERTS`` (separated by the path separator). It
reports valid, draft or released, the signer and the record, or exactly why not. Any change to
the file after signing — an edited byte, an appended revision — fails it.
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
    #: Signed by an installation's key, not a person's: a draft, whatever the PDF says.
    draft: bool = True
    signer_user_id: str | None = None  # the person, when a person signed


def signing_dir() -> Path:
    return data_dir() / "signing"


def installation_certificate_path() -> Path:
    return signing_dir() / "installation-cert.pem"


def _lab_dir() -> Path:
    return signing_dir() / "lab"


def _pin_path(identity: str) -> Path:
    import hashlib

    return _lab_dir() / f"{hashlib.sha256(identity.encode('utf-8')).hexdigest()[:32]}.pem"


def pinned_lab_certificate(identity: str):
    """The lab certificate this workstation pinned for the store ``identity``, or None."""
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(_pin_path(identity).read_bytes())
    except (OSError, ValueError):
        return None


def pin_lab_certificate(identity: str, pem: str) -> None:
    """Remember the lab certificate of the store ``identity`` (made here or first seen here):
    from now on another one is reported, and ``doseprep verify`` trusts this one."""
    from doseprep.paths import write_private

    path = _pin_path(identity)
    if path.exists():
        return
    private_dir(path.parent)
    write_private(path, pem)


def read_certificates(paths, *, missing_ok: bool = False) -> list:
    """The X.509 certificates (PEM or DER) in ``paths``; a file that is missing or is not a
    certificate is an input error naming it (``--trust``, exit 2), or skipped with
    ``missing_ok`` (a list from the environment)."""
    from cryptography import x509

    out = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
            out.append(x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                       else x509.load_der_x509_certificate(data))
        except (OSError, ValueError) as exc:
            if missing_ok:
                log.warning("cannot read trusted certificate %s: %s", path, exc)
                continue
            reason = "does not exist" if isinstance(exc, FileNotFoundError) else \
                "is not a certificate (PEM or DER) or cannot be read"
            raise InputError("trust", f"{path} {reason}; give the certificate file the lab "
                                      "trusts.") from None
    return out


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

    from doseprep.signatures.pades import SigningMaterial

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


def sign_pdf(pdf: bytes, *, document_id: str, location: str, material=None) -> bytes:
    """Sign ``pdf`` (PAdES B-B) as the worksheet ``document_id`` (:mod:`doseprep.signatures.pades`;
    ``doseprep verify`` checks it with pyHanko): with ``material`` — a person's key and
    certificates — or else the installation's key (a draft)."""
    from doseprep.signatures.pades import sign

    return sign(pdf, material or _signing_material(), field_name=SIGNATURE_FIELD,
                reason=f"{REASON_PREFIX}{document_id}", location=location)


def _trusted_certificates(extra: list[Path]) -> list:
    """The trust roots of a verification: ``extra`` alone when given (``--trust`` restricts,
    issue 25), else this workstation's (see the module docstring)."""
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    if extra:
        found = read_certificates(extra)
    else:
        paths = [p for p in (installation_certificate_path(),) if p.is_file()]
        if _lab_dir().is_dir():
            paths += sorted(_lab_dir().glob("*.pem"))
        paths += [Path(p) for p in os.environ.get("DOSEPREP_TRUSTED_CERTS", "")
                  .split(os.pathsep) if p]
        found = read_certificates(paths, missing_ok=True)
    return [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in found]


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
        problems.append(f"the signer ({signer}) is not issued by the certificates given with "
                        "--trust" if trust else
                        f"the signer ({signer}) is not trusted on this computer; pass the lab "
                        "key's certificate (or the signer's) with --trust if you know it")
    person = _person(status.signing_cert)
    if person is None and (state or "").upper() == "RELEASED":
        problems.append("it says RELEASED but is signed by an installation's key, not by the "
                        "person who released it: a released worksheet is signed with that "
                        "person's own key (this one may have been re-signed)")
    return Verification(valid=not problems, signer=signer, document_id=document,
                        signed_at=status.signer_reported_dt, problems=tuple(problems),
                        signer_fingerprint=fingerprint, state=state, draft=person is None,
                        signer_user_id=person)


def _person(certificate) -> str | None:
    """The user id of a person's certificate issued by a lab key (not self-signed, with a user
    id), or None for an installation's or an organisation's certificate."""
    if certificate is None or certificate.self_issued:
        return None
    for rdn in certificate.subject.chosen:
        for attribute in rdn:
            if attribute["type"].native == "user_id":
                return str(attribute["value"].native)
    return None
