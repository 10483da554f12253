"""GraphQL and REST are two doors to the same service layer: same ids, same data."""

from __future__ import annotations

from tests.rest_support import admin

RELATIONS_OF = """
query($id: ID!) { record(id: $id) { id relations { totalCount edges {
  label node { id } association { id key }
  relation { id associationId firstRecordId secondRecordId } } } } }
"""


async def test_graphql_and_rest_see_the_same_associations_and_relations(tenant):
    gql = tenant.admin
    rest = admin(tenant)

    # Defined through GraphQL, read through REST.
    await gql.create_object("property", "Property", "Properties")
    by_gql = await gql.create_association(
        key="owner",
        firstObjectKey="contact",
        secondObjectKey="property",
        firstObjectLabel="Owner",
        secondObjectLabel="Owned",
        cardinality="ONE_TO_MANY",
    )
    r = await rest.get(f"/associations/{by_gql['id']}")
    assert r.status_code == 200, r.text
    seen = r.json()
    for field in (
        "id",
        "key",
        "firstObjectKey",
        "secondObjectKey",
        "firstObjectLabel",
        "secondObjectLabel",
        "firstToSecondLimit",
        "secondToFirstLimit",
        "associationType",
        "cardinality",
    ):
        assert seen[field] == by_gql[field], field

    # Defined through REST, read through GraphQL.
    by_rest = await rest.create_association(
        key="tenant_of",
        firstObjectKey="contact",
        secondObjectKey="property",
        firstObjectLabel="Tenant",
        secondObjectLabel="Rented",
    )
    data = await gql.ok(
        "query($k: String!) { associationByKey(key: $k) { id key firstObjectLabel"
        " secondObjectLabel cardinality } associations { id } }",
        {"k": "tenant_of"},
    )
    assert data["associationByKey"]["id"] == by_rest["id"]
    assert data["associationByKey"]["secondObjectLabel"] == "Rented"
    rest_list = (await rest.get("/associations/", params={"limit": 500})).json()
    assert sorted(a["id"] for a in data["associations"]) == sorted(
        a["id"] for a in rest_list["associations"]
    )
    assert rest_list["total"] == len(data["associations"])

    # Records and relations: created on one side, seen on the other.
    ann = await gql.create_record("contact", firstName="Ann")
    house = await rest.create_record("property", name="House")
    flat = await gql.create_record("property", name="Flat")
    linked_by_gql = (await gql.link(by_gql["id"], ann, house)).data["createRelation"]
    r = await rest.link(by_rest["id"], ann, flat)
    assert r.status_code == 201, r.text
    linked_by_rest = r.json()

    rest_view = (await rest.get(f"/associations/relations/{ann}")).json()
    gql_view = (await gql.ok(RELATIONS_OF, {"id": ann}))["record"]["relations"]
    assert rest_view["total"] == gql_view["totalCount"] == 2
    assert [x["id"] for x in rest_view["relations"]] == [
        e["relation"]["id"] for e in gql_view["edges"]
    ]
    assert {x["id"] for x in rest_view["relations"]} == {
        linked_by_gql["id"],
        linked_by_rest["id"],
    }
    for x, e in zip(rest_view["relations"], gql_view["edges"], strict=True):
        assert x["associationId"] == e["relation"]["associationId"] == e["association"]["id"]
        assert x["firstRecordId"] == e["relation"]["firstRecordId"]
        assert x["secondRecordId"] == e["relation"]["secondRecordId"]
        assert x["associationKey"] == e["association"]["key"]
    assert {e["label"] for e in gql_view["edges"]} == {"Owned", "Rented"}

    # Deleted through REST, gone for GraphQL; and the other way round.
    r = await rest.delete(f"/associations/relations/{linked_by_gql['id']}")
    assert r.status_code == 200
    await gql.ok(
        "mutation($id: ID!) { deleteRelation(id: $id) { deletedId } }", {"id": linked_by_rest["id"]}
    )
    gql_view = (await gql.ok(RELATIONS_OF, {"id": ann}))["record"]["relations"]
    assert gql_view["totalCount"] == 0
    assert (await rest.get(f"/associations/relations/{ann}")).json()["total"] == 0
