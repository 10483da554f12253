"""The official HighLevel Python SDK (PyPI `gohighlevel-api-client`, module `highlevel`) against a
real `relata serve`, unchanged but for the base URL and the token: every associations,
relations, objects, records and contacts method Relata serves (docs/rest.md, "SDK
compatibility"), asserting on what the SDK returns. The SDK always sends `Version: v3`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_failures import Served, serve, stop_process

highlevel = pytest.importorskip("highlevel")


@pytest.fixture
async def served(pg_dsn: str, tmp_path: Path) -> AsyncIterator[Served]:
    s = await serve(pg_dsn, tmp_path)
    try:
        yield s
    finally:
        stop_process(s)


@pytest.fixture
async def ghl(served: Served) -> AsyncIterator[Any]:
    client = highlevel.HighLevel(private_integration_token=served.token)
    client.http_client.base_url = served.url  # the only change from the SDK's defaults
    try:
        yield client
    finally:
        await client.close()


async def test_python_sdk_objects_records_and_contacts(ghl: Any, served: Served) -> None:
    loc = served.location
    objects = ghl.objects

    listed = await objects.get_object_by_location_id(loc)
    assert {o["key"] for o in listed["objects"]} >= {"contact", "company", "opportunity"}
    assert all("dateAdded" in o and "dateUpdated" in o for o in listed["objects"])

    created = await objects.create_custom_object_schema(
        {
            "labels": {"singular": "Pet", "plural": "Pets"},
            "key": "custom_objects.pet",
            "description": "Pets",
            "locationId": loc,
            "primaryDisplayPropertyDetails": {
                "key": "custom_objects.pet.name",
                "name": "Name",
                "dataType": "TEXT",
            },
        }
    )
    pet = created["object"]
    assert pet["key"] == "custom_objects.pet" and pet["primaryDisplayProperty"] == "name"

    got = await objects.get_object_schema_by_key("custom_objects.pet", loc, fetch_properties="true")
    assert got["object"]["id"] == pet["id"]
    assert got["cache"] is False and got["fields"] == []

    updated = await objects.update_custom_object(
        "custom_objects.pet",
        {
            "labels": {"singular": "Animal", "plural": "Animals"},
            "description": "Animals",
            "locationId": loc,
            "searchableProperties": ["custom_objects.pet.name"],
        },
    )
    assert updated["object"]["labels"] == {"singular": "Animal", "plural": "Animals"}

    rex = (
        await objects.create_object_record(
            "custom_objects.pet", {"locationId": loc, "properties": {"name": "Rex", "age": 3}}
        )
    )["record"]
    assert rex["displayName"] == "Rex"
    assert rex["owner"] == [] and rex["followers"] == []
    assert rex["dateAdded"] and rex["dateUpdated"]
    tom = (
        await objects.create_object_record(
            "custom_objects.pet", {"locationId": loc, "properties": {"name": "Tom"}}
        )
    )["record"]

    got_record = await objects.get_record_by_id("custom_objects.pet", rex["id"])
    assert got_record["record"]["properties"] == {"name": "Rex", "age": 3}

    changed = await objects.update_object_record(
        "custom_objects.pet", rex["id"], loc, {"properties": {"age": 4}}
    )
    assert changed["record"]["properties"] == {"name": "Rex", "age": 4}

    found = await objects.search_object_records(
        {"locationId": loc, "page": 1, "pageLimit": 10, "query": "rex", "searchAfter": []},
        schema_key="custom_objects.pet",
    )
    assert found["total"] == 1 and [r["id"] for r in found["records"]] == [rex["id"]]
    first = await objects.search_object_records(
        {"locationId": loc, "page": 1, "pageLimit": 1, "query": "", "searchAfter": []},
        schema_key="custom_objects.pet",
    )
    assert first["total"] == 2 and [r["id"] for r in first["records"]] == [rex["id"]]
    second = await objects.search_object_records(
        {
            "locationId": loc,
            "page": 1,
            "pageLimit": 1,
            "query": "",
            "searchAfter": first["records"][0]["searchAfter"],
        },
        schema_key="custom_objects.pet",
    )
    assert [r["id"] for r in second["records"]] == [tom["id"]]

    deleted = await objects.delete_object_record("custom_objects.pet", tom["id"])
    assert deleted["success"] is True and deleted["id"] == tom["id"]

    # Contacts: the `contact` object's records, HighLevel-shaped.
    contacts = ghl.contacts
    made = await contacts.create_contact(
        {
            "firstName": "Ann",
            "lastName": "Lee",
            "email": "ann@example.com",
            "locationId": loc,
            "customFields": [{"id": "nickname", "value": "Annie"}],
        }
    )
    ann = made["contact"]
    assert (ann["firstName"], ann["lastName"], ann["email"]) == ("Ann", "Lee", "ann@example.com")
    assert ann["customFields"] == [{"id": "nickname", "key": "nickname", "value": "Annie"}]
    assert (await contacts.get_contact(ann["id"]))["contact"] == ann
    upd = await contacts.update_contact(ann["id"], {"phone": "+15550100"})
    assert upd["succeded"] is True and upd["contact"]["phone"] == "+15550100"
    search = await contacts.search_contacts_advanced(
        {"locationId": loc, "page": 1, "pageLimit": 20, "query": "ann lee"}
    )
    assert search["total"] == 1 and search["contacts"][0]["id"] == ann["id"]
    gone = await contacts.delete_contact(ann["id"])
    assert gone["succeded"] is True
    with pytest.raises(highlevel.error.GHLError):
        await contacts.get_contact(ann["id"])


async def test_python_sdk_associations_and_relations(ghl: Any, served: Served) -> None:
    loc = served.location
    assoc = ghl.associations
    ann = (await ghl.contacts.create_contact({"firstName": "Ann", "locationId": loc}))["contact"]
    bob = (await ghl.contacts.create_contact({"firstName": "Bob", "locationId": loc}))["contact"]
    acme = (
        await ghl.objects.create_object_record(
            "company", {"locationId": loc, "properties": {"name": "Acme"}}
        )
    )["record"]

    created = await assoc.create_association(
        {
            "locationId": loc,
            "key": "works_at",
            "firstObjectLabel": "Employee",
            "firstObjectKey": "contact",
            "secondObjectLabel": "Employer",
            "secondObjectKey": "company",
        }
    )
    assert created["key"] == "works_at" and created["associationType"] == "USER_DEFINED"
    aid = created["id"]
    assert (await assoc.get_association_by_i_d(aid))["id"] == aid
    assert (await assoc.get_association_key_by_key_name("works_at", loc))["id"] == aid
    by_object = await assoc.get_association_by_object_keys(object_key="company", location_id=loc)
    assert aid in [a["id"] for a in by_object["associations"]]
    found = await assoc.find_associations(loc, 0, 100)
    assert aid in [a["id"] for a in found["associations"]] and found["total"] >= 1
    renamed = await assoc.update_association(
        aid, {"firstObjectLabel": "Staff", "secondObjectLabel": "Company"}
    )
    assert (renamed["firstObjectLabel"], renamed["secondObjectLabel"]) == ("Staff", "Company")

    other = await assoc.create_association(
        {
            "locationId": loc,
            "key": "client_of",
            "firstObjectLabel": "Client",
            "firstObjectKey": "contact",
            "secondObjectLabel": "Supplier",
            "secondObjectKey": "company",
        }
    )
    rel = await assoc.create_relation(
        {
            "locationId": loc,
            "associationId": aid,
            "firstRecordId": ann["id"],
            "secondRecordId": acme["id"],
        }
    )
    assert (rel["firstRecordId"], rel["secondRecordId"]) == (ann["id"], acme["id"])
    rel2 = await assoc.create_relation(
        {
            "locationId": loc,
            "associationId": other["id"],
            "firstRecordId": ann["id"],
            "secondRecordId": acme["id"],
        }
    )
    rel3 = await assoc.create_relation(
        {
            "locationId": loc,
            "associationId": aid,
            "firstRecordId": bob["id"],
            "secondRecordId": acme["id"],
        }
    )
    everything = await assoc.get_relations_by_record_id(acme["id"], loc, 0, 10)
    assert everything["total"] == 3
    filtered = await assoc.get_relations_by_record_id(
        ann["id"], loc, 0, 10, association_ids=[other["id"]]
    )
    assert [r["id"] for r in filtered["relations"]] == [rel2["id"]]

    removed = await assoc.delete_relation(rel2["id"], loc)
    assert removed["deleted"] is True and removed["id"] == rel2["id"]
    # Deleting an association deletes its relations (HighLevel's behaviour), and says how many.
    gone = await assoc.delete_association(aid)
    assert gone["deleted"] is True and gone["relationsDeleted"] == 2
    assert (await assoc.get_relations_by_record_id(acme["id"], loc, 0, 10))["total"] == 0
    assert rel3["id"]
