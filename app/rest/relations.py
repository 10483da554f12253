"""Relations between records: `/associations/relations...`."""

from __future__ import annotations

from typing import cast

from app.access import can_read
from app.auth import Principal
from app.ids import Kind
from app.rest.base import Call
from app.rest.bodies import RelationBulk, RelationCreate
from app.rest.serializers import relation_json
from app.rest.shapes import Deleted, Event, EventPage, Relation, RelationBulkResult, RelationList
from app.services import events as event_service
from app.services import relations as service


def _relation_input(body: RelationCreate) -> service.RelationInput:
    return service.RelationInput(
        association_id=body.associationId,
        first_record_id=body.firstRecordId,
        second_record_id=body.secondRecordId,
    )


def _relations_json(principal: Principal, linked: list[service.Linked]) -> list[Relation]:
    """Each relation; its association's fields only for a token that may read associations."""
    shown = can_read(principal, Kind.ASSOCIATION)
    return [relation_json(x.relation, x.association if shown else None) for x in linked]


async def create(call: Call[RelationCreate]) -> Relation:
    linked = await service.create_linked(call.db, call.principal, [_relation_input(call.body)])
    return _relations_json(call.principal, linked)[0]


async def bulk(call: Call[RelationBulk]) -> RelationBulkResult:
    created, removed = await service.apply_relation_changes(
        call.db,
        call.principal,
        add=[_relation_input(item) for item in call.body.add or ()],
        remove=list(call.body.remove or ()),
    )
    return {"added": _relations_json(call.principal, created), "removed": removed}


async def list_for_record(call: Call[None]) -> RelationList:
    linked, total = await service.list_record_relations(
        call.db,
        call.principal,
        call.path("recordId"),
        skip=call.query_int("skip"),
        limit=call.query_int("limit"),
        association_ids=call.query_list("associationIds"),
    )
    return {"relations": _relations_json(call.principal, linked), "total": total}


async def delete(call: Call[None]) -> Deleted:
    relation_id = call.path("relationId")
    await service.delete_relations(call.db, call.principal, [relation_id])
    return {"deleted": True, "id": relation_id, "message": "Relation deleted"}


async def history(call: Call[None]) -> EventPage:
    """A record's changes, oldest first, as Record.history has them; a deleted record's history
    stays readable. Page on with `after` = the last event's position (`nextCursor`)."""
    page = await event_service.record_history(
        call.db,
        call.principal,
        call.path("recordId"),
        first=call.query_int("limit"),
        after=call.query("after"),
        types=call.query_list("types"),
    )
    # The payload GraphQL and webhooks show too (app.models); tests check it against Event.
    events = [cast(Event, e.payload()) for e in page.items]
    return {
        "events": events,
        "hasMore": page.has_next,
        "nextCursor": events[-1]["position"] if events else call.query("after"),
    }
