"""The freeze plan (DESIGN.md, "Cryopreserved aliquots", freeze steps 1–8): one collection split
into aliquots at planned doses, each drawn as a fresh preparation is (steps 8–9 of the fresh
contract), filled into a bag with carrier and freezing medium, its DMSO checked per kg, and given
its ISBT 128 division (A0, B0 …)."""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from doseprep.calc.checks import (
    approval_note,
    lab_dict,
    offset_checks,
    plausibility,
    product_checks,
    protocol_dict,
    signed,
    stamp,
)
from doseprep.calc.draw import Draw, draw, syringe_name
from doseprep.calc.model import Finding, Severity, Status, Step, most_severe_first, status_of
from doseprep.calc.product import ProductCells, product_cells
from doseprep.calc.quantities import exact_in, in_ml, quantity
from doseprep.errors import InputError
from doseprep.plans.cryo_common import request_header
from doseprep.plans.cryo_settings import Bag, CryoSettings
from doseprep.protocol import LabSettings, Protocol
from doseprep.request import Patient, Product, patient_to_dict, product_to_dict
from doseprep.request.fields import (
    _check_keys,
    _confirmations,
    _section,
    _text,
    _timestamp,
    _whole,
)
from doseprep.request.sections import _product
from doseprep.units import CELLS, CELLS_PER_KG, ML, exact, fixed, fmt_cells, fmt_dose, fmt_volume
from doseprep.units.instants import at_site, later

#: At most one aliquot per first-level ISBT 128 division letter.
MAX_ALIQUOTS = 26


@dataclass(frozen=True)
class AliquotOrder:
    """One planned infusion: its cycle, infusion number and dose level."""

    cycle: int
    infusion: int
    dose_level: str


@dataclass(frozen=True)
class FreezeRequest:
    protocol: str
    patient: Patient
    product: Product
    aliquots: tuple[AliquotOrder, ...]
    frozen_at: datetime
    confirmations: Mapping[str, str]
    zone_assumed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Aliquot:
    """One aliquot as planned; volumes in mL, cells as counts, all exact."""

    division: str
    order: AliquotOrder
    target_cells: Fraction
    cells_to_freeze: Fraction
    drawn: Draw
    frozen_viable_cd3: Fraction
    expected_post_thaw_cells: Fraction
    expected_dose_per_kg: Fraction
    deviation_percent: Fraction
    product_used_ml: Fraction
    bag: Bag | None
    final_volume_ml: Fraction | None
    carrier_volume_ml: Fraction | None
    freezing_medium_volume_ml: Fraction | None
    dmso_g: Fraction | None
    dmso_g_per_kg: Fraction | None


@dataclass(frozen=True)
class FreezePlan:
    request: FreezeRequest
    protocol: Protocol
    lab: LabSettings
    cryo: CryoSettings
    status: Status
    findings: tuple[Finding, ...]
    steps: tuple[Step, ...]
    cells: ProductCells
    weight_kg: Fraction
    aliquots: tuple[Aliquot, ...]
    product_used_ml: Fraction
    remaining_product_ml: Fraction
    frozen_expires_at: datetime


def parse_freeze_request(data: Any, *, zone: str | ZoneInfo | None = None,
                         protocol: Protocol | None = None,
                         keyboard: bool = False) -> FreezeRequest:
    """Check a freeze request (the fresh request without ``order`` and ``prepared_at``, plus
    ``aliquots`` and ``frozen_at``); every wrong field is named at once. ``keyboard``: typed in
    a form, so the DIN needs its check character."""
    data, errors, zone, protocol_ref, patient = request_header(data, "freeze", zone)
    assumed: list[str] = []
    r = errors.get(None, _section, data, "product")
    product = _product(r, zone, assumed, errors, keyboard) if r is not None else None
    aliquots = errors.get(None, _aliquots, data.get("aliquots"), protocol)
    frozen_at = errors.get("frozen_at", _timestamp, data.get("frozen_at"), "frozen_at",
                           "freezing date and time", zone, assumed)
    if frozen_at is not None and product is not None and frozen_at < product.collected_at:
        errors.add(InputError("frozen_at", "The freezing time is before the product was "
                                           "collected; check both dates and times."))
    confirmations = errors.get("confirmations", _confirmations, data)
    errors.check()
    assert patient is not None and product is not None and aliquots is not None
    return FreezeRequest(protocol=protocol_ref, patient=patient, product=product,
                         aliquots=aliquots, frozen_at=frozen_at, confirmations=confirmations,
                         zone_assumed=tuple(assumed))


