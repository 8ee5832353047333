"""Lab notation: ``1.00 × 10⁶``, ``1.80 mL``, ``70 kg``, ``40 %``; fixed decimals rounded half up
as on a worksheet."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal

import pint

from doseprep.units.parsing import Measured
from doseprep.units.registry import CELLS, CELLS_PER_KG, CELLS_PER_ML, KG, ML

_TO_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def sci(value: float, digits: int = 3) -> str:
    """A number in lab notation with ``digits`` significant digits: ``1.00 × 10⁶``."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    exp = int(exponent)
    if exp == 0:
        return mantissa
    return f"{mantissa} × 10{str(exp).translate(_TO_SUPERSCRIPT)}"


#: Enough digits for any float with its decimals: quantize() refuses a result longer than the
#: context's precision (the default 28 digits failed on 6.9e24 mL, the draw a CD3+ of 1e-23 %
#: asks for — a plan that is blocked, but still shows its steps).
_FIXED_CONTEXT = Context(prec=400)


def fixed(value: float, decimals: int) -> str:
    """A number with a fixed count of decimals, halves rounded up (as on a worksheet)."""
    q = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP,
                                             context=_FIXED_CONTEXT)
    return f"{q:f}"


def volume_decimals(milliliters: float) -> int:
    """Decimals shown for a volume: two below 10 mL (``1.80 mL``), one above (``48.2 mL``)."""
    return 2 if abs(milliliters) < 10 else 1


def fmt_volume(quantity: pint.Quantity, decimals: int | None = None) -> str:
    """A volume in mL: ``1.80 mL``, ``48.2 mL``."""
    ml = float(quantity.to(ML).magnitude)
    return f"{fixed(ml, volume_decimals(ml) if decimals is None else decimals)} mL"


def fmt_mass(quantity: pint.Quantity) -> str:
    """A mass as typed, with kg beside pounds: ``72.4 kg``, ``165 lb (74.84 kg)``."""
    kg = float(quantity.to(KG).magnitude)
    if quantity.units == KG:
        return f"{_plain(quantity.magnitude)} kg"
    symbol = f"{quantity.units:~}"
    return f"{_plain(quantity.magnitude)} {symbol} ({fixed(kg, 2)} kg)"


def fmt_cells(quantity: pint.Quantity, label: str = "cells", digits: int = 3) -> str:
    """A cell count: ``7.06 × 10⁷ cells``."""
    return f"{sci(float(quantity.to(CELLS).magnitude), digits)} {label}"


def fmt_concentration(quantity: pint.Quantity, label: str = "cells/mL", digits: int = 3) -> str:
    """A cell concentration per mL: ``3.92 × 10⁷ cells/mL``."""
    return f"{sci(float(quantity.to(CELLS_PER_ML).magnitude), digits)} {label}"


def fmt_dose(quantity: pint.Quantity, digits: int = 3) -> str:
    """A dose per kg: ``1.00 × 10⁶ CD3+ cells/kg``."""
    return f"{sci(float(quantity.to(CELLS_PER_KG).magnitude), digits)} CD3+ cells/kg"


def fmt_entered_concentration(measured: Measured) -> str:
    """A concentration as the analyzer printed it and in cells/mL, e.g. for documents."""
    return f"{measured.text} (= {fmt_concentration(measured.value, digits=4)})"


def fmt_percent(value: float | Decimal) -> str:
    """A percentage without needless zeros: ``40 %``, ``62.5 %``; a typed (Decimal) one with
    every digit typed, so ``4.99999999999999999999 %`` never shows as ``5 %``."""
    return f"{_plain(value)} %"


def _plain(value: float | Decimal) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        value = value.normalize()
        return f"{value:f}" if value.adjusted() < 20 else f"{value:g}"
    return f"{float(value):.10g}"
