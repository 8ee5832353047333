"""The patient and product sections of a request, every wrong field named."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from doseprep.errors import InputError
from doseprep.isbt128 import din_from_scan_or_entry, parse_abo_rh
from doseprep.request._base import (
    MAX_SAMPLE_DILUTION,
    MAX_VOLUME_ML,
    MAX_WEIGHT_KG,
    Patient,
    Product,
)
from doseprep.request.fields import _Errors, _percent, _text, _timestamp
from doseprep.units import KG, ML, Kind, Measured, parse_number, parse_quantity


def _birth_date(p: Mapping[str, Any]) -> date:
    birth_text = _text(p, "patient.birth_date", "date of birth (YYYY-MM-DD)")
    try:
        return date.fromisoformat(birth_text)
    except ValueError:
        raise InputError("patient.birth_date", f"\"{birth_text}\" is not a date; write it like "
                                               "1980-02-29.") from None


def _weight(p: Mapping[str, Any]) -> Measured:
    weight = parse_quantity(p.get("weight"), Kind.MASS, "patient.weight")
    kg = weight.value.to(KG).magnitude
    if not 0 < kg <= MAX_WEIGHT_KG:
        raise InputError("patient.weight", f"The weight must be more than 0 and at most "
                                           f"{MAX_WEIGHT_KG:g} kg (got {weight.text}).")
    return weight


def parse_patient(p: Mapping[str, Any]) -> Patient:
    """The ``patient`` section (its keys already checked) as a :class:`Patient`; every wrong
    field is reported (:class:`InvalidRequestError`)."""
    errors = _Errors()
    patient = _patient(p, errors)
    errors.check()
    assert patient is not None
    return patient


def _patient(p: Mapping[str, Any], errors: _Errors) -> Patient | None:
    birth = errors.get("patient.birth_date", _birth_date, p)
    weight = errors.get("patient.weight", _weight, p)
    mrn = errors.get("patient.id", _text, p, "patient.id", "patient's MRN", limit=64)
    name = errors.get("patient.name", _text, p, "patient.name", "patient's name (LAST, First)")
    if None in (birth, weight, mrn, name):
        return None
    return Patient(id=mrn, name=name, birth_date=birth, weight=weight)


def _amount(r: Mapping[str, Any]) -> tuple[Measured | None, Measured | None]:
    """The product's volume or its net weight (exactly one)."""
    if r.get("volume") not in (None, ""):
        if r.get("net_weight") not in (None, ""):
            raise InputError("product.volume", "Give either the volume or the net weight, "
                                               "not both.")
        volume = parse_quantity(r.get("volume"), Kind.VOLUME, "product.volume")
        ml = volume.value.to(ML).magnitude
        if not 0 < ml <= MAX_VOLUME_ML:
            raise InputError("product.volume", f"The product volume must be more than 0 and at "
                                               f"most {MAX_VOLUME_ML:g} mL (got {volume.text}).")
        return volume, None
    if r.get("net_weight") not in (None, ""):
        net_weight = parse_quantity(r.get("net_weight"), Kind.NET_WEIGHT, "product.net_weight")
        # The volume it makes (at most 2000 mL) is checked with the lab's specific gravity in
        # the plan; here only the sign and a bound no lab's gravity could bring under 2000 mL.
        if not 0 < net_weight.magnitude <= MAX_VOLUME_ML * 3:
            raise InputError("product.net_weight", f"The net weight must be more than 0 g and "
                                                   f"make at most {MAX_VOLUME_ML:g} mL "
                                                   f"(got {net_weight.text}).")
        return None, net_weight
    raise InputError("product.volume", "Enter the product volume (mL) or its net weight (g).")


def _wbc(r: Mapping[str, Any]) -> Measured:
    wbc = parse_quantity(r.get("wbc"), Kind.CONCENTRATION, "product.wbc")
    if wbc.value.magnitude <= 0:
        raise InputError("product.wbc", f"The WBC count must be more than 0 (got {wbc.text}).")
    return wbc


