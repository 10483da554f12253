"""Races on the change-event log with real separate connections: every writer below has its own
HTTP client (and each request its own pooled connection; in the two-location race, two app
instances with a pool each, as two API processes would), and they are fired together. After
each race the log must number the location's events 1..N without a gap or a duplicate, N being
exactly what the successful writes promised, and replay into the tables' state; a reader
polling `events(after: <last position seen>)` meanwhile must see every position, in order."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from app.auth import ALL_SCOPES, Principal
from app.config import Settings
from app.services import associations as association_service
from app.services import records as record_service
from app.services.tokens import create_token
from app.web import create_app
from db import Database
from db import associations as association_sql
from db import events as events_sql
from tests.assoc_support import (
    CREATE_RELATION,
    DELETE_RECORD,
    DELETE_RELATION,
    UPDATE_ASSOCIATION,
    assert_invariants,
    rel,
    uid,
)
from tests.helpers import Api, Response
from tests.test_event_replay_properties import (
    CREATE_RECORD,
    UPDATE_RECORD,
    Replay,
    admin_token_id,
    db_state,
    read_log,
    seed_state,
)

# A reader that selects no `data` may take the largest page.
POSITIONS = (
    "query($after: String) { events(first: 500, after: $after) {"
    " edges { cursor node { position type } } pageInfo { hasNextPage endCursor } } }"
)
CREATE_ASSOCIATION = "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) { id } }"


@contextlib.asynccontextmanager
async def clients(app: Any, n: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`n` independent HTTP clients against the in-process app."""
    async with contextlib.AsyncExitStack() as stack:
        out = []
        for _ in range(n):
            transport = httpx.ASGITransport(app=app)
            out.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://relata.test")
                )
            )
        yield out


@dataclass
class World:
    """A location set up through the API (so its whole log replays): contacts, companies, a
    many-to-many `knows` (contact -> company) and a one-to-one single-label `partner`
    (contact <-> contact) that racing writers contend for."""

    location: str
    token: str
    actor: str
    admin: Api
    contacts: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    knows: str = ""
    partner: str = ""
    setup_events: int = 0


async def make_world(
    db: Database, client: httpx.AsyncClient, contacts: int = 20, companies: int = 8
) -> World:
    location = f"race-{uuid.uuid4().hex[:12]}"
    token = await create_token(db, location, "admin")
    w = World(location, token, await admin_token_id(db, location), Api(client, token, location))
    for i in range(contacts):
        w.contacts.append(await w.admin.create_record("contact", firstName=f"C{i}"))
    for i in range(companies):
        w.companies.append(await w.admin.create_record("company", name=f"Co{i}"))
    w.knows = (
        await w.admin.ok(
            CREATE_ASSOCIATION,
            {
                "i": {
                    "key": "knows",
                    "firstObjectKey": "contact",
                    "secondObjectKey": "company",
                    "firstObjectLabel": "Knower",
                    "secondObjectLabel": "Known",
                }
            },
        )
    )["createAssociation"]["id"]
    w.partner = (
        await w.admin.ok(
            CREATE_ASSOCIATION,
            {
                "i": {
                    "key": "partner",
                    "firstObjectKey": "contact",
                    "secondObjectKey": "contact",
                    "firstObjectLabel": "Partner",
                    "cardinality": "ONE_TO_ONE",
                }
            },
        )
    )["createAssociation"]["id"]
    w.setup_events = contacts + companies + 2
    return w


