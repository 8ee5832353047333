"""A plan as JSON (the command line's contract) and as a plain-text report a technician follows.

Numbers leave the domain here, each in the unit its JSON key names (``exact_volume_mL``,
``target_dose_per_kg``). The text report puts the instruction first, then every step of the
arithmetic, then the findings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from doseprep import __version__
from doseprep.calc.checks import lab_dict, protocol_dict
from doseprep.plans.fresh import Finding, PreparationPlan, Severity, Status, Step, instruction
from doseprep.units import CELLS, CELLS_PER_KG, CELLS_PER_ML, KG, ML, fmt_dose, fmt_mass
from doseprep.units.instants import show, show_with_utc

_EXAMPLE = " — facility data (FIN, product code) EXAMPLE — not your lab's"


def _approved_when(approved_at: str, zone: str | None) -> str:
    """An approval's time as a signature's: in the site ``zone`` with UTC beside it (in UTC
    alone without a zone)."""
    when = f"{approved_at.replace('T', ' ')[:16]} UTC"
    if zone is not None:
        with contextlib.suppress(ValueError):
            when = show_with_utc(datetime.fromisoformat(approved_at), zone)
    return when


def approval_line(protocol, zone: str | None = None) -> str:
    """Who approved the protocol in the record store, or that nobody did — beside what the file
    itself says, which is only its author's intention."""
    author = (f"the file says approved = {str(protocol.author_approved).lower()} (its author's "
              "intention)")
    if protocol.approved:
        a = protocol.approval
        return (f"approved for clinical use by {a.printed_name or a.approved_by} at "
                f"{_approved_when(a.approved_at, zone)}; {author}")
    return f"not approved in the record store; {author}"


def lab_approval_line(lab, zone: str | None = None) -> str:
    """Who approved the lab settings file in the record store, or that nobody did."""
    if lab.approved:
        a = lab.approval
        return (f"approved for clinical use by {a.printed_name or a.approved_by} at "
                f"{_approved_when(a.approved_at, zone)}")
    return "NOT APPROVED in the record store (doseprep lab approve)"


def _num(quantity, unit) -> float:
    return float(quantity.to(unit).magnitude)


def plan_to_dict(p: PreparationPlan) -> dict[str, Any]:
    """The plan as the JSON object DESIGN.md specifies (plus provenance)."""
    out: dict[str, Any] = {
        "status": str(p.status),
        "instruction": instruction(p),
        "product_volume_mL": _num(p.product_volume, ML),
        "wbc_per_mL": _num(p.cell_concentration, CELLS_PER_ML),
        "viable_cd3_per_mL": _num(p.viable_cd3_concentration, CELLS_PER_ML),
        "total_viable_cd3": _num(p.total_viable_cd3, CELLS),
        "dosing_weight_kg": _num(p.dosing_weight, KG),
        "dose_level": p.request.order.dose_level,
        "target_dose_per_kg": _num(p.target_dose, CELLS_PER_KG),
        "target_cells": _num(p.target_cells, CELLS),
        "exact_volume_mL": _num(p.exact_volume, ML),
    }
    if p.max_achievable_dose is not None:
        out["max_achievable_dose_per_kg"] = _num(p.max_achievable_dose, CELLS_PER_KG)
    if not p.insufficient:
        assert p.syringe is not None and p.expires_at is not None
        out.update({
            "dilution_factor": float(p.dilution_factor or 1),
            "dilution_steps": [{"source_mL": _num(s.source, ML), "diluent_mL": _num(s.diluent, ML)}
                               for s in p.dilution_steps],
            "withdraw_volume_mL": _num(p.withdraw_volume, ML),
            "syringe_mL": _num(p.syringe.capacity, ML),
            "syringe_graduation_mL": _num(p.syringe.graduation, ML),
            "syringe_fills": p.syringe_fills,
            "delivered_cells": _num(p.delivered_cells, CELLS),
            "delivered_dose_per_kg": _num(p.delivered_dose, CELLS_PER_KG),
            "deviation_percent": p.deviation_percent,
            "diluent_volume_mL": _num(p.diluent_volume, ML),
            "final_volume_mL": _num(p.final_volume, ML),
            "final_concentration_per_mL": _num(p.final_concentration, CELLS_PER_ML),
            "remaining_product_mL": _num(p.remaining_product, ML),
            "expires_at": p.expires_at.isoformat(),
        })
    out["findings"] = [{"code": f.code, "severity": str(f.severity), "message": f.message}
                       for f in p.findings]
    out["steps"] = [{"name": s.name, "formula": s.formula, "substituted": s.substituted,
                     "result": s.result} for s in p.steps]
    out["protocol"] = protocol_dict(p.protocol)
    out["lab"] = lab_dict(p.lab)
    out["doseprep_version"] = __version__
    return out


_MARK = {Severity.BLOCK: "[BLOCK]", Severity.WARNING: "[WARNING]", Severity.INFO: "[info]"}
#: The plan status as the first line of the terminal report and of the worksheet.
STATUS_LINE = {
    Status.OK: "STATUS: OK",
    Status.WARNING: "STATUS: WARNING — read the findings before preparing",
    Status.BLOCKED: "STATUS: BLOCKED — DO NOT PREPARE (see findings)",
}


def steps_and_findings(steps: Sequence[Step], findings: Sequence[Finding]) -> list[str]:
    """The calculation, step by step, then the findings (most severe first, as the plan holds
    them): the part every plan's report shares (fresh, freeze, thaw)."""
    lines = ["Calculation"]
    for number, step in enumerate(steps, 1):
        lines.append(f"{number:>3}. {step.name}")
        lines.append(f"      {step.formula}")
        lines.append(f"      {step.substituted}")
        lines.append(f"      = {step.result}")
    lines.append("")
    if findings:
        lines.append("Findings")
        lines.extend(f"  {_MARK[f.severity]:<10} {f.code}: {f.message}" for f in findings)
    else:
        lines.append("Findings: none")
    return lines


def render_text(p: PreparationPlan) -> str:
    """The plan as a report to read on a terminal or print."""
    r = p.request
    lines = [
        STATUS_LINE[p.status],
        "",
        instruction(p),
        "",
        f"Patient   {r.patient.name}  MRN {r.patient.id}  DOB {r.patient.birth_date.isoformat()}"
        f"  weight {fmt_mass(r.patient.weight.entered)}",
        f"Order     {r.order.dose_level} ({fmt_dose(p.target_dose)}), cycle {r.order.cycle}, "
        f"infusion {r.order.infusion}",
        f"Product   DIN {r.product.din}, collected {show(r.product.collected_at, p.lab.time_zone)}",
        f"Protocol  {p.protocol.title}, version {p.protocol.version}"
        f"{'' if p.protocol.approved else ' (NOT APPROVED — not for clinical use)'}",
        f"          {approval_line(p.protocol, p.lab.time_zone)}",
        f"          fingerprint {p.protocol.fingerprint[:16]}…",
        f"Lab       {p.lab.name}{_EXAMPLE if p.lab.example_facility else ''}",
        f"          {lab_approval_line(p.lab, p.lab.time_zone)}",
        f"          fingerprint {p.lab.fingerprint[:16]}…",
        "",
    ]
    lines += steps_and_findings(p.steps, p.findings)
    if p.expires_at is not None:
        lines += ["", f"Expires {show(p.expires_at, p.lab.time_zone)}"]
    return "\n".join(lines) + "\n"
