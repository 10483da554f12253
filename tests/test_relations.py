"""Relations through GraphQL: idempotence, ordering, tenancy, types, limits, batches, deletes."""

from __future__ import annotations

import pytest

from app.services.tokens import create_token
from tests.assoc_support import (
    DELETE_RECORD,
    DELETE_RELATION,
    DELETE_RELATIONS,
    assert_invariants,
    association,
    bulk_records,
    count_relations,
    link,
    link_many,
    rel,
    relation_rows,
)
from tests.helpers import Api


async def pair(tenant, **over):  # type: ignore[no-untyped-def]
    fields = {
        "key": "works_at",
        "firstObjectKey": "contact",
        "secondObjectKey": "company",
        "firstObjectLabel": "Employee",
        "secondObjectLabel": "Employer",
    }
    fields.update(over)
    return await association(tenant.admin, **fields)


async def colleague(tenant, **over):  # type: ignore[no-untyped-def]
    fields = {
        "key": "colleague",
        "firstObjectKey": "contact",
        "secondObjectKey": "contact",
        "firstObjectLabel": "Colleague",
    }
    fields.update(over)
    return await association(tenant.admin, **fields)


# --- createRelation ---------------------------------------------------------------------------


async def test_create_relation_returns_it_and_stores_it(db, tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    r = (await link(tenant.user, a["id"], c, co)).data["createRelation"]
    assert r["id"].startswith("rel_")
    assert (r["associationId"], r["firstRecordId"], r["secondRecordId"]) == (a["id"], c, co)
    assert await relation_rows(db, tenant.location) == [(a["id"], c, co)]
    await assert_invariants(db, tenant.location)


async def test_create_relation_is_idempotent(db, tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    first = (await link(tenant.user, a["id"], c, co)).data["createRelation"]
    again = (await link(tenant.user, a["id"], c, co)).data["createRelation"]
    swapped = (await link(tenant.user, a["id"], co, c)).data["createRelation"]
    assert first == again == swapped
    batch = (await link_many(tenant.user, [rel(a["id"], c, co)] * 3)).data["createRelations"]
    assert [b["id"] for b in batch] == [first["id"]] * 3
    assert await count_relations(db, tenant.location) == 1
    await assert_invariants(db, tenant.location)


async def test_retry_does_not_count_against_a_limit(db, tenant):
    a = await pair(tenant, cardinality="ONE_TO_ONE")
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    ids = {(await link(tenant.user, a["id"], c, co)).data["createRelation"]["id"] for _ in range(3)}
    assert len(ids) == 1
    await assert_invariants(db, tenant.location)


async def test_wrong_order_is_swapped_when_objects_differ(db, tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    r = (await link(tenant.user, a["id"], co, c)).data["createRelation"]
    assert (r["firstRecordId"], r["secondRecordId"]) == (c, co)
    assert await relation_rows(db, tenant.location) == [(a["id"], c, co)]


async def test_single_label_self_association_is_unordered(db, tenant):
    a = await colleague(tenant)
    x = await tenant.user.create_record("contact", firstName="X")
    y = await tenant.user.create_record("contact", firstName="Y")
    one = (await link(tenant.user, a["id"], x, y)).data["createRelation"]
    two = (await link(tenant.user, a["id"], y, x)).data["createRelation"]
    assert one["id"] == two["id"]
    batch = await link_many(tenant.user, [rel(a["id"], y, x), rel(a["id"], x, y)])
    assert {b["id"] for b in batch.data["createRelations"]} == {one["id"]}
    assert await count_relations(db, tenant.location) == 1
    await assert_invariants(db, tenant.location)


async def test_pair_labelled_self_association_is_ordered(db, tenant):
    a = await association(
        tenant.admin,
        key="manages",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Manager",
        secondObjectLabel="Employee",
    )
    x = await tenant.user.create_record("contact", firstName="X")
    y = await tenant.user.create_record("contact", firstName="Y")
    one = (await link(tenant.user, a["id"], x, y)).data["createRelation"]
    two = (await link(tenant.user, a["id"], y, x)).data["createRelation"]
    assert one["id"] != two["id"]
    assert (two["firstRecordId"], two["secondRecordId"]) == (y, x)
    assert await count_relations(db, tenant.location) == 2


async def test_record_never_links_to_itself(db, tenant):
    a = await colleague(tenant)
    x = await tenant.user.create_record("contact", firstName="X")
    r = await link(tenant.user, a["id"], x, x)
    assert r.code == "BAD_USER_INPUT"
    y = await tenant.user.create_record("contact", firstName="Y")
    r = await link_many(tenant.user, [rel(a["id"], x, y), rel(a["id"], y, y)])
    assert r.code == "BAD_USER_INPUT"
    assert r.error["extensions"]["field"].startswith("input[1]")
    assert await count_relations(db, tenant.location) == 0


async def test_two_associations_may_link_the_same_records(db, tenant):
    owner = await pair(tenant, key="owner", firstObjectLabel="Owner", secondObjectLabel="Owned")
    buyer = await pair(tenant, key="buyer", firstObjectLabel="Buyer", secondObjectLabel="Sold")
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    r1 = (await link(tenant.user, owner["id"], c, co)).data["createRelation"]
    r2 = (await link(tenant.user, buyer["id"], c, co)).data["createRelation"]
    assert r1["id"] != r2["id"]
    assert await count_relations(db, tenant.location) == 2


async def test_other_locations_records_and_associations_are_not_found(db, tenant, other_tenant):
    mine = await pair(tenant)
    theirs = await pair(other_tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    their_c = await other_tenant.user.create_record("contact", firstName="Bob")
    their_co = await other_tenant.user.create_record("company", name="Other")
    never_rec = "rec_" + "0" * 32
    never_asc = "asc_" + "0" * 32

    async def answer(assoc, first, second):  # type: ignore[no-untyped-def]
        r = await link(tenant.user, assoc, first, second)
        assert r.code == "NOT_FOUND", r.body
        return r.error["message"], r.error["extensions"].get("field")

    # A foreign id and an id that never existed get the same answer, up to the id itself.
    cases = [
        ((mine["id"], their_c, co), (mine["id"], never_rec, co)),
        ((mine["id"], c, their_co), (mine["id"], c, never_rec)),
        ((theirs["id"], c, co), (never_asc, c, co)),
    ]
    for foreign, never in cases:
        fm, ff = await answer(*foreign)
        nm, nf = await answer(*never)
        foreign_id = next(i for i in foreign if i not in never)
        never_id = next(i for i in never if i not in foreign)
        assert fm.replace(foreign_id, "?") == nm.replace(never_id, "?")
        assert ff == nf
    r = await link_many(tenant.user, [rel(mine["id"], c, co), rel(mine["id"], their_c, co)])
    assert r.code == "NOT_FOUND"
    assert await count_relations(db, tenant.location) == 0
    assert await count_relations(db, other_tenant.location) == 0


async def test_wrong_object_types_are_bad_user_input(db, tenant):
    a = await pair(tenant)
    c1 = await tenant.user.create_record("contact", firstName="A")
    c2 = await tenant.user.create_record("contact", firstName="B")
    opp = await tenant.user.create_record("opportunity", name="Deal")
    co = await tenant.user.create_record("company", name="Acme")
    for first, second in ((c1, c2), (c1, opp), (opp, co), (co, co)):
        r = await link(tenant.user, a["id"], first, second)
        assert r.code == "BAD_USER_INPUT", (first, second)
    assert await count_relations(db, tenant.location) == 0


async def test_malformed_ids_are_bad_user_input(tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="A")
    co = await tenant.user.create_record("company", name="Acme")
    for args in ((c, c, co), (a["id"], "nope", co), (a["id"], c, a["id"])):
        assert (await link(tenant.user, *args)).code == "BAD_USER_INPUT"


# --- limits ----------------------------------------------------------------------------------


async def test_first_to_second_limit_is_named(db, tenant):
    a = await pair(tenant, firstToSecondLimit=2)
    c = await tenant.user.create_record("contact", firstName="Ann")
    cos = await bulk_records(db, tenant.location, "company", 3)
    for co in cos[:2]:
        await link(tenant.user, a["id"], c, co)
    r = await link(tenant.user, a["id"], c, cos[2])
    assert r.code == "LIMIT_EXCEEDED"
    ext = r.error["extensions"]
    assert ext["limit"] == 2
    assert ext["limitName"] == "firstToSecondLimit"
    assert ext["recordId"] == c
    assert "firstToSecondLimit" in r.error["message"] and "2" in r.error["message"]
    assert await count_relations(db, tenant.location) == 2
    # The other direction still has room: a second contact may link to the same company.
    c2 = await tenant.user.create_record("contact", firstName="Bob")
    assert (await link(tenant.user, a["id"], c2, cos[2])).body.get("errors") is None
    await assert_invariants(db, tenant.location)


async def test_second_to_first_limit_is_named(db, tenant):
    a = await pair(tenant, cardinality="ONE_TO_MANY")  # a company has one contact
    co = await tenant.user.create_record("company", name="Acme")
    c1 = await tenant.user.create_record("contact", firstName="A")
    c2 = await tenant.user.create_record("contact", firstName="B")
    await link(tenant.user, a["id"], c1, co)
    r = await link(tenant.user, a["id"], co, c2)  # wrong order, swapped, then refused
    assert r.code == "LIMIT_EXCEEDED"
    assert r.error["extensions"]["limit"] == 1
    assert r.error["extensions"]["limitName"] == "secondToFirstLimit"
    assert r.error["extensions"]["recordId"] == co
    assert "secondToFirstLimit" in r.error["message"]
    await assert_invariants(db, tenant.location)


async def test_self_association_limit_counts_both_ends(db, tenant):
    a = await colleague(tenant, firstToSecondLimit=2, secondToFirstLimit=2)
    x, y, z, w = await bulk_records(db, tenant.location, "contact", 4)
    await link(tenant.user, a["id"], x, y)
    await link(tenant.user, a["id"], z, x)
    r = await link(tenant.user, a["id"], w, x)
    assert r.code == "LIMIT_EXCEEDED"
    assert r.error["extensions"]["recordId"] == x
    await assert_invariants(db, tenant.location)


async def test_single_label_self_association_needs_equal_limits(tenant):
    r = await tenant.admin.gql(
        "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) { id } }",
        {
            "i": {
                "key": "odd",
                "firstObjectKey": "contact",
                "secondObjectKey": "contact",
                "firstObjectLabel": "Peer",
                "cardinality": "ONE_TO_MANY",
            }
        },
    )
    assert r.code == "BAD_USER_INPUT"


async def test_deleting_a_relation_frees_its_slot(db, tenant):
    a = await pair(tenant, cardinality="MANY_TO_ONE")  # a contact has one company
    c = await tenant.user.create_record("contact", firstName="Ann")
    co1 = await tenant.user.create_record("company", name="One")
    co2 = await tenant.user.create_record("company", name="Two")
    rid = (await link(tenant.user, a["id"], c, co1)).data["createRelation"]["id"]
    assert (await link(tenant.user, a["id"], c, co2)).code == "LIMIT_EXCEEDED"
    await tenant.user.ok(DELETE_RELATION, {"id": rid})
    assert (await link(tenant.user, a["id"], c, co2)).body.get("errors") is None
    await assert_invariants(db, tenant.location)


async def test_limit_of_1000_holds(db, tenant):
    a = await pair(tenant, cardinality="ONE_TO_MANY")
    c = await tenant.user.create_record("contact", firstName="Ann")
    cos = await bulk_records(db, tenant.location, "company", 1001)
    r = await link_many(tenant.user, [rel(a["id"], c, co) for co in cos[:1000]])
    assert len(r.data["createRelations"]) == 1000
    r = await link(tenant.user, a["id"], c, cos[1000])
    assert r.code == "LIMIT_EXCEEDED"
    assert r.error["extensions"]["limit"] == 1000
    assert await count_relations(db, tenant.location) == 1000
    await assert_invariants(db, tenant.location)


# --- createRelations -------------------------------------------------------------------------


async def test_batch_creates_all_in_order(db, tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    cos = await bulk_records(db, tenant.location, "company", 5)
    items = [rel(a["id"], c, co) if i % 2 else rel(a["id"], co, c) for i, co in enumerate(cos)]
    out = (await link_many(tenant.user, items)).data["createRelations"]
    assert [o["secondRecordId"] for o in out] == cos
    assert all(o["firstRecordId"] == c for o in out)
    assert len({o["id"] for o in out}) == 5
    assert await count_relations(db, tenant.location) == 5
    await assert_invariants(db, tenant.location)


async def test_batch_mixes_new_and_existing(db, tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    co1, co2 = await bulk_records(db, tenant.location, "company", 2)
    old = (await link(tenant.user, a["id"], c, co1)).data["createRelation"]["id"]
    out = (await link_many(tenant.user, [rel(a["id"], c, co2), rel(a["id"], c, co1)])).data
    assert out["createRelations"][1]["id"] == old
    assert await count_relations(db, tenant.location) == 2


@pytest.mark.parametrize("bad", ["not_found", "wrong_type", "self", "foreign_assoc"])
async def test_one_bad_item_writes_nothing(db, tenant, other_tenant, bad):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    cos = await bulk_records(db, tenant.location, "company", 4)
    items = [rel(a["id"], c, co) for co in cos[:3]]
    if bad == "not_found":
        items.append(rel(a["id"], c, "rec_" + "1" * 32))
    elif bad == "wrong_type":
        items.append(rel(a["id"], cos[3], cos[0]))
    elif bad == "self":
        items.append(rel(a["id"], c, c))
    else:
        theirs = await pair(other_tenant)
        items.append(rel(theirs["id"], c, cos[3]))
    r = await link_many(tenant.user, items)
    assert r.code in ("NOT_FOUND", "BAD_USER_INPUT")
    assert r.error["extensions"]["field"].startswith("input[3]")
    assert await count_relations(db, tenant.location) == 0
    await assert_invariants(db, tenant.location)


async def test_batch_limit_is_checked_as_a_whole(db, tenant):
    a = await pair(tenant, firstToSecondLimit=3)
    c = await tenant.user.create_record("contact", firstName="Ann")
    cos = await bulk_records(db, tenant.location, "company", 4)
    await link(tenant.user, a["id"], c, cos[0])
    # Each of the three new links would fit alone; together they pass the limit of 3.
    r = await link_many(tenant.user, [rel(a["id"], c, co) for co in cos[1:]])
    assert r.code == "LIMIT_EXCEEDED"
    assert r.error["extensions"]["limit"] == 3
    assert await count_relations(db, tenant.location) == 1
    ok = await link_many(tenant.user, [rel(a["id"], c, co) for co in cos[1:3]])
    assert len(ok.data["createRelations"]) == 2
    await assert_invariants(db, tenant.location)


async def test_batch_limit_on_the_second_side(db, tenant):
    a = await pair(tenant, cardinality="ONE_TO_ONE")
    c1, c2 = await bulk_records(db, tenant.location, "contact", 2)
    (co,) = await bulk_records(db, tenant.location, "company", 1)
    r = await link_many(tenant.user, [rel(a["id"], c1, co), rel(a["id"], c2, co)])
    assert r.code == "LIMIT_EXCEEDED"
    assert r.error["extensions"]["limitName"] == "secondToFirstLimit"
    assert await count_relations(db, tenant.location) == 0
    await assert_invariants(db, tenant.location)


async def test_batch_of_1001_is_refused(db, tenant):
    a = await pair(tenant)
    cs = await bulk_records(db, tenant.location, "contact", 1)
    cos = await bulk_records(db, tenant.location, "company", 1001)
    r = await link_many(tenant.user, [rel(a["id"], cs[0], co) for co in cos])
    assert r.code == "BAD_USER_INPUT"
    assert await count_relations(db, tenant.location) == 0


async def test_empty_batch_is_empty(tenant):
    assert (await link_many(tenant.user, [])).data["createRelations"] == []


# --- deleteRelation(s) -----------------------------------------------------------------------


async def test_delete_relation(db, tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    rid = (await link(tenant.user, a["id"], c, co)).data["createRelation"]["id"]
    data = await tenant.user.ok(
        "mutation($id: ID!) { deleteRelation(id: $id) { deletedId firstRecordId secondRecordId } }",
        {"id": rid},
    )
    # The ends come back too: a client drops the edge from either record's cached relations.
    assert data["deleteRelation"] == {"deletedId": rid, "firstRecordId": c, "secondRecordId": co}
    assert await count_relations(db, tenant.location) == 0
    assert (await tenant.user.gql(DELETE_RELATION, {"id": rid})).code == "NOT_FOUND"
    await assert_invariants(db, tenant.location)


async def test_delete_relations_all_or_nothing(db, tenant, other_tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    cos = await bulk_records(db, tenant.location, "company", 3)
    out = (await link_many(tenant.user, [rel(a["id"], c, co) for co in cos])).data
    rids = [o["id"] for o in out["createRelations"]]
    # A foreign relation is as unknown as one that never existed.
    ta = await pair(other_tenant)
    tc = await other_tenant.user.create_record("contact", firstName="T")
    tco = await other_tenant.user.create_record("company", name="T")
    foreign = (await link(other_tenant.user, ta["id"], tc, tco)).data["createRelation"]["id"]
    for stranger in ("rel_" + "2" * 32, foreign):
        r = await tenant.user.gql(DELETE_RELATIONS, {"ids": [rids[0], stranger, rids[1]]})
        assert r.code == "NOT_FOUND"
        assert await count_relations(db, tenant.location) == 3
    assert await count_relations(db, other_tenant.location) == 1
    data = await tenant.user.ok(DELETE_RELATIONS, {"ids": rids[:2]})
    assert sorted(data["deleteRelations"]["deletedIds"]) == sorted(rids[:2])
    assert data["deleteRelations"]["count"] == 2
    assert await count_relations(db, tenant.location) == 1
    await assert_invariants(db, tenant.location)


async def test_delete_relations_of_1001_ids_is_refused(tenant):
    r = await tenant.user.gql(DELETE_RELATIONS, {"ids": ["rel_" + "3" * 32] * 1001})
    assert r.code == "BAD_USER_INPUT"


# --- deleteRecord ----------------------------------------------------------------------------


async def test_delete_record_removes_its_relations_and_says_how_many(db, tenant):
    a = await pair(tenant)
    peers = await colleague(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    other = await tenant.user.create_record("contact", firstName="Bob")
    cos = await bulk_records(db, tenant.location, "company", 3)
    await link_many(tenant.user, [rel(a["id"], c, co) for co in cos])
    await link(tenant.user, peers["id"], other, c)
    await link(tenant.user, a["id"], other, cos[0])
    data = await tenant.user.ok(DELETE_RECORD, {"id": c})
    assert data["deleteRecord"] == {"deletedId": c, "deletedRelationCount": 4}
    assert await relation_rows(db, tenant.location) == [(a["id"], other, cos[0])]
    r = await tenant.user.gql("query($id: ID!) { record(id: $id) { id } }", {"id": c})
    assert r.code == "NOT_FOUND"
    await assert_invariants(db, tenant.location)


async def test_delete_record_frees_the_other_records_slot(db, tenant):
    a = await pair(tenant, cardinality="ONE_TO_MANY")  # a company has one contact
    c1 = await tenant.user.create_record("contact", firstName="A")
    c2 = await tenant.user.create_record("contact", firstName="B")
    co = await tenant.user.create_record("company", name="Acme")
    await link(tenant.user, a["id"], c1, co)
    assert (await link(tenant.user, a["id"], c2, co)).code == "LIMIT_EXCEEDED"
    data = await tenant.user.ok(DELETE_RECORD, {"id": c1})
    assert data["deleteRecord"]["deletedRelationCount"] == 1
    assert (await link(tenant.user, a["id"], c2, co)).body.get("errors") is None
    await assert_invariants(db, tenant.location)


async def test_delete_foreign_record_is_not_found(db, tenant, other_tenant):
    theirs = await other_tenant.user.create_record("contact", firstName="T")
    r = await tenant.user.gql(DELETE_RECORD, {"id": theirs})
    assert r.code == "NOT_FOUND"
    await other_tenant.user.ok("query($id: ID!) { record(id: $id) { id } }", {"id": theirs})


# --- scopes ----------------------------------------------------------------------------------


async def test_relation_write_scope_is_required(db, client, tenant):
    a = await pair(tenant)
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    token = await create_token(
        db, tenant.location, "user", ["associations/relation.readonly", "objects/record.write"]
    )
    api = Api(client, token, tenant.location)
    r = await link(api, a["id"], c, co)
    assert r.code == "FORBIDDEN"
    assert (await link_many(api, [rel(a["id"], c, co)])).code == "FORBIDDEN"
    rid = (await link(tenant.user, a["id"], c, co)).data["createRelation"]["id"]
    assert (await api.gql(DELETE_RELATION, {"id": rid})).code == "FORBIDDEN"
    assert await count_relations(db, tenant.location) == 1


async def test_batch_retry_does_not_count_against_a_limit(db, tenant):
    a = await pair(tenant, cardinality="ONE_TO_ONE")
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    first = (await link(tenant.user, a["id"], c, co)).data["createRelation"]["id"]
    out = await link_many(tenant.user, [rel(a["id"], c, co), rel(a["id"], co, c)])
    assert [o["id"] for o in out.data["createRelations"]] == [first, first]
    await assert_invariants(db, tenant.location)
