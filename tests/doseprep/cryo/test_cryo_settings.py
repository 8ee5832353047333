"""The cryo figures are read from the lab file's [cryo] table and the protocol, checked on load,
and used: a lab's own recovery changes the plan; a misspelt or impossible key is refused naming
it, never silently ignored (the last review found lab settings that nothing read)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from doseprep.cli import main
from doseprep.cryo.freeze import freeze_plan, parse_freeze_request
from doseprep.cryo.thaw import parse_thaw_request, thaw_plan
from doseprep.errors import SettingsError
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


def test_the_bundled_files_hold_the_figures_the_plans_use() -> None:
    lab, protocol = load_lab(), load_protocol()
    assert float(lab.cryo.recovery) == 0.75 and [b.name for b in lab.cryo.bags] == [
        "bag S", "bag M", "bag L"]
    assert float(protocol.cryo.min_post_thaw_viability_percent) == 50


def test_a_labs_own_recovery_changes_the_freeze_plan(tmp_path: Path) -> None:
    lab = load_lab(lab_with(tmp_path, "post_thaw_recovery_percent = 75",
                            "post_thaw_recovery_percent = 50"))
    protocol = load_protocol()
    plan = freeze_plan(parse_freeze_request(case("c01"), zone=lab.time_zone, protocol=protocol),
                       protocol, lab)
    assert float(plan.aliquots[0].cells_to_freeze) == pytest.approx(7e7 / 0.5)


def test_the_command_line_uses_the_lab_file_named(tmp_path: Path, capsys) -> None:
    lab = lab_with(tmp_path, 'storage_statement = "Store at or below −150 °C"',
                   'storage_statement = "Store in vapour-phase nitrogen"')
    request = tmp_path / "freeze.json"
    request.write_text(json.dumps(case("c01")), encoding="utf-8")
    assert main(["freeze", str(request), "--json", "--lab", str(lab)]) == 0
    assert json.loads(capsys.readouterr().out)["storage"] == "Store in vapour-phase nitrogen"


@pytest.mark.parametrize(("old", "new", "key"), [
    ("post_thaw_recovery_percent = 75", "post_thaw_recovery = 75", "cryo.post_thaw_recovery"),
    ("final_dmso_percent = 10", "final_dmso_percent = 25", "cryo.final_dmso_percent"),
    ("post_thaw_recovery_percent = 75", "post_thaw_recovery_percent = 0",
     "cryo.post_thaw_recovery_percent"),
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
