"""Replays the "Test Your Setup" steps of HighLevel's Associations Setup guide
(shared/seeds/004_*) over HTTP, with the guide's own headers and bodies."""

from __future__ import annotations

from tests.rest_support import expect_error


async def test_highlevel_associations_setup_guide(tenant):
    client = tenant.admin.client
    ghl_token, location_id = tenant.admin_token, tenant.location
    # "Include these headers on every request".
    headers = {
        "Authorization": f"Bearer {ghl_token}",
        "Content-Type": "application/json",
        "Version": "2021-07-28",
    }

    # Prerequisite: "At least one custom object schema created".
    r = await client.post(
        "/objects/",
        headers=headers,
        json={
            "locationId": location_id,
            "key": "property",
            "labels": {"singular": "Property", "plural": "Properties"},
        },
    )
    assert r.status_code == 201, r.text

    # 1. Create an association between your custom object and contact.
    r = await client.post(
        "/objects-association",
        headers=headers,
        json={
            "locationId": location_id,
            "key": "property_contact",
            "firstObjectKey": "property",
            "secondObjectKey": "contact",
            "description": "Links properties to interested contacts",
        },
    )
    assert r.status_code == 201, r.text
    association = r.json()["association"]
    # The fields of the guide's "Handle the Response" example (the key is the stored form).
    assert association["id"]
    assert association["locationId"] == location_id
    assert association["key"] == "property_contact"
    assert association["firstObjectKey"] == "custom_objects.property"
    assert association["secondObjectKey"] == "contact"
    assert association["description"] == "Links properties to interested contacts"
    assert association["createdAt"].endswith("Z")
    # No labels were sent: they default to the objects' singular labels.
    assert association["firstObjectLabel"] == "Property"
    assert association["secondObjectLabel"] == "Contact"
    association_id = association["id"]

    # 2. List all associations and verify yours appears.
    r = await client.get(f"/objects-association?locationId={location_id}", headers=headers)
    assert r.status_code == 200, r.text
    assert association_id in [a["id"] for a in r.json()["associations"]]

    # 3. Look up by key to retrieve the definition.
    r = await client.get("/objects-association/key/property_contact", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["association"] == association

    # 4. Query by object to see all relationships for one object.
    r = await client.get("/objects-association/object/property", headers=headers)
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["associations"]] == [association_id]

    # 5. Delete a test association and verify it no longer appears in listings.
    r = await client.delete(f"/objects-association/{association_id}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] is True
    r = await client.get(f"/objects-association?locationId={location_id}", headers=headers)
    assert association_id not in [a["id"] for a in r.json()["associations"]]
    r = await client.get("/objects-association/object/property", headers=headers)
    assert r.json()["associations"] == []

    # "If 404 errors appear ... Use GET /objects to list available schemas."
    r = await client.get("/objects", headers=headers)
    assert r.status_code == 200
    assert "custom_objects.property" in [o["key"] for o in r.json()["objects"]]


async def test_highlevel_guide_common_errors(tenant):
    client = tenant.admin.client
    headers = {
        "Authorization": f"Bearer {tenant.admin_token}",
        "Content-Type": "application/json",
        "Version": "2021-07-28",
    }
    body = {
        "locationId": tenant.location,
        "key": "property_contact",
        "firstObjectKey": "property",
        "secondObjectKey": "contact",
    }
    # "404 means one of the referenced object keys does not exist."
    r = await client.post("/objects-association", headers=headers, json=body)
    expect_error(r, 404, "NOT_FOUND")
    await client.post(
        "/objects/",
        headers=headers,
        json={"key": "property", "labels": {"singular": "Property", "plural": "Properties"}},
    )
    # "400 means a required field like key or an object key is missing."
    for missing in ("key", "firstObjectKey", "secondObjectKey"):
        partial = {k: v for k, v in body.items() if k != missing}
        r = await client.post("/objects-association", headers=headers, json=partial)
        expect_error(r, 400, "BAD_USER_INPUT")
    # "409 means an association with that key already exists."
    assert (
        await client.post("/objects-association", headers=headers, json=body)
    ).status_code == 201
    r = await client.post("/objects-association", headers=headers, json=body)
    expect_error(r, 409, "CONFLICT")
    # "401 indicates an invalid token."
    bad = {**headers, "Authorization": "Bearer your-private-integration-token"}
    expect_error(await client.get("/objects-association", headers=bad), 401)
