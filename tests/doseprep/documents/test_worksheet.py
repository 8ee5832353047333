"""The worksheet read back: every number of the plan, ids on every page, the watermark."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from doseprep.documents.style import WATERMARK_TEXT
from doseprep.documents.worksheet import render_worksheet
from doseprep.manifest import RecordInfo, SignatureManifest
from doseprep.plans.fresh import instruction, not_for_clinical_use
from doseprep.units import fixed, fmt_cells, fmt_concentration, fmt_dose, fmt_volume
from doseprep.units.instants import show
from tests.conftest import REFERENCE_DIR, load_case
from tests.doseprep.documents.conftest import (
    VALID_CASES,
    VERIFIED,
    case_plan,
    page_texts,
    plan_for,
)


def plan_numbers(p) -> list[str]:
    """Every number of the plan as the worksheet must show it."""
    numbers = [fmt_concentration(p.viable_cd3_concentration, digits=4),
               fmt_cells(p.total_viable_cd3, digits=4), fmt_cells(p.target_cells, digits=4),
               fmt_dose(p.target_dose), f"{fixed(p.exact_volume.magnitude, 4)} mL",
               fmt_volume(p.product_volume), f"{fixed(p.dosing_weight.magnitude, 2)} kg"]
    if p.insufficient:
        return [*numbers, fmt_dose(p.max_achievable_dose)]
    return [*numbers, fmt_volume(p.withdraw_volume), f"{p.syringe.capacity.magnitude:g} mL syringe",
            fmt_volume(p.diluent_volume), fmt_volume(p.final_volume),
            fmt_cells(p.delivered_cells, digits=4), fmt_dose(p.delivered_dose, digits=4),
            f"{fixed(p.deviation_percent, 2)} %", fmt_volume(p.remaining_product),
            fmt_concentration(p.final_concentration, digits=4),
            show(p.expires_at, p.lab.time_zone)]


@pytest.mark.parametrize("path", VALID_CASES, ids=lambda p: p.stem)
@pytest.mark.parametrize("size", ["letter", "a4"])
def test_worksheet_carries_every_number(path: Path, size: str) -> None:
    p = case_plan(path)
    pdf = render_worksheet(p, page_size=size)
    pages = page_texts(pdf)
    text = " ".join(pages)
    for number in plan_numbers(p):
        assert number in text, number
    for step in p.steps:
        assert step.result in text, step.name
    for finding in p.findings:
        assert finding.code in text
    r = p.request
    for value in (r.patient.name, r.patient.id, r.patient.birth_date.isoformat(),
                  "G1234 17 654321", r.product.wbc.text, p.protocol.version,
                  p.protocol.fingerprint[:16], r.order.dose_level):
        assert value in text, value
    assert " ".join(instruction(p).split()) in text
    for meaning in ("Prepared by", "Verified by", "Released by"):
        assert meaning in text
    worksheet_id = pages[0].split("Worksheet ")[1].split()[0]
    for number, page in enumerate(pages, 1):
        assert f"Page {number} of {len(pages)}" in page
        assert worksheet_id in page
    box = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (
        (612, 792) if size == "letter" else (595, 842))


def test_unapproved_protocol_watermarks_every_page() -> None:
    p = case_plan(VALID_CASES[0])
    assert not_for_clinical_use(p)
    for page in page_texts(render_worksheet(p, record=VERIFIED)):
        assert WATERMARK_TEXT in page
    assert "not approved for clinical use" in page_texts(render_worksheet(p))[0]


@pytest.mark.parametrize("state", [None, "draft", "prepared"])
def test_a_worksheet_from_a_form_or_an_unverified_record_is_a_draft(state) -> None:
    from dataclasses import replace

    p = case_plan(VALID_CASES[0])
    record = None if state is None else replace(VERIFIED, state=state)
    pages = page_texts(render_worksheet(p, record=record))
    for page in pages:
        assert "DRAFT — NOT FOR USE" in page
    assert ("FORM — not saved" if state is None else state.upper()) in pages[0]
    verified = page_texts(render_worksheet(p, record=VERIFIED))
    assert not any("DRAFT" in page for page in verified)
    assert "VERIFIED" in verified[0]


def test_approved_ok_plan_has_no_watermark(approved_protocol: Path) -> None:
    p = plan_for(load_case("v01-basic-dl3")["request"], approved_protocol)
    assert not not_for_clinical_use(p)
    for page in page_texts(render_worksheet(p)):
        assert WATERMARK_TEXT not in page


def test_blocked_plan_says_why_even_when_approved(approved_protocol: Path) -> None:
    p = plan_for(load_case("v06-low-viability-blocks")["request"], approved_protocol)
    first = page_texts(render_worksheet(p))[0]
    assert WATERMARK_TEXT in first
    assert "LOW_VIABILITY" in first
    assert "DO NOT PREPARE" in first


def test_signatures_and_reprint_are_printed() -> None:
    p = case_plan(VALID_CASES[0])
    signed = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
    record = RecordInfo(
        record_id="PREP-2026-000042", version=2, state="verified", record_hash="ab" * 32,
        signatures=(SignatureManifest("Prepared by", "Ann Tech", "atech", signed, "cd" * 32),
                    SignatureManifest("Verified by", "Sam Super", "ssuper", signed, "ef" * 32)),
        reprint_at=datetime(2026, 11, 23, 11, 0, tzinfo=UTC), supersedes="PREP-2026-000042/v1",
        correction_reason="Weight re-measured")
    text = " ".join(page_texts(render_worksheet(p, record=record)))
    for value in ("PREP-2026-000042/v2", "Ann Tech (atech)", "Sam Super (ssuper)",
                  # Signatures in the site zone with UTC beside; the reprint in the site zone.
                  "23 NOV 2026 02:05 PST (10:05 UTC)", "REPRINT 23 NOV 2026 03:00 PST", "ab" * 32,
                  "Weight re-measured", "VERIFIED"):
        assert value in text, value


def test_worksheet_command(tmp_path: Path) -> None:
    request = tmp_path / "r.json"
    request.write_text(json.dumps(load_case("v03-tiny-volume-needs-1-in-10-dilution")["request"]),
                       encoding="utf-8")
    out = tmp_path / "w.pdf"
    done = subprocess.run([sys.executable, "-m", "doseprep", "worksheet", str(request), "-o",
                           str(out), "--page-size", "a4"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "NOT FOR CLINICAL USE" in done.stderr
    assert "Dilute 1 in 10" in " ".join(page_texts(out.read_bytes()))


def test_worksheet_command_reports_bad_input(tmp_path: Path) -> None:
    request = tmp_path / "r.json"
    request.write_text(json.dumps(load_case("v08-invalid-cd3-percent")["request"]),
                       encoding="utf-8")
    out = tmp_path / "w.pdf"
    done = subprocess.run([sys.executable, "-m", "doseprep", "worksheet", str(request), "-o",
                           str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "product.cd3_percent" in done.stderr
    assert not out.exists()


def test_a_draw_that_is_the_final_volume_never_says_add_0_ml_diluent() -> None:
    """Issue 9: "add 0.00 mL diluent" was printed when the draw filled the bag (v04)."""
    p = case_plan(REFERENCE_DIR / "v04-large-volume-dl5.json")
    assert p.diluent_volume.magnitude == 0
    text = " ".join(page_texts(render_worksheet(p)))
    assert "0.00 mL diluent" not in text and "Diluent to add 0.00" not in text
    assert "no diluent" in text and "Diluent to add none" in text


def test_the_footer_never_runs_into_the_page_number() -> None:
    """A draft's footer (id, state, version, time, DRAFT — NOT FOR USE) ran into "Page 1 of 3";
    it now takes smaller type, or two lines, and always ends before the page number."""
    from reportlab.lib.pagesizes import A4, LETTER
    from reportlab.lib.units import mm
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from doseprep.documents.style import SANS, SANS_BOLD
    from doseprep.documents.worksheet import MARGIN, footer_lines

    draft = ("Worksheet UNSAVED-35AEEA95DA · FORM — not saved · doseprep 0.1.0 · printed "
             "2026-11-24 11:39 UTC · DRAFT — NOT FOR USE")
    for width in (A4[0], LETTER[0]):
        for footer in (draft, draft + " · SUPERSEDED by PREP-2026-000123/v2" * 3):
            label = "Page 10 of 12"
            lines = footer_lines(footer, label, width)
            end = width - MARGIN - stringWidth(label, SANS_BOLD, 8.5)
            for text, size, _ in lines:
                assert size >= 6
                assert MARGIN + stringWidth(text, SANS, size) < end - 2 * mm
            assert " · ".join(t for t, _, _ in lines) == footer
    assert len(footer_lines(draft + " · x" * 40, "Page 1 of 1", A4[0])) == 2
