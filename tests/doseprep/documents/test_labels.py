"""The bag label read back: rendered, scanned with a real decoder, compared byte for byte."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from doseprep.documents.labels import STATEMENTS, render_labels
from doseprep.documents.zpl import render_zpl
from doseprep.isbt128 import parse_structure
from tests.conftest import load_case
from tests.doseprep.documents.conftest import (
    VALID_CASES,
    VERIFIED,
    case_plan,
    decode_barcodes,
    page_texts,
    plan_for,
)

V01_BARCODES = {"=G12341765432100", "=<S1234200", "&>0263271400", "=%6200"}


def test_v01_label_scans_to_exactly_the_isbt_128_structures() -> None:
    p = case_plan(VALID_CASES[0], abo_rh="A POS")
    (page,) = decode_barcodes(render_labels(p, VERIFIED))
    assert sorted(page) == sorted(V01_BARCODES)


@pytest.mark.parametrize("path", VALID_CASES, ids=lambda p: p.stem)
def test_every_case_scans_back_and_prints_what_it_scans(path: Path) -> None:
    p = case_plan(path, abo_rh="O NEG")
    pdf = render_labels(p, VERIFIED)
    (codes,) = decode_barcodes(pdf)
    (text,) = page_texts(pdf)
    scanned = {type(parse_structure(code)).__name__: code for code in codes}
    assert scanned["DinScan"] == "=G12341765432100"
    assert scanned["AboRhScan"] == "=%9500"
    assert "G1234 17 654321" in text
    assert "O Rh NEG" in text
    if p.blocked:
        # A label that must not be used must not scan as a product.
        assert set(scanned) == {"DinScan", "AboRhScan"}
        assert "NO BARCODE" in text
    else:
        assert scanned["ProductCodeScan"] == "=<S1234200"
        expiry = parse_structure(scanned["ExpirationScan"])
        assert expiry.to_naive_datetime() == p.expires_at.replace(tzinfo=None)
        for printed in (scanned["ProductCodeScan"], scanned["ExpirationScan"]):
            assert printed in text


def test_label_carries_recipient_product_and_statements() -> None:
    p = case_plan(VALID_CASES[0])
    (text,) = page_texts(render_labels(p, VERIFIED))
    for value in ("DOE, JANE", "MRN-000123", "1980-02-29", "T CELLS, APHERESIS", "Volume 50.0 mL",
                  "7.06 × 10⁷ viable CD3+ cells", "1.01 × 10⁶ CD3+ cells/kg",
                  "23 NOV 2026 14:00 PST", "Collected", "22 NOV 2026 08:30 PST",
                  "Store at", "Cell Therapy Laboratory", "Example Medical Center",
                  "investigational use", "NOT FOR CLINICAL USE", "ABO/Rh not given"):
        assert value in text, value
    for statement in STATEMENTS:
        assert statement in text, statement


def test_label_is_100_mm_square() -> None:
    import io

    import pypdf

    box = pypdf.PdfReader(io.BytesIO(render_labels(case_plan(VALID_CASES[0])))).pages[0].mediabox
    assert round(float(box.width) / 72 * 25.4) == 100
    assert round(float(box.height) / 72 * 25.4) == 100


def test_approved_label_has_no_watermark(approved_protocol: Path) -> None:
    p = plan_for(load_case("v01-basic-dl3")["request"], approved_protocol)
    (text,) = page_texts(render_labels(p, VERIFIED))
    assert "NOT FOR CLINICAL USE" not in text and "DRAFT" not in text
    assert "PREP-2026-000001/v1 · VERIFIED" in text
    (codes,) = decode_barcodes(render_labels(p, VERIFIED))
    assert len(codes) == 3  # no ABO/Rh given


@pytest.mark.parametrize("state", [None, "draft", "prepared"])
def test_a_label_from_a_form_or_an_unverified_record_never_scans_as_a_product(
        approved_protocol, state: str | None) -> None:
    """Issue 9: with an approved protocol, an unsaved, unsigned form made a clean label."""
    from dataclasses import replace

    p = plan_for(load_case("v01-basic-dl3")["request"], approved_protocol)
    record = None if state is None else replace(VERIFIED, state=state)
    pdf = render_labels(p, record)
    (codes,) = decode_barcodes(pdf)
    scanned = {type(parse_structure(code)).__name__ for code in codes}
    assert scanned == {"DinScan"}, codes  # no product code, no expiry
    (text,) = page_texts(pdf)
    assert "DRAFT — NOT FOR USE" in text and "NO BARCODE" in text
    assert ("FORM — not saved" if state is None else state.upper()) in text
    zpl = render_zpl(p, record)
    assert len(re.findall(r"\^BCN", zpl)) == 1


@pytest.mark.parametrize("path", VALID_CASES, ids=lambda p: p.stem)
def test_zpl_barcodes_carry_the_same_structures(path: Path) -> None:
    p = case_plan(path, abo_rh="A POS")
    zpl = render_zpl(p, VERIFIED)
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    fields = re.findall(r"\^BCN,\d+,N,N,N,A\^FD([^\^]*)\^FS", zpl)
    (pdf_codes,) = decode_barcodes(render_labels(p, VERIFIED))
    assert sorted(fields) == sorted(pdf_codes)
    assert "^PW799" in zpl  # 100 mm at 203 dpi
    assert "DOE, JANE" in zpl


def test_zpl_escapes_control_characters() -> None:
    data = load_case("v01-basic-dl3")["request"]
    data["patient"]["name"] = "O^BRIEN~X_Y"
    zpl = render_zpl(plan_for(data))
    assert "O_5EBRIEN_7EX_5FY" in zpl


def test_labels_command_writes_pdf_and_zpl(tmp_path: Path) -> None:
    request = tmp_path / "r.json"
    request.write_text(json.dumps(load_case("v02-weight-in-pounds")["request"]), encoding="utf-8")
    pdf, zpl = tmp_path / "l.pdf", tmp_path / "l.zpl"
    done = subprocess.run([sys.executable, "-m", "doseprep", "labels", str(request), "-o",
                           str(pdf), "--zpl", str(zpl), "--dpi", "300"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "=G12341765432100" in decode_barcodes(pdf.read_bytes())[0]
    assert "^PW1181" in zpl.read_text(encoding="utf-8")


def test_a_long_name_never_pushes_the_mrn_or_date_of_birth_off_the_label() -> None:
    """Issue 9: a long patient name shrank the recipient line to 4 pt and cut MRN and DOB."""
    import io

    import pypdf

    data = load_case("v01-basic-dl3")["request"]
    data["patient"]["name"] = "VANDERBILT-MONTGOMERY-FITZWILLIAM, MARIA-ALEJANDRA CONCEPCIÓN"
    pdf = render_labels(plan_for(data), VERIFIED)
    (text,) = page_texts(pdf)
    assert "MRN MRN-000123" in text and "DOB 1980-02-29" in text
    sizes: list[float] = []

    def visitor(text_run, cm, tm, font_dict, font_size):  # the size each run is drawn at
        if text_run.strip() and ("VANDERBILT" in text_run or "MRN-000123" in text_run):
            sizes.append(font_size * tm[0])

    pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visitor)
    assert sizes and min(sizes) >= 6 - 1e-6, sizes
    zpl = render_zpl(plan_for(data), VERIFIED)
    assert "MRN MRN-000123   DOB 1980-02-29" in zpl
