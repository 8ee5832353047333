"""The input form: patient, product, order and preparation, laid out like the paper form.

Each field is free text or a fixed choice (see :mod:`doseprep_ui.form.fields`); the form only
collects raw text — :mod:`doseprep_ui.form.evaluation` and the domain do the checking — and then
shows, field by field, what was understood or what is wrong. Tab and Enter move through the
fields in the order of the paper form. The DIN field takes a barcode scan (``=G12341765432100``,
a keyboard-wedge scanner ends it with Enter) or a typed DIN and rewrites it as the DIN printed
under the barcode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from itertools import pairwise
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from doseprep.errors import InputError, SettingsError
from doseprep.isbt128 import NO_FLAGS, din_from_scan_or_entry
from doseprep.protocol import Protocol
from doseprep.request import far_from_now
from doseprep_ui.form.evaluation import CONFIRM_KEYS, KEYS, OPTIONAL, Evaluation
from doseprep_ui.form.fields import CAPTION_WIDTH, ChoiceField, Field, TextField
from doseprep_ui.widgets.clock import WindowClock
from doseprep_ui.widgets.moments import wall_clock_text

log = logging.getLogger(__name__)

#: (section title, ((key, caption, hint, kind), ...)), in the order of the paper form.
SECTIONS: tuple[tuple[str, tuple[tuple[str, str, str, str], ...]], ...] = (
    ("Patient", (
        ("patient.id", "&MRN", "medical record number, e.g. MRN-000123", "text"),
        ("patient.name", "Na&me", "LAST, First", "text"),
        ("patient.birth_date", "Date of &birth", "YYYY-MM-DD, e.g. 1980-02-29", "text"),
        ("patient.weight", "&Weight", "e.g. 72.4 kg or 159.6 lb", "text"),
    )),
    ("Product — donor apheresis", (
        ("product.din", "&DIN", "scan the DIN barcode, or type the DIN and its check character",
         "text"),
        ("product.collected_at", "&Collected at", "YYYY-MM-DD HH:MM, site time", "text"),
        ("product.volume", "&Volume or net weight", "e.g. 212 mL, 0.212 L or 218.4 g (net)",
         "text"),
        ("product.wbc", "W&BC (analyzer)", "e.g. 85.3 x10^3/uL, 87.5 10^9/L, 8.53e4/uL", "text"),
        ("product.sample_dilution", "Sample di&lution", "1 if undiluted; 5 for 1 in 5", "text"),
        ("product.cd3_percent", "CD&3+ %", "of viable CD45+, e.g. 40", "text"),
        ("product.viability_percent", "V&iability %", "e.g. 98", "text"),
        ("product.abo_rh", "Donor &ABO/Rh", "optional, e.g. A POS", "text"),
    )),
    ("Order", (
        ("protocol", "&Protocol", "choose the protocol", "choice"),
        ("order.cycle", "C&ycle", "choose the cycle", "choice"),
        ("order.infusion", "I&nfusion", "choose the infusion", "choice"),
        ("order.dose_level", "D&ose level", "choose the dose level", "choice"),
    )),
    ("Preparation", (
        ("prepared_at", "Prepared a&t", "YYYY-MM-DD HH:MM, site time", "text"),
    )),
)
assert tuple(k for _, rows in SECTIONS for k, *_ in rows) == KEYS

#: Fields with a default on a new form; text in them alone is not unsaved work.
DEFAULTED = frozenset({"protocol", "prepared_at"})


def typed_din(value: Any) -> str:
    """A DIN from a request file or a saved record as the DIN field shows it: with its check
    character (``G1234 17 654321 A``), which a file may leave out but the field requires; a
    scanned DIN with flags, or one that does not parse, as it is (the field then says why)."""
    if not isinstance(value, str) or not value.strip():
        return "" if value is None else str(value)
    try:
        din, flags = din_from_scan_or_entry(value, "product.din")
    except InputError:
        return value
    return din.typed_form if flags == NO_FLAGS else value


def raw_from_request(data: Mapping[str, Any]) -> dict[str, str]:
    """A request in its JSON shape (a reference case, ``--request`` file) as form texts."""

    def out(value: Any) -> str:
        return "" if value is None else str(value)

    patient = data.get("patient") or {}
    product = data.get("product") or {}
    order = data.get("order") or {}
    volume = product.get("volume")
    return {
        "patient.id": out(patient.get("id")),
        "patient.name": out(patient.get("name")),
        "patient.birth_date": out(patient.get("birth_date")),
        "patient.weight": out(patient.get("weight")),
        "product.din": typed_din(product.get("din")),
        "product.collected_at": out(product.get("collected_at")),
        "product.volume": out(volume if volume not in (None, "") else product.get("net_weight")),
        "product.wbc": out(product.get("wbc")),
        "product.sample_dilution": out(product.get("sample_dilution")),
        "product.cd3_percent": out(product.get("cd3_percent")),
        "product.viability_percent": out(product.get("viability_percent")),
        "product.abo_rh": out(product.get("abo_rh")),
        "protocol": out(data.get("protocol", "")),
        "order.cycle": out(order.get("cycle")),
        "order.infusion": out(order.get("infusion")),
        "order.dose_level": out(order.get("dose_level")),
        "prepared_at": out(data.get("prepared_at")),
    } | {f"confirmations.{key}": out(reason)
         for key, reason in (data.get("confirmations") or {}).items()
         if f"confirmations.{key}" in CONFIRM_KEYS}


class RequestForm(QWidget):
    """The four sections of the form; ``edited`` fires on every change of any field."""

    edited = Signal()

    def __init__(self, protocols: Callable[[str], Protocol],
                 parent: QWidget | None = None, *, clock: WindowClock | None = None,
                 zone: Callable[[], str | None] = lambda: None) -> None:
        """``protocols`` loads a protocol by reference (it may raise SettingsError); ``clock``
        is the window's (its ticks move "Prepared at"); ``zone`` gives the site's IANA time zone
        (the lab file's ``time_zone``), in which the form shows and reads times."""
        super().__init__(parent)
        self._protocols = protocols
        self.clock = clock or WindowClock(parent=self)
        self._zone = zone
        self._protocol: Protocol | None = None
        self.read_only = False
        self.setObjectName("request-form")
        self.fields: dict[str, Field] = {}
        #: In-place confirmation of an implausible value: field key -> the reason editor, shown
        #: under the field only while the domain finds the value implausible (or a reason is
        #: typed). Never a modal box: the technician sees the value, the finding and the reason
        #: together.
        self.confirmations: dict[str, QLineEdit] = {}
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        for title, rows in SECTIONS:
            box = QGroupBox(title, self)
            grid = QGridLayout(box)
            grid.setHorizontalSpacing(12)
            grid.setVerticalSpacing(6)
            grid.setColumnStretch(2, 1)
            grid.setColumnMinimumWidth(0, CAPTION_WIDTH)
            row = -1
            for key, caption, hint, kind in rows:
                row += 1
                make = TextField if kind == "text" else ChoiceField
                field = make(key, caption, hint, box)
                self.fields[key] = field
                grid.addWidget(field.caption_label, row, 0,
                               Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                grid.addWidget(field.editor, row, 1)
                if key == "prepared_at":
                    grid.addLayout(self._with_now_button(field), row, 2)
                else:
                    grid.addWidget(field.note_label, row, 2)
                if f"confirmations.{key}" in CONFIRM_KEYS:
                    row += 1
                    reason = QLineEdit(box)
                    reason.setObjectName(f"confirmations.{key}")
                    reason.setPlaceholderText("if the value is right as typed: reason, who "
                                              "checked it and how")
                    reason.setAccessibleName(f"Reason to confirm {caption.replace('&', '')}")
                    reason.setToolTip("An implausible value blocks the plan until it is "
                                      "corrected, or confirmed here with a reason (printed "
                                      "on the worksheet).")
                    reason.setVisible(False)
                    grid.addWidget(reason, row, 1, 1, 2)
                    self.confirmations[key] = reason
            layout.addWidget(box)
        layout.addStretch(1)
        self._order = [self.fields[k] for k in KEYS]
        for before, after in pairwise(self._order):
            QWidget.setTabOrder(before.editor, after.editor)
        for field in self._order:
            field.changed.connect(self.edited)
            if isinstance(field, TextField):
                field.editor.returnPressed.connect(
                    lambda f=field: self.focus_next(f))
            else:
                field.editor.installEventFilter(self)
        for reason in self.confirmations.values():
            reason.textChanged.connect(self.edited)
        # "Prepared at" shows now and follows the clock until someone types in it (issue 9: a
        # default set when the form was reset said OK hours after the infusion had expired).
        self.prepared_follows_clock = True
        prepared = self.fields["prepared_at"]
        assert isinstance(prepared, TextField)
        prepared.editor.textEdited.connect(self._prepared_edited)
        din = self.fields["product.din"]
        assert isinstance(din, TextField)
        din.editor.editingFinished.connect(self.normalise_din)
        self.fields["protocol"].changed.connect(self._protocol_selected)
        self.fields["order.cycle"].changed.connect(self._fill_infusions)

    def _with_now_button(self, field: Field) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        self.now_button = QPushButton("Now", self)
        self.now_button.setToolTip("Set the preparation time to the current time")
        self.now_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.now_button.clicked.connect(self.follow_the_clock)
        row.addWidget(self.now_button, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(field.note_label, 1)
        return row

    # --- keyboard --------------------------------------------------------------------------

    def focus_next(self, field: Field) -> None:
        """Enter in a field moves to the next one, as on the paper form."""
        index = self._order.index(field)
        if index + 1 < len(self._order):
            self._order[index + 1].editor.setFocus(Qt.FocusReason.TabFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and \
                event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            field = next((f for f in self._order if f.editor is watched), None)
            if field is not None:
                self.focus_next(field)
                return True
        return super().eventFilter(watched, event)

    def normalise_din(self) -> None:
        """Rewrite a scanned or typed DIN as printed on the label, with its boxed check
        character (``G1234 17 654321 A``): the way a person types it.

        A scan whose flag characters are not ``00`` is left as scanned, so the flags reach the
        request; a DIN the domain refuses — a typed one without its check character, or with a
        wrong one — is left as typed, with the message beside it (never completed here: the
        check character is what catches a mistyped DIN).
        """
        field = self.fields["product.din"]
        text = field.text()
        if not text.strip():
            return
        try:
            din, flags = din_from_scan_or_entry(text, "product.din", keyboard=True)
        except InputError:
            return
        if flags == NO_FLAGS and text != din.typed_form:
            log.info("DIN %r normalised to %s", text, din.typed_form)
            field.set_text(din.typed_form)

    # --- protocol-dependent choices --------------------------------------------------------

    def set_protocol_choices(self, choices: list[tuple[str, str]]) -> None:
        """The protocols offered in the protocol field: (reference, label) pairs."""
        field = self.fields["protocol"]
        assert isinstance(field, ChoiceField)
        field.set_items(choices)

    def _protocol_selected(self, *_: object) -> None:
        ref = self.fields["protocol"].text().strip()
        try:
            protocol = self._protocols(ref) if ref else None
        except SettingsError:
            protocol = None  # the evaluation shows the message beside the field
        self.set_protocol(protocol)

    def set_protocol(self, protocol: Protocol | None) -> None:
        """Offer the cycles, infusions and dose levels of ``protocol`` (none when None)."""
        self._protocol = protocol
        cycle = self.fields["order.cycle"]
        level = self.fields["order.dose_level"]
        assert isinstance(cycle, ChoiceField) and isinstance(level, ChoiceField)
        if protocol is None:
            cycle.set_items([])
            level.set_items([])
        else:
            cycle.set_items([(str(c), f"{c} ({n} infusion{'s' if n != 1 else ''})")
                             for c, n in protocol.cycles])
            # The name only, as the order writes it; the note beside shows the dose per kg.
            level.set_items([(d.name, d.name) for d in protocol.dose_levels])
        self._fill_infusions()

    def _fill_infusions(self, *_: object) -> None:
        infusion = self.fields["order.infusion"]
        assert isinstance(infusion, ChoiceField)
        count = None
        cycle = self.fields["order.cycle"].text()
        if self._protocol is not None and cycle.isdigit():
            count = self._protocol.infusions(int(cycle))
        infusion.set_items([(str(n), f"{n} of {count}")
                            for n in range(1, (count or 0) + 1)])

    # --- the preparation time --------------------------------------------------------------

    def _prepared_edited(self, _text: str) -> None:
        self.prepared_follows_clock = False

    def follow_the_clock(self) -> None:
        """Set "Prepared at" to now and keep it there as the clock moves (the Now button)."""
        self.prepared_follows_clock = True
        self.tick()

    def now_text(self) -> str:
        """The window clock's instant as the form shows it, on the site's wall clock
        (``2026-11-23 10:00``; with its offset in the hour a clock change repeats) — never this
        computer's own zone, which may not be the site's (issue 21)."""
        return wall_clock_text(self.clock.now(), self._zone())

    def tick(self) -> None:
        """The clock moved: a "Prepared at" that follows it shows the new minute."""
        if self.prepared_follows_clock and not self.read_only:
            text = self.now_text()
            if self.fields["prepared_at"].text() != text:
                self.fields["prepared_at"].set_text(text)

    def prepared_far_from_now(self, moment: datetime | None) -> str:
        """A warning when the preparation time is more than a few minutes from now, else ""."""
        distance = far_from_now(moment, self.clock.now()) if moment is not None else ""
        return (f"{distance} — is this when it is prepared? (Now sets the current time)"
                if distance else "")

    # --- whole-form text -------------------------------------------------------------------

    def raw(self) -> dict[str, str]:
        """Every field's text exactly as it stands (a choice gives its key), and any reason
        typed to confirm an implausible value (``confirmations.<field>``)."""
        raw = {key: field.text() for key, field in self.fields.items()}
        raw.update({f"confirmations.{key}": editor.text()
                    for key, editor in self.confirmations.items() if editor.text()})
        return raw

    def set_raw(self, raw: Mapping[str, str]) -> None:
        """Put texts into the fields (missing keys become empty); one ``edited`` at the end."""
        self.blockSignals(True)
        try:
            self.fields["protocol"].set_text(raw.get("protocol", ""))
            self._protocol_selected()
            for key in KEYS:
                if key != "protocol":
                    self.fields[key].set_text(raw.get(key, ""))
            # A time that came with the form (a draft, a record, a request) stays as it came.
            self.prepared_follows_clock = raw.get("prepared_at", "") == self.now_text()
            for key, editor in self.confirmations.items():
                text = raw.get(f"confirmations.{key}", "")
                if editor.text() != text:
                    editor.setText(text)
                editor.setVisible(bool(text))
        finally:
            self.blockSignals(False)
        self.edited.emit()

    def set_read_only(self, read_only: bool) -> None:
        """Disable every input (a signed record), or enable them all again."""
        self.read_only = read_only
        for field in self.fields.values():
            field.editor.setEnabled(not read_only)
            if isinstance(field, TextField):
                field.editor.setClearButtonEnabled(not read_only)
        for editor in self.confirmations.values():
            editor.setEnabled(not read_only)
        self.now_button.setEnabled(not read_only)

    def has_user_input(self) -> bool:
        """True when anything but the defaulted fields holds text."""
        return any(f.text().strip() for k, f in self.fields.items() if k not in DEFAULTED)

    def show_evaluation(self, evaluation: Evaluation) -> None:
        """Show beside each field what the domain understood, or why it refused the value."""
        plan = evaluation.plan
        implausible = {f.field: f.message.removeprefix(f"{f.field}: ")
                       for f in (plan.findings if plan is not None else ())
                       if f.code in ("IMPLAUSIBLE_INPUT", "IMPLAUSIBLE_INPUT_CONFIRMED")
                       and f.field}
        for key, field in self.fields.items():
            if key in evaluation.errors and key in evaluation.missing:
                field.show_missing(evaluation.errors[key])
            elif key in evaluation.errors:
                field.show_error(evaluation.errors[key])
            elif key in OPTIONAL and not field.text().strip():
                field.show_optional()
            elif key in implausible:
                field.show_warning(implausible[key])
            elif key == "prepared_at" and plan is not None and \
                    self.prepared_far_from_now(plan.request.prepared_at):
                field.show_warning(f"{evaluation.notes.get(key, '')} — "
                                   f"{self.prepared_far_from_now(plan.request.prepared_at)}")
            else:
                field.show_value(evaluation.notes.get(key, ""))
        for key, editor in self.confirmations.items():
            error = evaluation.errors.get(f"confirmations.{key}")
            editor.setVisible(key in implausible or bool(editor.text()))
            editor.setProperty("state", "error" if error else "")
            editor.setToolTip(error or editor.toolTip())

    def show_unchecked(self) -> None:
        """A fault stopped the check: clear every conversion so none is stale ("13 kg = 71 kg")."""
        for field in self.fields.values():
            field.show_unchecked()

    def first_problem(self) -> Field | None:
        """The first field (in form order) with an error, else the first empty required one."""
        return (next((f for f in self._order if f.state == "error"), None)
                or next((f for f in self._order if f.state == "missing"), None))
