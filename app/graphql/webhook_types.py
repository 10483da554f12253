"""GraphQL types of webhooks (admin only): the endpoints, their delivery log, and the inputs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.graphql import registry
from app.graphql.context import Info
from app.graphql.enums import EventType
from app.graphql.types import Node, PageInfo, page_info
from app.models import Page
from app.services import webhooks as service
from app.webhooks.models import MAX_URL, MAX_WEBHOOKS, DeliveryModel, WebhookModel


@strawberry.enum(
    description="PENDING: not delivered yet (being sent, or waiting for its next attempt);"
    " DELIVERED: the endpoint answered 2xx; DEAD: every attempt failed (`redeliver` sends it"
    " again)."
)
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@strawberry.type(description="One event sent (or to be sent) to one webhook.")
class WebhookDelivery:
    event_id: strawberry.ID = strawberry.field(
        description="The event's id: the `webhook-id` header and the body's `id`."
    )
    event_type: EventType
    status: WebhookDeliveryStatus
    attempts: int = strawberry.field(description="Attempts made (redeliver starts again at 0).")
    last_status_code: int | None = strawberry.field(
        description="The HTTP status of the last attempt; null when none answered (timeout,"
        " connection refused, refused address)."
    )
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed (null after a success)."
    )
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When a pending delivery is tried next; null once delivered or dead."
    )
    created_at: datetime

    @classmethod
    def from_model(cls, m: DeliveryModel) -> WebhookDelivery:
        return cls(
            event_id=strawberry.ID(m.event_id),
            event_type=EventType(m.event_type),
            status=WebhookDeliveryStatus(m.status),
            attempts=m.attempts,
            last_status_code=m.last_status_code,
            last_error=m.last_error,
            last_attempt_at=m.last_attempt_at,
            next_attempt_at=m.next_attempt_at,
            created_at=m.created_at,
        )


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page) -> WebhookDeliveryConnection:
        edges = [
            WebhookDeliveryEdge(cursor=m.cursor, node=WebhookDelivery.from_model(m))
            for m in page.items
        ]
        return cls(edges=edges, page_info=page_info([e.cursor for e in edges], page))


_WEBHOOK = registry.WEBHOOK_LEAVES


@strawberry.type(
    description="An endpoint that receives the location's change events, signed per Standard"
    f" Webhooks (admin only; at most {MAX_WEBHOOKS} per location)."
)
class Webhook(Node):
    id: strawberry.ID = registry.field(_WEBHOOK, "id")
    url: str = registry.field(_WEBHOOK, "url")
    event_types: list[EventType] = registry.field(_WEBHOOK, "eventTypes", "The events it receives.")
    object_key: str | None = registry.field(
        _WEBHOOK,
        "objectKey",
        "When set, only events of this object's records, relations with a record of it on"
        " either side, and the object's own changes (and of associations between it and"
        " another object).",
    )
    active: bool = registry.field(
        _WEBHOOK,
        "active",
        "An inactive webhook receives nothing; turned back on, it receives the events from"
        " then on.",
    )
    created_at: datetime = registry.field(_WEBHOOK, "createdAt")
    updated_at: datetime = registry.field(_WEBHOOK, "updatedAt")
    model: strawberry.Private[WebhookModel]

    @strawberry.field(  # type: ignore[untyped-decorator]  # strawberry's overloads
        description="Its deliveries, newest event first: `after` a cursor, the older ones."
    )
    async def deliveries(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> WebhookDeliveryConnection:
        ctx = info.context
        page = await service.list_deliveries(
            ctx.db, ctx.principal, self.model.uid, first=first, after=after
        )
        return WebhookDeliveryConnection.from_page(page)

    @classmethod
    def from_model(cls, m: WebhookModel) -> Webhook:
        return cls(model=m)


@strawberry.type
class CreateWebhookPayload:
    webhook: Webhook
    secret: str = strawberry.field(
        description="The signing secret (`whsec_` + base64): shown this once, never again."
        " Verify `webhook-signature` with it (Standard Webhooks)."
    )


@strawberry.type
class DeleteWebhookPayload:
    deleted_id: strawberry.ID


@strawberry.input
class CreateWebhookInput:
    url: str = strawberry.field(
        description=f"http(s), at most {MAX_URL} characters; a host with a private, loopback or"
        " link-local address is refused (unless the server allows them)."
    )
    event_types: list[EventType] | None = strawberry.field(
        default=None, description="The events to receive; omitted or null: every type."
    )
    object_key: str | None = strawberry.field(
        default=None, description="Only events of this object (see Webhook.objectKey)."
    )


@strawberry.input
class UpdateWebhookInput:
    id: strawberry.ID
    url: str | None = strawberry.UNSET
    event_types: list[EventType] | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
