"""Per-user signing keys: every electronic signature also carries a digital signature.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

``user_keys`` holds each user's Ed25519 public key, the private key sealed with a key derived
from the user's password (Argon2id, AES-256-GCM), and the lab signing key's certificate of the
public key (issue 10). A password reset adds a new key; old keys stay, so old signatures stay
verifiable. The table is append-only like the signatures. ``signatures`` gains the key used and
the digital signature of the signature's hash.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False, unique=True),
        sa.Column("sealed_private_key", sa.Text, nullable=False),
        sa.Column("certified_by", sa.String(64), nullable=False),
        sa.Column("certificate", sa.Text, nullable=False),
    )
    op.create_index("ix_user_keys_user", "user_keys", ["user_id", "id"])
    op.add_column("signatures", sa.Column("key_id", sa.Integer, nullable=True))
    op.add_column("signatures", sa.Column("digital_signature", sa.String(128), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER user_keys_append_only BEFORE UPDATE OR DELETE ON "
                   "user_keys FOR EACH ROW EXECUTE FUNCTION doseprep_append_only()")
        op.execute("CREATE TRIGGER user_keys_no_truncate BEFORE TRUNCATE ON user_keys "
                   "FOR EACH STATEMENT EXECUTE FUNCTION doseprep_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER user_keys_no_{event.lower()} BEFORE {event} ON user_keys "
                "BEGIN SELECT RAISE(ABORT, 'doseprep: user_keys is append-only; "
                f"{event} is not allowed'); END")


def downgrade() -> None:
    op.drop_column("signatures", "digital_signature")
    op.drop_column("signatures", "key_id")
    op.drop_table("user_keys")
