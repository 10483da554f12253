"""Traversal: Record.relations from both ends, role labels, filters, per-parent keyset pages,
and records(relatedTo:)."""

from __future__ import annotations

from typing import Any

import pytest

from app.services.tokens import create_token
from tests.assoc_support import (
    DELETE_RECORD,
    DELETE_RELATION,
    association,
    bulk_records,
    link,
    link_many,
    rel,
)
from tests.helpers import Api


@pytest.fixture(autouse=True, params=["shaped", "standard"])
def execution_path(request, client):  # type: ignore[no-untyped-def]
    """Every traversal test runs on both execution paths: the pre-shaped one (the default for
    the selections it supports) and the ordinary executor with dataloaders."""
    if request.param == "standard":
        client.headers["x-relata-execution"] = "standard"
    return request.param


RELATIONS = """
query($id: ID!, $first: Int, $after: String, $aid: ID, $akey: String, $okey: String) {
  record(id: $id) {
    id
    relations(first: $first, after: $after, associationId: $aid, associationKey: $akey,
              objectKey: $okey) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        cursor label
        node { id objectKey displayName }
        relation { id associationId firstRecordId secondRecordId }
        association { id key }
      }
    }
  }
}
"""

RELATED_RECORDS = """
query($o: String!, $rid: ID!, $aid: ID, $first: Int, $after: String) {
  records(objectKey: $o, first: $first, after: $after,
          relatedTo: {recordId: $rid, associationId: $aid}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id } }
  }
}
"""


async def relations_of(api, record_id: str, **args: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    variables = {"id": record_id, **args}
    data = await api.ok(RELATIONS, variables)
    return data["record"]["relations"]  # type: ignore[no-any-return]


def seen(conn: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["node"]["id"], e["label"], e["association"]["key"]) for e in conn["edges"]]


async def manager_setup(tenant):  # type: ignore[no-untyped-def]
    manages = await association(
        tenant.admin,
        key="manages",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Manager",
        secondObjectLabel="Employee",
    )
    boss = await tenant.user.create_record("contact", firstName="Boss")
    emp = await tenant.user.create_record("contact", firstName="Emp")
    await link(tenant.user, manages["id"], boss, emp)
    return manages, boss, emp


async def test_pair_labels_show_the_related_records_role(tenant):
    _, boss, emp = await manager_setup(tenant)
    from_boss = await relations_of(tenant.user, boss)
    from_emp = await relations_of(tenant.user, emp)
    # The boss sees the employee in the role Employee, and the employee sees its Manager.
    assert seen(from_boss) == [(emp, "Employee", "manages")]
    assert seen(from_emp) == [(boss, "Manager", "manages")]
    assert from_boss["edges"][0]["relation"]["id"] == from_emp["edges"][0]["relation"]["id"]
    edge = from_emp["edges"][0]
    assert (edge["relation"]["firstRecordId"], edge["relation"]["secondRecordId"]) == (boss, emp)
    assert edge["relation"]["associationId"] == edge["association"]["id"]


