"""The calculation: a checked request, a protocol and lab settings in; a preparation plan out.

:func:`plan` follows the contract in DESIGN.md step by step, with pint quantities throughout, and
records each step as a human-readable :class:`Step` (formula, values substituted, result) so the
technician and the verifier can follow it. It is pure: no files, no clock, no screen. Problems with
the product or the order become :class:`Finding` values with a severity; the plan's status is
``blocked`` if any finding blocks, ``warning`` if any warns, else ``ok``. An order that the protocol
does not have is an :class:`InputError`, not a plan.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import pint

from doseprep.calc.checks import (
    approval_note,
    plausibility,
    product_checks,
    signed,
    time_zone_checks,
)
from doseprep.calc.draw import dilution_recipe, draw, syringe_name
from doseprep.calc.expiry import infusion_expiry
from doseprep.calc.model import (
    DilutionStep,
    Finding,
    Severity,
    Status,
    Step,
    most_severe_first,
    status_of,
)
from doseprep.calc.product import product_cells
from doseprep.calc.quantities import exact_in, in_kg, in_ml, quantity
from doseprep.protocol import LabSettings, Protocol, Syringe
from doseprep.request import PreparationRequest, order_problems
from doseprep.units import (
    CELLS,
    CELLS_PER_KG,
    CELLS_PER_ML,
    KG,
    ML,
    exact,
    fixed,
    fmt_cells,
    fmt_concentration,
    fmt_dose,
    fmt_mass,
    fmt_volume,
    ureg,
)

# The plan's parts are defined in doseprep.calc and used from here by the documents and shells.
__all__ = ["DilutionStep", "Finding", "PreparationPlan", "Severity", "Status", "Step",
           "dilution_recipe", "instruction", "not_for_clinical_use", "plan",
           "settings_not_approved", "syringe_name"]


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


def plan(request: PreparationRequest, protocol: Protocol, lab: LabSettings) -> PreparationPlan:
    """Compute the preparation plan for ``request`` (DESIGN.md, "The calculation"), one
    contract step after another (each in :mod:`doseprep.calc` or below).

    Every decision (rounding, each threshold) is taken on exact fractions of the decimals typed
    and configured (DESIGN.md, "Exactness"); the quantities in the plan are those exact values
    as floats, for display and JSON.
    """
    _check_order(request, protocol)
    steps: list[Step] = []
    findings: list[Finding] = []
    approval_note(protocol, findings, lab)

    cells, product_steps = product_cells(request.product, lab)  # steps 1-4
    steps += product_steps
    level = protocol.dose_level(request.order.dose_level)
    assert level is not None
    w_x = request.patient.weight.magnitude
    w = quantity(w_x, KG)
    dose_x = exact_in(level.dose, CELLS_PER_KG)
    dose = quantity(dose_x, CELLS_PER_KG)
    nt_x, step = target_cells(dose_x, w_x, level.name, request)  # step 5
    steps.append(step)
    nt = quantity(nt_x, CELLS)
    vx_x, step = exact_volume(nt_x, cells.c_x)  # step 6
    steps.append(step)
    vx = quantity(vx_x, ML)
    plausibility(request, lab, cells.wbc_x, findings)
    time_zone_checks(request, lab, findings)
    common = {
        "request": request, "protocol": protocol, "lab": lab, "product_volume": cells.vp,
        "cell_concentration": cells.wbc, "viable_cd3_concentration": cells.c,
        "total_viable_cd3": cells.total, "dosing_weight": w, "target_dose": dose,
        "target_cells": nt, "exact_volume": vx,
    }

    # 7. Enough product?
    available_x = cells.vp_x - exact_in(lab.qc_reserve, ML)
    best = quantity(max(available_x, Fraction(0)) * cells.c_x / w_x, CELLS_PER_KG)
    if vx_x > available_x:
        steps.append(_best_step(cells.vp, lab, cells.c, w, best))
        findings.append(Finding(
            "INSUFFICIENT_PRODUCT", Severity.BLOCK,
            f"Not enough product: {level.name} needs {fixed(in_ml(vx), 2)} mL but only "
            f"{fixed(float(max(available_x, Fraction(0))), 2)} mL can be used after the "
            f"{fmt_volume(lab.qc_reserve)} QC reserve. The largest achievable dose is "
            f"{fmt_dose(best)}. Do not prepare; contact the ordering physician."))
        _product_checks(request, protocol, findings)
        return PreparationPlan(status=status_of(findings), findings=most_severe_first(findings),
                               steps=tuple(steps), max_achievable_dose=best, **common)

    drawn, draw_steps, draw_findings = draw(vx_x, lab)  # steps 8-9
    steps += draw_steps
    findings += draw_findings
    factor, vr_x, vr = drawn.factor, drawn.vr_x, drawn.vr

    # 10. Delivered dose and deviation.
    delivered_x = vr_x * cells.c_x / factor
    delivered = quantity(delivered_x, CELLS)
    delivered_dose = quantity(delivered_x / w_x, CELLS_PER_KG)
    deviation_x = (delivered_x - nt_x) / nt_x * 100
    deviation = float(deviation_x)
    steps.append(Step("Delivered cells", "Nd = Vr × C ÷ F",
                      f"Nd = {fmt_volume(vr)} × {fmt_concentration(cells.c, digits=4)} ÷ "
                      f"{factor}", fmt_cells(delivered, "viable CD3+ cells", digits=4)))
    steps.append(Step("Delivered dose", "Nd ÷ W",
                      f"{fmt_cells(delivered, digits=4)} ÷ {fixed(in_kg(w), 2)} kg",
                      fmt_dose(delivered_dose, digits=4)))
    steps.append(Step("Deviation from target", "(Nd − Nt) ÷ Nt × 100",
                      f"({fmt_cells(delivered, digits=4)} − {fmt_cells(nt, digits=4)}) ÷ "
                      f"{fmt_cells(nt, digits=4)} × 100",
                      f"{signed(deviation)} % (tolerance ± {protocol.tolerance_percent:g} %)"))
    if abs(deviation_x) > exact(protocol.tolerance_percent):
        findings.append(Finding(
            "DOSE_OUT_OF_TOLERANCE", Severity.BLOCK,
            "Rounded to the syringe graduation, the delivered dose deviates "
            f"{signed(deviation)} % from the target, outside ± "
            f"{protocol.tolerance_percent:g} %. Do not prepare; contact the laboratory director."))

    # 11. Final volume and concentration.
    final_x = max(exact_in(protocol.final_volume, ML), vr_x)
    final = quantity(final_x, ML)
    diluent = quantity(final_x - vr_x, ML)
    final_conc = quantity(delivered_x / final_x, CELLS_PER_ML)
    steps.append(Step("Final volume and diluent", "Vf = max(final volume, Vr); diluent = Vf − Vr",
                      f"Vf = max({fmt_volume(protocol.final_volume)}, {fmt_volume(vr)}); "
                      f"diluent = {fmt_volume(final)} − {fmt_volume(vr)}",
                      f"Vf = {fmt_volume(final)}, diluent {fmt_volume(diluent)}"))
    steps.append(Step("Final concentration", "Nd ÷ Vf",
                      f"{fmt_cells(delivered, digits=4)} ÷ {fmt_volume(final)}",
                      fmt_concentration(final_conc, "viable CD3+ cells/mL", digits=4)))
    per_kg_x = final_x / w_x
    if per_kg_x > exact_in(protocol.max_volume_per_kg, ureg.mL / ureg.kg):
        findings.append(Finding(
            "VOLUME_PER_KG_EXCEEDED", Severity.WARNING,
            f"The infusion volume {fmt_volume(final)} is {fixed(float(per_kg_x), 1)} mL/kg, "
            f"above the protocol limit of {protocol.max_volume_per_kg.magnitude:g} mL/kg. "
            "Confirm the volume with the ordering physician."))

    # 12. Product actually used, against the QC reserve (step 7, second part), and what is left.
    used_x = vr_x if factor == 1 else exact_in(lab.dilution_aliquot, ML)
    used = quantity(used_x, ML)
    max_achievable = None
    if used_x > available_x:
        max_achievable = best
        steps.append(_best_step(cells.vp, lab, cells.c, w, best))
        what = (f"the {fmt_volume(used)} drawn" if factor == 1 else
                f"the {fmt_volume(used)} dilution aliquot")
        findings.append(Finding(
            "INSUFFICIENT_PRODUCT", Severity.BLOCK,
            f"Not enough product: {what} is more than the "
            f"{fixed(float(max(available_x, Fraction(0))), 2)} mL that can be used after the "
            f"{fmt_volume(lab.qc_reserve)} QC reserve. The largest achievable dose is "
            f"{fmt_dose(best)}. Do not prepare; contact the ordering physician."))
    remaining = quantity(max(cells.vp_x - used_x, Fraction(0)), ML)
    steps.append(Step("Remaining product",
                      "Vp − Vr" if factor == 1 else "Vp − dilution aliquot",
                      f"{fmt_volume(cells.vp)} − {fmt_volume(used)}", fmt_volume(remaining)))

    # 13. Product checks and expiry.
    _product_checks(request, protocol, findings)
    expires, step = infusion_expiry(request.prepared_at, request.product.collected_at,
                                    protocol, lab)
    steps.append(step)

    return PreparationPlan(
        status=status_of(findings), findings=most_severe_first(findings), steps=tuple(steps),
        max_achievable_dose=max_achievable,
        dilution_factor=factor, dilution_steps=drawn.dilution_steps, withdraw_volume=vr,
        syringe=drawn.syringe, syringe_fills=drawn.fills, delivered_cells=delivered,
        delivered_dose=delivered_dose, deviation_percent=deviation, diluent_volume=diluent,
        final_volume=final, final_concentration=final_conc, remaining_product=remaining,
        expires_at=expires, **common)


def target_cells(dose_x: Fraction, w_x: Fraction, level_name: str,
                 request: PreparationRequest) -> tuple[Fraction, Step]:
    """Step 5. Nt = dose level × W."""
    nt_x = dose_x * w_x
    return nt_x, Step("Target cells", f"Nt = dose level {level_name} × W",
                      f"Nt = {fmt_dose(quantity(dose_x, CELLS_PER_KG))} × "
                      f"{fmt_mass(request.patient.weight.entered)}",
                      fmt_cells(quantity(nt_x, CELLS), "viable CD3+ cells", digits=4))


def exact_volume(nt_x: Fraction, c_x: Fraction) -> tuple[Fraction, Step]:
    """Step 6. Vx = Nt ÷ C."""
    vx_x = nt_x / c_x
    return vx_x, Step("Exact volume of product", "Vx = Nt ÷ C",
                      f"Vx = {fmt_cells(quantity(nt_x, CELLS), digits=4)} ÷ "
                      f"{fmt_concentration(quantity(c_x, CELLS_PER_ML), digits=4)}",
                      f"{fixed(float(vx_x), 4)} mL")


def _product_checks(request: PreparationRequest, protocol: Protocol,
                    findings: list[Finding]) -> None:
    product_checks(request.product.viability_percent, request.product.collected_at,
                   request.prepared_at, protocol, findings)


def _best_step(vp: pint.Quantity, lab: LabSettings, c: pint.Quantity, w: pint.Quantity,
               best: pint.Quantity) -> Step:
    return Step("Largest achievable dose", "(Vp − QC reserve) × C ÷ W",
                f"({fmt_volume(vp)} − {fmt_volume(lab.qc_reserve)}) × "
                f"{fmt_concentration(c, digits=4)} ÷ {fixed(in_kg(w), 2)} kg",
                fmt_dose(best))


def not_for_clinical_use(p: PreparationPlan,
                         released: Collection[str] = ()) -> tuple[str, ...]:
    """Why documents of this plan must carry NOT FOR CLINICAL USE (empty when they need not).
    ``released``: the blocking findings the medical director released by exception (they are
    printed as such, not as a reason against clinical use)."""
    reasons = [f"{f.code}: {f.message}" for f in p.findings
               if f.severity is Severity.BLOCK and f.code not in released]
    reasons += settings_not_approved(p.protocol, p.lab)
    return tuple(reasons)


def settings_not_approved(protocol: Protocol, lab: LabSettings) -> list[str]:
    """Which of the two settings files the record store has not approved, in words (a document
    is for clinical use only when both are)."""
    reasons = []
    if not protocol.approved:
        reasons.append(f"Protocol {protocol.id} version {protocol.version} is not approved "
                       "for clinical use.")
    if not lab.approved:
        reasons.append(f"The lab settings file ({lab.name}, fingerprint "
                       f"{lab.fingerprint[:16]}) is not approved for clinical use "
                       "(doseprep lab approve).")
    return reasons


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


