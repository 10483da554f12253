"""Authentication without a statement per request (app/services/token_cache.py), through the API
against the real database: a warm token sends no authentication statement, a revocation is
effective at once in this process and within 1 s in every other one (another connection, the
CLI, two `relata serve` processes), unknown tokens are refused every time, the answers are the
same with and without the cache, and concurrent requests of a new token share one lookup."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app import auth
from app.config import Settings
from app.errors import UNAVAILABLE_MESSAGE
from app.services.tokens import create_token, revoke_token
from app.web import create_app
from db import Database
from db import tokens as token_sql
from tests.hardening_support import client_with
from tests.test_failures import serve, stop_process

# Needs no statement of its own: every statement it reports is the token's lookup.
QUERY = {"query": "{ __typename }"}
VERSION = "2021-07-28"
ROOT = Path(__file__).resolve().parent.parent
# The bound (1 s) plus room for a busy machine's polling.
WITHIN = 1.2


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def ask(client: httpx.AsyncClient, token: str, url: str = "") -> tuple[int, int]:
    """(status, SQL statements) of one request of `QUERY`."""
    r = await client.post(url + "/graphql", json=QUERY, headers=bearer(token))
    return r.status_code, int(r.headers["x-relata-sql-statements"])


async def test_a_warm_token_sends_no_authentication_statement(db, tenant):
    async with client_with(db) as client:  # the real clock (the suite's app stops it)
        await warm_token_sends_no_statement(db, tenant, client)


async def warm_token_sends_no_statement(
    db: Database, tenant: Any, client: httpx.AsyncClient
) -> None:
    token = await create_token(db, tenant.location, "user")
    assert await ask(client, token) == (200, 1)  # the first request pays the lookup
    started = time.monotonic()
    statuses, statements = zip(*[await ask(client, token) for _ in range(20)], strict=True)
    elapsed = time.monotonic() - started
    assert set(statuses) == {200}
    # Every statement is a lookup, and there is at most one a second (none while the machine
    # keeps up: the 20 requests take milliseconds).
    assert sum(statements) <= int(elapsed) + 1, (statements, elapsed)
    # REST takes the same admission: the token is warm there too.
    r = await client.get("/objects/", headers={**bearer(token), "version": VERSION})
    admin = {**bearer(tenant.admin_token), "version": VERSION}
    cold = await client.get("/objects/", headers=admin)
    again = await client.get("/objects/", headers=admin)
    assert r.status_code == cold.status_code == again.status_code == 200
    assert int(cold.headers["x-relata-sql-statements"]) == (
        int(again.headers["x-relata-sql-statements"]) + 1
    )
    assert cold.json() == again.json()
    assert r.headers["x-relata-sql-statements"] == again.headers["x-relata-sql-statements"]


async def test_with_the_cache_off_every_request_looks_the_token_up(db, tenant):
    token = await create_token(db, tenant.location, "user")
    async with client_with(db, auth_cache_seconds=0) as client:
        assert [await ask(client, token) for _ in range(3)] == [(200, 1)] * 3


async def test_a_revocation_in_this_process_is_effective_at_once(db, client, tenant):
    token = await create_token(db, tenant.location, "user")
    async with client_with(db) as other:  # another app of this process: a cache of its own
        for c in (client, other):
            assert (await ask(c, token))[0] == 200
            assert await ask(c, token) == (200, 0)  # warm
        assert await revoke_token(db, token) is True
        for c in (client, other):
            g = await c.post("/graphql", json=QUERY, headers=bearer(token))
            r = await c.get("/objects/", headers={**bearer(token), "version": VERSION})
            assert (g.status_code, r.status_code) == (401, 401)
            assert g.json()["errors"][0]["message"] == r.json()["message"]
            assert r.json()["message"] == "the bearer token is unknown or revoked"
    # The other token of the location, warm before, is looked up again and still valid.
    assert (await ask(client, tenant.user_token))[0] == 200


async def test_a_lookup_in_flight_across_a_revocation_is_not_remembered(
    db, client, tenant, monkeypatch
):
    """The lookup read the row before the revocation committed: the request it was made for is
    admitted (it was concurrent with the revocation), but nothing after the revocation is."""
    token = await create_token(db, tenant.location, "user")
    real = token_sql.find_active_token
    read, release = asyncio.Event(), asyncio.Event()

    async def slow_answer(*args: Any) -> Any:
        row = await real(*args)
        read.set()
        await release.wait()
        return row

    monkeypatch.setattr(token_sql, "find_active_token", slow_answer)
    first = asyncio.create_task(ask(client, token))
    await asyncio.wait_for(read.wait(), 10)
    monkeypatch.setattr(token_sql, "find_active_token", real)
    assert await revoke_token(db, token) is True
    release.set()
    assert (await first)[0] == 200
    assert await ask(client, token) == (401, 1)


async def revoke_elsewhere(pg_dsn: str, token: str) -> None:
    """Revokes `token` the way another process does: its own connection, the statement alone
    (the service would also tell this process's caches, the in-process path)."""
    conn = await asyncpg.connect(pg_dsn)
    try:
        location = auth.token_location(token)
        assert await token_sql.revoke_token(conn, location, auth.hash_token(token))
    finally:
        await conn.close()


async def refused_at(client: httpx.AsyncClient, token: str, url: str = "") -> float:
    """Polls until `token` is refused; the wall-clock time of the first 401, after checking that
    it stays refused."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, _ = await ask(client, token, url)
        if status == 401:
            at = time.time()
            for _ in range(3):
                assert (await ask(client, token, url))[0] == 401
            return at
        assert status == 200
        await asyncio.sleep(0.01)
    raise AssertionError("the revoked token is still admitted after 10 s")


async def test_a_revocation_by_another_connection_is_effective_within_a_second(db, tenant, pg_dsn):
    token = await create_token(db, tenant.location, "user")
    async with client_with(db) as client:  # the real clock (the suite's app stops it)
        # Revoke right after a lookup (the request that paid it), so the answer the cache holds
        # is as fresh as it gets: the longest the revoked token can stay admitted.
        assert await ask(client, token) == (200, 1)
        sent = time.time()
        await revoke_elsewhere(pg_dsn, token)
        elapsed = await refused_at(client, token) - sent
    assert elapsed <= WITHIN, elapsed


async def revoked_at(db: Database, token: str) -> float:
    """When the revocation's transaction started (now(); it committed after), wall clock."""
    value = await db.fetchval(
        "select extract(epoch from revoked_at) from api_tokens"
        " where location_id = $1 and token_hash = $2",
        auth.token_location(token),
        auth.hash_token(token),
    )
    assert value is not None
    return float(value)


async def test_two_servers_refuse_a_token_revoked_by_the_cli_within_a_second(
    db, pg_dsn, tmp_path: Path
):
    environment = {"RELATA_WEBHOOK_WORKER": "0"}
    servers = await asyncio.gather(
        serve(pg_dsn, tmp_path, **environment), serve(pg_dsn, tmp_path, **environment)
    )
    try:
        token = await create_token(db, servers[0].location, "user")
        async with httpx.AsyncClient(timeout=5) as client:
            for s in servers:
                runs = [await ask(client, token, s.url) for _ in range(5)]
                assert {status for status, _ in runs} == {200}
                assert sum(n for _, n in runs) <= 2, runs  # the cache is on: not one a request
            # Both servers poll while `relata token revoke` runs in a third process.
            polls = [asyncio.create_task(refused_at(client, token, s.url)) for s in servers]
            cli = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app.cli",
                "token",
                "revoke",
                token,
                env={**os.environ, "DATABASE_URL": pg_dsn},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=ROOT,
            )
            out, err = await asyncio.wait_for(cli.communicate(), 60)
            assert cli.returncode == 0, err
            refused = await asyncio.gather(*polls)
        revoked = await revoked_at(db, token)
        for at in refused:
            assert at - revoked <= WITHIN, (at - revoked, refused, revoked)
    finally:
        for s in servers:
            stop_process(s)