def _aliquots(value: Any, protocol: Protocol | None) -> tuple[AliquotOrder, ...]:
    if not isinstance(value, list) or not value:
        raise InputError("aliquots", "List the aliquots to freeze: "
                                     "[{\"cycle\": 2, \"infusion\": 1, \"dose_level\": \"DL3\"}].")
    if len(value) > MAX_ALIQUOTS:
        raise InputError("aliquots", f"{len(value)} aliquots: at most {MAX_ALIQUOTS} (one per "
                                     "ISBT 128 division letter A–Z).")
    out: list[AliquotOrder] = []
    for number, item in enumerate(value):
        where = f"aliquots[{number}]"
        if not isinstance(item, Mapping):
            raise InputError(where, "Each aliquot is an object with cycle, infusion and "
                                    "dose_level.")
        _check_keys(item, "freeze.aliquot", where)
        cycle = _whole(item, f"{where}.cycle", "cycle")
        infusion = _whole(item, f"{where}.infusion", "infusion number")
        level = _text(item, f"{where}.dose_level", "dose level (e.g. DL3)", limit=16).upper()
        order = AliquotOrder(cycle, infusion, level)
        if any((o.cycle, o.infusion) == (cycle, infusion) for o in out):
            raise InputError(f"{where}.infusion", f"Cycle {cycle} infusion {infusion} is listed "
                                                  "twice; each infusion gets one aliquot.")
        if protocol is not None:
            _check_in_protocol(order, protocol, where)
        out.append(order)
    return tuple(out)


def _check_in_protocol(order: AliquotOrder, protocol: Protocol, where: str) -> None:
    if protocol.dose_level(order.dose_level) is None:
        known = ", ".join(d.name for d in protocol.dose_levels)
        raise InputError(f"{where}.dose_level", f"Dose level \"{order.dose_level}\" is not in "
                                                f"protocol {protocol.id} (it has {known}).")
    infusions = protocol.infusions(order.cycle)
    if infusions is None:
        known = ", ".join(str(c) for c, _ in protocol.cycles)
        raise InputError(f"{where}.cycle", f"Cycle {order.cycle} is not in protocol "
                                           f"{protocol.id} (cycles: {known}).")
    if not 1 <= order.infusion <= infusions:
        raise InputError(f"{where}.infusion", f"Cycle {order.cycle} has {infusions} "
                                              f"infusion(s); infusion {order.infusion} is not one "
                                              "of them.")


