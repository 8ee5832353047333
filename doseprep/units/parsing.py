"""Parsing what people and analyzers type (``85.3 x10^3/uL``, ``87.5 10^9/L``, ``159.6 lb``)
into a :class:`Measured` value that keeps what was typed beside the value in the field's
canonical unit, from a closed list of units (DESIGN.md, "Strict input")."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from fractions import Fraction
from typing import Any

import pint

from doseprep.errors import InputError
from doseprep.units.registry import CELLS_PER_ML, Q_, exact, ureg


class Kind(Enum):
    """What a field holds, which decides the units it accepts (a closed list, DESIGN.md)."""

    MASS = ("mass", "[mass]", "kg", "kg or lb")
    NET_WEIGHT = ("net weight", "[mass]", "g", "g")
    VOLUME = ("volume", "[length] ** 3", "mL", "mL or L")
    CONCENTRATION = ("cell concentration", "[cell_count] / [length] ** 3", "cell/mL",
                     "x10^3/uL, K/uL, 10^9/L, G/L or cells/mL")

    def __init__(self, noun: str, dimension: str, canonical: str, examples: str) -> None:
        self.noun = noun
        self.dimension = dimension
        self.canonical = canonical
        self.examples = examples


@dataclass(frozen=True)
class Measured:
    """A value as typed, and the same value in its field's canonical unit.

    ``text`` is exactly what the person or analyzer gave (kept for records and documents);
    ``entered`` is that value in the units typed; ``value`` is the value the calculation uses;
    ``exact`` is ``value``'s magnitude as an exact fraction of the typed decimal digits, which the
    calculation's rounding and thresholds use (DESIGN.md, "Exactness").
    """

    text: str
    entered: pint.Quantity
    value: pint.Quantity
    exact: Fraction | None = None

    @property
    def magnitude(self) -> Fraction:
        """The canonical value as an exact fraction."""
        if self.exact is not None:
            return self.exact
        return exact(self.value.magnitude)


#: The closed list of units (DESIGN.md, "Strict input"): the spelling after normalisation, the
#: pint unit shown for what was typed, and the exact factor to the field's canonical unit. Case
#: matters where it changes the meaning (mL, not ML: megalitre); nothing else is accepted — not
#: grains ("gr"), ounces, carats, cc, quarts or teaspoons.
_MASS_UNITS: dict[str, tuple[str, Fraction]] = {
    "kg": ("kilogram", Fraction(1)), "Kg": ("kilogram", Fraction(1)),
    "KG": ("kilogram", Fraction(1)),
    "g": ("gram", Fraction(1, 1000)),
    "lb": ("pound", Fraction("0.45359237")), "lbs": ("pound", Fraction("0.45359237")),
    "LB": ("pound", Fraction("0.45359237")), "LBS": ("pound", Fraction("0.45359237")),
}
_NET_WEIGHT_UNITS: dict[str, tuple[str, Fraction]] = {"g": ("gram", Fraction(1))}
_VOLUME_UNITS: dict[str, tuple[str, Fraction]] = {
    "mL": ("milliliter", Fraction(1)), "ml": ("milliliter", Fraction(1)),
    "L": ("liter", Fraction(1000)), "l": ("liter", Fraction(1000)),
}
#: Per-volume denominators of a count, with the factor to "per mL".
_PER_VOLUME: dict[str, tuple[str, Fraction]] = {
    "uL": ("microliter", Fraction(1000)), "ul": ("microliter", Fraction(1000)),
    "mL": ("milliliter", Fraction(1)), "ml": ("milliliter", Fraction(1)),
    "L": ("liter", Fraction(1, 1000)), "l": ("liter", Fraction(1, 1000)),
}
_COUNT_WORDS = ("", "cell", "cells")
_UNITS_BY_KIND = {Kind.MASS: _MASS_UNITS, Kind.NET_WEIGHT: _NET_WEIGHT_UNITS,
                  Kind.VOLUME: _VOLUME_UNITS}

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
#: ASCII digits only: ``\d`` would take other scripts' digits, and Decimal would take "1_0".
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"
_PATTERN = re.compile(
    rf"^(?P<num>{_NUMBER})[ \t]*"
    r"(?:(?:[xX*][ \t]*)?10[ \t]*(?:\^|\*\*|\*)[ \t]*(?P<exp>[+-]?[0-9]{1,2}))?[ \t]*"
    r"(?P<unit>.*)$"
)
_PLAIN_NUMBER = re.compile(rf"^{_NUMBER}$")
#: Analyzer shorthands for a power of ten before "/volume": K/uL (Beckman), G/L (giga per litre).
_PREFIX_SHORTHAND = {"K/uL": 3, "k/uL": 3, "K/ul": 3, "k/ul": 3, "G/L": 9}
#: Typed numbers beyond these decimal exponents are slips, not measurements.
_MAX_EXPONENT = 30


def _normalise(text: str) -> str:
    text = text.strip()
    text = text.replace("µ", "u").replace("μ", "u").replace("×", "x").replace("✕", "x")
    text = text.replace("mcL", "uL").replace("mcl", "ul")
    # Superscript exponents: "10³" -> "10^3", "10⁻³" -> "10^-3".
    return re.sub(r"10([⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)", lambda m: "10^" + m.group(1).translate(_SUPERSCRIPTS),
                  text)


def _decimal(text: str, field: str, raw: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InputError(field, f"\"{raw}\" is not a number.") from None
    return _checked(number, field, raw)


def _checked(number: Decimal, field: str, raw: str) -> Decimal:
    """``number`` if it is finite and of a size a measurement can have."""
    if not number.is_finite():
        raise InputError(field, f"\"{raw}\" is not a finite number.")
    if number != 0 and abs(number.adjusted()) > _MAX_EXPONENT:
        raise InputError(field, f"\"{raw}\" is not a usable number (its size is beyond "
                                f"10^±{_MAX_EXPONENT}); check what was typed.")
    return number


def _unit_error(field: str, kind: Kind, unit_text: str, raw: str) -> InputError:
    return InputError(field, f"\"{unit_text}\" in \"{raw}\" is not a unit doseprep accepts for "
                             f"the {kind.noun}; use {kind.examples}.")


def parse_quantity(text: Any, kind: Kind, field: str) -> Measured:
    """Parse a typed value for a field of the given kind.

    Raises :class:`InputError` naming ``field`` when the text is empty, not a number with a unit,
    or a unit outside the closed list for this kind. A per-volume value in a concentration field
    counts cells.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        raise InputError(field, f"Enter the {kind.noun} with its unit ({kind.examples}).")
    if isinstance(text, bool) or not isinstance(text, str):
        raise InputError(field, f"Give the {kind.noun} as text with a unit, e.g. "
                                f"\"{_example(kind)}\".")
    raw = text
    if len(raw) > 100:
        raise InputError(field, f"The {kind.noun} is too long to be a value ({len(raw)} "
                                "characters).")
    if "," in raw:
        raise InputError(field, f"Use a decimal point, not a comma, in \"{raw}\".")
    match = _PATTERN.match(_normalise(raw))
    if match is None:
        raise InputError(field, f"\"{raw}\" is not a number with a unit; type it like "
                                f"\"{_example(kind)}\".")
    number = _decimal(match.group("num"), field, raw)
    exponent = int(match.group("exp") or 0)
    unit_text = re.sub(r"[ \t]+", "", match.group("unit"))
    if not unit_text:
        raise InputError(field, f"\"{raw}\" has no unit; add one ({kind.examples}).")
    if kind is Kind.CONCENTRATION:
        shown, factor, exponent = _count_unit(unit_text, exponent, kind, field, raw)
        canonical_unit = CELLS_PER_ML
    else:
        units = _UNITS_BY_KIND[kind]
        if unit_text not in units:
            if any(unit_text in table for table in _UNITS_BY_KIND.values()) or \
                    unit_text.startswith("/") or "/" in unit_text:
                raise InputError(field, f"\"{raw}\" is not a {kind.noun}; use {kind.examples}.")
            raise _unit_error(field, kind, unit_text, raw)
        if match.group("exp"):
            raise InputError(field, f"\"{raw}\": a power of ten belongs to cell counts, not to "
                                    f"a {kind.noun}.")
        shown, factor = units[unit_text]
        canonical_unit = ureg.Unit(kind.canonical)
    value = Fraction(number) * Fraction(10) ** exponent
    canonical = value * factor
    entered = Q_(float(value), shown)
    return Measured(text=raw, entered=entered, value=Q_(float(canonical), canonical_unit),
                    exact=canonical)


