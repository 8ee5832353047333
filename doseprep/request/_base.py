"""What the other parts of the package share: constants, value types and helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

# The protocol of a request that names none (re-exported for the request's readers).
from doseprep.resources import DEFAULT_PROTOCOL as DEFAULT_PROTOCOL
from doseprep.units import Measured, exact

MAX_WEIGHT_KG = 500.0


MAX_VOLUME_ML = 2000.0


#: Collection and preparation dates outside these years are typing mistakes.
MIN_YEAR, MAX_YEAR = 2000, 2999


#: Longest text accepted in a name or identifier field; longer is a paste gone wrong.
MAX_TEXT = 200


#: Longest protocol reference (a bundled id or the path of a protocol file) accepted in a request.
MAX_PROTOCOL_REF = 255


#: A sample diluted more than this for the analyzer is a slip.
MAX_SAMPLE_DILUTION = 10_000


#: Every key a request may hold (DESIGN.md, "Strict input"; docs/request.schema.json). Anything
#: else is an input error naming it: a misspelt ``sample_dillution`` was once silently ignored.
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": ("protocol", "order", "patient", "product", "prepared_at", "confirmations"),
    "order": ("dose_level", "cycle", "infusion"),
    "patient": ("id", "name", "birth_date", "weight"),
    "product": ("din", "collected_at", "volume", "net_weight", "wbc", "sample_dilution",
                "cd3_percent", "viability_percent", "abo_rh"),
}
#: The keys of the cycle-2 requests (DESIGN.md, "Cryopreserved aliquots"): freeze and thaw.
CRYO_KEYS: dict[str, tuple[str, ...]] = {
    "freeze": ("kind", "protocol", "patient", "product", "aliquots", "frozen_at",
               "confirmations"),
    "freeze.aliquot": ("cycle", "infusion", "dose_level"),
    "thaw": ("kind", "protocol", "patient", "aliquot", "aliquot_ref", "thawed_at", "post_thaw",
             "confirmations"),
    "thaw.aliquot": ("din", "division", "frozen_viable_cd3", "final_volume",
                     "final_dmso_percent", "dose_level", "planned_weight", "frozen_expires_at"),
    "post_thaw": ("wbc", "sample_dilution", "cd3_percent", "viability_percent", "sample_volume"),
}


#: Fields whose implausible values a request may confirm, with a reason (DESIGN.md,
#: "Plausibility").
CONFIRMABLE: tuple[str, ...] = ("product.cd3_percent", "product.wbc", "patient.weight")


@dataclass(frozen=True)
class Patient:
    id: str
    name: str
    birth_date: date
    weight: Measured


@dataclass(frozen=True)
class Product:
    din: str
    collected_at: datetime
    volume: Measured | None  # exactly one of volume and net_weight is given
    net_weight: Measured | None
    wbc: Measured
    #: Plain numbers exactly as typed (DESIGN.md, "Exactness"): thresholds are decided on them.
    sample_dilution: Decimal
    cd3_percent: Decimal
    viability_percent: Decimal
    abo_rh: str | None = None  # "A POS": ABO group and RhD type, as isbt128.parse_abo_rh reads it
    din_flags: str = "00"  # ISBT 128 flag characters, from a scanned DIN


@dataclass(frozen=True)
class Order:
    dose_level: str
    cycle: int
    infusion: int


@dataclass(frozen=True)
class PreparationRequest:
    protocol: str
    order: Order
    patient: Patient
    product: Product
    prepared_at: datetime
    #: Implausible values confirmed on purpose: dotted field -> the reason given.
    confirmations: Mapping[str, str] = field(default_factory=dict)
    #: Request fields whose time was typed without a UTC offset (then in the site's zone).
    zone_assumed: tuple[str, ...] = ()


def number_out(value: Decimal | Fraction | float | int) -> int | float | str:
    """A number for a request's JSON, as it was typed: a whole number as an integer; a decimal
    that a binary float holds exactly as typed as a number; any other (more digits than a float
    keeps, ``4.99999999999999999999``) as its exact decimal text, which the request's parser
    reads back to the same value — a stored request recomputes to the same plan."""
    value_x = exact(value)
    if value_x.denominator == 1:
        return int(value_x)
    as_float = float(value_x)
    if exact(as_float) == value_x or not isinstance(value, Decimal):
        return as_float
    return str(value)
