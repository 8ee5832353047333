"""The frozen bag's section of a thaw request and its post-thaw sample, checked like the product
(DESIGN.md, "Revision 3", "Thaw request"): a final volume more than 0 mL, a final DMSO percentage
in (0, 20] with a plausibility floor of 1 % (0.1 typed for 10 % is IMPLAUSIBLE_INPUT, "did you mean
10 %?"), a frozen count more than 0, a division as on the label, and the volume taken for the
post-thaw count. Each refusal names its field."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from doseprep.calc.checks import report_slips
from doseprep.calc.model import Finding
from doseprep.errors import InputError
from doseprep.request import MAX_VOLUME_ML
from doseprep.request.fields import _text
from doseprep.units import Kind, Measured, fmt_percent, parse_number, parse_quantity

#: The final DMSO concentration of a frozen bag: more than 0 and at most this (%); below the
#: plausibility floor it is IMPLAUSIBLE_INPUT — 0.1 typed for 10 % (DESIGN.md, "Thaw request").
MAX_FINAL_DMSO_PERCENT = Fraction(20)
PLAUSIBLE_FINAL_DMSO_PERCENT = Fraction(1)
#: Implausible values of a thaw request that may be confirmed with a reason.
THAW_CONFIRMABLE = ("aliquot.final_dmso_percent",)


def read_division(value: Mapping[str, Any]) -> str:
    division = _text(value, "aliquot.division", "division (e.g. B0)", limit=2).upper()
    if len(division) != 2 or not ("A" <= division[0] <= "Z" and division[1].isdigit()
                                  and division.isascii()):
        raise InputError("aliquot.division", f"\"{division}\" is not a division: a letter and "
                                             "a digit, as on the bag label (e.g. B0).")
    return division


def read_frozen_count(value: Mapping[str, Any]) -> Decimal:
    frozen = parse_number(value.get("frozen_viable_cd3"), "aliquot.frozen_viable_cd3",
                          "frozen viable CD3+ count")
    if frozen <= 0:
        raise InputError("aliquot.frozen_viable_cd3", f"The frozen viable CD3+ count must be "
                                                      f"more than 0 (got {frozen:g}).")
    return frozen


def read_final_volume(value: Mapping[str, Any]) -> Measured:
    """More than 0 mL; that it fits the lab's largest bag is checked with the lab's bags."""
    volume = parse_quantity(value.get("final_volume"), Kind.VOLUME, "aliquot.final_volume")
    if not 0 < volume.magnitude <= MAX_VOLUME_ML:
        raise InputError("aliquot.final_volume", f"The bag's final volume must be more than 0 "
                                                 f"mL (got {volume.text}).")
    return volume


def read_final_dmso(value: Mapping[str, Any]) -> Decimal:
    dmso = parse_number(value.get("final_dmso_percent"), "aliquot.final_dmso_percent",
                        "final DMSO percentage")
    if not 0 < dmso <= MAX_FINAL_DMSO_PERCENT:
        raise InputError("aliquot.final_dmso_percent",
                         f"The bag's final DMSO must be more than 0 and at most "
                         f"{MAX_FINAL_DMSO_PERCENT} % (got {fmt_percent(dmso)}); give it as a "
                         "percentage, e.g. 10 for 10 %.")
    return dmso


def read_sample_volume(value: Mapping[str, Any]) -> Measured:
    """The volume taken for the post-thaw count (required with the count: it is not infused)."""
    if value.get("sample_volume") in (None, ""):
        raise InputError("post_thaw.sample_volume", "Enter the volume taken from the thawed "
                                                    "bag for the count (e.g. 1 mL): it is not "
                                                    "infused.")
    sample = parse_quantity(value.get("sample_volume"), Kind.VOLUME, "post_thaw.sample_volume")
    if not 0 < sample.magnitude <= MAX_VOLUME_ML:
        raise InputError("post_thaw.sample_volume", f"The sample volume must be more than 0 mL "
                                                    f"(got {sample.text}).")
    return sample


def dmso_plausibility(dmso: Fraction, confirmations: Mapping[str, str],
                      findings: list[Finding]) -> None:
    """A final DMSO below the plausible floor is a slip (0.1 typed for 10 %): IMPLAUSIBLE_INPUT,
    unless the request confirms it with a reason (as the fresh plan's plausibility checks)."""
    if dmso >= PLAUSIBLE_FINAL_DMSO_PERCENT:
        return
    guess = ""
    if PLAUSIBLE_FINAL_DMSO_PERCENT <= dmso * 100 <= MAX_FINAL_DMSO_PERCENT:
        guess = f" — did you mean {float(dmso * 100):g} %? (DMSO typed as a fraction)"
    report_slips([("aliquot.final_dmso_percent",
                   f"final DMSO {float(dmso):g} % is below the plausible "
                   f"{float(PLAUSIBLE_FINAL_DMSO_PERCENT):g} %{guess}")],
                 confirmations, findings)
