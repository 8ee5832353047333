"""Typing into the window: the plan is the command line's, errors sit on their fields, and the
result side never shows a plan for values that are no longer in the form."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
from doseprep_ui.form.evaluation import KEYS
from doseprep_ui.plan.plan_view import HEADLINES
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFrame

from doseprep.plans.fresh_report import plan_to_dict
from tests.conftest import load_case, reference_cases
from tests.ui.conftest import SHOWS_WINDOW, cli_plan, type_request

TIMEOUT = 3000


@pytest.mark.parametrize("path", reference_cases(), ids=lambda p: p.stem)
def test_typing_a_reference_case_gives_the_command_lines_plan(
        qtbot, window, path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    type_request(qtbot, window, case["request"])
    qtbot.waitUntil(lambda: not window._pending, timeout=TIMEOUT)
    status, cli = cli_plan(case["request"], tmp_path, capsys)
    view = window.plan_view
    if "invalid" in case["expected"]:
        field = window.form.fields[case["expected"]["invalid"]]
        assert status == 2 and window.current_plan is None
        assert field.state == "error"
        assert field.editor.property("state") == "error"
        assert cli["error"]["message"] in field.note_label.text()
        assert field.editor.accessibleDescription() == f"Error: {cli['error']['message']}"
        assert view.state == "invalid" and view.plan is None
        assert [f.key for f in window.form.fields.values() if f.state == "error"] == \
            [case["expected"]["invalid"]]
        return
    assert status == 0
    shown = window.current_plan
    assert json.loads(json.dumps(plan_to_dict(shown))) == cli
    assert view.plan is shown
    assert view.instruction.text() == cli["instruction"]
    assert view.state == cli["status"]
    assert view.banner.headline.text() == HEADLINES[cli["status"]]
    assert view.steps.rowCount() == len(cli["steps"])
    assert [view.steps.item(r, 1).text() for r in range(view.steps.rowCount())] == \
        [s["formula"] for s in cli["steps"]]
    assert [view.steps.item(r, 3).text() for r in range(view.steps.rowCount())] == \
        [s["result"] for s in cli["steps"]]
    shown_codes = [w.objectName() for w in view.findings_box.findChildren(QFrame)
                   if w.objectName().startswith("finding-")]
    assert shown_codes == [f"finding-{f['code']}" for f in cli["findings"]]
    assert not [f.key for f in window.form.fields.values() if f.state == "error"]
    assert window.preview_button.isEnabled()


@pytest.mark.parametrize("notation", ["85.3 x10^3/uL", "85.3 ×10³/µL", "8.53e4/uL",
                                      "85.3 K/uL", "85300 cell/uL", "85.3 10^9/L"])
def test_every_analyzer_notation_is_read_and_shown_in_lab_notation(qtbot, window,
                                                                   notation: str) -> None:
    field = window.form.fields["product.wbc"]
    qtbot.keyClicks(field.editor, notation)
    with qtbot.waitSignal(window.recomputed, timeout=TIMEOUT):
        pass
    assert field.state == "ok"
    assert field.note_label.text() == "= 8.530 × 10⁷ cells/mL"


def test_a_typing_mistake_marks_its_field_and_fixing_it_brings_the_plan_back(
        qtbot, window) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    weight = window.form.fields["patient.weight"]
    assert window.current_plan is not None
    weight.editor.clear()
    qtbot.keyClicks(weight.editor, "70 mL")
    qtbot.waitUntil(lambda: weight.state == "error", timeout=TIMEOUT)
    assert weight.note_label.text() == '✖ "70 mL" is not a mass; use kg or lb.'
    assert weight.editor.property("state") == "error"
    assert weight.editor.accessibleDescription().startswith("Error: ")
    assert window.current_plan is None
    assert window.plan_view.banner.headline.text() == HEADLINES["invalid"]
    assert "Weight: " in window.plan_view.banner.detail.text()
    assert not window.preview_button.isEnabled() and not window.labels_button.isEnabled()
    qtbot.keyClick(weight.editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(weight.editor, Qt.Key.Key_Backspace)
    qtbot.keyClicks(weight.editor, "kg")
    qtbot.waitUntil(lambda: weight.state == "ok", timeout=TIMEOUT)
    assert weight.note_label.text() == "= 70 kg"
    assert weight.editor.property("state") == ""
    assert window.current_plan is not None
    assert window.plan_view.state == "ok"


def test_no_stale_plan_is_left_on_screen_while_a_field_is_invalid(qtbot, window) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    view = window.plan_view
    qtbot.waitUntil(lambda: view.state == "ok", timeout=TIMEOUT)
    assert "Draw 1.80 mL" in view.instruction.text()
    qtbot.keyClicks(window.form.fields["product.cd3_percent"].editor, "0")  # 40 -> 400
    qtbot.waitUntil(lambda: view.state == "invalid", timeout=TIMEOUT)
    assert view.plan is None and window.current_plan is None
    assert "Draw" not in view.instruction.text()
    assert "mL" not in view.instruction.text()
    assert all(not label.text() for label in view.result_values.values())
    assert view.steps.rowCount() == 0 and not view.steps.isVisibleTo(view)
    assert not view.findings_box.isVisibleTo(view)
    assert not view.summary.isVisibleTo(view)


def test_every_bad_field_is_marked_at_once(qtbot, window) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    for key, text in (("patient.weight", "70 mL"), ("product.wbc", "lots"),
                      ("product.viability_percent", "101")):
        window.form.fields[key].editor.clear()
        qtbot.keyClicks(window.form.fields[key].editor, text)
    window.flush()
    marked = [f.key for f in window.form.fields.values() if f.state == "error"]
    assert marked == ["patient.weight", "product.wbc", "product.viability_percent"]


def test_a_new_form_shows_what_to_fill_without_red(qtbot, window) -> None:
    window.flush()
    form = window.form
    assert form.fields["prepared_at"].text()  # defaults to now
    assert form.fields["protocol"].text() == "hmct-blinatumomab"
    assert not [f.key for f in form.fields.values() if f.state == "error"]
    assert form.fields["patient.weight"].state == "missing"
    assert form.fields["patient.weight"].note_label.text().startswith("Enter the")
    assert form.fields["product.abo_rh"].note_label.text() == "optional"
    assert window.plan_view.state == "invalid"
    assert "Still to fill" in window.plan_view.banner.detail.text()


def test_the_order_choices_follow_the_protocol_and_the_cycle(qtbot, window) -> None:
    form = window.form
    level = form.fields["order.dose_level"].editor
    assert [level.itemData(i) for i in range(level.count())] == \
        ["DL1", "DL2", "DL3", "DL4", "DL5"]
    assert level.currentIndex() == -1, "the dose level is never chosen for the technician"
    qtbot.keyClicks(form.fields["order.cycle"].editor, "2")
    infusion = form.fields["order.infusion"].editor
    assert [infusion.itemText(i) for i in range(infusion.count())] == ["1 of 2", "2 of 2"]


@SHOWS_WINDOW
def test_tab_and_enter_follow_the_paper_form(qtbot, window) -> None:
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    fields = [window.form.fields[k] for k in KEYS]
    fields[0].editor.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is fields[0].editor, timeout=TIMEOUT)
    for before, after in pairwise(fields):
        qtbot.keyClick(before.editor, Qt.Key.Key_Return)
        assert QApplication.focusWidget() is after.editor, (before.key, after.key)
    fields[0].editor.setFocus()
    for before, after in pairwise(fields):
        assert QApplication.focusWidget() is before.editor
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is after.editor, (before.key, after.key)


def test_the_plan_side_reads_without_colour(qtbot, window) -> None:
    """Each status has its own words and icon shape; findings carry a severity word."""
    type_request(qtbot, window, load_case("v06-low-viability-blocks")["request"])
    view = window.plan_view
    qtbot.waitUntil(lambda: view.state == "blocked", timeout=TIMEOUT)
    assert view.banner.headline.text() == "BLOCKED — do not prepare"
    assert "LOW_VIABILITY" in view.banner.detail.text()
    assert view.instruction.text().startswith("DO NOT PREPARE")
    finding = view.findings_box.findChild(QFrame, "finding-LOW_VIABILITY")
    assert finding.accessibleName() == "BLOCKS PREPARATION: LOW_VIABILITY"
    icons = {state: view.banner.icon.pixmap().toImage() for state in ("blocked",)}
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    qtbot.waitUntil(lambda: view.state == "ok", timeout=TIMEOUT)
    assert view.banner.icon.pixmap().toImage() != icons["blocked"]
