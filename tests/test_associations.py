"""Association definitions through GraphQL: creation rules, limits, update, delete, queries."""

from __future__ import annotations

import pytest

from app import ids
from app.services.tokens import create_token
from tests.assoc_support import (
    DELETE_ASSOCIATION,
    UPDATE_ASSOCIATION,
    assert_invariants,
    association,
    count_relations,
    create_association,
    link,
    link_many,
    rel,
    uid,
)
from tests.helpers import Api

BY_ID = "query($id: ID!) { association(id: $id) { id key firstObjectLabel relationCount } }"
BY_KEY = (
    "query($k: String!) { associationByKey(key: $k) {"
    " id key associationType firstObjectKey secondObjectKey firstToSecondLimit"
    " secondToFirstLimit cardinality } }"
)
LIST = "query($o: String) { associations(objectKey: $o) { id key relationCount } }"


def base(key: str = "manages", **over: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "key": key,
        "firstObjectKey": "contact",
        "secondObjectKey": "company",
        "firstObjectLabel": "Manager",
        "secondObjectLabel": "Employer",
    }
    fields.update(over)
    return fields


# --- createAssociation -------------------------------------------------------------------


async def test_create_pair_association_returns_every_field(tenant):
    a = await association(
        tenant.admin, **base(description="who manages what", cardinality="ONE_TO_MANY")
    )
    assert a["key"] == "manages"
    assert a["associationType"] == "USER_DEFINED"
    assert (a["firstObjectKey"], a["secondObjectKey"]) == ("contact", "company")
    assert (a["firstObjectLabel"], a["secondObjectLabel"]) == ("Manager", "Employer")
    assert (a["firstToSecondLimit"], a["secondToFirstLimit"]) == (1000, 1)
    assert a["cardinality"] == "ONE_TO_MANY"
    assert a["description"] == "who manages what"
    assert a["relationCount"] == 0


async def test_single_label_association_reads_the_same_label_on_both_sides(tenant):
    a = await association(
        tenant.admin,
        key="colleague",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Colleague",
    )
    assert a["firstObjectLabel"] == a["secondObjectLabel"] == "Colleague"
    assert a["labelType"] == "SINGLE"
    assert (a["firstObjectKey"], a["secondObjectKey"]) == ("contact", "contact")


async def test_same_object_twice_with_a_pair_of_labels(tenant):
    a = await association(
        tenant.admin,
        key="reports_to",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Manager",
        secondObjectLabel="Employee",
        cardinality="ONE_TO_MANY",
    )
    assert (a["firstObjectLabel"], a["secondObjectLabel"]) == ("Manager", "Employee")
    assert (a["firstToSecondLimit"], a["secondToFirstLimit"]) == (1000, 1)


async def test_duplicate_key_is_conflict_and_keeps_the_first(tenant):
    await association(tenant.admin, **base())
    r = await create_association(
        tenant.admin, **base(secondObjectKey="opportunity", firstObjectLabel="Other")
    )
    assert r.code == "CONFLICT"
    data = await tenant.admin.ok(BY_KEY, {"k": "manages"})
    assert data["associationByKey"]["secondObjectKey"] == "company"


async def test_same_key_in_another_location_is_fine(tenant, other_tenant):
    a = await association(tenant.admin, **base())
    b = await association(other_tenant.admin, **base())
    assert a["id"] != b["id"]


async def test_system_key_is_taken(tenant):
    r = await create_association(tenant.admin, **base(key="contact_company"))
    assert r.code == "CONFLICT"


@pytest.mark.parametrize("side", ["firstObjectKey", "secondObjectKey"])
async def test_unknown_object_key_is_not_found(tenant, side):
    r = await create_association(tenant.admin, **base(**{side: "unicorn"}))
    assert r.code == "NOT_FOUND"
    assert r.error["extensions"]["field"] == side
    data = await tenant.admin.ok(LIST, {"o": None})
    assert [a["key"] for a in data["associations"]] == ["contact_company"]


