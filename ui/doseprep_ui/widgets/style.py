"""The look of the window: fonts, colours and the style sheet, in one place.

Made for gloved hands at a biosafety cabinet: big type, big targets, dark text on light backgrounds
(every pair here has a contrast ratio of at least 7:1), and never colour alone — each state also has
a word and a shape (see :mod:`doseprep_ui.widgets.icons`). Widgets say which state they are in
through the dynamic property ``state`` (``ok``, ``error``, ``missing``, ``blocked``, ``warning``,
``invalid``); the style sheet below does the rest."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

BASE_POINT_SIZE = 11
FIELD_POINT_SIZE = 13
INSTRUCTION_POINT_SIZE = 20
BANNER_POINT_SIZE = 17
DRAW_POINT_SIZE = 30

#: Text and background colours per state (text, background, border).
COLOURS = {
    "ok": ("#0b3d1a", "#e4f4e8", "#1e7b34"),
    "warning": ("#3d2600", "#fff1cc", "#a15c00"),
    "blocked": ("#ffffff", "#8b0000", "#000000"),
    "invalid": ("#212121", "#eeeeee", "#424242"),
    "info": ("#0d2f57", "#e8f0fb", "#1f5fa8"),
    "error": ("#8b0000", "#fff0f0", "#c00000"),
}
NOTE_COLOUR = "#14345c"
MUTED_COLOUR = "#4a4a4a"

STYLE_SHEET = f"""
QLineEdit, QComboBox {{
    font-size: {FIELD_POINT_SIZE}pt;
    min-height: 34px;
    padding: 2px 6px;
    border: 2px solid #6b6b6b;
    border-radius: 3px;
    background: #ffffff;
    color: #000000;
}}
QLineEdit:focus, QComboBox:focus {{ border: 3px solid #1f5fa8; }}
QLineEdit[state="error"], QComboBox[state="error"] {{
    border: 3px solid {COLOURS["error"][2]};
    background: {COLOURS["error"][1]};
}}
QLabel[role="caption"] {{ font-size: {FIELD_POINT_SIZE - 1}pt; color: #000000; }}
QLabel[role="note"] {{ font-size: {BASE_POINT_SIZE}pt; color: {NOTE_COLOUR}; }}
QLabel[role="note"][state="error"] {{ color: {COLOURS["error"][0]}; font-weight: bold; }}
QLabel[role="note"][state="warning"] {{ color: {COLOURS["warning"][0]}; font-weight: bold; }}
QLabel[role="note"][state="missing"] {{ color: {MUTED_COLOUR}; font-style: italic; }}
QGroupBox {{
    font-size: {BASE_POINT_SIZE + 2}pt; font-weight: bold;
    border: 1px solid #9e9e9e; border-radius: 4px; margin-top: 14px; padding-top: 8px;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; }}
QPushButton {{
    font-size: {FIELD_POINT_SIZE}pt; min-height: 40px; padding: 4px 16px;
}}
QFrame[role="banner"] {{ border: 3px solid #424242; border-radius: 4px; }}
QFrame[role="banner"][state="ok"] {{
    background: {COLOURS["ok"][1]}; border-color: {COLOURS["ok"][2]};
}}
QFrame[role="banner"][state="warning"] {{
    background: {COLOURS["warning"][1]}; border-color: {COLOURS["warning"][2]};
}}
QFrame[role="banner"][state="blocked"] {{
    background: {COLOURS["blocked"][1]}; border-color: {COLOURS["blocked"][2]};
}}
QFrame[role="banner"][state="invalid"] {{
    background: {COLOURS["invalid"][1]}; border: 3px dashed {COLOURS["invalid"][2]};
}}
QFrame[role="banner"][state="info"] {{
    background: {COLOURS["info"][1]}; border-color: {COLOURS["info"][2]};
}}
QLabel[role="banner-text"] {{ font-size: {BANNER_POINT_SIZE}pt; font-weight: bold; }}
QLabel[role="banner-text"][state="ok"] {{ color: {COLOURS["ok"][0]}; }}
QLabel[role="banner-text"][state="warning"] {{ color: {COLOURS["warning"][0]}; }}
QLabel[role="banner-text"][state="blocked"] {{ color: {COLOURS["blocked"][0]}; }}
QLabel[role="banner-text"][state="invalid"] {{ color: {COLOURS["invalid"][0]}; }}
QLabel[role="banner-text"][state="info"] {{ color: {COLOURS["info"][0]}; }}
QLabel[role="banner-detail"] {{ font-size: {BASE_POINT_SIZE}pt; }}
QLabel[role="banner-detail"][state="blocked"] {{ color: #ffffff; }}
QLabel[role="instruction"] {{
    font-size: {INSTRUCTION_POINT_SIZE}pt; font-weight: bold; color: #000000;
}}
QLabel[role="instruction"][state="blocked"] {{ color: {COLOURS["error"][0]}; }}
QLabel[role="instruction"][state="invalid"] {{ color: {MUTED_COLOUR}; font-weight: normal; }}
QLabel[role="draw"] {{ font-size: {DRAW_POINT_SIZE}pt; font-weight: bold; color: #000000; }}
QLabel[role="draw"][state="blocked"] {{
    font-size: {BASE_POINT_SIZE + 2}pt; color: {COLOURS["error"][0]};
}}
QLabel[role="key"] {{ font-size: {BASE_POINT_SIZE + 1}pt; color: {MUTED_COLOUR}; }}
QLabel[role="value"] {{ font-size: {BASE_POINT_SIZE + 2}pt; font-weight: bold; color: #000000; }}
QLabel[role="value"][state="error"] {{ color: {COLOURS["error"][0]}; }}
QLabel[role="heading"] {{ font-size: {BASE_POINT_SIZE + 3}pt; font-weight: bold; }}
QLabel[role="finding-text"] {{ font-size: {BASE_POINT_SIZE + 1}pt; color: #000000; }}
QFrame[role="finding"] {{ border: 2px solid #616161; border-radius: 3px; }}
QFrame[role="finding"][state="blocked"] {{
    background: {COLOURS["error"][1]}; border: 3px solid {COLOURS["error"][2]};
}}
QFrame[role="finding"][state="warning"] {{
    background: {COLOURS["warning"][1]}; border-color: {COLOURS["warning"][2]};
}}
QFrame[role="finding"][state="info"] {{
    background: {COLOURS["info"][1]}; border-color: {COLOURS["info"][2]};
}}
QTableWidget {{ font-size: {BASE_POINT_SIZE}pt; gridline-color: #9e9e9e; }}
QHeaderView::section {{ font-weight: bold; padding: 4px; }}
QFrame[role="settings"] {{ border-bottom: 1px solid #9e9e9e; }}
QFrame[role="settings"][state="warning"] {{
    background: {COLOURS["warning"][1]}; border-bottom: 3px solid {COLOURS["warning"][2]};
}}
QLabel[role="settings"] {{ font-size: {BASE_POINT_SIZE}pt; }}
QLineEdit:disabled, QComboBox:disabled {{
    color: #000000; background: #f0f0f0; border: 2px dashed #6b6b6b;
}}
QFrame[role="strip"] {{ background: #f4f6f9; border-bottom: 1px solid #9e9e9e; }}
QLabel[role="strip-user"] {{ font-size: {BASE_POINT_SIZE + 1}pt; color: #000000; }}
QLabel[role="strip-record"] {{
    font-size: {BASE_POINT_SIZE + 2}pt; font-weight: bold; color: #000000;
}}
QPushButton[role="strip"] {{
    font-size: {BASE_POINT_SIZE + 1}pt; min-height: 38px; padding: 2px 10px;
}}
QFrame[role="record-banner"] {{
    background: {COLOURS["info"][1]}; border: 3px solid {COLOURS["info"][0]}; border-radius: 4px;
}}
QFrame[role="record-banner"][state="correcting"] {{
    background: {COLOURS["warning"][1]}; border: 3px dashed {COLOURS["warning"][2]};
}}
QLabel[role="record-banner-text"] {{
    font-size: {BANNER_POINT_SIZE - 2}pt; font-weight: bold; color: {COLOURS["info"][0]};
}}
QLabel[role="record-banner-text"][state="correcting"] {{ color: {COLOURS["warning"][0]}; }}
QFrame[role="record-banner"][state="expired"] {{
    background: {COLOURS["error"][1]}; border: 3px solid {COLOURS["error"][2]};
}}
QLabel[role="record-banner-text"][state="expired"] {{ color: {COLOURS["error"][0]}; }}
QLabel[role="record-banner-detail"] {{ font-size: {BASE_POINT_SIZE}pt; color: #000000; }}
QFrame[role="record-panel"] {{
    border: 1px solid #9e9e9e; border-radius: 4px; background: #fafafa;
}}
QLabel[role="record-lines"] {{ font-size: {BASE_POINT_SIZE}pt; color: #000000; }}
QWidget[role="cover"] {{ background: #e9edf2; }}
QLabel[role="cover-title"] {{ font-size: {INSTRUCTION_POINT_SIZE + 2}pt; font-weight: bold; }}
QLabel[role="cover-text"] {{ font-size: {BASE_POINT_SIZE + 2}pt; color: #000000; }}
QLabel[role="dialog-title"] {{ font-size: {BANNER_POINT_SIZE}pt; font-weight: bold; }}
QLabel[role="statement"] {{
    font-size: {BASE_POINT_SIZE + 1}pt; color: {COLOURS["info"][0]};
    background: {COLOURS["info"][1]}; border: 2px solid {COLOURS["info"][2]}; padding: 8px;
}}
QLabel[role="hash"] {{ font-family: "DejaVu Sans Mono"; font-size: {BASE_POINT_SIZE + 1}pt; }}
QLabel[role="reasons"] {{
    font-size: {BASE_POINT_SIZE + 1}pt; color: {COLOURS["error"][0]};
    background: {COLOURS["error"][1]}; border: 2px solid {COLOURS["error"][2]}; padding: 6px;
}}
"""


def base_font() -> QFont:
    """The application font: DejaVu Sans (or the platform sans serif) at 11 pt."""
    font = QFont("DejaVu Sans")
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPointSize(BASE_POINT_SIZE)
    return font


def set_state(widget: QWidget, state: str) -> None:
    """Put ``widget`` in a style state and re-apply the style sheet if it changed."""
    if widget.property("state") == state:
        return
    widget.setProperty("state", state)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def set_role(widget: QWidget, role: str, state: str = "") -> QWidget:
    """Give ``widget`` a style role (and optionally a state); returns the widget."""
    widget.setProperty("role", role)
    if state:
        widget.setProperty("state", state)
    return widget
