"""Unexpected errors are written down, the form is saved, and the user is told what to do —
and a failed recompute never leaves the previous plan on screen."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from doseprep_ui import crash
from doseprep_ui.form import evaluation
from PySide6.QtCore import QMessageLogContext, QtMsgType

from doseprep.paths import data_dir
from tests.conftest import load_case
from tests.ui.conftest import DialogStub, type_request

ROOT = Path(__file__).resolve().parents[2]


def raise_and_catch() -> tuple:
    try:
        raise ZeroDivisionError("division by zero for the test")
    except ZeroDivisionError:
        return sys.exc_info()


def test_an_exception_is_logged_saved_and_shown_once(qapp, dialog_stub: DialogStub,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(crash.NO_DIALOG_VARIABLE, raising=False)
    dialog_stub.allow_messages = True
    saved: list[bool] = []
    handler = crash.CrashHandler(before_dialog=lambda: saved.append(True))
    handler.handle_exception(*raise_and_catch())
    assert handler.last_file is not None
    assert handler.last_file.parent == data_dir() / "logs"
    text = handler.last_file.read_text(encoding="utf-8")
    # The type and where it happened; never the message, which may hold patient data (issue 10).
    assert "builtins.ZeroDivisionError (message withheld" in text
    assert "ZeroDivisionError: division by zero" not in text  # the source line may show it
    assert "doseprep" in text and "PySide6" in text
    assert saved == [True]
    (message,) = dialog_stub.messages
    assert message["icon"] == crash.dialogs.Icon.Critical
    assert str(handler.last_file) in message["informative"]
    assert "restore the form" in message["informative"]
    handler.handle_exception(*raise_and_catch())  # the same fault again: logged, not shown
    assert len(dialog_stub.messages) == 1
    assert saved == [True, True]


def test_no_dialog_when_switched_off(qapp, dialog_stub: DialogStub,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(crash.NO_DIALOG_VARIABLE, "1")
    handler = crash.CrashHandler()
    handler.handle_exception(*raise_and_catch())
    assert handler.last_file.is_file()
    assert dialog_stub.messages == []


def test_qt_critical_messages_are_faults_and_warnings_are_logged(
        qapp, dialog_stub: DialogStub, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.delenv(crash.NO_DIALOG_VARIABLE, raising=False)
    dialog_stub.allow_messages = True
    handler = crash.CrashHandler()
    context = QMessageLogContext()
    handler.handle_qt_message(QtMsgType.QtWarningMsg, context, "a harmless warning")
    assert handler.last_file is None and dialog_stub.messages == []
    assert "a harmless warning" in caplog.text
    handler.handle_qt_message(QtMsgType.QtCriticalMsg, context, "something critical")
    assert "something critical" in handler.last_file.read_text(encoding="utf-8")
    assert len(dialog_stub.messages) == 1


def test_install_and_uninstall_put_back_what_was_there(qapp) -> None:
    before = sys.excepthook
    handler = crash.CrashHandler()
    handler.install()
    try:
        assert sys.excepthook == handler.handle_exception
    finally:
        handler.uninstall()
    assert sys.excepthook is before


def test_a_failed_recompute_clears_the_plan_instead_of_leaving_it(
        qtbot, window, monkeypatch: pytest.MonkeyPatch) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.flush()
    assert window.plan_view.state == "ok"

    def broken(*args, **kwargs):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(evaluation, "evaluate", broken)  # the window calls it from there
    with pytest.raises(RuntimeError, match="simulated fault"):
        window.recompute()
    assert window.plan_view.state == "failed"
    assert window.plan_view.plan is None
    assert "Draw" not in window.plan_view.instruction.text()
    assert not window.preview_button.isEnabled()
    assert window.evaluation is None


def test_a_failed_recompute_leaves_no_stale_conversion_beside_a_field(
        qtbot, window, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a fault, "13 kg" must not sit beside "= 70 kg" from the last good check."""
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.flush()
    weight = window.form.fields["patient.weight"]
    assert "70 kg" in weight.note_label.text()

    def broken(*args, **kwargs):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(evaluation, "evaluate", broken)  # the window calls it from there
    weight.set_text("13 kg")
    with pytest.raises(RuntimeError, match="simulated fault"):
        window.recompute()
    assert weight.text() == "13 kg", "what the user typed is kept"
    for field in window.form.fields.values():
        assert field.note_label.text() == "not checked", field.key
    assert "70 kg" not in weight.note_label.text()


@pytest.mark.slow
def test_an_exception_in_a_slot_reaches_the_crash_file(tmp_path: Path) -> None:
    """In a real process, PySide hands exceptions raised in slots to sys.excepthook."""
    code = textwrap.dedent("""
        from PySide6.QtCore import QTimer
        from doseprep_ui.app import application
        from doseprep_ui.crash import CrashHandler

        app = application()
        handler = CrashHandler()
        handler.install()

        def boom():
            try:
                raise ZeroDivisionError("raised in a slot")
            finally:
                QTimer.singleShot(0, app.quit)

        QTimer.singleShot(0, boom)
        app.exec()
        print(handler.last_file)
    """)
    env = os.environ | {"DOSEPREP_DATA_DIR": str(tmp_path), "DOSEPREP_NO_CRASH_DIALOG": "1",
                        "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    crash_file = Path(done.stdout.strip().splitlines()[-1])
    assert crash_file.parent == tmp_path / "logs"
    text = crash_file.read_text(encoding="utf-8")
    assert "ZeroDivisionError" in text and "in boom" in text
    assert "raised in a slot" not in text
