"""Issue 10's attacks, each done the way a dishonest insider with database access would, against a
real store (SQLite, and PostgreSQL when configured): every one is detected by ``audit verify``,
naming the row.

The attacker here can run any SQL and any of doseprep's own functions, but knows no one's
password and does not hold the lab signing key.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from doseprep.store import (
    get_record,
    prepare_record,
    release_record,
    save_draft,
    verify_record,
    verify_store,
)
from doseprep.store.audit import row_hash
from doseprep.store.canonical import GENESIS_HASH, canonical_json, content_hash
from doseprep.store.content import SIGNATURE_FIELDS, record_content, signature_content
from doseprep.workflow import compute_plan
from tests.doseprep.store.helpers import People, reentry_of
from tests.doseprep.store.test_tamper import drop_guards

pw = People.password


@pytest.fixture
def released(store, people, base_request):
    record = save_draft(store, compute_plan(base_request), people.tech)
    prepare_record(store, record.record_id, people.tech, pw(people.tech))
    verify_record(store, record.record_id, people.sup, pw(people.sup), reentry_of(base_request))
    done = release_record(store, record.record_id, people.sup2, pw(people.sup2))
    assert verify_store(store).ok
    return done


def _drop_all_guards(conn: sa.Connection) -> None:
    drop_guards(conn)
    if conn.dialect.name == "sqlite":
        for name in ("user_keys_no_update", "user_keys_no_delete"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    else:
        conn.exec_driver_sql("ALTER TABLE user_keys DISABLE TRIGGER USER")


def checkpoint_path(store):
    from doseprep.store.checkpoints import checkpoint_file
    from doseprep.store.labca import identity_of

    with store.read() as conn:
        return checkpoint_file(identity_of(conn))


def _remove_checkpoints(store) -> None:
    """The attacker also controls this workstation's files: the checkpoints and their
    register go (issue 25: the file alone gone is reported)."""
    path = checkpoint_path(store)
    path.unlink()
    (path.parent / "witnessed.json").unlink()


def _rechain(conn: sa.Connection, fix: Any = None) -> None:
    """Recompute every audit row's hash and the head, after ``fix(row) -> new_value`` — what an
    attacker does so that the chain verifies again."""
    rows = conn.exec_driver_sql(
        "SELECT seq, at, user_id, action, record_ref, old_value, new_value, reason "
        "FROM audit_log ORDER BY seq").all()
    previous = GENESIS_HASH
    for seq, at, user_id, action, ref, old, new, reason in rows:
        if fix is not None:
            new = fix(action, ref, new)
        digest = row_hash(previous, seq, at, user_id, action, ref, old, new, reason)
        conn.execute(sa.text("UPDATE audit_log SET new_value = :n, prev_hash = :p, hash = :h "
                             "WHERE seq = :s"), {"n": new, "p": previous, "h": digest, "s": seq})
        previous = digest
    conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                 {"s": rows[-1][0], "h": previous})


def test_a_released_record_rewritten_with_every_hash_recomputed_is_detected(
        store, released, base_request) -> None:
    """Weight 70 → 140 kg, plan recomputed, record and signature hashes and the whole audit chain
    recomputed, guards restored: the old digital signatures no longer match."""
    changed = copy.deepcopy(base_request)
    changed["patient"]["weight"] = "140 kg"
    from doseprep.plans.fresh_report import plan_to_dict

    plan = plan_to_dict(compute_plan(changed))
    record = get_record(store, released.ref)
    with store.write() as conn:
        _drop_all_guards(conn)
        conn.execute(sa.text("UPDATE records SET request_json = :r, plan_json = :p WHERE id = :i"),
                     {"r": canonical_json(changed), "p": canonical_json(plan), "i": record.pk})
        row = conn.execute(sa.text("SELECT * FROM records WHERE id = :i"),
                           {"i": record.pk}).mappings().one()
        sigs = conn.execute(sa.text("SELECT * FROM signatures WHERE record_pk = :i ORDER BY seq"),
                            {"i": record.pk}).mappings().all()
        prior: list[Mapping[str, Any]] = []
        new_hashes: dict[str, tuple[str, str]] = {}
        for sig in sigs:
            values = dict(sig)
            values["record_hash"] = content_hash(record_content(row, None, sig["state"], prior))
            values["signature_hash"] = content_hash(signature_content(values))
            new_hashes[sig["signature_hash"]] = (values["record_hash"], values["signature_hash"])
            conn.execute(sa.text("UPDATE signatures SET record_hash = :r, signature_hash = :s "
                                 "WHERE id = :i"), {"r": values["record_hash"],
                                                    "s": values["signature_hash"],
                                                    "i": sig["id"]})
            prior.append({k: values[k] for k in SIGNATURE_FIELDS})
        draft_hash = content_hash(record_content(row, None, "draft", ()))

        def fix(action: str, ref: str | None, new: str | None) -> str | None:
            if ref != released.ref or new is None:
                return new
            value = json.loads(new)
            if action == "record_sign":
                value["record_hash"], value["signature_hash"] = new_hashes[value["signature_hash"]]
            elif action == "record_create":
                value["content_hash"] = draft_hash
            return canonical_json(value)

        _rechain(conn, fix)
    report = verify_store(store)
    assert not report.ok  # first line of defence: this workstation's checkpoints
    assert report.problem.table == "audit_log" and "differs from the checkpoint" in \
        report.problem.message
    _remove_checkpoints(store)  # the attacker also controls this workstation's files
    report = verify_store(store)
    assert not report.ok
    assert report.problem.table == "signatures"
    assert "digital signature does not verify" in report.problem.message
    assert released.ref in report.problem.row


def test_a_signature_inserted_without_the_password_is_detected(store, people, base_request):
    """The store's own signing function, called with a key the attacker made for the verifier
    (no password): without a trusted lab certificate the key, and so the signature, is refused."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from doseprep.signoff import STEPS
    from doseprep.store.keys import UserKey
    from doseprep.store.records import find_row as _find_row
    from doseprep.store.records import load_signatures as _signatures
    from doseprep.store.sign import _add_signature
    from doseprep.store.users import get_user

    record = save_draft(store, compute_plan(base_request), people.tech)
    prepare_record(store, record.record_id, people.tech, pw(people.tech))
    forged_private = Ed25519PrivateKey.generate()
    public = forged_private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    with store.write() as conn:
        key_id = conn.execute(sa.text(
            "INSERT INTO user_keys (user_id, created_at, public_key, sealed_private_key, "
            "certified_by, certificate) VALUES (:u, '2000-01-01T00:00:00.000000Z', :k, '{}', "
            ":f, :c) RETURNING id"), {"u": people.sup, "k": public, "f": "00" * 32,
                                      "c": "00" * 64}).scalar_one()
        row = _find_row(conn, record.ref)
        _add_signature(conn, row, STEPS["verify"], get_user(conn, people.sup),
                       _signatures(conn, row["id"]),
                       UserKey(key_id, people.sup, "", public, "", ""), forged_private)
    report = verify_store(store)
    assert not report.ok
    assert report.problem.table == "user_keys" and people.sup in report.problem.row


