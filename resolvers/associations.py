from __future__ import annotations

import strawberry

from app.graphql.context import Info
from app.graphql.types import (
    Association,
    CreateAssociationInput,
    DeleteAssociationPayload,
    UpdateAssociationInput,
)
from app.services import associations as service


async def associations(info: Info, object_key: str | None = None) -> list[Association]:
    ctx = info.context
    models = await service.list_associations(ctx.db, ctx.principal, object_key)
    return [Association.from_model(m) for m in models]


async def association(info: Info, id: strawberry.ID) -> Association | None:
    ctx = info.context
    return Association.from_model(await service.get_association(ctx.db, ctx.principal, id))


async def association_by_key(info: Info, key: str) -> Association | None:
    ctx = info.context
    return Association.from_model(await service.get_association_by_key(ctx.db, ctx.principal, key))


async def create_association(info: Info, input: CreateAssociationInput) -> Association:
    ctx = info.context
    model = await service.create_association(
        ctx.db,
        ctx.principal,
        key=input.key,
        first_object_key=input.first_object_key,
        second_object_key=input.second_object_key,
        first_object_label=input.first_object_label,
        second_object_label=input.second_object_label,
        cardinality=None if input.cardinality is None else input.cardinality.value,
        first_to_second_limit=input.first_to_second_limit,
        second_to_first_limit=input.second_to_first_limit,
        description=input.description,
    )
    return Association.from_model(model)


async def update_association(info: Info, input: UpdateAssociationInput) -> Association:
    ctx = info.context
    changes = {
        name: getattr(input, name)
        for name in ("first_object_label", "second_object_label", "description")
        if getattr(input, name) is not strawberry.UNSET
    }
    model = await service.update_association(ctx.db, ctx.principal, input.id, **changes)
    return Association.from_model(model)


async def delete_association(
    info: Info, id: strawberry.ID, cascade: bool = False
) -> DeleteAssociationPayload:
    ctx = info.context
    removed = await service.delete_association(ctx.db, ctx.principal, id, cascade=cascade)
    return DeleteAssociationPayload(deleted_id=id, deleted_relation_count=removed)
