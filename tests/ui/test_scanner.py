"""The DIN field takes what a keyboard-wedge scanner types, or a DIN typed by hand."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.conftest import load_case
from tests.ui.conftest import SHOWS_WINDOW, type_request

TIMEOUT = 3000


@SHOWS_WINDOW
def test_a_scanned_din_fills_the_field_and_moves_on(qtbot, window) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.show()
    window.activateWindow()
    din = window.form.fields["product.din"]
    din.editor.clear()
    din.editor.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is din.editor, timeout=TIMEOUT)
    qtbot.keyClicks(din.editor, "=G12341765432100")
    qtbot.keyClick(din.editor, Qt.Key.Key_Return)  # the scanner's suffix
    assert din.text() == "G1234 17 654321 A"
    assert QApplication.focusWidget() is window.form.fields["product.collected_at"].editor
    qtbot.waitUntil(lambda: din.state == "ok", timeout=TIMEOUT)
    assert din.note_label.text() == "= G1234 17 654321, check character A"
    assert window.current_plan.request.product.din == "G123417654321"


def test_a_scan_is_understood_before_it_is_rewritten(qtbot, window) -> None:
    din = window.form.fields["product.din"]
    qtbot.keyClicks(din.editor, "=G12341765432100")
    window.flush()
    assert din.state == "ok"
    assert din.note_label.text() == ("= G1234 17 654321, check character A "
                                     "(scanned, flags 00)")


@pytest.mark.parametrize("typed", ["G123417654321A", "g1234 17 654321 a", "G1234 17 654321A"])
def test_a_typed_din_is_normalised(qtbot, window, typed: str) -> None:
    din = window.form.fields["product.din"]
    qtbot.keyClicks(din.editor, typed)
    din.editor.editingFinished.emit()
    assert din.text() == "G1234 17 654321 A"


@pytest.mark.parametrize("typed", ["G123417654321", "G123417654322", "G1234 17 654322"])
def test_a_din_typed_without_its_check_character_is_refused_and_kept(qtbot, window,
                                                                     typed: str) -> None:
    """Issue 21: a DIN typed without its check character was accepted and the character
    computed, so a mistyped digit (…654322) showed as valid. The field now asks for the boxed
    character, never fills it in, and no plan is shown."""
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.flush()
    assert window.current_plan is not None
    din = window.form.fields["product.din"]
    din.editor.clear()
    qtbot.keyClicks(din.editor, typed)
    din.editor.editingFinished.emit()
    window.flush()
    assert din.text() == typed, "never completed with a computed check character"
    assert din.state == "error"
    assert "typed without its check character" in din.note_label.text()
    assert "boxed character printed after the DIN" in din.note_label.text()
    assert "check character A" not in din.note_label.text()
    assert window.current_plan is None


def test_a_wrong_check_character_is_said_plainly_and_the_text_is_kept(qtbot, window) -> None:
    din = window.form.fields["product.din"]
    qtbot.keyClicks(din.editor, "G123417654321B")
    din.editor.editingFinished.emit()
    window.flush()
    assert din.text() == "G123417654321B", "a refused DIN stays as typed"
    assert din.state == "error"
    assert "The check character 'B' does not match the DIN G1234 17 654321" in \
        din.note_label.text()
    assert "'A'" not in din.note_label.text()
    assert window.current_plan is None


def test_the_wrong_barcode_is_named(qtbot, window) -> None:
    din = window.form.fields["product.din"]
    qtbot.keyClicks(din.editor, "=<S1234V00")
    window.flush()
    assert din.state == "error"
    assert "product code barcode" in din.note_label.text()
