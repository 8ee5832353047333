"""Fixtures for the record-store suite: every test runs on SQLite and, when configured, PostgreSQL.

``DOSEPREP_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) turns
the PostgreSQL half on: the session creates a throwaway database next to the one named and drops it
at the end; each test gets its own schema in it (through ``search_path``), so tests never see each
other's rows. Without the variable the PostgreSQL half is skipped, and the skip reason says so.

Password hashing uses the documented test profile (``DOSEPREP_PASSWORD_HASH_PROFILE=test``), set
here for the tests and the processes they start; production never sets it. The ``backend``
fixture (SQLite, PostgreSQL) is in ``tests/conftest.py``: the window's cycle-2 life uses it too.
"""

from __future__ import annotations

import pytest

from tests.doseprep.store.helpers import People


@pytest.fixture(autouse=True)
def _test_hash_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOSEPREP_PASSWORD_HASH_PROFILE", "test")
    monkeypatch.delenv("DOSEPREP_DATABASE_URL", raising=False)


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
