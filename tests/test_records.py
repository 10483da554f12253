from __future__ import annotations

import asyncio

RECORD_FIELDS = "id objectKey displayName properties createdAt updatedAt"
GET = (
    "query($id: ID!) { record(id: $id) { __typename " + RECORD_FIELDS + " ... on Contact {"
    " firstName lastName email phone } ... on Company { name } ... on Opportunity { name status"
    " monetaryValue } } }"
)
PAGE = (
    "query($k: String!, $first: Int, $after: String, $q: String) {"
    " records(objectKey: $k, first: $first, after: $after, query: $q) {"
    " edges { cursor node { id displayName } } pageInfo { hasNextPage endCursor } totalCount } }"
)


async def test_create_and_read_typed_records(tenant):
    api = tenant.admin
    cid = await api.create_record("contact", firstName="Ada", lastName="Lovelace", phone="1")
    got = (await api.ok(GET, {"id": cid}))["record"]
    assert got["__typename"] == "Contact"
    assert got["displayName"] == "Ada Lovelace"
    assert (got["firstName"], got["lastName"], got["phone"], got["email"]) == (
        "Ada",
        "Lovelace",
        "1",
        None,
    )
    only_email = await api.create_record("contact", email="x@example.com")
    assert (await api.ok(GET, {"id": only_email}))["record"]["displayName"] == "x@example.com"
    oid = await api.create_record("opportunity", name="Deal", status="open", monetaryValue=12.5)
    got = (await api.ok(GET, {"id": oid}))["record"]
    assert (got["__typename"], got["name"], got["status"], got["monetaryValue"]) == (
        "Opportunity",
        "Deal",
        "open",
        12.5,
    )
    co = await api.create_record("company", name="Acme")
    assert (await api.ok(GET, {"id": co}))["record"]["name"] == "Acme"


async def test_custom_records_use_the_primary_display_property(tenant):
    await tenant.admin.ok(
        'mutation { createObjectSchema(input: {key: "pet", labels: {singular: "Pet",'
        ' plural: "Pets"}, primaryDisplayProperty: "nickname"}) { key } }'
    )
    for key in ("pet", "custom_objects.pet"):
        rid = await tenant.user.create_record(key, nickname="Rex", species="dog")
        got = (await tenant.user.ok(GET, {"id": rid}))["record"]
        assert got["__typename"] == "CustomObjectRecord"
        assert got["objectKey"] == "custom_objects.pet"
        assert got["displayName"] == "Rex"


async def test_update_merges_properties_and_null_removes(tenant):
    api = tenant.user
    rid = await api.create_record("contact", firstName="A", lastName="B", email="a@b.c")
    data = await api.ok(
        "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { displayName properties"
        " createdAt updatedAt } }",
        {"i": {"id": rid, "properties": {"firstName": "Z", "lastName": None, "city": "Paris"}}},
    )
    updated = data["updateRecord"]
    assert updated["properties"] == {"firstName": "Z", "email": "a@b.c", "city": "Paris"}
    assert updated["displayName"] == "Z"
    assert updated["updatedAt"] >= updated["createdAt"]


async def test_delete_record(tenant):
    api = tenant.user
    rid = await api.create_record("company", name="Gone")
    data = await api.ok(
        "mutation($id: ID!) { deleteRecord(id: $id) { deletedId deletedRelationCount } }",
        {"id": rid},
    )
    assert data["deleteRecord"] == {"deletedId": rid, "deletedRelationCount": 0}
    r = await api.fail(GET, {"id": rid})
    assert r.code == "NOT_FOUND"
    r = await api.fail("mutation($id: ID!) { deleteRecord(id: $id) { deletedId } }", {"id": rid})
    assert r.code == "NOT_FOUND"


