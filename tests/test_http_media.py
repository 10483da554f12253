"""GraphQL over HTTP as clients speak it: media types and status codes by Accept, the error body
of a refused request, gzip, and the CORS headers a browser script may read."""

from __future__ import annotations

from typing import Any

import httpx

from tests.hardening_support import client_with

GQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **headers}


async def post(
    client: httpx.AsyncClient, token: str, body: Any, accept: str | None = None
) -> httpx.Response:
    headers = auth(token) if accept is None else auth(token, accept=accept)
    return await client.post("/graphql", json=body, headers=headers)


def media_type(r: httpx.Response) -> str:
    return r.headers["content-type"].split(";")[0].strip()


async def test_the_media_type_follows_accept(client, tenant):
    query = {"query": "{ viewer { role } }"}
    for accept, expected in (
        (None, JSON),
        ("*/*", JSON),
        (JSON, JSON),
        ("text/html", JSON),
        (GQL_RESPONSE, GQL_RESPONSE),
        (f"{GQL_RESPONSE}, {JSON};q=0.9", GQL_RESPONSE),  # Apollo Client, graphql-http
        (f"{JSON}, {GQL_RESPONSE}", GQL_RESPONSE),  # equal: the newer
        (f"{JSON}, {GQL_RESPONSE};q=0.5", JSON),
        (f"{GQL_RESPONSE};q=0, */*", JSON),
    ):
        r = await post(client, tenant.user_token, query, accept)
        assert r.status_code == 200, (accept, r.text)
        assert media_type(r) == expected, accept
        assert r.json() == {"data": {"viewer": {"role": "USER"}}}
    # GET too.
    r = await client.get(
        "/graphql",
        params={"query": "{ viewer { role } }"},
        headers=auth(tenant.user_token, accept=GQL_RESPONSE),
    )
    assert r.status_code == 200 and media_type(r) == GQL_RESPONSE


REQUEST_ERRORS = {
    "parse": {"query": "{ viewer { role "},
    "validation": {"query": "{ viewer { noSuchField } }"},
    "variable coercion": {
        "query": "query($id: ID!) { record(id: $id) { id } }",
        "variables": {"id": {"an": "object"}},
    },
    "missing variable": {"query": "query($id: ID!) { record(id: $id) { id } }"},
    "a limit": {"query": "{ viewer { role } }" + " " * 200_000},
}


async def test_request_errors_are_400_without_data_for_graphql_response_json(client, tenant):
    for name, body in REQUEST_ERRORS.items():
        r = await post(client, tenant.user_token, body, GQL_RESPONSE)
        assert r.status_code == 400, (name, r.text)
        assert media_type(r) == GQL_RESPONSE
        answer = r.json()
        assert "data" not in answer and answer["errors"], name
        assert all("path" not in e for e in answer["errors"]), name


async def test_request_errors_keep_200_and_null_data_for_json(client, tenant):
    for name, body in REQUEST_ERRORS.items():
        r = await post(client, tenant.user_token, body, JSON)
        assert r.status_code == 200, (name, r.text)
        assert media_type(r) == JSON
        assert r.json()["data"] is None and r.json()["errors"], name


