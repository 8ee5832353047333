"""PostgreSQL with least privilege (issue 10): ``doseprep db setup`` makes an owner and an
application role; the whole workflow runs as the application role, and the attacks that switched
the protection off as a privileged user (``session_replication_role = replica``, ``DISABLE
TRIGGER``, deleting or updating audit rows, changing a role) are refused to it.

Runs only when ``DOSEPREP_TEST_POSTGRES_URL`` names a server where the test may create roles.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import load_case
from tests.doseprep.store.helpers import People, current, reentry_of, run_cli

pw = People.password


@pytest.fixture
def roles(postgres_database: str | None, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[tuple[str, str, str, str, str]]:
    """A least-privilege set-up in the throwaway database; yields the superuser URL, the
    application URL, and the owner, application and schema names."""
    if postgres_database is None:
        pytest.skip("PostgreSQL role tests need DOSEPREP_TEST_POSTGRES_URL")
    suffix = uuid.uuid4().hex[:8]
    owner, app, schema = f"dp_owner_{suffix}", f"dp_app_{suffix}", f"dp_{suffix}"
    from doseprep.cli.db import setup

    setup(postgres_database, owner, app, schema)
    app_url = make_url(postgres_database).set(username=app).render_as_string(
        hide_password=False)
    monkeypatch.setenv("DOSEPREP_DATABASE_URL", app_url)
    monkeypatch.setenv("DOSEPREP_PASSWORD_HASH_PROFILE", "test")
    try:
        yield postgres_database, app_url, owner, app, schema
    finally:
        admin = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            for role in (app, owner):
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


ATTACKS = [
    "SET session_replication_role = replica",
    "ALTER TABLE audit_log DISABLE TRIGGER USER",
    "ALTER TABLE signatures DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "DELETE FROM audit_log WHERE seq > 1",
    "UPDATE audit_log SET reason = 'rewritten'",
    "TRUNCATE audit_log",
    "UPDATE signatures SET printed_name = 'SOMEONE, ELSE'",
    "DELETE FROM signatures",
    "UPDATE users SET role = 'administrator' WHERE user_id = 'tech'",
    "UPDATE user_keys SET certificate = 'x'",
    "DELETE FROM records",
    "UPDATE records SET patient_name = 'X' WHERE state <> 'draft'",
    "CREATE TABLE side_door (x int)",
    "ALTER TABLE records DROP CONSTRAINT uq_records_record_id_version",
]


@pytest.mark.postgres
def test_the_application_role_works_and_cannot_switch_the_protection_off(
        roles, tmp_path) -> None:
    import json

    from doseprep.store import add_user, open_store, verify_store

    _, app_url, _owner, app, _schema = roles
    with open_store() as store:
        assert store.engine.url.username == app
        add_user(store, "admin", "ADMIN, ANN", "administrator", pw("admin"))
        for user_id, name, role in (("tech", "TECH, TOM", "technician"),
                                    ("sup", "SUPERVISOR, SUE", "supervisor")):
            add_user(store, user_id, name, role, pw(user_id), admin_id="admin",
                     admin_password=pw("admin"))
    request = current(load_case("v01-basic-dl3")["request"])
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
    saved = run_cli("record", "save", str(request_file), user="tech")
    assert saved.returncode == 0, saved.stderr
    record_id = saved.stdout.split()[0]
    for step, user, extra in (("prepare", "tech", ()), ("verify", "sup",
                                                         ("--reentry", str(reentry))),
                              ("release", "sup", ())):
        done = run_cli("record", step, record_id, "--user", user, "--password-stdin", *extra,
                       stdin=pw(user) + "\n")
        assert done.returncode == 0, done.stderr

    engine = sa.create_engine(app_url)
    refused = []
    try:
        for attack in ATTACKS:
            with engine.connect() as conn:
                try:
                    conn.exec_driver_sql(attack)
                    conn.commit()
                except sa.exc.DBAPIError as exc:
                    refused.append((attack, str(exc.orig).splitlines()[0]))
                    conn.rollback()
    finally:
        engine.dispose()
    assert [a for a, _ in refused] == ATTACKS, "every attack must be refused"
    reasons = dict(refused)
    assert "permission denied" in reasons["SET session_replication_role = replica"]
    assert "must be owner" in reasons["ALTER TABLE audit_log DISABLE TRIGGER USER"]
    assert "permission denied" in reasons["DELETE FROM audit_log WHERE seq > 1"]
    with open_store() as store:
        assert verify_store(store).ok


def test_db_roles_prints_reviewable_sql_and_refuses_odd_names() -> None:
    shown = run_cli("db", "roles", "--owner", "lab_owner", "--app", "lab_app")
    assert shown.returncode == 0, shown.stderr
    assert "CREATE ROLE lab_app LOGIN NOSUPERUSER" in shown.stdout
    assert "GRANT SELECT ON doseprep.audit_log TO lab_app;" in shown.stdout
    assert "GRANT INSERT ON doseprep.audit_log TO lab_app;" in shown.stdout
    assert "GRANT UPDATE ON doseprep.audit_log" not in shown.stdout
    assert "GRANT UPDATE (failed_attempts" in shown.stdout and "role," not in shown.stdout
    bad = run_cli("db", "roles", "--app", "x; DROP TABLE users")
    assert bad.returncode == 2 and "--app" in bad.stderr