def scripts(w: World, writers: int, per_writer: int, seed: int) -> list[list[tuple[Any, ...]]]:
    """Each writer's writes: links of distinct pairs (so every successful link is a new
    relation and one event), partner links contending for one slot per contact, updates of a
    few hot records, new records, and deletes of a few doomed contacts that links race with."""
    rng = random.Random(seed)
    hot, doomed, rest = w.contacts[:4], w.contacts[4:8], w.contacts[8:]
    knows_pairs = [(c, co) for c in w.contacts for co in w.companies]
    rng.shuffle(knows_pairs)
    partner_pairs = [(a, b) for i, a in enumerate(w.contacts[4:]) for b in w.contacts[4:][i + 1 :]]
    rng.shuffle(partner_pairs)
    ops: list[tuple[Any, ...]] = []
    total = writers * per_writer
    for d in doomed:
        ops.append(("delete", d))
        ops.append(("delete", d))  # a second try: NOT_FOUND, or racing the first
    while len(ops) < total:
        roll = rng.random()
        if roll < 0.35 and knows_pairs:
            ops.append(("link", w.knows, *knows_pairs.pop()))
        elif roll < 0.5 and partner_pairs:
            ops.append(("link", w.partner, *partner_pairs.pop()))
        elif roll < 0.75:
            ops.append(("update", rng.choice(hot + rest[:2]), rng.randrange(1000)))
        else:
            ops.append(("create", rng.randrange(1000)))
    rng.shuffle(ops)
    return [ops[i::writers] for i in range(writers)]


async def perform(api: Api, op: tuple[Any, ...]) -> tuple[tuple[Any, ...], Response]:
    kind = op[0]
    if kind == "link":
        r = await api.gql(CREATE_RELATION, {"i": rel(*op[1:])})
    elif kind == "update":
        r = await api.gql(UPDATE_RECORD, {"i": {"id": op[1], "properties": {"n": op[2]}}})
    elif kind == "create":
        r = await api.gql(
            CREATE_RECORD, {"i": {"objectKey": "contact", "properties": {"email": f"{op[1]}@x"}}}
        )
    else:
        r = await api.gql(DELETE_RECORD, {"id": op[1]})
    assert r.status == 200, r.body
    if r.body.get("errors"):
        # Only the refusals the race can cause: a limit, a record deleted under the write.
        assert r.code in ("LIMIT_EXCEEDED", "NOT_FOUND"), (op, r.body)
    return op, r


def promised(results: list[tuple[tuple[Any, ...], Response]]) -> int:
    """How many events the successful writes promised: one each, plus one RELATION_DELETE per
    relation a record delete took with it."""
    n = 0
    for op, r in results:
        if r.body.get("errors"):
            continue
        n += 1
        if op[0] == "delete":
            n += r.data["deleteRecord"]["deletedRelationCount"]
    return n


async def writer(api: Api, ops: list[tuple[Any, ...]]) -> list[tuple[tuple[Any, ...], Response]]:
    out = []
    for op in ops:
        out.append(await perform(api, op))
        await asyncio.sleep(0)
    return out


async def positions(db: Database, location: str) -> list[int]:
    rows = await db.fetch(
        "select position from events where location_id = $1 order by position", location
    )
    return [r["position"] for r in rows]


async def check_log(db: Database, w: World, expected: int) -> list[dict[str, Any]]:
    """Positions exactly 1..expected in the table, in the counter and through `Query.events`;
    each transaction's events contiguous; the log replays into the tables' state."""
    assert await positions(db, w.location) == list(range(1, expected + 1))
    assert await events_sql.last_position(db, w.location) == expected
    log = await read_log(w.admin, first=200)
    assert [int(e["position"]) for e in log] == list(range(1, expected + 1))
    assert len({e["id"] for e in log}) == expected
    # A record delete and the relation deletes it cascaded are one transaction: consecutive
    # positions, one occurredAt (Replay checks that they are those relations).
    for i, e in enumerate(log):
        if e["type"] == "RECORD_DELETE":
            k = e["data"]["relationsDeleted"]
            assert {x["occurredAt"] for x in log[i - k : i + 1]} == {e["occurredAt"]}
    replay = Replay(await seed_state(db, w.location), w.actor)
    replay.apply_all(log)
    assert replay.state.snapshot() == (await db_state(db, w.location)).snapshot()
    await assert_invariants(db, w.location)
    return log