async def test_field_errors_stay_200_with_data_for_graphql_response_json(client, tenant):
    # A stale id: the field is null, the rest answered.
    stale = "rec_" + "0" * 32
    r = await post(
        client,
        tenant.user_token,
        {"query": f'{{ viewer {{ role }} record(id: "{stale}") {{ id }} }}'},
        GQL_RESPONSE,
    )
    assert r.status_code == 200 and media_type(r) == GQL_RESPONSE
    assert r.json()["data"] == {"viewer": {"role": "USER"}, "record": None}
    # A non-null root that fails nulls `data`, but the operation ran: still 200, `data` null.
    r = await post(
        client,
        tenant.user_token,
        {"query": f'mutation {{ deleteRecord(id: "{stale}") {{ deletedId }} }}'},
        GQL_RESPONSE,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["deleteRecord"]


async def test_a_bad_token_answers_the_graphql_over_http_error_body(client):
    for headers in ({}, {"authorization": "Bearer rlt.nope.nope"}, {"authorization": "Basic x"}):
        for accept, expected in ((None, JSON), (GQL_RESPONSE, GQL_RESPONSE)):
            sent = {**headers, **({"accept": accept} if accept else {})}
            r = await client.post("/graphql", json={"query": "{ viewer { role } }"}, headers=sent)
            assert r.status_code == 401, r.text
            assert media_type(r) == expected
            assert r.headers["www-authenticate"] == "Bearer"
            body = r.json()
            assert set(body) == {"errors"}
            (error,) = body["errors"]
            assert set(error) == {"message", "extensions"} and error["message"]
            assert error["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_malformed_body_answers_the_same_shape(client, tenant):
    for accept in (JSON, GQL_RESPONSE):
        r = await client.post(
            "/graphql",
            content=b"{not json",
            headers=auth(tenant.user_token, accept=accept, **{"content-type": JSON}),
        )
        assert r.status_code == 400 and media_type(r) == accept
        assert set(r.json()) == {"errors"}


async def test_large_responses_are_gzipped_with_the_statement_count(client, tenant):
    for i in range(30):
        await tenant.admin.create_record("contact", firstName=f"Person {i}", email=f"p{i}@x.test")
    query = {"query": '{ records(objectKey: "contact") { edges { node { id properties } } } }'}
    await tenant.user.gql("{ __typename }")  # the token's lookup: both answers below skip it
    r = await client.post(
        "/graphql", json=query, headers=auth(tenant.user_token, **{"accept-encoding": "gzip"})
    )
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip" and "vary" in r.headers
    assert int(r.headers["x-relata-sql-statements"]) >= 1
    assert len(r.json()["data"]["records"]["edges"]) == 30
    assert r.num_bytes_downloaded < len(r.content) / 2
    # Not asked for: not compressed, the same answer.
    plain = await client.post(
        "/graphql", json=query, headers=auth(tenant.user_token, **{"accept-encoding": "identity"})
    )
    assert "content-encoding" not in plain.headers and plain.content == r.content
    assert plain.headers["x-relata-sql-statements"] == r.headers["x-relata-sql-statements"]
    # Small answers are sent as they are.
    small = await client.post(
        "/graphql",
        json={"query": "{ viewer { role } }"},
        headers=auth(tenant.user_token, **{"accept-encoding": "gzip"}),
    )
    assert "content-encoding" not in small.headers


async def test_gzip_leaves_the_body_limit_alone(db, tenant):
    async with client_with(db, max_body_bytes=2_000) as client:
        headers = auth(tenant.user_token, **{"accept-encoding": "gzip"})
        big = {"query": "{ viewer { role } }", "variables": {"x": "y" * 5_000}}
        r = await client.post("/graphql", json=big, headers=headers)
        assert r.status_code == 413 and r.json()["errors"][0]["extensions"]["maximum"] == 2_000

        async def chunks():
            for _ in range(10):
                yield b" " * 500

        streamed = await client.post(
            "/graphql", content=chunks(), headers={**headers, "content-type": JSON}
        )
        assert streamed.status_code == 413
        assert streamed.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_cors_exposes_the_headers_clients_read(db, tenant):
    origin = "https://app.example"
    async with client_with(db, cors_origins=(origin,)) as client:
        r = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }"},
            headers=auth(tenant.user_token, origin=origin),
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == origin
        exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
        assert exposed >= {
            "x-relata-sql-statements",
            "x-request-id",
            "retry-after",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-interval-milliseconds",
        }
        # And every one named there is one the server sends.
        assert {"x-relata-sql-statements", "x-request-id"} <= set(r.headers)
        preflight = await client.options(
            "/graphql",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
