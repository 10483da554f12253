"""REST routes the HighLevel SDKs call beyond associations: PUT /objects/{key}, record search,
and the contacts API over the `contact` object's records."""

from __future__ import annotations

from tests.rest_support import admin, expect_error, user


async def test_update_object(tenant):
    api = admin(tenant)
    await api.create_object("pet", "Pet", "Pets")
    r = await api.put(
        "/objects/pet",
        {
            "locationId": tenant.location,
            "labels": {"singular": "Animal", "plural": "Animals"},
            "description": "Pets",
            "searchableProperties": ["custom_objects.pet.name"],
            "primaryDisplayPropertyDetails": {"key": "custom_objects.pet.name", "name": "Name"},
        },
    )
    assert r.status_code == 200, r.text
    obj = r.json()["object"]
    assert obj["labels"] == {"singular": "Animal", "plural": "Animals"}
    assert obj["description"] == "Pets" and obj["primaryDisplayProperty"] == "name"
    assert (await api.get("/objects/custom_objects.pet")).json()["object"] == obj
    # Only the description: the labels stay.
    r = await api.put("/objects/pet", {"description": None})
    assert r.json()["object"]["labels"]["singular"] == "Animal"
    assert r.json()["object"]["description"] is None
    # Refused: unknown fields, blank labels, standard objects, users, unknown keys.
    expect_error(await api.put("/objects/pet", {"key": "dog"}), 400)
    expect_error(await api.put("/objects/pet", {"labels": {"singular": ""}}), 400)
    expect_error(await api.put("/objects/contact", {"description": "x"}), 403)
    expect_error(await user(tenant).put("/objects/pet", {"description": "x"}), 403)
    expect_error(await api.put("/objects/nosuch", {"description": "x"}), 404)


async def test_search_records(tenant):
    api = admin(tenant)
    await api.create_object("pet", "Pet", "Pets")
    ids = [await api.create_record("pet", name=n) for n in ("Rex", "Rexona", "Tom", "Rexa")]
    path = "/objects/pet/records/search"
    r = await api.post(path, {"locationId": tenant.location, "query": "rex", "pageLimit": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    assert [x["id"] for x in body["records"]] == [ids[0], ids[1]]
    after = body["records"][-1]["searchAfter"]
    r = await api.post(path, {"query": "rex", "pageLimit": 2, "searchAfter": after})
    assert [x["id"] for x in r.json()["records"]] == [ids[3]]
    r = await api.post(path, {"query": "rex", "pageLimit": 2, "page": 2})
    assert [x["id"] for x in r.json()["records"]] == [ids[3]]
    r = await api.post(path, {"query": "rex", "pageLimit": 2, "page": 3})
    assert r.json() == {"records": [], "total": 3}
    r = await api.post(path, {"page": 1, "pageLimit": 10, "query": ""})
    assert r.json()["total"] == 4
    # Sorted (HighLevel's sort body): by name descending, paged by page and by searchAfter.
    by_name = {"sort": [{"field": "name", "direction": "desc"}], "pageLimit": 2}
    r = await api.post(path, by_name)
    first = r.json()["records"]
    assert [x["displayName"] for x in first] == ["Tom", "Rexona"]
    r = await api.post(path, {**by_name, "searchAfter": first[-1]["searchAfter"]})
    assert [x["displayName"] for x in r.json()["records"]] == ["Rexa", "Rex"]
    r = await api.post(path, {**by_name, "page": 2})
    assert [x["displayName"] for x in r.json()["records"]] == ["Rexa", "Rex"]
    oldest_first = {"sort": [{"field": "dateAdded", "direction": "asc"}], "query": "rex"}
    r = await api.post(path, oldest_first)
    assert [x["id"] for x in r.json()["records"]] == [ids[0], ids[1], ids[3]]
    newest_first = [{"field": "dateAdded", "direction": "desc"}]
    r = await api.post(path, {**oldest_first, "sort": newest_first})
    assert [x["id"] for x in r.json()["records"]] == [ids[3], ids[1], ids[0]]
    expect_error(await api.post(path, {"sort": [{"field": "colour"}]}), 400)
    expect_error(await api.post(path, {**by_name, "searchAfter": ["nope"]}), 400)
    expect_error(await api.post(path, {**by_name, "page": 5001}), 400)
    expect_error(await api.post(path, {"pageLimit": 0}), 400)
    expect_error(await api.post(path, {"searchAfter": ["nope!"]}), 400)
    expect_error(await api.post(path, {"unknown": 1}), 400)
    expect_error(await api.post("/objects/nosuch/records/search", {}), 404)


async def test_contacts(tenant):
    api = admin(tenant)
    r = await api.post(
        "/contacts/",
        {
            "locationId": tenant.location,
            "firstName": "Ann",
            "lastName": "Lee",
            "email": "ann@example.com",
            "customFields": [{"id": "nickname", "value": "Annie"}, {"key": "age", "value": 30}],
        },
    )
    assert r.status_code == 201, r.text
    contact = r.json()["contact"]
    cid = contact["id"]
    assert contact == {
        **contact,
        "firstName": "Ann",
        "lastName": "Lee",
        "email": "ann@example.com",
        "phone": None,
        "name": "Ann Lee",
        "locationId": tenant.location,
    }
    assert {c["id"]: c["value"] for c in contact["customFields"]} == {
        "nickname": "Annie",
        "age": 30,
    }
    # The same record as /objects/contact/records.
    rec = (await api.get(f"/objects/contact/records/{cid}")).json()["record"]
    assert rec["properties"]["nickname"] == "Annie" and rec["properties"]["firstName"] == "Ann"
    r = await api.get(f"/contacts/{cid}", params={"locationId": tenant.location})
    assert r.json() == {"contact": contact}
    r = await api.put(
        f"/contacts/{cid}",
        {"phone": "+15550100", "email": None, "customFields": [{"id": "age", "value": 31}]},
    )
    assert r.status_code == 200, r.text
    updated = r.json()["contact"]
    assert r.json()["succeded"] is True
    assert updated["phone"] == "+15550100" and updated["email"] is None
    assert {c["id"]: c["value"] for c in updated["customFields"]}["age"] == 31
    r = await api.post("/contacts/search", {"query": "ann", "pageLimit": 10})
    assert [c["id"] for c in r.json()["contacts"]] == [cid] and r.json()["total"] == 1
    expect_error(await api.post("/contacts/", {"tags": ["x"]}), 400)
    expect_error(await api.post("/contacts/", {"customFields": [{"value": 1}]}), 400)
    pet_object = await api.create_object("pet", "Pet", "Pets")
    assert pet_object
    pet = await api.create_record("pet", name="Rex")
    expect_error(await api.get(f"/contacts/{pet}"), 404)
    r = await api.delete(f"/contacts/{cid}")
    assert r.status_code == 200, r.text
    assert r.json()["succeded"] is True and r.json()["relationsDeleted"] == 0
    expect_error(await api.get(f"/contacts/{cid}"), 404)
    expect_error(await api.delete(f"/contacts/{cid}"), 404)
