"""Managing accounts: an administrator adds, disables and resets them (the first administrator of
a new store needs no credentials); a locked-out administrator is recovered at the workstation.
Every change is audited, with the account's hash."""

from __future__ import annotations

import getpass
import logging
import platform

import sqlalchemy as sa

from doseprep.signing import Role
from doseprep.store import audit
from doseprep.store.canonical import utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.errors import (
    PermissionDeniedError,
    UserError,
    checked_reason,
)
from doseprep.store.keys import create_key
from doseprep.store.schema import users
from doseprep.store.users import (
    User,
    _account_state,
    _administrator_exists,
    administrator_exists,
    authenticate,
    check_password_policy,
    check_user_id,
    get_user,
    parse_role,
    password_hasher,
)

log = logging.getLogger(__name__)


def _require_admin(store: Store, admin_id: str | None, admin_password: str | None) -> User:
    if admin_id is None or admin_password is None:
        raise PermissionDeniedError("this needs an administrator: give --admin ID and the "
                               "administrator's password.")
    admin = authenticate(store, admin_id, admin_password, purpose="administrator sign-in")
    if admin.role is not Role.ADMINISTRATOR:
        raise PermissionDeniedError(f"{admin_id} is not an administrator; only an administrator "
                                    "can manage user accounts.")
    return admin


def add_user(store: Store, user_id: str, printed_name: str, role: Role | str, password: str, *,
             admin_id: str | None = None, admin_password: str | None = None) -> User:
    """Create an account. The first administrator needs no credentials; later, an admin's do."""
    role = parse_role(role) if isinstance(role, str) else role
    user_id = check_user_id(user_id)
    printed_name = printed_name.strip()
    if len(printed_name) > 200:
        raise UserError("the printed name is longer than 200 characters; shorten it.")
    if not printed_name.isprintable():
        raise UserError("the printed name holds a control character (a tab, line break or "
                        "NUL); type it again.")
    if not printed_name:
        raise UserError("give the person's printed name, as it must appear on signed "
                        "records (e.g. \"DOE, JANE\").")
    check_password_policy(password)
    first_admin = not administrator_exists(store)
    if first_admin:
        if role is not Role.ADMINISTRATOR:
            raise PermissionDeniedError(no_administrator_message())
        actor = user_id
    else:
        actor = _require_admin(store, admin_id, admin_password).user_id
    password_hash = password_hasher().hash(password)
    now = utc_text(utc_now())
    with store.write() as conn:
        if first_admin and _administrator_exists(conn):
            raise PermissionDeniedError("an administrator was created meanwhile; ask them to "
                                        "create this account.")
        if get_user(conn, user_id) is not None:
            raise UserError(f"the user id {user_id} is taken; user ids are never reused.")
        conn.execute(users.insert().values(
            user_id=user_id, printed_name=printed_name, role=role.value,
            password_hash=password_hash, failed_attempts=0, locked=False, disabled=False,
            created_at=now, updated_at=now, row_version=1))
        key = create_key(conn, user_id, password)
        audit.append(conn, "user_add", actor,
                     new={"user_id": user_id, "printed_name": printed_name, "role": role.value,
                          "key_id": key.key_id, "public_key": key.public_key,
                          "certified_by": key.certified_by,
                          "account_hash": _account_state(conn, user_id)},
                     reason="first administrator" if first_admin else None)
        user = get_user(conn, user_id)
    assert user is not None
    log.info("user %s (%s) added by %s", user_id, role, actor)
    return user


