"""Wrong passwords lock an account for a period, never for good; the lab can always get back in.

Issue 10: five wrong passwords given as ``--admin admin`` locked the only administrator for good —
the right password was refused even for its own reset, and no new first administrator could be
made. Now the lock lasts 15 minutes (doubling with each further wrong password, at most a day),
and a locked administrator can be recovered at the workstation's terminal, audited.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from doseprep.store import AccountLockedError, SignatureRefusedError, authenticate, events
from doseprep.store import users as users_module
from doseprep.store.accounts import recover_account
from doseprep.store.canonical import utc_now
from doseprep.store.users import LOCK_PERIOD, list_users
from tests.doseprep.store.helpers import converse, run_cli


def lock(store, user_id: str) -> None:
    for _ in range(4):
        with pytest.raises(SignatureRefusedError):
            authenticate(store, user_id, "wrong-password")
    with pytest.raises(AccountLockedError) as info:
        authenticate(store, user_id, "wrong-password")
    assert "until" in info.value.message and "users recover" in info.value.message


def later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    """The clock of the user accounts, moved on (the lock period passing)."""
    moment = utc_now() + delta
    monkeypatch.setattr(users_module, "utc_now", lambda: moment)


def test_five_wrong_passwords_lock_the_administrator_only_for_a_period(
        store, people, monkeypatch: pytest.MonkeyPatch) -> None:
    lock(store, people.admin)
    with pytest.raises(AccountLockedError):  # even the right password, while locked
        authenticate(store, people.admin, people.password(people.admin))
    later(monkeypatch, LOCK_PERIOD + timedelta(seconds=1))
    user = authenticate(store, people.admin, people.password(people.admin))
    assert not user.locked and user.failed_attempts == 0
    assert [e.action for e in events(store)][-1] == "account_unlocked"


def test_a_wrong_password_after_the_lock_locks_again_for_longer(
        store, people, monkeypatch: pytest.MonkeyPatch) -> None:
    lock(store, people.tech)
    later(monkeypatch, LOCK_PERIOD + timedelta(seconds=1))
    with pytest.raises(AccountLockedError) as info:
        authenticate(store, people.tech, "still-wrong")
    later(monkeypatch, LOCK_PERIOD * 2 + timedelta(seconds=1))  # 15 min is no longer enough
    with pytest.raises(AccountLockedError):
        authenticate(store, people.tech, people.password(people.tech))
    later(monkeypatch, LOCK_PERIOD * 3 + timedelta(seconds=2))
    assert authenticate(store, people.tech, people.password(people.tech)).user_id == people.tech
    assert "until" in info.value.message


def test_recovery_at_the_workstation_unlocks_and_is_audited(store, people) -> None:
    lock(store, people.admin)
    recover_account(store, people.admin, "a-brand-new-password")
    assert authenticate(store, people.admin, "a-brand-new-password").role.value == "administrator"
    recovered = [e for e in events(store) if e.action == "account_recovered"]
    assert len(recovered) == 1 and recovered[0].new_value["user_id"] == people.admin
    assert recovered[0].new_value["os_user"] and "host" in recovered[0].new_value
    assert not next(u for u in list_users(store) if u.user_id == people.admin).locked


def test_recovery_cannot_be_scripted(store, people) -> None:
    done = run_cli("users", "recover", people.admin, stdin="admin\nnew-password-1\n"
                                                             "new-password-1\n")
    assert done.returncode == 2, done.stderr
    assert "terminal" in done.stderr and "Traceback" not in done.stderr
    assert not [e for e in events(store) if e.action == "account_recovered"]


def test_a_locked_out_administrator_is_recovered_at_the_terminal(store, people) -> None:
    lock(store, people.admin)
    code, out = converse(["users", "recover", people.admin],
                          [("again to go on:", people.admin),
                           ("New password for", "recovered-password-1"),
                           ("Type it again:", "recovered-password-1")])
    assert code == 0, out
    assert "recovered" in out
    assert authenticate(store, people.admin, "recovered-password-1").user_id == people.admin


def test_a_mistyped_user_id_changes_nothing(store, people) -> None:
    lock(store, people.admin)
    code, out = converse(["users", "recover", people.admin], [("again to go on:", "admn")])
    assert code == 2, out
    assert not [e for e in events(store) if e.action == "account_recovered"]


def test_the_command_line_says_when_the_lock_ends(store, people) -> None:
    for _ in range(5):
        done = run_cli("users", "disable", people.tech, "--admin", people.admin,
                       "--password-stdin", stdin="wrong\n")
    assert done.returncode == 2 and "until" in done.stderr, done.stderr


# --- values the database cannot hold are input errors, never a crash (issue 10) -------------------

def test_values_the_database_cannot_hold_are_refused_cleanly(store, people, tmp_path) -> None:
    import json

    from tests.conftest import load_case

    request = load_case("v01-basic-dl3")["request"]
    request["patient"]["id"] = "M" * 65  # longer than the record's MRN column
    path = tmp_path / "long.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    done = run_cli("record", "save", str(path), user=people.tech)
    assert done.returncode == 2, done.stderr
    assert "patient.id" in done.stderr and "Traceback" not in done.stderr
    request["patient"]["id"] = "MRN-1"
    request["patient"]["name"] = "DOE,\x00JANE"
    path.write_text(json.dumps(request), encoding="utf-8")
    done = run_cli("record", "save", str(path), user=people.tech)
    assert done.returncode == 2 and "patient.name" in done.stderr, done.stderr


def test_the_database_refusing_a_value_rolls_back_and_names_no_internal_error(store,
                                                                             people) -> None:
    from doseprep.store import add_user
    from doseprep.store.errors import StoreError

    with pytest.raises(StoreError):
        add_user(store, "x" * 10, "N" * 199 + "\x00", "technician", "some-password-1",
                 admin_id=people.admin, admin_password=people.password(people.admin))
    assert "x" * 10 not in {u.user_id for u in list_users(store)}


def test_a_huge_limit_is_an_input_error(store, people) -> None:
    done = run_cli("record", "list", "--limit", "9" * 30, user=people.tech)
    assert done.returncode == 2 and "--limit" in done.stderr and "Traceback" not in done.stderr


def test_a_value_too_long_for_its_column_is_a_store_error(store, backend) -> None:
    from doseprep.store.errors import ValueRefusedError
    from doseprep.store.schema import users

    if backend != "postgresql":
        pytest.skip("SQLite does not enforce column lengths")
    with pytest.raises(ValueRefusedError), store.write() as conn:
        conn.execute(users.insert().values(user_id="u" * 100, printed_name="N", role="technician",
                                           password_hash="x", created_at="x", updated_at="x"))