async def test_other_locations_custom_object_is_not_found(tenant, other_tenant):
    await other_tenant.admin.create_object("pet")
    r = await create_association(tenant.admin, **base(secondObjectKey="pet"))
    assert r.code == "NOT_FOUND"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", ""),
        ("key", "   "),
        ("key", "k" * 65),
        ("key", "9starts_with_digit"),
        ("firstObjectLabel", ""),
        ("firstObjectLabel", "  "),
        ("firstObjectLabel", "L" * 101),
        ("secondObjectLabel", "L" * 101),
        ("description", "d" * 2001),
        ("firstObjectKey", ""),
    ],
)
async def test_blank_or_over_long_input_is_bad_user_input(tenant, field, value):
    r = await create_association(tenant.admin, **base(**{field: value}))
    assert r.code == "BAD_USER_INPUT", r.body
    data = await tenant.admin.ok(LIST, {"o": None})
    assert [a["key"] for a in data["associations"]] == ["contact_company"]


async def test_longest_allowed_key_and_label_are_accepted(tenant):
    a = await association(
        tenant.admin, **base(key="k" * 64, firstObjectLabel="L" * 100, secondObjectLabel="M" * 100)
    )
    assert a["key"] == "k" * 64
    assert a["firstObjectLabel"] == "L" * 100


@pytest.mark.parametrize(
    "missing", ["key", "firstObjectKey", "secondObjectKey", "firstObjectLabel"]
)
async def test_missing_required_field_is_bad_user_input(tenant, missing):
    fields = base()
    del fields[missing]
    r = await create_association(tenant.admin, **fields)
    assert r.code == "BAD_USER_INPUT"


async def test_null_first_label_is_bad_user_input(tenant):
    r = await create_association(tenant.admin, **base(firstObjectLabel=None))
    assert r.code == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("preset", "limits"),
    [
        ("MANY_TO_MANY", (1000, 1000)),
        ("ONE_TO_MANY", (1000, 1)),
        ("MANY_TO_ONE", (1, 1000)),
        ("ONE_TO_ONE", (1, 1)),
        (None, (1000, 1000)),
    ],
)
async def test_cardinality_presets_map_to_limits(tenant, preset, limits):
    fields = base()
    if preset is not None:
        fields["cardinality"] = preset
    a = await association(tenant.admin, **fields)
    assert (a["firstToSecondLimit"], a["secondToFirstLimit"]) == limits
    assert a["cardinality"] == (preset or "MANY_TO_MANY")


@pytest.mark.parametrize(("f2s", "s2f"), [(1, 1000), (5, 3), (1000, 1), (7, 7), (999, 2)])
async def test_explicit_limits_are_kept(tenant, f2s, s2f):
    a = await association(tenant.admin, **base(firstToSecondLimit=f2s, secondToFirstLimit=s2f))
    assert (a["firstToSecondLimit"], a["secondToFirstLimit"]) == (f2s, s2f)


async def test_explicit_limit_overrides_a_preset(tenant):
    a = await association(tenant.admin, **base(cardinality="ONE_TO_ONE", secondToFirstLimit=3))
    assert (a["firstToSecondLimit"], a["secondToFirstLimit"]) == (1, 3)


@pytest.mark.parametrize("field", ["firstToSecondLimit", "secondToFirstLimit"])
@pytest.mark.parametrize("value", [0, -1, 1001, 1_000_000, 2**40])
async def test_limit_outside_1_to_1000_is_rejected(tenant, field, value):
    r = await create_association(tenant.admin, **base(**{field: value}))
    assert r.code == "BAD_USER_INPUT"
    # Past 32 bits GraphQL's Int refuses it first, naming the field in its message.
    assert r.error["extensions"].get("field") == field or field in r.error["message"]
    data = await tenant.admin.ok(LIST, {"o": None})
    assert [a["key"] for a in data["associations"]] == ["contact_company"]


async def test_unknown_cardinality_is_bad_user_input(tenant):
    r = await create_association(tenant.admin, **base(cardinality="SOME_TO_SOME"))
    assert r.code == "BAD_USER_INPUT"


