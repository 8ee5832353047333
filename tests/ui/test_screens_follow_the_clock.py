"""Screens follow the clock (issue 21, item 4), in the real window under the offscreen platform.

A technician and a supervisor drove the window through a day: a form, a released record, a
thaw tab left open past their expiry still said OK and offered the acting buttons; the store
refused the click only after the person had acted on what the screen said. Here the window's one
clock (the store's too) is moved as the window's own timer lives it (``MovingClock.let_pass``):
within 60 s of each expiry every view says INFUSION EXPIRED or PRODUCT EXPIRED and the buttons
that would use the product are disabled with the reason; a sign dialog opened before the expiry
refuses when Sign is pressed after it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from doseprep_ui.main_window import MainWindow
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

import doseprep.store.expiry as expiry_module
from tests.conftest import load_case
from tests.ui.conftest import SHOWS_WINDOW, DialogStub, MovingClock, type_request
from tests.ui.records_helpers import (
    SUP,
    SUP2,
    TECH,
    add_people,
    log_in_as,
    search_history,
    sign_as,
    type_text,
    verify_as,
)
from tests.ui.test_freeze_mode import EXAMPLE, release_freeze_in_window
from tests.ui.test_records_gui import V01_REENTRY
from tests.ui.test_thaw_mode import start_thaw

MINUTE = timedelta(seconds=60)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def headline(window: MainWindow) -> str:
    return window.plan_view.banner.headline.text()


def logged_in(qtbot, make_window, dialog_stub: DialogStub, person=TECH) -> MainWindow:
    add_people(TECH, SUP, SUP2)
    window = make_window()
    dialog_stub.handlers.append(log_in_as(qtbot, person))
    assert window.begin_session(lock_ms=3_600_000)
    return window


def verified_v01(qtbot, make_window, dialog_stub: DialogStub) -> MainWindow:
    """Reference case v01 (prepared 10:00, infusion expiry 14:00 PST) saved and prepared by
    TECH, verified blind by SUP; SUP2 is logged in with the VERIFIED record open."""
    window = logged_in(qtbot, make_window, dialog_stub)
    records = window.records
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    records.save()
    dialog_stub.handlers.append(sign_as(qtbot, TECH))
    assert records.sign("prepare") is not None
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    records.sign_out()
    dialog_stub.handlers.append(verify_as(qtbot, SUP, V01_REENTRY))
    assert records.sign("verify") is not None
    dialog_stub.handlers.append(log_in_as(qtbot, SUP2))
    records.sign_out()
    return window


# --- the fresh form --------------------------------------------------------------------------

@SHOWS_WINDOW
def test_an_unsaved_form_left_open_says_infusion_expired_within_a_minute(
        qtbot, make_window, moving_clock: MovingClock) -> None:
    moving_clock.set("2026-11-23T13:57:00-08:00")
    window = make_window()
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])  # prepared 10:00 typed
    window.flush()
    view = window.plan_view
    assert headline(window) == "OK — ready to prepare"
    assert view.instruction.text().startswith("Draw 1.80 mL")
    assert window.labels_button.isEnabled()

    seen = moving_clock.let_pass(window, 10 * MINUTE,
                                 until=lambda: "EXPIRED" in headline(window))
    assert seen is not None and seen <= at("2026-11-23T14:00:00-08:00") + MINUTE
    assert headline(window) == "INFUSION EXPIRED — do not prepare"
    assert "23 NOV 2026 14:00 PST" in view.banner.detail.text()
    assert view.instruction.text() == "DO NOT PREPARE — INFUSION EXPIRED at 23 NOV 2026 14:00 PST."
    assert "1.80 mL" not in view.instruction.text()
    assert view.result_values["draw"].text() == "none — DO NOT PREPARE"
    assert view.result_values["expires"].text().endswith("— INFUSION EXPIRED")
    for acting in (window.labels_button, window.labels_action):
        assert not acting.isEnabled()
        assert acting.toolTip().startswith("INFUSION EXPIRED: no bag label.")
    assert window.print_labels() is None
    assert window.print_note.text().startswith("INFUSION EXPIRED: no bag label")
    preview = window.preview_worksheet()  # a draft worksheet still says why it is not for use
    qtbot.addWidget(preview)
    assert "INFUSION EXPIRED" in preview.reasons_label.text()
    preview.close()

    # Now sets the preparation time to the real time: a new plan, within its expiry again.
    qtbot.mouseClick(window.form.now_button, Qt.MouseButton.LeftButton)
    window.flush()
    assert headline(window) == "OK — ready to prepare"
    assert window.labels_button.isEnabled()


def test_a_form_following_the_clock_says_product_expired_at_the_products_age(
        qtbot, make_window, moving_clock: MovingClock) -> None:
    """Collected 22 Nov 08:30 PST: at 25 Nov 08:30 the product is 72 h old, whatever time
    "Prepared at" shows."""
    moving_clock.set("2026-11-25T08:27:00-08:00")
    window = make_window()
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.form.follow_the_clock()
    window.flush()
    assert window.form.fields["prepared_at"].text() == "2026-11-25 08:27"
    assert headline(window) == "OK — ready to prepare"
    seen = moving_clock.let_pass(window, 10 * MINUTE,
                                 until=lambda: "EXPIRED" in headline(window))
    assert seen is not None and seen <= at("2026-11-25T08:30:00-08:00") + MINUTE
    assert headline(window) == "PRODUCT EXPIRED — do not prepare"
    assert "maximum age after collection at 25 NOV 2026 08:30 PST" in \
        window.plan_view.banner.detail.text()
    assert window.form.fields["prepared_at"].text() == "2026-11-25 08:37"  # it followed
    assert "PRODUCT_EXPIRED" in [f.code for f in window.current_plan.findings]
    assert not window.labels_button.isEnabled()


def test_prepared_at_is_the_sites_wall_clock_not_this_computers(
        qtbot, make_window, moving_clock: MovingClock, workstation_in_tokyo) -> None:
    """A workstation set to Tokyo time at a Los Angeles site showed (and typed into the request)
    Tokyo's wall clock; in the hour the clocks go back it adds the offset it means."""
    moving_clock.set("2026-11-23T18:00:00+00:00")
    window = make_window()
    prepared = window.form.fields["prepared_at"]
    assert datetime(2026, 11, 23, 18, 0, tzinfo=UTC).astimezone().hour == 3  # Tokyo: 03:00
    assert prepared.text() == "2026-11-23 10:00"
    window.flush()
    assert window.evaluation.notes["prepared_at"] == "Mon 23 Nov 2026, 10:00 (UTC−08:00)"
    moving_clock.set("2026-11-01T08:30:00+00:00")  # 01:30 PDT, the first of two 01:30s
    window.form.follow_the_clock()
    assert prepared.text() == "2026-11-01 01:30-07:00"
    moving_clock.set("2026-11-01T09:30:00+00:00")  # 01:30 PST, an hour later
    window.form.follow_the_clock()
    assert prepared.text() == "2026-11-01 01:30-08:00"
    window.flush()
    assert window.evaluation.notes["prepared_at"] == "Sun 01 Nov 2026, 01:30 (UTC−08:00)"


