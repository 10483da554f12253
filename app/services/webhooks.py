"""Webhooks (admin only): register, change and remove endpoints, read their delivery log, send an
event again. The worker (app.webhooks.worker) does the sending."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from app import ids, validation
from app.access import require_read
from app.auth import Principal
from app.errors import BadUserInput, Forbidden, LimitExceeded, NotFound
from app.models import EVENT_TYPES, Page, webhook_event_name
from app.services.objects import require_object
from app.services.transactions import in_transaction
from app.webhooks.models import (
    MAX_WEBHOOKS,
    DeliveryModel,
    WebhookModel,
    ordering_keys,
    subscribes,
)
from app.webhooks.signing import new_secret
from app.webhooks.urls import validate_url
from db import Database
from db import events as event_sql
from db import locations as location_sql
from db import webhooks as sql

_UNSET: Any = object()
# The entity whose read scope a token needs to subscribe to each kind of event.
_KIND_OF_EVENT = {
    "RECORD": ids.Kind.RECORD,
    "OBJECT": ids.Kind.OBJECT,
    "ASSOCIATION": ids.Kind.ASSOCIATION,
    "RELATION": ids.Kind.RELATION,
}
# HighLevel's names (`RelationCreate`) are accepted beside ours (`RELATION_CREATE`).
_BY_WEBHOOK_NAME = {webhook_event_name(t): t for t in EVENT_TYPES}


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only an admin token may manage webhooks", role="admin")


def subscribed_types(principal: Principal, raw: Any, *, field: str = "eventTypes") -> list[str]:
    """The event types a webhook subscribes to (None: every type), each one the token may
    read (FORBIDDEN naming the scope otherwise), in the canonical order."""
    if raw is None:
        wanted = list(EVENT_TYPES)
    else:
        if not isinstance(raw, list | tuple) or not raw:
            raise BadUserInput(
                f"{field} must list one or more event types, or be left out for all of them",
                field=field,
            )
        wanted = []
        for item in raw:
            value = getattr(item, "value", item)  # a GraphQL enum member
            name = None
            if isinstance(value, str):
                name = value if value in EVENT_TYPES else _BY_WEBHOOK_NAME.get(value)
            if name is None:
                raise BadUserInput(
                    f"{field}: unknown event type {value!r}; known: {', '.join(EVENT_TYPES)}",
                    field=field,
                )
            wanted.append(name)
    for t in wanted:
        require_read(principal, _KIND_OF_EVENT[t.split("_", 1)[0]])
    return [t for t in EVENT_TYPES if t in set(wanted)]


def _decode_webhook(webhook_id: str, field: str = "id") -> uuid.UUID:
    return ids.decode(ids.Kind.WEBHOOK, webhook_id, field=field)


def webhook_not_found(webhook_id: str) -> NotFound:
    return NotFound(f"no webhook with id {webhook_id!r}", id=webhook_id)


async def create_webhook(
    db: Database,
    principal: Principal,
    *,
    url: Any,
    event_types: Any = None,
    object_key: Any = None,
    allow_private: bool = False,
) -> tuple[WebhookModel, str]:
    """Register an endpoint; returns it and its signing secret (shown this once)."""
    types = subscribed_types(principal, event_types)
    _require_admin(principal)
    target = await validate_url(url, allow_private=allow_private)
    location = principal.location_id
    key = None
    if object_key is not None:
        key = (await require_object(db, location, object_key)).key
    secret = new_secret()

    async def work(conn: asyncpg.Connection) -> WebhookModel:
        # The location's row lock serialises its webhook changes, so the cap holds under any
        # concurrency (and across a Citus cluster).
        await location_sql.lock_location(conn, location)
        if await sql.count_webhooks(conn, location) >= MAX_WEBHOOKS:
            raise LimitExceeded(
                f"this location already has {MAX_WEBHOOKS} webhooks, the most one location may"
                " have; delete one that is no longer used",
                limit=MAX_WEBHOOKS,
                limitName="webhooksPerLocation",
            )
        row = await sql.insert_webhook(
            conn,
            location,
            url=target,
            event_types=types,
            object_key=key,
            secret=secret,
            scanned_position=await event_sql.last_position(conn, location),
        )
        await sql.add_webhook_location(conn, location)
        return WebhookModel.from_row(row)

    return await in_transaction(db, work), secret


async def list_webhooks(db: Database, principal: Principal) -> list[WebhookModel]:
    _require_admin(principal)
    return [WebhookModel.from_row(r) for r in await sql.list_webhooks(db, principal.location_id)]


async def get_webhook(db: Database, principal: Principal, webhook_id: str) -> WebhookModel:
    _require_admin(principal)
    row = await sql.get_webhook(db, principal.location_id, _decode_webhook(webhook_id))
    if row is None:
        raise webhook_not_found(webhook_id)
    return WebhookModel.from_row(row)


async def update_webhook(
    db: Database,
    principal: Principal,
    webhook_id: str,
    *,
    url: Any = _UNSET,
    event_types: Any = _UNSET,
    active: Any = _UNSET,
    allow_private: bool = False,
) -> WebhookModel:
    """Change what is given. Turning a webhook back on resumes it from now: events that
    happened while it was off are not sent (its pending deliveries from before are)."""
    types = None if event_types is _UNSET else subscribed_types(principal, event_types)
    _require_admin(principal)
    uid = _decode_webhook(webhook_id)
    target = None if url is _UNSET else await validate_url(url, allow_private=allow_private)
    if active is not _UNSET and not isinstance(active, bool):
        raise BadUserInput("active must be true or false", field="active")
    location = principal.location_id

    async def work(conn: asyncpg.Connection) -> WebhookModel:
        current = await sql.get_webhook(conn, location, uid, lock=True)
        if current is None:
            raise webhook_not_found(webhook_id)
        now_active = current["active"] if active is _UNSET else active
        resume = None
        if now_active and not current["active"]:
            resume = await event_sql.last_position(conn, location)
        row = await sql.update_webhook(
            conn,
            location,
            uid,
            url=current["url"] if target is None else target,
            event_types=list(current["event_types"]) if types is None else types,
            active=now_active,
            resume_after=resume,
        )
        assert row is not None
        return WebhookModel.from_row(row)

    return await in_transaction(db, work)


async def delete_webhook(db: Database, principal: Principal, webhook_id: str) -> None:
    """Remove the endpoint and its delivery log; a delivery being sent right now finishes."""
    _require_admin(principal)
    uid = _decode_webhook(webhook_id)
    location = principal.location_id

    async def work(conn: asyncpg.Connection) -> None:
        await location_sql.lock_location(conn, location)
        if not await sql.delete_webhook(conn, location, uid):
            raise webhook_not_found(webhook_id)
        if await sql.count_webhooks(conn, location) == 0:
            await sql.remove_webhook_location(conn, location)

    await in_transaction(db, work)


def _position(after: str | None) -> int | None:
    if after is None:
        return None
    if not isinstance(after, str) or not after.isascii() or not after.isdigit() or len(after) > 18:
        raise BadUserInput(f"after {after!r} is not a delivery cursor", field="after")
    return int(after)


async def list_deliveries(
    db: Database,
    principal: Principal,
    webhook_uid: uuid.UUID,
    *,
    first: int | None,
    after: str | None,
) -> Page:
    """A webhook's deliveries, newest event first; `after` is a delivery's cursor (older ones
    follow it)."""
    _require_admin(principal)
    size = validation.page_size(first)
    before = _position(after)
    rows = await sql.list_deliveries(
        db, principal.location_id, webhook_uid, before=before, limit=size + 1
    )
    return Page(
        items=[DeliveryModel.from_row(r) for r in rows[:size]],
        has_next=len(rows) > size,
        has_previous=before is not None,
    )


async def list_webhook_deliveries(
    db: Database, principal: Principal, webhook_id: str, *, first: int | None, after: str | None
) -> Page:
    """The same for a webhook given by id (REST): NOT_FOUND for one not in this location."""
    hook = await get_webhook(db, principal, webhook_id)
    return await list_deliveries(db, principal, hook.uid, first=first, after=after)


async def redeliver(
    db: Database, principal: Principal, webhook_id: str, event_id: str
) -> DeliveryModel:
    """Send an event to a webhook again: its delivery goes back to pending, due now, with
    attempts counted from 0. An event the webhook subscribes to but never had a delivery for
    (it happened before the webhook existed) gets one. A delivery being sent right now is
    answered as it is."""
    _require_admin(principal)
    wuid = _decode_webhook(webhook_id, "webhookId")
    euid = ids.decode(ids.Kind.EVENT, event_id, field="eventId")
    location = principal.location_id

    async def work(conn: asyncpg.Connection) -> DeliveryModel:
        hook = await sql.get_webhook(conn, location, wuid)
        if hook is None:
            raise webhook_not_found(webhook_id)
        existing = await sql.get_delivery(conn, location, wuid, euid)
        if existing is not None:
            # Sending it again discloses the event: the token must read its kind.
            require_read(principal, _KIND_OF_EVENT[existing["event_type"].split("_", 1)[0]])
            row = await sql.redeliver(conn, location, wuid, euid)
            return DeliveryModel.from_row(row if row is not None else existing)
        events = await event_sql.get_events(conn, location, [euid])
        if not events:
            raise NotFound(f"no event with id {event_id!r}", id=event_id)
        event = events[0]
        require_read(principal, _KIND_OF_EVENT[event["type"].split("_", 1)[0]])
        if not subscribes(list(hook["event_types"]), hook["object_key"], event):
            raise BadUserInput(
                f"webhook {webhook_id} does not subscribe to event {event_id}"
                f" ({event['type']}{'' if hook['object_key'] is None else ' of this object'})",
                field="eventId",
            )
        await sql.insert_deliveries(
            conn,
            location,
            [(wuid, event["position"], event["id"], event["type"], ordering_keys(event))],
        )
        created = await sql.get_delivery(conn, location, wuid, euid)
        assert created is not None
        return DeliveryModel.from_row(created)

    return await in_transaction(db, work)
