from __future__ import annotations

from app.graphql.context import Info
from app.graphql.types import CreateObjectSchemaInput, ObjectSchema
from app.services import objects as service


async def object_schemas(info: Info) -> list[ObjectSchema]:
    ctx = info.context
    return [
        ObjectSchema.from_model(m) for m in await service.list_object_schemas(ctx.db, ctx.principal)
    ]


async def object_schema(info: Info, key: str) -> ObjectSchema | None:
    ctx = info.context
    return ObjectSchema.from_model(await service.get_object_schema(ctx.db, ctx.principal, key))


async def create_object_schema(info: Info, input: CreateObjectSchemaInput) -> ObjectSchema:
    ctx = info.context
    model = await service.create_object_schema(
        ctx.db,
        ctx.principal,
        key=input.key,
        singular=input.labels.singular,
        plural=input.labels.plural,
        description=input.description,
        primary_display_property=input.primary_display_property,
    )
    return ObjectSchema.from_model(model)
