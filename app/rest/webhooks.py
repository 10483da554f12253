"""Webhooks over REST (admin only): `/webhooks` and their delivery log, over the same service as
GraphQL. Event types may be given as GraphQL names (`RELATION_CREATE`) or HighLevel's
(`RelationCreate`); answers use the GraphQL names, in `eventTypes`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.errors import BadUserInput
from app.models import webhook_event_name
from app.rest.base import Body, Call, accepts, json_response
from app.services import webhooks as service
from app.webhooks.models import DeliveryModel, WebhookModel

_UNCHANGEABLE = ("objectKey", "secret", "id")


def webhook_json(w: WebhookModel) -> dict[str, Any]:
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


def delivery_json(d: DeliveryModel) -> dict[str, Any]:
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


def _types(body: Body) -> Any:
    value = body.get("eventTypes")
    if value is not None and not isinstance(value, list):
        raise BadUserInput("eventTypes must be a JSON array of event types", field="eventTypes")
    return value


async def create(call: Call) -> Response:
    body = await call.body()
    call.check_location(body)
    created, secret = await service.create_webhook(
        call.db,
        call.principal,
        url=body.get("url"),
        event_types=_types(body),
        object_key=body.get("objectKey"),
        allow_private=call.settings.webhook_allow_private,
    )
    return json_response({"webhook": webhook_json(created), "secret": secret}, 201)


async def list_all(call: Call) -> Response:
    call.check_location()
    hooks = await service.list_webhooks(call.db, call.principal)
    return json_response({"webhooks": [webhook_json(w) for w in hooks], "total": len(hooks)})


async def get(call: Call) -> Response:
    call.check_location()
    found = await service.get_webhook(call.db, call.principal, call.path("webhookId"))
    return json_response({"webhook": webhook_json(found)})


async def update(call: Call) -> Response:
    body = await call.body()
    call.check_location(body)
    for name in _UNCHANGEABLE:
        if name in body:
            raise BadUserInput(
                f"{name} cannot be changed: only url, eventTypes and active can (create another"
                " webhook for another object)",
                field=name,
            )
    changes: dict[str, Any] = {}
    if "url" in body:
        changes["url"] = body.get("url")
    if "eventTypes" in body:
        changes["event_types"] = _types(body)
    if "active" in body:
        changes["active"] = body.get("active")
    updated = await service.update_webhook(
        call.db,
        call.principal,
        call.path("webhookId"),
        allow_private=call.settings.webhook_allow_private,
        **changes,
    )
    return json_response({"webhook": webhook_json(updated)})


async def delete(call: Call) -> Response:
    call.check_location()
    webhook_id = call.path("webhookId")
    await service.delete_webhook(call.db, call.principal, webhook_id)
    return json_response({"deleted": True, "id": webhook_id, "message": "Webhook deleted"})


@accepts("limit", "after")
async def deliveries(call: Call) -> Response:
    call.check_location()
    page = await service.list_webhook_deliveries(
        call.db,
        call.principal,
        call.path("webhookId"),
        first=call.query_int("limit"),
        after=call.query("after"),
    )
    items = [delivery_json(d) for d in page.items]
    return json_response(
        {
            "deliveries": items,
            "hasMore": page.has_next,
            "nextCursor": items[-1]["cursor"] if items and page.has_next else None,
        }
    )


async def redeliver(call: Call) -> Response:
    call.check_location()
    delivery = await service.redeliver(
        call.db, call.principal, call.path("webhookId"), call.path("eventId")
    )
    return json_response({"delivery": delivery_json(delivery)})
