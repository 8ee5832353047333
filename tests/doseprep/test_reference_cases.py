"""Every reference case from the independent implementation, reproduced exactly.

The expected values are copied from ``shared/reference-cases`` and never edited. Values after
rounding (volumes and counts the technician acts on) must agree to a relative 1e-9, values before
rounding to 1e-6. Each case is checked twice: in-process through the domain, and through the real
``doseprep plan --json`` command in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from doseprep.errors import InputError
from doseprep.plans.fresh import plan
from doseprep.plans.fresh_report import plan_to_dict
from doseprep.protocol import load_lab, load_protocol
from doseprep.request import parse_request
from tests.conftest import reference_cases

#: Keys whose values come before any rounding (relative 1e-6); every other number: 1e-9.
BEFORE_ROUNDING = {"viable_cd3_per_mL", "total_viable_cd3", "dosing_weight_kg",
                   "target_dose_per_kg", "target_cells", "exact_volume_mL",
                   "max_achievable_dose_per_kg"}

CASES = reference_cases()


def _ids(path: Path) -> str:
    return path.stem


def assert_matches(expected: dict, actual: dict) -> None:
    for key, want in expected.items():
        assert key in actual, f"plan lacks {key}"
        got = actual[key]
        if key == "findings":
            got_pairs = {(f["code"], f["severity"]) for f in got}
            for finding in want:
                assert (finding["code"], finding["severity"]) in got_pairs, finding
            # Anything beyond the listed findings may only be informational.
            listed = {(f["code"], f["severity"]) for f in want}
            assert all(sev == "info" for code, sev in got_pairs - listed), got_pairs - listed
            assert all(f["message"] for f in got)
        elif isinstance(want, float | int) and not isinstance(want, bool):
            rel = 1e-6 if key in BEFORE_ROUNDING else 1e-9
            assert got == pytest.approx(want, rel=rel, abs=1e-12), key
        else:
            assert got == want, key


@pytest.mark.parametrize("path", CASES, ids=_ids)
def test_reference_case_in_process(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    expected = case["expected"]
    if "invalid" in expected:
        def compute() -> None:
            request = parse_request(case["request"])
            plan(request, load_protocol(request.protocol), load_lab())

        with pytest.raises(InputError) as info:
            compute()
        assert info.value.field == expected["invalid"]
        return
    request = parse_request(case["request"])
    result = plan(request, load_protocol(request.protocol), load_lab())
    assert_matches(expected, plan_to_dict(result))


@pytest.mark.parametrize("path", CASES, ids=_ids)
def test_reference_case_through_the_command(path: Path, tmp_path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(case["request"]), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "doseprep", "plan", str(request_file), "--json"],
                          capture_output=True, text=True, timeout=60)
    expected = case["expected"]
    if "invalid" in expected:
        assert done.returncode == 2
        assert json.loads(done.stdout)["error"]["field"] == expected["invalid"]
        assert expected["invalid"] in done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        return
    assert done.returncode == 0, done.stderr
    assert_matches(expected, json.loads(done.stdout))


def test_all_shared_cases_are_copied() -> None:
    """The project's copy holds every shared case, unedited (when shared/ is beside the repo)."""
    shared = Path(__file__).resolve().parents[3] / "shared" / "reference-cases"
    if not shared.is_dir():
        pytest.skip("shared/reference-cases is not beside this checkout")
    for original in shared.glob("*.json"):
        copy = Path(__file__).parents[1] / "reference_cases" / original.name
        assert copy.is_file(), f"{original.name} is not copied into tests/reference_cases"
        assert json.loads(copy.read_text()) == json.loads(original.read_text()), original.name
