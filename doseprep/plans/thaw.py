"""The thaw plan (DESIGN.md, "Cryopreserved aliquots", thaw steps 1–7, and "Revision 3", "Thaw
request"): the bag less the post-thaw sample is infused; the dose delivered is counted after
thawing (or, without a count, estimated from the pre-freeze count and the recovery), checked
against today's weight, with the DMSO per kg, the post-thaw viability and the frozen expiry; the
infusion must start within the thawed-product expiry. A typed bag (``aliquot``) is checked like
the product: its volume, DMSO percentage (with a plausibility floor: 0.1 typed for 10 %), frozen
count and planned weight."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from doseprep.calc.checks import (
    approval_note,
    lab_dict,
    offset_checks,
    protocol_dict,
    signed,
    stamp,
)
from doseprep.calc.model import Finding, Severity, Status, Step, most_severe_first, status_of
from doseprep.calc.product import viable_cd3_concentration, wbc_concentration
from doseprep.calc.quantities import exact_in, quantity
from doseprep.errors import InputError
from doseprep.isbt128 import parse_din
from doseprep.plans.cryo_common import request_header
from doseprep.plans.cryo_settings import CryoSettings, ProtocolCryo
from doseprep.plans.thaw_bag import (
    THAW_CONFIRMABLE,
    dmso_plausibility,
    read_division,
    read_final_dmso,
    read_final_volume,
    read_frozen_count,
    read_sample_volume,
)
from doseprep.protocol import LabSettings, Protocol
from doseprep.request import Patient, number_out, patient_to_dict
from doseprep.request.fields import (
    _check_keys,
    _confirmations,
    _Errors,
    _percent,
    _text,
    _timestamp,
)
from doseprep.request.sections import _sample_dilution, _wbc, _weight
from doseprep.units import (
    CELLS,
    CELLS_PER_KG,
    ML,
    Measured,
    exact,
    fixed,
    fmt_cells,
    fmt_dose,
    fmt_percent,
    fmt_volume,
)
from doseprep.units.instants import at_site, later, utc

#: How a dose without a post-thaw count is described wherever it is shown (DESIGN.md, "Thaw
#: request": every document says so).
ESTIMATED = "estimated (pre-freeze count × recovery R)"


@dataclass(frozen=True)
class FrozenAliquot:
    """What the bag's freeze record says (the store fills it from a freeze record)."""

    din: str
    division: str
    frozen_viable_cd3: Fraction
    final_volume: Measured
    final_dmso_percent: Fraction
    dose_level: str
    planned_weight: Measured
    frozen_expires_at: datetime


@dataclass(frozen=True)
class PostThawCounts:
    wbc: Measured
    sample_dilution: Decimal
    cd3_percent: Decimal
    viability_percent: Decimal
    #: The volume taken from the thawed bag for the count: not infused.
    sample_volume: Measured


@dataclass(frozen=True)
class ThawRequest:
    protocol: str
    patient: Patient
    aliquot: FrozenAliquot
    thawed_at: datetime
    post_thaw: PostThawCounts | None
    #: The stored aliquot the bag data came from (``PREP-2026-000001/v1:B0``); None when typed.
    aliquot_ref: str | None = None
    #: Request fields whose time was typed without a UTC offset (then in the site's zone).
    zone_assumed: tuple[str, ...] = ()
    #: Implausible values confirmed on purpose: dotted field -> the reason given.
    confirmations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ThawPlan:
    request: ThawRequest
    protocol: Protocol
    lab: LabSettings
    status: Status
    findings: tuple[Finding, ...]
    steps: tuple[Step, ...]
    weight_kg: Fraction
    target_cells: Fraction
    infused_volume_ml: Fraction
    #: True without a post-thaw count: the dose is the pre-freeze count × the recovery R.
    dose_estimated: bool
    delivered_cells: Fraction
    delivered_dose_per_kg: Fraction
    deviation_percent: Fraction
    dmso_g: Fraction
    dmso_g_per_kg: Fraction
    infuse_by: datetime