async def test_forty_concurrent_writers_number_events_without_gaps(db, app, client):
    w = await make_world(db, client)
    plans = scripts(w, writers=40, per_writer=6, seed=11)
    async with clients(app, 40) as cs:
        done = await asyncio.gather(
            *(writer(Api(c, w.token, w.location), plan) for c, plan in zip(cs, plans, strict=True))
        )
    results = [x for batch in done for x in batch]
    outcomes = {(op[0], "ERR" if r.body.get("errors") else "OK") for op, r in results}
    # The race did race: links refused at the one-to-one limit, deletes and links of the
    # deleted records both ways, and every kind of write succeeded.
    assert {("link", "OK"), ("update", "OK"), ("create", "OK"), ("delete", "OK")} <= outcomes
    assert ("link", "ERR") in outcomes and ("delete", "ERR") in outcomes
    log = await check_log(db, w, w.setup_events + promised(results))
    assert any(e["type"] == "RELATION_DELETE" for e in log), "no delete cascaded a relation"


@dataclass
class Reader:
    """Polls for the events after the last position it saw, until told to stop and caught up.
    Every poll must continue exactly where the previous one ended."""

    seen: list[int] = field(default_factory=list)
    polls_with_news: int = 0

    def take(self, got: list[int]) -> None:
        start = self.seen[-1] if self.seen else 0
        assert got == list(range(start + 1, start + 1 + len(got))), (start, got[:5])
        if got:
            self.polls_with_news += 1
        self.seen += got


async def poll_graphql(api: Api, stop: asyncio.Event, final: asyncio.Future[int]) -> Reader:
    reader = Reader()
    while True:
        after = str(reader.seen[-1]) if reader.seen else None
        r = await api.gql(POSITIONS, {"after": after})
        # Never refused: a write committing during the poll is no sign of pruned events.
        assert not r.body.get("errors"), r.body
        page = r.data["events"]
        reader.take([int(e["node"]["position"]) for e in page["edges"]])
        if page["pageInfo"]["hasNextPage"]:
            continue
        if stop.is_set() and reader.seen and reader.seen[-1] >= await final:
            return reader
        await asyncio.sleep(0)


async def poll_sql(
    dsn: str, location: str, stop: asyncio.Event, final: asyncio.Future[int]
) -> Reader:
    """The same loop on a connection of its own, outside the pool, as tight as it gets."""
    reader = Reader()
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            after = reader.seen[-1] if reader.seen else 0
            rows = await conn.fetch(
                "select position from events where location_id = $1 and position > $2"
                " order by position",
                location,
                after,
            )
            reader.take([r["position"] for r in rows])
            if stop.is_set() and reader.seen and reader.seen[-1] >= await final:
                return reader
            await asyncio.sleep(0)
    finally:
        await conn.close()


async def test_a_polling_reader_never_misses_an_event(db, app, client, pg_dsn):
    w = await make_world(db, client)
    plans = scripts(w, writers=30, per_writer=8, seed=23)
    stop = asyncio.Event()
    final: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    async with clients(app, 31) as cs:
        readers = [
            asyncio.create_task(poll_graphql(Api(cs[-1], w.token, w.location), stop, final)),
            asyncio.create_task(poll_sql(pg_dsn, w.location, stop, final)),
        ]
        try:
            done = await asyncio.gather(
                *(
                    writer(Api(c, w.token, w.location), p)
                    for c, p in zip(cs[:-1], plans, strict=True)
                )
            )
            results = [x for batch in done for x in batch]
            expected = w.setup_events + promised(results)
            final.set_result(expected)
            stop.set()
            graphql_reader, sql_reader = await asyncio.wait_for(asyncio.gather(*readers), 60)
        finally:  # a failed writer must not leave the readers polling for ever
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    full = await positions(db, w.location)
    assert full == list(range(1, expected + 1))
    for reader in (graphql_reader, sql_reader):
        assert reader.seen == full  # the union of what it saw is the whole log, in order
        # It really read while the writers wrote: many polls brought news.
        assert reader.polls_with_news >= 3, reader
    await check_log(db, w, expected)


