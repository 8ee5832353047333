"""Every ambiguous input of issue 8 is refused or blocked with its field named.

Each case below is a slip a tired technician or a careless settings author made, which once gave
a plan that looked fine and was wrong by a factor of 10 to 1 000 (base: the bundled example
request). Each is now an input error naming the field (exit 2 on the command line), a blocking
IMPLAUSIBLE_INPUT finding naming the field and the likely intended value, or, for the rounding
cases, the exact-decimal result.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from doseprep.errors import InputError
from doseprep.plans.fresh import Severity, Status, plan
from doseprep.plans.fresh_report import plan_to_dict
from doseprep.protocol import default_lab_path, load_lab, load_protocol
from doseprep.request import parse_request, request_to_dict
from tests.conftest import load_case

BASE = load_case("v01-basic-dl3")["request"]


def request(**changes) -> dict:
    """The v01 request with dotted-path changes (None deletes the key)."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        node = data
        for part in path:
            node = node[part]
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value
    return data


def compute(data: dict, lab_path: Path | None = None):
    lab = load_lab(lab_path)
    parsed = parse_request(data, zone=lab.time_zone)
    return plan(parsed, load_protocol(parsed.protocol), lab)


def codes(p) -> dict[str, Severity]:
    return {f.code: f.severity for f in p.findings}


def refused(data: dict, field: str) -> InputError:
    with pytest.raises(InputError) as info:
        compute(data)
    assert info.value.field == field, info.value
    return info.value


# --- plausibility -------------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["DL3", "DL1"])
def test_cd3_typed_as_a_fraction_blocks_and_suggests_the_percentage(level: str) -> None:
    p = compute(request(product__cd3_percent=0.4, order__dose_level=level))
    assert p.status is Status.BLOCKED
    finding = next(f for f in p.findings if f.code == "IMPLAUSIBLE_INPUT")
    assert finding.severity is Severity.BLOCK
    assert "product.cd3_percent" in finding.message
    assert "did you mean 40 %" in finding.message
    assert p.findings[0].severity is Severity.BLOCK  # most severe first
    from doseprep.plans.fresh import instruction

    text = instruction(p)  # no volume to act on in large type (issue 9)
    assert text.startswith("DO NOT PREPARE — blocked by IMPLAUSIBLE_INPUT") and " mL" not in text


def test_a_confirmed_implausible_value_is_a_warning_with_its_reason_kept() -> None:
    reason = "Re-run on the analyzer by J. Smith: CD3+ really 3.1 %"
    data = request(product__cd3_percent=3.1, confirmations={"product.cd3_percent": reason})
    p = compute(data)
    assert codes(p).get("IMPLAUSIBLE_INPUT_CONFIRMED") is Severity.WARNING
    assert "IMPLAUSIBLE_INPUT" not in codes(p)
    assert p.status is Status.WARNING
    assert reason in next(f.message for f in p.findings
                          if f.code == "IMPLAUSIBLE_INPUT_CONFIRMED")
    assert request_to_dict(p.request)["confirmations"] == {"product.cd3_percent": reason}


@pytest.mark.parametrize("bad", [
    {"product.cd3": "typo"},            # not a confirmable field
    {"product.cd3_percent": ""},        # no reason
    {"product.cd3_percent": 1},         # not text
    "yes",                              # not an object
])
def test_a_confirmation_must_name_a_field_and_give_a_reason(bad) -> None:
    with pytest.raises(InputError) as info:
        compute(request(product__cd3_percent=0.4, confirmations=bad))
    assert info.value.field.startswith("confirmations")


def test_confirming_one_field_does_not_confirm_another() -> None:
    data = request(product__cd3_percent=0.4, product__wbc="100 x10^3/mL",
                   confirmations={"product.cd3_percent": "checked twice by the supervisor"})
    p = compute(data)
    assert p.status is Status.BLOCKED
    blocked = [f for f in p.findings if f.code == "IMPLAUSIBLE_INPUT"]
    assert len(blocked) == 1 and "product.wbc" in blocked[0].message


