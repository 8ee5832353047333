"""User accounts, roles and re-authentication for electronic signatures.

Four roles: a **technician** prepares, a **supervisor** (the verifier role) verifies and releases,
the **medical director** authorises an exceptional release (and signs nothing else), an
**administrator** manages accounts and signs nothing. Passwords are hashed with Argon2id
(argon2-cffi); the hash string records its own parameters. Wrong passwords lock an account for a
period that grows while they continue, never for good (:mod:`doseprep.store.lockout`); an
administrator's reset unlocks at once, and the last administrator is recovered with the recovery
code (:func:`doseprep.store.accounts.recover_account`). A disabled account cannot sign. Every change
and every refused attempt goes into the audit trail; every change a person makes is signed with
their key (:mod:`doseprep.store.account_sign`) — a right password clears the wrong-password count
with the account's own signature, so no one can clear it unseen.

Hashing profile: the default is RFC 9106's "low memory" recommendation (argon2-cffi's default:
64 MiB, 3 passes, 4 lanes; about 0.1 s per check). The cheap ``test`` profile is refused outside
the test suite (:mod:`doseprep.store.hashing`); a hash weaker than the running profile is
upgraded at the next successful sign-in.

The first administrator can be created without credentials while no administrator exists; from
then on every account change needs an administrator's user id and password.
"""

from __future__ import annotations

import contextlib
import logging
import platform
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from doseprep.signoff import Role
from doseprep.store import audit
from doseprep.store.account_sign import Signer, account_event
from doseprep.store.canonical import utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.errors import (
    AccountDisabledError,
    AccountLockedError,
    PermissionDeniedError,
    SignatureRefusedError,
    UserError,
)
from doseprep.store.hashing import HASH_PROFILES, hash_profile
from doseprep.store.lockout import (
    MAX_FAILED_ATTEMPTS,
    after_wrong_password,
    cleared,
    counters,
    locked_until,
)
from doseprep.store.schema import users

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8


_ROLE_NAMES = {"technician": Role.TECHNICIAN, "tech": Role.TECHNICIAN,
               "supervisor": Role.SUPERVISOR, "verifier": Role.SUPERVISOR,
               "administrator": Role.ADMINISTRATOR, "admin": Role.ADMINISTRATOR,
               "medical_director": Role.MEDICAL_DIRECTOR,
               "medical-director": Role.MEDICAL_DIRECTOR,
               "medical director": Role.MEDICAL_DIRECTOR}


@dataclass(frozen=True)
class User:
    """An account as the program shows it (never the password hash)."""

    user_id: str
    printed_name: str
    role: Role
    disabled: bool
    locked: bool
    failed_attempts: int
    created_at: str
    row_version: int


def parse_role(text: str) -> Role:
    """The role called ``text`` (``verifier`` is the supervisor role)."""
    role = _ROLE_NAMES.get(text.strip().lower())
    if role is None:
        raise UserError(f"\"{text}\" is not a role; use technician, supervisor (verifier), "
                        "medical_director or administrator.")
    return role


@cache
def _hasher(profile: str) -> PasswordHasher:
    time_cost, memory_cost, parallelism = HASH_PROFILES[profile]
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def password_hasher() -> PasswordHasher:
    """The Argon2id hasher for the profile in force."""
    return _hasher(hash_profile())


@cache
def _dummy_hash(profile: str) -> str:
    return _hasher(profile).hash("not a password of anyone")


def check_password_policy(password: str) -> None:
    """Refuse passwords that are too short or empty-looking."""
    if len(password) < MIN_PASSWORD_LENGTH or not password.strip():
        raise UserError(f"a password must have at least {MIN_PASSWORD_LENGTH} characters.")


def check_user_id(user_id: str) -> str:
    cleaned = user_id.strip()
    if not cleaned or len(cleaned) > 64 or any(c.isspace() or not c.isprintable()
                                                for c in cleaned):
        raise UserError(f"\"{user_id}\" is not a usable user id; use 1 to 64 characters "
                        "without spaces, e.g. jdoe.")
    return cleaned


def _is_last_administrator(conn: Connection, row: Any) -> bool:
    if row.role != Role.ADMINISTRATOR.value or row.disabled:
        return False
    return conn.execute(sa.select(sa.func.count()).select_from(users).where(
        users.c.role == Role.ADMINISTRATOR.value, users.c.disabled == sa.false(),
        users.c.user_id != row.user_id)).scalar_one() == 0