async def test_bare_custom_key_is_the_prefixed_one(tenant):
    await tenant.admin.create_object("pet", "Pet", "Pets")
    a = await association(
        tenant.admin,
        **base(
            key="owns", secondObjectKey="pet", firstObjectLabel="Owner", secondObjectLabel="Pet"
        ),
    )
    assert a["secondObjectKey"] == "custom_objects.pet"
    b = await association(
        tenant.admin,
        **base(
            key="walks",
            secondObjectKey="custom_objects.pet",
            firstObjectLabel="Walker",
            secondObjectLabel="Walked",
        ),
    )
    assert b["secondObjectKey"] == "custom_objects.pet"
    for key in ("pet", "custom_objects.pet"):
        listed = await tenant.admin.ok(LIST, {"o": key})
        assert {x["key"] for x in listed["associations"]} == {"owns", "walks"}


async def test_eleventh_association_for_a_pair_is_limit_exceeded(tenant):
    # (contact, company) already has the system association contact_company: 9 more fill it,
    # declared either way round.
    for i in range(9):
        first, second = ("contact", "company") if i % 2 else ("company", "contact")
        await association(
            tenant.admin, **base(key=f"a{i}", firstObjectKey=first, secondObjectKey=second)
        )
    r = await create_association(tenant.admin, **base(key="eleventh"))
    assert r.code == "LIMIT_EXCEEDED"
    assert r.error["extensions"]["limit"] == 10
    r = await create_association(
        tenant.admin,
        **base(key="eleventh_reversed", firstObjectKey="company", secondObjectKey="contact"),
    )
    assert r.code == "LIMIT_EXCEEDED"
    # Other pairs are unaffected.
    await association(tenant.admin, **base(key="other_pair", secondObjectKey="opportunity"))
    listed = await tenant.admin.ok(LIST, {"o": "company"})
    assert len(listed["associations"]) == 10


async def test_self_pair_counts_once(tenant):
    for i in range(10):
        await association(
            tenant.admin,
            key=f"c{i}",
            firstObjectKey="contact",
            secondObjectKey="contact",
            firstObjectLabel=f"L{i}",
        )
    r = await create_association(
        tenant.admin,
        key="c10",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="L10",
    )
    assert r.code == "LIMIT_EXCEEDED"


async def test_freed_pair_slot_can_be_reused(tenant):
    made = [await association(tenant.admin, **base(key=f"a{i}")) for i in range(9)]
    assert (await create_association(tenant.admin, **base(key="x"))).code == "LIMIT_EXCEEDED"
    await tenant.admin.ok(DELETE_ASSOCIATION, {"id": made[0]["id"], "cascade": False})
    await association(tenant.admin, **base(key="x"))


# --- updateAssociation ---------------------------------------------------------------------


async def test_update_renames_labels_and_description(tenant):
    a = await association(tenant.admin, **base(cardinality="ONE_TO_MANY"))
    data = await tenant.admin.ok(
        UPDATE_ASSOCIATION,
        {
            "i": {
                "id": a["id"],
                "firstObjectLabel": "Boss",
                "secondObjectLabel": "Firm",
                "description": "renamed",
            }
        },
    )
    u = data["updateAssociation"]
    assert (u["firstObjectLabel"], u["secondObjectLabel"], u["description"]) == (
        "Boss",
        "Firm",
        "renamed",
    )
    # Nothing else moved.
    assert (u["key"], u["firstObjectKey"], u["secondObjectKey"]) == (
        "manages",
        "contact",
        "company",
    )
    assert (u["firstToSecondLimit"], u["secondToFirstLimit"]) == (1000, 1)
    assert u["associationType"] == "USER_DEFINED"
    again = await tenant.admin.ok(BY_ID, {"id": a["id"]})
    assert again["association"]["firstObjectLabel"] == "Boss"


async def test_update_only_one_label_keeps_the_other(tenant):
    a = await association(tenant.admin, **base(description="keep me"))
    data = await tenant.admin.ok(
        UPDATE_ASSOCIATION, {"i": {"id": a["id"], "secondObjectLabel": "Workplace"}}
    )
    u = data["updateAssociation"]
    assert (u["firstObjectLabel"], u["secondObjectLabel"], u["description"]) == (
        "Manager",
        "Workplace",
        "keep me",
    )


