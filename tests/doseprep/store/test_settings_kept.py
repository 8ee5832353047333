"""A record keeps the exact protocol and lab file texts it was computed with (issue 22, item 2).

A saved record would not reprint once the bundled or configured files changed (an upgrade, an
edited lab file, or a request that named no protocol where ``settings.toml`` supplied one). Now
the record points at the exact texts, kept in the store; reprints, ``record show`` and ``audit
verify`` use them. Kept as tests: the bundled files edited after the release, the workstation's
settings pointed elsewhere, a kept text altered or removed in the database, and a store written
by the doseprep before this change, upgraded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep.store import get_record, register_print, save_draft, sign_record, verify_store
from doseprep.store.schema import settings_texts
from doseprep.workflow import compute_plan, render_record
from tests.conftest import load_case
from tests.doseprep.documents.conftest import page_texts
from tests.doseprep.store.helpers import People, current, reentry_of, run_cli

pw = People.password
ROOT = Path(__file__).resolve().parents[3]
VARYING = ("REPRINT", "printed ", "Audit trail when printed")


def comparable(pdf: bytes) -> list[str]:
    """The worksheet's text, line by line, without what a reprint changes on purpose (the REPRINT
    mark, the time of printing, the audit trail's head at printing)."""
    return [line for page in page_texts(pdf) for line in page.splitlines()
            if not any(word in line for word in VARYING)]


def released(store, people: People, request: dict) -> str:
    record = save_draft(store, compute_plan(request, store=store), people.tech)
    sign_record(store, record.ref, "prepare", people.tech, pw(people.tech))
    sign_record(store, record.ref, "verify", people.sup, pw(people.sup),
                reentry=reentry_of(record.request))
    sign_record(store, record.ref, "release", people.sup2, pw(people.sup2))
    return record.ref


def edited_resources(tmp_path: Path) -> Path:
    """A copy of the bundled resources with the protocol's DL3 and the lab's syringes and QC
    reserve changed, as an upgrade or an edit would."""
    from doseprep.resources import resource_root

    copy = tmp_path / "resources"
    shutil.copytree(resource_root(), copy)
    protocol = copy / "protocols" / "hmct-blinatumomab.toml"
    protocol.write_text(protocol.read_text("utf-8").replace("DL3 = 1.0e6", "DL3 = 1.5e6"),
                        encoding="utf-8")
    lab = copy / "lab.toml"
    lab.write_text(lab.read_text("utf-8").replace("qc_reserve_mL = 2 ", "qc_reserve_mL = 5 ")
                   .replace("3 = 0.1\n", "3 = 0.5\n"), encoding="utf-8")
    return copy


def test_a_released_record_reprints_identically_after_the_bundled_files_change(
        store, people, base_request, tmp_path, monkeypatch) -> None:
    import doseprep.resources

    ref = released(store, people, base_request)
    first = render_record(store, ref, people.sup, releaser_password=pw(people.sup2))
    register_print(store, ref, people.sup)
    before = compute_plan(base_request)
    edited = edited_resources(tmp_path)
    monkeypatch.setattr(doseprep.resources, "resource_root", lambda: edited)
    now = compute_plan(base_request)
    assert now.protocol.fingerprint != before.protocol.fingerprint
    assert now.lab.fingerprint != before.lab.fingerprint
    assert now.withdraw_volume != before.withdraw_volume  # the files really changed the plan
    again = render_record(store, ref, people.sup, releaser_password=pw(people.sup2))
    assert again.info.reprint_at is not None
    assert comparable(again.worksheet) == comparable(first.worksheet)
    assert "Draw 1.80 mL" in " ".join(page_texts(again.worksheet))
    record = get_record(store, ref)
    assert record.protocol_text == before.protocol.text and record.lab_text == before.lab.text
    assert verify_store(store).ok


