"""The change log over GraphQL and REST: what each write appends (in its own transaction, none
for a failed one), a record's history from either side, the location's events (admin), resuming
after a pruned position, and the tenant wall around all of it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from app.services.tokens import create_token
from db import Database
from tests.conftest import Tenant
from tests.helpers import Api
from tests.rest_support import admin as rest_admin
from tests.rest_support import user as rest_user

EVENT_FIELDS = (
    "id position type occurredAt actorTokenId objectKey recordId associationId associationKey"
    " relationId firstRecordId secondRecordId firstObjectKey secondObjectKey firstObjectLabel"
    " secondObjectLabel data"
)
EVENTS = (
    "query($after: String, $first: Int, $types: [EventType!], $objectKey: String) {"
    " events(after: $after, first: $first, types: $types, objectKey: $objectKey) {"
    f" edges {{ cursor node {{ {EVENT_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
)
HISTORY = (
    "query($id: ID!, $after: String, $first: Int, $types: [EventType!]) { record(id: $id) {"
    " history(after: $after, first: $first, types: $types) {"
    f" edges {{ cursor node {{ {EVENT_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"
)


async def all_events(api: Api, **variables: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api.ok(EVENTS, {**variables, "after": after, "first": 100}))["events"]
        out += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


async def history(api: Api, record_id: str, **variables: Any) -> list[dict[str, Any]]:
    data = await api.ok(HISTORY, {"id": record_id, **variables})
    return [e["node"] for e in data["record"]["history"]["edges"]]


async def token_id(db: Database, token: str) -> str:
    from app.auth import hash_token, token_location

    uid = await db.fetchval(
        "select id from api_tokens where location_id = $1 and token_hash = $2",
        token_location(token),
        hash_token(token),
    )
    return f"tok_{uid.hex}"


async def owner_of(t: Tenant) -> dict[str, Any]:
    """A pair-labelled contact -> pet association with one relation."""
    await t.admin.create_object("pet", "Pet", "Pets")
    association = await t.admin.create_association(
        key="owner_pet",
        firstObjectKey="contact",
        secondObjectKey="pet",
        firstObjectLabel="Owner",
        secondObjectLabel="Pet",
    )
    grace = await t.admin.create_record("contact", firstName="Grace")
    rex = await t.admin.create_record("pet", name="Rex")
    relation = (await t.admin.link(association["id"], grace, rex)).data["createRelation"]
    return {"association": association, "grace": grace, "rex": rex, "relation": relation["id"]}


async def test_each_write_appends_its_event_with_the_actor_and_both_ends(db, tenant):
    w = await owner_of(tenant)
    events = await all_events(tenant.admin)
    assert [e["type"] for e in events] == [
        "OBJECT_CREATE",
        "ASSOCIATION_CREATE",
        "RECORD_CREATE",
        "RECORD_CREATE",
        "RELATION_CREATE",
    ]
    assert [e["position"] for e in events] == ["1", "2", "3", "4", "5"]
    actor = await token_id(db, tenant.admin_token)
    assert {e["actorTokenId"] for e in events} == {actor}
    assert tenant.admin_token not in repr(events)

    obj, assoc, grace, rex, rel = events
    assert obj["objectKey"] == "custom_objects.pet"
    assert obj["data"]["labels"] == {"singular": "Pet", "plural": "Pets"}
    assert assoc["associationKey"] == "owner_pet"
    assert assoc["associationId"] == w["association"]["id"]
    assert (assoc["firstObjectLabel"], assoc["secondObjectLabel"]) == ("Owner", "Pet")
    assert assoc["data"]["cardinality"] == "MANY_TO_MANY"
    assert grace["recordId"] == w["grace"] and grace["objectKey"] == "contact"
    assert grace["data"]["properties"] == {"firstName": "Grace"}
    assert grace["data"]["displayName"] == "Grace"
    assert rex["recordId"] == w["rex"]
    assert rel["relationId"] == w["relation"]
    assert (rel["firstRecordId"], rel["secondRecordId"]) == (w["grace"], w["rex"])
    assert (rel["firstObjectKey"], rel["secondObjectKey"]) == ("contact", "custom_objects.pet")
    assert (rel["firstObjectLabel"], rel["secondObjectLabel"]) == ("Owner", "Pet")
    assert rel["associationKey"] == "owner_pet"
    for e in events:
        assert e["id"].startswith("evt_")
        node = await tenant.admin.ok(
            "query($id: ID!) { node(id: $id) { id ... on Event { type position } } }",
            {"id": e["id"]},
        )
        assert node["node"] == {"id": e["id"], "type": e["type"], "position": e["position"]}


async def test_updates_deletes_and_cascades_record_one_event_per_change(tenant):
    w = await owner_of(tenant)
    await tenant.admin.ok(
        'mutation($id: ID!) { updateRecord(input: {id: $id, properties: {lastName: "Hopper",'
        " firstName: null}}) { id } }",
        {"id": w["grace"]},
    )
    await tenant.admin.ok(
        'mutation($id: ID!) { updateAssociation(input: {id: $id, firstObjectLabel: "Keeper"})'
        " { id } }",
        {"id": w["association"]["id"]},
    )
    milo = await tenant.admin.create_record("pet", name="Milo")
    second = (await tenant.admin.link(w["association"]["id"], w["grace"], milo)).data
    before = len(await all_events(tenant.admin))
    # Deleting the contact takes both relations with it: one RELATION_DELETE each, then the
    # record's own event, in that order.
    await tenant.admin.ok(
        "mutation($id: ID!) { deleteRecord(id: $id) { deletedRelationCount } }",
        {"id": w["grace"]},
    )
    events = await all_events(tenant.admin)
    update = next(e for e in events if e["type"] == "RECORD_UPDATE")
    assert update["data"]["properties"] == {"lastName": "Hopper"}
    assert update["data"]["changed"] == ["firstName", "lastName"]
    renamed = next(e for e in events if e["type"] == "ASSOCIATION_UPDATE")
    assert renamed["firstObjectLabel"] == "Keeper"
    tail = events[before:]
    assert [e["type"] for e in tail] == ["RELATION_DELETE", "RELATION_DELETE", "RECORD_DELETE"]
    assert {e["relationId"] for e in tail[:2]} == {
        w["relation"],
        second["createRelation"]["id"],
    }
    assert {e["firstObjectLabel"] for e in tail[:2]} == {"Keeper"}
    assert tail[2]["recordId"] == w["grace"]
    assert tail[2]["data"]["relationsDeleted"] == 2


async def test_delete_association_with_cascade_records_each_relation(tenant):
    w = await owner_of(tenant)
    others = [await tenant.admin.create_record("pet", name=f"p{i}") for i in range(3)]
    for pet in others:
        assert (await tenant.admin.link(w["association"]["id"], w["grace"], pet)).status == 200
    before = len(await all_events(tenant.admin))
    await tenant.admin.ok(
        "mutation($id: ID!) { deleteAssociation(id: $id, cascade: true) { deletedRelationCount } }",
        {"id": w["association"]["id"]},
    )
    tail = (await all_events(tenant.admin))[before:]
    assert [e["type"] for e in tail] == ["RELATION_DELETE"] * 4 + ["ASSOCIATION_DELETE"]
    assert {e["secondRecordId"] for e in tail[:4]} == {w["rex"], *others}
    assert tail[-1]["data"]["relationsDeleted"] == 4


async def test_a_failed_or_idempotent_write_appends_nothing(tenant):
    w = await owner_of(tenant)
    before = await all_events(tenant.admin)
    one = await tenant.admin.create_association(
        key="best_friend",
        firstObjectKey="contact",
        secondObjectKey="pet",
        firstObjectLabel="Friend",
        cardinality="ONE_TO_ONE",
    )
    pets = [await tenant.admin.create_record("pet", name=f"p{i}") for i in range(2)]
    mid = await all_events(tenant.admin)
    # All or nothing: the second link breaks the limit, so the first is not kept either.
    r = await tenant.admin.gql(
        "mutation($i: [CreateRelationInput!]!) { createRelations(input: $i) { id } }",
        {
            "i": [
                {"associationId": one["id"], "firstRecordId": w["grace"], "secondRecordId": p}
                for p in pets
            ]
        },
    )
    assert r.code == "LIMIT_EXCEEDED"
    # Linking what is linked already returns the relation and changes nothing.
    again = await tenant.admin.link(w["association"]["id"], w["grace"], w["rex"])
    assert again.data["createRelation"]["id"] == w["relation"]
    # Refused before anything is written.
    assert (
        await tenant.user.fail(
            'mutation { createObjectSchema(input: {key: "x",'
            ' labels: {singular: "X", plural: "Xs"}}) { key } }'
        )
    ).code == "FORBIDDEN"
    r = await tenant.admin.gql(
        "mutation($id: ID!) { deleteAssociation(id: $id) { deletedId } }",
        {"id": w["association"]["id"]},
    )
    assert r.code == "CONFLICT"
    assert await all_events(tenant.admin) == mid
    assert len(mid) == len(before) + 3


async def test_record_history_from_either_side_with_labels_types_and_pages(tenant):
    w = await owner_of(tenant)
    await tenant.admin.ok(
        "mutation($id: ID!) { updateRecord(input:"
        ' {id: $id, properties: {name: "Rex II"}}) { id } }',
        {"id": w["rex"]},
    )
    rex = await history(tenant.admin, w["rex"])
    assert [e["type"] for e in rex] == ["RECORD_CREATE", "RELATION_CREATE", "RECORD_UPDATE"]
    grace = await history(tenant.admin, w["grace"])
    assert [e["type"] for e in grace] == ["RECORD_CREATE", "RELATION_CREATE"]
    # The relation is the same event from both sides.
    assert rex[1] == grace[1]
    only = await history(tenant.admin, w["rex"], types=["RECORD_UPDATE"])
    assert [e["type"] for e in only] == ["RECORD_UPDATE"]
    first = await tenant.admin.ok(HISTORY, {"id": w["rex"], "first": 2})
    page = first["record"]["history"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await history(tenant.admin, w["rex"], after=page["pageInfo"]["endCursor"])
    assert [e["id"] for e in rest] == [rex[2]["id"]]


async def test_history_needs_the_record_scope_and_hides_relations_without_theirs(db, tenant):
    w = await owner_of(tenant)
    records_only = await create_token(db, tenant.location, "user", ["objects/record.readonly"])
    api = Api(tenant.admin.client, records_only)
    seen = await history(api, w["rex"])
    assert [e["type"] for e in seen] == ["RECORD_CREATE"]
    relations_only = await create_token(
        db, tenant.location, "user", ["associations/relation.readonly"]
    )
    r = await Api(tenant.admin.client, relations_only).gql(HISTORY, {"id": w["rex"]})
    assert r.code == "FORBIDDEN"
    # The location's log is the admin's.
    assert (await tenant.user.fail(EVENTS)).code == "FORBIDDEN"


async def test_history_of_many_records_is_one_statement(tenant):
    await owner_of(tenant)
    for i in range(5):
        await tenant.admin.create_record("pet", name=f"p{i}")
    query = (
        '{ records(objectKey: "pet", first: 20) { edges { node { id'
        " history(first: 5) { edges { node { type } } } } } } }"
    )
    r = await tenant.admin.gql(query)
    nodes = [e["node"] for e in r.data["records"]["edges"]]
    assert len(nodes) == 6
    assert all(n["history"]["edges"] for n in nodes)
    one = await tenant.admin.gql(
        '{ records(objectKey: "pet", first: 1) { edges { node { id'
        " history(first: 5) { edges { node { type } } } } } } }"
    )
    # The records, their histories: whatever the number of records (the token's lookup was paid
    # by its first request).
    assert r.statements == one.statements == 2


async def test_events_filter_by_type_and_object_and_resume_after_a_position(tenant):
    w = await owner_of(tenant)
    await tenant.admin.create_record("company", name="Acme")
    pets = await all_events(tenant.admin, objectKey="pet")
    assert [e["type"] for e in pets] == [
        "OBJECT_CREATE",
        "ASSOCIATION_CREATE",
        "RECORD_CREATE",
        "RELATION_CREATE",
    ]
    creates = await all_events(tenant.admin, types=["RECORD_CREATE"])
    assert [e["recordId"] for e in creates][-1] != w["grace"]
    everything = await all_events(tenant.admin)
    after_three = await tenant.admin.ok(EVENTS, {"after": "3"})
    assert [e["node"]["position"] for e in after_three["events"]["edges"]] == [
        e["position"] for e in everything[3:]
    ]
    bad = await tenant.admin.fail(EVENTS, {"after": "-1"})
    assert bad.code == "BAD_USER_INPUT"
    bad = await tenant.admin.fail(EVENTS, {"types": ["NOPE"]})
    assert bad.code == "BAD_USER_INPUT"


async def test_resuming_after_pruned_events_is_refused_not_skipped(db, tenant):
    await owner_of(tenant)
    from app.services.events import prune

    # Age the first three events, then prune what is older than a day.
    await db.execute(
        "update events set occurred_at = now() - interval '3 days'"
        " where location_id = $1 and position <= 3",
        tenant.location,
    )
    assert await prune(db, older_than_days=1, location_id=tenant.location) == 3
    bad = await tenant.admin.fail(EVENTS, {"after": "1"})
    assert bad.code == "BAD_USER_INPUT"
    assert "pruned" in bad.error["message"]
    ok = await tenant.admin.ok(EVENTS, {"after": "3"})
    assert [e["node"]["position"] for e in ok["events"]["edges"]] == ["4", "5"]
    assert [e["position"] for e in await all_events(tenant.admin)] == ["4", "5"]


async def test_relata_events_prune_command(db, pg_dsn, tenant):
    await owner_of(tenant)
    await db.execute(
        "update events set occurred_at = now() - interval '10 days'"
        " where location_id = $1 and position <= 2",
        tenant.location,
    )
    env = {**os.environ, "DATABASE_URL": pg_dsn}
    env.pop("RELATA_EVENT_RETENTION_DAYS", None)

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "events", "prune", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )

    kept = await asyncio.to_thread(run, "--location", tenant.location)
    assert kept.returncode == 0, kept.stderr
    assert "nothing pruned" in kept.stdout
    done = await asyncio.to_thread(
        run, "--location", tenant.location, RELATA_EVENT_RETENTION_DAYS="7"
    )
    assert done.returncode == 0, done.stderr
    assert "pruned 2 event(s)" in done.stdout
    left = await db.fetchval("select count(*) from events where location_id = $1", tenant.location)
    assert left == 3


async def test_rest_history_and_the_tenant_wall(client, tenant, other_tenant):
    w = await owner_of(tenant)
    rest = rest_admin(tenant)
    r = await rest.get(f"/associations/relations/{w['rex']}/history", params={"limit": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["type"] for e in body["events"]] == ["RECORD_CREATE"]
    assert body["hasMore"] is True
    r = await rest.get(
        f"/associations/relations/{w['rex']}/history", params={"after": body["nextCursor"]}
    )
    assert [e["type"] for e in r.json()["events"]] == ["RELATION_CREATE"]
    assert r.json()["events"][0]["secondObjectLabel"] == "Pet"
    # A user with the record scope reads it too.
    assert (
        await rest_user(tenant).get(f"/associations/relations/{w['rex']}/history")
    ).status_code == 200
    # Deleted: its history stays readable; another location sees nothing of it.
    await tenant.admin.ok(
        "mutation($id: ID!) { deleteRecord(id: $id) { deletedId } }", {"id": w["rex"]}
    )
    gone = await rest.get(f"/associations/relations/{w['rex']}/history")
    assert [e["type"] for e in gone.json()["events"]][-2:] == ["RELATION_DELETE", "RECORD_DELETE"]
    foreign = rest_admin(other_tenant)
    r = await foreign.get(f"/associations/relations/{w['rex']}/history")
    assert r.status_code == 404
    r = await foreign.get(f"/associations/relations/{w['grace']}/history")
    assert r.status_code == 404
    assert await all_events(other_tenant.admin) == []
    event_id = (await all_events(tenant.admin))[0]["id"]
    r = await other_tenant.admin.gql("query($id: ID!) { node(id: $id) { id } }", {"id": event_id})
    assert r.code == "NOT_FOUND"
    r = await other_tenant.admin.gql(HISTORY, {"id": w["grace"]})
    assert r.code == "NOT_FOUND"


def test_a_batch_sends_each_shared_value_once():
    from db.events import WRITTEN, _values_list

    rows = [(p, "RELATION_CREATE", *["same"] * (len(WRITTEN) - 3), {}) for p in (7, 8, 9)]
    values, args = _values_list("loc", rows)
    # The location, the 14 shared values, then one varying value (the position) per row.
    assert len(args) == 1 + (len(WRITTEN) - 1) + 3
    assert args[0] == "loc" and args[-3:] == [7, 8, 9]
    assert values.count("(") == 3 and values.startswith("($1, $16, $2, ")
    mixed = [*rows, (10, "RELATION_DELETE", *["other"] * (len(WRITTEN) - 3), {})]
    values, args = _values_list("loc", mixed)
    assert len(args) == 1 + 1 + (len(WRITTEN) - 1) * 4  # only `data` is shared now


async def test_a_thousand_links_and_a_large_cascade_write_one_event_each(db, tenant):
    """1,000 links in one call append 1,000 events at consecutive positions; a cascade larger
    than one insert statement holds (2,133 events a statement) keeps every one of them."""
    from tests.assoc_support import bulk_records, link_many, rel

    contacts = await bulk_records(db, tenant.location, "contact", 2200)
    companies = await bulk_records(db, tenant.location, "company", 3)
    works = await tenant.admin.create_association(
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    for n, start in enumerate(range(0, 2200, 1000)):
        batch = contacts[start : start + 1000]
        r = await link_many(tenant.admin, [rel(works["id"], c, companies[n]) for c in batch])
        assert r.status == 200 and len(r.data["createRelations"]) == len(batch)
    count = "select count(*), min(position), max(position) from events where location_id = $1"
    total, low, high = await db.fetchrow(count, tenant.location)
    # The association, then one event per link (the records were loaded without events).
    assert (total, low, high) == (2201, 1, 2201)
    await tenant.admin.ok(
        "mutation($id: ID!) { deleteAssociation(id: $id, cascade: true) { deletedRelationCount } }",
        {"id": works["id"]},
    )
    rows = await db.fetch(
        "select position, type, first_object_label from events where location_id = $1"
        " and position > $2 order by position",
        tenant.location,
        high,
    )
    assert [r["position"] for r in rows] == list(range(high + 1, high + 2202))
    assert [r["type"] for r in rows] == ["RELATION_DELETE"] * 2200 + ["ASSOCIATION_DELETE"]
    assert {r["first_object_label"] for r in rows} == {"Employee"}