@pytest.mark.parametrize(
    "field", ["key", "firstObjectKey", "secondObjectKey", "firstToSecondLimit", "cardinality"]
)
async def test_update_cannot_change_anything_else(tenant, field):
    a = await association(tenant.admin, **base())
    r = await tenant.admin.gql(UPDATE_ASSOCIATION, {"i": {"id": a["id"], field: "x"}})
    assert r.code == "BAD_USER_INPUT"
    data = await tenant.admin.ok(BY_KEY, {"k": "manages"})
    assert data["associationByKey"]["firstObjectKey"] == "contact"


async def test_update_with_blank_label_is_refused(tenant):
    a = await association(tenant.admin, **base())
    r = await tenant.admin.gql(UPDATE_ASSOCIATION, {"i": {"id": a["id"], "firstObjectLabel": " "}})
    assert r.code == "BAD_USER_INPUT"
    data = await tenant.admin.ok(BY_ID, {"id": a["id"]})
    assert data["association"]["firstObjectLabel"] == "Manager"


async def test_update_unknown_association_is_not_found(tenant, other_tenant):
    a = await association(other_tenant.admin, **base())
    r = await tenant.admin.gql(UPDATE_ASSOCIATION, {"i": {"id": a["id"], "firstObjectLabel": "X"}})
    assert r.code == "NOT_FOUND"
    data = await other_tenant.admin.ok(BY_ID, {"id": a["id"]})
    assert data["association"]["firstObjectLabel"] == "Manager"


# --- the system association ------------------------------------------------------------------


async def test_contact_company_exists_in_every_location(tenant, other_tenant):
    seen = set()
    for t in (tenant, other_tenant):
        a = (await t.user.ok(BY_KEY, {"k": "contact_company"}))["associationByKey"]
        assert a["associationType"] == "SYSTEM_DEFINED"
        assert (a["firstObjectKey"], a["secondObjectKey"]) == ("contact", "company")
        assert a["cardinality"] == "MANY_TO_ONE"
        assert (a["firstToSecondLimit"], a["secondToFirstLimit"]) == (1, 1000)
        seen.add(a["id"])
    assert len(seen) == 2


async def test_system_association_refuses_update_and_delete(tenant):
    a = (await tenant.admin.ok(BY_KEY, {"k": "contact_company"}))["associationByKey"]
    r = await tenant.admin.gql(UPDATE_ASSOCIATION, {"i": {"id": a["id"], "firstObjectLabel": "X"}})
    assert r.code == "FORBIDDEN"
    for cascade in (False, True):
        r = await tenant.admin.gql(DELETE_ASSOCIATION, {"id": a["id"], "cascade": cascade})
        assert r.code == "FORBIDDEN"
    data = await tenant.admin.ok(
        "query($k: String!) { associationByKey(key: $k) { firstObjectLabel } }",
        {"k": "contact_company"},
    )
    assert data["associationByKey"]["firstObjectLabel"] == "Contact"


async def test_system_association_links_contact_to_one_company(tenant):
    a = (await tenant.admin.ok(BY_KEY, {"k": "contact_company"}))["associationByKey"]
    contact = await tenant.user.create_record("contact", firstName="Ann")
    c1 = await tenant.user.create_record("company", name="One")
    c2 = await tenant.user.create_record("company", name="Two")
    assert (await link(tenant.user, a["id"], contact, c1)).body.get("errors") is None
    r = await link(tenant.user, a["id"], contact, c2)
    assert r.code == "LIMIT_EXCEEDED"


# --- deleteAssociation ---------------------------------------------------------------------


async def _linked(tenant, n: int = 3):  # type: ignore[no-untyped-def]
    a = await association(tenant.admin, **base())
    contact = await tenant.admin.create_record("contact", firstName="Ann")
    companies = [await tenant.admin.create_record("company", name=f"C{i}") for i in range(n)]
    await tenant.admin.ok(
        "mutation($i: [CreateRelationInput!]!) { createRelations(input: $i) { id } }",
        {"i": [rel(a["id"], contact, c) for c in companies]},
    )
    return a, contact, companies


