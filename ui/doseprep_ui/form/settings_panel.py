"""The strip at the top of the window naming the protocol and lab settings in use.

Every calculation depends on two files, so the window always says which: the protocol's title,
version, approval and the first 12 hex digits of its fingerprint (as the worksheet prints them),
and the lab's name, approval and fingerprint, each with the file it came from. An unapproved
protocol or lab file turns the strip amber with a warning icon and the words "NOT APPROVED —
documents are marked NOT FOR CLINICAL USE" beside the one that is not approved, with the domain's
reason (:func:`doseprep.plans.fresh.settings_not_approved`) as its tooltip, so it cannot be
overlooked.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QWidget

from doseprep.protocol import LabSettings, Protocol
from doseprep_ui.widgets.banner import IconBanner
from doseprep_ui.widgets.icons import status_pixmap
from doseprep_ui.widgets.style import set_state

FINGERPRINT_DIGITS = 12


class SettingsPanel(IconBanner):
    """Shows the protocol (or why it cannot be used) and the lab settings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, roles=("settings", "settings", "settings"), icon_size=32,
                         rich=True)
        self.setObjectName("settings-panel")
        self.protocol_label, self.lab_label = self.headline, self.detail
        for label in (self.protocol_label, self.lab_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.approved: bool | None = None

    def show_settings(self, protocol: Protocol | None, lab: LabSettings | None,
                      protocol_problem: str = "") -> None:
        """Show the settings in use; ``protocol_problem`` when the protocol cannot be loaded."""
        if protocol is None:
            self.approved = None
            self.protocol_label.setText(
                f"<b>Protocol: none usable.</b> {_escape(protocol_problem)}")
            state = "warning"
        else:
            self.approved = protocol.approved
            approval = ("approved for clinical use" if protocol.approved else
                        "<b>NOT APPROVED — documents are marked NOT FOR CLINICAL USE</b>")
            self.protocol_label.setText(
                f"<b>Protocol:</b> {_escape(protocol.title)} — version "
                f"<b>{_escape(protocol.version)}</b> — {approval} — fingerprint "
                f"<tt>{protocol.fingerprint[:FINGERPRINT_DIGITS]}</tt>"
                f"<br><small>{_escape(protocol.source)}</small>")
            state = "ok" if protocol.approved else "warning"
        if lab is None:
            self.lab_label.setText("<b>Lab settings:</b> none loaded.")
        else:
            example = (" — <b>facility FIN and product code: EXAMPLE — not your lab's</b>"
                       if lab.example_facility else "")
            approval = ("approved for clinical use" if lab.approved else
                        "<b>NOT APPROVED — documents are marked NOT FOR CLINICAL USE</b>")
            self.lab_label.setText(
                f"<b>Lab settings:</b> {_escape(lab.name)}{example} — {approval} — fingerprint "
                f"<tt>{lab.fingerprint[:FINGERPRINT_DIGITS]}</tt> "
                f"<small>({_escape(lab.source)})</small>")
            if not lab.approved:
                state = "warning"
        if protocol is not None and lab is not None:
            from doseprep.plans.fresh import settings_not_approved

            self.setToolTip("\n".join(settings_not_approved(protocol, lab)))
        set_state(self, state)
        self.icon.setPixmap(status_pixmap("ok" if state == "ok" else "warning", 32))
        self.setAccessibleName("Protocol and lab settings")
        plain = f"{self.protocol_label.text()} {self.lab_label.text()}"
        self.setAccessibleDescription(QTextDocumentFragment.fromHtml(plain).toPlainText())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
