"""db/database.py keeps idle connections checked out of asyncpg's pool: what the pool guaranteed
still holds (waiters are served, a dead connection is replaced, a transaction never leaks, close
does not hang), with real connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from db import Database


@pytest.fixture
async def one(pg_dsn: str) -> AsyncIterator[Database]:
    small = await Database.connect(pg_dsn, min_size=1, max_size=1, acquire_timeout=5)
    yield small
    await small.close()


async def backend(db: Database) -> int:
    return int(await db.fetchval("select pg_backend_pid()"))


async def test_a_released_connection_is_handed_over_again(one: Database) -> None:
    first = await backend(one)
    assert [await backend(one) for _ in range(5)] == [first] * 5
    assert one.pool.get_idle_size() == 0 and not one.exhausted()


async def test_a_caller_waiting_on_the_pool_gets_the_connection(one: Database) -> None:
    await backend(one)  # the only connection now waits among the idle ones
    async with one.acquire() as held:
        waiting = asyncio.create_task(backend(one))
        await asyncio.sleep(0.1)
        assert not waiting.done() and one.exhausted()
        pid = await held.fetchval("select pg_backend_pid()")
    # Returned while someone waits on the pool: it goes to the pool, which wakes the waiter.
    assert await asyncio.wait_for(waiting, 5) == pid


async def test_a_connection_closed_while_idle_is_replaced(one: Database, db: Database) -> None:
    old = await backend(one)
    assert await db.fetchval("select pg_terminate_backend($1::int)", old)
    await asyncio.sleep(0.2)  # the socket's close reaches asyncpg, which takes the holder back
    new = await backend(one)
    assert new != old
    assert [await backend(one) for _ in range(3)] == [new] * 3


async def test_an_open_transaction_is_never_handed_on(one: Database) -> None:
    async with one.acquire() as conn:
        await conn.execute("begin")
        await conn.execute("create temporary table left_open (x int)")
    # Back through the pool, whose release rolls the transaction back.
    async with one.acquire() as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval("select to_regclass('pg_temp.left_open')") is None


async def test_close_waits_for_statements_in_flight(pg_dsn: str) -> None:
    db = await Database.connect(pg_dsn, min_size=1, max_size=3, acquire_timeout=5)
    await asyncio.gather(*(db.fetchval("select 1") for _ in range(3)))  # three idle ones
    slow = asyncio.create_task(db.fetchval("select 7 from pg_sleep(0.3)"))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(db.close(), 10)
    assert slow.done() and slow.result() == 7
    assert db.pool.is_closing()
