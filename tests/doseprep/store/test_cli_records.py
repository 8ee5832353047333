"""``doseprep record|users|audit`` as a user runs them: real processes, real databases, exit codes,
one line per problem and never a traceback."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.doseprep.store.helpers import People, current, reentry_of, run_cli

pw = People.password


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str], status: int = 2) -> str:
    assert done.returncode == status, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def files(tmp_path: Path, base_request: dict) -> dict[str, Path]:
    base_request = current(base_request)  # signed through the real command now: not expired
    request = tmp_path / "request.json"
    request.write_text(json.dumps(base_request), encoding="utf-8")
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(base_request)), encoding="utf-8")
    return {"request": request, "reentry": reentry}


def add_users() -> None:
    ok(run_cli("users", "add", "admin", "--name", "ADMIN, ANN", "--role", "administrator",
               "--password-stdin", stdin=pw("admin") + "\n"))
    for user_id, name, role in (("tech", "TECH, TOM", "technician"),
                                ("sup", "SUPERVISOR, SUE", "supervisor")):
        ok(run_cli("users", "add", user_id, "--name", name, "--role", role, "--admin", "admin",
                   "--password-stdin", stdin=f"{pw('admin')}\n{pw(user_id)}\n"))


def test_first_start_asks_for_an_administrator(backend, files):
    line = refused(run_cli("record", "save", str(files["request"]), user="tech"))
    assert line.startswith("doseprep: no administrator account exists yet; create one first: "
                           "doseprep users add ID --name \"LAST, First\" --role administrator")
    assert "doseprep users add" in ok(run_cli("users", "list"))
    line = refused(run_cli("users", "add", "tech", "--name", "T", "--role", "technician",
                           "--password-stdin", stdin="password123\n"))
    assert "no administrator account exists yet" in line


def test_user_management_needs_an_administrators_password(backend):
    add_users()
    line = refused(run_cli("users", "add", "eve", "--name", "EVE", "--role", "technician",
                           "--admin", "admin", "--password-stdin",
                           stdin="wrong-password\npassword123\n"))
    assert line == "doseprep: administrator sign-in refused: wrong user id or password."
    line = refused(run_cli("users", "add", "eve", "--name", "EVE", "--role", "technician",
                           "--password-stdin", stdin="password123\n"))
    assert "--admin" in line
    line = refused(run_cli("users", "add", "eve", "--name", "EVE", "--role", "technician",
                           "--admin", "admin", "--password-stdin",
                           stdin=f"{pw('admin')}\nshort\n"))
    assert "at least 8 characters" in line
    ok(run_cli("users", "disable", "tech", "--admin", "admin", "--reason", "left",
               "--password-stdin", stdin=pw("admin") + "\n"))
    listed = json.loads(ok(run_cli("users", "list", "--json", user="admin")))
    assert {u["user_id"]: u["disabled"] for u in listed} == {"admin": False, "sup": False,
                                                              "tech": True}


def test_passwords_are_never_read_without_a_terminal_or_stdin(people, files):
    record_id = ok(run_cli("record", "save", str(files["request"]), user="tech")).strip()
    line = refused(run_cli("record", "prepare", record_id, "--user", "tech", stdin=""))
    assert "no terminal to ask for the password" in line and "--password-stdin" in line


def test_the_whole_workflow_from_the_command_line(people, files, tmp_path, base_request):
    record_id = ok(run_cli("record", "save", str(files["request"]), user="tech")).strip()
    assert record_id.startswith("PREP-") and len(record_id) == len("PREP-2026-000001")

    line = refused(run_cli("record", "prepare", record_id, "--user", "tech", "--password-stdin",
                           stdin="not-my-password\n"))
    assert line == "doseprep: signature refused: wrong user id or password."
    out = ok(run_cli("record", "prepare", record_id, "--user", "tech", "--password-stdin",
                     stdin=pw("tech") + "\n"))
    assert out.startswith(f"{record_id}/v1 prepared: Prepared by TECH, TOM (tech) ")

    wrong = reentry_of(base_request)
    wrong["product"]["wbc"] = "10 x10^3/uL"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(wrong), encoding="utf-8")
    line = refused(run_cli("record", "verify", record_id, "--user", "sup", "--reentry", str(bad),
                           "--password-stdin", stdin=pw("sup") + "\n"))
    assert line.startswith("doseprep: verification stopped: the re-entered value of product.wbc "
                           "does not match")
    del wrong["product"]["wbc"]
    bad.write_text(json.dumps(wrong), encoding="utf-8")
    line = refused(run_cli("record", "verify", record_id, "--user", "sup", "--reentry", str(bad),
                           "--password-stdin", stdin=pw("sup") + "\n"))
    assert line == "doseprep: reentry.product.wbc: Re-enter the WBC count."
    ok(run_cli("record", "verify", record_id, "--user", "sup", "--reentry",
               str(files["reentry"]), "--password-stdin", stdin=pw("sup") + "\n"))
    ok(run_cli("record", "release", record_id, "--user", "sup", "--password-stdin",
               stdin=pw("sup") + "\n"))

    line = refused(run_cli("record", "correct", record_id, "--reason", "", str(files["request"]),
                           "--user", "tech"))  # refused before any password is asked
    assert "needs a reason" in line
    v2 = ok(run_cli("record", "correct", record_id, "--reason", "WBC re-counted",
                    str(files["request"]), user="tech")).strip()
    assert v2 == f"{record_id}/v2"

    shown = json.loads(ok(run_cli("record", "show", f"{record_id}/v1", "--json", user="sup")))
    assert shown["state"] == "released" and shown["superseded_by"] == v2
    assert [s["meaning"] for s in shown["signatures"]] == ["Prepared by", "Verified by",
                                                          "Released by"]
    assert shown["plan"]["withdraw_volume_mL"] == 1.8
    text = ok(run_cli("record", "show", record_id, user="sup"))
    assert f"Record    {v2}  (DRAFT)" in text and "Corrects  " in text

    listed = json.loads(ok(run_cli("record", "list", "--mrn", "MRN-000123", "--json",
                                   user="sup")))
    assert [r["ref"] for r in listed] == [v2]
    assert ok(run_cli("record", "list", "--mrn", "nobody", user="sup")) == "No records match.\n"
    assert "audit trail OK" in ok(run_cli("audit", "verify"))

    export = tmp_path / "audit.csv"
    ok(run_cli("audit", "export", "-o", str(export), user="sup"))
    rows = list(csv.DictReader(export.open(encoding="utf-8")))
    actions = [r["action"] for r in rows]
    assert actions.count("record_sign") == 3 and "record_correct" in actions
    assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1))
    again = list(csv.reader(ok(run_cli("audit", "export", user="sup")).splitlines()))
    assert again[-1][3] == "audit_export"  # the first export is itself in the trail
    assert "audit trail OK" in ok(run_cli("audit", "verify"))


def test_lockout_from_the_command_line(store, people, files):
    from doseprep.store import SignatureRefusedError, authenticate

    record_id = ok(run_cli("record", "save", str(files["request"]), user="tech")).strip()
    for _ in range(4):
        with pytest.raises(SignatureRefusedError):
            authenticate(store, "tech", "wrong-password")
    line = refused(run_cli("record", "prepare", record_id, "--user", "tech", "--password-stdin",
                           stdin="wrong-password\n"))
    assert line.startswith("doseprep: signature refused: the account tech is locked after 5 "
                           "wrong passwords in a row, until ")  # for a period, not for good
    assert "(doseprep users reset-password tech)" in line
    line = refused(run_cli("record", "prepare", record_id, "--user", "tech", "--password-stdin",
                           stdin=pw("tech") + "\n"))
    assert "doseprep users reset-password tech" in line
    ok(run_cli("users", "reset-password", "tech", "--admin", "admin", "--password-stdin",
               stdin=f"{pw('admin')}\nbrand-new-pw\n"))
    ok(run_cli("record", "prepare", record_id, "--user", "tech", "--password-stdin",
               stdin="brand-new-pw\n"))


def test_input_problems_exit_2_with_one_line(people, files, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    line = refused(run_cli("record", "save", str(broken), user="tech"))
    assert line.startswith("doseprep: request: ") and "not valid JSON" in line
    line = refused(run_cli("record", "save", str(files["request"]), user="ghost"))
    assert "wrong user id or password" in line  # never says which of the two
    assert "is not a record id" in refused(run_cli("record", "show", "PREP-12", user="tech"))
    assert "there is no record" in refused(run_cli("record", "show", "PREP-2026-999999",
                                                  user="tech"))
    assert "not a date" in refused(run_cli("record", "list", "--since", "yesterday",
                                          user="tech"))


def test_an_unreachable_database_is_one_line_and_status_69(files):
    done = run_cli("record", "list", "--user", "tech", env={
        "DOSEPREP_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    line = refused(done, status=69)
    assert line.startswith("doseprep: cannot open the record database "
                           "postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_plan_does_not_load_the_database_or_password_libraries(files):
    code = ("import sys; from doseprep.cli import main; "
            f"status = main(['plan', {str(files['request'])!r}, '--json']); "
            "heavy = sorted(m for m in ('sqlalchemy', 'argon2', 'alembic', 'psycopg') "
            "if m in sys.modules); print(heavy, file=sys.stderr); sys.exit(status or len(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
