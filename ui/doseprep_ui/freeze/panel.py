"""The window's freeze mode (cycle 2): the product counted once, a list of aliquots (cycle,
infusion, dose level), and the freeze plan beside them, recomputed on every keystroke.

The panel builds the freeze request in its JSON shape and hands it to
:func:`doseprep.workflow.compute_plan` (the same use case as ``doseprep freeze``); it computes
nothing itself. Every wrong field is listed by name while the plan is withheld; a computed plan
shows its status, one row per bag (syringe instruction, bag and fill, DMSO, expected post-thaw
dose), the product left, the findings and every step. "Save as freeze record" saves it as a draft
record for the signature workflow (signed, like any record, from the command line or the
history). At every tick of the window's clock the status says whether the product has passed its
age (a plan not saved yet) or the bags their frozen expiry: PRODUCT EXPIRED, never OK.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from doseprep.errors import DoseprepError, InputError
from doseprep.resources import DEFAULT_PROTOCOL
from doseprep.units import CELLS_PER_KG, Q_, fmt_dose
from doseprep_ui.freeze.common import (
    as_problems,
    beside,
    field_group,
    findings_text,
    load_fields,
    next_turn_timer,
    problems_text,
    show_steps,
    steps_table,
    typed_request,
    wrapped_label,
)
from doseprep_ui.widgets.clock import WindowClock
from doseprep_ui.widgets.style import set_role, set_state

#: (key in the request, caption, example placeholder)
PATIENT_FIELDS = (("patient.id", "MRN", "MRN-000123"), ("patient.name", "Name", "DOE, JANE"),
                  ("patient.birth_date", "Date of birth", "1980-02-29"),
                  ("patient.weight", "Weight", "70 kg"))
PRODUCT_FIELDS = (("product.din", "DIN", "scan the DIN, or type it with its check character"),
                  ("product.collected_at", "Collected at", "2026-11-22T08:30:00-08:00"),
                  ("product.volume", "Volume", "200 mL"),
                  ("product.wbc", "WBC (analyzer)", "100 x10^3/uL"),
                  ("product.sample_dilution", "Sample dilution", "1"),
                  ("product.cd3_percent", "CD3+ %", "40"),
                  ("product.viability_percent", "Viability %", "98"),
                  ("product.abo_rh", "Donor ABO/Rh", "A POS"),
                  ("frozen_at", "Frozen at", "2026-11-22T14:00:00-08:00"))
COLUMNS = ("Bag", "Planned", "Draw", "Bag and fill", "DMSO", "Expected after thaw")


class FreezePanel(QWidget):
    """Freeze mode. ``lab_path``: a callable giving the lab file in use (None: the default)."""

    #: Emitted after every recompute.
    recomputed = Signal()

    def __init__(self, lab_path: Any = None, parent: QWidget | None = None, *,
                 clock: WindowClock | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("freeze-panel")
        self._lab_path = lab_path or (lambda: None)
        self.clock = clock or WindowClock(parent=self)
        self.plan: dict[str, Any] | None = None
        self.plan_object: Any = None
        #: The saved freeze record shown (None: a plan being typed).
        self.shown_record: Any = None
        #: What has expired of the plan shown at the clock's last look (a Deadline, or None).
        self.expiry: Any = None
        self.problems: tuple[InputError, ...] = ()
        self.fields: dict[str, QLineEdit] = {}
        self._timer = next_turn_timer(self, self.recompute)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        for title, rows in (("Patient", PATIENT_FIELDS), ("Product and freezing", PRODUCT_FIELDS)):
            field_group(left, title, rows, "freeze", self.fields, self.changed)
        box = QGroupBox("Aliquots to freeze (one per planned infusion)", left)
        box_layout = QVBoxLayout(box)
        self.aliquot_table = QTableWidget(0, 3, box)
        self.aliquot_table.setObjectName("freeze-aliquots")
        self.aliquot_table.setHorizontalHeaderLabels(("Cycle", "Infusion", "Dose level"))
        self.aliquot_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.aliquot_table.verticalHeader().setVisible(False)
        self.aliquot_table.setMinimumHeight(120)
        box_layout.addWidget(self.aliquot_table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add aliquot", box)
        self.add_button.clicked.connect(lambda: self.add_aliquot(2, 1, "DL1"))
        self.remove_button = QPushButton("&Remove last", box)
        self.remove_button.clicked.connect(self.remove_aliquot)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        box_layout.addLayout(buttons)
        left_layout.addWidget(box)
        left_layout.addStretch(1)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        self.status = set_role(QLabel("Enter the product and the aliquots.", right),
                               "instruction", "invalid")
        self.status.setWordWrap(True)
        right_layout.addWidget(self.status)
        self.problem_label = wrapped_label(right, "reasons")
        self.problem_label.hide()
        right_layout.addWidget(self.problem_label)
        self.result_table = QTableWidget(0, len(COLUMNS), right)
        self.result_table.setObjectName("freeze-results")
        self.result_table.setHorizontalHeaderLabels(COLUMNS)
        self.result_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.result_table.verticalHeader().setVisible(False)
        self.result_table.setWordWrap(True)
        header = self.result_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for column in (0, 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        right_layout.addWidget(self.result_table, 2)
        self.summary = wrapped_label(right, "finding-text")
        right_layout.addWidget(self.summary)
        self.findings = wrapped_label(right, "finding-text")
        right_layout.addWidget(self.findings)
        self.steps = steps_table(right, "freeze-steps")
        right_layout.addWidget(self.steps, 2)
        bar = QHBoxLayout()
        self.save_button = QPushButton("&Save as freeze record", right)
        self.save_button.setEnabled(False)
        bar.addStretch(1)
        bar.addWidget(self.save_button)
        right_layout.addLayout(bar)
        beside(self, left, right, (4, 7))

    # --- input ---------------------------------------------------------------------------

    def add_aliquot(self, cycle: int, infusion: int, level: str) -> None:
        row = self.aliquot_table.rowCount()
        self.aliquot_table.insertRow(row)
        for column, (low, high, value) in enumerate(((1, 9, cycle), (1, 9, infusion))):
            spin = QSpinBox(self.aliquot_table)
            spin.setRange(low, high)
            spin.setValue(value)
            spin.valueChanged.connect(self.changed)
            self.aliquot_table.setCellWidget(row, column, spin)
        combo = QComboBox(self.aliquot_table)
        combo.setEditable(True)
        combo.addItems([f"DL{n}" for n in range(1, 7)])
        combo.setCurrentText(level)
        combo.currentTextChanged.connect(self.changed)
        self.aliquot_table.setCellWidget(row, 2, combo)
        self.changed()

    def remove_aliquot(self) -> None:
        if self.aliquot_table.rowCount():
            self.aliquot_table.removeRow(self.aliquot_table.rowCount() - 1)
            self.changed()

    def set_read_only(self, read_only: bool) -> None:
        """A signed record is shown, not edited; a new plan can be typed again."""
        for edit in self.fields.values():
            edit.setReadOnly(read_only)
        self.aliquot_table.setEnabled(not read_only)
        self.add_button.setEnabled(not read_only)
        self.remove_button.setEnabled(not read_only)
        self.save_button.setVisible(not read_only)
        if not read_only:
            self.shown_record = None

    def clear(self) -> None:
        """Nothing on show (a blind verification: the verifier must not see the values)."""
        self.shown_record = None
        for edit in self.fields.values():
            edit.clear()
        self.aliquot_table.setRowCount(0)
        self.recompute()

    def load(self, request: dict[str, Any]) -> None:
        """Put a freeze request (JSON shape) into the panel."""
        load_fields(self.fields, request)
        self.aliquot_table.setRowCount(0)
        for aliquot in request.get("aliquots", []):
            self.add_aliquot(int(aliquot.get("cycle", 2)), int(aliquot.get("infusion", 1)),
                             str(aliquot.get("dose_level", "")))
        self.changed()

    def request(self) -> dict[str, Any]:
        """The freeze request in its JSON shape, as typed."""
        out = typed_request(self.fields, {"kind": "freeze", "protocol": DEFAULT_PROTOCOL,
                                          "patient": {}, "product": {}})
        out["aliquots"] = []
        for row in range(self.aliquot_table.rowCount()):
            cycle, infusion, level = (self.aliquot_table.cellWidget(row, c) for c in range(3))
            out["aliquots"].append({"cycle": cycle.value(), "infusion": infusion.value(),
                                    "dose_level": level.currentText().strip()})
        return out

    def changed(self, *_: Any) -> None:
        self._timer.start()

    # --- the plan ------------------------------------------------------------------------

    def recompute(self) -> None:
        from doseprep import workflow

        self._timer.stop()
        try:
            plan = workflow.compute_plan(self.request(), lab=self._lab_path(), keyboard=True)
        except DoseprepError as exc:
            self._show_problems(as_problems(exc, "settings"))
        else:
            self._show_plan(plan, workflow.plan_to_json(plan))
        self.recomputed.emit()

    def follow_clock(self) -> None:
        """Look at the clock: has the plan shown expired (the domain says)?"""
        from doseprep.deadlines import expired
        from doseprep.workflow import plan_deadlines, record_deadlines

        plan = self.plan_object
        if plan is None:
            found: tuple[Any, ...] = ()
        elif self.shown_record is not None:  # what the record stores; its bags may be frozen
            found = record_deadlines(self.shown_record, plan.lab.time_zone)
        else:
            found = plan_deadlines(plan)
        self.clock.watch("freeze tab", (d.at for d in found))
        self.expiry = expired(found, self.clock.now())
        self._show_status()

    def _show_status(self) -> None:
        if self.plan is None:
            return
        expiry = self.expiry
        if expiry is not None:
            self.status.setText(f"{expiry.headline} — {expiry.message}")
            set_state(self.status, "blocked")
            return
        status = self.plan["status"]
        self.status.setText({"ok": "FREEZE PLAN OK", "warning": "FREEZE PLAN — CHECK THE WARNINGS",
                             "blocked": "DO NOT FREEZE — blocked; see the findings"}[status])
        set_state(self.status, "blocked" if status == "blocked" else "")

    def _show_problems(self, errors: tuple[InputError, ...]) -> None:
        self.plan = self.plan_object = self.expiry = None
        self.problems = errors
        self.save_button.setEnabled(False)
        self.status.setText("No plan yet: correct the fields listed.")
        set_state(self.status, "invalid")
        self.problem_label.setText(problems_text(errors))
        self.problem_label.show()
        for key, edit in self.fields.items():
            edit.setToolTip(next((e.message for e in errors if e.field == key), ""))
        self.result_table.setRowCount(0)
        self.steps.setRowCount(0)
        self.summary.clear()
        self.findings.clear()

    def _show_plan(self, plan: Any, data: dict[str, Any]) -> None:
        self.plan, self.plan_object, self.problems = data, plan, ()
        self.problem_label.hide()
        for edit in self.fields.values():
            edit.setToolTip("")
        self.follow_clock()
        self.save_button.setEnabled(True)
        rows = data["aliquots"]
        self.result_table.setRowCount(len(rows))
        for index, a in enumerate(rows):
            draw = (f"{a['withdraw_volume_mL']:.2f} mL, {a['syringe_mL']:g} mL syringe"
                    + ("" if a["dilution_factor"] == 1 else
                       f" (1 in {a['dilution_factor']:g} dilution)"))
            fill = ("no bag takes it" if a["bag"] is None else
                    f"{a['bag']}: {a['final_volume_mL']:g} mL = carrier "
                    f"{a['carrier_volume_mL']:.2f} + medium {a['freezing_medium_volume_mL']:.2f}")
            dmso = ("—" if a["dmso_g"] is None else
                    f"{a['dmso_g']:.2f} g ({a['dmso_g_per_kg']:.3f} g/kg)")
            texts = (a["division"], f"C{a['cycle']} I{a['infusion']} {a['dose_level']}", draw,
                     fill, dmso, f"{fmt_dose(Q_(a['expected_dose_per_kg'], CELLS_PER_KG))} "
                                 f"({a['deviation_percent']:+.1f} %)")
            for column, text in enumerate(texts):
                self.result_table.setItem(index, column, QTableWidgetItem(text))
        self.result_table.resizeRowsToContents()
        self.summary.setText(f"Product used {data['product_used_mL']:.2f} mL · remaining "
                             f"{data['remaining_product_mL']:.2f} mL · frozen expiry "
                             f"{data['frozen_expires_at'][:16].replace('T', ' ')} · "
                             f"{data['storage']}")
        self.findings.setText(findings_text(data["findings"]))
        show_steps(self.steps, data["steps"])
