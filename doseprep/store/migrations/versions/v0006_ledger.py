"""Revision 3 (issue 22): lab approvals, settings kept with the record, exceptional release, the
product ledger's QC samples.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

- ``lab_approvals``: an administrator's signed approval of one lab file's fingerprint, like
  ``protocol_approvals`` (append-only).
- ``settings_texts``: the exact text of every protocol and lab file a record was computed with,
  keyed by the SHA-256 of the text (append-only; many records share one text). ``records`` gains
  ``protocol_text_sha256`` and ``lab_text_sha256``; they are part of a signed record's content, so
  the immutability guard covers them. Records saved before this revision have none (NULL) and keep
  the hashes they were signed with; the files doseprep bundled until now (``../legacy/``) are
  kept here, so such a record made with them is found by its fingerprint and still reprints.
- ``signatures.exception_json``: an exceptional release's findings, reason and physician, covered
  by the signature's hash (NULL for every other signature, whose hashes are unchanged).
- ``product_samples``: QC samples taken from a collection (a DIN), for its ledger (append-only).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CONTENT_COLUMNS = (
    "record_id", "version", "supersedes_id", "correction_reason", "request_json", "plan_json",
    "patient_mrn", "patient_name", "din", "dose_level", "plan_status", "protocol_id",
    "protocol_version", "protocol_fingerprint", "lab_fingerprint", "program_version",
    "created_at", "created_by", "kind", "protocol_text_sha256", "lab_text_sha256",
)
APPEND_ONLY = ("lab_approvals", "settings_texts", "product_samples")


def upgrade() -> None:
    op.create_table(
        "lab_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("lab_name", sa.String(200), nullable=False),
        sa.Column("approved_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("printed_name", sa.String(200), nullable=False),
        sa.Column("approved_at", sa.String(32), nullable=False),
        sa.Column("approval_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "settings_texts",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.CheckConstraint("kind IN ('protocol', 'lab')", name="ck_settings_texts_kind"),
    )
    op.create_index("ix_settings_texts_fingerprint", "settings_texts", ["kind", "fingerprint"])
    _keep_legacy_texts()
    op.create_table(
        "product_samples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("din", sa.String(16), nullable=False),
        sa.Column("volume_ml", sa.String(32), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("taken_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("sample_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_product_samples_din", "product_samples", ["din", "id"])
    op.add_column("records", sa.Column("protocol_text_sha256", sa.String(64), nullable=True))
    op.add_column("records", sa.Column("lab_text_sha256", sa.String(64), nullable=True))
    op.add_column("signatures", sa.Column("exception_json", sa.Text, nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    _append_only(postgres)
    if not postgres:
        op.execute("DROP TRIGGER records_signed_immutable")
    op.execute(_records_guard(CONTENT_COLUMNS, postgres))


#: The files bundled before this revision, by kind.
LEGACY = (("protocol", "protocol-hmct-blinatumomab.toml"), ("lab", "lab.toml"))


def _keep_legacy_texts() -> None:
    """The settings files doseprep bundled until now, so that records saved with them (which
    keep no text) are found by fingerprint and reprint after the upgrade."""
    folder = Path(__file__).resolve().parent.parent / "legacy"
    table = sa.table("settings_texts", sa.column("sha256"), sa.column("kind"),
                     sa.column("fingerprint"), sa.column("text"), sa.column("created_at"))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    rows = []
    for kind, name in LEGACY:
        text = (folder / name).read_bytes().decode("utf-8")
        canonical = json.dumps(tomllib.loads(text), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        rows.append({"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "kind": kind,
                     "fingerprint": hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
                     "text": text, "created_at": now})
    op.bulk_insert(table, rows)


def _append_only(postgres: bool) -> None:
    for table in APPEND_ONLY:
        if postgres:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION doseprep_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION doseprep_append_only()")
            continue
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'doseprep: {table} is append-only; {event} is "
                "not allowed'); END")


def _records_guard(columns: tuple[str, ...], postgres: bool) -> str:
    """The statement that makes signed records immutable over ``columns`` (as revision 0004
    writes it)."""
    from doseprep.store.migrations.versions.v0004_cryo import _records_guard as guard

    return guard(columns, postgres)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:
        op.execute("DROP TRIGGER records_signed_immutable")
    op.drop_column("signatures", "exception_json")
    op.drop_column("records", "lab_text_sha256")
    op.drop_column("records", "protocol_text_sha256")
    op.execute(_records_guard(CONTENT_COLUMNS[:-2], postgres))
    op.drop_index("ix_product_samples_din", "product_samples")
    op.drop_index("ix_settings_texts_fingerprint", "settings_texts")
    for table in APPEND_ONLY:
        op.drop_table(table)
