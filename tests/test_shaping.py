"""The pre-shaped execution path answers exactly what ordinary execution answers."""

from __future__ import annotations

import pytest

from app.graphql import shaping

REL = """
fragment Rec on Record { __typename id objectKey displayName properties createdAt updatedAt }
fragment Edge on RelationEdge {
  cursor label
  relation { __typename id associationId firstRecordId secondRecordId createdAt }
  association { __typename id key associationType firstObjectKey secondObjectKey
    firstObjectLabel secondObjectLabel cardinality firstToSecondLimit secondToFirstLimit
    description createdAt updatedAt }
}
"""

QUERIES = [
    # Q2 shape: three levels, with every kind of selection the fast path supports.
    REL
    + """
    query($k: String!, $n: Int, $m: Int, $withPhone: Boolean!) {
      records(objectKey: $k, first: 20) {
        __typename totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
        edges { cursor node { ...Rec
          ... on Contact { firstName lastName email phone @include(if: $withPhone) }
          rel: relations(first: $n) { totalCount
            pageInfo { hasNextPage endCursor }
            edges { ...Edge node { ...Rec ... on Company { name }
              ... on CustomObjectRecord { objectKey }
              ... on Opportunity { name status monetaryValue }
              relations(first: $m) { edges { label node { id displayName } } } } } }
          other: relations(first: 1, objectKey: "company") { edges { label node { id } } }
        } }
      }
    }""",
    # Filters, skip, aliases of scalars, page after a cursor.
    """
    query($k: String!, $skipMe: Boolean!) {
      records(objectKey: $k, first: 3) { edges { node {
        id name: displayName
        managers: relations(associationKey: "manager_employee") {
          totalCount edges { label node { __typename id } } }
        colleagues: relations(associationKey: "colleague", first: 1) {
          pageInfo { hasNextPage } edges { node { id } cursor } }
        hidden: relations @skip(if: $skipMe) { totalCount }
      } } }
    }""",
    # Each optional column group alone (the fast path fetches only what is selected).
    """
    query($k: String!) {
      records(objectKey: $k, first: 4) { edges { node {
        a: relations { edges { node { ... on Opportunity { monetaryValue } } } }
        b: relations { edges { node { ... on Contact { phone } } } }
        c: relations { edges { node { createdAt } } }
        d: relations { edges { relation { createdAt } } }
        e: relations { edges { association { key cardinality } } }
        f: relations { edges { node { displayName ... on Company { name } } } }
      } } }
    }""",
]


async def build_graph(api):
    await api.create_object("property", "Property", "Properties")
    contacts = [
        await api.create_record("contact", firstName=f"C{i}", lastName="X", phone=str(i))
        for i in range(6)
    ]
    companies = [await api.create_record("company", name=f"Co{i}") for i in range(2)]
    props = [await api.create_record("property", name=f"P{i}") for i in range(2)]
    deal = await api.create_record("opportunity", name="Deal", status="open", monetaryValue=3)
    works = (await api.ok('{ associationByKey(key: "contact_company") { id } }'))[
        "associationByKey"
    ]["id"]
    manager = (
        await api.create_association(
            key="manager_employee",
            firstObjectKey="contact",
            secondObjectKey="contact",
            firstObjectLabel="Manager",
            secondObjectLabel="Employee",
            cardinality="ONE_TO_MANY",
        )
    )["id"]
    colleague = (
        await api.create_association(
            key="colleague",
            firstObjectKey="contact",
            secondObjectKey="contact",
            firstObjectLabel="Colleague",
        )
    )["id"]
    owner = (
        await api.create_association(
            key="owner",
            firstObjectKey="property",
            secondObjectKey="contact",
            firstObjectLabel="Owned",
            secondObjectLabel="Owner",
            description="d",
        )
    )["id"]
    deal_assoc = (
        await api.create_association(
            key="deal_contact",
            firstObjectKey="opportunity",
            secondObjectKey="contact",
            firstObjectLabel="Deal",
        )
    )["id"]
    links = [(works, c, companies[i % 2]) for i, c in enumerate(contacts)]
    links += [(manager, contacts[0], c) for c in contacts[1:4]]
    links += [(colleague, contacts[i], contacts[i + 1]) for i in range(5)]
    links += [
        (owner, props[0], contacts[0]),
        (owner, props[1], contacts[0]),
        (owner, props[1], contacts[2]),
        (deal_assoc, deal, contacts[0]),
    ]
    await api.ok(
        "mutation($i: [CreateRelationInput!]!) { createRelations(input: $i) { id } }",
        {"i": [{"associationId": a, "firstRecordId": f, "secondRecordId": s} for a, f, s in links]},
    )
    return contacts


async def post(client, token, query, variables, standard):
    headers = {"authorization": f"Bearer {token}"}
    if standard:
        headers["x-relata-execution"] = "standard"
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return r


@pytest.fixture
def shaped_calls(monkeypatch):
    calls = []
    original = shaping.Shaper.record

    def counting(self, m, plans):
        calls.append(m["r_id"])
        return original(self, m, plans)

    monkeypatch.setattr(shaping.Shaper, "record", counting)
    return calls


