from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import orjson

from db.gate import ConnectionGate, GateTimeout

log = logging.getLogger("relata.db")


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


class DatabaseUnavailable(ConnectionError):
    """The database stopped answering; requests fail now instead of hanging."""


# Failures of the connection or the server, not of a statement: the database is down, frozen,
# restarting or out of connections (retry later), and the connection's protocol state is
# unknown. (An error about the statement, such as a unique violation or a statement timeout,
# leaves the connection ready for the next one.)
_CONNECTION_FAILURES = (
    TimeoutError
    | OSError  # refused, socket gone; DatabaseUnavailable is one too
    | asyncpg.PostgresConnectionError
    # The server shutting down or restarting says so, then drops the connection.
    | asyncpg.AdminShutdownError
    | asyncpg.CrashShutdownError
    | asyncpg.CannotConnectNowError
    | asyncpg.InterfaceError
    | asyncpg.exceptions._base.InternalClientError
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot serve now (a condition to retry after), rather
    than a bug."""
    return isinstance(exc, _CONNECTION_FAILURES)


# SQLSTATE classes in which the server says it cannot serve now, whatever the statement:
# connection exception (08), insufficient resources (53: too many connections, out of memory,
# disk full), operator intervention (57: shutting down, cannot connect now, a statement cancelled
# or over statement_timeout) and system error (58: I/O).
_SERVER_FAILURE_CLASSES = frozenset({"08", "53", "57", "58"})


def is_database_failure(exc: BaseException) -> bool:
    """Whether `exc` is the database or the pool failing (an answer of 503: retry later), as
    opposed to a bug (an unknown table, a wrong statement: 500). Wider than `is_unavailable`:
    the server may also refuse one statement for lack of resources or time and keep the
    connection."""
    if is_unavailable(exc):
        return True
    sqlstate = getattr(exc, "sqlstate", None) if isinstance(exc, asyncpg.PostgresError) else None
    return isinstance(sqlstate, str) and sqlstate[:2] in _SERVER_FAILURE_CLASSES


def _may_break_protocol(exc: BaseException) -> bool:
    """After these a connection may be mid-operation: it must not go back to the pool."""
    return isinstance(exc, asyncio.CancelledError) or is_unavailable(exc)


# Connections kept out of the gate's reach: token lookups and health checks always find one.
RESERVED_CONNECTIONS = 2


class Database:
    """An asyncpg pool with the codecs and statement counting every caller relies on.

    Requests reach it through `for_request`, which bounds the connections one request and one
    location may hold (db/gate.py); unscoped use (authentication, the CLI) bypasses the gate and
    has `RESERVED_CONNECTIONS` the gate never hands out."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float | None = None,
        gate: ConnectionGate | None = None,
    ) -> None:
        self.pool = pool
        # How long a caller waits for a free connection; None waits forever. A pool that stays
        # exhausted then fails requests with TimeoutError instead of queueing them unboundedly.
        self.acquire_timeout = acquire_timeout
        self.gate = gate
        self.watchdog: Watchdog | None = None
        # Connections checked out now: the watchdog cuts them when the database freezes.
        self.busy: set[asyncpg.Connection] = set()
        # Idle connections kept checked out of asyncpg's pool: handing one over is a list pop,
        # where the pool's acquire and release cost ~35 us a statement (a timeout scope, a task
        # to shield the release, a reset, an inactivity timer). Only healthy connections outside
        # a transaction wait here, and none while anyone waits on the pool itself.
        self._idle: list[asyncpg.Connection] = []
        self._pool_waiters = 0
        self._closing = False

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
        location_share: int | None = None,
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
                # On a Citus node, hiding shard tables from catalog queries makes asyncpg's type
                # introspection at connection set-up take 260-780 ms instead of 10 ms. Relata
                # never lists tables; on plain PostgreSQL the setting is an inert placeholder.
                "citus.override_table_visibility": "off",
            },
        )
        capacity = max(1, max_size - RESERVED_CONNECTIONS)
        share = location_share if location_share else max(1, capacity // 2)
        return cls(
            pool,
            acquire_timeout=acquire_timeout,
            gate=ConnectionGate(capacity, min(share, capacity)),
        )

    async def close(self) -> None:
        if self.watchdog is not None:
            await self.watchdog.stop()
        self._closing = True  # from now on every connection goes back to the pool, which waits
        idle, self._idle = self._idle, []
        for conn in idle:
            await self.pool.release(conn)
        await self.pool.close()

    def exhausted(self) -> bool:
        """Whether no connection is free nor may be opened."""
        pool = self.pool
        return (
            not self._idle and pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size()
        )

    def for_request(self, key: str, connections: int) -> Database:
        """This database as one request of location `key` sees it: at most `connections` at
        once for the request, and the location's fair share of the pool."""
        if self.gate is None:
            return self
        return _RequestScoped(self, key, connections)

    def acquire(self) -> Any:
        """A pooled connection, waiting at most `acquire_timeout` for one."""
        return self._checked_out(self.acquire_timeout)

    async def ping(self, seconds: float) -> bool:
        """Whether `select 1` is answered within `seconds`, waiting for a connection included."""

        async def check() -> None:
            async with self.acquire() as conn:
                await _bounded(conn.fetchval("select 1"), seconds, on_late=conn.terminate)

        try:
            await _bounded(check(), seconds)
        except Exception:  # noqa: BLE001 - any failure is "not answering"
            return False
        return True

    def available(self) -> None:
        if self.watchdog is not None and not self.watchdog.healthy:
            raise DatabaseUnavailable("the database is not answering; retry shortly")

    @contextlib.asynccontextmanager
    async def _checked_out(self, wait: float | None) -> AsyncIterator[asyncpg.Connection]:
        self.available()
        conn = await self._take(wait)
        self.busy.add(conn)
        try:
            yield conn
        except BaseException as exc:
            if _may_break_protocol(exc):
                # A connection whose protocol may be mid-operation must not be used again, or
                # the next caller gets "another operation is in progress". Closing it makes the
                # pool open a fresh one.
                conn.terminate()
            raise
        finally:
            self.busy.discard(conn)
            await self._give_back(conn)

    async def _give_back(self, conn: asyncpg.Connection) -> None:
        try:
            reusable = not (self._pool_waiters or self._closing or conn.is_closed())
            reusable = reusable and not conn.is_in_transaction()
        except asyncpg.InterfaceError:
            return  # asyncpg took it back itself when it closed
        if reusable:
            self._idle.append(conn)
        else:
            # asyncpg's release rolls back, returns closed holders and wakes its waiters.
            await self.pool.release(conn)

    async def _take(self, wait: float | None) -> asyncpg.Connection:
        while self._idle:
            conn = self._idle.pop()
            try:
                if not conn.is_closed():
                    return conn
            except asyncpg.InterfaceError:
                continue  # closed while idle (a restart): asyncpg took it back itself
            await self.pool.release(conn)
        self._pool_waiters += 1
        try:
            return await self.pool.acquire(timeout=wait)
        finally:
            self._pool_waiters -= 1

    async def _run(self, method: str, query: str, args: tuple[Any, ...]) -> Any:
        for attempt in (1, 2):
            try:
                async with self.acquire() as conn:
                    return await getattr(conn, method)(query, *args)
            except asyncpg.exceptions._base.InternalClientError:
                # A pooled connection the server dropped while it was idle (a restart) fails
                # before sending anything; it has been closed, so a second try gets a fresh one.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run("fetch", query, args)  # type: ignore[no-any-return]

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return await self._run("fetchrow", query, args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self._run("fetchval", query, args)

    async def execute(self, query: str, *args: Any) -> str:
        return await self._run("execute", query, args)  # type: ignore[no-any-return]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.acquire() as conn, conn.transaction():
            yield conn

    def within(self, conn: asyncpg.Connection) -> Database:
        """This database as seen from inside `conn`'s open transaction: service functions given
        it send their statements there and their own transactions become savepoints, so several
        compose into one all-or-nothing unit without copying their rules."""
        return _WithinTransaction(self.pool, conn)


class _RequestScoped(Database):
    def __init__(self, root: Database, key: str, connections: int) -> None:
        super().__init__(root.pool, acquire_timeout=root.acquire_timeout, gate=root.gate)
        self.root, self.key = root, key
        self._slots = asyncio.Semaphore(max(1, connections))

    def for_request(self, key: str, connections: int) -> Database:
        return self

    def acquire(self) -> Any:
        return self._leased()

    def exhausted(self) -> bool:
        return self.root.exhausted()

    @contextlib.asynccontextmanager
    async def _leased(self) -> AsyncIterator[asyncpg.Connection]:
        assert self.gate is not None
        self.root.available()
        loop = asyncio.get_running_loop()
        timeout = self.acquire_timeout
        deadline = None if timeout is None else loop.time() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - loop.time())

        if self._slots.locked():  # wait_for costs a task: only when there is a wait
            try:
                await asyncio.wait_for(self._slots.acquire(), left())
            except TimeoutError:
                raise GateTimeout(
                    f"this request's database connections stayed busy for {timeout} s"
                ) from None
        else:
            await self._slots.acquire()
        try:
            await self.gate.acquire(self.key, left())
            try:
                async with self.root._checked_out(left()) as conn:
                    yield conn
            finally:
                self.gate.release(self.key)
        finally:
            self._slots.release()


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


class Watchdog:
    """Pings the database on a connection of its own. When a ping goes unanswered for
    `timeout` seconds the database is declared stalled: connections checked out now are cut
    (their requests fail at once instead of waiting out the 30 s command timeout) and new work
    is refused until a ping is answered again. A frozen database is then answered within
    `interval + timeout` seconds, and an acknowledged write is one the database committed."""

    def __init__(self, db: Database, dsn: str, *, interval: float, timeout: float) -> None:
        self.db, self.dsn = db, dsn
        self.interval, self.timeout = interval, timeout
        self.healthy = True
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            self._conn.terminate()

    async def _run(self) -> None:
        while True:
            answered = await self.ping()
            if not answered:
                # Cut on every unanswered ping, not only the first: a request that had passed
                # the health check before it may have checked a connection out since.
                cut = list(self.db.busy)
                if self.healthy:
                    log.error(
                        "database stalled (no answer in %.1f s); cutting %d busy connections",
                        self.timeout,
                        len(cut),
                    )
                elif cut:
                    log.warning("database still stalled; cutting %d busy connections", len(cut))
                self.healthy = False
                for conn in cut:
                    conn.terminate()
            elif not self.healthy:
                log.warning("database answering again")
                self.healthy = True
            await asyncio.sleep(self.interval)

    async def ping(self) -> bool:
        """`select 1` answered within the timeout. On a frozen server neither the query nor
        its cancellation returns, so a late ping is cut by closing its socket, never awaited."""
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = None
                self._conn = await _bounded(asyncpg.connect(self.dsn), self.timeout)
            conn = self._conn
            await _bounded(conn.fetchval("select 1"), self.timeout, on_late=conn.terminate)
            return True
        except Exception:  # noqa: BLE001 - any failure is "not answering"
            if self._conn is not None:
                self._conn.terminate()
                self._conn = None
            return False


async def _bounded(awaitable: Any, seconds: float, on_late: Any = None) -> Any:
    """Await with a deadline without waiting for the awaitable to wind down after it."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        return task.result()
    if on_late is not None:
        on_late()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    task.cancel()
    raise TimeoutError(f"no answer within {seconds} s")


class Executor(Protocol):
    """What db/ query functions accept: a Database, a pooled connection or a transaction's."""

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...  # pragma: no cover
    async def fetchrow(
        self, query: str, *args: Any
    ) -> asyncpg.Record | None: ...  # pragma: no cover
    async def fetchval(self, query: str, *args: Any) -> Any: ...  # pragma: no cover
    async def execute(self, query: str, *args: Any) -> str: ...  # pragma: no cover
