"""Edges PostgreSQL writes as JSON text (db/rendering.py) read exactly as ordinary execution
answers them, on awkward text, and only selections it can write are rendered."""

from __future__ import annotations

import pytest

from app.graphql import registry, rendering, shaping
from db import rendering as db_rendering
from tests.test_shaping import post

# Quotes, backslashes, control characters, line separators, non-BMP and combining text: what
# JSON escaping can get wrong.
AWKWARD = [
    'O\'Brien "quoted" \\ back/slash',
    "tab\tnew\nline\rret\u0001\u001f\u007f",
    "\u2028\u2029 Zoë Ångström 名前 😀 e\u0301",
    "  spaced  ",
]

EVERY_VALUE = """
fragment Node on Record { __typename id objectKey displayName }
query($id: ID!) { record(id: $id) { id relations(first: 20) {
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { __typename cursor label
    relation { __typename id associationId firstRecordId secondRecordId }
    association { __typename id key firstObjectKey secondObjectKey firstObjectLabel
      secondObjectLabel firstToSecondLimit secondToFirstLimit }
    node { ...Node again: relations(first: 3) { edges { label node { ...Node } } } }
    second: node { id } } } } }
"""


async def awkward_graph(api):
    await api.create_object("gizmo", "Gizmo", "Gizmos")
    people = [
        await api.create_record("contact", firstName=a, lastName=b)
        for a, b in zip(AWKWARD, reversed(AWKWARD), strict=True)
    ]
    companies = [await api.create_record("company", name=n) for n in AWKWARD[:2]]
    gizmo = await api.create_record("gizmo", name=AWKWARD[2])
    # key -> (first object, second object, first label, second label or None: SINGLE)
    kinds = {
        "paired.key-1": ("contact", "contact", AWKWARD[0], AWKWARD[2]),
        "single": ("contact", "company", 'Ünïcode "label" 😀', None),
        "owns": ("gizmo", "contact", "Owned", "Owner"),
    }
    made = {}
    for key, (first, second, first_label, second_label) in kinds.items():
        labels = {"firstObjectLabel": first_label}
        if second_label is not None:
            labels["secondObjectLabel"] = second_label
        made[key] = (
            await api.create_association(
                key=key, firstObjectKey=first, secondObjectKey=second, **labels
            )
        )["id"]
    paired, single, owns = made.values()
    links = [(paired, people[0], p) for p in people[1:]]
    links += [(paired, people[1], people[2]), (single, people[0], companies[0])]
    links += [(single, p, companies[1]) for p in people[1:]]
    links += [(owns, gizmo, p) for p in people]
    await api.ok(
        "mutation($i: [CreateRelationInput!]!) { createRelations(input: $i) { id } }",
        {"i": [{"associationId": a, "firstRecordId": f, "secondRecordId": s} for a, f, s in links]},
    )
    return people, companies, gizmo


@pytest.fixture
def rendered_levels(monkeypatch):
    calls = []
    original = shaping.Shaper._edges_text

    def counting(self, page, rendered):
        calls.append(rendered)
        return original(self, page, rendered)

    monkeypatch.setattr(shaping.Shaper, "_edges_text", counting)
    return calls


async def both_paths(client, tenant, query, variables):
    slow = await post(client, tenant.admin_token, query, variables, standard=True)
    fast = await post(client, tenant.admin_token, query, variables, standard=False)
    assert "errors" not in slow.json(), slow.json()
    assert fast.headers["x-relata-execution"] == "pre-shaped"
    assert fast.content == slow.content  # byte for byte
    return fast.json()["data"]


async def test_every_rendered_value_reads_as_ordinary_execution(client, tenant, rendered_levels):
    people, companies, gizmo = await awkward_graph(tenant.admin)
    for record in (people[0], people[1], companies[1], gizmo):
        data = await both_paths(client, tenant, EVERY_VALUE, {"id": record})
        assert data["record"]["relations"]["edges"]
    # Both levels were written by PostgreSQL, the outer one with its nested connections.
    assert {r.nested is None for r in rendered_levels} == {True, False}
    # The last record is the gizmo: its owners' awkward names came through PostgreSQL's text.
    names = {e["node"]["displayName"] for e in data["record"]["relations"]["edges"]}
    assert any("\t" in n or '"' in n or "😀" in n for n in names), names