def test_the_window_clock_wakes_at_the_expiry_itself(
        qtbot, make_window, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real timer, not a simulated one: with a clock running in real time, set a second
    and a half before the expiry, the banner turns without anyone touching the window."""
    window = make_window()
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.flush()
    assert headline(window) == "OK — ready to prepare"
    started, base = datetime.now(UTC), at("2026-11-23T13:59:58.500-08:00")
    monkeypatch.setattr(expiry_module, "expiry_now",
                        lambda: base + (datetime.now(UTC) - started))
    window.clock.tick()  # the computer's clock was set: the next tick sees it
    assert 0 < window.clock.timer.remainingTime() <= 2_000  # aligned to 14:00, not 30 s
    qtbot.waitUntil(lambda: "INFUSION EXPIRED" in headline(window), timeout=10_000)
    assert not window.labels_button.isEnabled()


# --- records ----------------------------------------------------------------------------------

@SHOWS_WINDOW
def test_a_verified_record_left_open_cannot_be_released_after_its_expiry(
        qtbot, make_window, dialog_stub: DialogStub, moving_clock: MovingClock) -> None:
    window = verified_v01(qtbot, make_window, dialog_stub)
    records = window.records
    release = records.strip.release_button
    assert release.isEnabled() and records.actions["release"].isEnabled()
    moving_clock.set("2026-11-23T13:58:00-08:00")  # the afternoon goes by
    seen = moving_clock.let_pass(window, 5 * MINUTE,
                                 until=lambda: not release.isEnabled())
    assert seen is not None and seen <= at("2026-11-23T14:00:00-08:00") + MINUTE
    assert not records.actions["release"].isEnabled()
    assert release.toolTip().startswith("INFUSION EXPIRED: The infusion expired at 23 NOV 2026 "
                                        "14:00 PST: do not infuse it.")
    assert records.strip.record_label.text().endswith("VERIFIED · INFUSION EXPIRED")
    assert headline(window) == f"INFUSION EXPIRED — {records.record.ref} VERIFIED: do not infuse"
    assert records.banner.headline.text().startswith("INFUSION EXPIRED")


@SHOWS_WINDOW
def test_a_sign_dialog_opened_before_the_expiry_refuses_when_signed_after_it(
        qtbot, make_window, dialog_stub: DialogStub, moving_clock: MovingClock) -> None:
    window = verified_v01(qtbot, make_window, dialog_stub)
    records = window.records
    moving_clock.set("2026-11-23T13:59:30-08:00")
    window.clock.tick()
    assert records.strip.release_button.isEnabled()
    seen: dict[str, str] = {}

    def sign_late(dialog: QDialog) -> None:
        assert dialog.objectName() == "sign-dialog" and dialog.meaning == "Released by"
        seen["opened"] = dialog.status_label.text()
        type_text(qtbot, dialog.user_id, SUP2.user_id)
        type_text(qtbot, dialog.password, SUP2.password)
        # The phone rang; Sign is pressed at 14:00:05, before the clock's next tick.
        moving_clock.set("2026-11-23T14:00:05-08:00")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.result() != QDialog.DialogCode.Accepted.value
        seen["refused"] = dialog.error_label.text()
        moving_clock.let_pass(window, MINUTE)  # left open: its status line follows the clock
        seen["later"] = dialog.status_label.text()
        assert not dialog.ok_button.isEnabled()
        dialog.reject()

    dialog_stub.handlers.append(sign_late)
    assert records.sign("release") is None
    assert seen["opened"].startswith("OK") and "expires 23 NOV 2026 14:00 PST" in seen["opened"]
    assert seen["refused"].startswith("Not signed: INFUSION EXPIRED. The infusion expired at "
                                      "23 NOV 2026 14:00 PST")
    assert seen["later"] == "INFUSION EXPIRED at 23 NOV 2026 14:00 PST"
    assert records.record.state.value == "verified"
    assert [s.meaning for s in records.record.signatures] == ["Prepared by", "Verified by"]
    assert not records.strip.release_button.isEnabled()


@SHOWS_WINDOW
def test_a_released_record_left_open_or_reopened_says_infusion_expired(
        qtbot, make_window, dialog_stub: DialogStub, moving_clock: MovingClock) -> None:
    window = verified_v01(qtbot, make_window, dialog_stub)
    records = window.records
    dialog_stub.handlers.append(sign_as(qtbot, SUP2, meaning="Released by"))
    assert records.sign("release") is not None
    ref = records.record.ref
    assert headline(window) == f"RELEASED — {ref}"
    assert window.plan_view.banner.detail.text().endswith("the record is complete.")

    moving_clock.set("2026-11-23T13:58:00-08:00")  # the afternoon goes by
    seen = moving_clock.let_pass(window, 5 * MINUTE,
                                 until=lambda: "EXPIRED" in headline(window))
    assert seen is not None and seen <= at("2026-11-23T14:00:00-08:00") + MINUTE

    def says_expired() -> None:
        assert headline(window) == f"INFUSION EXPIRED — {ref} RELEASED: do not infuse"
        assert "the record is complete" not in window.plan_view.banner.detail.text()
        assert window.plan_view.instruction.text().startswith("DO NOT INFUSE — INFUSION EXPIRED")
        assert records.strip.record_label.text() == f"{ref} — RELEASED · INFUSION EXPIRED"
        assert records.banner.headline.text() == \
            f"INFUSION EXPIRED — {ref} is RELEASED: do not use it"
        assert not window.labels_button.isEnabled()
        assert "without bag labels" in records.strip.print_button.toolTip()

    says_expired()
    # Printed now: the worksheet for the file, saying why; no bag label is offered.
    preview = records.print_record()
    qtbot.addWidget(preview)
    assert preview.companion_buttons == () or not preview.companion_buttons
    assert "INFUSION EXPIRED" in preview.reasons_label.text()
    preview.close()

    # The next morning someone else opens it from the history: EXPIRED, not complete.
    moving_clock.set("2026-11-24T08:00:00-08:00")
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    records.sign_out()
    window.new_form()
    assert records.record is None
    dialog_stub.handlers.append(search_history(qtbot, mrn="MRN-000123"))
    assert records.history() is not None
    says_expired()


# --- the cycle-2 tabs -------------------------------------------------------------------------

def test_a_freeze_tab_left_open_says_product_expired(
        qtbot, window: MainWindow, moving_clock: MovingClock) -> None:
    moving_clock.set("2026-11-25T08:27:00-08:00")  # collected 22 Nov 08:30 PST
    window.show_freeze_mode()
    panel = window.freeze_panel
    panel.load(EXAMPLE)
    panel.recompute()
    assert panel.status.text() == "FREEZE PLAN OK"
    seen = moving_clock.let_pass(window, 10 * MINUTE,
                                 until=lambda: "EXPIRED" in panel.status.text())
    assert seen is not None and seen <= at("2026-11-25T08:30:00-08:00") + MINUTE
    assert panel.status.text().startswith(
        "PRODUCT EXPIRED — The product passed its maximum age after collection at "
        "25 NOV 2026 08:30 PST: do not freeze it.")


@SHOWS_WINDOW
def test_a_released_freeze_record_says_product_expired_at_its_frozen_expiry(
        qtbot, make_window, dialog_stub: DialogStub, moving_clock: MovingClock) -> None:
    window = release_freeze_in_window(qtbot, make_window, dialog_stub)
    panel, records = window.freeze_panel, window.records
    assert panel.status.text() == "FREEZE PLAN OK"
    moving_clock.set("2031-11-21T13:58:00-08:00")  # frozen 22 Nov 2026 14:00 + 1825 days
    seen = moving_clock.let_pass(window, 10 * MINUTE,
                                 until=lambda: "EXPIRED" in panel.status.text())
    assert seen is not None and seen <= at("2031-11-21T14:00:00-08:00") + MINUTE
    assert panel.status.text().startswith("PRODUCT EXPIRED — The frozen bags expired at "
                                          "21 NOV 2031 14:00 PST")
    assert records.strip.record_label.text().endswith("RELEASED · PRODUCT EXPIRED")


@SHOWS_WINDOW
def test_a_thaw_tab_and_a_released_thaw_record_left_open_say_infusion_expired(
        qtbot, make_window, dialog_stub: DialogStub, moving_clock: MovingClock) -> None:
    """Thawed at 11:30: infuse by 12:30 PST. The unsaved thaw tab of bag A0 and the released
    thaw record of bag B0, both left open, turn at 12:30; Record the infusion… is disabled."""
    window = release_freeze_in_window(qtbot, make_window, dialog_stub)
    records, panel = window.records, window.thaw_panel
    freeze_ref = records.record.ref
    dialog_stub.handlers.append(log_in_as(qtbot, TECH))
    records.sign_out()
    start_thaw(qtbot, window, mrn=EXAMPLE["patient"]["id"],
               scan=("=G12341765432100", "=<S12352A0"))
    for key in ("post_thaw.wbc", "post_thaw.sample_dilution", "post_thaw.cd3_percent",
                "post_thaw.viability_percent", "post_thaw.sample_volume"):  # A0 not counted
        panel.fields[key].clear()
    panel.recompute()
    assert panel.status.text().startswith("THAW PLAN")
    assert "EXPIRED" not in panel.status.text()
    moving_clock.set("2026-11-23T12:29:00-08:00")
    seen = moving_clock.let_pass(window, 10 * MINUTE,
                                 until=lambda: "EXPIRED" in panel.status.text())
    assert seen is not None and seen <= at("2026-11-23T12:30:00-08:00") + MINUTE
    assert panel.status.text().startswith("INFUSION EXPIRED — This thaw plan's infuse-by time, "
                                          "23 NOV 2026 12:30 PST, has passed")
    assert panel.summary.text().startswith("Do not infuse")

    # B0 thawed, verified and released before 12:30; the record is left open on the tab.
    moving_clock.set("2026-11-23T12:00:00-08:00")
    start_thaw(qtbot, window, mrn=EXAMPLE["patient"]["id"],
               scan=("=G12341765432100", "=<S12352B0"))
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    thaw = records.record
    dialog_stub.handlers.append(sign_as(qtbot, TECH, meaning="Prepared by"))
    qtbot.mouseClick(records.strip.prepare_button, Qt.MouseButton.LeftButton)
    dialog_stub.handlers.append(log_in_as(qtbot, SUP))
    records.sign_out()
    records.open_record(thaw.ref)
    dialog_stub.handlers.append(verify_as(qtbot, SUP, {
        "patient.weight": "70 kg", "aliquot.din": "G123417654321A", "aliquot.division": "B0",
        "post_thaw.wbc": "43 x10^3/uL", "post_thaw.sample_dilution": "1",
        "post_thaw.cd3_percent": "40", "post_thaw.viability_percent": "85",
        "post_thaw.sample_volume": "1 mL"}))
    qtbot.mouseClick(records.strip.verify_button, Qt.MouseButton.LeftButton)
    dialog_stub.handlers.append(log_in_as(qtbot, SUP2))
    records.sign_out()
    records.open_record(thaw.ref)
    dialog_stub.handlers.append(sign_as(qtbot, SUP2, meaning="Released by"))
    qtbot.mouseClick(records.strip.release_button, Qt.MouseButton.LeftButton)
    assert records.record.state.value == "released"
    assert panel.status.text() == "THAW PLAN OK" and panel.infuse_button.isEnabled()

    moving_clock.set("2026-11-23T12:28:00-08:00")
    seen = moving_clock.let_pass(window, 5 * MINUTE,
                                 until=lambda: not panel.infuse_button.isEnabled())
    assert seen is not None and seen <= at("2026-11-23T12:30:00-08:00") + MINUTE
    assert panel.status.text().startswith("INFUSION EXPIRED — The thawed bag had to be infused "
                                          "by 23 NOV 2026 12:30 PST: do not infuse it")
    assert panel.summary.text().startswith("Do not infuse")
    assert panel.infuse_button.toolTip().startswith("INFUSION EXPIRED: ")
    assert panel.discard_button.isEnabled()  # what is left to do with it
    assert records.strip.record_label.text().endswith("RELEASED · INFUSION EXPIRED")
    assert f"{freeze_ref}:B0" in panel.bag_note.text()
