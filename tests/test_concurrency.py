"""Races with real parallel connections: every request below runs on its own pooled connection
(the pool holds up to 40) and the calls are fired together with asyncio.gather. After each race
the invariants are checked in SQL, including relation_counters against a fresh count(*)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

from tests.assoc_support import (
    CREATE_ASSOCIATION,
    DELETE_ASSOCIATION,
    DELETE_RECORD,
    assert_invariants,
    association,
    bulk_records,
    count_relations,
    link,
    link_many,
    rel,
)
from tests.helpers import Response


def codes(responses: list[Response]) -> Counter[str]:
    return Counter("OK" if not r.body.get("errors") else r.code for r in responses)


async def works_at(tenant, cardinality: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return await association(
        tenant.admin,
        key=f"works_at_{cardinality.lower()}",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
        cardinality=cardinality,
    )


async def test_fifty_racing_into_one_slot(db, tenant):
    a = await works_at(tenant, "MANY_TO_ONE")  # a contact has one company
    (contact,) = await bulk_records(db, tenant.location, "contact", 1)
    companies = await bulk_records(db, tenant.location, "company", 50)
    results = await asyncio.gather(*(link(tenant.user, a["id"], contact, c) for c in companies))
    assert codes(results) == {"OK": 1, "LIMIT_EXCEEDED": 49}
    for r in results:
        if r.body.get("errors"):
            assert r.error["extensions"]["limit"] == 1
            assert r.error["extensions"]["limitName"] == "firstToSecondLimit"
    assert await count_relations(db, tenant.location) == 1
    winner = next(r for r in results if not r.body.get("errors"))
    rows = await db.fetch(
        "select second_record_id from relations where location_id = $1", tenant.location
    )
    assert winner.data["createRelation"]["secondRecordId"].endswith(rows[0][0].hex)
    await assert_invariants(db, tenant.location)


async def test_1100_racing_into_a_limit_of_1000(db, tenant):
    a = await works_at(tenant, "ONE_TO_MANY")  # one contact, up to 1000 companies
    (contact,) = await bulk_records(db, tenant.location, "contact", 1)
    companies = await bulk_records(db, tenant.location, "company", 1100)
    random.Random(7).shuffle(companies)
    # 100 single calls and 20 batches of 50, interleaved, all on the one contact's counter.
    # Whatever the order, the total is exactly 1000: a single fails only once 1000 are in, and
    # if every single went in, the batches that fit make 100 + 18 * 50 = 1000 (a batch fails
    # only when more than 950 are in).
    singles, batched = companies[:100], companies[100:]
    calls = [link(tenant.user, a["id"], contact, c) for c in singles]
    for i in range(20):
        chunk = batched[i * 50 : (i + 1) * 50]
        calls.insert(i * 6 + 3, link_many(tenant.user, [rel(a["id"], contact, c) for c in chunk]))
    results = await asyncio.gather(*calls)
    assert set(codes(results)) <= {"OK", "LIMIT_EXCEEDED"}
    made = sum(
        len(r.data["createRelations"]) if "createRelations" in (r.body.get("data") or {}) else 1
        for r in results
        if not r.body.get("errors")
    )
    assert made == 1000
    assert await count_relations(db, tenant.location) == 1000
    assert (
        await db.fetchval(
            "select n from relation_counters where location_id = $1 and side = 1",
            tenant.location,
        )
        == 1000
    )
    await assert_invariants(db, tenant.location)


async def later(delay: float, call: Any) -> Response:
    await asyncio.sleep(delay)
    return await call  # type: ignore[no-any-return]


# The links of one round start a millisecond apart and the delete at a different point of that
# spread in each round, so rounds see the delete win, the links win, and mixes of both. Every
# outcome is checked against the rules.
DELAYS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.0, 0.01, 0.02, 0.03, 0.04, 0.05)
STAGGER = 0.003


async def test_delete_association_racing_create_relation(db, tenant):
    contacts = await bulk_records(db, tenant.location, "contact", 20)
    companies = await bulk_records(db, tenant.location, "company", 20)
    for round_, delay in enumerate(DELAYS):
        cascade = round_ >= len(DELAYS) // 2
        a = await association(
            tenant.admin,
            key=f"race_{round_}",
            firstObjectKey="contact",
            secondObjectKey="company",
            firstObjectLabel="A",
            secondObjectLabel="B",
        )
        creates = [
            later(
                i * STAGGER, link(tenant.user, a["id"], contacts[i], companies[(i + round_) % 20])
            )
            for i in range(20)
        ]
        delete = tenant.admin.gql(DELETE_ASSOCIATION, {"id": a["id"], "cascade": cascade})
        deleted, *created = await asyncio.gather(later(delay, delete), *creates)
        c = codes(created)
        assert set(c) <= {"OK", "NOT_FOUND"}, c
        left = await count_relations(db, tenant.location, a["id"])
        if deleted.body.get("errors"):
            # Refused: only without cascade, only because some link won, and nothing was lost.
            assert not cascade
            assert deleted.code == "CONFLICT"
            assert c["OK"] >= 1
            assert left == c["OK"]
            await tenant.admin.ok(DELETE_ASSOCIATION, {"id": a["id"], "cascade": True})
        else:
            # Deleted: without cascade no link may have succeeded; with it, every link that
            # went in first was removed and counted.
            removed = deleted.data["deleteAssociation"]["deletedRelationCount"]
            if not cascade:
                assert c["OK"] == 0 and removed == 0
            else:
                assert removed == c["OK"]
            assert left == 0
        await assert_invariants(db, tenant.location)
    assert await count_relations(db, tenant.location) == 0


async def test_ten_per_pair_under_racing_creates(db, tenant):
    def create(i: int) -> Any:
        first, second = ("contact", "opportunity") if i % 2 else ("opportunity", "contact")
        return tenant.admin.gql(
            CREATE_ASSOCIATION,
            {
                "i": {
                    "key": f"pair_{i}",
                    "firstObjectKey": first,
                    "secondObjectKey": second,
                    "firstObjectLabel": "X",
                    "secondObjectLabel": "Y",
                }
            },
        )

    results = await asyncio.gather(*(create(i) for i in range(30)))
    assert codes(results) == {"OK": 10, "LIMIT_EXCEEDED": 20}
    n = await db.fetchval(
        "select count(*) from associations where location_id = $1 and"
        " 'opportunity' in (first_object_key, second_object_key)",
        tenant.location,
    )
    assert n == 10


async def test_racing_duplicate_keys(db, tenant):
    results = await asyncio.gather(
        *(
            tenant.admin.gql(
                CREATE_ASSOCIATION,
                {
                    "i": {
                        "key": "same",
                        "firstObjectKey": "contact",
                        "secondObjectKey": ("company", "opportunity")[i % 2],
                        "firstObjectLabel": "X",
                    }
                },
            )
            for i in range(10)
        )
    )
    assert codes(results) == {"OK": 1, "CONFLICT": 9}
    assert (
        await db.fetchval(
            "select count(*) from associations where location_id = $1 and key = 'same'",
            tenant.location,
        )
        == 1
    )


async def test_identical_creates_get_one_relation(db, tenant):
    a = await works_at(tenant, "MANY_TO_MANY")
    peers = await association(
        tenant.admin,
        key="peer",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Peer",
    )
    x, y = await bulk_records(db, tenant.location, "contact", 2)
    (co,) = await bulk_records(db, tenant.location, "company", 1)
    calls = [
        link(tenant.user, a["id"], x, co) if i % 2 else link(tenant.user, a["id"], co, x)
        for i in range(20)
    ]
    calls += [
        link(tenant.user, peers["id"], x, y) if i % 2 else link(tenant.user, peers["id"], y, x)
        for i in range(20)
    ]
    calls.insert(5, link_many(tenant.user, [rel(a["id"], x, co), rel(peers["id"], y, x)]))
    results = await asyncio.gather(*calls)
    assert codes(results) == {"OK": 41}
    batch = results.pop(5).data["createRelations"]
    works_ids = {r.data["createRelation"]["id"] for r in results[:20]} | {batch[0]["id"]}
    peer_ids = {r.data["createRelation"]["id"] for r in results[20:]} | {batch[1]["id"]}
    assert len(works_ids) == 1 and len(peer_ids) == 1
    assert await count_relations(db, tenant.location) == 2
    await assert_invariants(db, tenant.location)


async def test_delete_record_racing_create_relation(db, tenant):
    a = await works_at(tenant, "MANY_TO_MANY")
    companies = await bulk_records(db, tenant.location, "company", 20)
    for delay in DELAYS[:6]:
        (contact,) = await bulk_records(db, tenant.location, "contact", 1)
        creates = [
            later(i * STAGGER, link(tenant.user, a["id"], contact, c))
            for i, c in enumerate(companies)
        ]
        delete = tenant.user.gql(DELETE_RECORD, {"id": contact})
        deleted, *created = await asyncio.gather(later(delay, delete), *creates)
        c = codes(created)
        assert set(c) <= {"OK", "NOT_FOUND"}, c
        # Every link that won was made before the delete and went with the record.
        assert deleted.data["deleteRecord"]["deletedRelationCount"] == c["OK"]
        assert await count_relations(db, tenant.location) == 0
        await assert_invariants(db, tenant.location)
    # The companies' counters are back to zero: a fresh contact links to all of them at once.
    (contact,) = await bulk_records(db, tenant.location, "contact", 1)
    r = await link_many(tenant.user, [rel(a["id"], contact, c) for c in companies])
    assert len(r.data["createRelations"]) == 20
    await assert_invariants(db, tenant.location)


async def test_racing_deletes_and_creates_keep_counters_exact(db, tenant):
    a = await works_at(tenant, "MANY_TO_MANY")
    a2 = await association(
        tenant.admin,
        key="limited",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="L",
        secondObjectLabel="M",
        firstToSecondLimit=5,
        secondToFirstLimit=5,
    )
    contacts = await bulk_records(db, tenant.location, "contact", 8)
    companies = await bulk_records(db, tenant.location, "company", 8)
    rng = random.Random(3)
    existing = (
        await link_many(
            tenant.user,
            [rel(a["id"], contacts[i], companies[i]) for i in range(8)]
            + [rel(a2["id"], contacts[0], companies[i]) for i in range(4)],
        )
    ).data["createRelations"]
    calls = []
    for i in range(60):
        kind = rng.choice(["link", "link", "batch", "delete"])
        assoc = rng.choice([a, a2])["id"]
        if kind == "link":
            calls.append(link(tenant.user, assoc, rng.choice(contacts), rng.choice(companies)))
        elif kind == "batch":
            items = [rel(assoc, rng.choice(contacts), rng.choice(companies)) for _ in range(4)]
            calls.append(link_many(tenant.user, items))
        else:
            calls.append(
                tenant.user.gql(
                    "mutation($id: ID!) { deleteRelation(id: $id) { deletedId } }",
                    {"id": existing[i % len(existing)]["id"]},
                )
            )
    results = await asyncio.gather(*calls)
    assert set(codes(results)) <= {"OK", "LIMIT_EXCEEDED", "NOT_FOUND"}
    await assert_invariants(db, tenant.location)


async def test_symmetric_one_to_one_race(db, tenant):
    # A single label of contact with itself reads the same both ways: (X, Y) and (Y, X) take
    # the same slot on both records.
    partner = await association(
        tenant.admin,
        key="partner",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Partner",
        cardinality="ONE_TO_ONE",
    )
    x, *others = await bulk_records(db, tenant.location, "contact", 21)
    results = await asyncio.gather(
        *(
            link(tenant.user, partner["id"], x, y)
            if i % 2
            else link(tenant.user, partner["id"], y, x)
            for i, y in enumerate(others)
        )
    )
    assert codes(results) == {"OK": 1, "LIMIT_EXCEEDED": 19}
    assert await count_relations(db, tenant.location) == 1
    await assert_invariants(db, tenant.location)


async def test_racing_deletes_of_both_ends_and_of_the_relations(db, tenant):
    a = await works_at(tenant, "MANY_TO_MANY")
    contacts = await bulk_records(db, tenant.location, "contact", 5)
    companies = await bulk_records(db, tenant.location, "company", 5)
    made = (
        await link_many(tenant.user, [rel(a["id"], c, co) for c in contacts for co in companies])
    ).data["createRelations"]
    assert len(made) == 25
    by_contact = [[m["id"] for m in made[i * 5 : (i + 1) * 5]] for i in range(5)]
    calls = [tenant.user.gql(DELETE_RECORD, {"id": c}) for c in contacts[:3]]
    calls += [tenant.user.gql(DELETE_RECORD, {"id": co}) for co in companies[:3]]
    calls += [
        tenant.user.gql(
            "mutation($ids: [ID!]!) { deleteRelations(ids: $ids) { count } }",
            {"ids": by_contact[i]},
        )
        for i in (0, 3)
    ]
    results = await asyncio.gather(*calls)
    record_deletes, relation_deletes = results[:6], results[6:]
    assert codes(record_deletes) == {"OK": 6}
    assert set(codes(relation_deletes)) <= {"OK", "NOT_FOUND"}
    # Only contacts 3 and 4 with companies 3 and 4 are out of every record delete's reach; of
    # those, contact 3's two go too if its deleteRelations won (it is all or nothing).
    remaining = await count_relations(db, tenant.location)
    assert remaining == (2 if not relation_deletes[1].body.get("errors") else 4)
    removed = sum(r.data["deleteRecord"]["deletedRelationCount"] for r in record_deletes)
    removed += sum(
        r.data["deleteRelations"]["count"] for r in relation_deletes if not r.body.get("errors")
    )
    # Every relation was removed exactly once, by whichever delete reached it first.
    assert removed + remaining == 25
    await assert_invariants(db, tenant.location)