async def test_record_types_with_different_selections_are_one_statement(
    client, tenant, rendered_levels
):
    people, _, gizmo = await awkward_graph(tenant.admin)
    query = """query($id: ID!) { record(id: $id) { relations { edges { label node {
      ... on Contact { id firstHalf: displayName relations(first: 2) { edges { node { id } } } }
      ... on Company { objectKey }
      ... on CustomObjectRecord { __typename id } } } } } }"""
    for record in (people[0], gizmo):
        await both_paths(client, tenant, query, {"id": record})
    (outer, *_) = [r for r in rendered_levels if r.nested is not None]
    keys = [key for key, _ in outer.text]
    assert keys[-1] is None and set(keys[:-1]) == {"contact", "company", "opportunity"}
    assert "case r.object_key" in db_rendering.edge_sql(outer.text)


@pytest.mark.parametrize(
    "edge",
    [
        "label node { createdAt }",  # a timestamp: Python's isoformat
        "node { properties }",  # JSON: key order and spacing of Python's encoder
        "node { ... on Contact { firstName } }",  # a typed field read from properties
        "association { cardinality }",  # an enum
        "relation { createdAt }",
    ],
)
async def test_fields_postgres_does_not_write_are_shaped_in_python(
    client, tenant, rendered_levels, edge
):
    people, _, _ = await awkward_graph(tenant.admin)
    query = f"query($id: ID!) {{ record(id: $id) {{ relations {{ edges {{ {edge} }} }} }} }}"
    await both_paths(client, tenant, query, {"id": people[0]})
    assert not rendered_levels


async def test_two_edges_selections_are_shaped_in_python(client, tenant, rendered_levels):
    people, _, _ = await awkward_graph(tenant.admin)
    query = """query($id: ID!) { record(id: $id) { relations {
      a: edges { label } b: edges { node { id } } } } }"""
    await both_paths(client, tenant, query, {"id": people[0]})
    assert not rendered_levels


def test_every_rendered_field_is_a_registry_field_with_a_sql_value():
    for type_name, fields in rendering.VALUES.items():
        for name, value in fields.items():
            assert value in db_rendering.VALUES, value
            if type_name != "RelationEdge":
                assert name in registry.LEAVES[type_name], (type_name, name)
    assert set(db_rendering.VALUES) == {
        v for fields in rendering.VALUES.values() for v in fields.values()
    }


PAGE_INFO = "totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


@pytest.mark.parametrize(
    "window",
    ["first: 2", "first: 2, after: $cursor", "last: 2", "last: 2, before: $cursor", "first: 500"],
)
async def test_pages_postgres_joins_read_as_ordinary_execution(
    client, tenant, rendered_levels, window
):
    """A level without nested relations comes as one row per parent, its edges joined by
    PostgreSQL: the same page, flags, cursors and totals as ordinary execution."""
    people, companies, gizmo = await awkward_graph(tenant.admin)
    lonely = await tenant.admin.create_record("contact", firstName="No relations")
    first_page = await both_paths(
        client,
        tenant,
        "query($id: ID!) { record(id: $id) { relations(first: 2) { pageInfo { endCursor } } } }",
        {"id": people[0]},
    )
    cursor = first_page["record"]["relations"]["pageInfo"]["endCursor"]
    uses_cursor = "$cursor" in window
    declared = ", $cursor: String" if uses_cursor else ""
    edges = f"relations({window}) {{ {PAGE_INFO} edges {{ cursor label node {{ id }} }} }}"
    page = f"query($id: ID!{declared}) {{ record(id: $id) {{ id {edges} }} }}"
    listed = f"""query($k: String!{declared}) {{ records(objectKey: $k, first: 20) {{ edges {{
      node {{ id {edges} }} }} }} }}"""
    for record in (people[0], people[3], companies[1], gizmo, lonely):
        variables = {"id": record, **({"cursor": cursor} if uses_cursor else {})}
        await both_paths(client, tenant, page, variables)
    for key in ("contact", "company", "gizmo"):
        variables = {"k": key, **({"cursor": cursor} if uses_cursor else {})}
        await both_paths(client, tenant, listed, variables)
    assert rendered_levels and all(r.nested is None for r in rendered_levels)
