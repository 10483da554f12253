"""Live updates: commit-to-delivery latency at N open subscriptions on one `relata serve`, and
how many subscriptions one process holds.

    .venv/bin/python -m bench.subscriptions                      # 1,000 subscriptions, both shapes
    .venv/bin/python -m bench.subscriptions --subscriptions 1000 --writes 300 --rate 30
    .venv/bin/python -m bench.subscriptions --hold 20000          # also: open 20,000 and report RSS

Shapes: `records` — N `recordChanged` subscriptions on N records, each write changes one random
record (one delivery per write: the common case, a screen watching its records); `fanout` — N
`events` subscriptions on one location, every write delivered to all N. Subscriptions are opened
over graphql-transport-ws, 100 per connection (the default per-connection bound). Writes are
`updateRecord` over HTTP at a fixed rate. Latency is measured from just before the write is sent
to the subscriber's receipt of its event: an upper bound of commit-to-delivery (it includes the
write's own HTTP round trip, reported beside it). Everything runs on this machine, the driver
included (its JSON parsing competes with the server for the two cores)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets

from bench.common import DEFAULT_DATA_DIR, ROOT, say, server_dsn, with_database

PER_CONNECTION = 100
DATABASE = "rb_live"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def prepare(data_dir: str) -> str:
    base = server_dsn(data_dir)
    if os.environ.get("DATABASE_URL"):
        dsn = base
    else:
        conn = await asyncpg.connect(base)
        try:
            if not await conn.fetchval("select 1 from pg_database where datname = $1", DATABASE):
                await conn.execute(f"create database {DATABASE}")
        finally:
            await conn.close()
        dsn = with_database(base, DATABASE)
    sys.path.insert(0, str(ROOT))
    from db.migrate import apply_migrations

    await apply_migrations(dsn)
    return dsn


class Connection:
    """One graphql-transport-ws connection carrying up to PER_CONNECTION subscriptions."""

    def __init__(self, url: str, token: str, received: dict[str, list[float]]) -> None:
        self.url, self.token, self.received = url, token, received
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await websockets.connect(
            self.url,
            subprotocols=["graphql-transport-ws"],
            max_size=None,  # type: ignore[list-item]
        )
        await self.ws.send(
            json.dumps({"type": "connection_init", "payload": {"token": self.token}})
        )
        ack = json.loads(await self.ws.recv())
        assert ack["type"] == "connection_ack", ack
        self.task = asyncio.create_task(self.read())

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any]) -> None:
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))

    async def read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            message = json.loads(raw)
            if message["type"] != "next":
                print(f"subscription failed: {message}", file=sys.stderr)
                continue
            data = message["payload"]["data"]
            event = data.get("recordChanged") or data.get("events")
            marker = event["data"]["properties"].get("bench")
            if marker:
                self.received.setdefault(marker, []).append(now)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.ws.close()


async def create_records(client: httpx.AsyncClient, n: int) -> list[str]:
    ids: list[str] = []
    # 40 per request: under the alias limit (RELATA_MAX_ALIASES, 50).
    for start in range(0, n, 40):
        batch = min(40, n - start)
        create = 'createRecord(input: {objectKey: "contact", properties: {firstName: "c"}}) { id }'
        fields = " ".join(f"r{i}: {create}" for i in range(batch))
        r = await client.post("/graphql", json={"query": f"mutation {{ {fields} }}"})
        data = r.json()["data"]
        ids += [data[f"r{i}"]["id"] for i in range(batch)]
    return ids


async def measure(
    url: str, token: str, shape: str, n: int, writes: int, rate: float
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        records = await create_records(client, n if shape == "records" else 50)
        received: dict[str, list[float]] = {}
        connections = [Connection(ws_url, token, received) for _ in range(-(-n // PER_CONNECTION))]
        for c in connections:
            await c.open()
        for i in range(n):
            c = connections[i // PER_CONNECTION]
            if shape == "records":
                await c.subscribe(
                    str(i),
                    "subscription($id: ID!) { recordChanged(id: $id) { position data } }",
                    {"id": records[i]},
                )
            else:
                await c.subscribe(str(i), "subscription { events { position data } }", {})
            if i % 50 == 49:
                # Set-ups read the database through the location's share of the pool.
                await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # every subscription registered
        sent: dict[str, float] = {}
        round_trips: list[float] = []
        failed: list[str] = []
        mutation = "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }"

        async def write(k: int) -> None:
            marker = f"w{k}"
            record = random.choice(records)
            t0 = time.perf_counter()
            sent[marker] = t0
            r = await client.post(
                "/graphql",
                json={
                    "query": mutation,
                    "variables": {"i": {"id": record, "properties": {"bench": marker}}},
                },
            )
            round_trips.append(time.perf_counter() - t0)
            if "errors" in r.json():  # counted: its event never comes
                failed.append(r.json()["errors"][0]["message"])
                del sent[marker]

        tasks = []
        started = time.perf_counter()
        for k in range(writes):
            tasks.append(asyncio.create_task(write(k)))
            await asyncio.sleep(max(0.0, started + (k + 1) / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        expected = len(sent) * (1 if shape == "records" else n)
        deadline = time.perf_counter() + 30
        while sum(map(len, received.values())) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110, E501 - the readers are other tasks
            await asyncio.sleep(0.1)
        for c in connections:
            await c.close()
    latencies = [(t - sent[m]) * 1000 for m, ts in received.items() for t in ts if m in sent]
    return {
        "shape": shape,
        "subscriptions": n,
        "writes": writes,
        "deliveries": len(latencies),
        "expected": expected,
        "p50_ms": statistics.median(latencies),
        "p99_ms": pct(latencies, 99),
        "max_ms": max(latencies),
        "write_p50_ms": statistics.median(round_trips) * 1000,
        "write_errors": len(failed),
    }


async def hold(url: str, token: str, n: int, pid: int) -> dict[str, Any]:
    """Open `n` subscriptions, then check one write still reaches a watcher quickly."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    before = rss_mb(pid)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        client.headers["authorization"] = f"Bearer {token}"
        (record,) = await create_records(client, 1)
        received: dict[str, list[float]] = {}
        connections = [Connection(ws_url, token, received) for _ in range(-(-n // PER_CONNECTION))]
        for c in connections:
            await c.open()
        for i in range(n):
            await connections[i // PER_CONNECTION].subscribe(
                str(i),
                "subscription($id: ID!) { recordChanged(id: $id) { position data } }",
                {"id": record},
            )
            if i % 50 == 49:
                await asyncio.sleep(0.1)
        await asyncio.sleep(3.0)
        after = rss_mb(pid)
        t0 = time.perf_counter()
        await client.post(
            "/graphql",
            json={
                "query": "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }",
                "variables": {"i": {"id": record, "properties": {"bench": "hold"}}},
            },
        )
        deadline = time.perf_counter() + 60
        while len(received.get("hold", [])) < n and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        got = received.get("hold", [])
        for c in connections:
            await c.close()
    return {
        "subscriptions": n,
        "rss_before_mb": before,
        "rss_after_mb": after,
        "kb_per_subscription": (after - before) * 1024 / n,
        "delivered": len(got),
        "all_delivered_ms": (max(got) - t0) * 1000 if got else None,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="writes per second")
    parser.add_argument("--shapes", default="records,fanout")
    parser.add_argument("--hold", type=int, default=0, help="also open this many and report RSS")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    dsn = await prepare(args.data_dir)
    sys.path.insert(0, str(ROOT))
    from app.services.tokens import create_token
    from db import Database
    from tests.test_failures import free_port

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "RELATA_PORT": str(port),
        "RELATA_WEBHOOK_WORKER": "0",
        "RELATA_RATE_LIMIT_PER_SECOND": "0",
        "RELATA_SUBSCRIPTIONS_PER_LOCATION": "1000000",
        "RELATA_SUBSCRIPTIONS_PER_PROCESS": "1000000",
    }
    log = open(Path(args.data_dir) / "live-serve.log", "wb")  # noqa: ASYNC230, SIM115
    proc = subprocess.Popen(  # noqa: ASYNC220 - the server under test, not awaited
        [str(ROOT / ".venv/bin/relata"), "serve", "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as c:
            for _ in range(300):
                try:
                    if (await c.get(url + "/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        db = await Database.connect(dsn, min_size=1, max_size=1)
        results = []
        for shape in args.shapes.split(","):
            token = await create_token(db, f"live-{uuid.uuid4().hex[:8]}", "admin")
            say(f"{shape}: {args.subscriptions} subscriptions, {args.writes} writes/{args.rate}/s")
            results.append(
                await measure(url, token, shape, args.subscriptions, args.writes, args.rate)
            )
        held = None
        if args.hold:
            token = await create_token(db, f"live-{uuid.uuid4().hex[:8]}", "admin")
            say(f"hold: {args.hold} subscriptions")
            held = await hold(url, token, args.hold, proc.pid)
        await db.close()
    finally:
        proc.terminate()
        proc.wait(20)
    heads = ("subs", "writes", "delivered", "p50 ms", "p99 ms", "max ms", "write p50")
    widths = (6, 6, 11, 8, 8, 8, 9)
    print(f"{'shape':8} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for r in results:
        print(
            f"{r['shape']:8} {r['subscriptions']:>6} {r['writes']:>6}"
            f" {r['deliveries']:>5}/{r['expected']:<5} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
            f" {r['max_ms']:>8.1f} {r['write_p50_ms']:>9.1f}"
            + (f"  ({r['write_errors']} writes failed)" if r["write_errors"] else "")
        )
    if held:
        print(
            f"held {held['subscriptions']} subscriptions: RSS {held['rss_before_mb']:.0f} ->"
            f" {held['rss_after_mb']:.0f} MB ({held['kb_per_subscription']:.1f} KB each);"
            f" one write reached {held['delivered']} of them, all within"
            f" {held['all_delivered_ms']:.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
