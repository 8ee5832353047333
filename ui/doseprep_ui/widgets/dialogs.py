"""Every question and message box the window shows goes through here.

One small module for dialogs (as qutebrowser routes messages through ``utils/message.py``) keeps
their wording in one style and gives tests one place to stub: ``choose``, ``inform``,
``open_file``, ``save_file`` and ``run_dialog``. Typing mistakes never come here — they are shown
beside their field; dialogs are for decisions (restore a draft, close with unsaved work, print a
document that is not for clinical use), for files, and — through ``run_dialog`` — for the
window's own dialogs (log-in, signatures, the history), which a test fills in and submits as a
person would instead of waiting on a modal loop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

log = logging.getLogger(__name__)

Icon = QMessageBox.Icon


def choose(parent: QWidget | None, *, title: str, text: str, choices: Sequence[tuple[str, str]],
           default: str, escape: str, informative: str = "",
           icon: QMessageBox.Icon = Icon.Question) -> str:
    """Ask a question with worded buttons; returns the key of the chosen button.

    ``choices`` are (key, button text) pairs, in the order shown. ``escape`` is the key returned
    when the box is closed with Escape or the window's close button.
    """
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText(informative)
    buttons = {}
    for key, label in choices:
        role = (QMessageBox.ButtonRole.RejectRole if key == escape
                else QMessageBox.ButtonRole.AcceptRole)
        buttons[box.addButton(label, role)] = key
    by_key = {key: button for button, key in buttons.items()}
    box.setDefaultButton(by_key[default])
    box.setEscapeButton(by_key[escape])
    box.exec()
    chosen = buttons.get(box.clickedButton(), escape)
    log.info("dialog %r: %s", title, chosen)
    return chosen


def inform(parent: QWidget | None, *, title: str, text: str, informative: str = "",
           details: str = "", icon: QMessageBox.Icon = Icon.Information) -> None:
    """Show a message with an OK button."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setInformativeText(informative)
    if details:
        box.setDetailedText(details)
    box.exec()


def open_file(parent: QWidget | None, title: str, name_filter: str,
              directory: str = "") -> Path | None:
    """Ask for a file to open; None when cancelled."""
    name, _ = QFileDialog.getOpenFileName(parent, title, directory, name_filter)
    return Path(name) if name else None


def save_file(parent: QWidget | None, title: str, suggested: str,
              name_filter: str) -> Path | None:
    """Ask where to save a file; None when cancelled."""
    name, _ = QFileDialog.getSaveFileName(parent, title, suggested, name_filter)
    return Path(name) if name else None


def run_dialog(dialog: QDialog) -> bool:
    """Show one of the window's own dialogs modally; True when it was accepted."""
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    log.info("dialog %r: %s", dialog.windowTitle(), "accepted" if accepted else "closed")
    return accepted


def sentence(text: str, names: Sequence[str] = ()) -> str:
    """A message from the domain as a sentence on screen: its first letter in capitals, unless
    it begins with one of ``names`` (user ids are written exactly as they are)."""
    text = text.strip()
    if text.split(" ", 1)[0] in {n for n in names if n}:
        return text
    return text[:1].upper() + text[1:]
