"""One row of the form: a caption, the editor, and a note that shows the value or the error.

A field is a caption (with a keyboard mnemonic), an editor (free text or a fixed choice) and a
note beside it. The note shows what the domain understood in lab notation (``= 1.000 × 10⁸
cells/mL``), or, when the value was refused, the domain's message in bold dark red with a red
border on the editor; an empty required field just says what to enter. The same words go to the
accessible description, so a screen reader hears the error too. A field holds text only: it
never parses or converts a value itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QSizePolicy, QWidget

from doseprep_ui.widgets.style import set_role, set_state

ERROR_MARK = "✖"
EDITOR_WIDTH = 290
CAPTION_WIDTH = 170
OK_MARK = "="


class Field:
    """Base of the two kinds of field; subclasses provide the editor."""

    editor: QWidget

    def __init__(self, key: str, caption: str, hint: str, parent: QWidget) -> None:
        self.key = key
        self.caption = caption
        self.hint = hint
        self.caption_label = QLabel(caption, parent)
        set_role(self.caption_label, "caption")
        self.note_label = QLabel(parent)
        set_role(self.note_label, "note", "missing")
        self.note_label.setWordWrap(True)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setMinimumWidth(130)
        self.note_label.setSizePolicy(QSizePolicy.Policy.Expanding,
                                      QSizePolicy.Policy.Preferred)
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state = "missing"
        self.message = ""

    def _finish(self) -> None:
        self.caption_label.setBuddy(self.editor)
        self.editor.setObjectName(self.key)
        self.editor.setAccessibleName(self.caption.replace("&", ""))
        self.editor.setToolTip(self.hint)
        self.editor.setFixedWidth(EDITOR_WIDTH)

    @property
    def changed(self) -> SignalInstance:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def set_text(self, text: str) -> None:
        raise NotImplementedError

    def show_value(self, note: str) -> None:
        """The value was accepted; ``note`` is it in lab notation (may be empty)."""
        self._show("ok", f"{OK_MARK} {note}" if note else "", note)

    def show_missing(self, message: str) -> None:
        """The field is empty and required; ``message`` says what to enter."""
        self._show("missing", message, f"Required. {message}")

    def show_warning(self, message: str) -> None:
        """The value was accepted but needs attention (an implausible value, say)."""
        self._show("warning", f"⚠ {message}", f"Warning: {message}")

    def show_error(self, message: str) -> None:
        """The value was refused; ``message`` is the domain's sentence for the user."""
        self._show("error", f"{ERROR_MARK} {message}", f"Error: {message}")

    def show_unchecked(self) -> None:
        """The value could not be checked (a fault in doseprep): no stale conversion beside it."""
        self._show("missing", "not checked", "Not checked: doseprep could not compute the form.")

    def show_optional(self) -> None:
        """An optional field left empty."""
        self._show("ok", "optional", "")

    def _show(self, state: str, note: str, accessible: str) -> None:
        self.state = state
        self.message = accessible
        self.note_label.setText(note)
        set_state(self.note_label, state)
        set_state(self.editor, "error" if state == "error" else "")
        if self.editor.accessibleDescription() != accessible:
            self.editor.setAccessibleDescription(accessible)


class TextField(Field):
    """A free-text field (quantities with their units, dates, DIN, names)."""

    def __init__(self, key: str, caption: str, hint: str, parent: QWidget) -> None:
        super().__init__(key, caption, hint, parent)
        self.editor: QLineEdit = QLineEdit(parent)
        self.editor.setPlaceholderText(hint)
        self.editor.setClearButtonEnabled(True)
        self._finish()

    @property
    def changed(self) -> SignalInstance:
        return self.editor.textChanged

    def text(self) -> str:
        return self.editor.text()

    def set_text(self, text: str) -> None:
        if self.editor.text() != text:
            self.editor.setText(text)


class ChoiceField(Field):
    """A fixed choice (protocol, cycle, infusion, dose level); its text is the chosen key.

    Items are (key, label) pairs. A key that is not among the items (from a draft or a request
    file made with another protocol) is kept as an extra item marked "not in this protocol", so
    the domain can say what is wrong with it instead of the form silently dropping it.
    """

    def __init__(self, key: str, caption: str, hint: str, parent: QWidget) -> None:
        super().__init__(key, caption, hint, parent)
        self.editor: QComboBox = QComboBox(parent)
        self.editor.setPlaceholderText(hint)
        self._choices = 0  # the items before any kept "not in this protocol" one
        self._finish()

    @property
    def changed(self) -> SignalInstance:
        return self.editor.currentIndexChanged

    def text(self) -> str:
        data = self.editor.currentData()
        return "" if data is None else str(data)

    def set_text(self, text: str) -> None:
        text = text.strip()
        if text == self.text():
            return
        self._drop_extras()
        if not text:
            self.editor.setCurrentIndex(-1)
            return
        index = self.editor.findData(text)
        if index < 0:
            index = self.editor.findData(text.upper())
        if index < 0:
            self.editor.addItem(f"{text} (not in this protocol)", text)
            index = self.editor.count() - 1
        self.editor.setCurrentIndex(index)

    def _drop_extras(self) -> None:
        """Forget keys kept as "not in this protocol" items: once another value is chosen (or
        the field is cleared) the old one is not left in the list (issue 21: a cleared dose
        level stayed readable there during a blind verification)."""
        for index in reversed(range(self._choices, self.editor.count())):
            self.editor.removeItem(index)  # a change of the choice is signalled, as any

    def set_items(self, items: Sequence[tuple[str, str]]) -> None:
        """Replace the choices, keeping the chosen key (see the class docstring)."""
        current = self.text()
        wanted = [(key, label) for key, label in items]
        self._choices = len(wanted)
        present = [(self.editor.itemData(i), self.editor.itemText(i))
                   for i in range(self.editor.count())]
        if present == wanted:
            return
        blocked = self.editor.blockSignals(True)
        try:
            self.editor.clear()
            for key, label in wanted:
                self.editor.addItem(label, key)
            self.editor.setCurrentIndex(-1)
            if current:
                self.set_text(current)
        finally:
            self.editor.blockSignals(blocked)
        if self.text() != current:
            self.editor.currentIndexChanged.emit(self.editor.currentIndex())
