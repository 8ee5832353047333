"""Audit checkpoints: the chain's head, signed and kept outside the database (issue 10).

After every write that extends the audit trail, the workstation appends one line to a file in its
own data directory (``checkpoints/<database>.jsonl``, owner-only): the database it is about, the
row number and hash of the newest audit row, the time, the lab key's certificate fingerprint, the
hash of the file's previous line, and the lab key's signature of all of that. Printed worksheets
carry the checkpoint of the moment they were made too.

``audit verify`` then holds the chain against every checkpoint it can find: a row at or before a
checkpoint that was rewritten (its hash differs), or rows cut off after one (the trail is shorter
than the checkpoint), are reported even when the attacker recomputed the whole chain and moved
the head back — they would need the lab key, and every workstation's file, and every printed
worksheet. The lines of a file are chained, so a line changed or removed in the middle breaks the
file; the newest line's signature vouches for the file up to there.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doseprep.jsonread import load_stored
from doseprep.manifest import CHECKPOINT_KEYWORD
from doseprep.store.canonical import GENESIS_HASH, canonical_json, utc_now, utc_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    """One witnessed head of the chain: ``seq`` and the ``hash`` of that row."""

    seq: int
    hash: str
    source: str  # where it was found: "FILE line N" or a PDF's name


def database_identity(url: str) -> str:
    """What a checkpoint says it is about: the database URL without its password (for SQLite,
    the file's absolute path)."""
    from doseprep.store.urls import display_url, sqlite_file

    path = sqlite_file(url)
    return f"sqlite:{path.resolve()}" if path is not None else display_url(url)


def checkpoint_file(identity: str) -> Path:
    from doseprep.paths import data_dir

    name = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    return data_dir() / "checkpoints" / f"{name}.jsonl"


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Any]:
    """The checkpoint file opened for appending, locked against this workstation's other
    doseprep processes."""
    from doseprep.paths import private_dir

    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        if os.name == "nt":  # pragma: no cover - Windows workstations
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield handle


def _last_line(handle: Any) -> str | None:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    if size == 0:
        return None
    handle.seek(max(0, size - 4096))
    tail = handle.read().decode("utf-8", "replace").rstrip("\n").rsplit("\n", 1)[-1]
    return tail or None


def write_checkpoint(url: str, seq: int, head_hash: str) -> None:
    """Append a signed checkpoint of the head ``seq``/``head_hash`` of database ``url``.

    Never fails the write it follows: a checkpoint that cannot be written is logged (the next
    write makes a new one) — the record is already committed.
    """
    from doseprep.labkey import lab_key

    try:
        identity = database_identity(url)
        key = lab_key()
        with _locked(checkpoint_file(identity)) as handle:
            last = _last_line(handle)
            body = {"database": identity, "seq": seq, "hash": head_hash,
                    "at": utc_text(utc_now()), "signer": key.fingerprint,
                    "prev": GENESIS_HASH if last is None else _line_hash(last)}
            body["signature"] = key.sign(canonical_json(body).encode("utf-8")).hex()
            handle.write((canonical_json(body) + "\n").encode("utf-8"))
    except Exception as exc:  # a witness must never undo a committed write: logged instead
        log.warning("audit checkpoint for row %s not written: %s", seq, exc)


def retire_checkpoints(url: str) -> Path | None:
    """A new, empty database was created where one was before: set the old database's
    checkpoints aside (renamed, never deleted) so they are not held against the new one."""
    path = checkpoint_file(database_identity(url))
    if not path.is_file():
        return None
    retired = path.with_name(f"{path.stem}.retired-{utc_now():%Y%m%dT%H%M%S%f}.jsonl")
    os.replace(path, retired)
    log.warning("a new record database was created at %s; the checkpoints of the one before "
                "it are kept in %s", url, retired)
    return retired


