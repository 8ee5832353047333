"""The result side of the window: status, instruction, findings, key results and every step.

It shows one :class:`~doseprep_ui.form.evaluation.Evaluation` at a time. With a plan: a status
banner (shape, word and colour: "OK — ready to prepare", "WARNING — …", "BLOCKED — do not prepare"),
the domain's instruction in large type, the findings, the key results and the table of steps with
their formulas. Without one, *everything* from the previous plan is cleared and the banner says "NO
VALID PLAN" with the fields still to fill or correct — a stale plan is never left on screen. A
plan whose moment has passed (the window's clock against the domain's deadlines, issue 21) says
INFUSION EXPIRED or PRODUCT EXPIRED in the banner and the instruction, never "OK — ready to
prepare" or "the record is complete". All numbers arrive formatted by the domain's formatters;
nothing is computed here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from doseprep.isbt128 import din_from_scan_or_entry
from doseprep.plans.fresh import (
    Finding,
    PreparationPlan,
    Severity,
    Status,
    Step,
    dilution_recipe,
    syringe_name,
)
from doseprep.plans.fresh import instruction as plan_instruction
from doseprep.units import fixed, fmt_cells, fmt_concentration, fmt_dose, fmt_mass, fmt_volume
from doseprep_ui.form.evaluation import Evaluation
from doseprep_ui.widgets.banner import IconBanner
from doseprep_ui.widgets.icons import status_pixmap
from doseprep_ui.widgets.moments import describe_moment
from doseprep_ui.widgets.style import set_role, set_state

if TYPE_CHECKING:
    from doseprep.deadlines import Deadline

#: Banner headline and detail for each state.
#: A signed record's banner: what it is, and what it means for the person at the bench.
_SIGNED_HEADLINES = {
    "prepared": ("PREPARED", "Signed by the preparer; waits for a second person's blind "
                             "verification."),
    "verified": ("VERIFIED", "Prepared and verified; waits for release."),
    "released": ("RELEASED", "Prepared, verified and released: the record is complete."),
}

HEADLINES = {
    "ok": "OK — ready to prepare",
    "warning": "WARNING — read the findings before preparing",
    "blocked": "BLOCKED — do not prepare",
    "invalid": "NO VALID PLAN — complete or correct the form",
    "failed": "NO VALID PLAN — doseprep could not compute this form",
}
_STATE_OF_STATUS = {Status.OK: "ok", Status.WARNING: "warning", Status.BLOCKED: "blocked"}
_SEVERITY = {
    Severity.BLOCK: ("blocked", "BLOCKS PREPARATION"),
    Severity.WARNING: ("warning", "WARNING"),
    Severity.INFO: ("info", "NOTE"),
}
#: Key results, in the order shown: (key, caption).
KEY_RESULTS = (
    ("draw", "Volume to draw"),
    ("syringe", "Syringe"),
    ("dilution", "Dilution"),
    ("diluent", "Diluent to add"),
    ("final", "Final volume"),
    ("target", "Target dose"),
    ("delivered", "Delivered dose"),
    ("needed", "Volume needed"),
    ("available", "Product volume"),
    ("max_dose", "Largest achievable dose"),
    ("concentration", "Viable CD3+ in product"),
    ("final_concentration", "Final concentration"),
    ("remaining", "Product left in the bag"),
    ("expires", "Infusion expires"),
)
STEP_COLUMNS = ("Step", "Formula", "Values substituted", "Result")


def key_results(p: PreparationPlan) -> dict[str, str]:
    """The key results of a plan as text, each formatted by the domain's formatters."""
    request = p.request
    out = {
        "target": (f"{request.order.dose_level}: {fmt_dose(p.target_dose)} × "
                   f"{fmt_mass(request.patient.weight.entered)} = "
                   f"{fmt_cells(p.target_cells, 'viable CD3+ cells')}"),
        "concentration": fmt_concentration(p.viable_cd3_concentration, "viable CD3+ cells/mL",
                                           digits=4),
    }
    if p.insufficient:
        out.update({
            "needed": fmt_volume(p.exact_volume, 2),
            "available": f"{fmt_volume(p.product_volume)} (less {fmt_volume(p.lab.qc_reserve)} "
                         "QC reserve)",
            "max_dose": fmt_dose(p.max_achievable_dose),
        })
        return out
    assert p.syringe is not None and p.expires_at is not None
    what = "product" if p.dilution_factor == 1 else f"the 1 in {p.dilution_factor} dilution"
    deviation = fixed(p.deviation_percent, 2)
    deviation = deviation if deviation.startswith("-") else f"+{deviation}"
    syringe = f"{syringe_name(p.syringe)}, graduated in {fmt_volume(p.syringe.graduation)}"
    if p.syringe_fills and p.syringe_fills > 1:
        syringe += f" — fill it {p.syringe_fills} times"
    out.update({
        "draw": f"{fmt_volume(p.withdraw_volume)} of {what}",
        "syringe": syringe,
        "dilution": ("none" if p.dilution_factor == 1 else
                     f"1 in {p.dilution_factor}: {dilution_recipe(p.dilution_steps)}"),
        "diluent": fmt_volume(p.diluent_volume),
        "final": fmt_volume(p.final_volume),
        "delivered": (f"{fmt_dose(p.delivered_dose, digits=4)} ({deviation} % from target; "
                      f"tolerance ± {p.protocol.tolerance_percent:g} %)"),
        "final_concentration": fmt_concentration(p.final_concentration,
                                                 "viable CD3+ cells/mL", digits=4),
        "remaining": fmt_volume(p.remaining_product),
        "expires": describe_moment(p.expires_at),
    })
    return out