async def test_delete_unused_association(db, tenant):
    a = await association(tenant.admin, **base())
    data = await tenant.admin.ok(DELETE_ASSOCIATION, {"id": a["id"], "cascade": False})
    assert data["deleteAssociation"] == {"deletedId": a["id"], "deletedRelationCount": 0}
    assert (await tenant.admin.gql(BY_ID, {"id": a["id"]})).code == "NOT_FOUND"
    assert (await tenant.admin.gql(BY_KEY, {"k": "manages"})).code == "NOT_FOUND"
    # The key is free again.
    await association(tenant.admin, **base())


async def test_delete_in_use_is_conflict_and_changes_nothing(db, tenant):
    a, _, _ = await _linked(tenant)
    r = await tenant.admin.gql(DELETE_ASSOCIATION, {"id": a["id"], "cascade": False})
    assert r.code == "CONFLICT"
    assert r.error["extensions"]["relationCount"] == 3
    assert await count_relations(db, tenant.location, a["id"]) == 3
    data = await tenant.admin.ok(BY_ID, {"id": a["id"]})
    assert data["association"]["relationCount"] == 3


async def test_delete_defaults_to_no_cascade(db, tenant):
    a, _, _ = await _linked(tenant)
    r = await tenant.admin.gql(
        "mutation($id: ID!) { deleteAssociation(id: $id) { deletedId } }", {"id": a["id"]}
    )
    assert r.code == "CONFLICT"
    assert await count_relations(db, tenant.location, a["id"]) == 3


async def test_delete_with_cascade_removes_its_relations_only(db, tenant):
    a, contact, companies = await _linked(tenant)
    other = await association(tenant.admin, **base(key="other"))
    await link(tenant.admin, other["id"], contact, companies[0])
    data = await tenant.admin.ok(DELETE_ASSOCIATION, {"id": a["id"], "cascade": True})
    assert data["deleteAssociation"] == {"deletedId": a["id"], "deletedRelationCount": 3}
    assert await count_relations(db, tenant.location, a["id"]) == 0
    assert await count_relations(db, tenant.location) == 1
    assert (
        await db.fetchval(
            "select count(*) from associations where location_id = $1 and key = 'manages'",
            tenant.location,
        )
        == 0
    )
    rels = await tenant.admin.ok(
        "query($id: ID!) { record(id: $id) { relations { totalCount edges { label } } } }",
        {"id": contact},
    )
    assert rels["record"]["relations"]["totalCount"] == 1
    await assert_invariants(db, tenant.location)


async def test_delete_unknown_or_foreign_association_is_not_found(tenant, other_tenant):
    a = await association(other_tenant.admin, **base())
    r = await tenant.admin.gql(DELETE_ASSOCIATION, {"id": a["id"], "cascade": True})
    assert r.code == "NOT_FOUND"
    await other_tenant.admin.ok(BY_ID, {"id": a["id"]})
    r = await tenant.admin.gql(DELETE_ASSOCIATION, {"id": "asc_" + "0" * 32, "cascade": False})
    assert r.code == "NOT_FOUND"


# --- queries ----------------------------------------------------------------------------------


async def test_queries_by_object_id_and_key(tenant, other_tenant):
    await tenant.admin.create_object("pet")
    a = await association(tenant.admin, **base())
    b = await association(
        tenant.admin,
        **base(
            key="buys",
            secondObjectKey="opportunity",
            firstObjectLabel="Buyer",
            secondObjectLabel="Deal",
        ),
    )
    c = await association(
        tenant.admin, **base(key="owns", firstObjectKey="pet", secondObjectKey="company")
    )
    await association(other_tenant.admin, **base(key="foreign"))

    all_keys = {x["key"] for x in (await tenant.user.ok(LIST, {"o": None}))["associations"]}
    assert all_keys == {"contact_company", "manages", "buys", "owns"}
    contact_keys = {
        x["key"] for x in (await tenant.user.ok(LIST, {"o": "contact"}))["associations"]
    }
    assert contact_keys == {"contact_company", "manages", "buys"}
    opp = {x["key"] for x in (await tenant.user.ok(LIST, {"o": "opportunity"}))["associations"]}
    assert opp == {"buys"}
    company = {x["key"] for x in (await tenant.user.ok(LIST, {"o": "company"}))["associations"]}
    assert company == {"contact_company", "manages", "owns"}
    assert (await tenant.user.gql(LIST, {"o": "unicorn"})).code == "NOT_FOUND"

    got = (await tenant.user.ok(BY_ID, {"id": b["id"]}))["association"]
    assert (got["id"], got["key"]) == (b["id"], "buys")
    got = (await tenant.user.ok(BY_KEY, {"k": "owns"}))["associationByKey"]
    assert got["id"] == c["id"] and got["firstObjectKey"] == "custom_objects.pet"
    assert (await tenant.user.gql(BY_KEY, {"k": "foreign"})).code == "NOT_FOUND"
    node = await tenant.user.ok(
        "query($id: ID!) { node(id: $id) { id ... on Association { key } } }", {"id": a["id"]}
    )
    assert node["node"] == {"id": a["id"], "key": "manages"}


