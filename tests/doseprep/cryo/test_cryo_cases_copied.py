"""The cryo reference cases (issue 12) are copied from shared/ unedited."""

import json
from pathlib import Path

import pytest

CRYO_DIR = Path(__file__).parents[2] / "reference_cases" / "cryo"


def test_cryo_cases_are_present() -> None:
    names = sorted(p.name for p in CRYO_DIR.glob("c*.json"))
    assert len(names) >= 3, names


def test_all_shared_cryo_cases_are_copied_unedited() -> None:
    shared = Path(__file__).resolve().parents[4] / "shared" / "reference-cases" / "cryo"
    if not shared.is_dir():
        pytest.skip("shared/reference-cases/cryo is not beside this checkout")
    for original in shared.glob("c*.json"):
        copy = CRYO_DIR / original.name
        assert copy.is_file(), f"{original.name} is not copied into tests/reference_cases/cryo"
        assert json.loads(copy.read_text()) == json.loads(original.read_text()), original.name
