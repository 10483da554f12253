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
from app.rest import ROUTES
from app.rest.openapi import OPENAPI
from app.web import create_app
from tests.rest_support import admin

# Per operation and mode (valid, invalid). A long run (SECURITY.md):
# RELATA_REST_FUZZ_EXAMPLES=100 .venv/bin/pytest -q -s tests/test_rest_openapi.py -k schemathesis
EXAMPLES_PER_OPERATION = int(os.environ.get("RELATA_REST_FUZZ_EXAMPLES", "25"))


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


async def test_openapi_describes_every_route(client):
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    served = r.json()
    assert served == OPENAPI
    described = {
        (method.upper(), _shape(path)) for path, item in served["paths"].items() for method in item
    }
    routed = {(method, _shape(path)) for method, path, _ in ROUTES}
    assert described == routed
    for path, item in served["paths"].items():
        for method, op in item.items():
            assert op["parameters"][0] == {"$ref": "#/components/parameters/Version"}
            if method in ("post", "put"):
                assert "requestBody" in op, (method, path)
            names = set(re.findall(r"\{([^}]+)\}", path))
            declared = {p["name"] for p in op["parameters"] if p.get("in") == "path"}
            assert names == declared, (method, path)


def test_openapi_query_parameters_are_the_ones_served():
    """A query parameter is described exactly when its route takes it (others are refused)."""
    from app.rest.base import COMMON_QUERY

    handlers = {(method, _shape(path)): handler for method, path, handler in ROUTES}
    for path, item in OPENAPI["paths"].items():
        for method, op in item.items():
            handler = handlers[method.upper(), _shape(path)]
            taken = COMMON_QUERY | getattr(handler, "query_params", frozenset())
            described = {p["name"] for p in op["parameters"] if p.get("in") == "query"}
            assert described <= taken, (method, path, described - taken)
            assert getattr(handler, "query_params", frozenset()) <= described, (method, path)


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
    api = admin(tenant)
    await api.create_object("pet", "Pet", "Pets")
    pet = await api.create_record("pet", name="Rex")
    owner = await api.create_record("contact", firstName="Ann")
    association = await api.create_association(
        key="pet_owner", firstObjectKey="pet", secondObjectKey="contact"
    )
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
