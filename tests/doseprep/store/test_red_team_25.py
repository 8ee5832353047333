"""Issue 25's attacks, each done as the red team did it, against a real store (SQLite, and
PostgreSQL when configured where the attack applies): each is refused or reported.

The attackers here hold the workstation's operating-system login (its data folder, the
installation key in it) and write access to the database — as the PostgreSQL application role
has — but know no one's password and not the recovery code. The attacks are written with what
any version of doseprep offers (raw SQL, the data folder's files, ``audit.append``,
``_add_signature``), so that this module also runs against doseprep before issue 25, where every
test here fails: the attack passed.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import select
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep.store import (
    SignatureRefusedError,
    authenticate,
    get_record,
    prepare_record,
    release_record,
    save_draft,
    verify_record,
    verify_store,
)
from doseprep.store import audit as audit_module
from doseprep.store.canonical import content_hash, utc_text
from doseprep.workflow import compute_plan, render_record
from tests.doseprep.store.helpers import People, current, reentry_of
from tests.doseprep.store.test_red_team import _drop_all_guards

pw = People.password
ROOT = Path(__file__).resolve().parents[3]


# --- what any attacker can compute ---------------------------------------------------------------

def _row(conn, user_id: str):
    return conn.execute(sa.text("SELECT * FROM users WHERE user_id = :u"),
                        {"u": user_id}).mappings().one()


def _account_fields(row) -> dict:
    """What the program audits of an account: its hash, and since issue 25 its lock counters —
    an attacker copies both, so that nothing but a signature is missing."""
    out = {"account_hash": content_hash({
        k: (bool(row[k]) if k == "disabled" else row[k])
        for k in ("user_id", "printed_name", "role", "password_hash", "disabled",
                  "created_at")})}
    if "locked_at" in row:
        out["counters"] = {"failed_attempts": int(row["failed_attempts"]),
                           "locked": bool(row["locked"]), "locked_at": row["locked_at"],
                           "last_failed_at": row["last_failed_at"],
                           "terminal_failed_at": row["terminal_failed_at"]}
    return out


def _checkpoint_file() -> Path:
    from doseprep.paths import data_dir

    (path,) = (data_dir() / "checkpoints").glob("*.jsonl")
    return path


def _head(conn) -> tuple[int, str]:
    return tuple(conn.exec_driver_sql("SELECT seq, hash FROM audit_head").one())


def _roll_back_to(store, seq: int) -> None:
    """Cut the trail after row ``seq`` and move the head back, as a database writer can."""
    with store.engine.begin() as conn:  # behind the program's back
        _drop_all_guards(conn)
        keep = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = :s"),
                            {"s": seq}).scalar_one()
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq > :s"), {"s": seq})
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                     {"s": seq, "h": keep})


def _sessions(store, user_id: str, count: int) -> None:
    """Audit rows that nothing else refers to (log-ins), so cutting them is a clean rollback."""
    from doseprep.store.users import record_session_event

    for _ in range(count):
        record_session_event(store, "login", user_id)


def _print(store, ref: str, user_id: str, releaser_password: str):
    """Render a record's worksheet as the program prints it (its releaser's password signs it
    where the program asks for one)."""
    if "releaser_password" in inspect.signature(render_record).parameters:
        return render_record(store, ref, user_id, labels=False,
                             releaser_password=releaser_password)
    return render_record(store, ref, user_id, labels=False)


def _doseprep(*args: str, stdin: bytes | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "doseprep", *args], input=stdin,
                          capture_output=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def _on_a_terminal(args: list[str], answers: dict[str, str]) -> tuple[int, str]:
    """Run ``doseprep`` on a pseudo-terminal as a script would drive it: answer each prompt the
    program shows from ``answers`` (prompt text → answer, "\\x04" for Ctrl-D) until it exits."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(ROOT)
        os.execvpe(sys.executable, [sys.executable, "-m", "doseprep", *args], os.environ)
    shown, pending = b"", b""
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
            pending += chunk
            for prompt, answer in answers.items():
                if prompt.encode() in pending:
                    pending = b""
                    os.write(fd, answer.encode() + (b"" if answer == "\x04" else b"\r"))
                    break
    finally:
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


