"""Benchmarks for the record store (issue 5). They measure and report; they assert nothing timed.

Run with ``.venv/bin/python -m pytest tests/benchmarks/test_bench_store.py -o addopts="" -p
no:cacheprovider``. Targets, on the default SQLite store: with 100 000 records, opening the history
(the newest page of 100) and searching by MRN each under 100 ms; ``audit verify`` over 1 000 000
audit rows under 10 s. The data are bulk-inserted (a valid hash chain, real record content) so
building them takes seconds, not the hours saving them one by one would.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from doseprep.store import list_records, open_store, save_draft, verify_store
from doseprep.store.accounts import add_user
from doseprep.store.audit import row_hash
from doseprep.store.canonical import GENESIS_HASH, canonical_json, content_hash
from doseprep.workflow import compute_plan
from tests.conftest import load_case

RECORDS = 100_000
AUDIT_ROWS = 1_000_000
MRNS = 20_000  # five records per patient


@pytest.fixture(scope="module")
def history_store(tmp_path_factory: pytest.TempPathFactory):
    """A SQLite store holding 100 000 records (real content, varied patients and DINs)."""
    path = Path(tmp_path_factory.mktemp("bench-history")) / "doseprep.sqlite3"
    store = open_store(f"sqlite:///{path}")
    add_user(store, "admin", "ADMIN, ANN", "administrator", "bench-password")
    with store.write() as conn:
        conn.exec_driver_sql("INSERT INTO users (user_id, printed_name, role, password_hash, "
                             "failed_attempts, locked, disabled, created_at, updated_at, "
                             "row_version) SELECT 'tech', 'TECH, TOM', 'technician', "
                             "password_hash, 0, 0, 0, created_at, updated_at, 1 FROM users")
    template = save_draft(store, compute_plan(load_case("v01-basic-dl3")["request"]), "tech")
    request, plan = template.request, template.plan
    rows = []
    for n in range(2, RECORDS + 1):
        varied = copy.deepcopy(request)
        varied["patient"]["id"] = f"MRN-{n % MRNS:06d}"
        varied["product"]["din"] = f"W0000{n:08d}"
        stamp = f"2026-{1 + n * 11 // RECORDS:02d}-15T12:00:00.{n % 1_000_000:06d}Z"
        rows.append((f"PREP-2026-{n:06d}", 1, None, None, "draft", canonical_json(varied),
                     canonical_json(plan), varied["patient"]["id"], "DOE, JANE",
                     varied["product"]["din"], "DL3", "ok", "hmct-blinatumomab", "1",
                     template.protocol_fingerprint, template.lab_fingerprint, "0.1.0", stamp,
                     "tech", stamp, "tech", 1))
    with store.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO records (record_id, version, supersedes_id, correction_reason, state, "
            "request_json, plan_json, patient_mrn, patient_name, din, dose_level, plan_status, "
            "protocol_id, protocol_version, protocol_fingerprint, lab_fingerprint, "
            "program_version, created_at, created_by, updated_at, updated_by, row_version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    with store.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    yield store
    store.close()


def test_open_history_newest_page_of_100000(benchmark, history_store) -> None:
    page = benchmark(list_records, history_store)
    assert len(page) == 100 and page[0].record_id == f"PREP-2026-{RECORDS:06d}"


def test_search_by_mrn_in_100000(benchmark, history_store) -> None:
    found = benchmark(list_records, history_store, mrn="MRN-012345")
    assert len(found) == RECORDS // MRNS


def test_search_by_patient_name_part_in_100000(benchmark, history_store) -> None:
    found = benchmark(list_records, history_store, patient="doe, ja")
    assert len(found) == 100


def _chain(count: int):
    """A valid audit chain shaped like real use: save, three signatures, a print per record."""
    request = load_case("v01-basic-dl3")["request"]
    created = canonical_json({"content_hash": "c" * 64, "plan_status": "ok", "request": request,
                              "state": "draft"})
    old_state = canonical_json({"state": "draft"})
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        record = f"PREP-2026-{(seq - 1) // 5 + 1:06d}/v1"
        kind = seq % 5
        at = f"2026-11-23T10:00:00.{seq % 1_000_000:06d}Z"
        if kind == 1:
            action, old, new = "record_create", None, created
        elif kind == 0:
            action, old, new = "record_print", None, canonical_json(
                {"document": "worksheet", "record_hash": "a" * 64, "reprint": False})
        else:
            action, old = "record_sign", old_state
            new = canonical_json({"meaning": "Prepared by", "record_hash": "b" * 64,
                                  "signature_hash": content_hash(seq), "signature_seq": kind - 1,
                                  "state": "prepared", "printed_name": "TECH, TOM",
                                  "time_zone": "Etc/UTC", "utc_offset": "+00:00"})
        digest = row_hash(previous, seq, at, "tech", action, record, old, new, None)
        yield (seq, at, "tech", action, record, old, new, None, previous, digest)
        previous = digest


@pytest.fixture(scope="module")
def audit_store(tmp_path_factory: pytest.TempPathFactory):
    """A SQLite store whose audit trail holds 1 000 000 rows in one valid chain."""
    path = Path(tmp_path_factory.mktemp("bench-audit")) / "doseprep.sqlite3"
    store = open_store(f"sqlite:///{path}")
    last = None
    with store.write() as conn:
        batch = []
        for row in _chain(AUDIT_ROWS):
            batch.append(row)
            if len(batch) == 50_000:
                conn.exec_driver_sql("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     batch)
                last, batch = batch[-1], []
        if batch:
            conn.exec_driver_sql("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 batch)
            last = batch[-1]
        assert last is not None
        conn.exec_driver_sql("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1",
                             (last[0], last[-1]))
    yield store
    store.close()


def test_audit_verify_over_1000000_rows(benchmark, audit_store) -> None:
    report = benchmark.pedantic(verify_store, args=(audit_store,), rounds=3, iterations=1)
    assert report.ok, report.problem
    assert report.audit_rows == AUDIT_ROWS
    print(json.dumps({"audit_rows": report.audit_rows}))


# --- issue 10: digital signatures -------------------------------------------------------------

SIGNED_RECORDS = 100_000


def test_a_signature_with_key_unlock_at_the_production_cost(benchmark, tmp_path_factory,
                                                            monkeypatch) -> None:
    """Target: under 300 ms for one e-signature (password check, key unlock, Ed25519 signature,
    the write) with the production Argon2id profile."""
    from doseprep.store import prepare_record

    monkeypatch.delenv("DOSEPREP_PASSWORD_HASH_PROFILE", raising=False)
    path = Path(tmp_path_factory.mktemp("bench-sign")) / "doseprep.sqlite3"
    store = open_store(f"sqlite:///{path}")
    add_user(store, "admin", "ADMIN, ANN", "administrator", "bench-password")
    add_user(store, "tech", "TECH, TOM", "technician", "tech-password",
             admin_id="admin", admin_password="bench-password")
    plan = compute_plan(load_case("v01-basic-dl3")["request"])

    def a_draft():
        return (store, save_draft(store, plan, "tech").ref, "tech", "tech-password"), {}

    signed = benchmark.pedantic(prepare_record, setup=a_draft, rounds=7, iterations=1)
    assert signed.signatures[-1].user_id == "tech"
    store.close()


def test_checking_100000_digital_signatures(benchmark) -> None:
    """The cost ``audit verify`` adds for 100 000 signed records (three signatures each would be
    three times this): one Ed25519 verification per signature."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from doseprep.store.keys import UserKey, check_signature, sign_hash

    private = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw).hex()
    key = UserKey(1, "tech", "", public, "", "")
    pairs = [(h, sign_hash(private, h)) for h in (content_hash(n) for n in range(SIGNED_RECORDS))]

    def check_all() -> int:
        return sum(check_signature(key, h, s) for h, s in pairs)

    assert benchmark.pedantic(check_all, rounds=3, iterations=1) == SIGNED_RECORDS


