"""Random valid requests against an exact-decimal recomputation of the contract, written here.

DESIGN.md's steps 1–14 are re-implemented below with :mod:`decimal` at 60 digits — independently of
``doseprep.plans.fresh``, which uses fractions — and every random request must give the same
decisions
(dilution factor, syringe, volume to draw, findings, status) and the same numbers to the last
float. A float slip at a rounding half or a threshold (issue 8: 1.85 mL drawn as 1.8) shows here.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from doseprep.plans.fresh import plan
from doseprep.plans.fresh_report import plan_to_dict
from doseprep.protocol import load_lab, load_protocol
from doseprep.request import parse_request

LAB = load_lab()
PROTOCOL = load_protocol()
DOSES = {"DL1": Decimal("1e5"), "DL2": Decimal("5e5"), "DL3": Decimal("1e6"),
         "DL4": Decimal("5e6"), "DL5": Decimal("1e7")}
SYRINGES = [(Decimal(1), Decimal("0.01")), (Decimal(3), Decimal("0.1")),
            (Decimal(5), Decimal("0.2")), (Decimal(10), Decimal("0.2")),
            (Decimal(20), Decimal(1)), (Decimal(30), Decimal(1)), (Decimal(60), Decimal(1))]
MIN, RESERVE, ALIQUOT, SG = Decimal("0.5"), Decimal(2), Decimal(1), Decimal("1.03")
TOLERANCE, FINAL, MAX_PER_KG, MIN_VIABILITY = Decimal(10), Decimal(50), Decimal(10), Decimal(70)


def dec(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(Decimal(low), Decimal(high), places=places, allow_nan=False,
                       allow_infinity=False)


@st.composite
def requests(draw: st.DrawFn) -> dict:
    dilution = draw(st.sampled_from([1, 2, 5, 10]))
    count = draw(dec("1", "1000", 1)) / dilution  # keeps the product within plausible WBC
    count = count.quantize(Decimal("0.01"))
    if count < 1:
        count = Decimal(1)
    weight_kg = draw(dec("1", "150", 1))
    amount = draw(st.one_of(dec("1", "600", 1).map(lambda v: {"volume": f"{v} mL"}),
                            dec("1", "600", 1).map(lambda v: {"net_weight": f"{v} g"})))
    return {
        "protocol": "hmct-blinatumomab",
        "order": {"dose_level": draw(st.sampled_from(sorted(DOSES))), "cycle": 1, "infusion": 1},
        "patient": {"id": "MRN-1", "name": "TEST, PATIENT", "birth_date": "2010-01-01",
                    "weight": f"{weight_kg} kg"},
        "product": {"din": "G123417654321", "collected_at": "2026-11-22T08:30:00-08:00",
                    **amount, "wbc": f"{count} x10^3/uL", "sample_dilution": dilution,
                    "cd3_percent": float(draw(dec("5", "100", 1))),
                    "viability_percent": float(draw(dec("50", "100", 1)))},
        "prepared_at": "2026-11-23T10:00:00-08:00",
    }


def contract(r: dict) -> dict:
    """DESIGN.md steps 1–14 in 60-digit decimal arithmetic."""
    with localcontext() as ctx:
        ctx.prec = 60
        p = r["product"]
        if "volume" in p:
            vp = Decimal(p["volume"].split()[0])
        else:
            vp = Decimal(p["net_weight"].split()[0]) / SG
        wbc = Decimal(p["wbc"].split()[0]) * 1000 * 1000 * Decimal(p["sample_dilution"])
        cd3, viability = Decimal(repr(p["cd3_percent"])), Decimal(repr(p["viability_percent"]))
        c = wbc * cd3 / 100 * viability / 100
        w = Decimal(r["patient"]["weight"].split()[0])
        nt = DOSES[r["order"]["dose_level"]] * w
        vx = nt / c
        codes: set[str] = set()
        if Decimal(repr(p["viability_percent"])) < MIN_VIABILITY:
            codes.add("LOW_VIABILITY")
        out: dict = {"exact_volume_mL": vx}
        if vx > vp - RESERVE:
            codes.add("INSUFFICIENT_PRODUCT")
            return out | {"codes": codes}
        factor = 1
        if vx < MIN:
            factor = next((f for f in (10, 100) if vx * f >= MIN), 100)
            codes.add("DILUTION_REQUIRED")
        vd = vx * factor
        capacity, graduation = next((s for s in SYRINGES if s[0] >= vd), SYRINGES[-1])
        vr = (vd / graduation + Decimal("0.5")).to_integral_value(ROUND_FLOOR) * graduation
        if vr > capacity:
            codes.add("MULTIPLE_SYRINGE_FILLS")
        if vr < MIN:
            codes.add("VOLUME_TOO_SMALL")
        delivered = vr * c / factor
        deviation = (delivered - nt) / nt * 100
        if abs(deviation) > TOLERANCE:
            codes.add("DOSE_OUT_OF_TOLERANCE")
        final = max(FINAL, vr)
        if final / w > MAX_PER_KG:
            codes.add("VOLUME_PER_KG_EXCEEDED")
        used = vr if factor == 1 else ALIQUOT
        if used > vp - RESERVE:
            codes.add("INSUFFICIENT_PRODUCT")
        return out | {"codes": codes, "dilution_factor": factor, "syringe_mL": capacity,
                      "withdraw_volume_mL": vr, "delivered_cells": delivered,
                      "deviation_percent": deviation, "diluent_volume_mL": final - vr,
                      "final_volume_mL": final, "remaining_product_mL": max(vp - used, 0)}


@settings(max_examples=400, deadline=None)
@given(r=requests())
def test_the_plan_equals_the_exact_decimal_contract(r: dict) -> None:
    got = plan_to_dict(plan(parse_request(r, zone=LAB.time_zone), PROTOCOL, LAB))
    want = contract(r)
    codes = {f["code"] for f in got["findings"]} - {"PROTOCOL_NOT_APPROVED", "LAB_NOT_APPROVED"}
    assert codes == want.pop("codes"), r
    blocks = any(f["severity"] == "block" for f in got["findings"])
    assert (got["status"] == "blocked") == blocks
    for key, value in want.items():
        assert got[key] == float(value), (key, r)