@pytest.fixture
def prepared(store, people, base_request):
    record = save_draft(store, compute_plan(base_request), people.tech)
    return prepare_record(store, record.record_id, people.tech, pw(people.tech))


@pytest.fixture
def released(store, people, base_request, prepared):
    verify_record(store, prepared.record_id, people.sup, pw(people.sup),
                  reentry_of(base_request))
    done = release_record(store, prepared.record_id, people.sup2, pw(people.sup2))
    assert verify_store(store).ok
    return done


# --- 1. no lab key on the workstation in clear --------------------------------------------------

def test_forging_signatures_with_the_data_folder_is_reported(store, people, prepared) -> None:
    """The red team read the key in the data folder, certified keys of their own for the
    verifier and the releaser, and appended "Verified by" and "Released by": audit verify said OK.
    The installation key certifies no one any more."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from doseprep.paths import data_dir
    from doseprep.signoff import STEPS
    from doseprep.store.keys import UserKey, certificate_content
    from doseprep.store.records import find_row, load_signatures
    from doseprep.store.sign import _add_signature
    from doseprep.store.users import get_user

    folder = data_dir() / "signing"
    installation = serialization.load_pem_private_key(
        (folder / "installation-key.pem").read_bytes(), password=None)
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate((folder / "installation-cert.pem").read_bytes())
    fingerprint = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    for step, user_id in (("verify", people.sup), ("release", people.sup2)):
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw).hex()
        created = utc_text(datetime.now(UTC))
        signed = installation.sign(certificate_content(user_id, public, created),
                                   ec.ECDSA(hashes.SHA256())).hex()
        with store.write() as conn:
            key_id = conn.execute(sa.text(
                "INSERT INTO user_keys (user_id, created_at, public_key, sealed_private_key, "
                "certified_by, certificate) VALUES (:u, :c, :k, '{}', :f, :s) RETURNING id"),
                {"u": user_id, "c": created, "k": public, "f": fingerprint, "s": signed}
            ).scalar_one()
            audit_module.append(conn, "user_key_create", user_id, new={
                "user_id": user_id, "key_id": key_id, "public_key": public,
                "key_created_at": created, "certified_by": fingerprint,
                **_account_fields(_row(conn, user_id))})
            row = find_row(conn, prepared.ref)
            _add_signature(conn, row, STEPS[step], get_user(conn, user_id),
                           load_signatures(conn, row["id"]),
                           UserKey(key_id, user_id, created, public, fingerprint, signed),
                           private)
    assert get_record(store, prepared.ref).state.value == "released"
    report = verify_store(store)
    assert not report.ok, "signatures forged with the data folder's key went unnoticed"
    assert report.problem.table == "user_keys" and people.sup in report.problem.row
    assert "installation key" in report.problem.message


# --- 2. accounts signed --------------------------------------------------------------------------

def test_an_inserted_supervisor_cannot_sign_and_is_reported(store, people, prepared,
                                                            base_request) -> None:
    """A ``users`` row and a correctly chained ``user_add`` row attributed to the administrator
    made a supervisor whose key the program certified at the first sign-in."""
    from argon2 import PasswordHasher

    now = utc_text(datetime.now(UTC))
    with store.write() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (user_id, printed_name, role, password_hash, failed_attempts, "
            "locked, disabled, created_at, updated_at, row_version) VALUES ('mallory', "
            "'MALLORY, MAL', 'supervisor', :h, 0, :f, :f, :now, :now, 1)"),
            {"h": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(
                "mallory-password"), "f": False, "now": now})
        audit_module.append(conn, "user_add", people.admin, new={
            "user_id": "mallory", "printed_name": "MALLORY, MAL", "role": "supervisor",
            **_account_fields(_row(conn, "mallory"))})
    with pytest.raises(SignatureRefusedError, match="not certified"):
        verify_record(store, prepared.record_id, "mallory", "mallory-password",
                      reentry_of(base_request))
    assert get_record(store, prepared.ref).state.value == "prepared"
    report = verify_store(store)
    assert not report.ok
    assert "mallory" in report.problem.message and "no person signed" in report.problem.message


def test_a_role_changed_with_a_chained_audit_row_is_reported(store, people) -> None:
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE users SET role = 'supervisor' WHERE user_id = 'tech'")
        audit_module.append(conn, "user_password_reset", people.admin, new={
            "user_id": "tech", **_account_fields(_row(conn, "tech"))})
    report = verify_store(store)
    assert not report.ok and "tech" in report.problem.message
    assert "no person signed" in report.problem.message


def test_an_administrators_signature_copied_to_another_change_does_not_verify(store,
                                                                              people) -> None:
    """Copy the signed fields of a genuine change onto a forged one: what is signed names the
    account, its state and the row before it."""
    with store.read() as conn:
        genuine = json.loads(conn.exec_driver_sql(
            "SELECT new_value FROM audit_log WHERE action = 'user_add' ORDER BY seq DESC "
            "LIMIT 1").scalar_one())
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE users SET role = 'administrator' WHERE user_id = 'tech'")
        audit_module.append(conn, "user_add", people.admin, new={
            **{k: genuine[k] for k in genuine if k in ("signed_by", "signer_key_id",
                                                       "account_signature")},
            "user_id": "tech", "role": "administrator",
            **_account_fields(_row(conn, "tech"))})
    report = verify_store(store)
    assert not report.ok and report.problem.table == "audit_log"


@pytest.mark.parametrize("column", ["locked_at", "last_failed_at", "updated_at"])
def test_an_administrator_locked_until_2999_is_reported_and_not_locked(store, people,
                                                                       column) -> None:
    with store.write() as conn:
        columns = [c["name"] for c in sa.inspect(conn).get_columns("users")]
        if column not in columns:
            pytest.skip(f"no {column} column")
        lock = ", ".join(f"{c} = '2999-01-01T00:00:00.000000Z'"
                         for c in ("locked_at", "last_failed_at", "updated_at") if c in columns)
        conn.execute(sa.text(f"UPDATE users SET locked = :t, failed_attempts = 40, {lock} "
                             "WHERE user_id = 'admin'"), {"t": True})
    report = verify_store(store)
    assert not report.ok and (report.problem.table, report.problem.row) == ("users", "admin")
    assert authenticate(store, people.admin, pw(people.admin)).user_id == people.admin


def test_a_lock_until_2999_written_into_the_trail_is_reported(store, people) -> None:
    """Also with an audit row for it: no time lies in the future."""
    with store.write() as conn:
        row = _row(conn, "admin")
        if "locked_at" not in row:
            pytest.skip("no lock times before issue 25")
        conn.execute(sa.text("UPDATE users SET locked = :t, failed_attempts = 5, locked_at = "
                             "'2999-01-01T00:00:00.000000Z', last_failed_at = "
                             "'2999-01-01T00:00:00.000000Z' WHERE user_id = 'admin'"),
                     {"t": True})
        audit_module.append(conn, "account_locked", "admin", at=datetime(2999, 1, 1, tzinfo=UTC),
                            new={"user_id": "admin", **_account_fields(_row(conn, "admin"))})
    report = verify_store(store)
    assert not report.ok and "future" in report.problem.message


def test_failure_counts_reset_unseen_are_reported(store, people) -> None:
    for _ in range(4):
        with pytest.raises(SignatureRefusedError):
            authenticate(store, people.tech, "a-wrong-guess")
    assert verify_store(store).ok
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE users SET failed_attempts = 0 WHERE user_id = 'tech'")
    report = verify_store(store)
    assert not report.ok and (report.problem.table, report.problem.row) == ("users", "tech")


def test_recovery_cannot_take_over_another_account(store, people) -> None:
    """``users recover tech`` through a pseudo-terminal reset the technician's password with no
    credential at all; the attacker then signed as them."""
    code, shown = _on_a_terminal(["users", "recover", people.tech], {
        "again to go on:": people.tech, "Recovery code:": "AAAA-BBBB",
        "New password for": "taken-over-pw", "Type it again:": "taken-over-pw"})
    assert code == 2, shown
    assert "not an administrator" in shown and "Traceback" not in shown
    with pytest.raises(SignatureRefusedError):
        authenticate(store, people.tech, "taken-over-pw")
    assert authenticate(store, people.tech, pw(people.tech)).user_id == people.tech


# --- 3. worksheets signed by people --------------------------------------------------------------

@pytest.fixture
def genuine(store, people, released, tmp_path) -> Path:
    printed = _print(store, released.ref, people.sup2, pw(people.sup2))
    path = tmp_path / "worksheet.pdf"
    path.write_bytes(printed.worksheet)
    return path


def test_a_worksheet_re_signed_with_the_installation_key_is_not_valid(store, people, released,
                                                                      base_request,
                                                                      tmp_path) -> None:
    """"Draw 18.0 mL" re-signed with the key in the data folder: doseprep verify said VALID,
    with the genuine fingerprint. The installation key signs drafts only."""
    from doseprep.documents.worksheet import render_worksheet
    from doseprep.signatures.worksheets import sign_pdf

    forged_request = copy.deepcopy(base_request)
    forged_request["patient"]["weight"] = "140 kg"  # twice the draw
    info = get_record(store, released.ref).info()
    pdf = render_worksheet(compute_plan(forged_request), record=info)
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(sign_pdf(pdf, document_id=f"{released.ref} RELEASED", location="Lab"))
    done = _doseprep("verify", str(forged))
    out = done.stdout.decode()
    assert done.returncode == 1, out
    assert out.startswith("NOT VALID") and "installation's key" in out
    draft = tmp_path / "draft.pdf"
    draft.write_bytes(sign_pdf(pdf, document_id=f"{released.ref} DRAFT", location="Lab"))
    as_draft = _doseprep("verify", str(draft))
    assert as_draft.stdout.decode().startswith("VALID DRAFT"), as_draft.stdout


def test_a_released_worksheet_is_signed_by_the_releaser(genuine, people) -> None:
    done = _doseprep("verify", str(genuine), "--json")
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["valid"] and not result["draft"], result
    assert result["signer_user_id"] == people.sup2 and "VERIFIER, VIC" in result["signer"]


def test_trust_restricts_to_the_certificates_given(genuine, tmp_path) -> None:
    """``--trust CERT`` added to the trusted certificates instead of restricting to them, and a
    missing file was silently ignored."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "some other lab")])
    now = datetime.now(UTC)
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(key.public_key()).serial_number(1).not_valid_before(now)
             .not_valid_after(now.replace(year=now.year + 1)).sign(key, hashes.SHA256()))
    wrong = tmp_path / "other.pem"
    wrong.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    done = _doseprep("verify", str(genuine), "--trust", str(wrong))
    assert done.returncode == 1 and b"given with --trust" in done.stdout, done.stdout
    missing = _doseprep("verify", str(genuine), "--trust", str(tmp_path / "no-such.pem"))
    assert missing.returncode == 2 and b"no-such.pem" in missing.stderr, missing.stderr
    audit = _doseprep("audit", "verify", "--trust", str(tmp_path / "no-such.pem"))
    assert audit.returncode == 2 and b"no-such.pem" in audit.stderr, audit.stderr