def parse_thaw_request(data: Any, *, zone: str | ZoneInfo | None = None) -> ThawRequest:
    """Check a thaw request; every wrong field is named at once."""
    data, errors, zone, protocol_ref, patient = request_header(data, "thaw", zone)
    assumed: list[str] = []
    aliquot = errors.get(None, _frozen_aliquot, data.get("aliquot"), zone, assumed)
    thawed_at = errors.get("thawed_at", _timestamp, data.get("thawed_at"), "thawed_at",
                           "thawing date and time", zone, assumed)
    counts = None
    if data.get("post_thaw") is not None:
        counts = errors.get(None, _post_thaw, data.get("post_thaw"))
    ref = data.get("aliquot_ref")
    if ref is not None and (not isinstance(ref, str) or not ref.strip() or len(ref) > 60):
        errors.add(InputError("aliquot_ref", "Name the stored aliquot like "
                                             "PREP-2026-000001/v1:B0."))
    confirmations = errors.get("confirmations", _confirmations, data, THAW_CONFIRMABLE)
    if counts is not None and aliquot is not None \
            and counts.sample_volume.magnitude >= aliquot.final_volume.magnitude:
        errors.add(InputError("post_thaw.sample_volume",
                              f"The sample ({counts.sample_volume.text}) is not less than the "
                              f"bag's final volume ({aliquot.final_volume.text}): nothing would "
                              "be left to infuse. Check the sample volume."))
    errors.check()
    assert patient is not None and aliquot is not None
    return ThawRequest(protocol=protocol_ref, patient=patient, aliquot=aliquot,
                       thawed_at=thawed_at, post_thaw=counts,
                       aliquot_ref=ref.strip() if isinstance(ref, str) else None,
                       zone_assumed=tuple(assumed), confirmations=confirmations)


def thaw_request_to_dict(r: ThawRequest) -> dict[str, Any]:
    """The thaw request in its JSON shape, as typed (the aliquot as the store filled it)."""
    a = r.aliquot
    out: dict[str, Any] = {
        "kind": "thaw", "protocol": r.protocol, "patient": patient_to_dict(r.patient),
        "aliquot": {"din": a.din, "division": a.division,
                    "frozen_viable_cd3": float(a.frozen_viable_cd3),
                    "final_volume": a.final_volume.text,
                    "final_dmso_percent": number_out(a.final_dmso_percent),
                    "dose_level": a.dose_level, "planned_weight": a.planned_weight.text,
                    "frozen_expires_at": a.frozen_expires_at.isoformat()},
        "thawed_at": r.thawed_at.isoformat(),
    }
    if r.aliquot_ref is not None:
        out["aliquot_ref"] = r.aliquot_ref
    if r.post_thaw is not None:
        c = r.post_thaw
        out["post_thaw"] = {"wbc": c.wbc.text, "sample_dilution": number_out(c.sample_dilution),
                            "cd3_percent": number_out(c.cd3_percent),
                            "viability_percent": number_out(c.viability_percent),
                            "sample_volume": c.sample_volume.text}
    if r.confirmations:
        out["confirmations"] = dict(r.confirmations)
    return out


def _frozen_aliquot(value: Any, zone: ZoneInfo | None, assumed: list[str]) -> FrozenAliquot:
    """The bag's section, checked like the product (DESIGN.md, "Thaw request"); the store fills
    it from the freeze record, a request file may type it."""
    if not isinstance(value, Mapping):
        raise InputError("aliquot", "Give the frozen bag's data as \"aliquot\": {...} (the "
                                    "record store fills it from the freeze record).")
    _check_keys(value, "thaw.aliquot", "aliquot")
    errors = _Errors()
    din = errors.get(None, lambda: parse_din(_text(value, "aliquot.din", "DIN", limit=40),
                                             "aliquot.din"))
    division = errors.get(None, read_division, value)
    frozen = errors.get(None, read_frozen_count, value)
    volume = errors.get(None, read_final_volume, value)
    dmso = errors.get(None, read_final_dmso, value)
    level = errors.get(None, _text, value, "aliquot.dose_level", "dose level", limit=16)
    planned = errors.get(None, _renamed, _weight, {"weight": value.get("planned_weight")},
                         "aliquot.planned_weight")
    expires = errors.get(None, _timestamp, value.get("frozen_expires_at"),
                         "aliquot.frozen_expires_at", "frozen expiry", zone, assumed)
    errors.check()
    return FrozenAliquot(din=din.code, division=division, frozen_viable_cd3=exact(frozen),
                         final_volume=volume, final_dmso_percent=exact(dmso),
                         dose_level=level.upper(), planned_weight=planned,
                         frozen_expires_at=expires)


