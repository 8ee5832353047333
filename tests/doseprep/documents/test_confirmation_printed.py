"""A confirmed implausible value is printed on the worksheet with its reason; an unconfirmed one
keeps the worksheet marked NOT FOR CLINICAL USE and its label without a product barcode."""

from __future__ import annotations

import copy
import re

from doseprep.documents.labels import render_labels
from doseprep.documents.worksheet import render_worksheet
from tests.conftest import load_case
from tests.doseprep.documents.conftest import decode_barcodes, page_texts, plan_for

REASON = "Re-run on the analyzer by A. Lee, 3.1 % confirmed"


def slip(cd3: float, reason: str | None = None) -> dict:
    data = copy.deepcopy(load_case("v01-basic-dl3")["request"])
    data["product"]["cd3_percent"] = cd3
    if reason:
        data["confirmations"] = {"product.cd3_percent": reason}
    return data


def test_the_reason_is_printed_on_the_worksheet() -> None:
    text = " ".join(page_texts(render_worksheet(plan_for(slip(3.1, REASON)))))
    flat = re.sub(r"\s+", " ", text)
    assert "IMPLAUSIBLE_INPUT_CONFIRMED" in flat
    assert REASON in flat


def test_an_unconfirmed_slip_marks_the_documents_and_scans_as_no_product() -> None:
    p = plan_for(slip(0.4))
    flat = re.sub(r"\s+", " ", " ".join(page_texts(render_worksheet(p))))
    assert "NOT FOR CLINICAL USE" in flat and "IMPLAUSIBLE_INPUT" in flat
    codes = [c for page in decode_barcodes(render_labels(p)) for c in page]
    assert not any(c.startswith("=<") for c in codes), codes  # no ISBT 128 product code
