"""One admission path (app/admission.py) for GraphQL and REST: the token, its lookup and its rate
limit, each failure classified once and rendered in each surface's shape with the same status,
message and code. Only the database or the pool failing is 503; any other surprise during
authentication is a masked 500, logged with the request's method and path."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import httpx
import pytest

from app.config import Settings
from app.errors import MASKED_MESSAGE, UNAVAILABLE_MESSAGE
from app.web import create_app
from db import Database
from db import tokens as token_sql
from tests.hardening_support import client_with

VERSION = "2021-07-28"
QUERY = {"query": "{ viewer { role } }"}


async def both(client: httpx.AsyncClient, token: str | None) -> tuple[Any, Any]:
    """The same token sent to GraphQL and to REST: (GraphQL's error, REST's body), with each
    response's status and headers checked to agree."""
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    g = await client.post("/graphql", json=QUERY, headers=headers)
    r = await client.get("/objects/", headers={**headers, "version": VERSION})
    assert g.status_code == r.status_code, (g.text, r.text)
    for name in ("retry-after", "www-authenticate"):
        assert g.headers.get(name) == r.headers.get(name), name
    gbody, rbody = g.json(), r.json()
    assert "data" not in gbody  # nothing ran
    (error,) = gbody["errors"]
    assert set(rbody) <= {"statusCode", "message", "error", "code", "details"}
    assert rbody["statusCode"] == r.status_code
    # One message and one code on both surfaces; GraphQL's extensions are REST's details.
    assert error["message"] == rbody["message"]
    assert error["extensions"]["code"] == rbody["code"]
    extensions = {k: v for k, v in error["extensions"].items() if k != "code"}
    assert extensions == rbody.get("details", {})
    return g, r


async def test_a_bad_token_is_401_on_both(client, tenant):
    for token in (None, "nope", "rlt.eA." + "x" * 43):
        g, r = await both(client, token)
        assert g.status_code == 401
        assert r.json()["code"] == "UNAUTHENTICATED"
        assert g.headers["www-authenticate"] == "Bearer"


async def test_the_rate_limit_is_429_with_retry_after_on_both(db, tenant):
    async with client_with(db, rate_limit_per_second=0.2, rate_limit_burst=2) as client:
        for _ in range(2):
            assert (
                await client.post(
                    "/graphql",
                    json=QUERY,
                    headers={"authorization": f"Bearer {tenant.user_token}"},
                )
            ).status_code == 200
        g, r = await both(client, tenant.user_token)
        assert g.status_code == 429
        assert g.headers["retry-after"] == "5"
        body = r.json()
        assert body["code"] == "LIMIT_EXCEEDED"
        assert body["details"] == {"limitName": "rateLimit", "retryAfter": 5}
        assert body["message"] == (
            "rate limit exceeded: this token may make 0.2 requests per second with bursts of 2"
            " (per server process); retry after 5 s"
        )


def failing_lookup(exc: BaseException) -> Any:
    async def lookup(*args: Any, **kwargs: Any) -> None:
        raise exc

    return lookup


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("secret internals: postgres://user:pw@host"),
        KeyError("token_hash"),
        # A Postgres error that is a bug, not an outage: a missing table, a wrong statement.
        asyncpg.UndefinedTableError('relation "api_tokens" does not exist'),
        asyncpg.PostgresSyntaxError("syntax error at or near secret"),
        asyncpg.InsufficientPrivilegeError("permission denied for table api_tokens"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_an_unexpected_failure_in_authentication_is_a_masked_500(
    client, tenant, monkeypatch, caplog, exc
):
    monkeypatch.setattr(token_sql, "find_active_token", failing_lookup(exc))
    with caplog.at_level(logging.ERROR, logger="relata.auth"):
        g, r = await both(client, tenant.user_token)
    assert g.status_code == 500
    assert r.json() == {
        "statusCode": 500,
        "message": MASKED_MESSAGE,
        "error": "Internal Server Error",
        "code": "INTERNAL_SERVER_ERROR",
    }
    assert "secret" not in g.text + r.text and "api_tokens" not in g.text + r.text
    logged = [rec for rec in caplog.records if rec.name == "relata.auth"]
    assert [rec.levelno for rec in logged] == [logging.ERROR, logging.ERROR]
    assert "POST /graphql" in logged[0].getMessage()
    assert "GET /objects/" in logged[1].getMessage()
    assert all(rec.exc_info and rec.exc_info[1] is exc for rec in logged)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),  # the pool's acquire timeout
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.InterfaceError("pool is closing"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_database_failure_in_authentication_is_503(
    client, tenant, monkeypatch, caplog, exc
):
    monkeypatch.setattr(token_sql, "find_active_token", failing_lookup(exc))
    with caplog.at_level(logging.WARNING, logger="relata.auth"):
        g, r = await both(client, tenant.user_token)
    assert g.status_code == 503
    assert r.json() == {
        "statusCode": 503,
        "message": UNAVAILABLE_MESSAGE,
        "error": "Service Unavailable",
        "code": "INTERNAL_SERVER_ERROR",
    }
    logged = [rec for rec in caplog.records if rec.name == "relata.auth"]
    assert logged and all(rec.levelno == logging.WARNING for rec in logged)


async def test_a_real_database_outage_is_503_on_both(pg_dsn, tenant):
    """A pool whose database is gone (closed under the app): no injected error."""
    gone = await Database.connect(pg_dsn, min_size=1, max_size=1, acquire_timeout=0.5)
    await gone.close()
    app = create_app(Settings(), database=gone)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        g, r = await both(client, tenant.user_token)
    assert g.status_code == 503
    assert r.json()["message"] == UNAVAILABLE_MESSAGE


async def test_an_exhausted_pool_is_503_on_both(pg_dsn, tenant):
    tiny = await Database.connect(pg_dsn, min_size=1, max_size=1, acquire_timeout=0.3)
    try:
        app = create_app(Settings(), database=tiny)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            async with tiny.acquire():  # the only connection is taken
                g, r = await both(client, tenant.user_token)
            assert g.status_code == 503
            assert r.json()["message"] == UNAVAILABLE_MESSAGE
            ok = await client.post(
                "/graphql", json=QUERY, headers={"authorization": f"Bearer {tenant.user_token}"}
            )
            assert ok.status_code == 200
    finally:
        await tiny.close()
