"""What each subscription delivers, and its resumable stream: events after `after` replayed from
the log, then live ones from the hub, with no gap and no duplicate.

The stream registers with the hub first (it is then offered every event after the hub's tail for
the location, T) and replays the log after `after` until a page comes back empty, which reads
past T. A live event at or below the last position delivered is dropped: it was replayed.
Replay and live use the same predicate, so the two halves meet exactly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from app import ids, validation
from app.auth import RECORDS_READ, RELATIONS_READ, Principal
from app.errors import Forbidden
from app.live.hub import Hub
from app.models import EVENT_TYPES, EventModel
from app.services.events import (
    history_types,
    position_cursor,
    readable_types,
    require_record_or_past,
    require_resumable,
)
from db import Database
from db import events as sql

# Events per statement while replaying.
REPLAY_PAGE = 500

Replay = Callable[[int], Awaitable[Sequence[EventModel]]]


@dataclass(frozen=True)
class Spec:
    """A subscription's filter (`accepts`, applied to live and replayed events alike) and how to
    read a page of candidates after a position from the log (`replay`)."""

    accepts: Callable[[EventModel], bool]
    replay: Replay
    # The records whose events alone it accepts (the hub routes by them), or None.
    records: frozenset[uuid.UUID] | None = None


async def record_changed(db: Database, principal: Principal, record_id: str) -> Spec:
    """A record's own events, and its relations' from either side when the token reads
    relations (as Record.history)."""
    principal.require(RECORDS_READ)
    uid = ids.decode(ids.Kind.RECORD, record_id)
    loc = principal.location_id
    visible = frozenset(history_types(principal))
    await require_record_or_past(db, principal, uid, record_id)

    def accepts(e: EventModel) -> bool:
        return e.type in visible and uid in (e.record_id, e.first_record_id, e.second_record_id)

    async def replay(after: int) -> list[EventModel]:
        rows = await sql.record_histories(
            db, loc, [uid], after=after, limit=REPLAY_PAGE, types=sorted(visible)
        )
        return [EventModel.from_row(r) for r in rows]

    return Spec(accepts, replay, frozenset({uid}))


async def relation_events(
    db: Database, principal: Principal, association_key: str | None, object_key: str | None
) -> Spec:
    """Relations created and deleted, of one association (by key) and/or with one object on
    either side."""
    principal.require(RELATIONS_READ)
    loc = principal.location_id
    key = None if object_key is None else validation.normalize_object_key(object_key)
    types = [t for t in EVENT_TYPES if t.startswith("RELATION_")]

    def accepts(e: EventModel) -> bool:
        return (
            e.type in types
            and (association_key is None or e.association_key == association_key)
            and (key is None or key in (e.first_object_key, e.second_object_key))
        )

    async def replay(after: int) -> list[EventModel]:
        rows = await sql.list_events(
            db, loc, after=after, limit=REPLAY_PAGE, types=types, object_key=key
        )
        return [EventModel.from_row(r) for r in rows]

    return Spec(accepts, replay)


async def location_events(db: Database, principal: Principal, types: Sequence[str] | None) -> Spec:
    """The location's whole log (admin), filtered to the kinds the token's scopes read."""
    if not principal.is_admin:
        raise Forbidden("only an admin token may read the location's events", role="admin")
    visible = readable_types(principal, types)
    loc = principal.location_id

    def accepts(e: EventModel) -> bool:
        return e.type in visible

    async def replay(after: int) -> list[EventModel]:
        if not visible:
            return []
        rows = await sql.list_events(db, loc, after=after, limit=REPLAY_PAGE, types=visible)
        return [EventModel.from_row(r) for r in rows]

    return Spec(accepts, replay)


async def resume_from(db: Database, principal: Principal, after: str | None) -> int | None:
    """The position to replay after (None: live only), refused when its successors were
    pruned. Checked before the stream starts, so that a refusal is the subscription's error."""
    start = None if after is None else position_cursor(after)
    if start:
        await require_resumable(db, principal.location_id, start)
    return start


async def stream(
    hub: Hub,
    principal: Principal,
    token: str,
    spec: Spec,
    start: int | None,
) -> AsyncIterator[EventModel]:
    """Replay after `start` (when given), then live events, each position once, in order."""
    subscriber = await hub.subscribe(principal, token, spec.accepts, spec.records)
    try:
        last = subscriber.live_from if start is None else start
        if start is not None:
            cursor = start
            while page := await spec.replay(cursor):
                for event in page:
                    cursor = max(cursor, event.position)
                    if spec.accepts(event) and event.position > last:
                        last = event.position
                        yield event
        while True:
            event = await subscriber.next()
            if event.position > last:
                last = event.position
                yield event
    finally:
        hub.unsubscribe(subscriber)
