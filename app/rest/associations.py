"""Association definitions: `/associations/...` (HighLevel's Associations API) and the same
operations under `/objects-association` (the shapes of HighLevel's setup guide)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.errors import BadUserInput
from app.rest.base import Body, Call, accepts, json_response
from app.rest.serializers import association_json
from app.services import associations as service

# HighLevel's per-direction cardinality words, as limits (the ceiling is 1000).
_DIRECTION_LIMITS = {"ONE": 1, "MANY": service.MAX_LIMIT}
_IMMUTABLE = (
    "key",
    "firstObjectKey",
    "secondObjectKey",
    "associationType",
    "cardinality",
    "firstToSecondLimit",
    "secondToFirstLimit",
    "firstObjectToSecondObjectCardinality",
    "secondObjectToFirstObjectCardinality",
)


def _direction_limit(body: Body, limit_name: str, word_name: str) -> Any:
    if body.get(limit_name) is not None or body.get(word_name) is None:
        return body.get(limit_name)
    word = body.get(word_name)
    if not isinstance(word, str) or word.strip().upper() not in _DIRECTION_LIMITS:
        raise BadUserInput(f"{word_name} must be ONE or MANY", field=word_name)
    return _DIRECTION_LIMITS[word.strip().upper()]


async def _create(call: Call) -> dict[str, Any]:
    body = await call.body()
    call.check_location(body)
    first_label, second_label = await service.default_labels(
        call.db,
        call.principal,
        first_object_key=body.get("firstObjectKey"),
        second_object_key=body.get("secondObjectKey"),
        first_object_label=body.get("firstObjectLabel"),
        second_object_label=body.get("secondObjectLabel"),
    )
    created = await service.create_association(
        call.db,
        call.principal,
        key=body.get("key"),
        first_object_key=body.get("firstObjectKey"),
        second_object_key=body.get("secondObjectKey"),
        first_object_label=first_label,
        second_object_label=second_label,
        cardinality=body.get("cardinality"),
        first_to_second_limit=_direction_limit(
            body, "firstToSecondLimit", "firstObjectToSecondObjectCardinality"
        ),
        second_to_first_limit=_direction_limit(
            body, "secondToFirstLimit", "secondObjectToFirstObjectCardinality"
        ),
        description=body.get("description"),
    )
    return association_json(created)


async def _list(call: Call) -> dict[str, Any]:
    call.check_location()
    items, total = await service.list_associations_page(
        call.db, call.principal, skip=call.query_int("skip"), limit=call.query_int("limit")
    )
    return {"associations": [association_json(a) for a in items], "total": total}


async def _get(call: Call) -> dict[str, Any]:
    call.check_location()
    found = await service.get_association(call.db, call.principal, call.path("associationId"))
    return association_json(found)


async def _by_key(call: Call) -> dict[str, Any]:
    call.check_location()
    found = await service.get_association_by_key(call.db, call.principal, call.path("key"))
    return association_json(found)


async def _by_object(call: Call) -> dict[str, Any]:
    call.check_location()
    items = await service.list_associations(call.db, call.principal, call.path("objectKey"))
    return {"associations": [association_json(a) for a in items], "total": len(items)}


async def _update(call: Call) -> dict[str, Any]:
    body = await call.body()
    call.check_location(body)
    for name in _IMMUTABLE:
        if name in body:
            raise BadUserInput(
                f"{name} cannot be changed: only firstObjectLabel, secondObjectLabel and"
                " description can",
                field=name,
            )
    changes = {
        field: body.get(name)
        for name, field in (
            ("firstObjectLabel", "first_object_label"),
            ("secondObjectLabel", "second_object_label"),
            ("description", "description"),
        )
        if name in body
    }
    updated = await service.update_association(
        call.db, call.principal, call.path("associationId"), **changes
    )
    return association_json(updated)


async def _delete(call: Call) -> dict[str, Any]:
    call.check_location()
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


# /associations/...: the association itself is the body.


async def create(call: Call) -> Response:
    return json_response(await _create(call), 201)


@accepts("skip", "limit")
async def list_all(call: Call) -> Response:
    return json_response(await _list(call))


async def get(call: Call) -> Response:
    return json_response(await _get(call))


async def get_by_key(call: Call) -> Response:
    return json_response(await _by_key(call))


async def list_by_object(call: Call) -> Response:
    return json_response(await _by_object(call))


async def update(call: Call) -> Response:
    return json_response(await _update(call))


@accepts("cascade")
async def delete(call: Call) -> Response:
    return json_response(await _delete(call))


# /objects-association...: one association is wrapped as {"association": {...}}.


async def oa_create(call: Call) -> Response:
    return json_response({"association": await _create(call)}, 201)


async def oa_get(call: Call) -> Response:
    return json_response({"association": await _get(call)})


async def oa_get_by_key(call: Call) -> Response:
    return json_response({"association": await _by_key(call)})


async def oa_update(call: Call) -> Response:
    return json_response({"association": await _update(call)})
