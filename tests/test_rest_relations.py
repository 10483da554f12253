"""REST relations: create, bulk add/remove (all or nothing), list per record, delete."""

from __future__ import annotations

from tests.rest_support import Rest, admin, expect_error, user


async def _setup(api: Rest) -> tuple[dict, str, str, str]:
    await api.create_object("property", "Property", "Properties")
    a = await api.create_association(
        key="owner",
        firstObjectKey="contact",
        secondObjectKey="property",
        firstObjectLabel="Owner",
        secondObjectLabel="Property",
    )
    contact = await api.create_record("contact", firstName="Ann")
    house = await api.create_record("property", name="House")
    flat = await api.create_record("custom_objects.property", name="Flat")
    return a, contact, house, flat


async def test_create_list_delete(tenant):
    api = admin(tenant)
    a, contact, house, flat = await _setup(api)
    r = await api.link(a["id"], contact, house)
    assert r.status_code == 201, r.text
    rel = r.json()
    assert rel["id"].startswith("rel_")
    assert rel == {
        **rel,
        "associationId": a["id"],
        "firstObjectKey": "contact",
        "firstRecordId": contact,
        "secondObjectKey": "custom_objects.property",
        "secondRecordId": house,
        "locationId": tenant.location,
    }
    assert rel["createdAt"].endswith("Z")
    # Retrying returns the same relation; ids the wrong way round are swapped.
    assert (await api.link(a["id"], contact, house)).json()["id"] == rel["id"]
    assert (await api.link(a["id"], house, contact)).json()["id"] == rel["id"]
    rel2 = (await api.link(a["id"], flat, contact)).json()
    assert (rel2["firstRecordId"], rel2["secondRecordId"]) == (contact, flat)

    r = await api.get(f"/associations/relations/{contact}", params={"locationId": tenant.location})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 2
    assert [x["id"] for x in r.json()["relations"]] == [rel["id"], rel2["id"]]
    # Both ends see the relation.
    r = await api.get(f"/associations/relations/{house}")
    assert [x["id"] for x in r.json()["relations"]] == [rel["id"]]
    # skip / limit.
    r = await api.get(f"/associations/relations/{contact}", params={"skip": 1, "limit": 1})
    assert r.json()["total"] == 2 and [x["id"] for x in r.json()["relations"]] == [rel2["id"]]

    r = await api.delete(
        f"/associations/relations/{rel['id']}", params={"locationId": tenant.location}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"deleted": True, "id": rel["id"], "message": "Relation deleted"}
    expect_error(await api.delete(f"/associations/relations/{rel['id']}"), 404, "NOT_FOUND")
    r = await api.get(f"/associations/relations/{contact}")
    assert [x["id"] for x in r.json()["relations"]] == [rel2["id"]]


async def test_filter_by_association_ids(tenant):
    api = admin(tenant)
    a, contact, house, _ = await _setup(api)
    b = await api.create_association(
        key="buyer",
        firstObjectKey="contact",
        secondObjectKey="property",
        firstObjectLabel="Buyer",
        secondObjectLabel="Purchase",
    )
    r1 = (await api.link(a["id"], contact, house)).json()
    r2 = (await api.link(b["id"], contact, house)).json()
    path = f"/associations/relations/{contact}"
    r = await api.get(path, params={"associationIds": b["id"]})
    assert [x["id"] for x in r.json()["relations"]] == [r2["id"]]
    assert r.json()["total"] == 1
    r = await api.get(path, params=[("associationIds", a["id"]), ("associationIds", b["id"])])
    assert [x["id"] for x in r.json()["relations"]] == [r1["id"], r2["id"]]
    r = await api.get(path, params={"associationIds": f"{a['id']},{b['id']}"})
    assert r.json()["total"] == 2
    expect_error(await api.get(path, params={"associationIds": "nope"}), 400)
    # axios's bracket form (the Node SDK), alone and mixed with the plain form.
    r = await api.get(path, params={"associationIds[]": b["id"]})
    assert [x["id"] for x in r.json()["relations"]] == [r2["id"]]
    r = await api.get(path, params=[("associationIds[]", a["id"]), ("associationIds", b["id"])])
    assert r.json()["total"] == 2
    # Numbers as a typed SDK sends them.
    r = await api.get(path, params={"skip": "1.0", "limit": "1"})
    assert [x["id"] for x in r.json()["relations"]] == [r2["id"]]
    expect_error(await api.get(path, params={"skip": "1.5"}), 400)


async def test_unknown_query_parameters_are_refused(tenant):
    api = admin(tenant)
    _, contact, _, _ = await _setup(api)
    # A misspelt filter must not silently widen the answer.
    body = expect_error(
        await api.get(f"/associations/relations/{contact}", params={"associationId": "x"}), 400
    )
    assert "associationId" in body["message"]
    expect_error(await api.get("/associations/", params={"cascade": "true"}), 400)
    expect_error(await api.get("/objects/", params={"skip": "1"}), 400)
    expect_error(await api.get("/objects/contact", params={"fetchPropertie": "true"}), 400)
    # Known ones (and locationId everywhere) are fine.
    r = await api.get("/objects/contact", params={"fetchProperties": "true"})
    assert r.status_code == 200
    r = await api.get("/objects/", params={"locationId": api.location})
    assert r.status_code == 200


