"""Tampering is found: any change to a signed record, a signature or an audit row, made with raw
SQL behind the program's back (guards dropped, as a database administrator could), makes
``doseprep audit verify`` fail and name the row."""

from __future__ import annotations

import copy
import sqlite3

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doseprep.store import (
    prepare_record,
    register_print,
    release_record,
    save_draft,
    verify_record,
    verify_store,
)
from doseprep.store.engine import database_url
from doseprep.store.verify import verify_connection
from doseprep.workflow import compute_plan
from tests.doseprep.store.helpers import People, reentry_of, run_cli, unique_din

pw = People.password

SQLITE_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete", "signatures_no_update",
                   "signatures_no_delete", "records_no_delete", "records_signed_immutable",
                   "audit_head_no_delete", "user_keys_no_update", "user_keys_no_delete",
                   *(f"{table}_no_{event}" for table in ("lab_keys", "lab_key_seals",
                                                         "key_certificates", "store_identity")
                     for event in ("update", "delete")))


def drop_guards(conn: sa.Connection) -> None:
    """Remove the database-level guards, as someone with full control of the database could."""
    if conn.dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table in ("audit_log", "signatures", "records", "audit_head", "user_keys",
                      "lab_keys", "lab_key_seals", "key_certificates", "store_identity"):
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")


@pytest.fixture
def signed(store, people, base_request):
    """A store with a released record, a corrected draft of another and some prints."""
    record = save_draft(store, compute_plan(base_request), people.tech)
    prepare_record(store, record.record_id, people.tech, pw(people.tech))
    verify_record(store, record.record_id, people.sup, pw(people.sup), reentry_of(base_request))
    released = release_record(store, record.record_id, people.sup2, pw(people.sup2))
    register_print(store, record.record_id, people.tech)
    other = copy.deepcopy(base_request)
    other["patient"]["id"] = "MRN-777"
    other["product"]["din"] = unique_din(777)  # another patient's product
    draft = save_draft(store, compute_plan(other), people.tech2)
    assert verify_store(store).ok
    with store.read() as conn:
        audit_rows = conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar_one()
        sig_ids = conn.exec_driver_sql("SELECT id FROM signatures ORDER BY id").scalars().all()
        key_ids = conn.exec_driver_sql("SELECT id FROM user_keys ORDER BY id").scalars().all()
        user_ids = conn.exec_driver_sql("SELECT user_id FROM users ORDER BY user_id"
                                        ).scalars().all()
        certificate_ids = conn.exec_driver_sql("SELECT id FROM key_certificates ORDER BY id"
                                               ).scalars().all()
    return {"record": released, "draft": draft, "audit_rows": audit_rows, "sig_ids": sig_ids,
            "key_ids": key_ids, "user_ids": user_ids, "certificate_ids": certificate_ids}


def _change_one_character(text: str, position: int, replacement: str) -> str:
    position %= len(text)
    if text[position] == replacement:
        replacement = "Y" if replacement != "Y" else "Z"
    return text[:position] + replacement + text[position + 1:]


TARGETS = [
    ("records", "request_json"), ("records", "plan_json"), ("records", "patient_mrn"),
    ("records", "patient_name"), ("records", "din"), ("records", "protocol_fingerprint"),
    ("signatures", "printed_name"), ("signatures", "signed_at_utc"),
    ("signatures", "record_hash"), ("signatures", "signature_hash"), ("signatures", "meaning"),
    ("signatures", "time_zone"), ("audit_log", "at"), ("audit_log", "action"),
    ("audit_log", "new_value"), ("audit_log", "prev_hash"), ("audit_log", "hash"),
    ("audit_log", "user_id"),
    # issue 10: the digital signatures, the keys and the accounts
    ("signatures", "digital_signature"), ("user_keys", "public_key"),
    ("user_keys", "certificate"), ("user_keys", "certified_by"), ("user_keys", "created_at"),
    ("users", "password_hash"), ("users", "role"), ("users", "printed_name"),
    # issue 25: the lab key, the certificates it issued, the lock times, the store's identity
    ("users", "locked_at"), ("users", "last_failed_at"), ("users", "terminal_failed_at"),
    ("key_certificates", "certificate"), ("lab_keys", "certificate"),
    ("lab_keys", "fingerprint"), ("store_identity", "identity"),
]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(TARGETS), which=st.integers(min_value=0, max_value=10_000),
       position=st.integers(min_value=0, max_value=100_000),
       replacement=st.characters(min_codepoint=0x20, max_codepoint=0x7E))
