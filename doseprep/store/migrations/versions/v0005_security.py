"""Signatures a stolen workstation cannot make (issue 25).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

- ``store_identity``: one row, a random identity made when the store is made. Checkpoints
  outside the database are kept by this identity, not by where the database lies, so a moved
  folder or a copy put back is still held against them. It never changes.
- ``lab_keys``: the lab's certifying key — its X.509 certificate only. The private key is in
  ``lab_key_seals``, sealed (Argon2id + AES-256-GCM) once per administrator under their password
  and once under the recovery code printed at set-up; certifying a key needs one of them.
- ``key_certificates``: X.509 certificates the lab key issued for users' keys.
- ``users`` gains the times its lock is counted from: when the lock began, the last wrong
  password, and the last wrong password typed at the workstation's own terminal.

All three new tables are append-only. A store that already has an audit trail gets one audit row,
``security_upgrade``, naming the last row before this revision (keys certified the old way, by an
installation key, stay valid for signatures only if they were made before it) and the accounts'
lock counters as they were.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPEND_ONLY = ("lab_keys", "lab_key_seals", "key_certificates")
LOCK_COLUMNS = ("locked_at", "last_failed_at", "terminal_failed_at")


def upgrade() -> None:
    identity = op.create_table(
        "store_identity",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("identity", sa.String(36), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    store_id = str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    op.bulk_insert(identity, [{"id": 1, "identity": store_id, "created_at": now}])
    op.create_table(
        "lab_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("certificate", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
    )
    op.create_table(
        "lab_key_seals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lab_key_id", sa.Integer, sa.ForeignKey("lab_keys.id"), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),  # a user id; "" = recovery code
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_lab_key_seals_holder", "lab_key_seals", ["holder", "id"])
    op.create_table(
        "key_certificates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("user_keys.id"), nullable=False),
        sa.Column("lab_key_id", sa.Integer, sa.ForeignKey("lab_keys.id"), nullable=False),
        sa.Column("certificate", sa.Text, nullable=False),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("issued_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
    )
    op.create_index("ix_key_certificates_key", "key_certificates", ["key_id", "id"])
    for column in LOCK_COLUMNS:
        op.add_column("users", sa.Column(column, sa.String(32), nullable=True))
    bind = op.get_bind()
    # A lock in force from before: counted from when it was set (updated_at, as before).
    bind.exec_driver_sql("UPDATE users SET locked_at = updated_at, last_failed_at = updated_at "
                         "WHERE locked")
    if bind.dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()
    _mark_the_upgrade(bind, store_id, now)


def _sqlite_guards() -> None:
    for table in (*APPEND_ONLY, "store_identity"):
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'doseprep: {table} is append-only; "
                f"{event} is not allowed'); END")


def _postgres_guards() -> None:
    for table in (*APPEND_ONLY, "store_identity"):
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION doseprep_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION doseprep_append_only()")


def _mark_the_upgrade(bind: sa.Connection, store_id: str, now: str) -> None:
    """One audit row on a store that has a trail already: where the old way of certifying keys
    ends, and the lock counters every account starts from."""
    from doseprep.store.audit import row_hash
    from doseprep.store.canonical import canonical_json

    seq, head_hash = bind.exec_driver_sql("SELECT seq, hash FROM audit_head WHERE id = 1").one()
    if not seq:
        return
    counters = {}
    for row in bind.exec_driver_sql(
            "SELECT user_id, failed_attempts, locked, locked_at, last_failed_at, "
            "terminal_failed_at FROM users ORDER BY user_id").mappings():
        counters[row["user_id"]] = {"failed_attempts": int(row["failed_attempts"]),
                                    "locked": bool(row["locked"]),
                                    **{c: row[c] for c in LOCK_COLUMNS}}
    new = canonical_json({"legacy_through": seq, "store": store_id, "counters": counters})
    digest = row_hash(head_hash, seq + 1, now, None, "security_upgrade", None, None, new,
                      "revision 0005: accounts signed, lab key sealed")
    bind.execute(sa.text(
        "INSERT INTO audit_log (seq, at, user_id, action, record_ref, old_value, new_value, "
        "reason, prev_hash, hash) VALUES (:seq, :at, NULL, 'security_upgrade', NULL, NULL, :new, "
        ":reason, :prev, :hash)"),
        {"seq": seq + 1, "at": now, "new": new, "prev": head_hash, "hash": digest,
         "reason": "revision 0005: accounts signed, lab key sealed"})
    bind.execute(sa.text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"),
                 {"seq": seq + 1, "hash": digest})


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column in LOCK_COLUMNS:
        op.drop_column("users", column)
    for table in ("key_certificates", "lab_key_seals", "lab_keys", "store_identity"):
        if not postgres:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
        op.drop_table(table)