async def test_pair_labels_across_two_objects(tenant):
    works = await association(
        tenant.admin,
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    c = await tenant.user.create_record("contact", firstName="Ann")
    co = await tenant.user.create_record("company", name="Acme")
    await link(tenant.user, works["id"], co, c)
    assert seen(await relations_of(tenant.user, c)) == [(co, "Employer", "works_at")]
    assert seen(await relations_of(tenant.user, co)) == [(c, "Employee", "works_at")]
    node = (await relations_of(tenant.user, c))["edges"][0]["node"]
    assert node == {"id": co, "objectKey": "company", "displayName": "Acme"}


async def test_single_label_reads_the_same_from_both_sides(tenant):
    peers = await association(
        tenant.admin,
        key="colleague",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Colleague",
    )
    x = await tenant.user.create_record("contact", firstName="X")
    y = await tenant.user.create_record("contact", firstName="Y")
    await link(tenant.user, peers["id"], y, x)
    assert seen(await relations_of(tenant.user, x)) == [(y, "Colleague", "colleague")]
    assert seen(await relations_of(tenant.user, y)) == [(x, "Colleague", "colleague")]


async def test_renamed_label_shows_at_once(tenant):
    manages, boss, emp = await manager_setup(tenant)
    await tenant.admin.ok(
        "mutation($i: UpdateAssociationInput!) { updateAssociation(input: $i) { id } }",
        {"i": {"id": manages["id"], "secondObjectLabel": "Report"}},
    )
    assert seen(await relations_of(tenant.user, boss)) == [(emp, "Report", "manages")]


async def test_both_ends_see_a_new_relation_immediately_and_lose_it_on_delete(tenant):
    manages, boss, emp = await manager_setup(tenant)
    third = await tenant.user.create_record("contact", firstName="Third")
    assert (await relations_of(tenant.user, third))["totalCount"] == 0
    rid = (await link(tenant.user, manages["id"], third, boss)).data["createRelation"]["id"]
    assert seen(await relations_of(tenant.user, third)) == [(boss, "Employee", "manages")]
    from_boss = await relations_of(tenant.user, boss)
    assert sorted(seen(from_boss)) == sorted(
        [(emp, "Employee", "manages"), (third, "Manager", "manages")]
    )
    assert from_boss["totalCount"] == 2
    await tenant.user.ok(DELETE_RELATION, {"id": rid})
    assert (await relations_of(tenant.user, third))["edges"] == []
    assert seen(await relations_of(tenant.user, boss)) == [(emp, "Employee", "manages")]


async def test_relations_of_a_deleted_record_disappear(db, tenant):
    manages, boss, emp = await manager_setup(tenant)
    others = await bulk_records(db, tenant.location, "contact", 3)
    await link_many(tenant.user, [rel(manages["id"], boss, o) for o in others])
    assert (await relations_of(tenant.user, boss))["totalCount"] == 4
    await tenant.user.ok(DELETE_RECORD, {"id": emp})
    conn = await relations_of(tenant.user, boss)
    assert conn["totalCount"] == 3
    assert emp not in {e["node"]["id"] for e in conn["edges"]}
    await tenant.user.ok(DELETE_RECORD, {"id": boss})
    for o in others:
        assert (await relations_of(tenant.user, o))["totalCount"] == 0


async def test_filters(db, tenant):
    await tenant.admin.create_object("pet")
    works = await association(
        tenant.admin,
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    owns = await association(
        tenant.admin,
        key="owns",
        firstObjectKey="pet",
        secondObjectKey="contact",
        firstObjectLabel="Pet",
        secondObjectLabel="Owner",
    )
    peers = await association(
        tenant.admin,
        key="colleague",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Colleague",
    )
    c = await tenant.user.create_record("contact", firstName="Ann")
    cos = await bulk_records(db, tenant.location, "company", 2)
    pets = await bulk_records(db, tenant.location, "custom_objects.pet", 3)
    (peer,) = await bulk_records(db, tenant.location, "contact", 1)
    await link_many(
        tenant.user,
        [rel(works["id"], c, co) for co in cos]
        + [rel(owns["id"], p, c) for p in pets]
        + [rel(peers["id"], peer, c)],
    )
    everything = await relations_of(tenant.user, c)
    assert everything["totalCount"] == 6

    by_id = await relations_of(tenant.user, c, aid=owns["id"])
    assert {e["node"]["id"] for e in by_id["edges"]} == set(pets)
    assert {e["label"] for e in by_id["edges"]} == {"Pet"}
    assert by_id["totalCount"] == 3

    by_key = await relations_of(tenant.user, c, akey="works_at")
    assert {e["node"]["id"] for e in by_key["edges"]} == set(cos)
    assert by_key["totalCount"] == 2

    for okey in ("pet", "custom_objects.pet"):
        by_obj = await relations_of(tenant.user, c, okey=okey)
        assert {e["node"]["id"] for e in by_obj["edges"]} == set(pets)
        assert by_obj["totalCount"] == 3
    by_obj = await relations_of(tenant.user, c, okey="contact")
    assert seen(by_obj) == [(peer, "Colleague", "colleague")]
    assert by_obj["totalCount"] == 1
    # From the pet's side, objectKey names the related record's object.
    assert (await relations_of(tenant.user, pets[0], okey="contact"))["totalCount"] == 1
    assert (await relations_of(tenant.user, pets[0], okey="pet"))["totalCount"] == 0

    both = await relations_of(tenant.user, c, aid=works["id"], okey="pet")
    assert both["edges"] == [] and both["totalCount"] == 0
    assert (await relations_of(tenant.user, c, akey="no_such_key"))["totalCount"] == 0


async def test_keyset_pagination_has_no_duplicates_or_gaps(db, tenant):
    manages, boss, _ = await manager_setup(tenant)
    # 12 more, some with boss first, some second: both sides page together.
    reports = await bulk_records(db, tenant.location, "contact", 12)
    await link_many(
        tenant.user,
        [
            rel(manages["id"], boss, r) if i % 3 else rel(manages["id"], r, boss)
            for i, r in enumerate(reports)
        ],
    )
    full = await relations_of(tenant.user, boss, first=100)
    assert full["totalCount"] == 13
    expected = [e["relation"]["id"] for e in full["edges"]]
    assert len(set(expected)) == 13
    got: list[str] = []
    after = None
    pages = 0
    while True:
        page = await relations_of(tenant.user, boss, first=5, after=after)
        pages += 1
        assert page["totalCount"] == 13
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        ids = [e["relation"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        got += ids
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert got == expected
    # Paging past the end is empty, not an error.
    tail = await relations_of(tenant.user, boss, first=5, after=full["edges"][-1]["cursor"])
    assert tail["edges"] == [] and tail["pageInfo"]["hasNextPage"] is False


async def test_pagination_stays_stable_while_relations_are_added(db, tenant):
    manages, boss, _ = await manager_setup(tenant)
    reports = await bulk_records(db, tenant.location, "contact", 6)
    await link_many(tenant.user, [rel(manages["id"], boss, r) for r in reports[:4]])
    first = await relations_of(tenant.user, boss, first=3)
    # New links sort after the old ones (time-ordered ids): the next page just grows.
    await link_many(tenant.user, [rel(manages["id"], boss, r) for r in reports[4:]])
    second = await relations_of(tenant.user, boss, first=10, after=first["pageInfo"]["endCursor"])
    ids = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert len(ids) == len(set(ids)) == 7


async def test_bad_arguments(tenant):
    _, boss, _ = await manager_setup(tenant)
    for args in ({"first": -1}, {"first": 501}, {"after": "!!!"}, {"aid": "nope"}):
        r = await tenant.user.gql(RELATIONS, {"id": boss, **args})
        assert r.code == "BAD_USER_INPUT", args


PARENTS = """
query($first: Int) {
  records(objectKey: "company", first: 50) {
    edges { node { id relations(first: $first) {
      totalCount pageInfo { hasNextPage }
      edges { node { id } }
    } } }
  }
}
"""


async def test_each_parent_gets_its_own_page(db, tenant):
    works = await association(
        tenant.admin,
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    companies = await bulk_records(db, tenant.location, "company", 3)
    sizes = dict(zip(companies, (5, 1, 7), strict=True))
    contacts = await bulk_records(db, tenant.location, "contact", 13)
    items, i = [], 0
    for co, n in sizes.items():
        items += [rel(works["id"], c, co) for c in contacts[i : i + n]]
        i += n
    await link_many(tenant.user, items)
    data = await tenant.user.ok(PARENTS, {"first": 2})
    edges = data["records"]["edges"]
    assert [e["node"]["id"] for e in edges] == companies
    for e in edges:
        conn = e["node"]["relations"]
        n = sizes[e["node"]["id"]]
        assert len(conn["edges"]) == min(2, n)
        assert conn["totalCount"] == n
        assert conn["pageInfo"]["hasNextPage"] is (n > 2)
    # Each parent's page holds only its own related records.
    data = await tenant.user.ok(PARENTS, {"first": 50})
    owned: set[str] = set()
    for e in data["records"]["edges"]:
        mine = {x["node"]["id"] for x in e["node"]["relations"]["edges"]}
        assert len(mine) == sizes[e["node"]["id"]]
        assert not mine & owned
        owned |= mine
    assert owned == set(contacts)


async def test_first_zero_gives_counts_only(db, tenant):
    manages, boss, _ = await manager_setup(tenant)
    conn = await relations_of(tenant.user, boss, first=0)
    assert conn["edges"] == []
    assert conn["totalCount"] == 1
    assert conn["pageInfo"]["hasNextPage"] is True


async def test_records_related_to(db, tenant, other_tenant):
    works = await association(
        tenant.admin,
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    founded = await association(
        tenant.admin,
        key="founded",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Founder",
        secondObjectLabel="Startup",
    )
    c = await tenant.user.create_record("contact", firstName="Ann")
    cos = await bulk_records(db, tenant.location, "company", 5)
    await bulk_records(db, tenant.location, "company", 3)  # unrelated
    await link_many(
        tenant.user,
        [rel(works["id"], c, co) for co in cos[:4]]
        + [rel(founded["id"], c, cos[0]), rel(founded["id"], cos[4], c)],
    )

    async def related(**args: Any) -> dict[str, Any]:
        data = await tenant.user.ok(RELATED_RECORDS, {"o": "company", "rid": c, **args})
        return data["records"]  # type: ignore[no-any-return]

    everything = await related()
    # cos[0] is linked twice and listed once.
    assert [e["node"]["id"] for e in everything["edges"]] == cos
    assert everything["totalCount"] == 5
    only_founded = await related(aid=founded["id"])
    assert [e["node"]["id"] for e in only_founded["edges"]] == [cos[0], cos[4]]
    assert only_founded["totalCount"] == 2
    page1 = await related(first=2)
    page2 = await related(first=10, after=page1["pageInfo"]["endCursor"])
    assert page1["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in page1["edges"] + page2["edges"]] == cos

    # From the company's side the contact is found too.
    data = await tenant.user.ok(RELATED_RECORDS, {"o": "contact", "rid": cos[4]})
    assert [e["node"]["id"] for e in data["records"]["edges"]] == [c]
    # A record of another location is unknown.
    theirs = await other_tenant.user.create_record("contact", firstName="T")
    r = await tenant.user.gql(RELATED_RECORDS, {"o": "company", "rid": theirs})
    assert r.code == "NOT_FOUND"


async def test_traversal_needs_the_relation_read_scope(db, client, tenant):
    _, boss, emp = await manager_setup(tenant)
    token = await create_token(db, tenant.location, "user", ["objects/record.readonly"])
    for path in (None, "standard"):
        headers = {"authorization": f"Bearer {token}"}
        if path:
            headers["x-relata-execution"] = path
        for query, variables in (
            (RELATIONS, {"id": boss}),
            (PARENTS.replace('"company"', '"contact"'), {"first": 5}),
            (RELATED_RECORDS, {"o": "contact", "rid": boss}),
        ):
            r = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            errors = r.json().get("errors")
            assert errors, (path, query)
            assert errors[0]["extensions"]["code"] == "FORBIDDEN"
            assert emp not in r.text
    # The record itself is readable with that token.
    api = Api(client, token, tenant.location)
    assert (await api.ok("query($id: ID!) { record(id: $id) { id } }", {"id": boss}))["record"]


async def test_labels_follow_each_relations_side(tenant):
    # A manages B and B manages A: from A, B appears twice, once in each role.
    manages, a, b = await manager_setup(tenant)
    await link(tenant.user, manages["id"], b, a)
    from_a = sorted(seen(await relations_of(tenant.user, a)))
    from_b = sorted(seen(await relations_of(tenant.user, b)))
    assert from_a == [(b, "Employee", "manages"), (b, "Manager", "manages")]
    assert from_b == [(a, "Employee", "manages"), (a, "Manager", "manages")]
