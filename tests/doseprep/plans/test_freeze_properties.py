"""Properties of the freeze plan over many random products, patients and aliquot lists (issue
12): the carrier is never negative, the freezing medium makes exactly the final DMSO fraction,
the fill is within its bag, the product used fits when not blocked, an unblocked aliquot is within
tolerance, and the same patient in pounds gets the same plan."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseprep.plans.cryo_settings import DEFAULT_CRYO
from doseprep.plans.freeze import freeze_plan, parse_freeze_request
from doseprep.protocol import load_lab, load_protocol
from doseprep.units import ML, exact

LAB = load_lab()
PROTOCOL = load_protocol("hmct-blinatumomab")
BASE = json.loads(next((Path(__file__).parents[2] / "reference_cases" / "cryo")
                       .glob("c01*.json")).read_text(encoding="utf-8"))["request"]

LEVELS = [d.name for d in PROTOCOL.dose_levels]
requests = st.fixed_dictionaries({
    "weight": st.decimals(min_value=3, max_value=150, places=1),
    "volume": st.integers(min_value=20, max_value=400),
    "wbc": st.decimals(min_value=20, max_value=400, places=1),
    "cd3": st.integers(min_value=10, max_value=90),
    "viability": st.integers(min_value=70, max_value=100),
    "levels": st.lists(st.sampled_from(LEVELS), min_size=1, max_size=2),
})


def build(values: dict, weight: str | None = None) -> dict:
    request = copy.deepcopy(BASE)
    request["patient"]["weight"] = weight or f"{values['weight']} kg"
    request["product"].update({"volume": f"{values['volume']} mL",
                               "wbc": f"{values['wbc']} x10^3/uL",
                               "cd3_percent": values["cd3"],
                               "viability_percent": values["viability"]})
    request["aliquots"] = [{"cycle": 2, "infusion": n + 1, "dose_level": level}
                           for n, level in enumerate(values["levels"])]
    return request


def plan_of(request: dict):
    return freeze_plan(parse_freeze_request(request, zone=LAB.time_zone, protocol=PROTOCOL),
                       PROTOCOL, LAB)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=requests)
def test_freeze_plan_properties(values: dict) -> None:
    plan = plan_of(build(values))
    cryo = DEFAULT_CRYO
    blocked = {f.code for f in plan.findings if str(f.severity) == "block"}
    for a in plan.aliquots:
        if a.bag is None:
            assert "ALIQUOT_TOO_LARGE" in blocked
            continue
        assert a.carrier_volume_ml >= 0
        assert a.freezing_medium_volume_ml * cryo.freezing_medium_dmso_percent \
            == a.final_volume_ml * cryo.final_dmso_percent
        assert a.bag.min_ml <= a.final_volume_ml <= a.bag.max_ml
        if not blocked:
            assert abs(a.deviation_percent) <= exact(PROTOCOL.tolerance_percent)
    if not blocked:
        reserve = exact(LAB.qc_reserve.to(ML).magnitude)
        assert plan.product_used_ml <= plan.cells.vp_x - reserve
    assert plan.remaining_product_ml == max(plan.cells.vp_x - plan.product_used_ml, Fraction(0))


@settings(max_examples=100, deadline=None)
@given(values=requests)
def test_the_same_patient_in_pounds_gets_the_same_plan(values: dict) -> None:
    """A weight typed in lb and the same weight typed in kg (1 lb = 0.45359237 kg exactly, so a
    weight in tenths of a pound is an exact decimal in kg) give the same plan."""
    pounds = values["weight"] * 2
    kilograms = pounds * Decimal("0.45359237")
    in_kg = plan_of(build(values, weight=f"{kilograms} kg"))
    in_lb = plan_of(build(values, weight=f"{pounds} lb"))
    for a, b in zip(in_kg.aliquots, in_lb.aliquots, strict=True):
        assert a.drawn.vr_x == b.drawn.vr_x and a.drawn.factor == b.drawn.factor
        assert a.final_volume_ml == b.final_volume_ml