def read_checkpoints(url: str, trusted: Mapping[str, Any]) -> tuple[list[Checkpoint], str | None]:
    """The checkpoints this workstation holds for database ``url``, and a problem with the file
    itself (a line changed, removed or not signed by a trusted key), or None."""
    from doseprep.labkey import check

    identity = database_identity(url)
    path = checkpoint_file(identity)
    if not path.is_file():
        return [], None
    found: list[Checkpoint] = []
    previous = GENESIS_HASH
    last: dict[str, Any] | None = None
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path} line {number}"
        try:
            body = load_stored(line)
            seq, head_hash = int(body["seq"]), str(body["hash"])
        except (ValueError, KeyError, TypeError):
            return found, f"{where} is not a checkpoint (the file was altered)."
        if body.get("prev") != previous:
            return found, (f"{where} does not follow the line before it (lines were changed or "
                           "removed).")
        if body.get("database") != identity:
            return found, f"{where} is about another database ({body.get('database')})."
        found.append(Checkpoint(seq, head_hash, where))
        previous = _line_hash(line)
        last = body
    if last is not None:
        signed = {k: v for k, v in last.items() if k != "signature"}
        public = trusted.get(str(last.get("signer")))
        try:
            signature = bytes.fromhex(str(last.get("signature")))
        except ValueError:
            signature = b""
        if public is None:
            return found, (f"{path}: its newest line is signed by a lab key this computer does "
                           f"not trust ({last.get('signer')}).")
        if not check(public, canonical_json(signed).encode("utf-8"), signature):
            return found, f"{path}: its newest line's signature does not match (altered)."
    return found, None


def pdf_checkpoint(data: bytes, name: str) -> Checkpoint | None:
    """The checkpoint a worksheet PDF carries in its keywords, or None. (Call it on a PDF whose
    signature was checked: the signature covers the whole file.)"""
    found = re.findall(CHECKPOINT_KEYWORD.encode("ascii") + rb":(\d{1,18}):([0-9a-f]{64})", data)
    if len(set(found)) != 1:
        return None
    seq, head_hash = found[0]
    return Checkpoint(int(seq), head_hash.decode("ascii"), name)


# --- signatures already checked -------------------------------------------------------------

def _attestation_file(identity: str) -> Path:
    return checkpoint_file(identity).with_suffix(".signatures.json")


def write_attestation(url: str, through_id: int, digest: str) -> None:
    """Remember, signed with the lab key, that every signature up to ``through_id`` verified
    cryptographically and what those rows were (``digest``), so that the next ``audit verify``
    checks only the Ed25519 signatures of rows that are new or changed since."""
    from doseprep.labkey import lab_key
    from doseprep.paths import private_dir

    try:
        identity = database_identity(url)
        key = lab_key()
        body = {"database": identity, "through_id": through_id, "digest": digest,
                "at": utc_text(utc_now()), "signer": key.fingerprint}
        body["signature"] = key.sign(canonical_json(body).encode("utf-8")).hex()
        path = _attestation_file(identity)
        private_dir(path.parent)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(canonical_json(body))
        os.replace(temporary, path)
    except Exception as exc:  # only a speed-up: never fails a verification that passed
        log.warning("the record of checked signatures was not written: %s", exc)


def read_attestation(url: str, trusted: Mapping[str, Any]) -> tuple[int, str] | None:
    """The signatures this workstation checked before (through id, digest), if the record of it
    is intact and signed by a trusted lab key; else None (everything is checked again)."""
    from doseprep.labkey import check

    identity = database_identity(url)
    try:
        body = load_stored(_attestation_file(identity).read_text(encoding="utf-8"))
        signed = {k: v for k, v in body.items() if k != "signature"}
        public = trusted.get(str(body["signer"]))
        if public is None or body.get("database") != identity or not check(
                public, canonical_json(signed).encode("utf-8"), bytes.fromhex(body["signature"])):
            return None
        return int(body["through_id"]), str(body["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
