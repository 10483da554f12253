"""Webhooks end to end: registration over GraphQL and REST, and real deliveries by the worker to
a real receiver over HTTP (signatures checked with the `standardwebhooks` package), on the real
database: order per record, filters, retries and back-off, redirects and timeouts as failures,
isolation between endpoints, dead letters and redelivery, racing workers, a `relata serve`
killed with SIGKILL mid-delivery, tenant walls."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from app.config import Settings
from app.services.tokens import create_token
from app.web import create_app
from app.webhooks.worker import WebhookWorker
from db import Database
from db.database import _init_connection
from tests.conftest import Tenant, make_tenant
from tests.helpers import Api
from tests.rest_support import Rest
from tests.test_cli import ROOT, free_port
from tests.webhook_support import Receiver, reserve_port, until

# Fast clocks for the suite: short polls, a 1 s timeout, back-off from 0.1 s capped at 0.3 s.
FAST = dict(
    webhook_allow_private=True,
    webhook_poll_interval=0.05,
    webhook_timeout=1.0,
    webhook_lease=3.0,
    webhook_retry_base=0.1,
    webhook_retry_max=0.3,
    webhook_max_attempts=50,
    rate_limit_per_second=0,
)

CREATE = (
    "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) {"
    " webhook { id url eventTypes objectKey active } secret } }"
)
UPDATE = (
    "mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i) {"
    " id url eventTypes objectKey active } }"
)
DELETE = "mutation($id: ID!) { deleteWebhook(id: $id) { deletedId } }"
LIST = "{ webhooks { id url eventTypes objectKey active } }"
DELIVERIES = (
    "query($id: ID!, $after: String) { node(id: $id) { ... on Webhook { deliveries(first: 50,"
    " after: $after) { edges { cursor node { eventId eventType status attempts lastStatusCode"
    " lastError lastAttemptAt nextAttemptAt } } pageInfo { hasNextPage endCursor } } } } }"
)
REDELIVER = (
    "mutation($w: ID!, $e: ID!) { redeliver(webhookId: $w, eventId: $e) {"
    " eventId status attempts } }"
)


@pytest.fixture(scope="module")
def hook_app(db: Database) -> Any:
    return create_app(Settings(**FAST), database=db)  # type: ignore[arg-type]


@pytest.fixture
async def hclient(hook_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=hook_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relata.test") as c:
        yield c


@pytest.fixture
async def t(db: Database, hclient: httpx.AsyncClient) -> AsyncIterator[Tenant]:
    tenant = await make_tenant(db, hclient)
    yield tenant
    # No webhook of this test outlives it (another test's worker would call it).
    await db.execute("delete from webhooks where location_id = $1", tenant.location)
    await db.execute("delete from webhook_locations where location_id = $1", tenant.location)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
async def workers(db: Database) -> AsyncIterator[Any]:
    started: list[WebhookWorker] = []

    async def start(**overrides: Any) -> WebhookWorker:
        worker = WebhookWorker(db, Settings(**{**FAST, **overrides}), name=f"w{len(started)}")  # type: ignore[arg-type]
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for w in started:
        await w.stop(grace=0)


async def register(api: Api, receiver: Receiver, name: str, **fields: Any) -> str:
    data = await api.ok(CREATE, {"i": {"url": receiver.url(name), **fields}})
    receiver.secrets[name] = data["createWebhook"]["secret"]
    return str(data["createWebhook"]["webhook"]["id"])


async def deliveries(api: Api, webhook_id: str) -> list[dict[str, Any]]:
    data = await api.ok(DELIVERIES, {"id": webhook_id, "after": None})
    return [e["node"] for e in data["node"]["deliveries"]["edges"]]


async def settled(api: Api, webhook_id: str, count: int) -> list[dict[str, Any]]:
    """The log once it has `count` deliveries and none pending: a receiver has its request
    before the worker records the answer."""
    found: list[dict[str, Any]] = []

    async def done() -> bool:
        nonlocal found
        found = await deliveries(api, webhook_id)
        return len(found) == count and all(d["status"] != "PENDING" for d in found)

    await until(done, what=f"{count} settled deliveries")
    return found


def event_ids_of(hits: list[Any]) -> list[str]:
    return [h.body["id"] for h in hits]


# --- registration -----------------------------------------------------------------------------


async def test_register_over_graphql_secret_once_admin_only(t: Tenant, receiver: Receiver):
    data = await t.admin.ok(
        CREATE,
        {"i": {"url": receiver.url("a"), "eventTypes": ["RELATION_CREATE", "RECORD_CREATE"]}},
    )
    created = data["createWebhook"]
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    hook = created["webhook"]
    assert hook["id"].startswith("whk_") and hook["active"] is True
    assert hook["eventTypes"] == ["RECORD_CREATE", "RELATION_CREATE"]  # canonical order
    assert hook["objectKey"] is None
    # Never shown again: no field of Webhook carries it, and no response after this one.
    listed = (await t.admin.ok(LIST))["webhooks"]
    assert listed == [hook]
    assert secret not in str(await t.admin.gql(DELIVERIES, {"id": hook["id"]}))
    again = await t.admin.gql("query($id: ID!) { node(id: $id) { ... on Webhook { secret } } }",
                              {"id": hook["id"]})  # fmt: skip
    assert again.code == "GRAPHQL_VALIDATION_FAILED" or again.body["errors"]
    node = await t.admin.ok(
        "query($id: ID!) { node(id: $id) { id ... on Webhook { url } } }", {"id": hook["id"]}
    )
    assert node["node"] == {"id": hook["id"], "url": receiver.url("a")}
    # All types when left out; an object filter must name an object of the location.
    all_types = await t.admin.ok(CREATE, {"i": {"url": receiver.url("b"), "objectKey": "company"}})
    assert len(all_types["createWebhook"]["webhook"]["eventTypes"]) == 10
    assert all_types["createWebhook"]["webhook"]["objectKey"] == "company"
    missing = await t.admin.fail(CREATE, {"i": {"url": receiver.url("c"), "objectKey": "nope"}})
    assert missing.code == "NOT_FOUND"
    # Update and delete.
    updated = await t.admin.ok(
        UPDATE, {"i": {"id": hook["id"], "active": False, "eventTypes": ["RECORD_DELETE"]}}
    )
    assert updated["updateWebhook"]["active"] is False
    assert updated["updateWebhook"]["eventTypes"] == ["RECORD_DELETE"]
    assert updated["updateWebhook"]["url"] == receiver.url("a")
    assert (await t.admin.ok(DELETE, {"id": hook["id"]}))["deleteWebhook"]["deletedId"] == hook[
        "id"
    ]
    assert (await t.admin.fail(DELETE, {"id": hook["id"]})).code == "NOT_FOUND"
    # A plain user may do none of it.
    other = all_types["createWebhook"]["webhook"]["id"]
    for query, variables in [
        (CREATE, {"i": {"url": receiver.url("u")}}),
        (LIST, {}),
        (UPDATE, {"i": {"id": other, "active": False}}),
        (DELETE, {"id": other}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": other}),
    ]:
        refused = await t.user.fail(query, variables)
        assert refused.code == "FORBIDDEN", refused.body


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "example.com/hook",
        "http://",
        "https://exa mple.com/",
        "http://user:pw@127.0.0.1/",
        "http://127.0.0.1:99999/",
        "https://e.com/" + "x" * 2100,
        "",
    ],
)
async def test_bad_urls_are_bad_user_input(t: Tenant, url: str):
    refused = await t.admin.fail(CREATE, {"i": {"url": url}})
    assert refused.code == "BAD_USER_INPUT", refused.body
    assert refused.error["extensions"]["field"] == "url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
    ],
)
async def test_private_urls_refused_without_the_setting(tenant: Tenant, url: str):
    """`tenant` talks to the suite's app, whose settings keep RELATA_WEBHOOK_ALLOW_PRIVATE off."""
    refused = await tenant.admin.fail(CREATE, {"i": {"url": url}})
    assert refused.code == "BAD_USER_INPUT", refused.body
    assert "RELATA_WEBHOOK_ALLOW_PRIVATE" in refused.error["message"]