# --- 4. rollbacks witnessed off the workstation --------------------------------------------------

def test_a_checkpoint_file_cut_with_the_database_rolled_back_is_reported(store, people,
                                                                         released) -> None:
    with store.read() as conn:
        seq, _ = _head(conn)
    lines = _checkpoint_file().read_text(encoding="utf-8").splitlines()
    _sessions(store, people.tech, 3)
    _roll_back_to(store, seq)
    _checkpoint_file().write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = verify_store(store)
    assert not report.ok and report.problem.table == "checkpoints", report.problem
    assert "this workstation wrote" in report.problem.message


def test_a_checkpoint_file_deleted_with_the_database_rolled_back_is_reported(store, people,
                                                                             released) -> None:
    with store.read() as conn:
        seq, _ = _head(conn)
    _sessions(store, people.tech, 2)
    _roll_back_to(store, seq)
    _checkpoint_file().unlink()
    report = verify_store(store)
    assert not report.ok and report.problem.table == "checkpoints", report.problem
    assert "is missing" in report.problem.message


def test_a_checkpoint_file_replaced_by_an_older_copy_is_reported(store, people,
                                                                 released) -> None:
    with store.read() as conn:
        seq, _ = _head(conn)
    older = _checkpoint_file().read_bytes()
    _sessions(store, people.tech, 3)
    _roll_back_to(store, seq)
    _checkpoint_file().write_bytes(older)
    report = verify_store(store)
    assert not report.ok and report.problem.table == "checkpoints", report.problem


