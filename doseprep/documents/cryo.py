"""The cycle-2 documents: the freezing and thawing worksheets and the bags' ISBT 128 labels.

The freezing worksheet lists the product as counted, then one block per aliquot (its syringe
instruction, carrier, freezing medium, bag, DMSO and expected post-thaw dose), every step of the
arithmetic, the findings, a checklist and the Prepared / Verified / Released blocks. Each
aliquot gets a label with its ISBT 128 division in the product code (``=<S12352B0``), the DMSO
content, the storage statement, the frozen expiry (barcoded) and the cycle, infusion and dose it
is planned for. The thawing worksheet shows the bag, the post-thaw count, today's dose and the
infuse-by time; the thawed bag's label carries the infuse-by time as its expiry barcode.

As for the fresh product, only a verified or released record gets product-code and expiry
barcodes, a blocked plan gets none, and every page names the record, its version and state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from doseprep.calc.quantities import quantity
from doseprep.documents.labels import (
    DEFAULT_INVESTIGATIONAL,
    LabelData,
    label_pages,
    label_size,
    reprint_words,
)
from doseprep.documents.sections import ledger_rows, settings_rows, status_line
from doseprep.documents.style import (
    WORKSHEET_FONTS,
    document_id,
    draft_reason,
    exceptional_words,
    register_fonts,
    released_codes,
    state_words,
)
from doseprep.documents.worksheet import (
    MARGIN,
    _grid,
    _p,
    _pairs,
    _signature_blocks,
    _styles,
    build_document,
    checklist,
    din_block,
    findings_table,
    page_dimensions,
    status_and_reasons,
    steps_table,
)
from doseprep.documents.zpl import label_zpl
from doseprep.isbt128 import (
    abo_rh_structure,
    din_structure,
    expiration_structure,
    parse_abo_rh,
    parse_din,
    product_code_structure,
)
from doseprep.manifest import RecordInfo
from doseprep.plans.freeze import Aliquot, FreezePlan, aliquot_product_code
from doseprep.plans.fresh import Severity, not_for_clinical_use
from doseprep.plans.thaw import ESTIMATED, ThawPlan
from doseprep.protocol import EXAMPLE_MARK
from doseprep.units import (
    CELLS,
    CELLS_PER_KG,
    ML,
    fixed,
    fmt_cells,
    fmt_dose,
    fmt_percent,
    fmt_volume,
)
from doseprep.units.instants import show

FREEZE_CHECKLIST = (
    "Patient, MRN and DIN on the product bag match this worksheet.",
    "Each aliquot drawn with the syringe named, diluted where stated.",
    "Carrier and freezing medium added as listed; bag filled to its final volume.",
    "Each bag labelled with its own division (A0, B0 …) and checked against this page.",
    "Bags placed in the controlled-rate freezer; freezer location recorded in the inventory.",
)
THAW_CHECKLIST = (
    "Bag label (DIN and division) scanned and matches this worksheet and the patient.",
    "Bag intact after thawing; post-thaw sample taken for the count.",
    "Thawed-product label applied; infusion started before the infuse-by time.",
)


def _aliquot_rows(a: Aliquot) -> list[list]:
    capacity = float(a.drawn.syringe.capacity.magnitude)
    syringe = (f"{fmt_volume(a.drawn.vr)} with a {capacity:g} mL syringe"
               + ("" if a.drawn.factor == 1 else f" of the 1 in {a.drawn.factor} dilution"))
    bag = ("no bag takes it" if a.bag is None else
           f"{a.bag.name}: final {float(a.final_volume_ml):g} mL = carrier "
           f"{fixed(float(a.carrier_volume_ml), 2)} mL + freezing medium "
           f"{fixed(float(a.freezing_medium_volume_ml), 2)} mL")
    dmso = ("—" if a.dmso_g is None else
            f"{fixed(float(a.dmso_g), 2)} g ({fixed(float(a.dmso_g_per_kg), 3)} g/kg)")
    return [a.division, f"C{a.order.cycle} I{a.order.infusion} {a.order.dose_level}", syringe,
            bag, dmso,
            f"{fmt_dose(quantity(a.expected_dose_per_kg, CELLS_PER_KG), digits=3)} "
            f"({'+' if a.deviation_percent >= 0 else ''}{fixed(float(a.deviation_percent), 1)} %)"]


def _freeze_story(plan: FreezePlan, record: RecordInfo | None, s: dict, width: float) -> list:
    r = plan.request
    zone = plan.lab.time_zone
    story: list = [_p("HMCT freezing worksheet — cycle 2 aliquots", s["h1"]), Spacer(1, 3)]
    story += status_and_reasons(status_line(plan, record),
                                not_for_clinical_use(plan, released_codes(record)), s, width)
    story.append(_p("Patient", s["h2"]))
    story.append(_pairs([("Name", r.patient.name), ("MRN", r.patient.id),
                         ("Date of birth", r.patient.birth_date.isoformat()),
                         ("Planning weight", f"{r.patient.weight.text} → "
                                             f"{fixed(float(plan.weight_kg), 2)} kg")], s, width))
    p = r.product
    story.append(_p("Product (donor apheresis)", s["h2"]))
    story.append(din_block(p.din, p.din_flags, [
        ("Collected", show(p.collected_at, zone)), ("Frozen", show(r.frozen_at, zone)),
        ("Volume", f"{fixed(float(plan.cells.vp_x), 2)} mL"),
        ("WBC (analyzer)", f"{p.wbc.text} × {p.sample_dilution:g}"),
        ("CD3+ / viability", f"{fmt_percent(p.cd3_percent)} / "
                             f"{fmt_percent(p.viability_percent)}"),
        ("Donor ABO/Rh", p.abo_rh or "not given"),
        *ledger_rows(record),
    ], s, width))
    story.append(_p("Settings", s["h2"]))
    story.append(_pairs([*settings_rows(plan),
                         ("Dose basis", plan.protocol.cryo.basis_words())], s, width))
    story.append(_p("Aliquots", s["h2"]))
    header = ["Bag", "Planned", "Draw", "Bag and fill", "DMSO", "Expected after thaw"]
    rows = [[_p(h, s["bold"]) for h in header]]
    rows += [[_p(cell, s["bold"] if n == 0 else s["small"]) for n, cell in
              enumerate(_aliquot_rows(a))] for a in plan.aliquots]
    story.append(_grid(rows, [10 * mm, 24 * mm, 38 * mm, width - 144 * mm, 30 * mm, 42 * mm],
                       header=True))
    story.append(Spacer(1, 3))
    story.append(_pairs([
        ("Product used", f"{fixed(float(plan.product_used_ml), 2)} mL"),
        ("Product remaining", f"{fixed(float(plan.remaining_product_ml), 2)} mL"),
        ("Frozen expiry", show(plan.frozen_expires_at, zone)),
        ("Storage", plan.cryo.storage_statement),
    ], s, width))
    return story + _closing(plan, record, FREEZE_CHECKLIST, s, width)


def _closing(plan: FreezePlan | ThawPlan, record: RecordInfo | None, items: Any, s: dict,
             width: float) -> list:
    """Every step, the findings, the checklist and the signature blocks, as on every worksheet."""
    signatures = _signature_blocks(record, s, width, plan.lab.time_zone)
    return [*steps_table(plan.steps, s, width), *findings_table(plan.findings, s, width),
            checklist(items, s, width), KeepTogether(signatures)]


def _thaw_story(plan: ThawPlan, record: RecordInfo | None, s: dict, width: float) -> list:
    r = plan.request
    a = r.aliquot
    zone = plan.lab.time_zone
    story: list = [_p("HMCT thawing worksheet — cycle 2 infusion", s["h1"]), Spacer(1, 3)]
    released = released_codes(record)
    story += status_and_reasons(status_line(plan, record),
                                not_for_clinical_use(plan, released), s, width)
    blocked = plan.status.value == "blocked" and not released
    counts = r.post_thaw
    sample = ("" if counts is None else
              f", {a.final_volume.text} less the {counts.sample_volume.text} post-thaw sample")
    text = ("DO NOT INFUSE — see the findings." if blocked else
            f"Infuse the whole bag ({fmt_volume(quantity(plan.infused_volume_ml, ML))}{sample}) "
            f"by {show(plan.infuse_by, zone)}.")
    story.append(_grid([[_p(text, s["instruction"])]], [width],
                       style=[("BOX", (0, 0), (-1, -1), 2, colors.black)]))
    story.append(_p("Patient", s["h2"]))
    story.append(_pairs([("Name", r.patient.name), ("MRN", r.patient.id),
                         ("Date of birth", r.patient.birth_date.isoformat()),
                         ("Today's weight", f"{r.patient.weight.text} (planned "
                                            f"{a.planned_weight.text})")], s, width))
    story.append(_p("Bag", s["h2"]))
    story.append(din_block(a.din, "00", [
        ("Bag", f"{r.aliquot_ref or 'typed, not from the inventory'} · division {a.division}"),
        ("Dose level", a.dose_level),
        ("Frozen viable CD3+", fmt_cells(quantity(a.frozen_viable_cd3, CELLS), digits=4)),
        ("Final volume / DMSO", f"{a.final_volume.text} / {float(a.final_dmso_percent):g} %"),
        ("Frozen expiry", show(a.frozen_expires_at, zone)),
        ("Thawed", show(r.thawed_at, zone)),
    ], s, width))
    story.append(_p("Settings", s["h2"]))
    story.append(_pairs([*settings_rows(plan),
                         ("Dose basis", plan.protocol.cryo.basis_words())], s, width))
    story.append(_p("Results", s["h2"]))
    estimated = f" — {ESTIMATED}" if plan.dose_estimated else ""
    story.append(_pairs([
        ("Post-thaw count", "not done" if counts is None else
         f"WBC {counts.wbc.text}, CD3+ {fmt_percent(counts.cd3_percent)}, viability "
         f"{fmt_percent(counts.viability_percent)}; sample {counts.sample_volume.text}"),
        ("Volume infused", fmt_volume(quantity(plan.infused_volume_ml, ML))),
        ("Delivered cells", fmt_cells(quantity(plan.delivered_cells, CELLS), digits=4)
         + estimated),
        ("Delivered dose", fmt_dose(quantity(plan.delivered_dose_per_kg, CELLS_PER_KG),
                                    digits=4) + estimated),
        ("Deviation", f"{'+' if plan.deviation_percent >= 0 else ''}"
                      f"{fixed(float(plan.deviation_percent), 2)} %"),
        ("DMSO", f"{fixed(float(plan.dmso_g), 2)} g = {fixed(float(plan.dmso_g_per_kg), 3)} g/kg"),
        ("Infuse by", show(plan.infuse_by, zone)),
    ], s, width))
    return story + _closing(plan, record, THAW_CHECKLIST, s, width)


def render_cryo_worksheet(plan: FreezePlan | ThawPlan, *, page_size: str = "letter",
                          record: RecordInfo | None = None,
                          printed_at: datetime | None = None) -> bytes:
    """The freezing or thawing worksheet PDF."""
    register_fonts(WORKSHEET_FONTS)
    size = page_dimensions(page_size)
    s = _styles()
    width = size[0] - 2 * MARGIN
    if isinstance(plan, FreezePlan):
        story, title = _freeze_story(plan, record, s, width), "Freezing worksheet"
    else:
        story, title = _thaw_story(plan, record, s, width), "Thawing worksheet"
    return build_document(plan, record, story, title=title, size=size, printed_at=printed_at)


# --- labels ----------------------------------------------------------------------------------

def _common(plan: Any, record: RecordInfo | None, din_text: str, flags: str) -> dict[str, Any]:
    facility = plan.lab.facility
    din = parse_din(din_text)
    released = released_codes(record)
    blocking = [f for f in plan.findings if f.severity is Severity.BLOCK
                and f.code not in released]
    return {
        "din_structure": din_structure(din, flags), "din_text": din.eye_readable,
        "flags": flags, "check_character": din.check_character,
        "proper_name": str(facility.get("proper_name", "Cellular therapy product")).upper(),
        "lab_lines": (plan.lab.name + (f" (FIN {facility['fin']})" if "fin" in facility else "")
                      + (f" {EXAMPLE_MARK}" if plan.lab.example_facility else ""),
                      *plan.lab.address),
        "investigational": str(facility.get("investigational_statement",
                                            DEFAULT_INVESTIGATIONAL)),
        "blocked_reason": "; ".join(f.code for f in blocking) if blocking else None,
        "watermark": bool(not_for_clinical_use(plan, released)), "draft": draft_reason(record),
        "exceptional": exceptional_words(record),
        "state": state_words(record), "reprint": reprint_words(record),
        "recipient": (plan.request.patient.name, plan.request.patient.id,
                      plan.request.patient.birth_date.isoformat()),
    }


def aliquot_labels(plan: FreezePlan, record: RecordInfo | None = None) -> list[LabelData]:
    """One label per aliquot of a freeze plan."""
    p = plan.request.product
    abo_rh = abo_text = None
    if p.abo_rh:
        abo, rh = parse_abo_rh(p.abo_rh)
        abo_rh, abo_text = abo_rh_structure(abo, rh), f"{abo} Rh {'POS' if rh == 'POS' else 'NEG'}"
    out = []
    for a in plan.aliquots:
        common = _common(plan, record, p.din, p.din_flags)
        usable = common["blocked_reason"] is None and common["draft"] is None
        final = float(plan.cryo.final_dmso_percent)
        dmso = ("" if a.dmso_g is None else
                f" · DMSO {final:g} % ({fixed(float(a.dmso_g), 2)} g)")
        out.append(LabelData(
            **common,
            product_code=("=<" + aliquot_product_code(plan, a)) if usable else None,
            expiration=expiration_structure(plan.frozen_expires_at) if usable else None,
            abo_rh=abo_rh, abo_rh_text=abo_text or "ABO/Rh not given",
            description=f"{plan.cryo.product_description} · division {a.division}",
            volume="—" if a.final_volume_ml is None else f"{float(a.final_volume_ml):g} mL"
                                                          f"{dmso}",
            cells=f"Cycle {a.order.cycle} · infusion {a.order.infusion} · {a.order.dose_level}: "
                  f"{fmt_cells(quantity(a.frozen_viable_cd3, CELLS), 'viable CD3+ frozen')}",
            dose=f"{fmt_dose(quantity(a.expected_dose_per_kg, CELLS_PER_KG))} expected after "
                 f"thaw, for {fixed(float(plan.weight_kg), 1)} kg",
            dose_suffix="",
            collected=show(p.collected_at, plan.lab.time_zone),
            expires=show(plan.frozen_expires_at, plan.lab.time_zone),
            storage=plan.cryo.storage_statement,
            document_id=f"{document_id(plan, record)}:{a.division}",
        ))
    return out


def thawed_label(plan: ThawPlan, record: RecordInfo | None = None) -> LabelData:
    """The label of the thawed bag: its infuse-by time is its expiry."""
    a = plan.request.aliquot
    common = _common(plan, record, a.din, "00")
    usable = common["blocked_reason"] is None and common["draft"] is None
    cryo = plan.lab.cryo
    code = product_code_structure(cryo.thawed_product_description_code,
                                  str(plan.lab.facility.get("donation_type", "2")), a.division)
    return LabelData(
        **common,
        product_code=code if usable else None,
        expiration=expiration_structure(plan.infuse_by) if usable else None,
        abo_rh=None, abo_rh_text="ABO/Rh: see the freeze label",
        description=f"{cryo.thawed_product_description} · division {a.division}",
        volume=f"{fixed(float(plan.infused_volume_ml), 0)} mL · DMSO "
               f"{float(a.final_dmso_percent):g} %",
        cells=fmt_cells(quantity(plan.delivered_cells, CELLS), "viable CD3+ cells"),
        dose=fmt_dose(quantity(plan.delivered_dose_per_kg, CELLS_PER_KG))
        + (" (estimated)" if plan.dose_estimated else ""),
        collected_caption="Thawed", collected=show(plan.request.thawed_at, plan.lab.time_zone),
        expires_caption="INFUSE BY", expires=show(plan.infuse_by, plan.lab.time_zone),
        storage=f"Thawed product: keep at room temperature, do not refreeze; infuse within "
                f"{cryo.thawed_infusion_expiry_minutes} min of thawing.",
        document_id=document_id(plan, record),
    )


def cryo_labels(plan: FreezePlan | ThawPlan, record: RecordInfo | None = None
                ) -> list[LabelData]:
    return (aliquot_labels(plan, record) if isinstance(plan, FreezePlan)
            else [thawed_label(plan, record)])


def render_cryo_labels(plan: FreezePlan | ThawPlan, record: RecordInfo | None = None) -> bytes:
    """The labels as a PDF, one page per bag."""
    return label_pages(cryo_labels(plan, record), label_size(plan))


def render_cryo_zpl(plan: FreezePlan | ThawPlan, record: RecordInfo | None = None,
                    dpi: int = 203) -> str:
    """The same labels in ZPL II, one ^XA…^XZ block per bag."""
    return "".join(label_zpl(d, label_size(plan), dpi) for d in cryo_labels(plan, record))
