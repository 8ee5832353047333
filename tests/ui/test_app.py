"""``main.py`` as a user and the README run it: the screenshot and the start-up measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.conftest import load_case
from tests.ui.conftest import SHOWS_WINDOW, DialogStub

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_main(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DOSEPREP_DATA_DIR": str(data), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_screenshot_of_the_example_request(tmp_path: Path) -> None:
    out = tmp_path / "window.png"
    done = run_main("--screenshot", str(out), "--size", "1200x800", data=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)
    assert not (tmp_path / "data" / "drafts").exists(), "screenshots never touch drafts"


def test_screenshot_of_a_given_request(tmp_path: Path) -> None:
    request = tmp_path / "r.json"
    request.write_text(json.dumps(load_case("v06-low-viability-blocks")), encoding="utf-8")
    out = tmp_path / "blocked.png"
    done = run_main("--screenshot", str(out), "--request", str(request), data=tmp_path)
    assert done.returncode == 0, done.stderr
    assert QImage(str(out)).width() == 1500


def test_a_missing_request_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    done = run_main("--screenshot", str(tmp_path / "x.png"), "--request",
                    str(tmp_path / "nope.json"), data=tmp_path)
    assert done.returncode == 2
    assert "cannot make the screenshot" in done.stderr and "Traceback" not in done.stderr


def test_the_window_paints_before_any_heavy_module_loads(tmp_path: Path) -> None:
    """The first paint (the signed-out cover) comes before the domain: no pint, no plan, no
    store, no PDF library (issue 13); the form is built right after it."""
    done = run_main("--measure-startup", data=tmp_path)
    assert done.returncode == 0, done.stderr
    painted, ready = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert painted["heavy_modules"] == []
    assert 0 < painted["first_paint_s"] < ready["content_ready_s"] < 10


@SHOWS_WINDOW
def test_the_normal_start_asks_for_a_log_in_before_showing_anything(
        qapp, qtbot, dialog_stub: DialogStub, monkeypatch: pytest.MonkeyPatch) -> None:
    """``main.py`` without options: the window paints covered, asks who is there, and only then
    offers the draft left by a crash."""
    import logging

    from doseprep_ui import app
    from PySide6.QtCore import QTimer

    from doseprep import drafts
    from tests.ui.records_helpers import TECH, add_people, log_in_as

    add_people(TECH)
    drafts.save({"patient.weight": "71 kg", "patient.name": "DOE, JANE"})
    monkeypatch.setenv("DOSEPREP_NO_CRASH_DIALOG", "1")
    seen: dict[str, object] = {}

    def log_in(dialog) -> None:
        window = dialog.parentWidget()
        seen["window"] = window
        seen["covered"] = window.isVisible() and window.stack.currentWidget() is \
            window.records.cover
        seen["form at log-in"] = window.form.fields["patient.weight"].text()
        log_in_as(qtbot, TECH)(dialog)
        QTimer.singleShot(0, window.close)

    dialog_stub.handlers.append(log_in)
    dialog_stub.answers += ["restore", "keep"]  # restore the draft; on closing, keep it
    handlers = list(logging.getLogger().handlers)
    QTimer.singleShot(30_000, qapp.quit)  # never hang the suite
    try:
        assert app.main([]) == 0
    finally:
        for handler in set(logging.getLogger().handlers) - set(handlers):
            logging.getLogger().removeHandler(handler)
            handler.close()
    assert seen["covered"] is True
    assert seen["form at log-in"] == "", "the draft is offered only after the log-in"
    restore, close = dialog_stub.questions
    assert restore["text"].startswith("Restore the unsaved form")
    assert close["text"] == "The form is not finished."
    window = seen["window"]
    assert window.records.user.user_id == "tech"
    assert window.form.fields["patient.weight"].text() == "71 kg"
