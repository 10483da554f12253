"""HighLevel's Contacts API, the part a partner needs to get a contact to link: the records of
the standard `contact` object. `firstName lastName email phone` are top level (as HighLevel
sends them); every other property is a custom field, `customFields: [{id, value}]` with the
property name as id (or key)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.auth import RECORDS_WRITE
from app.errors import BadUserInput
from app.models import RecordModel
from app.rest import search as record_search
from app.rest.base import Body, Call, json_response
from app.services import records as record_service

CONTACT = "contact"
TOP_LEVEL = ("firstName", "lastName", "email", "phone")


def contact_json(r: RecordModel, location_id: str) -> dict[str, Any]:
    props = r.properties
    out: dict[str, Any] = {"id": r.id, "locationId": location_id}
    for name in TOP_LEVEL:
        out[name] = props.get(name)
    out["name"] = r.display_name
    out["customFields"] = [
        {"id": name, "key": name, "value": value}
        for name, value in props.items()
        if name not in TOP_LEVEL
    ]
    out["dateAdded"] = r.created_at
    out["dateUpdated"] = r.updated_at
    return out


def _properties(body: Body) -> dict[str, Any]:
    """The record properties a HighLevel contact body names; unknown fields are refused."""
    props: dict[str, Any] = {}
    for name in body.data:
        if name not in (*TOP_LEVEL, "customFields", "locationId"):
            raise BadUserInput(
                f"contact field {name!r} is not served: give firstName, lastName, email, phone"
                " or customFields",
                field=name,
            )
    for name in TOP_LEVEL:
        if name in body:
            props[name] = body.get(name)
    for i, item in enumerate(body.optional_list("customFields")):
        where = f"customFields[{i}]"
        if not isinstance(item, dict):
            raise BadUserInput(f"{where} must be a JSON object", field=where)
        key = item.get("key", item.get("id"))
        if not isinstance(key, str) or not key.strip():
            raise BadUserInput(f"{where} needs an id or key (the property name)", field=where)
        if key in TOP_LEVEL:
            raise BadUserInput(f"{where}: {key} is given at top level", field=where)
        props[key] = item.get("value", item.get("field_value"))
    return props


async def create(call: Call) -> Response:
    body = await call.body()
    location = call.check_location(body)
    props = {k: v for k, v in _properties(body).items() if v is not None}
    created = await record_service.create_record(
        call.db, call.principal, CONTACT, props, max_bytes=call.settings.max_record_bytes
    )
    return json_response({"contact": contact_json(created, location)}, 201)


async def get(call: Call) -> Response:
    location = call.check_location()
    found = await record_service.get_record_of_object(
        call.db, call.principal, CONTACT, call.path("contactId")
    )
    return json_response({"contact": contact_json(found, location)})


async def update(call: Call) -> Response:
    body = await call.body()
    location = call.check_location(body)
    contact_id = call.path("contactId")
    props = _properties(body)  # null removes a property, as for records
    call.principal.require(RECORDS_WRITE)
    await record_service.get_record_of_object(call.db, call.principal, CONTACT, contact_id)
    updated = await record_service.update_record(
        call.db, call.principal, contact_id, props, max_bytes=call.settings.max_record_bytes
    )
    return json_response({"succeded": True, "contact": contact_json(updated, location)})


async def delete(call: Call) -> Response:
    call.check_location()
    contact_id = call.path("contactId")
    call.principal.require(RECORDS_WRITE)
    await record_service.get_record_of_object(call.db, call.principal, CONTACT, contact_id)
    removed = await record_service.delete_record(call.db, call.principal, contact_id)
    # HighLevel answers `succeded` (sic); `succeeded` is its corrected spelling.
    return json_response(
        {"succeded": True, "succeeded": True, "id": contact_id, "relationsDeleted": removed}
    )


async def search(call: Call) -> Response:
    location = call.check_location()
    found = await record_search.search(call, CONTACT)
    contacts = [
        {**contact_json(r, location), "searchAfter": after}
        for r, after in zip(found.items, found.after, strict=True)
    ]
    return json_response({"contacts": contacts, "total": found.total})
