"""Blind re-entry on the command line (issue 9): asked on the terminal without showing the stored
values, documented as a file format, and a copy of the request file is not accepted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, load_case
from tests.doseprep.store.helpers import People, converse, current, reentry_of, run_cli

ANSWERS = [("patient weight:", "70 kg"), ("product volume:", "200 mL"),
           ("WBC count:", "100 x10^3/uL"), ("CD3+ percentage:", "40"), ("viability:", "98"),
           ("sample dilution factor:", "1"), ("dose level:", "DL3"), ("DIN:", "G123417654321A")]


def prepared(people: People, tmp_path: Path) -> tuple[str, dict]:
    request = current(load_case("v01-basic-dl3")["request"])
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    record_id = run_cli("record", "save", str(path), user=people.tech).stdout.split()[0]
    done = run_cli("record", "prepare", record_id, "--user", people.tech, "--password-stdin",
                   stdin=people.password(people.tech) + "\n")
    assert done.returncode == 0, done.stderr
    return record_id, request


def test_verify_asks_each_value_on_the_terminal_and_shows_none(people: People,
                                                               tmp_path: Path) -> None:
    record_id, _ = prepared(people, tmp_path)
    answers = [(prompt, value) for prompt, value in ANSWERS]
    answers[2] = ("WBC count:", "10 x10^3/uL")  # a slip: ten times too few
    code, shown = converse(["record", "verify", record_id, "--user", people.sup],
                           [*answers, (f"Password for {people.sup}:", people.password(people.sup))])
    assert code == 2, shown
    assert "product.wbc" in shown.split("Password for")[-1]  # the differing field is named …
    assert "100 x10^3/uL" not in shown  # … never the value the preparer typed
    shown_json = run_cli("record", "show", record_id, "--json", user=people.tech).stdout
    assert json.loads(shown_json)["state"] == "prepared"
    code, shown = converse(["record", "verify", record_id, "--user", people.sup],
                           [*ANSWERS, (f"Password for {people.sup}:",
                                       people.password(people.sup))])
    assert code == 0, shown
    assert "verified" in shown


def test_a_copy_of_the_request_is_not_a_reentry(people: People, tmp_path: Path) -> None:
    record_id, request = prepared(people, tmp_path)
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps(request), encoding="utf-8")
    done = run_cli("record", "verify", record_id, "--user", people.sup, "--reentry", str(copy),
                   "--password-stdin", stdin=people.password(people.sup) + "\n")
    assert done.returncode == 2, done.stderr
    assert "not one of the re-entered values" in done.stderr
    proper = tmp_path / "reentry.json"
    proper.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
    done = run_cli("record", "verify", record_id, "--user", people.sup, "--reentry", str(proper),
                   "--password-stdin", stdin=people.password(people.sup) + "\n")
    assert done.returncode == 0, done.stderr


def test_the_documented_example_is_a_valid_reentry(people: People, tmp_path: Path) -> None:
    request = current(json.loads((ROOT / "resources/examples/request-dl3.json")
                                 .read_text(encoding="utf-8")))
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    record_id = run_cli("record", "save", str(path), user=people.tech).stdout.split()[0]
    run_cli("record", "prepare", record_id, "--user", people.tech, "--password-stdin",
            stdin=people.password(people.tech) + "\n")
    done = run_cli("record", "verify", record_id, "--user", people.sup, "--reentry",
                   str(ROOT / "docs" / "reentry-example.json"), "--password-stdin",
                   stdin=people.password(people.sup) + "\n")
    assert done.returncode == 0, done.stderr


def test_a_broken_reentry_file_is_an_input_error(people: People, tmp_path: Path) -> None:
    record_id, _ = prepared(people, tmp_path)
    for name, content in (("utf.json", b"\xff\xfe{"), ("deep.json", b"[" * 100_000)):
        path = tmp_path / name
        path.write_bytes(content)
        done = run_cli("record", "verify", record_id, "--user", people.sup, "--reentry",
                       str(path), "--password-stdin", stdin="x\n")
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
