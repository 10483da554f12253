"""Malformed input at every edge: one table, each row sent the way a client would send it.

Every row must answer its typed 4xx-class error (GraphQL: `extensions.code`; REST: HighLevel's
`{statusCode, message, error}` plus `code`), never a masked 500 or a stack trace, log nothing at
ERROR, and change nothing in the tenant. Refusals made before the GraphQL document is read (the
body, its variables, GET parameters) are HTTP 400; a literal in the document is refused by
validation, which GraphQL over HTTP answers 200 with `errors` and `data: null` like every other
validation error; a refusal by a service (a `monetaryValue` string that is not a finite number)
is an ordinary GraphQL error."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from app.config import Settings
from tests.hardening_support import client_with
from tests.rest_support import VERSION

STANDARD = {"x-relata-execution": "standard"}
DEEP = "[" * 1_000 + "]" * 1_000
VERY_DEEP = "[" * 100_000 + "]" * 100_000
BIG = str(2**70)
# A token shaped like ours whose location part decodes to a NUL byte.
NUL_TOKEN = "rlt." + base64.urlsafe_b64encode(b"\x00").decode().rstrip("=") + "." + "a" * 43

CREATE_RECORD = "mutation($i: CreateRecordInput!) { createRecord(input: $i) { id } }"
UPDATE_RECORD = "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }"
CREATE_OBJECT = "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { key } }"
CREATE_ASSOCIATION = "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) { id } }"
SEARCH = 'query($q: String) { records(objectKey: "contact", query: $q) { totalCount } }'
RELATED = 'query($k: String) { record(id: "@CONTACT@") { ... on Contact {'
RELATED += " relations(associationKey: $k) { totalCount edges { node { id } } } } } }"


@dataclass(frozen=True)
class Req:
    """How a row is sent. `@CONTACT@`, `@OPPORTUNITY@` in path, body and query are replaced by
    the ids of the tenant's records."""

    method: str = "POST"
    path: str = "/graphql"
    body: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None  # None: the tenant's admin token
    chunked: bool = False


@dataclass(frozen=True)
class Case:
    name: str
    via: str
    req: Req
    status: int
    code: str
    field: str | None = None
    says: str = ""  # part of the message a person acts on


def variables(query: str, variables_json: str, headers: dict[str, str] | None = None) -> Req:
    """POST /graphql with the variables as raw JSON text (lone surrogates, big numbers)."""
    body = '{"query": ' + json.dumps(query) + ', "variables": ' + variables_json + "}"
    return Req(body=body.encode(), headers=headers or {})


def literal(query: str, headers: dict[str, str] | None = None) -> Req:
    return Req(body=orjson.dumps({"query": query}), headers=headers or {})


def get(query: str, variables_json: str | None = None) -> Req:
    params = {"query": query}
    if variables_json is not None:
        params["variables"] = variables_json
    return Req(method="GET", params=params)


def rest(method: str, path: str, body: bytes | str | None = None, **kw: Any) -> Req:
    raw = body.encode() if isinstance(body, str) else body
    return Req(method=method, path=path, body=raw, **kw)


def record_input(object_key: str, properties_json: str) -> str:
    return '{"i": {"objectKey": "' + object_key + '", "properties": ' + properties_json + "}}"


def related_literal(key_literal: str) -> str:
    return RELATED.replace("($k: String)", "").replace("$k", key_literal)


OVER_A_MEGABYTE = b'{"properties": {"name": "' + b"x" * 1_100_000 + b'"}}'

