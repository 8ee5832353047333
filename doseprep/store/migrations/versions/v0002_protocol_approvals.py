"""Protocol approvals: an administrator's signed approval of one protocol file's fingerprint.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

A protocol file's own ``approved = true`` is its author's intention; only a row here, made by
``doseprep protocol approve`` with an administrator's password and audited, makes documents drop
NOT FOR CLINICAL USE. The table is append-only like the signatures (triggers on SQLite and
PostgreSQL); ``doseprep audit verify`` checks each row's hash and its audit event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "protocol_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("protocol_version", sa.String(50), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("approved_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("printed_name", sa.String(200), nullable=False),
        sa.Column("approved_at", sa.String(32), nullable=False),
        sa.Column("approval_hash", sa.String(64), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER protocol_approvals_append_only BEFORE UPDATE OR DELETE ON "
                   "protocol_approvals FOR EACH ROW EXECUTE FUNCTION doseprep_append_only()")
        op.execute("CREATE TRIGGER protocol_approvals_no_truncate BEFORE TRUNCATE ON "
                   "protocol_approvals FOR EACH STATEMENT EXECUTE FUNCTION "
                   "doseprep_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER protocol_approvals_no_{event.lower()} BEFORE {event} ON "
                "protocol_approvals BEGIN SELECT RAISE(ABORT, 'doseprep: protocol_approvals is "
                f"append-only; {event} is not allowed'); END")


def downgrade() -> None:
    op.drop_table("protocol_approvals")
