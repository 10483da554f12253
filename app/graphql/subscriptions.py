"""`type Subscription`: live change events over graphql-transport-ws and GraphQL over SSE,
resumable with `after` (app/live/streams.py). The same Event as history."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import strawberry

from app.auth import bearer_token
from app.errors import ServiceUnavailable
from app.graphql.context import Info
from app.graphql.enums import EventType
from app.graphql.types import Event
from app.live import streams
from app.live.hub import Hub
from app.models import EventModel

# Where the WebSocket handler keeps the token it authenticated at connection_init (SSE requests
# carry theirs in the Authorization header).
TOKEN_SCOPE_KEY = "relata.token"

AFTER = (
    "A position already seen (an event's `position`): the events after it are replayed from the"
    " log first, then live ones follow, with no gap and no duplicate. Omit it to start with the"
    " next change. A position whose successors were pruned is refused (BAD_USER_INPUT)."
)


def _live(info: Info) -> tuple[Hub, str]:
    request = info.context.request
    hub: Hub | None = getattr(request.app.state, "hub", None)
    if hub is None:
        raise ServiceUnavailable("live updates are not running on this server process")
    token = request.scope.get(TOKEN_SCOPE_KEY) or bearer_token(request.headers.get("authorization"))
    return hub, token


async def _events(info: Info, spec: streams.Spec, after: str | None) -> AsyncGenerator[Event, None]:
    """Checks what can be refused before the stream starts (so the refusal is this field's
    error, with its path), then the stream."""
    hub, token = _live(info)
    ctx = info.context
    start = await streams.resume_from(ctx.db, ctx.principal, after)
    return _delivered(streams.stream(hub, ctx.principal, token, spec, start))


async def _delivered(source: AsyncIterator[EventModel]) -> AsyncGenerator[Event, None]:
    try:
        async for model in source:
            yield Event.from_model(model)
    finally:
        await source.aclose()  # type: ignore[attr-defined]


async def record_changed(
    info: Info, id: strawberry.ID, after: str | None = None
) -> AsyncGenerator[Event, None]:
    spec = await streams.record_changed(info.context.db, info.context.principal, id)
    return await _events(info, spec, after)


async def relation_events(
    info: Info,
    association_key: str | None = None,
    object_key: str | None = None,
    after: str | None = None,
) -> AsyncGenerator[Event, None]:
    spec = await streams.relation_events(
        info.context.db, info.context.principal, association_key, object_key
    )
    return await _events(info, spec, after)


async def events(
    info: Info, types: list[EventType] | None = None, after: str | None = None
) -> AsyncGenerator[Event, None]:
    spec = await streams.location_events(
        info.context.db,
        info.context.principal,
        None if types is None else [t.value for t in types],
    )
    return await _events(info, spec, after)


@strawberry.type
class Subscription:
    record_changed: AsyncGenerator[Event, None] = strawberry.subscription(
        resolver=record_changed,
        description="A record's changes as they commit: its own events (objects/record.readonly)"
        " and, with associations/relation.readonly, relations linked to or unlinked from it"
        " on either side, with the association's labels. " + AFTER,
    )
    relation_events: AsyncGenerator[Event, None] = strawberry.subscription(
        resolver=relation_events,
        description="Relations created and deleted (associations/relation.readonly), of the"
        " association with this key and/or with a record of this object on either side. " + AFTER,
    )
    events: AsyncGenerator[Event, None] = strawberry.subscription(
        resolver=events,
        description="The location's change log as it commits (admin tokens), of the kinds the"
        " token's scopes read, optionally only some types. " + AFTER,
    )
