"""Signed worksheets: valid as written, and any edit to the file fails `doseprep verify`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseprep.documents.style import document_id
from doseprep.documents.worksheet import render_worksheet
from doseprep.signatures.worksheets import installation_certificate_path, sign_pdf, verify_pdf
from tests.doseprep.documents.conftest import VALID_CASES, case_plan


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    """One signed worksheet and the installation certificate that signed it."""
    import os

    folder = tmp_path_factory.mktemp("signer")
    old = os.environ.get("DOSEPREP_DATA_DIR")
    os.environ["DOSEPREP_DATA_DIR"] = str(folder)
    try:
        p = case_plan(VALID_CASES[0])
        pdf = sign_pdf(render_worksheet(p), document_id=document_id(p, None), location="Lab")
        return pdf, installation_certificate_path()
    finally:
        if old is None:
            os.environ.pop("DOSEPREP_DATA_DIR")
        else:
            os.environ["DOSEPREP_DATA_DIR"] = old


def test_signed_worksheet_is_valid(signed: tuple[bytes, Path]) -> None:
    pdf, cert = signed
    result = verify_pdf(pdf, [cert])
    assert result.valid, result.problems
    assert result.document_id.startswith("UNSAVED-")
    assert "doseprep installation" in result.signer
    assert abs(result.signed_at - datetime.now(UTC)) < timedelta(minutes=10)


def test_unknown_signer_is_not_trusted(signed: tuple[bytes, Path]) -> None:
    result = verify_pdf(signed[0])  # this test's data directory has another installation
    assert not result.valid
    assert any("not trusted" in p for p in result.problems)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_changed_byte_fails(signed: tuple[bytes, Path], data: st.DataObject) -> None:
    pdf, cert = signed
    position = data.draw(st.integers(0, len(pdf) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda b: b != pdf[position]), label="byte")
    changed = bytearray(pdf)
    changed[position] = value
    assert not verify_pdf(bytes(changed), [cert]).valid


def test_changes_inside_the_signature_padding_fail(signed: tuple[bytes, Path]) -> None:
    """The /Contents hex string is outside the signed byte range; doseprep checks it itself."""
    pdf, cert = signed
    match = re.search(rb"/Contents <([0-9a-fA-F]+)>", pdf)
    start, end = match.span(1)
    for position, value in ((end - 1, ord("1")), (end - 40, ord("f")), (start, ord("A")),
                            (start + 3, ord(" "))):
        changed = bytearray(pdf)
        changed[position] = value
        if bytes(changed) != pdf:
            assert not verify_pdf(bytes(changed), [cert]).valid, position


def test_appended_revision_and_truncation_fail(signed: tuple[bytes, Path]) -> None:
    pdf, cert = signed
    assert not verify_pdf(pdf + b"\n% appended\n", [cert]).valid
    assert not verify_pdf(pdf[:-100], [cert]).valid
    assert not verify_pdf(b"not a pdf at all", [cert]).valid


def test_unsigned_pdf_is_reported() -> None:
    result = verify_pdf(render_worksheet(case_plan(VALID_CASES[0])))
    assert not result.valid
    assert result.problems == ("the PDF carries no doseprep signature",)


def test_organisation_pkcs12(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Hospital Cell Lab")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    p12 = tmp_path / "org.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"org", key, cert, None, serialization.BestAvailableEncryption(b"s3cret")))
    pem = tmp_path / "org.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("DOSEPREP_SIGNING_P12", str(p12))
    monkeypatch.setenv("DOSEPREP_SIGNING_P12_PASSPHRASE", "s3cret")
    p = case_plan(VALID_CASES[0])
    pdf = sign_pdf(render_worksheet(p), document_id="PREP-1-v1", location="Lab")
    result = verify_pdf(pdf, [pem])
    assert result.valid, result.problems
    assert result.signer == "Common Name: Example Hospital Cell Lab"
    assert result.document_id == "PREP-1-v1"


def test_worksheet_and_verify_commands(tmp_path: Path) -> None:
    request = tmp_path / "r.json"
    request.write_text(json.dumps(json.loads(VALID_CASES[0].read_text())["request"]),
                       encoding="utf-8")
    out = tmp_path / "w.pdf"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "doseprep", *args], capture_output=True,
                              text=True, timeout=60)

    assert run("worksheet", str(request), "-o", str(out)).returncode == 0
    done = run("verify", str(out))
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("VALID")
    original = out.read_bytes()
    edited = original.replace(b"worksheet UNSAVED", b"worksheet EDITED-", 1)
    assert edited != original
    out.write_bytes(edited)
    done = run("verify", str(out), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["valid"] is False
    assert "Traceback" not in done.stderr


def test_the_installation_key_can_be_protected_by_a_passphrase(tmp_path: Path) -> None:
    """Issue 10: the installation key was an unencrypted PEM, so anyone who could read the data
    folder could sign an edited worksheet. With DOSEPREP_SIGNING_KEY_PASSPHRASE set it is stored
    encrypted; without the passphrase, or with a wrong one, nothing is signed and the setting is
    named (exit 2)."""
    import os

    request = tmp_path / "r.json"
    request.write_text(json.dumps(json.loads(VALID_CASES[0].read_text())["request"]),
                       encoding="utf-8")
    data = tmp_path / "data"

    def run(*args: str, passphrase: str | None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOSEPREP_DATA_DIR": str(data)}
        env.pop("DOSEPREP_SIGNING_KEY_PASSPHRASE", None)
        if passphrase is not None:
            env["DOSEPREP_SIGNING_KEY_PASSPHRASE"] = passphrase
        return subprocess.run([sys.executable, "-m", "doseprep", *args], capture_output=True,
                              text=True, timeout=60, env=env)

    out = tmp_path / "w.pdf"
    done = run("worksheet", str(request), "-o", str(out), passphrase="a long lab passphrase")
    assert done.returncode == 0, done.stderr
    key = (data / "signing" / "installation-key.pem").read_bytes()
    assert key.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert run("verify", str(out), passphrase=None).stdout.startswith("VALID")
    for passphrase in (None, "wrong"):
        again = tmp_path / f"again-{passphrase}.pdf"
        refused = run("worksheet", str(request), "-o", str(again), passphrase=passphrase)
        assert refused.returncode == 2, refused.stderr
        assert "DOSEPREP_SIGNING_KEY_PASSPHRASE" in refused.stderr
        assert "Traceback" not in refused.stderr and not again.exists()
