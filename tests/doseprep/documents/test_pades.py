"""doseprep's own PAdES signer (doseprep/signatures/pades.py), held to the standard by pyHanko's
validator: an ETSI.CAdES.detached SignedData with the ESS signing-certificate-v2 attribute and no
signing-time, over the whole file but /Contents; RSA (an organisation's chain) and ECDSA keys,
a person's Ed25519 key certified by a lab key (issue 25: SHA-512, RFC 8419), another kind of key
refused by name; and what it refuses to append to. Signing a worksheet never
imports pyHanko or aiohttp (issue 13: they were 200 ms of every worksheet)."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from doseprep.documents.worksheet import render_worksheet
from doseprep.signatures.pades import PdfStructureError, SigningMaterial, sign
from tests.doseprep.documents.conftest import VALID_CASES, case_plan

ROOT = Path(__file__).resolve().parents[3]


def _certificate(key, name: str, issuer_key=None, issuer_name: str | None = None, *,
                 ca: bool = False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
    from cryptography.x509.oid import NameOID

    def subject(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = datetime.now(UTC)
    signer = issuer_key or key
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) \
        else hashes.SHA256()
    return (x509.CertificateBuilder().subject_name(subject(name))
            .issuer_name(subject(issuer_name or name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=ca, crl_sign=False,
                                         encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(signer, algorithm))


def _der(certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return certificate.public_bytes(Encoding.DER)


@pytest.fixture(scope="module")
def worksheet() -> bytes:
    return render_worksheet(case_plan(VALID_CASES[0]))


def _validate(pdf: bytes, *roots):
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    [embedded] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(_der(c)) for c in roots],
                                allow_fetching=False)
    status = validate_pdf_signature(embedded, signer_validation_context=context)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    return embedded, status


def test_an_ecdsa_signature_is_pades_baseline_b(worksheet: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(key, "doseprep installation test")
    moment = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    pdf = sign(worksheet, SigningMaterial(key, _der(certificate)), field_name="doseprep",
               reason="Preparation worksheet PREP-2026-000001/v1 RELEASED — ok",
               location="Cell Therapy Laboratory", moment=moment)
    assert pdf.startswith(worksheet)  # an incremental update: the original bytes unchanged
    embedded, status = _validate(pdf, certificate)
    assert embedded.field_name == "doseprep"
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert str(embedded.sig_object["/Reason"]).endswith("RELEASED — ok")
    assert status.signer_reported_dt == moment
    attributes = {a["type"].native for a in embedded.signer_info["signed_attrs"]}
    assert attributes == {"content_type", "message_digest", "signing_certificate_v2"}
    assert embedded.signer_info["digest_algorithm"]["algorithm"].native == "sha256"


def test_an_organisations_rsa_key_with_its_chain(worksheet: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _certificate(root_key, "Example Hospital Root CA", ca=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = _certificate(key, "Example Hospital Cell Lab", root_key,
                               "Example Hospital Root CA")
    pdf = sign(worksheet, SigningMaterial(key, _der(certificate), (_der(root),)),
               field_name="doseprep", reason="Preparation worksheet X", location="Lab")
    _, status = _validate(pdf, root)  # trusted through the embedded chain
    assert status.signing_cert.subject.human_friendly == "Common Name: Example Hospital Cell Lab"


def test_a_persons_ed25519_key_certified_by_a_lab_key(worksheet: bytes) -> None:
    """Issue 25: a released worksheet is signed with the releaser's own Ed25519 key; PAdES with
    Ed25519 digests with SHA-512 (RFC 8419), and pyHanko validates it through the lab's EC
    certificate."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    lab_key = ec.generate_private_key(ec.SECP256R1())
    lab = _certificate(lab_key, "doseprep lab key", ca=True)
    key = ed25519.Ed25519PrivateKey.generate()
    person = _certificate(key, "SUPERVISOR, SUE", lab_key, "doseprep lab key")
    pdf = sign(worksheet, SigningMaterial(key, _der(person), (_der(lab),)),
               field_name="doseprep", reason="Preparation worksheet X RELEASED", location="Lab")
    embedded, status = _validate(pdf, lab)
    assert embedded.signer_info["digest_algorithm"]["algorithm"].native == "sha512"
    assert embedded.signer_info["signature_algorithm"]["algorithm"].native == "ed25519"
    assert status.signing_cert.subject.human_friendly == "Common Name: SUPERVISOR, SUE"


def test_a_key_it_cannot_sign_with_is_refused_by_name(worksheet: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed448

    key = ed448.Ed448PrivateKey.generate()  # no lab key or person has one
    with pytest.raises(PdfStructureError, match="Ed448PrivateKey cannot sign a worksheet"):
        sign(worksheet, SigningMaterial(key, _der(_certificate(key, "Ed448 signer"))),
             field_name="doseprep", reason="r", location="l")


def test_what_it_will_not_append_to(worksheet: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    material = SigningMaterial(key, _der(_certificate(key, "x")))
    once = sign(worksheet, material, field_name="doseprep", reason="r", location="l")
    for pdf, why in ((once, "already has a form"), (worksheet[:-200], "no startxref"),
                     (b"%PDF-1.7\n" + b"0" * 2000 + b"\nstartxref\n9\n%%EOF\n",
                      "not a classic table")):
        with pytest.raises(PdfStructureError, match=why):
            sign(pdf, material, field_name="doseprep", reason="r", location="l")


def test_signing_a_worksheet_imports_neither_pyhanko_nor_aiohttp(tmp_path: Path) -> None:
    code = ("import json, sys\n"
            "from doseprep import workflow\n"
            "from doseprep.documents.worksheet import render_worksheet\n"
            "from doseprep.signatures.worksheets import sign_pdf\n"
            f"plan = workflow.compute_plan(json.load(open({str(ROOT / 'resources' / 'examples' / 'request-dl3.json')!r})))\n"  # noqa: E501
            "sign_pdf(render_worksheet(plan), document_id='X', location='Lab')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyhanko', 'aiohttp'}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"DOSEPREP_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
