"""Object schemas and their records: `/objects/...`."""

from __future__ import annotations

from typing import Any

from app.auth import RECORDS_WRITE
from app.rest import search as record_search
from app.rest.base import Call
from app.rest.bodies import ObjectCreate, ObjectUpdate, RecordCreate, RecordUpdate, Search
from app.rest.serializers import object_json, record_json
from app.rest.shapes import (
    FoundRecord,
    ObjectFound,
    ObjectList,
    RecordDeleted,
    RecordList,
    WrappedObject,
    WrappedRecord,
)
from app.services import objects as object_service
from app.services import records as record_service


async def list_all(call: Call[None]) -> ObjectList:
    items = await object_service.list_object_schemas(call.db, call.principal)
    return {"objects": [object_json(o, call.location) for o in items]}


async def create(call: Call[ObjectCreate]) -> WrappedObject:
    body = call.body
    created = await object_service.create_object_schema(
        call.db,
        call.principal,
        key=body.key,
        singular=body.labels.singular,
        plural=body.labels.plural,
        description=body.description,
        primary_display_property=body.display_property(),
    )
    return {"object": object_json(created, call.location)}


async def get(call: Call[None]) -> ObjectFound:
    found = await object_service.get_object_schema(call.db, call.principal, call.path("key"))
    return {"object": object_json(found, call.location), "cache": False, "fields": []}


async def update(call: Call[ObjectUpdate]) -> WrappedObject:
    body = call.body
    changes: dict[str, Any] = {}
    if body.labels is not None:
        for name in ("singular", "plural"):
            if getattr(body.labels, name) is not None:
                changes[name] = getattr(body.labels, name)
    if "description" in body.model_fields_set:
        changes["description"] = body.description
    primary = body.display_property()
    if primary is not None:
        changes["primary_display_property"] = primary
    updated = await object_service.update_object_schema(
        call.db, call.principal, call.path("key"), **changes
    )
    return {"object": object_json(updated, call.location)}


async def search_records(call: Call[Search]) -> RecordList:
    found = await record_search.search(call, call.path("key"))
    records = [
        FoundRecord(**record_json(r, call.location), searchAfter=after)
        for r, after in zip(found.items, found.after, strict=True)
    ]
    return {"records": records, "total": found.total}


async def create_record(call: Call[RecordCreate]) -> WrappedRecord:
    created = await record_service.create_record(
        call.db,
        call.principal,
        call.path("key"),
        call.body.properties,
        max_bytes=call.settings.max_record_bytes,
    )
    return {"record": record_json(created, call.location)}


async def get_record(call: Call[None]) -> WrappedRecord:
    found = await record_service.get_record_of_object(
        call.db, call.principal, call.path("key"), call.path("recordId")
    )
    return {"record": record_json(found, call.location)}


async def update_record(call: Call[RecordUpdate]) -> WrappedRecord:
    record_id = call.path("recordId")
    # The write scope first: a refusal names the scope the operation needs, not the read one.
    call.principal.require(RECORDS_WRITE)
    await record_service.get_record_of_object(call.db, call.principal, call.path("key"), record_id)
    updated = await record_service.update_record(
        call.db,
        call.principal,
        record_id,
        call.body.properties,
        max_bytes=call.settings.max_record_bytes,
    )
    return {"record": record_json(updated, call.location)}


async def delete_record(call: Call[None]) -> RecordDeleted:
    record_id = call.path("recordId")
    call.principal.require(RECORDS_WRITE)
    await record_service.get_record_of_object(call.db, call.principal, call.path("key"), record_id)
    removed = await record_service.delete_record(call.db, call.principal, record_id)
    return {
        "deleted": True,
        "success": True,
        "id": record_id,
        "message": "Record deleted",
        "relationsDeleted": removed,
    }
