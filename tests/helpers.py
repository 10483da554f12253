from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

_counter = itertools.count()


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    statements: int

    @property
    def data(self) -> Any:
        assert not self.body.get("errors"), self.body.get("errors")
        return self.body["data"]

    @property
    def error(self) -> dict[str, Any]:
        errors = self.body.get("errors")
        assert errors, f"expected an error, got {self.body}"
        return errors[0]  # type: ignore[no-any-return]

    @property
    def code(self) -> str:
        return str(self.error["extensions"]["code"])


class Api:
    """One caller: a token and the HTTP client it talks through."""

    def __init__(self, client: httpx.AsyncClient, token: str | None, location: str = "") -> None:
        self.client, self.token, self.location = client, token, location

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        r = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return Response(r.status_code, r.json(), int(r.headers.get("x-relata-sql-statements", -1)))

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        r = await self.gql(query, variables)
        assert r.status == 200, r.body
        return r.data

    async def fail(self, query: str, variables: dict[str, Any] | None = None) -> Response:
        r = await self.gql(query, variables)
        assert r.body.get("errors"), f"expected an error, got {r.body}"
        return r

    # Shorthands for setting up state through the public API.
    async def create_object(self, key: str, singular: str = "Thing", plural: str = "Things") -> str:
        data = await self.ok(
            "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { key } }",
            {"i": {"key": key, "labels": {"singular": singular, "plural": plural}}},
        )
        return str(data["createObjectSchema"]["key"])

    async def create_record(self, object_key: str, **props: Any) -> str:
        data = await self.ok(
            "mutation($i: CreateRecordInput!) { createRecord(input: $i) { id } }",
            {"i": {"objectKey": object_key, "properties": props}},
        )
        return str(data["createRecord"]["id"])

    async def create_association(self, **fields: Any) -> dict[str, Any]:
        data = await self.ok(
            "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) {"
            " id key firstObjectKey secondObjectKey firstObjectLabel secondObjectLabel"
            " cardinality firstToSecondLimit secondToFirstLimit associationType } }",
            {"i": fields},
        )
        return data["createAssociation"]  # type: ignore[no-any-return]

    async def link(self, association_id: str, first: str, second: str) -> Response:
        return await self.gql(
            "mutation($i: CreateRelationInput!) { createRelation(input: $i) {"
            " id firstRecordId secondRecordId } }",
            {
                "i": {
                    "associationId": association_id,
                    "firstRecordId": first,
                    "secondRecordId": second,
                }
            },
        )


def unique_location(prefix: str = "loc") -> str:
    return f"{prefix}-{next(_counter)}-{id(_counter) % 10_000}"


async def warm_statements(api: Api) -> int:
    """What a request of `api`'s token costs before any resolver once the token's lookup has been
    paid (by its first request; the suite's app never forgets it, tests/conftest.py): nothing."""
    await api.gql("{ __typename }")
    return (await api.gql("{ __typename }")).statements
