"""PostgreSQL with least privilege: an owner role and the application role (issue 10).

- The **owner** role owns the schema, the tables and their triggers; it runs the migrations. No
  workstation uses it.
- The **application** role is what every workstation connects as. It may read, insert into the
  append-only tables (audit trail, signatures, user keys, protocol approvals, and since revision
  0005 the lab key, its seals and the certificates it issued), and update only what the program
  updates (records, which the triggers guard once signed; account counters, lock times and
  passwords; the audit head; record counters). What it can still write outside the program is
  reported by ``audit verify`` (issue 25: an inserted account, a key, a lock). It owns nothing,
  so it can neither disable nor drop a trigger, truncate or alter a table; and it is not a
  superuser, so it cannot set ``session_replication_role`` to switch triggers off.

:func:`setup_sql` is the SQL a database superuser runs around the owner's migration;
``doseprep db setup`` applies all of it (roles, schema, migration as the owner, grants) and
``doseprep db roles`` prints it for a database administrator to review and run.
"""

from __future__ import annotations

import re

#: Tables the application may only read and append to.
APPEND_ONLY = ("audit_log", "signatures", "user_keys", "protocol_approvals", "lab_keys",
               "lab_key_seals", "key_certificates", "lab_approvals", "settings_texts",
               "product_samples")
#: Table → columns the application may update (None: any column; triggers guard the rest).
UPDATABLE: dict[str, tuple[str, ...] | None] = {
    "records": None,
    "users": ("failed_attempts", "locked", "disabled", "password_hash", "updated_at",
              "row_version", "locked_at", "last_failed_at", "terminal_failed_at"),
    "audit_head": ("seq", "hash"),
    "counters": ("value",),
    "aliquots": ("state", "location", "thaw_record", "reason", "updated_at", "updated_by",
                 "row_version"),
}
#: Tables the application inserts into besides the append-only ones.
INSERTABLE = ("records", "users", "counters", "aliquots")
#: Sequences behind the tables' integer keys.
SEQUENCES = ("records_id_seq", "signatures_id_seq", "user_keys_id_seq",
             "protocol_approvals_id_seq", "aliquots_id_seq", "lab_keys_id_seq",
             "lab_key_seals_id_seq", "key_certificates_id_seq", "lab_approvals_id_seq",
             "product_samples_id_seq")

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_name(name: str, what: str) -> str:
    """A role or schema name safe to write into SQL unquoted (lower case, letters, digits, _)."""
    if not _NAME.match(name):
        raise ValueError(f"{what} \"{name}\" is not a plain PostgreSQL name (lower-case letters, "
                         "digits and _, starting with a letter or _, at most 63).")
    return name


def roles_sql(owner: str, app: str, schema: str) -> list[str]:
    """Before the migration: the two roles (without passwords: set them with \\password) and the
    schema owned by the owner, usable but not writable by the application."""
    owner, app, schema = (check_name(owner, "owner role"), check_name(app, "application role"),
                          check_name(schema, "schema"))
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}') THEN "
        f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        "NOBYPASSRLS; END IF; END $$",
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app}') THEN "
        f"CREATE ROLE {app} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        "NOBYPASSRLS; END IF; END $$",
        f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner}",
        f"ALTER SCHEMA {schema} OWNER TO {owner}",
        f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {schema} TO {app}",
        f"ALTER ROLE {owner} SET search_path = {schema}",
        f"ALTER ROLE {app} SET search_path = {schema}",
    ]


def grants_sql(owner: str, app: str, schema: str) -> list[str]:
    """After the migration: exactly the privileges the application needs, nothing else."""
    owner, app, schema = (check_name(owner, "owner role"), check_name(app, "application role"),
                          check_name(schema, "schema"))
    tables = sorted({*APPEND_ONLY, *UPDATABLE, *INSERTABLE, "alembic_version",
                     "store_identity"})
    out = [f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app}",
           f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC"]
    out += [f"GRANT SELECT ON {schema}.{table} TO {app}" for table in tables]
    out += [f"GRANT INSERT ON {schema}.{table} TO {app}"
            for table in sorted({*APPEND_ONLY, *INSERTABLE})]
    for table, columns in sorted(UPDATABLE.items()):
        what = "UPDATE" if columns is None else f"UPDATE ({', '.join(columns)})"
        out.append(f"GRANT {what} ON {schema}.{table} TO {app}")
    out += [f"GRANT USAGE ON SEQUENCE {schema}.{sequence} TO {app}" for sequence in SEQUENCES]
    return out


def script(owner: str, app: str, schema: str) -> str:
    """The whole set-up as one script for ``psql`` run by a superuser, with the migration step
    between (as the owner) spelled out."""
    lines = ["-- doseprep: PostgreSQL roles with least privilege (run as a superuser).",
             "-- 1. Roles and schema:"]
    lines += [f"{statement};" for statement in roles_sql(owner, app, schema)]
    lines += ["-- Set passwords: \\password " + owner + " and \\password " + app,
              "-- 2. Create the tables as the owner (from a shell):",
              f"--    DOSEPREP_DATABASE_URL=postgresql+psycopg://{owner}@HOST/DB doseprep db "
              "migrate",
              "-- 3. Grants for the application role (after every migration):"]
    lines += [f"{statement};" for statement in grants_sql(owner, app, schema)]
    lines += ["-- Workstations connect as " + app + ": "
              f"DOSEPREP_DATABASE_URL=postgresql+psycopg://{app}@HOST/DB"]
    return "\n".join(lines) + "\n"
