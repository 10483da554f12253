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


def _answer(info: Info, linked: list[service.Linked]) -> list[Relation]:
    # The associations checked while linking answer `association` below, so it cannot miss one
    # deleted since (the field still checks the scope that reads associations).
    for x in linked:
        info.context.loaders.associations.prime(x.association.uid, x.association)
    return [Relation.from_model(x.relation) for x in linked]


async def create_relation(info: Info, input: CreateRelationInput) -> Relation:
    ctx = info.context
    linked = await service.create_linked(ctx.db, ctx.principal, [_as_service_input(input)])
    return _answer(info, linked)[0]


async def create_relations(info: Info, input: list[CreateRelationInput]) -> list[Relation]:
    ctx = info.context
    linked = await service.create_linked(
        ctx.db, ctx.principal, [_as_service_input(i) for i in input], field="input"
    )
    return _answer(info, linked)


async def delete_relation(info: Info, id: strawberry.ID) -> DeleteRelationPayload:
    ctx = info.context
    (removed,) = await service.delete_relations(ctx.db, ctx.principal, [id])
    return DeleteRelationPayload(
        deleted_id=id,
        first_record_id=strawberry.ID(removed.first_record_id),
        second_record_id=strawberry.ID(removed.second_record_id),
    )


async def delete_relations(info: Info, ids: list[strawberry.ID]) -> DeleteRelationsPayload:
    ctx = info.context
    deleted = await service.delete_relations(ctx.db, ctx.principal, list(ids))
    return DeleteRelationsPayload(
        deleted_ids=[strawberry.ID(r.id) for r in deleted], count=len(deleted)
    )
