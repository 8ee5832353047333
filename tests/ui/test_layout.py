"""The window on real workstation screens: status and instruction stay in view, a blocked plan
never shows a draw instruction in large type, and findings read most severe first."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QFrame, QWidget

from tests.conftest import load_case
from tests.ui.conftest import SHOWS_WINDOW, type_request


def sorted_findings(findings):
    """Most severe first (the domain's own order, checked independently here)."""
    ranks = {"block": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: ranks[f.severity.value])

TIMEOUT = 3000
SCREENS = ((1280, 800), (1366, 768), (1024, 700))


def _in_view(widget: QWidget, window: QWidget) -> bool:
    """True when ``widget`` is painted on screen and its top-left lies inside the window."""
    if not widget.isVisible() or widget.visibleRegion().isEmpty():
        return False
    top_left = widget.mapTo(window, QPoint(0, 0))
    return QRect(0, 0, window.width(), window.height()).contains(top_left)


@SHOWS_WINDOW
@pytest.mark.parametrize(("width", "height"), SCREENS, ids=lambda v: str(v))
def test_status_and_instruction_are_in_view_on_small_screens(
        qtbot, window, width: int, height: int, tmp_path: Path) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    view = window.plan_view
    qtbot.waitUntil(lambda: view.state == "ok", timeout=TIMEOUT)
    window.show()
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.width() <= width and window.height() <= height,
                    timeout=TIMEOUT)
    QApplication.processEvents()
    window.grab().save(str(tmp_path / f"window-{width}x{height}.png"))
    assert window.minimumSizeHint().width() <= 1024
    assert _in_view(view.banner.headline, window)
    assert _in_view(view.instruction, window)


def test_a_blocked_plan_shows_only_do_not_prepare_in_large_type(qtbot, window) -> None:
    type_request(qtbot, window, load_case("v06-low-viability-blocks")["request"])
    view = window.plan_view
    qtbot.waitUntil(lambda: view.state == "blocked", timeout=TIMEOUT)
    large = view.instruction.text()
    assert large.startswith("DO NOT PREPARE — blocked by LOW_VIABILITY")
    assert "raw " not in large and " mL" not in large
    assert view.result_values["draw"].text() == "none — DO NOT PREPARE"
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    qtbot.waitUntil(lambda: view.state == "ok", timeout=TIMEOUT)
    assert view.instruction.text().startswith("Draw ")


def test_findings_are_shown_block_then_warning_then_info(qtbot, window) -> None:
    type_request(qtbot, window, load_case("v06-low-viability-blocks")["request"])
    view = window.plan_view
    qtbot.waitUntil(lambda: view.state == "blocked", timeout=TIMEOUT)
    order = {"blocked": 0, "warning": 1, "info": 2}
    shown = [view.findings_layout.itemAt(i).widget()
             for i in range(view.findings_layout.count())]
    states = [order[w.property("state")] for w in shown if isinstance(w, QFrame)]
    assert states and states == sorted(states)
    plan = view.plan
    assert [f.code for f in sorted_findings(plan.findings)] == \
        [w.objectName().removeprefix("finding-") for w in shown if isinstance(w, QFrame)]
    ranks = {"block": 0, "warning": 1, "info": 2}
    assert [ranks[f.severity.value] for f in sorted_findings(tuple(reversed(plan.findings)))] \
        == sorted(ranks[f.severity.value] for f in plan.findings)


@SHOWS_WINDOW
def test_a_long_strip_note_is_elided_and_does_not_widen_the_window(qtbot, window) -> None:
    window.show()
    window.resize(1280, 800)
    strip = window.records.strip
    note = "changes not saved — " + "a very long note typed by a tired user " * 20
    strip.show_record(None, note)
    QApplication.processEvents()
    assert window.minimumSizeHint().width() <= 1024
    assert strip.sizeHint().width() <= 1280
    assert window.width() <= 1280
    # the text itself is kept whole (tooltip and accessible name), only painted elided
    assert strip.record_label.text().endswith(note)
    assert strip.record_label.toolTip() == strip.record_label.text()


@SHOWS_WINDOW
@pytest.mark.parametrize(("width", "height"), SCREENS[:2], ids=lambda v: str(v))
def test_every_field_and_its_reading_is_whole_on_workstation_screens(
        qtbot, window, width: int, height: int) -> None:
    """At 1280 and 1366 px the form needs no sideways scrolling: each field's editor and the
    value as read back beside it ("= 1.000 × 10⁸ cells/mL") lie wholly inside the form's view."""
    from PySide6.QtWidgets import QScrollArea

    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    qtbot.waitUntil(lambda: window.plan_view.state == "ok", timeout=TIMEOUT)
    window.show()
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.width() <= width, timeout=TIMEOUT)
    QApplication.processEvents()
    area = next(a for a in window.findChildren(QScrollArea) if a.widget() is window.form)
    viewport = area.viewport()
    assert not area.horizontalScrollBar().isVisible()
    for key, field in window.form.fields.items():
        for part in (field.editor, field.note_label):
            if not part.isVisible():
                continue
            left = part.mapTo(viewport, QPoint(0, 0)).x()
            assert left >= 0 and left + part.width() <= viewport.width(), (key, part)


@SHOWS_WINDOW
def test_the_form_built_behind_the_start_cover_is_whole_once_uncovered(qtbot) -> None:
    """The normal start paints the signed-out cover and builds the form behind it (issue 13);
    uncovered after the log-in, the form fits as it does in a window built at once (the first
    try left it scrolling sideways: it had been laid out while hidden)."""
    from doseprep_ui.main_window import MainWindow
    from PySide6.QtWidgets import QScrollArea

    window = MainWindow(defer_content=True)
    qtbot.addWidget(window)
    window.show_cover("signed-out")
    window.resize(*SCREENS[0])
    window.show()
    qtbot.waitExposed(window)
    assert not window.content_ready and window.stack.currentWidget() is window.records.cover
    window.build_content()
    assert window.stack.currentWidget() is window.records.cover  # still covered
    window.hide_cover()
    QApplication.processEvents()
    area = next(a for a in window.findChildren(QScrollArea) if a.widget() is window.form)
    assert not area.horizontalScrollBar().isVisible()
