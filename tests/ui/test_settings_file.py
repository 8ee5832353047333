"""The window uses settings.toml's lab_file, and refuses to compute — never falls back to the
example lab — when the file it names is missing (issue 9)."""

from __future__ import annotations

import os
from pathlib import Path

from doseprep.protocol import default_lab_path
from tests.conftest import load_case
from tests.ui.conftest import type_request


def settings(text: str) -> None:
    folder = Path(os.environ["DOSEPREP_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.toml").write_text(text, encoding="utf-8")


def test_the_window_uses_the_lab_file_setting(qtbot, make_window, tmp_path: Path) -> None:
    lab = tmp_path / "our-lab.toml"
    lab.write_text(default_lab_path().read_text(encoding="utf-8")
                   .replace('name = "Cell Therapy Laboratory"', 'name = "Our Own Lab"'),
                   encoding="utf-8")
    settings(f'lab_file = "{lab}"\n')
    window = make_window()
    assert window.lab.name == "Our Own Lab"
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.flush()
    assert window.current_plan.lab.name == "Our Own Lab"
    assert "Our Own Lab" in window.settings_panel.lab_label.text()


def test_a_missing_lab_file_setting_stops_the_calculation(qtbot, make_window,
                                                          tmp_path: Path) -> None:
    settings(f'lab_file = "{tmp_path / "gone.toml"}"\n')
    window = make_window()
    assert window.lab is None
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    window.flush()
    assert window.current_plan is None
    banner = window.plan_view.banner
    assert "Lab settings cannot be used" in banner.headline.text()
    assert "lab_file" in banner.detail.text() and "gone.toml" in banner.detail.text()
    assert not window.preview_button.isEnabled() and not window.labels_button.isEnabled()
