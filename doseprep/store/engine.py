"""Opening the record database: SQLite on this workstation, or PostgreSQL for a whole lab.

:func:`open_store` builds the SQLAlchemy engine, migrates the schema to the newest revision with
Alembic (run in code; the scripts live in ``migrations/`` inside the package, so this works from a
wheel too) and returns a :class:`Store`.

Where the database is: ``DOSEPREP_DATABASE_URL`` (e.g.
``postgresql+psycopg://doseprep@labserver/doseprep``) if set, else the SQLite file
``doseprep.sqlite3`` in the data directory. SQLite runs in WAL mode with ``synchronous=FULL`` (a
record reported saved survives a crash or power loss), foreign keys on and a busy timeout.

Every change goes through :meth:`Store.write`, one transaction that holds the audit trail's write
lock from its first statement: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on the
``audit_head`` row on PostgreSQL. Writers are therefore serialized, which keeps the audit hash chain
linear and the running record numbers unique while readers go on undisturbed. Before anything is
written the trail is held against what this workstation saw (issue 25): rows beyond the head
(the head moved back), or a trail shorter than, or different from, the last checkpoint this
workstation wrote (the database rolled back or replaced by an old copy) refuse every write with
:class:`~doseprep.store.errors.TrailRolledBackError`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from doseprep.paths import data_dir, private_dir
from doseprep.settings import DATABASE_URL_ENV, SQLITE_FILENAME, configured_database_url
from doseprep.store.errors import (
    StoreUnavailableError,
    TrailRolledBackError,
    ValueRefusedError,
)
from doseprep.store.urls import display_url

log = logging.getLogger(__name__)

#: The newest migration; checked against the scripts by a test, so opening an up-to-date
#: database needs no Alembic import at all.
HEAD_REVISION = "0006"
BUSY_TIMEOUT_MS = 30_000
#: Key of the PostgreSQL advisory lock taken while migrating.
_MIGRATION_LOCK = 0x646F736570  # "dosep"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def database_url() -> str:
    """The database to use: ``DOSEPREP_DATABASE_URL``, else ``database_url`` in the workstation
    settings file, else the SQLite file in the data directory."""
    return configured_database_url() or f"sqlite:///{data_dir() / SQLITE_FILENAME}"


@contextmanager
def _database_errors() -> Iterator[None]:
    """The database's own errors as the store's, in one place for every caller (the command line
    and the window no longer translate them): a value the database cannot hold (a NUL character,
    text longer than its column, a number beyond 64 bits) is the user's input error; a database
    that cannot be reached, or refuses the change (locked, read-only, permission), is
    unavailable. Either way nothing was written (the transaction rolled back)."""
    try:
        yield
    except DataError as exc:
        raise ValueRefusedError("a value given cannot be stored: it is too long, too large, or "
                                "holds a control character (such as NUL); nothing was "
                                "changed.") from exc
    except OperationalError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StoreUnavailableError(
            f"the record database cannot be reached or refused the change ({reason}); nothing "
            "was saved.") from exc


class Store:
    """An open record database: an engine plus the transaction discipline described above."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        #: Write signed checkpoints of the audit head outside the database after each write.
        self.checkpoints = True
        self._identity: str | None = None

    @property
    def url(self) -> str:
        return display_url(self.engine.url)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (a consistent snapshot on SQLite)."""
        with _database_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self, *, _lock_head: bool = True) -> Iterator[Connection]:
        """A connection in a write transaction that holds the writers' lock; commits on success.

        When the write extended the audit trail, a signed checkpoint of the new head is written
        outside the database afterwards (:mod:`doseprep.store.checkpoints`)."""
        head = None
        with _database_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(doseprep_write=True)
            with conn.begin():
                before = None
                if _lock_head:
                    lock = " FOR UPDATE" if self.dialect == "postgresql" else ""
                    before = conn.exec_driver_sql(
                        f"SELECT seq FROM audit_head WHERE id = 1{lock}").scalar()
                    self._hold_against_what_was_seen(conn, before)
                yield conn
                if _lock_head:
                    head = conn.exec_driver_sql(
                        "SELECT seq, hash FROM audit_head WHERE id = 1").first()
                    if head is not None and head[0] == before:
                        head = None
        if head is not None and self.checkpoints and self._identity is not None:
            from doseprep.store.checkpoints import write_checkpoint

            write_checkpoint(str(self.engine.url.render_as_string(hide_password=True)),
                             self._identity, head[0], head[1])

    def _hold_against_what_was_seen(self, conn: Connection, head: int | None) -> None:
        """Refuse to write on a trail that was moved back (see the module docstring)."""
        if head is None:
            return
        beyond = conn.exec_driver_sql("SELECT max(seq) FROM audit_log").scalar()
        if beyond is not None and beyond > head:
            raise TrailRolledBackError(
                f"the audit trail holds rows up to {beyond} but its head says row {head}: it "
                "was altered outside doseprep (rows cut off and the head moved back). Nothing "
                "was saved; run doseprep audit verify and tell the lab's administrator.")
        if self._identity is None:
            self._identity = conn.exec_driver_sql(
                "SELECT identity FROM store_identity WHERE id = 1").scalar()
        if not self.checkpoints or self._identity is None:
            return
        from doseprep.store.checkpoints import last_seen

        seen = last_seen(self._identity)
        if seen is None:
            return
        kept = conn.exec_driver_sql(f"SELECT hash FROM audit_log WHERE seq = {int(seen[0])}"
                                    ).scalar()
        if kept != seen[1]:
            what = (f"ends at row {head}" if head < seen[0]
                    else f"differs at row {seen[0]}")
            raise TrailRolledBackError(
                f"the audit trail of this database {what}, but this workstation saw row "
                f"{seen[0]} as it was: the database was rolled back, restored from an old copy "
                "or rewritten. Nothing was saved; run doseprep audit verify and tell the lab's "
                "administrator.")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_engine(url: URL) -> Engine:
    database = Path(url.database) if url.database and url.database != ":memory:" else None
    if database is not None:
        private_dir(database.parent)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, decides when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()
        if database is not None:  # records are patient data: owner only (issue 10)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(f"{database}{suffix}").chmod(0o600)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock at BEGIN, so two writers never deadlock on a lock upgrade.
        write = conn.get_execution_options().get("doseprep_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def create_engine(url: str) -> Engine:
    """The engine for ``url``, with the SQLite settings above when it is SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailableError(f"the database URL \"{url}\" is not valid; set "
                               f"{DATABASE_URL_ENV} to e.g. "
                               "postgresql+psycopg://user@host/doseprep.") from None
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        suggested = parsed.set(drivername="postgresql+psycopg")
        raise StoreUnavailableError(
            f"the database URL {display_url(parsed)} names a driver doseprep does not use; "
            f"write it as {display_url(suggested)} (psycopg 3).")
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        if parsed.get_backend_name() != "postgresql":
            raise StoreUnavailableError(f"doseprep keeps records in SQLite or PostgreSQL, not "
                                   f"{parsed.get_backend_name()} ({display_url(parsed)}).")
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreUnavailableError(f"cannot use the database {display_url(parsed)}: "
                                    f"{exc}.") from None
    except OSError as exc:
        raise StoreUnavailableError(f"cannot create the database folder for {display_url(parsed)}: "
                               f"{exc}.") from None


