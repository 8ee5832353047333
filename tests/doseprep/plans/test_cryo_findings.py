"""Every finding and input error of the freeze and thaw contracts (DESIGN.md, "Cryopreserved
aliquots"), each from a request that should raise it, and the misuse a tired or hurried person
would try: the same infusion listed twice, a bag thawed after its frozen expiry, a dose planned
for a child given to a heavier patient."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from doseprep.errors import InputError
from doseprep.plans.freeze import freeze_plan, parse_freeze_request
from doseprep.plans.thaw import parse_thaw_request, thaw_plan
from doseprep.protocol import load_lab, load_protocol

CRYO_DIR = Path(__file__).parents[2] / "reference_cases" / "cryo"
LAB = load_lab()
PROTOCOL = load_protocol("hmct-blinatumomab")


def case(stem: str) -> dict:
    path = next(CRYO_DIR.glob(f"{stem}*.json"))
    return copy.deepcopy(json.loads(path.read_text(encoding="utf-8"))["request"])


def freeze(request: dict):
    return freeze_plan(parse_freeze_request(request, zone=LAB.time_zone, protocol=PROTOCOL),
                       PROTOCOL, LAB)


def thaw(request: dict):
    return thaw_plan(parse_thaw_request(request, zone=LAB.time_zone), PROTOCOL, LAB)


def codes(plan) -> dict[str, str]:
    return {f.code: str(f.severity) for f in plan.findings}


def test_an_aliquot_no_bag_takes_is_blocked() -> None:
    request = case("c01")
    request["patient"]["weight"] = "140 kg"
    request["product"].update({"cd3_percent": 10, "volume": "500 mL"})  # ~190 mL to draw
    request["aliquots"] = [{"cycle": 2, "infusion": 1, "dose_level": "DL5"}]
    plan = freeze(request)
    assert codes(plan)["ALIQUOT_TOO_LARGE"] == "block"
    assert str(plan.status) == "blocked"
    assert "Aliquot A0" in next(f.message for f in plan.findings if f.code == "ALIQUOT_TOO_LARGE")


def test_dmso_above_the_limit_per_kg_is_blocked() -> None:
    request = case("c02")  # 8 kg: a 10 mL bag holds 1.1 g DMSO, 0.1375 g/kg
    request["patient"]["weight"] = "1.05 kg"
    request["confirmations"] = {"patient.weight": "neonate, weighed twice on the ward"}
    plan = freeze(request)
    assert codes(plan)["DMSO_LIMIT_EXCEEDED"] == "block"


def test_more_product_than_the_bag_holds_is_insufficient() -> None:
    request = case("c01")
    request["product"]["volume"] = "14 mL"  # 14.4 mL used, 12 mL usable after the reserve
    plan = freeze(request)
    assert codes(plan)["INSUFFICIENT_PRODUCT"] == "block"
    assert plan.remaining_product_ml == 0


def test_an_old_product_is_expired_at_freezing_and_low_viability_blocks() -> None:
    request = case("c01")
    request["frozen_at"] = "2026-11-26T08:31:00-08:00"  # 96 h after collection
    request["product"]["viability_percent"] = 60
    found = codes(freeze(request))
    assert found["PRODUCT_EXPIRED"] == "block" and found["LOW_VIABILITY"] == "block"


def test_a_dose_outside_the_tolerance_is_blocked_naming_the_aliquot(tmp_path: Path) -> None:
    """c01 expects +0.8 % after thaw; a protocol allowing ± 0.5 % must block both aliquots."""
    from doseprep.resources import resource_path

    text = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")
    tight = tmp_path / "tight.toml"
    tight.write_text(text.replace("tolerance_percent = 10", "tolerance_percent = 0.5"),
                     encoding="utf-8")
    protocol = load_protocol(str(tight))
    plan = freeze_plan(parse_freeze_request(case("c01"), zone=LAB.time_zone, protocol=protocol),
                       protocol, LAB)
    out = [f.message for f in plan.findings if f.code == "DOSE_OUT_OF_TOLERANCE"]
    assert [m.split(":")[0] for m in out] == ["Aliquot A0 (cycle 2, infusion 1)",
                                             "Aliquot B0 (cycle 2, infusion 2)"]


@pytest.mark.parametrize(("change", "field"), [
    ({"aliquots": []}, "aliquots"),
    ({"aliquots": [{"cycle": 2, "infusion": 1, "dose_level": "DL3"}] * 27}, "aliquots"),
    ({"aliquots": [{"cycle": 2, "infusion": 1, "dose_level": "DL3"},
                   {"cycle": 2, "infusion": 1, "dose_level": "DL4"}]}, "aliquots[1].infusion"),
    ({"aliquots": [{"cycle": 9, "infusion": 1, "dose_level": "DL3"}]}, "aliquots[0].cycle"),
    ({"aliquots": [{"cycle": 2, "infusion": 1, "dose_level": "DL9"}]}, "aliquots[0].dose_level"),
    ({"aliquots": [{"cycle": 2, "infusion": 1, "dose_levl": "DL3"}]}, "aliquots[0].dose_levl"),
    ({"frozen_at": "2026-11-21T08:00:00-08:00"}, "frozen_at"),
    ({"kind": "fresh"}, "kind"),
    ({"prepared_at": "2026-11-22T14:00:00-08:00"}, "prepared_at"),
])
def test_freeze_input_errors_name_their_field(change: dict, field: str) -> None:
    request = case("c01")
    request.update(change)
    with pytest.raises(InputError) as info:
        parse_freeze_request(request, zone=LAB.time_zone, protocol=PROTOCOL)
    assert field in [e.field for e in getattr(info.value, "errors", (info.value,))]


def test_a_bag_thawed_after_its_frozen_expiry_is_blocked() -> None:
    request = case("c03")
    request["aliquot"]["frozen_expires_at"] = "2026-12-20T08:59:00-08:00"
    assert codes(thaw(request))["PRODUCT_EXPIRED"] == "block"


def test_a_heavier_patient_changes_the_dose_and_the_weight_is_pointed_out() -> None:
    request = case("c03")
    request["patient"]["weight"] = "80 kg"  # 14 % above the planned 70 kg
    found = codes(thaw(request))
    assert found["WEIGHT_CHANGED"] == "warning"
    assert found["DOSE_OUT_OF_TOLERANCE"] == "block"  # 5.01e6 planned, 4.39e6 for 80 kg


def test_low_post_thaw_viability_blocks_and_no_count_is_said() -> None:
    request = case("c03")
    request["post_thaw"]["viability_percent"] = 45
    assert codes(thaw(request))["LOW_VIABILITY"] == "block"
    del request["post_thaw"]
    plan = thaw(request)
    assert codes(plan)["POST_THAW_COUNT_NOT_DONE"] == "info"
    assert float(plan.delivered_cells) == pytest.approx(470400000.0 * 0.75)


def test_dmso_for_a_small_patient_blocks_at_thaw() -> None:
    request = case("c03")
    request["patient"]["weight"] = "2 kg"
    request["aliquot"]["planned_weight"] = "2 kg"
    assert codes(thaw(request))["DMSO_LIMIT_EXCEEDED"] == "block"


def test_the_infusion_must_start_within_the_thawed_expiry() -> None:
    plan = thaw(case("c03"))
    assert plan.infuse_by.isoformat() == "2026-12-20T10:00:00-08:00"


def test_thaw_input_errors_name_their_field() -> None:
    request = case("c03")
    request["aliquot"]["final_volume"] = "24 mg"
    request["post_thaw"]["wbc"] = "lots"
    with pytest.raises(InputError) as info:
        parse_thaw_request(request, zone=LAB.time_zone)
    assert [e.field for e in info.value.errors] == ["aliquot.final_volume", "post_thaw.wbc"]


def test_a_cycle_2_request_given_to_the_fresh_plan_says_which_command() -> None:
    from doseprep.request import parse_request

    with pytest.raises(InputError, match="doseprep freeze") as info:
        parse_request(case("c01"))
    assert info.value.field == "kind"


def test_a_thaw_dated_before_the_bag_was_frozen_is_refused() -> None:
    """A tired technician types 2020 for 2026: the bag did not exist then (frozen 2026-11-22,
    its frozen expiry less the shelf life); the thaw time is refused, naming it."""
    request = case("c03")
    request["thawed_at"] = "2020-12-20T09:00:00-08:00"
    with pytest.raises(InputError, match="before the bag was frozen") as info:
        thaw(request)
    assert info.value.field == "thawed_at"
