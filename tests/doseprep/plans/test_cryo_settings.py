"""The cryo figures are read from the lab file's [cryo] table and the protocol, checked on load,
and used: the protocol's recovery and dose basis change the plan; a misspelt or impossible key is
refused naming it, never silently ignored (the last review found lab settings that nothing read);
a lab file that still holds the recovery R is refused naming the protocol key (issue 22)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from doseprep.cli import main
from doseprep.errors import SettingsError
from doseprep.plans.freeze import freeze_plan, parse_freeze_request
from doseprep.plans.thaw import parse_thaw_request, thaw_plan
from doseprep.protocol import load_lab, load_protocol
from doseprep.resources import resource_path

CRYO_DIR = Path(__file__).parents[2] / "reference_cases" / "cryo"
LAB_TEXT = resource_path("lab.toml").read_text(encoding="utf-8")
PROTOCOL_TEXT = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")


def case(stem: str) -> dict:
    return copy.deepcopy(json.loads(next(CRYO_DIR.glob(f"{stem}*.json")).read_text())["request"])


def lab_with(tmp_path: Path, old: str, new: str) -> Path:
    assert old in LAB_TEXT
    path = tmp_path / "lab.toml"
    path.write_text(LAB_TEXT.replace(old, new), encoding="utf-8")
    return path


def protocol_with(tmp_path: Path, old: str, new: str, name: str = "p.toml") -> Path:
    assert old in PROTOCOL_TEXT
    path = tmp_path / name
    path.write_text(PROTOCOL_TEXT.replace(old, new), encoding="utf-8")
    return path


def test_the_bundled_files_hold_the_figures_the_plans_use() -> None:
    lab, protocol = load_lab(), load_protocol()
    assert [b.name for b in lab.cryo.bags] == ["bag S", "bag M", "bag L"]
    assert float(protocol.cryo.recovery) == 0.75 and protocol.cryo.dose_basis == "post_thaw"
    assert protocol.cryo.stated  # the bundled protocol says both, not by default
    assert float(protocol.cryo.min_post_thaw_viability_percent) == 50
    assert protocol.exceptional_release == ("DOSE_OUT_OF_TOLERANCE", "LOW_VIABILITY",
                                            "PRODUCT_EXPIRED")


def test_the_protocols_recovery_changes_the_freeze_plan(tmp_path: Path) -> None:
    protocol = load_protocol(protocol_with(tmp_path, "post_thaw_recovery_percent = 75",
                                           "post_thaw_recovery_percent = 50"))
    lab = load_lab()
    plan = freeze_plan(parse_freeze_request(case("c01"), zone=lab.time_zone, protocol=protocol),
                       protocol, lab)
    assert float(plan.aliquots[0].cells_to_freeze) == pytest.approx(7e7 / 0.5)


def test_a_lab_file_that_still_holds_the_recovery_is_refused_naming_the_protocol_key(
        tmp_path: Path) -> None:
    old = "[cryo]\n"
    path = lab_with(tmp_path, old, old + "post_thaw_recovery_percent = 90\n")
    with pytest.raises(SettingsError) as info:
        load_lab(path)
    assert info.value.key == "cryo.post_thaw_recovery_percent"
    assert "protocol" in info.value.message and "post_thaw_recovery_percent" in info.value.message


def test_the_command_line_refuses_such_a_lab_file_with_exit_2(tmp_path: Path, capsys) -> None:
    lab = lab_with(tmp_path, "[cryo]\n", "[cryo]\npost_thaw_recovery_percent = 90\n")
    request = tmp_path / "freeze.json"
    request.write_text(json.dumps(case("c01")), encoding="utf-8")
    assert main(["freeze", str(request), "--json", "--lab", str(lab)]) == 2
    err = capsys.readouterr().err
    assert "cryo.post_thaw_recovery_percent" in err and "protocol" in err


@pytest.mark.parametrize(("old", "new", "key"), [
    ('dose_basis = "post_thaw"', 'dose_basis = "after_thaw"', "dose_basis"),
    ('dose_basis = "post_thaw"', "", "dose_basis"),
    ("post_thaw_recovery_percent = 75", "post_thaw_recovery_percent = 0",
     "post_thaw_recovery_percent"),
    ("post_thaw_recovery_percent = 75", "post_thaw_recovery_percent = 120",
     "post_thaw_recovery_percent"),
    ('"PRODUCT_EXPIRED"]', '"PRODUCT_EXPIRED", "INSUFFICIENT_PRODUCT"]', "exceptional_release"),
    ('"PRODUCT_EXPIRED"]', '"PRODUCT_EXPIRED", "IMPLAUSIBLE_INPUT"]', "exceptional_release"),
    ('"PRODUCT_EXPIRED"]', '"PRODUCT_EXPIRED", "VOLUME_TOO_SMALL"]', "exceptional_release"),
    ('"PRODUCT_EXPIRED"]', '"PRODUCT_EXPIRED", "ALIQUOT_TOO_LARGE"]', "exceptional_release"),
    ('"PRODUCT_EXPIRED"]', '"PRODUCT_EXPIRD"]', "exceptional_release"),
    ('"PRODUCT_EXPIRED"]', '"PRODUCT_EXPIRED", "LOW_VIABILITY"]', "exceptional_release"),
])
def test_a_wrong_dose_basis_or_release_list_is_refused_naming_the_key(
        tmp_path: Path, old: str, new: str, key: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_protocol(protocol_with(tmp_path, old, new))
    assert info.value.key == key


def test_a_protocol_that_says_nothing_takes_the_defaults_and_says_so(tmp_path: Path) -> None:
    text = PROTOCOL_TEXT
    for line in ('dose_basis = "post_thaw"\n', "post_thaw_recovery_percent = 75\n"):
        text = text.replace(line, "")
    path = tmp_path / "quiet.toml"
    path.write_text(text, encoding="utf-8")
    protocol = load_protocol(path)
    assert protocol.cryo.dose_basis == "post_thaw" and float(protocol.cryo.recovery) == 0.75
    assert not protocol.cryo.stated and "the file does not say" in protocol.cryo.basis_words()


def _independent_freeze(request: dict, recovery: float, pre_freeze: bool) -> list[dict]:
    """DESIGN.md freeze steps 2–3 for each aliquot, computed here from the request alone with the
    bundled lab's syringes (exact decimals, round half up), independently of doseprep."""
    from decimal import ROUND_HALF_UP, Decimal

    product = request["product"]
    wbc = Decimal(product["wbc"].split()[0]) * 1000 * 1000  # ×10³/µL → cells/mL
    c = (wbc * Decimal(str(product["sample_dilution"])) * Decimal(str(product["cd3_percent"]))
         / 100 * Decimal(str(product["viability_percent"])) / 100)
    weight = Decimal(request["patient"]["weight"].split()[0])
    levels = {"DL3": Decimal("1e6"), "DL4": Decimal("5e6")}
    syringes = [(1, "0.01"), (3, "0.1"), (5, "0.2"), (10, "0.2"), (20, "1"), (30, "1"),
                (60, "1")]
    r = Decimal(str(recovery))
    out = []
    for a in request["aliquots"]:
        nt = levels[a["dose_level"]] * weight
        nf = nt if pre_freeze else nt / r
        vx = nf / c
        _, graduation = next((s for s in syringes if s[0] >= vx), syringes[-1])
        step = Decimal(graduation)
        vr = (vx / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
        nd = vr * c
        basis = nd if pre_freeze else nd * r
        out.append({"cells_to_freeze": float(nf), "withdraw_volume_mL": float(vr),
                    "frozen_viable_cd3": float(nd), "expected_post_thaw_cells": float(nd * r),
                    "deviation_percent": float((basis - nt) / nt * 100)})
    return out


@pytest.mark.parametrize("recovery", [75, 60])
def test_a_pre_freeze_protocol_freezes_the_target_itself(tmp_path: Path, recovery: int) -> None:
    """dose_basis = "pre_freeze": Nf = Nt; R only predicts the post-thaw cells (issue 22)."""
    path = protocol_with(tmp_path, 'dose_basis = "post_thaw"\npost_thaw_recovery_percent = 75',
                         f'dose_basis = "pre_freeze"\npost_thaw_recovery_percent = {recovery}')
    protocol, lab = load_protocol(path), load_lab()
    request = case("c01")
    plan = freeze_plan(parse_freeze_request(request, zone=lab.time_zone, protocol=protocol),
                       protocol, lab)
    expected = _independent_freeze(request, recovery / 100, pre_freeze=True)
    for aliquot, want in zip(plan.aliquots, expected, strict=True):
        assert float(aliquot.cells_to_freeze) == pytest.approx(want["cells_to_freeze"], rel=1e-12)
        assert float(aliquot.target_cells) == float(aliquot.cells_to_freeze)  # Nf = Nt
        assert float(aliquot.drawn.vr_x) == pytest.approx(want["withdraw_volume_mL"], rel=1e-12)
        assert float(aliquot.frozen_viable_cd3) == pytest.approx(want["frozen_viable_cd3"],
                                                                 rel=1e-12)
        assert float(aliquot.expected_post_thaw_cells) == pytest.approx(
            want["expected_post_thaw_cells"], rel=1e-12)
        assert float(aliquot.deviation_percent) == pytest.approx(want["deviation_percent"],
                                                                 abs=1e-9)
    # The same request under the bundled post-thaw protocol freezes Nt ÷ R: 1 ÷ 0.75 more.
    bundled = load_protocol()
    post = freeze_plan(parse_freeze_request(request, zone=lab.time_zone, protocol=bundled),
                       bundled, lab)
    independent = _independent_freeze(request, 0.75, pre_freeze=False)
    for aliquot, want in zip(post.aliquots, independent, strict=True):
        assert float(aliquot.cells_to_freeze) == pytest.approx(want["cells_to_freeze"], rel=1e-12)
        assert float(aliquot.deviation_percent) == pytest.approx(want["deviation_percent"],
                                                                 abs=1e-9)
    assert any("Nf = Nt (dose basis pre-freeze)" in s.formula for s in plan.steps)


def test_a_pre_freeze_thaw_holds_the_frozen_count_to_todays_weight(tmp_path: Path) -> None:
    """Under pre_freeze the thaw compares the frozen cells with the dose level for today's
    weight; the post-thaw estimate (frozen × R) is still shown as the dose delivered."""
    path = protocol_with(tmp_path, 'dose_basis = "post_thaw"', 'dose_basis = "pre_freeze"')
    protocol, lab = load_protocol(path), load_lab()
    request = case("c03")
    request.pop("post_thaw", None)
    plan = thaw_plan(parse_thaw_request(request, zone=lab.time_zone), protocol, lab)
    frozen = float(request["aliquot"]["frozen_viable_cd3"])
    weight = float(request["patient"]["weight"].split()[0])
    target = 5e6 * weight if request["aliquot"]["dose_level"] == "DL4" else 1e6 * weight
    assert float(plan.delivered_cells) == pytest.approx(frozen * 0.75, rel=1e-12)
    assert float(plan.deviation_percent) == pytest.approx((frozen - target) / target * 100,
                                                          abs=1e-9)


def test_the_command_line_uses_the_lab_file_named(tmp_path: Path, capsys) -> None:
    lab = lab_with(tmp_path, 'storage_statement = "Store at or below −150 °C"',
                   'storage_statement = "Store in vapour-phase nitrogen"')
    request = tmp_path / "freeze.json"
    request.write_text(json.dumps(case("c01")), encoding="utf-8")
    assert main(["freeze", str(request), "--json", "--lab", str(lab)]) == 0
    assert json.loads(capsys.readouterr().out)["storage"] == "Store in vapour-phase nitrogen"


@pytest.mark.parametrize(("old", "new", "key"), [
    ("final_dmso_percent = 10", "final_dmso_percent = 25", "cryo.final_dmso_percent"),
    ("final_dmso_percent = 10", "final_dmso_percnt = 10", "cryo.final_dmso_percnt"),
    ('{ name = "bag M", min_mL = 30, max_mL = 70 }',
     '{ name = "bag M", min_mL = 30, max_mL = 7 }', "cryo.bags[1].max_mL"),
    ('{ name = "bag L", min_mL = 70, max_mL = 140 }',
     '{ name = "bag L", min_mL = 1, max_mL = 20 }', "cryo.bags"),
    ("frozen_shelf_life_days = 1825", "frozen_shelf_life_days = 5.5",
     "cryo.frozen_shelf_life_days"),
])
def test_a_wrong_cryo_setting_is_refused_naming_it(tmp_path: Path, old: str, new: str,
                                                   key: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_lab(lab_with(tmp_path, old, new))
    assert info.value.key == key


def test_the_protocols_post_thaw_viability_limit_is_used(tmp_path: Path) -> None:
    path = tmp_path / "strict.toml"
    path.write_text(PROTOCOL_TEXT.replace("min_post_thaw_viability_percent = 50",
                                          "min_post_thaw_viability_percent = 90"),
                    encoding="utf-8")
    protocol, lab = load_protocol(str(path)), load_lab()
    plan = thaw_plan(parse_thaw_request(case("c03"), zone=lab.time_zone), protocol, lab)
    assert "LOW_VIABILITY" in {f.code for f in plan.findings}  # 85 % after thaw, 90 % required
