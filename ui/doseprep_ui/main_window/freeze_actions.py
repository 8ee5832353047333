"""The main window's cycle-2 modes: the freeze tab (a freeze plan saved as a record), the thaw tab
(a frozen bag from the inventory thawed under a thaw record, then infused or discarded), and a
saved freeze or thaw record shown in its tab (signed through the same record strip and history
as any record)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from doseprep.errors import DoseprepError
from doseprep_ui.widgets import dialogs

if TYPE_CHECKING:
    from doseprep_ui.freeze.panel import FreezePanel
    from doseprep_ui.freeze.thaw_panel import ThawPanel

log = logging.getLogger(__name__)

FRESH_TAB, FREEZE_TAB, THAW_TAB = 0, 1, 2


class FreezeActions:
    """Part of :class:`~doseprep_ui.main_window.MainWindow`."""

    def _build_freeze_panel(self) -> FreezePanel:
        from doseprep_ui.freeze.panel import FreezePanel

        self.freeze_panel = FreezePanel(lambda: self.lab_path or None, self, clock=self.clock)
        self.freeze_panel.save_button.clicked.connect(self.save_freeze_record)
        return self.freeze_panel

    def _build_thaw_panel(self) -> ThawPanel:
        from doseprep_ui.freeze.thaw_panel import ThawPanel

        self.thaw_panel = ThawPanel(lambda: self.lab_path or None, self._inventory_store, self,
                                    clock=self.clock)
        self.thaw_panel.save_button.clicked.connect(self.save_thaw_record)
        self.thaw_panel.infuse_button.clicked.connect(self.infuse_bag)
        self.thaw_panel.discard_button.clicked.connect(self.discard_bag)
        self.thaw_panel.recomputed.connect(self.update_bag_actions)
        return self.thaw_panel

    def _inventory_store(self) -> Any:
        """The record store while someone is logged in and the window is not covered."""
        session = self.records.session
        if session.user is None or self.cover_mode:
            return None
        try:
            return session.store
        except DoseprepError as exc:
            log.warning("inventory not available: %s", exc)
            return None

    def show_freeze_mode(self) -> None:
        self.modes.setCurrentIndex(FREEZE_TAB)

    def show_thaw_mode(self) -> None:
        self.modes.setCurrentIndex(THAW_TAB)

    def _mode_changed(self, index: int) -> None:
        if index == THAW_TAB and self.thaw_panel.shown_record is None:
            self.thaw_panel.refresh_bags()  # the inventory may have changed meanwhile
            self.thaw_panel.changed()

    def show_fresh_mode(self) -> None:
        self.modes.setCurrentIndex(FRESH_TAB)

    def save_freeze_record(self) -> Any:
        """Save the freeze panel's plan as a draft record of the person logged in."""
        panel = self.freeze_panel
        panel.recompute()
        saved = self._save_cycle2(panel.plan_object, "freeze plan")
        if saved is not None:
            panel.set_read_only(True)
        return saved

    def save_thaw_record(self) -> Any:
        """Save the thaw panel's plan (its bag checked again by the store) as a draft record."""
        panel = self.thaw_panel
        panel.recompute()
        saved = self._save_cycle2(panel.plan_object, "thaw plan")
        if saved is not None:
            self.show_cryo_record(saved, blind=False)
        return saved

    def _save_cycle2(self, plan: Any, what: str) -> Any:
        from doseprep.store import save_draft

        records = self.records
        user = records.session.user
        if plan is None or user is None or self.cover_mode:
            if user is None:
                self.statusBar().showMessage(f"Log in to save the {what} as a record.", 8000)
            elif plan is None:  # computed again just now: what changed is listed in the tab
                self.statusBar().showMessage(f"Nothing saved: the {what} cannot be made as it "
                                             "stands; see the fields listed.", 10000)
            return None
        try:
            saved = save_draft(records.session.store, plan, user.user_id)
        except DoseprepError as exc:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Record not saved",
                           text=exc.message, informative=f"The {what} is kept as typed.")
            return None
        records.record = saved
        records.correction_reason = None
        records.blind_hold = False
        records.refresh()
        self.statusBar().showMessage(f"Saved {saved.ref} ({saved.kind}) as a draft.", 10000)
        return saved

    def show_cryo_record(self, record: Any, *, blind: bool) -> None:
        """Show a saved freeze or thaw record in its tab (its values withheld during a blind
        verification)."""
        panel: Any = self.freeze_panel if record.kind == "freeze" else self.thaw_panel
        self.modes.setCurrentIndex(FREEZE_TAB if record.kind == "freeze" else THAW_TAB)
        if not blind and not self.form.has_user_input() and not self.form.fields[
                "protocol"].text():
            self._reset_form()  # emptied for a blind re-entry: its defaults again
        if blind:
            self.clear_for_blind()
        elif record.kind == "freeze":
            panel.load(record.request)
            panel.recompute()
            panel.shown_record = record
            panel.follow_clock()
        else:
            from doseprep.workflow import stored_plan

            try:
                plan = stored_plan(record, lab=self.lab_path or None,
                                   store=self.records.session.store)
            except DoseprepError as exc:
                panel.clear()
                panel.status.setText(f"{record.ref} cannot be shown: {exc}")
            else:
                panel.show_record(record, plan)
        panel.set_read_only(True)
        self.update_bag_actions()

    def clear_for_blind(self) -> None:
        """A record waits for this person's blind re-entry: no tab shows any values — its own
        tab, and neither the other tabs (a freeze record of the same DIN, the form of the fresh
        preparation of the same collection; issue 21)."""
        self.form.set_raw({})
        self.freeze_panel.clear()
        self.thaw_panel.clear()

    # --- the bag of the thaw record shown ------------------------------------------------

    def _shown_bag(self) -> Any:
        """The inventory entry of the bag the thaw tab is about (a shown thaw record's, or the
        bag chosen for a new thaw), or None."""
        panel = self.thaw_panel
        ref = panel.chosen_bag()
        if not ref or self.records.blind_hold:
            return None
        store = self._inventory_store()
        if store is None:
            return None
        from doseprep.store.inventory import get_aliquot  # the store loads once it is needed

        try:
            return get_aliquot(store, ref)
        except DoseprepError:
            return None

    def update_bag_actions(self) -> None:
        """Enable Infuse for a thawed bag whose thaw record is released and latest, Discard
        for a frozen or thawed bag; say why not in the tooltip."""
        from doseprep.signoff import State

        if not self.content_ready:  # the records strip refreshes while the window is built
            return
        panel = self.thaw_panel
        user = self.records.session.user
        user_id = user.user_id if user is not None and not self.cover_mode else None
        if user_id != self._thaw_user:  # logged in or out: the bags and refusals change
            self._thaw_user = user_id
            if panel.shown_record is None:
                panel.refresh_bags()
                panel.changed()
        bag = self._shown_bag()
        record = panel.shown_record
        state = bag.state.value if bag is not None else None
        released = (record is not None and self.records.record is not None
                    and self.records.record.record_id == record.record_id
                    and self.records.record.state is State.RELEASED
                    and self.records.record.superseded_by is None)
        panel.show_bag(bag)
        expiry = panel.expiry  # at the window clock's instant, as the tab shows it
        infuse = state == "thawed" and released and expiry is None
        panel.infuse_button.setEnabled(infuse)
        panel.infuse_button.setToolTip(
            "Record that this bag was infused into the patient." if infuse else
            f"{expiry.headline}: {expiry.message}" if expiry is not None else
            "A bag is infused once thawed under a thaw record that is released"
            + (f"; {bag.ref} is {state}." if bag is not None else "."))
        discard = state in ("frozen", "thawed")
        panel.discard_button.setEnabled(discard)
        panel.discard_button.setToolTip(
            f"Discard {bag.ref}, with the reason." if discard and bag is not None else
            "Open a thaw record, or choose a bag, to discard it.")

    def infuse_bag(self) -> Any:
        """Record the infusion of the shown thaw record's bag, after the technician confirms
        the bag and patient named."""
        from doseprep.store.inventory import infuse

        bag, user = self._shown_bag(), self.records.session.user
        if bag is None or user is None:
            return None
        answer = dialogs.choose(
            self, title="Record the infusion", icon=dialogs.Icon.Question,
            text=f"Record that bag {bag.ref} (DIN {bag.din}, {bag.dose_level}) was infused into "
                 f"{bag.patient_name}, MRN {bag.patient_mrn}?",
            informative="Check the bag label against the patient's wristband first. This is "
                        "recorded under your name in the audit trail and cannot be undone.",
            choices=(("infuse", "Record the infusion"), ("cancel", "Cancel")),
            default="cancel", escape="cancel")
        if answer != "infuse":
            return None
        self.thaw_panel.follow_clock()  # the moment the confirmation was given, not before
        expiry = self.thaw_panel.expiry
        if expiry is not None:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Infusion not recorded",
                           text=f"{expiry.headline}: {expiry.message}",
                           informative="Nothing was recorded.")
            self.update_bag_actions()
            return None
        try:
            done = infuse(self.records.session.store, bag.ref, user.user_id,
                          now=self.clock.now())
        except DoseprepError as exc:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Infusion not recorded",
                           text=exc.message, informative="Nothing was recorded.")
            self.update_bag_actions()
            return None
        self.thaw_panel.refresh_bags()
        self.update_bag_actions()
        self.statusBar().showMessage(f"{done.ref} recorded as infused.", 10000)
        return done

    def discard_bag(self) -> Any:
        """Discard the bag the thaw tab is about, with the reason asked for."""
        from doseprep.store.inventory import discard
        from doseprep_ui.records.sign_dialogs import DiscardDialog

        bag, user = self._shown_bag(), self.records.session.user
        if bag is None or user is None:
            return None
        dialog = DiscardDialog(bag.ref, bag.state.value, self)
        accepted = dialogs.run_dialog(dialog)
        reason = dialog.text()
        dialog.deleteLater()
        if not accepted or not reason:
            return None
        try:
            done = discard(self.records.session.store, bag.ref, user.user_id, reason)
        except DoseprepError as exc:
            dialogs.inform(self, icon=dialogs.Icon.Warning, title="Bag not discarded",
                           text=exc.message, informative="Nothing was recorded.")
            return None
        self.thaw_panel.refresh_bags()
        self.update_bag_actions()
        if self.thaw_panel.shown_record is None:
            self.thaw_panel.changed()  # the discarded bag can no longer be thawed
        self.statusBar().showMessage(f"{done.ref} discarded: {reason}", 10000)
        return done
