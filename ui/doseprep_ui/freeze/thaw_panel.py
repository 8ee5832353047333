"""The window's thaw mode (cycle 2): a frozen bag chosen from the freezer inventory (its label
scanned, its reference typed, or picked from the patient's bags), today's weight and, when
counted, the post-thaw counts; the thaw plan beside them on every keystroke.

The bag's data are never typed here: :func:`doseprep.workflow.thaw_request_from_store` fills
them from the bag's freeze record after the store's refusals (a bag already thawed, of another
patient, past its frozen expiry, a label that is not the bag's), and
:func:`doseprep.workflow.compute_plan` computes the plan (``doseprep thaw --aliquot`` does the
same). A refusal is shown under the bag, naming it; nothing typed is lost. A saved thaw record is
shown from what was signed. At every tick of the window's clock the status is checked again (the
domain decides): a bag past its infuse-by time, or past its frozen expiry before the thaw, says
INFUSION EXPIRED / PRODUCT EXPIRED, never OK; a bag already infused or discarded says so in large
type and nothing is offered for it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
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

BAG_FIELD = "bag"
#: (key in the request, caption, example placeholder)
BAG_FIELDS = (("bag.scan_din", "Scan: DIN", "scan the bag's DIN barcode"),
              ("bag.scan_product", "Scan: product code", "scan the bag's product code"),
              ("bag.ref", "or bag reference", "record/version:division, or pick it below"))
PATIENT_FIELDS = (("patient.id", "MRN", "MRN-000123"), ("patient.name", "Name", "DOE, JANE"),
                  ("patient.birth_date", "Date of birth", "1980-02-29"),
                  ("patient.weight", "Weight today", "70 kg"),
                  ("thawed_at", "Thawed at", "2026-12-20 09:00"))
POST_THAW_FIELDS = (("post_thaw.wbc", "WBC (analyzer)", "43 x10^3/uL"),
                    ("post_thaw.sample_dilution", "Sample dilution", "1"),
                    ("post_thaw.cd3_percent", "CD3+ %", "40"),
                    ("post_thaw.viability_percent", "Viability %", "85"),
                    ("post_thaw.sample_volume", "Sample volume", "1 mL"))
BAG_COLUMNS = ("Bag", "State", "Planned", "Frozen expiry", "Where / what happened")


class ThawPanel(QWidget):
    """Thaw mode. ``lab_path``: a callable giving the lab file in use (None: the default);
    ``store``: a callable giving the record store of the person logged in (None: nobody is)."""

    #: Emitted after every recompute.
    recomputed = Signal()
    #: A bag of the patient was chosen in the list (its reference).
    bag_chosen = Signal(str)

    def __init__(self, lab_path: Any = None, store: Any = None,
                 parent: QWidget | None = None, *, clock: WindowClock | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thaw-panel")
        self._lab_path = lab_path or (lambda: None)
        self._store = store or (lambda: None)
        self.clock = clock or WindowClock(parent=self)
        #: What has expired of the plan shown at the clock's last look (a Deadline, or None).
        self.expiry: Any = None
        #: The inventory entry of the shown record's bag once it is infused or discarded.
        self.final_bag: Any = None
        self.plan: dict[str, Any] | None = None
        self.plan_object: Any = None
        self.request_data: dict[str, Any] | None = None
        self.problems: tuple[InputError, ...] = ()
        self.fields: dict[str, QLineEdit] = {}
        self.bags: tuple[Any, ...] = ()
        self.shown_record: Any = None
        self._timer = next_turn_timer(self, self.recompute)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        bag_form = field_group(left, "Bag from the freezer", BAG_FIELDS, "thaw", self.fields,
                               self.changed)
        self.bag_note = wrapped_label(left, "note")
        self.bag_note.setObjectName("thaw-bag-note")
        bag_form.addRow(self.bag_note)
        for title, rows in (("Patient and thaw", PATIENT_FIELDS),
                            ("Post-thaw counts (when counted)", POST_THAW_FIELDS)):
            field_group(left, title, rows, "thaw", self.fields, self.changed)
        self.fields["patient.id"].editingFinished.connect(self.refresh_bags)
        box = QGroupBox("This patient's bags", left)
        box_layout = QVBoxLayout(box)
        self.bag_table = QTableWidget(0, len(BAG_COLUMNS), box)
        self.bag_table.setObjectName("thaw-bags")
        self.bag_table.setHorizontalHeaderLabels(BAG_COLUMNS)
        self.bag_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.bag_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.bag_table.verticalHeader().setVisible(False)
        self.bag_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.bag_table.horizontalHeader().setStretchLastSection(True)
        self.bag_table.setMinimumHeight(110)
        self.bag_table.cellDoubleClicked.connect(lambda row, _column: self.choose_bag(row))
        box_layout.addWidget(self.bag_table)
        self.choose_button = QPushButton("&Use the selected bag", box)
        self.choose_button.clicked.connect(lambda: self.choose_bag(self.bag_table.currentRow()))
        box_layout.addWidget(self.choose_button)
        left_layout.addWidget(box)
        left_layout.addStretch(1)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        self.status = set_role(QLabel("Log in, then scan the bag's label.", right),
                               "instruction", "invalid")
        self.status.setObjectName("thaw-status")
        self.status.setWordWrap(True)
        right_layout.addWidget(self.status)
        self.problem_label = wrapped_label(right, "reasons")
        self.problem_label.setObjectName("thaw-problems")
        self.problem_label.hide()
        right_layout.addWidget(self.problem_label)
        self.summary = wrapped_label(right, "finding-text")
        self.summary.setObjectName("thaw-summary")
        right_layout.addWidget(self.summary)
        self.findings = wrapped_label(right, "finding-text")
        right_layout.addWidget(self.findings)
        self.steps = steps_table(right, "thaw-steps")
        right_layout.addWidget(self.steps, 2)
        bar = QHBoxLayout()
        self.discard_button = QPushButton("&Discard the bag…", right)
        self.infuse_button = QPushButton("Record the &infusion…", right)
        self.save_button = QPushButton("&Save as thaw record", right)
        for button in (self.discard_button, self.infuse_button, self.save_button):
            button.setEnabled(False)
        self.discard_button.setToolTip("Open a thaw record, or choose a bag, to discard it.")
        self.infuse_button.setToolTip("A bag is infused once its thaw record is released.")
        bar.addWidget(self.discard_button)
        bar.addStretch(1)
        bar.addWidget(self.infuse_button)
        bar.addWidget(self.save_button)
        right_layout.addLayout(bar)
        splitter = beside(self, left, right, (4, 6))
        splitter.setSizes([540, 820])  # a scanned DIN (16 characters) whole in its field

    # --- input ---------------------------------------------------------------------------

    def set_read_only(self, read_only: bool) -> None:
        """A saved thaw record is shown, not edited; a new thaw can be typed again."""
        for edit in self.fields.values():
            edit.setReadOnly(read_only)
        self.bag_table.setEnabled(not read_only)
        self.choose_button.setEnabled(not read_only)
        self.save_button.setVisible(not read_only)
        if not read_only and self.shown_record is not None:
            self.shown_record = None
            self.changed()

    def clear(self, *, blind: bool = True) -> None:
        """Nothing on show: a blind verification (the verifier must not see the values), or a
        new thaw (``blind=False``: nothing of the last one is kept to be signed by mistake)."""
        self.shown_record = None
        for edit in self.fields.values():
            edit.clear()
        self.bags = ()
        self.bag_table.setRowCount(0)
        self.bag_note.clear()
        if blind:
            self._show_problems((), "Blind verification: the values are shown after your "
                                    "re-entry.")
            self.recomputed.emit()
        else:
            self.recompute()

    def changed(self, *_: Any) -> None:
        if self.shown_record is None:
            self._timer.start()

    def load(self, request: dict[str, Any]) -> None:
        """Put a thaw request (JSON shape) into the fields; the bag by its reference."""
        load_fields(self.fields, {**request, "bag": {"ref": request.get("aliquot_ref")}})
        self.refresh_bags()
        self.changed()

    def request(self) -> dict[str, Any]:
        """The thaw request in its JSON shape, as typed (the bag's data left to the store)."""
        return typed_request(self.fields, {"kind": "thaw", "protocol": DEFAULT_PROTOCOL,
                                           "patient": {}}, skip=("bag",))

    def bag(self) -> dict[str, Any]:
        """How the bag is named: ``{"aliquot": ref}`` or ``{"scan": (din, product code)}``."""
        ref = self.fields["bag.ref"].text().strip()
        din = self.fields["bag.scan_din"].text().strip()
        product = self.fields["bag.scan_product"].text().strip()
        if din or product:
            if not (din and product):
                raise InputError(BAG_FIELD, "Scan both barcodes of the bag label: the DIN and "
                                            "the product code (which carries the division).")
            if ref:
                raise InputError(BAG_FIELD, "Scan the label or type the bag reference, not "
                                            "both.")
            return {"scan": (din, product)}
        if not ref:
            raise InputError(BAG_FIELD, "Scan the bag's label (DIN and product code), or choose "
                                        "the bag from the patient's bags.")
        return {"aliquot": ref}

    def refresh_bags(self) -> None:
        """List the patient's bags (every state) from the inventory."""
        from doseprep.store.inventory import list_aliquots

        store, mrn = self._store(), self.fields["patient.id"].text().strip()
        try:
            self.bags = list_aliquots(store, mrn=mrn) if store is not None and mrn else ()
        except DoseprepError as exc:
            self.bags = ()
            self.bag_note.setText(str(exc))
        self.bag_table.setRowCount(len(self.bags))
        for row, bag in enumerate(self.bags):
            where = {"thawed": f"thaw {bag.thaw_record}", "infused": f"infused ({bag.thaw_record})",
                     "discarded": f"discarded: {bag.reason}"}.get(
                bag.state.value, bag.location or "location not recorded")
            texts = (bag.ref, bag.state.value, f"C{bag.cycle} I{bag.infusion} {bag.dose_level}",
                     bag.frozen_expires_at[:10], where)
            for column, text in enumerate(texts):
                self.bag_table.setItem(row, column, QTableWidgetItem(text))

    def choose_bag(self, row: int) -> None:
        if self.shown_record is not None or not 0 <= row < len(self.bags):
            return
        ref = self.bags[row].ref
        self.fields["bag.ref"].setText(ref)
        self.fields["bag.scan_din"].clear()
        self.fields["bag.scan_product"].clear()
        self.bag_chosen.emit(ref)
        self.changed()

    # --- the plan ------------------------------------------------------------------------

    def recompute(self) -> None:
        from doseprep import workflow

        self._timer.stop()
        if self.shown_record is not None:
            return
        store = self._store()
        try:
            if store is None:
                raise InputError(BAG_FIELD, "Log in: the bag is taken from the freezer "
                                            "inventory of the record database.")
            data = workflow.thaw_request_from_store(store, self.request(), **self.bag())
            plan = workflow.compute_plan(data, lab=self._lab_path(), store=store)
        except DoseprepError as exc:  # a wrong field, the store's refusal of this bag, settings
            self._show_problems(as_problems(exc, BAG_FIELD))
        else:
            self.request_data = data
            self._show_plan(plan, workflow.plan_to_json(plan))
        self.recomputed.emit()

    def show_record(self, record: Any, plan: Any) -> None:
        """Show a saved thaw record as it was signed (``plan``: its stored plan)."""
        from doseprep import workflow

        self.shown_record = None
        self.load(record.request)
        self._timer.stop()
        self.shown_record = record
        self.set_read_only(True)
        self.request_data = record.request
        self._show_plan(plan, workflow.plan_to_json(plan), saved=True)
        self.recomputed.emit()

    def _show_problems(self, errors: tuple[InputError, ...], status: str = "") -> None:
        self.plan = self.plan_object = self.request_data = self.expiry = self.final_bag = None
        self.problems = errors
        self.save_button.setEnabled(False)
        self.status.setText(status or "No thaw plan yet: correct the fields listed.")
        set_state(self.status, "invalid")
        self.problem_label.setText(problems_text(errors))
        self.problem_label.setVisible(bool(errors))
        for key, edit in self.fields.items():
            field = BAG_FIELD if key.startswith("bag.") else key
            message = next((e.message for e in errors if e.field == field), "")
            edit.setToolTip(message)
            set_state(edit, "error" if message else "")
        bag_problem = next((e.message for e in errors if e.field == BAG_FIELD), "")
        self.bag_note.setText(bag_problem)
        set_state(self.bag_note, "error" if bag_problem else "")
        self.steps.setRowCount(0)
        self.summary.clear()
        self.findings.clear()

    def _show_plan(self, plan: Any, data: dict[str, Any], *, saved: bool = False) -> None:
        self.plan, self.plan_object, self.problems = data, plan, ()
        self.final_bag = None
        self.problem_label.hide()
        for edit in self.fields.values():
            edit.setToolTip("")
            set_state(edit, "")
        request = self.request_data or {}
        ref = request.get("aliquot_ref", "")
        aliquot = request.get("aliquot") or {}
        self.bag_note.setText(f"{ref}: {aliquot.get('dose_level', '')} planned for "
                              f"{aliquot.get('planned_weight', '')}, frozen expiry "
                              f"{str(aliquot.get('frozen_expires_at', ''))[:16]}"
                              .replace("T", " "))
        set_state(self.bag_note, "")
        self.save_button.setEnabled(not saved)
        self.findings.setText(findings_text(data["findings"]))
        show_steps(self.steps, data["steps"])
        self.follow_clock()

    def follow_clock(self) -> None:
        """Look at the clock: has the bag's moment passed (the domain says)? A shown record
        was signed "Prepared by" once its bag was thawed."""
        from doseprep.deadlines import expired
        from doseprep.workflow import plan_deadlines

        plan, record = self.plan_object, self.shown_record
        found = (plan_deadlines(plan, done=record is not None and record.state.signed)
                 if plan is not None else ())
        self.clock.watch("thaw tab", (d.at for d in found))
        self.expiry = expired(found, self.clock.now())
        self._show_status()

    def show_bag(self, bag: Any) -> None:
        """The inventory entry of the shown record's bag (None: unknown): once infused or
        discarded, that is all the tab says of it."""
        final = (bag if bag is not None and self.shown_record is not None
                 and bag.state.value in ("infused", "discarded") else None)
        if final != self.final_bag:
            self.final_bag = final
            self._show_status()

    def _show_status(self) -> None:
        """The status in large type and the verdict: the bag's end (infused, discarded), else
        its expiry, else the plan's status."""
        data = self.plan
        if data is None:
            return
        status, bag, expiry = data["status"], self.final_bag, self.expiry
        infuse_by = data["infuse_by"][:16].replace("T", " ")
        if bag is not None and bag.state.value == "infused":
            words, state, verdict = (f"BAG INFUSED — {bag.ref} was infused (recorded by "
                                     f"{bag.updated_by}). Nothing more is done with it.", "",
                                     "Infused")
        elif bag is not None:
            words, state, verdict = (f"BAG DISCARDED — {bag.ref}: {bag.reason}. It is never "
                                     "infused.", "blocked", "Discarded")
        elif expiry is not None:
            words, state, verdict = (f"{expiry.headline} — {expiry.message}", "blocked",
                                     "Do not infuse")
        else:
            words = {"ok": "THAW PLAN OK", "warning": "THAW PLAN — CHECK THE WARNINGS",
                     "blocked": "DO NOT INFUSE — blocked; see the findings"}[status]
            state = "blocked" if status == "blocked" else ""
            verdict = "Infuse the whole bag" if status != "blocked" else "Do not infuse"
        self.status.setText(words)
        set_state(self.status, state)
        self.summary.setText(
            f"{verdict}: {data['din']} {data['division']}, {data['infused_volume_mL']:g} mL, "
            f"by {infuse_by} (site time). Delivered "
            f"{fmt_dose(Q_(data['delivered_dose_per_kg'], CELLS_PER_KG))} "
            f"({data['deviation_percent']:+.2f} % from {data['dose_level']}); DMSO "
            f"{data['dmso_g']:.2f} g ({data['dmso_g_per_kg']:.3f} g/kg).")

    def shown_bag(self) -> str | None:
        """The reference of the bag whose thaw record is shown."""
        if self.shown_record is None:
            return None
        return self.shown_record.request.get("aliquot_ref")

    def chosen_bag(self) -> str | None:
        """The bag this tab is about: the shown thaw record's, the one the plan was computed
        for (scanned or typed), or the reference typed or picked from the list."""
        if self.shown_record is not None:
            return self.shown_bag()
        if self.request_data is not None:
            return self.request_data.get("aliquot_ref")
        return self.fields["bag.ref"].text().strip() or None
