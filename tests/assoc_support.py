"""Shared setup and invariant checks for the association / relation / traversal tests."""

from __future__ import annotations

from typing import Any

from app import ids
from db import Database
from db.relations import values_list
from tests.helpers import Api, Response

ASSOCIATION_FIELDS = (
    "id key associationType firstObjectKey secondObjectKey firstObjectLabel secondObjectLabel"
    " labelType"
    " cardinality firstToSecondLimit secondToFirstLimit description relationCount"
)
CREATE_ASSOCIATION = (
    "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) {"
    f" {ASSOCIATION_FIELDS} }} }}"
)
UPDATE_ASSOCIATION = (
    "mutation($i: UpdateAssociationInput!) { updateAssociation(input: $i) {"
    f" {ASSOCIATION_FIELDS} }} }}"
)
DELETE_ASSOCIATION = (
    "mutation($id: ID!, $cascade: Boolean!) { deleteAssociation(id: $id, cascade: $cascade) {"
    " deletedId deletedRelationCount } }"
)
CREATE_RELATION = (
    "mutation($i: CreateRelationInput!) { createRelation(input: $i) {"
    " id associationId firstRecordId secondRecordId } }"
)
CREATE_RELATIONS = (
    "mutation($i: [CreateRelationInput!]!) { createRelations(input: $i) {"
    " id associationId firstRecordId secondRecordId } }"
)
DELETE_RELATION = "mutation($id: ID!) { deleteRelation(id: $id) { deletedId } }"
DELETE_RELATIONS = "mutation($ids: [ID!]!) { deleteRelations(ids: $ids) { deletedIds count } }"
DELETE_RECORD = "mutation($id: ID!) { deleteRecord(id: $id) { deletedId deletedRelationCount } }"


def rel(association_id: str, first: str, second: str) -> dict[str, str]:
    return {"associationId": association_id, "firstRecordId": first, "secondRecordId": second}


async def create_association(api: Api, **fields: Any) -> Response:
    return await api.gql(CREATE_ASSOCIATION, {"i": fields})


async def association(api: Api, **fields: Any) -> dict[str, Any]:
    data = await api.ok(CREATE_ASSOCIATION, {"i": fields})
    return data["createAssociation"]  # type: ignore[no-any-return]


async def link(api: Api, association_id: str, first: str, second: str) -> Response:
    return await api.gql(CREATE_RELATION, {"i": rel(association_id, first, second)})


async def link_many(api: Api, items: list[dict[str, str]]) -> Response:
    return await api.gql(CREATE_RELATIONS, {"i": items})


async def bulk_records(db: Database, location: str, object_key: str, n: int) -> list[str]:
    """`n` records inserted directly (setup only; creating records is tested elsewhere)."""
    rows = []
    for start in range(1, n + 1, 1000):
        batch = range(start, min(n, start + 999) + 1)
        # Multi-row VALUES: a router statement on Citus (INSERT ... SELECT is not).
        rows += await db.fetch(
            "insert into records (location_id, object_key, properties, display_name)"
            f" values {values_list(len(batch), 3)} returning id",
            location,
            *(v for g in batch for v in (object_key, {"name": f"r{g}"}, f"r{g}")),
        )
    return sorted(ids.encode(ids.Kind.RECORD, r["id"]) for r in rows)


def uid(public_id: str) -> Any:
    kind, value = ids.try_decode_any(public_id)
    assert kind is not None and value is not None, public_id
    return value


async def relation_rows(db: Database, location: str) -> list[tuple[str, str, str]]:
    rows = await db.fetch(
        "select association_id, first_record_id, second_record_id from relations"
        " where location_id = $1",
        location,
    )
    return [
        (
            ids.encode(ids.Kind.ASSOCIATION, r["association_id"]),
            ids.encode(ids.Kind.RECORD, r["first_record_id"]),
            ids.encode(ids.Kind.RECORD, r["second_record_id"]),
        )
        for r in rows
    ]


async def count_relations(db: Database, location: str, association_id: str | None = None) -> int:
    if association_id is None:
        return int(
            await db.fetchval("select count(*) from relations where location_id = $1", location)
        )
    return int(
        await db.fetchval(
            "select count(*) from relations where location_id = $1 and association_id = $2",
            location,
            uid(association_id),
        )
    )


async def assert_invariants(db: Database, location: str) -> None:
    """relation_counters equals a fresh count(*) per (association, record, side); no relation
    outlives its association or records; no relation links a record to itself."""
    real = await db.fetch(
        "select association_id, record_id, side, count(*)::int as n from ("
        " select r.association_id, r.first_record_id as record_id,"
        "  case when a.is_symmetric then 0 else 1 end as side"
        " from relations r join associations a"
        "  on a.location_id = $1 and a.id = r.association_id"
        " where r.location_id = $1"
        " union all"
        " select r.association_id, r.second_record_id,"
        "  case when a.is_symmetric then 0 else 2 end"
        " from relations r join associations a"
        "  on a.location_id = $1 and a.id = r.association_id"
        " where r.location_id = $1"
        ") s group by 1, 2, 3",
        location,
    )
    counters = await db.fetch(
        "select association_id, record_id, side, n from relation_counters where location_id = $1",
        location,
    )
    assert all(c["n"] >= 0 for c in counters), "negative counter"
    expected = {(r["association_id"], r["record_id"], r["side"]): r["n"] for r in real}
    actual = {(c["association_id"], c["record_id"], c["side"]): c["n"] for c in counters if c["n"]}
    assert actual == expected
    # Each table pinned to the location (a Citus router statement), no correlated OR.
    orphans = await db.fetchval(
        "select count(*) from relations r"
        " left join associations a on a.location_id = $1 and a.id = r.association_id"
        " left join records f on f.location_id = $1 and f.id = r.first_record_id"
        " left join records s on s.location_id = $1 and s.id = r.second_record_id"
        " where r.location_id = $1 and (a.id is null or f.id is null or s.id is null)",
        location,
    )
    assert orphans == 0
    limits = await db.fetchval(
        "select count(*) from relation_counters c join associations a"
        " on a.location_id = $1 and a.id = c.association_id"
        " where c.location_id = $1 and c.n > case when c.side = 2 then a.second_to_first_limit"
        " else a.first_to_second_limit end",
        location,
    )
    assert limits == 0, "a counter is past its limit"