async def test_two_locations_number_their_events_independently(db, app, client, pg_dsn):
    """Writers of two locations at once, through two app instances (a pool each, as two API
    processes would have): each location's positions are 1..N of its own."""
    second = await Database.connect(pg_dsn, min_size=2, max_size=20)
    other_app = create_app(Settings(max_body_bytes=1_000_000), database=second)
    try:
        worlds = [await make_world(db, client), await make_world(db, client)]
        runs = []
        async with clients(app, 20) as first_clients, clients(other_app, 20) as second_clients:
            for n, w in enumerate(worlds):
                plans = scripts(w, writers=20, per_writer=6, seed=31 + n)
                # Each location's writers are split over both app instances.
                mine = first_clients[n * 10 : n * 10 + 10] + second_clients[n * 10 : n * 10 + 10]
                runs += [
                    writer(Api(c, w.token, w.location), p) for c, p in zip(mine, plans, strict=True)
                ]
            done = await asyncio.gather(*runs)
        for n, w in enumerate(worlds):
            results = [x for batch in done[n * 20 : n * 20 + 20] for x in batch]
            await check_log(db, w, w.setup_events + promised(results))
    finally:
        await second.close()


# --- two bugs found here, fixed in 85a3f6d: their regression tests ---------------------------

# Every read the events resolver may make (under any of their names, old or new).
_RESOLVER_READS = ("list_events", "resume_point", "first_position_after", "last_position")


@pytest.mark.parametrize("nth", [1, 2, 3])
async def test_resuming_at_the_tail_is_never_refused_as_pruned(db, tenant, monkeypatch, nth):
    """A reader at the end of the log polls again while another client's write commits right
    after the resolver's `nth` read of the log (forced by wrapping db.events' readers). Nothing
    was pruned, so the poll must not say so. (It did: the first kept position and the counter
    were read in two snapshots, and a commit between them looked like pruned events.)"""
    await tenant.admin.create_record("contact", firstName="First")
    me = Principal(tenant.location, "admin", frozenset(ALL_SCOPES), "")
    reads: list[str] = []

    def committing_after(name: str, original: Any) -> Any:
        async def read(conn: Any, location_id: str, *a: Any, **kw: Any) -> Any:
            result = await original(conn, location_id, *a, **kw)
            if location_id == tenant.location:
                reads.append(name)
                if len(reads) == nth:  # another client's write commits now
                    await record_service.create_record(db, me, "contact", {"firstName": "B"})
            return result

        return read

    for name in _RESOLVER_READS:
        if hasattr(events_sql, name):
            monkeypatch.setattr(events_sql, name, committing_after(name, getattr(events_sql, name)))
    r = await tenant.admin.gql(POSITIONS, {"after": "1"})
    monkeypatch.undo()
    assert reads, "the resolver read nothing through db.events"
    assert not r.body.get("errors"), (reads, r.body)
    got = [int(e["node"]["position"]) for e in r.data["events"]["edges"]]
    assert got in ([], [2])
    written = 2 if len(reads) >= nth else 1
    assert await positions(db, tenant.location) == list(range(1, written + 1))


async def _citus_lock_waits(db: Database, statement: str) -> int:
    if not await db.fetchval("select exists (select 1 from pg_extension where extname = 'citus')"):
        return 0
    return int(
        await db.fetchval(
            "select count(*) from citus_lock_waits where blocked_statement like $1", statement + "%"
        )
    )


async def wait_for_lock_wait(db: Database, statement: str) -> None:
    """Until a backend waits for a row lock while running `statement...`."""
    for _ in range(500):
        # On Citus the wait happens on the worker holding the shard, where the coordinator's
        # session shows no Lock wait: citus_lock_waits sees it cluster-wide.
        waiting = await db.fetchval(
            "select count(*) from pg_stat_activity"
            " where wait_event_type = 'Lock' and query like $1",
            statement + "%",
        ) or await _citus_lock_waits(db, statement)
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no backend ever waited in {statement!r}")