def current_revision(conn: Connection) -> str | None:
    """The schema revision recorded in the database, or None for an empty database."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def migrate(store: Store) -> None:
    """Bring the schema to :data:`HEAD_REVISION` (Alembic ``upgrade head``), once, under a lock."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with store.write(_lock_head=False) as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        if current_revision(conn) == HEAD_REVISION:
            return  # another workstation migrated while we waited for the lock
        log.info("migrating the record database %s to revision %s", store.url, HEAD_REVISION)
        fresh = current_revision(conn) is None
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    if fresh and store.checkpoints:
        from doseprep.store.checkpoints import register_new_store

        with store.read() as conn:
            identity = conn.exec_driver_sql(
                "SELECT identity FROM store_identity WHERE id = 1").scalar_one()
        register_new_store(str(store.engine.url.render_as_string(hide_password=True)),
                           identity)


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (creating and migrating if needed) the record database at ``url``.

    Raises :class:`StoreUnavailableError` with the reason when it cannot be reached or is newer than
    this program.
    """
    url = url or database_url()
    store = Store(create_engine(url))
    try:
        with store.read() as conn:
            revision = current_revision(conn)
        if revision != HEAD_REVISION:
            if revision is not None and not _known_revision(revision):
                raise StoreUnavailableError(
                    f"the record database {store.url} was written by a newer doseprep (schema "
                    f"{revision}); update doseprep on this workstation.")
            if not upgrade:
                raise StoreUnavailableError(f"the record database {store.url} needs an upgrade.")
            migrate(store)
    except StoreUnavailableError as exc:
        store.close()
        cause = exc.__cause__
        if isinstance(cause, (DBAPIError, SQLAlchemyError)):  # reached through Store.read()
            raise StoreUnavailableError(f"cannot open the record database {store.url}: "
                                        f"{_reason(cause)}.") from None
        raise
    except (DBAPIError, SQLAlchemyError) as exc:
        store.close()
        raise StoreUnavailableError(f"cannot open the record database {store.url}: "
                               f"{_reason(exc)}.") from None
    return store


def _known_revision(revision: str) -> bool:
    return (MIGRATIONS_DIR / "versions").is_dir() and any(
        f'revision = "{revision}"' in p.read_text(encoding="utf-8")
        for p in (MIGRATIONS_DIR / "versions").glob("v*.py"))


def _reason(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's background link."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
