"""Pre-shaped execution in the request pipeline: which requests it answers (the response says,
in `x-relata-execution`), and that its plans are made once per document."""

from __future__ import annotations

import pytest

from app.graphql import shaping
from tests.test_shaping import build_graph, post

PAGE = """query($id: ID!, $n: Int, $withLabel: Boolean = true) { record(id: $id) { id displayName
  relations(first: $n) { totalCount edges { label @include(if: $withLabel) node { id } } } } }"""


@pytest.fixture
def plans_made(monkeypatch):
    made = []
    original = shaping.Planner.plan_operation

    def counting(self, root, fields):
        made.append(tuple(fields))
        return original(self, root, fields)

    monkeypatch.setattr(shaping.Planner, "plan_operation", counting)
    return made


async def test_the_response_says_which_path_answered(client, tenant):
    contacts = await build_graph(tenant.admin)
    fast = await post(client, tenant.admin_token, PAGE, {"id": contacts[0]}, standard=False)
    assert fast.headers["x-relata-execution"] == "pre-shaped"
    slow = await post(client, tenant.admin_token, PAGE, {"id": contacts[0]}, standard=True)
    assert slow.headers["x-relata-execution"] == "standard"
    assert fast.content == slow.content
    history = PAGE.replace("displayName", "displayName history { edges { cursor } }")
    other = await post(client, tenant.admin_token, history, {"id": contacts[0]}, standard=False)
    assert other.headers["x-relata-execution"] == "standard"
    missing = await post(client, tenant.admin_token, PAGE, {"id": "rec_nope"}, standard=False)
    assert missing.headers["x-relata-execution"] == "standard"  # errors: ordinary execution
    assert missing.json()["errors"][0]["path"] == ["record"]


async def test_a_plan_is_made_once_per_document_and_directive_values(client, tenant, plans_made):
    contacts = await build_graph(tenant.admin)
    query = PAGE.replace("query(", "query Page(")  # a document no other test sends
    for i, contact in enumerate(contacts[:4]):
        r = await post(client, tenant.admin_token, query, {"id": contact, "n": i + 1}, False)
        assert r.headers["x-relata-execution"] == "pre-shaped"
    assert len(plans_made) == 1
    r = await post(
        client, tenant.admin_token, query, {"id": contacts[0], "withLabel": False}, False
    )
    assert r.headers["x-relata-execution"] == "pre-shaped"
    assert "label" not in r.json()["data"]["record"]["relations"]["edges"][0]
    assert len(plans_made) == 2  # a plan holds for one set of @include / @skip values


async def test_mutations_and_unplannable_queries_run_ordinarily(client, tenant, plans_made):
    await build_graph(tenant.admin)
    r = await post(client, tenant.admin_token, "{ viewer { role } }", {}, standard=False)
    assert r.headers["x-relata-execution"] == "standard"
    r = await post(
        client,
        tenant.admin_token,
        'mutation { createRecord(input: {objectKey: "contact"}) { id } }',
        {},
        standard=False,
    )
    assert r.headers["x-relata-execution"] == "standard"
    assert "errors" not in r.json()
