"""User accounts, roles and re-authentication for electronic signatures.

Four roles: a **technician** prepares, a **supervisor** (the verifier role) verifies and releases,
the **medical director** authorises an exceptional release (and signs nothing else), an
**administrator** manages accounts and signs nothing. Passwords are hashed with Argon2id
(argon2-cffi); the hash string records its own parameters. Five wrong passwords in a row lock the
account for a period (15 minutes, doubling with each further wrong password, at most 24 hours) —
never for good, so five wrong guesses cannot lock a lab out of its only administrator; an
administrator's reset unlocks at once, and :func:`recover_account` unlocks at the workstation
itself. A disabled account cannot sign. Every change and every refused attempt goes into the
audit trail.

Hashing profile: the default is RFC 9106's "low memory" recommendation (argon2-cffi's default:
64 MiB, 3 passes, 4 lanes; about 0.1 s per check). ``DOSEPREP_PASSWORD_HASH_PROFILE=test`` selects
a deliberately cheap profile (8 KiB, 1 pass) **for the test suite only**; a hash weaker than the
running profile is upgraded at the next successful sign-in, so such a hash never survives in
production use.

The first administrator can be created without credentials while no administrator exists; from
then on every account change needs an administrator's user id and password.
"""

from __future__ import annotations

import contextlib
import logging
import platform
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from doseprep.signing import Role
from doseprep.store import audit
from doseprep.store.canonical import content_hash, parse_utc_text, utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.errors import (
    AccountDisabledError,
    AccountLockedError,
    PermissionDeniedError,
    SignatureRefusedError,
    UserError,
)
from doseprep.store.hashing import HASH_PROFILES, hash_profile
from doseprep.store.keys import create_key
from doseprep.store.schema import users

log = logging.getLogger(__name__)

MAX_FAILED_ATTEMPTS = 5
#: How long five wrong passwords lock an account; each further wrong password doubles it.
LOCK_PERIOD = timedelta(minutes=15)
MAX_LOCK_PERIOD = timedelta(hours=24)
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


def locked_until(row: sa.Row | sa.RowMapping) -> datetime | None:
    """When the lock of an account ends (None when it is not locked).

    The lock starts at ``updated_at`` (set when it was locked) and lasts :data:`LOCK_PERIOD`,
    doubled for every wrong password after the fifth, at most :data:`MAX_LOCK_PERIOD`.
    """
    if not row.locked:
        return None
    extra = max(0, min(int(row.failed_attempts) - MAX_FAILED_ATTEMPTS, 16))
    period = min(LOCK_PERIOD * (2 ** extra), MAX_LOCK_PERIOD)
    try:
        return parse_utc_text(row.updated_at) + period
    except (TypeError, ValueError):
        return utc_now() + period


def _locked_now(row: sa.Row | sa.RowMapping) -> bool:
    until = locked_until(row)
    return until is not None and utc_now() < until


#: The columns of a users row that ``audit verify`` holds against the audit trail: a changed
#: password hash, role, name or disabled flag outside the program is reported (issue 10). The
#: failure counter and lock follow wrong passwords and are audited as events instead.
ACCOUNT_FIELDS = ("user_id", "printed_name", "role", "password_hash", "disabled", "created_at")
#: Audit actions whose new value carries the account's ``account_hash`` after the change.
ACCOUNT_ACTIONS = frozenset({"user_add", "user_disable", "user_password_reset",
                             "account_recovered", "password_rehash", "user_key_create"})


def account_hash(row: Any) -> str:
    """The hash of a users row's audited columns."""
    values = row._mapping if hasattr(row, "_mapping") else row
    return content_hash({name: (bool(values[name]) if name == "disabled" else values[name])
                         for name in ACCOUNT_FIELDS})


def _account_state(conn: Connection, user_id: str) -> str:
    return account_hash(conn.execute(sa.select(users).where(users.c.user_id == user_id)).one())


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


def authenticate(store: Store, user_id: str, password: str, *, purpose: str = "signature") -> User:
    """Check a user id and password now (every signature re-authenticates).

    A wrong password is counted (five in a row lock the account) and audited, and the message never
    says whether the user id or the password was wrong. Raises :class:`SignatureRefusedError`,
    :class:`AccountLockedError` or :class:`AccountDisabledError`.
    """
    profile = hash_profile()
    hasher = _hasher(profile)
    user_id = user_id.strip()[:64]  # what was typed is audited; ids are never longer
    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).first()
    refused = SignatureRefusedError(f"{purpose} refused: wrong user id or password.")
    if row is None:
        # The same work as for a real account, so the time taken does not tell either.
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash(profile), password)
        with store.write() as conn:
            audit.append(conn, "auth_failed", user_id, new={"purpose": purpose,
                                                            "known_user": False})
        raise refused
    if _locked_now(row):
        with store.write() as conn:
            audit.append(conn, "auth_refused", user_id,
                         new={"purpose": purpose, "why": "account locked"})
        raise AccountLockedError(_locked_message(purpose, user_id, locked_until(row)))
    try:
        hasher.verify(row.password_hash, password)
        ok = True
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        with store.write() as conn:
            failed = conn.execute(
                users.update().where(users.c.user_id == user_id)
                .values(failed_attempts=users.c.failed_attempts + 1,
                        row_version=users.c.row_version + 1)
                .returning(users.c.failed_attempts)).scalar_one()
            audit.append(conn, "auth_failed", user_id,
                         new={"purpose": purpose, "consecutive_failures": failed})
            until = None
            if failed >= MAX_FAILED_ATTEMPTS:
                conn.execute(users.update().where(users.c.user_id == user_id)
                             .values(locked=True, updated_at=utc_text(utc_now())))
                locked_row = conn.execute(sa.select(users)
                                          .where(users.c.user_id == user_id)).one()
                until = locked_until(locked_row)
                audit.append(conn, "account_locked", user_id,
                             new={"consecutive_failures": failed,
                                  "until": utc_text(until) if until else None})
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
    weaker = _weaker_than(row.password_hash, profile)
    if row.failed_attempts or row.locked or weaker or not has_key:
        with store.write() as conn:
            values: dict = {"failed_attempts": 0, "locked": False,
                            "row_version": users.c.row_version + 1}
            if row.locked:
                audit.append(conn, "account_unlocked", user_id,
                             old={"locked": True, "failed_attempts": row.failed_attempts},
                             new={"why": "the lock period ended and the password was right"})
            if weaker:
                values["password_hash"] = hasher.hash(password)
            conn.execute(users.update().where(users.c.user_id == user_id).values(**values))
            if weaker:
                audit.append(conn, "password_rehash", user_id,
                             new={"user_id": user_id, "why": "stronger hashing parameters",
                                  "account_hash": _account_state(conn, user_id)})
            if current_key(conn, user_id) is None:  # an account from before revision 0003
                key = create_key(conn, user_id, password)
                audit.append(conn, "user_key_create", user_id,
                             new={"user_id": user_id, "key_id": key.key_id,
                                  "public_key": key.public_key,
                                  "certified_by": key.certified_by,
                                  "account_hash": _account_state(conn, user_id)})
            row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).one()
    return _user(row)


def _locked_message(purpose: str, user_id: str, until: datetime | None) -> str:
    when = f", until {until:%Y-%m-%d %H:%M} UTC" if until else ""
    return (f"{purpose} refused: the account {user_id} is locked after {MAX_FAILED_ATTEMPTS} "
            f"wrong passwords in a row{when}. Wait, or ask an "
            f"administrator to reset its password (doseprep users reset-password {user_id}); a "
            "locked administrator can be recovered at the workstation (doseprep users recover "
            f"{user_id}).")


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
