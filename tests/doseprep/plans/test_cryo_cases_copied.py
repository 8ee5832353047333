"""The cryo reference cases (issue 12) are copied from shared/ unedited; a case that
shared/reference-cases/revision-3/ holds supersedes its cryo/ original (the thaw follows DESIGN.md
"Revision 3": the post-thaw sample is not infused, and every thaw plan says whether its dose is
estimated), so its copy is compared with the revision-3 file."""

import json
from pathlib import Path

import pytest

CRYO_DIR = Path(__file__).parents[2] / "reference_cases" / "cryo"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "reference-cases"


def test_cryo_cases_are_present() -> None:
    names = sorted(p.name for p in CRYO_DIR.glob("c*.json"))
    assert len(names) >= 3, names


def test_all_shared_cryo_cases_are_copied_unedited() -> None:
    if not (SHARED / "cryo").is_dir():
        pytest.skip("shared/reference-cases/cryo is not beside this checkout")
    for original in (SHARED / "cryo").glob("c*.json"):
        superseding = SHARED / "revision-3" / original.name
        source = superseding if superseding.is_file() else original
        copy = CRYO_DIR / original.name
        assert copy.is_file(), f"{original.name} is not copied into tests/reference_cases/cryo"
        assert json.loads(copy.read_text()) == json.loads(source.read_text()), original.name


def test_the_thaw_case_is_the_revision_3_one() -> None:
    """c03 is the revision-3 case: a post-thaw sample of 1 mL, 23 mL infused."""
    case = json.loads((CRYO_DIR / "c03-thaw-b0-with-post-thaw-count.json").read_text())
    assert case["request"]["post_thaw"]["sample_volume"] == "1 mL"
    assert case["expected"]["infused_volume_mL"] == 23.0
    assert case["expected"]["dose_estimated"] is False
