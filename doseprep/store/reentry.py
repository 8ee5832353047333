"""Blind double entry: the verifier types the key values again without seeing the preparer's.

:func:`compare_reentry` parses both sides with the domain's own parsers and compares *values*, so
``165 lb`` equals ``74.84274105 kg`` and ``100 x10^3/uL`` equals ``100 10^9/L``, and returns the
dotted names of the fields that differ. A re-entry can be given in the request's nested shape
(``{"patient": {"weight": ...}}``) or flat (``{"patient.weight": ...}``). No database here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from doseprep.errors import InputError
from doseprep.isbt128 import din_from_scan_or_entry
from doseprep.units import Kind, parse_number, parse_quantity

#: The fields re-entered, with how each is compared. The product is re-entered the way the preparer
#: measured it: by volume or by net weight.
REENTRY_FIELDS: tuple[tuple[str, str], ...] = (
    ("patient.weight", "mass"),
    ("product.volume", "volume"),
    ("product.net_weight", "mass"),
    ("product.wbc", "concentration"),
    ("product.cd3_percent", "number"),
    ("product.viability_percent", "number"),
    ("product.sample_dilution", "number"),
    ("order.dose_level", "code"),
    ("product.din", "din"),
    # A thaw record: the bag (scanned or typed) and the post-thaw counts.
    ("aliquot.din", "din"),
    ("aliquot.division", "code"),
    ("post_thaw.wbc", "concentration"),
    ("post_thaw.cd3_percent", "number"),
    ("post_thaw.viability_percent", "number"),
    ("post_thaw.sample_dilution", "number"),
    ("post_thaw.sample_volume", "volume"),
)
_FRESH = ("patient.weight", "product.volume", "product.net_weight", "product.wbc",
          "product.cd3_percent", "product.viability_percent", "product.sample_dilution",
          "order.dose_level", "product.din")
_DILUTIONS = ("product.sample_dilution", "post_thaw.sample_dilution")

#: Longest re-entered value accepted (the longest a value of these fields can be is far less).
_LONGEST = 100
_KINDS = {"mass": Kind.MASS, "volume": Kind.VOLUME, "concentration": Kind.CONCENTRATION}
_LABELS = {
    "patient.weight": "patient weight", "product.volume": "product volume",
    "product.net_weight": "product net weight", "product.wbc": "WBC count",
    "product.cd3_percent": "CD3+ percentage", "product.viability_percent": "viability",
    "product.sample_dilution": "sample dilution factor", "order.dose_level": "dose level",
    "product.din": "DIN",
    "aliquot.din": "bag DIN", "aliquot.division": "bag division (e.g. B0)",
    "post_thaw.wbc": "post-thaw WBC count", "post_thaw.cd3_percent": "post-thaw CD3+ percentage",
    "post_thaw.viability_percent": "post-thaw viability",
    "post_thaw.sample_dilution": "post-thaw sample dilution factor",
    "post_thaw.sample_volume": "post-thaw sample volume",
}


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    if path in data:
        return data[path]
    section, key = path.split(".", 1)
    inner = data.get(section)
    return inner.get(key) if isinstance(inner, Mapping) else None


def fields_for(request: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields the verifier must re-enter for this stored request (volume or net weight):
    a fresh or freeze record's counts; a thaw record's bag and post-thaw counts."""
    kind = request.get("kind", "fresh")
    if kind == "thaw":
        wanted = ["patient.weight", "aliquot.din", "aliquot.division"]
        counts = request.get("post_thaw")
        if isinstance(counts, Mapping):
            wanted += ["post_thaw.wbc", "post_thaw.cd3_percent", "post_thaw.viability_percent",
                       "post_thaw.sample_dilution"]
            # The sample is not infused (DESIGN.md, "Thaw request"); a thaw saved before it was
            # recorded has none to compare.
            if counts.get("sample_volume") not in (None, ""):
                wanted.append("post_thaw.sample_volume")
        return tuple(wanted)
    measured_by_volume = _lookup(request, "product.volume") not in (None, "")
    skip = {"product.net_weight" if measured_by_volume else "product.volume"}
    if kind == "freeze":
        skip.add("order.dose_level")  # each bag's level is in the plan, re-read at release
    return tuple(name for name in _FRESH if name not in skip)


