"""Limits at the HTTP edge: body size, batching, introspection, GraphiQL, CORS, and the
Settings that switch them."""

from __future__ import annotations

import orjson
from graphql import get_introspection_query

from app.config import Settings
from tests.hardening_support import client_with


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_body_over_the_cap_is_413(db, tenant):
    async with client_with(db, max_body_bytes=2_000) as client:
        padding = "x" * 3_000
        r = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }", "variables": {"pad": padding}},
            headers=auth(tenant.user_token),
        )
        assert r.status_code == 413
        error = r.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "2000 bytes" in error["message"]
        small = await client.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers=auth(tenant.user_token)
        )
        assert small.status_code == 200


async def test_streamed_body_over_the_cap_is_413(db, tenant):
    """No Content-Length (chunked): the limit is enforced on the bytes actually received."""
    body = orjson.dumps({"query": "{ viewer { role } }", "variables": {"pad": "y" * 5_000}})

    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(body), 1_000):
            yield body[i : i + 1_000]

    async with client_with(db, max_body_bytes=2_000) as client:
        headers = {**auth(tenant.user_token), "content-type": "application/json"}
        r = await client.post("/graphql", content=chunks(), headers=headers)
        assert "content-length" not in r.request.headers
        assert r.status_code == 413
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_default_body_cap_is_one_megabyte(client, tenant):
    r = await client.post(
        "/graphql",
        json={"query": "{ viewer { role } }", "variables": {"pad": "z" * 1_000_001}},
        headers=auth(tenant.user_token),
    )
    assert r.status_code == 413


async def test_batched_queries_are_refused_cleanly(client, tenant):
    r = await client.post(
        "/graphql",
        json=[{"query": "{ viewer { role } }"}, {"query": "{ viewer { role } }"}],
        headers=auth(tenant.user_token),
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Batching is not enabled" in error["message"]


async def test_malformed_bodies_are_400_not_500(client, tenant):
    headers = {**auth(tenant.user_token), "content-type": "application/json"}
    bodies = (
        b"{",
        b"[1, 2",
        b'"just a string"',
        b"12",
        b"null",
        b"[]",
        b"[1]",
        b'{"query": 12}',
        b'{"query": "{ viewer { role } }", "variables": []}',
        b'{"query": "{ viewer { role } }", "operationName": 5}',
        b'{"query": "{ viewer { role } }", "extensions": "x"}',
        b'{"query": null}',
        b"{}",
    )
    for body in bodies:
        r = await client.post("/graphql", content=body, headers=headers)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)


async def test_introspection_on_by_default_and_complete(client, tenant):
    r = await client.post(
        "/graphql", json={"query": get_introspection_query()}, headers=auth(tenant.user_token)
    )
    body = r.json()
    assert body.get("errors") is None, body.get("errors")
    inputs = {t["name"]: t for t in body["data"]["__schema"]["types"]}
    fields = {f["name"]: f for f in inputs["CreateRecordInput"]["inputFields"]}
    assert fields["properties"]["defaultValue"] == "null"  # printable by graphql-js


async def test_introspection_can_be_switched_off(db, tenant):
    async with client_with(db, introspection=False) as client:
        for query in ("{ __schema { types { name } } }", '{ __type(name: "Record") { name } }'):
            r = await client.post(
                "/graphql", json={"query": query}, headers=auth(tenant.user_token)
            )
            error = r.json()["errors"][0]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert "introspection" in error["message"].lower()
        ok = await client.post(
            "/graphql",
            json={"query": "{ __typename viewer { role } }"},
            headers=auth(tenant.user_token),
        )
        assert ok.json()["data"]["viewer"]["role"] == "USER"


async def test_graphiql_on_by_default_and_switchable(client, db):
    html = {"accept": "text/html"}
    page = await client.get("/graphql", headers=html)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    async with client_with(db, graphiql=False) as off:
        r = await off.get("/graphql", headers=html)
        assert r.status_code == 404
        assert "graphiql" not in r.text.lower()
        assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_cors_only_for_configured_origins(db, client):
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    async with client_with(db, cors_origins=("https://app.example",)) as cors:
        ok = await cors.options("/graphql", headers={"origin": "https://app.example", **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        bad = await cors.options(
            "/graphql", headers={"origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in bad.headers
        simple = await cors.get("/healthz", headers={"origin": "https://app.example"})
        assert simple.headers["access-control-allow-origin"] == "https://app.example"
    # No RELATA_CORS_ORIGINS: no CORS headers at all, so browsers on other origins are refused.
    plain = await client.get("/healthz", headers={"origin": "https://app.example"})
    assert "access-control-allow-origin" not in plain.headers


def test_settings_from_env(monkeypatch):
    env = {
        "RELATA_INTROSPECTION": "0",
        "RELATA_GRAPHIQL": "0",
        "RELATA_CORS_ORIGINS": "https://a.example, https://b.example",
        "RELATA_MAX_BODY_BYTES": "4096",
        "RELATA_MAX_DEPTH": "7",
        "RELATA_MAX_ALIASES": "8",
        "RELATA_MAX_TOKENS": "900",
        "RELATA_MAX_COST": "1234",
        "RELATA_RATE_LIMIT_PER_SECOND": "2.5",
        "RELATA_RATE_LIMIT_BURST": "9",
        "RELATA_POOL_TIMEOUT": "1.5",
        "RELATA_STATEMENT_TIMEOUT_MS": "3000",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = Settings.from_env()
    assert (s.introspection, s.graphiql) == (False, False)
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert (s.max_body_bytes, s.max_depth, s.max_aliases, s.max_tokens, s.max_cost) == (
        4096,
        7,
        8,
        900,
        1234,
    )
    assert (s.rate_limit_per_second, s.rate_limit_burst, s.pool_timeout) == (2.5, 9, 1.5)
    assert s.statement_timeout_ms == 3000
    for name in env:
        monkeypatch.delenv(name)
    d = Settings.from_env()
    assert d == Settings(database_url=d.database_url)
    assert (d.max_depth, d.max_aliases, d.max_tokens, d.max_cost) == (20, 50, 5_000, 500_000)
    assert (d.rate_limit_per_second, d.rate_limit_burst, d.pool_timeout) == (200.0, 2_000, 5.0)
