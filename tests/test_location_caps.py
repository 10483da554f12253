"""What one location may define: at most MAX_CUSTOM_OBJECTS custom objects and
MAX_ASSOCIATIONS associations, held under racing creates, and weighed by the response budget
(the lists of objects and associations have no pages)."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import parse

import app.services.associations as association_service
from app.graphql.extensions import estimate_cost
from app.models import MAX_ASSOCIATIONS, MAX_CUSTOM_OBJECTS
from app.schema import schema as served_schema
from tests.helpers import Response

CREATE_OBJECT = "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { key } }"
CREATE_ASSOCIATION = "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) { id } }"


def codes(results: list[Response]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        code = r.error["extensions"]["code"] if r.body.get("errors") else "OK"
        out[code] = out.get(code, 0) + 1
    return out


async def test_custom_objects_per_location_hold_under_racing_creates(db, tenant) -> None:  # type: ignore[no-untyped-def]
    def create(i: int) -> Any:
        labels = {"singular": f"T{i}", "plural": f"T{i}s"}
        return tenant.admin.gql(CREATE_OBJECT, {"i": {"key": f"t{i}", "labels": labels}})

    results = await asyncio.gather(*(create(i) for i in range(MAX_CUSTOM_OBJECTS + 20)))
    assert codes(results) == {"OK": MAX_CUSTOM_OBJECTS, "LIMIT_EXCEEDED": 20}
    refused = next(r for r in results if r.body.get("errors"))
    assert refused.error["extensions"]["limitName"] == "customObjectsPerLocation"
    assert f"{MAX_CUSTOM_OBJECTS} custom objects" in refused.error["message"]
    stored = await db.fetchval(
        "select count(*) from objects where location_id = $1 and not is_standard",
        tenant.location,
    )
    assert stored == MAX_CUSTOM_OBJECTS


async def test_associations_per_location_hold_under_racing_creates(db, tenant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With the cap lowered to 12 (the system association counts), 30 creates racing over
    three pairs of objects leave exactly 12: the location lock, not the per-pair one, holds."""
    monkeypatch.setattr(association_service, "MAX_ASSOCIATIONS", 12)
    pairs = [("contact", "opportunity"), ("company", "opportunity"), ("opportunity", "opportunity")]

    def create(i: int) -> Any:
        first, second = pairs[i % 3]
        fields = {"key": f"a_{i}", "firstObjectKey": first, "secondObjectKey": second}
        return tenant.admin.gql(
            CREATE_ASSOCIATION, {"i": {**fields, "firstObjectLabel": "X", "secondObjectLabel": "Y"}}
        )

    results = await asyncio.gather(*(create(i) for i in range(30)))
    assert codes(results) == {"OK": 11, "LIMIT_EXCEEDED": 19}
    names = {r.error["extensions"]["limitName"] for r in results if r.body.get("errors")}
    assert names == {"associationsPerLocation"}
    stored = await db.fetchval(
        "select count(*) from associations where location_id = $1", tenant.location
    )
    assert stored == 12


def test_unpaginated_lists_weigh_what_a_location_can_hold() -> None:
    def estimate(query: str) -> tuple[int, int]:
        found = estimate_cost(served_schema._schema, parse(query))
        assert found is not None
        return found.items, found.bytes

    items, size = estimate("{ associations { description } }")
    assert items == MAX_ASSOCIATIONS
    assert size >= MAX_ASSOCIATIONS * 2_000 * 6  # a description is up to 2,000 characters
    items, _ = estimate("{ objectSchemas { key } }")
    assert items == MAX_CUSTOM_OBJECTS + 3
