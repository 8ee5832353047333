"""The program's one pint registry and its units; exact fractions and rounding.

``cell`` is a base unit with its own dimension, so ``cells/kg`` can never be mistaken for
``1/kg``. The registry's parsed definitions are cached on disk so a launch does not pay for a
cold registry.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pint

from doseprep.paths import cache_dir

log = logging.getLogger(__name__)


def _make_registry() -> pint.UnitRegistry:
    folder = cache_dir() / "pint"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        registry = pint.UnitRegistry(cache_folder=folder)
    except OSError as exc:  # a read-only profile must not stop the program, only slow it
        log.warning("pint cache at %s not usable (%s); loading definitions uncached", folder, exc)
        registry = pint.UnitRegistry()
    registry.define("cell = [cell_count] = cells")
    registry.define("lbs = pound")
    return registry


ureg = _make_registry()
Q_ = ureg.Quantity
Quantity = pint.Quantity

#: The unit each kind of field is held in inside the domain.
KG = ureg.kilogram
ML = ureg.milliliter
GRAM = ureg.gram
CELLS = ureg.cell
CELLS_PER_ML = ureg.cell / ureg.milliliter
CELLS_PER_KG = ureg.cell / ureg.kilogram
PERCENT = ureg.percent


def exact(value: Any) -> Fraction:
    """The exact decimal a float stands for (its shortest repr), or an int or a (finite)
    Decimal, as a fraction."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int | Decimal):
        return Fraction(value)
    return Fraction(Decimal(repr(float(value))))


def round_half_up_exact(value: Fraction, step: Fraction) -> Fraction:
    """``value`` to a whole number of ``step``, halves up, exactly: 1.85 on 0.1 gives 1.9."""
    return math.floor(value / step + Fraction(1, 2)) * step


def round_half_up(value: pint.Quantity, step: pint.Quantity) -> pint.Quantity:
    """Round ``value`` to a whole number of ``step`` with halves going up, on the exact decimals
    the floats stand for (:func:`round_half_up_exact`), so 0.25 mL on a 0.1 mL graduation gives
    0.3 mL as a person would expect, not 0.2 mL as binary floats would."""
    unit = step.units
    rounded = round_half_up_exact(exact(value.to(unit).magnitude), exact(step.magnitude))
    return Q_(float(rounded), unit)
