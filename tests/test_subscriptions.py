"""Live updates against a real `relata serve`: the gql client over graphql-transport-ws
(subscribe, write from this process, receive, disconnect, write more, resume with `after`:
exactly the missed events, then live ones), record and relation filters with their labels,
authentication at connection_init, typed errors over WebSocket and SSE, revocation, the bounds
per connection and per location, tenant walls, and GraphQL over SSE with httpx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from gql.transport.exceptions import TransportQueryError

from app.services.events import prune
from app.services.tokens import revoke_token
from tests.live_support import (
    EVENTS,
    RECORD_CHANGED,
    RELATION_EVENTS,
    Place,
    RawSocket,
    gql_client,
    place,
    quiet,
    request,
    sse,
    take,
)
from tests.test_failures import Served, serve, stop_process

RECORD_READ = "objects/record.readonly"
RELATION_READ = "associations/relation.readonly"


@pytest.fixture(scope="module")
async def served(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    server = await serve(
        pg_dsn,
        tmp_path_factory.mktemp("live"),
        RELATA_SUBSCRIPTION_AUTH_INTERVAL="0.5",
        RELATA_SUBSCRIPTIONS_PER_CONNECTION="3",
        RELATA_SUBSCRIPTIONS_PER_LOCATION="5",
        RELATA_MAX_RESPONSE_BYTES="2000000",
        RELATA_WEBHOOK_WORKER="0",
    )
    yield server
    stop_process(server)


def positions(results: list[dict[str, Any]], field: str = "events") -> list[int]:
    return [int(r[field]["position"]) for r in results]


async def test_gql_resumes_after_a_disconnect_with_exactly_the_missed_events(db, served):
    p = await place(db, served)
    async with gql_client(served, p.token) as session:
        stream = session.subscribe(request(EVENTS, after="0"))
        first = asyncio.create_task(take(stream, 2))
        await asyncio.sleep(0.3)
        a = await p.contact("Ada")
        b = await p.contact("Bo")
        got = await first
        assert positions(got) == [1, 2]
        assert [r["events"]["recordId"] for r in got] == [a, b]
        assert {r["events"]["type"] for r in got} == {"RECORD_CREATE"}
    # Disconnected: three more changes happen meanwhile.
    await p.update(a, lastName="Lovelace")
    await p.update(b, lastName="Diddley")
    c = await p.contact("Cy")
    async with gql_client(served, p.token) as session:
        stream = session.subscribe(request(EVENTS, after="2"))
        missed = await take(stream, 3)
        assert positions(missed) == [3, 4, 5]
        assert [r["events"]["type"] for r in missed] == [
            "RECORD_UPDATE",
            "RECORD_UPDATE",
            "RECORD_CREATE",
        ]
        assert missed[0]["events"]["data"]["properties"] == {
            "firstName": "Ada",
            "lastName": "Lovelace",
        }
        live = asyncio.create_task(take(stream, 1))
        await p.update(c, lastName="Young")
        assert positions(await live) == [6]
        assert await quiet(stream, 0.5) == []  # no duplicate of anything replayed


async def test_a_subscription_without_after_starts_with_the_next_change(db, served):
    p = await place(db, served)
    await p.contact("Before")
    async with gql_client(served, p.token) as session:
        stream = session.subscribe(request(EVENTS))
        got: list[Any] = []

        async def collect() -> None:
            async for r in stream:
                got.append(r)

        task = asyncio.create_task(collect())
        # Keep writing until the subscription is in place; what it sees is gap-free.
        for i in range(100):
            await p.contact(f"c{i}")
            await asyncio.sleep(0.05)
            if got:
                break
        last = await p.contact("last")
        for _ in range(200):
            if got[-1]["events"]["recordId"] == last:
                break
            await asyncio.sleep(0.05)  # noqa: ASYNC110 - polling what another task collects
        task.cancel()
        seen = positions(got)
        assert seen[0] > 1  # not the change before it subscribed
        assert seen == list(range(seen[0], seen[0] + len(seen)))


async def association(p: Place, key: str, first: str, second: str, *labels: str) -> str:
    data = await p.gql(
        "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) { id } }",
        {
            "i": {
                "key": key,
                "firstObjectKey": first,
                "secondObjectKey": second,
                "firstObjectLabel": labels[0],
                **({"secondObjectLabel": labels[1]} if len(labels) > 1 else {}),
            }
        },
    )
    return str(data["createAssociation"]["id"])


async def company(p: Place, name: str) -> str:
    data = await p.gql(
        "mutation($p: JSON!) {"
        ' createRecord(input: {objectKey: "company", properties: $p}) { id } }',
        {"p": {"name": name}},
    )
    return str(data["createRecord"]["id"])


async def link(p: Place, association_id: str, first: str, second: str) -> str:
    data = await p.gql(
        "mutation($i: CreateRelationInput!) { createRelation(input: $i) { id } }",
        {"i": {"associationId": association_id, "firstRecordId": first, "secondRecordId": second}},
    )
    return str(data["createRelation"]["id"])


async def unlink(p: Place, relation_id: str) -> None:
    await p.gql(
        "mutation($id: ID!) { deleteRelation(id: $id) { __typename } }", {"id": relation_id}
    )


async def test_record_changed_delivers_the_record_and_its_relations_with_labels(db, served):
    p = await place(db, served)
    works = await association(p, "works_at", "contact", "company", "Employee", "Employer")
    ann, other = await p.contact("Ann"), await p.contact("Other")
    acme = await company(p, "Acme")
    reader = await p.token_for(db, "user", [RECORD_READ])
    async with gql_client(served, p.token) as full, gql_client(served, reader) as records_only:
        mine = full.subscribe(request(RECORD_CHANGED, id=ann))
        only_record = records_only.subscribe(request(RECORD_CHANGED, id=ann))
        got = asyncio.create_task(take(mine, 3))
        got_records = asyncio.create_task(take(only_record, 1))
        await asyncio.sleep(0.5)
        await p.update(other, lastName="Elsewhere")  # another record: not delivered
        relation = await link(p, works, ann, acme)
        await p.update(ann, lastName="Lee")
        await unlink(p, relation)
        events = [r["recordChanged"] for r in await got]
        assert [e["type"] for e in events] == [
            "RELATION_CREATE",
            "RECORD_UPDATE",
            "RELATION_DELETE",
        ]
        assert events[0]["relationId"] == relation
        assert (events[0]["firstRecordId"], events[0]["secondRecordId"]) == (ann, acme)
        assert (events[0]["firstObjectLabel"], events[0]["secondObjectLabel"]) == (
            "Employee",
            "Employer",
        )
        assert events[0]["associationKey"] == "works_at"
        # Without the relation scope: the record's own change only.
        assert [r["recordChanged"]["type"] for r in await got_records] == ["RECORD_UPDATE"]
        assert await quiet(only_record, 0.3) == []
        # Resuming from before the link replays the same three, in order.
        replayed = await take(full.subscribe(request(RECORD_CHANGED, id=ann, after="0")), 4)
        assert [r["recordChanged"]["type"] for r in replayed] == [
            "RECORD_CREATE",
            "RELATION_CREATE",
            "RECORD_UPDATE",
            "RELATION_DELETE",
        ]


async def test_relation_events_filter_by_association_and_object(db, served):
    p = await place(db, served)
    works = await association(p, "works_at", "contact", "company", "Employee", "Employer")
    peers = await association(p, "peer", "contact", "contact", "Colleague")
    ann, bo = await p.contact("Ann"), await p.contact("Bo")
    acme = await company(p, "Acme")
    reader = await p.token_for(db, "user", [RELATION_READ])
    async with gql_client(served, reader) as session:
        by_key = session.subscribe(request(RELATION_EVENTS, a="peer"))
        by_object = session.subscribe(request(RELATION_EVENTS, o="company"))
        keyed = asyncio.create_task(take(by_key, 1))
        objects = asyncio.create_task(take(by_object, 1))
        await asyncio.sleep(0.5)
        await link(p, works, ann, acme)
        await link(p, peers, ann, bo)
        assert [r["relationEvents"]["associationKey"] for r in await keyed] == ["peer"]
        assert [r["relationEvents"]["associationKey"] for r in await objects] == ["works_at"]
        assert await quiet(by_key, 0.3) == []
    # Without the relation scope: FORBIDDEN.
    records = await p.token_for(db, "user", [RECORD_READ])
    async with gql_client(served, records) as session:
        with pytest.raises(TransportQueryError) as refused:
            await take(session.subscribe(request(RELATION_EVENTS)), 1)
        assert refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"  # type: ignore[index]


@pytest.mark.parametrize(
    "payload",
    [
        lambda t: {"Authorization": f"Bearer {t}"},
        lambda t: {"authorization": f"Bearer {t}"},
        lambda t: {"token": t},
    ],
    ids=["Authorization", "authorization", "token"],
)
async def test_connection_init_accepts_the_token_as_clients_send_it(db, served, payload):
    p = await place(db, served)
    async with RawSocket(served) as ws:
        assert await ws.init(payload(p.token)) == {"type": "connection_ack"}


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ({}, "missing token"),
        (
            {"Authorization": "Bearer rlt.bm9wZQ.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
            "unknown or revoked",
        ),
        ({"Authorization": "Basic abc"}, "Bearer"),
        ({"token": "not-a-token"}, "not valid"),
    ],
)
async def test_connection_init_refuses_a_bad_token_with_4403(served, payload, why):
    async with RawSocket(served) as ws:
        await ws.send({"type": "connection_init", "payload": payload})
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
    assert closed.value.rcvd.reason.startswith("UNAUTHENTICATED: ")
    assert why in closed.value.rcvd.reason


async def test_subscribe_before_connection_init_is_4401(served):
    async with RawSocket(served) as ws:
        await ws.subscribe("1", EVENTS)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


BIG = "subscription { events { " + " ".join(f"d{i}: data" for i in range(10)) + " } }"
ALIASES = "subscription { events { " + " ".join(f"p{i}: position" for i in range(60)) + " } }"


@pytest.mark.parametrize(
    ("who", "query", "variables", "code", "extra"),
    [
        ("user", EVENTS, {}, "FORBIDDEN", {"role": "admin"}),
        ("admin", EVENTS, {"after": "abc"}, "BAD_USER_INPUT", {"field": "after"}),
        ("admin", RECORD_CHANGED, {"id": "nope"}, "BAD_USER_INPUT", {}),
        ("admin", RECORD_CHANGED, {"id": "rec_01a249bf59b873fd9feca8046a881c0b"}, "NOT_FOUND", {}),
        ("admin", "subscription { events { position ", {}, "BAD_USER_INPUT", {}),
        ("admin", "subscription { events { nope } }", {}, "BAD_USER_INPUT", {}),
        ("admin", ALIASES, {}, "BAD_USER_INPUT", {"limit": "aliases"}),
        ("admin", BIG, {}, "BAD_USER_INPUT", {"limit": "responseBytes"}),
    ],
    ids=[
        "forbidden",
        "bad-after",
        "bad-id",
        "not-found",
        "syntax",
        "unknown-field",
        "aliases",
        "cost",
    ],
)
async def test_errors_carry_the_http_codes_over_websocket_and_sse(
    db, served, who, query, variables, code, extra
):
    p = await place(db, served)
    token = p.token if who == "admin" else await p.token_for(db, "user")
    async with RawSocket(served) as ws:
        await ws.init({"Authorization": f"Bearer {token}"})
        await ws.subscribe("1", query, **variables)
        message = await ws.recv()
        assert message["type"] == "error", message
        assert message["id"] == "1"
        error = message["payload"][0]
        assert error["extensions"]["code"] == code, error
        assert extra.items() <= error["extensions"].items(), error
        # The connection stays usable.
        await ws.subscribe("2", "query { viewer { role } }")
        assert (await ws.recv())["payload"] == {"data": {"viewer": {"role": who.upper()}}}
    over_sse = [m async for m in sse(served, token, query, variables)]
    assert [e for e, _ in over_sse] == ["next", "complete"], over_sse
    assert over_sse[0][1]["errors"][0]["extensions"]["code"] == code, over_sse


async def test_resuming_after_pruned_events_is_bad_user_input(db, served):
    p = await place(db, served)
    for i in range(3):
        await p.contact(f"c{i}")
    await prune(db, older_than_days=0, location_id=p.location)
    async with RawSocket(served) as ws:
        await ws.init({"Authorization": f"Bearer {p.token}"})
        await ws.subscribe("1", EVENTS, after="1")
        message = await ws.recv()
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    assert "pruned" in message["payload"][0]["message"]


async def test_sse_streams_replay_then_live_events(db, served):
    p = await place(db, served)
    a = await p.contact("Ann")
    stream = sse(served, p.token, EVENTS, {"after": "0"})
    event, data = await asyncio.wait_for(anext(stream), 10)
    assert event == "next" and data["data"]["events"]["recordId"] == a
    b = await p.contact("Bo")
    event, data = await asyncio.wait_for(anext(stream), 10)
    assert event == "next" and data["data"]["events"]["recordId"] == b
    assert data["data"]["events"]["position"] == "2"
    await stream.aclose()


async def test_sse_without_a_token_is_401(served):
    [(kind, (status, body))] = [m async for m in sse(served, None, EVENTS)]
    assert (kind, status) == ("status", 401)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_revoked_token_ends_its_subscriptions_within_seconds(db, served):
    p = await place(db, served)
    token = await p.token_for(db, "admin")
    stream = sse(served, token, EVENTS, {"after": "0"})
    await p.contact("x")
    assert (await asyncio.wait_for(anext(stream), 10))[0] == "next"
    async with RawSocket(served) as ws:
        await ws.init({"Authorization": f"Bearer {token}"})
        await ws.subscribe("1", EVENTS)
        await asyncio.sleep(0.3)
        started = time.monotonic()
        assert await revoke_token(db, token)
        seen: list[dict[str, Any]] = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                seen.append(await ws.recv(10))
        elapsed = time.monotonic() - started
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert "revoked" in closed.value.rcvd.reason
    assert elapsed < 5, elapsed
    assert all(m["type"] == "error" for m in seen), seen
    rest = [m async for m in stream]
    assert rest[0][0] == "next"
    assert rest[0][1]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert rest[-1][0] == "complete"


async def test_subscriptions_are_bounded_per_connection_and_per_location(db, served):
    p = await place(db, served)
    async with RawSocket(served) as one, RawSocket(served) as two:
        for ws in (one, two):
            await ws.init({"Authorization": f"Bearer {p.token}"})
        for i in range(3):
            await one.subscribe(str(i), EVENTS)
        await one.subscribe("3", EVENTS)
        refused = await one.recv()
        assert refused["id"] == "3" and refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["limit"] == "subscriptionsPerConnection"
        assert refused["payload"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
        await two.subscribe("a", EVENTS)
        await two.subscribe("b", EVENTS)
        await asyncio.sleep(0.5)
        await two.subscribe("c", EVENTS)  # the location's sixth
        refused = await two.recv()
        assert refused["id"] == "c" and refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["limit"] == "subscriptionsPerLocation"
        assert refused["payload"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
        # Another location is not affected.
        q = await place(db, served)
        async with gql_client(served, q.token) as session:
            got = asyncio.create_task(take(session.subscribe(request(EVENTS, after="0")), 1))
            await q.contact("z")
            assert positions(await got) == [1]
        # Completing one frees its place.
        await two.send({"id": "a", "type": "complete"})
        await asyncio.sleep(0.3)
        await two.subscribe("d", EVENTS, after="0")
        await p.contact("y")
        message = await two.recv()
        while message["id"] != "d":  # "b" sees it too
            message = await two.recv()
        assert message["type"] == "next", message


async def test_tenant_walls(db, served):
    a, b = await place(db, served, "wall-a"), await place(db, served, "wall-b")
    theirs = await b.contact("Theirs")
    async with gql_client(served, a.token) as session:
        everything = session.subscribe(request(EVENTS, after="0"))
        got = asyncio.create_task(take(everything, 2))
        await b.contact("B1")
        mine = await a.contact("A1")
        await b.update(theirs, lastName="X")
        await a.update(mine, lastName="Y")
        events = [r["events"] for r in await got]
        assert [e["recordId"] for e in events] == [mine, mine]
        assert await quiet(everything, 0.5) == []
        # Another location's record is not found, as over HTTP.
        with pytest.raises(TransportQueryError) as refused:
            await take(session.subscribe(request(RECORD_CHANGED, id=theirs)), 1)
        assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"  # type: ignore[index]


CREATE_CONTACT = (
    'mutation($p: JSON!) { createRecord(input: {objectKey: "contact", properties: $p}) { id } }'
)


async def test_queries_and_mutations_run_over_the_socket_too(db, served):
    p = await place(db, served)
    async with gql_client(served, p.token) as session:
        created = await session.execute(request(CREATE_CONTACT, p={"firstName": "W"}))
        assert created["createRecord"]["id"].startswith("rec_")
        viewer = await session.execute(request("{ viewer { role } }"))
        assert viewer == {"viewer": {"role": "ADMIN"}}


async def test_a_token_over_its_rate_is_refused_over_the_socket_as_over_http(db, pg_dsn, tmp_path):
    """One rate-limit refusal everywhere: the same code, limitName, retryAfter and message as the
    HTTP 429 (app.ratelimit.rate_limited)."""
    limited = await serve(
        pg_dsn,
        tmp_path,
        RELATA_RATE_LIMIT_PER_SECOND="0.01",
        RELATA_RATE_LIMIT_BURST="1",
        RELATA_WEBHOOK_WORKER="0",
    )
    try:
        p = await place(db, limited)
        async with RawSocket(limited) as ws:
            await ws.init({"Authorization": f"Bearer {p.token}"})
            await ws.subscribe("1", EVENTS)  # the burst
            await ws.subscribe("2", EVENTS)
            refused = await ws.recv()
        assert refused["id"] == "2" and refused["type"] == "error", refused
        [error] = refused["payload"]
        assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
        assert error["extensions"]["limitName"] == "rateLimit"
        async with httpx.AsyncClient() as client:
            r = await client.post(
                limited.url + "/graphql",
                json={"query": "{ viewer { role } }"},
                headers={"authorization": f"Bearer {p.token}"},
            )
        assert r.status_code == 429
        over_http = r.json()["errors"][0]
        assert over_http["extensions"]["retryAfter"] == int(r.headers["retry-after"])
        assert error["extensions"].keys() == over_http["extensions"].keys()
        assert (
            error["message"].split("; retry after")[0]
            == over_http["message"].split("; retry after")[0]
        )
    finally:
        stop_process(limited)
