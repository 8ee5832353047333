"""Alembic environment: runs the migrations on the connection the store hands over.

The store opens the connection, starts the transaction (and on PostgreSQL takes an advisory lock so
two workstations starting at once do not both migrate) and passes it in
``config.attributes["connection"]``; there is no ``alembic.ini`` and no URL here.
"""

from __future__ import annotations

from alembic import context

from doseprep.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
