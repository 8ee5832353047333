"""Managing accounts: an administrator adds, disables and resets them and certifies their keys;
the first administrator of a new store needs no credentials and receives the recovery code; the
last administrator, locked out, is recovered with that code at the workstation.

Every change is signed with the acting administrator's own key (the recovered administrator's new
key for a recovery) and audited with the account's state (:mod:`doseprep.store.account_sign`). A
new key is certified by the lab key, which the acting administrator's password unseals at that
moment (:mod:`doseprep.store.labca`): nothing is certified without a person.
"""

from __future__ import annotations

import getpass
import logging
import platform
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from doseprep.signoff import Role
from doseprep.store import audit
from doseprep.store.account_sign import Signer, account_event
from doseprep.store.canonical import utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.errors import (
    PermissionDeniedError,
    SignatureRefusedError,
    UserError,
    checked_reason,
)
from doseprep.store.keys import UserKey, create_key, current_key, unseal
from doseprep.store.labca import (
    RECOVERY,
    LabCertifier,
    certify,
    create_lab_key,
    identity_of,
    lab_key_row,
    new_recovery_code,
    normal_code,
    require_certified,
    seal_for,
    trusted_lab_certificate,
    unseal_lab_key,
    valid_from,
)
from doseprep.store.lockout import cleared
from doseprep.store.schema import users
from doseprep.store.users import (
    User,
    _administrator_exists,
    _is_last_administrator,
    administrator_exists,
    authenticate,
    check_password_policy,
    check_user_id,
    get_user,
    parse_role,
    password_hasher,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setup:
    """What creating the first administrator (or the lab key of an older store) gives: the
    recovery code, shown once, and the lab key's certificate fingerprint, to write down."""

    user: User
    recovery_code: str
    lab_fingerprint: str


def _require_admin(store: Store, admin_id: str | None, admin_password: str | None,
                   at_terminal: bool = False) -> User:
    if admin_id is None or admin_password is None:
        raise PermissionDeniedError("this needs an administrator: give --admin ID and the "
                               "administrator's password.")
    admin = authenticate(store, admin_id, admin_password, purpose="administrator sign-in",
                         at_terminal=at_terminal)
    if admin.role is not Role.ADMINISTRATOR:
        raise PermissionDeniedError(f"{admin_id} is not an administrator; only an administrator "
                                    "can manage user accounts.")
    return admin


def _signer(store: Store, user_id: str, password: str) -> Signer:
    """``user_id``'s own key, unsealed with the password just checked; refused unless the lab
    key (or, for a key older than revision 0005, the installation of those days) certifies it."""
    with store.read() as conn:
        found = current_key(conn, user_id)
        if found is None:
            raise SignatureRefusedError(f"{user_id} has no signing key yet; sign in once, then "
                                        "ask another administrator to certify it.")
        require_certified(conn, found[0])
    return Signer(user_id, found[0], unseal(found[1], password, user_id))


def _lab_key(store: Store, holder: str, secret: str) -> LabCertifier:
    with store.read() as conn:
        return unseal_lab_key(conn, holder, secret)


def _validated(user_id: str, printed_name: str) -> tuple[str, str]:
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
    return user_id, printed_name


def _insert_user(conn: Any, user_id: str, printed_name: str, role: Role,
                 password_hash: str) -> None:
    if get_user(conn, user_id) is not None:
        raise UserError(f"the user id {user_id} is taken; user ids are never reused.")
    now = utc_text(utc_now())
    conn.execute(users.insert().values(
        user_id=user_id, printed_name=printed_name, role=role.value,
        password_hash=password_hash, failed_attempts=0, locked=False, disabled=False,
        created_at=now, updated_at=now, row_version=1))


def _key_fields(key: UserKey, certifier: LabCertifier) -> dict[str, Any]:
    return {"key_id": key.key_id, "public_key": key.public_key,
            "key_created_at": key.created_at, "certified_by": certifier.fingerprint}


def create_first_administrator(store: Store, user_id: str, printed_name: str,
                               password: str) -> Setup:
    """The store's first administrator, who needs no credentials while none exists; makes the
    lab key, sealed under their password and a new recovery code (returned: print it once)."""
    from doseprep.signatures.worksheets import pin_lab_certificate

    user_id, printed_name = _validated(user_id, printed_name)
    check_password_policy(password)
    password_hash = password_hasher().hash(password)
    with store.write() as conn:
        if _administrator_exists(conn):
            raise PermissionDeniedError("an administrator exists already; ask them to create "
                                        "this account.")
        _insert_user(conn, user_id, printed_name, Role.ADMINISTRATOR, password_hash)
        key, private = create_key(conn, user_id, password)
        identity = identity_of(conn)
        certifier, code = create_lab_key(conn, user_id, password, identity)
        audit.append(conn, "lab_key_create", user_id,
                     new={"fingerprint": certifier.fingerprint, "store": identity,
                          "sealed_for": [user_id], "recovery_code": True})
        certify(conn, certifier, key, printed_name, user_id)
        account_event(conn, "user_add", user_id, user_id, signer=Signer(user_id, key, private),
                      extra={"printed_name": printed_name, "role": Role.ADMINISTRATOR.value,
                             **_key_fields(key, certifier)},
                      reason="first administrator")
        pem = lab_key_row(conn).certificate
        user = get_user(conn, user_id)
    pin_lab_certificate(identity, pem)
    assert user is not None
    log.info("first administrator %s added; lab key %s made", user_id, certifier.fingerprint)
    return Setup(user, code, certifier.fingerprint)


def add_user(store: Store, user_id: str, printed_name: str, role: Role | str, password: str, *,
             admin_id: str | None = None, admin_password: str | None = None,
             at_terminal: bool = False) -> User:
    """Create an account, its key certified by the lab key (an administrator also gets their
    copy of the lab key). The first administrator needs no credentials
    (:func:`create_first_administrator`, whose recovery code this drops: the command line and the
    window call that one); later, an administrator's do."""
    role = parse_role(role) if isinstance(role, str) else role
    user_id, printed_name = _validated(user_id, printed_name)
    check_password_policy(password)
    if not administrator_exists(store):
        if role is not Role.ADMINISTRATOR:
            raise PermissionDeniedError(no_administrator_message())
        return create_first_administrator(store, user_id, printed_name, password).user
    admin = _require_admin(store, admin_id, admin_password, at_terminal)
    assert admin_password is not None
    signer = _signer(store, admin.user_id, admin_password)
    certifier = _lab_key(store, admin.user_id, admin_password)
    password_hash = password_hasher().hash(password)
    with store.write() as conn:
        _insert_user(conn, user_id, printed_name, role, password_hash)
        key, _ = create_key(conn, user_id, password)
        certify(conn, certifier, key, printed_name, admin.user_id)
        if role is Role.ADMINISTRATOR:
            seal_for(conn, certifier, user_id, password)
        account_event(conn, "user_add", admin.user_id, user_id, signer=signer,
                      extra={"printed_name": printed_name, "role": role.value,
                             "holds_lab_key": role is Role.ADMINISTRATOR,
                             **_key_fields(key, certifier)})
        user = get_user(conn, user_id)
    assert user is not None
    log.info("user %s (%s) added by %s", user_id, role, admin.user_id)
    return user


def disable_user(store: Store, user_id: str, *, admin_id: str, admin_password: str,
                 reason: str | None = None, at_terminal: bool = False) -> User:
    """Disable an account: it can no longer sign or save. Its signatures stay valid."""
    reason = checked_reason(reason, None)
    admin = _require_admin(store, admin_id, admin_password, at_terminal)
    signer = _signer(store, admin.user_id, admin_password)
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
        account_event(conn, "user_disable", admin.user_id, user_id, signer=signer,
                      old={"disabled": False}, extra={"disabled": True}, reason=reason)
        user = get_user(conn, user_id)
    assert user is not None
    return user


def reset_password(store: Store, user_id: str, new_password: str, *, admin_id: str,
                   admin_password: str, at_terminal: bool = False) -> User:
    """Set a new password chosen by an administrator (a new key, certified; an administrator's
    copy of the lab key sealed again); this also unlocks a locked account."""
    check_password_policy(new_password)
    admin = _require_admin(store, admin_id, admin_password, at_terminal)
    signer = _signer(store, admin.user_id, admin_password)
    certifier = _lab_key(store, admin.user_id, admin_password)
    password_hash = password_hasher().hash(new_password)
    with store.write() as conn:
        user = get_user(conn, user_id)
        if user is None:
            raise UserError(f"there is no user {user_id}.")
        conn.execute(users.update().where(users.c.user_id == user_id).values(
            password_hash=password_hash, updated_at=utc_text(utc_now()),
            row_version=users.c.row_version + 1, **cleared()))
        key, _ = create_key(conn, user_id, new_password)
        certify(conn, certifier, key, user.printed_name, admin.user_id)
        if user.role is Role.ADMINISTRATOR:
            seal_for(conn, certifier, user_id, new_password)
        account_event(conn, "user_password_reset", admin.user_id, user_id, signer=signer,
                      old={"locked": user.locked, "failed_attempts": user.failed_attempts},
                      extra={"locked": False, "failed_attempts": 0,
                             **_key_fields(key, certifier)})
        user = get_user(conn, user_id)
    assert user is not None
    return user


def certify_users(store: Store, user_ids: list[str] | None, *, admin_id: str,
                  admin_password: str, at_terminal: bool = False
                  ) -> tuple[tuple[str, ...], str | None]:
    """Certify the newest key of each of ``user_ids`` (None: every account) that the lab key
    does not certify yet: a key made at a sign-in, or one from before revision 0005. A store
    made before revision 0005 has no lab key: the first call makes it, sealed under the
    administrator's password and a new recovery code (returned, else None)."""
    from doseprep.signatures.worksheets import pin_lab_certificate

    admin = _require_admin(store, admin_id, admin_password, at_terminal)
    signer = _signer(store, admin.user_id, admin_password)
    code = None
    with store.read() as conn:
        has_lab_key = lab_key_row(conn) is not None
    certifier = _lab_key(store, admin.user_id, admin_password) if has_lab_key else None
    done: list[str] = []
    with store.write() as conn:
        if certifier is None:
            identity = identity_of(conn)
            certifier, code = create_lab_key(conn, admin.user_id, admin_password, identity)
            audit.append(conn, "lab_key_create", admin.user_id,
                         new={"fingerprint": certifier.fingerprint, "store": identity,
                              "sealed_for": [admin.user_id], "recovery_code": True})
        wanted = user_ids if user_ids is not None else [
            r.user_id for r in conn.execute(sa.select(users.c.user_id)
                                            .where(users.c.disabled == sa.false())
                                            .order_by(users.c.user_id))]
        for user_id in wanted:
            user = get_user(conn, user_id)
            found = current_key(conn, user_id)
            if user is None:
                raise UserError(f"there is no user {user_id}.")
            if found is None:
                raise UserError(f"{user_id} has no signing key yet; they sign in once, then "
                                "certify it.")
            key = found[0]
            lab_certificate, _ = trusted_lab_certificate(conn)
            if lab_certificate is not None and valid_from(conn, key, lab_certificate):
                continue
            certify(conn, certifier, key, user.printed_name, admin.user_id)
            account_event(conn, "user_certify", admin.user_id, user_id, signer=signer,
                          extra={"key_id": key.key_id, "certified_by": certifier.fingerprint})
            done.append(user_id)
        pem = lab_key_row(conn).certificate
        identity = identity_of(conn)
    pin_lab_certificate(identity, pem)
    return tuple(done), code


def recover_account(store: Store, user_id: str, recovery_code: str,
                    new_password: str) -> tuple[User, str]:
    """The way back in for the last administrator, locked out or with the password lost: the
    recovery code printed at set-up opens the lab key, which certifies the new key made with the
    new password. Refused for anyone else (another administrator resets their password). The
    code is used up: a new one is returned (print it once). Audited with the operating-system
    user and host, signed with the new key."""
    check_password_policy(new_password)
    row = check_recoverable(store, user_id)
    try:
        certifier = _lab_key(store, RECOVERY, normal_code(recovery_code))
    except SignatureRefusedError:
        with store.write() as conn:
            audit.append(conn, "recovery_refused", user_id,
                         new={"user_id": user_id, "why": "wrong recovery code",
                              "host": platform.node()[:100]})
        raise
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    password_hash = password_hasher().hash(new_password)
    code = new_recovery_code()
    with store.write() as conn:
        conn.execute(users.update().where(users.c.user_id == user_id).values(
            password_hash=password_hash, updated_at=utc_text(utc_now()),
            row_version=users.c.row_version + 1, **cleared()))
        key, private = create_key(conn, user_id, new_password)
        certify(conn, certifier, key, row.printed_name, user_id)
        seal_for(conn, certifier, user_id, new_password)
        seal_for(conn, certifier, RECOVERY, normal_code(code))
        account_event(conn, "account_recovered", user_id, user_id,
                      signer=Signer(user_id, key, private),
                      old={"locked": bool(row.locked), "failed_attempts": row.failed_attempts},
                      extra={"os_user": os_user, "host": platform.node()[:100],
                             **_key_fields(key, certifier)},
                      reason="recovery with the recovery code (doseprep users recover)")
        user = get_user(conn, user_id)
    assert user is not None
    return user, code


def check_recoverable(store: Store, user_id: str) -> Any:
    """The account ``user_id`` if it may be recovered — the last enabled administrator — else
    refused, before anything is asked (issue 25: any account could be taken over)."""
    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).first()
        if row is None or row.role != Role.ADMINISTRATOR.value:
            raise PermissionDeniedError(f"{user_id} is not an administrator; recovery is only "
                                        "for the last administrator (an administrator resets "
                                        "other passwords).")
        if row.disabled:
            raise UserError(f"the account {user_id} is disabled; it cannot be recovered.")
        if not _is_last_administrator(conn, row):
            raise PermissionDeniedError(f"{user_id} is not the last administrator: another "
                                        "administrator resets the password (doseprep users "
                                        f"reset-password {user_id} --admin ID).")
    return row


def no_administrator_message() -> str:
    return ("no administrator account exists yet; create one first: doseprep users add ID "
            "--name \"LAST, First\" --role administrator")

