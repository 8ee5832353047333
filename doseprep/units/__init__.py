"""Units: the program's one pint registry, input parsing and lab notation.

Every physical value inside the domain is a pint ``Quantity`` built from this registry
(:mod:`~doseprep.units.registry`). Text typed by people or printed by analyzers is parsed at the
edge (:mod:`~doseprep.units.parsing`) into a :class:`Measured` value that keeps what was typed
beside the value in the field's canonical unit. Display goes the other way
(:mod:`~doseprep.units.notation`): ``1.00 × 10⁶``, ``1.80 mL``.
"""

from __future__ import annotations

from doseprep.units.notation import (
    fixed,
    fmt_cells,
    fmt_concentration,
    fmt_dose,
    fmt_entered_concentration,
    fmt_mass,
    fmt_percent,
    fmt_volume,
    sci,
    volume_decimals,
)
from doseprep.units.parsing import (
    Kind,
    Measured,
    parse_number,
    parse_quantity,
)
from doseprep.units.registry import (
    CELLS,
    CELLS_PER_KG,
    CELLS_PER_ML,
    GRAM,
    KG,
    ML,
    PERCENT,
    Q_,
    Quantity,
    exact,
    round_half_up,
    round_half_up_exact,
    ureg,
)

__all__ = [
    "CELLS",
    "CELLS_PER_KG",
    "CELLS_PER_ML",
    "GRAM",
    "KG",
    "ML",
    "PERCENT",
    "Q_",
    "Kind",
    "Measured",
    "Quantity",
    "exact",
    "fixed",
    "fmt_cells",
    "fmt_concentration",
    "fmt_dose",
    "fmt_entered_concentration",
    "fmt_mass",
    "fmt_percent",
    "fmt_volume",
    "parse_number",
    "parse_quantity",
    "round_half_up",
    "round_half_up_exact",
    "sci",
    "ureg",
    "volume_decimals",
]
