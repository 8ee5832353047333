"""Shared test set-up: no test touches a real user's files, and GUI tests are marked.

The pint cache goes to a throwaway folder for the session (the registry is built once, at import);
each test gets its own data directory through ``DOSEPREP_DATA_DIR``. Tests that use ``qapp`` or
``qtbot`` get the ``gui`` marker, so ``pytest -m "not gui"`` runs the domain alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["DOSEPREP_CACHE_DIR"] = tempfile.mkdtemp(prefix="doseprep-test-cache-")
# The one place the weak password-hashing profile is allowed (issue 25): the test suite, and the
# processes it starts. DOSEPREP_PASSWORD_HASH_PROFILE=test without this is refused.
os.environ["DOSEPREP_TEST_SUITE_ONLY"] = "weak password hashing for the doseprep test suite"

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(__file__).parent / "reference_cases"


def reference_cases() -> list[Path]:
    """The reference case files copied from shared/reference-cases (never edited)."""
    return sorted(REFERENCE_DIR.glob("*.json"))


def load_case(name: str) -> dict:
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "doseprep-data"
    monkeypatch.setenv("DOSEPREP_DATA_DIR", str(data))
    monkeypatch.setenv("DOSEPREP_CONFIG_DIR", str(tmp_path / "doseprep-config"))
    return data


@pytest.fixture
def base_request() -> dict:
    """A valid request (reference case v01) to vary in tests."""
    return load_case("v01-basic-dl3")["request"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"qapp", "qtbot"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(scope="session")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """doseprep built as a wheel (once per session) and unpacked: (folder, names in the wheel).

    Tests run code from the folder to prove an installed copy finds its data files.
    """
    folder = tmp_path_factory.mktemp("wheel")
    wheels = folder / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                    str(ROOT)], check=True, timeout=300, capture_output=True)
    (wheel,) = wheels.glob("doseprep-*.whl")
    unpacked = folder / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    return unpacked, names


APPROVER = ("approver", "APPROVER, ADA", "approver-secret-pw")


def approve_in_store(ref: str | Path, lab: str | Path | None = None):
    """Approve a protocol file the only way there is — an administrator's approval in the record
    store of this test's data directory — and return it loaded with that approval. The lab file
    (``lab``, or the bundled one) is approved too unless it already is: documents are for
    clinical use only when both are (issue 22).

    The store is the one the program and the window open (``DOSEPREP_DATA_DIR``); the test hash
    profile keeps the administrator's password check fast.
    """
    from doseprep.protocol import load_lab, load_protocol
    from doseprep.store import (
        add_user,
        administrator_exists,
        approve_lab,
        approve_protocol,
        lab_approval,
        open_store,
        with_approval,
    )

    os.environ["DOSEPREP_PASSWORD_HASH_PROFILE"] = "test"
    protocol = load_protocol(ref)
    settings = load_lab(lab)
    with open_store() as store:
        if not administrator_exists(store):
            add_user(store, APPROVER[0], APPROVER[1], "administrator", APPROVER[2])
        approve_protocol(store, protocol, APPROVER[0], APPROVER[2])
        if lab_approval(store, settings.fingerprint) is None:
            approve_lab(store, settings, APPROVER[0], APPROVER[2])
        return with_approval(store, protocol)


def approved_lab(path: str | Path | None = None):
    """The lab file (bundled when None) with the store's approval, as the program attaches it."""
    from doseprep.cli.common import attach_lab_approval
    from doseprep.protocol import load_lab

    return attach_lab_approval(load_lab(path))


#: When the in-process tests sign and print: noon on the day the reference cases were prepared
#: (prepared 10:00, infusion expiry 14:00, UTC−08:00). A signature after the expiry is refused
#: (INFUSION_EXPIRED), so a test that signs a reference case signs it on its own day; the tests
#: of the expiry itself set other times.
SIGNING_TIME = "2026-11-23T12:00:00-08:00"


@pytest.fixture(autouse=True)
def _signing_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    import doseprep.store.expiry as expiry

    moment = datetime.fromisoformat(SIGNING_TIME)
    monkeypatch.setattr(expiry, "expiry_now", lambda: moment)


# --- the record database of either kind (store tests, and the window's cycle-2 life) ----------

POSTGRES_ENV = "DOSEPREP_TEST_POSTGRES_URL"
SKIP_POSTGRES = (f"PostgreSQL store tests need {POSTGRES_ENV} "
                 "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); it is not set")
BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


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