def _post_thaw(value: Any) -> PostThawCounts:
    if not isinstance(value, Mapping):
        raise InputError("post_thaw", "Give the post-thaw counts as an object: wbc, "
                                      "sample_dilution, cd3_percent, viability_percent, "
                                      "sample_volume.")
    _check_keys(value, "post_thaw")
    errors = _Errors()
    # The product's own readers, named under post_thaw.
    wbc = errors.get(None, _renamed, _wbc, value, "post_thaw.wbc")
    dilution = errors.get(None, _renamed, _sample_dilution, value,
                          "post_thaw.sample_dilution")
    cd3 = errors.get(None, _percent, value, "post_thaw.cd3_percent", "CD3+ percentage")
    viability = errors.get(None, _percent, value, "post_thaw.viability_percent", "viability")
    sample = errors.get(None, read_sample_volume, value)
    errors.check()
    return PostThawCounts(wbc=wbc, sample_dilution=dilution, cd3_percent=cd3,
                          viability_percent=viability, sample_volume=sample)


def _renamed(reader: Any, value: Mapping[str, Any], named: str) -> Any:
    """A product field's reader for the same field of the post-thaw counts, named there."""
    try:
        return reader(value)
    except InputError as exc:
        raise InputError(named, exc.message) from None


def _infused_volume(request: ThawRequest, cryo: CryoSettings, steps: list[Step]) -> Fraction:
    """Step 1. Vb = the bag's final volume less the post-thaw sample (none without a count).
    A typed final volume more than the lab's largest bag holds names ``aliquot.final_volume``."""
    aliquot = request.aliquot
    largest = max(cryo.bags, key=lambda bag: bag.max_ml)
    if aliquot.final_volume.magnitude > largest.max_ml:
        raise InputError("aliquot.final_volume",
                         f"The bag's final volume {aliquot.final_volume.text} is more than the "
                         f"lab's largest bag ({largest.name}, {float(largest.max_ml):g} mL) "
                         "holds; check the volume.")
    final_x = aliquot.final_volume.magnitude
    counts = request.post_thaw
    if counts is None:
        steps.append(Step("Volume infused", "Vb = the bag's final volume (no sample taken)",
                          f"Vb = {aliquot.final_volume.text}", fmt_volume(quantity(final_x, ML))))
        return final_x
    vb_x = final_x - counts.sample_volume.magnitude
    steps.append(Step("Volume infused", "Vb = the bag's final volume − post-thaw sample volume",
                      f"Vb = {aliquot.final_volume.text} − {counts.sample_volume.text}",
                      fmt_volume(quantity(vb_x, ML))))
    return vb_x