@pytest.mark.parametrize("index", range(len(QUERIES)))
async def test_fast_path_equals_ordinary_execution(client, tenant, shaped_calls, index):
    await build_graph(tenant.admin)
    variables = {"k": "contact", "n": 2, "m": 2, "withPhone": True, "skipMe": True}
    slow = await post(client, tenant.admin_token, QUERIES[index], variables, standard=True)
    assert not shaped_calls
    fast = await post(client, tenant.admin_token, QUERIES[index], variables, standard=False)
    assert shaped_calls, "the fast path was not taken"
    assert "errors" not in slow.json(), slow.json()
    assert fast.content == slow.content  # byte for byte: values, nulls and key order


async def test_record_page_and_second_page_match(client, tenant, shaped_calls):
    contacts = await build_graph(tenant.admin)
    query = (
        REL
        + """query($id: ID!, $after: String) { record(id: $id) { ...Rec
      relations(first: 2, after: $after) { totalCount pageInfo { endCursor hasNextPage
      hasPreviousPage } edges { ...Edge node { ...Rec } } } } }"""
    )
    first = await post(client, tenant.admin_token, query, {"id": contacts[0]}, standard=True)
    cursor = first.json()["data"]["record"]["relations"]["pageInfo"]["endCursor"]
    for variables in ({"id": contacts[0]}, {"id": contacts[0], "after": cursor}):
        slow = await post(client, tenant.admin_token, query, variables, standard=True)
        fast = await post(client, tenant.admin_token, query, variables, standard=False)
        assert fast.content == slow.content
    assert shaped_calls


async def test_unsupported_fields_fall_back(client, tenant, shaped_calls):
    await build_graph(tenant.admin)
    query = """{ records(objectKey: "contact") { edges { node { id relations { edges {
      association { relationCount } relation { firstRecord { id } } } } } } } }"""
    slow = await post(client, tenant.admin_token, query, {}, standard=True)
    fast = await post(client, tenant.admin_token, query, {}, standard=False)
    assert fast.content == slow.content
    assert not shaped_calls


async def test_errors_match_ordinary_execution(client, tenant):
    await build_graph(tenant.admin)
    query = (
        '{ records(objectKey: "contact") { edges { node { relations(first: 501) {'
        " totalCount } } } } }"
    )
    slow = await post(client, tenant.admin_token, query, {}, standard=True)
    fast = await post(client, tenant.admin_token, query, {}, standard=False)
    assert fast.json() == slow.json()
    assert fast.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_missing_relation_scope_is_forbidden_on_both_paths(db, client, tenant):
    from app.services.tokens import create_token

    await build_graph(tenant.admin)
    token = await create_token(db, tenant.location, "user", ["objects/record.readonly"])
    query = '{ records(objectKey: "contact") { edges { node { id relations { totalCount } } } } }'
    slow = await post(client, token, query, {}, standard=True)
    fast = await post(client, token, query, {}, standard=False)
    assert fast.json() == slow.json()
    assert fast.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_filters_combine_with_a_cursor_on_both_paths(client, tenant):
    """Every filter argument at once, plus `after`: each lands in its own SQL placeholder."""
    contacts = await build_graph(tenant.admin)
    manager = (await tenant.admin.ok('{ associationByKey(key: "manager_employee") { id } }'))[
        "associationByKey"
    ]["id"]
    query = """query($id: ID!, $a: ID, $k: String, $o: String, $after: String) {
      record(id: $id) { relations(associationId: $a, associationKey: $k, objectKey: $o,
        first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { label node { id } } } } }"""
    for standard in (True, False):
        seen, after = [], None
        while True:
            variables = {
                "id": contacts[0],
                "a": manager,
                "k": "manager_employee",
                "o": "contact",
                "after": after,
            }
            r = await post(client, tenant.admin_token, query, variables, standard)
            conn = r.json()["data"]["record"]["relations"]
            assert conn["totalCount"] == 3
            assert [e["label"] for e in conn["edges"]] == ["Employee"]
            seen += [e["node"]["id"] for e in conn["edges"]]
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        assert sorted(seen) == sorted(contacts[1:4])
        variables = {"id": contacts[0], "a": manager, "k": "manager_employee", "o": "company"}
        r = await post(client, tenant.admin_token, query, variables, standard)
        assert r.json()["data"]["record"]["relations"]["totalCount"] == 0


SPLIT_QUERY = """{ records(objectKey: "contact") { edges { node { id relations(first: 3) {
  edges { label node { id displayName relations(first: 2) { edges { label node { id } } } } }
} } } } }"""
SPLIT_DEEPER = SPLIT_QUERY.replace(
    "node { id } } }", "node { id relations { edges { node { id } } } } } }"
)


@pytest.mark.parametrize("query", [SPLIT_QUERY, SPLIT_DEEPER])
async def test_a_large_level_is_read_in_parts_side_by_side(client, tenant, monkeypatch, query):
    """(Its statement counts are pinned in tests/test_statement_counts.py.)"""
    await build_graph(tenant.admin)
    whole = await post(client, tenant.admin_token, query, {}, standard=False)
    monkeypatch.setattr(shaping, "SPLIT_PARENTS", 2)  # the test graph's levels are small
    split = await post(client, tenant.admin_token, query, {}, standard=False)
    slow = await post(client, tenant.admin_token, query, {}, standard=True)
    assert split.headers["x-relata-execution"] == "pre-shaped"
    assert split.content == whole.content == slow.content
