"""Parsing what people type and analyzers print, and showing values in lab notation."""

from __future__ import annotations

import pytest

from doseprep.errors import InputError
from doseprep.units import (
    CELLS_PER_ML,
    KG,
    ML,
    Q_,
    Kind,
    fmt_dose,
    fmt_mass,
    fmt_volume,
    parse_quantity,
    round_half_up,
    sci,
)

SAME_CONCENTRATION = ["85.3 x10^3/uL", "85.3 ×10³/µL", "8.53e4/uL", "85.3 10^9/L",
                      "8.53e7/mL", "85300 cell/uL", "85300 cells/µL", "85.3 K/uL", "85.3 G/L",
                      "85.3 x 10^3 / uL", "85.3 10*3/uL", "85.3 X10^3/mcL"]


@pytest.mark.parametrize("text", SAME_CONCENTRATION)
def test_every_analyzer_notation_gives_the_same_concentration(text: str) -> None:
    measured = parse_quantity(text, Kind.CONCENTRATION, "product.wbc")
    assert measured.value.to(CELLS_PER_ML).magnitude == 85_300_000.0
    assert measured.text == text


@pytest.mark.parametrize(("text", "kg"), [("72.4 kg", 72.4), ("159.6 lb", 72.393342252),
                                          ("165 lbs", 74.84274105), ("72400 g", 72.4)])
def test_weights_in_any_unit_become_kilograms(text: str, kg: float) -> None:
    assert parse_quantity(text, Kind.MASS, "patient.weight").value.to(KG).magnitude == kg


@pytest.mark.parametrize(("text", "ml"), [("212 mL", 212.0), ("0.212 L", 212.0),
                                          ("212 ml", 212.0)])
def test_volumes_become_millilitres(text: str, ml: float) -> None:
    assert parse_quantity(text, Kind.VOLUME, "product.volume").value.to(ML).magnitude == ml


@pytest.mark.parametrize(("text", "kind", "words"), [
    ("72 mL", Kind.MASS, "not a mass"),
    ("72", Kind.MASS, "has no unit"),
    ("", Kind.VOLUME, "Enter the volume"),
    ("lots", Kind.VOLUME, "not a number"),
    ("1,5 mL", Kind.VOLUME, "decimal point"),
    ("5 parsecs", Kind.VOLUME, "not a unit doseprep accepts"),
    ("5 kg/uL", Kind.CONCENTRATION, "not a cell concentration"),
    ("5 qq/uL", Kind.CONCENTRATION, "not a unit"),
    ("200 kg", Kind.VOLUME, "not a volume"),
])
def test_bad_text_names_the_field(text: str, kind: Kind, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse_quantity(text, kind, "some.field")
    assert info.value.field == "some.field"
    assert words in info.value.message


def test_cells_have_their_own_dimension() -> None:
    per_kg = Q_(1e6, "cell/kg")
    assert not per_kg.check("1/[mass]")
    assert per_kg.check("[cell_count]/[mass]")


def test_lab_notation() -> None:
    assert sci(1e6) == "1.00 × 10⁶"
    assert sci(39_200_000, 4) == "3.920 × 10⁷"
    assert sci(0.0012) == "1.20 × 10⁻³"
    assert fmt_dose(Q_(1e6, "cell/kg")) == "1.00 × 10⁶ CD3+ cells/kg"
    assert fmt_volume(Q_(1.8, "mL")) == "1.80 mL"
    assert fmt_volume(Q_(48.2, "mL")) == "48.2 mL"
    assert fmt_mass(Q_(165, "lb")) == "165 lb (74.84 kg)"


@pytest.mark.parametrize(("value", "step", "result"), [
    (0.25, 0.1, 0.3), (0.35, 0.1, 0.4), (1.7857, 0.1, 1.8), (1.75, 0.1, 1.8),
    (9.546, 0.2, 9.6), (9.5, 0.2, 9.6), (9.49, 0.2, 9.4), (119.0476, 1, 119), (0.125, 0.01, 0.13),
])
def test_round_half_up_to_the_graduation(value: float, step: float, result: float) -> None:
    assert round_half_up(Q_(value, "mL"), Q_(step, "mL")).magnitude == result


def test_fixed_notation_holds_any_float() -> None:
    """A blocked plan still shows its steps: a CD3+ of 1e-23 % asks for a draw of 6.9e24 mL,
    more digits than Decimal's default precision (found by the input fuzz test)."""
    from doseprep.units import fixed

    assert fixed(6.904713090333739e24, 4) == "6904713090333739000000000.0000"
    assert fixed(1.805, 2) == "1.81"
    assert fixed(1e308, 1).endswith(".0")