def test_a_kept_text_altered_or_removed_in_the_database_is_found(store, people, base_request,
                                                                 backend) -> None:
    ref = released(store, people, base_request)
    record = get_record(store, ref)
    with store.write() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("ALTER TABLE settings_texts DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER settings_texts_no_update")
            conn.exec_driver_sql("DROP TRIGGER settings_texts_no_delete")
        conn.execute(sa.update(settings_texts)
                     .where(settings_texts.c.sha256 == record.lab_text_sha256)
                     .values(text=record.lab_text.replace("qc_reserve_mL = 2 ",
                                                          "qc_reserve_mL = 9 ")))
    report = verify_store(store)
    assert not report.ok and report.problem.table == "settings_texts"
    assert "not the text its SHA-256 names" in report.problem.message
    assert get_record(store, ref).lab_text is None  # never used for a reprint
    with store.write() as conn:
        conn.execute(sa.delete(settings_texts)
                     .where(settings_texts.c.sha256 == record.lab_text_sha256))
    report = verify_store(store)
    assert not report.ok and report.problem.table == "records"
    assert "lab file text kept with it is missing" in report.problem.message


def test_the_kept_texts_are_append_only(store, people, base_request) -> None:
    released(store, people, base_request)
    with pytest.raises(sa.exc.DatabaseError), store.write() as conn:
        conn.execute(sa.delete(settings_texts))
    with pytest.raises(sa.exc.DatabaseError), store.write() as conn:
        conn.execute(sa.update(settings_texts).values(text="x"))


