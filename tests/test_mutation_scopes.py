"""A mutation whose selection reads what the token may not read is refused whole, before it
runs: FORBIDDEN at the field's path, and nothing is written (a client retrying on the error
would otherwise repeat a committed change)."""

from __future__ import annotations

from typing import Any

from app.auth import ASSOCIATIONS_READ, RECORDS_READ, RELATIONS_WRITE
from app.services.tokens import create_token
from tests.helpers import Api

LINK = "mutation($i: CreateRelationInput!) { %s }"


async def setup(db, tenant) -> tuple[dict[str, Any], Any]:  # type: ignore[no-untyped-def]
    contact = await tenant.admin.create_record("contact", firstName="Ada")
    company = await tenant.admin.create_record("company", name="Acme")
    found = await tenant.admin.ok('{ associationByKey(key: "contact_company") { id } }')
    link = {
        "associationId": found["associationByKey"]["id"],
        "firstRecordId": contact,
        "secondRecordId": company,
    }

    async def stored() -> int:
        return int(
            await db.fetchval(
                "select count(*) from relations where location_id = $1", tenant.location
            )
        )

    return {"i": link}, stored


async def token(db, tenant, *scopes: str) -> Api:  # type: ignore[no-untyped-def]
    value = await create_token(db, tenant.location, "user", list(scopes))
    return Api(tenant.admin.client, value, tenant.location)


async def test_a_mutation_reading_past_its_scopes_changes_nothing(db, tenant) -> None:  # type: ignore[no-untyped-def]
    variables, stored = await setup(db, tenant)
    writer = await token(db, tenant, RELATIONS_WRITE)
    cases = [
        (
            "createRelation(input: $i) { id association { key } }",
            ["createRelation", "association"],
            ASSOCIATIONS_READ,
        ),
        (
            "made: createRelation(input: $i) { ...F } }"
            " fragment F on Relation { firstRecord { id }",
            ["made", "firstRecord"],
            RECORDS_READ,
        ),
        (
            "createRelation(input: $i) {"
            " ... on Relation { secondRecord { ... on Company { name } } } }",
            ["createRelation", "secondRecord"],
            RECORDS_READ,
        ),
        (
            "createRelation(input: $i) { association { relationCount } }",
            ["createRelation", "association"],
            ASSOCIATIONS_READ,
        ),
    ]
    for selection, path, scope in cases:
        r = await writer.gql(LINK % selection, variables)
        assert r.body["data"] is None, r.body
        error = r.error
        assert error["extensions"] == {"code": "FORBIDDEN", "scope": scope}, error
        assert error["path"] == path
        assert "not run" in error["message"]
        assert await stored() == 0, selection
    # Skipped, the field reads nothing: the mutation runs.
    skipped = "createRelation(input: $i) { id association @skip(if: true) { key } }"
    assert (await writer.ok(LINK % skipped, variables))["createRelation"]["id"]
    assert await stored() == 1


async def test_with_the_scopes_it_reads_the_mutation_runs(db, tenant) -> None:  # type: ignore[no-untyped-def]
    variables, stored = await setup(db, tenant)
    writer = await token(db, tenant, RELATIONS_WRITE, ASSOCIATIONS_READ, RECORDS_READ)
    data = await writer.ok(
        LINK % "createRelation(input: $i) { association { key } firstRecord { id } }", variables
    )
    assert data["createRelation"]["association"] == {"key": "contact_company"}
    assert await stored() == 1