def _locked_now(row: sa.Row | sa.RowMapping) -> bool:
    until = locked_until(row, utc_now())
    return until is not None and utc_now() < until


def _user(row: sa.Row) -> User:
    return User(user_id=row.user_id, printed_name=row.printed_name, role=Role(row.role),
                disabled=bool(row.disabled), locked=_locked_now(row),
                failed_attempts=row.failed_attempts, created_at=row.created_at,
                row_version=row.row_version)


def get_user(conn: Connection, user_id: str) -> User | None:
    row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).first()
    return None if row is None else _user(row)


def administrator_exists(store: Store) -> bool:
    """True when at least one enabled administrator account exists."""
    with store.read() as conn:
        return _administrator_exists(conn)


def _administrator_exists(conn: Connection) -> bool:
    return conn.execute(sa.select(users.c.user_id).where(
        users.c.role == Role.ADMINISTRATOR.value, users.c.disabled == sa.false())
        .limit(1)).first() is not None


def list_users(store: Store) -> tuple[User, ...]:
    with store.read() as conn:
        return tuple(_user(r) for r in conn.execute(sa.select(users).order_by(users.c.user_id)))


def authenticate(store: Store, user_id: str, password: str, *, purpose: str = "signature",
                 at_terminal: bool = False) -> User:
    """Check a user id and password now (every signature re-authenticates).

    A wrong password is counted and audited — also while the account is locked, which extends the
    lock — and the message never says whether the user id or the password was wrong.
    ``at_terminal``: typed by a person at the workstation (the window, a terminal prompt), which
    caps the last administrator's lock (:mod:`doseprep.store.lockout`). Raises
    :class:`SignatureRefusedError`, :class:`AccountLockedError` or :class:`AccountDisabledError`.
    """
    profile = hash_profile()
    hasher = _hasher(profile)
    user_id = user_id.strip()[:64]  # what was typed is audited; ids are never longer
    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).first()
        capped = at_terminal and row is not None and _is_last_administrator(conn, row)
    refused = SignatureRefusedError(f"{purpose} refused: wrong user id or password.")
    if row is None:
        # The same work as for a real account, so the time taken does not tell either.
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash(profile), password)
        with store.write() as conn:
            audit.append(conn, "auth_failed", user_id, new={"purpose": purpose,
                                                            "known_user": False})
        raise refused
    try:
        hasher.verify(row.password_hash, password)
        ok = True
    except (VerificationError, InvalidHashError):
        ok = False
    now = utc_now()
    until = locked_until(row, now, last_admin_at_terminal=capped)
    if until is not None and now < until:
        if not ok:
            until = _count_wrong_password(store, user_id, purpose, now, at_terminal, capped)
        else:
            with store.write() as conn:
                audit.append(conn, "auth_refused", user_id,
                             new={"purpose": purpose, "why": "account locked"})
        raise AccountLockedError(_locked_message(purpose, user_id, until))
    if not ok:
        until = _count_wrong_password(store, user_id, purpose, now, at_terminal, capped)
        if until is not None:
            raise AccountLockedError(_locked_message(purpose, user_id, until))
        raise refused
    if row.disabled:
        with store.write() as conn:
            audit.append(conn, "auth_refused", user_id,
                         new={"purpose": purpose, "why": "account disabled"})
        raise AccountDisabledError(f"{purpose} refused: the account {user_id} is disabled; ask an "
                              "administrator.")
    from doseprep.store.keys import current_key

    with store.read() as conn:
        has_key = current_key(conn, user_id) is not None
    if counters(row) != cleared() or _weaker_than(row.password_hash, profile) or not has_key:
        row = _after_right_password(store, row, password, profile)
    return _user(row)


def _count_wrong_password(store: Store, user_id: str, purpose: str, now: datetime,
                          at_terminal: bool, capped: bool) -> datetime | None:
    """Count one wrong password (audited, not signed); the end of the lock it causes or extends,
    or None."""
    at = utc_text(now)
    with store.write() as conn:
        row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).one()
        before = counters(row)
        after = after_wrong_password(before, at, at_terminal=at_terminal)
        conn.execute(users.update().where(users.c.user_id == user_id)
                     .values(row_version=users.c.row_version + 1, **after))
        account_event(conn, "auth_failed", user_id, user_id, signer=None, at=now,
                      extra={"purpose": purpose,
                             "consecutive_failures": after["failed_attempts"],
                             "terminal": at_terminal})
        row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).one()
        until = locked_until(row, now, last_admin_at_terminal=capped)
        if after["locked"] and not before["locked"]:
            account_event(conn, "account_locked", user_id, user_id, signer=None, at=now,
                          extra={"consecutive_failures": after["failed_attempts"],
                                 "until": utc_text(until) if until else None})
    return until


