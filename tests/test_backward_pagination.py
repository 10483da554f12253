"""Backward pagination (Relay `last`/`before`) on `records` and `Record.relations`: walking
backward from the end gives exactly the reverse of walking forward, page by page, with Relay's
pageInfo, on both execution paths (which answer byte for byte alike); nested relations are
paginated per parent; `first` with `last` is refused."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from app.graphql import shaping
from tests.assoc_support import association, bulk_records, link_many, rel
from tests.helpers import Api

PATHS = ["shaped", "standard"]
# RECORDS without relatedTo (its `$rid` must still be given).
PLAIN = {"withRelated": False, "rid": "unused"}

RECORDS = """
query($k: String!, $first: Int, $after: String, $last: Int, $before: String, $q: String,
      $rid: ID!, $withRelated: Boolean!) {
  records(objectKey: $k, first: $first, after: $after, last: $last, before: $before, query: $q,
          relatedTo: {recordId: $rid}) @include(if: $withRelated) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id displayName } }
  }
  plain: records(objectKey: $k, first: $first, after: $after, last: $last, before: $before,
                 query: $q) @skip(if: $withRelated) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id displayName } }
  }
}
"""

RELATIONS = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $akey: String,
      $aid: ID, $okey: String) {
  record(id: $id) {
    id
    relations(first: $first, after: $after, last: $last, before: $before,
              associationKey: $akey, associationId: $aid, objectKey: $okey) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor label node { id } relation { id } association { key } }
    }
  }
}
"""

# Every company's employees, the last `$n` of them (before `$before`), each with its last
# `$m` colleagues (objectKey filter: only contacts): two levels, each parent on its own.
NESTED = """
query($n: Int, $m: Int, $before: String) {
  records(objectKey: "company", first: 10) {
    edges { node { id
      relations(last: $n, before: $before, associationKey: "works_at") {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor label node { id
          relations(last: $m, objectKey: "contact") {
            totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor label node { id } }
          }
        } }
      }
    } }
  }
}
"""


@pytest.fixture
def shaped_calls(monkeypatch):  # type: ignore[no-untyped-def]
    calls: list[Any] = []
    original = shaping.Shaper.record

    def counting(self, r, plans):  # type: ignore[no-untyped-def]
        calls.append(r["r_id"])
        return original(self, r, plans)

    monkeypatch.setattr(shaping.Shaper, "record", counting)
    return calls


