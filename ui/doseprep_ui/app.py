"""Starting the window: command-line options, the crash hook, and the two unattended modes.

``doseprep-gui`` (and ``python main.py``) open the window, install the crash hook
(:mod:`doseprep_ui.crash`) and, once the window is on screen, cover it and ask for a log-in
(creating the first administrator of a new record database first); after the log-in they offer to
restore an unsaved form. The record store — SQLAlchemy, argon2 — loads only then, after the first
paint. ``--screenshot FILE.png [--request REQUEST.json]`` renders the window offscreen with a
request loaded, saves it and exits (the README's picture). ``--measure-startup`` opens the window
the normal way and, at its first paint (the signed-out cover), prints one JSON line — seconds since
start-up began and any heavy module already loaded (there should be none: the domain and pint load
right after, reportlab and PDFium with the first document) — then builds the form and prints a
second line with the seconds until it was ready, and exits. Neither unattended mode asks for a
log-in, opens the record database or reads or writes drafts.

The window paints its signed-out cover first and builds the form, the plan and the cycle-2 tabs
behind it right after (``MainWindow(defer_content=True)``, then ``build_content()``), before the
log-in dialog: what the first paint shows does not need the domain (issue 13)."""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402 — the clock above must start before anything is imported
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from PySide6.QtCore import QEvent, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

log = logging.getLogger(__name__)

#: Modules that must not be loaded before the first paint (they cost hundreds of ms).
HEAVY_MODULES = ("reportlab", "pypdfium2", "PySide6.QtPrintSupport",
                 "doseprep.documents", "doseprep.store", "sqlalchemy", "alembic", "argon2",
                 "pyhanko", "pypdf", "pint", "doseprep.plans.fresh", "doseprep.plans")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doseprep-gui",
        description="doseprep's window: enter the product counts and the patient's weight, "
                    "read the volume to draw.")
    parser.add_argument("--protocol", metavar="FILE", help="protocol id or TOML file to start with")
    parser.add_argument("--lab", metavar="FILE", help="lab settings TOML file to start with")
    parser.add_argument("--screenshot", metavar="FILE.png", type=Path,
                        help="render the window with a request loaded into FILE.png and exit")
    parser.add_argument("--request", metavar="REQUEST.json", type=Path,
                        help="the request for --screenshot (default: the bundled example)")
    parser.add_argument("--size", metavar="WxH", default="1500x960",
                        help="window size for --screenshot (default 1500x960)")
    parser.add_argument("--measure-startup", action="store_true",
                        help="print the time to the first paint as JSON and exit")
    return parser


def application(qt_arguments: Sequence[str] = ()) -> QApplication:
    """The QApplication (created once), with doseprep's name and font."""
    from doseprep_ui.widgets.style import base_font

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "doseprep-gui", *qt_arguments])
    app.setApplicationName("doseprep")
    app.setApplicationDisplayName("doseprep")
    app.setFont(base_font())
    return app


class _FirstPaint(QObject):
    """Runs ``then`` (default: report the time) once, right after the window's first paint."""

    def __init__(self, window: QWidget, then: Callable[[], object] | None = None) -> None:
        super().__init__(window)
        self.seen = False
        self.window = window
        self.then = then or self.report
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            QTimer.singleShot(0, self.then)
        return False

    def report(self) -> None:
        heavy = sorted(m for m in sys.modules if m.startswith(HEAVY_MODULES))
        sys.stdout.write(json.dumps({"first_paint_s": round(time.perf_counter() - _STARTED, 4),
                                     "heavy_modules": heavy}) + "\n")
        sys.stdout.flush()
        self.window.build_content()
        sys.stdout.write(json.dumps({"content_ready_s": round(time.perf_counter() - _STARTED,
                                                              4)}) + "\n")
        sys.stdout.flush()
        QApplication.quit()


def screenshot(path: Path, request: Path | None, size: str, window_options: dict) -> int:
    """Render the window with ``request`` loaded into ``path`` (PNG); returns the exit status."""
    from doseprep.jsonread import load_json
    from doseprep.resources import resource_path
    from doseprep_ui.main_window import MainWindow

    os.environ.setdefault("DOSEPREP_NO_CRASH_DIALOG", "1")
    source = request or resource_path("examples", "request-dl3.json")
    try:
        data = load_json(Path(source).read_text(encoding="utf-8"), source=str(source))
        width, height = (int(n) for n in size.lower().split("x"))
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"doseprep-gui: cannot make the screenshot: {exc}\n")
        return 2
    window = MainWindow(**window_options)
    if isinstance(data, dict) and data.get("kind") == "freeze":  # the freeze mode (cycle 2)
        window.show_freeze_mode()
        window.freeze_panel.load(data)
        window.freeze_panel.recompute()
    else:
        window.load_request(data.get("request", data))
    window.resize(width, height)
    window.show()
    window.flush()
    QApplication.processEvents()
    saved = window.grab().save(str(path))
    window.close()
    if not saved:
        sys.stderr.write(f"doseprep-gui: cannot write {path}\n")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Start the window (or one of the unattended modes); returns the exit status."""
    from doseprep.paths import restrict_umask

    restrict_umask()  # the database, drafts, keys and logs are this user's alone (issue 10)
    args, qt_arguments = build_parser().parse_known_args(
        list(sys.argv[1:] if argv is None else argv))
    app = application(qt_arguments)
    from doseprep_ui.crash import CrashHandler, configure_logging
    from doseprep_ui.main_window import MainWindow

    options = {"protocol_ref": args.protocol, "lab_path": args.lab}
    if args.screenshot:
        return screenshot(args.screenshot, args.request, args.size, options)
    log_file = configure_logging()
    crash = CrashHandler()
    crash.install()
    try:
        window = MainWindow(defer_content=True, **options)
        crash.before_dialog = window.save_draft
        window.show_cover("signed-out")
        window.records.cover.show_signed_out()
        if args.measure_startup:
            _FirstPaint(window)
            window.show()
            return app.exec()
        log.info("doseprep-gui started; log %s", log_file)

        def after_first_paint() -> None:
            # The form behind the cover, then the log-in (and the store, SQLAlchemy, argon2).
            window.build_content()
            window.begin_session()

        _FirstPaint(window, then=after_first_paint)
        window.show()
        return app.exec()
    finally:
        crash.uninstall()