def test_settings_toml_protocol_and_lab_then_changed_still_reprint(people, tmp_path) -> None:
    """The request names no protocol; settings.toml supplied one (and a lab file). Both files
    are edited after the release and settings.toml is pointed elsewhere: the reprint, ``record
    show`` and ``audit verify`` use the texts the record keeps."""
    from doseprep.resources import resource_path

    protocol = tmp_path / "site-protocol.toml"
    protocol.write_text(resource_path("protocols", "hmct-blinatumomab.toml").read_text("utf-8")
                        .replace('version = "0.1-example"', 'version = "7-site"'),
                        encoding="utf-8")
    lab = tmp_path / "site-lab.toml"
    lab.write_text(resource_path("lab.toml").read_text("utf-8")
                   .replace('name = "Cell Therapy Laboratory"', 'name = "Site CT Lab"'),
                   encoding="utf-8")
    original = {"protocol": protocol.read_text("utf-8"), "lab": lab.read_text("utf-8")}
    config = Path(os.environ["DOSEPREP_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text(f'protocol = "{protocol}"\nlab_file = "{lab}"\n',
                                          encoding="utf-8")
    request = current(load_case("v01-basic-dl3")["request"])
    del request["protocol"]
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
    record_id = run_cli("record", "save", str(request_file), user=people.tech).stdout.strip()
    assert record_id.startswith("PREP-")
    for step, user, extra in (("prepare", people.tech, ()),
                              ("verify", people.sup, ("--reentry", str(reentry))),
                              ("release", people.sup2, ())):
        done = run_cli("record", step, record_id, *extra, user=user)
        assert done.returncode == 0, done.stderr
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    # The releaser types their password to sign a released worksheet (issue 25).
    done = run_cli("record", "print", record_id, "-o", str(first), user=people.sup,
                   stdin=pw(people.sup2) + "\n")
    assert done.returncode == 0, done.stderr
    assert "7-site" in " ".join(page_texts(first.read_bytes()))

    protocol.write_text(original["protocol"].replace("DL3 = 1.0e6", "DL3 = 3.0e6"),
                        encoding="utf-8")
    lab.write_text(original["lab"].replace("qc_reserve_mL = 2 ", "qc_reserve_mL = 4 "),
                   encoding="utf-8")
    (config / "settings.toml").write_text('protocol = "hmct-blinatumomab"\n', encoding="utf-8")
    done = run_cli("record", "print", record_id, "-o", str(second), user=people.sup,
                   stdin=pw(people.sup2) + "\n")
    assert done.returncode == 0, done.stderr
    assert "REPRINT" in done.stdout
    assert comparable(second.read_bytes()) == comparable(first.read_bytes())

    shown = run_cli("record", "show", record_id, user=people.sup)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("text kept with the record") == 2
    kept = json.loads(run_cli("record", "show", record_id, "--json", user=people.sup).stdout)
    assert kept["settings"]["protocol"]["text"] == original["protocol"]
    assert kept["settings"]["lab"]["text"] == original["lab"]
    done = run_cli("audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr


def _commit_before_this_change() -> str | None:
    """The commit before the dose basis moved to the protocol (issue 22): the doseprep this
    change upgrades from (its lab file still holds R, its records keep no settings texts)."""
    try:
        found = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-S", "DOSE_BASES", "--format=%H", "--reverse",
             "--", "doseprep/protocol/_base.py"],
            capture_output=True, text=True, timeout=60, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{found[0]}^" if found else None


@pytest.mark.slow
def test_a_store_written_before_kept_texts_upgrades_verifies_and_reprints(backend,
                                                                          tmp_path) -> None:
    """A store with released fresh and freeze records, written by the doseprep before this
    change (from git history), is opened by this one: migrated, ``audit verify`` passes, the
    records show and reprint — found by their fingerprints among the files bundled then."""
    commit = _commit_before_this_change()
    old = tmp_path / "old-doseprep"
    old.mkdir()
    if commit is None:
        pytest.skip("the git history with the doseprep before revision 0006 is not here")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "doseprep",
                              "resources"], capture_output=True, timeout=120)
    if archive.returncode != 0:
        pytest.skip(f"git archive {commit} failed: {archive.stderr.decode()[:200]}")
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True, timeout=120)

    def old_cli(*args: str, user: str | None = None, stdin: str = "") -> str:
        if user is not None:
            args = (*args, "--user", user, "--password-stdin")
            stdin = pw(user) + "\n" + stdin
        done = subprocess.run([sys.executable, "-m", "doseprep", *args], input=stdin,
                              capture_output=True, text=True, timeout=300, cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(old)})
        assert done.returncode == 0, done.stderr
        return done.stdout

    p = People()
    old_cli("users", "add", p.admin, "--name", "ADMIN, ANN", "--role", "administrator",
            "--password-stdin", stdin=pw(p.admin) + "\n")
    for user_id, name, role in ((p.tech, "TECH, TOM", "technician"),
                                (p.sup, "SUPERVISOR, SUE", "supervisor"),
                                (p.sup2, "VERIFIER, VIC", "supervisor")):
        old_cli("users", "add", user_id, "--name", name, "--role", role, "--admin", p.admin,
                "--password-stdin", stdin=f"{pw(p.admin)}\n{pw(user_id)}\n")
    refs = []
    examples = ROOT / "resources" / "examples"
    from tests.doseprep.store.helpers import current_freeze

    for request in (current(load_case("v01-basic-dl3")["request"]),
                    current_freeze(json.loads((examples / "freeze-dl3-dl4.json")
                                              .read_text("utf-8")))):
        path = tmp_path / f"r{len(refs)}.json"
        path.write_text(json.dumps(request), encoding="utf-8")
        reentry = tmp_path / f"reentry{len(refs)}.json"
        reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
        record_id = old_cli("record", "save", str(path), user=p.tech).strip()
        old_cli("record", "prepare", record_id, user=p.tech)
        old_cli("record", "verify", record_id, "--reentry", str(reentry), user=p.sup)
        old_cli("record", "release", record_id, user=p.sup2)
        refs.append(record_id)

    from doseprep.store import open_store
    from doseprep.store.accounts import certify_users
    from doseprep.store.engine import HEAD_REVISION, current_revision

    with open_store() as store:
        with store.read() as conn:
            assert current_revision(conn) == HEAD_REVISION
        assert verify_store(store).ok
        # Keys made before revision 0005 sign worksheets once the lab key certifies them.
        certify_users(store, None, admin_id=p.admin, admin_password=pw(p.admin))
        for ref in refs:
            record = get_record(store, ref)
            assert record.protocol_text_sha256 is None  # signed before texts were kept
            assert record.protocol_text is not None and record.lab_text is not None
            printed = render_record(store, ref, p.sup, releaser_password=pw(p.sup2))
            text = " ".join(page_texts(printed.worksheet))
            assert ref in text and "RELEASED" in text
    shown = run_cli("record", "show", refs[0], user=p.sup)
    assert shown.returncode == 0 and "bundled then is kept" in shown.stdout, shown.stderr