def test_a_checkpoint_file_of_another_store_is_reported(store, people, released) -> None:
    path = _checkpoint_file()
    other = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for body in other:
        for key in ("store", "database"):
            if key in body:
                body[key] = "another store"
    path.write_text("\n".join(json.dumps(b) for b in other) + "\n", encoding="utf-8")
    report = verify_store(store)
    assert not report.ok and report.problem.table == "checkpoints"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_database_deleted_and_restored_from_an_old_copy_is_reported(store, people, released,
                                                                      tmp_path) -> None:
    """Delete the database, let the next command make a new one (which set the old checkpoints
    aside), put an old copy back: undetected before."""
    from doseprep.store import open_store

    path = Path(store.engine.url.database)
    copy_path = tmp_path / "old-copy.sqlite3"
    with sqlite3.connect(path) as source, sqlite3.connect(copy_path) as target:
        source.backup(target)
    _sessions(store, people.tech, 3)
    store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with open_store() as fresh:
        assert verify_store(fresh).ok
    shutil.copyfile(copy_path, path)
    with open_store() as restored:
        report = verify_store(restored)
    assert not report.ok and report.problem.table == "checkpoints", report.problem


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_moved_data_folder_is_still_held_against_its_checkpoints(store, people, released,
                                                                   tmp_path,
                                                                   monkeypatch) -> None:
    """Checkpoints were kept by the database's path: move the folder, cut the trail: undetected.
    They are kept by the store's identity now."""
    from doseprep.paths import data_dir
    from doseprep.store import open_store

    with store.read() as conn:
        seq, _ = _head(conn)
    _sessions(store, people.tech, 3)
    store.close()
    moved = tmp_path / "moved-data"
    shutil.copytree(data_dir(), moved)
    monkeypatch.setenv("DOSEPREP_DATA_DIR", str(moved))
    with open_store() as there:
        _roll_back_to(there, seq)
        report = verify_store(there)
    assert not report.ok, "the rollback went unnoticed after the move"
    assert "removed from the end" in report.problem.message


