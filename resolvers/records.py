from __future__ import annotations

import strawberry

from app.graphql import reads
from app.graphql.context import Info
from app.graphql.lookahead import arguments, selects_field
from app.graphql.types import (
    CreateRecordInput,
    DeleteRecordPayload,
    Record,
    RecordConnection,
    RelatedToInput,
    UpdateRecordInput,
    record_from_model,
)
from app.services import records as service


async def record(info: Info, id: strawberry.ID) -> Record | None:
    ctx = info.context
    return record_from_model(await service.get_record(ctx.db, ctx.principal, id))


async def records(
    info: Info,
    object_key: str,
    first: int | None = 50,
    after: str | None = None,
    query: str | None = None,
    related_to: RelatedToInput | None = None,
    last: int | None = None,
    before: str | None = None,
) -> RecordConnection:
    ctx = info.context
    page = await reads.record_page(
        ctx.db, ctx.principal, arguments(info), with_total=selects_field(info, "totalCount")
    )
    return RecordConnection.from_page(page)


async def create_record(info: Info, input: CreateRecordInput) -> Record:
    ctx = info.context
    model = await service.create_record(
        ctx.db,
        ctx.principal,
        input.object_key,
        input.properties,
        max_bytes=ctx.settings.max_record_bytes,
    )
    return record_from_model(model)


async def update_record(info: Info, input: UpdateRecordInput) -> Record:
    ctx = info.context
    model = await service.update_record(
        ctx.db, ctx.principal, input.id, input.properties, max_bytes=ctx.settings.max_record_bytes
    )
    return record_from_model(model)


async def delete_record(info: Info, id: strawberry.ID) -> DeleteRecordPayload:
    ctx = info.context
    removed = await service.delete_record(ctx.db, ctx.principal, id)
    return DeleteRecordPayload(deleted_id=id, deleted_relation_count=removed)
