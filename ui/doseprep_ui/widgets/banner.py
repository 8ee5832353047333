"""The one banner: an icon, a headline and a detail line, with room for a button at the end.

The plan's status, the record's READ-ONLY and correcting notices and the settings in use are all
this widget with their own style roles, so they look and read alike (issue 11: it was built three
times).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from doseprep_ui.widgets.style import set_role


class IconBanner(QFrame):
    """``icon`` (a square of ``icon_size`` px), ``headline`` over ``detail``; ``roles`` are the
    style roles of the frame, the headline and the detail. ``rich`` makes both lines rich text
    (the caller escapes what it did not write); otherwise the detail is plain text and the
    headline is plain text when ``plain_headline``."""

    def __init__(self, parent: QWidget | None = None, *, roles: tuple[str, str, str],
                 icon_size: int, margins: tuple[int, int, int, int] = (12, 6, 12, 6),
                 spacing: int | None = 2, state: str = "", rich: bool = False,
                 plain_headline: bool = True) -> None:
        super().__init__(parent)
        frame_role, headline_role, detail_role = roles
        set_role(self, frame_role, state)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(*margins)
        self.icon = QLabel(self)
        self.icon.setFixedSize(icon_size, icon_size)
        self.row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        if spacing is not None:
            texts.setSpacing(spacing)
        self.headline = set_role(QLabel(self), headline_role, state)
        self.detail = set_role(QLabel(self), detail_role, state)
        for label in (self.headline, self.detail):
            label.setWordWrap(True)
        text_format = Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText
        self.detail.setTextFormat(text_format)
        if rich or plain_headline:
            self.headline.setTextFormat(text_format)
        texts.addWidget(self.headline)
        texts.addWidget(self.detail)
        self.row.addLayout(texts, 1)

    def add_trailing(self, widget: QWidget) -> None:
        """Put ``widget`` (a button) at the end of the banner, centred vertically."""
        self.row.addWidget(widget, 0, Qt.AlignmentFlag.AlignVCenter)
