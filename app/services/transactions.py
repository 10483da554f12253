from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from app.services import events
from db import Database

T = TypeVar("T")

_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


async def in_transaction(
    db: Database, work: Callable[[asyncpg.Connection], Awaitable[T]], *, attempts: int = 5
) -> T:
    """Run `work` in one transaction, with the events it stages appended last, in the same
    transaction; retry it whole when Postgres picks it as a deadlock victim."""
    for attempt in range(attempts):
        try:
            async with db.transaction() as conn:
                with events.staging(conn) as staged:
                    result = await work(conn)
                    if staged is not None:
                        await events.flush(staged)
                    return result
        except _RETRYABLE:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")
