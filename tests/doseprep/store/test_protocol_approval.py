"""Approval a file cannot grant itself (issue 8, item 7).

A protocol file saying ``approved = true`` of itself once printed documents without NOT FOR
CLINICAL USE, and a request may name any protocol file. Now only an administrator's approval of
the file's exact fingerprint, in the record store, signed with the administrator's password and
audited, makes a protocol clinical; ``audit verify`` finds an approval that doseprep did not make.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep.plans.fresh import not_for_clinical_use
from doseprep.protocol import load_lab, load_protocol
from doseprep.resources import resource_path
from doseprep.store import (
    PermissionDeniedError,
    SignatureRefusedError,
    WorkflowError,
    approve_lab,
    approve_protocol,
    events,
    verify_store,
    with_approval,
)
from doseprep.store.schema import protocol_approvals
from doseprep.workflow import compute_plan
from tests.conftest import load_case
from tests.doseprep.store.helpers import run_cli

TEXT = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")
REQUEST = load_case("v01-basic-dl3")["request"]


def protocol_file(tmp_path: Path, name: str, *changes: tuple[str, str]) -> Path:
    text = TEXT
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_that_approves_itself_stays_not_for_clinical_use(store, people, tmp_path) -> None:
    claims = protocol_file(tmp_path, "claims.toml", ("approved = false", "approved = true"))
    p = compute_plan(REQUEST, str(claims), store=store)
    assert p.protocol.author_approved and not p.protocol.approved
    assert any("not approved" in r for r in not_for_clinical_use(p))
    assert "PROTOCOL_NOT_APPROVED" in {f.code for f in p.findings}


def test_an_administrators_approval_makes_it_clinical_and_is_audited(store, people,
                                                                    tmp_path) -> None:
    path = protocol_file(tmp_path, "v1.toml", ('version = "0.1-example"', 'version = "1.0"'))
    approval = approve_protocol(store, load_protocol(path), people.admin,
                                people.password(people.admin))
    assert approval.printed_name == "ADMIN, ANN"
    p = compute_plan(REQUEST, str(path), store=store)
    assert p.protocol.approved and "PROTOCOL_NOT_APPROVED" not in {f.code for f in p.findings}
    # Clinical only once the lab file is approved too (issue 22).
    (reason,) = not_for_clinical_use(p)
    assert "lab settings file" in reason
    approve_lab(store, load_lab(), people.admin, people.password(people.admin))
    assert not not_for_clinical_use(compute_plan(REQUEST, str(path), store=store))
    (event,) = [e for e in events(store) if e.action == "protocol_approve"]
    assert event.user_id == people.admin
    assert event.new_value["fingerprint"] == load_protocol(path).fingerprint
    assert verify_store(store).ok


def test_editing_an_approved_file_unapproves_it(store, people, tmp_path) -> None:
    path = protocol_file(tmp_path, "v1.toml")
    approve_protocol(store, load_protocol(path), people.admin, people.password(people.admin))
    path.write_text(path.read_text(encoding="utf-8").replace("DL3 = 1.0e6", "DL3 = 1.0e7"),
                    encoding="utf-8")
    assert not with_approval(store, load_protocol(path)).approved


@pytest.mark.parametrize("who", ["tech", "sup"])
def test_only_an_administrator_approves(store, people, who: str) -> None:
    with pytest.raises(PermissionDeniedError):
        approve_protocol(store, load_protocol(), who, people.password(who))
    assert not with_approval(store, load_protocol()).approved


def test_a_wrong_password_approves_nothing_and_is_audited(store, people) -> None:
    with pytest.raises(SignatureRefusedError):
        approve_protocol(store, load_protocol(), people.admin, "not-the-password")
    assert not with_approval(store, load_protocol()).approved
    assert events(store)[-1].action == "auth_failed"


def test_approving_twice_is_refused(store, people) -> None:
    approve_protocol(store, load_protocol(), people.admin, people.password(people.admin))
    with pytest.raises(WorkflowError, match="already approved"):
        approve_protocol(store, load_protocol(), people.admin, people.password(people.admin))


def test_an_approval_written_into_the_database_is_found(store, people) -> None:
    """An insider inserts an approval row with SQL, hash and all, but no audit event."""
    from doseprep.store.protocols import approval_hash

    protocol = load_protocol()
    row = {"fingerprint": protocol.fingerprint, "protocol_id": protocol.id,
           "protocol_version": protocol.version, "title": protocol.title,
           "approved_by": people.admin, "printed_name": "ADMIN, ANN",
           "approved_at": "2026-11-24T00:00:00.000000Z"}
    row["approval_hash"] = approval_hash(row)
    with store.write() as conn:
        conn.execute(protocol_approvals.insert().values(**row))
    report = verify_store(store)
    assert not report.ok
    assert report.problem.table == "protocol_approvals"
    assert "no matching protocol_approve event" in report.problem.message


def test_an_altered_approval_is_found_and_no_longer_counts(store, people, backend) -> None:
    protocol = load_protocol()
    approve_protocol(store, protocol, people.admin, people.password(people.admin))
    with store.write() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("ALTER TABLE protocol_approvals DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER protocol_approvals_no_update")
        conn.execute(sa.update(protocol_approvals).values(printed_name="SOMEONE, ELSE"))
    assert not with_approval(store, protocol).approved
    report = verify_store(store)
    assert not report.ok and "does not match its hash" in report.problem.message


def test_the_table_is_append_only(store, people) -> None:
    approve_protocol(store, load_protocol(), people.admin, people.password(people.admin))
    with pytest.raises(sa.exc.DatabaseError), store.write() as conn:
        conn.execute(sa.delete(protocol_approvals))


def test_the_commands(store, people, tmp_path) -> None:
    path = protocol_file(tmp_path, "v1.toml")
    shown = json.loads(run_cli("protocol", "show", str(path), "--json").stdout)
    assert shown["approved"] is False and shown["author_approved"] is False
    done = run_cli("protocol", "approve", str(path), "--admin", people.tech, "--password-stdin",
                   stdin=people.password(people.tech) + "\n")
    assert done.returncode == 2 and "only an administrator" in done.stderr
    done = run_cli("protocol", "approve", str(path), "--admin", people.admin, "--password-stdin",
                   stdin=people.password(people.admin) + "\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(run_cli("protocol", "show", str(path), "--json").stdout)["approved"]
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REQUEST | {"protocol": str(path)}), encoding="utf-8")
    plan = json.loads(run_cli("plan", str(request), "--json").stdout)
    assert plan["protocol"]["approved"] is True
    assert plan["protocol"]["approval"]["approved_by"] == people.admin
    assert "PROTOCOL_NOT_APPROVED" not in {f["code"] for f in plan["findings"]}
    done = run_cli("protocol", "approve", str(path), "--admin", people.admin, "--password-stdin",
                   stdin=people.password(people.admin) + "\n")
    assert done.returncode == 2 and "already approved" in done.stderr


def test_the_fast_path_hash_is_the_stores_canonical_hash() -> None:
    from doseprep.approvals import CONTENT, MEANING, approval_hash
    from doseprep.store.canonical import content_hash

    row = {key: f"é {key} ×" for key in CONTENT}
    assert approval_hash(row) == content_hash({"meaning": MEANING, **row})


def test_plan_reads_the_approval_without_the_database_libraries(store, people, tmp_path) -> None:
    import subprocess
    import sys

    approve_protocol(store, load_protocol(), people.admin, people.password(people.admin))
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REQUEST), encoding="utf-8")
    code = ("import sys, json; from doseprep.cli import main; "
            f"status = main(['plan', {str(request)!r}, '--json']); "
            "print(sorted(m for m in ('sqlalchemy', 'argon2', 'alembic', 'psycopg') "
            "if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    plan = json.loads(done.stdout)
    if store.dialect == "sqlite":
        assert done.stderr.strip() == "[]"
    assert plan["protocol"]["approved"] is True
