"""The window's protocol and lab settings: loading, approvals, choosing files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from doseprep.errors import DoseprepError, SettingsError
from doseprep_ui.widgets import dialogs

if TYPE_CHECKING:
    from doseprep.protocol import LabSettings, Protocol
    from doseprep_ui.form.evaluation import Evaluation

log = logging.getLogger(__name__)


class SettingsActions:
    """Part of :class:`~doseprep_ui.main_window.MainWindow` (its widgets are made there)."""

    # --- settings --------------------------------------------------------------------------

    def protocol(self, ref: str) -> Protocol:
        """The protocol for a reference (bundled id or file), loaded once per session, with the
        record store's approval of its fingerprint once the store is open (only the store can
        approve a protocol; the file's own flag is its author's intention)."""
        if ref not in self._protocols:
            from doseprep.protocol import load_protocol  # with pint: after the first paint

            self._protocols[ref] = self._with_approval(load_protocol(ref))
            log.info("protocol %s loaded from %s", ref, self._protocols[ref].source)
        return self._protocols[ref]

    def _with_approval(self, protocol: Protocol) -> Protocol:
        session = self.records.session
        if not session.is_open:
            return protocol
        from doseprep.store import with_approval

        try:
            return with_approval(session.store, protocol)
        except DoseprepError as exc:
            log.error("protocol approval not read: %s", exc)
            return protocol

    def _with_lab_approval(self, lab: LabSettings) -> LabSettings:
        """The lab settings with the store's approval of their fingerprint once the store is
        open (a document is clinical only when the lab file is approved too, issue 22)."""
        session = self.records.session
        if not session.is_open:
            return lab
        from doseprep.store import with_lab_approval

        try:
            return with_lab_approval(session.store, lab)
        except DoseprepError as exc:
            log.error("lab approval not read: %s", exc)
            return lab

    def reload_approvals(self) -> None:
        """Read the protocols' and the lab file's approvals again (the store opened, or an
        approval was made)."""
        self._protocols.clear()
        if self.lab is not None:
            self.lab = self._with_lab_approval(self.lab)
        self.recompute()

    def _add_protocol_choice(self, ref: str) -> None:
        label = f"{Path(ref).name} (file)" if ref.endswith(".toml") else ref
        self._choices = [c for c in self._choices if c[0] != ref] + [(ref, label)]

    def _set_lab(self, path: str | None, *, quiet: bool = False) -> bool:
        try:
            from doseprep.protocol import load_lab

            lab = load_lab(path or None)
        except SettingsError as exc:
            log.warning("lab settings not loaded: %s", exc)
            if not quiet:
                dialogs.inform(self, icon=dialogs.Icon.Warning, title="Lab settings not loaded",
                               text="These lab settings cannot be used.",
                               informative=f"{exc}\n\nThe settings in use are unchanged.")
            else:
                self._lab_problem = str(exc)
            return False
        self.lab, self.lab_path = self._with_lab_approval(lab), str(path or "")
        return True

    def use_lab(self, path: str | None) -> None:
        """Use the lab settings in ``path`` (None: the bundled ones) and recompute."""
        if self._set_lab(path):
            self.statusBar().showMessage(f"Lab settings: {self.lab.name} ({self.lab.source})",
                                         8000)
            self._changed()

    def open_protocol(self) -> None:
        path = dialogs.open_file(self, "Open protocol file", "Protocol settings (*.toml)")
        if path is None:
            return
        ref = str(path)
        self._protocols.pop(ref, None)
        try:
            self.protocol(ref)
        except SettingsError as exc:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Protocol not loaded",
                           text="This protocol file cannot be used.",
                           informative=f"{exc}\n\nThe protocol in use is unchanged.")
            return
        self._add_protocol_choice(ref)
        self.form.set_protocol_choices(self._choices)
        self.form.fields["protocol"].set_text(ref)

    def open_lab(self) -> None:
        path = dialogs.open_file(self, "Open lab settings file", "Lab settings (*.toml)")
        if path is not None:
            self.use_lab(str(path))

    def _show_settings(self, evaluation: Evaluation) -> None:
        protocol = evaluation.protocol
        problem = evaluation.errors.get("protocol", "") if protocol is None else ""
        key = (protocol and protocol.fingerprint, protocol and protocol.source,
               protocol and protocol.approved,
               self.lab and self.lab.fingerprint, self.lab and self.lab.source,
               self.lab and self.lab.approved, problem)
        if key != self._shown_settings:
            self._shown_settings = key
            self.settings_panel.show_settings(protocol, self.lab, problem)