def test_a_signature_made_with_someone_elses_key_is_detected(store, people, base_request):
    """The attacker signs "Verified by sup" with a key they can unlock (their own account's),
    recorded as sup's signature."""
    from doseprep.signoff import STEPS
    from doseprep.store.keys import current_key, unseal
    from doseprep.store.records import find_row as _find_row
    from doseprep.store.records import load_signatures as _signatures
    from doseprep.store.sign import _add_signature
    from doseprep.store.users import get_user

    record = save_draft(store, compute_plan(base_request), people.tech)
    prepare_record(store, record.record_id, people.tech, pw(people.tech))
    with store.write() as conn:
        key, sealed = current_key(conn, people.tech2)
        private = unseal(sealed, pw(people.tech2), people.tech2)
        row = _find_row(conn, record.ref)
        _add_signature(conn, row, STEPS["verify"], get_user(conn, people.sup),
                       _signatures(conn, row["id"]), key, private)
    report = verify_store(store)
    assert not report.ok
    assert report.problem.table == "signatures"
    assert "not sup's key" in report.problem.message and record.ref in report.problem.row


def test_a_signature_row_without_a_digital_signature_is_detected(store, released) -> None:
    with store.write() as conn:
        _drop_all_guards(conn)
        conn.exec_driver_sql("UPDATE signatures SET digital_signature = NULL "
                             "WHERE id = (SELECT max(id) FROM signatures)")
    report = verify_store(store)
    assert not report.ok and report.problem.table == "signatures"
    assert "no digital signature" in report.problem.message


