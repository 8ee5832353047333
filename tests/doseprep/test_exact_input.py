"""Exact input (issue 21, DESIGN.md "Revision 3", "Exact input"): numbers typed as text are
exact decimals, decided on as typed; the request keeps them exactly, so a stored request
recomputes to the same plan.

The red team's case: ``"4.99999999999999999999"`` % CD3+ passed the plausibility check (≥ 5 %)
because it was read through a binary float (5.0). Each test here fails on that reading.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from doseprep.errors import InputError
from doseprep.plans.fresh import Status, plan
from doseprep.protocol import load_lab, load_protocol
from doseprep.request import parse_request, request_to_dict
from doseprep.units import exact, parse_number
from tests.conftest import load_case

BASE = load_case("v01-basic-dl3")["request"]
LAB = load_lab()
PROTOCOL = load_protocol()


def planned(**product):
    data = copy.deepcopy(BASE)
    data["product"].update(product)
    return plan(parse_request(data, zone=LAB.time_zone), PROTOCOL, LAB)


def codes(p) -> set[str]:
    return {f.code for f in p.findings}


def test_a_cd3_just_below_the_plausible_floor_typed_as_text_blocks() -> None:
    p = planned(cd3_percent="4.99999999999999999999")
    assert p.status is Status.BLOCKED
    finding = next(f for f in p.findings if f.code == "IMPLAUSIBLE_INPUT")
    assert finding.field == "product.cd3_percent"
    # Shown as typed, never rounded to the 5 % it is below.
    assert "CD3+ 4.99999999999999999999 % is below the plausible 5 %" in finding.message


def test_a_cd3_just_above_the_floor_is_plausible() -> None:
    p = planned(cd3_percent="5.00000000000000000001")
    assert "IMPLAUSIBLE_INPUT" not in codes(p)


def test_a_viability_just_below_the_minimum_typed_as_text_blocks() -> None:
    p = planned(viability_percent="69.99999999999999999999")
    assert "LOW_VIABILITY" in codes(p)
    assert "Viability 69.99999999999999999999 %" in next(
        f.message for f in p.findings if f.code == "LOW_VIABILITY")
    assert "LOW_VIABILITY" not in codes(planned(viability_percent="70.00000000000000000000"))


def test_a_percentage_just_above_100_is_an_input_error() -> None:
    data = copy.deepcopy(BASE)
    data["product"]["cd3_percent"] = "100.00000000000000000001"
    with pytest.raises(InputError) as info:
        parse_request(data, zone=LAB.time_zone)
    assert info.value.field == "product.cd3_percent"


def test_the_request_keeps_the_digits_typed_and_recomputes_the_same() -> None:
    """A record stores request_to_dict; the plan it is reprinted from must be the same."""
    data = copy.deepcopy(BASE)
    data["product"].update(cd3_percent="4.99999999999999999999", viability_percent="98.5",
                           sample_dilution="1")
    request = parse_request(data, zone=LAB.time_zone)
    stored = request_to_dict(request)
    assert stored["product"]["cd3_percent"] == "4.99999999999999999999"
    assert stored["product"]["viability_percent"] == 98.5  # a float holds it exactly as typed
    assert stored["product"]["sample_dilution"] == 1
    again = parse_request(stored, zone=LAB.time_zone)
    assert again.product.cd3_percent == request.product.cd3_percent
    assert plan(again, PROTOCOL, LAB).status is Status.BLOCKED


@pytest.mark.parametrize(("value", "expected"), [
    ("4.99999999999999999999", Decimal("4.99999999999999999999")),
    ("40 %", Decimal(40)),
    (40, Decimal(40)),
    (0.1, Decimal("0.1")),  # a float stands for its shortest repr, not 0.1000000000000000055…
    (Decimal("12.50"), Decimal("12.50")),
])
def test_parse_number_is_exact(value, expected: Decimal) -> None:
    number = parse_number(value, "product.cd3_percent", "CD3+ percentage")
    assert isinstance(number, Decimal) and number == expected
    assert exact(number) == exact(expected)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"),
                                   Decimal("1E+40"), float("nan"), "1e999"])
def test_unusable_numbers_name_the_field(value) -> None:
    with pytest.raises(InputError) as info:
        parse_number(value, "product.cd3_percent", "CD3+ percentage")
    assert info.value.field == "product.cd3_percent"
