from __future__ import annotations

import strawberry

from app import ids
from app.errors import BadUserInput, NotFound
from app.graphql.context import Info
from app.graphql.types import (
    Association,
    Event,
    Location,
    Node,
    ObjectSchema,
    Relation,
    Role,
    Viewer,
    record_from_model,
)
from app.services import associations as association_service
from app.services import events as event_service
from app.services import locations as location_service
from app.services import objects as object_service
from app.services import records as record_service
from app.services import relations as relation_service


async def viewer(info: Info) -> Viewer:
    ctx = info.context
    p = ctx.principal
    name = await location_service.location_name(ctx.db, p)
    return Viewer(
        location=Location.of(p.location_id, name),
        role=Role(p.role),
        scopes=sorted(p.scopes),
    )


async def node(info: Info, id: strawberry.ID) -> Node | None:
    ctx = info.context
    kind, uid = ids.try_decode_any(id)
    if kind is None or uid is None:
        raise BadUserInput(f"id {id!r} is not a valid id", field="id")
    if kind is ids.Kind.LOCATION:
        # Only the token's own location: another's id reads exactly like an unknown one.
        if id != ids.encode_location(ctx.principal.location_id):
            raise NotFound(f"no location with id {id!r}", id=id)
        name = await location_service.location_name(ctx.db, ctx.principal)
        return Location.of(ctx.principal.location_id, name)
    if kind is ids.Kind.RECORD:
        return record_from_model(await record_service.get_record(ctx.db, ctx.principal, id))
    if kind is ids.Kind.ASSOCIATION:
        association = await association_service.get_association(ctx.db, ctx.principal, id)
        return Association.from_model(association)
    if kind is ids.Kind.RELATION:
        (relation,) = await relation_service.get_relations(ctx.db, ctx.principal, [id])
        return Relation.from_model(relation)
    if kind is ids.Kind.WEBHOOK:
        from app.graphql.webhook_types import Webhook
        from app.services import webhooks as webhook_service

        return Webhook.from_model(await webhook_service.get_webhook(ctx.db, ctx.principal, id))
    if kind is ids.Kind.EVENT:
        return Event.from_model(await event_service.get_event(ctx.db, ctx.principal, id))
    if kind is ids.Kind.OBJECT:
        schema = await object_service.get_object_schema_by_id(ctx.db, ctx.principal, id)
        return ObjectSchema.from_model(schema)
    raise NotFound(f"no node with id {id!r}", id=id)
