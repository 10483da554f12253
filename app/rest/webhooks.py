"""Webhooks over REST (admin only): `/webhooks` and their delivery log, over the same service as
GraphQL. Event types may be given as GraphQL names (`RELATION_CREATE`) or HighLevel's
(`RelationCreate`); answers use the GraphQL names, in `eventTypes`."""

from __future__ import annotations

from typing import Any

from app.models import webhook_event_name
from app.rest.base import Call
from app.rest.bodies import WebhookCreate, WebhookUpdate
from app.rest.shapes import (
    Deleted,
    DeliveryPage,
    Webhook,
    WebhookCreated,
    WebhookDelivery,
    WebhookList,
    WrappedDelivery,
    WrappedWebhook,
)
from app.services import webhooks as service
from app.webhooks.models import DeliveryModel, WebhookModel


def webhook_json(w: WebhookModel) -> Webhook:
    return {
        "id": w.id,
        "locationId": w.location_id,
        "url": w.url,
        "eventTypes": w.event_types,
        "events": [webhook_event_name(t) for t in w.event_types],
        "objectKey": w.object_key,
        "active": w.active,
        "createdAt": w.created_at,
        "updatedAt": w.updated_at,
        "dateAdded": w.created_at,
        "dateUpdated": w.updated_at,
    }


def delivery_json(d: DeliveryModel) -> WebhookDelivery:
    return {
        "webhookId": d.webhook_id,
        "eventId": d.event_id,
        "eventType": d.event_type,
        "status": d.status.upper(),
        "attempts": d.attempts,
        "lastStatusCode": d.last_status_code,
        "lastError": d.last_error,
        "lastAttemptAt": d.last_attempt_at,
        "nextAttemptAt": d.next_attempt_at,
        "createdAt": d.created_at,
        "cursor": d.cursor,
    }


async def create(call: Call[WebhookCreate]) -> WebhookCreated:
    body = call.body
    created, secret = await service.create_webhook(
        call.db,
        call.principal,
        url=body.url,
        event_types=body.eventTypes,
        object_key=body.objectKey,
        allow_private=call.settings.webhook_allow_private,
    )
    return {"webhook": webhook_json(created), "secret": secret}


async def list_all(call: Call[None]) -> WebhookList:
    hooks = await service.list_webhooks(call.db, call.principal)
    return {"webhooks": [webhook_json(w) for w in hooks], "total": len(hooks)}


async def get(call: Call[None]) -> WrappedWebhook:
    found = await service.get_webhook(call.db, call.principal, call.path("webhookId"))
    return {"webhook": webhook_json(found)}


async def update(call: Call[WebhookUpdate]) -> WrappedWebhook:
    changes: dict[str, Any] = call.body.given("url", "active")
    if "eventTypes" in call.body.model_fields_set:
        changes["event_types"] = call.body.eventTypes
    updated = await service.update_webhook(
        call.db,
        call.principal,
        call.path("webhookId"),
        allow_private=call.settings.webhook_allow_private,
        **changes,
    )
    return {"webhook": webhook_json(updated)}


async def delete(call: Call[None]) -> Deleted:
    webhook_id = call.path("webhookId")
    await service.delete_webhook(call.db, call.principal, webhook_id)
    return {"deleted": True, "id": webhook_id, "message": "Webhook deleted"}


async def deliveries(call: Call[None]) -> DeliveryPage:
    page = await service.list_webhook_deliveries(
        call.db,
        call.principal,
        call.path("webhookId"),
        first=call.query_int("limit"),
        after=call.query("after"),
    )
    items = [delivery_json(d) for d in page.items]
    return {
        "deliveries": items,
        "hasMore": page.has_next,
        "nextCursor": items[-1]["cursor"] if items and page.has_next else None,
    }


async def redeliver(call: Call[None]) -> WrappedDelivery:
    delivery = await service.redeliver(
        call.db, call.principal, call.path("webhookId"), call.path("eventId")
    )
    return {"delivery": delivery_json(delivery)}
