"""Contract steps 8–9: a volume too small to measure is diluted; the volume to draw is rounded
half up to the graduation of the smallest syringe that holds it. Shared by the fresh plan and
each aliquot of the freeze plan."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import pint

from doseprep.calc.model import DilutionStep, Finding, Severity, Step
from doseprep.calc.quantities import exact_in, in_ml, quantity
from doseprep.protocol import LabSettings, Syringe
from doseprep.units import ML, Q_, fixed, fmt_volume, round_half_up_exact


@dataclass(frozen=True)
class Draw:
    """What is drawn: the dilution factor F (1 when undiluted) and its serial steps, the syringe,
    the rounded volume Vr (exact and as a quantity) and how many fills of the syringe."""

    factor: int
    dilution_steps: tuple[DilutionStep, ...]
    syringe: Syringe
    vr_x: Fraction
    vr: pint.Quantity
    fills: int


def dilution_steps(factor: int, aliquot: pint.Quantity) -> tuple[DilutionStep, ...]:
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


def syringe_name(syringe: Syringe) -> str:
    """The syringe as the instruction names it: "3 mL syringe"."""
    return f"{syringe.capacity.magnitude:g} mL syringe"


def fills_text(vr: pint.Quantity, syringe: Syringe, fills: int) -> str:
    """The volumes of each fill: "10 mL + 10 mL + 4.50 mL"."""
    cap = in_ml(syringe.capacity)
    last = in_ml(vr) - cap * (fills - 1)
    parts = [f"{cap:g} mL"] * (fills - 1) + [fmt_volume(Q_(last, ML))]
    return " + ".join(parts)


def dilution(vx_x: Fraction, lab: LabSettings) -> tuple[int, tuple[DilutionStep, ...],
                                                         list[Step], list[Finding]]:
    """Step 8. F = the first configured factor with Vx × F at least the smallest measurable
    volume (1 when Vx already is); its serial steps; DILUTION_REQUIRED (info) when diluted."""
    minimum_x = exact_in(lab.min_measurable, ML)
    if vx_x >= minimum_x:
        return 1, (), [], []
    vx = quantity(vx_x, ML)
    factor = next((f for f in lab.dilution_factors if vx_x * f >= minimum_x),
                  lab.dilution_factors[-1])
    serial = dilution_steps(factor, lab.dilution_aliquot)
    recipe = dilution_recipe(serial)
    vxf = quantity(vx_x * factor, ML)
    step = Step("Dilution", "F = first factor with Vx × F ≥ minimum measurable volume",
                f"{fixed(in_ml(vx), 4)} mL < {fmt_volume(lab.min_measurable)}; "
                f"{fixed(in_ml(vx), 4)} mL × {factor} = {fixed(in_ml(vxf), 4)} mL",
                f"F = {factor} ({recipe})")
    finding = Finding(
        "DILUTION_REQUIRED", Severity.INFO,
        f"The exact volume {fixed(in_ml(vx), 3)} mL is below the smallest measurable volume "
        f"({fmt_volume(lab.min_measurable)}): dilute the product 1 in {factor} "
        f"({recipe}) and draw from the dilution.")
    return factor, serial, [step], [finding]


def volume_to_draw(vx_x: Fraction, factor: int, lab: LabSettings
                   ) -> tuple[Syringe, Fraction, int, Step, list[Finding]]:
    """Step 9. Vd = Vx × F in the smallest syringe that holds it (else the largest, filled
    several times: MULTIPLE_SYRINGE_FILLS, info), rounded half up to its graduation → Vr; a Vr
    still below the smallest measurable volume is VOLUME_TOO_SMALL (block)."""
    vd_x = vx_x * factor
    syringe = next((s for s in lab.syringes if exact_in(s.capacity, ML) >= vd_x),
                   lab.syringes[-1])
    capacity_x = exact_in(syringe.capacity, ML)
    vr_x = round_half_up_exact(vd_x, exact_in(syringe.graduation, ML))
    vr = quantity(vr_x, ML)
    fills = max(1, math.ceil(vr_x / capacity_x))
    step = Step("Volume to draw", "Vd = Vx × F, rounded half up to the syringe graduation",
                f"Vd = {fixed(in_ml(quantity(vx_x, ML)), 4)} mL × {factor} = "
                f"{fixed(float(vd_x), 4)} mL; {syringe_name(syringe)} graduated in "
                f"{syringe.graduation.magnitude:g} mL",
                fmt_volume(vr))
    findings = []
    if fills > 1:
        findings.append(Finding(
            "MULTIPLE_SYRINGE_FILLS", Severity.INFO,
            f"{fmt_volume(vr)} is more than the largest syringe holds: fill the "
            f"{syringe_name(syringe)} {fills} times ({fills_text(vr, syringe, fills)})."))
    if vr_x < exact_in(lab.min_measurable, ML):
        findings.append(Finding(
            "VOLUME_TOO_SMALL", Severity.BLOCK,
            f"Even after a 1 in {factor} dilution the volume to draw ({fmt_volume(vr)}) is below "
            f"the smallest measurable volume ({fmt_volume(lab.min_measurable)}). A further "
            "dilution is outside this procedure; contact the laboratory director."))
    return syringe, vr_x, fills, step, findings


def draw(vx_x: Fraction, lab: LabSettings) -> tuple[Draw, list[Step], list[Finding]]:
    """Steps 8–9 in order, for an exact volume Vx of undiluted product."""
    factor, serial, steps, findings = dilution(vx_x, lab)
    syringe, vr_x, fills, step, more = volume_to_draw(vx_x, factor, lab)
    return (Draw(factor=factor, dilution_steps=serial, syringe=syringe, vr_x=vr_x,
                 vr=quantity(vr_x, ML), fills=fills), [*steps, step], [*findings, *more])
