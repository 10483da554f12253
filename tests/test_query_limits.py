"""Abuse limits on GraphQL documents: depth, aliases, tokens and the cost budget. Each refusal is
a BAD_USER_INPUT naming the limit and the value, and nothing runs (one SQL statement: the
token lookup)."""

from __future__ import annotations

import time

import pytest
from graphql import parse

from app.graphql.extensions import estimate_cost
from app.schema import schema as served_schema
from tests.hardening_support import client_with, nested_relations
from tests.helpers import Api, warm_statements


async def baseline_statements(api: Api) -> int:
    """What a request costs before any resolver: nothing, once its token's lookup is paid."""
    return await warm_statements(api)


def assert_refused(r, limit: str, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status == 200
    assert r.body["data"] is None
    error = r.error
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["limit"] == limit, error
    for text in fragments:
        assert text in error["message"], error["message"]


async def test_depth_limit_names_limit_and_depth(tenant):
    base = await baseline_statements(tenant.user)
    query = nested_relations(6)  # records/edges/node + 6 x (relations/edges/node) + id = 22
    r = await tenant.user.gql(query)
    assert_refused(r, "depth", "22 fields deep", "depth limit is 20", "RELATA_MAX_DEPTH")
    assert r.error["extensions"]["value"] == 22
    assert r.statements == base  # refused before execution
    assert (await tenant.user.gql(nested_relations(5, first=1))).body.get("errors") is None


async def test_depth_counts_through_fragments(tenant):
    fragment = "fragment Deep on Record { relations { edges { node { ...Deeper } } } }\n"
    fragment += (
        "fragment Deeper on Record { relations { edges { node { "
        + ("relations { edges { node { " * 4 + "id" + " } } }" * 4)
        + " } } } }\n"
    )
    query = 'query Q { records(objectKey: "contact") { edges { node { ...Deep } } } }\n'
    r = await tenant.user.gql(query + fragment)
    assert_refused(r, "depth", "Q is 22 fields deep")


async def test_depth_limit_is_configurable(db, tenant):
    async with client_with(db, max_depth=3) as client:
        api = Api(client, tenant.user_token)
        assert (await api.gql("{ viewer { location { id } } }")).body.get("errors") is None
        r = await api.gql('{ records(objectKey: "contact") { edges { node { id } } } }')
        assert_refused(r, "depth", "4 fields deep", "depth limit is 3")


async def test_alias_limit(tenant):
    base = await baseline_statements(tenant.user)
    ok = "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(50)) + " }"
    assert (await tenant.user.gql(ok)).body.get("errors") is None
    over = "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(51)) + " }"
    r = await tenant.user.gql(over)
    assert_refused(r, "aliases", "51 aliases", "alias limit is 50", "RELATA_MAX_ALIASES")
    assert r.statements == base


async def test_alias_limit_counts_fragment_spreads_without_blowing_up(tenant):
    # 10 fragments, each spreading the next 6 times under an alias: 6^9 aliases once expanded.
    # Strawberry's own counter re-walks each spread (seconds of CPU); ours counts each once.
    parts = ['query Bomb { record(id: "x") { ...F0 } }']
    for i in range(10):
        body = (
            " ".join(f"a{j}: relations {{ edges {{ node {{ ...F{i + 1} }} }} }}" for j in range(6))
            if i < 9
            else "id"
        )
        parts.append(f"fragment F{i} on Record {{ {body} }}")
    started = time.perf_counter()
    r = await tenant.user.gql("\n".join(parts))
    assert time.perf_counter() - started < 1.0
    assert r.body["data"] is None
    codes = {e["extensions"]["code"] for e in r.body["errors"]}
    assert codes == {"BAD_USER_INPUT"}
    limits = {e["extensions"].get("limit") for e in r.body["errors"]}
    assert "aliases" in limits and "depth" in limits


async def test_token_limit(db, tenant):
    async with client_with(db, max_tokens=100) as client:
        api = Api(client, tenant.user_token)
        small = "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"  # 92 tokens
        assert (await api.gql(small)).body.get("errors") is None
        big = "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
        r = await api.gql(big)
        assert_refused(r, "tokens", "more than 100 tokens", "token limit is 100")
    # The default (5000) refuses a document of ~6000 tokens.
    huge = "{ " + " ".join("__typename" for _ in range(6000)) + " }"
    assert_refused(await tenant.user.gql(huge), "tokens", "token limit is 5000")


