"""Request-scoped loaders: a key's future is shared by every field that loads it, so one
field's cancellation (graphql-core cancels siblings once an error nulls their parent) must not
cancel it for the others."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.graphql.dataloaders import SharedLoader


class SlowEcho(SharedLoader[int, int]):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        self.calls += 1
        await asyncio.sleep(0.05)
        return list(keys)


async def test_a_cancelled_waiter_leaves_the_shared_key_to_the_others() -> None:
    loader = SlowEcho()
    cancelled = asyncio.ensure_future(loader.load(7))
    kept = asyncio.ensure_future(loader.load(7))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    assert await kept == 7
    assert await loader.load(7) == 7  # the cached future was not cancelled either
    assert loader.calls == 1
