"""REST failure paths that are not about input: masked 500s and the rate limit."""

from __future__ import annotations

import logging

from app.services import associations as association_service
from tests.hardening_support import client_with
from tests.rest_support import Rest, admin, expect_error


async def test_unexpected_errors_are_masked_and_logged(tenant, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals: connection string postgres://x")

    monkeypatch.setattr(association_service, "list_associations_page", broken)
    with caplog.at_level(logging.ERROR, logger="relata.rest"):
        r = await admin(tenant).get("/associations/")
    body = expect_error(r, 500, "INTERNAL_SERVER_ERROR")
    assert body["message"] == "Internal server error"
    assert body["error"] == "Internal Server Error"
    assert "secret" not in r.text
    records = [rec for rec in caplog.records if rec.name == "relata.rest"]
    assert records, "the failure was not logged"
    logged = records[-1]
    assert "GET /associations/" in logged.getMessage()
    assert tenant.location in logged.getMessage()
    assert logged.exc_info and "secret internals" in str(logged.exc_info[1])


async def test_rest_shares_the_per_token_rate_limit(db, tenant):
    async with client_with(db, rate_limit_per_second=0.2, rate_limit_burst=2) as client:
        api = Rest(client, tenant.admin_token, tenant.location)
        for _ in range(2):
            assert (await api.get("/associations/")).status_code == 200
        r = await api.get("/associations/")
        body = expect_error(r, 429, "LIMIT_EXCEEDED")
        assert int(r.headers["retry-after"]) >= 1
        assert body["details"]["limitName"] == "rateLimit"


async def test_nul_in_an_association_key_is_not_a_server_error(tenant):
    # A NUL is refused at the edge by both APIs (a GraphQL literal by validation), not looked up.
    r = await tenant.admin.gql('query { associationByKey(key: "a\\u0000b") { id } }')
    assert (r.code, r.error["extensions"]["field"]) == ("BAD_USER_INPUT", "key")
    expect_error(await admin(tenant).get("/associations/key/a%00b"), 400, "BAD_USER_INPUT")


async def test_unknown_routes_and_methods_answer_json(client):
    r = await client.get("/no/such/route")
    assert r.status_code == 404
    assert r.json()["statusCode"] == 404 and r.json()["code"] == "NOT_FOUND"
    r = await client.patch("/associations/")
    assert r.status_code == 405
    assert r.json()["statusCode"] == 405
    assert "allow" in {k.lower() for k in r.headers}


async def test_oversized_rest_body_is_413_in_the_rest_shape(client, tenant):
    r = await client.post(
        "/associations/",
        content=b"x" * 1_000_001,
        headers={
            "authorization": f"Bearer {tenant.admin_token}",
            "version": "2021-07-28",
            "content-type": "application/json",
        },
    )
    assert r.status_code == 413
    assert r.json()["statusCode"] == 413
