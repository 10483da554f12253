"""Bounds on what one request can make the server store, hold or return: a record's size after
every merge, the response size (estimated before anything runs), the query text, and the
memory of the parsed-document cache."""

from __future__ import annotations

import gc
import tracemalloc

from graphql import parse

from app.graphql.extensions import estimate_cost
from app.graphql.extensions.document_cache import CACHEABLE_QUERY_BYTES, store_for
from app.schema import schema as served_schema
from tests.hardening_support import client_with
from tests.helpers import Api, warm_statements

UPDATE = "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }"
RECORD_BYTES = 256 * 1024


def chunk(n: int) -> dict[str, list[str]]:
    """About n * 10 KB of properties in one key (strings are at most 10,000 characters)."""
    return {"blob": ["x" * 9_990] * n}


async def test_merges_cannot_grow_a_record_past_its_bound(tenant) -> None:  # type: ignore[no-untyped-def]
    rid = await tenant.admin.create_record("contact", firstName="Ada")
    accepted = 0
    for i in range(10):
        r = await tenant.admin.gql(
            UPDATE, {"i": {"id": rid, "properties": {f"part{i}": chunk(10)["blob"]}}}
        )
        if r.body.get("errors"):
            error = r.error
            assert error["extensions"]["code"] == "BAD_USER_INPUT", error
            assert error["extensions"]["limit"] == "recordBytes"
            assert error["extensions"]["maximum"] == RECORD_BYTES
            assert "RELATA_MAX_RECORD_BYTES" in error["message"]
            break
        accepted += 1
    assert accepted == 2, "three merges of ~100 KB pass 256 KB"
    data = await tenant.admin.ok(f'{{ record(id: "{rid}") {{ properties }} }}')
    assert sorted(data["record"]["properties"]) == ["firstName", "part0", "part1"]  # unchanged
    # Removing keys makes room again.
    await tenant.admin.ok(UPDATE, {"i": {"id": rid, "properties": {"part0": None}}})
    await tenant.admin.ok(UPDATE, {"i": {"id": rid, "properties": {"part2": chunk(10)["blob"]}}})


async def test_a_new_record_is_held_to_the_same_bound(tenant) -> None:  # type: ignore[no-untyped-def]
    r = await tenant.admin.gql(
        "mutation($i: CreateRecordInput!) { createRecord(input: $i) { id } }",
        {
            "i": {
                "objectKey": "contact",
                "properties": {"a": chunk(20)["blob"], "b": chunk(10)["blob"]},
            }
        },
    )
    assert r.error["extensions"]["limit"] == "recordBytes"
    data = await tenant.admin.ok('{ records(objectKey: "contact") { totalCount } }')
    assert data["records"]["totalCount"] == 0


async def test_rest_updates_are_held_to_the_bound(tenant, client) -> None:  # type: ignore[no-untyped-def]
    rid = await tenant.admin.create_record("company", name="Acme")
    headers = {"authorization": f"Bearer {tenant.admin_token}", "version": "2021-07-28"}
    for i in range(2):
        r = await client.put(
            f"/objects/company/records/{rid}",
            json={"properties": {f"p{i}": chunk(10)["blob"]}},
            headers=headers,
        )
        assert r.status_code == 200, r.text
    r = await client.put(
        f"/objects/company/records/{rid}",
        json={"properties": {"p2": chunk(10)["blob"]}},
        headers=headers,
    )
    assert r.status_code == 400, r.text
    assert "RELATA_MAX_RECORD_BYTES" in r.json()["message"]


async def test_record_bound_is_configurable(db, tenant) -> None:  # type: ignore[no-untyped-def]
    async with client_with(db, max_record_bytes=1_000) as client:
        api = Api(client, tenant.admin_token)
        r = await api.gql(
            "mutation($i: CreateRecordInput!) { createRecord(input: $i) { id } }",
            {"i": {"objectKey": "contact", "properties": {"note": "n" * 2_000}}},
        )
        assert r.error["extensions"]["maximum"] == 1_000


def estimated_bytes(query: str, **kwargs: int) -> int:
    estimate = estimate_cost(served_schema._schema, parse(query), **kwargs)
    assert estimate is not None
    return estimate.bytes


def test_properties_weigh_their_bound_per_alias() -> None:
    one = estimated_bytes('{ record(id: "x") { properties } }')
    thirty = estimated_bytes(
        "{ " + " ".join(f'a{i}: record(id: "x") {{ properties }}' for i in range(30)) + " }"
    )
    assert RECORD_BYTES <= one < RECORD_BYTES + 200
    assert 30 * RECORD_BYTES <= thirty < 30 * (RECORD_BYTES + 200)
    page = estimated_bytes(
        '{ records(objectKey: "contact", first: 100) { edges { node { properties } } } }'
    )
    assert 100 * RECORD_BYTES <= page < 100 * (RECORD_BYTES + 300)
    # The bound follows the configured record size.
    assert estimated_bytes('{ record(id: "x") { properties } }', max_record_bytes=1000) < 1_200


