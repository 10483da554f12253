"""REST objects and records: /objects/..."""

from __future__ import annotations

from tests.rest_support import Rest, admin, expect_error, user


async def test_objects(tenant):
    api = admin(tenant)
    r = await api.get("/objects/", params={"locationId": tenant.location})
    assert r.status_code == 200, r.text
    assert [o["key"] for o in r.json()["objects"]] == ["company", "contact", "opportunity"]
    assert all(o["standard"] for o in r.json()["objects"])
    assert (await api.get("/objects")).json() == r.json()

    r = await api.post(
        "/objects/",
        {
            "locationId": tenant.location,
            "key": "pet",
            "labels": {"singular": "Pet", "plural": "Pets"},
            "description": "Animals",
            "primaryDisplayPropertyDetails": {"key": "nickname", "name": "Nickname"},
        },
    )
    assert r.status_code == 201, r.text
    pet = r.json()["object"]
    assert pet == {
        **pet,
        "key": "custom_objects.pet",
        "standard": False,
        "labels": {"singular": "Pet", "plural": "Pets"},
        "description": "Animals",
        "primaryDisplayProperty": "nickname",
        "locationId": tenant.location,
    }
    assert pet["id"].startswith("obj_")
    for key in ("pet", "custom_objects.pet"):
        r = await api.get(f"/objects/{key}")
        assert r.status_code == 200 and r.json() == {"object": pet, "cache": False, "fields": []}
    # HighLevel's names for the timestamps, beside Relata's.
    assert pet["dateAdded"] == pet["createdAt"] and pet["dateUpdated"] == pet["updatedAt"]
    assert (await api.get("/objects/contact")).json()["object"]["labels"]["plural"] == "Contacts"

    # Errors.
    expect_error(await api.get("/objects/nosuch"), 404, "NOT_FOUND")
    expect_error(await api.get("/objects/Bad Key!"), 400)
    expect_error(
        await api.post("/objects/", {"key": "pet", "labels": {"singular": "P", "plural": "Ps"}}),
        409,
        "CONFLICT",
    )
    for body in (
        {"labels": {"singular": "P", "plural": "Ps"}},
        {"key": "dog"},
        {"key": "dog", "labels": "Dog"},
        {"key": "dog", "labels": {"singular": "Dog"}},
        {"key": "contact", "labels": {"singular": "C", "plural": "Cs"}},
        {"key": 5, "labels": {"singular": "C", "plural": "Cs"}},
    ):
        expect_error(await api.post("/objects/", body), 400, "BAD_USER_INPUT")
    expect_error(
        await user(tenant).post(
            "/objects/", {"key": "dog", "labels": {"singular": "D", "plural": "Ds"}}
        ),
        403,
    )
    expect_error(await api.get("/objects/", params={"locationId": "other"}), 403)


async def test_records(tenant, other_tenant):
    api = admin(tenant)
    await api.create_object("pet", "Pet", "Pets")
    r = await api.post(
        "/objects/pet/records", {"locationId": tenant.location, "properties": {"name": "Rex"}}
    )
    assert r.status_code == 201, r.text
    rec = r.json()["record"]
    assert rec == {
        **rec,
        "objectKey": "custom_objects.pet",
        "properties": {"name": "Rex"},
        "displayName": "Rex",
        "locationId": tenant.location,
    }
    rid = rec["id"]
    r = await api.get(f"/objects/custom_objects.pet/records/{rid}")
    assert r.status_code == 200 and r.json() == {"record": rec}

    r = await api.put(f"/objects/pet/records/{rid}", {"properties": {"age": 3, "name": None}})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["properties"] == {"age": 3}

    # A record under another object's path is not found; so is another location's.
    expect_error(await api.get(f"/objects/contact/records/{rid}"), 404, "NOT_FOUND")
    expect_error(await admin(other_tenant).get(f"/objects/pet/records/{rid}"), 404)
    expect_error(await api.get("/objects/pet/records/rec_" + "1" * 32), 404)
    expect_error(await api.get("/objects/pet/records/nope"), 400)
    expect_error(await api.post("/objects/nosuch/records", {"properties": {}}), 404)
    expect_error(await api.post("/objects/pet/records", {"properties": [1]}), 400)
    expect_error(await api.post("/objects/pet/records", {"properties": {"a\x00": 1}}), 400)
    expect_error(await api.post("/objects/pet/records", {"properties": {"a": "\x00"}}), 400)
    expect_error(await api.put(f"/objects/pet/records/{rid}", {}), 400)
    expect_error(await api.put(f"/objects/contact/records/{rid}", {"properties": {}}), 404)
    expect_error(await api.delete(f"/objects/contact/records/{rid}"), 404)

    # Deleting a record deletes its relations and says how many.
    a = await api.create_association(
        key="pet_owner", firstObjectKey="pet", secondObjectKey="contact"
    )
    owner = await api.create_record("contact", firstName="Ann")
    assert (await api.link(a["id"], rid, owner)).status_code == 201
    r = await api.delete(f"/objects/pet/records/{rid}", params={"locationId": tenant.location})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "deleted": True,
        "success": True,
        "id": rid,
        "message": "Record deleted",
        "relationsDeleted": 1,
    }
    expect_error(await api.get(f"/objects/pet/records/{rid}"), 404)
    assert (await api.get(f"/associations/relations/{owner}")).json()["total"] == 0


async def test_record_scopes(tenant, db):
    from app.services.tokens import create_token

    token = await create_token(db, tenant.location, "user", ["objects/record.readonly"])
    reader = Rest(tenant.admin.client, token, tenant.location)
    rid = await admin(tenant).create_record("contact", firstName="Ann")
    assert (await reader.get(f"/objects/contact/records/{rid}")).status_code == 200
    expect_error(await reader.post("/objects/contact/records", {"properties": {}}), 403)
    expect_error(await reader.delete(f"/objects/contact/records/{rid}"), 403)
    expect_error(await reader.get("/objects/"), 403)


async def test_full_display_property_key_is_normalised(tenant):
    """HighLevel's body names the display property `custom_objects.<key>.<prop>`; records use
    `<prop>`, so the short key is stored and displayName finds it (in REST and GraphQL)."""
    api = admin(tenant)
    r = await api.post(
        "/objects/",
        {
            "key": "custom_objects.dog",
            "labels": {"singular": "Dog", "plural": "Dogs"},
            "primaryDisplayPropertyDetails": {
                "key": "custom_objects.dog.name",
                "name": "Name",
                "dataType": "TEXT",
            },
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["object"]["primaryDisplayProperty"] == "name"
    r = await api.post("/objects/dog/records", {"properties": {"name": "Rex"}})
    rec = r.json()["record"]
    assert rec["displayName"] == "Rex"
    assert rec["owner"] == [] and rec["followers"] == []
    assert rec["dateAdded"] == rec["createdAt"] and rec["dateUpdated"] == rec["updatedAt"]
    r = await tenant.admin.client.post(
        "/graphql",
        json={"query": f'{{ record(id: "{rec["id"]}") {{ displayName }} }}'},
        headers={"authorization": f"Bearer {api.token}"},
    )
    assert r.json()["data"]["record"]["displayName"] == "Rex", r.text
