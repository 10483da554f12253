"""Relations between records: `/associations/relations...`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.access import can_read
from app.errors import BadUserInput
from app.ids import Kind
from app.rest.base import Body, Call, accepts, json_response
from app.rest.serializers import relation_json
from app.services import events as event_service
from app.services import relations as service


def _relation_input(body: Body) -> service.RelationInput:
    return service.RelationInput(
        association_id=body.required_str("associationId"),
        first_record_id=body.required_str("firstRecordId"),
        second_record_id=body.required_str("secondRecordId"),
    )


def _relations_json(call: Call, linked: list[service.Linked]) -> list[dict[str, Any]]:
    """Each relation; its association's fields only for a token that may read associations."""
    shown = can_read(call.principal, Kind.ASSOCIATION)
    return [relation_json(x.relation, x.association if shown else None) for x in linked]


async def create(call: Call) -> Response:
    body = await call.body()
    call.check_location(body)
    linked = await service.create_linked(call.db, call.principal, [_relation_input(body)])
    return json_response(_relations_json(call, linked)[0], 201)


def _remove_id(item: Any, index: int) -> str:
    """A relation to remove: its id, or an object carrying it as `id` or `relationId`."""
    if isinstance(item, dict):
        item = item.get("id", item.get("relationId"))
    if not isinstance(item, str) or not item.strip():
        raise BadUserInput(
            f"remove[{index}] must be a relation id (or an object with its id)",
            field=f"remove[{index}]",
        )
    return item


async def bulk(call: Call) -> Response:
    body = await call.body()
    call.check_location(body)
    add: list[service.RelationInput] = []
    for i, item in enumerate(body.optional_list("add")):
        if not isinstance(item, dict):
            raise BadUserInput(f"add[{i}] must be a JSON object", field=f"add[{i}]")
        add.append(_relation_input(Body(item, f"add[{i}].")))
    remove = [_remove_id(item, i) for i, item in enumerate(body.optional_list("remove"))]
    created, removed = await service.apply_relation_changes(
        call.db, call.principal, add=add, remove=remove
    )
    return json_response({"added": _relations_json(call, created), "removed": removed})


@accepts("skip", "limit", "associationIds")
async def list_for_record(call: Call) -> Response:
    call.check_location()
    linked, total = await service.list_record_relations(
        call.db,
        call.principal,
        call.path("recordId"),
        skip=call.query_int("skip"),
        limit=call.query_int("limit"),
        association_ids=call.query_list("associationIds"),
    )
    return json_response({"relations": _relations_json(call, linked), "total": total})


async def delete(call: Call) -> Response:
    call.check_location()
    relation_id = call.path("relationId")
    await service.delete_relations(call.db, call.principal, [relation_id])
    return json_response({"deleted": True, "id": relation_id, "message": "Relation deleted"})


@accepts("after", "limit", "types")
async def history(call: Call) -> Response:
    """A record's changes, oldest first, as Record.history has them; a deleted record's history
    stays readable. Page on with `after` = the last event's position (`nextCursor`)."""
    call.check_location()
    page = await event_service.record_history(
        call.db,
        call.principal,
        call.path("recordId"),
        first=call.query_int("limit"),
        after=call.query("after"),
        types=call.query_list("types"),
    )
    events = [e.payload() for e in page.items]
    return json_response(
        {
            "events": events,
            "hasMore": page.has_next,
            "nextCursor": events[-1]["position"] if events else call.query("after"),
        }
    )
