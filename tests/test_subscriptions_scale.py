"""Live updates across processes and under pressure, against real `relata serve` processes:
two servers on one database with subscribers on both and the writes made through a third (every
subscriber sees every event of its location, in order, and nothing of another location; the
notification is the wake-up); an event whose notification never came is still delivered (the
poll); a consumer that stops reading is ended at its buffer bound with LIMIT_EXCEEDED and
resumes from its last position with nothing lost."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from typing import Any

import pytest

from app.services import events as event_service
from app.services.events import staging
from db import events as event_sql
from tests.live_support import EVENTS, RawSocket, gql_client, place, request, take
from tests.test_failures import serve, stop_process


async def test_two_processes_fan_out_every_event_of_each_location_in_order(db, pg_dsn, tmp_path):
    # A long poll interval: delivery within the test's time relies on the notifications.
    subscribers = [
        await serve(
            pg_dsn, tmp_path, RELATA_SUBSCRIPTION_POLL_INTERVAL="60", RELATA_WEBHOOK_WORKER="0"
        )
        for _ in range(2)
    ]
    writer = await serve(pg_dsn, tmp_path, RELATA_WEBHOOK_WORKER="0")
    try:
        places = [await place(db, writer, "fan-a"), await place(db, writer, "fan-b")]
        per_location = 25
        async with (
            gql_client(subscribers[0], places[0].token) as s0a,
            gql_client(subscribers[0], places[1].token) as s0b,
            gql_client(subscribers[1], places[0].token) as s1a,
            gql_client(subscribers[1], places[1].token) as s1b,
        ):
            sessions = [(s0a, 0), (s0b, 1), (s1a, 0), (s1b, 1)]
            tasks = [
                asyncio.create_task(take(s.subscribe(request(EVENTS, after="0")), per_location, 60))
                for s, _ in sessions
            ]
            await asyncio.sleep(1.0)  # every subscription is live before the first write

            async def write(p: Any, n: int) -> list[str]:
                made = []
                for i in range(n):
                    made.append(await p.contact(f"c{i}"))
                return made

            # Both locations written concurrently, two writers each.
            written = await asyncio.gather(
                *(write(p, per_location // 5) for p in places for _ in range(2)),
                write(places[0], per_location - 2 * (per_location // 5)),
                write(places[1], per_location - 2 * (per_location // 5)),
            )
            results = await asyncio.gather(*tasks)
        mine = [
            {r for i, rs in enumerate(written) if i in (0, 1, 4) for r in rs},
            {r for i, rs in enumerate(written) if i in (2, 3, 5) for r in rs},
        ]
        for (_, which), got in zip(sessions, results, strict=True):
            events = [r["events"] for r in got]
            assert [int(e["position"]) for e in events] == list(range(1, per_location + 1))
            assert {e["recordId"] for e in events} == mine[which]
    finally:
        for s in (*subscribers, writer):
            stop_process(s)


async def test_an_event_without_its_notification_is_delivered_by_the_poll(db, pg_dsn, tmp_path):
    served = await serve(
        pg_dsn, tmp_path, RELATA_SUBSCRIPTION_POLL_INTERVAL="0.5", RELATA_WEBHOOK_WORKER="0"
    )
    try:
        p = await place(db, served, "lost")
        record = await p.contact("x")
        async with gql_client(served, p.token) as session:
            got = asyncio.create_task(take(session.subscribe(request(EVENTS)), 1, 30))
            await asyncio.sleep(0.5)
            # An event appended as a writer would, but the notification is never sent.
            async with db.transaction() as conn:
                with staging(conn) as staged:
                    assert staged is not None
                    staged.location_id = p.location
                    staged.rows.append(
                        ("RECORD_UPDATE", None, "contact", None, None, None, None, None, None,
                         None, None, None, None, {"properties": {}, "displayName": "x"})
                    )  # fmt: skip
                    last = await event_sql.reserve_positions(conn, p.location, 1)
                    await event_sql.insert_events(conn, p.location, [(last, *staged.rows[0])])
                    staged.rows.clear()
            started = time.monotonic()
            [result] = await got
            assert result["events"]["position"] == "2"
            assert time.monotonic() - started < 10
        assert record
    finally:
        stop_process(served)


@pytest.mark.parametrize("updates", [100])
async def test_a_slow_consumer_is_ended_at_its_buffer_and_resumes_without_loss(
    db, pg_dsn, tmp_path, updates
):
    served = await serve(
        pg_dsn, tmp_path, RELATA_SUBSCRIPTION_BUFFER="5", RELATA_WEBHOOK_WORKER="0"
    )
    try:
        p = await place(db, served, "slow")
        record = await p.contact("big")
        # max_queue=1: the client stops reading the socket after one message, and a small
        # receive buffer (no autotuning) keeps the kernel from taking the backlog in its place:
        # the server's sends then block after a few MB (~180 KB per event).
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        host, port = served.url.removeprefix("http://").split(":")
        sock.connect((host, int(port)))
        sock.setblocking(False)
        async with RawSocket(served, max_queue=1, sock=sock) as ws:
            await ws.init({"Authorization": f"Bearer {p.token}"})
            await ws.subscribe("1", EVENTS, after="0")
            await asyncio.sleep(0.5)
            for _ in range(updates):
                # Random text: permessage-deflate cannot shrink it.
                await p.update(
                    record, **{f"blob{k}": secrets.token_urlsafe(6_000) for k in range(20)}
                )
            received: list[int] = []
            while True:
                try:
                    message = await ws.recv(30)
                except TimeoutError:
                    raise AssertionError(f"no error after {received}") from None
                if message["type"] != "next":
                    break
                received.append(int(message["payload"]["data"]["events"]["position"]))
        assert message["type"] == "error", message
        error = message["payload"][0]
        assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
        assert error["extensions"]["limit"] == "subscriptionBuffer"
        assert "after" in error["message"]
        assert received == list(range(1, len(received) + 1))
        assert len(received) < updates + 1  # it was ended, not served everything
        async with gql_client(served, p.token) as session:
            rest = await take(
                session.subscribe(request(EVENTS, after=str(received[-1]))),
                updates + 1 - len(received),
                60,
            )
        assert [int(r["events"]["position"]) for r in rest] == list(
            range(received[-1] + 1, updates + 2)
        )
    finally:
        stop_process(served)


async def append_one(conn: Any, location: str) -> None:
    with staging(conn) as staged:
        assert staged is not None
        staged.location_id = location
        staged.rows.append(
            ("RECORD_UPDATE", None, "contact", None, None, None, None, None, None,
             None, None, None, None, {})
        )  # fmt: skip
        await event_service.flush(staged)


async def test_the_hub_notifies_only_after_commit(db):
    """A rolled-back write raises no notification (and appends nothing)."""
    heard: list[str] = []

    def listener(*args: Any) -> None:
        heard.append(args[-1])

    conn = await db.pool.acquire()
    try:
        await conn.add_listener(event_sql.CHANNEL, listener)
        p_location = "rollback-" + str(time.time_ns())
        from app.services.tokens import create_token

        await create_token(db, p_location, "admin")
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await append_one(tx, p_location)
                raise RuntimeError("roll back")
        async with db.transaction() as tx:
            await append_one(tx, p_location)
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
        assert heard == [f"1:{p_location}"]
    finally:
        await conn.remove_listener(event_sql.CHANNEL, listener)
        await db.pool.release(conn)
