"""Record references (``PREP-2026-000123/v2``) and finding a record version's row by one.

Below the records, the inventory and the signatures, which all name records this way.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.store.errors import RecordNotFoundError
from doseprep.store.schema import records

ID_PREFIX = "PREP"
_REF = re.compile(rf"^\s*({ID_PREFIX}-\d{{4}}-\d{{6,}})(?:\s*/\s*[vV](\d+))?\s*$", re.IGNORECASE)


def version_ref(record_id: str, version: int) -> str:
    """The reference of one version: ``PREP-2026-000123/v2``."""
    return f"{record_id}/v{version}"


def parse_ref(text: str) -> tuple[str, int | None]:
    """``PREP-2026-000123`` → (id, None: the latest version); ``.../v2`` → (id, 2)."""
    match = _REF.match(text or "")
    if not match:
        raise RecordNotFoundError(f"\"{text}\" is not a record id; record ids look like "
                             f"{ID_PREFIX}-2026-000123 (one version: {ID_PREFIX}-2026-000123/v2).")
    return match.group(1).upper(), int(match.group(2)) if match.group(2) else None


_older = records.alias("older")
_newer = records.alias("newer")


def _select_version() -> sa.Select:
    return (sa.select(records,
                      (_older.c.record_id + "/v" + sa.cast(_older.c.version, sa.String))
                      .label("supersedes_ref"),
                      (_newer.c.record_id + "/v" + sa.cast(_newer.c.version, sa.String))
                      .label("superseded_by_ref"))
            .outerjoin(_older, _older.c.id == records.c.supersedes_id)
            .outerjoin(_newer, _newer.c.supersedes_id == records.c.id))


def find_row(conn: Connection, ref: str) -> sa.RowMapping:
    record_id, version = parse_ref(ref)
    query = _select_version().where(records.c.record_id == record_id)
    if version is None:
        query = query.order_by(records.c.version.desc()).limit(1)
    else:
        query = query.where(records.c.version == version)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise RecordNotFoundError(f"there is no record {ref.strip()}; check the id "
                             "(doseprep record list shows the history).")
    return row