async def employs(api: Api) -> tuple[str, str, str]:
    """A paired association (Employee / Employer) and a contact and a company to link."""
    fields = {
        "key": "employs",
        "firstObjectKey": "contact",
        "secondObjectKey": "company",
        "firstObjectLabel": "Employee",
        "secondObjectLabel": "Employer",
    }
    a = (await api.ok(CREATE_ASSOCIATION, {"i": fields}))["createAssociation"]["id"]
    contact = await api.create_record("contact", firstName="Ann")
    company = await api.create_record("company", name="Acme")
    return a, contact, company


async def assert_relation_event_names_the_renamed_label(db: Database, tenant: Any) -> None:
    log = await read_log(tenant.admin)
    rename = next(e for e in log if e["type"] == "ASSOCIATION_UPDATE")
    relation_event = log[-1]
    assert relation_event["type"].startswith("RELATION_")
    assert int(relation_event["position"]) > int(rename["position"])
    assert rename["firstObjectLabel"] == "Staff"
    # It said "Employee": the labels read before the rename, though logged after it.
    assert relation_event["firstObjectLabel"] == "Staff", relation_event
    # And so the log does not replay consistently (Replay checks relation labels).
    actor = await admin_token_id(db, tenant.location)
    Replay(await seed_state(db, tenant.location), actor).apply_all(log)


async def test_create_relation_event_carries_the_labels_at_its_position(db, tenant, monkeypatch):
    """createRelation reads the association (outside its transaction), then links. A rename
    is made to commit right after that read, through the service on another connection: the
    relation's event comes after the rename's and must name the new label."""
    api = tenant.admin
    a, contact, company = await employs(api)
    token_uuid = await db.fetchval(
        "select id from api_tokens where location_id = $1 and role = 'admin'", tenant.location
    )
    me = Principal(tenant.location, "admin", frozenset(ALL_SCOPES), str(token_uuid))
    original = association_sql.get_associations
    fired: list[bool] = []

    async def renamed_meanwhile(conn: Any, location_id: str, *args: Any, **kw: Any) -> Any:
        rows = await original(conn, location_id, *args, **kw)
        if location_id == tenant.location and not fired:
            fired.append(True)
            await association_service.update_association(db, me, a, first_object_label="Staff")
        return rows

    monkeypatch.setattr(association_sql, "get_associations", renamed_meanwhile)
    answer = await api.gql(CREATE_RELATION, {"i": rel(a, contact, company)})
    monkeypatch.undo()
    assert fired and not answer.body.get("errors"), answer.body
    await assert_relation_event_names_the_renamed_label(db, tenant)


async def test_delete_relation_event_carries_the_labels_at_its_position(db, tenant, pg_dsn):
    """deleteRelation's locking read of the relation is held on the relation's row lock (taken
    by a separate connection) while the label is renamed; then it proceeds and commits after
    the rename, so its event must name the new label. No code is patched: only the
    interleaving is forced."""
    api = tenant.admin
    a, contact, company = await employs(api)
    made = await api.ok(CREATE_RELATION, {"i": rel(a, contact, company)})
    relation = made["createRelation"]["id"]
    blocker = await asyncpg.connect(pg_dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute(
            "select 1 from relations where location_id = $1 and id = $2 for update",
            tenant.location,
            uid(relation),
        )
        write = asyncio.create_task(api.gql(DELETE_RELATION, {"id": relation}))
        await wait_for_lock_wait(db, "select r.id")
        await api.ok(UPDATE_ASSOCIATION, {"i": {"id": a, "firstObjectLabel": "Staff"}})
        await tx.rollback()
        answer = await asyncio.wait_for(write, 10)
        assert not answer.body.get("errors"), answer.body
    finally:
        await blocker.close()
    await assert_relation_event_names_the_renamed_label(db, tenant)