def _after_right_password(store: Store, row: Any, password: str, profile: str) -> Any:
    """A right password: clear the wrong-password count and re-hash a weak hash, signed with
    the account's own certified key; make a key for an account that has none (it signs nothing
    until an administrator certifies it)."""
    from doseprep.store.keys import create_key, current_key, unseal
    from doseprep.store.labca import certified_since

    user_id = row.user_id
    with store.write() as conn:
        found = current_key(conn, user_id)
        if found is None:  # an account from before revision 0003
            key, private = create_key(conn, user_id, password)
            account_event(conn, "user_key_create", user_id, user_id, signer=None,
                          extra={"key_id": key.key_id, "public_key": key.public_key,
                                 "key_created_at": key.created_at})
        else:
            key, private = found[0], unseal(found[1], password, user_id)
        if certified_since(conn, key) is None:
            log.warning("%s has no certified key: the wrong-password count is kept until an "
                        "administrator certifies it", user_id)
        else:
            signer = Signer(user_id, key, private)
            if _weaker_than(row.password_hash, profile):
                conn.execute(users.update().where(users.c.user_id == user_id).values(
                    password_hash=_hasher(profile).hash(password),
                    row_version=users.c.row_version + 1))
                account_event(conn, "password_rehash", user_id, user_id, signer=signer,
                              extra={"why": "stronger hashing parameters"})
            if counters(row) != cleared():
                conn.execute(users.update().where(users.c.user_id == user_id).values(
                    row_version=users.c.row_version + 1, **cleared()))
                account_event(conn, "account_unlocked" if row.locked else "auth_reset",
                              user_id, user_id, signer=signer,
                              old={"locked": bool(row.locked),
                                   "failed_attempts": row.failed_attempts},
                              extra={"why": "the password was right"
                                     + (" after the lock period" if row.locked else "")})
        return conn.execute(sa.select(users).where(users.c.user_id == user_id)).one()


def _locked_message(purpose: str, user_id: str, until: datetime | None) -> str:
    when = f", until {until:%Y-%m-%d %H:%M} UTC" if until else ""
    return (f"{purpose} refused: the account {user_id} is locked after {MAX_FAILED_ATTEMPTS} "
            f"wrong passwords in a row{when}; every further wrong password extends the lock. "
            f"Wait, or ask an administrator to reset its password (doseprep users "
            f"reset-password {user_id}); the last administrator can be recovered at the "
            f"workstation with the recovery code (doseprep users recover {user_id}).")


def _weaker_than(password_hash: str, profile: str) -> bool:
    """True when ``password_hash`` was made with weaker parameters than ``profile``."""
    try:
        params = extract_parameters(password_hash)
    except InvalidHashError:
        return True
    time_cost, memory_cost, _ = HASH_PROFILES[profile]
    return params.time_cost < time_cost or params.memory_cost < memory_cost


SESSION_EVENTS = frozenset({"login", "logout", "lock", "unlock"})


def record_session_event(store: Store, action: str, user_id: str, *,
                         detail: str | None = None) -> None:
    """Audit a session event of the window: ``login``, ``logout``, ``lock`` or ``unlock``."""
    if action not in SESSION_EVENTS:
        raise ValueError(f"not a session event: {action!r}")
    with store.write() as conn:
        audit.append(conn, f"session_{action}", user_id,
                     new={"host": platform.node()[:100]}, reason=detail)


def require_active_user(conn: Connection, user_id: str, roles: frozenset[Role],
                        doing: str) -> User:
    """The account ``user_id`` if it exists, is enabled and has one of ``roles``."""
    user = get_user(conn, user_id)
    if user is None:
        raise PermissionDeniedError(f"there is no user {user_id}; an administrator can add one "
                               "(doseprep users add).")
    if user.disabled:
        raise AccountDisabledError(f"the account {user_id} is disabled and cannot {doing}.")
    if user.locked:
        raise AccountLockedError(f"the account {user_id} is locked after wrong passwords and "
                                 f"cannot {doing} until the lock period ends or an "
                                 "administrator resets its password.")
    if user.role not in roles:
        allowed = " or ".join(sorted(r.value for r in roles))
        raise PermissionDeniedError(f"{user_id} is a {user.role.value}; only a {allowed} can "
                               f"{doing}.")
    return user