async def test_cost_budget_refuses_before_execution(tenant):
    base = await baseline_statements(tenant.user)
    # 500 + 500*500 + 500*500*50 = 12,750,500 items.
    query = (
        '{ records(objectKey: "contact", first: 500) { edges { node {'
        " relations(first: 500) { edges { node { relations { edges { node { id } } } } } } } } } }"
    )
    r = await tenant.user.gql(query)
    assert_refused(r, "cost", "12750500", "cost budget of 500000", "RELATA_MAX_COST")
    assert r.error["extensions"]["value"] == 12_750_500
    assert r.error["extensions"]["maximum"] == 500_000
    assert r.statements == base


async def test_cost_uses_variables_and_is_configurable(db, tenant):
    query = (
        'query Page($n: Int) { records(objectKey: "contact", first: $n) {'
        " edges { node { relations(first: $n) { edges { node { id } } } } } } }"
    )
    async with client_with(db, max_cost=110) as client:
        api = Api(client, tenant.user_token)
        assert (await api.gql(query, {"n": 10})).body.get("errors") is None  # 10 + 100
        r = await api.gql(query, {"n": 11})  # 11 + 121
        assert_refused(r, "cost", "Page may return 132 items", "cost budget of 110")
        r = await api.gql(query, {})  # defaults: 50 + 50*50
        assert_refused(r, "cost", "2550 items")


async def test_first_is_capped_at_500(tenant):
    r = await tenant.user.gql('{ records(objectKey: "contact", first: 501) { totalCount } }')
    assert r.code == "BAD_USER_INPUT"
    assert "500" in r.error["message"]


def cost(query: str, variables: dict | None = None) -> int:  # type: ignore[type-arg]
    estimated = estimate_cost(served_schema._schema, parse(query), None, variables)
    assert estimated is not None
    return estimated.items


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ viewer { role } }", 1),
        ('{ records(objectKey: "contact", first: 10) { totalCount } }', 1),
        ('{ records(objectKey: "contact") { edges { node { id } } } }', 50),
        (
            '{ records(objectKey: "c", first: 10) {'
            " edges { node { id } } pageInfo { hasNextPage } } }",
            10,
        ),
        (nested_relations(1, first=10), 10 + 100),
        (nested_relations(2, first=10), 10 + 100 + 1000),
        # The lists without pages weigh what a location can hold: 103 objects, 1000 associations.
        ("{ objectSchemas { key } associations { id } }", 1103),
        (
            '{ records(objectKey: "c", first: 4) { edges { node { ...R } } } }'
            " fragment R on Record { relations(first: 3) { edges { node { id } } } }",
            4 + 12,
        ),
        (
            '{ records(objectKey: "c", first: 4) { edges { node {'
            " ... on Contact { relations(first: 3) { edges { node { id } } } } } } } }",
            4 + 12,
        ),
    ],
)
def test_cost_estimates(query, expected):
    assert cost(query) == expected


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        # `last` counts like `first`; `first` left at its default (50) beside it does not.
        ('{ records(objectKey: "c", last: 10) { edges { node { id } } } }', None, 10),
        (
            '{ records(objectKey: "c", last: 4) { edges { node {'
            " relations(last: 3) { edges { node { id } } } } } } }",
            None,
            4 + 12,
        ),
        (
            'query($n: Int, $f: Int) { records(objectKey: "c", first: $f, last: $n) {'
            " edges { node { id } } } }",
            {"n": 7},
            7,
        ),
        # A `first` given beside `last` (refused when it runs) counts the larger page.
        ('{ records(objectKey: "c", first: 400, last: 2) { edges { node { id } } } }', None, 400),
        ('{ records(objectKey: "c", first: 2, last: 300) { edges { node { id } } } }', None, 300),
        ('{ records(objectKey: "c", last: null) { edges { node { id } } } }', None, 50),
    ],
)
def test_cost_counts_last_like_first(query, variables, expected):
    assert cost(query, variables) == expected


async def test_cost_budget_refuses_large_backward_pages(tenant):
    base = await baseline_statements(tenant.user)
    # 500 + 500*500 + 500*500*2 = 750,500 items.
    query = (
        '{ records(objectKey: "contact", last: 500) { edges { node { relations(last: 500) {'
        " edges { node { relations(last: 2) { edges { node { id } } } } } } } } } }"
    )
    r = await tenant.user.gql(query)
    assert_refused(r, "cost", "750500", "`first` or `last`")
    assert r.statements == base


def test_cost_of_list_arguments():
    query = (
        "mutation($i: [CreateRelationInput!]!) { createRelations(input: $i) {"
        " firstRecord { relations(first: 2) { edges { node { id } } } } } }"
    )
    item = {"associationId": "a", "firstRecordId": "b", "secondRecordId": "c"}
    assert cost(query, {"i": [item] * 3}) == 3 + 3 * 2