def thaw_plan(request: ThawRequest, protocol: Protocol, lab: LabSettings,
              cryo: CryoSettings | None = None, limits: ProtocolCryo | None = None) -> ThawPlan:
    """Compute the thaw plan (DESIGN.md, thaw steps 1–7) with the lab's cryo figures and the
    protocol's limits (or ``cryo`` and ``limits``)."""
    cryo = cryo or lab.cryo
    limits = limits or protocol.cryo
    zone = lab.time_zone
    frozen_at = later(request.aliquot.frozen_expires_at,
                      -timedelta(days=cryo.frozen_shelf_life_days))
    if utc(request.thawed_at) < frozen_at:
        # A slip of the year or the day: a bag cannot be thawed before it was frozen.
        raise InputError("thawed_at", f"The thawing time {stamp(request.thawed_at, zone)} is "
                                      f"before the bag was frozen ({stamp(frozen_at, zone)}, its "
                                      f"frozen expiry less {cryo.frozen_shelf_life_days} days); "
                                      "check the date.")
    aliquot = request.aliquot
    level = protocol.dose_level(aliquot.dose_level)
    if level is None:
        known = ", ".join(d.name for d in protocol.dose_levels)
        raise InputError("aliquot.dose_level", f"Dose level \"{aliquot.dose_level}\" is not in "
                                               f"protocol {protocol.id} (it has {known}).")
    steps: list[Step] = []
    findings: list[Finding] = []
    approval_note(protocol, findings, lab)
    dmso_plausibility(aliquot.final_dmso_percent, request.confirmations, findings)
    vb_x = _infused_volume(request, cryo, steps)
    counts = request.post_thaw
    if counts is not None:
        wbc_x, step = wbc_concentration(counts.wbc, counts.sample_dilution)
        steps.append(step)
        c_x, step = viable_cd3_concentration(wbc_x, counts.cd3_percent, counts.viability_percent)
        steps.append(step)
        delivered_x = c_x * vb_x
        steps.append(Step("Delivered cells", "Nd = C′ × Vb",
                          f"C′ × {fmt_volume(quantity(vb_x, ML))}",
                          fmt_cells(quantity(delivered_x, CELLS), "viable CD3+ cells", digits=4)))
        if exact(counts.viability_percent) < limits.min_post_thaw_viability_percent:
            findings.append(Finding(
                "LOW_VIABILITY", Severity.BLOCK,
                f"Post-thaw viability {fmt_percent(counts.viability_percent)} is below the "
                f"protocol minimum of {float(limits.min_post_thaw_viability_percent):g} %. Do "
                "not infuse; contact the laboratory director.", "post_thaw.viability_percent"))
    else:
        delivered_x = aliquot.frozen_viable_cd3 * limits.recovery
        steps.append(Step(f"Delivered cells, {ESTIMATED}", "Nd = frozen viable CD3+ × R",
                          f"{fmt_cells(quantity(aliquot.frozen_viable_cd3, CELLS), digits=4)} × "
                          f"{float(limits.recovery):g}",
                          fmt_cells(quantity(delivered_x, CELLS), "viable CD3+ cells", digits=4)))
        findings.append(Finding(
            "POST_THAW_COUNT_NOT_DONE", Severity.INFO,
            f"No post-thaw count: the dose delivered is {ESTIMATED} with the protocol's "
            f"{float(limits.post_thaw_recovery_percent):g} % recovery."))
    w_x = request.patient.weight.magnitude
    dose_x = exact_in(level.dose, CELLS_PER_KG)
    nt_x = dose_x * w_x
    # The dose level counts what the protocol's dose basis says: the cells infused after thawing,
    # or (pre_freeze) the cells frozen in the bag, which today's weight is held against.
    dosed_x = aliquot.frozen_viable_cd3 if limits.pre_freeze else delivered_x
    deviation_x = (dosed_x - nt_x) / nt_x * 100
    formula = ("Nt = dose level × W; (frozen viable CD3+ − Nt) ÷ Nt × 100 (dose basis "
               "pre-freeze)" if limits.pre_freeze else
               "Nt = dose level × W; (Nd − Nt) ÷ Nt × 100")
    steps.append(Step("Deviation from target", formula,
                      f"Nt = {fmt_dose(quantity(dose_x, CELLS_PER_KG))} × "
                      f"{fixed(float(w_x), 2)} kg = {fmt_cells(quantity(nt_x, CELLS), digits=4)}",
                      f"{signed(float(deviation_x))} % (tolerance ± "
                      f"{protocol.tolerance_percent:g} %)"))
    if abs(deviation_x) > exact(protocol.tolerance_percent):
        findings.append(Finding(
            "DOSE_OUT_OF_TOLERANCE", Severity.BLOCK,
            f"The {'frozen' if limits.pre_freeze else 'delivered'} dose deviates "
            f"{signed(float(deviation_x))} % from the target for "
            f"today's weight, outside ± {protocol.tolerance_percent:g} %. Do not infuse; contact "
            "the ordering physician."))
    planned_x = aliquot.planned_weight.magnitude
    change_x = abs(w_x - planned_x) / planned_x * 100
    if change_x > limits.weight_change_percent:
        findings.append(Finding(
            "WEIGHT_CHANGED", Severity.WARNING,
            f"Today's weight {request.patient.weight.text} differs {fixed(float(change_x), 1)} % "
            f"from the {aliquot.planned_weight.text} the aliquot was planned for (more than "
            f"{float(limits.weight_change_percent):g} %). Confirm the dose with the physician.",
            "patient.weight"))
    dmso_x = vb_x * aliquot.final_dmso_percent / 100 * cryo.dmso_density_g_per_ml
    steps.append(Step("DMSO", "Vb × final DMSO % × density ÷ W",
                      f"{fmt_volume(quantity(vb_x, ML))} × {float(aliquot.final_dmso_percent):g} % "
                      f"× {float(cryo.dmso_density_g_per_ml):g} g/mL ÷ {fixed(float(w_x), 2)} kg",
                      f"{fixed(float(dmso_x), 2)} g = {fixed(float(dmso_x / w_x), 3)} g/kg"))
    if dmso_x / w_x > cryo.max_dmso_g_per_kg:
        findings.append(Finding(
            "DMSO_LIMIT_EXCEEDED", Severity.BLOCK,
            f"DMSO {fixed(float(dmso_x / w_x), 3)} g/kg is above the "
            f"{float(cryo.max_dmso_g_per_kg):g} g/kg allowed per infusion."))
    if utc(request.thawed_at) > utc(aliquot.frozen_expires_at):
        findings.append(Finding(
            "PRODUCT_EXPIRED", Severity.BLOCK,
            f"The bag expired frozen at {stamp(aliquot.frozen_expires_at, zone)}, before it was "
            f"thawed ({stamp(request.thawed_at, zone)}). Do not infuse."))
    offset_checks((("aliquot.frozen_expires_at", aliquot.frozen_expires_at),
                   ("thawed_at", request.thawed_at)), request.zone_assumed, lab, findings)
    # Real minutes from the instant of thawing, whatever clock change falls between.
    infuse_by = at_site(later(request.thawed_at,
                              timedelta(minutes=cryo.thawed_infusion_expiry_minutes)), zone)
    steps.append(Step("Infuse by", "thawed at + thawed-product expiry",
                      f"{stamp(request.thawed_at, zone)} + "
                      f"{cryo.thawed_infusion_expiry_minutes} min", stamp(infuse_by, zone)))
    return ThawPlan(request=request, protocol=protocol, lab=lab, status=status_of(findings),
                    findings=most_severe_first(findings), steps=tuple(steps), weight_kg=w_x,
                    target_cells=nt_x, infused_volume_ml=vb_x, dose_estimated=counts is None,
                    delivered_cells=delivered_x,
                    delivered_dose_per_kg=delivered_x / w_x, deviation_percent=deviation_x,
                    dmso_g=dmso_x, dmso_g_per_kg=dmso_x / w_x, infuse_by=infuse_by)


def thaw_to_dict(p: ThawPlan) -> dict[str, Any]:
    """The thaw plan as JSON (numbers in the units their keys name)."""
    return {
        "kind": "thaw", "status": str(p.status),
        "din": p.request.aliquot.din, "division": p.request.aliquot.division,
        "dose_level": p.request.aliquot.dose_level,
        "dosing_weight_kg": float(p.weight_kg), "target_cells": float(p.target_cells),
        "infused_volume_mL": float(p.infused_volume_ml),
        "dose_estimated": p.dose_estimated,
        "delivered_cells": float(p.delivered_cells),
        "delivered_dose_per_kg": float(p.delivered_dose_per_kg),
        "deviation_percent": float(p.deviation_percent),
        "dmso_g": float(p.dmso_g), "dmso_g_per_kg": float(p.dmso_g_per_kg),
        "infuse_by": p.infuse_by.isoformat(),
        "findings": [{"code": f.code, "severity": str(f.severity), "message": f.message}
                     for f in p.findings],
        "steps": [{"name": s.name, "formula": s.formula, "substituted": s.substituted,
                   "result": s.result} for s in p.steps],
        "protocol": protocol_dict(p.protocol),
        "lab": lab_dict(p.lab),
    }