async def test_bad_input_is_rejected_and_changes_nothing(db, tenant):
    api = tenant.user
    create = "mutation($i: CreateRecordInput!) { createRecord(input: $i) { id } }"
    cases = [
        ({"objectKey": "contact", "properties": [1, 2]}, "BAD_USER_INPUT"),
        ({"objectKey": "contact", "properties": "text"}, "BAD_USER_INPUT"),
        ({"objectKey": "contact", "properties": {"bio": "x" * 10_001}}, "BAD_USER_INPUT"),
        ({"objectKey": "contact", "properties": {"a": "nul\x00"}}, "BAD_USER_INPUT"),
        ({"objectKey": "unicorn", "properties": {}}, "NOT_FOUND"),
        ({"objectKey": "Not A Key!", "properties": {}}, "BAD_USER_INPUT"),
    ]
    for payload, code in cases:
        r = await api.fail(create, {"i": payload})
        assert r.code == code, (payload, r.body)
        assert "Traceback" not in str(r.body)
    count = await db.fetchval(
        "select count(*) from records where location_id = $1", tenant.location
    )
    assert count == 0


async def test_bad_ids_are_bad_input_and_unknown_ids_not_found(tenant):
    for bad in ("nope", "rec_xyz", "asc_" + "0" * 32, ""):
        r = await tenant.user.fail(GET, {"id": bad})
        assert r.code == "BAD_USER_INPUT", bad
    r = await tenant.user.fail(GET, {"id": "rec_" + "0" * 32})
    assert r.code == "NOT_FOUND"


async def test_keyset_pagination_and_query(tenant):
    api = tenant.user
    ids = [await api.create_record("company", name=f"Company {i:02d}") for i in range(7)]
    seen, after = [], None
    while True:
        page = (await api.ok(PAGE, {"k": "company", "first": 3, "after": after}))["records"]
        assert page["totalCount"] == 7
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids
    found = (await api.ok(PAGE, {"k": "company", "q": "any 0"}))["records"]
    assert [e["node"]["displayName"] for e in found["edges"]] == [f"Company 0{i}" for i in range(7)]
    assert (await api.ok(PAGE, {"k": "company", "q": "%"}))["records"]["edges"] == []
    assert (await api.ok(PAGE, {"k": "company", "q": "company 03"}))["records"]["totalCount"] == 1


async def test_pages_have_no_duplicates_or_gaps_while_rows_are_inserted(tenant):
    api = tenant.user
    before = [await api.create_record("contact", firstName=f"P{i}") for i in range(12)]
    seen, after = [], None
    while True:
        page = (await api.ok(PAGE, {"k": "contact", "first": 4, "after": after}))["records"]
        seen += [e["node"]["id"] for e in page["edges"]]
        # Inserts racing the reader land after the cursor: never re-shown, never skipped.
        await asyncio.gather(*(api.create_record("contact", firstName="late") for _ in range(2)))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen))
    assert seen[: len(before)] == before


async def test_page_size_limits(tenant):
    for first in (-1, 501):
        r = await tenant.user.fail(PAGE, {"k": "contact", "first": first})
        assert r.code == "BAD_USER_INPUT"
    r = await tenant.user.fail(PAGE, {"k": "contact", "after": "!!notacursor"})
    assert r.code == "BAD_USER_INPUT"


async def test_node_refetches_a_record(tenant):
    rid = await tenant.user.create_record("contact", firstName="N")
    data = await tenant.user.ok(
        "query($id: ID!) { node(id: $id) { id ... on Contact { firstName } } }", {"id": rid}
    )
    assert data["node"] == {"id": rid, "firstName": "N"}


async def test_listing_an_unknown_object_is_not_found(tenant, other_tenant):
    r = await tenant.user.fail(PAGE, {"k": "unicorn"})
    assert r.code == "NOT_FOUND"
    # Another location's custom object is as unknown as one that never existed.
    await other_tenant.admin.create_object("gizmo")
    await other_tenant.admin.create_record("gizmo", name="theirs")
    r = await tenant.user.fail(PAGE, {"k": "gizmo"})
    assert r.code == "NOT_FOUND"
    # A known object with no records is an empty page, not an error.
    empty = (await tenant.user.ok(PAGE, {"k": "opportunity"}))["records"]
    assert empty["edges"] == [] and empty["totalCount"] == 0
