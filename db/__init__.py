"""Postgres access: connection pool, embedded server, migrations and every SQL statement."""

from db.database import Database, StatementCounter, count_statements, current_counter

__all__ = ["Database", "StatementCounter", "count_statements", "current_counter"]
