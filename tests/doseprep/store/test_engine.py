"""Opening the database: migrations in code, SQLite's durability settings, clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep.store import StoreUnavailableError, open_store
from doseprep.store.accounts import add_user
from doseprep.store.engine import HEAD_REVISION, MIGRATIONS_DIR, current_revision, database_url
from doseprep.store.hashing import HASH_PROFILE_ENV
from doseprep.store.users import authenticate, password_hasher

ROOT = Path(__file__).resolve().parents[3]


def test_head_revision_constant_matches_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() == HEAD_REVISION


def test_default_database_is_sqlite_in_the_data_dir() -> None:
    data = Path(os.environ["DOSEPREP_DATA_DIR"])
    assert database_url() == f"sqlite:///{data / 'doseprep.sqlite3'}"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_runs_in_wal_with_full_sync_foreign_keys_and_busy_timeout(backend) -> None:
    with open_store() as store, store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 5000


def test_opening_migrates_once_and_again_is_a_no_op(backend) -> None:
    with open_store() as store, store.read() as conn:
        assert current_revision(conn) == HEAD_REVISION
        tables = set(sa.inspect(conn).get_table_names())
    assert {"users", "records", "signatures", "audit_log", "audit_head", "counters"} <= tables
    with open_store() as store, store.read() as conn:
        assert conn.exec_driver_sql("SELECT seq FROM audit_head").scalar_one() == 0


def test_workstations_starting_together_on_a_new_database_all_open_it(backend) -> None:
    code = "from doseprep.store import open_store; open_store().close()"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with open_store() as store, store.read() as conn:
        assert current_revision(conn) == HEAD_REVISION


def test_migrations_go_down_and_up_again(backend) -> None:
    from alembic import command
    from alembic.config import Config

    with open_store() as store:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with store.write(_lock_head=False) as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        with store.read() as conn:
            assert not sa.inspect(conn).has_table("records")
    with open_store() as store, store.read() as conn:
        assert current_revision(conn) == HEAD_REVISION


def test_a_database_from_a_newer_doseprep_is_refused(backend) -> None:
    with open_store() as store, store.write() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreUnavailableError, match="newer doseprep"):
        open_store()


@pytest.mark.parametrize(("url", "words"), [
    ("not a url", "not valid"),
    ("mysql://u@h/db", "SQLite or PostgreSQL"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot open the record database"),
])
def test_unusable_urls_are_refused_in_words(url: str, words: str) -> None:
    with pytest.raises(StoreUnavailableError, match=words):
        open_store(url)


def test_the_default_hash_profile_is_argon2id_rfc9106(monkeypatch) -> None:
    monkeypatch.delenv(HASH_PROFILE_ENV)
    assert password_hasher().hash("a password").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_weak_test_hash_is_upgraded_at_the_next_sign_in(store, monkeypatch) -> None:
    add_user(store, "admin", "ADMIN, ANN", "administrator", "password123")
    monkeypatch.delenv(HASH_PROFILE_ENV)
    authenticate(store, "admin", "password123")
    with store.read() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users").scalar_one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    monkeypatch.setenv(HASH_PROFILE_ENV, "test")
    authenticate(store, "admin", "password123")  # a stronger hash is never weakened
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT password_hash FROM users").scalar_one() == stored


def test_signatures_record_the_iana_zone_and_offset(store, people, base_request,
                                                   monkeypatch) -> None:
    from doseprep.store import prepare_record, save_draft
    from doseprep.workflow import compute_plan
    from tests.doseprep.store.helpers import People

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    record = save_draft(store, compute_plan(base_request), people.tech)
    signed = prepare_record(store, record.record_id, people.tech, People.password(people.tech))
    sig = signed.signatures[0]
    assert sig.time_zone == "America/Los_Angeles"
    assert sig.signed_at.utcoffset() == sig.signed_at.tzinfo.utcoffset(sig.signed_at)
    assert sig.utc_offset in ("-08:00", "-07:00")
    assert sig.signed_at_utc.endswith("Z")


@pytest.mark.slow
def test_migrations_travel_in_the_wheel_and_run_from_it(
        tmp_path: Path, unpacked_wheel: tuple[Path, list[str]]) -> None:
    unpacked, names = unpacked_wheel
    assert "doseprep/store/migrations/env.py" in names
    assert "doseprep/store/migrations/versions/v0001_initial.py" in names
    db = tmp_path / "from-wheel.sqlite3"
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import doseprep.store as s; "
            "assert s.__file__.startswith(sys.argv[1]), s.__file__; "
            "st = s.open_store('sqlite:///' + sys.argv[2]); "
            "print(s.verify_store(st).audit_rows)")
    done = subprocess.run([sys.executable, "-c", code, str(unpacked), str(db)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
