"""Association definitions: `/associations/...` (HighLevel's Associations API) and the same
operations under `/objects-association` (the shapes of HighLevel's setup guide)."""

from __future__ import annotations

from app.rest.base import Call
from app.rest.bodies import AssociationCreate, AssociationUpdate
from app.rest.serializers import association_json
from app.rest.shapes import (
    Association,
    AssociationDeleted,
    AssociationList,
    WrappedAssociation,
)
from app.services import associations as service


async def create(call: Call[AssociationCreate]) -> Association:
    body = call.body
    first_label, second_label = await service.default_labels(
        call.db,
        call.principal,
        first_object_key=body.firstObjectKey,
        second_object_key=body.secondObjectKey,
        first_object_label=body.firstObjectLabel,
        second_object_label=body.secondObjectLabel,
    )
    first_to_second, second_to_first = body.limits()
    created = await service.create_association(
        call.db,
        call.principal,
        key=body.key,
        first_object_key=body.firstObjectKey,
        second_object_key=body.secondObjectKey,
        first_object_label=first_label,
        second_object_label=second_label,
        cardinality=body.cardinality,
        first_to_second_limit=first_to_second,
        second_to_first_limit=second_to_first,
        description=body.description,
    )
    return association_json(created)


async def list_all(call: Call[None]) -> AssociationList:
    items, total = await service.list_associations_page(
        call.db, call.principal, skip=call.query_int("skip"), limit=call.query_int("limit")
    )
    return {"associations": [association_json(a) for a in items], "total": total}


async def get(call: Call[None]) -> Association:
    found = await service.get_association(call.db, call.principal, call.path("associationId"))
    return association_json(found)


async def get_by_key(call: Call[None]) -> Association:
    found = await service.get_association_by_key(call.db, call.principal, call.path("key"))
    return association_json(found)


async def list_by_object(call: Call[None]) -> AssociationList:
    items = await service.list_associations(call.db, call.principal, call.path("objectKey"))
    return {"associations": [association_json(a) for a in items], "total": len(items)}


async def update(call: Call[AssociationUpdate]) -> Association:
    changes = call.body.given("firstObjectLabel", "secondObjectLabel", "description")
    updated = await service.update_association(
        call.db,
        call.principal,
        call.path("associationId"),
        **{_SERVICE_NAMES[name]: value for name, value in changes.items()},
    )
    return association_json(updated)


_SERVICE_NAMES = {
    "firstObjectLabel": "first_object_label",
    "secondObjectLabel": "second_object_label",
    "description": "description",
}


async def delete(call: Call[None]) -> AssociationDeleted:
    association_id = call.path("associationId")
    # HighLevel's API (and its SDKs) delete an association with its relations; `cascade=false`
    # asks for the guard instead (409 while relations use it). GraphQL keeps an explicit
    # `cascade` argument.
    cascade = call.query("cascade") is None or call.query_bool("cascade")
    removed = await service.delete_association(
        call.db, call.principal, association_id, cascade=cascade
    )
    message = "Association deleted"
    if removed:
        message += f" with its {removed} relation(s)"
    return {"deleted": True, "id": association_id, "message": message, "relationsDeleted": removed}


# /objects-association...: one association is wrapped as {"association": {...}}.


async def oa_create(call: Call[AssociationCreate]) -> WrappedAssociation:
    return {"association": await create(call)}


async def oa_get(call: Call[None]) -> WrappedAssociation:
    return {"association": await get(call)}


async def oa_get_by_key(call: Call[None]) -> WrappedAssociation:
    return {"association": await get_by_key(call)}


async def oa_update(call: Call[AssociationUpdate]) -> WrappedAssociation:
    return {"association": await update(call)}
