"""'Prepared at' shows now and follows the clock until someone types in it (issue 9: a default set
when the form was reset said "OK — ready to prepare" at 23:03 for an infusion that expired at
18:03); a time far from now is pointed out in place."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import Qt

from tests.conftest import load_case
from tests.ui.conftest import MovingClock, type_request


@pytest.fixture
def clock(moving_clock: MovingClock) -> MovingClock:
    moving_clock.set("2026-11-23T10:00:00-08:00")
    return moving_clock


def test_prepared_at_follows_the_clock_until_edited(qtbot, clock: MovingClock, make_window) -> None:
    window = make_window()
    prepared = window.form.fields["prepared_at"]
    assert prepared.text() == "2026-11-23 10:00"
    clock.let_pass(window, timedelta(hours=5, minutes=3))  # the form left open all afternoon
    assert prepared.text() == "2026-11-23 15:03"
    prepared.editor.clear()
    qtbot.keyClicks(prepared.editor, "2026-11-23 09:30")  # typed by hand: it stays
    clock.let_pass(window, timedelta(minutes=10))
    assert prepared.text() == "2026-11-23 09:30"
    qtbot.mouseClick(window.form.now_button, Qt.MouseButton.LeftButton)
    assert prepared.text() == "2026-11-23 15:13"


def test_a_time_far_from_now_is_pointed_out(qtbot, clock: MovingClock, make_window) -> None:
    window = make_window()
    request = load_case("v01-basic-dl3")["request"]  # prepared 2026-11-23 10:00 −08:00
    clock.now = datetime.fromisoformat("2026-11-23T13:00:00-08:00")
    type_request(qtbot, window, request)
    window.flush()
    prepared = window.form.fields["prepared_at"]
    assert prepared.state == "warning"
    assert "3 h 0 min before now" in prepared.note_label.text()
    clock.now = datetime.fromisoformat("2026-11-23T10:02:00-08:00")
    window.recompute()
    assert prepared.state == "ok"


def test_a_saved_record_keeps_its_time(qtbot, clock: MovingClock, make_window,
                                      dialog_stub) -> None:
    from tests.ui.records_helpers import TECH, add_people, log_in_as

    add_people(TECH)
    window = make_window()
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    assert window.begin_session(lock_ms=60_000)
    request = load_case("v01-basic-dl3")["request"]
    type_request(qtbot, window, request)
    window.form.follow_the_clock()  # the form shows now, following the clock
    window.flush()
    saved = window.records.save()
    assert saved is not None
    clock.let_pass(window, timedelta(minutes=7))
    window.flush()
    assert window.form.fields["prepared_at"].text() == "2026-11-23 10:00"
    assert not window.records.is_dirty(window.current_plan), "saved and unchanged"
