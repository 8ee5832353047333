"""Every session event of the window is in the audit trail: log-in, lock, unlock, log-out.

Issue 10 found a successful log-in, a log-out and the window's lock and unlock unaudited; an
inspector could not tell who sat at the workstation when. A refused unlock is audited too (as a
failed authentication), so a guessed password at a locked workstation leaves a trace.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from doseprep.store import events
from tests.ui.conftest import DialogStub
from tests.ui.records_helpers import SUP, TECH, add_people, log_in_as


def test_log_in_lock_unlock_and_log_out_are_audited(qtbot, make_window,
                                                   dialog_stub: DialogStub) -> None:
    add_people(TECH, SUP)
    window = make_window()
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    assert window.begin_session(lock_ms=60_000) is True
    window.records.lock()
    cover = window.records.cover
    qtbot.keyClicks(cover.password, "a-wrong-guess")
    qtbot.mouseClick(cover.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(cover.password, TECH.password)
    qtbot.keyClick(cover.password, Qt.Key.Key_Return)
    assert window.cover_mode == ""
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    window.records.lock()
    qtbot.mouseClick(cover.sign_out_button, Qt.MouseButton.LeftButton)
    assert window.records.user.user_id == "sup"

    trail = [(e.action, e.user_id) for e in events(window.records.session.store)
             if e.action.startswith(("session_", "auth_failed"))]
    assert trail == [("session_login", "tech"), ("session_lock", "tech"),
                     ("auth_failed", "tech"), ("session_unlock", "tech"),
                     ("session_lock", "tech"), ("session_logout", "tech"),
                     ("session_login", "sup")]