async def test_an_unknown_token_is_refused_every_time_with_the_same_answer(client):
    unknown = "rlt.eA." + "x" * 43
    answers = []
    for _ in range(3):
        g = await client.post("/graphql", json=QUERY, headers=bearer(unknown))
        r = await client.get("/objects/", headers={**bearer(unknown), "version": VERSION})
        answers.append(
            (g.status_code, g.json(), g.headers["www-authenticate"], r.status_code, r.json())
        )
    assert answers[0][0] == answers[0][3] == 401
    assert answers == [answers[0]] * 3


async def test_concurrent_requests_of_a_new_token_share_one_lookup(db, client, tenant):
    token = await create_token(db, tenant.location, "user")
    results = await asyncio.gather(*[ask(client, token) for _ in range(30)])
    assert {status for status, _ in results} == {200}
    # The request that started the lookup reports it; the others waited for it.
    assert sum(n for _, n in results) == 1, results


async def test_a_closed_pool_is_503_for_a_warm_token_too(pg_dsn, tenant):
    pool = await Database.connect(pg_dsn, min_size=1, max_size=2, acquire_timeout=0.5)
    app = create_app(Settings(), database=pool)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await ask(client, tenant.user_token))[0] == 200
        await pool.close()
        g = await client.post("/graphql", json=QUERY, headers=bearer(tenant.user_token))
        r = await client.get("/objects/", headers={**bearer(tenant.user_token), "version": VERSION})
    assert (g.status_code, r.status_code) == (503, 503)
    assert r.json()["message"] == UNAVAILABLE_MESSAGE


@pytest.mark.parametrize("seconds", ["1.5", "-1"])
def test_serve_refuses_a_cache_longer_than_a_second(seconds, monkeypatch):
    monkeypatch.setenv("RELATA_AUTH_CACHE_SECONDS", seconds)
    with pytest.raises(ValueError, match="at most 1"):
        create_app(Settings.from_env())


def test_relata_serve_refuses_a_cache_longer_than_a_second(tmp_path: Path):
    environment = {**os.environ, "RELATA_AUTH_CACHE_SECONDS": "2", "RELATA_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert "RELATA_AUTH_CACHE_SECONDS must be above 0 and at most 1" in done.stderr
    assert not (tmp_path / "pg").exists()  # refused before the embedded database started
