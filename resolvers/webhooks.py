from __future__ import annotations

import strawberry

from app.graphql.context import Info
from app.graphql.webhook_types import (
    CreateWebhookInput,
    CreateWebhookPayload,
    DeleteWebhookPayload,
    UpdateWebhookInput,
    Webhook,
    WebhookDelivery,
)
from app.services import webhooks as service


async def webhooks(info: Info) -> list[Webhook]:
    ctx = info.context
    return [Webhook.from_model(m) for m in await service.list_webhooks(ctx.db, ctx.principal)]


async def create_webhook(info: Info, input: CreateWebhookInput) -> CreateWebhookPayload:
    ctx = info.context
    model, secret = await service.create_webhook(
        ctx.db,
        ctx.principal,
        url=input.url,
        event_types=input.event_types,
        object_key=input.object_key,
        allow_private=ctx.settings.webhook_allow_private,
    )
    return CreateWebhookPayload(webhook=Webhook.from_model(model), secret=secret)


async def update_webhook(info: Info, input: UpdateWebhookInput) -> Webhook:
    ctx = info.context
    changes = {
        name: getattr(input, name)
        for name in ("url", "event_types", "active")
        if getattr(input, name) is not strawberry.UNSET
    }
    model = await service.update_webhook(
        ctx.db,
        ctx.principal,
        input.id,
        allow_private=ctx.settings.webhook_allow_private,
        **changes,
    )
    return Webhook.from_model(model)


async def delete_webhook(info: Info, id: strawberry.ID) -> DeleteWebhookPayload:
    ctx = info.context
    await service.delete_webhook(ctx.db, ctx.principal, id)
    return DeleteWebhookPayload(deleted_id=id)


async def redeliver(
    info: Info, webhook_id: strawberry.ID, event_id: strawberry.ID
) -> WebhookDelivery:
    ctx = info.context
    model = await service.redeliver(ctx.db, ctx.principal, webhook_id, event_id)
    return WebhookDelivery.from_model(model)
