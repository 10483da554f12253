from __future__ import annotations

import pytest

CREATE = (
    "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) {"
    " id key labels { singular plural } description primaryDisplayProperty isStandard } }"
)


def obj(key, singular="Pet", plural="Pets", **extra):
    return {"i": {"key": key, "labels": {"singular": singular, "plural": plural}, **extra}}


async def test_standard_objects_exist_without_being_created(tenant):
    data = await tenant.user.ok("{ objectSchemas { key isStandard labels { singular } } }")
    by_key = {o["key"]: o for o in data["objectSchemas"]}
    assert set(by_key) == {"contact", "company", "opportunity"}
    assert all(o["isStandard"] for o in by_key.values())
    assert by_key["company"]["labels"]["singular"] == "Company"


async def test_create_custom_object_normalises_the_key(tenant):
    data = await tenant.admin.ok(CREATE, obj("pet", description="Animals"))
    created = data["createObjectSchema"]
    assert created["key"] == "custom_objects.pet"
    assert created["isStandard"] is False
    assert created["primaryDisplayProperty"] == "name"
    assert created["description"] == "Animals"
    for key in ("pet", "custom_objects.pet"):
        got = await tenant.user.ok(
            "query($k: String!) { objectSchema(key: $k) { id key } }", {"k": key}
        )
        assert got["objectSchema"]["id"] == created["id"]


async def test_duplicate_key_conflicts_in_either_form(tenant):
    await tenant.admin.ok(CREATE, obj("car"))
    for key in ("car", "custom_objects.car", "CAR"):
        r = await tenant.admin.fail(CREATE, obj(key))
        assert r.code == "CONFLICT", key


async def test_same_key_in_two_locations_is_fine(tenant, other_tenant):
    await tenant.admin.ok(CREATE, obj("boat"))
    await other_tenant.admin.ok(CREATE, obj("boat"))


@pytest.mark.parametrize(
    "key", ["", "  ", "1pet", "pet-shop", "pét", "a" * 65, "custom_objects.", "contact", "company"]
)
async def test_invalid_keys_are_bad_input(tenant, key):
    r = await tenant.admin.fail(CREATE, obj(key))
    assert r.code == "BAD_USER_INPUT", (key, r.body)
    data = await tenant.admin.ok("{ objectSchemas { key } }")
    assert len(data["objectSchemas"]) == 3


async def test_blank_or_long_labels_are_bad_input(tenant):
    r = await tenant.admin.fail(CREATE, obj("pet", singular=" "))
    assert r.code == "BAD_USER_INPUT"
    r = await tenant.admin.fail(CREATE, obj("pet", plural="x" * 101))
    assert r.code == "BAD_USER_INPUT"


async def test_unknown_object_is_not_found(tenant):
    r = await tenant.user.fail('{ objectSchema(key: "unicorn") { key } }')
    assert r.code == "NOT_FOUND"


async def test_node_refetches_an_object(tenant):
    data = await tenant.admin.ok(CREATE, obj("plant"))
    oid = data["createObjectSchema"]["id"]
    got = await tenant.user.ok(
        "query($id: ID!) { node(id: $id) { id ... on ObjectSchema { key } } }", {"id": oid}
    )
    assert got["node"] == {"id": oid, "key": "custom_objects.plant"}
