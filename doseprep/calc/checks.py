"""The checks of the product and the request that are findings, not arithmetic: plausibility
(a slip of units or of a decimal), UTC offsets that are not the site's, viability and product
age. Shared by the fresh plan and the freeze and thaw plans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from doseprep.calc.model import Finding, Severity
from doseprep.calc.quantities import quantity
from doseprep.protocol import LabSettings, Protocol
from doseprep.request import MAX_WEIGHT_KG, PreparationRequest
from doseprep.units import CELLS_PER_ML, exact, fixed, fmt_concentration, fmt_percent, sci
from doseprep.units.instants import at_site, elapsed, offset_text, show


def _plain_number(value: Fraction | float) -> str:
    return f"{float(value):.6g}"


def plausibility(request: PreparationRequest, lab: LabSettings, wbc_x: Fraction,
                  findings: list[Finding]) -> None:
    """Values inside the hard limits but outside the lab's plausible ranges (DESIGN.md).

    Each is IMPLAUSIBLE_INPUT (block) naming the field and the likely intended value, unless the
    request confirms it with a reason: then IMPLAUSIBLE_INPUT_CONFIRMED (warning) with the reason.
    """
    ranges = lab.plausible
    product = request.product
    slips: list[tuple[str, str]] = []
    cd3 = exact(product.cd3_percent)
    if cd3 < exact(ranges.cd3_percent_min):
        guess = ""
        if cd3 * 100 <= 100 and cd3 * 100 >= exact(ranges.cd3_percent_min):
            guess = (f" — did you mean {_plain_number(cd3 * 100)} %? (CD3+ typed as a "
                     "fraction)")
        slips.append(("product.cd3_percent",
                      f"CD3+ {fmt_percent(product.cd3_percent)} is below the plausible "
                      f"{ranges.cd3_percent_min:g} %{guess}"))
    low, high = exact(ranges.wbc_per_ml_min), exact(ranges.wbc_per_ml_max)
    if not low <= wbc_x <= high:
        guess = ""
        for factor, hint in ((1000, "per µL rather than per mL, or ×10³ left out"),
                             (Fraction(1, 1000), "per mL rather than per µL")):
            if low <= wbc_x * factor <= high:
                guess = (f" — did you mean {_plain_number(wbc_x * factor / 1_000_000)} "
                         f"×10³/µL? ({hint})")
                break
        slips.append(("product.wbc",
                      f"The WBC count × sample dilution {product.sample_dilution:g} is "
                      f"{fmt_concentration(quantity(wbc_x, CELLS_PER_ML))}, outside the plausible "
                      f"{sci(ranges.wbc_per_ml_min)} to {sci(ranges.wbc_per_ml_max)} cells/mL"
                      f"{guess}"))
    weight = request.patient.weight.magnitude
    if weight < exact(ranges.weight_kg_min):
        guess = ""
        if exact(ranges.weight_kg_min) <= weight * 1000 <= exact(MAX_WEIGHT_KG):
            guess = f" — did you mean {_plain_number(weight * 1000)} kg? (grams typed as kg)"
        slips.append(("patient.weight",
                      f"Weight {request.patient.weight.text} is below the plausible "
                      f"{ranges.weight_kg_min:g} kg{guess}"))
    report_slips(slips, request.confirmations, findings)


def report_slips(slips: list[tuple[str, str]], confirmations: Mapping[str, str],
                 findings: list[Finding]) -> None:
    """Each implausible (field, description): IMPLAUSIBLE_INPUT (block) naming it, or, when
    ``confirmations`` gives a reason for the field, IMPLAUSIBLE_INPUT_CONFIRMED (warning)."""
    for field, text in slips:
        reason = confirmations.get(field)
        if reason:
            findings.append(Finding(
                "IMPLAUSIBLE_INPUT_CONFIRMED", Severity.WARNING,
                f"{field}: {text}. Confirmed as typed: \"{reason}\".", field))
        else:
            findings.append(Finding(
                "IMPLAUSIBLE_INPUT", Severity.BLOCK,
                f"{field}: {text}. Correct it, or confirm the value with a reason if it is "
                "really so.", field))


def time_zone_checks(request: PreparationRequest, lab: LabSettings,
                     findings: list[Finding]) -> None:
    """UTC_OFFSET_MISMATCH on the fresh request's times (:func:`offset_checks`)."""
    offset_checks((("product.collected_at", request.product.collected_at),
                   ("prepared_at", request.prepared_at)), request.zone_assumed, lab, findings)


