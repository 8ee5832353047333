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

from doseprep.plan import PreparationPlan, plan
from doseprep.protocol import load_lab, load_protocol
from doseprep.request import parse_request
from tests.conftest import reference_cases

VALID_CASES = [p for p in reference_cases()
               if "invalid" not in json.loads(p.read_text(encoding="utf-8"))["expected"]]


def plan_for(data: dict, protocol: str | Path | None = None) -> PreparationPlan:
    request = parse_request(data)
    return plan(request, load_protocol(protocol or request.protocol), load_lab())


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
def approved_protocol(tmp_path: Path) -> Path:
    """A copy of the bundled protocol marked approved, for documents without the watermark."""
    from doseprep.resources import resource_path

    text = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")
    path = tmp_path / "approved.toml"
    path.write_text(text.replace("\napproved = false", "\napproved = true"), encoding="utf-8")
    return path