def freeze_plan(request: FreezeRequest, protocol: Protocol, lab: LabSettings,
                cryo: CryoSettings | None = None) -> FreezePlan:
    """Compute the freeze plan (DESIGN.md, freeze steps 1–8) with the lab's cryo figures (or
    ``cryo``)."""
    cryo = cryo or lab.cryo
    for number, order in enumerate(request.aliquots):
        _check_in_protocol(order, protocol, f"aliquots[{number}]")
    steps: list[Step] = []
    findings: list[Finding] = []
    approval_note(protocol, findings, lab)
    cells, product_steps = product_cells(request.product, lab)  # F1-F4
    steps += product_steps
    plausibility(request, lab, cells.wbc_x, findings)
    w_x = request.patient.weight.magnitude
    aliquots = []
    for number, order in enumerate(request.aliquots):
        aliquot, aliquot_steps, aliquot_findings = _aliquot(
            string.ascii_uppercase[number] + "0", order, cells, w_x, protocol, lab, cryo)
        aliquots.append(aliquot)
        steps += aliquot_steps
        findings += aliquot_findings
    used_x = sum((a.product_used_ml for a in aliquots), Fraction(0))
    available_x = cells.vp_x - exact_in(lab.qc_reserve, ML)
    if used_x > available_x:
        findings.append(Finding(
            "INSUFFICIENT_PRODUCT", Severity.BLOCK,
            f"Not enough product: the aliquots use {fixed(float(used_x), 2)} mL but only "
            f"{fixed(float(max(available_x, Fraction(0))), 2)} mL can be used after the "
            f"{fmt_volume(lab.qc_reserve)} QC reserve. Freeze fewer or smaller aliquots."))
    remaining_x = max(cells.vp_x - used_x, Fraction(0))
    steps.append(Step("Remaining product", "Vp − Σ product used",
                      f"{fmt_volume(cells.vp)} − {fmt_volume(quantity(used_x, ML))}",
                      fmt_volume(quantity(remaining_x, ML))))
    product_checks(request.product.viability_percent, request.product.collected_at,
                   request.frozen_at, protocol, findings)  # the age at freezing, in real hours
    offset_checks((("product.collected_at", request.product.collected_at),
                   ("frozen_at", request.frozen_at)), request.zone_assumed, lab, findings)
    zone = lab.time_zone
    # The shelf life in days of 24 real hours, from the instant of freezing.
    expires = at_site(later(request.frozen_at, timedelta(days=cryo.frozen_shelf_life_days)), zone)
    steps.append(Step("Frozen expiry", "frozen at + frozen shelf life",
                      f"{stamp(request.frozen_at, zone)} + "
                      f"{cryo.frozen_shelf_life_days} days", stamp(expires, zone)))
    return FreezePlan(request=request, protocol=protocol, lab=lab, cryo=cryo,
                      status=status_of(findings), findings=most_severe_first(findings),
                      steps=tuple(steps), cells=cells, weight_kg=w_x, aliquots=tuple(aliquots),
                      product_used_ml=used_x, remaining_product_ml=remaining_x,
                      frozen_expires_at=expires)


