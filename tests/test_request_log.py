"""Structured request logs: one JSON line per request with request id, location, operation,
status and timing; never a token."""

from __future__ import annotations

import datetime
import io
import json
import logging
import re
import time

from app.request_log import ACCESS_LOGGER, configure_access_log


def access_lines(caplog) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]


async def test_request_line_has_the_fields_and_no_token(client, tenant, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, every level: the token must appear nowhere
    r = await client.post(
        "/graphql",
        json={"query": "query WhoAmI { viewer { role } }", "operationName": "WhoAmI"},
        headers={"authorization": f"Bearer {tenant.admin_token}", "x-request-id": "req-123"},
    )
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "req-123"
    (line,) = access_lines(caplog)
    assert line["requestId"] == "req-123"
    assert line["location"] == tenant.location
    assert line["operationName"] == "WhoAmI"
    assert line["operationType"] == "query"
    assert line["status"] == 200
    assert line["method"] == "POST" and line["path"] == "/graphql"
    assert isinstance(line["durationMs"], float) and line["durationMs"] >= 0
    assert line["tokenId"] and line["tokenId"] not in tenant.admin_token
    secret = tenant.admin_token.split(".")[-1]
    assert tenant.admin_token not in caplog.text and secret not in caplog.text


async def test_failures_are_logged_without_the_token(client, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    bad = tenant.user_token[:-4] + "AAAA"
    r = await client.post(
        "/graphql",
        json={"query": "{ viewer { role } }"},
        headers={"authorization": f"Bearer {bad}"},
    )
    assert r.status_code == 401
    r = await client.post(
        "/graphql",
        json={"query": 'mutation M { deleteRecord(id: "nope") { deletedId } }'},
        headers={"authorization": f"Bearer {tenant.user_token}", "x-request-id": "bad id!"},
    )
    assert r.status_code == 200
    first, second = access_lines(caplog)
    assert first["status"] == 401 and first["location"] is None
    assert second["operationName"] == "M" and second["operationType"] == "mutation"
    assert second["requestId"] != "bad id!" and len(second["requestId"]) == 32  # replaced
    for token in (bad, tenant.user_token):
        assert token not in caplog.text
        assert token.split(".")[-1] not in caplog.text


async def test_anonymous_operation_and_non_graphql_paths(client, tenant, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    await client.post(
        "/graphql",
        json={"query": "{ viewer { role } }"},
        headers={"authorization": f"Bearer {tenant.user_token}"},
    )
    await client.get("/healthz")
    gql, health = access_lines(caplog)
    assert gql["operationName"] is None and gql["operationType"] == "query"
    assert health["path"] == "/healthz" and health["location"] is None


def test_configured_handler_writes_bare_json_lines():
    stream = io.StringIO()
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = (logger.handlers[:], logger.propagate, logger.level)
    try:
        configure_access_log(stream)
        logger.info(json.dumps({"event": "request", "status": 200}))
        assert json.loads(stream.getvalue().strip()) == {"event": "request", "status": 200}
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


async def test_configured_lines_go_to_the_stream_and_back_to_logging_when_replaced(
    client, tenant, caplog
):
    stream = io.StringIO()
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = (logger.handlers[:], logger.propagate, logger.level)
    try:
        configure_access_log(stream)
        await client.get("/healthz")
        (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
        assert line["path"] == "/healthz" and line["status"] == 200
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line["ts"]), line["ts"]
        assert (
            abs(
                datetime.datetime.strptime(line["ts"], "%Y-%m-%dT%H:%M:%SZ")
                .replace(tzinfo=datetime.UTC)
                .timestamp()
                - time.time()
            )
            < 5
        )
        # Another handler in its place (a test's capture, an operator's config): logging again.
        logger.handlers[:] = saved[0]
        logger.propagate = True
        caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
        await client.get("/readyz")
        assert [x["path"] for x in access_lines(caplog)] == ["/readyz"]
        assert len(stream.getvalue().splitlines()) == 1
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
