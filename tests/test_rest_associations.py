"""REST association definitions: /associations/... and /objects-association..."""

from __future__ import annotations

from tests.rest_support import Rest, admin, expect_error, user


async def test_create_get_list_update_delete(tenant):
    api = admin(tenant)
    await api.create_object("property", "Property", "Properties")
    r = await api.post(
        "/associations/",
        {
            "locationId": tenant.location,
            "key": "owner",
            "firstObjectKey": "contact",
            "firstObjectLabel": "Owner",
            "secondObjectKey": "property",
            "secondObjectLabel": "Owned property",
            "description": "who owns what",
            "cardinality": "ONE_TO_MANY",
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id"].startswith("asc_")
    assert created == {
        **created,
        "locationId": tenant.location,
        "key": "owner",
        "firstObjectKey": "contact",
        "firstObjectLabel": "Owner",
        "secondObjectKey": "custom_objects.property",
        "secondObjectLabel": "Owned property",
        "associationType": "USER_DEFINED",
        "firstObjectToSecondObjectCardinality": "MANY",
        "secondObjectToFirstObjectCardinality": "ONE",
        "cardinality": "ONE_TO_MANY",
        "firstToSecondLimit": 1000,
        "secondToFirstLimit": 1,
        "description": "who owns what",
    }
    assert created["createdAt"].endswith("Z")
    aid = created["id"]

    r = await api.get(f"/associations/{aid}", params={"locationId": tenant.location})
    assert r.status_code == 200 and r.json() == created

    r = await api.get("/associations/key/owner", params={"locationId": tenant.location})
    assert r.status_code == 200 and r.json()["id"] == aid

    for key in ("property", "custom_objects.property", "contact"):
        r = await api.get(f"/associations/objectKey/{key}", params={"locationId": tenant.location})
        assert r.status_code == 200, r.text
        assert aid in [a["id"] for a in r.json()["associations"]]
    r = await api.get("/associations/objectKey/company")
    assert aid not in [a["id"] for a in r.json()["associations"]]

    r = await api.get("/associations/", params={"locationId": tenant.location})
    body = r.json()
    assert r.status_code == 200
    # contact_company (system) + ours.
    assert body["total"] == 2
    assert {a["key"] for a in body["associations"]} == {"contact_company", "owner"}
    system = next(a for a in body["associations"] if a["key"] == "contact_company")
    assert system["associationType"] == "SYSTEM_DEFINED"
    assert system["firstObjectToSecondObjectCardinality"] == "ONE"

    r = await api.put(
        f"/associations/{aid}",
        {"locationId": tenant.location, "firstObjectLabel": "Landlord", "description": None},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["firstObjectLabel"] == "Landlord"
    assert updated["secondObjectLabel"] == "Owned property"
    assert updated["description"] is None

    r = await api.delete(f"/associations/{aid}", params={"locationId": tenant.location})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "deleted": True,
        "id": aid,
        "message": "Association deleted",
        "relationsDeleted": 0,
    }
    expect_error(await api.get(f"/associations/{aid}"), 404, "NOT_FOUND")


async def test_paging_with_skip_and_limit(tenant):
    api = admin(tenant)
    for i in range(4):
        await api.create_association(
            key=f"k{i}",
            firstObjectKey="contact",
            secondObjectKey="opportunity",
            firstObjectLabel=f"L{i}",
        )
    seen = []
    for skip in (0, 2, 4):
        r = await api.get("/associations", params={"skip": skip, "limit": 2})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 5
        seen += [a["key"] for a in r.json()["associations"]]
    assert sorted(seen) == ["contact_company", "k0", "k1", "k2", "k3"]
    assert len(seen) == len(set(seen))
    for params in ({"skip": -1}, {"limit": 0}, {"limit": 501}, {"skip": "x"}, {"limit": "1.5"}):
        expect_error(await api.get("/associations/", params=params), 400, "BAD_USER_INPUT")


async def test_labels_default_when_left_out(tenant):
    api = admin(tenant)
    await api.create_object("pet", "Pet", "Pets")
    both = await api.create_association(key="a1", firstObjectKey="pet", secondObjectKey="contact")
    assert (both["firstObjectLabel"], both["secondObjectLabel"]) == ("Pet", "Contact")
    second_only = await api.create_association(
        key="a2", firstObjectKey="pet", secondObjectKey="contact", secondObjectLabel="Carer"
    )
    assert (second_only["firstObjectLabel"], second_only["secondObjectLabel"]) == ("Pet", "Carer")
    single = await api.create_association(
        key="a3", firstObjectKey="contact", secondObjectKey="contact"
    )
    assert (single["firstObjectLabel"], single["secondObjectLabel"]) == ("Contact", "Contact")
    assert (single["labelType"], both["labelType"]) == ("SINGLE", "PAIR")
    given = await api.create_association(
        key="a4", firstObjectKey="contact", secondObjectKey="contact", firstObjectLabel="Friend"
    )
    assert (given["firstObjectLabel"], given["secondObjectLabel"]) == ("Friend", "Friend")


async def test_direction_words_set_limits(tenant):
    api = admin(tenant)
    a = await api.create_association(
        key="d1",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
        firstObjectToSecondObjectCardinality="ONE",
        secondObjectToFirstObjectCardinality="MANY",
    )
    assert (a["firstToSecondLimit"], a["secondToFirstLimit"]) == (1, 1000)
    assert a["cardinality"] == "MANY_TO_ONE"
    r = await api.post(
        "/associations/",
        {
            "key": "d2",
            "firstObjectKey": "contact",
            "secondObjectKey": "company",
            "firstObjectToSecondObjectCardinality": "SOME",
        },
    )
    expect_error(r, 400, "BAD_USER_INPUT")


async def test_objects_association_routes(tenant):
    api = admin(tenant)
    await api.create_object("car", "Car", "Cars")
    r = await api.post(
        "/objects-association",
        {
            "locationId": tenant.location,
            "key": "car_driver",
            "firstObjectKey": "car",
            "secondObjectKey": "contact",
            "firstObjectLabel": "Car",
            "secondObjectLabel": "Driver",
        },
    )
    assert r.status_code == 201, r.text
    assoc = r.json()["association"]
    aid = assoc["id"]
    r = await api.get("/objects-association", params={"locationId": tenant.location})
    assert aid in [a["id"] for a in r.json()["associations"]]
    assert r.json()["total"] == 2
    r = await api.get("/objects-association/key/car_driver")
    assert r.json() == {"association": assoc}
    r = await api.get("/objects-association/object/car")
    assert [a["id"] for a in r.json()["associations"]] == [aid]
    r = await api.get(f"/objects-association/{aid}")
    assert r.json() == {"association": assoc}
    r = await api.put(f"/objects-association/{aid}", {"secondObjectLabel": "Chauffeur"})
    assert r.status_code == 200 and r.json()["association"]["secondObjectLabel"] == "Chauffeur"
    r = await api.delete(f"/objects-association/{aid}")
    assert r.status_code == 200 and r.json()["deleted"] is True
    expect_error(await api.get("/objects-association/key/car_driver"), 404, "NOT_FOUND")


async def test_delete_cascades_to_relations_unless_cascade_false(tenant):
    api = admin(tenant)
    a = await api.create_association(
        key="spouse", firstObjectKey="contact", secondObjectKey="contact", firstObjectLabel="Spouse"
    )
    x = await api.create_record("contact", firstName="X")
    y = await api.create_record("contact", firstName="Y")
    assert (await api.link(a["id"], x, y)).status_code == 201
    # `cascade=false` opts into the guard: 409 while relations use it.
    body = expect_error(
        await api.delete(f"/associations/{a['id']}", params={"cascade": "false"}), 409, "CONFLICT"
    )
    assert "cascade" in body["message"]
    assert (await api.get(f"/associations/{a['id']}")).status_code == 200
    expect_error(await api.delete(f"/associations/{a['id']}", params={"cascade": "maybe"}), 400)
    # HighLevel's behaviour by default: the relations go with it, and the answer counts them.
    r = await api.delete(f"/associations/{a['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["relationsDeleted"] == 1
    assert "1 relation" in r.json()["message"]
    r = await api.get(f"/associations/relations/{x}")
    assert r.json() == {"relations": [], "total": 0}
    b = await api.create_association(
        key="sibling", firstObjectKey="contact", secondObjectKey="contact", firstObjectLabel="Sib"
    )
    assert (await api.link(b["id"], x, y)).status_code == 201
    r = await api.delete(f"/objects-association/{b['id']}", params={"cascade": "true"})
    assert r.json()["relationsDeleted"] == 1


async def test_system_association_cannot_change(tenant):
    api = admin(tenant)
    system = (await api.get("/associations/key/contact_company")).json()
    expect_error(await api.put(f"/associations/{system['id']}", {"firstObjectLabel": "X"}), 403)
    expect_error(await api.delete(f"/associations/{system['id']}"), 403, "FORBIDDEN")


async def test_update_refuses_immutable_fields_and_shape_changes(tenant):
    api = admin(tenant)
    a = await api.create_association(
        key="pair",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="A",
        secondObjectLabel="B",
    )
    for field, value in (
        ("key", "other"),
        ("firstObjectKey", "company"),
        ("cardinality", "ONE_TO_ONE"),
    ):
        body = expect_error(await api.put(f"/associations/{a['id']}", {field: value}), 400)
        assert body["details"]["field"] == field
    expect_error(await api.put(f"/associations/{a['id']}", {"secondObjectLabel": None}), 400)
    expect_error(await api.put(f"/associations/{a['id']}", {"firstObjectLabel": 5}), 400)


async def test_create_errors(tenant):
    api = admin(tenant)
    base = {"key": "k", "firstObjectKey": "contact", "secondObjectKey": "company"}
    # 400: missing / malformed fields.
    for missing in ("key", "firstObjectKey", "secondObjectKey"):
        body = {k: v for k, v in base.items() if k != missing}
        expect_error(await api.post("/associations/", body), 400, "BAD_USER_INPUT")
    for field, value in (
        ("key", 12),
        ("key", "has space"),
        ("firstObjectKey", ["contact"]),
        ("firstObjectLabel", {"x": 1}),
        ("firstToSecondLimit", "10"),
        ("firstToSecondLimit", 1001),
        ("secondToFirstLimit", True),
        ("cardinality", "LOTS"),
        ("description", 3.5),
        ("firstObjectLabel", "nul\x00byte"),
    ):
        expect_error(await api.post("/associations/", {**base, field: value}), 400)
    # 404: an object that does not exist.
    body = expect_error(
        await api.post("/associations/", {**base, "firstObjectKey": "nosuch"}), 404, "NOT_FOUND"
    )
    assert "custom_objects.nosuch" in body["message"]
    # 409: the key is taken.
    assert (await api.post("/associations/", base)).status_code == 201
    expect_error(await api.post("/associations/", base), 409, "CONFLICT")
    # 422: at most 10 associations per pair of objects (contact_company is one already).
    for i in range(8):
        assert (await api.post("/associations/", {**base, "key": f"k{i}"})).status_code == 201
    body = expect_error(await api.post("/associations/", {**base, "key": "k11"}), 422)
    assert body["code"] == "LIMIT_EXCEEDED"


async def test_malformed_requests_are_400_never_500(tenant):
    api = admin(tenant)
    for content in (b"{not json", b"[1, 2]", b'"text"', b"", b"null", b"\xff\xfe"):
        r = await api.call("POST", "/associations/", content=content)
        expect_error(r, 400, "BAD_USER_INPUT")
    expect_error(await api.get("/associations/not-an-id"), 400)
    expect_error(await api.get("/associations/rel_0123456789abcdef0123456789abcdef"), 400)
    expect_error(await api.get("/associations/asc_0123456789abcdef0123456789abcdef"), 404)
    expect_error(await api.get("/associations/key/a%00b"), 400)
    expect_error(await api.get("/associations/key/nope"), 404)
    expect_error(await api.get("/associations/objectKey/Not A Key"), 400)
    expect_error(await api.get("/associations/objectKey/nosuch"), 404)
    expect_error(await api.get("/associations/", params=[("skip", "1"), ("skip", "2")]), 400)


async def test_version_header_is_required(tenant):
    api = admin(tenant)
    body = expect_error(
        await api.get("/associations/", headers={"Version": ""}), 400, "BAD_USER_INPUT"
    )
    assert "Version: 2021-07-28" in body["message"]
    r = await api.client.get("/associations/", headers={"Authorization": f"Bearer {api.token}"})
    assert "Version" in expect_error(r, 400)["message"]
    expect_error(await api.get("/associations/", headers={"Version": "2020-01-01"}), 400)
    # Every version HighLevel's clients send is served (docs/rest.md).
    for version in ("2021-07-28", "2021-04-15", "2023-02-21", "v3"):
        r = await api.get("/associations/", headers={"Version": version})
        assert r.status_code == 200, (version, r.text)


async def test_auth_errors(tenant, other_tenant):
    anonymous = Rest(tenant.admin.client, None, tenant.location)
    r = await anonymous.get("/associations/")
    expect_error(r, 401, "UNAUTHENTICATED")
    assert r.headers["www-authenticate"] == "Bearer"
    expect_error(await Rest(anonymous.client, "rlt.bad.token", "").get("/associations/"), 401)
    expect_error(await anonymous.get("/associations/", headers={"Authorization": "Basic abc"}), 401)
    # A locationId that is not the token's: 403, in the query or the body.
    api = admin(tenant)
    other = admin(other_tenant)
    expect_error(
        await api.get("/associations/", params={"locationId": other_tenant.location}),
        403,
        "FORBIDDEN",
    )
    r = await api.post(
        "/associations/",
        {
            "locationId": other_tenant.location,
            "key": "k",
            "firstObjectKey": "contact",
            "secondObjectKey": "company",
        },
    )
    expect_error(r, 403, "FORBIDDEN")
    expect_error(await api.post("/associations/", {"locationId": 7, "key": "k"}), 400)
    # Another location's association is simply not found.
    theirs = await other.create_association(
        key="theirs", firstObjectKey="contact", secondObjectKey="company", firstObjectLabel="T"
    )
    expect_error(await api.get(f"/associations/{theirs['id']}"), 404)
    expect_error(await api.delete(f"/associations/{theirs['id']}"), 404)
    # A plain user may read but not define associations.
    plain = user(tenant)
    assert (await plain.get("/associations/")).status_code == 200
    r = await plain.post(
        "/associations/",
        {
            "key": "k",
            "firstObjectKey": "contact",
            "secondObjectKey": "company",
            "firstObjectLabel": "A",
        },
    )
    expect_error(r, 403, "FORBIDDEN")


async def test_missing_scope_is_403(tenant, db):
    from app.services.tokens import create_token

    token = await create_token(db, tenant.location, "admin", ["objects/record.readonly"])
    api = Rest(tenant.admin.client, token, tenant.location)
    body = expect_error(await api.get("/associations/"), 403, "FORBIDDEN")
    assert "associations.readonly" in body["message"]