def test_text_fields_weigh_what_json_can_make_of_their_bound() -> None:
    """A text field of 10,000 characters can take 60,000 bytes as JSON (control characters are
    escaped as six): 49 aliases of `firstName` over 250 contacts may return ~735 MB."""
    fields = " ".join(f"a{i}: firstName" for i in range(49))
    query = (
        '{ records(objectKey: "contact", first: 250) { edges { node {'
        f" ... on Contact {{ {fields} }} }} }} }} }}"
    )
    assert estimated_bytes(query) >= 250 * 49 * 60_000


async def test_a_text_field_never_returns_more_than_a_string(tenant) -> None:  # type: ignore[no-untyped-def]
    """A property read as a text field is text only when it holds a string, number or boolean:
    a list (which could be the whole record's size) reads null, on both execution paths."""
    rid = await tenant.admin.create_record(
        "contact", firstName=chunk(20)["blob"], lastName=7, email=True, phone="555"
    )
    query = f'{{ record(id: "{rid}") {{ ... on Contact {{ firstName lastName email phone }} }} }}'
    for headers in ({}, {"x-relata-execution": "standard"}):
        r = await tenant.admin.client.post(
            "/graphql",
            json={"query": query},
            headers={"authorization": f"Bearer {tenant.admin_token}", **headers},
        )
        assert r.json() == {
            "data": {
                "record": {"firstName": None, "lastName": "7", "email": "True", "phone": "555"}
            }
        }, headers


async def test_response_budget_refuses_before_any_sql(db, tenant) -> None:  # type: ignore[no-untyped-def]
    rid = await tenant.admin.create_record("contact", firstName="Ada")
    base = await warm_statements(tenant.admin)
    aliased = (
        "{ " + " ".join(f'a{i}: record(id: "{rid}") {{ properties }}' for i in range(30)) + " }"
    )
    # Within the default budget (128 MiB): 30 x 256 KB.
    assert "errors" not in (await tenant.admin.gql(aliased)).body
    # Fifty pages of 500 records' properties may return ~6.5 GB: refused, nothing runs.
    huge = (
        "{ "
        + " ".join(
            f'p{i}: records(objectKey: "contact", first: 500)'
            " { edges { node { properties } } }"
            for i in range(50)
        )
        + " }"
    )
    r = await tenant.admin.gql(huge)
    assert r.body["data"] is None
    assert r.error["extensions"]["limit"] == "responseBytes"
    assert r.error["extensions"]["value"] > 50 * 500 * RECORD_BYTES
    assert "RELATA_MAX_RESPONSE_BYTES" in r.error["message"]
    assert r.statements == base
    async with client_with(db, max_response_bytes=1_000_000) as client:
        api = Api(client, tenant.admin_token)
        base = await warm_statements(api)  # a new app: the token's lookup is paid again
        r = await api.gql(aliased)
        assert r.error["extensions"]["limit"] == "responseBytes"
        assert r.error["extensions"]["maximum"] == 1_000_000
        assert r.statements == base


async def test_query_text_is_bounded_comments_included(tenant) -> None:  # type: ignore[no-untyped-def]
    base = await warm_statements(tenant.user)
    commented = "# " + "c" * 150_000 + "\n{ viewer { role } }"  # 6 tokens, 150 KB
    r = await tenant.user.gql(commented)
    assert r.error["extensions"]["limit"] == "queryBytes"
    assert r.error["extensions"]["maximum"] == 100_000
    assert r.error["extensions"]["value"] == len(commented)
    assert "RELATA_MAX_QUERY_BYTES" in r.error["message"]
    assert r.statements == base
    multibyte = "# " + "é" * 60_000 + "\n{ viewer { role } }"  # 60,000 characters, 120 KB
    assert (await tenant.user.gql(multibyte)).error["extensions"]["limit"] == "queryBytes"
    assert (
        "errors" not in (await tenant.user.gql("# " + "c" * 90_000 + "\n{ viewer { role } }")).body
    )


async def test_document_cache_memory_is_bounded(db, tenant) -> None:  # type: ignore[no-untyped-def]
    budget = 4 * 2**20
    store = store_for(budget)
    async with client_with(db, document_cache_bytes=budget, rate_limit_per_second=0) as client:
        api = Api(client, tenant.user_token)
        gc.collect()
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            # 12 distinct documents just under the cacheable size, dense with fields (the
            # costliest to keep: ~70 bytes of AST per byte of text).
            for n in range(12):
                fields = " ".join(f"f{n}_{i}: __typename" for i in range(900))
                query = "{ " + fields[: CACHEABLE_QUERY_BYTES - 10].rsplit(" f", 1)[0] + " }"
                r = await api.gql(query)
                assert r.status == 200
            # And 5 large ones, which are never cached.
            for n in range(5):
                r = await api.gql(f"# {n} " + "c" * 80_000 + "\n{ viewer { role } }")
                assert "errors" not in r.body
            gc.collect()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert store.bytes <= budget
    assert 0 < len(store) <= 4  # each weighs ~1.1 MB of the 4 MB
    grown = after - before
    assert grown < budget + 2 * 2**20, f"the cache pinned {grown} bytes for a {budget} budget"
