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

import pint

from doseprep.errors import InputError
from doseprep.protocol import LabSettings, Protocol, Syringe
from doseprep.request import PreparationRequest
from doseprep.units import (
    CELLS,
    CELLS_PER_KG,
    CELLS_PER_ML,
    KG,
    ML,
    PERCENT,
    Q_,
    fixed,
    fmt_cells,
    fmt_concentration,
    fmt_dose,
    fmt_mass,
    fmt_percent,
    fmt_volume,
    round_half_up,
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

    @property
    def blocked(self) -> bool:
        return self.status is Status.BLOCKED

    @property
    def insufficient(self) -> bool:
        return self.withdraw_volume is None


def _check_order(request: PreparationRequest, protocol: Protocol) -> None:
    order = request.order
    if protocol.dose_level(order.dose_level) is None:
        known = ", ".join(d.name for d in protocol.dose_levels)
        raise InputError("order.dose_level", f"Dose level \"{order.dose_level}\" is not in "
                                             f"protocol {protocol.id} (it has {known}).")
    infusions = protocol.infusions(order.cycle)
    if infusions is None:
        known = ", ".join(str(c) for c, _ in protocol.cycles)
        raise InputError("order.cycle", f"Cycle {order.cycle} is not in protocol {protocol.id} "
                                        f"(cycles: {known}).")
    if not 1 <= order.infusion <= infusions:
        count = "one infusion" if infusions == 1 else f"{infusions} infusions"
        raise InputError("order.infusion", f"Cycle {order.cycle} has {count}; infusion "
                                           f"{order.infusion} is not one of them.")


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


def _choose_syringe(volume: pint.Quantity, syringes: tuple[Syringe, ...]) -> Syringe:
    return next((s for s in syringes if s.capacity >= volume), syringes[-1])


def plan(request: PreparationRequest, protocol: Protocol, lab: LabSettings) -> PreparationPlan:
    """Compute the preparation plan for ``request`` (DESIGN.md, "The calculation")."""
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
        vp = product.volume.value.to(ML)
        steps.append(Step("Product volume", "Vp = entered volume", f"Vp = {product.volume.text}",
                          fmt_volume(vp)))
    else:
        assert product.net_weight is not None
        vp = (product.net_weight.value / lab.specific_gravity).to(ML)
        steps.append(Step("Product volume", "Vp = net weight ÷ specific gravity",
                          f"Vp = {product.net_weight.text} ÷ "
                          f"{lab.specific_gravity.magnitude:g} g/mL",
                          fmt_volume(vp)))

    # 2. Cell concentration of the product from the analyzer reading.
    wbc = product.wbc.value.to(CELLS_PER_ML) * product.sample_dilution
    steps.append(Step("WBC concentration", "WBC = analyzer WBC × sample dilution",
                      f"WBC = {product.wbc.text} × {product.sample_dilution:g}",
                      fmt_concentration(wbc, digits=4)))

    # 3. Viable CD3+ concentration (dual platform).
    cd3 = Q_(product.cd3_percent, PERCENT)
    viability = Q_(product.viability_percent, PERCENT)
    c = (wbc * cd3 * viability).to(CELLS_PER_ML)
    steps.append(Step("Viable CD3+ concentration", "C = WBC × CD3% × viability%",
                      f"C = {fmt_concentration(wbc, digits=4)} × "
                      f"{fmt_percent(product.cd3_percent)} × "
                      f"{fmt_percent(product.viability_percent)}",
                      fmt_concentration(c, "viable CD3+ cells/mL", digits=4)))

    # 4. Total viable CD3+ in the product.
    total = (c * vp).to(CELLS)
    steps.append(Step("Total viable CD3+ in product", "Ntotal = C × Vp",
                      f"Ntotal = {fmt_concentration(c, digits=4)} × {fmt_volume(vp)}",
                      fmt_cells(total, "viable CD3+ cells", digits=4)))

    # 5. Target cells.
    w = request.patient.weight.value.to(KG)
    level = protocol.dose_level(request.order.dose_level)
    assert level is not None
    dose = level.dose.to(CELLS_PER_KG)
    nt = (dose * w).to(CELLS)
    steps.append(Step("Target cells", f"Nt = dose level {level.name} × W",
                      f"Nt = {fmt_dose(dose)} × {fmt_mass(request.patient.weight.entered)}",
                      fmt_cells(nt, "viable CD3+ cells", digits=4)))

    # 6. Exact volume.
    vx = (nt / c).to(ML)
    steps.append(Step("Exact volume of product", "Vx = Nt ÷ C",
                      f"Vx = {fmt_cells(nt, digits=4)} ÷ {fmt_concentration(c, digits=4)}",
                      f"{fixed(_ml(vx), 4)} mL"))

    common = {
        "request": request, "protocol": protocol, "lab": lab, "product_volume": vp,
        "cell_concentration": wbc, "viable_cd3_concentration": c, "total_viable_cd3": total,
        "dosing_weight": w, "target_dose": dose, "target_cells": nt, "exact_volume": vx,
    }

    # 7. Enough product?
    available = vp - lab.qc_reserve
    if vx > available:
        best = (max(available, Q_(0, ML)) * c / w).to(CELLS_PER_KG)
        steps.append(Step("Largest achievable dose", "(Vp − QC reserve) × C ÷ W",
                          f"({fmt_volume(vp)} − {fmt_volume(lab.qc_reserve)}) × "
                          f"{fmt_concentration(c, digits=4)} ÷ {fixed(_kg(w), 2)} kg",
                          fmt_dose(best)))
        findings.append(Finding(
            "INSUFFICIENT_PRODUCT", Severity.BLOCK,
            f"Not enough product: {level.name} needs {fixed(_ml(vx), 2)} mL but only "
            f"{fixed(_ml(available), 2)} mL can be used after the {fmt_volume(lab.qc_reserve)} "
            f"QC reserve. The largest achievable dose is {fmt_dose(best)}. "
            "Do not prepare; contact the ordering physician."))
        _product_checks(request, protocol, findings)
        return PreparationPlan(status=_status(findings), findings=tuple(findings),
                               steps=tuple(steps), max_achievable_dose=best, **common)

    # 8. Dilution for volumes too small to measure.
    factor = 1
    dilution_steps: tuple[DilutionStep, ...] = ()
    if vx < lab.min_measurable:
        factor = next((f for f in lab.dilution_factors if vx * f >= lab.min_measurable),
                      lab.dilution_factors[-1])
        dilution_steps = _dilution_steps(factor, lab.dilution_aliquot)
        recipe = dilution_recipe(dilution_steps)
        steps.append(Step("Dilution", "F = first factor with Vx × F ≥ minimum measurable volume",
                          f"{fixed(_ml(vx), 4)} mL < {fmt_volume(lab.min_measurable)}; "
                          f"{fixed(_ml(vx), 4)} mL × {factor} = {fixed(_ml(vx * factor), 4)} mL",
                          f"F = {factor} ({recipe})"))
        findings.append(Finding(
            "DILUTION_REQUIRED", Severity.INFO,
            f"The exact volume {fixed(_ml(vx), 3)} mL is below the smallest measurable volume "
            f"({fmt_volume(lab.min_measurable)}): dilute the product 1 in {factor} "
            f"({recipe}) and draw from the dilution."))

    # 9. Volume to draw, syringe, rounding to its graduation.
    vd = vx * factor
    syringe = _choose_syringe(vd, lab.syringes)
    vr = round_half_up(vd, syringe.graduation)
    fills = max(1, math.ceil(_ml(vr) / _ml(syringe.capacity) - 1e-9))
    steps.append(Step("Volume to draw", "Vd = Vx × F, rounded half up to the syringe graduation",
                      f"Vd = {fixed(_ml(vx), 4)} mL × {factor} = {fixed(_ml(vd), 4)} mL; "
                      f"{syringe_name(syringe)} graduated in "
                      f"{syringe.graduation.magnitude:g} mL",
                      fmt_volume(vr)))
    if fills > 1:
        findings.append(Finding(
            "MULTIPLE_SYRINGE_FILLS", Severity.INFO,
            f"{fmt_volume(vr)} is more than the largest syringe holds: fill the "
            f"{syringe_name(syringe)} {fills} times ({_fills_text(vr, syringe, fills)})."))
    if vr < lab.min_measurable:
        findings.append(Finding(
            "VOLUME_TOO_SMALL", Severity.BLOCK,
            f"Even after a 1 in {factor} dilution the volume to draw ({fmt_volume(vr)}) is below "
            f"the smallest measurable volume ({fmt_volume(lab.min_measurable)}). A further "
            "dilution is outside this procedure; contact the laboratory director."))

    # 10. Delivered dose and deviation.
    delivered = (vr * c / factor).to(CELLS)
    delivered_dose = (delivered / w).to(CELLS_PER_KG)
    deviation = float(((delivered - nt) / nt * 100).to(ureg.dimensionless).magnitude)
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
    if abs(deviation) > protocol.tolerance_percent + 1e-9:
        findings.append(Finding(
            "DOSE_OUT_OF_TOLERANCE", Severity.BLOCK,
            "Rounded to the syringe graduation, the delivered dose deviates "
            f"{_signed(deviation)} % from the target, outside ± "
            f"{protocol.tolerance_percent:g} %. Do not prepare; contact the laboratory director."))

    # 11. Final volume and concentration.
    final = max(protocol.final_volume, vr)
    diluent = final - vr
    final_conc = (delivered / final).to(CELLS_PER_ML)
    steps.append(Step("Final volume and diluent", "Vf = max(final volume, Vr); diluent = Vf − Vr",
                      f"Vf = max({fmt_volume(protocol.final_volume)}, {fmt_volume(vr)}); "
                      f"diluent = {fmt_volume(final)} − {fmt_volume(vr)}",
                      f"Vf = {fmt_volume(final)}, diluent {fmt_volume(diluent)}"))
    steps.append(Step("Final concentration", "Nd ÷ Vf",
                      f"{fmt_cells(delivered, digits=4)} ÷ {fmt_volume(final)}",
                      fmt_concentration(final_conc, "viable CD3+ cells/mL", digits=4)))
    per_kg = (final / w).to(ureg.mL / ureg.kg)
    if per_kg > protocol.max_volume_per_kg:
        findings.append(Finding(
            "VOLUME_PER_KG_EXCEEDED", Severity.WARNING,
            f"The infusion volume {fmt_volume(final)} is {fixed(per_kg.magnitude, 1)} mL/kg, "
            f"above the protocol limit of {protocol.max_volume_per_kg.magnitude:g} mL/kg. "
            "Confirm the volume with the ordering physician."))

    # 12. Product left in the bag.
    used = vr if factor == 1 else lab.dilution_aliquot
    remaining = vp - used
    steps.append(Step("Remaining product",
                      "Vp − Vr" if factor == 1 else "Vp − dilution aliquot",
                      f"{fmt_volume(vp)} − {fmt_volume(used)}", fmt_volume(remaining)))

    # 13. Product checks and expiry.
    _product_checks(request, protocol, findings)
    expires = min(request.prepared_at + protocol.infusion_expiry,
                  product.collected_at + protocol.max_product_age)
    expires = expires.astimezone(request.prepared_at.tzinfo)
    steps.append(Step("Infusion expiry",
                      "min(prepared + infusion expiry, collected + maximum product age)",
                      f"min({_stamp(request.prepared_at)} + "
                      f"{_hours(protocol.infusion_expiry)} h, "
                      f"{_stamp(product.collected_at)} + {_hours(protocol.max_product_age)} h)",
                      _stamp(expires)))

    return PreparationPlan(
        status=_status(findings), findings=tuple(findings), steps=tuple(steps),
        dilution_factor=factor, dilution_steps=dilution_steps, withdraw_volume=vr,
        syringe=syringe, syringe_fills=fills, delivered_cells=delivered,
        delivered_dose=delivered_dose, deviation_percent=deviation, diluent_volume=diluent,
        final_volume=final, final_concentration=final_conc, remaining_product=remaining,
        expires_at=expires, **common)


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
    offset = moment.strftime("%z")
    sign = "−" if offset.startswith("-") else "+"
    return f"{moment:%Y-%m-%d %H:%M} UTC{sign}{offset[1:3]}:{offset[3:5]}"


def not_for_clinical_use(p: PreparationPlan) -> tuple[str, ...]:
    """Why documents of this plan must carry NOT FOR CLINICAL USE (empty when they need not)."""
    reasons = [f"{f.code}: {f.message}" for f in p.findings if f.severity is Severity.BLOCK]
    if not p.protocol.approved:
        reasons.append(f"Protocol {p.protocol.id} version {p.protocol.version} is not approved "
                       "for clinical use.")
    return tuple(reasons)


def instruction(p: PreparationPlan) -> str:
    """The key instruction, first thing a technician reads."""
    if p.insufficient:
        return ("DO NOT PREPARE — not enough product for this dose. Largest achievable dose: "
                f"{fmt_dose(p.max_achievable_dose)}.")
    assert p.withdraw_volume is not None and p.syringe is not None
    fills = "" if p.syringe_fills == 1 else f", {p.syringe_fills} fills"
    what = "product" if p.dilution_factor == 1 else f"the 1 in {p.dilution_factor} dilution"
    text = ""
    if p.blocked:
        codes = ", ".join(f.code for f in p.findings if f.severity is Severity.BLOCK)
        text = f"DO NOT PREPARE — blocked by {codes}. For reference only: "
    if p.dilution_factor != 1:
        recipe = dilution_recipe(p.dilution_steps)
        text += f"{'d' if text else 'D'}ilute 1 in {p.dilution_factor} ({recipe}). Then d"
    else:
        text += "d" if text else "D"
    text += (f"raw {fmt_volume(p.withdraw_volume)} of {what} with a "
             f"{syringe_name(p.syringe)}{fills}, add {fmt_volume(p.diluent_volume)} diluent "
             f"to a final volume of {fmt_volume(p.final_volume)}.")
    return text


