"""Rollbacks witnessed off the workstation (issue 25): the witness directory, several
workstations on one PostgreSQL store, and writes refused on a trail that went back.

Each "workstation" here is its own data directory (its own installation key, checkpoints and
pinned lab key), as on separate computers; they share the database and, where configured, the
witness directory (a network share).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep.store import open_store, save_draft, verify_store
from doseprep.store.errors import TrailRolledBackError
from doseprep.workflow import compute_plan
from tests.doseprep.store.helpers import People
from tests.doseprep.store.test_red_team import _drop_all_guards
from tests.doseprep.store.test_red_team_25 import _checkpoint_file, _head, _sessions

pw = People.password


def _roll_back(store, seq: int) -> None:
    with store.engine.begin() as conn:
        _drop_all_guards(conn)
        keep = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = :s"),
                            {"s": seq}).scalar_one()
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq > :s"), {"s": seq})
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                     {"s": seq, "h": keep})


@pytest.fixture
def witness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "share"
    monkeypatch.setenv("DOSEPREP_WITNESS_DIR", str(folder))
    return folder


def test_checkpoints_are_also_written_to_the_witness_directory(witness, store, people) -> None:
    (folder,) = witness.iterdir()
    (copy,) = folder.glob("*.jsonl")
    assert copy.read_text(encoding="utf-8") == _checkpoint_file().read_text(encoding="utf-8")
    assert verify_store(store).checkpoints == 2 * len(copy.read_text().splitlines())


def test_the_witness_setting_in_settings_toml(tmp_path, monkeypatch, backend) -> None:
    from doseprep.paths import config_dir

    share = tmp_path / "from-settings"
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "settings.toml").write_text(f'witness_dir = "{share}"\n', encoding="utf-8")
    monkeypatch.delenv("DOSEPREP_WITNESS_DIR", raising=False)
    with open_store() as store:
        _sessions(store, "nobody", 1)
    assert list(share.rglob("*.jsonl"))


def test_a_rollback_with_every_local_file_gone_is_reported_by_the_witness(
        witness, store, people) -> None:
    """The workstation's own checkpoints and their register, all in reach of its login, are
    gone with the rollback; the share still saw the later rows."""
    with store.read() as conn:
        seq, _ = _head(conn)
    _sessions(store, people.tech, 3)
    _roll_back(store, seq)
    _checkpoint_file().unlink()
    _witness_register().unlink()
    report = verify_store(store)
    assert not report.ok and report.problem.table == "checkpoints"
    assert str(witness) in report.problem.message and "has line" in report.problem.message


def _witness_register() -> Path:
    from doseprep.paths import data_dir

    return data_dir() / "checkpoints" / "witnessed.json"


def test_a_witness_file_cut_is_reported(witness, store, people) -> None:
    _sessions(store, people.tech, 2)
    (copy,) = next(witness.iterdir()).glob("*.jsonl")
    lines = copy.read_text(encoding="utf-8").splitlines()
    copy.write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
    report = verify_store(store)
    assert not report.ok and report.problem.table == "checkpoints"
    assert "witness" in report.problem.message


def test_a_write_on_a_trail_rolled_back_under_this_workstation_is_refused(store, people,
                                                                         base_request) -> None:
    with store.read() as conn:
        seq, _ = _head(conn)
    _sessions(store, people.tech, 2)
    _roll_back(store, seq)
    with pytest.raises(TrailRolledBackError, match="this workstation saw row"):
        save_draft(store, compute_plan(base_request), people.tech)
    with store.read() as conn:
        assert _head(conn)[0] == seq  # nothing was written


@pytest.mark.postgres
def test_a_server_rolled_back_is_reported_by_every_workstation_that_saw_later_rows(
        tmp_path, monkeypatch, postgres_database, base_request) -> None:
    """Two workstations on one PostgreSQL store; the server is put back to an earlier state
    (rows cut, head moved back). Each reports it and refuses to write; a third that never wrote
    reports it from the shared witness directory."""
    import uuid

    from doseprep.store import add_user

    if postgres_database is None:
        pytest.skip("needs DOSEPREP_TEST_POSTGRES_URL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    monkeypatch.setenv("DOSEPREP_DATABASE_URL",
                       f"{postgres_database}?options=-csearch_path%3D{schema}")
    monkeypatch.setenv("DOSEPREP_WITNESS_DIR", str(tmp_path / "share"))

    def at(name: str) -> None:
        monkeypatch.setenv("DOSEPREP_DATA_DIR", str(tmp_path / name))

    try:
        at("workstation-a")
        with open_store() as store:
            add_user(store, "admin", "ADMIN, ANN", "administrator", pw("admin"))
            add_user(store, "tech", "TECH, TOM", "technician", pw("tech"), admin_id="admin",
                     admin_password=pw("admin"))
            with store.read() as conn:
                seq, _ = _head(conn)
        at("workstation-b")
        with open_store() as store:
            save_draft(store, compute_plan(base_request), "tech")
            _sessions(store, "tech", 2)
        at("workstation-a")
        with open_store() as store:
            _sessions(store, "tech", 1)
            assert verify_store(store).ok
            _roll_back(store, seq)  # the server's backup from before
        for name in ("workstation-a", "workstation-b", "workstation-c"):
            at(name)
            with open_store() as store:
                report = verify_store(store)
                assert not report.ok, name
                assert "removed from the end" in report.problem.message, (name, report.problem)
                if name != "workstation-c":
                    with pytest.raises(TrailRolledBackError):
                        _sessions(store, "tech", 1)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def test_the_register_lost_is_taken_up_again_from_the_file(store, people) -> None:
    """A register half-written by a crash (or deleted) is not a reason to stop writing
    checkpoints: it is taken up from the file, which then goes on."""
    _witness_register().write_text("{not json", encoding="utf-8")
    before = len(_checkpoint_file().read_text().splitlines())
    _sessions(store, people.tech, 1)
    assert len(_checkpoint_file().read_text().splitlines()) == before + 1
    assert json.loads(_witness_register().read_text())["stores"]
    assert verify_store(store).ok