async def test_bulk_add_and_remove_all_or_nothing(tenant):
    api = admin(tenant)
    a, contact, house, flat = await _setup(api)
    first = (await api.link(a["id"], contact, house)).json()
    r = await api.post(
        "/associations/relations/bulk",
        {
            "locationId": tenant.location,
            "remove": [first["id"]],
            "add": [{"associationId": a["id"], "firstRecordId": contact, "secondRecordId": flat}],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["removed"] == [first["id"]]
    assert [(x["firstRecordId"], x["secondRecordId"]) for x in body["added"]] == [(contact, flat)]
    flat_rel = body["added"][0]["id"]

    # One bad add: nothing is removed and nothing added.
    missing = "rec_" + "0" * 32
    r = await api.post(
        "/associations/relations/bulk",
        {
            "remove": [flat_rel],
            "add": [
                {"associationId": a["id"], "firstRecordId": contact, "secondRecordId": house},
                {"associationId": a["id"], "firstRecordId": contact, "secondRecordId": missing},
            ],
        },
    )
    body = expect_error(r, 404, "NOT_FOUND")
    assert body["details"]["field"] == "add[1].secondRecordId"
    r = await api.get(f"/associations/relations/{contact}")
    assert [x["id"] for x in r.json()["relations"]] == [flat_rel]

    # One unknown removal: nothing happens either.
    r = await api.post(
        "/associations/relations/bulk",
        {
            "remove": [flat_rel, "rel_" + "0" * 32],
            "add": [{"associationId": a["id"], "firstRecordId": contact, "secondRecordId": house}],
        },
    )
    expect_error(r, 404)
    r = await api.get(f"/associations/relations/{contact}")
    assert [x["id"] for x in r.json()["relations"]] == [flat_rel]

    # Removal by object, and an empty call.
    r = await api.post("/associations/relations/bulk", {"remove": [{"id": flat_rel}]})
    assert r.status_code == 200 and r.json() == {"added": [], "removed": [flat_rel]}
    r = await api.post("/associations/relations/bulk", {})
    assert r.json() == {"added": [], "removed": []}


async def test_bulk_remove_frees_a_slot_for_the_add(tenant):
    api = admin(tenant)
    await api.create_object("desk", "Desk", "Desks")
    a = await api.create_association(
        key="seat",
        firstObjectKey="contact",
        secondObjectKey="desk",
        firstObjectLabel="Sitter",
        secondObjectLabel="Desk",
        cardinality="ONE_TO_ONE",
    )
    ann = await api.create_record("contact", firstName="Ann")
    d1 = await api.create_record("desk", name="D1")
    d2 = await api.create_record("desk", name="D2")
    old = (await api.link(a["id"], ann, d1)).json()
    # Limit 1: linking a second desk directly is 422 ...
    body = expect_error(await api.link(a["id"], ann, d2), 422, "LIMIT_EXCEEDED")
    assert body["details"]["limitName"] == "firstToSecondLimit"
    # ... but moving the link in one bulk call works.
    r = await api.post(
        "/associations/relations/bulk",
        {
            "remove": [old["id"]],
            "add": [{"associationId": a["id"], "firstRecordId": ann, "secondRecordId": d2}],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["added"][0]["secondRecordId"] == d2
    # A bulk add past the limit changes nothing.
    bob = await api.create_record("contact", firstName="Bob")
    r = await api.post(
        "/associations/relations/bulk",
        {
            "add": [
                {"associationId": a["id"], "firstRecordId": bob, "secondRecordId": d1},
                {"associationId": a["id"], "firstRecordId": ann, "secondRecordId": d1},
            ]
        },
    )
    expect_error(r, 422, "LIMIT_EXCEEDED")
    assert (await api.get(f"/associations/relations/{bob}")).json()["total"] == 0


async def test_relation_errors(tenant, other_tenant):
    api = admin(tenant)
    a, contact, house, _ = await _setup(api)
    other = admin(other_tenant)
    their_contact = await other.create_record("contact", firstName="Theirs")
    # 400: missing or malformed fields.
    for body in (
        {"firstRecordId": contact, "secondRecordId": house},
        {"associationId": a["id"], "secondRecordId": house},
        {"associationId": a["id"], "firstRecordId": contact, "secondRecordId": 5},
        {"associationId": "x", "firstRecordId": contact, "secondRecordId": house},
        {"associationId": a["id"], "firstRecordId": contact, "secondRecordId": contact},
    ):
        expect_error(await api.post("/associations/relations", body), 400, "BAD_USER_INPUT")
    other_contact = await api.create_record("contact", firstName="Bob")
    expect_error(await api.link(a["id"], contact, other_contact), 400)  # wrong objects
    for body in ({"add": "x"}, {"add": [1]}, {"remove": [5]}, {"remove": "x"}, {"add": [{}]}):
        expect_error(await api.post("/associations/relations/bulk", body), 400)
    # 404: unknown association, another location's record.
    expect_error(await api.link("asc_" + "0" * 32, contact, house), 404, "NOT_FOUND")
    expect_error(await api.link(a["id"], their_contact, house), 404, "NOT_FOUND")
    expect_error(await api.get(f"/associations/relations/{their_contact}"), 404)
    expect_error(await api.get("/associations/relations/garbage"), 400)
    # 403: wrong location, or no relation scope.
    r = await api.post(
        "/associations/relations",
        {
            "locationId": other_tenant.location,
            "associationId": a["id"],
            "firstRecordId": contact,
            "secondRecordId": house,
        },
    )
    expect_error(r, 403, "FORBIDDEN")
    expect_error(
        await api.get(f"/associations/relations/{contact}", params={"locationId": "elsewhere"}),
        403,
    )
    # A plain user may link records.
    assert (await user(tenant).link(a["id"], contact, house)).status_code == 201
