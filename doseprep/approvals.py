"""A protocol or lab file approval's content and hash, and a fast read of it from the
workstation's database.

The record store keeps each approval (:mod:`doseprep.store.protocols`); this module holds what
both the store and the quick path of ``doseprep plan`` need without loading SQLAlchemy: the
approved content, its SHA-256, and :func:`sqlite_approval`, which reads one approval from the
workstation's SQLite file read-only with the standard library (``doseprep plan`` stays fast).
A row that does not match its hash counts as no approval. A lab file's approval hashes its own
content with ``"kind": "lab"``, so a protocol approval row can never pass for a lab's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from doseprep.protocol import ProtocolApproval, fingerprint

MEANING = "Approved for clinical use"
CONTENT = ("fingerprint", "protocol_id", "protocol_version", "title", "approved_by",
           "printed_name", "approved_at")
LAB_CONTENT = ("fingerprint", "lab_name", "approved_by", "printed_name", "approved_at")
#: The table that holds each kind of approval.
TABLES = {"protocol": "protocol_approvals", "lab": "lab_approvals"}


def approval_hash(row: Mapping[str, Any], kind: str = "protocol") -> str:
    """SHA-256 of an approval's content (what was approved, by whom, when, and the meaning) —
    the canonical JSON the store hashes everything with (``store.canonical.content_hash``),
    computed here without loading the store."""
    if kind == "lab":
        return fingerprint({"meaning": MEANING, "kind": "lab",
                            **{key: row[key] for key in LAB_CONTENT}})
    return fingerprint({"meaning": MEANING, **{key: row[key] for key in CONTENT}})


def approval_of(row: Mapping[str, Any], kind: str = "protocol") -> ProtocolApproval | None:
    """The approval a stored row stands for; None when the row does not match its hash."""
    if approval_hash(row, kind) != row["approval_hash"]:
        return None
    return ProtocolApproval(fingerprint=row["fingerprint"], approved_by=row["approved_by"],
                            approved_at=row["approved_at"],
                            signature_hash=row["approval_hash"],
                            printed_name=row["printed_name"])


def sqlite_approval(database: Path, fingerprint: str,
                    kind: str = "protocol") -> ProtocolApproval | None:
    """The approval of ``fingerprint`` (a protocol's, or a lab file's with ``kind="lab"``) in
    the SQLite record file (None if none, or no file)."""
    if not database.is_file():
        return None
    try:
        with sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute(f"SELECT * FROM {TABLES[kind]} WHERE fingerprint = ?",
                               (fingerprint,)).fetchone()
    except sqlite3.Error:
        return None  # no such table yet (an older database) or unreadable: not approved
    return None if row is None else approval_of(dict(row), kind)
