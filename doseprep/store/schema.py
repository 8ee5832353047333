"""The record database's tables as SQLAlchemy Core objects, for queries.

The tables themselves are created and changed only by the Alembic migrations in ``migrations/``;
these definitions mirror them for building statements. Timestamps are fixed-width UTC text and JSON
is canonical JSON text (see :mod:`doseprep.store.canonical`), so both databases hand back the exact
bytes that were hashed.

- ``users``: accounts, role, Argon2id hash, consecutive failures, locked/disabled flags.
- ``records``: one row per version of a preparation record; the content a signature covers, the
  state, and ``row_version`` for optimistic locking.
- ``signatures``: one row per electronic signature, bound to a record version by hash.
- ``audit_log``: the append-only, hash-chained audit trail; ``audit_head`` holds its last link and
  is the lock that serializes writers on PostgreSQL.
- ``counters``: the running number behind human-friendly record ids, per year.
- ``protocol_approvals``: an administrator's signed approval of a protocol file's fingerprint.
- ``aliquots``: the freezer inventory, one row per bag of a released freeze record, its state and
  location (revision 0004, :mod:`doseprep.store.inventory`).
- ``user_keys``: each user's signing keys (public key, private key sealed by the password);
  append-only, a password change adds one (:mod:`doseprep.store.keys`).
- ``store_identity``, ``lab_keys``, ``lab_key_seals``, ``key_certificates`` (revision 0005,
  issue 25): the store's identity, the lab's certifying key (its certificate; the private key
  sealed per administrator and under the recovery code) and the certificates it issued for
  users' keys (:mod:`doseprep.store.labca`).
- ``lab_approvals``: an administrator's signed approval of a lab file's fingerprint (0006).
- ``settings_texts``: the exact text of each protocol and lab file a record was computed with,
  keyed by its SHA-256; records point at them (0006).
- ``product_samples``: QC samples taken from a collection, for the product ledger (0006).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("user_id", String(64), primary_key=True),
    Column("printed_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked", Boolean, nullable=False, server_default="0"),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("row_version", Integer, nullable=False, server_default="1"),
    # Revision 0005: when the lock began, the last wrong password, the last one typed at the
    # workstation's own terminal (:func:`doseprep.store.lockout.locked_until`).
    Column("locked_at", String(32), nullable=True),
    Column("last_failed_at", String(32), nullable=True),
    Column("terminal_failed_at", String(32), nullable=True),
)

records = Table(
    "records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("supersedes_id", Integer, ForeignKey("records.id"), nullable=True, unique=True),
    Column("correction_reason", Text, nullable=True),
    Column("state", String(16), nullable=False),
    Column("request_json", Text, nullable=False),
    Column("plan_json", Text, nullable=False),
    Column("patient_mrn", String(64), nullable=False),
    Column("patient_name", String(200), nullable=False),
    Column("din", String(32), nullable=False),
    Column("dose_level", String(16), nullable=False),
    Column("plan_status", String(16), nullable=False),
    Column("protocol_id", String(100), nullable=False),
    Column("protocol_version", String(50), nullable=False),
    Column("protocol_fingerprint", String(64), nullable=False),
    Column("lab_fingerprint", String(64), nullable=False),
    Column("program_version", String(32), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("updated_by", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("row_version", Integer, nullable=False),
    Column("kind", String(16), nullable=False, server_default="fresh"),  # revision 0004
    Column("protocol_text_sha256", String(64), nullable=True),  # revision 0006
    Column("lab_text_sha256", String(64), nullable=True),  # revision 0006
    UniqueConstraint("record_id", "version", name="uq_records_record_id_version"),
    Index("ix_records_mrn", "patient_mrn", "id"),
    Index("ix_records_din", "din", "id"),
    Index("ix_records_state", "state", "id"),
    Index("ix_records_created_at", "created_at"),
)

signatures = Table(
    "signatures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_pk", Integer, ForeignKey("records.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("meaning", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("user_id", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("printed_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("signed_at_utc", String(32), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("utc_offset", String(8), nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("signature_hash", String(64), nullable=False),
    Column("key_id", Integer, nullable=True),  # user_keys.id (revision 0003)
    Column("digital_signature", String(128), nullable=True),  # Ed25519 over signature_hash, hex
    Column("exception_json", Text, nullable=True),  # an exceptional release (revision 0006)
    UniqueConstraint("record_pk", "seq", name="uq_signatures_record_seq"),
)

user_keys = Table(
    "user_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("public_key", String(64), nullable=False, unique=True),
    Column("sealed_private_key", Text, nullable=False),
    Column("certified_by", String(64), nullable=False),
    Column("certificate", Text, nullable=False),
    Index("ix_user_keys_user", "user_id", "id"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("user_id", String(64), nullable=True),
    Column("action", String(32), nullable=False),
    Column("record_ref", String(40), nullable=True),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_record_ref", "record_ref", "seq"),
)

audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

counters = Table(
    "counters", metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)


protocol_approvals = Table(
    "protocol_approvals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("protocol_id", String(100), nullable=False),
    Column("protocol_version", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("approved_by", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("printed_name", String(200), nullable=False),
    Column("approved_at", String(32), nullable=False),
    Column("approval_hash", String(64), nullable=False),
)


aliquots = Table(
    "aliquots", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("freeze_record_pk", Integer, ForeignKey("records.id"), nullable=False),
    Column("aliquot_ref", String(40), nullable=False, unique=True),
    Column("division", String(2), nullable=False),
    Column("din", String(16), nullable=False),
    Column("product_code", String(16), nullable=False),
    Column("patient_mrn", String(64), nullable=False),
    Column("patient_name", String(200), nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("infusion", Integer, nullable=False),
    Column("dose_level", String(16), nullable=False),
    Column("frozen_at", String(40), nullable=False),
    Column("frozen_expires_at", String(40), nullable=False),
    Column("state", String(16), nullable=False),
    Column("location", Text, nullable=True),
    Column("thaw_record", String(40), nullable=True),
    Column("reason", Text, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("updated_by", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("row_version", Integer, nullable=False),
    Index("ix_aliquots_patient", "patient_mrn", "id"),
    Index("ix_aliquots_din", "din", "division"),
)


store_identity = Table(
    "store_identity", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("identity", String(36), nullable=False),
    Column("created_at", String(32), nullable=False),
)

lab_keys = Table(
    "lab_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("certificate", Text, nullable=False),  # PEM
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), ForeignKey("users.user_id"), nullable=False),
)

lab_key_seals = Table(
    "lab_key_seals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lab_key_id", Integer, ForeignKey("lab_keys.id"), nullable=False),
    Column("holder", String(64), nullable=False),  # an administrator's user id; "" = recovery
    Column("sealed", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Index("ix_lab_key_seals_holder", "holder", "id"),
)

key_certificates = Table(
    "key_certificates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_id", Integer, ForeignKey("user_keys.id"), nullable=False),
    Column("lab_key_id", Integer, ForeignKey("lab_keys.id"), nullable=False),
    Column("certificate", Text, nullable=False),  # PEM, issued by the lab key
    Column("issued_at", String(32), nullable=False),
    Column("issued_by", String(64), ForeignKey("users.user_id"), nullable=False),
    Index("ix_key_certificates_key", "key_id", "id"),
)


lab_approvals = Table(
    "lab_approvals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("lab_name", String(200), nullable=False),
    Column("approved_by", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("printed_name", String(200), nullable=False),
    Column("approved_at", String(32), nullable=False),
    Column("approval_hash", String(64), nullable=False),
)


settings_texts = Table(
    "settings_texts", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Index("ix_settings_texts_fingerprint", "kind", "fingerprint"),
)


product_samples = Table(
    "product_samples", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("din", String(16), nullable=False),
    Column("volume_ml", String(32), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("taken_at", String(32), nullable=False),
    Column("created_by", String(64), ForeignKey("users.user_id"), nullable=False),
    Column("sample_hash", String(64), nullable=False),
    Index("ix_product_samples_din", "din", "id"),
)