async def test_public_address_accepted_without_the_setting(tenant: Tenant):
    created = await tenant.admin.ok(CREATE, {"i": {"url": "https://93.184.216.34/hook"}})
    hook_id = created["createWebhook"]["webhook"]["id"]
    changed = await tenant.admin.fail(UPDATE, {"i": {"id": hook_id, "url": "http://10.0.0.1/"}})
    assert changed.code == "BAD_USER_INPUT"
    await tenant.admin.ok(DELETE, {"id": hook_id})


async def test_webhooks_per_location_are_capped(t: Tenant, receiver: Receiver):
    for i in range(20):
        await t.admin.ok(CREATE, {"i": {"url": receiver.url(f"n{i}")}})
    over = await t.admin.fail(CREATE, {"i": {"url": receiver.url("n20")}})
    assert over.code == "LIMIT_EXCEEDED"
    assert over.error["extensions"]["limitName"] == "webhooksPerLocation"
    assert len((await t.admin.ok(LIST))["webhooks"]) == 20


async def test_register_over_rest(t: Tenant, receiver: Receiver, hclient: httpx.AsyncClient):
    rest = Rest(hclient, t.admin_token, t.location)
    created = await rest.call(
        "POST",
        "/webhooks",
        json={"url": receiver.url("r"), "eventTypes": ["RelationCreate", "RECORD_DELETE"]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    hook = body["webhook"]
    assert hook["eventTypes"] == ["RECORD_DELETE", "RELATION_CREATE"]
    assert hook["events"] == ["RecordDelete", "RelationCreate"]
    listed = (await rest.call("GET", "/webhooks")).json()
    assert listed["total"] == 1 and listed["webhooks"][0]["id"] == hook["id"]
    assert body["secret"] not in str(listed)
    got = await rest.call("GET", f"/webhooks/{hook['id']}")
    assert got.status_code == 200 and got.json()["webhook"]["url"] == receiver.url("r")
    put = await rest.call("PUT", f"/webhooks/{hook['id']}", json={"active": False})
    assert put.status_code == 200 and put.json()["webhook"]["active"] is False
    refused = await rest.call("PUT", f"/webhooks/{hook['id']}", json={"objectKey": "contact"})
    assert refused.status_code == 400
    bad = await rest.call("POST", "/webhooks", json={"url": "gopher://x"})
    assert bad.status_code == 400 and bad.json()["code"] == "BAD_USER_INPUT"
    unknown = await rest.call("POST", "/webhooks", json={"url": receiver.url("x"),
                                                         "eventTypes": ["Nope"]})  # fmt: skip
    assert unknown.status_code == 400
    user = Rest(hclient, t.user_token, t.location)
    for method, path, payload in [
        ("POST", "/webhooks", {"url": receiver.url("u")}),
        ("GET", "/webhooks", None),
        ("GET", f"/webhooks/{hook['id']}", None),
        ("DELETE", f"/webhooks/{hook['id']}", None),
        ("GET", f"/webhooks/{hook['id']}/deliveries", None),
    ]:
        r = await user.call(method, path, json=payload)
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN", (method, path, r.text)
    deleted = await rest.call("DELETE", f"/webhooks/{hook['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert (await rest.call("GET", f"/webhooks/{hook['id']}")).status_code == 404


async def test_private_url_refused_over_rest_without_the_setting(tenant: Tenant, client):
    rest = Rest(client, tenant.admin_token, tenant.location)
    r = await rest.call("POST", "/webhooks", json={"url": "http://127.0.0.1:9/x"})
    assert r.status_code == 400 and r.json()["code"] == "BAD_USER_INPUT"


# --- delivery ---------------------------------------------------------------------------------


async def _pair(api: Api) -> tuple[str, str, str]:
    assoc = await api.create_association(
        key=f"works_{uuid.uuid4().hex[:6]}", firstObjectKey="contact", secondObjectKey="company",
        firstObjectLabel="Employee", secondObjectLabel="Employer",
    )  # fmt: skip
    return (
        assoc["id"],
        await api.create_record("contact", firstName="Ann"),
        await api.create_record("company", name="Acme"),
    )


async def test_deliveries_arrive_signed_in_order_and_filtered(t: Tenant, receiver, workers):
    everything = await register(t.admin, receiver, "all")
    only_relations = await register(
        t.admin, receiver, "rel", eventTypes=["RELATION_CREATE", "RELATION_DELETE"]
    )
    companies = await register(t.admin, receiver, "co", objectKey="company")
    await workers()
    assoc, ann, acme = await _pair(t.admin)
    rel = (await t.admin.link(assoc, ann, acme)).data["createRelation"]["id"]
    for i in range(5):
        await t.admin.ok(
            "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }",
            {"i": {"id": ann, "properties": {"n": i}}},
        )
    await t.admin.ok("mutation($id: ID!) { deleteRecord(id: $id) { deletedId } }", {"id": ann})
    # association create, 2 record creates, relation create, 5 updates, relation + record delete
    await until(lambda: len(receiver.delivered("all")) == 11, what="11 deliveries")
    await until(lambda: len(receiver.delivered("rel")) == 2, what="2 relation deliveries")
    hits = receiver.delivered("all")
    assert all(h.verified for h in receiver.requests["all"])
    assert [h.body["type"] for h in hits if h.body["data"]["recordId"] == ann] == [
        "RecordCreate", *["RecordUpdate"] * 5, "RecordDelete",
    ]  # fmt: skip
    # In order per record: Ann's events (her own and her relation's) by position.
    positions = [
        int(h.body["data"]["position"])
        for h in hits
        if ann in (h.body["data"]["recordId"], h.body["data"]["firstRecordId"])
    ]
    assert positions == sorted(positions) and len(positions) == 9
    first = hits[0]
    assert first.webhook_id == first.body["id"] and first.body["id"].startswith("evt_")
    assert first.body["locationId"] == t.location and first.body["timestamp"]
    relation_hits = receiver.delivered("rel")
    assert [h.body["type"] for h in relation_hits] == ["RelationCreate", "RelationDelete"]
    created = relation_hits[0].body["data"]
    assert created["relationId"] == rel and created["firstRecordId"] == ann
    assert created["secondRecordId"] == acme and created["type"] == "RELATION_CREATE"
    assert created["firstObjectLabel"] == "Employee" and created["associationId"] == assoc
    # objectKey: company events and relations with a company end (and the association).
    assert {h.body["type"] for h in receiver.delivered("co")} == {
        "AssociationCreate", "RecordCreate", "RelationCreate", "RelationDelete",
    }  # fmt: skip
    assert all(h.verified for name in ("all", "rel", "co") for h in receiver.requests[name])
    # The log says so, over GraphQL.
    log = await settled(t.admin, everything, 11)
    assert len(log) == 11 and {d["status"] for d in log} == {"DELIVERED"}
    assert all(d["attempts"] == 1 and d["lastStatusCode"] == 200 for d in log)
    assert all(d["lastAttemptAt"] and d["nextAttemptAt"] is None for d in log)
    # Every delivery in the log (listed newest first). Arrival order is only promised per
    # record: events of different records may cross on a loaded machine.
    assert sorted(d["eventId"] for d in log) == sorted(event_ids_of(hits))
    assert len(await settled(t.admin, only_relations, 2)) == 2
    assert len(await settled(t.admin, companies, 4)) == 4


async def test_500_then_200_is_delivered_after_a_retry(t: Tenant, receiver, workers, hclient):
    receiver.behaviours["flaky"] = lambda n: 500 if n == 0 else 200
    hook = await register(t.admin, receiver, "flaky", eventTypes=["RECORD_CREATE"])
    await workers()
    record = await t.admin.create_record("contact", firstName="Flo")
    await until(lambda: len(receiver.delivered("flaky")) == 1, what="the retry")
    attempts = receiver.requests["flaky"]
    assert [h.status for h in attempts] == [500, 200]
    assert attempts[0].webhook_id == attempts[1].webhook_id  # the same message, sent again
    assert attempts[1].body["data"]["recordId"] == record
    (d,) = await settled(t.admin, hook, 1)
    assert d["status"] == "DELIVERED" and d["attempts"] == 2 and d["lastStatusCode"] == 200
    # The same log over REST.
    rest = Rest(hclient, t.admin_token, t.location)
    log = (await rest.call("GET", f"/webhooks/{hook}/deliveries")).json()
    assert log["hasMore"] is False
    (item,) = log["deliveries"]
    assert item["status"] == "DELIVERED" and item["attempts"] == 2
    assert (
        item["lastStatusCode"] == 200 and item["lastAttemptAt"] and item["eventId"] == d["eventId"]
    )


async def test_a_receiver_down_for_a_while_gets_everything_after(t: Tenant, workers):
    down = Receiver(port=reserve_port())  # nothing listens there yet
    hook = await register(t.admin, down, "late", eventTypes=["RECORD_CREATE", "RECORD_UPDATE"])
    await workers()
    records = [await t.admin.create_record("contact", firstName=f"P{i}") for i in range(4)]
    await t.admin.ok(
        "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }",
        {"i": {"id": records[0], "properties": {"x": 1}}},
    )

    async def failed_twice() -> bool:
        log = await deliveries(t.admin, hook)
        creates = [d for d in log if d["eventType"] == "RECORD_CREATE"]
        return len(log) == 5 and all(d["attempts"] >= 2 for d in creates)

    await until(failed_twice, what="failed attempts while down")
    log = await deliveries(t.admin, hook)
    assert {d["status"] for d in log} == {"PENDING"}
    creates = [d for d in log if d["eventType"] == "RECORD_CREATE"]
    assert all(d["lastStatusCode"] is None and d["lastError"] for d in creates)
    # The update waits behind its record's create: never attempted while that one fails.
    (update,) = [d for d in log if d["eventType"] == "RECORD_UPDATE"]
    assert update["attempts"] == 0 and update["lastAttemptAt"] is None
    down.start()
    try:
        await until(lambda: len(down.delivered("late")) == 5, what="the backlog")
        types = [(h.body["data"]["recordId"], h.body["type"]) for h in down.delivered("late")]
        assert types.index((records[0], "RecordCreate")) < types.index((records[0], "RecordUpdate"))
        assert all(h.verified for h in down.requests["late"])
    finally:
        down.stop()


async def test_redirects_and_timeouts_fail_then_dead_letter_and_redeliver(
    t: Tenant, receiver, workers, hclient
):
    receiver.behaviours["moved"] = lambda n: 302
    receiver.behaviours["slow"] = lambda n: (3.0, 200) if n < 2 else 200
    moved = await register(t.admin, receiver, "moved", eventTypes=["RECORD_CREATE"])
    slow = await register(t.admin, receiver, "slow", eventTypes=["RECORD_CREATE"])
    await workers(webhook_max_attempts=2, webhook_timeout=0.5)
    await t.admin.create_record("contact", firstName="Dee")

    async def both_dead() -> bool:
        logs = [await deliveries(t.admin, h) for h in (moved, slow)]
        return all(log and log[0]["status"] == "DEAD" for log in logs)

    await until(both_dead, timeout=15, what="dead letters")
    (m,) = await deliveries(t.admin, moved)
    assert m["attempts"] == 2 and m["lastStatusCode"] == 302 and "redirect" in m["lastError"]
    assert m["nextAttemptAt"] is None
    (s,) = await deliveries(t.admin, slow)
    assert s["attempts"] == 2 and s["lastStatusCode"] is None and "no response" in s["lastError"]
    assert receiver.delivered("moved") == [] or all(
        h.status == 302 for h in receiver.requests["moved"]
    )
    assert not [h for h in receiver.requests["moved"] if h.name == "final"]  # not followed
    # Redeliver: GraphQL for one, REST for the other; attempts start again from 0.
    receiver.behaviours["moved"] = lambda n: 200
    again = await t.admin.ok(REDELIVER, {"w": moved, "e": m["eventId"]})
    assert again["redeliver"]["status"] == "PENDING" and again["redeliver"]["attempts"] == 0
    rest = Rest(hclient, t.admin_token, t.location)
    r = await rest.call("POST", f"/webhooks/{slow}/deliveries/{s['eventId']}/redeliver")
    assert r.status_code == 200 and r.json()["delivery"]["status"] == "PENDING", r.text
    await until(
        lambda: len(receiver.delivered("moved")) == 1 and len(receiver.delivered("slow")) == 1,
        what="redeliveries",
    )
    (m2,) = await settled(t.admin, moved, 1)
    assert m2["status"] == "DELIVERED" and m2["attempts"] == 1
    # Redelivering a delivered event sends it again.
    await t.admin.ok(REDELIVER, {"w": moved, "e": m["eventId"]})
    await until(lambda: len(receiver.delivered("moved")) == 2, what="a second redelivery")
    assert receiver.delivered_ids("moved") == [m["eventId"]] * 2
    unknown = await t.admin.fail(REDELIVER, {"w": moved, "e": "evt_" + uuid.uuid4().hex})
    assert unknown.code == "NOT_FOUND"


async def test_a_slow_endpoint_does_not_delay_another(t: Tenant, receiver, workers):
    receiver.behaviours["slow"] = lambda n: (1.5, 200)
    await register(t.admin, receiver, "slow", eventTypes=["RECORD_CREATE"])
    await register(t.admin, receiver, "fast", eventTypes=["RECORD_CREATE"])
    await workers(webhook_timeout=5.0)
    started = time.monotonic()
    for i in range(6):
        await t.admin.create_record("contact", firstName=f"S{i}")
    await until(lambda: len(receiver.delivered("fast")) == 6, timeout=5, what="fast deliveries")
    fast_done = time.monotonic() - started
    # The slow endpoint takes 1.5 s a request, 4 at a time: it is far from done.
    assert len(receiver.delivered("slow")) < 6
    assert fast_done < 2.5, fast_done
    await until(lambda: len(receiver.delivered("slow")) == 6, timeout=15, what="slow deliveries")


async def test_two_workers_never_send_one_event_at_once(t: Tenant, receiver, workers):
    receiver.behaviours["race"] = lambda n: (0.05, 200)
    await register(t.admin, receiver, "race", eventTypes=["RECORD_CREATE", "RECORD_UPDATE"])
    records = [await t.admin.create_record("contact", firstName=f"R{i}") for i in range(6)]
    for round_ in range(3):
        for r in records:
            await t.admin.ok(
                "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }",
                {"i": {"id": r, "properties": {"round": round_}}},
            )
    # Two workers, and a third pass racing them by hand.
    for _ in range(2):
        await workers()
    await until(lambda: len(receiver.delivered("race")) >= 24, timeout=15, what="24 deliveries")
    await asyncio.sleep(0.3)
    ids = receiver.delivered_ids("race")
    assert len(ids) == 24 and len(set(ids)) == 24, "an event was delivered twice"
    assert receiver.overlaps == []
    for r in records:
        rounds = [
            h.body["data"]["data"]["properties"].get("round")
            for h in receiver.delivered("race")
            if h.body["data"]["recordId"] == r
        ]
        assert rounds == [None, 0, 1, 2], rounds  # create, then the updates in order


async def test_pruned_event_is_a_dead_delivery(t: Tenant, workers, db: Database):
    down = Receiver(port=reserve_port())
    hook = await register(t.admin, down, "gone", eventTypes=["RECORD_CREATE"])
    await workers()
    await t.admin.create_record("contact", firstName="Old")

    async def attempted() -> bool:
        log = await deliveries(t.admin, hook)
        return bool(log) and log[0]["attempts"] >= 1

    await until(attempted, what="a failed attempt")
    await db.execute("delete from events where location_id = $1", t.location)

    async def dead() -> bool:
        return (await deliveries(t.admin, hook))[0]["status"] == "DEAD"

    await until(dead, what="the dead letter")
    assert "pruned" in (await deliveries(t.admin, hook))[0]["lastError"]


async def test_inactive_webhooks_receive_nothing_and_resume_from_now(t: Tenant, receiver, workers):
    hook = await register(t.admin, receiver, "p", eventTypes=["RECORD_CREATE"])
    await t.admin.ok(UPDATE, {"i": {"id": hook, "active": False}})
    await workers()
    await t.admin.create_record("contact", firstName="While off")
    await asyncio.sleep(0.4)
    await t.admin.ok(UPDATE, {"i": {"id": hook, "active": True}})
    after = await t.admin.create_record("contact", firstName="Back")
    await until(lambda: len(receiver.delivered("p")) == 1, what="the delivery after resuming")
    await asyncio.sleep(0.3)
    assert [h.body["data"]["recordId"] for h in receiver.delivered("p")] == [after]


async def test_the_worker_filters_every_statement_on_location(t: Tenant, receiver, pg_dsn: str):
    from tests.test_sql_location_filter import check

    statements: list[str] = []

    async def init(conn: asyncpg.Connection) -> None:
        await _init_connection(conn)
        conn.add_query_logger(lambda record: statements.append(record.query))

    pool = await asyncpg.create_pool(pg_dsn, min_size=1, max_size=2, init=init)
    db = Database(pool)
    worker = WebhookWorker(db, Settings(**FAST))  # type: ignore[arg-type]
    try:
        receiver.behaviours["s"] = lambda n: 500 if n == 0 else 200
        await register(t.admin, receiver, "s", eventTypes=["RECORD_CREATE"])
        await worker.start()
        await t.admin.create_record("contact", firstName="Q")
        await until(lambda: len(receiver.delivered("s")) == 1, what="the delivery")
    finally:
        await worker.stop(grace=1)
        await db.close()
    distinct = sorted(set(statements))
    problems = {
        sql: why
        for sql in distinct
        if (why := check(sql)) and not sql.startswith("select location_id from webhook_locations")
    }
    assert not problems, problems
    assert not [s for s in distinct if "pg_advisory" in s and "unlock_all" not in s]


# --- tenant walls -----------------------------------------------------------------------------


async def test_tenant_walls(t: Tenant, db: Database, hclient, receiver, workers):
    other = await make_tenant(db, hclient)
    try:
        mine = await register(t.admin, receiver, "mine")
        theirs = await register(other.admin, receiver, "theirs")
        await workers()
        record = await t.admin.create_record("contact", firstName="Wall")
        await until(lambda: len(receiver.delivered("mine")) == 1, what="A's delivery")
        event_id = receiver.delivered("mine")[0].body["id"]
        await other.admin.create_record("contact", firstName="Other")
        await until(lambda: len(receiver.delivered("theirs")) == 1, what="B's delivery")
        await asyncio.sleep(0.3)
        assert len(receiver.delivered("mine")) == 1 and len(receiver.delivered("theirs")) == 1
        assert receiver.delivered("theirs")[0].body["locationId"] == other.location
        assert record not in str(receiver.delivered("theirs")[0].body)
        # B cannot see, change, delete or redeliver A's webhook, nor A's event to its own.
        assert [w["id"] for w in (await other.admin.ok(LIST))["webhooks"]] == [theirs]
        for query, variables in [
            ("query($id: ID!) { node(id: $id) { id } }", {"id": mine}),
            (DELIVERIES, {"id": mine}),
            (UPDATE, {"i": {"id": mine, "url": receiver.url("hijack")}}),
            (DELETE, {"id": mine}),
            (REDELIVER, {"w": mine, "e": event_id}),
            (REDELIVER, {"w": theirs, "e": event_id}),
        ]:
            r = await other.admin.fail(query, variables)
            assert r.code == "NOT_FOUND", (query, r.body)
            assert receiver.url("mine") not in str(r.body)
        rest = Rest(hclient, other.admin_token, other.location)
        for method, path, payload in [
            ("GET", f"/webhooks/{mine}", None),
            ("PUT", f"/webhooks/{mine}", {"active": False}),
            ("DELETE", f"/webhooks/{mine}", None),
            ("GET", f"/webhooks/{mine}/deliveries", None),
            ("POST", f"/webhooks/{mine}/deliveries/{event_id}/redeliver", None),
            ("POST", f"/webhooks/{theirs}/deliveries/{event_id}/redeliver", None),
        ]:
            r = await rest.call(method, path, json=payload)
            assert r.status_code == 404, (method, path, r.text)
        listed = (await rest.call("GET", "/webhooks")).json()
        assert [w["id"] for w in listed["webhooks"]] == [theirs]
        # A's webhook is untouched.
        (hook,) = (await t.admin.ok(LIST))["webhooks"]
        assert hook["active"] is True and hook["url"] == receiver.url("mine")
        assert len(await deliveries(t.admin, mine)) == 1
        assert len(receiver.requests["mine"]) == 1
    finally:
        await db.execute("delete from webhooks where location_id = $1", other.location)
        await db.execute("delete from webhook_locations where location_id = $1", other.location)


# --- a real server, killed mid-delivery -------------------------------------------------------


def _serve(pg_dsn: str, port: int, log: Any) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": pg_dsn,
        "RELATA_PORT": str(port),
        "RELATA_WEBHOOK_ALLOW_PRIVATE": "1",
        "RELATA_WEBHOOK_TIMEOUT": "3",
        "RELATA_WEBHOOK_LEASE": "4",
        "RELATA_WEBHOOK_POLL_INTERVAL": "0.1",
        "RELATA_WEBHOOK_RETRY_BASE": "0.2",
        "RELATA_WEBHOOK_RETRY_MAX": "1",
        "RELATA_RATE_LIMIT_PER_SECOND": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def _ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(300):
            assert proc.poll() is None, "relata serve exited"
            try:
                if (await c.get(url + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("relata serve did not become ready")


async def test_kill_9_mid_delivery_then_restart_delivers_everything(
    db: Database, pg_dsn: str, receiver: Receiver, tmp_path
):
    location = f"k9-{uuid.uuid4().hex[:8]}"
    token = await create_token(db, location, "admin")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # The first request stalls (longer than the test waits): the server is killed under it.
    receiver.behaviours["k9"] = lambda n: (30.0, 200) if n == 0 else 200
    log = (tmp_path / "serve.log").open("wb")
    proc = _serve(pg_dsn, port, log)
    try:
        await _ready(url, proc)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            api = Api(client, token, location)
            hook = await register(api, receiver, "k9", eventTypes=["RECORD_CREATE"])
            records = [await api.create_record("contact", firstName=f"K{i}") for i in range(5)]
            await until(lambda: len(receiver.requests["k9"]) >= 1, what="the stalled request")
            # Each record is its own ordering key: the others may have gone out already.
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            killed_at = time.monotonic()
            receiver.behaviours["k9"] = lambda n: 200
            proc = _serve(pg_dsn, port, log)
            await _ready(url, proc)
            delivered = lambda: {h.body["data"]["recordId"] for h in receiver.delivered("k9")}  # noqa: E731
            await until(lambda: delivered() == set(records), timeout=60, what="every event")
            took = time.monotonic() - killed_at
            assert took < 30, took
            # Duplicates only as the same message (same webhook-id), never a new one.
            hits = receiver.requests["k9"]
            by_id: dict[str, set[str]] = {}
            for h in hits:
                by_id.setdefault(h.webhook_id, set()).add(h.body["data"]["recordId"])
            assert len(by_id) == 5 and all(len(v) == 1 for v in by_id.values())
            # The request the killed server was waiting on was sent again, as the same message.
            stalled_id = hits[0].webhook_id
            assert [h.webhook_id for h in receiver.delivered("k9")].count(stalled_id) == 1
            assert [h.webhook_id for h in hits].count(stalled_id) >= 2
            assert all(h.verified for h in hits)

            async def all_delivered() -> bool:
                # The receiver answers before the worker records the outcome: wait for it.
                log_now = await api.ok(DELIVERIES, {"id": hook, "after": None})
                edges = log_now["node"]["deliveries"]["edges"]
                return len(edges) == 5 and {e["node"]["status"] for e in edges} == {"DELIVERED"}

            await until(all_delivered, what="the log to say DELIVERED")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        await db.execute("delete from webhooks where location_id = $1", location)
        await db.execute("delete from webhook_locations where location_id = $1", location)


def _deliver(pg_dsn: str, log: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": pg_dsn, "RELATA_WEBHOOK_ALLOW_PRIVATE": "1",
           "RELATA_WEBHOOK_POLL_INTERVAL": "0.1"}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "app.cli", "deliver"], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def test_relata_deliver_help() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "app.cli", "deliver", "--help"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    assert "webhook" in help_text and "RELATA_WEBHOOK_WORKER" in help_text


async def test_relata_deliver_runs_the_worker_alone(db: Database, pg_dsn: str, receiver, tmp_path):
    location = f"dl-{uuid.uuid4().hex[:8]}"
    api_app = create_app(Settings(**FAST), database=db)  # type: ignore[arg-type]
    log = (tmp_path / "deliver.log").open("wb")
    proc = _deliver(pg_dsn, log)
    try:
        transport = httpx.ASGITransport(app=api_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relata.test") as c:
            api = Api(c, await create_token(db, location, "admin"), location)
            await register(api, receiver, "cli", eventTypes=["RECORD_CREATE"])
            record = await api.create_record("contact", firstName="Cli")
            await until(lambda: len(receiver.delivered("cli")) == 1, timeout=20, what="delivery")
            assert receiver.delivered("cli")[0].body["data"]["recordId"] == record
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
        await db.execute("delete from webhooks where location_id = $1", location)
        await db.execute("delete from webhook_locations where location_id = $1", location)
