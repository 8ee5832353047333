"""A long session does not crash: the Qt bindings' lost references are made up for (see
``ui.qt_workarounds``), whichever PySide6 is installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Far more void calls and emits than None, True and False have references at start-up.
LONG_SESSION = """
import sys
from ui.app import application
app = application()
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

class Source(QObject):
    changed = Signal()

label, source = QLabel(), Source()
for n in range(200_000):
    label.setText("x")
    source.changed.emit()
print("alive")
"""


@pytest.mark.slow
def test_a_long_session_of_qt_calls_does_not_abort_python(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", LONG_SESSION], cwd=ROOT, capture_output=True,
                          text=True, timeout=300,
                          env={"QT_QPA_PLATFORM": "offscreen", "DOSEPREP_DATA_DIR": str(tmp_path),
                               "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "alive"
    assert "Fatal Python error" not in done.stderr

