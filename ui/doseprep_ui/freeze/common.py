"""What the freeze and thaw tabs share: groups of typed fields, the inputs beside the plan, the
steps table, and the findings and problems as text (each tab shows its own plan with them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from doseprep.errors import DoseprepError, InputError, InvalidRequestError
from doseprep_ui.widgets.style import set_role


def field_group(parent: QWidget, title: str, rows: Sequence[tuple[str, str, str]], prefix: str,
                fields: dict[str, QLineEdit], edited: Callable[..., Any]) -> QFormLayout:
    """A titled group of one-line fields (key, caption, example), added to ``parent``'s layout
    and to ``fields``; returns the group's form layout."""
    box = QGroupBox(title, parent)
    form = QFormLayout(box)
    for key, caption, example in rows:
        edit = QLineEdit(box)
        edit.setObjectName(f"{prefix}-{key}")
        edit.setPlaceholderText(example)
        edit.setAccessibleName(caption)
        edit.textEdited.connect(edited)
        form.addRow(caption, edit)
        fields[key] = edit
    parent.layout().addWidget(box)
    return form


def next_turn_timer(owner: QObject, slot: Callable[[], Any]) -> QTimer:
    """A 0 ms single-shot timer: a burst of keystrokes is computed once, on the next turn."""
    timer = QTimer(owner)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(slot)
    return timer


def typed_request(fields: Mapping[str, QLineEdit], out: dict[str, Any],
                  skip: Sequence[str] = ()) -> dict[str, Any]:
    """``out`` with every non-empty field's text at its dotted key (``patient.weight`` into
    ``out["patient"]["weight"]``; sections made as needed), except the sections in ``skip``."""
    for key, edit in fields.items():
        text = edit.text().strip()
        section, _, name = key.rpartition(".")
        if not text or section in skip:
            continue
        if section:
            out.setdefault(section, {})[name] = text
        else:
            out[name] = text
    return out


def load_fields(fields: Mapping[str, QLineEdit], request: Mapping[str, Any]) -> None:
    """Put a request's values (JSON shape) into the fields at their dotted keys (a DIN with its
    check character, as the field needs it typed)."""
    from doseprep_ui.form.form import typed_din

    for key, edit in fields.items():
        section, _, name = key.rpartition(".")
        value = (request.get(section) or {}).get(name) if section else request.get(name)
        edit.setText(typed_din(value) if name == "din" else "" if value is None else str(value))


def as_problems(exc: DoseprepError, field: str) -> tuple[InputError, ...]:
    """The wrong fields an error names; any other refusal is shown under ``field``."""
    if isinstance(exc, InvalidRequestError):
        return exc.errors
    if isinstance(exc, InputError):
        return (exc,)
    return (InputError(field, str(exc)),)


def wrapped_label(parent: QWidget, role: str) -> QLabel:
    label = set_role(QLabel(parent), role)
    label.setWordWrap(True)
    return label


def steps_table(parent: QWidget, name: str) -> QTableWidget:
    """Every step of the plan: name, the values substituted, the result."""
    table = QTableWidget(0, 3, parent)
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(("Step", "Values substituted", "Result"))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.setWordWrap(True)
    return table


def show_steps(table: QTableWidget, steps: Sequence[Mapping[str, str]]) -> None:
    """Fill the steps table from the plan's JSON steps (the formula in each tooltip)."""
    table.setRowCount(len(steps))
    for index, step in enumerate(steps):
        for column, key in enumerate(("name", "substituted", "result")):
            item = QTableWidgetItem(step[key])
            item.setToolTip(f"{step['name']}: {step['formula']}\n{step['substituted']}\n= "
                            f"{step['result']}")
            table.setItem(index, column, item)
    table.resizeRowsToContents()


def findings_text(findings: Iterable[Mapping[str, str]]) -> str:
    return "\n".join(f"[{f['severity'].upper()}] {f['code']}: {f['message']}"
                     for f in findings) or "No findings."


def problems_text(errors: Iterable[InputError]) -> str:
    return "\n".join(f"{e.field}: {e.message}" for e in errors)


def beside(owner: QWidget, left: QWidget, right: QWidget, stretch: tuple[int, int]) -> QSplitter:
    """The inputs (scrolling) beside the plan, filling ``owner``."""
    splitter = QSplitter(owner)
    area = QScrollArea(splitter)
    area.setWidget(left)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    splitter.addWidget(area)
    splitter.addWidget(right)
    splitter.setStretchFactor(0, stretch[0])
    splitter.setStretchFactor(1, stretch[1])
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(splitter)
    return splitter
