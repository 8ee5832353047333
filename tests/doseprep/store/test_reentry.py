"""Blind re-entry compares values the way the domain parses them, and names what differs."""

from __future__ import annotations

import pytest

from doseprep.errors import InputError
from doseprep.isbt128 import check_character
from doseprep.store.reentry import compare_reentry, fields_for
from tests.doseprep.store.helpers import reentry_of


def test_the_same_values_typed_differently_match(base_request: dict) -> None:
    request = {**base_request, "patient": {**base_request["patient"], "weight": "165 lb"}}
    reentry = {"patient": {"weight": "74.84274105 kg"},
               "product": {"volume": "0.2 L", "wbc": "1e5/uL",
                           "cd3_percent": "40%", "viability_percent": 98.0,
                           "sample_dilution": "1", "din": " g1234 17 654321 a "},
               "order": {"dose_level": "dl3"}}
    assert compare_reentry(request, reentry) == ()


def test_every_differing_field_is_named_in_order(base_request: dict) -> None:
    reentry = reentry_of(base_request)
    reentry["product"].update(din="A999818123456N", viability_percent=97, wbc="100 x10^3/mL")
    reentry["order"]["dose_level"] = "DL4"
    assert compare_reentry(base_request, reentry) == (
        "product.wbc", "product.viability_percent", "order.dose_level", "product.din")


def test_flat_dotted_names_work_too(base_request: dict) -> None:
    nested = reentry_of(base_request)
    flat = {f"{section}.{key}": value for section, values in nested.items()
            for key, value in values.items()}
    assert compare_reentry(base_request, flat) == ()


def test_net_weight_is_re_entered_as_net_weight(base_request: dict) -> None:
    product = {k: v for k, v in base_request["product"].items() if k != "volume"}
    request = {**base_request, "product": {**product, "net_weight": "218.4 g"}}
    assert "product.net_weight" in fields_for(request)
    assert "product.volume" not in fields_for(request)
    reentry = reentry_of(request)
    assert compare_reentry(request, reentry) == ()
    reentry["product"]["net_weight"] = "0.2184 kg"
    assert compare_reentry(request, reentry) == ()
    del reentry["product"]["net_weight"]
    reentry["product"]["volume"] = "212 mL"
    with pytest.raises(InputError) as missing:
        compare_reentry(request, reentry)
    assert missing.value.field == "reentry.product.net_weight"


@pytest.mark.parametrize(("field", "value"), [
    ("weight", None), ("weight", "70 mL"), ("weight", "heavy"),
])
def test_missing_or_unusable_values_are_input_errors_naming_the_field(base_request, field,
                                                                      value) -> None:
    reentry = reentry_of(base_request)
    reentry["patient"][field] = value
    with pytest.raises(InputError) as error:
        compare_reentry(base_request, reentry)
    assert error.value.field == "reentry.patient.weight"


@pytest.mark.parametrize("din", ["=G12341765432100", "G1234 17 654321 A", "g123417654321a"])
def test_a_scanned_or_spaced_din_is_the_same_din(base_request: dict, din: str) -> None:
    reentry = reentry_of(base_request)
    reentry["product"]["din"] = din
    assert compare_reentry(base_request, reentry) == ()


@pytest.mark.parametrize("din", ["G1234 17 654321", "G123417654322", "G123417654322A"])
def test_a_din_typed_without_its_check_character_or_with_a_wrong_one_is_refused(
        base_request: dict, din: str) -> None:
    """Re-entry is typed at a keyboard: the check character is required (issue 21: a mistyped
    digit, G123417654322, was a valid-looking DIN); the request file itself may omit it."""
    reentry = reentry_of(base_request)
    reentry["product"]["din"] = din
    with pytest.raises(InputError) as error:
        compare_reentry(base_request, reentry)
    assert error.value.field == "reentry.product.din"
    assert "boxed character printed after the DIN" in error.value.message
    # The right character is never given away (it would be copied, not read from the label).
    assert f"'{check_character(din.replace(' ', '')[:13])}'" not in error.value.message


def test_a_different_din_is_named(base_request: dict) -> None:
    reentry = reentry_of(base_request)
    reentry["product"]["din"] = "A999818123456N"
    assert compare_reentry(base_request, reentry) == ("product.din",)
