"""Alembic migrations of the record database, run in code by :mod:`doseprep.store.engine`."""