def offset_checks(moments: Iterable[tuple[str, datetime]], zone_assumed: Iterable[str],
                  lab: LabSettings, findings: list[Finding]) -> None:
    """A typed UTC offset that is not the site's at that instant (a stale offset after the
    clocks changed shifts every time by an hour): UTC_OFFSET_MISMATCH (warning) naming the
    field, on every plan kind (fresh, freeze, thaw). Times typed without an offset
    (``zone_assumed``) took the site's and are not checked."""
    assumed = set(zone_assumed)
    for field, moment in moments:
        if field in assumed:
            continue
        local = at_site(moment, lab.time_zone)
        if local.utcoffset() != moment.utcoffset():
            findings.append(Finding(
                "UTC_OFFSET_MISMATCH", Severity.WARNING,
                f"{field}: the offset UTC{offset_text(moment)} is not {lab.time_zone}'s at that "
                f"moment (UTC{offset_text(local)}); {moment:%Y-%m-%d %H:%M} "
                f"UTC{offset_text(moment)} is {show(moment, lab.time_zone)} at the site. Check the "
                "time (a stale offset after a clock change shifts it by an hour).",
                field))


def product_checks(viability_percent: Decimal | float, collected_at: datetime, used_at: datetime,
                   protocol: Protocol, findings: list[Finding]) -> None:
    """LOW_VIABILITY below the protocol's minimum; PRODUCT_EXPIRED when the product is older at
    ``used_at`` (preparation, freezing) than the protocol allows."""
    if exact(viability_percent) < exact(protocol.min_viability_percent):
        findings.append(Finding(
            "LOW_VIABILITY", Severity.BLOCK,
            f"Viability {fmt_percent(viability_percent)} is below the protocol minimum "
            f"of {fmt_percent(protocol.min_viability_percent)}. The product cannot be released; "
            "contact the laboratory director."))
    age = elapsed(collected_at, used_at)  # real time, whatever zones the two were typed in
    if age > protocol.max_product_age:
        findings.append(Finding(
            "PRODUCT_EXPIRED", Severity.BLOCK,
            f"The product was collected {hours(age)} h before preparation, more than the "
            f"{hours(protocol.max_product_age)} h the protocol allows. Do not prepare."))


def signed(value: float) -> str:
    text = fixed(value, 2)
    return text if text.startswith("-") else f"+{text}"


def hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}"


def stamp(moment: datetime, zone: str) -> str:
    """A moment in a plan's step texts and messages: as documents print it, in the site zone
    (``23 NOV 2026 10:00 PST``)."""
    return show(moment, zone)


#: The informational findings that follow the store's approvals (not the calculation): a record
#: saved before an approval prints without them once the approval is made.
APPROVAL_NOTES = frozenset({"PROTOCOL_NOT_APPROVED", "LAB_NOT_APPROVED"})


def approval_note(protocol: Protocol, findings: list[Finding],
                  lab: LabSettings | None = None) -> None:
    """PROTOCOL_NOT_APPROVED and LAB_NOT_APPROVED (info) while the record store has not approved
    the protocol's or the lab file's fingerprint: documents are marked NOT FOR CLINICAL USE."""
    if not protocol.approved:
        findings.append(Finding(
            "PROTOCOL_NOT_APPROVED", Severity.INFO,
            f"Protocol {protocol.id} version {protocol.version} is not approved for clinical "
            "use; documents are marked NOT FOR CLINICAL USE."))
    if lab is not None and not lab.approved:
        findings.append(Finding(
            "LAB_NOT_APPROVED", Severity.INFO,
            f"The lab settings file of {lab.name} (fingerprint {lab.fingerprint[:16]}) is not "
            "approved for clinical use; documents are marked NOT FOR CLINICAL USE."))


def _approval_dict(approval: Any) -> dict[str, str] | None:
    return None if approval is None else {"approved_by": approval.approved_by,
                                          "printed_name": approval.printed_name,
                                          "approved_at": approval.approved_at}


def protocol_dict(protocol: Protocol) -> dict[str, Any]:
    """The protocol's identity, approval and cycle-2 decisions in a plan's JSON."""
    return {"id": protocol.id, "title": protocol.title, "version": protocol.version,
            "approved": protocol.approved, "author_approved": protocol.author_approved,
            "approval": _approval_dict(protocol.approval if protocol.approved else None),
            "fingerprint": protocol.fingerprint,
            "dose_basis": protocol.cryo.dose_basis,
            "post_thaw_recovery_percent": float(protocol.cryo.post_thaw_recovery_percent),
            "exceptional_release": list(protocol.exceptional_release)}


def lab_dict(lab: LabSettings) -> dict[str, Any]:
    """The lab file's identity and approval in a plan's JSON."""
    return {"name": lab.name, "fingerprint": lab.fingerprint,
            "example_facility": lab.example_facility, "approved": lab.approved,
            "approval": _approval_dict(lab.approval if lab.approved else None)}