async def both(api: Api, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The answer of both execution paths, which must be the same bytes."""
    answers = []
    for standard in (False, True):
        headers = {"authorization": f"Bearer {api.token}"}
        if standard:
            headers["x-relata-execution"] = "standard"
        r = await api.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert r.status_code == 200, r.text
        answers.append(r)
    fast, slow = answers
    assert fast.content == slow.content, (fast.json(), slow.json())
    body = slow.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def check_cursors(conn: dict[str, Any]) -> None:
    cursors = [e["cursor"] for e in conn["edges"]]
    info = conn["pageInfo"]
    assert info["startCursor"] == (cursors[0] if cursors else None)
    assert info["endCursor"] == (cursors[-1] if cursors else None)


def node_ids(conn: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in conn["edges"]]


async def walk_forward(fetch: Any, size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    after = None
    while True:
        conn = await fetch(first=size, after=after)
        check_cursors(conn)
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        pages.append(node_ids(conn))
        if not conn["pageInfo"]["hasNextPage"]:
            return pages
        after = conn["pageInfo"]["endCursor"]


async def walk_backward(fetch: Any, size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    before = None
    while True:
        conn = await fetch(last=size, before=before)
        check_cursors(conn)
        assert conn["pageInfo"]["hasNextPage"] is (before is not None)
        pages.append(node_ids(conn))
        if not conn["pageInfo"]["hasPreviousPage"]:
            return pages
        before = conn["pageInfo"]["startCursor"]


def assert_mirror(forward: list[list[str]], backward: list[list[str]], size: int) -> None:
    """Backward pages are the forward list cut from its end: each page ascending, each full
    but the oldest one, and together exactly the forward list read from the end."""
    everything = [i for page in forward for i in page]
    assert [i for page in reversed(backward) for i in page] == everything
    assert all(len(p) == size for p in backward[:-1])
    assert all(len(p) == size for p in forward[:-1])
    assert backward[0] == everything[-size:]
    assert len(backward) == len(forward)


@pytest.mark.parametrize(("n", "size"), [(11, 3), (9, 3), (4, 10), (1, 1)])
async def test_records_walk_backward_mirrors_forward(db, tenant, shaped_calls, n, size):
    made = await bulk_records(db, tenant.location, "contact", n)

    async def fetch(**args: Any) -> dict[str, Any]:
        variables = {"k": "contact", **PLAIN, **args}
        conn = (await both(tenant.user, RECORDS, variables))["plain"]
        assert conn["totalCount"] == n
        return conn  # type: ignore[no-any-return]

    forward = await walk_forward(fetch, size)
    assert [i for p in forward for i in p] == made
    backward = await walk_backward(fetch, size)
    assert_mirror(forward, backward, size)
    assert shaped_calls, "the fast path was not taken"


async def test_records_backward_with_filters(db, tenant):
    made = await bulk_records(db, tenant.location, "company", 25)

    async def fetch(**args: Any) -> dict[str, Any]:
        variables = {"k": "company", "q": "r1", **PLAIN, **args}
        return (await both(tenant.user, RECORDS, variables))["plain"]  # type: ignore[no-any-return]

    # `query` matches r1 and r10..r19 of the display names r1..r25.
    forward = await walk_forward(fetch, 4)
    assert len([i for p in forward for i in p]) == 11
    assert_mirror(forward, await walk_backward(fetch, 4), 4)

    # relatedTo: the companies one contact works at.
    works = await association(
        tenant.admin,
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    contact = (await bulk_records(db, tenant.location, "contact", 1))[0]
    related = made[3:10]
    await link_many(tenant.user, [rel(works["id"], contact, co) for co in related])

    async def fetch_related(**args: Any) -> dict[str, Any]:
        variables = {"k": "company", "rid": contact, "withRelated": True, **args}
        conn = (await both(tenant.user, RECORDS, variables))["records"]
        assert conn["totalCount"] == len(related)
        return conn  # type: ignore[no-any-return]

    forward = await walk_forward(fetch_related, 3)
    assert [i for p in forward for i in p] == related
    assert_mirror(forward, await walk_backward(fetch_related, 3), 3)


async def test_records_window_between_two_cursors(db, tenant):
    made = await bulk_records(db, tenant.location, "contact", 10)
    cursor = {}
    page = (await both(tenant.user, RECORDS, {"k": "contact", **PLAIN}))["plain"]
    for e in page["edges"]:
        cursor[e["node"]["id"]] = e["cursor"]
    window = {"k": "contact", **PLAIN, "after": cursor[made[1]]}
    window["before"] = cursor[made[8]]
    # Forward inside (made[1], made[8]): made[2..7].
    conn = (await both(tenant.user, RECORDS, {**window, "first": 4}))["plain"]
    assert node_ids(conn) == made[2:6]
    assert conn["pageInfo"]["hasNextPage"] and conn["pageInfo"]["hasPreviousPage"]
    conn = (await both(tenant.user, RECORDS, {**window, "first": 6}))["plain"]
    assert node_ids(conn) == made[2:8] and not conn["pageInfo"]["hasNextPage"]
    # Backward inside the same window.
    conn = (await both(tenant.user, RECORDS, {**window, "last": 4}))["plain"]
    assert node_ids(conn) == made[4:8]
    assert conn["pageInfo"]["hasPreviousPage"] and conn["pageInfo"]["hasNextPage"]
    conn = (await both(tenant.user, RECORDS, {**window, "last": 6}))["plain"]
    assert node_ids(conn) == made[2:8] and not conn["pageInfo"]["hasPreviousPage"]
    # `last` with only `after`: the end of the list, nothing after it.
    tail = {"k": "contact", **PLAIN, "after": cursor[made[6]], "last": 5}
    conn = (await both(tenant.user, RECORDS, tail))["plain"]
    assert node_ids(conn) == made[7:]
    assert not conn["pageInfo"]["hasNextPage"] and not conn["pageInfo"]["hasPreviousPage"]


async def relation_graph(db, tenant):  # type: ignore[no-untyped-def]
    """3 companies with 5, 1 and 7 employees (works_at) and, to be filtered out, investors
    (invests_in, contact -> company); employees are colleagues of the next two contacts."""
    works = await association(
        tenant.admin,
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    invests = await association(
        tenant.admin,
        key="invests_in",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Investor",
        secondObjectLabel="Investment",
    )
    peers = await association(
        tenant.admin,
        key="colleague",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel="Colleague",
    )
    companies = await bulk_records(db, tenant.location, "company", 3)
    contacts = await bulk_records(db, tenant.location, "contact", 13)
    employees: dict[str, list[str]] = {}
    items, i = [], 0
    for co, size in zip(companies, (5, 1, 7), strict=True):
        employees[co] = contacts[i : i + size]
        i += size
    for k in range(7):
        for co in companies:
            if k < len(employees[co]):
                items.append(rel(works["id"], employees[co][k], co))
        items.append(rel(invests["id"], contacts[(k * 5) % 13], companies[k % 3]))
    for j, c in enumerate(contacts):
        items += [rel(peers["id"], c, contacts[(j + d) % 13]) for d in (1, 2)]
    r = await link_many(tenant.user, items)
    assert not r.body.get("errors"), r.body
    return companies, contacts, employees, works, peers


async def relations_page(api: Api, fixed: dict[str, Any], **args: Any) -> dict[str, Any]:
    data = await both(api, RELATIONS, {**fixed, **args})
    return data["record"]["relations"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", [2, 3])
async def test_relations_walk_backward_mirrors_forward(db, tenant, shaped_calls, size):
    companies, contacts, employees, works, _ = await relation_graph(db, tenant)
    filters: list[dict[str, Any]] = [
        {"akey": "works_at"},
        {"aid": works["id"]},
        {"okey": "contact"},
        {},
    ]
    for record_id in [*companies, contacts[0]]:
        for f in filters:
            fetch = functools.partial(relations_page, tenant.user, {"id": record_id, **f})
            forward = await walk_forward(fetch, size)
            backward = await walk_backward(fetch, size)
            assert_mirror(forward, backward, size)
            if record_id in employees and f.get("akey"):
                assert sorted(i for p in forward for i in p) == employees[record_id]
    assert shaped_calls


async def test_nested_relations_backward_per_parent(db, tenant, shaped_calls):
    companies, _, employees, _, _ = await relation_graph(db, tenant)
    # Each parent's forward order (by relation id), read one parent at a time.
    order: dict[str, list[str]] = {}
    for co in companies:
        conn = (await both(tenant.user, RELATIONS, {"id": co, "akey": "works_at"}))["record"]
        order[co] = node_ids(conn["relations"])
        assert sorted(order[co]) == employees[co]
    colleagues: dict[str, list[str]] = {}
    for co in companies:
        for c in employees[co]:
            conn = (await both(tenant.user, RELATIONS, {"id": c, "okey": "contact"}))["record"]
            colleagues[c] = node_ids(conn["relations"])
            assert len(colleagues[c]) == 4

    data = await both(tenant.user, NESTED, {"n": 2, "m": 3})
    edges = data["records"]["edges"]
    assert [e["node"]["id"] for e in edges] == companies
    for e in edges:
        co = e["node"]["id"]
        conn = e["node"]["relations"]
        check_cursors(conn)
        # Each parent has its own last page: siblings never truncate one another.
        assert node_ids(conn) == order[co][-2:]
        assert conn["totalCount"] == len(order[co])
        assert conn["pageInfo"]["hasPreviousPage"] is (len(order[co]) > 2)
        assert conn["pageInfo"]["hasNextPage"] is False
        assert {x["label"] for x in conn["edges"]} == {"Employee"}
        for inner in conn["edges"]:
            sub = inner["node"]["relations"]
            check_cursors(sub)
            assert node_ids(sub) == colleagues[inner["node"]["id"]][-3:]
            assert sub["totalCount"] == 4
            assert sub["pageInfo"]["hasPreviousPage"] is True
            assert {x["label"] for x in sub["edges"]} == {"Colleague"}
    assert shaped_calls

    # A page before a cursor, for every parent at once: the cursor is one parent's relation,
    # so every parent's page holds its relations older than that one.
    big = companies[2]
    cursors = {
        e["node"]["id"]: e["cursor"]
        for e in (await both(tenant.user, RELATIONS, {"id": big, "akey": "works_at"}))["record"][
            "relations"
        ]["edges"]
    }
    pivot = order[big][4]
    data = await both(tenant.user, NESTED, {"n": 2, "m": 1, "before": cursors[pivot]})
    page = {e["node"]["id"]: e["node"]["relations"] for e in data["records"]["edges"]}
    assert node_ids(page[big]) == order[big][2:4]
    assert page[big]["pageInfo"]["hasNextPage"] is True
    assert page[big]["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize("path", PATHS)
async def test_first_with_last_is_refused(tenant, path):
    api = tenant.user
    if path == "standard":
        api.client.headers["x-relata-execution"] = "standard"
    co = await api.create_record("company", name="Acme")
    for query in (
        '{ records(objectKey: "contact", first: 5, last: 5) { totalCount } }',
        '{ records(objectKey: "company") { edges { node { relations(first: 2, last: 2)'
        " { totalCount } } } } }",
    ):
        r = await api.fail(query)
        assert r.code == "BAD_USER_INPUT"
        assert "first and last" in r.error["message"]
    r = await api.fail(RELATIONS, {"id": co, "first": 3, "last": 3})
    assert r.code == "BAD_USER_INPUT"
    # `first` left at its default (absent, or a variable not given), or null, is no `first`.
    assert (await api.ok(RELATIONS, {"id": co, "last": 3}))["record"]["relations"]["edges"] == []
    ok = '{ records(objectKey: "company", first: null, last: 1) { edges { node { id } } } }'
    assert (await api.ok(ok))["records"]["edges"][0]["node"]["id"] == co
    variables = {"k": "company", "last": 1, **PLAIN}
    assert (await api.ok(RECORDS, variables))["plain"]["edges"][0]["node"]["id"] == co


@pytest.mark.parametrize("path", PATHS)
async def test_last_bounds_and_bad_cursors(tenant, path):
    api = tenant.user
    if path == "standard":
        api.client.headers["x-relata-execution"] = "standard"
    co = await api.create_record("company", name="Acme")
    for last in (-1, 501):
        r = await api.fail(RECORDS, {"k": "company", "last": last, **PLAIN})
        assert r.code == "BAD_USER_INPUT"
        assert r.error["message"] == "last must be between 0 and 500"
        r = await api.fail(RELATIONS, {"id": co, "last": last})
        assert r.code == "BAD_USER_INPUT"
    r = await api.fail(RECORDS, {"k": "company", "last": 2, "before": "!!", **PLAIN})
    assert r.code == "BAD_USER_INPUT" and "cursor" in r.error["message"]
    r = await api.fail(RELATIONS, {"id": co, "last": 2, "before": "!!"})
    assert r.code == "BAD_USER_INPUT" and "cursor" in r.error["message"]


async def test_refusals_match_on_both_paths(client, tenant):
    co = await tenant.user.create_record("company", name="Acme")
    for query, variables in (
        (
            '{ records(objectKey: "company") { edges { node { relations(first: 1, last: 1)'
            " { totalCount } } } } }",
            {},
        ),
        (
            '{ records(objectKey: "company") { edges { node { relations(last: 501)'
            " { totalCount } } } } }",
            {},
        ),
        (RELATIONS, {"id": co, "last": 1, "before": "nope"}),
    ):
        answers = []
        for standard in (False, True):
            headers = {"authorization": f"Bearer {tenant.user_token}"}
            if standard:
                headers["x-relata-execution"] = "standard"
            r = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            answers.append(r.content)
        assert answers[0] == answers[1]
        assert b"BAD_USER_INPUT" in answers[0]
