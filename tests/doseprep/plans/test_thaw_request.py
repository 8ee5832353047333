"""The thaw request under DESIGN.md "Revision 3", "Thaw request" (issue 21): a typed bag is
checked like the product, the post-thaw sample is not infused, and a dose without a post-thaw
count is said to be an estimate everywhere it is shown.

The red team's cases: a typed ``aliquot`` with ``final_dmso_percent: 0.1`` (a fraction for 10 %)
or ``final_volume: "0 mL"`` planned OK with the DMSO limit defeated.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pypdf
import pytest

from doseprep.cli import main
from doseprep.documents.cryo import render_cryo_labels, render_cryo_worksheet
from doseprep.errors import InputError
from doseprep.plans.cryo_report import thaw_text
from doseprep.plans.thaw import ESTIMATED, parse_thaw_request, thaw_plan, thaw_to_dict
from doseprep.protocol import load_lab, load_protocol
from doseprep.store.reentry import compare_reentry, fields_for

CRYO_DIR = Path(__file__).parents[2] / "reference_cases" / "cryo"
LAB = load_lab()
PROTOCOL = load_protocol("hmct-blinatumomab")
C03 = json.loads((CRYO_DIR / "c03-thaw-b0-with-post-thaw-count.json").read_text("utf-8"))


def request(**aliquot) -> dict:
    data = copy.deepcopy(C03["request"])
    data["aliquot"].update(aliquot)
    return data


def thaw(data: dict):
    return thaw_plan(parse_thaw_request(data, zone=LAB.time_zone), PROTOCOL, LAB)


def refused(data: dict, field: str) -> InputError:
    with pytest.raises(InputError) as info:
        thaw(data)
    assert field in {e.field for e in getattr(info.value, "errors", (info.value,))}, info.value
    return info.value


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


# --- the bag, checked like the product --------------------------------------------------------

def test_dmso_typed_as_a_fraction_blocks_and_asks_if_10_percent_was_meant() -> None:
    p = thaw(request(final_dmso_percent=0.1))
    assert p.status.value == "blocked"
    finding = next(f for f in p.findings if f.code == "IMPLAUSIBLE_INPUT")
    assert finding.field == "aliquot.final_dmso_percent"
    assert "did you mean 10 %?" in finding.message


def test_an_implausible_dmso_can_be_confirmed_with_a_reason() -> None:
    data = request(final_dmso_percent="0.5")
    data["confirmations"] = {"aliquot.final_dmso_percent": "DMSO-reduced protocol, QA-17"}
    p = thaw(data)
    finding = next(f for f in p.findings if f.code == "IMPLAUSIBLE_INPUT_CONFIRMED")
    assert finding.severity.value == "warning" and "QA-17" in finding.message
    assert "IMPLAUSIBLE_INPUT" not in {f.code for f in p.findings}
    data["confirmations"] = {"product.cd3_percent": "not a thaw field"}
    refused(data, "confirmations.product.cd3_percent")


@pytest.mark.parametrize(("changes", "field"), [
    ({"final_volume": "0 mL"}, "aliquot.final_volume"),
    ({"final_volume": "-24 mL"}, "aliquot.final_volume"),
    ({"final_volume": "141 mL"}, "aliquot.final_volume"),  # more than the largest bag (140 mL)
    ({"final_volume": "24 kg"}, "aliquot.final_volume"),
    ({"final_dmso_percent": 0}, "aliquot.final_dmso_percent"),
    ({"final_dmso_percent": "20.00000000000000000001"}, "aliquot.final_dmso_percent"),
    ({"final_dmso_percent": 100}, "aliquot.final_dmso_percent"),
    ({"frozen_viable_cd3": 0}, "aliquot.frozen_viable_cd3"),
    ({"frozen_viable_cd3": "-4.7e8"}, "aliquot.frozen_viable_cd3"),
    ({"planned_weight": "70 mL"}, "aliquot.planned_weight"),
    ({"planned_weight": "0 kg"}, "aliquot.planned_weight"),
    ({"division": "B!"}, "aliquot.division"),
    ({"din": "G123417654321B"}, "aliquot.din"),  # a request may omit it; if given it must match
])
def test_a_typed_bag_is_checked_like_the_product(changes: dict, field: str) -> None:
    error = refused(request(**changes), field)
    assert error.message


def test_the_largest_bag_is_allowed_and_a_fresh_dmso_limit_still_applies() -> None:
    p = thaw(request(final_volume="140 mL", final_dmso_percent=20))
    assert "DMSO_LIMIT_EXCEEDED" not in {f.code for f in p.findings}  # 139 mL × 20 % × 1.1 / 70
    heavy = request(final_volume="140 mL", final_dmso_percent=20)
    heavy["patient"]["weight"] = "30 kg"
    heavy["aliquot"]["planned_weight"] = "30 kg"
    assert "DMSO_LIMIT_EXCEEDED" in {f.code for f in thaw(heavy).findings}


# --- the post-thaw sample ----------------------------------------------------------------------

def test_the_sample_is_not_infused() -> None:
    """c03: 24 mL bag, 1 mL sample: 23 mL infused, C' × 23 mL delivered, DMSO on 23 mL."""
    out = thaw_to_dict(thaw(copy.deepcopy(C03["request"])))
    assert out["infused_volume_mL"] == 23.0
    assert out["delivered_cells"] == pytest.approx(4.3e7 * 0.40 * 0.85 * 23, rel=1e-12)
    assert out["dmso_g"] == pytest.approx(23 * 0.10 * 1.10, rel=1e-12)
    assert out["dose_estimated"] is False


