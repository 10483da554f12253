"""One hub per process: it wakes on LISTEN/NOTIFY, reads the change log once per woken location
and fans the events out to that location's subscribers.

A notification is only a wake-up (`db.events.notify`, raised by every write transaction that
appended events): the data always comes from the log, read after the location's tail, so a lost
notification — or one raised on another Citus node — loses nothing; each location with
subscribers is also read every `poll_interval` seconds without one. Every statement names one
location. Subscribers are bounded per location and per process; each has a bounded buffer, and
one that falls behind is ended with LIMIT_EXCEEDED (it resumes with `after`). Tokens behind live
subscriptions and connections are checked again every `auth_interval` seconds: a revoked token's
subscriptions end with UNAUTHENTICATED and its WebSocket connections are closed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from app.auth import Principal
from app.config import Settings
from app.errors import AppError, LimitExceeded, Unauthenticated
from app.models import EventModel
from app.services.tokens import authenticate
from db import Database
from db import events as sql

log = logging.getLogger("relata.live")

# Events read from the log per statement while a location catches up.
PAGE = 500
Connect = Callable[[], Awaitable[asyncpg.Connection]]


@dataclass(eq=False)
class Subscriber:
    """One live subscription: what it accepts, and its bounded queue of events."""

    location_id: str
    token: str
    accepts: Callable[[EventModel], bool]
    capacity: int
    # Records whose events alone it can accept (recordChanged), so the feed offers it only
    # those; None: it is offered every event of the location.
    records: frozenset[uuid.UUID] | None = None
    # Every event of the location after this position is offered (set when registered).
    live_from: int = 0
    items: deque[EventModel] = field(default_factory=deque)
    error: AppError | None = None
    # Delivered once the buffered events are out (a full buffer), or at once (a revoked token).
    error_first: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: EventModel) -> None:
        if self.error is not None or not self.accepts(event):
            return
        if len(self.items) >= self.capacity:
            self.end(
                LimitExceeded(
                    f"this subscription fell {self.capacity} events behind"
                    " (RELATA_SUBSCRIPTION_BUFFER) and was ended; subscribe again with `after`"
                    " set to the last position you received to continue without a gap",
                    limit="subscriptionBuffer",
                    maximum=self.capacity,
                )
            )
            return
        self.items.append(event)
        self.wake.set()

    def end(self, error: AppError, *, at_once: bool = False) -> None:
        if self.error is None:
            self.error, self.error_first = error, at_once
            if at_once:
                self.items.clear()
            self.wake.set()

    def revoked(self, error: AppError) -> None:
        self.end(error, at_once=True)

    async def next(self) -> EventModel:
        """The next event; raises the error that ended the subscription once it is due."""
        while True:
            if self.error is not None and (self.error_first or not self.items):
                raise self.error
            if self.items:
                return self.items.popleft()
            self.wake.clear()
            await self.wake.wait()


class _Feed:
    """A location's reader: its tail (the last position read) and its subscribers."""

    def __init__(self, hub: Hub, location_id: str) -> None:
        self.hub, self.location_id = hub, location_id
        self.subscribers: set[Subscriber] = set()
        self.everything: set[Subscriber] = set()
        self.by_record: dict[uuid.UUID, set[Subscriber]] = {}
        self.tail = 0
        self.wake = asyncio.Event()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self.run(), name=f"relata-live-{location_id}")

    async def run(self) -> None:
        try:
            self.tail = await sql.last_position(self.hub.db, self.location_id)
        except Exception as exc:  # noqa: BLE001 - the subscriber that waits is told
            self.ready.set_exception(exc)
            self.hub._drop(self)
            return
        self.ready.set_result(None)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.hub.poll_interval)
            self.wake.clear()
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - read again at the next poll
                log.warning("live: reading %s's events failed: %r", self.location_id, exc)

    def add(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)
        if subscriber.records is None:
            self.everything.add(subscriber)
        for uid in subscriber.records or ():
            self.by_record.setdefault(uid, set()).add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        self.everything.discard(subscriber)
        for uid in subscriber.records or ():
            watching = self.by_record.get(uid)
            if watching is not None:
                watching.discard(subscriber)
                if not watching:
                    del self.by_record[uid]

    def audience(self, event: EventModel) -> list[Subscriber]:
        """Who may accept the event: those offered everything, and those watching its records
        (a record's watchers are not asked about other records' events)."""
        found = list(self.everything)
        for uid in {event.record_id, event.first_record_id, event.second_record_id}:
            if uid is not None and uid in self.by_record:
                found.extend(self.by_record[uid])
        return found

    async def catch_up(self) -> None:
        while True:
            rows = await sql.list_events(self.hub.db, self.location_id, after=self.tail, limit=PAGE)
            for row in rows:
                event = EventModel.from_row(row)
                for subscriber in self.audience(event):
                    subscriber.offer(event)
                self.tail = event.position
            self.hub.delivered += len(rows)
            if len(rows) < PAGE:
                return


