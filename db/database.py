from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import orjson


@dataclass
class StatementCounter:
    """SQL statements sent on behalf of one request; tests pin it to catch N+1 regressions."""

    count: int = 0


_counter: contextvars.ContextVar[StatementCounter | None] = contextvars.ContextVar(
    "relata_statement_counter", default=None
)


def current_counter() -> StatementCounter | None:
    return _counter.get()


@contextlib.contextmanager
def count_statements() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    token = _counter.set(counter)
    try:
        yield counter
    finally:
        _counter.reset(token)


def _log_query(_record: Any) -> None:
    # asyncpg calls query loggers through loop.call_soon, which runs them in a copy of the
    # issuing task's context: the counter object is shared, so mutating it is seen.
    counter = _counter.get()
    if counter is not None:
        counter.count += 1


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )
    await conn.set_type_codec(
        "json", encoder=lambda v: json.dumps(v), decoder=orjson.loads, schema="pg_catalog"
    )
    # asyncpg introspects array types on each connection's first use, in three statements of its
    # own; doing it here keeps them out of requests (and out of their statement counts).
    await conn.fetchval("select $1::uuid[], $2::text[]", [], [])
    conn.add_query_logger(_log_query)


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """Replaces asyncpg's reset query on release (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL),
    which cost one more round trip after every pooled statement and doubled each request's count.
    asyncpg still rolls back an open transaction before calling this; the app keeps no session
    state to undo (its advisory locks are transaction-scoped; it never LISTENs or SETs)."""


class Database:
    """An asyncpg pool with the codecs and statement counting every caller relies on."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float | None = None) -> None:
        self.pool = pool
        # How long a caller waits for a free connection; None waits forever. A pool that stays
        # exhausted then fails requests with TimeoutError instead of queueing them unboundedly.
        self.acquire_timeout = acquire_timeout

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        statement_timeout_ms: int = 15000,
        command_timeout: float = 30.0,
        acquire_timeout: float | None = None,
    ) -> Database:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            reset=_reset_connection,
            command_timeout=command_timeout,
            server_settings={
                "statement_timeout": str(statement_timeout_ms),
                "application_name": "relata",
            },
        )
        return cls(pool, acquire_timeout=acquire_timeout)

    async def close(self) -> None:
        await self.pool.close()

    def acquire(self) -> Any:
        """A pooled connection, waiting at most `acquire_timeout` for one."""
        return self.pool.acquire(timeout=self.acquire_timeout)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            return await conn.fetch(query, *args)  # type: ignore[no-any-return]

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with self.acquire() as conn:
            return await conn.execute(query, *args)  # type: ignore[no-any-return]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.acquire() as conn, conn.transaction():
            yield conn

    def within(self, conn: asyncpg.Connection) -> Database:
        """This database as seen from inside `conn`'s open transaction: service functions given
        it send their statements there and their own transactions become savepoints, so several
        compose into one all-or-nothing unit without copying their rules."""
        return _WithinTransaction(self.pool, conn)


class _WithinTransaction(Database):
    def __init__(self, pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
        super().__init__(pool)
        self.conn = conn

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        yield self.conn

    def acquire(self) -> Any:
        return self._connection()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.conn.transaction():
            yield self.conn


class Executor(Protocol):
    """What db/ query functions accept: a Database, a pooled connection or a transaction's."""

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...  # pragma: no cover
    async def fetchrow(
        self, query: str, *args: Any
    ) -> asyncpg.Record | None: ...  # pragma: no cover
    async def fetchval(self, query: str, *args: Any) -> Any: ...  # pragma: no cover
    async def execute(self, query: str, *args: Any) -> str: ...  # pragma: no cover