async def test_unknown_id_and_foreign_id_answer_alike(tenant, other_tenant):
    foreign = await association(other_tenant.admin, **base())
    never = "asc_" + "f" * 32
    r1 = await tenant.user.gql(BY_ID, {"id": foreign["id"]})
    r2 = await tenant.user.gql(BY_ID, {"id": never})
    assert r1.code == r2.code == "NOT_FOUND"
    assert r1.error["message"].replace(foreign["id"], "X") == r2.error["message"].replace(
        never, "X"
    )
    assert (await tenant.user.gql(BY_ID, {"id": "nonsense"})).code == "BAD_USER_INPUT"


async def test_relation_count_follows_links(tenant):
    a, contact, companies = await _linked(tenant, 4)
    data = await tenant.user.ok(LIST, {"o": "contact"})
    counts = {x["key"]: x["relationCount"] for x in data["associations"]}
    assert counts == {"contact_company": 0, "manages": 4}
    rel_id = (await link(tenant.user, a["id"], contact, companies[0])).data["createRelation"]["id"]
    await tenant.user.ok(
        "mutation($id: ID!) { deleteRelation(id: $id) { deletedId } }", {"id": rel_id}
    )
    assert (await tenant.user.ok(BY_ID, {"id": a["id"]}))["association"]["relationCount"] == 3


# --- roles and scopes -------------------------------------------------------------------------


async def test_user_role_cannot_create_update_or_delete(db, tenant):
    a = await association(tenant.admin, **base())
    r = await create_association(tenant.user, **base(key="by_user"))
    assert r.code == "FORBIDDEN"
    r = await tenant.user.gql(UPDATE_ASSOCIATION, {"i": {"id": a["id"], "firstObjectLabel": "X"}})
    assert r.code == "FORBIDDEN"
    r = await tenant.user.gql(DELETE_ASSOCIATION, {"id": a["id"], "cascade": True})
    assert r.code == "FORBIDDEN"
    keys = await db.fetch(
        "select key, first_object_label from associations where location_id = $1 order by key",
        tenant.location,
    )
    assert [(k["key"], k["first_object_label"]) for k in keys] == [
        ("contact_company", "Contact"),
        ("manages", "Manager"),
    ]
    # Reading is open to users.
    assert (await tenant.user.ok(BY_ID, {"id": a["id"]}))["association"]["key"] == "manages"


async def test_admin_without_write_scope_is_forbidden(db, client, tenant):
    a = await association(tenant.admin, **base())
    token = await create_token(db, tenant.location, "admin", ["associations.readonly"])
    api = Api(client, token, tenant.location)
    # (Not relationCount: it counts relations, which needs the relations read scope.)
    by_id = "query($id: ID!) { association(id: $id) { id key firstObjectLabel } }"
    assert (await api.ok(by_id, {"id": a["id"]}))["association"]["key"] == "manages"
    r = await create_association(api, **base(key="scoped"))
    assert r.code == "FORBIDDEN"
    assert r.error["extensions"]["scope"] == "associations.write"
    r = await api.gql(UPDATE_ASSOCIATION, {"i": {"id": a["id"], "firstObjectLabel": "X"}})
    assert r.code == "FORBIDDEN"
    r = await api.gql(DELETE_ASSOCIATION, {"id": a["id"], "cascade": False})
    assert r.code == "FORBIDDEN"
    assert (
        await db.fetchval(
            "select count(*) from associations where location_id = $1", tenant.location
        )
        == 2
    )