def _aliquot(division: str, order: AliquotOrder, cells: ProductCells, w_x: Fraction,
             protocol: Protocol, lab: LabSettings, cryo: CryoSettings
             ) -> tuple[Aliquot, list[Step], list[Finding]]:
    """Freeze steps 2–5 for one aliquot."""
    name = f"Aliquot {division} (cycle {order.cycle}, infusion {order.infusion})"
    level = protocol.dose_level(order.dose_level)
    assert level is not None
    dose_x = exact_in(level.dose, CELLS_PER_KG)
    basis = protocol.cryo
    r = basis.recovery
    nt_x = dose_x * w_x
    # The protocol's dose basis (DESIGN.md, Revision 3): the dose level counts the cells after
    # thawing (freeze Nt ÷ R) or the cells frozen (freeze Nt; R only predicts).
    nf_x = nt_x if basis.pre_freeze else nt_x / r
    nf_formula, nf_values = (("Nf = Nt (dose basis pre-freeze)", "Nf = Nt") if basis.pre_freeze
                             else ("Nf = Nt ÷ R (dose basis post-thaw)",
                                   f"Nf = Nt ÷ {float(r):g}"))
    vx_x = nf_x / cells.c_x
    steps = [Step(f"{name}: cells to freeze", f"Nt = {level.name} × W; {nf_formula}",
                  f"Nt = {fmt_dose(quantity(dose_x, CELLS_PER_KG))} × {float(w_x):g} kg = "
                  f"{fmt_cells(quantity(nt_x, CELLS), digits=4)}; {nf_values}",
                  fmt_cells(quantity(nf_x, CELLS), "viable CD3+ cells", digits=4))]
    drawn, draw_steps, findings = draw(vx_x, lab)
    steps += [Step(f"{name}: {s.name.lower()}", s.formula, s.substituted, s.result)
              for s in draw_steps]
    findings = [Finding(f.code, f.severity, f"{name}: {f.message}", f.field) for f in findings]
    nd_x = drawn.vr_x * cells.c_x / drawn.factor
    ne_x = nd_x * r
    # What the dose level is compared with: the expected post-thaw cells, or the cells frozen.
    dosed_x = nd_x if basis.pre_freeze else ne_x
    deviation_x = (dosed_x - nt_x) / nt_x * 100
    compared = "the frozen" if basis.pre_freeze else "the expected post-thaw"
    steps.append(Step(f"{name}: expected after thaw", "Nd = Vr × C ÷ F; Ne = Nd × R",
                      f"Nd = {fmt_volume(drawn.vr)} × C ÷ {drawn.factor} = "
                      f"{fmt_cells(quantity(nd_x, CELLS), digits=4)}; Ne = Nd × {float(r):g}",
                      f"{fmt_cells(quantity(ne_x, CELLS), digits=4)} "
                      f"({compared} count {signed(float(deviation_x))} % from the target)"))
    if abs(deviation_x) > exact(protocol.tolerance_percent):
        findings.append(Finding(
            "DOSE_OUT_OF_TOLERANCE", Severity.BLOCK,
            f"{name}: {compared} dose deviates {signed(float(deviation_x))} % from "
            f"the target, outside ± {protocol.tolerance_percent:g} %.", None))
    used_x = drawn.vr_x if drawn.factor == 1 else exact_in(lab.dilution_aliquot, ML)
    fill = _bag(drawn, cells, cryo)
    bag, vf_x, vc_x, vm_x = fill if fill is not None else (None, None, None, None)
    dmso_x = dmso_per_kg_x = None
    if fill is None:
        findings.append(Finding(
            "ALIQUOT_TOO_LARGE", Severity.BLOCK,
            f"{name}: the filled bag would hold more than the largest bag "
            f"({cryo.bags[-1].name}, {float(cryo.bags[-1].max_ml):g} mL) takes; split it."))
    else:
        assert vf_x is not None and bag is not None
        dmso_x = vf_x * cryo.final_dmso_percent / 100 * cryo.dmso_density_g_per_ml
        dmso_per_kg_x = dmso_x / w_x
        steps.append(Step(f"{name}: bag", "Vf = max(bag minimum, ⌈Vn⌉); Vc = Vf ÷ (1 + k) − Vr; "
                          "Vm = Vf − Vf ÷ (1 + k); DMSO = Vf × final % × density",
                          f"{bag.name}; Vf = {float(vf_x):g} mL; Vc = {fixed(float(vc_x), 2)} mL; "
                          f"Vm = {fixed(float(vm_x), 2)} mL",
                          f"DMSO {fixed(float(dmso_x), 2)} g = "
                          f"{fixed(float(dmso_per_kg_x), 3)} g/kg"))
        if dmso_per_kg_x > cryo.max_dmso_g_per_kg:
            findings.append(Finding(
                "DMSO_LIMIT_EXCEEDED", Severity.BLOCK,
                f"{name}: DMSO {fixed(float(dmso_per_kg_x), 3)} g/kg is above the "
                f"{float(cryo.max_dmso_g_per_kg):g} g/kg allowed per infusion."))
    aliquot = Aliquot(division=division, order=order, target_cells=nt_x, cells_to_freeze=nf_x,
                      drawn=drawn, frozen_viable_cd3=nd_x, expected_post_thaw_cells=ne_x,
                      expected_dose_per_kg=ne_x / w_x, deviation_percent=deviation_x,
                      product_used_ml=used_x, bag=bag, final_volume_ml=vf_x,
                      carrier_volume_ml=vc_x, freezing_medium_volume_ml=vm_x, dmso_g=dmso_x,
                      dmso_g_per_kg=dmso_per_kg_x)
    return aliquot, steps, findings


def _bag(drawn: Draw, cells: ProductCells, cryo: CryoSettings
         ) -> tuple[Bag, Fraction, Fraction, Fraction] | None:
    """Freeze step 4: the bag, its final volume, the carrier and the freezing medium; None when no
    bag takes the aliquot."""
    k = cryo.final_dmso_percent / (cryo.freezing_medium_dmso_percent - cryo.final_dmso_percent)
    wbc_in_bag = drawn.vr_x * cells.wbc_x / drawn.factor
    needed = max(drawn.vr_x * (1 + k), wbc_in_bag / cryo.max_wbc_per_ml)
    bag = next((b for b in cryo.bags if b.max_ml >= needed), None)
    if bag is None:
        return None
    vf = max(bag.min_ml, Fraction(math.ceil(needed)))
    vs = vf / (1 + k)
    return bag, vf, vs - drawn.vr_x, vf - vs


