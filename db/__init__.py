"""Postgres access: connection pool, embedded server, migrations and every SQL statement."""

from db.database import (
    Database,
    DatabaseUnavailable,
    StatementCounter,
    Watchdog,
    count_statements,
    current_counter,
    is_database_failure,
    is_unavailable,
)

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "StatementCounter",
    "Watchdog",
    "count_statements",
    "current_counter",
    "is_database_failure",
    "is_unavailable",
]
