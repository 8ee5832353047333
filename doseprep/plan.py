"""The calculation: a checked request, a protocol and lab settings in; a preparation plan out.

:func:`plan` follows the contract in DESIGN.md step by step, with pint quantities throughout, and
records each step as a human-readable :class:`Step` (formula, values substituted, result) so the
technician and the verifier can follow it. It is pure: no files, no clock, no screen. Problems with
the product or the order become :class:`Finding` values with a severity; the plan's status is
``blocked`` if any finding blocks, ``warning`` if any warns, else ``ok``. An order that the protocol
does not have is an :class:`InputError`, not a plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

import pint

from doseprep.errors import InputError
from doseprep.protocol import LabSettings, Protocol, Syringe
from doseprep.request import MAX_VOLUME_ML, MAX_WEIGHT_KG, PreparationRequest, order_problems
from doseprep.units import (
    CELLS,
    CELLS_PER_KG,
    CELLS_PER_ML,
    KG,
    ML,
    Q_,
    exact,
    fixed,
    fmt_cells,
    fmt_concentration,
    fmt_dose,
    fmt_mass,
    fmt_percent,
    fmt_volume,
    round_half_up_exact,
    sci,
    ureg,
)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    BLOCK = "block"


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Finding:
    """Something the technician must know about this preparation."""

    code: str
    severity: Severity
    message: str
    field: str | None = None  # the request field it is about, where there is one


@dataclass(frozen=True)
class Step:
    """One line of the arithmetic as a person checks it."""

    name: str
    formula: str
    substituted: str
    result: str


@dataclass(frozen=True)
class DilutionStep:
    """One serial dilution: ``source`` mL of the previous suspension plus ``diluent`` mL."""

    source: pint.Quantity
    diluent: pint.Quantity
    factor: int  # of this step alone


@dataclass(frozen=True)
class PreparationPlan:
    """Everything computed for one preparation. Quantities carry units.

    Fields from ``dilution_factor`` on are None when the product is insufficient (step 7); then
    ``max_achievable_dose`` is set.
    """

    request: PreparationRequest
    protocol: Protocol
    lab: LabSettings
    status: Status
    findings: tuple[Finding, ...]
    steps: tuple[Step, ...]
    product_volume: pint.Quantity
    cell_concentration: pint.Quantity
    viable_cd3_concentration: pint.Quantity
    total_viable_cd3: pint.Quantity
    dosing_weight: pint.Quantity
    target_dose: pint.Quantity
    target_cells: pint.Quantity
    exact_volume: pint.Quantity
    max_achievable_dose: pint.Quantity | None = None
    dilution_factor: int | None = None
    dilution_steps: tuple[DilutionStep, ...] = ()
    withdraw_volume: pint.Quantity | None = None
    syringe: Syringe | None = None
    syringe_fills: int | None = None
    delivered_cells: pint.Quantity | None = None
    delivered_dose: pint.Quantity | None = None
    deviation_percent: float | None = None
    diluent_volume: pint.Quantity | None = None
    final_volume: pint.Quantity | None = None
    final_concentration: pint.Quantity | None = None
    remaining_product: pint.Quantity | None = None
    expires_at: datetime | None = None
    # The instruction's wording as it was signed, for a stored record printed again; the
    # numbers behind it are checked equal to a fresh computation before it is used.
    signed_instruction: str | None = None

    @property
    def blocked(self) -> bool:
        return self.status is Status.BLOCKED

    @property
    def insufficient(self) -> bool:
        return self.withdraw_volume is None


def _check_order(request: PreparationRequest, protocol: Protocol) -> None:
    problems = order_problems(request.order, protocol)
    if problems:
        raise problems[0]


def _ml(q: pint.Quantity) -> float:
    return float(q.to(ML).magnitude)


def _dilution_steps(factor: int, aliquot: pint.Quantity) -> tuple[DilutionStep, ...]:
    """Serial 1-in-10 steps for a power of ten (F = 100: two steps), else one step of 1 in F."""
    tens = math.log10(factor)
    if tens.is_integer():
        return tuple(DilutionStep(source=aliquot, diluent=aliquot * 9, factor=10)
                     for _ in range(int(tens)))
    return (DilutionStep(source=aliquot, diluent=aliquot * (factor - 1), factor=factor),)


def dilution_recipe(steps: tuple[DilutionStep, ...]) -> str:
    """The serial dilution in words: "1.0 mL product + 9.0 mL diluent, then ..."."""
    parts = []
    for number, step in enumerate(steps):
        source = "product" if number == 0 else "of that dilution"
        parts.append(f"{fmt_volume(step.source, 1)} {source} + {fmt_volume(step.diluent, 1)} "
                     "diluent")
    return ", then ".join(parts)


def _f(q: pint.Quantity, unit) -> Fraction:
    """A settings quantity as the exact decimal it was written as."""
    return exact(q.to(unit).magnitude)


def _q(value: Fraction, unit) -> pint.Quantity:
    return Q_(float(value), unit)


def plan(request: PreparationRequest, protocol: Protocol, lab: LabSettings) -> PreparationPlan:
    """Compute the preparation plan for ``request`` (DESIGN.md, "The calculation").

    Every decision (rounding, each threshold) is taken on exact fractions of the decimals typed
    and configured (DESIGN.md, "Exactness"); the quantities in the plan are those exact values
    as floats, for display and JSON.
    """
    _check_order(request, protocol)
    product = request.product
    steps: list[Step] = []
    findings: list[Finding] = []
    if not protocol.approved:
        findings.append(Finding(
            "PROTOCOL_NOT_APPROVED", Severity.INFO,
            f"Protocol {protocol.id} version {protocol.version} is not approved for clinical "
            "use; documents are marked NOT FOR CLINICAL USE."))

    # 1. Product volume.
    if product.volume is not None:
        vp_x = product.volume.magnitude
        vp = _q(vp_x, ML)
        steps.append(Step("Product volume", "Vp = entered volume", f"Vp = {product.volume.text}",
                          fmt_volume(vp)))
    else:
        assert product.net_weight is not None
        vp_x = product.net_weight.magnitude / _f(lab.specific_gravity, ureg.g / ureg.mL)
        vp = _q(vp_x, ML)
        if vp_x > MAX_VOLUME_ML:
            raise InputError("product.net_weight",
                             f"The net weight {product.net_weight.text} makes {fmt_volume(vp)} "
                             f"at {lab.specific_gravity.magnitude:g} g/mL, more than the "
                             f"{MAX_VOLUME_ML:g} mL a product bag holds; check the weight.")
        steps.append(Step("Product volume", "Vp = net weight ÷ specific gravity",
                          f"Vp = {product.net_weight.text} ÷ "
                          f"{lab.specific_gravity.magnitude:g} g/mL",
                          fmt_volume(vp)))

    # 2. Cell concentration of the product from the analyzer reading.
    wbc_x = product.wbc.magnitude * exact(product.sample_dilution)
    wbc = _q(wbc_x, CELLS_PER_ML)
    steps.append(Step("WBC concentration", "WBC = analyzer WBC × sample dilution",
                      f"WBC = {product.wbc.text} × {product.sample_dilution:g}",
                      fmt_concentration(wbc, digits=4)))

    # 3. Viable CD3+ concentration (dual platform).
    c_x = wbc_x * exact(product.cd3_percent) / 100 * exact(product.viability_percent) / 100
    c = _q(c_x, CELLS_PER_ML)
    steps.append(Step("Viable CD3+ concentration", "C = WBC × CD3% × viability%",
                      f"C = {fmt_concentration(wbc, digits=4)} × "
                      f"{fmt_percent(product.cd3_percent)} × "
                      f"{fmt_percent(product.viability_percent)}",
                      fmt_concentration(c, "viable CD3+ cells/mL", digits=4)))

    # 4. Total viable CD3+ in the product.
    total = _q(c_x * vp_x, CELLS)
    steps.append(Step("Total viable CD3+ in product", "Ntotal = C × Vp",
                      f"Ntotal = {fmt_concentration(c, digits=4)} × {fmt_volume(vp)}",
                      fmt_cells(total, "viable CD3+ cells", digits=4)))

    # 5. Target cells.
    w_x = request.patient.weight.magnitude
    w = _q(w_x, KG)
    level = protocol.dose_level(request.order.dose_level)
    assert level is not None
    dose_x = _f(level.dose, CELLS_PER_KG)
    dose = _q(dose_x, CELLS_PER_KG)
    nt_x = dose_x * w_x
    nt = _q(nt_x, CELLS)
    steps.append(Step("Target cells", f"Nt = dose level {level.name} × W",
                      f"Nt = {fmt_dose(dose)} × {fmt_mass(request.patient.weight.entered)}",
                      fmt_cells(nt, "viable CD3+ cells", digits=4)))

    # 6. Exact volume.
    vx_x = nt_x / c_x
    vx = _q(vx_x, ML)
    steps.append(Step("Exact volume of product", "Vx = Nt ÷ C",
                      f"Vx = {fmt_cells(nt, digits=4)} ÷ {fmt_concentration(c, digits=4)}",
                      f"{fixed(_ml(vx), 4)} mL"))

    _plausibility(request, lab, wbc_x, findings)
    _time_zone_checks(request, lab, findings)

    common = {
        "request": request, "protocol": protocol, "lab": lab, "product_volume": vp,
        "cell_concentration": wbc, "viable_cd3_concentration": c, "total_viable_cd3": total,
        "dosing_weight": w, "target_dose": dose, "target_cells": nt, "exact_volume": vx,
    }

    # 7. Enough product?
    reserve_x = _f(lab.qc_reserve, ML)
    available_x = vp_x - reserve_x
    best_x = max(available_x, Fraction(0)) * c_x / w_x
    best = _q(best_x, CELLS_PER_KG)
    if vx_x > available_x:
        steps.append(_best_step(vp, lab, c, w, best))
        findings.append(Finding(
            "INSUFFICIENT_PRODUCT", Severity.BLOCK,
            f"Not enough product: {level.name} needs {fixed(_ml(vx), 2)} mL but only "
            f"{fixed(float(max(available_x, Fraction(0))), 2)} mL can be used after the "
            f"{fmt_volume(lab.qc_reserve)} QC reserve. The largest achievable dose is "
            f"{fmt_dose(best)}. Do not prepare; contact the ordering physician."))
        _product_checks(request, protocol, findings)
        return PreparationPlan(status=_status(findings), findings=_sorted(findings),
                               steps=tuple(steps), max_achievable_dose=best, **common)

    # 8. Dilution for volumes too small to measure.
    minimum_x = _f(lab.min_measurable, ML)
    aliquot_x = _f(lab.dilution_aliquot, ML)
    factor = 1
    dilution_steps: tuple[DilutionStep, ...] = ()
    if vx_x < minimum_x:
        factor = next((f for f in lab.dilution_factors if vx_x * f >= minimum_x),
                      lab.dilution_factors[-1])
        dilution_steps = _dilution_steps(factor, lab.dilution_aliquot)
        recipe = dilution_recipe(dilution_steps)
        vxf = _q(vx_x * factor, ML)
        steps.append(Step("Dilution", "F = first factor with Vx × F ≥ minimum measurable volume",
                          f"{fixed(_ml(vx), 4)} mL < {fmt_volume(lab.min_measurable)}; "
                          f"{fixed(_ml(vx), 4)} mL × {factor} = {fixed(_ml(vxf), 4)} mL",
                          f"F = {factor} ({recipe})"))
        findings.append(Finding(
            "DILUTION_REQUIRED", Severity.INFO,
            f"The exact volume {fixed(_ml(vx), 3)} mL is below the smallest measurable volume "
            f"({fmt_volume(lab.min_measurable)}): dilute the product 1 in {factor} "
            f"({recipe}) and draw from the dilution."))

    # 9. Volume to draw, syringe, rounding to its graduation.
    vd_x = vx_x * factor
    syringe = next((s for s in lab.syringes if _f(s.capacity, ML) >= vd_x), lab.syringes[-1])
    capacity_x = _f(syringe.capacity, ML)
    vr_x = round_half_up_exact(vd_x, _f(syringe.graduation, ML))
    vr = _q(vr_x, ML)
    fills = max(1, math.ceil(vr_x / capacity_x))
    steps.append(Step("Volume to draw", "Vd = Vx × F, rounded half up to the syringe graduation",
                      f"Vd = {fixed(_ml(vx), 4)} mL × {factor} = {fixed(float(vd_x), 4)} mL; "
                      f"{syringe_name(syringe)} graduated in "
                      f"{syringe.graduation.magnitude:g} mL",
                      fmt_volume(vr)))
    if fills > 1:
        findings.append(Finding(
            "MULTIPLE_SYRINGE_FILLS", Severity.INFO,
            f"{fmt_volume(vr)} is more than the largest syringe holds: fill the "
            f"{syringe_name(syringe)} {fills} times ({_fills_text(vr, syringe, fills)})."))
    if vr_x < minimum_x:
        findings.append(Finding(
            "VOLUME_TOO_SMALL", Severity.BLOCK,
            f"Even after a 1 in {factor} dilution the volume to draw ({fmt_volume(vr)}) is below "
            f"the smallest measurable volume ({fmt_volume(lab.min_measurable)}). A further "
            "dilution is outside this procedure; contact the laboratory director."))

    # 10. Delivered dose and deviation.
    delivered_x = vr_x * c_x / factor
    delivered = _q(delivered_x, CELLS)
    delivered_dose = _q(delivered_x / w_x, CELLS_PER_KG)
    deviation_x = (delivered_x - nt_x) / nt_x * 100
    deviation = float(deviation_x)
    steps.append(Step("Delivered cells", "Nd = Vr × C ÷ F",
                      f"Nd = {fmt_volume(vr)} × {fmt_concentration(c, digits=4)} ÷ {factor}",
                      fmt_cells(delivered, "viable CD3+ cells", digits=4)))
    steps.append(Step("Delivered dose", "Nd ÷ W",
                      f"{fmt_cells(delivered, digits=4)} ÷ {fixed(_kg(w), 2)} kg",
                      fmt_dose(delivered_dose, digits=4)))
    steps.append(Step("Deviation from target", "(Nd − Nt) ÷ Nt × 100",
                      f"({fmt_cells(delivered, digits=4)} − {fmt_cells(nt, digits=4)}) ÷ "
                      f"{fmt_cells(nt, digits=4)} × 100",
                      f"{_signed(deviation)} % (tolerance ± {protocol.tolerance_percent:g} %)"))
    if abs(deviation_x) > exact(protocol.tolerance_percent):
        findings.append(Finding(
            "DOSE_OUT_OF_TOLERANCE", Severity.BLOCK,
            "Rounded to the syringe graduation, the delivered dose deviates "
            f"{_signed(deviation)} % from the target, outside ± "
            f"{protocol.tolerance_percent:g} %. Do not prepare; contact the laboratory director."))

    # 11. Final volume and concentration.
    final_x = max(_f(protocol.final_volume, ML), vr_x)
    final = _q(final_x, ML)
    diluent = _q(final_x - vr_x, ML)
    final_conc = _q(delivered_x / final_x, CELLS_PER_ML)
    steps.append(Step("Final volume and diluent", "Vf = max(final volume, Vr); diluent = Vf − Vr",
                      f"Vf = max({fmt_volume(protocol.final_volume)}, {fmt_volume(vr)}); "
                      f"diluent = {fmt_volume(final)} − {fmt_volume(vr)}",
                      f"Vf = {fmt_volume(final)}, diluent {fmt_volume(diluent)}"))
    steps.append(Step("Final concentration", "Nd ÷ Vf",
                      f"{fmt_cells(delivered, digits=4)} ÷ {fmt_volume(final)}",
                      fmt_concentration(final_conc, "viable CD3+ cells/mL", digits=4)))
    per_kg_x = final_x / w_x
    if per_kg_x > _f(protocol.max_volume_per_kg, ureg.mL / ureg.kg):
        findings.append(Finding(
            "VOLUME_PER_KG_EXCEEDED", Severity.WARNING,
            f"The infusion volume {fmt_volume(final)} is {fixed(float(per_kg_x), 1)} mL/kg, "
            f"above the protocol limit of {protocol.max_volume_per_kg.magnitude:g} mL/kg. "
            "Confirm the volume with the ordering physician."))

    # 12. Product actually used, against the QC reserve (step 7, second part), and what is left.
    used_x = vr_x if factor == 1 else aliquot_x
    used = _q(used_x, ML)
    max_achievable = None
    if used_x > available_x:
        max_achievable = best
        steps.append(_best_step(vp, lab, c, w, best))
        what = (f"the {fmt_volume(used)} drawn" if factor == 1 else
                f"the {fmt_volume(used)} dilution aliquot")
        findings.append(Finding(
            "INSUFFICIENT_PRODUCT", Severity.BLOCK,
            f"Not enough product: {what} is more than the "
            f"{fixed(float(max(available_x, Fraction(0))), 2)} mL that can be used after the "
            f"{fmt_volume(lab.qc_reserve)} QC reserve. The largest achievable dose is "
            f"{fmt_dose(best)}. Do not prepare; contact the ordering physician."))
    remaining = _q(max(vp_x - used_x, Fraction(0)), ML)
    steps.append(Step("Remaining product",
                      "Vp − Vr" if factor == 1 else "Vp − dilution aliquot",
                      f"{fmt_volume(vp)} − {fmt_volume(used)}", fmt_volume(remaining)))

    # 13. Product checks and expiry.
    _product_checks(request, protocol, findings)
    site = ZoneInfo(lab.time_zone)
    expires = min(request.prepared_at + protocol.infusion_expiry,
                  product.collected_at + protocol.max_product_age)
    expires = expires.astimezone(site)
    steps.append(Step("Infusion expiry",
                      "min(prepared + infusion expiry, collected + maximum product age)",
                      f"min({_stamp(request.prepared_at.astimezone(site))} + "
                      f"{_hours(protocol.infusion_expiry)} h, "
                      f"{_stamp(product.collected_at.astimezone(site))} + "
                      f"{_hours(protocol.max_product_age)} h)",
                      _stamp(expires)))

    return PreparationPlan(
        status=_status(findings), findings=_sorted(findings), steps=tuple(steps),
        max_achievable_dose=max_achievable,
        dilution_factor=factor, dilution_steps=dilution_steps, withdraw_volume=vr,
        syringe=syringe, syringe_fills=fills, delivered_cells=delivered,
        delivered_dose=delivered_dose, deviation_percent=deviation, diluent_volume=diluent,
        final_volume=final, final_concentration=final_conc, remaining_product=remaining,
        expires_at=expires, **common)


def _best_step(vp: pint.Quantity, lab: LabSettings, c: pint.Quantity, w: pint.Quantity,
               best: pint.Quantity) -> Step:
    return Step("Largest achievable dose", "(Vp − QC reserve) × C ÷ W",
                f"({fmt_volume(vp)} − {fmt_volume(lab.qc_reserve)}) × "
                f"{fmt_concentration(c, digits=4)} ÷ {fixed(_kg(w), 2)} kg",
                fmt_dose(best))


_SEVERITY_ORDER = {Severity.BLOCK: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _sorted(findings: list[Finding]) -> tuple[Finding, ...]:
    """Findings most severe first (block, warning, info), otherwise in the order found."""
    return tuple(sorted(findings, key=lambda f: _SEVERITY_ORDER[f.severity]))


def _plain_number(value: Fraction | float) -> str:
    return f"{float(value):.6g}"


def _plausibility(request: PreparationRequest, lab: LabSettings, wbc_x: Fraction,
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
                      f"{fmt_concentration(_q(wbc_x, CELLS_PER_ML))}, outside the plausible "
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
    for field, text in slips:
        reason = request.confirmations.get(field)
        if reason:
            findings.append(Finding(
                "IMPLAUSIBLE_INPUT_CONFIRMED", Severity.WARNING,
                f"{field}: {text}. Confirmed as typed: \"{reason}\".", field))
        else:
            findings.append(Finding(
                "IMPLAUSIBLE_INPUT", Severity.BLOCK,
                f"{field}: {text}. Correct it, or confirm the value with a reason if it is "
                "really so.", field))


def _time_zone_checks(request: PreparationRequest, lab: LabSettings,
                      findings: list[Finding]) -> None:
    """A typed UTC offset that is not the site's at that date (a stale offset after the clocks
    changed shifts every time by an hour): UTC_OFFSET_MISMATCH (warning) naming the field."""
    site = ZoneInfo(lab.time_zone)
    for field, moment in (("product.collected_at", request.product.collected_at),
                          ("prepared_at", request.prepared_at)):
        if field in request.zone_assumed:
            continue
        local = moment.astimezone(site)
        if local.utcoffset() != moment.utcoffset():
            findings.append(Finding(
                "UTC_OFFSET_MISMATCH", Severity.WARNING,
                f"{field}: the offset UTC{_offset(moment)} is not {lab.time_zone}'s on that date "
                f"(UTC{_offset(local)}); {_stamp(moment)} is {_stamp(local)} at the site. "
                "Check the time (a stale offset after a clock change shifts it by an hour).",
                field))


def _offset(moment: datetime) -> str:
    text = moment.strftime("%z")
    return f"{'−' if text.startswith('-') else '+'}{text[1:3]}:{text[3:5]}"


def _product_checks(request: PreparationRequest, protocol: Protocol,
                    findings: list[Finding]) -> None:
    product = request.product
    if product.viability_percent < protocol.min_viability_percent:
        findings.append(Finding(
            "LOW_VIABILITY", Severity.BLOCK,
            f"Viability {fmt_percent(product.viability_percent)} is below the protocol minimum "
            f"of {fmt_percent(protocol.min_viability_percent)}. The product cannot be released; "
            "contact the laboratory director."))
    age = request.prepared_at - product.collected_at
    if age > protocol.max_product_age:
        findings.append(Finding(
            "PRODUCT_EXPIRED", Severity.BLOCK,
            f"The product was collected {_hours(age)} h before preparation, more than the "
            f"{_hours(protocol.max_product_age)} h the protocol allows. Do not prepare."))


def _status(findings: list[Finding]) -> Status:
    severities = {f.severity for f in findings}
    if Severity.BLOCK in severities:
        return Status.BLOCKED
    if Severity.WARNING in severities:
        return Status.WARNING
    return Status.OK


def _kg(w: pint.Quantity) -> float:
    return float(w.to(KG).magnitude)


def syringe_name(syringe: Syringe) -> str:
    """The syringe as the instruction names it: "3 mL syringe"."""
    return f"{syringe.capacity.magnitude:g} mL syringe"


def _fills_text(vr: pint.Quantity, syringe: Syringe, fills: int) -> str:
    cap = _ml(syringe.capacity)
    last = _ml(vr) - cap * (fills - 1)
    parts = [f"{cap:g} mL"] * (fills - 1) + [fmt_volume(Q_(last, ML))]
    return " + ".join(parts)


def _signed(value: float) -> str:
    text = fixed(value, 2)
    return text if text.startswith("-") else f"+{text}"


def _hours(delta) -> str:
    return f"{delta.total_seconds() / 3600:g}"


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC{_offset(moment)}"


def not_for_clinical_use(p: PreparationPlan) -> tuple[str, ...]:
    """Why documents of this plan must carry NOT FOR CLINICAL USE (empty when they need not)."""
    reasons = [f"{f.code}: {f.message}" for f in p.findings if f.severity is Severity.BLOCK]
    if not p.protocol.approved:
        reasons.append(f"Protocol {p.protocol.id} version {p.protocol.version} is not approved "
                       "for clinical use.")
    return tuple(reasons)


def instruction(p: PreparationPlan) -> str:
    """The key instruction, first thing a technician reads."""
    if p.signed_instruction is not None:
        return p.signed_instruction
    if p.insufficient:
        return ("DO NOT PREPARE — not enough product for this dose. Largest achievable dose: "
                f"{fmt_dose(p.max_achievable_dose)}.")
    if p.blocked:
        # No draw instruction at all: a volume in large type is what a tired eye acts on
        # (issue 9). The volume stays in the steps, for the investigation.
        codes = ", ".join(f.code for f in p.findings if f.severity is Severity.BLOCK)
        return f"DO NOT PREPARE — blocked by {codes}; see the findings."
    assert p.withdraw_volume is not None and p.syringe is not None
    fills = "" if p.syringe_fills == 1 else f", {p.syringe_fills} fills"
    what = "product" if p.dilution_factor == 1 else f"the 1 in {p.dilution_factor} dilution"
    text = ""
    if p.dilution_factor != 1:
        recipe = dilution_recipe(p.dilution_steps)
        text += f"{'d' if text else 'D'}ilute 1 in {p.dilution_factor} ({recipe}). Then d"
    else:
        text += "d" if text else "D"
    assert p.diluent_volume is not None
    if p.diluent_volume.magnitude > 0:
        finish = (f", add {fmt_volume(p.diluent_volume)} diluent to a final volume of "
                  f"{fmt_volume(p.final_volume)}.")
    else:
        finish = f"; no diluent: the final volume is {fmt_volume(p.final_volume)}."
    text += (f"raw {fmt_volume(p.withdraw_volume)} of {what} with a "
             f"{syringe_name(p.syringe)}{fills}{finish}")
    return text


