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


@pytest.fixture
def pipeline_runs(monkeypatch):
    """How many requests went through Strawberry's pipeline (schema.execute)."""
    from strawberry.schema.schema import Schema

    runs = []
    original = Schema.execute

    async def counting(self, *args, **kwargs):
        runs.append(kwargs.get("operation_name"))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(Schema, "execute", counting)
    return runs


KNOWN = """query Known($id: ID!, $n: Int) { record(id: $id) { id
  relations(first: $n) { edges { label node { id displayName } } } } }"""


async def test_a_known_query_is_answered_before_the_pipeline(client, tenant, pipeline_runs):
    contacts = await build_graph(tenant.admin)
    pipeline_runs.clear()
    first = await post(client, tenant.admin_token, KNOWN, {"id": contacts[0], "n": 2}, False)
    assert len(pipeline_runs) == 1
    again = await post(client, tenant.admin_token, KNOWN, {"id": contacts[1], "n": 3}, False)
    assert len(pipeline_runs) == 1  # validated, planned and answered without it
    assert again.headers["x-relata-execution"] == "pre-shaped"
    for response, contact in ((first, contacts[0]), (again, contacts[1])):
        slow = await post(
            client,
            tenant.admin_token,
            KNOWN,
            {"id": contact, "n": 2 if response is first else 3},
            standard=True,
        )
        assert response.content == slow.content


async def test_a_known_query_is_still_held_to_every_rule(client, tenant, pipeline_runs):
    contacts = await build_graph(tenant.admin)
    pipeline_runs.clear()
    query = KNOWN.replace("Known", "KnownRules")
    await post(client, tenant.admin_token, query, {"id": contacts[0], "n": 2}, False)
    # Over the cost budget with these variables: refused as the pipeline refuses it.
    over = await post(client, tenant.admin_token, query, {"id": contacts[0], "n": 10**6}, False)
    assert over.json()["errors"][0]["extensions"]["limit"] == "cost"
    # Variables that do not coerce, a missing record: the pipeline's own errors.
    bad = await post(client, tenant.admin_token, query, {"id": contacts[0], "n": "x"}, False)
    assert bad.status_code == 200 and "errors" in bad.json()
    missing = await post(client, tenant.admin_token, query, {"id": "rec_" + "0" * 32}, False)
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert len(pipeline_runs) == 4
    for response in (over, bad, missing):
        assert response.headers["x-relata-execution"] == "standard"


async def test_a_known_query_with_a_malformed_request_is_refused_as_before(client, tenant):
    contacts = await build_graph(tenant.admin)
    headers = {"authorization": f"Bearer {tenant.admin_token}"}
    body = {"query": KNOWN, "variables": {"id": contacts[0]}}
    assert (await client.post("/graphql", json=body, headers=headers)).status_code == 200
    for odd in ({"operationName": {}}, {"operationName": ["Known"]}, {"variables": [1]}):
        r = await client.post("/graphql", json={**body, **odd}, headers=headers)
        assert r.status_code == 400, (odd, r.text)


async def test_plans_kept_per_document_are_bounded(client, tenant, plans_made):
    from app.graphql.extensions.preshaped import PLANS_PER_DOCUMENT

    contacts = await build_graph(tenant.admin)
    flags = [f"f{i}" for i in range(6)]  # 64 combinations of directive values
    query = (
        "query Bounded(" + ", ".join(f"${f}: Boolean!" for f in flags) + ", $id: ID!) {"
        " record(id: $id) { id "
        + " ".join(f"{f}: displayName @include(if: ${f})" for f in flags)
        + " } }"
    )
    for n in range(40):
        variables = {f: bool(n >> i & 1) for i, f in enumerate(flags)} | {"id": contacts[0]}
        r = await post(client, tenant.admin_token, query, variables, False)
        assert r.headers["x-relata-execution"] == "pre-shaped"
    for n in range(PLANS_PER_DOCUMENT):  # the ones kept are not planned again
        variables = {f: bool(n >> i & 1) for i, f in enumerate(flags)} | {"id": contacts[0]}
        await post(client, tenant.admin_token, query, variables, False)
    assert len(plans_made) == 40