def summary(p: PreparationPlan) -> str:
    """Who and what the plan is for, to check against the order and the bag."""
    r = p.request
    return (f"For {r.patient.name} (MRN {r.patient.id}), {fmt_mass(r.patient.weight.entered)} — "
            f"{r.order.dose_level}, cycle {r.order.cycle}, infusion {r.order.infusion} — "
            f"DIN {din_from_scan_or_entry(r.product.din)[0].eye_readable}")


class Banner(IconBanner):
    """A status line with a shape icon, a headline in words and a detail sentence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, roles=("banner", "banner-text", "banner-detail"), icon_size=48,
                         margins=(12, 8, 12, 8), spacing=None, state="invalid",
                         plain_headline=False)
        self.state = ""

    def show_state(self, state: str, headline: str, detail: str) -> None:
        icon_state = "invalid" if state == "failed" else state
        if state != self.state:
            self.state = state
            self.icon.setPixmap(status_pixmap(icon_state, 48))
            for widget in (self, self.headline, self.detail):
                set_state(widget, icon_state)
        self.headline.setText(headline)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        self.setAccessibleName(f"Status: {headline}")
        self.setAccessibleDescription(detail)


class PlanView(QWidget):
    """Everything the technician reads about the plan (or the lack of one)."""

    def __init__(self, captions: Mapping[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plan-view")
        self._captions = dict(captions)
        self.plan: PreparationPlan | None = None
        self._record: tuple[str | None, str | None] = (None, None)
        #: What has expired of the plan shown, at the window clock's last tick (None: nothing).
        self.expiry: Deadline | None = None
        layout = QVBoxLayout(self)
        layout.setSpacing(10)

        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.instruction = set_role(QLabel(self), "instruction", "invalid")
        self.instruction.setWordWrap(True)
        self.instruction.setTextFormat(Qt.TextFormat.PlainText)
        self.instruction.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.instruction.setAccessibleName("Instruction")
        layout.addWidget(self.instruction)

        self.findings_box = QWidget(self)
        self.findings_layout = QVBoxLayout(self.findings_box)
        self.findings_layout.setContentsMargins(0, 0, 0, 0)
        self.findings_layout.setSpacing(6)
        layout.addWidget(self.findings_box)
        self._shown_findings: tuple[Finding, ...] | None = None

        self.results_heading = set_role(QLabel("Key results", self), "heading")
        layout.addWidget(self.results_heading)
        results = QWidget(self)
        grid = QGridLayout(results)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(16)
        grid.setColumnStretch(1, 1)
        self.result_captions: dict[str, QLabel] = {}
        self.result_values: dict[str, QLabel] = {}
        for row, (key, caption) in enumerate(KEY_RESULTS):
            name = set_role(QLabel(caption, results), "key")
            value = set_role(QLabel(results), "draw" if key == "draw" else "value")
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(caption)
            grid.addWidget(name, row, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
            self.result_captions[key] = name
            self.result_values[key] = value
        self.results = results
        layout.addWidget(results)

        self.steps_heading = set_role(QLabel("Calculation, step by step", self), "heading")
        layout.addWidget(self.steps_heading)
        self.steps = QTableWidget(0, len(STEP_COLUMNS), self)
        self.steps.setObjectName("steps")
        self.steps.setHorizontalHeaderLabels(STEP_COLUMNS)
        self.steps.setWordWrap(True)
        self.steps.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.steps.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.steps.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.steps.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.steps.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.steps.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        header = self.steps.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.steps.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.steps.viewport().installEventFilter(self)
        self.steps.setAccessibleName("Calculation steps")
        layout.addWidget(self.steps)
        layout.addStretch(1)
        self._shown_steps: tuple[Step, ...] | None = None
        self.show_evaluation(None)

    # --- what is shown ---------------------------------------------------------------------

    @property
    def state(self) -> str:
        """The banner's state: ok, warning, blocked, invalid or failed."""
        return self.banner.state

    def show_evaluation(self, evaluation: Evaluation | None) -> None:
        """Show the plan of ``evaluation``, or that there is none (never a stale one)."""
        if evaluation is None or evaluation.plan is None:
            self._clear()
            self.banner.show_state("invalid", HEADLINES["invalid"],
                                   self._problems(evaluation) if evaluation else "")
            return
        self._show_plan(evaluation.plan)

    def show_settings_problem(self, problem: str) -> None:
        """No lab settings can be used (a missing or invalid file): nothing is computed."""
        self._clear()
        self.banner.show_state("invalid", "Lab settings cannot be used — nothing is computed",
                               f"{problem} Open a lab file (File menu) or correct "
                               "settings.toml; the example lab is never used in its place.")

    def show_failure(self, where: str) -> None:
        """The calculation failed unexpectedly: clear everything and say so."""
        self._clear()
        self.banner.show_state("failed", HEADLINES["failed"],
                               f"This is a fault in doseprep, not in what you typed. {where}")

    def _problems(self, evaluation: Evaluation) -> str:
        wrong = [f"{self._captions.get(k, k)}: {m}" for k, m in evaluation.wrong.items()]
        missing = [self._captions.get(k, k) for k in evaluation.raw if k in evaluation.missing]
        lines = []
        if wrong:
            lines += ["To correct:", *(f"• {w}" for w in wrong)]
        if missing:
            lines.append("Still to fill: " + ", ".join(missing) + ".")
        return "\n".join(lines)

    def _clear(self) -> None:
        self.plan = None
        self.summary.clear()
        self.summary.hide()
        self.instruction.setText("No instruction: there is no valid plan for the form as it "
                                 "stands. Nothing may be prepared from this screen.")
        set_state(self.instruction, "invalid")
        self._set_findings(())
        for key in self.result_values:
            self.result_values[key].clear()
        self.results_heading.hide()
        self.results.hide()
        self.steps_heading.hide()
        self._set_steps(())
        self.steps.hide()

    def set_record(self, ref: str | None, state: str | None,
                   expiry: Deadline | None = None) -> None:
        """The saved record the plan belongs to (a signed one shows its state in the banner
        instead of "OK — ready to prepare"; issue 9), and what has expired of the plan at the
        window clock's instant (``expiry``, from the domain: then the banner and the instruction
        say so, whatever the plan's status; issue 21)."""
        if (ref, state) == self._record and expiry == self.expiry:
            return
        self._record = (ref, state)
        self.expiry = expiry
        if self.plan is not None:
            self._show_plan(self.plan)

    def _signed(self) -> bool:
        ref, record_state = self._record
        return bool(ref) and record_state in _SIGNED_HEADLINES

    def _show_banner(self, p: PreparationPlan) -> None:
        ref, record_state = self._record
        if self.expiry is not None:
            what = (f"{ref} {record_state.upper()}: do not infuse" if self._signed()
                    else "do not prepare")
            self.banner.show_state("blocked", f"{self.expiry.headline} — {what}",
                                   self.expiry.message)
            return
        state = _STATE_OF_STATUS[p.status]
        blocking = [f.code for f in p.findings if f.severity is Severity.BLOCK]
        detail = {
            "ok": "Follow the instruction below and check each step on the worksheet.",
            "warning": "Read every finding below; confirm with the ordering physician where "
                       "it says so.",
            "blocked": f"Blocked by {', '.join(blocking)}. See the findings below.",
        }[state]
        if ref and record_state in _SIGNED_HEADLINES:
            headline, meaning = _SIGNED_HEADLINES[record_state]
            self.banner.show_state(state, f"{headline} — {ref}",
                                   f"{meaning} {detail if state != 'ok' else ''}".strip())
            return
        self.banner.show_state(state, HEADLINES[state], detail)

    def _show_plan(self, p: PreparationPlan) -> None:
        self.plan = p
        self._show_banner(p)
        self.summary.setText(summary(p))
        self.summary.show()
        expiry = self.expiry
        stopped = p.blocked or expiry is not None
        if expiry is None:
            self.instruction.setText(plan_instruction(p))
        else:  # the draw volume in large type is what a tired eye acts on: not after expiry
            verb = "INFUSE" if self._signed() else "PREPARE"
            self.instruction.setText(f"DO NOT {verb} — {expiry.headline} at {expiry.when}.")
        set_state(self.instruction, "blocked" if stopped else "ok")
        self._set_findings(p.findings)
        texts = key_results(p)
        if stopped and "draw" in texts and not self._signed():
            texts["draw"] = "none — DO NOT PREPARE"
        if expiry is not None and "expires" in texts:
            texts["expires"] += f" — {expiry.headline}"
        for key, value in self.result_values.items():
            present = key in texts
            value.setText(texts.get(key, ""))
            value.setVisible(present)
            self.result_captions[key].setVisible(present)
        set_state(self.result_values["draw"], "blocked" if stopped else "ok")
        self.results_heading.show()
        self.results.show()
        self.steps_heading.show()
        self.steps.show()
        self._set_steps(p.steps)

    def _set_findings(self, findings: tuple[Finding, ...]) -> None:
        if findings == self._shown_findings:
            return
        self._shown_findings = findings
        while self.findings_layout.count():
            item = self.findings_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for finding in findings:
            self.findings_layout.addWidget(self._finding_widget(finding))
        self.findings_box.setVisible(bool(findings))

    def _finding_widget(self, finding: Finding) -> QFrame:
        state, word = _SEVERITY[finding.severity]
        frame = set_role(QFrame(self.findings_box), "finding", state)
        frame.setObjectName(f"finding-{finding.code}")
        row = QHBoxLayout(frame)
        row.setContentsMargins(8, 6, 8, 6)
        icon = QLabel(frame)
        icon.setPixmap(status_pixmap(state, 28))
        icon.setFixedSize(28, 28)
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        text = set_role(QLabel(f"{word} — {finding.code}\n{finding.message}", frame),
                        "finding-text")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(text, 1)
        frame.setAccessibleName(f"{word}: {finding.code}")
        frame.setAccessibleDescription(finding.message)
        return frame

    def _set_steps(self, steps: tuple[Step, ...]) -> None:
        if steps == self._shown_steps:
            return
        self._shown_steps = steps
        table = self.steps
        table.setRowCount(len(steps))
        for row, step in enumerate(steps):
            for column, text in enumerate((step.name, step.formula, step.substituted,
                                           step.result)):
                item = table.item(row, column)
                if item is None:
                    item = QTableWidgetItem(text)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                    if column in (0, 3):
                        font = item.font()
                        font.setBold(True)
                        item.setFont(font)
                    table.setItem(row, column, item)
                elif item.text() != text:
                    item.setText(text)
        self._fit_steps()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.steps.viewport() and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self._fit_steps)  # after the columns took their new widths
        return super().eventFilter(watched, event)

    def _fit_steps(self) -> None:
        """Size the table to its rows, so the page scrolls as one and nothing hides."""
        table = self.steps
        table.resizeRowsToContents()
        height = (table.verticalHeader().length() + table.horizontalHeader().height()
                  + 2 * table.frameWidth())
        table.setFixedHeight(height)
