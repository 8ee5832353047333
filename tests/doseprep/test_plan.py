"""The calculation's findings and input errors, one behaviour at a time."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from doseprep.errors import InputError
from doseprep.plans.fresh import Severity, Status, instruction, plan
from doseprep.plans.fresh_report import plan_to_dict, render_text
from doseprep.protocol import load_lab, load_protocol
from doseprep.request import parse_request, request_to_dict


def compute(data: dict, lab_path: Path | None = None):
    request = parse_request(data)
    return plan(request, load_protocol(request.protocol), load_lab(lab_path))


def codes(result) -> dict[str, Severity]:
    return {f.code: f.severity for f in result.findings}


def with_(base: dict, **changes) -> dict:
    """A copy of ``base`` with dotted keys changed (``product__volume="15 mL"``)."""
    data = copy.deepcopy(base)
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        target = data
        for part in path:
            target = target[part]
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return data


def test_ok_plan_says_what_to_draw(base_request: dict) -> None:
    result = compute(base_request)
    assert result.status is Status.OK
    assert instruction(result) == ("Draw 1.80 mL of product with a 3 mL syringe, add 48.2 mL "
                                   "diluent to a final volume of 50.0 mL.")
    text = render_text(result)
    assert text.index("STATUS: OK") < text.index("Draw 1.80 mL") < text.index("Calculation")
    assert "NOT APPROVED" in text


def test_every_step_has_formula_values_and_result(base_request: dict) -> None:
    steps = compute(base_request).steps
    assert [s.name for s in steps][:6] == [
        "Product volume", "WBC concentration", "Viable CD3+ concentration",
        "Total viable CD3+ in product", "Target cells", "Exact volume of product"]
    for step in steps:
        assert step.formula and step.substituted and step.result
    assert any("1.7857 mL" in s.result for s in steps)


def test_unapproved_protocol_is_noted_but_not_a_warning(base_request: dict) -> None:
    result = compute(base_request)
    assert codes(result)["PROTOCOL_NOT_APPROVED"] is Severity.INFO
    assert result.status is Status.OK


def test_insufficient_product_blocks_and_reports_best_dose(base_request: dict) -> None:
    result = compute(with_(base_request, product__volume="3 mL"))
    assert codes(result)["INSUFFICIENT_PRODUCT"] is Severity.BLOCK
    assert result.status is Status.BLOCKED
    # (3 mL − 2 mL reserve) × 3.92e7/mL ÷ 70 kg
    assert plan_to_dict(result)["max_achievable_dose_per_kg"] == pytest.approx(560000.0)
    assert "withdraw_volume_mL" not in plan_to_dict(result)
    assert instruction(result).startswith("DO NOT PREPARE")


def test_one_in_hundred_dilution_takes_two_serial_steps(base_request: dict) -> None:
    # DL1 for a 3 kg infant: Vx = 3e5 / 3.92e7 mL = 0.00765 mL; × 10 < 0.5, × 100 ≥ 0.5.
    result = compute(with_(base_request, order__dose_level="DL1", patient__weight="3 kg",
                           product__wbc="100 x10^3/uL"))
    assert result.dilution_factor == 100
    assert [(s.source.magnitude, s.diluent.magnitude) for s in result.dilution_steps] == [
        (1.0, 9.0), (1.0, 9.0)]
    assert codes(result)["DILUTION_REQUIRED"] is Severity.INFO
    assert "Dilute 1 in 100" in instruction(result)
    assert result.remaining_product.magnitude == pytest.approx(199.0)


def test_dose_rounded_far_from_target_blocks(base_request: dict) -> None:
    # A very concentrated product: Vx just above 0.5 mL on a 1 mL syringe is fine, but with a
    # lab whose only syringe is graduated in 1 mL the rounding error is large.
    lab = Path(__file__).parent / "coarse_lab.toml"
    result = compute(with_(base_request, product__wbc="300 x10^3/uL"), lab)
    assert codes(result)["DOSE_OUT_OF_TOLERANCE"] is Severity.BLOCK
    assert result.status is Status.BLOCKED
    assert abs(result.deviation_percent) > 10


def test_infant_volume_per_kg_is_a_warning(base_request: dict) -> None:
    result = compute(with_(base_request, patient__weight="4 kg"))
    assert codes(result)["VOLUME_PER_KG_EXCEEDED"] is Severity.WARNING
    assert result.status is Status.WARNING


def test_low_viability_blocks(base_request: dict) -> None:
    result = compute(with_(base_request, product__viability_percent=69.9))
    assert codes(result)["LOW_VIABILITY"] is Severity.BLOCK


def test_product_older_than_allowed_blocks(base_request: dict) -> None:
    result = compute(with_(base_request, prepared_at="2026-11-25T08:31:00-08:00"))
    assert codes(result)["PRODUCT_EXPIRED"] is Severity.BLOCK


def test_expiry_is_capped_by_product_age(base_request: dict) -> None:
    # Prepared 70 h after collection: 4 h later would exceed the 72 h product limit.
    result = compute(with_(base_request, prepared_at="2026-11-25T06:30:00-08:00"))
    assert result.expires_at.isoformat() == "2026-11-25T08:30:00-08:00"


def test_expiry_is_in_the_preparation_time_zone(base_request: dict) -> None:
    result = compute(with_(base_request, product__collected_at="2026-11-22T16:30:00+00:00"))
    assert result.expires_at.isoformat() == "2026-11-23T14:00:00-08:00"


def test_large_draw_fills_the_largest_syringe_repeatedly(base_request: dict) -> None:
    result = compute(with_(base_request, order__dose_level="DL5", product__volume="450 mL",
                           product__wbc="20 x10^3/uL", product__cd3_percent=30))
    assert result.syringe.capacity.magnitude == 60
    assert result.syringe_fills == 2
    assert "MULTIPLE_SYRINGE_FILLS" in codes(result)
    assert "2 fills" in instruction(result)


@pytest.mark.parametrize(("changes", "field"), [
    ({"patient__weight": "0 kg"}, "patient.weight"),
    ({"patient__weight": "501 kg"}, "patient.weight"),
    ({"patient__weight": "70 mL"}, "patient.weight"),
    ({"patient__weight": None}, "patient.weight"),
    ({"patient__id": ""}, "patient.id"),
    ({"patient__birth_date": "1980-02-30"}, "patient.birth_date"),
    ({"product__volume": "0 mL"}, "product.volume"),
    ({"product__volume": "2001 mL"}, "product.volume"),
    ({"product__volume": "200 g"}, "product.volume"),
    ({"product__volume": None}, "product.volume"),
    ({"product__net_weight": "200 g"}, "product.volume"),
    ({"product__cd3_percent": 0}, "product.cd3_percent"),
    ({"product__cd3_percent": 100.1}, "product.cd3_percent"),
    ({"product__cd3_percent": "forty"}, "product.cd3_percent"),
    ({"product__viability_percent": -1}, "product.viability_percent"),
    ({"product__viability_percent": None}, "product.viability_percent"),
    ({"product__sample_dilution": 0.5}, "product.sample_dilution"),
    ({"product__wbc": "0 x10^3/uL"}, "product.wbc"),
    ({"product__wbc": "100 kg"}, "product.wbc"),
    ({"product__wbc": None}, "product.wbc"),
    ({"product__din": ""}, "product.din"),
    ({"product__din": "G123417654321B"}, "product.din"),
    ({"product__din": "G12341765432"}, "product.din"),
    ({"product__abo_rh": "Q POS"}, "product.abo_rh"),
    ({"product__collected_at": "2026-11-22 08:30"}, "product.collected_at"),
    ({"prepared_at": "yesterday"}, "prepared_at"),
    ({"prepared_at": "9999-12-31T23:00:00-08:00"}, "prepared_at"),
    ({"prepared_at": "2026-11-21T10:00:00-08:00"}, "prepared_at"),
    ({"order__dose_level": "DL9"}, "order.dose_level"),
    ({"order__cycle": 3}, "order.cycle"),
    ({"order__infusion": 2}, "order.infusion"),
    ({"order__infusion": "first"}, "order.infusion"),
])
def test_input_errors_name_their_field(base_request: dict, changes: dict, field: str) -> None:
    with pytest.raises(InputError) as info:
        compute(with_(base_request, **changes))
    assert info.value.field == field
    assert len(info.value.message) > 10


def test_second_infusion_of_cycle_two_is_valid(base_request: dict) -> None:
    result = compute(with_(base_request, order__cycle=2, order__infusion=2))
    assert result.status is Status.OK


def test_scanned_din_is_accepted(base_request: dict) -> None:
    request = parse_request(with_(base_request, product__din="=G12341765432100"))
    assert (request.product.din, request.product.din_flags) == ("G123417654321", "00")


def test_request_round_trips_as_typed(base_request: dict) -> None:
    data = with_(base_request, patient__weight="165 lb")
    assert request_to_dict(parse_request(data)) == data