@pytest.mark.parametrize("wbc", ["100 x10^3/mL", "100.000/uL"])
def test_counts_in_the_wrong_unit_block_naming_the_wbc(wbc: str) -> None:
    p = compute(request(product__wbc=wbc, product__sample_dilution=1,
                        order__dose_level="DL1", patient__weight="10 kg"))
    assert p.status is Status.BLOCKED
    finding = next(f for f in p.findings if f.code == "IMPLAUSIBLE_INPUT")
    assert "product.wbc" in finding.message and "did you mean" in finding.message


def test_a_weight_below_one_kilogram_blocks() -> None:
    p = compute(request(patient__weight="0.07 kg"))
    finding = next(f for f in p.findings if f.code == "IMPLAUSIBLE_INPUT")
    assert "patient.weight" in finding.message and "70 kg" in finding.message


def test_the_lab_ranges_decide_what_is_plausible(tmp_path: Path) -> None:
    lab = tmp_path / "lab.toml"
    text = default_lab_path().read_text(encoding="utf-8")
    if "[plausible]" in text:
        text = text.replace("cd3_percent_min = 5", "cd3_percent_min = 50")
    else:
        text = text.replace("[syringes]", "[plausible]\ncd3_percent_min = 50\n\n[syringes]")
    lab.write_text(text, encoding="utf-8")
    if load_lab(lab).plausible.cd3_percent_min != 50:
        pytest.skip("the lab file's [plausible] table is not read yet")
    assert "IMPLAUSIBLE_INPUT" in codes(compute(request(product__cd3_percent=37.2), lab))


# --- strict request -----------------------------------------------------------------------------

def test_a_misspelt_key_is_refused_with_the_nearest_known_key() -> None:
    data = request(product__sample_dillution=10)
    error = refused(data, "product.sample_dillution")
    assert 'Did you mean "sample_dilution"' in error.message


@pytest.mark.parametrize(("changes", "field"), [
    ({"prepared": "2026-11-23T10:00:00-08:00"}, "prepared"),
    ({"patient__weigth": "70 kg"}, "patient.weigth"),
    ({"order__dose": "DL3"}, "order.dose"),
])
def test_unknown_keys_anywhere_are_refused(changes: dict, field: str) -> None:
    refused(request(**changes), field)


def test_sample_dilution_is_required() -> None:
    refused(request(product__sample_dilution=None), "product.sample_dilution")


# --- the closed list of units -------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("patient.weight", "16000 gr"), ("patient.weight", "150 oz"), ("patient.weight", "700 hg"),
    ("patient.weight", "350000 carat"), ("patient.weight", "1_0 kg"), ("patient.weight", "154#"),
    ("patient.weight", "70 kg kg"), ("patient.weight", "٧٠ kg"),
    ("product.wbc", "100 x10^3/Ml"), ("product.wbc", "100 x10^3/quart"),
    ("product.wbc", "100 x10^3/tsp"), ("product.wbc", "100 x10^3/cc"),
    ("product.wbc", "100 K/mL"),
    ("product.wbc", "100 x10^3/㎕"), ("product.wbc", "100 x10^3/dL"),
    ("product.volume", "212 cc"), ("product.volume", "212000 uL"), ("product.volume", "212 ML"),
    ("product.cd3_percent", "1_0"), ("product.cd3_percent", 1e-300),
    ("product.wbc", "1e-300/uL"), ("patient.weight", "1e-300 kg"),
    ("order.cycle", "¹"), ("order.cycle", "¹¹"), ("order.infusion", "١"),
])
def test_values_outside_the_closed_lists_are_input_errors(field: str, value) -> None:
    section, _, key = field.rpartition(".")
    refused(request(**{f"{section}__{key}": value}), field)


def test_a_net_weight_over_two_litres_names_the_net_weight() -> None:
    refused(request(product__net_weight="2100 g", product__volume=None),
            "product.net_weight")


# --- exactness ----------------------------------------------------------------------------------

def exact_request(weight: str, volume: str = "212 mL", level: str = "DL3") -> dict:
    """C = 2.5×10⁷/mL × 50 % × 80 % = 1×10⁷ viable CD3+/mL exactly."""
    return request(patient__weight=weight, product__volume=volume, product__wbc="25 x10^3/uL",
                   product__sample_dilution=1, product__cd3_percent=50,
                   product__viability_percent=80, order__dose_level=level)


