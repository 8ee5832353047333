"""A store made by doseprep before issue 25 is upgraded in place (revision 0005), on SQLite and
PostgreSQL: its records and signatures still verify, its people still sign with the keys they
have, and an administrator's ``users certify --all`` makes the lab key (printing the recovery
code) so that released worksheets are signed by the people who released them.

The old store is made by the old program itself — doseprep as it was at the commit before this
work, taken from the repository's history — through its command line, as a lab would have.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import load_case
from tests.doseprep.store.helpers import People, current, reentry_of, run_cli, unique_din

ROOT = Path(__file__).resolve().parents[3]
#: The last commit before revision 0005 (schema 0004, keys certified by the installation key).
BEFORE = "22acc20"
pw = People.password


@pytest.fixture(scope="session")
def old_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    git = shutil.which("git")
    if git is None or subprocess.run([git, "-C", str(ROOT), "cat-file", "-e", BEFORE],
                                     capture_output=True).returncode != 0:
        pytest.skip(f"the repository's history (commit {BEFORE}) is not here")
    folder = tmp_path_factory.mktemp("doseprep-before-0005")
    archive = subprocess.run([git, "-C", str(ROOT), "archive", BEFORE, "doseprep", "resources"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _old(folder: Path, *args: str, user: str | None = None, stdin: str = ""):
    if user is not None:
        args = (*args, "--user", user, "--password-stdin")
        stdin = pw(user) + "\n" + stdin
    done = subprocess.run([sys.executable, "-m", "doseprep", *args], input=stdin, text=True,
                          capture_output=True, timeout=120, cwd=folder,
                          env={**os.environ, "PYTHONPATH": str(folder)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _released_by_the_old_program(folder: Path, tmp_path: Path) -> str:
    people = People()
    _old(folder, "users", "add", people.admin, "--name", "ADMIN, ANN", "--role",
         "administrator", "--password-stdin", stdin=pw(people.admin) + "\n")
    for user_id, name, role in ((people.tech, "TECH, TOM", "technician"),
                                (people.sup, "SUPERVISOR, SUE", "supervisor"),
                                (people.sup2, "VERIFIER, VIC", "supervisor")):
        _old(folder, "users", "add", user_id, "--name", name, "--role", role, "--admin",
             people.admin, "--password-stdin", stdin=f"{pw(people.admin)}\n{pw(user_id)}\n")
    request = current(load_case("v01-basic-dl3")["request"])
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
    record_id = _old(folder, "record", "save", str(path), user=people.tech).split()[0]
    _old(folder, "record", "prepare", record_id, user=people.tech)
    _old(folder, "record", "verify", record_id, "--reentry", str(reentry), user=people.sup)
    _old(folder, "record", "release", record_id, user=people.sup2)
    _old(folder, "record", "print", record_id, "-o", str(tmp_path / "old.pdf"),
         user=people.sup2)
    assert "audit trail OK" in _old(folder, "audit", "verify")
    return record_id


def test_a_store_from_before_revision_0005_is_upgraded_and_keeps_working(
        old_program, backend, tmp_path) -> None:
    from doseprep.store import open_store, verify_store
    from doseprep.store.engine import HEAD_REVISION, current_revision

    people = People()
    record_id = _released_by_the_old_program(old_program, tmp_path)
    with open_store() as store:
        with store.read() as conn:
            assert current_revision(conn) == HEAD_REVISION
            marker = conn.exec_driver_sql("SELECT new_value FROM audit_log WHERE action = "
                                          "'security_upgrade'").scalar_one()
        assert set(json.loads(marker)["counters"]) == {"admin", "tech", "sup", "sup2"}
        report = verify_store(store)
        assert report.ok, report.problem
        assert (report.records, report.signatures) == (1, 3)

    # The same people sign a new record with the keys they had (certified the old way).
    request = current(load_case("v01-basic-dl3")["request"])
    request["patient"]["id"] = "MRN-000999"
    request["product"]["din"] = unique_din(999)  # another collection: its own ledger
    path = tmp_path / "second.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    reentry = tmp_path / "reentry2.json"
    reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
    second = run_cli("record", "save", str(path), user=people.tech).stdout.split()[0]
    for step, user, extra in (("prepare", people.tech, ()),
                              ("verify", people.sup, ("--reentry", str(reentry))),
                              ("release", people.sup2, ())):
        done = run_cli("record", step, second, *extra, user=user)
        assert done.returncode == 0, done.stderr

    # Its worksheet needs a key the lab key certified: there is no lab key yet.
    refused = run_cli("record", "print", second, "-o", str(tmp_path / "w.pdf"), user=people.sup2)
    assert refused.returncode == 2 and "users certify" in refused.stderr, refused.stderr
    certified = run_cli("users", "certify", "--all", "--admin", people.admin, "--password-stdin",
                        stdin=pw(people.admin) + "\n")
    assert certified.returncode == 0, certified.stderr
    assert "RECOVERY CODE" in certified.stdout and "certified the key of sup2" in certified.stdout
    printed = run_cli("record", "print", second, "-o", str(tmp_path / "w.pdf"), user=people.sup2)
    assert printed.returncode == 0, printed.stderr
    checked = json.loads(run_cli("verify", str(tmp_path / "w.pdf"), "--json").stdout)
    assert checked["valid"] and checked["signer_user_id"] == people.sup2, checked
    old_print = run_cli("record", "print", record_id, "-o", str(tmp_path / "old-again.pdf"),
                        user=people.sup2)
    assert old_print.returncode == 0, old_print.stderr
    assert run_cli("audit", "verify").returncode == 0


def test_a_key_certified_the_old_way_after_the_upgrade_is_reported(old_program, backend,
                                                                   tmp_path) -> None:
    """The installation key still lies in the data folder of an upgraded workstation: a key it
    certifies after the upgrade counts for nothing."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from doseprep.paths import data_dir
    from doseprep.store import audit, open_store, verify_store
    from doseprep.store.canonical import utc_now, utc_text
    from doseprep.store.keys import certificate_content
    from tests.doseprep.store.test_red_team_25 import _account_fields, _row

    _released_by_the_old_program(old_program, tmp_path)
    folder = data_dir() / "signing"
    installation = serialization.load_pem_private_key(
        (folder / "installation-key.pem").read_bytes(), password=None)
    from cryptography import x509

    fingerprint = hashlib.sha256(x509.load_pem_x509_certificate(
        (folder / "installation-cert.pem").read_bytes()).public_bytes(
            serialization.Encoding.DER)).hexdigest()
    public = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    created = utc_text(utc_now())
    with open_store() as store:
        with store.write() as conn:
            key_id = conn.execute(sa.text(
                "INSERT INTO user_keys (user_id, created_at, public_key, sealed_private_key, "
                "certified_by, certificate) VALUES ('sup', :c, :k, '{}', :f, :s) RETURNING id"),
                {"c": created, "k": public, "f": fingerprint,
                 "s": installation.sign(certificate_content("sup", public, created),
                                        ec.ECDSA(hashes.SHA256())).hex()}).scalar_one()
            audit.append(conn, "user_key_create", "sup", new={
                "user_id": "sup", "key_id": key_id, "public_key": public,
                "key_created_at": created, "certified_by": fingerprint,
                **_account_fields(_row(conn, "sup"))})
        report = verify_store(store)
    assert not report.ok and report.problem.table == "user_keys"
    assert "installation key" in report.problem.message