@pytest.fixture(scope="module")
def signed_store(tmp_path_factory: pytest.TempPathFactory):
    """A SQLite store with 100 000 released records (three real e-signatures each, every one
    with its Ed25519 signature) in an audit trail of 1 000 000 rows — the issue 10 target."""
    # The keys are certified by this installation's lab key, which lives in the data directory:
    # the tests that use the store must see the same one (the autouse fixture gives each test
    # its own), so the fixture keeps its directory and the tests re-enter it.
    home = Path(tmp_path_factory.mktemp("bench-signed"))
    data_dir = home / "doseprep-data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOSEPREP_DATA_DIR", str(data_dir))
        store = _build_signed_store(home / "doseprep.sqlite3")
    yield store, data_dir
    store.close()


def _build_signed_store(path: Path):
    from datetime import UTC, datetime, timedelta

    from doseprep.store.canonical import utc_text
    from doseprep.store.content import record_content, signature_content
    from doseprep.store.keys import current_key, sign_hash, unseal

    store = open_store(f"sqlite:///{path}")
    add_user(store, "admin", "ADMIN, ANN", "administrator", "bench-password")
    # Signed after the lab key certified the signers' keys (issue 25: checked), i.e. from now.
    start = datetime.now(UTC) + timedelta(minutes=1)
    signers = (("tech", "TECH, TOM", "technician", "Prepared by", "prepared"),
               ("sup", "SUPERVISOR, SUE", "supervisor", "Verified by", "verified"),
               ("sup2", "VERIFIER, VIC", "supervisor", "Released by", "released"))
    keys = {}
    for user_id, name, role, _, _ in signers:
        add_user(store, user_id, name, role, f"{user_id}-password", admin_id="admin",
                 admin_password="bench-password")
        with store.read() as conn:
            key, sealed = current_key(conn, user_id)
        keys[user_id] = (key.key_id, unseal(sealed, f"{user_id}-password", user_id))
    template = save_draft(store, compute_plan(load_case("v01-basic-dl3")["request"]), "tech")
    request, plan = template.request, template.plan
    plan_text = canonical_json(plan)
    with store.read() as conn:
        seq, previous = conn.exec_driver_sql("SELECT seq, hash FROM audit_head").one()
        first_pk = conn.exec_driver_sql("SELECT max(id) FROM records").scalar_one() + 1
    records_rows, signature_rows, audit_rows = [], [], []

    def audit(action: str, user: str, ref: str | None, old: str | None, new: str | None):
        nonlocal seq, previous
        seq += 1
        at = utc_text(start + timedelta(hours=1, microseconds=seq))
        digest = row_hash(previous, seq, at, user, action, ref, old, new, None)
        audit_rows.append((seq, at, user, action, ref, old, new, None, previous, digest))
        previous = digest

    def flush(conn) -> None:
        if records_rows:
            insert_records(conn)
        if audit_rows:
            conn.exec_driver_sql("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 audit_rows)
        records_rows.clear()
        signature_rows.clear()
        audit_rows.clear()

    def insert_records(conn) -> None:
        conn.exec_driver_sql(
            "INSERT INTO records (id, record_id, version, supersedes_id, correction_reason, "
            "state, request_json, plan_json, patient_mrn, patient_name, din, dose_level, "
            "plan_status, protocol_id, protocol_version, protocol_fingerprint, "
            "lab_fingerprint, program_version, created_at, created_by, updated_at, updated_by, "
            "row_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?)", records_rows)
        conn.exec_driver_sql(
            "INSERT INTO signatures (record_pk, seq, meaning, state, user_id, printed_name, "
            "role, signed_at_utc, time_zone, utc_offset, record_hash, signature_hash, key_id, "
            "digital_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            signature_rows)

    with store.write() as conn:
        for n in range(SIGNED_RECORDS):
            pk = first_pk + n
            varied = copy.deepcopy(request)
            varied["patient"]["id"] = f"MRN-{n % MRNS:06d}"
            varied["product"]["din"] = f"W0000{n:08d}"
            stamp = utc_text(start + timedelta(microseconds=n))
            record_id = f"PREP-2026-{n + 10:06d}"
            row = {"record_id": record_id, "version": 1, "correction_reason": None,
                   "patient_mrn": varied["patient"]["id"], "patient_name": "DOE, JANE",
                   "din": varied["product"]["din"], "dose_level": "DL3", "plan_status": "ok",
                   "protocol_id": template.protocol_id,
                   "protocol_version": template.protocol_version,
                   "protocol_fingerprint": template.protocol_fingerprint,
                   "lab_fingerprint": template.lab_fingerprint, "program_version": "0.1.0",
                   "created_at": stamp, "created_by": "tech"}
            ref = f"{record_id}/v1"
            request_text = canonical_json(varied)
            records_rows.append((pk, record_id, 1, None, None, "released", request_text,
                                 plan_text, row["patient_mrn"], "DOE, JANE", row["din"], "DL3",
                                 "ok", row["protocol_id"], row["protocol_version"],
                                 row["protocol_fingerprint"], row["lab_fingerprint"], "0.1.0",
                                 stamp, "tech", stamp, "sup2", 4))
            audit("record_create", "tech", ref, None, canonical_json(
                {"content_hash": content_hash(record_content(row, None, "draft", (),
                                                             request=varied, plan=plan)),
                 "state": "draft"}))
            prior: list[dict] = []
            for number, (user_id, name, role, meaning, state) in enumerate(signers, start=1):
                values = {"seq": number, "meaning": meaning, "state": state,
                          "user_id": user_id, "printed_name": name, "role": role,
                          "signed_at_utc": utc_text(start + timedelta(minutes=number,
                                                                      microseconds=n)),
                          "time_zone": "Etc/UTC", "utc_offset": "+00:00"}
                values["record_hash"] = content_hash(record_content(
                    row, None, state, prior, request=varied, plan=plan))
                signature_hash = content_hash(signature_content(values))
                key_id, private = keys[user_id]
                signature_rows.append((pk, number, meaning, state, user_id, name, role,
                                       values["signed_at_utc"], "Etc/UTC", "+00:00",
                                       values["record_hash"], signature_hash, key_id,
                                       sign_hash(private, signature_hash)))
                audit("record_sign", user_id, ref, canonical_json({"state": "draft"}),
                      canonical_json({"meaning": meaning, "record_hash": values["record_hash"],
                                      "signature_hash": signature_hash, "state": state}))
                prior.append(signature_content(values))
            if len(records_rows) == 5000:
                flush(conn)
        while seq < AUDIT_ROWS:
            audit("session_login", "tech", None, None, '{"host":"bench"}')
            if len(audit_rows) == 50_000:
                flush(conn)
        flush(conn)
        conn.exec_driver_sql("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1",
                             (seq, previous))
    return store


def test_audit_verify_with_100000_signed_records_first_run(benchmark, signed_store,
                                                           monkeypatch) -> None:
    """The first run after the store was built: every check, every Ed25519 signature verified
    (issue 25: on every run — no list of signatures checked before is trusted), the signatures
    in worker processes alongside the record pass."""
    signed_store, data_dir = signed_store
    monkeypatch.setenv("DOSEPREP_DATA_DIR", str(data_dir))
    report = benchmark.pedantic(verify_store, args=(signed_store,), rounds=1, iterations=1)
    assert report.ok, report.problem
    assert (report.audit_rows, report.records) == (AUDIT_ROWS, SIGNED_RECORDS + 1)
    print(json.dumps({"signatures": report.signatures}))


def test_audit_verify_with_100000_signed_records_again(benchmark, signed_store,
                                                      monkeypatch) -> None:
    """Warm: the database in the operating system's cache, the program loaded; the same work."""
    signed_store, data_dir = signed_store
    monkeypatch.setenv("DOSEPREP_DATA_DIR", str(data_dir))
    report = benchmark.pedantic(verify_store, args=(signed_store,), rounds=3, iterations=1)
    assert report.ok, report.problem
