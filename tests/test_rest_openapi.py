"""/openapi.json describes every REST route, and a bounded Schemathesis run against it (a real
uvicorn server on its own thread and pool, a valid token and the Version header) finds no 500
and no response that contradicts the document."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.rest import ROUTES, doc, routes
from app.rest.base import Call
from app.rest.openapi import OPENAPI, documented_paths, schemas
from app.web import create_app
from tests.rest_support import Rest, admin, expect_error

# Per operation and mode (valid, invalid). A long run (SECURITY.md):
# RELATA_REST_FUZZ_EXAMPLES=100 .venv/bin/pytest -q -s tests/test_rest_openapi.py -k schemathesis
EXAMPLES_PER_OPERATION = int(os.environ.get("RELATA_REST_FUZZ_EXAMPLES", "25"))


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


async def test_openapi_is_generated_from_the_models_and_the_table(client):
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    served = r.json()
    assert served == OPENAPI
    # components.schemas are exactly what pydantic generates from the bodies and answers.
    assert served["components"]["schemas"] == schemas(ROUTES)[1]
    described = {
        (method.upper(), _shape(path)) for path, item in served["paths"].items() for method in item
    }
    assert described == {(op.method, _shape(op.path)) for op in ROUTES}
    assert len(ROUTES) == len(described), "two routes share a method and path"
    where = documented_paths(ROUTES)
    for op in ROUTES:
        item = served["paths"][where[op.path]][op.method.lower()]
        assert item["parameters"][0] == {"$ref": "#/components/parameters/Version"}
        assert ("requestBody" in item) == (op.body is not None), (op.method, op.path)
        names = set(re.findall(r"\{([^}]+)\}", where[op.path]))
        declared = {p["name"] for p in item["parameters"] if p.get("in") == "path"}
        assert names == declared, (op.method, op.path)
        # The query parameters described are the ones served (others are refused).
        query = {p["name"] for p in item["parameters"] if p.get("in") == "query"}
        assert query | {"locationId"} == op.query_names, (op.method, op.path)


def test_docs_rest_md_is_generated_and_names_only_served_routes():
    assert doc.main(["--check"]) == 0, "docs/rest.md is stale: run python -m app.rest.doc"
    # A doc path may name its parameters differently, or fill them in: match it as Starlette does.
    served = [(r.methods or set(), r.path_regex) for r in routes()]
    named = [
        (line, method, path)
        for line in doc.DOC.read_text(encoding="utf-8").splitlines()
        for method, path in re.findall(r"`(GET|POST|PUT|DELETE) (/[^`?\[ ]*)", line)
    ]
    assert len(named) > len(ROUTES)
    for line, method, path in named:
        if "not served" not in line:
            assert any(method in m and p.match(path) for m, p in served), line


def test_starlette_serves_the_table_and_nothing_else():
    served = {(m, r.path) for r in routes() for m in (r.methods or ()) if m != "HEAD"}
    twins = {
        (op.method, op.path.rstrip("/") if op.path.endswith("/") else op.path + "/")
        for op in ROUTES
    }
    table = {(op.method, op.path) for op in ROUTES}
    assert served == table | twins | {("GET", "/openapi.json")}
    app_paths = {getattr(r, "path", None) for r in create_app(Settings()).routes}
    assert {path for _, path in served} <= app_paths


def test_a_handler_reads_a_body_exactly_when_its_route_declares_one():
    # mypy checks a declared body against the handler's Call[...]; this catches the one case it
    # cannot: a handler expecting a body on a route that declares none.
    for op in ROUTES:
        call = typing.get_type_hints(op.handler)["call"]
        assert call == Call[op.body if op.body is not None else None], (op.method, op.path)


async def _pet_and_owner(tenant: Any) -> tuple[Rest, str, str, dict[str, Any]]:
    """A pet, a contact and an association between pets and contacts."""
    api = admin(tenant)
    await api.create_object("pet", "Pet", "Pets")
    pet = await api.create_record("pet", name="Rex")
    owner = await api.create_record("contact", firstName="Ann")
    association = await api.create_association(
        key="pet_owner", firstObjectKey="pet", secondObjectKey="contact"
    )
    return api, pet, owner, association


async def test_a_refused_body_answers_its_typed_400_and_changes_nothing(tenant):
    api, pet, owner, association = await _pet_and_owner(tenant)
    before = (await api.get("/associations/")).json()
    refused = [
        ("POST", "/associations/", {"key": 5, "firstObjectKey": "pet", "secondObjectKey": "x"},
         "key", "key must be a string"),
        ("POST", "/associations/", {"firstObjectKey": "pet", "secondObjectKey": "contact"},
         "key", "key is required"),
        ("PUT", f"/associations/{association['id']}", {"description": "x", "key": "other"},
         "key", "key cannot be changed"),
        ("POST", "/associations/relations/bulk",
         {"add": [{"associationId": association["id"], "firstRecordId": pet,
                   "secondRecordId": owner}], "remove": [7]},
         "remove[0]", "remove[0] must be a relation id"),
        ("POST", "/associations/relations/bulk", {"add": [{"associationId": association["id"]}]},
         "add[0].firstRecordId", "add[0].firstRecordId is required"),
        ("POST", "/contacts/", {"firstName": "Bo", "tags": ["x"]},
         "tags", "contact field 'tags' is not served"),
        ("POST", "/contacts/", {"firstName": "Bo", "customFields": [{"value": 1}]},
         "customFields[0]", "customFields[0] needs an id or key"),
        ("POST", "/objects/pet/records/search", {"pageLimit": 0}, "pageLimit",
         "pageLimit must be a positive integer"),
        ("POST", "/objects/pet/records/search", {"sort": [{"field": "color"}]}, "sort[0].field",
         "sort[0].field must be one of"),
        ("PUT", "/objects/pet", {"labels": {"singular": 3}}, "labels.singular",
         "labels.singular must be a string"),
        ("POST", "/objects/pet/records", {"properties": [1]}, "properties",
         "properties must be a JSON object"),
        ("PUT", f"/objects/pet/records/{pet}", {"properties": None}, "properties",
         "properties is required"),
    ]  # fmt: skip
    for method, path, body, where, message in refused:
        r = await api.call(method, path, json=body)
        error = expect_error(r, 400, "BAD_USER_INPUT")
        assert error["details"]["field"] == where, (path, body, error)
        assert error["message"].startswith(message), (path, body, error)
    assert (await api.get("/associations/")).json() == before
    relations = (await api.get(f"/associations/relations/{pet}")).json()
    assert relations["total"] == 0
    contacts = (await api.post("/contacts/search", {"query": "Bo"})).json()
    assert contacts["total"] == 0
    record = (await api.get(f"/objects/pet/records/{pet}")).json()["record"]
    assert record["properties"] == {"name": "Rex"}
    pet_object = (await api.get("/objects/pet")).json()["object"]
    assert pet_object["labels"] == {"singular": "Pet", "plural": "Pets"}


@pytest.fixture
def live_server(pg_dsn: str) -> Iterator[str]:
    app = create_app(
        Settings(pool_min=1, pool_max=4, max_body_bytes=1_000_000, rate_limit_per_second=0),
        dsn=pg_dsn,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


# Not `negative_data_rejection`: unknown body fields of some routes are ignored on purpose
# (HighLevel clients send extra ones), so "schema-violating" requests may rightly succeed.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Target:
    base_url: str
    headers: dict[str, str]
    location: str
    known: dict[str, str]  # real ids and keys, by path parameter name
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _run_operation(target: Target, operation: Any, mode: GenerationMode) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if mode is GenerationMode.POSITIVE:
            # Aim valid requests at this tenant, and half of them at its real data.
            if isinstance(case.body, dict) and "locationId" in case.body:
                case.body["locationId"] = target.location
            if case.query and "locationId" in case.query:
                case.query["locationId"] = target.location
            for name, value in (case.path_parameters or {}).items():
                if name in target.known and len(str(value)) % 2 == 0:
                    case.path_parameters[name] = target.known[name]
        response = case.call(base_url=target.base_url, headers=target.headers)
        code = response.status_code
        target.statuses[code] = target.statuses.get(code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=target.headers)

    try:
        run()
    except Exception as exc:  # noqa: BLE001 - collected, all reported at the end
        target.failures.append(f"{operation.label} [{mode}]: {exc}"[:3000])


def _fuzz(target: Target) -> None:
    """Every operation, valid and invalid data, a bounded number of examples each."""
    schema = schemathesis.openapi.from_dict(OPENAPI)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(target, operation, mode)


async def test_schemathesis_finds_no_server_error(tenant, live_server):
    api, pet, owner, association = await _pet_and_owner(tenant)
    relation = (await api.link(association["id"], pet, owner)).json()
    known = {
        "key": "pet",
        "objectKey": "contact",
        "recordId": pet,
        "associationId": association["id"],
        "id": relation["id"],
    }
    target = Target(
        base_url=live_server,
        headers={"Authorization": f"Bearer {tenant.admin_token}"},
        location=tenant.location,
        known=known,
    )
    started = time.monotonic()
    await asyncio.to_thread(_fuzz, target)
    print(
        f"schemathesis: {sum(target.statuses.values())} requests in"
        f" {time.monotonic() - started:.0f} s; statuses:",
        sorted(target.statuses.items()),
    )
    assert not target.failures, "\n\n".join(target.failures)
    # The run really ran, and got past validation into the services.
    statuses = target.statuses
    assert sum(statuses.values()) >= 200, statuses
    assert statuses.get(200, 0) + statuses.get(201, 0) > 0, statuses
    assert time.monotonic() - started < 150 * max(1, EXAMPLES_PER_OPERATION / 25)