def _sample_dilution(r: Mapping[str, Any]) -> Decimal:
    if r.get("sample_dilution") is None:
        raise InputError("product.sample_dilution", "Enter the sample dilution factor of the "
                                                    "analyzer count (1 for an undiluted sample).")
    dilution = parse_number(r.get("sample_dilution"), "product.sample_dilution",
                            "sample dilution factor")
    if not 1 <= dilution <= MAX_SAMPLE_DILUTION:
        raise InputError("product.sample_dilution", "The sample dilution factor must be 1 "
                                                    f"(undiluted) to {MAX_SAMPLE_DILUTION:,} "
                                                    f"(got {dilution:g}).")
    return dilution


def _abo_rh(r: Mapping[str, Any]) -> str | None:
    abo_rh = r.get("abo_rh")
    if abo_rh is not None and (not isinstance(abo_rh, str) or not abo_rh.strip()):
        raise InputError("product.abo_rh", "Give the donor's ABO/Rh as text, e.g. \"A POS\".")
    if not abo_rh:
        return None
    if len(abo_rh) > 40:
        raise InputError("product.abo_rh", f"The ABO/Rh is {len(abo_rh)} characters long; give "
                                           "the group and RhD type, e.g. \"A POS\".")
    abo, rh = parse_abo_rh(abo_rh, "product.abo_rh")
    return f"{abo} {rh}"


def _din(r: Mapping[str, Any], keyboard: bool = False) -> tuple[str, str]:
    din, flags = din_from_scan_or_entry(
        _text(r, "product.din", "donation identification number (DIN)", limit=40),
        "product.din", keyboard=keyboard)
    return din.code, flags


def parse_product(r: Mapping[str, Any], zone: ZoneInfo | None,
                  assumed: list[str], *, keyboard: bool = False) -> Product:
    """The ``product`` section (its keys already checked) as a :class:`Product`; every wrong
    field is reported (:class:`InvalidRequestError`).

    A collection time without an offset is in ``zone``; its field is added to ``assumed``.
    ``keyboard``: the DIN was typed at a keyboard (a form), so it needs its check character.
    Shared by the fresh request and the cycle-2 freeze request.
    """
    errors = _Errors()
    product = _product(r, zone, assumed, errors, keyboard)
    errors.check()
    assert product is not None
    return product


def _product(r: Mapping[str, Any], zone: ZoneInfo | None, assumed: list[str],
             errors: _Errors, keyboard: bool = False) -> Product | None:
    amount = errors.get(None, _amount, r)
    volume, net_weight = amount if amount is not None else (None, None)
    if volume is not None:
        errors.parsed["product.volume"] = volume
    if net_weight is not None:
        errors.parsed["product.net_weight"] = net_weight
    wbc = errors.get("product.wbc", _wbc, r)
    dilution = errors.get("product.sample_dilution", _sample_dilution, r)
    din = errors.get("product.din", _din, r, keyboard)
    abo_rh = errors.get("product.abo_rh", _abo_rh, r)
    collected_at = errors.get("product.collected_at", _timestamp, r.get("collected_at"),
                              "product.collected_at", "collection date and time", zone, assumed)
    cd3 = errors.get("product.cd3_percent", _percent, r, "product.cd3_percent",
                     "CD3+ percentage")
    viability = errors.get("product.viability_percent", _percent, r,
                           "product.viability_percent", "viability")
    if amount is None or None in (wbc, dilution, din, collected_at, cd3, viability) \
            or (r.get("abo_rh") and abo_rh is None):
        return None
    return Product(din=din[0], din_flags=din[1], collected_at=collected_at, volume=volume,
                   net_weight=net_weight, wbc=wbc, sample_dilution=dilution, cd3_percent=cd3,
                   viability_percent=viability, abo_rh=abo_rh)