def label(field: str) -> str:
    """A field's name in the lab's words (for prompts)."""
    return _LABELS[field]


def _value(raw: Any, how: str, field: str, *, keyboard: bool = False) -> Any:
    """``raw`` parsed for comparing; ``keyboard``: re-entered by a person (a typed DIN needs its
    check character), not read from the stored request."""
    what = _LABELS[field.removeprefix("reentry.")]
    if isinstance(raw, str) and len(raw.strip()) > _LONGEST:
        raise InputError(field, f"The {what} re-entered is {len(raw.strip())} characters long; "
                                f"at most {_LONGEST} are accepted. Type it again from the source "
                                "document.")
    if how in ("din", "code") and raw is not None \
            and (isinstance(raw, bool) or not isinstance(raw, str | int)):
        raise InputError(field, f"Re-enter the {what} as text.")
    if how in _KINDS:
        return float(parse_quantity(raw, _KINDS[how], field).value.magnitude)
    if how == "din":
        # Scanned (=G12341765432100), eye-readable (G1234 17 654321) or typed: the same DIN.
        if raw is None or not str(raw).strip():
            raise InputError(field, f"Re-enter the {what}.")
        return din_from_scan_or_entry(str(raw), field, keyboard=keyboard)[0].code
    if how == "number":
        return parse_number(raw, field, what)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InputError(field, f"Re-enter the {what}.")
    return str(raw).strip().upper()


def _check_only_reentry_fields(reentry: Mapping[str, Any]) -> None:
    """A re-entry holds the re-entered values and nothing else: a copy of the request file (with
    the patient's name, times, the order's cycle …) is not a blind re-entry (issue 9)."""
    known = {name for name, _ in REENTRY_FIELDS}
    sections = {name.split(".", 1)[0] for name in known}
    for key, value in reentry.items():
        if key in known:
            continue
        if key in sections and isinstance(value, Mapping):
            for inner in value:
                if f"{key}.{inner}" not in known:
                    raise InputError(f"reentry.{key}.{str(inner)[:40]}", _NOT_REENTERED)
            continue
        raise InputError(f"reentry.{str(key)[:60]}", _NOT_REENTERED)


_NOT_REENTERED = ("is not one of the re-entered values; a blind re-entry holds only the patient "
                  "weight, the product volume or net weight, WBC, CD3+ %, viability %, sample "
                  "dilution, dose level and DIN (for a thaw: the bag DIN and division and the "
                  "post-thaw counts), typed again from the source documents — a copy of the "
                  "request file is not a re-entry (see docs/reentry.md).")


def compare_reentry(request: Mapping[str, Any], reentry: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields whose re-entered value differs from the stored request's, in a fixed order.

    Raises :class:`InputError` (field ``reentry.<path>``) when a re-entered value is missing or
    cannot be parsed.
    """
    if not isinstance(reentry, Mapping):
        raise InputError("reentry", "The re-entry must be a JSON object of the re-entered values.")
    _check_only_reentry_fields(reentry)
    how_by_field = dict(REENTRY_FIELDS)
    mismatched = []
    for field in fields_for(request):
        how = how_by_field[field]
        given = _lookup(reentry, field)
        if given in (None, ""):
            if field in ("product.volume", "product.net_weight"):
                raise InputError(f"reentry.{field}", f"Re-enter the {_LABELS[field]}: the "
                                 "product is re-entered the way it was measured.")
            if field in _DILUTIONS:
                given = 1
            else:
                raise InputError(f"reentry.{field}", f"Re-enter the {_LABELS[field]}.")
        entered = _value(given, how, f"reentry.{field}", keyboard=True)
        stored_raw = _lookup(request, field)
        if stored_raw in (None, "") and field in _DILUTIONS:
            stored_raw = 1
        stored = _value(stored_raw, how, field)
        same = (math.isclose(entered, stored, rel_tol=1e-9, abs_tol=0.0)
                if isinstance(stored, float) else entered == stored)
        if not same:
            mismatched.append(field)
    return tuple(mismatched)
