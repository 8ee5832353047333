"""No exit 70 from the record commands that read files (issue 21): ``record save`` given garbled
requests, and ``record verify --reentry`` given garbled blind re-entries, end in a saved record,
a signature, or a refusal naming what is wrong (exit 2) — never an internal error, a traceback or
a crash file; and a refusal saves or signs nothing. Thousands with DOSEPREP_FUZZ_EXAMPLES; a
quick run by default (each accepted document costs a password check and a database write)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseprep.paths import data_dir
from doseprep.store import get_record, list_records, open_store, prepare_record, save_draft
from doseprep.workflow import compute_plan
from tests.conftest import load_case
from tests.doseprep.inprocess import Run, run_main
from tests.doseprep.junk_json import examples, garbled
from tests.doseprep.store.helpers import People, reentry_of, with_din

pw = People.password
FUZZ = settings(max_examples=examples(30), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
REQUEST = load_case("v01-basic-dl3")["request"]  # signed at the tests' clock (tests/conftest.py)
FREEZE = json.loads((Path(__file__).parents[2] / "reference_cases" / "cryo"
                     / "c01-freeze-two-aliquots-dl3-dl4.json").read_text("utf-8"))["request"]
REENTRY = reentry_of(REQUEST)


def crash_files() -> set[str]:
    folder = data_dir() / "crashes"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def check(done: Run, crashes_before: set[str]) -> None:
    assert done.code in (0, 2), (done.code, done.err[-2000:])
    assert "Traceback" not in done.err and "internal error" not in done.err, done.err[-2000:]
    if done.code == 2:
        assert done.err.startswith("doseprep: "), done.err[:300]
    assert crash_files() == crashes_before, "a crash file was written"


def count_records() -> int:
    with open_store() as store:
        return len(list_records(store, limit=100_000, all_versions=True))


@FUZZ
@given(text=st.one_of(garbled(REQUEST), garbled(FREEZE)))
def test_record_save_never_fails_inside(people, tmp_path: Path, text: str) -> None:
    path = tmp_path / "request.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    before, crashes = count_records(), crash_files()
    done = run_main("record", "save", str(path), "--user", people.tech, "--password-stdin",
                    stdin=pw(people.tech) + "\n")
    check(done, crashes)
    assert count_records() == before + (1 if done.code == 0 else 0)


@FUZZ
@given(text=garbled(REENTRY))
def test_record_verify_never_fails_inside(people, tmp_path: Path, text: str) -> None:
    with open_store() as store:
        # One collection has one ledger: each example's record is of its own product.
        record = save_draft(store, compute_plan(with_din(REQUEST, count_records() + 1)),
                            people.tech)
        prepare_record(store, record.record_id, people.tech, pw(people.tech))
    path = tmp_path / "reentry.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    crashes = crash_files()
    done = run_main("record", "verify", record.record_id, "--user", people.sup,
                    "--password-stdin", "--reentry", str(path), stdin=pw(people.sup) + "\n")
    check(done, crashes)
    with open_store() as store:
        state = get_record(store, record.record_id).state.value
    assert state == ("verified" if done.code == 0 else "prepared"), (state, done.err)
    if done.code == 2 and "not match" in done.err:
        # A mismatch names fields, never the preparer's values.
        assert all(value not in done.err for value in ("70 kg", "200 mL", "100 x10^3/uL"))
