"""Object schemas and their records: `/objects/...`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.auth import RECORDS_WRITE
from app.errors import BadUserInput
from app.rest import search as record_search
from app.rest.base import Call, accepts, json_response
from app.rest.serializers import object_json, record_json
from app.services import objects as object_service
from app.services import records as record_service


async def list_all(call: Call) -> Response:
    location = call.check_location()
    items = await object_service.list_object_schemas(call.db, call.principal)
    return json_response({"objects": [object_json(o, location) for o in items]})


async def create(call: Call) -> Response:
    body = await call.body()
    location = call.check_location(body)
    labels = body.optional_object("labels")
    primary = body.get("primaryDisplayProperty")
    details = body.optional_object("primaryDisplayPropertyDetails")
    if primary is None and details is not None:
        primary = details.get("key")
    created = await object_service.create_object_schema(
        call.db,
        call.principal,
        key=body.get("key"),
        singular=None if labels is None else labels.get("singular"),
        plural=None if labels is None else labels.get("plural"),
        description=body.get("description"),
        primary_display_property=primary,
    )
    return json_response({"object": object_json(created, location)}, 201)


@accepts("fetchProperties")  # HighLevel's; the object carries no property list to add
async def get(call: Call) -> Response:
    location = call.check_location()
    found = await object_service.get_object_schema(call.db, call.principal, call.path("key"))
    # HighLevel's answer also says whether it came from its cache and lists the object's custom
    # fields; Relata's records are schemaless, so there are none to list.
    return json_response({"object": object_json(found, location), "cache": False, "fields": []})


async def update(call: Call) -> Response:
    """HighLevel's update body: labels, description, searchableProperties (Relata searches the
    display name, so they are accepted and not used) and the display property details."""
    body = await call.body()
    location = call.check_location(body)
    for name in body.data:
        if name not in _UPDATABLE:
            raise BadUserInput(
                f"{name} cannot be changed: only labels, description and the display property can",
                field=name,
            )
    changes: dict[str, Any] = {}
    labels = body.optional_object("labels")
    if labels is not None:
        for name in ("singular", "plural"):
            if labels.get(name) is not None:
                changes[name] = labels.get(name)
    if "description" in body:
        changes["description"] = body.get("description")
    details = body.optional_object("primaryDisplayPropertyDetails")
    primary = body.get("primaryDisplayProperty")
    if primary is None and details is not None:
        primary = details.get("key")
    if primary is not None:
        changes["primary_display_property"] = primary
    body.optional_list("searchableProperties")  # the shape is checked; the value is not used
    updated = await object_service.update_object_schema(
        call.db, call.principal, call.path("key"), **changes
    )
    return json_response({"object": object_json(updated, location)})


_UPDATABLE = frozenset(
    {
        "locationId",
        "labels",
        "description",
        "searchableProperties",
        "primaryDisplayProperty",
        "primaryDisplayPropertyDetails",
    }
)


async def search_records(call: Call) -> Response:
    location = call.check_location()
    found = await record_search.search(call, call.path("key"))
    records = [
        {**record_json(r, location), "searchAfter": after}
        for r, after in zip(found.items, found.after, strict=True)
    ]
    return json_response({"records": records, "total": found.total})


async def create_record(call: Call) -> Response:
    body = await call.body()
    location = call.check_location(body)
    created = await record_service.create_record(
        call.db,
        call.principal,
        call.path("key"),
        body.get("properties"),
        max_bytes=call.settings.max_record_bytes,
    )
    return json_response({"record": record_json(created, location)}, 201)


async def get_record(call: Call) -> Response:
    location = call.check_location()
    found = await record_service.get_record_of_object(
        call.db, call.principal, call.path("key"), call.path("recordId")
    )
    return json_response({"record": record_json(found, location)})


async def update_record(call: Call) -> Response:
    body = await call.body()
    location = call.check_location(body)
    record_id = call.path("recordId")
    if body.get("properties") is None:
        raise BadUserInput("properties is required", field="properties")
    # The write scope first: a refusal names the scope the operation needs, not the read one.
    call.principal.require(RECORDS_WRITE)
    await record_service.get_record_of_object(call.db, call.principal, call.path("key"), record_id)
    updated = await record_service.update_record(
        call.db,
        call.principal,
        record_id,
        body.get("properties"),
        max_bytes=call.settings.max_record_bytes,
    )
    return json_response({"record": record_json(updated, location)})


async def delete_record(call: Call) -> Response:
    call.check_location()
    record_id = call.path("recordId")
    call.principal.require(RECORDS_WRITE)
    await record_service.get_record_of_object(call.db, call.principal, call.path("key"), record_id)
    removed = await record_service.delete_record(call.db, call.principal, record_id)
    return json_response(
        {
            "deleted": True,
            "success": True,
            "id": record_id,
            "message": "Record deleted",
            "relationsDeleted": removed,
        }
    )
