"""Fixtures for the record-store suite: every test runs on SQLite and, when configured, PostgreSQL.

``DOSEPREP_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) turns
the PostgreSQL half on: the session creates a throwaway database next to the one named and drops it
at the end; each test gets its own schema in it (through ``search_path``), so tests never see each
other's rows. Without the variable the PostgreSQL half is skipped, and the skip reason says so.

Password hashing uses the documented test profile (``DOSEPREP_PASSWORD_HASH_PROFILE=test``), set
here for the tests and the processes they start; production never sets it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.doseprep.store.helpers import People

POSTGRES_ENV = "DOSEPREP_TEST_POSTGRES_URL"
SKIP_POSTGRES = (f"PostgreSQL store tests need {POSTGRES_ENV} "
                 "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); it is not set")

BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(autouse=True)
def _test_hash_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOSEPREP_PASSWORD_HASH_PROFILE", "test")
    monkeypatch.delenv("DOSEPREP_DATABASE_URL", raising=False)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """A throwaway PostgreSQL database for this test session (its URL), or None."""
    base = os.environ.get(POSTGRES_ENV, "").strip()
    if not base:
        yield None
        return
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"doseprep_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, postgres_database: str | None,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point ``DOSEPREP_DATABASE_URL`` at a fresh database of the parametrized kind.

    SQLite: the default file in the test's data directory (the variable stays unset). PostgreSQL:
    a fresh schema in the session's throwaway database.
    """
    if request.param == "sqlite":
        yield "sqlite"
        return
    if postgres_database is None:
        pytest.skip(SKIP_POSTGRES)
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    monkeypatch.setenv("DOSEPREP_DATABASE_URL",
                       f"{postgres_database}?options=-csearch_path%3D{schema}")
    try:
        yield "postgresql"
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture
def store(backend: str):
    from doseprep.store import open_store

    with open_store() as opened:
        yield opened


@pytest.fixture
def people(store) -> People:
    from doseprep.store import add_user

    p = People()
    add_user(store, p.admin, "ADMIN, ANN", "administrator", p.password(p.admin))
    for user_id, name, role in ((p.tech, "TECH, TOM", "technician"),
                                (p.tech2, "TECHNICIAN, TINA", "technician"),
                                (p.sup, "SUPERVISOR, SUE", "supervisor"),
                                (p.sup2, "VERIFIER, VIC", "verifier")):
        add_user(store, user_id, name, role, p.password(user_id), admin_id=p.admin,
                 admin_password=p.password(p.admin))
    return p
