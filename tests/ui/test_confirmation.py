"""An implausible value is confirmed in place, in the form, with a reason — never a modal box.

CD3+ typed as a fraction (0.4 for 40 %) blocks the plan with IMPLAUSIBLE_INPUT; the form shows the
finding beside the field and a reason editor under it. A reason turns the block into a warning
whose reason travels with the request; clearing it blocks again. Correcting the value hides the
reason editor.
"""

from __future__ import annotations

import copy

from PySide6.QtWidgets import QApplication, QDialog

from tests.conftest import load_case
from tests.ui.conftest import type_request

TIMEOUT = 3000


def slip() -> dict:
    request = copy.deepcopy(load_case("v01-basic-dl3")["request"])
    request["product"]["cd3_percent"] = 0.4
    return request


def codes(window) -> set[str]:
    return {f.code for f in window.current_plan.findings}


def test_an_implausible_value_is_confirmed_in_place_with_a_reason(qtbot, window,
                                                                 tmp_path) -> None:
    type_request(qtbot, window, slip())
    qtbot.waitUntil(lambda: window.current_plan is not None and not window._pending,
                    timeout=TIMEOUT)
    field = window.form.fields["product.cd3_percent"]
    reason = window.form.confirmations["product.cd3_percent"]
    assert window.current_plan.blocked and "IMPLAUSIBLE_INPUT" in codes(window)
    assert field.state == "warning" and "did you mean 40 %" in field.note_label.text()
    assert reason.isVisibleTo(window)
    assert not [w for w in QApplication.topLevelWidgets()
                if isinstance(w, QDialog) and w.isVisible()]
    window.grab().save(str(tmp_path / "implausible.png"))

    qtbot.keyClicks(reason, "re-run on the analyzer by A. Lee: 0.4 % is right")
    qtbot.waitUntil(lambda: "IMPLAUSIBLE_INPUT_CONFIRMED" in codes(window), timeout=TIMEOUT)
    assert not window.current_plan.blocked
    assert window.current_plan.request.confirmations == {
        "product.cd3_percent": "re-run on the analyzer by A. Lee: 0.4 % is right"}

    reason.clear()  # a tired second look: the reason removed blocks the plan again
    qtbot.waitUntil(lambda: "IMPLAUSIBLE_INPUT" in codes(window), timeout=TIMEOUT)
    assert window.current_plan.blocked


def test_correcting_the_value_hides_the_reason_editor(qtbot, window) -> None:
    type_request(qtbot, window, slip())
    reason = window.form.confirmations["product.cd3_percent"]
    qtbot.waitUntil(lambda: reason.isVisibleTo(window), timeout=TIMEOUT)
    editor = window.form.fields["product.cd3_percent"].editor
    editor.clear()
    qtbot.keyClicks(editor, "40")
    qtbot.waitUntil(lambda: window.current_plan is not None
                    and not window.current_plan.blocked, timeout=TIMEOUT)
    assert not reason.isVisibleTo(window)


def test_a_confirmed_request_file_opens_with_its_reason(qtbot, window) -> None:
    request = slip()
    request["confirmations"] = {"product.cd3_percent": "checked with the flow lab"}
    type_request(qtbot, window, request)
    qtbot.waitUntil(lambda: window.current_plan is not None
                    and "IMPLAUSIBLE_INPUT_CONFIRMED" in codes(window), timeout=TIMEOUT)
    assert window.form.confirmations["product.cd3_percent"].text() == "checked with the flow lab"
