"""The history of preparation records: search, newest first, and open one in the window.

The dialog asks the store (``list_records``, through the ``search`` callable the window gives)
for the records matching part of a patient's name, an MRN, a DIN, a first date and a state —
newest first, a page of 100 — and lists them with their id and version, state in words, when and
by whom they were created, the patient, the DIN, the dose level and the plan's status. Opening
one (the button, Enter or a double click) closes the dialog with ``chosen_ref`` set; the window
loads it, read-only once signed.

Blind means blind (issue 21): the DIN and the dose level are values a verifier re-enters, so a
row the window says to withhold (a PREPARED record waiting for its blind verification, and while
one is held blind, every row of that record or of its DIN) shows neither.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QGridLayout,
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
from doseprep.isbt128 import din_from_scan_or_entry
from doseprep_ui.widgets.buttons import button_row
from doseprep_ui.widgets.dialogs import sentence
from doseprep_ui.widgets.icons import record_pixmap
from doseprep_ui.widgets.style import STYLE_SHEET, set_role

log = logging.getLogger(__name__)

COLUMNS = ("Record", "State", "Created (local time)", "Created by", "MRN", "Patient", "DIN",
           "Dose level", "Plan")
STATES = (("", "Any state"), ("draft", "Draft"), ("prepared", "Prepared"),
          ("verified", "Verified"), ("released", "Released"))

#: The search: keyword arguments of ``list_records`` → its rows (RecordSummary).
Search = Callable[..., Sequence[Any]]
#: What a withheld row shows in place of its DIN and dose level.
WITHHELD = "hidden until verified"


class HistoryDialog(QDialog):
    """See the module docstring. ``describe_time`` turns a stored UTC text into local words."""

    def __init__(self, search: Search, describe_time: Callable[[str], str],
                 parent: QWidget | None = None, *,
                 withheld: Callable[[Any], bool] = lambda _row: False) -> None:
        """``withheld`` says of a row whether its DIN and dose level must not be shown."""
        super().__init__(parent)
        self.setObjectName("history-dialog")
        self._withheld = withheld
        self.setWindowTitle("Record history — doseprep")
        self.setStyleSheet(STYLE_SHEET)
        self.resize(1250, 640)
        self._search = search
        self._describe_time = describe_time
        self.rows: list[Any] = []
        self.chosen_ref: str | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(set_role(QLabel("Record history", self), "dialog-title"))

        criteria = QGridLayout()
        criteria.setHorizontalSpacing(10)
        self.patient = self._criterion(criteria, 0, 0, "Patient &name", "part of the name")
        self.mrn = self._criterion(criteria, 0, 2, "&MRN", "exact, e.g. MRN-000123")
        self.din = self._criterion(criteria, 0, 4, "&DIN", "scan or type the DIN")
        self.since = self._criterion(criteria, 1, 0, "Created s&ince", "YYYY-MM-DD")
        self.state = QComboBox(self)
        self.state.setObjectName("state")
        for value, label in STATES:
            self.state.addItem(label, value)
        state_label = set_role(QLabel("S&tate", self), "caption")
        state_label.setBuddy(self.state)
        criteria.addWidget(state_label, 1, 2, Qt.AlignmentFlag.AlignRight)
        criteria.addWidget(self.state, 1, 3)
        self.all_versions = QCheckBox("Include &corrected versions", self)
        criteria.addWidget(self.all_versions, 1, 4, 1, 2)
        layout.addLayout(criteria)

        bar = QHBoxLayout()
        self.search_button = QPushButton("&Search", self)
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.clear_button = QPushButton("C&lear", self)
        self.clear_button.setAutoDefault(False)
        self.clear_button.clicked.connect(self.clear)
        self.count_label = QLabel(self)
        bar.addWidget(self.search_button)
        bar.addWidget(self.clear_button)
        bar.addWidget(self.count_label, 1)
        layout.addLayout(bar)

        self.error_label = set_role(QLabel(self), "reasons")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("history-table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Patient"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemActivated.connect(lambda _item: self.open_selected())
        self.table.setAccessibleName("Records, newest first")
        layout.addWidget(self.table, 1)

        buttons, _, self.open_button = button_row(self, "Close", "&Open record",
                                                  self.open_selected, action_is_default=False)
        layout.addLayout(buttons)
        for editor in (self.patient, self.mrn, self.din, self.since):
            editor.returnPressed.connect(self.search)
        self._selection_changed()

    def _criterion(self, grid: QGridLayout, row: int, column: int, caption: str,
                   hint: str) -> QLineEdit:
        editor = QLineEdit(self)
        editor.setPlaceholderText(hint)
        editor.setClearButtonEnabled(True)
        editor.setAccessibleName(caption.replace("&", ""))
        label = set_role(QLabel(caption, self), "caption")
        label.setBuddy(editor)
        grid.addWidget(label, row, column, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(editor, row, column + 1)
        return editor

    # --- searching ---------------------------------------------------------------------------

    def criteria(self) -> dict[str, Any]:
        """The search as ``list_records`` keywords; raises ValueError for an unreadable date."""
        since_text = self.since.text().strip()
        since = None
        if since_text:
            try:
                since = date.fromisoformat(since_text)
            except ValueError:
                raise ValueError(f"“{since_text}” is not a date; write it like "
                                 "2026-11-23.") from None
        return {"patient": self.patient.text().strip() or None,
                "mrn": self.mrn.text().strip() or None,
                "din": self.din.text().strip() or None,
                "state": self.state.currentData() or None, "since": since,
                "all_versions": self.all_versions.isChecked()}

    def search(self) -> int:
        """Run the search and list the rows; returns how many were found."""
        self.error_label.hide()
        try:
            rows = list(self._search(**self.criteria()))
        except (ValueError, DoseprepError) as exc:
            message = exc.message if isinstance(exc, DoseprepError) else str(exc)
            self.error_label.setText(sentence(message))
            self.error_label.show()
            return 0
        self.show_rows(rows)
        return len(rows)

    def clear(self) -> None:
        for editor in (self.patient, self.mrn, self.din, self.since):
            editor.clear()
        self.state.setCurrentIndex(0)
        self.all_versions.setChecked(False)
        self.search()

    def show_rows(self, rows: Sequence[Any]) -> None:
        self.rows = list(rows)
        table = self.table
        table.setRowCount(len(self.rows))
        for index, row in enumerate(self.rows):
            state = row.state.value
            hidden = self._withheld(row)
            texts = (row.ref + ("  (corrected)" if row.superseded else ""), state.upper(),
                     self._describe_time(row.created_at), row.created_by, row.patient_mrn,
                     row.patient_name, WITHHELD if hidden else _eye_readable(row.din),
                     WITHHELD if hidden else row.dose_level, row.plan_status.upper())
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setIcon(record_pixmap(state, 20))
                table.setItem(index, column, item)
        if not self.rows:
            self.count_label.setText("No records match.")
        else:
            more = " (the newest 100; narrow the search to see older ones)" \
                if len(self.rows) >= 100 else ""
            self.count_label.setText(f"{len(self.rows)} record"
                                     f"{'' if len(self.rows) == 1 else 's'}, newest first{more}")
        if self.rows:
            table.selectRow(0)
        self._selection_changed()

    # --- opening -----------------------------------------------------------------------------

    def _selection_changed(self) -> None:
        self.open_button.setEnabled(bool(self.table.selectionModel().selectedRows()))

    def selected_ref(self) -> str | None:
        chosen = self.table.selectionModel().selectedRows()
        return self.rows[chosen[0].row()].ref if chosen else None

    def open_selected(self) -> bool:
        """Close the dialog with the selected record chosen; False when nothing is selected."""
        ref = self.selected_ref()
        if ref is None:
            return False
        self.chosen_ref = ref
        log.info("history: open %s", ref)
        self.accept()
        return True


def _eye_readable(din: str) -> str:
    """A stored DIN as printed under its barcode (``G1234 17 654321``), else as stored."""
    try:
        return din_from_scan_or_entry(din, "din")[0].eye_readable
    except InputError:
        return din
