"""The freeze and thaw plans as reports to read on a terminal: the status, what to do per
aliquot (or for the bag), then every step and the findings, most severe first."""

from __future__ import annotations

from doseprep.calc.model import Status
from doseprep.calc.quantities import quantity
from doseprep.plans.freeze import FreezePlan
from doseprep.plans.fresh_report import STATUS_LINE, steps_and_findings
from doseprep.plans.thaw import ESTIMATED, ThawPlan
from doseprep.units import CELLS_PER_KG, ML, fixed, fmt_dose, fmt_volume
from doseprep.units.instants import show


def freeze_text(p: FreezePlan) -> str:
    r = p.request
    zone = p.lab.time_zone
    lines = [STATUS_LINE[p.status].replace("PREPARE", "FREEZE"), "",
             f"Patient   {r.patient.name}  MRN {r.patient.id}  weight {r.patient.weight.text}",
             f"Product   DIN {r.product.din}, collected {show(r.product.collected_at, zone)}, "
             f"frozen {show(r.frozen_at, zone)}", "", "Aliquots"]
    for a in p.aliquots:
        dilution = "" if a.drawn.factor == 1 else f" of the 1 in {a.drawn.factor} dilution"
        bag = (f"{a.bag.name}: carrier {fixed(float(a.carrier_volume_ml), 2)} mL, freezing "
               f"medium {fixed(float(a.freezing_medium_volume_ml), 2)} mL to "
               f"{float(a.final_volume_ml):g} mL, DMSO {fixed(float(a.dmso_g), 2)} g"
               if a.bag is not None else "no bag takes it")
        lines.append(f"  {a.division}  cycle {a.order.cycle} infusion {a.order.infusion} "
                     f"{a.order.dose_level}: draw {fmt_volume(a.drawn.vr)}{dilution}; {bag}; "
                     f"expected after thaw "
                     f"{fmt_dose(quantity(a.expected_dose_per_kg, CELLS_PER_KG))}")
    lines += ["", f"Product used {fmt_volume(quantity(p.product_used_ml, ML))}, remaining "
              f"{fmt_volume(quantity(p.remaining_product_ml, ML))}; frozen expiry "
              f"{show(p.frozen_expires_at, zone)}; {p.cryo.storage_statement}."]
    return "\n".join([*lines, "", *steps_and_findings(p.steps, p.findings)]) + "\n"


def thaw_text(p: ThawPlan) -> str:
    r = p.request
    infuse_by = show(p.infuse_by, p.lab.time_zone)
    verdict = ("Infuse the whole bag" if p.status is not Status.BLOCKED
               else "DO NOT INFUSE — see the findings")
    sample = ("" if r.post_thaw is None else
              f" ({r.aliquot.final_volume.text} less the {r.post_thaw.sample_volume.text} "
              "post-thaw sample)")
    lines = [STATUS_LINE[p.status].replace("PREPARE", "INFUSE"), "",
             f"{verdict}: {r.aliquot.din} {r.aliquot.division}, "
             f"{fmt_volume(quantity(p.infused_volume_ml, ML))}{sample}, by {infuse_by}.",
             f"Patient   {r.patient.name}  MRN {r.patient.id}  "
             f"weight today {r.patient.weight.text}",
             f"Dose      {fmt_dose(quantity(p.delivered_dose_per_kg, CELLS_PER_KG))} "
             f"({float(p.deviation_percent):+.2f} % from {r.aliquot.dose_level})"
             + (f", {ESTIMATED}" if p.dose_estimated else ", counted after thawing")]
    return "\n".join([*lines, "", *steps_and_findings(p.steps, p.findings)]) + "\n"
