"""Fixtures for the window's tests: no real dialog ever opens, every window is registered.

A modal dialog in an offscreen test would wait forever, so every dialog the window can open is
replaced: :class:`DialogStub` answers questions from a queue the test fills (and fails the test
on a question nobody expected), records messages, and returns the files the test chose. The
window's own dialogs (log-in, signatures, history) go through ``run_dialog``: the stub hands each
to the next *handler* the test queued, which fills it in and presses its buttons as a person
would, so the real dialog and the real store do the work. ``QFileDialog`` and
``QPrintDialog.exec`` are patched too, as a second line of defence.

Passwords are hashed with the store's documented test profile
(``DOSEPREP_PASSWORD_HASH_PROFILE=test``), set here for the tests only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from doseprep_ui.form.evaluation import KEYS
from doseprep_ui.form.fields import ChoiceField
from doseprep_ui.form.form import raw_from_request
from doseprep_ui.main_window import MainWindow
from doseprep_ui.widgets import dialogs
from PySide6.QtWidgets import QDialog, QFileDialog

from doseprep.cli import main as cli_main

#: The offscreen platform warns on every window shown; nothing else may be ignored.
SHOWS_WINDOW = pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints")


class DialogStub:
    """Stands in for :mod:`doseprep_ui.widgets.dialogs`; see the module docstring."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.default_answer: str | None = None
        self.questions: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.allow_messages = False
        self.open_paths: list[Path | None] = []
        self.save_paths: list[Path | None] = []
        self.handlers: list[Callable[[QDialog], None]] = []
        self.dialogs: list[QDialog] = []

    def run_dialog(self, dialog: QDialog) -> bool:
        self.dialogs.append(dialog)
        if not self.handlers:
            raise AssertionError(f"unexpected dialog: {dialog.windowTitle()}")
        self.handlers.pop(0)(dialog)
        return dialog.result() == QDialog.DialogCode.Accepted.value

    def choose(self, parent, **question: Any) -> str:
        self.questions.append(question)
        if self.answers:
            answer = self.answers.pop(0)
        elif self.default_answer is not None:
            answer = self.default_answer
        else:
            raise AssertionError(f"unexpected question: {question['text']}")
        assert answer in dict(question["choices"]), (answer, question["choices"])
        return answer

    def inform(self, parent, **message: Any) -> None:
        self.messages.append(message)
        if not self.allow_messages:
            raise AssertionError(f"unexpected message: {message['text']} "
                                 f"{message.get('informative', '')}")

    def open_file(self, parent, title: str, name_filter: str, directory: str = "") -> Path | None:
        if not self.open_paths:
            raise AssertionError(f"unexpected open-file dialog: {title}")
        return self.open_paths.pop(0)


@pytest.fixture(autouse=True)
def dialog_stub(monkeypatch: pytest.MonkeyPatch) -> DialogStub:
    stub = DialogStub()
    monkeypatch.setattr(dialogs, "choose", stub.choose)
    monkeypatch.setattr(dialogs, "inform", stub.inform)
    monkeypatch.setattr(dialogs, "open_file", stub.open_file)
    monkeypatch.setattr(dialogs, "run_dialog", stub.run_dialog)

    def no_file_dialog(*args: Any, **kwargs: Any) -> tuple[str, str]:
        raise AssertionError("unexpected file dialog")

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(no_file_dialog))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(no_file_dialog))
    return stub


class MovingClock:
    """The one clock of a test's world — the store's expiry checks (``expiry_now``) and the
    window's clock read it — at an instant the test sets and moves."""

    def __init__(self, start: str) -> None:
        self.now = datetime.fromisoformat(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: str) -> None:
        self.now = datetime.fromisoformat(moment)

    def let_pass(self, window: MainWindow, span: timedelta,
                 until: Callable[[], bool] | None = None) -> datetime | None:
        """Let ``span`` of time pass as the window would live it: each time its clock's timer
        comes due, the instant moves there and the timer fires (nothing else ticks the window).
        Returns the first instant at which ``until`` held (checked after each tick), else None.
        The timer must stay armed: a window whose clock stopped never sees time pass."""
        clock = window.clock
        end = self.now + span
        seen = None
        while clock.timer.isActive() and clock.due is not None and clock.due <= end:
            self.now = max(self.now, clock.due)  # a clock set forward is seen at the next tick
            clock.timer.stop()
            clock.tick()  # what the timer's timeout does
            if seen is None and until is not None and until():
                seen = self.now
        assert clock.timer.isActive(), "the window's clock stopped ticking"
        self.now = end
        return seen


@pytest.fixture
def moving_clock(monkeypatch: pytest.MonkeyPatch) -> MovingClock:
    """A :class:`MovingClock` at the tests' signing time (tests/conftest.py)."""
    import doseprep.store.expiry as expiry
    from tests.conftest import SIGNING_TIME

    moving = MovingClock(SIGNING_TIME)
    monkeypatch.setattr(expiry, "expiry_now", moving)
    return moving


@pytest.fixture
def workstation_in_tokyo():
    """This computer's own zone set to Asia/Tokyo (the site's is America/Los_Angeles)."""
    import os
    import time

    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture(autouse=True)
def _test_hash_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOSEPREP_PASSWORD_HASH_PROFILE", "test")
    monkeypatch.delenv("DOSEPREP_DATABASE_URL", raising=False)


@pytest.fixture
def make_window(qtbot, dialog_stub: DialogStub):
    """Builds windows registered with qtbot; at the end they close without asking."""

    def before_close(window: MainWindow) -> None:
        dialog_stub.answers.clear()
        dialog_stub.default_answer = "discard"

    def make(**options: Any) -> MainWindow:
        window = MainWindow(**options)
        qtbot.addWidget(window, before_close_func=before_close)
        return window

    return make


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


def case_request(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))["request"]


def cli_plan(request: dict[str, Any], tmp_path: Path,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """Exit status and JSON output of ``doseprep plan REQUEST.json --json`` for ``request``."""
    path = tmp_path / "cli-request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    capsys.readouterr()
    status = cli_main(["plan", str(path), "--json"])
    return status, json.loads(capsys.readouterr().out)


def type_into(qtbot, window: MainWindow, raw: dict[str, str]) -> None:
    """Type every field's text with key clicks, in the order of the paper form."""
    for key in KEYS:
        field = window.form.fields[key]
        text = raw.get(key, "")
        if isinstance(field, ChoiceField):
            if text and field.text() != text:
                qtbot.keyClicks(field.editor, text)
            assert field.text() == text, (key, field.text(), text)
        else:
            field.editor.clear()
            if text:
                qtbot.keyClicks(field.editor, text)
            assert field.text() == text, (key, field.text(), text)
    for key, editor in window.form.confirmations.items():
        text = raw.get(f"confirmations.{key}", "")
        if text:
            editor.setVisible(True)
            editor.clear()
            qtbot.keyClicks(editor, text)


def type_request(qtbot, window: MainWindow, request: dict[str, Any]) -> None:
    type_into(qtbot, window, raw_from_request(request))
