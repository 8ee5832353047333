"""The main window: the form on the left, the live plan on the right, settings on top.

Above the settings, the record strip says who is logged in and which saved record the form shows
(:mod:`doseprep_ui.records.controller` does the records: log-in, lock, save, sign, history,
corrections, prints). The form and the plan sit on one page of a stack whose other page is a cover:
until someone logs in, while the workstation is locked after inactivity, and during a blind
re-entry, the cover is shown instead and every action that would show or print patient data is
disabled.

Every change in the form schedules one recompute on the next turn of the event loop (a 0 ms
single-shot timer, so a burst of changes is computed once); anything that acts on the plan —
previewing or printing a document — first runs a pending recompute, so it can never act on a plan
older than the form. Every change also schedules a draft save 300 ms later; drafts start only once
the start-up offer to restore the previous draft has been answered (``offer_draft``), so a draft
from a crash is never overwritten before the user has seen it. Closing with unsaved work asks
whether to keep it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from doseprep import __version__, drafts
from doseprep.errors import SettingsError
from doseprep.jsonread import load_json
from doseprep.paths import data_dir
from doseprep.resources import DEFAULT_PROTOCOL
from doseprep.settings import configured_lab, load_settings
from doseprep_ui.main_window.document_actions import DocumentActions
from doseprep_ui.main_window.draft_actions import DraftActions
from doseprep_ui.main_window.freeze_actions import FreezeActions
from doseprep_ui.main_window.settings_actions import SettingsActions
from doseprep_ui.records.controller import RecordWorkflow
from doseprep_ui.widgets import dialogs
from doseprep_ui.widgets.clock import WindowClock
from doseprep_ui.widgets.style import STYLE_SHEET, set_role

if TYPE_CHECKING:
    # The domain (pint, the plan) and the form load in build_content(), after the first paint
    # when the window starts behind its signed-out cover (issue 13).
    from doseprep.plans.fresh import PreparationPlan
    from doseprep.protocol import LabSettings, Protocol
    from doseprep_ui.form.evaluation import Evaluation

log = logging.getLogger(__name__)

DRAFT_DELAY_MS = 300


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return area


#: The plan side is never narrowed below this to widen the form.
PLAN_MIN_WIDTH = 500


class MainWindow(SettingsActions, DocumentActions, DraftActions, FreezeActions, QMainWindow):
    """The doseprep window. ``protocol_ref`` and ``lab_path`` choose the settings to start with."""

    #: Emitted after every recompute (the plan view shows the current form).
    recomputed = Signal()
    #: Emitted after the draft was written (its path) or cleared (empty text).
    draft_saved = Signal(str)

    def __init__(self, *, protocol_ref: str | None = None, lab_path: str | None = None,
                 parent: QWidget | None = None, defer_content: bool = False,
                 clock: WindowClock | None = None) -> None:
        super().__init__(parent)
        #: The one clock every status on screen is read at (tests give one they move).
        self.clock = clock or WindowClock(parent=self)
        self.clock.ticked.connect(self._clock_ticked)
        self.setObjectName("main-window")
        self.setWindowTitle("doseprep — dose preparation")
        self.setStyleSheet(STYLE_SHEET)
        self.evaluation: Evaluation | None = None
        self.preview: QWidget | None = None
        self._protocols: dict[str, Protocol] = {}
        self._choices: list[tuple[str, str]] = []
        self._pending = False
        self._drafts_active = False
        self.lab: LabSettings | None = None
        self.lab_path: str = ""
        self._lab_problem = ""
        self._shown_settings: tuple[Any, ...] = ()
        self.read_only = False
        self.cover_mode = ""
        #: False until build_content() made the form, the plan and the cycle-2 tabs.
        self.content_ready = False
        self._thaw_user: str | None = None  # who the thaw tab's bag list was made for
        self._start = (protocol_ref, lab_path)
        self._default_protocol = protocol_ref or DEFAULT_PROTOCOL
        self.records = RecordWorkflow(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.records.cover)
        self.setCentralWidget(self.stack)
        self._recompute_timer = QTimer(self)
        self._recompute_timer.setSingleShot(True)
        self._recompute_timer.setInterval(0)
        self._recompute_timer.timeout.connect(self.recompute)
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        self._build_actions()
        self.resize(1500, 960)
        if not defer_content:
            self.build_content()

    def build_content(self) -> None:
        """Load the settings and make the form, the plan and the cycle-2 tabs (once). The window
        starting behind its signed-out cover paints first and calls this right after; anything
        else gets a whole window from the constructor."""
        if self.content_ready:
            return
        from doseprep.protocol import bundled_protocols
        from doseprep_ui.form.form import SECTIONS, RequestForm
        from doseprep_ui.form.settings_panel import SettingsPanel
        from doseprep_ui.plan.plan_view import PlanView

        protocol_ref, lab_path = self._start
        self._choices = [(ref, ref) for ref in bundled_protocols()]
        # settings.toml's lab_file and protocol are used unless the command line names others;
        # a named file that is missing or invalid is shown as the problem, never replaced by the
        # bundled example (issue 9).
        try:
            workstation = load_settings()
            lab_path = configured_lab(lab_path, workstation)
            protocol_ref = protocol_ref or workstation.protocol
        except SettingsError as exc:
            self._lab_problem = str(exc)
            lab_path = None
        self._default_protocol = protocol_ref or DEFAULT_PROTOCOL
        if not self._lab_problem:
            self._set_lab(lab_path, quiet=True)

        self.settings_panel = SettingsPanel(self)
        self.form = RequestForm(self.protocol, self, clock=self.clock, zone=self.site_zone)
        captions = {key: caption.replace("&", "") for _, rows in SECTIONS
                    for key, caption, *_ in rows}
        self.plan_view = PlanView(captions, self)
        self._build_layout()
        self.form.edited.connect(self._changed)
        self.recomputed.connect(self.records.refresh)

        if protocol_ref and protocol_ref not in dict(self._choices):
            self._add_protocol_choice(protocol_ref)
        self.form.set_protocol_choices(self._choices)
        self.content_ready = True
        self._reset_form()
        self.recompute()
        if not self.cover_mode:
            self.stack.setCurrentWidget(self.content)
        self._fit_form()
        self.clock.start()

    def site_zone(self) -> str | None:
        """The site's IANA time zone (the lab file's ``time_zone``; None without lab settings)."""
        return self.lab.time_zone if self.lab is not None else None

    def _clock_ticked(self) -> None:
        """The clock moved: every view looks at it again — "Prepared at" that follows it, the
        plan's status and the record's (a recompute), the freeze and thaw tabs."""
        if not self.content_ready:
            return
        self.form.tick()
        self.freeze_panel.follow_clock()
        self.thaw_panel.follow_clock()
        self.recompute()

    # --- layout ----------------------------------------------------------------------------

    def _build_layout(self) -> None:
        central = QWidget(self.stack)
        central.setObjectName("content")
        self.content = central
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.records.strip)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(8, 6, 8, 0)
        banner_row.addWidget(self.records.banner)
        outer.addLayout(banner_row)
        outer.addWidget(self.settings_panel)
        splitter = QSplitter(Qt.Orientation.Horizontal, central)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self.form_area = _scrolled(self.form)
        splitter.addWidget(self.form_area)
        right = QWidget(splitter)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 8, 8)
        right_layout.addWidget(self.records.panel)
        right_layout.addWidget(_scrolled(self.plan_view), 1)
        bar = QHBoxLayout()
        self.preview_button = QPushButton("Preview &worksheet…", right)
        self.preview_button.clicked.connect(self.preview_worksheet)
        self.labels_button = QPushButton("Print &labels…", right)
        self.labels_button.clicked.connect(self.print_labels)
        bar.addWidget(self.preview_button)
        bar.addWidget(self.labels_button)
        bar.addStretch(1)
        right_layout.addLayout(bar)
        self.print_note = set_role(QLabel(right), "reasons")
        self.print_note.setWordWrap(True)
        self.print_note.setTextFormat(Qt.TextFormat.PlainText)
        right_layout.addWidget(self.print_note)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 6)
        splitter.setSizes([780, 720])
        self.modes = QTabWidget(central)
        self.modes.setObjectName("modes")
        self.modes.addTab(splitter, "Fresh preparation")
        self.modes.addTab(self._build_freeze_panel(), "Cycle 2: freeze aliquots")
        self.modes.addTab(self._build_thaw_panel(), "Cycle 2: thaw a bag")
        self.modes.currentChanged.connect(self._mode_changed)
        outer.addWidget(self.modes, 1)
        self.stack.insertWidget(0, central)  # before the cover, which stays on show if it is

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")

        def action(text: str, slot, shortcut: QKeySequence | str | None = None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        self.new_action = action("&New form", self.new_form, QKeySequence.StandardKey.New)
        self.open_request_action = action("&Open request file…", self.open_request,
                                          QKeySequence.StandardKey.Open)
        menu.addSeparator()
        self.open_protocol_action = action("Open &protocol file…", self.open_protocol)
        self.open_lab_action = action("Open &lab settings file…", self.open_lab)
        self.bundled_lab_action = action("Use the &bundled lab settings",
                                         lambda: self.use_lab(None))
        menu.addSeparator()
        self.preview_action = action("Preview &worksheet…", self.preview_worksheet, "Ctrl+P")
        self.labels_action = action("Print &labels…", self.print_labels, "Ctrl+L")
        menu.addSeparator()
        self.quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.records.build_menus(self.menuBar())
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About doseprep", self)
        about.triggered.connect(self.about)
        help_menu.addAction(about)

    # --- session, cover and read-only ------------------------------------------------------

    def begin_session(self, lock_ms: int | None = None) -> bool:
        """Cover the window and ask for a log-in; then offer the draft. ``lock_ms`` replaces the
        workstation's ``lock_minutes`` (tests). True once someone logged in."""
        return self.records.begin(lock_ms)

    def show_cover(self, mode: str) -> None:
        """Hide the form and the plan behind the cover (signed-out, locked or blind)."""
        self.cover_mode = mode
        if self.preview is not None:
            self.preview.close()
        self.statusBar().clearMessage()
        self.stack.setCurrentWidget(self.records.cover)
        self._update_actions()
        self.records.refresh()

    def hide_cover(self) -> None:
        self.build_content()
        self.cover_mode = ""
        self.stack.setCurrentWidget(self.content)
        self._fit_form()  # the form was laid out behind the cover
        self._update_actions()
        self.records.refresh()

    def set_read_only(self, read_only: bool) -> None:
        """Disable (a signed record) or enable every input of the form."""
        self.read_only = read_only
        self.form.set_read_only(read_only)
        if not read_only:
            self.freeze_panel.set_read_only(False)
            self.thaw_panel.set_read_only(False)
        self._update_actions()

    # --- the form --------------------------------------------------------------------------

    def _reset_form(self) -> None:
        self.form.set_raw({"protocol": self._default_protocol,
                           "prepared_at": self.form.now_text()})

    def load_request(self, data: dict[str, Any]) -> None:
        """Put a request in its JSON shape (as the command line reads it) into the form."""
        from doseprep_ui.form.form import raw_from_request

        raw = raw_from_request(data)
        ref = raw["protocol"] or self._default_protocol
        raw["protocol"] = ref
        if ref not in dict(self._choices):
            self._add_protocol_choice(ref)
            self.form.set_protocol_choices(self._choices)
        self.form.set_raw(raw)

    def open_request(self) -> None:
        path = dialogs.open_file(self, "Open request file", "Requests (*.json)")
        if path is None or not self.may_replace_form("Replace the form with this request?"):
            return
        try:
            data = load_json(path.read_text(encoding="utf-8"), source=path.name)
            if not isinstance(data, dict):
                raise ValueError("it is not a JSON object")
        except (OSError, ValueError) as exc:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Request not opened",
                           text=f"{path.name} cannot be opened as a request.",
                           informative=f"{exc}")
            return
        self.records.detach()
        self.load_request(data.get("request", data))  # a reference case, or a bare request

    def new_form(self) -> None:
        """Clear the form (after asking, when it holds unsaved work) and delete the draft."""
        if not self.may_replace_form("Clear the form and start a new one?"):
            return
        self.records.detach()
        self._reset_form()
        self.thaw_panel.clear(blind=False)
        self._draft_timer.stop()
        drafts.clear()
        self.statusBar().showMessage("New form.", 5000)
        self.form.fields["patient.id"].editor.setFocus()

    def may_replace_form(self, question: str) -> bool:
        """True when nothing unsaved would be lost, or the user agrees to lose it."""
        if not self.records.unsaved_work():
            return True
        answer = dialogs.choose(
            self, icon=dialogs.Icon.Warning, title="Clear the form?", text=question,
            informative="What is in the form now will be lost.",
            choices=(("clear", "Clear the form"), ("cancel", "Cancel")),
            default="cancel", escape="cancel")
        return answer == "clear"

    def _changed(self) -> None:
        if self.preview is not None and self.preview.isVisible():
            # A document shows the plan it was made from; once the form changes it is stale.
            self.preview.close()
        self._pending = True
        self._recompute_timer.start()
        if self._drafts_active:
            self._draft_timer.start()

    # --- the plan --------------------------------------------------------------------------

    @property
    def current_plan(self) -> PreparationPlan | None:
        """The plan of the form as it stands now (a pending recompute is run first)."""
        self.flush()
        return self.evaluation.plan if self.evaluation is not None else None

    def flush(self) -> None:
        """Run a pending recompute now."""
        if self._pending:
            self.recompute()

    def recompute(self) -> None:
        """Check the form with the domain and show the result (or that there is none)."""
        self._pending = False
        self._recompute_timer.stop()
        self.evaluation = None
        if self.lab is None:
            self.plan_view.show_settings_problem(self._lab_problem)
            self.settings_panel.show_settings(None, None, self._lab_problem)
            self._update_actions()
            self.recomputed.emit()
            return
        try:
            from doseprep_ui.form.evaluation import evaluate

            evaluation = self.records.with_ledger_note(
                evaluate(self.form.raw(), self.protocol, self.lab))
            self.form.show_evaluation(evaluation)
            self.plan_view.show_evaluation(evaluation)
            self.evaluation = evaluation
        except Exception:
            self.form.show_unchecked()
            self.plan_view.show_failure("The details were written to the log.")
            self._update_actions()
            self.recomputed.emit()
            raise
        self._show_settings(evaluation)
        self.recomputed.emit()  # the records controller shows the record and the expiry
        self._update_actions()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_form()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_form()

    def _fit_form(self) -> None:
        """Give the form the width it needs to show every field and its reading without
        sideways scrolling (1280 px screens, issue 9), as long as the plan side keeps
        PLAN_MIN_WIDTH; on narrower windows the form scrolls."""
        if not self.content_ready:
            return
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if total <= 0:
            return
        bar = self.form_area.verticalScrollBar().sizeHint().width()
        wanted = self.form.minimumSizeHint().width() + bar + 2
        form_width = min(max(sizes[0], wanted), max(total - PLAN_MIN_WIDTH, 0))
        if form_width != sizes[0] and form_width > 0:
            self.splitter.setSizes([form_width, total - form_width])

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.content_ready:
            self.flush()
        if self._drafts_active and self.records.unsaved_work():
            answer = dialogs.choose(
                self, icon=dialogs.Icon.Warning, title="Close doseprep?",
                text="The form is not finished.",
                informative=("Keep it as a draft to restore when doseprep starts again, or "
                             "discard it?"),
                choices=(("keep", "Close and keep a draft"),
                         ("discard", "Close and discard the form"), ("cancel", "Cancel")),
                default="keep", escape="cancel")
            if answer == "cancel":
                event.ignore()
                return
            if answer == "keep":
                self.save_draft()
            else:
                drafts.clear()
        elif self._drafts_active:
            drafts.clear()
        self._draft_timer.stop()
        self._recompute_timer.stop()
        self.clock.stop()
        if self.preview is not None:
            self.preview.close()
        self.records.close()
        event.accept()

    def about(self) -> None:
        dialogs.inform(self, title="About doseprep", text=f"doseprep {__version__}",
                       informative=("Dose preparation for HMCT cell-therapy infusions.\n\n"
                                    f"Drafts and logs: {data_dir()}"))
