"""A database that stops answering (every PostgreSQL process SIGSTOPped for 10 s, as a VM
pause or a stuck storage volume would): every request is answered within the pool timeout,
`/readyz` says unavailable, and after SIGCONT the server recovers by itself with no
acknowledged write lost."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import asyncpg
import httpx

from app import ids
from tests.test_failures import CREATE, OwnPostgres, assert_clean_failure, serve, stop_process
from tests.test_failures import own_pg as own_pg  # noqa: F401 - the module's own Postgres

POOL_TIMEOUT = 2.0
# What HTTP and a loaded CI machine add on top of the bound.
SLACK = 1.0
FROZEN_FOR = 10.0


def postgres_pids(pgdata: Path) -> list[int]:
    """The postmaster and every process it forked (backends, checkpointer, ...)."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == postmaster:
            pids.append(int(entry))
    return pids


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


class Frozen:
    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.pids: list[int] = []

    def __enter__(self) -> Frozen:
        self.pids = postgres_pids(self.pgdata)
        signal_all(self.pids, signal.SIGSTOP)
        return self

    def __exit__(self, *_: object) -> None:
        # Thaw processes forked meanwhile too (none should be: the postmaster is stopped).
        signal_all(sorted(set(self.pids) | set(postgres_pids(self.pgdata))), signal.SIGCONT)


def _pgdata(own_pg: OwnPostgres) -> Path:
    return Path(own_pg.server.pgdata)


async def test_frozen_database_is_answered_within_the_pool_timeout(
    own_pg: OwnPostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    served = await serve(own_pg.dsn, tmp_path, RELATA_POOL_TIMEOUT=str(POOL_TIMEOUT))
    headers = {"authorization": f"Bearer {served.token}"}
    rest_headers = {**headers, "version": "2021-07-28"}
    acknowledged: list[str] = []
    stop = asyncio.Event()

    async def writer(client: httpx.AsyncClient, n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = await client.post(
                    served.url + "/graphql",
                    json={
                        "query": CREATE,
                        "variables": {"i": {"objectKey": "contact", "properties": {"n": i}}},
                    },
                    headers=headers,
                )
                body = r.json()
                if r.status_code == 200 and body.get("data"):
                    acknowledged.append(body["data"]["createRecord"]["id"])
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.02)

    try:
        async with httpx.AsyncClient(timeout=60) as client:
            writers = [asyncio.create_task(writer(client, n)) for n in range(4)]
            await asyncio.sleep(1.0)
            before_freeze = len(acknowledged)
            assert before_freeze > 0
            probes: list[tuple[str, float, int]] = []
            with Frozen(_pgdata(own_pg)):
                frozen_at = time.monotonic()
                while time.monotonic() - frozen_at < FROZEN_FOR - 2 * (POOL_TIMEOUT + SLACK):
                    for name, request in (
                        (
                            "graphql",
                            client.post(
                                served.url + "/graphql",
                                json={"query": "{ viewer { role } }"},
                                headers=headers,
                            ),
                        ),
                        (
                            "graphql write",
                            client.post(
                                served.url + "/graphql",
                                json={
                                    "query": CREATE,
                                    "variables": {"i": {"objectKey": "contact"}},
                                },
                                headers=headers,
                            ),
                        ),
                        ("rest", client.get(served.url + "/objects/", headers=rest_headers)),
                        ("readyz", client.get(served.url + "/readyz")),
                    ):
                        started = time.monotonic()
                        r = await request
                        elapsed = time.monotonic() - started
                        probes.append((name, elapsed, r.status_code))
                        assert elapsed < POOL_TIMEOUT + SLACK, (name, elapsed, r.text)
                        if name == "readyz":
                            assert r.status_code == 503, r.text
                        elif name == "rest":
                            assert r.status_code in (500, 503), r.text
                            assert "Traceback" not in r.text
                        else:
                            assert_clean_failure(r.status_code, r.json(), r.text)
                    await asyncio.sleep(0.2)
                # The writers' requests in flight when the freeze began were answered too.
                await asyncio.sleep(POOL_TIMEOUT + SLACK)
                stalled = len(acknowledged)
                remaining = FROZEN_FOR - (time.monotonic() - frozen_at)
                if remaining > 0:
                    await asyncio.sleep(remaining)
            thawed_at = time.monotonic()
            while (await client.get(served.url + "/readyz")).status_code != 200:
                assert time.monotonic() - thawed_at < 10, "no recovery after SIGCONT"
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*writers)
            assert len(acknowledged) > stalled, "writes did not resume after the thaw"
            assert len(probes) >= 4
    finally:
        stop.set()
        stop_process(served)

    conn = await asyncpg.connect(own_pg.dsn)
    try:
        uids = [ids.decode(ids.Kind.RECORD, i) for i in acknowledged]
        found = await conn.fetchval(
            "select count(*) from records where location_id = $1 and id = any($2::uuid[])",
            served.location,
            uids,
        )
    finally:
        await conn.close()
    assert found == len(acknowledged), "an acknowledged write was lost"


def test_postgres_pids_finds_the_backends(own_pg: OwnPostgres) -> None:  # noqa: F811
    pids = postgres_pids(_pgdata(own_pg))
    assert len(pids) > 1  # the postmaster and its background workers


async def test_a_connection_checked_out_during_a_stall_is_cut_too(
    own_pg: OwnPostgres,  # noqa: F811
) -> None:
    """A request that passed the health check just before the stall was declared may get its
    connection after the watchdog's first cut: the next unanswered ping cuts it as well, so its
    statement fails within a ping round instead of waiting out the 30 s command timeout."""
    from db.database import Database, Watchdog

    db = await Database.connect(own_pg.dsn, min_size=2, max_size=4, acquire_timeout=2.0)
    db.watchdog = Watchdog(db, own_pg.dsn, interval=0.3, timeout=0.7)
    db.watchdog.start()
    try:
        with Frozen(_pgdata(own_pg)):
            deadline = time.monotonic() + 5
            while db.watchdog.healthy and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            assert not db.watchdog.healthy, "the watchdog never saw the stall"
            # What Database._checked_out does once past its health check: an idle pooled
            # connection is handed out at once, and counted busy.
            async with db.pool.acquire() as conn:
                db.busy.add(conn)
                started = time.monotonic()
                try:
                    await asyncio.wait_for(conn.fetchval("select 1"), 5)
                    raise AssertionError("a frozen database answered")
                except (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.InterfaceError):
                    pass
                finally:
                    db.busy.discard(conn)
                assert time.monotonic() - started < 0.3 + 0.7 + SLACK
    finally:
        await db.close()
