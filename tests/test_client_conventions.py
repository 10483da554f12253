"""What GraphQL clients (GraphiQL, Relay, Apollo, codegen) and HighLevel's SDK types expect of
the schema: printable input defaults, nullable single-entity lookups (one stale id nulls one
field, not the whole answer), a label on both sides of every association, and the location
as a Node."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import build_client_schema, get_introspection_query, print_schema

from tests.helpers import Api

STANDARD = {"x-relata-execution": "standard"}
UNKNOWN = {
    "record": "rec_" + "0" * 32,
    "node": "rel_" + "0" * 32,
    "association": "asc_" + "0" * 32,
}


async def post(api: Api, query: str, variables: dict[str, Any], standard: bool) -> httpx.Response:
    headers = {"authorization": f"Bearer {api.token}", **(STANDARD if standard else {})}
    return await api.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def test_the_introspected_schema_prints_as_graphql_js_prints_it(tenant):
    # graphql-js's printSchema renders a default through astFromValue, which throws for an
    # object or list value of a custom scalar (`properties: JSON! = {}` once did): no input
    # default may be one. Scalars, enums and null print.
    data = await tenant.user.ok(get_introspection_query(descriptions=True))
    printed = print_schema(build_client_schema(data))
    assert "input CreateRecordInput" in printed
    for type_ in data["__schema"]["types"]:
        holders = [*(type_.get("inputFields") or [])]
        for f in type_.get("fields") or []:
            holders += f["args"]
        for holder in holders:
            default = holder["defaultValue"]
            assert default is None or not default.startswith(("{", "[")), (type_["name"], holder)


async def test_create_record_without_properties_or_with_null_has_none(tenant):
    for given in ({}, {"properties": None}):
        data = await tenant.user.ok(
            "mutation($i: CreateRecordInput!) { createRecord(input: $i) { properties } }",
            {"i": {"objectKey": "company", **given}},
        )
        assert data["createRecord"]["properties"] == {}
    inline = await tenant.user.ok('mutation { createRecord(input: {objectKey: "company"}) { id } }')
    assert inline["createRecord"]["id"].startswith("rec_")


LOOKUPS = {
    "record": "query($v: ID!) { viewer { role } x: record(id: $v) { id displayName } }",
    "node": "query($v: ID!) { viewer { role } x: node(id: $v) { id } }",
    "association": "query($v: ID!) { viewer { role } x: association(id: $v) { id key } }",
    "associationByKey": (
        "query($v: String!) { viewer { role } x: associationByKey(key: $v) { id key } }"
    ),
    "objectSchema": "query($v: String!) { viewer { role } x: objectSchema(key: $v) { id key } }",
}


async def test_a_stale_id_nulls_only_its_own_field_on_both_paths(tenant, other_tenant):
    foreign_record = await other_tenant.admin.create_record("contact", firstName="Other")
    foreign_assoc = await other_tenant.admin.create_association(
        key="foreign_only", firstObjectKey="contact", secondObjectKey="company",
        firstObjectLabel="A", secondObjectLabel="B",
    )  # fmt: skip
    await other_tenant.admin.create_object("foreign_obj")
    cases = {
        "record": [UNKNOWN["record"], foreign_record],
        "node": [UNKNOWN["node"], foreign_record, foreign_assoc["id"]],
        "association": [UNKNOWN["association"], foreign_assoc["id"]],
        "associationByKey": ["no_such_key", "foreign_only"],
        "objectSchema": ["no_such_object", "custom_objects.foreign_obj"],
    }
    for field, values in cases.items():
        for value in values:
            answers = []
            for standard in (True, False):
                r = await post(tenant.user, LOOKUPS[field], {"v": value}, standard)
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["data"] == {"viewer": {"role": "USER"}, "x": None}, (field, body)
                (error,) = body["errors"]
                assert error["path"] == ["x"] and error["extensions"]["code"] == "NOT_FOUND"
                answers.append(r.content)
            assert answers[0] == answers[1], field


async def test_another_locations_id_reads_like_an_unknown_one(tenant, other_tenant):
    foreign = await other_tenant.admin.create_record("contact", firstName="Other")
    unknown = "rec_" + foreign[4:][::-1]
    seen = []
    for value in (foreign, unknown):
        r = await tenant.user.gql(LOOKUPS["record"], {"v": value})
        error = r.error
        seen.append(
            (r.body["data"], error["extensions"]["code"], error["message"].replace(value, "ID"))
        )
    assert seen[0] == seen[1]


async def test_the_location_is_a_node_of_its_own_token_only(tenant, other_tenant):
    query = "{ viewer { location { id locationId name } } }"
    mine = (await tenant.user.ok(query))["viewer"]["location"]
    theirs = (await other_tenant.user.ok(query))["viewer"]["location"]
    assert mine["locationId"] == tenant.location and mine["id"].startswith("loc_")
    assert mine["id"] != theirs["id"] and len(mine["id"]) == len("rec_") + 32
    node = "query($id: ID!) { node(id: $id) { __typename id ... on Location { locationId name } } }"
    data = await tenant.user.ok(node, {"id": mine["id"]})
    assert data["node"] == {"__typename": "Location", **mine}
    # Stable: the same id every time.
    assert (await tenant.admin.ok(query))["viewer"]["location"]["id"] == mine["id"]
    for other in (theirs["id"], "loc_" + "0" * 32):
        r = await tenant.user.gql(node, {"id": other})
        assert r.body["data"] == {"node": None}
        assert r.code == "NOT_FOUND" and r.error["path"] == ["node"]
        assert other_tenant.location not in str(r.body)


async def test_single_and_pair_labels_read_the_same_on_both_paths(tenant):
    api = tenant.admin
    single = await api.create_association(
        key="colleague", firstObjectKey="contact", secondObjectKey="contact",
        firstObjectLabel="Colleague",
    )  # fmt: skip
    pair = await api.create_association(
        key="boss", firstObjectKey="contact", secondObjectKey="contact",
        firstObjectLabel="Manager", secondObjectLabel="Employee",
    )  # fmt: skip
    a = await api.create_record("contact", firstName="A")
    b = await api.create_record("contact", firstName="B")
    for association in (single, pair):
        assert (await api.link(association["id"], a, b)).status == 200
    query = (
        "query($id: ID!) { record(id: $id) { id relations { edges { label association {"
        " key firstObjectLabel secondObjectLabel labelType } } } } }"
    )
    slow = await post(api, query, {"id": a}, standard=True)
    fast = await post(api, query, {"id": a}, standard=False)
    assert slow.content == fast.content
    edges = fast.json()["data"]["record"]["relations"]["edges"]
    got = {e["association"]["key"]: e for e in edges}
    assert got["colleague"]["association"] == {
        "key": "colleague",
        "firstObjectLabel": "Colleague",
        "secondObjectLabel": "Colleague",
        "labelType": "SINGLE",
    }
    assert got["colleague"]["label"] == "Colleague"
    assert got["boss"]["association"]["labelType"] == "PAIR"
    assert got["boss"]["association"]["secondObjectLabel"] == "Employee"
    # The system association (two objects, two labels) is a pair.
    system = await api.ok('{ associationByKey(key: "contact_company") { labelType } }')
    assert system["associationByKey"]["labelType"] == "PAIR"
