"""The protocol and lab settings in use are always on screen, and others can be opened."""

from __future__ import annotations

from pathlib import Path

from doseprep.protocol import load_lab, load_protocol
from doseprep.resources import resource_path
from tests.conftest import approve_in_store, load_case
from tests.ui.conftest import DialogStub, type_request

COARSE_LAB = Path(__file__).parents[1] / "doseprep" / "coarse_lab.toml"


def protocol_copy(tmp_path: Path, name: str, *changes: tuple[str, str]) -> Path:
    text = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_protocol_in_use_is_shown_with_its_fingerprint(qtbot, window) -> None:
    window.flush()
    protocol = load_protocol()
    lab = load_lab()
    panel = window.settings_panel
    text = panel.protocol_label.text()
    assert protocol.title in text
    assert f"version <b>{protocol.version}</b>" in text
    assert "NOT APPROVED" in text
    assert protocol.fingerprint[:12] in text and protocol.fingerprint[:13] not in text
    assert panel.property("state") == "warning"
    assert lab.name in panel.lab_label.text() and lab.fingerprint[:12] in panel.lab_label.text()
    assert "NOT APPROVED" in panel.accessibleDescription()


def test_another_protocol_file_can_be_opened(qtbot, window, tmp_path: Path,
                                             dialog_stub: DialogStub) -> None:
    path = protocol_copy(tmp_path, "six-levels.toml", ("DL5 = 1.0e7", "DL5 = 1.0e7\nDL6 = 2.0e7"),
                         ('version = "0.1-example"', 'version = "0.2-test"'),
                         ("approved = false", "approved = true"))
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    dialog_stub.open_paths.append(path)
    window.open_protocol()
    window.flush()
    assert window.form.fields["protocol"].text() == str(path)
    levels = window.form.fields["order.dose_level"].editor
    assert levels.itemData(levels.count() - 1) == "DL6"
    assert window.form.fields["order.dose_level"].text() == "DL3", "the order is kept"
    assert window.current_plan.protocol.version == "0.2-test"
    assert "0.2-test" in window.settings_panel.protocol_label.text()
    # The file says approved = true: its author's intention, not an approval.
    assert "NOT APPROVED" in window.settings_panel.protocol_label.text()
    approve_in_store(path)
    assert window.records.session.store is not None
    window.reload_approvals()
    assert window.current_plan.protocol.approved
    assert "approved for clinical use" in window.settings_panel.protocol_label.text()
    assert window.settings_panel.property("state") == "ok"


def test_a_protocol_file_that_cannot_be_used_is_refused_with_its_reason(
        qtbot, window, tmp_path: Path, dialog_stub: DialogStub) -> None:
    path = protocol_copy(tmp_path, "bad.toml", ("tolerance_percent = 10", "tolerance_percent = -1"))
    dialog_stub.open_paths.append(path)
    dialog_stub.allow_messages = True
    window.open_protocol()
    (message,) = dialog_stub.messages
    assert "tolerance_percent" in message["informative"]
    assert window.form.fields["protocol"].text() == "hmct-blinatumomab"


def test_another_lab_file_changes_the_syringes(qtbot, window, dialog_stub: DialogStub) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    assert window.current_plan.syringe.capacity.magnitude == 3
    dialog_stub.open_paths.append(COARSE_LAB)
    window.open_lab()
    window.flush()
    coarse = load_lab(COARSE_LAB)
    assert window.current_plan.lab.fingerprint == coarse.fingerprint
    assert window.current_plan.syringe.capacity != load_lab().syringes[1].capacity
    assert coarse.fingerprint[:12] in window.settings_panel.lab_label.text()
    window.use_lab(None)
    window.flush()
    assert window.current_plan.syringe.capacity.magnitude == 3


def test_a_protocol_given_on_the_command_line_is_offered(make_window, tmp_path: Path) -> None:
    path = protocol_copy(tmp_path, "mine.toml", ('version = "0.1-example"', 'version = "9"'))
    window = make_window(protocol_ref=str(path))
    window.flush()
    assert window.form.fields["protocol"].text() == str(path)
    assert "version <b>9</b>" in window.settings_panel.protocol_label.text()


def test_the_strip_says_the_lab_file_is_unapproved_until_it_is(qtbot, window) -> None:
    """Issue 22: the protocol approved alone is not enough; the strip names the lab file as the
    one not approved, in the domain's words, and turns ok once both are approved."""
    from doseprep.store import approve_lab, open_store
    from tests.conftest import APPROVER

    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    approve_in_store("hmct-blinatumomab", lab=COARSE_LAB)  # the coarse lab, not the bundled one
    assert window.records.session.store is not None
    window.reload_approvals()
    panel = window.settings_panel
    assert "approved for clinical use" in panel.protocol_label.text()
    assert "NOT APPROVED" in panel.lab_label.text()
    assert panel.property("state") == "warning"
    assert "lab settings file" in panel.toolTip() and "Protocol" not in panel.toolTip()
    assert "lab settings file" in window.print_note.text()
    with open_store() as store:
        approve_lab(store, load_lab(), APPROVER[0], APPROVER[2])
    window.reload_approvals()
    assert "NOT APPROVED" not in panel.lab_label.text()
    assert "approved for clinical use" in panel.lab_label.text()
    assert panel.property("state") == "ok" and panel.toolTip() == ""
