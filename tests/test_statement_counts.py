"""SQL statements per request, pinned: traversal costs one statement per relation level, however
many records the level holds. A new N+1 makes these numbers grow with N and fails here.

The pins are for a token whose lookup the server remembers (app/services/token_cache.py: for at
most 1 s), so authentication sends nothing; the first request of a token pays the lookup, one
statement more, which `run` checks on every token's first request before pinning the second."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.graphql import shaping
from app.services.token_cache import TokenCache
from app.web import create_app
from tests.assoc_support import association, bulk_records, link_many, rel
from tests.helpers import Api, Response
from tests.test_shaping import SPLIT_DEEPER, SPLIT_QUERY, build_graph

# Both execution paths must meet the same budget: the pre-shaped one (default) and the ordinary
# executor with request-scoped dataloaders (asked for with this header).
PATHS = [None, "standard"]


Run = Callable[..., Awaitable[Response]]


@pytest.fixture
async def run(db) -> AsyncIterator[Run]:  # type: ignore[no-untyped-def]
    """Sends a query as `api`'s token to an app of its own whose token cache never sees time pass
    (so whether a lookup is remembered depends on the test, not on how busy the machine is):
    the response of a token's second request, after checking that its first one cost exactly
    one statement more (the token's lookup)."""
    app = create_app(Settings(), database=db)
    app.state.auth_cache = TokenCache(clock=lambda: 0.0)
    looked_up: set[str] = set()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relata.test") as client:

        async def send(
            api: Api, path: str | None, query: str, variables: dict[str, Any] | None = None
        ) -> Response:
            headers = {"authorization": f"Bearer {api.token}"}
            if path is not None:
                headers["x-relata-execution"] = path
            body = {"query": query, "variables": variables or {}}
            r = await client.post("/graphql", json=body, headers=headers)
            response = Response(r.status_code, r.json(), int(r.headers["x-relata-sql-statements"]))
            if api.token in looked_up:
                return response
            looked_up.add(api.token or "")
            r = await client.post("/graphql", json=body, headers=headers)
            warm = Response(r.status_code, r.json(), int(r.headers["x-relata-sql-statements"]))
            assert (response.status, response.body) == (warm.status, warm.body)
            assert response.statements == warm.statements + 1, "the first request pays the lookup"
            return warm

        yield send


# Every record has at most 3 relations; pages of 10 keep the estimate (100 x 10 x 10 labelled
# edges) well inside the response budget.
NESTED = """
{
  records(objectKey: "company", first: 100) {
    edges { node { relations(first: 10) { edges { node {
      relations(first: 10) { edges { node { id } label } } } } } } }
  }
}
"""

# The same traversal read backward: the last page of every parent at each level.
NESTED_BACKWARD = """
{
  records(objectKey: "company", last: 100) {
    edges { node { relations(last: 10) { pageInfo { hasPreviousPage startCursor } edges { node {
      relations(last: 10) { edges { node { id } label } } } } } } }
  }
}
"""

NESTED_WITH_TOTALS = """
{
  records(objectKey: "company", first: 100) {
    totalCount
    edges { node { id relations(first: 10) { totalCount edges { label node { id
      relations(first: 10) { totalCount edges { node { id } label } } } } } } }
  }
}
"""

Q1 = """
query($id: ID!) {
  record(id: $id) {
    id displayName
    relations(first: 20) {
      pageInfo { hasNextPage endCursor }
      edges { cursor label node { id displayName } association { key } relation { id } }
    }
  }
}
"""

Q1_WITH_TOTAL = """
query($id: ID!) {
  record(id: $id) {
    id
    relations(first: 20) { totalCount edges { label node { id } } }
  }
}
"""


async def graph(db, tenant, n: int):  # type: ignore[no-untyped-def]
    """`n` companies, each with 3 contacts (Employees), each contact also a Colleague of two
    other contacts: every level of the nested query is populated."""
    works = await association(
        tenant.admin,
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    peers = await association(
        tenant.admin,
        key="colleague",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Colleague",
    )
    companies = await bulk_records(db, tenant.location, "company", n)
    contacts = await bulk_records(db, tenant.location, "contact", 3 * n)
    items = [
        rel(works["id"], contacts[3 * i + j], co)
        for i, co in enumerate(companies)
        for j in range(3)
    ]
    items += [
        rel(peers["id"], contacts[i], contacts[(i + 1) % len(contacts)])
        for i in range(len(contacts))
    ]
    await link_many(tenant.user, items)
    return companies, contacts


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("n", [5, 50])
async def test_nested_traversal_costs_the_same_for_any_n(db, tenant, n, path, run):
    await graph(db, tenant, n)
    r = await run(tenant.user, path, NESTED)
    edges = r.data["records"]["edges"]
    assert len(edges) == n
    # Every company sees its 3 employees, each of whom sees its company and 2 colleagues.
    assert all(len(e["node"]["relations"]["edges"]) == 3 for e in edges)
    inner = edges[0]["node"]["relations"]["edges"][0]["node"]["relations"]["edges"]
    assert sorted(x["label"] for x in inner) == ["Colleague", "Colleague", "Employer"]
    # (the token's lookup: only on its first request; see `run`)
    # 1 records page (the object's existence is checked only when the page is empty)
    # 1 relations of all n companies (level 1: one statement for every parent)
    # 1 relations of all 3n contacts (level 2: one statement for every parent)
    assert r.statements == 3


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("n", [5, 50])
async def test_backward_traversal_costs_what_forward_costs(db, tenant, n, path, run):
    await graph(db, tenant, n)
    forward = await run(tenant.user, path, NESTED)
    backward = await run(tenant.user, path, NESTED_BACKWARD)
    edges = backward.data["records"]["edges"]
    assert len(edges) == n
    assert all(len(e["node"]["relations"]["edges"]) == 3 for e in edges)
    inner = edges[0]["node"]["relations"]["edges"][0]["node"]["relations"]["edges"]
    assert sorted(x["label"] for x in inner) == ["Colleague", "Colleague", "Employer"]
    # Backward pages are one statement per level too (each parent's page read by the same
    # LATERAL, scanning the indexes backward).
    assert backward.statements == forward.statements == 3


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("n", [5, 50])
async def test_nested_traversal_with_totals(db, tenant, n, path, run):
    await graph(db, tenant, n)
    r = await run(tenant.user, path, NESTED_WITH_TOTALS)
    data = r.data["records"]
    assert data["totalCount"] == n
    assert all(e["node"]["relations"]["totalCount"] == 3 for e in data["edges"])
    # Same three: the records total and each parent's relation total are columns of the page
    # statements they belong to.
    assert r.statements == 3


@pytest.mark.parametrize("path", PATHS)
async def test_single_record_with_relations(db, tenant, path, run):
    _, contacts = await graph(db, tenant, 2)
    r = await run(tenant.user, path, Q1, {"id": contacts[0]})
    conn = r.data["record"]["relations"]
    assert len(conn["edges"]) == 3
    # The record and its relations page with the related records and associations joined in
    # (edge.node, edge.association and edge.relation cost nothing more): one statement on the
    # pre-shaped path, two (the record, its relations) on the ordinary one; the token's first
    # request also paid its lookup (checked by `run`).
    page = {None: 1, "standard": 2}[path]
    assert r.statements == page
    r = await run(tenant.user, path, Q1_WITH_TOTAL, {"id": contacts[0]})
    assert r.data["record"]["relations"]["totalCount"] == 3
    # The total is a column of the same relations statement.
    assert r.statements == page


MIXED_LEVELS = """
{
  records(objectKey: "contact", first: 20) { edges { node { relations(first: 5) { edges {
    node { relations(first: 5) { edges { node { ... on Company { name }
      relations(first: 5) { edges { label node { id } } } } } } } } } } } }
}
"""


@pytest.mark.parametrize("path", PATHS)
async def test_a_level_of_mixed_record_types_is_one_statement(db, tenant, run, path):
    await graph(db, tenant, 5)
    r = await run(tenant.user, path, MIXED_LEVELS)
    level2 = {
        inner["node"].get("name") is not None
        for e in r.data["records"]["edges"]
        for outer in e["node"]["relations"]["edges"]
        for inner in outer["node"]["relations"]["edges"]
    }
    assert level2 == {True, False}  # companies and contacts side by side at level 2
    # The records page, then one statement per relation level whatever the types in it (the
    # ordinary path's loaders may answer level 3 from what levels 1 and 2 loaded).
    assert r.statements == 4 if path is None else r.statements <= 4


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("n", [5, 50])
async def test_relation_fields_are_batched(db, tenant, n, path, run):
    await graph(db, tenant, n)
    r = await run(
        tenant.user,
        path,
        '{ records(objectKey: "company", first: 100) { edges { node { relations { edges {'
        " relation { association { key relationCount } firstRecord { id } secondRecord { id }"
        " } } } } } } }",
    )
    assert len(r.data["records"]["edges"]) == n
    # 1 records page, 1 relations level (the token's lookup only on its first request);
    # relation.association and relation.firstRecord (the contact) come from loaders the page
    # primed; relation.secondRecord is the parent company, not primed: 1 batched record lookup;
    # relationCount: 1 batched count for every association.
    assert r.statements == 4


@pytest.mark.parametrize(("query", "levels"), [(SPLIT_QUERY, 3), (SPLIT_DEEPER, 4)])
async def test_a_large_last_level_costs_one_statement_more(run, tenant, monkeypatch, query, levels):
    """A last level of more than SPLIT_PARENTS parents is read in two statements side by side;
    only one level per request is, so a request stays within levels + 2."""
    await build_graph(tenant.admin)
    whole = await run(tenant.admin, None, query)
    assert whole.statements == levels
    monkeypatch.setattr(shaping, "SPLIT_PARENTS", 2)  # the test graph's levels are small
    split = await run(tenant.admin, None, query)
    assert split.body == whole.body
    assert split.statements == levels + 1
