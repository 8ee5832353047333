"""Every time a worksheet prints, read back from the PDF: in the site zone, one format
(``23 NOV 2026 10:00 PST``); UTC only beside a signature (DESIGN.md Revision 3, "Time").

An inspector reading a worksheet prepared the night the clocks went back must see the expiry
the lab's clocks showed, with the abbreviation that tells the two 01:30s apart — not
``2026-11-01 03:30 UTC−08:00 (11:30 UTC)`` five real hours after a 23:30 preparation.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from doseprep.documents.cryo import render_cryo_worksheet
from doseprep.documents.worksheet import render_worksheet
from doseprep.manifest import RecordInfo, SignatureManifest
from doseprep.plans.freeze import freeze_plan, parse_freeze_request
from doseprep.plans.fresh import plan
from doseprep.plans.thaw import parse_thaw_request, thaw_plan
from doseprep.protocol import load_lab, load_protocol
from doseprep.request import parse_request
from doseprep.resources import resource_path
from tests.doseprep.documents.conftest import page_texts

PROTOCOL = load_protocol("hmct-blinatumomab")
PRINTED = datetime(2026, 11, 1, 9, 45, tzinfo=UTC)  # 01:45 PST, the second 01:45 of the night


def lab_in(zone: str, tmp_path: Path):
    text = resource_path("lab.toml").read_text(encoding="utf-8")
    path = tmp_path / "lab.toml"
    path.write_text(text.replace('time_zone = "America/Los_Angeles"', f'time_zone = "{zone}"'),
                    encoding="utf-8")
    return load_lab(str(path))


def example(name: str) -> dict:
    return json.loads(resource_path("examples", name).read_text(encoding="utf-8"))


def test_a_worksheet_across_the_autumn_change_prints_the_site_clock() -> None:
    lab = load_lab()
    data = example("request-dl3.json")
    data["product"]["collected_at"] = "2026-10-30T10:00:00"
    data["prepared_at"] = "2026-10-31T23:30:00"
    p = plan(parse_request(data, zone=lab.time_zone), PROTOCOL, lab)
    text = " ".join(page_texts(render_worksheet(p, printed_at=PRINTED)))
    assert "Collected 30 OCT 2026 10:00 PDT" in text
    assert "Infusion expires: 01 NOV 2026 02:30 PST" in text
    assert "min(31 OCT 2026 23:30 PDT + 4 h, 30 OCT 2026 10:00 PDT + 72 h)" in text
    assert "printed 01 NOV 2026 01:45 PST" in text
    # No signature yet, so no UTC and no ISO time anywhere on the page.
    assert "UTC" not in text and "T23:30" not in text and "2026-10-3" not in text


def test_signatures_carry_utc_beside_the_site_time() -> None:
    lab = load_lab()
    p = plan(parse_request(example("request-dl3.json"), zone=lab.time_zone), PROTOCOL, lab)
    signed = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
    record = RecordInfo(record_id="PREP-2026-000007", version=1, state="prepared",
                        record_hash="ab" * 32,
                        signatures=(SignatureManifest("Prepared by", "Ann Tech", "atech", signed,
                                                      "cd" * 32),))
    text = " ".join(page_texts(render_worksheet(p, record=record, printed_at=PRINTED)))
    assert "23 NOV 2026 10:30 PST (18:30 UTC)" in text
    assert text.count("UTC") == 1  # only the signature's


@pytest.mark.parametrize(("zone", "collected", "frozen", "expiry"), [
    ("Europe/Berlin", "22 NOV 2026 08:30 CET", "22 NOV 2026 14:00 CET", "21 NOV 2031 14:00 CET"),
    ("Australia/Sydney", "22 NOV 2026 08:30 AEDT", "22 NOV 2026 14:00 AEDT",
     "21 NOV 2031 14:00 AEDT"),
])
def test_the_freezing_worksheet_prints_the_lab_zone(tmp_path: Path, zone: str, collected: str,
                                                    frozen: str, expiry: str) -> None:
    """Times typed without offset in a lab in ``zone``: read there and printed there, with the
    zone's own abbreviation (November is summer in Sydney)."""
    lab = lab_in(zone, tmp_path)
    data = example("freeze-dl3-dl4.json")
    data["product"]["collected_at"] = "2026-11-22T08:30:00"
    data["frozen_at"] = "2026-11-22T14:00:00"
    p = freeze_plan(parse_freeze_request(data, zone=lab.time_zone, protocol=PROTOCOL),
                    PROTOCOL, lab)
    text = " ".join(page_texts(render_cryo_worksheet(p, printed_at=PRINTED)))
    for value in (f"Collected {collected}", f"Frozen {frozen}", f"Frozen expiry {expiry}"):
        assert value in text, value
    assert "UTC" not in text


def test_the_thawing_worksheet_prints_infuse_by_in_the_site_zone() -> None:
    lab = load_lab()
    data = example("thaw-b0.json")
    data["thawed_at"] = "2027-11-07T01:30:00-08:00"  # the second 01:30
    p = thaw_plan(parse_thaw_request(data, zone=lab.time_zone), PROTOCOL, lab)
    text = " ".join(page_texts(render_cryo_worksheet(p, printed_at=PRINTED)))
    for value in ("Infuse the whole bag", "by 07 NOV 2027 02:30 PST",
                  "Thawed 07 NOV 2027 01:30 PST", "Frozen expiry 21 NOV 2031 14:00 PST",
                  "Infuse by 07 NOV 2027 02:30 PST"):
        assert value in text, value
    assert "UTC" not in text
