"""The first schema: users, records, signatures, the hash-chained audit trail and its guards.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Besides the tables, this installs database-level guards that make tampering need more than one
careless ``UPDATE``: the audit trail and the signatures reject UPDATE and DELETE, records cannot be
deleted, and a signed record's content columns cannot change (triggers on both SQLite and
PostgreSQL). A person with full control of the database can drop the triggers; ``doseprep audit
verify`` then still finds the change through the hashes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

#: The columns a signature covers; they never change once a record is signed.
CONTENT_COLUMNS = (
    "record_id", "version", "supersedes_id", "correction_reason", "request_json", "plan_json",
    "patient_mrn", "patient_name", "din", "dose_level", "plan_status", "protocol_id",
    "protocol_version", "protocol_fingerprint", "lab_fingerprint", "program_version",
    "created_at", "created_by",
)


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.String(32), nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("printed_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.Column("row_version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("supersedes_id", sa.Integer, sa.ForeignKey("records.id"), nullable=True),
        sa.Column("correction_reason", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request_json", sa.Text, nullable=False),
        sa.Column("plan_json", sa.Text, nullable=False),
        sa.Column("patient_mrn", sa.String(64), nullable=False),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("din", sa.String(32), nullable=False),
        sa.Column("dose_level", sa.String(16), nullable=False),
        sa.Column("plan_status", sa.String(16), nullable=False),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("protocol_version", sa.String(50), nullable=False),
        sa.Column("protocol_fingerprint", sa.String(64), nullable=False),
        sa.Column("lab_fingerprint", sa.String(64), nullable=False),
        sa.Column("program_version", sa.String(32), nullable=False),
        _timestamp("created_at"),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        _timestamp("updated_at"),
        sa.Column("updated_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.UniqueConstraint("record_id", "version", name="uq_records_record_id_version"),
        sa.UniqueConstraint("supersedes_id", name="uq_records_supersedes_id"),
        sa.CheckConstraint("state IN ('draft', 'prepared', 'verified', 'released')",
                           name="ck_records_state"),
    )
    op.create_index("ix_records_mrn", "records", ["patient_mrn", "id"])
    op.create_index("ix_records_din", "records", ["din", "id"])
    op.create_index("ix_records_state", "records", ["state", "id"])
    op.create_index("ix_records_created_at", "records", ["created_at"])
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_pk", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("meaning", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("printed_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        _timestamp("signed_at_utc"),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("utc_offset", sa.String(8), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("signature_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("record_pk", "seq", name="uq_signatures_record_seq"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        _timestamp("at"),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("record_ref", sa.String(40), nullable=True),
        sa.Column("old_value", sa.Text, nullable=True),
        sa.Column("new_value", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_record_ref", "audit_log", ["record_ref", "seq"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    for table in ("audit_log", "signatures"):
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'doseprep: {table} is append-only; "
                f"{event} is not allowed'); END")
    op.execute("CREATE TRIGGER records_no_delete BEFORE DELETE ON records "
               "BEGIN SELECT RAISE(ABORT, 'doseprep: records are never deleted'); END")
    op.execute("CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
               "BEGIN SELECT RAISE(ABORT, 'doseprep: the audit head is never deleted'); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT_COLUMNS)
    op.execute(
        "CREATE TRIGGER records_signed_immutable BEFORE UPDATE ON records "
        f"WHEN OLD.state <> 'draft' AND (NEW.state = 'draft' OR {changed}) "
        "BEGIN SELECT RAISE(ABORT, 'doseprep: a signed record cannot be changed'); END")


def _postgres_guards() -> None:
    op.execute("""
        CREATE FUNCTION doseprep_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'doseprep: % is append-only; % is not allowed',
                TG_TABLE_NAME, TG_OP;
        END $$""")
    for table in ("audit_log", "signatures"):
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION doseprep_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION doseprep_append_only()")
    op.execute("CREATE TRIGGER audit_head_no_delete BEFORE DELETE OR TRUNCATE ON audit_head "
               "FOR EACH STATEMENT EXECUTE FUNCTION doseprep_append_only()")
    old = ", ".join(f"OLD.{c}" for c in CONTENT_COLUMNS)
    new = ", ".join(f"NEW.{c}" for c in CONTENT_COLUMNS)
    op.execute(f"""
        CREATE FUNCTION doseprep_signed_record_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION 'doseprep: records are never deleted';
            END IF;
            IF OLD.state <> 'draft' AND (NEW.state = 'draft'
                    OR ROW({new}) IS DISTINCT FROM ROW({old})) THEN
                RAISE EXCEPTION 'doseprep: a signed record cannot be changed';
            END IF;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER records_guard BEFORE UPDATE OR DELETE ON records "
               "FOR EACH ROW EXECUTE FUNCTION doseprep_signed_record_immutable()")
    op.execute("CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records "
               "FOR EACH STATEMENT EXECUTE FUNCTION doseprep_append_only()")


def downgrade() -> None:
    bind = op.get_bind()
    for table in ("counters", "audit_head", "audit_log", "signatures", "records", "users"):
        op.drop_table(table)
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS doseprep_signed_record_immutable()")
        op.execute("DROP FUNCTION IF EXISTS doseprep_append_only()")
