"""HighLevel's Contacts API, the part a partner needs to get a contact to link: the records of
the standard `contact` object. `firstName lastName email phone` are top level (as HighLevel
sends them); every other property is a custom field, `customFields: [{id, value}]` with the
property name as id (or key)."""

from __future__ import annotations

from app.auth import RECORDS_WRITE
from app.models import RecordModel
from app.rest import search as record_search
from app.rest.base import Call
from app.rest.bodies import CONTACT_FIELDS, ContactWrite, Search
from app.rest.shapes import (
    Contact,
    ContactDeleted,
    ContactList,
    ContactUpdated,
    FoundContact,
    WrappedContact,
)
from app.services import records as record_service

CONTACT = "contact"


def contact_json(r: RecordModel, location_id: str) -> Contact:
    props = r.properties
    return {
        "id": r.id,
        "locationId": location_id,
        "firstName": props.get("firstName"),
        "lastName": props.get("lastName"),
        "email": props.get("email"),
        "phone": props.get("phone"),
        "name": r.display_name,
        "customFields": [
            {"id": name, "key": name, "value": value}
            for name, value in props.items()
            if name not in CONTACT_FIELDS
        ],
        "dateAdded": r.created_at,
        "dateUpdated": r.updated_at,
    }


async def create(call: Call[ContactWrite]) -> WrappedContact:
    props = {k: v for k, v in call.body.properties().items() if v is not None}
    created = await record_service.create_record(
        call.db, call.principal, CONTACT, props, max_bytes=call.settings.max_record_bytes
    )
    return {"contact": contact_json(created, call.location)}


async def get(call: Call[None]) -> WrappedContact:
    found = await record_service.get_record_of_object(
        call.db, call.principal, CONTACT, call.path("contactId")
    )
    return {"contact": contact_json(found, call.location)}


async def update(call: Call[ContactWrite]) -> ContactUpdated:
    contact_id = call.path("contactId")
    props = call.body.properties()  # null removes a property, as for records
    call.principal.require(RECORDS_WRITE)
    await record_service.get_record_of_object(call.db, call.principal, CONTACT, contact_id)
    updated = await record_service.update_record(
        call.db, call.principal, contact_id, props, max_bytes=call.settings.max_record_bytes
    )
    return {"succeded": True, "contact": contact_json(updated, call.location)}


async def delete(call: Call[None]) -> ContactDeleted:
    contact_id = call.path("contactId")
    call.principal.require(RECORDS_WRITE)
    await record_service.get_record_of_object(call.db, call.principal, CONTACT, contact_id)
    removed = await record_service.delete_record(call.db, call.principal, contact_id)
    # HighLevel answers `succeded` (sic); `succeeded` is its corrected spelling.
    return {"succeded": True, "succeeded": True, "id": contact_id, "relationsDeleted": removed}


async def search(call: Call[Search]) -> ContactList:
    found = await record_search.search(call, CONTACT)
    contacts = [
        FoundContact(**contact_json(r, call.location), searchAfter=after)
        for r, after in zip(found.items, found.after, strict=True)
    ]
    return {"contacts": contacts, "total": found.total}
