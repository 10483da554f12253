"""A single-label association between two different objects (contact <-> company, only a
firstObjectLabel) is not symmetric: the symmetry rule (`is_symmetric`) is for an object with
itself. Orientation is kept (ids in the wrong order are swapped into first = contact, second =
company, and nothing else is normalised), each side has its own limit, and both ends read the
one label.

Companies are created before contacts throughout, so a company's id sorts first: code that
treated these associations as symmetric (ordering the two ids by value, counting both ends on
one counter) turns the pairs round or refuses links, and every test here fails."""

from __future__ import annotations

from typing import Any

from tests.assoc_support import (
    assert_invariants,
    association,
    count_relations,
    link,
    link_many,
    rel,
    relation_rows,
)

RELATIONS = """
query($id: ID!) { record(id: $id) { relations { totalCount edges {
  label node { id objectKey } relation { id firstRecordId secondRecordId } } } } }
"""


async def partner(tenant: Any, **limits: Any) -> dict[str, Any]:
    """contact <-> company, one label; MANY_TO_ONE unless told: a contact has one company, a
    company many contacts."""
    fields: dict[str, Any] = {
        "key": "partner",
        "firstObjectKey": "contact",
        "secondObjectKey": "company",
        "firstObjectLabel": "Partner",
    }
    fields.update(limits or {"cardinality": "MANY_TO_ONE"})
    return await association(tenant.admin, **fields)


async def companies_then_contacts(
    tenant: Any, companies: int, contacts: int
) -> tuple[list[str], list[str]]:
    made = [await tenant.user.create_record("company", name=f"Co{i}") for i in range(companies)]
    return made, [
        await tenant.user.create_record("contact", firstName=f"C{i}") for i in range(contacts)
    ]


async def test_orientation_is_kept_and_the_wrong_order_is_swapped(db, tenant):
    a = await partner(tenant)
    (co,), (c1, c2) = await companies_then_contacts(tenant, 1, 2)
    given_right = (await link(tenant.user, a["id"], c1, co)).data["createRelation"]
    given_wrong = (await link(tenant.user, a["id"], co, c2)).data["createRelation"]
    assert (given_right["firstRecordId"], given_right["secondRecordId"]) == (c1, co)
    assert (given_wrong["firstRecordId"], given_wrong["secondRecordId"]) == (c2, co)
    assert sorted(await relation_rows(db, tenant.location)) == sorted(
        [(a["id"], c1, co), (a["id"], c2, co)]
    )
    await assert_invariants(db, tenant.location)


async def test_both_orders_are_one_relation_and_only_through_the_swap(db, tenant):
    a = await partner(tenant)
    (co1, co2), (c1, c2) = await companies_then_contacts(tenant, 2, 2)
    one = (await link(tenant.user, a["id"], c1, co1)).data["createRelation"]
    again = (await link(tenant.user, a["id"], co1, c1)).data["createRelation"]
    assert one == again
    assert (one["firstRecordId"], one["secondRecordId"]) == (c1, co1)
    # The company takes a second contact: a new relation, oriented the same way, whatever the
    # order the ids came in. Nothing merges pairs that differ in their records.
    batch = await link_many(
        tenant.user, [rel(a["id"], co1, c2), rel(a["id"], c2, co1), rel(a["id"], c1, co1)]
    )
    two, two_again, one_again = batch.data["createRelations"]
    assert two == two_again and one_again["id"] == one["id"] and two["id"] != one["id"]
    assert (two["firstRecordId"], two["secondRecordId"]) == (c2, co1)
    assert await count_relations(db, tenant.location) == 2
    await assert_invariants(db, tenant.location)
    # Another company with another contact is another relation, oriented the same way.
    c3 = await tenant.user.create_record("contact", firstName="C3")  # after co2, as above
    three = (await link(tenant.user, a["id"], co2, c3)).data["createRelation"]
    assert three["id"] not in {one["id"], two["id"]}
    assert (three["firstRecordId"], three["secondRecordId"]) == (c3, co2)


async def test_each_side_counts_against_its_own_limit(db, tenant):
    a = await partner(tenant)
    assert a["secondObjectLabel"] == a["firstObjectLabel"] and a["labelType"] == "SINGLE"
    assert a["cardinality"] == "MANY_TO_ONE"
    assert (a["firstToSecondLimit"], a["secondToFirstLimit"]) == (1, 1000)
    (co1, co2, co3), contacts = await companies_then_contacts(tenant, 3, 3)
    # One company takes every contact (the second side's limit is 1000) ...
    for c in contacts:
        r = await link(tenant.user, a["id"], co1, c)
        assert not r.body.get("errors"), r.body
    # ... but a contact has one company (the first side's limit is 1), whichever order.
    for first, second in ((contacts[0], co2), (co3, contacts[1])):
        r = await link(tenant.user, a["id"], first, second)
        assert r.code == "LIMIT_EXCEEDED"
        assert r.error["extensions"]["limitName"] == "firstToSecondLimit"
        assert r.error["extensions"]["limit"] == 1
    assert await count_relations(db, tenant.location) == 3
    await assert_invariants(db, tenant.location)


async def test_explicit_limits_apply_to_their_own_side(db, tenant):
    a = await partner(tenant, firstToSecondLimit=2, secondToFirstLimit=3)
    companies, contacts = await companies_then_contacts(tenant, 4, 4)
    # A company takes 3 contacts, the 4th is over the second side's limit.
    for c in contacts[:3]:
        assert not (await link(tenant.user, a["id"], companies[0], c)).body.get("errors")
    r = await link(tenant.user, a["id"], contacts[3], companies[0])
    assert r.code == "LIMIT_EXCEEDED"
    assert r.error["extensions"]["limitName"] == "secondToFirstLimit"
    assert r.error["extensions"]["recordId"] == companies[0]
    # contacts[0] already has one company: a second one fits, a third does not.
    assert not (await link(tenant.user, a["id"], companies[1], contacts[0])).body.get("errors")
    r = await link(tenant.user, a["id"], contacts[0], companies[2])
    assert r.code == "LIMIT_EXCEEDED"
    assert r.error["extensions"]["limitName"] == "firstToSecondLimit"
    assert r.error["extensions"]["recordId"] == contacts[0]
    await assert_invariants(db, tenant.location)


async def test_both_ends_see_the_same_label(db, tenant):
    a = await partner(tenant)
    (co,), (c1, c2) = await companies_then_contacts(tenant, 1, 2)
    await link(tenant.user, a["id"], co, c1)
    await link(tenant.user, a["id"], c2, co)

    def seen(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
        return [
            (
                e["label"],
                e["node"]["id"],
                e["relation"]["firstRecordId"],
                e["relation"]["secondRecordId"],
            )
            for e in data["record"]["relations"]["edges"]
        ]

    from_company = await tenant.user.ok(RELATIONS, {"id": co})
    assert seen(from_company) == [("Partner", c1, c1, co), ("Partner", c2, c2, co)]
    for contact in (c1, c2):
        from_contact = await tenant.user.ok(RELATIONS, {"id": contact})
        assert seen(from_contact) == [("Partner", co, contact, co)]
    await assert_invariants(db, tenant.location)
