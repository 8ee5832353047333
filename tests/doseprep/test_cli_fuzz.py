"""No exit 70 (issue 21): garbled requests — a hundred per command by default (about 17 s of CPU
with the record commands' fuzz), thousands with DOSEPREP_FUZZ_EXAMPLES=2000 — given to ``doseprep
plan``, ``freeze`` and ``thaw`` (with and without ``--json``, from a file and from standard input)
each end in a plan (exit 0) or an input error naming a field (exit 2): never an internal error,
never a traceback, never a crash file. The documents are valid requests mutated as
tests/doseprep/junk_json.py describes. Before issue 21's fixes its default run found exit 70 (a
5000-digit number, which Python's int() refuses inside the JSON reader; a protocol too long to be a
file name); a bigger run found an unpaired surrogate, fixed since.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseprep.paths import data_dir
from tests.conftest import load_case
from tests.doseprep.inprocess import Run, run_main
from tests.doseprep.junk_json import examples, garbled

CRYO = Path(__file__).parents[1] / "reference_cases" / "cryo"
FRESH = load_case("v01-basic-dl3")["request"]
FREEZE = json.loads((CRYO / "c01-freeze-two-aliquots-dl3-dl4.json").read_text("utf-8"))["request"]
THAW = json.loads((CRYO / "c03-thaw-b0-with-post-thaw-count.json").read_text("utf-8"))["request"]
FUZZ = settings(max_examples=examples(100), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def crash_files() -> set[str]:
    folder = data_dir() / "crashes"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def check(done: Run, as_json: bool, crashes_before: set[str]) -> None:
    """A plan or an input error, said in one line each; nothing else."""
    assert done.code in (0, 2), (done.code, done.err[-2000:])
    assert "Traceback" not in done.err and "internal error" not in done.err, done.err[-2000:]
    if done.code == 2:
        assert done.err.startswith("doseprep: "), done.err[:300]
        if as_json:
            error = json.loads(done.out)["error"]
            assert error["field"] and error["message"]
    elif as_json:
        assert json.loads(done.out)["status"] in ("ok", "warning", "blocked")
    assert crash_files() == crashes_before, "a crash file was written"


def fuzz(command: str, text: str, as_json: bool, tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    before = crash_files()
    check(run_main(command, str(path), *(["--json"] if as_json else [])), as_json, before)


@FUZZ
@given(text=garbled(FRESH), as_json=st.booleans())
def test_plan_never_fails_inside(tmp_path: Path, text: str, as_json: bool) -> None:
    fuzz("plan", text, as_json, tmp_path)


@FUZZ
@given(text=garbled(FREEZE), as_json=st.booleans())
def test_freeze_never_fails_inside(tmp_path: Path, text: str, as_json: bool) -> None:
    fuzz("freeze", text, as_json, tmp_path)


@FUZZ
@given(text=garbled(THAW), as_json=st.booleans())
def test_thaw_never_fails_inside(tmp_path: Path, text: str, as_json: bool) -> None:
    fuzz("thaw", text, as_json, tmp_path)


@FUZZ
@given(text=st.one_of(garbled(FRESH), garbled(FREEZE), garbled(THAW)), as_json=st.booleans())
def test_standard_input_is_read_the_same_way(text: str, as_json: bool) -> None:
    command = "plan" if '"kind"' not in text else "thaw" if "thaw" in text else "freeze"
    before = crash_files()
    check(run_main(command, "-", *(["--json"] if as_json else []), stdin=text), as_json, before)
