"""The whole life of a preparation through the command line, ending in a signed, verified PDF.

Save → prepare → verify (second person, blind re-entry) → release → print; the worksheet carries
every signature's manifestation and the record hash, `doseprep verify` names the record, a second
print says REPRINT, and the audit trail still verifies. Runs on SQLite and, when configured,
PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import load_case
from tests.doseprep.documents.conftest import decode_barcodes, page_texts
from tests.doseprep.store.helpers import People, current, reentry_of, run_cli


def test_save_sign_release_print_and_verify(people: People, tmp_path: Path) -> None:
    request = current(load_case("v01-basic-dl3")["request"])
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")

    saved = run_cli("record", "save", str(request_file), user=people.tech)
    assert saved.returncode == 0, saved.stderr
    record_id = saved.stdout.split()[0]

    def sign(step: str, user: str, *extra: str) -> None:
        done = run_cli("record", step, record_id, "--user", user, "--password-stdin", *extra,
                       stdin=people.password(user) + "\n")
        assert done.returncode == 0, done.stderr

    sign("prepare", people.tech)
    sign("verify", people.sup, "--reentry", str(reentry))
    sign("release", people.sup)

    worksheet, labels = tmp_path / "w.pdf", tmp_path / "l.pdf"
    first = run_cli("record", "print", record_id, "-o", str(worksheet),
                    "--labels", str(labels), user=people.sup)
    assert first.returncode == 0, first.stderr
    assert "first print" in first.stdout
    text = " ".join(page_texts(worksheet.read_bytes()))
    for value in (f"{record_id}/v1", "RELEASED", "Prepared by", "TECH, TOM (tech)",
                  "SUPERVISOR, SUE (sup)", "Signed electronically", "STATUS: OK"):
        assert value in text, value
    assert "REPRINT" not in text
    assert "=G12341765432100" in decode_barcodes(labels.read_bytes())[0]

    checked = run_cli("verify", str(worksheet), "--json")
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["document_id"] == f"{record_id}/v1"
    assert json.loads(checked.stdout)["signer_user_id"] == people.sup  # the releaser's own key

    again = tmp_path / "w2.pdf"
    # Someone else prints: the releaser types their password to sign it (issue 25).
    second = run_cli("record", "print", record_id, "-o", str(again), user=people.tech,
                     stdin=people.password(people.sup) + "\n")
    assert second.returncode == 0, second.stderr
    assert "REPRINT" in second.stdout
    assert "REPRINT" in page_texts(again.read_bytes())[0]

    audit = run_cli("audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    shown = json.loads(run_cli("record", "show", record_id, "--json", user=people.tech).stdout)
    assert len(shown["prints"]) == 2


def test_printing_an_unknown_record_is_refused(people: People, tmp_path: Path) -> None:
    done = run_cli("record", "print", "PREP-2026-999999", "-o",
                   str(tmp_path / "w.pdf"), user=people.tech)
    assert done.returncode == 2
    assert "PREP-2026-999999" in done.stderr
    assert not (tmp_path / "w.pdf").exists()


def _released(people: People, tmp_path: Path, hours_ago: float = 0.5) -> str:
    request = current(load_case("v01-basic-dl3")["request"], hours_ago=hours_ago)
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
    saved = run_cli("record", "save", str(request_file), user=people.tech)
    record_id = saved.stdout.split()[0]
    for step, user, *extra in (("prepare", people.tech), ("verify", people.sup, "--reentry",
                                                           str(reentry)),
                               ("release", people.sup)):
        done = run_cli("record", step, record_id, "--user", user, "--password-stdin", *extra,
                       stdin=people.password(user) + "\n")
        assert done.returncode == 0, done.stderr
    return record_id


def test_a_print_that_cannot_be_written_is_not_a_print(people: People, tmp_path: Path) -> None:
    """Issue 9: `-o /proc/version` was audited as a print, so the first real print said REPRINT."""
    record_id = _released(people, tmp_path)
    labels = tmp_path / "labels.pdf"
    failed = run_cli("record", "print", record_id, "-o",
                     "/proc/version/worksheet.pdf", "--labels", str(labels), user=people.sup)
    assert failed.returncode == 2 and "cannot write" in failed.stderr, failed.stderr
    assert not labels.exists()
    shown = json.loads(run_cli("record", "show", record_id, "--json", user=people.tech).stdout)
    assert shown["prints"] == []
    worksheet = tmp_path / "w.pdf"
    first = run_cli("record", "print", record_id, "-o", str(worksheet),
                    "--labels", str(labels), user=people.sup)
    assert first.returncode == 0 and "first print" in first.stdout, first.stderr
    assert "REPRINT" not in " ".join(page_texts(worksheet.read_bytes()))
    checked = json.loads(run_cli("verify", str(worksheet), "--json").stdout)
    assert checked["document_id"] == f"{record_id}/v1" and checked["state"] == "RELEASED"
    assert len(checked["signer_sha256"]) == 64
    # The released record's label scans as a product.
    codes = decode_barcodes(labels.read_bytes())[0]
    assert "=<S1234200" in codes


def test_a_disabled_user_cannot_print_and_nothing_is_written(people: People,
                                                             tmp_path: Path) -> None:
    record_id = _released(people, tmp_path)
    done = run_cli("users", "disable", people.tech2, "--admin", people.admin, "--password-stdin",
                   stdin=people.password(people.admin) + "\n")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "w.pdf"
    refused = run_cli("record", "print", record_id, "-o", str(out), user=people.tech2)
    assert refused.returncode == 2 and not out.exists()


def test_an_expired_infusion_gets_no_label_and_no_signature(people: People,
                                                            tmp_path: Path) -> None:
    """Issue 9: a form left open showed OK for an infusion that had expired hours before."""
    request = current(load_case("v01-basic-dl3")["request"], hours_ago=4.5)  # expired at 4 h
    request_file = tmp_path / "late.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    late = run_cli("record", "save", str(request_file), user=people.tech).stdout.split()[0]
    refused = run_cli("record", "prepare", late, "--user", people.tech, "--password-stdin",
                      stdin=people.password(people.tech) + "\n")
    assert refused.returncode == 2 and "INFUSION_EXPIRED" in refused.stderr, refused.stderr
    shown = run_cli("record", "show", late, "--json", user=people.tech).stdout
    assert json.loads(shown)["state"] == "draft"
    labels = tmp_path / "labels.pdf"
    refused = run_cli("record", "print", late, "-o",
                      str(tmp_path / "w.pdf"), "--labels", str(labels), user=people.tech)
    assert refused.returncode == 2 and "INFUSION_EXPIRED" in refused.stderr
    assert not labels.exists() and not (tmp_path / "w.pdf").exists()
    worksheet_only = run_cli("record", "print", late, "-o",
                             str(tmp_path / "w.pdf"), user=people.tech)
    assert worksheet_only.returncode == 0, worksheet_only.stderr  # for the file, marked DRAFT
    assert "DRAFT — NOT FOR USE" in " ".join(page_texts((tmp_path / "w.pdf").read_bytes()))