def _count_unit(unit_text: str, exponent: int, kind: Kind, field: str,
                raw: str) -> tuple[Any, Fraction, int]:
    """The unit of a cell count: cells per µL, mL or L, with K/uL and G/L shorthands."""
    if unit_text in _PREFIX_SHORTHAND:
        if exponent:
            raise _unit_error(field, kind, unit_text, raw)
        exponent = _PREFIX_SHORTHAND[unit_text]
        unit_text = unit_text[1:]
    word, slash, per = unit_text.partition("/")
    if slash and word in _COUNT_WORDS and per in _PER_VOLUME:
        name, factor = _PER_VOLUME[per]
        return ureg.cell / ureg.Unit(name), factor, exponent
    if unit_text in _MASS_UNITS or unit_text in _VOLUME_UNITS or (
            slash and (per in _MASS_UNITS or word in _MASS_UNITS or word in _VOLUME_UNITS)):
        raise InputError(field, f"\"{raw}\" is not a {kind.noun}; use {kind.examples}.")
    raise _unit_error(field, kind, unit_text, raw)


def _example(kind: Kind) -> str:
    return {Kind.MASS: "72.4 kg", Kind.NET_WEIGHT: "218.4 g", Kind.VOLUME: "212 mL",
            Kind.CONCENTRATION: "85.3 x10^3/uL"}[kind]


def parse_number(value: Any, field: str, what: str) -> Decimal:
    """Parse a plain number (a percentage, a dilution factor) given as a number or text, as the
    exact decimal it stands for (DESIGN.md, "Exactness"): ``"4.99999999999999999999"`` stays
    below 5, where a binary float would make it 5.0. A float (a JSON number another program
    wrote) stands for its shortest repr; a :class:`~decimal.Decimal` is a JSON number read
    exactly (:func:`doseprep.jsonread.load_json`).

    A trailing ``%`` is accepted. Raises :class:`InputError` naming ``field`` otherwise.
    """
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(field, f"Enter the {what} as a number.")
    if isinstance(value, int):
        if abs(value) > 10 ** _MAX_EXPONENT:
            raise InputError(field, f"{str(value)[:40]} is not a usable {what}.")
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field, f"\"{value}\" is not a finite number.")
        return _decimal(repr(value), field, repr(value))
    if isinstance(value, Decimal):
        return _checked(value, field, str(value)[:40])
    if isinstance(value, str):
        cleaned = value.strip().removesuffix("%").strip()
        if "," in cleaned:
            raise InputError(field, f"Use a decimal point, not a comma, in \"{value[:40]}\".")
        if len(cleaned) > 40 or not _PLAIN_NUMBER.match(cleaned):
            raise InputError(field, f"\"{value[:40]}\" is not a number; enter the {what} "
                                    f"as a number.")
        return _decimal(cleaned, field, value.strip())
    raise InputError(field, f"Enter the {what} as a number.")
