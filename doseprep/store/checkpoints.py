"""Audit checkpoints: the chain's head, kept outside the database (issues 10 and 25).

After every write that extends the audit trail the workstation appends one line to a file in its
own data directory, ``checkpoints/<store>.jsonl`` (owner-only), named by the store's **identity**
(revision 0005), not by where the database lies: a moved data folder, or an old copy put back, is
still held against what this workstation saw. A line holds the store's identity, the row number
and hash of the newest audit row, the time, its own line number, the hash of the line before it,
and the workstation key's signature. The same line also goes to the **witness directory** when one
is configured (``DOSEPREP_WITNESS_DIR`` or ``witness_dir`` in settings.toml): a network share the
workstations may add files and lines to but not rewrite, ``<witness>/<store>/<workstation>.jsonl``.
Printed worksheets carry the checkpoint of the moment they were made too.

A register (``checkpoints/witnessed.json``) remembers, per store, how many lines this workstation
wrote and the last one, and which store it found at each database location. ``audit verify`` holds
the chain against every checkpoint it finds — this workstation's, every workstation's in the
witness directory, and ``--against`` worksheets — and reports a checkpoint file that is missing,
shorter than what was written, replaced, or about another store, and a database location that
now holds another store than the one this workstation wrote to. It never replaces a file. Before
every write the store is held against the last checkpoint this workstation wrote
(:func:`last_seen`), so a rolled-back database is refused (:mod:`doseprep.store.engine`).
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

REGISTER = "witnessed.json"
WITNESS_ENV = "DOSEPREP_WITNESS_DIR"


@dataclass(frozen=True)
class Checkpoint:
    """One witnessed head of the chain: ``seq`` and the ``hash`` of that row."""

    seq: int
    hash: str
    source: str  # where it was found: "FILE line N" or a PDF's name


def location_of(url: str) -> str:
    """Where a database lies: its URL without the password (for SQLite, the file's path)."""
    from doseprep.store.urls import display_url, sqlite_file

    path = sqlite_file(url)
    return f"sqlite:{path.resolve()}" if path is not None else display_url(url)


def _name(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


def _folder() -> Path:
    from doseprep.paths import data_dir

    return data_dir() / "checkpoints"


def checkpoint_file(identity: str) -> Path:
    return _folder() / f"{_name(identity)}.jsonl"


def witness_dir() -> Path | None:
    """The configured witness directory, or None."""
    from doseprep.settings import load_settings

    value = os.environ.get(WITNESS_ENV, "").strip() or load_settings().witness_dir
    return Path(value).expanduser() if value else None


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """This workstation's checkpoint folder, locked against its other doseprep processes."""
    from doseprep.paths import private_dir

    private_dir(_folder())
    fd = os.open(_folder() / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        if os.name == "nt":  # pragma: no cover - Windows workstations
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def _register() -> dict[str, Any]:
    try:
        data = load_stored((_folder() / REGISTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data.setdefault("stores", {})
    data.setdefault("locations", {})
    return data


def _save_register(data: dict[str, Any]) -> None:
    """Written in place, under the folder's lock (a rename costs milliseconds on every write;
    a register half-written by a crash is read as lost, and taken up again from the files)."""
    text = canonical_json(data).encode("utf-8")
    fd = os.open(_folder() / REGISTER, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, text)
        os.ftruncate(fd, len(text))
    finally:
        os.close(fd)


def _last_line(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            tail = handle.read().decode("utf-8", "replace").rstrip("\n").rsplit("\n", 1)[-1]
    except OSError:
        return None
    return tail or None


def _append(path: Path, line: str) -> None:
    from doseprep.paths import private_dir

    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as handle:
        handle.write((line + "\n").encode("utf-8"))


def register_new_store(url: str, identity: str) -> None:
    """A new, empty store was made at ``url`` here: from now on this workstation expects it
    there (the checkpoints of whatever was there before stay, under their own store)."""
    with _locked():
        data = _register()
        data["locations"][location_of(url)] = identity
        _save_register(data)


def last_seen(identity: str) -> tuple[int, str] | None:
    """The newest checkpoint this workstation wrote for ``identity`` (row, hash), or None."""
    entry = _register()["stores"].get(identity)
    if not isinstance(entry, dict) or "seq" not in entry:
        return None
    return int(entry["seq"]), str(entry["hash"])


def write_checkpoint(url: str, identity: str, seq: int, head_hash: str) -> None:
    """Append a signed checkpoint of the head ``seq``/``head_hash`` of store ``identity``.

    Never fails the write it follows: a checkpoint that cannot be written is logged — the record
    is already committed. A file found shorter than this workstation wrote, or replaced, is left
    as it is for ``audit verify`` to report, never written on."""
    from doseprep.signatures.installation_key import workstation_key

    try:
        key = workstation_key()
        with _locked():
            data = _register()
            path = checkpoint_file(identity)
            last = _last_line(path)
            count = int(load_stored(last)["n"]) if last else 0
            if identity not in data["stores"] and last is not None:
                log.warning("the register of checkpoints lost %s; taking it up at line %s",
                            path, count)
                data["stores"][identity] = {"lines": count, "line_hash": _line_hash(last)}
            entry = data["stores"].setdefault(identity, {})
            # Longer than the register says: a process stopped between the two writes (more
            # lines only add to what is checked). Shorter, or another last line: left alone.
            if count < entry.get("lines", 0) or (count == entry.get("lines", 0) and last and (
                    _line_hash(last) != entry.get("line_hash", _line_hash(last)))):
                log.error("the checkpoint file %s is not as this workstation left it (%s lines "
                          "written, %s found): not written to; run doseprep audit verify",
                          path, entry.get("lines", 0), count)
                return
            body: dict[str, Any] = {
                "store": identity, "location": location_of(url), "seq": seq, "hash": head_hash,
                "at": utc_text(utc_now()), "n": count + 1, "signer": key.fingerprint,
                "prev": GENESIS_HASH if last is None else _line_hash(last)}
            body["signature"] = key.sign(canonical_json(body).encode("utf-8")).hex()
            line = canonical_json(body)
            _append(path, line)
            entry.update({"lines": count + 1, "line_hash": _line_hash(line), "seq": seq,
                          "hash": head_hash})
            data["locations"][location_of(url)] = identity
            witness = witness_dir()
            if witness is not None:
                try:
                    _append(witness / _name(identity) / f"{key.fingerprint[:16]}.jsonl", line)
                    entry["witness_lines"] = int(entry.get("witness_lines", 0)) + 1
                    entry["witness_from"] = entry.get("witness_from", count + 1)
                except OSError as exc:
                    log.error("the witness directory %s cannot be written (%s)", witness, exc)
            _save_register(data)
    except Exception as exc:  # a witness must never undo a committed write: logged instead
        log.warning("audit checkpoint for row %s not written: %s", seq, exc)


def _read_file(path: Path, identity: str, trusted: Mapping[str, Any] | None
               ) -> tuple[list[Checkpoint], str | None, int, str | None]:
    """The checkpoints in ``path``, a problem with the file, its last line number and the last
    line's hash. ``trusted``: the keys the newest line must be signed by (None: a witness file of
    another workstation, which only adds to what is checked)."""
    from doseprep.signatures.installation_key import check

    found: list[Checkpoint] = []
    previous: str | None = None
    last: dict[str, Any] | None = None
    last_line = None
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path} line {number}"
        try:
            body = load_stored(line)
            seq, head_hash, n = int(body["seq"]), str(body["hash"]), int(body["n"])
        except (ValueError, KeyError, TypeError):
            return found, f"{where} is not a checkpoint (the file was altered).", 0, None
        if (previous is not None and body.get("prev") != previous) or (
                previous is None and trusted is not None and (
                    n != 1 or body.get("prev") != GENESIS_HASH)) or (
                last is not None and n != int(last["n"]) + 1):
            return found, (f"{where} does not follow the line before it (lines were changed or "
                           "removed)."), 0, None
        if body.get("store") != identity:
            return found, (f"{where} is about another store ({body.get('store')}): the file "
                           "was replaced."), 0, None
        found.append(Checkpoint(seq, head_hash, where))
        previous = _line_hash(line)
        last, last_line = body, line
    if last is not None and trusted is not None:
        signed = {k: v for k, v in last.items() if k != "signature"}
        public = trusted.get(str(last.get("signer")))
        try:
            signature = bytes.fromhex(str(last.get("signature")))
        except ValueError:
            signature = b""
        if public is None:
            return found, (f"{path}: its newest line is signed by a key this workstation does "
                           f"not trust ({last.get('signer')})."), 0, None
        if not check(public, canonical_json(signed).encode("utf-8"), signature):
            return found, f"{path}: its newest line's signature does not match (altered).", 0, \
                None
    return found, None, int(last["n"]) if last else 0, previous if last_line else None


def read_checkpoints(conn: Any, url: str) -> tuple[list[Checkpoint], str | None]:
    """The checkpoints this workstation and the witness directory hold for the store on
    ``conn``, and a problem with them (see the module docstring), or None."""
    from doseprep.signatures.installation_key import workstation_keys

    identity = conn.exec_driver_sql("SELECT identity FROM store_identity WHERE id = 1").scalar()
    data = _register()
    location = location_of(url)
    there = data["locations"].get(location)
    if there is not None and there != identity:
        saw = data["stores"].get(there, {}).get("seq", "?")
        return [], (f"{location}: this workstation wrote to store {there} here (up to audit row "
                    f"{saw}), but the database here now is store {identity}: it was replaced "
                    "by another (or an old copy).")
    entry = data["stores"].get(identity) or {}
    path = checkpoint_file(identity)
    found: list[Checkpoint] = []
    lines = 0
    if path.is_file():
        found, problem, lines, last_hash = _read_file(path, identity, workstation_keys())
        if problem:
            return found, problem
        if lines == entry.get("lines") and last_hash != entry.get("line_hash"):
            return found, f"{path}: its newest line is not the one this workstation wrote " \
                          "(replaced)."
    if lines < int(entry.get("lines", 0)):
        what = "is missing" if not path.is_file() else f"ends at line {lines}"
        return found, (f"{path} {what}, but this workstation wrote {entry['lines']} checkpoints "
                       "of this store there (deleted, cut or replaced by an older copy).")
    witness = witness_dir()
    if witness is not None:
        from doseprep.signatures.installation_key import workstation_key

        own = f"{workstation_key().fingerprint[:16]}.jsonl"
        folder = witness / _name(identity)
        own_lines = 0
        for file in sorted(folder.glob("*.jsonl")) if folder.is_dir() else ():
            more, problem, count, _ = _read_file(file, identity, None)
            if problem:
                return found, problem
            found += more
            if file.name == own:
                own_lines = len(more)
                if count > lines:
                    return found, (f"{path} ends at line {lines}, but the witness {file} has "
                                   f"line {count} of it (cut or replaced by an older copy).")
        if own_lines < int(entry.get("witness_lines", 0)):
            return found, (f"the witness file {folder / own} has {own_lines} lines but this "
                           f"workstation wrote {entry['witness_lines']} (deleted or cut).")
    return found, None


def pdf_checkpoint(data: bytes, name: str) -> Checkpoint | None:
    """The checkpoint a worksheet PDF carries in its keywords, or None. (Call it on a PDF whose
    signature was checked: the signature covers the whole file.)"""
    found = re.findall(CHECKPOINT_KEYWORD.encode("ascii") + rb":(\d{1,18}):([0-9a-f]{64})", data)
    if len(set(found)) != 1:
        return None
    seq, head_hash = found[0]
    return Checkpoint(int(seq), head_hash.decode("ascii"), name)
