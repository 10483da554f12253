"""Fair sharing of a connection pool between tenants.

A pool handed out first come, first served lets one location hold every connection while the
others queue behind its slow requests. The gate grants at most `capacity` connections in all
and at most `per_key` to one key (a location); when several keys wait, the next free connection
goes to the waiting key that holds the fewest, so a quiet location waits for at most one
statement of a busy one, never for its whole backlog."""

from __future__ import annotations

import asyncio
from collections import deque


class GateTimeout(TimeoutError):
    """No connection became free for this key in time."""


class ConnectionGate:
    def __init__(self, capacity: int, per_key: int) -> None:
        if capacity < 1 or per_key < 1:
            raise ValueError("a gate needs a capacity and a share of at least 1")
        self.capacity = capacity
        self.per_key = min(per_key, capacity)
        self.total = 0
        self.held: dict[str, int] = {}
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    def holding(self, key: str) -> int:
        return self.held.get(key, 0)

    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    async def acquire(self, key: str, wait: float | None) -> None:
        if not self._waiting and self._may_take(key):
            self._grant(key)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(future)
        self._dispatch()
        try:
            # A timeout scope, not wait_for: no task a wait. On a timeout the future is cancelled
            # with the waiting task, unless it was granted first (then given back below).
            async with asyncio.timeout(wait):
                await future
        except (TimeoutError, asyncio.CancelledError) as exc:
            if future.done() and not future.cancelled():
                self.release(key)  # granted just as the wait ended: give it back
            else:
                future.cancel()
                self._forget(key, future)
            if isinstance(exc, TimeoutError):
                raise GateTimeout(
                    f"no database connection was free for this location within {wait} s"
                ) from None
            raise

    def release(self, key: str) -> None:
        held = self.held.get(key, 0)
        if held <= 0:
            raise RuntimeError(f"release of a connection {key!r} does not hold")
        if held == 1:
            del self.held[key]
        else:
            self.held[key] = held - 1
        self.total -= 1
        self._dispatch()

    def _may_take(self, key: str) -> bool:
        return self.total < self.capacity and self.held.get(key, 0) < self.per_key

    def _grant(self, key: str) -> None:
        self.held[key] = self.held.get(key, 0) + 1
        self.total += 1

    def _dispatch(self) -> None:
        while self.total < self.capacity:
            eligible = [k for k, q in self._waiting.items() if q and self._may_take(k)]
            if not eligible:
                return
            key = min(eligible, key=lambda k: self.held.get(k, 0))
            queue = self._waiting[key]
            future = queue.popleft()
            if not queue:
                del self._waiting[key]
            if future.done():
                continue
            self._grant(key)
            future.set_result(None)

    def _forget(self, key: str, future: asyncio.Future[None]) -> None:
        queue = self._waiting.get(key)
        if queue is None:
            return
        try:
            queue.remove(future)
        except ValueError:
            pass
        if not queue:
            del self._waiting[key]
