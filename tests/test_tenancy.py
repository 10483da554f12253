"""A location never sees or touches another's rows (the exhaustive wall suite is separate)."""

from __future__ import annotations


async def test_other_locations_records_are_not_found_and_unlisted(tenant, other_tenant):
    rid = await tenant.admin.create_record("contact", firstName="Secret")
    b = other_tenant.admin
    for query in (
        "query($id: ID!) { record(id: $id) { id } }",
        "query($id: ID!) { node(id: $id) { id } }",
    ):
        r = await b.fail(query, {"id": rid})
        assert r.code == "NOT_FOUND"
    r = await b.fail(
        "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }",
        {"i": {"id": rid, "properties": {"firstName": "Hacked"}}},
    )
    assert r.code == "NOT_FOUND"
    r = await b.fail("mutation($id: ID!) { deleteRecord(id: $id) { deletedId } }", {"id": rid})
    assert r.code == "NOT_FOUND"
    listed = await b.ok('{ records(objectKey: "contact") { totalCount edges { node { id } } } }')
    assert listed["records"] == {"totalCount": 0, "edges": []}
    mine = await tenant.admin.ok("query($id: ID!) { record(id: $id) { displayName } }", {"id": rid})
    assert mine["record"]["displayName"] == "Secret"


async def test_custom_objects_are_per_location(tenant, other_tenant):
    await tenant.admin.create_object("gadget")
    r = await other_tenant.admin.fail('{ objectSchema(key: "gadget") { key } }')
    assert r.code == "NOT_FOUND"
    r = await other_tenant.admin.fail(
        'mutation { createRecord(input: {objectKey: "gadget", properties: {}}) { id } }'
    )
    assert r.code == "NOT_FOUND"