@pytest.mark.parametrize(("column", "value"), [
    ("role", "'administrator'"),
    ("password_hash", "(SELECT password_hash FROM users WHERE user_id = 'admin')"),
    ("printed_name", "'SOMEONE, ELSE'"),
    ("disabled", "NOT disabled"),
])
def test_a_changed_user_account_is_detected(store, people, column, value) -> None:
    with store.write() as conn:
        conn.exec_driver_sql(f"UPDATE users SET {column} = {value} WHERE user_id = 'tech'")
    report = verify_store(store)
    assert not report.ok
    assert (report.problem.table, report.problem.row) == ("users", "tech")


def test_an_account_inserted_behind_the_programs_back_is_detected(store, people) -> None:
    with store.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (user_id, printed_name, role, password_hash, failed_attempts, "
            "locked, disabled, created_at, updated_at, row_version) SELECT 'mallory', "
            "'MALLORY', 'administrator', password_hash, 0, locked, disabled, created_at, "
            "updated_at, 1 FROM users WHERE user_id = 'admin'")
    report = verify_store(store)
    assert (report.problem.table, report.problem.row) == ("users", "mallory")


def test_a_password_reset_makes_a_new_key_and_old_signatures_still_verify(
        store, people, released) -> None:
    from doseprep.store import reset_password
    from doseprep.store.keys import current_key

    with store.read() as conn:
        old_key = current_key(conn, people.sup)[0]
    reset_password(store, people.sup, "a-brand-new-password", admin_id=people.admin,
                   admin_password=pw(people.admin))
    with store.read() as conn:
        new_key = current_key(conn, people.sup)[0]
    assert new_key.key_id != old_key.key_id and new_key.public_key != old_key.public_key
    assert verify_store(store).ok


def test_the_sealed_key_does_not_open_with_the_wrong_password(store, people) -> None:
    from doseprep.store.errors import SignatureRefusedError
    from doseprep.store.keys import current_key, unseal

    with store.read() as conn:
        _, sealed = current_key(conn, people.tech)
    assert "secret" not in sealed and pw(people.tech) not in sealed
    with pytest.raises(SignatureRefusedError, match="cannot be unlocked"):
        unseal(sealed, pw(people.tech2), people.tech)
    with pytest.raises(SignatureRefusedError):
        unseal(sealed, pw(people.tech), people.tech2)  # bound to its user id too
    assert unseal(sealed, pw(people.tech), people.tech) is not None


# --- the trail witnessed outside the database --------------------------------------------------

def test_rows_cut_off_the_end_with_the_head_moved_back_are_detected(store, released) -> None:
    """A tail deletion with ``audit_head`` moved back verified before: the checkpoint this
    workstation wrote after the last write remembers the real end."""
    with store.read() as conn:
        last = conn.exec_driver_sql("SELECT max(seq) FROM audit_log").scalar_one()
        keep = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = :s"),
                            {"s": last - 2}).scalar_one()
    with store.write() as conn:
        _drop_all_guards(conn)
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq > :s"), {"s": last - 2})
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                     {"s": last - 2, "h": keep})
    report = verify_store(store)
    assert not report.ok
    assert report.problem.row == str(last - 1)
    assert f"saw row {last}" in report.problem.message and "removed from the end" in \
        report.problem.message


