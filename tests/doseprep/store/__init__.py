"""Tests of the record store on real databases: SQLite always, PostgreSQL when configured."""
