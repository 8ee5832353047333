"""Cycle 2: freeze and thaw records, and the inventory of frozen aliquots (issue 12).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

``records.kind`` says which plan a record holds: ``fresh`` (every record before this revision),
``freeze`` or ``thaw``. It is part of a signed record's content, so the immutability guard now
covers it too.

``aliquots`` is the freezer inventory: one row per bag of a released freeze record, with its
state (frozen → thawed → infused, or discarded with a reason), its freezer location and the thaw
record that used it. Rows are never deleted and their identity (which record, bag, donor and
patient) never changes; every change is audited with a hash of the row, which ``audit verify``
compares with the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CONTENT_COLUMNS = (
    "record_id", "version", "supersedes_id", "correction_reason", "request_json", "plan_json",
    "patient_mrn", "patient_name", "din", "dose_level", "plan_status", "protocol_id",
    "protocol_version", "protocol_fingerprint", "lab_fingerprint", "program_version",
    "created_at", "created_by", "kind",
)
IDENTITY_COLUMNS = (
    "freeze_record_pk", "aliquot_ref", "division", "din", "product_code", "patient_mrn",
    "patient_name", "cycle", "infusion", "dose_level", "frozen_at", "frozen_expires_at",
    "created_at", "created_by",
)


def upgrade() -> None:
    op.add_column("records", sa.Column("kind", sa.String(16), nullable=False,
                                       server_default="fresh"))
    op.create_index("ix_records_kind", "records", ["kind", "id"])
    op.create_table(
        "aliquots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("freeze_record_pk", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
        sa.Column("aliquot_ref", sa.String(40), nullable=False, unique=True),
        sa.Column("division", sa.String(2), nullable=False),
        sa.Column("din", sa.String(16), nullable=False),
        sa.Column("product_code", sa.String(16), nullable=False),
        sa.Column("patient_mrn", sa.String(64), nullable=False),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("infusion", sa.Integer, nullable=False),
        sa.Column("dose_level", sa.String(16), nullable=False),
        sa.Column("frozen_at", sa.String(40), nullable=False),
        sa.Column("frozen_expires_at", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("location", sa.Text, nullable=True),
        sa.Column("thaw_record", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.CheckConstraint("state IN ('frozen', 'thawed', 'infused', 'discarded')",
                           name="ck_aliquots_state"),
    )
    op.create_index("ix_aliquots_patient", "aliquots", ["patient_mrn", "id"])
    op.create_index("ix_aliquots_din", "aliquots", ["din", "division"])
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()


def _records_guard(columns: tuple[str, ...], postgres: bool) -> str:
    """The statement that makes signed records immutable over ``columns`` (a PostgreSQL
    function, or an SQLite trigger)."""
    if postgres:
        old = ", ".join(f"OLD.{c}" for c in columns)
        new = ", ".join(f"NEW.{c}" for c in columns)
        return f"""
            CREATE OR REPLACE FUNCTION doseprep_signed_record_immutable() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'UPDATE' THEN
                    RAISE EXCEPTION 'doseprep: records are never deleted';
                END IF;
                IF OLD.state <> 'draft' AND (NEW.state = 'draft'
                        OR ROW({new}) IS DISTINCT FROM ROW({old})) THEN
                    RAISE EXCEPTION 'doseprep: a signed record cannot be changed';
                END IF;
                RETURN NEW;
            END $$"""
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
    return ("CREATE TRIGGER records_signed_immutable BEFORE UPDATE ON records "
            f"WHEN OLD.state <> 'draft' AND (NEW.state = 'draft' OR {changed}) "
            "BEGIN SELECT RAISE(ABORT, 'doseprep: a signed record cannot be changed'); END")


def _sqlite_guards() -> None:
    op.execute("DROP TRIGGER records_signed_immutable")
    op.execute(_records_guard(CONTENT_COLUMNS, postgres=False))
    op.execute("CREATE TRIGGER aliquots_no_delete BEFORE DELETE ON aliquots "
               "BEGIN SELECT RAISE(ABORT, 'doseprep: aliquots are never deleted'); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in IDENTITY_COLUMNS)
    op.execute(
        "CREATE TRIGGER aliquots_identity_fixed BEFORE UPDATE ON aliquots "
        f"WHEN {changed} "
        "BEGIN SELECT RAISE(ABORT, 'doseprep: an aliquot''s identity cannot change'); END")


def _postgres_guards() -> None:
    op.execute(_records_guard(CONTENT_COLUMNS, postgres=True))
    old = ", ".join(f"OLD.{c}" for c in IDENTITY_COLUMNS)
    new = ", ".join(f"NEW.{c}" for c in IDENTITY_COLUMNS)
    op.execute(f"""
        CREATE FUNCTION doseprep_aliquot_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION 'doseprep: aliquots are never deleted';
            END IF;
            IF ROW({new}) IS DISTINCT FROM ROW({old}) THEN
                RAISE EXCEPTION 'doseprep: an aliquot''s identity cannot change';
            END IF;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER aliquots_guard BEFORE UPDATE OR DELETE ON aliquots "
               "FOR EACH ROW EXECUTE FUNCTION doseprep_aliquot_guard()")
    op.execute("CREATE TRIGGER aliquots_no_truncate BEFORE TRUNCATE ON aliquots "
               "FOR EACH STATEMENT EXECUTE FUNCTION doseprep_append_only()")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_table("aliquots")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS doseprep_aliquot_guard()")
    else:
        op.execute("DROP TRIGGER records_signed_immutable")
    op.drop_index("ix_records_kind", "records")
    op.drop_column("records", "kind")
    op.execute(_records_guard(CONTENT_COLUMNS[:-1], postgres=postgres))  # without kind
