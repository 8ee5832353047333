"""The lab file is approved like the protocol (issue 22, item 1).

Every volume depends on the lab file (syringes, smallest measurable volume, QC reserve, dilutions,
the cryo figures), yet only the protocol was approved and the lab file was named on no document.
Now a document is for clinical use only when both files it was computed with are approved in the
record store, and it prints both fingerprints and approvals. The misuse kept as tests: a
technician approving, a second approval, an approval row written with SQL (hash and all), an
approval altered, a protocol's approval row passed off as a lab's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep.documents.worksheet import render_worksheet
from doseprep.plans.fresh import not_for_clinical_use
from doseprep.protocol import load_lab, load_protocol
from doseprep.resources import resource_path
from doseprep.store import (
    PermissionDeniedError,
    WorkflowError,
    approve_lab,
    approve_protocol,
    events,
    verify_store,
    with_lab_approval,
)
from doseprep.store.schema import lab_approvals
from doseprep.workflow import compute_plan
from tests.conftest import load_case
from tests.doseprep.documents.conftest import page_texts
from tests.doseprep.store.helpers import run_cli

REQUEST = load_case("v01-basic-dl3")["request"]
LAB_TEXT = resource_path("lab.toml").read_text(encoding="utf-8")


def lab_file(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    text = LAB_TEXT
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "our-lab.toml"
    path.write_text(text, encoding="utf-8")
    return path


def admin_pw(people) -> str:
    return people.password(people.admin)


def test_an_unapproved_lab_file_makes_documents_not_for_clinical_use(store, people) -> None:
    approve_protocol(store, load_protocol(), people.admin, admin_pw(people))
    p = compute_plan(REQUEST, store=store)
    assert p.protocol.approved and not p.lab.approved
    (reason,) = not_for_clinical_use(p)
    assert "lab settings file" in reason and p.lab.fingerprint[:16] in reason
    assert "LAB_NOT_APPROVED" in {f.code for f in p.findings}
    first = page_texts(render_worksheet(p))[0]
    assert "NOT FOR CLINICAL USE" in first and "lab settings file" in first
    assert f"Lab file {p.lab.fingerprint[:16]} · NOT APPROVED" in first


def test_both_approved_documents_are_clinical_and_print_both_approvals(store, people) -> None:
    approve_protocol(store, load_protocol(), people.admin, admin_pw(people))
    approve_lab(store, load_lab(), people.admin, admin_pw(people))
    p = compute_plan(REQUEST, store=store)
    assert p.lab.approved and not not_for_clinical_use(p)
    assert {"PROTOCOL_NOT_APPROVED", "LAB_NOT_APPROVED"}.isdisjoint(f.code for f in p.findings)
    text = " ".join(page_texts(render_worksheet(p)))
    assert "NOT FOR CLINICAL USE" not in text
    joined = "".join(text.split())  # a 64-digit fingerprint wraps in its table cell
    assert p.protocol.fingerprint in joined and p.lab.fingerprint in joined
    assert text.count("approved for clinical use by ADMIN, ANN") == 2  # protocol and lab
    (event,) = [e for e in events(store) if e.action == "lab_approve"]
    assert event.user_id == people.admin and event.new_value["fingerprint"] == p.lab.fingerprint
    assert verify_store(store).ok


def test_editing_an_approved_lab_file_unapproves_it(store, people, tmp_path) -> None:
    path = lab_file(tmp_path)
    approve_lab(store, load_lab(path), people.admin, admin_pw(people))
    assert with_lab_approval(store, load_lab(path)).approved
    path.write_text(LAB_TEXT.replace("qc_reserve_mL = 2", "qc_reserve_mL = 1"), encoding="utf-8")
    assert not with_lab_approval(store, load_lab(path)).approved


@pytest.mark.parametrize("who", ["tech", "sup"])
def test_only_an_administrator_approves_a_lab_file(store, people, who: str) -> None:
    with pytest.raises(PermissionDeniedError, match="only an administrator"):
        approve_lab(store, load_lab(), who, people.password(who))
    assert not with_lab_approval(store, load_lab()).approved


def test_approving_a_lab_file_twice_is_refused(store, people) -> None:
    approve_lab(store, load_lab(), people.admin, admin_pw(people))
    with pytest.raises(WorkflowError, match="already approved"):
        approve_lab(store, load_lab(), people.admin, admin_pw(people))


def test_a_lab_approval_written_into_the_database_is_found(store, people) -> None:
    """An insider inserts a lab approval row with SQL, hash and all, but no audit event."""
    from doseprep.store.protocols import approval_hash

    lab = load_lab()
    row = {"fingerprint": lab.fingerprint, "lab_name": lab.name, "approved_by": people.admin,
           "printed_name": "ADMIN, ANN", "approved_at": "2026-11-24T00:00:00.000000Z"}
    row["approval_hash"] = approval_hash(row, "lab")
    with store.write() as conn:
        conn.execute(lab_approvals.insert().values(**row))
    report = verify_store(store)
    assert not report.ok and report.problem.table == "lab_approvals"
    assert "no matching lab_approve event" in report.problem.message


def test_an_altered_lab_approval_no_longer_counts_and_is_found(store, people, backend) -> None:
    approve_lab(store, load_lab(), people.admin, admin_pw(people))
    with store.write() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("ALTER TABLE lab_approvals DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER lab_approvals_no_update")
        conn.execute(sa.update(lab_approvals).values(printed_name="SOMEONE, ELSE"))
    assert not with_lab_approval(store, load_lab()).approved
    report = verify_store(store)
    assert not report.ok and "does not match its hash" in report.problem.message


def test_a_protocol_approval_hash_does_not_pass_for_a_lab_approval() -> None:
    from doseprep.approvals import approval_hash

    row = {"fingerprint": "f" * 64, "lab_name": "x", "protocol_id": "x", "protocol_version": "1",
           "title": "x", "approved_by": "a", "printed_name": "A", "approved_at": "t"}
    assert approval_hash(row, "lab") != approval_hash(row, "protocol")


def test_the_lab_table_is_append_only(store, people) -> None:
    approve_lab(store, load_lab(), people.admin, admin_pw(people))
    with pytest.raises(sa.exc.DatabaseError), store.write() as conn:
        conn.execute(sa.delete(lab_approvals))


def test_the_lab_commands(store, people, tmp_path) -> None:
    path = lab_file(tmp_path, ('name = "Cell Therapy Laboratory"', 'name = "Our CT Lab"'))
    shown = json.loads(run_cli("lab", "show", str(path), "--json").stdout)
    assert shown["approved"] is False and shown["fingerprint"] == load_lab(path).fingerprint
    assert "NOT APPROVED" in run_cli("lab", "show", str(path)).stdout
    done = run_cli("lab", "approve", str(path), "--admin", people.tech, "--password-stdin",
                   stdin=people.password(people.tech) + "\n")
    assert done.returncode == 2 and "only an administrator" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli("lab", "approve", str(path), "--admin", people.admin, "--password-stdin",
                   stdin=admin_pw(people) + "\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(run_cli("lab", "show", str(path), "--json").stdout)["approved"] is True
    listed = json.loads(run_cli("lab", "list", "--json").stdout)
    assert [a["fingerprint"] for a in listed] == [load_lab(path).fingerprint]
    assert load_lab(path).fingerprint in run_cli("lab", "list").stdout
    # The plan made with it says so, and with the protocol approved too it is clinical.
    run_cli("protocol", "approve", "hmct-blinatumomab", "--admin", people.admin,
            "--password-stdin", stdin=admin_pw(people) + "\n")
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REQUEST), encoding="utf-8")
    plan = json.loads(run_cli("plan", str(request), "--json", "--lab", str(path)).stdout)
    assert plan["lab"]["approved"] is True
    assert plan["lab"]["approval"]["approved_by"] == people.admin
    assert {"PROTOCOL_NOT_APPROVED", "LAB_NOT_APPROVED"}.isdisjoint(
        f["code"] for f in plan["findings"])
    unapproved = json.loads(run_cli("plan", str(request), "--json").stdout)  # the bundled lab
    assert "LAB_NOT_APPROVED" in {f["code"] for f in unapproved["findings"]}
    done = run_cli("lab", "approve", str(tmp_path / "missing.toml"), "--admin", people.admin,
                   "--password-stdin", stdin=admin_pw(people) + "\n")
    assert done.returncode == 2 and "missing.toml" in done.stderr
