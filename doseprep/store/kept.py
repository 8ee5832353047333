"""The exact protocol and lab file texts records keep (issue 22): kept once each in
``settings_texts`` (keyed by the SHA-256 of the text), read back for a record — by its text hashes,
or for a record saved before texts were kept by the fingerprint it names — and checked by ``audit
verify``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.errors import SettingsError
from doseprep.protocol import fingerprint
from doseprep.protocol.reader import _parse_toml
from doseprep.store.canonical import utc_text
from doseprep.store.content import settings_texts as texts_of
from doseprep.store.content import text_sha256
from doseprep.store.schema import settings_texts

if TYPE_CHECKING:
    from doseprep.store.content import AnyPlan


def kept_text(conn: Connection, sha256: str | None, kind: str, wanted: str) -> str | None:
    """A kept settings file text by its SHA-256 (None when it is not what its key says:
    ``audit verify`` names that). A record saved before texts were kept (no SHA-256) gets a kept
    text of the fingerprint it names, if there is one: the files doseprep bundled before are
    kept by migration 0006, so such a record still reprints after an upgrade."""
    table = settings_texts
    if sha256 is None:
        query = (sa.select(table.c.sha256, table.c.text)
                 .where(table.c.kind == kind, table.c.fingerprint == wanted)
                 .order_by(table.c.sha256).limit(1))
    else:
        query = sa.select(table.c.sha256, table.c.text).where(table.c.sha256 == sha256)
    found = conn.execute(query).first()
    if found is None or text_sha256(found.text) != found.sha256:
        return None
    return found.text


def keep_settings(conn: Connection, plan: AnyPlan, now: datetime) -> None:
    """Keep the exact protocol and lab file texts ``plan`` was computed with (once per text), in
    the saving transaction: the record points at them, so a reprint never depends on files on
    disk, an upgrade or a workstation's settings (issue 22)."""
    table = settings_texts
    for text in texts_of(plan):
        exists = conn.execute(sa.select(table.c.sha256)
                              .where(table.c.sha256 == text["sha256"])).first()
        if exists is None:
            conn.execute(table.insert().values(**text, created_at=utc_text(now)))


def kept_texts(conn: Connection) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """The kept settings file texts that are what their keys say and have the fingerprints
    stored beside them (SHA-256 → fingerprint), and (table, row, what) for each that is not."""
    problems: list[tuple[str, str, str]] = []
    good: dict[str, str] = {}
    for row in conn.execute(sa.select(settings_texts).order_by(settings_texts.c.sha256)):
        where = f"{row.sha256[:16]}… ({row.kind})"
        if text_sha256(row.text) != row.sha256:
            problems.append(("settings_texts", where, "the kept settings file text is not the "
                                                      "text its SHA-256 names (altered)."))
            continue
        try:
            found = fingerprint(_parse_toml(row.text, row.kind))
        except SettingsError:  # a text that does not parse was not kept by doseprep
            found = ""
        if found != row.fingerprint:
            problems.append(("settings_texts", where, "the kept settings file does not have "
                                                      "the fingerprint stored with it "
                                                      "(altered)."))
            continue
        good[row.sha256] = row.fingerprint
    return good, problems


def record_text_problem(row: Mapping[str, Any], good: Mapping[str, str]) -> str | None:
    """What is wrong with a record's kept texts (``good`` from :func:`kept_texts`): one it points
    at is missing or is not the file of the fingerprint it names (a reprint uses them, so they
    must be what was signed); None when nothing is, or it keeps none (saved before 0006)."""
    for what, sha, wanted in (("protocol", row["protocol_text_sha256"],
                               row["protocol_fingerprint"]),
                              ("lab", row["lab_text_sha256"], row["lab_fingerprint"])):
        if sha is not None and good.get(sha) != wanted:
            return (f"the {what} file text kept with it is missing or is not the file of "
                    f"fingerprint {wanted[:16]}… it names (removed or altered).")
    return None
