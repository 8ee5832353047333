"""Nothing typed is lost: drafts are saved while typing, offered after a crash, and closing
with unsaved work asks first."""

from __future__ import annotations

import gc
import json

import shiboken6

from doseprep import drafts
from tests.conftest import load_case
from tests.ui.conftest import SHOWS_WINDOW, DialogStub, type_request

TIMEOUT = 3000


def test_typing_saves_a_draft_of_the_raw_text(qtbot, window) -> None:
    window.offer_draft()  # nothing to offer; drafts start now
    with qtbot.waitSignal(window.draft_saved, timeout=TIMEOUT) as saved:
        qtbot.keyClicks(window.form.fields["patient.weight"].editor, "165 lb")
    assert saved.args[0] == str(drafts.draft_path())
    body = json.loads(drafts.draft_path().read_text(encoding="utf-8"))
    assert body["fields"]["patient.weight"] == "165 lb"
    assert body["fields"]["protocol"] == "hmct-blinatumomab"


def test_no_draft_is_written_before_the_restore_question_is_answered(qtbot, window) -> None:
    drafts.save({"patient.weight": "71 kg"})
    qtbot.keyClicks(window.form.fields["patient.name"].editor, "SOMEONE")
    window.save_draft()  # as the timer would
    assert drafts.load().fields == {"patient.weight": "71 kg"}


def test_the_form_is_restored_after_a_crash(qtbot, make_window, dialog_stub: DialogStub) -> None:
    first = make_window()
    first.offer_draft()
    type_request(qtbot, first, load_case("v02-weight-in-pounds")["request"])
    first.form.fields["product.abo_rh"].set_text("O NEG")
    typed = first.form.raw()
    qtbot.waitUntil(lambda: (drafts.load() or drafts.Draft({}, None)).fields == typed,
                    timeout=TIMEOUT)
    shiboken6.delete(first)  # the process dies: no close event, nothing cleaned up
    del first
    gc.collect()

    second = make_window()
    dialog_stub.answers.append("restore")
    assert second.offer_draft() is True
    (question,) = dialog_stub.questions
    assert question["text"].startswith("Restore the unsaved form from ")
    assert "DOE, JANE" in question["informative"]
    assert second.form.raw() == typed
    assert second.current_plan is not None
    assert second.current_plan.request.patient.weight.text == "165 lb"


def test_discarding_the_offered_draft_deletes_it(qtbot, window, dialog_stub: DialogStub) -> None:
    drafts.save({"patient.weight": "71 kg", "patient.name": "DOE, JANE"})
    dialog_stub.answers.append("discard")
    assert window.offer_draft() is False
    assert drafts.load() is None
    assert window.form.fields["patient.weight"].text() == ""


def test_the_lab_settings_of_the_draft_come_back_too(qtbot, make_window, tmp_path,
                                                     dialog_stub: DialogStub) -> None:
    from tests.ui.test_settings import COARSE_LAB

    drafts.save({"patient.weight": "71 kg"}, extra={"lab": str(COARSE_LAB)})
    window = make_window()
    dialog_stub.answers.append("restore")
    window.offer_draft()
    assert window.lab.name == "Coarse Test Lab"


@SHOWS_WINDOW
def test_closing_with_unsaved_work_asks(qtbot, window, dialog_stub: DialogStub) -> None:
    window.offer_draft()
    qtbot.keyClicks(window.form.fields["patient.weight"].editor, "70 kg")
    window.show()
    dialog_stub.answers.append("cancel")
    assert window.close() is False
    assert window.isVisible()
    assert dialog_stub.questions[-1]["text"] == "The form is not finished."

    dialog_stub.answers.append("keep")
    assert window.close() is True
    assert drafts.load().fields["patient.weight"] == "70 kg"


def test_closing_and_discarding_deletes_the_draft(qtbot, window, dialog_stub: DialogStub) -> None:
    window.offer_draft()
    qtbot.keyClicks(window.form.fields["patient.weight"].editor, "70 kg")
    window.save_draft()
    assert drafts.load() is not None
    dialog_stub.answers.append("discard")
    assert window.close() is True
    assert drafts.load() is None


def test_a_new_form_asks_then_clears_the_form_and_the_draft(qtbot, window,
                                                             dialog_stub: DialogStub) -> None:
    window.offer_draft()
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.save_draft()
    dialog_stub.answers.append("cancel")
    window.new_form()
    assert window.form.fields["patient.weight"].text() == "70 kg"
    dialog_stub.answers.append("clear")
    window.new_form()
    assert not window.form.has_user_input()
    assert drafts.load() is None
    assert window.form.fields["order.dose_level"].text() == ""
    assert window.current_plan is None
