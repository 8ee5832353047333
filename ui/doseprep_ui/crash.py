"""Unexpected errors: written to a file in the user's data directory and shown with what to do.

:class:`CrashHandler` replaces ``sys.excepthook`` and installs a Qt message handler. An uncaught
exception, or a critical or fatal message from Qt, is logged, written to
``<data dir>/logs/crash-<time>.txt`` (with versions, for whoever investigates), the unsaved form
is saved as a draft at once, and a dialog says what happened and what to do. The same fault is
shown once per session, not on every keystroke. ``DOSEPREP_NO_CRASH_DIALOG=1`` turns the dialog
off (CI, unattended screenshots); the file and the log are still written. Qt warnings go to the
log only. :func:`configure_logging` sends the program's log to ``<data dir>/logs`` as well.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from doseprep.crashreport import safe_traceback, write_report
from doseprep.paths import data_dir, private_dir
from doseprep_ui.widgets import dialogs

log = logging.getLogger(__name__)

LOG_FILE = "doseprep-gui.log"
NO_DIALOG_VARIABLE = "DOSEPREP_NO_CRASH_DIALOG"


def logs_dir() -> Path:
    """Where the program's log and crash files go."""
    return data_dir() / "logs"


def dialogs_enabled() -> bool:
    """False when ``DOSEPREP_NO_CRASH_DIALOG`` is set to 1 (or true/yes)."""
    return os.environ.get(NO_DIALOG_VARIABLE, "").strip().lower() not in ("1", "true", "yes")


def configure_logging(level: int = logging.INFO) -> Path | None:
    """Log to ``<data dir>/logs/doseprep-gui.log`` (rotated); returns the file, None if unusable."""
    path = logs_dir() / LOG_FILE
    try:
        private_dir(path.parent)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5,
                                                       encoding="utf-8")
    except OSError as exc:
        logging.basicConfig(level=level)
        log.warning("cannot write the log file %s (%s); logging to the console", path, exc)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return path


def write_crash_file(what: str, details: str) -> Path | None:
    """Write one crash report (0600, see :mod:`doseprep.crashreport`); returns its path, or None
    when the folder is not writable. ``details`` must hold no patient data."""
    path = write_report(logs_dir(), what, details, where=f" (GUI, PySide6 {pyside_version})")
    if path is None:
        log.error("cannot write a crash file in %s", logs_dir())
    return path


class CrashHandler:
    """Catches what nobody else caught; see the module docstring.

    ``before_dialog`` runs first (the window saves its draft there), so nothing typed is lost
    even if the user then kills the program.
    """

    def __init__(self, before_dialog: Callable[[], None] | None = None) -> None:
        self.before_dialog = before_dialog
        self.last_file: Path | None = None
        self._shown: set[str] = set()
        self._showing = False
        self._previous_hook: Callable[..., Any] | None = None
        self._previous_handler: Callable[..., Any] | None = None
        self._installed = False

    def install(self) -> None:
        """Become ``sys.excepthook`` and Qt's message handler."""
        if self._installed:
            return
        self._previous_hook = sys.excepthook
        sys.excepthook = self.handle_exception
        self._previous_handler = qInstallMessageHandler(self.handle_qt_message)
        self._installed = True

    def uninstall(self) -> None:
        """Put back the previous excepthook and Qt message handler."""
        if not self._installed:
            return
        sys.excepthook = self._previous_hook or sys.__excepthook__
        qInstallMessageHandler(self._previous_handler)
        self._installed = False

    def handle_exception(self, exc_type: type[BaseException], exc: BaseException,
                         tb: TracebackType | None) -> None:
        """``sys.excepthook``: log, write the crash file, save the draft, tell the user."""
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        # Frames and exception types only: a message or a value may hold patient data.
        details = safe_traceback(exc_type, exc, tb)
        log.critical("unexpected error\n%s", details)
        self.last_file = write_crash_file("unexpected error", details)
        self._save_draft()
        self._show(exc_type.__name__, details)

    def handle_qt_message(self, mode: QtMsgType, context: QMessageLogContext,
                          message: str) -> None:
        """Qt's message handler: critical and fatal messages are faults; warnings are logged."""
        where = f" ({context.file}:{context.line})" if context.file else ""
        if mode in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            log.critical("Qt: %s%s", message, where)
            self.last_file = write_crash_file("Qt critical message", f"{message}{where}")
            self._save_draft()
            if mode is QtMsgType.QtCriticalMsg:  # after a fatal message Qt aborts at once
                self._show(message, f"{message}{where}")
        elif mode is QtMsgType.QtWarningMsg:
            log.warning("Qt: %s%s", message, where)
        else:
            log.debug("Qt: %s%s", message, where)

    def _save_draft(self) -> None:
        if self.before_dialog is None:
            return
        try:
            self.before_dialog()
        except Exception:
            log.exception("saving the draft after an error failed too")

    def _show(self, summary: str, details: str) -> None:
        if (not dialogs_enabled() or self._showing or details in self._shown
                or QApplication.instance() is None):
            return
        self._shown.add(details)
        self._showing = True
        where = (f"The details are in this file; please give it to your system administrator:"
                 f"\n{self.last_file}" if self.last_file else
                 "The details could not be written to a file; please tell your system "
                 "administrator what you were doing.")
        try:
            dialogs.inform(
                QApplication.activeWindow(), icon=dialogs.Icon.Critical,
                title="doseprep — unexpected error",
                text="doseprep met an unexpected problem. What you typed has been kept.",
                informative=("Do not prepare from the screen until you have checked that it "
                             "shows a plan again. If doseprep behaves oddly, close it and start "
                             "it again: it will offer to restore the form.\n\n" + where),
                details=f"{summary}\n\n{details}")
        finally:
            self._showing = False