@pytest.mark.parametrize(("sample", "words"), [
    (None, "Enter the volume taken from the thawed bag"),
    ("", "Enter the volume taken from the thawed bag"),
    ("24 mL", "nothing would be left to infuse"),
    ("0.025 L", "nothing would be left to infuse"),
    ("0 mL", "more than 0 mL"),
    ("1 g", "not a volume"),
])
def test_a_count_needs_its_sample_volume(sample, words: str) -> None:
    data = copy.deepcopy(C03["request"])
    if sample is None:
        del data["post_thaw"]["sample_volume"]
    else:
        data["post_thaw"]["sample_volume"] = sample
    assert words in refused(data, "post_thaw.sample_volume").message


def test_post_thaw_viability_is_decided_exactly() -> None:
    data = copy.deepcopy(C03["request"])
    data["post_thaw"]["viability_percent"] = "49.99999999999999999999"
    assert "LOW_VIABILITY" in {f.code for f in thaw(data).findings}
    data["post_thaw"]["viability_percent"] = "50"
    assert "LOW_VIABILITY" not in {f.code for f in thaw(data).findings}


# --- an estimate says so, everywhere -----------------------------------------------------------

def test_without_a_count_the_dose_is_an_estimate_on_every_output() -> None:
    data = copy.deepcopy(C03["request"])
    del data["post_thaw"]
    p = thaw(data)
    out = thaw_to_dict(p)
    assert out["dose_estimated"] is True
    assert out["infused_volume_mL"] == 24.0  # no sample taken
    assert out["delivered_cells"] == pytest.approx(470400000.0 * 0.75, rel=1e-12)
    assert ESTIMATED == "estimated (pre-freeze count × recovery R)"
    assert ESTIMATED in thaw_text(p)
    worksheet = " ".join(pdf_text(render_cryo_worksheet(p)).split())
    assert ESTIMATED in worksheet
    assert "(estimated)" in pdf_text(render_cryo_labels(p))


def test_with_a_count_nothing_says_estimated() -> None:
    p = thaw(copy.deepcopy(C03["request"]))
    assert "estimated" not in thaw_text(p)
    worksheet = " ".join(pdf_text(render_cryo_worksheet(p)).split())
    assert "estimated" not in worksheet
    assert "24 mL less the 1 mL post-thaw sample" in worksheet
    assert "estimated" not in pdf_text(render_cryo_labels(p))


# --- the command line and the blind re-entry ---------------------------------------------------

def test_the_command_line_blocks_a_fractional_dmso_and_names_a_zero_volume(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dmso = tmp_path / "dmso.json"
    dmso.write_text(json.dumps(request(final_dmso_percent=0.1)), encoding="utf-8")
    assert main(["thaw", str(dmso), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "blocked"
    assert "IMPLAUSIBLE_INPUT" in [f["code"] for f in out["findings"]]
    volume = tmp_path / "volume.json"
    volume.write_text(json.dumps(request(final_volume="0 mL")), encoding="utf-8")
    assert main(["thaw", str(volume)]) == 2
    assert "aliquot.final_volume" in capsys.readouterr().err


def test_the_sample_volume_is_re_entered_blind() -> None:
    stored = copy.deepcopy(C03["request"])
    assert "post_thaw.sample_volume" in fields_for(stored)
    reentry = {"patient": {"weight": "70 kg"},
               "aliquot": {"din": "G123417654321A", "division": "B0"},
               "post_thaw": {**stored["post_thaw"], "sample_volume": "1.0 mL"}}
    assert compare_reentry(stored, reentry) == ()
    reentry["post_thaw"]["sample_volume"] = "10 mL"
    assert compare_reentry(stored, reentry) == ("post_thaw.sample_volume",)
