from __future__ import annotations

import strawberry

from app import ids
from app.auth import SCHEMA_READ
from app.errors import BadUserInput, NotFound
from app.graphql.context import Info
from app.graphql.types import (
    Association,
    Location,
    Node,
    ObjectSchema,
    Relation,
    Role,
    Viewer,
    record_from_model,
)
from app.models import ObjectSchemaModel
from app.services import associations as association_service
from app.services import objects as object_service
from app.services import records as record_service
from app.services import relations as relation_service
from db import locations as location_sql
from db import objects as object_sql


async def viewer(info: Info) -> Viewer:
    ctx = info.context
    p = ctx.principal
    name = await location_sql.location_name(ctx.db, p.location_id)
    return Viewer(
        location=Location(id=strawberry.ID(p.location_id), name=name or ""),
        role=Role(p.role),
        scopes=sorted(p.scopes),
    )


async def node(info: Info, id: strawberry.ID) -> Node:
    ctx = info.context
    kind, uid = ids.try_decode_any(id)
    if kind is None or uid is None:
        raise BadUserInput(f"id {id!r} is not a valid id", field="id")
    if kind is ids.Kind.RECORD:
        return record_from_model(await record_service.get_record(ctx.db, ctx.principal, id))
    if kind is ids.Kind.ASSOCIATION:
        model = await association_service.get_association(ctx.db, ctx.principal, id)
        return Association.from_model(model)
    if kind is ids.Kind.RELATION:
        (relation,) = await relation_service.get_relations(ctx.db, ctx.principal, [id])
        return Relation.from_model(relation)
    ctx.principal.require(SCHEMA_READ)
    row = await object_sql.get_object_by_id(ctx.db, ctx.principal.location_id, uid)
    if row is None:
        raise NotFound(f"no object with id {id!r}", id=id)
    return ObjectSchema.from_model(ObjectSchemaModel.from_row(row))


__all__ = ["viewer", "node", "object_service"]
