"""``doseprep db``: the record database's schema and, on PostgreSQL, its roles (issue 10).

- ``db roles`` prints the SQL of a least-privilege set-up (:mod:`doseprep.store.roles`) for a
  database administrator to review and run.
- ``db setup --superuser-url URL`` applies it: the owner and application roles, the schema, the
  migration run as the owner, and the application's grants.
- ``db migrate`` brings the schema of ``DOSEPREP_DATABASE_URL`` to this version (run it as the
  owner role; the application role cannot).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from doseprep.cli.common import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    fail,
)


def _names(args: argparse.Namespace) -> tuple[str, str, str] | None:
    from doseprep.store.roles import check_name

    try:
        return (check_name(args.owner, "--owner"), check_name(args.app, "--app"),
                check_name(args.schema, "--schema"))
    except ValueError as exc:
        fail(str(exc))
        return None


def _cmd_roles(args: argparse.Namespace) -> int:
    from doseprep.store.roles import script

    names = _names(args)
    if names is None:
        return EXIT_INPUT
    sys.stdout.write(script(*names))
    return EXIT_OK


def setup(superuser_url: str, owner: str, app: str, schema: str) -> None:
    """Apply the least-privilege set-up with a superuser's connection (see the module
    docstring); safe to run again after an upgrade (it migrates and grants again)."""
    import sqlalchemy as sa

    from doseprep.store.engine import Store, create_engine, migrate
    from doseprep.store.roles import grants_sql, roles_sql

    admin = create_engine(superuser_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        if admin.dialect.name != "postgresql":
            raise ValueError("roles are for PostgreSQL; a SQLite file is protected by the "
                             "operating system's file permissions instead.")
        with admin.connect() as conn:
            for statement in roles_sql(owner, app, schema):
                conn.exec_driver_sql(statement)
    finally:
        admin.dispose()
    as_owner = create_engine(superuser_url)

    @sa.event.listens_for(as_owner, "connect")
    def _become_owner(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {owner}")
            cursor.execute(f"SET search_path TO {schema}")
        dbapi_connection.commit()

    store = Store(as_owner)
    store.checkpoints = False
    try:
        migrate(store)
        with store.engine.connect() as conn, conn.begin():
            for statement in grants_sql(owner, app, schema):
                conn.exec_driver_sql(statement)
    finally:
        store.close()


def _cmd_setup(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from doseprep.store import StoreUnavailableError

    names = _names(args)
    if names is None:
        return EXIT_INPUT
    try:
        setup(args.superuser_url, *names)
    except ValueError as exc:
        return fail(str(exc))
    except StoreUnavailableError as exc:
        return fail(exc.message, EXIT_UNAVAILABLE)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return fail(f"the set-up was refused by the database ({reason}).", EXIT_UNAVAILABLE)
    owner, app, schema = names
    sys.stdout.write(f"PostgreSQL set up: schema {schema} owned by {owner}; workstations connect "
                     f"as {app} (set both passwords with \\password in psql).\n")
    return EXIT_OK


def _cmd_migrate(args: argparse.Namespace) -> int:
    from doseprep.store import StoreUnavailableError, open_store
    from doseprep.store.engine import HEAD_REVISION

    try:
        with open_store() as store:
            sys.stdout.write(f"the record database {store.url} is at schema {HEAD_REVISION}\n")
    except StoreUnavailableError as exc:
        return fail(exc.message, EXIT_UNAVAILABLE)
    return EXIT_OK


def register(subparsers: Any, add_settings_options: Callable[[argparse.ArgumentParser], None]
             ) -> None:
    """Add ``db roles|setup|migrate`` to the ``doseprep`` command line."""
    db = subparsers.add_parser("db", help="the record database: schema and PostgreSQL roles")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")

    def names(p: argparse.ArgumentParser) -> None:
        p.add_argument("--owner", default="doseprep_owner", metavar="ROLE",
                       help="the role that owns the tables and runs migrations "
                            "(default doseprep_owner)")
        p.add_argument("--app", default="doseprep_app", metavar="ROLE",
                       help="the role workstations connect as (default doseprep_app)")
        p.add_argument("--schema", default="doseprep", metavar="NAME",
                       help="the schema that holds the tables (default doseprep)")

    p = dsub.add_parser("roles", help="print the SQL of the least-privilege PostgreSQL set-up")
    names(p)
    p.set_defaults(func=_cmd_roles)
    p = dsub.add_parser("setup", help="apply the least-privilege PostgreSQL set-up as a "
                                      "superuser: roles, schema, migration, grants")
    p.add_argument("--superuser-url", required=True, metavar="URL",
                   help="postgresql+psycopg://postgres@HOST/DB (a superuser's connection)")
    names(p)
    p.set_defaults(func=_cmd_setup)
    p = dsub.add_parser("migrate", help="bring the database's schema to this version (as the "
                                        "owner role)")
    p.set_defaults(func=_cmd_migrate)