CASES = [
    # GraphQL variables (POST body)
    Case(
        "properties value with a lone surrogate",
        "graphql variables",
        variables(CREATE_RECORD, record_input("contact", r'{"firstName": "\ud800"}')),
        400,
        "BAD_USER_INPUT",
        "variables.i.properties.firstName",
        says="surrogate",
    ),
    Case(
        "properties key with a lone surrogate",
        "graphql variables",
        variables(CREATE_RECORD, record_input("contact", r'{"\udc00name": "x"}')),
        400,
        "BAD_USER_INPUT",
        r"variables.i.properties.\udc00name",
        says="surrogate",
    ),
    Case(
        "object label with a lone surrogate",
        "graphql variables",
        variables(
            CREATE_OBJECT,
            r'{"i": {"key": "pet", "labels": {"singular": "P\ud800", "plural": "Ps"}}}',
        ),
        400,
        "BAD_USER_INPUT",
        "variables.i.labels.singular",
        says="surrogate",
    ),
    Case(
        "association description with a lone surrogate",
        "graphql variables",
        variables(
            CREATE_ASSOCIATION,
            '{"i": {"key": "pal", "firstObjectKey": "contact", "secondObjectKey": "contact",'
            r' "firstObjectLabel": "Pal", "description": "\udfff"}}',
        ),
        400,
        "BAD_USER_INPUT",
        "variables.i.description",
        says="surrogate",
    ),
    Case(
        "association key with a lone surrogate",
        "graphql variables",
        variables(
            CREATE_ASSOCIATION,
            r'{"i": {"key": "pal\ud800", "firstObjectKey": "contact",'
            ' "secondObjectKey": "contact", "firstObjectLabel": "Pal"}}',
        ),
        400,
        "BAD_USER_INPUT",
        "variables.i.key",
        says="surrogate",
    ),
    Case(
        "records(query:) with a lone surrogate",
        "graphql variables",
        variables(SEARCH, r'{"q": "Ada\ud800"}'),
        400,
        "BAD_USER_INPUT",
        "variables.q",
        says="surrogate",
    ),
    Case(
        "relations(associationKey:) with a lone surrogate",
        "graphql variables",
        variables(RELATED, r'{"k": "\ud800"}'),
        400,
        "BAD_USER_INPUT",
        "variables.k",
        says="surrogate",
    ),
    Case(
        "relations(associationKey:) with NUL",
        "graphql variables",
        variables(RELATED, r'{"k": "partner\u0000"}'),
        400,
        "BAD_USER_INPUT",
        "variables.k",
        says="NUL",
    ),
    Case(
        "relations(associationKey:) with NUL, standard execution",
        "graphql variables",
        variables(RELATED, r'{"k": "partner\u0000"}', STANDARD),
        400,
        "BAD_USER_INPUT",
        "variables.k",
        says="NUL",
    ),
    Case(
        "integer beyond 64 bits in properties",
        "graphql variables",
        variables(CREATE_RECORD, record_input("contact", '{"n": ' + BIG + "}")),
        400,
        "BAD_USER_INPUT",
        "variables.i.properties.n",
        says="64-bit",
    ),
    Case(
        "JSON number 1e400 as monetaryValue",
        "graphql variables",
        variables(CREATE_RECORD, record_input("opportunity", '{"monetaryValue": 1e400}')),
        400,
        "BAD_USER_INPUT",
        "variables.i.properties.monetaryValue",
        says="finite",
    ),
    Case(
        "NaN constant in properties",
        "graphql variables",
        variables(CREATE_RECORD, record_input("contact", '{"n": NaN}')),
        400,
        "BAD_USER_INPUT",
        "variables.i.properties.n",
        says="finite",
    ),
    Case(
        'monetaryValue "NaN"',
        "graphql variables",
        variables(CREATE_RECORD, record_input("opportunity", '{"monetaryValue": "NaN"}')),
        200,
        "BAD_USER_INPUT",
        "properties.monetaryValue",
        says="finite",
    ),
    Case(
        'monetaryValue "-Infinity"',
        "graphql variables",
        variables(CREATE_RECORD, record_input("opportunity", '{"monetaryValue": "-Infinity"}')),
        200,
        "BAD_USER_INPUT",
        "properties.monetaryValue",
        says="finite",
    ),
    Case(
        'monetaryValue "1e400"',
        "graphql variables",
        variables(CREATE_RECORD, record_input("opportunity", '{"monetaryValue": "1e400"}')),
        200,
        "BAD_USER_INPUT",
        "properties.monetaryValue",
        says="finite",
    ),
    Case(
        'updateRecord to monetaryValue "nan"',
        "graphql variables",
        variables(
            UPDATE_RECORD, '{"i": {"id": "@OPPORTUNITY@", "properties": {"monetaryValue": "nan"}}}'
        ),
        200,
        "BAD_USER_INPUT",
        "properties.monetaryValue",
        says="finite",
    ),
    # Documents nested deeper than a parser may recurse, each within the token limit
    Case(
        "selections nested 1,600 deep",
        "graphql document",
        literal("{" + "a{" * 1_600 + "b" + "}" * 1_600 + "}"),
        200,
        "BAD_USER_INPUT",
        says="nested too deeply",
    ),
    Case(
        "list literal nested 1,600 deep",
        "graphql document",
        literal("{ record(id: " + "[" * 1_600 + '"x"' + "]" * 1_600 + ") { id } }"),
        200,
        "BAD_USER_INPUT",
        says="nested too deeply",
    ),
    Case(
        "object literal nested 1,600 deep",
        "graphql document",
        literal("{ record(id: " + "{a: " * 1_600 + "1" + "}" * 1_600 + ") { id } }"),
        200,
        "BAD_USER_INPUT",
        says="nested too deeply",
    ),
    # GraphQL literals in the document
    Case(
        "relations(associationKey:) NUL literal",
        "graphql literal",
        literal(related_literal(r'"partner\u0000"')),
        200,
        "BAD_USER_INPUT",
        "associationKey",
        says="NUL",
    ),
    Case(
        "relations(associationKey:) NUL literal, standard execution",
        "graphql literal",
        literal(related_literal(r'"partner\u0000"'), STANDARD),
        200,
        "BAD_USER_INPUT",
        "associationKey",
        says="NUL",
    ),
    Case(
        "relations(associationKey:) NUL as a braced escape",
        "graphql literal",
        literal(related_literal(r'"partner\u{0}"')),
        200,
        "BAD_USER_INPUT",
        "associationKey",
        says="NUL",
    ),
    Case(
        "raw NUL character in the query text",
        "graphql body",
        literal(related_literal('"""partner\x00"""')),
        400,
        "BAD_USER_INPUT",
        "query",
        says="NUL",
    ),
    Case(
        "integer beyond 64 bits in a properties literal",
        "graphql literal",
        literal(
            'mutation { createRecord(input: {objectKey: "contact", properties: {n: ' + BIG + "}})"
            " { id } }"
        ),
        200,
        "BAD_USER_INPUT",
        "input.properties.n",
        says="64-bit",
    ),
    Case(
        "lone surrogate escape in a literal",
        "graphql literal",
        literal('{ records(objectKey: "contact", query: "\\ud800") { totalCount } }'),
        200,
        "BAD_USER_INPUT",
        says="Invalid Unicode escape",
    ),
    # GraphQL over GET
    Case(
        "GET variables with a lone surrogate",
        "graphql GET",
        get(SEARCH, r'{"q": "\ud800"}'),
        400,
        "BAD_USER_INPUT",
        "variables.q",
        says="surrogate",
    ),
    Case(
        "GET variables with an integer beyond 64 bits",
        "graphql GET",
        get(
            'query($n: Int) { records(objectKey: "contact", first: $n) { totalCount } }',
            '{"n": ' + BIG + "}",
        ),
        400,
        "BAD_USER_INPUT",
        "variables.n",
        says="64-bit",
    ),
    Case(
        "GET variables nested 1000 deep",
        "graphql GET",
        get("{ viewer { role } }", '{"x": ' + DEEP + "}"),
        400,
        "BAD_USER_INPUT",
        says="nested",
    ),
    Case(
        "GET query text with NUL",
        "graphql GET",
        get("{ viewer { role } }\x00"),
        400,
        "BAD_USER_INPUT",
        "query",
        says="NUL",
    ),
    # The GraphQL body itself
    Case(
        "body nested 1000 deep",
        "graphql body",
        Req(body=b'{"query": "{ viewer { role } }", "variables": {"x": ' + DEEP.encode() + b"}}"),
        400,
        "BAD_USER_INPUT",
        says="nested",
    ),
    Case(
        "body nested 100000 deep",
        "graphql body",
        Req(body=b'{"query": "{ viewer { role } }", "x": ' + VERY_DEEP.encode() + b"}"),
        400,
        "BAD_USER_INPUT",
        says="nested",
    ),
    Case(
        "body not UTF-8",
        "graphql body",
        Req(body=b'{"query": "{ viewer { role } }", "variables": {"x": "\xff\xfe"}}'),
        400,
        "BAD_USER_INPUT",
        "body",
        says="UTF-8",
    ),
    Case(
        "chunked body over 1 MB",
        "graphql body",
        Req(body=OVER_A_MEGABYTE, chunked=True),
        413,
        "BAD_USER_INPUT",
        "body",
        says="larger than",
    ),
    # REST bodies
    Case(
        "REST body nested 1000 deep",
        "REST body",
        rest("POST", "/objects/contact/records", '{"properties": {}, "x": ' + DEEP + "}"),
        400,
        "BAD_USER_INPUT",
        says="nested",
    ),
    Case(
        "REST body not UTF-8",
        "REST body",
        rest("POST", "/objects/contact/records", b'{"properties": {"name": "\xc3\x28"}}'),
        400,
        "BAD_USER_INPUT",
        "body",
        says="UTF-8",
    ),
    Case(
        "REST properties value with a lone surrogate",
        "REST body",
        rest("POST", "/objects/contact/records", r'{"properties": {"firstName": "\ud800"}}'),
        400,
        "BAD_USER_INPUT",
        "properties.firstName",
        says="surrogate",
    ),
    Case(
        "REST integer beyond 64 bits in properties",
        "REST body",
        rest("POST", "/objects/contact/records", '{"properties": {"n": ' + BIG + "}}"),
        400,
        "BAD_USER_INPUT",
        "properties.n",
        says="64-bit",
    ),
    Case(
        "REST negative integer beyond 64 bits in properties",
        "REST body",
        rest("POST", "/objects/contact/records", '{"properties": {"n": -' + BIG + "}}"),
        400,
        "BAD_USER_INPUT",
        "properties.n",
        says="64-bit",
    ),
    Case(
        'REST monetaryValue "NaN"',
        "REST body",
        rest("POST", "/objects/opportunity/records", '{"properties": {"monetaryValue": "NaN"}}'),
        400,
        "BAD_USER_INPUT",
        "properties.monetaryValue",
        says="finite",
    ),
    Case(
        "REST chunked body over 1 MB",
        "REST body",
        rest("POST", "/objects/contact/records", OVER_A_MEGABYTE, chunked=True),
        413,
        "BAD_USER_INPUT",
        "body",
        says="larger than",
    ),
    # REST query and path parameters
    Case(
        "REST associationIds with no ids",
        "REST query",
        rest("GET", "/associations/relations/@CONTACT@", params={"associationIds": ",,,"}),
        400,
        "BAD_USER_INPUT",
        "associationIds",
        says="names nothing",
    ),
    Case(
        "REST query parameter with NUL",
        "REST query",
        rest("GET", "/objects/", params={"note": "a\x00b"}),
        400,
        "BAD_USER_INPUT",
        "note",
        says="NUL",
    ),
    # The Authorization header
    Case(
        "GraphQL token whose location decodes to NUL",
        "header",
        Req(body=orjson.dumps({"query": "{ viewer { role } }"}), token=NUL_TOKEN),
        401,
        "UNAUTHENTICATED",
        says="not valid",
    ),
    Case(
        "REST token whose location decodes to NUL",
        "header",
        rest("GET", "/objects/", token=NUL_TOKEN),
        401,
        "UNAUTHENTICATED",
        says="not valid",
    ),
]