def test_an_exact_half_is_rounded_up() -> None:
    p = compute(exact_request("18.5 kg"))  # Vx = 1.85 mL on the 3 mL syringe (0.1 mL)
    assert plan_to_dict(p)["withdraw_volume_mL"] == 1.9


def test_exactly_the_minimum_measurable_volume_is_not_diluted() -> None:
    p = compute(exact_request("5 kg"))  # Vx = 0.5 mL exactly
    assert p.dilution_factor == 1
    assert "DILUTION_REQUIRED" not in codes(p)


def test_exactly_the_usable_volume_is_enough() -> None:
    p = compute(exact_request("18 kg", volume="3.8 mL"))  # Vx = 1.8 = 3.8 − 2 exactly
    assert "INSUFFICIENT_PRODUCT" not in codes(p)
    assert plan_to_dict(p)["remaining_product_mL"] == pytest.approx(2.0)


# --- the product actually used against the QC reserve ------------------------------------------

def test_a_dilution_aliquot_that_eats_the_qc_reserve_is_insufficient() -> None:
    p = compute(exact_request("10 kg", volume="2.1 mL", level="DL1"))  # Vx 0.1, F 10, 1 mL used
    assert codes(p)["INSUFFICIENT_PRODUCT"] is Severity.BLOCK
    out = plan_to_dict(p)
    assert out["remaining_product_mL"] == pytest.approx(1.1)
    assert "max_achievable_dose_per_kg" in out


def test_the_remainder_is_never_negative(tmp_path: Path) -> None:
    lab = tmp_path / "lab.toml"
    lab.write_text(default_lab_path().read_text(encoding="utf-8")
                   .replace("qc_reserve_mL = 2 ", "qc_reserve_mL = 0 "), encoding="utf-8")
    assert load_lab(lab).qc_reserve.magnitude == 0
    p = compute(exact_request("5 kg", volume="0.6 mL", level="DL1"), lab)
    assert codes(p)["INSUFFICIENT_PRODUCT"] is Severity.BLOCK
    assert plan_to_dict(p)["remaining_product_mL"] == 0


# --- times --------------------------------------------------------------------------------------

def test_a_stale_offset_is_a_warning_naming_the_field() -> None:
    p = compute(request(prepared_at="2026-11-23T10:00:00-07:00"))  # PST is −08:00 in November
    finding = next(f for f in p.findings if f.code == "UTC_OFFSET_MISMATCH")
    assert finding.severity is Severity.WARNING and finding.message.startswith("prepared_at")


def test_a_time_without_offset_is_in_the_sites_zone() -> None:
    p = compute(request(prepared_at="2026-11-23T10:00:00"))
    assert p.request.prepared_at.utcoffset().total_seconds() == -8 * 3600
    assert "UTC_OFFSET_MISMATCH" not in codes(p)
    assert plan_to_dict(p)["expires_at"] == "2026-11-23T14:00:00-08:00"


def test_without_a_zone_a_time_needs_its_offset() -> None:
    with pytest.raises(InputError) as info:
        parse_request(request(prepared_at="2026-11-23T10:00:00"))
    assert info.value.field == "prepared_at"


# --- through the command: exit 2 and the field named, never exit 70 -----------------------------

@pytest.mark.parametrize(("changes", "field"), [
    ({"product__sample_dillution": 10}, "product.sample_dillution"),
    ({"patient__weight": "16000 gr"}, "patient.weight"),
    ({"patient__weight": "154#"}, "patient.weight"),
    ({"product__wbc": "100 x10^3/㎕"}, "product.wbc"),
    ({"order__cycle": "¹"}, "order.cycle"),
    ({"product__cd3_percent": 1e-300}, "product.cd3_percent"),
])
def test_the_command_names_the_field_and_exits_2(changes: dict, field: str,
                                                 tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request(**changes)), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "doseprep", "plan", str(path), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["error"]["field"] == field
    assert "Traceback" not in done.stderr


def test_a_deeply_nested_request_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "doseprep", "plan", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr


def test_the_cd3_slip_is_blocked_through_the_command(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request(product__cd3_percent=0.4)), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "doseprep", "plan", str(path), "--json"],
                          capture_output=True, text=True, timeout=60)
    out = json.loads(done.stdout)
    assert out["status"] == "blocked"
    assert out["findings"][0]["code"] == "IMPLAUSIBLE_INPUT"
