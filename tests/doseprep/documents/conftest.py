"""Helpers for reading documents back the way a person or a scanner does."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp

from doseprep.manifest import RecordInfo
from doseprep.plans.fresh import PreparationPlan, plan
from doseprep.protocol import Protocol, load_protocol
from doseprep.request import parse_request
from tests.conftest import approve_in_store, approved_lab, reference_cases

#: A record that is verified: only such a record's label scans as a product (issue 9).
VERIFIED = RecordInfo(record_id="PREP-2026-000001", version=1, state="verified",
                      record_hash="0" * 64)

VALID_CASES = [p for p in reference_cases()
               if "invalid" not in json.loads(p.read_text(encoding="utf-8"))["expected"]]


def plan_for(data: dict, protocol: str | Path | Protocol | None = None) -> PreparationPlan:
    request = parse_request(data)
    if not isinstance(protocol, Protocol):
        protocol = load_protocol(protocol or request.protocol)
    return plan(request, protocol, approved_lab())


def case_plan(path: Path, **product_changes) -> PreparationPlan:
    data = json.loads(path.read_text(encoding="utf-8"))["request"]
    data["product"].update(product_changes)
    return plan_for(data)


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page, whitespace collapsed (table cells wrap lines)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]


def decode_barcodes(pdf: bytes, dpi: int = 300) -> list[list[str]]:
    """Render each page at ``dpi`` and decode every barcode on it (text, per page)."""
    document = pypdfium2.PdfDocument(pdf)
    pages = []
    for index in range(len(document)):
        image = document[index].render(scale=dpi / 72).to_pil()
        pages.append([b.text for b in zxingcpp.read_barcodes(image)
                      if b.format == zxingcpp.BarcodeFormat.Code128])
    return pages


@pytest.fixture
def approved_protocol(monkeypatch: pytest.MonkeyPatch) -> Protocol:
    """The bundled protocol approved by an administrator in this test's record store, for
    documents without the watermark (a file's own ``approved = true`` counts for nothing)."""
    monkeypatch.setenv("DOSEPREP_PASSWORD_HASH_PROFILE", "test")
    return approve_in_store("hmct-blinatumomab")
