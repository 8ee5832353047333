"""Wrong passwords lock an account for a period, never for good; the lab can always get back in.

Issue 10: five wrong passwords given as ``--admin admin`` locked the only administrator for good —
the right password was refused even for its own reset, and no new first administrator could be
made. Now the lock lasts 15 minutes (doubling with each further wrong password, at most a day),
and a locked administrator can be recovered at the workstation's terminal, audited.

Issue 25: wrong passwords during the lock extend it; the last administrator typing at the
workstation waits at most 15 minutes whatever others send; recovery needs the recovery code
printed at set-up and is only for the last administrator.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from doseprep.store import AccountLockedError, SignatureRefusedError, authenticate, events
from doseprep.store import users as users_module
from doseprep.store.accounts import create_first_administrator, recover_account
from doseprep.store.canonical import utc_now
from doseprep.store.errors import PermissionDeniedError
from doseprep.store.lockout import LOCK_PERIOD
from doseprep.store.users import list_users
from tests.doseprep.store.helpers import People, converse, run_cli


def lock(store, user_id: str, **kw) -> None:
    for _ in range(4):
        with pytest.raises(SignatureRefusedError):
            authenticate(store, user_id, "wrong-password", **kw)
    with pytest.raises(AccountLockedError) as info:
        authenticate(store, user_id, "wrong-password", **kw)
    assert "until" in info.value.message and "users recover" in info.value.message


@pytest.fixture
def alone(store):
    """A store whose only administrator was set up as a person does: with the recovery code."""
    return create_first_administrator(store, "admin", "ADMIN, ANN", People.password("admin"))


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


def test_wrong_passwords_during_the_lock_extend_it(store, people,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25: guessing on through the lock used to cost nothing; now each wrong password
    restarts the lock and doubles it."""
    lock(store, people.tech)
    later(monkeypatch, LOCK_PERIOD - timedelta(minutes=1))
    with pytest.raises(AccountLockedError):  # still locked, and counted
        authenticate(store, people.tech, "still-guessing")
    later(monkeypatch, LOCK_PERIOD + timedelta(seconds=1))  # the first lock would have ended
    with pytest.raises(AccountLockedError) as info:
        authenticate(store, people.tech, people.password(people.tech))
    assert "extends the lock" in info.value.message
    failures = [e for e in events(store) if e.action == "auth_failed"]
    assert failures[-1].new_value["consecutive_failures"] == 6


def test_the_last_administrator_at_the_terminal_waits_at_most_15_minutes(
        store, people, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone scripting wrong passwords keeps the lock going for them; the last administrator
    typing at the workstation gets in 15 minutes after the lock began."""
    lock(store, people.admin)
    for _ in range(6):  # a script goes on guessing: the lock doubles each time
        with pytest.raises(AccountLockedError):
            authenticate(store, people.admin, "scripted-guess")
    later(monkeypatch, LOCK_PERIOD + timedelta(seconds=1))
    with pytest.raises(AccountLockedError):  # not for a script
        authenticate(store, people.admin, people.password(people.admin))
    user = authenticate(store, people.admin, people.password(people.admin), at_terminal=True)
    assert user.user_id == people.admin and not user.locked
    assert [e.action for e in events(store)][-1] == "account_unlocked"


def test_the_terminal_cap_is_only_for_the_last_administrator(
        store, people, monkeypatch: pytest.MonkeyPatch) -> None:
    lock(store, people.tech)
    for _ in range(3):
        with pytest.raises(AccountLockedError):
            authenticate(store, people.tech, "scripted-guess")
    later(monkeypatch, LOCK_PERIOD + timedelta(seconds=1))
    with pytest.raises(AccountLockedError):
        authenticate(store, people.tech, people.password(people.tech), at_terminal=True)


def test_recovery_with_the_code_unlocks_and_is_audited(store, alone) -> None:
    lock(store, "admin")
    _, new_code = recover_account(store, "admin", alone.recovery_code.lower(),
                                  "a-brand-new-password")
    assert authenticate(store, "admin", "a-brand-new-password").role.value == "administrator"
    recovered = [e for e in events(store) if e.action == "account_recovered"]
    assert len(recovered) == 1 and recovered[0].new_value["user_id"] == "admin"
    assert recovered[0].new_value["os_user"] and "host" in recovered[0].new_value
    assert not next(u for u in list_users(store) if u.user_id == "admin").locked
    assert new_code != alone.recovery_code
    with pytest.raises(SignatureRefusedError):  # the old code is used up
        recover_account(store, "admin", alone.recovery_code, "another-new-password")
    from doseprep.store import verify_store

    assert verify_store(store).ok


def test_recovery_needs_the_code(store, alone) -> None:
    lock(store, "admin")
    with pytest.raises(SignatureRefusedError, match="recovery code"):
        recover_account(store, "admin", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH",
                        "a-brand-new-password")
    assert [e.action for e in events(store)][-1] == "recovery_refused"
    with pytest.raises(AccountLockedError):
        authenticate(store, "admin", People.password("admin"))


def test_recovery_is_only_for_the_last_administrator(store, alone) -> None:
    """Issue 25: ``users recover`` reset any account; now a technician, or an administrator
    while another can reset them, is refused, code or not."""
    from doseprep.store import add_user

    add_user(store, "tech", "TECH, TOM", "technician", People.password("tech"),
             admin_id="admin", admin_password=People.password("admin"))
    with pytest.raises(PermissionDeniedError, match="not an administrator"):
        recover_account(store, "tech", alone.recovery_code, "taken-over-password")
    add_user(store, "admin2", "ADMIN, BOB", "administrator", People.password("admin2"),
             admin_id="admin", admin_password=People.password("admin"))
    with pytest.raises(PermissionDeniedError, match="not the last administrator"):
        recover_account(store, "admin", alone.recovery_code, "taken-over-password")
    assert authenticate(store, "tech", People.password("tech")).user_id == "tech"


def test_recovery_cannot_be_scripted(store, alone) -> None:
    done = run_cli("users", "recover", "admin", stdin=f"admin\n{alone.recovery_code}\n"
                                                      "new-password-1\nnew-password-1\n")
    assert done.returncode == 2, done.stderr
    assert "terminal" in done.stderr and "Traceback" not in done.stderr
    assert not [e for e in events(store) if e.action == "account_recovered"]


def test_a_locked_out_administrator_is_recovered_at_the_terminal(store, alone) -> None:
    lock(store, "admin")
    code, out = converse(["users", "recover", "admin"],
                         [("again to go on:", "admin"),
                          ("Recovery code:", alone.recovery_code),
                          ("New password for", "recovered-password-1"),
                          ("Type it again:", "recovered-password-1")])
    assert code == 0, out
    assert "recovered" in out and "RECOVERY CODE" in out
    assert alone.recovery_code not in out  # a new one is shown
    assert authenticate(store, "admin", "recovered-password-1").user_id == "admin"


def test_a_mistyped_user_id_changes_nothing(store, alone) -> None:
    lock(store, "admin")
    code, out = converse(["users", "recover", "admin"], [("again to go on:", "admn")])
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