def disable_user(store: Store, user_id: str, *, admin_id: str, admin_password: str,
                 reason: str | None = None) -> User:
    """Disable an account: it can no longer sign or save. Its signatures stay valid."""
    reason = checked_reason(reason, None)
    admin = _require_admin(store, admin_id, admin_password)
    with store.write() as conn:
        user = get_user(conn, user_id)
        if user is None:
            raise UserError(f"there is no user {user_id}.")
        if user.disabled:
            return user
        if user.role is Role.ADMINISTRATOR:
            others = conn.execute(sa.select(sa.func.count()).select_from(users).where(
                users.c.role == Role.ADMINISTRATOR.value, users.c.disabled == sa.false(),
                users.c.user_id != user_id)).scalar_one()
            if not others:
                raise UserError(f"{user_id} is the last administrator; add another "
                                "administrator before disabling this one.")
        conn.execute(users.update().where(users.c.user_id == user_id).values(
            disabled=True, updated_at=utc_text(utc_now()), row_version=users.c.row_version + 1))
        audit.append(conn, "user_disable", admin.user_id, old={"disabled": False},
                     new={"user_id": user_id, "disabled": True,
                          "account_hash": _account_state(conn, user_id)}, reason=reason)
        user = get_user(conn, user_id)
    assert user is not None
    return user


def reset_password(store: Store, user_id: str, new_password: str, *, admin_id: str,
                   admin_password: str) -> User:
    """Set a new password chosen by an administrator; this also unlocks a locked account."""
    check_password_policy(new_password)
    admin = _require_admin(store, admin_id, admin_password)
    password_hash = password_hasher().hash(new_password)
    with store.write() as conn:
        user = get_user(conn, user_id)
        if user is None:
            raise UserError(f"there is no user {user_id}.")
        conn.execute(users.update().where(users.c.user_id == user_id).values(
            password_hash=password_hash, failed_attempts=0, locked=False,
            updated_at=utc_text(utc_now()), row_version=users.c.row_version + 1))
        key = create_key(conn, user_id, new_password)
        audit.append(conn, "user_password_reset", admin.user_id,
                     old={"locked": user.locked, "failed_attempts": user.failed_attempts},
                     new={"user_id": user_id, "locked": False, "failed_attempts": 0,
                          "key_id": key.key_id, "public_key": key.public_key,
                          "certified_by": key.certified_by,
                          "account_hash": _account_state(conn, user_id)})
        user = get_user(conn, user_id)
    assert user is not None
    return user


#: Session events of the window, each one audit row (issue 10: log-in, log-out, lock and unlock
#: were not audited). Failed log-ins are audited by :func:`authenticate` itself.


def recover_account(store: Store, user_id: str, new_password: str) -> User:
    """Unlock an account and set a new password at the workstation itself (audited).

    The way back in when the only administrator is locked or its password is lost: it needs no
    user id and password, but control of this workstation's operating-system account and of the
    database (``doseprep users recover`` runs only at a terminal). The audit trail records the
    operating-system user and host that did it; the lab reviews every recovery.
    """
    check_password_policy(new_password)
    password_hash = password_hasher().hash(new_password)
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    with store.write() as conn:
        user = get_user(conn, user_id)
        if user is None:
            raise UserError(f"there is no user {user_id}.")
        if user.disabled:
            raise UserError(f"the account {user_id} is disabled; recover an active "
                            "administrator and let them decide about it.")
        conn.execute(users.update().where(users.c.user_id == user_id).values(
            password_hash=password_hash, failed_attempts=0, locked=False,
            updated_at=utc_text(utc_now()), row_version=users.c.row_version + 1))
        key = create_key(conn, user_id, new_password)
        audit.append(conn, "account_recovered", None,
                     old={"locked": user.locked, "failed_attempts": user.failed_attempts},
                     new={"user_id": user_id, "os_user": os_user,
                          "host": platform.node()[:100], "key_id": key.key_id,
                          "public_key": key.public_key, "certified_by": key.certified_by,
                          "account_hash": _account_state(conn, user_id)},
                     reason="recovery at the workstation (doseprep users recover)")
        user = get_user(conn, user_id)
    assert user is not None
    return user


def no_administrator_message() -> str:
    return ("no administrator account exists yet; create one first: doseprep users add ID "
            "--name \"LAST, First\" --role administrator")
