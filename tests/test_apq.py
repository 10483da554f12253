"""Automatic persisted queries (Apollo's protocol): a hash runs the document it stands for in
the caller's location only, an unknown hash asks for the text, the text is checked against the
hash, the store is bounded in bytes, and a stored document passes every limit again."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from tests.hardening_support import client_with, nested_relations

QUERY = "{ viewer { role } }"
GQL_RESPONSE = "application/graphql-response+json"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ext(digest: str, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def post(
    client: httpx.AsyncClient, token: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await client.post(
        "/graphql", json=body, headers={"authorization": f"Bearer {token}", **headers}
    )


async def get(
    client: httpx.AsyncClient, token: str, params: dict[str, Any], **headers: str
) -> httpx.Response:
    params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await client.get(
        "/graphql", params=params, headers={"authorization": f"Bearer {token}", **headers}
    )


def assert_not_found(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    (error,) = r.json()["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_unknown_hash_then_hash_and_text_then_hash_alone(client, tenant):
    token = tenant.user_token
    query = "query Role { viewer { role } }  # apq-1"
    digest = sha(query)
    assert_not_found(await post(client, token, {"extensions": ext(digest)}))
    r = await post(client, token, {"query": query, "extensions": ext(digest)})
    assert r.status_code == 200 and r.json() == {"data": {"viewer": {"role": "USER"}}}
    # Now the hash alone runs it, by POST and by GET, with variables and an operation name.
    r = await post(client, token, {"extensions": ext(digest), "operationName": "Role"})
    assert r.json() == {"data": {"viewer": {"role": "USER"}}}
    for accept in ("*/*", "text/html,*/*", GQL_RESPONSE):
        r = await get(client, token, {"extensions": ext(digest)}, accept=accept)
        assert r.status_code == 200, (accept, r.text)
        assert r.json() == {"data": {"viewer": {"role": "USER"}}}
    # Another token of the same location shares the document.
    r = await post(client, tenant.admin_token, {"extensions": ext(digest)})
    assert r.json() == {"data": {"viewer": {"role": "ADMIN"}}}
    # The hash is case-insensitive hex, as Apollo's clients send lower case.
    r = await post(client, token, {"extensions": ext(digest.upper())})
    assert r.json() == {"data": {"viewer": {"role": "USER"}}}


async def test_not_found_is_200_whatever_the_client_accepts(client, tenant):
    digest = sha("{ viewer { scopes } } # never sent")
    for accept in ("application/json", GQL_RESPONSE):
        r = await post(client, tenant.user_token, {"extensions": ext(digest)}, accept=accept)
        assert_not_found(r)
    assert_not_found(await get(client, tenant.user_token, {"extensions": ext(digest)}))


async def test_variables_run_with_a_stored_document(client, tenant):
    record = await tenant.user.create_record("company", name="Acme")
    query = "query($id: ID!) { record(id: $id) { displayName } }"
    body = {"query": query, "variables": {"id": record}, "extensions": ext(sha(query))}
    assert (await post(client, tenant.user_token, body)).json()["data"]["record"] == {
        "displayName": "Acme"
    }
    r = await get(
        client, tenant.user_token, {"extensions": ext(sha(query)), "variables": {"id": record}}
    )
    assert r.json()["data"]["record"] == {"displayName": "Acme"}


async def test_a_wrong_hash_is_refused_and_stores_nothing(client, tenant):
    query = "{ viewer { scopes } } # apq-mismatch"
    wrong = sha("something else")
    for accept, status in (("application/json", 200), (GQL_RESPONSE, 400)):
        r = await post(
            client, tenant.user_token, {"query": query, "extensions": ext(wrong)}, accept=accept
        )
        assert r.status_code == status, r.text
        (error,) = r.json()["errors"]
        assert error["message"] == "provided sha does not match query"
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert_not_found(await post(client, tenant.user_token, {"extensions": ext(wrong)}))
    assert_not_found(await post(client, tenant.user_token, {"extensions": ext(sha(query))}))


async def test_unsupported_versions_and_malformed_hashes_are_refused(client, tenant):
    digest = sha(QUERY)
    bad = [
        {"extensions": ext(digest, version=2)},
        {"extensions": ext(digest, version=None)},
        {"extensions": {"persistedQuery": "yes"}},
        {"extensions": ext("not-a-hash")},
        {"extensions": ext(digest[:-1])},
        {"extensions": {"persistedQuery": {"version": 1}}},
    ]
    for body in bad:
        for extra in ({}, {"query": QUERY}):
            r = await post(client, tenant.user_token, {**body, **extra})
            assert r.status_code == 200, r.text
            (error,) = r.json()["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (body, error)
            assert r.json()["data"] is None
    r = await post(client, tenant.user_token, {"query": QUERY, "extensions": ext(digest, 2)})
    assert "Unsupported persisted query version" in r.json()["errors"][0]["message"]
    # Other extensions are left alone.
    r = await post(client, tenant.user_token, {"query": QUERY, "extensions": {"other": 1}})
    assert r.json() == {"data": {"viewer": {"role": "USER"}}}


async def test_no_location_sees_or_uses_another_locations_documents(client, tenant, other_tenant):
    query = "{ viewer { location { locationId } } } # apq-tenant"
    digest = sha(query)
    r = await post(client, tenant.user_token, {"query": query, "extensions": ext(digest)})
    assert r.json()["data"]["viewer"]["location"]["locationId"] == tenant.location
    # B knows the hash but not the text: not found, as for a hash nobody ever sent.
    assert_not_found(await post(client, other_tenant.user_token, {"extensions": ext(digest)}))
    assert_not_found(
        await get(client, other_tenant.user_token, {"extensions": ext(digest)}, accept="*/*")
    )
    # B registering the same text gets its own entry, which runs as B.
    r = await post(client, other_tenant.user_token, {"query": query, "extensions": ext(digest)})
    assert r.json()["data"]["viewer"]["location"]["locationId"] == other_tenant.location


async def test_a_hash_alone_still_needs_a_token(client, tenant):
    query = "{ viewer { role } } # apq-auth"
    await post(client, tenant.user_token, {"query": query, "extensions": ext(sha(query))})
    r = await client.get(
        "/graphql",
        params={"extensions": json.dumps(ext(sha(query)))},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )
    r = await client.post("/graphql", json={"extensions": ext(sha(query))})
    assert r.status_code == 401


async def test_mutations_by_hash_are_refused_over_get(client, tenant):
    query = 'mutation { createRecord(input: {objectKey: "company"}) { id } }'
    r = await post(client, tenant.user_token, {"query": query, "extensions": ext(sha(query))})
    assert r.json()["data"]["createRecord"]["id"]
    r = await get(client, tenant.user_token, {"extensions": ext(sha(query))})
    assert r.status_code == 400 and "not allowed" in r.json()["errors"][0]["message"]
    count = await tenant.user.ok('{ records(objectKey: "company") { totalCount } }')
    assert count["records"]["totalCount"] == 1


async def test_stored_documents_pass_every_limit_again(db, tenant):
    async with client_with(db, max_depth=6, max_aliases=3, max_cost=500) as client:
        token = tenant.user_token
        # Refused with its text: never stored.
        deep = nested_relations(2)
        r = await post(client, token, {"query": deep, "extensions": ext(sha(deep))})
        assert r.json()["errors"][0]["extensions"]["limit"] == "depth"
        assert_not_found(await post(client, token, {"extensions": ext(sha(deep))}))
        # Stored under one set of variables, refused under another (the cost is recomputed).
        query = (
            'query($n: Int) { records(objectKey: "contact", first: $n) { edges { node { id } } } }'
        )
        ok = await post(
            client, token, {"query": query, "variables": {"n": 5}, "extensions": ext(sha(query))}
        )
        assert "errors" not in ok.json(), ok.text
        again = await post(client, token, {"variables": {"n": 5}, "extensions": ext(sha(query))})
        assert "errors" not in again.json()
        costly = await post(
            client, token, {"variables": {"n": 10_000}, "extensions": ext(sha(query))}
        )
        assert costly.json()["errors"][0]["extensions"]["limit"] == "cost"
        assert costly.json()["data"] is None
    # The query-bytes limit applies to the text sent with a hash.
    async with client_with(db, max_query_bytes=200) as client:
        big = "{ viewer { role } }" + " " * 300
        r = await post(client, tenant.user_token, {"query": big, "extensions": ext(sha(big))})
        assert r.json()["errors"][0]["extensions"]["limit"] == "queryBytes"
        assert_not_found(await post(client, tenant.user_token, {"extensions": ext(sha(big))}))


async def test_the_store_is_bounded_in_bytes_and_evicts_the_least_recently_used(db, tenant):
    # Room for about three 1 KB documents.
    async with client_with(db, apq_cache_bytes=3 * (1_000 + 512) + 100) as client:
        token = tenant.user_token

        def doc(i: int) -> str:
            return "{ viewer { role } }" + f" # {i} ".ljust(1_000 - 19, "x")

        for i in range(3):
            r = await post(client, token, {"query": doc(i), "extensions": ext(sha(doc(i)))})
            assert "errors" not in r.json()
        # Touch 0, so 1 is the least recently used when 3 arrives.
        assert "errors" not in (await post(client, token, {"extensions": ext(sha(doc(0)))})).json()
        await post(client, token, {"query": doc(3), "extensions": ext(sha(doc(3)))})
        assert_not_found(await post(client, token, {"extensions": ext(sha(doc(1)))}))
        for i in (0, 2, 3):
            r = await post(client, token, {"extensions": ext(sha(doc(i)))})
            assert r.json() == {"data": {"viewer": {"role": "USER"}}}, i
        # A document larger than the whole store is run but not kept.
        huge = "{ viewer { role } }" + " " * 5_000
        r = await post(client, token, {"query": huge, "extensions": ext(sha(huge))})
        assert "errors" not in r.json()
        assert_not_found(await post(client, token, {"extensions": ext(sha(huge))}))


async def test_a_zero_byte_store_says_persisted_queries_are_not_supported(db, tenant):
    async with client_with(db, apq_cache_bytes=0) as client:
        r = await post(client, tenant.user_token, {"extensions": ext(sha(QUERY))})
        assert r.status_code == 200
        (error,) = r.json()["errors"]
        assert error["message"] == "PersistedQueryNotSupported"
        assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