# --- 6. exit 2, never 70 -------------------------------------------------------------------------

def test_a_password_that_is_not_utf8_is_an_input_error(people) -> None:
    done = _doseprep("record", "list", "--user", people.tech, "--password-stdin",
                     stdin=b"\xff\xfe not utf-8\n")
    assert done.returncode == 2, done.stderr
    assert b"password" in done.stderr and b"Traceback" not in done.stderr


def test_end_of_input_at_a_password_prompt_is_an_input_error(people) -> None:
    code, shown = _on_a_terminal(["record", "list", "--user", people.tech],
                                 {"Password for": "\x04"})
    assert code == 2, shown
    assert "Traceback" not in shown and "internal error" not in shown


def test_a_moved_back_head_is_reported_and_refuses_writes_clearly(store, people, released,
                                                                  tmp_path) -> None:
    with store.engine.begin() as conn:
        _drop_all_guards(conn)
        seq, _ = _head(conn)
        earlier = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = :s"),
                               {"s": seq - 2}).scalar_one()
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h"),
                     {"s": seq - 2, "h": earlier})
    request = tmp_path / "request.json"
    request.write_text(json.dumps(current(released.request)), encoding="utf-8")
    saved = _doseprep("record", "save", str(request), "--user", people.tech,
                      "--password-stdin", stdin=(pw(people.tech) + "\n").encode())
    assert saved.returncode == 2, saved.stderr
    assert b"nothing was saved" in saved.stderr.lower() and b"Traceback" not in saved.stderr
    checked = _doseprep("audit", "verify")
    assert checked.returncode == 1 and b"BROKEN" in checked.stdout


def test_the_weak_test_hash_profile_is_refused_outside_the_test_suite(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DOSEPREP_TEST_SUITE_ONLY"}
    env.update({"DOSEPREP_DATA_DIR": str(tmp_path / "data"),
                "DOSEPREP_PASSWORD_HASH_PROFILE": "test"})
    done = subprocess.run([sys.executable, "-m", "doseprep", "users", "add", "admin", "--name",
                           "ADMIN, ANN", "--role", "administrator", "--password-stdin"],
                          input="admin-secret-pw\n", capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "DOSEPREP_PASSWORD_HASH_PROFILE" in done.stderr