SNAPSHOT = """{
  objectSchemas { key }
  associations { key relationCount }
  contacts: records(objectKey: "contact") { totalCount edges { node { properties } } }
  opportunities: records(objectKey: "opportunity") { totalCount edges { node { properties } } }
}"""


@dataclass
class World:
    client: httpx.AsyncClient
    location: str
    token: str
    ids: dict[str, str]

    def fill(self, text: str) -> str:
        for marker, value in self.ids.items():
            text = text.replace(marker, value)
        return text

    async def snapshot(self) -> Any:
        r = await self.client.post(
            "/graphql", json={"query": SNAPSHOT}, headers={"authorization": f"Bearer {self.token}"}
        )
        assert r.status_code == 200 and not r.json().get("errors"), r.text
        return r.json()["data"]


@pytest.fixture
async def world(client, tenant) -> World:  # type: ignore[no-untyped-def]
    contact = await tenant.admin.create_record("contact", firstName="Ada")
    opportunity = await tenant.admin.create_record("opportunity", name="Deal", monetaryValue=5)
    association = await tenant.admin.create_association(
        key="partner",
        firstObjectKey="contact",
        secondObjectKey="opportunity",
        firstObjectLabel="Buyer",
        secondObjectLabel="Deal",
    )
    linked = await tenant.admin.link(association["id"], contact, opportunity)
    assert linked.status == 200 and not linked.body.get("errors"), linked.body
    ids = {"@CONTACT@": contact, "@OPPORTUNITY@": opportunity}
    return World(client, tenant.location, tenant.admin_token, ids)


