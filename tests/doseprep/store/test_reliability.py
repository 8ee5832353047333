"""Reliability on real databases: concurrent workstations, stale edits and crashes.

- Four processes save and sign 250 records each at the same time: none lost, none duplicated, the
  audit chain verifies (PostgreSQL, the lab set-up; and SQLite, one workstation's several windows).
- A process killed with SIGKILL in the middle of saving, 50 times, leaves a SQLite database that
  passes ``PRAGMA integrity_check`` and the audit verification and holds every record that was
  reported saved.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep.store import get_record, open_store, prepare_record, save_draft, verify_store
from doseprep.workflow import compute_plan
from tests.doseprep.store.helpers import People, unique_din

ROOT = Path(__file__).resolve().parents[3]
WORKERS = 4
RECORDS_PER_WORKER = 250


@pytest.mark.slow
def test_four_workstations_saving_and_signing_lose_and_duplicate_nothing(store, people):
    procs = [subprocess.Popen([sys.executable, "-m", "tests.doseprep.store.worker", f"w{n}",
                               str(RECORDS_PER_WORKER)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(WORKERS)]
    reported: list[tuple[str, str]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        reported.extend(tuple(json.loads(line)) for line in out.splitlines())
    assert len(reported) == WORKERS * RECORDS_PER_WORKER
    ids = [record_id for record_id, _ in reported]
    assert len(set(ids)) == len(ids), "a record id was given out twice"
    with store.read() as conn:
        rows = conn.execute(sa.text("SELECT record_id, patient_mrn, state FROM records")).all()
        signatures = conn.execute(sa.text("SELECT count(*) FROM signatures")).scalar_one()
    assert sorted((r.record_id, r.patient_mrn) for r in rows) == sorted(reported)
    assert {r.state for r in rows} == {"prepared"}
    assert signatures == len(ids)
    numbers = sorted(int(i.rsplit("-", 1)[1]) for i in ids)
    assert numbers == list(range(1, len(ids) + 1))  # no gaps, no repeats
    report = verify_store(store)
    assert report.ok, report.problem
    assert report.records == report.signatures == len(ids)


def _child(write_fd: int, plan, first_din: int, people: People) -> None:
    """Save (and sometimes sign) records for ever, reporting each id once it is committed; each
    record is of its own collection (one DIN, one ledger: issue 22)."""
    from dataclasses import replace

    try:
        with open_store() as store:
            os.write(write_fd, b"ready\n")
            number = 0
            while True:
                product = replace(plan.request.product, din=unique_din(first_din + number))
                record = save_draft(store, replace(plan, request=replace(plan.request,
                                                                         product=product)),
                                    people.tech)
                os.write(write_fd, f"saved {record.record_id}\n".encode())
                number += 1
                if number % 3 == 0:
                    prepare_record(store, record.record_id, people.tech,
                                   People.password(people.tech))
                    os.write(write_fd, f"signed {record.record_id}\n".encode())
    finally:
        os._exit(0)


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    return data


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sigkill_while_saving_loses_nothing_reported_and_corrupts_nothing(backend,
                                                                           base_request):
    rng = random.Random(20261123)
    people = People()
    with open_store() as store:
        from doseprep.store import add_user

        add_user(store, people.admin, "ADMIN, ANN", "administrator", People.password("admin"))
        add_user(store, people.tech, "TECH, TOM", "technician", People.password(people.tech),
                 admin_id=people.admin, admin_password=People.password("admin"))
        path = store.engine.url.database
    plan = compute_plan(base_request)
    saved: set[str] = set()
    signed: set[str] = set()
    for round_number in range(50):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            os.close(read_fd)
            _child(write_fd, plan, round_number * 10_000, people)
        os.close(write_fd)
        if round_number % 10 == 9:
            time.sleep(rng.uniform(0.0, 0.05))  # sometimes while the database is being opened
            data = b""
        else:
            data = _read_until(read_fd, b"ready\n", timeout=30)
            time.sleep(rng.uniform(0.0, 0.15))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        data += _read_until(read_fd, b"\0", timeout=5)  # the rest, up to end of file
        os.close(read_fd)
        for line in data.decode().splitlines():
            kind, _, record_id = line.partition(" ")
            if kind == "saved":
                saved.add(record_id)
            elif kind == "signed":
                signed.add(record_id)
    assert len(saved) > 50, "the children hardly saved anything; the test proves little"
    with open_store() as store:
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            stored = set(conn.exec_driver_sql("SELECT record_id FROM records").scalars())
        assert saved <= stored, f"reported saved but missing: {sorted(saved - stored)[:5]}"
        for record_id in signed:
            assert get_record(store, record_id).state.value == "prepared"
        report = verify_store(store)
        assert report.ok, report.problem
    assert path and Path(path).exists()