@pytest.fixture
def view_runs(monkeypatch):
    """How many requests went through Strawberry's HTTP request handling (its view's run)."""
    from strawberry.http.async_base_view import AsyncBaseHTTPView

    runs = []
    original = AsyncBaseHTTPView.run

    async def counting(self, *args, **kwargs):
        runs.append(1)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(AsyncBaseHTTPView, "run", counting)
    return runs


async def test_a_plain_known_query_skips_strawberrys_request_handling(client, tenant, view_runs):
    """A JSON POST of a known query and nothing else is answered before Strawberry's view: the
    same bytes, status and headers; any other request still goes through it."""
    contacts = await build_graph(tenant.admin)
    query = KNOWN.replace("Known", "KnownLane")
    variables = {"id": contacts[0], "n": 2}
    await post(client, tenant.admin_token, query, variables, False)
    view_runs.clear()
    headers = {"authorization": f"Bearer {tenant.admin_token}"}
    body = {"query": query, "variables": variables}
    for accept in (None, "application/graphql-response+json", "application/json"):
        h = {**headers, **({"accept": accept} if accept else {})}
        lane = await client.post("/graphql", json=body, headers=h)
        assert not view_runs
        slow = await client.post(
            "/graphql", json=body, headers={**h, "x-relata-execution": "standard"}
        )
        assert view_runs
        view_runs.clear()
        assert (lane.status_code, lane.content) == (slow.status_code, slow.content)
        assert lane.headers["content-type"] == slow.headers["content-type"]
        assert lane.headers["x-relata-execution"] == "pre-shaped"
    # Not plain: extensions, a batch, another media type, a missing record (answered by
    # ordinary execution, once: the lane's attempt is not repeated).
    others = [
        {**body, "extensions": {}},
        [body],
    ]
    for other in others:
        await client.post("/graphql", json=other, headers=headers)
        assert view_runs
        view_runs.clear()
    missing = {"query": query, "variables": {"id": "rec_" + "0" * 32}}
    r = await client.post("/graphql", json=missing, headers=headers)
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Through Strawberry's view (a body with extensions is not plain): the same answer, with as
    # many statements (the lane's attempt stands in for the view's, it does not add one).
    viewed = await client.post("/graphql", json={**missing, "extensions": {}}, headers=headers)
    assert r.content == viewed.content
    assert r.headers["x-relata-sql-statements"] == viewed.headers["x-relata-sql-statements"]


async def test_the_lane_keeps_tokens_scopes_and_tenant_walls(
    client, db, tenant, other_tenant, view_runs
):
    """A known query answered by the lane is admitted, scoped and walled like any request."""
    from app.auth import RECORDS_READ
    from app.services.tokens import create_token

    contacts = await build_graph(tenant.admin)
    query = KNOWN.replace("Known", "KnownWalls")
    body = {"query": query, "variables": {"id": contacts[0], "n": 2}}
    await post(client, tenant.admin_token, query, body["variables"], False)  # now known
    refused = await client.post(
        "/graphql", json=body, headers={"authorization": "Bearer rlt.not.a-token"}
    )
    assert refused.status_code == 401
    records_only = await create_token(db, tenant.location, "user", [RECORDS_READ])
    for token in (other_tenant.admin_token, records_only):  # another location; no relations
        view_runs.clear()
        lane = await client.post(
            "/graphql", json=body, headers={"authorization": f"Bearer {token}"}
        )
        assert view_runs  # handed on: ordinary execution answers it
        slow = await post(client, token, query, body["variables"], standard=True)
        assert (lane.status_code, lane.content) == (slow.status_code, slow.content)
        codes = {e["extensions"]["code"] for e in lane.json()["errors"]}
        assert codes == ({"NOT_FOUND"} if token != records_only else {"FORBIDDEN"})


async def test_a_body_the_lane_hands_on_is_decoded_once(client, tenant, monkeypatch):
    from app.graphql.view import RelataGraphQL

    decoded = []
    original = RelataGraphQL.decode_json

    def counting(self, data):
        decoded.append(len(data))
        return original(self, data)

    monkeypatch.setattr(RelataGraphQL, "decode_json", counting)
    r = await client.post(
        "/graphql",
        json={"query": 'mutation { createRecord(input: {objectKey: "contact"}) { id } }'},
        headers={"authorization": f"Bearer {tenant.admin_token}"},
    )
    assert "errors" not in r.json()
    assert len(decoded) == 1