async def send(world: World, req: Req) -> httpx.Response:
    headers = {"authorization": f"Bearer {req.token or world.token}", **req.headers}
    if not req.path.startswith("/graphql"):
        headers["version"] = VERSION
    if req.body is not None:
        headers["content-type"] = "application/json"
    content: Any = None
    if req.body is not None:
        body = world.fill(req.body.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )
        content = _chunks(body) if req.chunked else body
    params = {k: world.fill(v) for k, v in (req.params or {}).items()}
    return await world.client.request(
        req.method, world.fill(req.path), content=content, params=params, headers=headers
    )


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(body), 64_000):
        yield body[i : i + 64_000]


def refusal(r: httpx.Response, graphql: bool) -> tuple[int, str, str, str | None]:
    """(status, code, message, field) of the response, in either error shape."""
    assert r.headers["content-type"].startswith("application/json"), r.text[:300]
    body = r.json()
    if graphql:
        assert body.get("data") is None, body
        error = body["errors"][0]
        extensions = error.get("extensions", {})
        return r.status_code, extensions.get("code"), error["message"], extensions.get("field")
    assert body.get("statusCode") == r.status_code and body.get("error"), (r.status_code, body)
    return r.status_code, body["code"], body["message"], (body.get("details") or {}).get("field")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_malformed_input_is_a_typed_client_error(world, caplog, case):  # type: ignore[no-untyped-def]
    before = await world.snapshot()
    with caplog.at_level(logging.INFO):
        r = await send(world, case.req)
    status, code, message, field_ = refusal(r, case.req.path.startswith("/graphql"))
    assert (status, code) == (case.status, case.code), (case.via, r.text[:500])
    assert message and message != "Internal server error", message
    assert "Traceback" not in r.text and 'File "' not in r.text
    if case.field is not None:
        assert field_ == case.field, (message, field_)
    assert case.says.lower() in message.lower(), message
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert not errors, [rec.getMessage() for rec in errors]
    assert await world.snapshot() == before


