from __future__ import annotations

from app.graphql.context import Info
from app.graphql.enums import EventType
from app.graphql.types import EventConnection
from app.services import events as service


async def events(
    info: Info,
    first: int | None = 50,
    after: str | None = None,
    types: list[EventType] | None = None,
    object_key: str | None = None,
) -> EventConnection:
    """The location's changes after the position `after`, oldest first (admin tokens). Resuming
    from a position whose successors were pruned is refused, never silently skipped."""
    ctx = info.context
    page = await service.list_events(
        ctx.db,
        ctx.principal,
        first=first,
        after=after,
        types=None if types is None else [t.value for t in types],
        object_key=object_key,
    )
    return EventConnection.from_page(page)
