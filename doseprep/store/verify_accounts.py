"""``audit verify``: accounts, keys and the lab key (issue 25).

The chain pass (:mod:`doseprep.store.verify`) hands every audit row about an account, a key or the
lab key to :class:`AccountTrail`; then :func:`check_account_events` replays them in order:

- Every change after the store's ``security_upgrade`` row (from the first row in a store made at
  revision 0005 or later) carries the account's state; a signed change is signed by a person
  allowed to make it — an enabled administrator, or the first administrator creating themselves
  while there was none, or the account itself with its right password — with a key the lab key
  certified before that moment; an unsigned one only counts a wrong password or locks
  (:func:`doseprep.store.lockout.unsigned_change_problem`). No time lies in the future.
- Each ``users`` row must be as its last audited change left it, lock counters included.
- Each key must be audited where it was made, and a key counts as certified by an X.509
  certificate the store's trusted lab key issued, or — only if it was made before the upgrade —
  by the installation certificate of those days.

Rows before the upgrade were written by a doseprep that signed no account change; for them the
account's hash is followed as before. A ``security_upgrade`` row after rows that only revision
0005 writes was not written by the upgrade: reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
from doseprep.store.account_sign import (
    ACCOUNT_ACTIONS,
    ADMIN_ACTIONS,
    SELF_ACTIONS,
    UNSIGNED_ACTIONS,
    account_hash,
    signature_verifies,
)
from doseprep.store.canonical import parse_utc_text, utc_now
from doseprep.store.keys import UserKey, all_keys, is_legacy, legacy_certificate_problem
from doseprep.store.lockout import (
    CLOCK_SKEW,
    counters,
    from_the_future,
    unsigned_change_problem,
)
from doseprep.store.schema import key_certificates, lab_keys, store_identity, users

#: Audit actions :class:`AccountTrail` keeps.
TRACKED = ACCOUNT_ACTIONS | {"security_upgrade", "lab_key_create"}
_ADMIN = "administrator"

Fail = Callable[[str, str, str], NoReturn]


@dataclass(frozen=True)
class _Event:
    seq: int
    at: str
    actor: str | None
    action: str
    new: str | None
    previous: str  # the hash of the row before it


@dataclass
class AccountTrail:
    """The account rows of the chain, then what replaying them found."""

    events: list[_Event] = field(default_factory=list)
    legacy_through: int | None = None  # last row before the upgrade (None: a store made new)
    # key id → (public key, seq of its audit row, its creation time when audited)
    keys: dict[int, tuple[str, int, str | None]] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # user → last audited state
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    lab_keys: list[str] = field(default_factory=list)  # fingerprints, in chain order
    stores: list[str] = field(default_factory=list)  # the store identities the trail names
    # (seq, signer, key id, signature, action, user, state, counters, previous hash, at)
    signed: list[tuple] = field(default_factory=list)

    def add(self, seq: int, at: str, actor: str | None, action: str, new: str | None,
            previous: str) -> None:
        self.events.append(_Event(seq, at, actor, action, new, previous))


def _parsed(event: _Event, fail: Fail) -> dict[str, Any]:
    try:
        value = load_stored(event.new or "")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        fail("audit_log", str(event.seq), "its new value is not what the program writes.")
    return value


def check_account_events(trail: AccountTrail, fail: Fail) -> None:
    """Replay the account rows (see the module docstring)."""
    marker = next((e for e in trail.events if e.action == "security_upgrade"), None)
    if marker is not None:
        value = _parsed(marker, fail)
        newer = next((e for e in trail.events if e.seq < marker.seq and (
            e.action == "lab_key_create" or '"account_signature"' in (e.new or "")
            or '"counters"' in (e.new or ""))), None)
        if newer is not None or value.get("legacy_through") != marker.seq - 1:
            fail("audit_log", str(marker.seq), "a security_upgrade row after rows that only "
                 "revision 0005 writes: it was not written by the upgrade (inserted).")
        trail.legacy_through = marker.seq - 1
    roles: dict[str, str] = {}
    disabled: dict[str, bool] = {}
    now = utc_now()
    for event in trail.events:
        if event.action == "security_upgrade":
            if event is marker:
                value = _parsed(event, fail)
                trail.counters.update(value.get("counters", {}))
                trail.stores.append(str(value.get("store")))
            continue
        value = _parsed(event, fail)
        if event.action == "lab_key_create":
            trail.lab_keys.append(str(value.get("fingerprint")))
            trail.stores.append(str(value.get("store")))
            continue
        if "user_id" not in value:
            continue  # a wrong password for an id that is no account
        user_id = value["user_id"]
        legacy = marker is not None and event.seq < marker.seq
        if legacy:
            if "account_hash" in value:
                trail.accounts[user_id] = value["account_hash"]
        else:
            _enforce(trail, event, value, roles, disabled, now, fail)
        if event.action == "user_add":
            roles[user_id] = str(value.get("role"))
        elif event.action == "user_disable":
            disabled[user_id] = True
        if "key_id" in value and "public_key" in value:
            trail.keys[int(value["key_id"])] = (value["public_key"], event.seq,
                                                value.get("key_created_at"))


def _enforce(trail: AccountTrail, event: _Event, value: dict[str, Any], roles: dict[str, str],
             disabled: dict[str, bool], now: Any, fail: Fail) -> None:
    where = str(event.seq)
    user_id = value["user_id"]
    state, lock = value.get("account_hash"), value.get("counters")
    if not isinstance(state, str) or not isinstance(lock, dict):
        fail("audit_log", where, "an account change without the account's state (not written "
             "by doseprep).")
    if _after(event.at, now) or from_the_future(lock, now):
        fail("audit_log", where, f"a change of {user_id} dated in the future (the lock or the "
             "row's time was set by hand).")
    if event.action in UNSIGNED_ACTIONS:
        if user_id not in trail.accounts:
            fail("audit_log", where, f"{user_id} was never added by an administrator (the "
                 "account was inserted).")
        if state != trail.accounts[user_id]:
            fail("audit_log", where, f"{user_id}'s account changed without a signature.")
        problem = unsigned_change_problem(trail.counters.get(user_id, lock), lock, event.at)
        if problem:
            fail("audit_log", where, f"{user_id}: {problem} (changed outside doseprep).")
    else:
        signer = value.get("signed_by")
        if not isinstance(signer, str) or "account_signature" not in value:
            fail("audit_log", where, f"a change of {user_id} that no person signed (written "
                 "outside doseprep).")
        if event.action in ADMIN_ACTIONS:
            first = (event.action == "user_add" and signer == user_id
                     and value.get("role") == _ADMIN and _ADMIN not in roles.values())
            if not first and (roles.get(signer) != _ADMIN or disabled.get(signer)):
                fail("audit_log", where, f"a change of {user_id} signed by {signer}, who is not "
                     "an enabled administrator (forged).")
            if event.action == "user_add" and user_id in trail.accounts:
                fail("audit_log", where, f"{user_id} added a second time.")
        elif event.action in SELF_ACTIONS and signer != user_id:
            fail("audit_log", where, f"a change of {user_id} signed by {signer}: only "
                 f"{user_id} signs it (forged).")
        trail.signed.append((event.seq, signer, value.get("signer_key_id"),
                             value["account_signature"], event.action, user_id, state, lock,
                             event.previous, event.at))
    trail.accounts[user_id] = state
    trail.counters[user_id] = lock


def _after(at: str, now: Any) -> bool:
    try:
        return parse_utc_text(at) > now + CLOCK_SKEW
    except (TypeError, ValueError):
        return True


def check_lab_key(conn: Connection, trail: AccountTrail, trust: Sequence[Path],
                  fail: Fail) -> Any:
    """The store's lab certificate, checked: one, made in the trail, trusted here (None for a
    store that has none yet)."""
    from doseprep.store.labca import trusted_lab_certificate

    rows = conn.execute(sa.select(lab_keys.c.id, lab_keys.c.fingerprint)
                        .order_by(lab_keys.c.id)).all()
    if len(rows) > 1 or len(trail.lab_keys) > 1:
        fail("lab_keys", str(rows[-1].id if rows else "?"), "a second lab key (inserted): a "
             "store has one.")
    if [r.fingerprint for r in rows] != trail.lab_keys:
        fail("lab_keys", str(rows[0].id if rows else "?"), "the lab key is not the one the "
             "audit trail says was made (replaced or inserted).")
    identity = conn.execute(sa.select(store_identity.c.identity)).scalar()
    named = {s for s in trail.stores if s != identity}
    if named:
        fail("store_identity", "1", f"the store's identity is not the one its audit trail "
             f"names ({sorted(named)[0]}): changed, or another store's trail.")
    if not rows:
        return None
    certificate, problem = trusted_lab_certificate(conn, trust)
    if problem:
        fail("lab_keys", str(rows[0].id), problem)
    return certificate


def check_keys(conn: Connection, trail: AccountTrail, lab_certificate: Any,
               workstation: Mapping[str, Any], fail: Fail) -> tuple[dict[int, UserKey],
                                                                   dict[int, str]]:
    """Every key audited where it was made; from when each is certified (key id → UTC text)."""
    from doseprep.store.labca import certificate_problem

    keys = all_keys(conn)
    for key_id in sorted(keys):
        key, audited = keys[key_id], trail.keys.get(key_id)
        if audited is None or audited[0] != key.public_key or (
                audited[2] is not None and audited[2] != key.created_at) or (
                    not is_legacy(key) and (key.certified_by or key.certificate)):
            fail("user_keys", f"{key_id} ({key.user_id})", "the audit trail holds no such key "
                 "(inserted or altered).")
    since: dict[int, str] = {}
    for row in conn.execute(sa.select(key_certificates).order_by(key_certificates.c.id)):
        key = keys.get(row.key_id)
        where = f"{row.id} (key {row.key_id})"
        if key is None or lab_certificate is None:
            fail("key_certificates", where, "a certificate without its key or the lab key "
                 "(inserted).")
        problem, moment = certificate_problem(row.certificate, key, lab_certificate)
        if problem:
            fail("key_certificates", where, problem)
        since[key.key_id] = min(since.get(key.key_id, moment), moment)
    for key_id in sorted(keys):
        key = keys[key_id]
        if not is_legacy(key):
            continue
        where = f"{key_id} ({key.user_id})"
        if trail.legacy_through is None or trail.keys[key_id][1] > trail.legacy_through:
            fail("user_keys", where, "it is certified by an installation key, which no longer "
                 "certifies anyone since revision 0005 (forged with the workstation's files).")
        problem = legacy_certificate_problem(key, workstation)
        if problem:
            fail("user_keys", where, problem)
        since[key_id] = min(since.get(key_id, key.created_at), key.created_at)
    return keys, since


def check_account_signatures(trail: AccountTrail, keys: Mapping[int, UserKey],
                             since: Mapping[int, str], fail: Fail) -> None:
    for seq, signer, key_id, signature, action, user_id, state, lock, previous, at in \
            trail.signed:
        key = keys.get(key_id) if isinstance(key_id, int) else None
        where = str(seq)
        if key is None or key.user_id != signer:
            fail("audit_log", where, f"a change of {user_id} signed with a key that is not "
                 f"{signer}'s (forged).")
        if key_id not in since or since[key_id] > at:
            fail("audit_log", where, f"a change of {user_id} signed with {signer}'s key {key_id},"
                 " which the lab key had not certified then (forged).")
        if not signature_verifies(key.public_key, str(signature), action, user_id, state,
                                  lock, previous):
            fail("audit_log", where, f"the signature of {signer} on this change of {user_id} "
                 "does not verify (altered or forged).")


def check_users(conn: Connection, trail: AccountTrail, fail: Fail) -> None:
    """Every account is as its last audited change left it: name, role, password hash, disabled
    flag and (since the upgrade) its lock counters."""
    now = utc_now()
    for row in conn.execute(sa.select(users).order_by(users.c.user_id)):
        if trail.accounts.get(row.user_id) != account_hash(row):
            fail("users", row.user_id, "the account is not as its last audited change left it "
                 "(its password hash, role, name or disabled flag was changed outside "
                 "doseprep, or the account was inserted).")
        values = counters(row)
        if from_the_future(values, now):
            fail("users", row.user_id, "its lock is dated in the future (set by hand).")
        if row.user_id in trail.counters and trail.counters[row.user_id] != values:
            fail("users", row.user_id, "its wrong-password count or lock is not as audited "
                 "(changed outside doseprep).")
