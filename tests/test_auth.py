from __future__ import annotations

import pytest

from app.services.tokens import create_token, revoke_token
from tests.helpers import Api

VIEWER = "{ viewer { location { id locationId } role scopes } }"


async def test_missing_token_is_401_unauthenticated(client):
    r = await Api(client, None).gql(VIEWER)
    assert r.status == 401
    assert r.code == "UNAUTHENTICATED"
    assert "Authorization" in r.error["message"]


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Basic abc", "Bearer rlt.bm9wZQ.short", "Bearer " + "rlt.eA." + "x" * 43],
)
async def test_malformed_or_unknown_token_is_401(client, header):
    r = await client.post("/graphql", json={"query": VIEWER}, headers={"authorization": header})
    assert r.status_code == 401
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert r.headers["www-authenticate"] == "Bearer"


async def test_token_for_location_of_another_token_is_not_forgeable(client, tenant):
    # Same secret, other location in the token's prefix: the hash no longer matches.
    _, _, secret = tenant.admin_token.split(".")
    forged = "rlt.b3RoZXI." + secret
    r = await Api(client, forged).gql(VIEWER)
    assert r.status == 401


async def test_revoked_token_is_401(db, client, tenant):
    token = await create_token(db, tenant.location, "user")
    api = Api(client, token)
    assert (await api.gql(VIEWER)).status == 200
    assert await revoke_token(db, token) is True
    r = await api.gql(VIEWER)
    assert r.status == 401 and r.code == "UNAUTHENTICATED"
    assert await revoke_token(db, token) is False


async def test_viewer_reports_location_role_and_scopes(tenant):
    data = await tenant.user.ok(VIEWER)
    assert data["viewer"]["location"]["locationId"] == tenant.location
    assert data["viewer"]["location"]["id"].startswith("loc_")
    assert data["viewer"]["role"] == "USER"
    assert "objects/record.write" in data["viewer"]["scopes"]


async def test_missing_scope_is_forbidden(db, client, tenant):
    token = await create_token(db, tenant.location, "admin", ["objects/record.readonly"])
    api = Api(client, token)
    await api.ok('{ records(objectKey: "contact") { edges { node { id } } } }')
    r = await api.fail(
        'mutation { createRecord(input: {objectKey: "contact", properties: {}}) { id } }'
    )
    assert r.code == "FORBIDDEN"
    assert "objects/record.write" in r.error["message"]
    r = await api.fail("{ objectSchemas { key } }")
    assert r.code == "FORBIDDEN"


async def test_write_scope_implies_read(db, client, tenant):
    token = await create_token(db, tenant.location, "user", ["objects/record.write"])
    api = Api(client, token)
    rid = await api.create_record("contact", firstName="W")
    data = await api.ok("query($id: ID!) { record(id: $id) { id } }", {"id": rid})
    assert data["record"]["id"] == rid


async def test_user_role_cannot_create_custom_objects(tenant):
    r = await tenant.user.fail(
        'mutation { createObjectSchema(input: {key: "pet", labels: {singular: "Pet",'
        ' plural: "Pets"}}) { key } }'
    )
    assert r.code == "FORBIDDEN"
    assert "admin" in r.error["message"]
    data = await tenant.admin.ok("{ objectSchemas { key } }")
    assert "custom_objects.pet" not in {o["key"] for o in data["objectSchemas"]}


async def test_unknown_scope_is_rejected_at_creation(db):
    from app.errors import BadUserInput

    with pytest.raises(BadUserInput):
        await create_token(db, "somewhere", "user", ["objects/everything"])
    with pytest.raises(BadUserInput):
        await create_token(db, "somewhere", "root")


async def test_tokens_are_stored_hashed(db, tenant):
    rows = await db.fetch(
        "select token_hash from api_tokens where location_id = $1", tenant.location
    )
    assert len(rows) == 2
    for row in rows:
        assert tenant.admin_token.encode() not in bytes(row["token_hash"])
        assert len(bytes(row["token_hash"])) == 32
