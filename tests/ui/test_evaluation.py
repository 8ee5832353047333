"""The form's texts go through the domain unchanged: same plan as the command line, every bad
field named at once, and never a plan computed from anything but what was typed."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest
from doseprep_ui.form.evaluation import KEYS, complete_timestamp, describe_moment, evaluate
from doseprep_ui.form.form import raw_from_request

from doseprep.plans.fresh_report import plan_to_dict
from doseprep.protocol import load_lab, load_protocol
from tests.conftest import load_case, reference_cases
from tests.ui.conftest import cli_plan

LAB = load_lab()
protocols = cache(load_protocol)


def raw_of(name: str, **changes: str) -> dict[str, str]:
    raw = raw_from_request(load_case(name)["request"])
    raw.update(changes)
    return raw


@pytest.mark.parametrize("path", reference_cases(), ids=lambda p: p.stem)
def test_every_reference_case_gives_the_command_lines_plan(
        path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    evaluation = evaluate(raw_from_request(case["request"]), protocols, LAB)
    status, cli = cli_plan(case["request"], tmp_path, capsys)
    if "invalid" in case["expected"]:
        assert status == 2
        assert evaluation.plan is None
        assert set(evaluation.errors) == {case["expected"]["invalid"]}
        assert evaluation.errors[cli["error"]["field"]] == cli["error"]["message"]
        return
    assert status == 0
    assert json.loads(json.dumps(plan_to_dict(evaluation.plan))) == cli
    assert not evaluation.errors


def test_every_bad_field_is_named_at_once() -> None:
    raw = raw_of("v01-basic-dl3", **{
        "patient.weight": "70 mL", "product.wbc": "lots", "product.cd3_percent": "140",
        "product.viability_percent": "0", "product.din": "G123417654321B",
        "product.collected_at": "2027-01-01 08:00", "patient.birth_date": "29/02/1980"})
    evaluation = evaluate(raw, protocols, LAB)
    assert evaluation.plan is None
    assert set(evaluation.errors) == {
        "patient.weight", "product.wbc", "product.cd3_percent", "product.viability_percent",
        "product.din", "prepared_at", "patient.birth_date"}
    assert "is not a mass" in evaluation.errors["patient.weight"]
    assert "check character 'B' does not match" in evaluation.errors["product.din"]
    assert "before the product was collected" in evaluation.errors["prepared_at"]
    assert not evaluation.missing


def test_a_dose_level_outside_the_protocol_is_named_with_the_other_fields() -> None:
    """Issue 11: one parse names the order's problems with the protocol beside the others (no
    second pass with stand-in values); the accepted fields keep their notes."""
    raw = raw_of("v01-basic-dl3", **{"order.dose_level": "DL9", "patient.weight": "70 kgg"})
    evaluation = evaluate(raw, protocols, LAB)
    assert set(evaluation.errors) == {"order.dose_level", "patient.weight"}
    assert "not in protocol" in evaluation.errors["order.dose_level"]
    assert evaluation.notes["product.cd3_percent"].startswith("40 %")
    assert evaluation.notes["order.cycle"] == "cycle 1 has 1 infusion"
    assert "patient.weight" not in evaluation.notes and evaluation.plan is None


def test_an_empty_form_names_every_required_field_and_no_plan() -> None:
    evaluation = evaluate({"protocol": "hmct-blinatumomab"}, protocols, LAB)
    assert evaluation.plan is None
    assert evaluation.missing == set(KEYS) - {"product.abo_rh", "protocol"}
    assert evaluation.missing == set(evaluation.errors)
    assert evaluation.wrong == {}


@pytest.mark.parametrize("key", [k for k in KEYS if k not in ("protocol", "product.abo_rh")])
def test_any_one_refused_field_means_no_plan(key: str) -> None:
    """A stand-in value is only ever used to look for more errors, never for a plan."""
    evaluation = evaluate(raw_of("v01-basic-dl3", **{key: ""}), protocols, LAB)
    assert evaluation.plan is None
    assert key in evaluation.missing


def test_notes_show_the_values_in_lab_notation() -> None:
    evaluation = evaluate(raw_of("v02-weight-in-pounds", **{"product.wbc": "85.3 ×10³/µL",
                                                           "product.abo_rh": "o neg"}),
                          protocols, LAB)
    assert evaluation.notes["patient.weight"] == "165 lb (74.84 kg)"
    assert evaluation.notes["product.wbc"] == "8.530 × 10⁷ cells/mL"
    assert evaluation.notes["product.din"] == "G1234 17 654321, check character A"
    assert evaluation.notes["product.abo_rh"] == "group O, RhD negative"
    assert evaluation.notes["order.dose_level"] == "DL4: 5.00 × 10⁶ CD3+ cells/kg"


def test_a_net_weight_goes_to_the_request_as_a_net_weight() -> None:
    evaluation = evaluate(raw_of("v01-basic-dl3", **{"product.volume": "218.4 g"}),
                          protocols, LAB)
    assert "net_weight" in evaluation.request_data["product"]
    assert "volume" not in evaluation.request_data["product"]
    assert evaluation.plan.request.product.net_weight.text == "218.4 g"


def test_a_time_without_offset_is_the_sites_not_this_computers(workstation_in_tokyo) -> None:
    """Issue 21: a typed time without an offset was given this computer's offset; on a
    workstation set to another zone than the site's that typed a wrong instant (17 h off) into
    the request. It goes to the domain as typed and is read on the site's wall clock."""
    assert datetime(2026, 11, 23, 10, 0).astimezone().utcoffset().total_seconds() == 9 * 3600
    assert complete_timestamp(" 2026-11-23 10:00 ") == "2026-11-23 10:00"
    assert complete_timestamp("2026-11-23T10:00:00-08:00") == "2026-11-23T10:00:00-08:00"
    assert complete_timestamp("yesterday") == "yesterday"
    evaluation = evaluate(raw_of("v01-basic-dl3", **{"prepared_at": "2026-11-23 10:00",
                                                     "product.collected_at": "2026-11-22 08:30"}),
                          protocols, LAB)
    assert LAB.time_zone == "America/Los_Angeles"
    request = evaluation.plan.request
    assert request.prepared_at == datetime.fromisoformat("2026-11-23T10:00:00-08:00")
    assert request.product.collected_at == datetime.fromisoformat("2026-11-22T08:30:00-08:00")
    assert evaluation.plan.expires_at == datetime.fromisoformat("2026-11-23T14:00:00-08:00")
    assert describe_moment(datetime.fromisoformat("2026-11-22T08:30:00-08:00")) == \
        "Sun 22 Nov 2026, 08:30 (UTC−08:00)"


def test_an_unusable_protocol_is_an_error_on_the_protocol_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("schema_version = 1\nid = 'x'\n", encoding="utf-8")
    evaluation = evaluate(raw_of("v01-basic-dl3", protocol=str(broken)), protocols, LAB)
    assert evaluation.plan is None
    assert "broken.toml" in evaluation.errors["protocol"]