def test_any_changed_character_is_found_and_the_row_named(store, signed, target, which,
                                                          position, replacement):
    table, column = target
    if table == "records":
        key, row = "id", signed["record"].pk
    elif table == "signatures":
        key, row = "id", signed["sig_ids"][which % len(signed["sig_ids"])]
    elif table == "user_keys":
        key, row = "id", signed["key_ids"][which % len(signed["key_ids"])]
    elif table == "users":
        key, row = "user_id", signed["user_ids"][which % len(signed["user_ids"])]
    elif table == "key_certificates":
        key, row = "id", signed["certificate_ids"][which % len(signed["certificate_ids"])]
    elif table in ("lab_keys", "store_identity"):
        key, row = "id", 1
    else:
        key, row = "seq", 1 + which % signed["audit_rows"]
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            drop_guards(conn)
            old = conn.execute(sa.text(f"SELECT {column} FROM {table} WHERE {key} = :row"),
                               {"row": row}).scalar_one()
            if old is None:  # e.g. no user on a row: give it one
                old = ""
            new = _change_one_character(old, position, replacement) if old else "X"
            conn.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {key} = :row"),
                         {"new": new, "row": row})
            report = verify_connection(conn)
        finally:
            transaction.rollback()
    assert report.problem is not None, (table, column, row)
    assert report.problem.table == table, report.problem
    assert report.problem.row.split(" ")[0] == str(row), report.problem
    assert verify_store(store).ok  # rolled back: the real database is untouched


def _commit_tamper(store, statement: str, **params) -> None:
    with store.write() as conn:
        drop_guards(conn)
        conn.execute(sa.text(statement), params)


def _verify_cli():
    return run_cli("audit", "verify")


def test_verify_cli_reports_ok_with_the_row_count(store, signed):
    done = _verify_cli()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"audit trail OK: {signed['audit_rows']} rows")


def test_verify_cli_names_an_altered_signed_record(store, signed):
    pk = signed["record"].pk
    _commit_tamper(store, "UPDATE records SET request_json = replace(request_json, '70 kg', "
                          "'75 kg') WHERE id = :pk", pk=pk)
    done = _verify_cli()
    assert done.returncode == 1
    assert done.stdout.startswith(f"audit trail BROKEN: records row {pk} "
                                  f"({signed['record'].record_id}/v1)"), done.stdout
    assert "does not match the hash signed" in done.stdout


def test_verify_cli_names_an_altered_signature(store, signed):
    sig = signed["sig_ids"][1]
    _commit_tamper(store, "UPDATE signatures SET printed_name = 'SOMEONE, ELSE' WHERE id = :id",
                   id=sig)
    done = _verify_cli()
    assert done.returncode == 1
    assert done.stdout.startswith(f"audit trail BROKEN: signatures row {sig} "), done.stdout


def test_verify_cli_names_an_altered_audit_row(store, signed):
    _commit_tamper(store, "UPDATE audit_log SET user_id = 'nobody' WHERE seq = 3")
    done = _verify_cli()
    assert done.returncode == 1
    assert done.stdout == ("audit trail BROKEN: audit_log row 3: its content does not match its "
                           "hash (the row was altered).\n")


def test_a_removed_audit_row_is_found(store, signed):
    _commit_tamper(store, "DELETE FROM audit_log WHERE seq = 4")
    report = verify_store(store)
    assert report.problem is not None and report.problem.row == "5"
    assert "missing" in report.problem.message


def test_rows_cut_off_the_end_are_found(store, signed):
    last = signed["audit_rows"]
    _commit_tamper(store, "DELETE FROM audit_log WHERE seq = :seq", seq=last)
    report = verify_store(store)
    assert report.problem is not None and report.problem.row == str(last)
    assert "removed from the end" in report.problem.message


def test_a_forged_state_is_found(store, signed):
    pk = signed["record"].pk
    _commit_tamper(store, "UPDATE records SET state = 'verified' WHERE id = :pk", pk=pk)
    report = verify_store(store)
    assert report.problem is not None and report.problem.table == "records"
    assert "state says verified but its signatures say released" in report.problem.message


def test_an_altered_draft_is_found(store, signed):
    pk = signed["draft"].pk
    _commit_tamper(store, "UPDATE records SET patient_mrn = 'MRN-778' WHERE id = :pk", pk=pk)
    report = verify_store(store)
    assert report.problem is not None and report.problem.row.startswith(f"{pk} ")
    assert "last audited save" in report.problem.message


def test_a_removed_signature_is_found(store, signed):
    _commit_tamper(store, "DELETE FROM signatures WHERE id = :id", id=signed["sig_ids"][-1])
    report = verify_store(store)
    assert report.problem is not None and report.problem.table == "records"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_bytes_that_are_not_text_are_found_on_sqlite(store, signed):
    path = database_url().removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        for name in SQLITE_TRIGGERS:
            raw.execute(f"DROP TRIGGER IF EXISTS {name}")
        raw.execute("UPDATE audit_log SET reason = CAST(x'ff41' AS TEXT) WHERE seq = 2")
    report = verify_store(store)
    assert report.problem is not None
    assert (report.problem.table, report.problem.row) == ("audit_log", "2")
    done = _verify_cli()
    assert done.returncode == 1 and "audit_log row 2" in done.stdout