def freeze_request_to_dict(r: FreezeRequest) -> dict[str, Any]:
    """The freeze request in its JSON shape, every value as it was typed (what a record keeps)."""
    out: dict[str, Any] = {
        "kind": "freeze", "protocol": r.protocol, "patient": patient_to_dict(r.patient),
        "product": product_to_dict(r.product),
        "aliquots": [{"cycle": a.cycle, "infusion": a.infusion, "dose_level": a.dose_level}
                     for a in r.aliquots],
        "frozen_at": r.frozen_at.isoformat(),
    }
    if r.confirmations:
        out["confirmations"] = dict(r.confirmations)
    return out


def freeze_to_dict(p: FreezePlan) -> dict[str, Any]:
    """The freeze plan as the JSON DESIGN.md specifies (numbers in the units their keys name)."""
    out: dict[str, Any] = {
        "kind": "freeze",
        "status": str(p.status),
        "product_volume_mL": float(p.cells.vp_x),
        "wbc_per_mL": float(p.cells.wbc_x),
        "viable_cd3_per_mL": float(p.cells.c_x),
        "total_viable_cd3": float(p.cells.c_x * p.cells.vp_x),
        "dosing_weight_kg": float(p.weight_kg),
        "aliquots": [{**_aliquot_dict(a), "product_code": aliquot_product_code(p, a)}
                     for a in p.aliquots],
        "product_used_mL": float(p.product_used_ml),
        "remaining_product_mL": float(p.remaining_product_ml),
        "frozen_expires_at": p.frozen_expires_at.isoformat(),
        "final_dmso_percent": float(p.cryo.final_dmso_percent),
        "storage": p.cryo.storage_statement,
    }
    out["findings"] = [{"code": f.code, "severity": str(f.severity), "message": f.message}
                       for f in p.findings]
    out["steps"] = [{"name": s.name, "formula": s.formula, "substituted": s.substituted,
                     "result": s.result} for s in p.steps]
    out["protocol"] = protocol_dict(p.protocol)
    out["lab"] = lab_dict(p.lab)
    return out


def aliquot_product_code(p: FreezePlan, a: Aliquot) -> str:
    """The ISBT 128 product code of an aliquot's bag (``S12352B0``): the lab's frozen-product
    description code, the type of donation and the aliquot's division."""
    from doseprep.isbt128 import product_code_structure

    return product_code_structure(p.cryo.product_description_code,
                                  str(p.lab.facility.get("donation_type", "2")), a.division,
                                  field="lab.cryo.product_description_code")[2:]


def _optional(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _aliquot_dict(a: Aliquot) -> dict[str, Any]:
    return {
        "division": a.division, "cycle": a.order.cycle, "infusion": a.order.infusion,
        "dose_level": a.order.dose_level, "target_cells": float(a.target_cells),
        "cells_to_freeze": float(a.cells_to_freeze),
        "dilution_factor": float(a.drawn.factor), "withdraw_volume_mL": in_ml(a.drawn.vr),
        "syringe_mL": in_ml(a.drawn.syringe.capacity), "syringe": syringe_name(a.drawn.syringe),
        "frozen_viable_cd3": float(a.frozen_viable_cd3),
        "expected_post_thaw_cells": float(a.expected_post_thaw_cells),
        "expected_dose_per_kg": float(a.expected_dose_per_kg),
        "deviation_percent": float(a.deviation_percent),
        "product_used_mL": float(a.product_used_ml),
        "bag": a.bag.name if a.bag is not None else None,
        "final_volume_mL": _optional(a.final_volume_ml),
        "carrier_volume_mL": _optional(a.carrier_volume_ml),
        "freezing_medium_volume_mL": _optional(a.freezing_medium_volume_ml),
        "dmso_g": _optional(a.dmso_g), "dmso_g_per_kg": _optional(a.dmso_g_per_kg),
    }