def test_a_checkpoint_file_edited_to_match_is_detected(store, released) -> None:
    path = checkpoint_path(store)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 4 and verify_store(store).checkpoints == len(lines)
    path.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")  # one removed
    report = verify_store(store)
    assert report.problem.table == "checkpoints" and "does not follow" in report.problem.message
    body = json.loads(lines[-1])
    body["hash"] = "0" * 64
    path.write_text("\n".join([*lines[:-1], canonical_json(body)]) + "\n", encoding="utf-8")
    report = verify_store(store)
    assert report.problem.table == "checkpoints" and "signature does not match" in \
        report.problem.message


def test_a_new_database_in_the_same_place_keeps_the_old_ones_checkpoints(tmp_path,
                                                                         monkeypatch):
    """Issue 25: checkpoints are kept by the store's identity. A new database made where one was
    has its own; the old one's stay (never renamed, never replaced), so the old one put back is
    still held against them (``test_red_team_25.py`` does the rollback)."""
    from doseprep.store import add_user, open_store
    from doseprep.store.checkpoints import checkpoint_file
    from doseprep.store.labca import identity_of

    url = f"sqlite:///{tmp_path / 'records.db'}"
    with open_store(url) as first:
        add_user(first, "admin", "ADMIN, ANN", "administrator", pw("admin"))
        with first.read() as conn:
            old = identity_of(conn)
    (tmp_path / "records.db").unlink()
    with open_store(url) as second:
        add_user(second, "admin", "ADMIN, ANN", "administrator", pw("admin"))
        assert verify_store(second).ok
        with second.read() as conn:
            new = identity_of(conn)
    assert new != old
    assert checkpoint_file(old).is_file() and checkpoint_file(new).is_file()


def test_a_printed_worksheet_witnesses_the_trail(store, people, released, tmp_path) -> None:
    """``audit verify --against FILE.pdf``: a rewrite of a row before the worksheet was printed
    is found through the checkpoint in the signed PDF, even with this workstation's checkpoint
    file gone too."""
    from doseprep.workflow import render_record
    from tests.doseprep.store.helpers import run_cli

    printed = render_record(store, released.ref, people.tech, labels=False,
                            releaser_password=pw(people.sup2))
    seq, head = printed.info.audit_checkpoint
    worksheet = tmp_path / "worksheet.pdf"
    worksheet.write_bytes(printed.worksheet)
    ok = run_cli("audit", "verify", "--against", str(worksheet))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "checkpoints kept outside the database" in ok.stdout

    with store.write() as conn:  # rename who released it in the trail, and rechain
        _drop_all_guards(conn)

        def fix(action: str, ref: str | None, new: str | None) -> str | None:
            # (An account change rewritten so would show: each is signed together with the
            # row before it, issue 25.)
            if action == "record_sign" and new and '"VERIFIER, VIC"' in new:
                return new.replace("VERIFIER, VIC", "SOMEONE, ELSE")
            return new

        _rechain(conn, fix)
    _remove_checkpoints(store)
    assert verify_store(store).ok, "without a witness the rewrite is invisible"
    broken = run_cli("audit", "verify", "--against", str(worksheet))
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"audit_log row {seq}: it differs from the checkpoint in {worksheet}" in broken.stdout

    other = tmp_path / "not-a-worksheet.pdf"
    other.write_bytes(printed.worksheet[:-200])
    refused = run_cli("audit", "verify", "--against", str(other))
    assert refused.returncode == 2 and "is not a valid doseprep document" in refused.stderr
    assert len(head) == 64


def test_a_signature_changed_after_a_run_that_passed_is_found(store, people, released) -> None:
    """Issue 25: ``audit verify`` kept, signed with the workstation's own key, a list of the
    signatures it had checked and skipped them next time — anyone with the workstation's files
    could write that list for forged rows. Every signature is checked on every run."""
    assert verify_store(store).ok
    with store.write() as conn:
        _drop_all_guards(conn)
        conn.exec_driver_sql("UPDATE signatures SET digital_signature = "
                             "(SELECT digital_signature FROM signatures WHERE seq = 1 "
                             "ORDER BY id LIMIT 1) WHERE seq = 2")
    report = verify_store(store)
    assert not report.ok and "does not verify" in report.problem.message