class Hub:
    def __init__(
        self,
        db: Database,
        connect: Connect | None,
        *,
        poll_interval: float = 1.0,
        auth_interval: float = 5.0,
        buffer: int = 1_000,
        per_location: int = 1_000,
        per_process: int = 20_000,
    ) -> None:
        self.db, self.connect = db, connect
        self.poll_interval, self.auth_interval = poll_interval, auth_interval
        self.buffer, self.per_location, self.per_process = buffer, per_location, per_process
        self.feeds: dict[str, _Feed] = {}
        self.count = 0
        self.delivered = 0
        self.notifications = 0
        # Tokens behind live subscriptions and connections, and what to do when one is revoked.
        self._watchers: dict[str, set[Callable[[AppError], None]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncpg.Connection | None = None
        self.listening = asyncio.Event()

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self.connect is not None:
            self._tasks.append(asyncio.create_task(self._listen(), name="relata-live-listen"))
        self._tasks.append(asyncio.create_task(self._recheck(), name="relata-live-auth"))

    async def stop(self) -> None:
        for task in [*self._tasks, *(f.task for f in self.feeds.values())]:
            task.cancel()
        for task in [*self._tasks, *(f.task for f in self.feeds.values())]:
            with contextlib.suppress(BaseException):
                await task
        self.feeds.clear()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.close(), 2)

    async def _listen(self) -> None:
        """Hold one connection that LISTENs; reconnect when it drops (every feed then reads, in
        case a notification went missing meanwhile)."""
        assert self.connect is not None
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await self.connect()
                closed = asyncio.Event()
                conn.add_termination_listener(lambda _c, done=closed: done.set())
                await conn.add_listener(sql.CHANNEL, self._notified)
                self._listener = conn
                self.listening.set()
                for feed in self.feeds.values():
                    feed.wake.set()
                await closed.wait()
                log.warning("live: the LISTEN connection closed; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - polling covers until it is back
                log.warning("live: cannot LISTEN (%r); retrying", exc)
            finally:
                self.listening.clear()
                self._listener = None
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(self.poll_interval)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self.notifications += 1
        position, _, location_id = str(payload).partition(":")
        feed = self.feeds.get(location_id)
        if feed is not None and (not position.isdigit() or int(position) > feed.tail):
            feed.wake.set()

    # --- subscribers ---------------------------------------------------------------------

    async def subscribe(
        self,
        principal: Principal,
        token: str,
        accepts: Callable[[EventModel], bool],
        records: frozenset[uuid.UUID] | None = None,
    ) -> Subscriber:
        """Register a subscriber; it is offered every event after its `live_from`."""
        location = principal.location_id
        if self.count >= self.per_process:
            raise LimitExceeded(
                f"this server process holds {self.per_process} subscriptions, its limit"
                " (RELATA_SUBSCRIPTIONS_PER_PROCESS); retry later or on another process",
                limit="subscriptionsPerProcess",
                maximum=self.per_process,
            )
        feed = self.feeds.get(location)
        if feed is not None and len(feed.subscribers) >= self.per_location:
            raise LimitExceeded(
                f"this location has {self.per_location} live subscriptions on this server"
                " process, its limit (RELATA_SUBSCRIPTIONS_PER_LOCATION)",
                limit="subscriptionsPerLocation",
                maximum=self.per_location,
            )
        subscriber = Subscriber(location, token, accepts, self.buffer, records)
        self.count += 1
        try:
            if feed is None:
                feed = self.feeds[location] = _Feed(self, location)
            await asyncio.shield(feed.ready)
        except BaseException:
            self.count -= 1
            raise
        if self.feeds.get(location) is not feed:  # its last subscriber left meanwhile
            self.count -= 1
            return await self.subscribe(principal, token, accepts, records)
        subscriber.live_from = feed.tail
        feed.add(subscriber)
        self.watch(token, subscriber.revoked)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        feed = self.feeds.get(subscriber.location_id)
        if feed is None or subscriber not in feed.subscribers:
            return
        feed.remove(subscriber)
        self.count -= 1
        self.unwatch(subscriber.token, subscriber.revoked)
        if not feed.subscribers:
            self._drop(feed)

    def _drop(self, feed: _Feed) -> None:
        if self.feeds.get(feed.location_id) is feed:
            del self.feeds[feed.location_id]
        feed.task.cancel()

    # --- revocation ----------------------------------------------------------------------

    def watch(self, token: str, on_revoked: Callable[[AppError], None]) -> None:
        self._watchers.setdefault(token, set()).add(on_revoked)

    def unwatch(self, token: str, on_revoked: Callable[[AppError], None]) -> None:
        watchers = self._watchers.get(token)
        if watchers is not None:
            watchers.discard(on_revoked)
            if not watchers:
                del self._watchers[token]

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(self.auth_interval)
            for token in list(self._watchers):
                try:
                    await authenticate(self.db, token)
                except Unauthenticated as exc:
                    revoked = Unauthenticated(
                        f"{exc.message}: its live subscriptions have ended",
                        reason="tokenRevoked",
                    )
                    for on_revoked in list(self._watchers.pop(token, ())):
                        on_revoked(revoked)
                except Exception as exc:  # noqa: BLE001 - the database did not answer: next time
                    log.warning("live: re-checking a token failed: %r", exc)


async def start_hub(state: object, settings: Settings, dsn: str) -> Hub:
    """The process's hub on `state.db`, with its own LISTEN connection to `dsn`."""

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(dsn, server_settings={"application_name": "relata-live"})

    hub = Hub(
        state.db,  # type: ignore[attr-defined]
        connect,
        poll_interval=settings.subscription_poll_interval,
        auth_interval=settings.subscription_auth_interval,
        buffer=settings.subscription_buffer,
        per_location=settings.subscriptions_per_location,
        per_process=settings.subscriptions_per_process,
    )
    await hub.start()
    state.hub = hub  # type: ignore[attr-defined]
    return hub


async def stop_hub(state: object) -> None:
    hub: Hub | None = getattr(state, "hub", None)
    if hub is not None:
        state.hub = None  # type: ignore[attr-defined]
        await hub.stop()


__all__ = ["Hub", "Subscriber", "start_hub", "stop_hub"]
