from __future__ import annotations

import strawberry

from app.graphql.context import Info
from app.graphql.types import (
    CreateRelationInput,
    DeleteRelationPayload,
    DeleteRelationsPayload,
    Relation,
)
from app.services import relations as service


def _as_service_input(item: CreateRelationInput) -> service.RelationInput:
    return service.RelationInput(
        association_id=item.association_id,
        first_record_id=item.first_record_id,
        second_record_id=item.second_record_id,
    )


async def create_relation(info: Info, input: CreateRelationInput) -> Relation:
    ctx = info.context
    model = await service.create_relation(ctx.db, ctx.principal, _as_service_input(input))
    return Relation.from_model(model)


async def create_relations(info: Info, input: list[CreateRelationInput]) -> list[Relation]:
    ctx = info.context
    models = await service.create_relations(
        ctx.db, ctx.principal, [_as_service_input(i) for i in input], field="input"
    )
    return [Relation.from_model(m) for m in models]


async def delete_relation(info: Info, id: strawberry.ID) -> DeleteRelationPayload:
    ctx = info.context
    await service.delete_relations(ctx.db, ctx.principal, [id])
    return DeleteRelationPayload(deleted_id=id)


async def delete_relations(info: Info, ids: list[strawberry.ID]) -> DeleteRelationsPayload:
    ctx = info.context
    deleted = await service.delete_relations(ctx.db, ctx.principal, list(ids))
    return DeleteRelationsPayload(
        deleted_ids=[strawberry.ID(i) for i in deleted], count=len(deleted)
    )