async def test_token_without_read_scope_cannot_list(db, client, tenant):
    token = await create_token(db, tenant.location, "admin", ["objects/record.readonly"])
    api = Api(client, token, tenant.location)
    for query, variables in ((LIST, {"o": None}), (BY_KEY, {"k": "contact_company"})):
        r = await api.gql(query, variables)
        assert r.code == "FORBIDDEN"


async def test_write_scope_alone_allows_create(db, client, tenant):
    token = await create_token(db, tenant.location, "admin", ["associations.write"])
    api = Api(client, token, tenant.location)
    create = "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) { id key } }"
    a = (await api.ok(create, {"i": base(key="w_only")}))["createAssociation"]
    assert a["key"] == "w_only"


async def test_batch_create_through_link_many_respects_association(db, tenant):
    # createRelations through a deleted association answers NOT_FOUND, not a crash.
    a = await association(tenant.admin, **base())
    contact = await tenant.admin.create_record("contact", firstName="A")
    company = await tenant.admin.create_record("company", name="B")
    await tenant.admin.ok(DELETE_ASSOCIATION, {"id": a["id"], "cascade": False})
    r = await link_many(tenant.admin, [rel(a["id"], contact, company)])
    assert r.code == "NOT_FOUND"


async def test_update_keeps_the_shape_of_the_labels(tenant):
    pair = await association(tenant.admin, **base())
    single = await association(
        tenant.admin,
        key="peer",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Peer",
    )
    r = await tenant.admin.gql(
        UPDATE_ASSOCIATION, {"i": {"id": pair["id"], "secondObjectLabel": None}}
    )
    assert r.code == "BAD_USER_INPUT"
    r = await tenant.admin.gql(
        UPDATE_ASSOCIATION, {"i": {"id": single["id"], "secondObjectLabel": "Other"}}
    )
    assert r.code == "BAD_USER_INPUT"
    data = await tenant.admin.ok(LIST, {"o": "contact"})
    assert {a["key"] for a in data["associations"]} >= {"manages", "peer"}
    got = (await tenant.admin.ok(BY_KEY, {"k": "manages"}))["associationByKey"]
    assert got["id"] == pair["id"]
    again = await tenant.admin.ok(
        "query($k: String!) { associationByKey(key: $k) { secondObjectLabel labelType } }",
        {"k": "peer"},
    )
    assert again["associationByKey"] == {"secondObjectLabel": "Peer", "labelType": "SINGLE"}
    # Renaming a single label renames both sides; it stays single.
    renamed = await tenant.admin.ok(
        UPDATE_ASSOCIATION, {"i": {"id": single["id"], "firstObjectLabel": "Buddy"}}
    )
    got = renamed["updateAssociation"]
    assert (got["firstObjectLabel"], got["secondObjectLabel"], got["labelType"]) == (
        "Buddy",
        "Buddy",
        "SINGLE",
    )
    assert pair["labelType"] == "PAIR"


async def test_update_clears_the_description(tenant):
    a = await association(tenant.admin, **base(description="old"))
    data = await tenant.admin.ok(UPDATE_ASSOCIATION, {"i": {"id": a["id"], "description": None}})
    assert data["updateAssociation"]["description"] is None


async def test_delete_after_its_relations_are_gone(db, tenant):
    a, contact, companies = await _linked(tenant, 2)
    rels = await db.fetch(
        "select id from relations where location_id = $1 and association_id = $2",
        tenant.location,
        uid(a["id"]),
    )
    await tenant.admin.ok(
        "mutation($ids: [ID!]!) { deleteRelations(ids: $ids) { count } }",
        {"ids": [ids.encode(ids.Kind.RELATION, r["id"]) for r in rels]},
    )
    data = await tenant.admin.ok(DELETE_ASSOCIATION, {"id": a["id"], "cascade": False})
    assert data["deleteAssociation"]["deletedRelationCount"] == 0
    assert (
        await db.fetchval(
            "select count(*) from relation_counters where location_id = $1", tenant.location
        )
        == 0
    )