# Outside the table: what the table cannot say in one row.


async def test_both_execution_paths_agree_on_a_stored_non_finite_monetary_value(world, db, client):  # type: ignore[no-untyped-def]
    """A non-finite monetaryValue can no longer be written, but rows written before may hold
    one: both paths answer null for it, and a finite value, the same way."""
    query = "query($id: ID!) { record(id: $id) { ... on Opportunity { monetaryValue } } }"
    headers = {"authorization": f"Bearer {world.token}"}

    async def both() -> list[Any]:
        out = []
        for extra in ({}, STANDARD):
            r = await client.post(
                "/graphql",
                json={"query": query, "variables": {"id": world.ids["@OPPORTUNITY@"]}},
                headers={**headers, **extra},
            )
            out.append(r.json())
        return out

    fast, standard = await both()
    assert fast == standard == {"data": {"record": {"monetaryValue": 5.0}}}
    for stored in ("NaN", "Infinity", "-1e400"):
        await db.execute(
            "update records set properties = jsonb_build_object('monetaryValue', $2::text)"
            " where location_id = $1 and object_key = 'opportunity'",
            world.location,
            stored,
        )
        fast, standard = await both()
        assert fast == standard == {"data": {"record": {"monetaryValue": None}}}, stored


async def test_association_ids_comma_and_repeated_forms_still_filter(world):  # type: ignore[no-untyped-def]
    headers = {"authorization": f"Bearer {world.token}", "version": VERSION}
    path = f"/associations/relations/{world.ids['@CONTACT@']}"
    listed = await world.client.get(path, headers=headers)
    assert listed.status_code == 200, listed.text
    association_id = listed.json()["relations"][0]["associationId"]
    for params in (
        {"associationIds": f"{association_id},"},
        [("associationIds", association_id), ("associationIds", association_id)],
    ):
        r = await world.client.get(path, params=params, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 1


async def test_json_depth_bound_is_configurable(db, tenant, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELATA_MAX_JSON_DEPTH", "7")
    assert Settings.from_env().max_json_depth == 7
    monkeypatch.delenv("RELATA_MAX_JSON_DEPTH")
    assert Settings.from_env().max_json_depth == Settings().max_json_depth == 64
    headers = {"authorization": f"Bearer {tenant.user_token}"}
    async with client_with(db, max_json_depth=4) as client:
        ok = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }", "variables": {"a": {"b": 1}}},
            headers=headers,
        )
        assert ok.status_code == 200 and ok.json()["data"]["viewer"]["role"] == "USER"
        deep = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }", "variables": {"a": {"b": {"c": {"d": 1}}}}},
            headers=headers,
        )
        assert deep.status_code == 400, deep.text
        error = deep.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "RELATA_MAX_JSON_DEPTH" in error["message"]
        rest = await client.post(
            "/objects/contact/records",
            json={"properties": {"a": {"b": {"c": {"d": 1}}}}},
            headers={**headers, "version": VERSION},
        )
        assert rest.status_code == 400 and "RELATA_MAX_JSON_DEPTH" in rest.json()["message"]


@pytest.mark.parametrize(
    ("path", "extra_headers"),
    [("/graphql", {}), ("/objects/contact/records", {"version": VERSION})],
)
async def test_client_disconnect_mid_body_is_quiet(app, tenant, caplog, path, extra_headers):  # type: ignore[no-untyped-def]
    """The client goes away after the first chunk: no traceback, no 500 in the access log, one
    info line saying the client disconnected."""
    headers = {
        "authorization": f"Bearer {tenant.admin_token}",
        "content-type": "application/json",
        **extra_headers,
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("relata.test", 80),
    }
    messages = [
        {"type": "http.request", "body": b'{"query": "{ viewer', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # pragma: no cover - nothing more ever arrives
        raise AssertionError

    async def send_(message: dict[str, Any]) -> None:
        sent.append(message)

    caplog.set_level(logging.DEBUG)
    await app(scope, receive, send_)
    assert not any(rec.exc_info for rec in caplog.records), caplog.text
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING], caplog.text
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert all(m["status"] < 500 for m in starts), starts
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "relata.access"]
    assert [line["status"] for line in access] == [499]
    assert "disconnect" in caplog.text.lower()
