"""Generate the bench data set: one location with contacts, companies, two custom objects and
N relations across 6 associations, bulk-loaded with COPY.

    .venv/bin/python -m bench.generate                      # default: 1,000,000 relations
    .venv/bin/python -m bench.generate --relations 20000    # small, while developing
    .venv/bin/python -m bench.generate --relations 10000000 # the top of the scaling curve

Without DATABASE_URL it starts the embedded PostgreSQL under the bench data dir (default
./.bench-data) and puts each size in its own database (rb_<N>), recreated on every run. With
--dsn DSN (or DATABASE_URL) it loads into that existing database instead, migrating it if needed
and replacing the bench location's rows: that is how a Citus cluster is loaded (the database must
already exist on every node with the citus extension and the workers registered, as
`ci/citus/cluster.py start --database rb_<N>` leaves it; `relata migrate`, run here, distributes
the schema on the coordinator).

Relations respect each association's per-direction limits and never repeat; relation_counters
is computed afterwards with one INSERT ... SELECT ... GROUP BY (the server keeps the counters in
its own statements, so COPY bypasses nothing), then checked against the limits. The admin token
and the ids the driver needs go to <data dir>/state-<N>.json.

On Citus (found on 14.0.1): COPY into the distributed tables works (the coordinator routes the
rows to the shard of the one bench location); `session_replication_role = replica` is accepted
on the coordinator but not passed to the workers, so the shards still check foreign keys; the
secondary indexes are dropped and rebuilt on every shard like on a single node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.common import (
    DEFAULT_DATA_DIR,
    DEFAULT_RELATIONS,
    LOCATION,
    ROOT,
    bench_dsn,
    database_name,
    say,
    server_dsn,
    state_path,
    with_database,
)

sys.path.insert(0, str(ROOT))

CHUNK = 200_000

FIRST_NAMES = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Edsger",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Donald",
    "Radia",
    "Tim",
    "Sophie",
    "John",
    "Hedy",
    "Guido",
    "Anita",
]
LAST_NAMES = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Dijkstra",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Knuth",
    "Perlman",
    "Berners-Lee",
    "Wilson",
]


@dataclass
class Assoc:
    key: str
    first: str  # object key
    second: str
    first_label: str
    second_label: str | None
    lim12: int  # firstToSecondLimit: seconds per first record
    lim21: int  # secondToFirstLimit: firsts per second record
    weight: float  # share of the relations
    system: bool = False
    uid: uuid.UUID | None = None
    count: int = 0

    @property
    def symmetric(self) -> bool:
        return self.second_label is None and self.first == self.second


def associations() -> list[Assoc]:
    """Six associations, mixed cardinalities: MANY_TO_ONE (the system one), symmetric
    MANY_TO_MANY, ONE_TO_MANY, one-to-10, one-to-3 and MANY_TO_MANY across objects."""
    return [
        Assoc(
            "contact_company",
            "contact",
            "company",
            "Contact",
            "Company",
            1,
            1000,
            0.10,
            system=True,
        ),
        Assoc("colleague", "contact", "contact", "Colleague", None, 1000, 1000, 0.25),
        Assoc("manager", "contact", "contact", "Manager", "Employee", 1000, 1, 0.05),
        Assoc(
            "property_owner",
            "contact",
            "custom_objects.property",
            "Owner",
            "Property",
            1000,
            10,
            0.15,
        ),
        Assoc(
            "project_sponsor",
            "company",
            "custom_objects.project",
            "Sponsor",
            "Project",
            1000,
            3,
            0.05,
        ),
        Assoc(
            "project_member",
            "contact",
            "custom_objects.project",
            "Member",
            "Project",
            1000,
            1000,
            0.40,
        ),
    ]


def capacity(a: Assoc, n: dict[str, int]) -> int:
    nf, ns = n[a.first], n[a.second]
    if a.symmetric:
        # offsets 1..(n-1)//2 from each record, at most lim/2 of them (see symmetric_pairs)
        return nf * min(headroom(a.lim12) // 2, (nf - 1) // 2)
    per_first = min(headroom(a.lim12), ns - (1 if a.first == a.second else 0))
    return min(nf * per_first, ns * a.lim21)


def allocate(total: int, assocs: list[Assoc], n: dict[str, int]) -> None:
    """Split `total` by weight, capping each association at what its limits allow."""
    left = total
    open_ = list(assocs)
    for a in assocs:
        a.count = 0
    while left > 0 and open_:
        weight = sum(a.weight for a in open_)
        given = 0
        for a in list(open_):
            share = max(1, int(left * a.weight / weight))
            room = capacity(a, n) - a.count
            take = min(share, room, left - given)
            a.count += take
            given += take
            if a.count >= capacity(a, n):
                open_.remove(a)
            if given >= left:
                break
        left -= given
        if given == 0:
            break
    if left > 0:
        raise SystemExit(f"{total} relations do not fit the limits at these record counts")


def skewed_degrees(n: int, total: int, cap: int, rng: random.Random) -> list[int]:
    """`n` degrees summing to `total`, each <= cap, heavy-tailed (a few hubs, many small)."""
    weights = [rng.paretovariate(1.3) for _ in range(n)]
    s = sum(weights)
    degrees = [min(cap, int(total * w / s)) for w in weights]
    deficit = total - sum(degrees)
    order = list(range(n))
    rng.shuffle(order)
    while deficit > 0:
        moved = 0
        for i in order:
            if degrees[i] < cap:
                degrees[i] += 1
                deficit -= 1
                moved += 1
                if deficit == 0:
                    break
        if moved == 0:
            raise SystemExit("degree allocation failed")
    return degrees


def headroom(limit: int) -> int:
    """Hubs stop at 90% of a large limit, so the mutations the driver sends still fit."""
    return limit if limit < 100 else limit * 9 // 10


def directed_pairs(
    a: Assoc, firsts: list[uuid.UUID], seconds: list[uuid.UUID], rng: random.Random
) -> Iterator[tuple[uuid.UUID, uuid.UUID]]:
    """Each first record takes a run of consecutive slots of a cyclic permutation of the second
    records: no pair repeats (a run is shorter than the cycle) and each second record is used
    at most ceil(count / len(seconds)) <= secondToFirstLimit times."""
    same = a.first == a.second
    cap = min(headroom(a.lim12), len(seconds) - 1)
    degrees = skewed_degrees(len(firsts), a.count, cap, rng)
    perm = list(seconds)
    rng.shuffle(perm)
    b = len(perm)
    pos = 0
    order = list(range(len(firsts)))
    rng.shuffle(order)
    for i in order:
        f = firsts[i]
        for j in range(degrees[i]):
            s = perm[(pos + j) % b]
            if same and s == f:
                continue  # never self-linked; one relation fewer
            yield f, s
        pos += degrees[i]


def symmetric_pairs(
    a: Assoc, records: list[uuid.UUID], rng: random.Random
) -> Iterator[tuple[uuid.UUID, uuid.UUID]]:
    """Record i links to i+1 .. i+d_i (cyclically) in a shuffled order; offsets stay under n/2
    so (A,B) and (B,A) never both appear. Stored smaller id first, as the server stores them."""
    perm = list(records)
    rng.shuffle(perm)
    n = len(perm)
    cap = min(headroom(a.lim12) // 2, (n - 1) // 2)
    degrees = skewed_degrees(n, a.count, cap, rng)
    for i, d in enumerate(degrees):
        x = perm[i]
        for j in range(1, d + 1):
            y = perm[(i + j) % n]
            yield (x, y) if x.bytes < y.bytes else (y, x)


async def recreate_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()


async def reset_location(conn: asyncpg.Connection, location: str) -> None:
    for table in (
        "relation_counters",
        "relations",
        "records",
        "associations",
        "objects",
        "api_tokens",
    ):
        await conn.execute(f"delete from {table} where location_id = $1", location)
    await conn.execute("delete from locations where id = $1", location)


async def drop_secondary_indexes(conn: asyncpg.Connection, tables: list[str]) -> list[str]:
    """Drop the indexes and unique constraints that COPY would maintain row by row; return the
    statements that rebuild them."""
    rebuild: list[str] = []
    for table in tables:
        for r in await conn.fetch(
            "select conname, pg_get_constraintdef(oid) as def from pg_constraint"
            " where conrelid = $1::regclass and contype = 'u'",
            table,
        ):
            await conn.execute(f'alter table {table} drop constraint "{r["conname"]}"')
            rebuild.append(f'alter table {table} add constraint "{r["conname"]}" {r["def"]}')
        for r in await conn.fetch(
            "select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def"
            " from pg_index i where i.indrelid = $1::regclass and not i.indisprimary"
            " and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)",
            table,
        ):
            await conn.execute(f"drop index {r['name']}")
            rebuild.append(r["def"])
    return rebuild


def contact_row(i: int, rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    props = {
        "firstName": first,
        "lastName": f"{last}{i}",
        "email": f"c{i}@example.com",
        "phone": f"+1555{i:07d}",
    }
    return json.dumps(props), f"{first} {last}{i}"


async def generate(args: argparse.Namespace) -> None:
    from app.services.tokens import create_token
    from db import Database
    from db.migrate import apply_migrations, citus_role

    rng = random.Random(args.seed)
    use_url = bool(args.dsn or os.environ.get("DATABASE_URL"))
    admin = args.dsn or server_dsn(args.data_dir)
    if use_url:
        dsn = admin
    else:
        name = database_name(args.relations)
        say(f"recreating database {name}")
        await recreate_database(admin, name)
        dsn = with_database(admin, name)
    await apply_migrations(dsn)
    if use_url:
        conn = await asyncpg.connect(dsn)
        say(f"removing location {LOCATION!r} from the target database")
        await reset_location(conn, LOCATION)
        await conn.close()

    db = await Database.connect(dsn, min_size=1, max_size=2)
    token = await create_token(db, LOCATION, "admin", None, location_name="Bench")
    await db.close()

    conn = await asyncpg.connect(dsn)
    loc = LOCATION
    await conn.execute("set synchronous_commit = off")
    await conn.execute("set maintenance_work_mem = '512MB'")
    citus = await citus_role(conn)
    if citus:
        say(f"Citus {citus}: loading the distributed tables through it")
    try:
        # No foreign-key checks during COPY (on a single node; Citus does not pass the setting on
        # to the workers, whose shards check them anyway).
        await conn.execute("set session_replication_role = replica")
        say("foreign-key checks off for this session (session_replication_role = replica)")
    except asyncpg.InsufficientPrivilegeError:
        say("not a superuser: COPY checks foreign keys")

    for key, singular, plural in (
        ("custom_objects.property", "Property", "Properties"),
        ("custom_objects.project", "Project", "Projects"),
    ):
        await conn.execute(
            "insert into objects (location_id, key, singular_label, plural_label)"
            " values ($1, $2, $3, $4)",
            loc,
            key,
            singular,
            plural,
        )

    assocs = associations()
    for a in assocs:
        if a.system:
            a.uid = await conn.fetchval(
                "select id from associations where location_id = $1 and key = $2", loc, a.key
            )
            continue
        a.uid = await conn.fetchval(
            "insert into associations (location_id, key, first_object_key, second_object_key,"
            " first_object_label, second_object_label, first_to_second_limit,"
            " second_to_first_limit) values ($1,$2,$3,$4,$5,$6,$7,$8) returning id",
            loc,
            a.key,
            a.first,
            a.second,
            a.first_label,
            a.second_label,
            a.lim12,
            a.lim21,
        )

    rebuild = await drop_secondary_indexes(conn, ["records", "relations"])

    counts = {
        "contact": args.contacts,
        "company": args.companies,
        "custom_objects.property": args.custom // 2,
        "custom_objects.project": args.custom - args.custom // 2,
    }
    for key, n in counts.items():

        def rows(key: str = key, n: int = n) -> Iterator[tuple[str, str, str, str]]:
            for i in range(n):
                if key == "contact":
                    props, display = contact_row(i, rng)
                else:
                    noun = key.rsplit(".", 1)[-1].capitalize()
                    name = f"{noun} {i}"
                    props = json.dumps(
                        {"name": name, "domain": f"d{i}.example.com"}
                        if key == "company"
                        else {"name": name}
                    )
                    display = name
                yield loc, key, props, display

        await conn.copy_records_to_table(
            "records",
            records=rows(),
            columns=["location_id", "object_key", "properties", "display_name"],
        )
        say(f"records: {n} {key}")
    ids: dict[str, list[uuid.UUID]] = {}
    for key in counts:
        ids[key] = [
            r["id"]
            for r in await conn.fetch(
                "select id from records where location_id = $1 and object_key = $2 order by id",
                loc,
                key,
            )
        ]

    allocate(args.relations, assocs, counts)
    done = 0
    for a in assocs:
        assert a.uid is not None
        if a.symmetric:
            pairs = symmetric_pairs(a, ids[a.first], rng)
        else:
            pairs = directed_pairs(a, ids[a.first], ids[a.second], rng)
        made = 0
        while True:
            chunk = []
            for f, s in pairs:
                chunk.append((loc, a.uid, f, s))
                if len(chunk) >= CHUNK:
                    break
            if not chunk:
                break
            await conn.copy_records_to_table(
                "relations",
                records=chunk,
                columns=["location_id", "association_id", "first_record_id", "second_record_id"],
            )
            made += len(chunk)
            done += len(chunk)
            say(f"relations: {done}/{args.relations} ({a.key}: {made})")
        a.count = made

    say(f"rebuilding {len(rebuild)} indexes and constraints")
    for stmt in rebuild:
        await conn.execute(stmt)
        say(f"  {stmt[:90]}")

    say("computing relation_counters")
    await conn.execute(
        "insert into relation_counters (location_id, association_id, record_id, side, n)"
        " select r.location_id, r.association_id, s.record_id, s.side, count(*)"
        " from relations r"
        " join associations a on a.location_id = r.location_id and a.id = r.association_id"
        " cross join lateral (values"
        "  (r.first_record_id, case when a.is_symmetric then 0 else 1 end::smallint),"
        "  (r.second_record_id, case when a.is_symmetric then 0 else 2 end::smallint)"
        " ) as s(record_id, side)"
        " where r.location_id = $1 group by 1, 2, 3, 4",
        loc,
    )
    over = await conn.fetchval(
        "select count(*) from relation_counters c join associations a"
        " on a.location_id = c.location_id and a.id = c.association_id"
        " where c.location_id = $1 and c.n > case when c.side = 2"
        " then a.second_to_first_limit else a.first_to_second_limit end",
        loc,
    )
    if over:
        raise SystemExit(f"{over} counters exceed their association's limit: generator bug")
    await conn.execute("reset session_replication_role")
    await conn.close()

    conn = await asyncpg.connect(dsn)
    say("vacuum analyze")
    for table in ("records", "relations", "relation_counters", "associations", "objects"):
        await conn.execute(f"vacuum (analyze) {table}")

    # What the driver needs: hubs for Q1 (records with >= 50 relations), companies with
    # contacts for Q3, and plain contacts / projects for the mutations.
    hubs = [
        r["record_id"]
        for r in await conn.fetch(
            "select record_id from relation_counters where location_id = $1"
            " group by record_id having sum(n) >= 50 order by record_id limit 500",
            loc,
        )
    ]
    if len(hubs) < 20:
        hubs = [
            r["record_id"]
            for r in await conn.fetch(
                "select record_id from relation_counters where location_id = $1"
                " group by record_id order by sum(n) desc limit 200",
                loc,
            )
        ]
    companies = [
        r["record_id"]
        for r in await conn.fetch(
            "select record_id from relation_counters where location_id = $1 and association_id = $2"
            " and side = 2 order by n desc, record_id limit 500",
            loc,
            assocs[0].uid,
        )
    ]
    total = await conn.fetchval("select count(*) from relations where location_id = $1", loc)
    hub_degree = await conn.fetchval(
        "select avg(t) from (select sum(n) t from relation_counters where location_id = $1"
        " and record_id = any($2::uuid[]) group by record_id) x",
        loc,
        hubs,
    )
    await conn.close()

    def enc(u: uuid.UUID, kind: str = "rec") -> str:
        return f"{kind}_{u.hex}"

    sample = random.Random(args.seed + 1)
    state = {
        "relations": args.relations,
        "relations_loaded": total,
        "database": None if use_url else database_name(args.relations),
        "citus": citus,
        "location": loc,
        "token": token,
        "counts": counts,
        "associations": {
            a.key: {
                "id": enc(a.uid, "asc"),
                "uuid": str(a.uid),
                "relations": a.count,
                "limits": [a.lim12, a.lim21],
            }
            for a in assocs
            if a.uid is not None
        },
        "q1_records": [enc(u) for u in hubs],
        "q1_avg_degree": float(hub_degree or 0),
        "q3_companies": [enc(u) for u in companies],
        "contacts": [enc(u) for u in sample.sample(ids["contact"], min(5000, len(ids["contact"])))],
        "projects": [
            enc(u)
            for u in sample.sample(
                ids["custom_objects.project"], min(5000, len(ids["custom_objects.project"]))
            )
        ],
    }
    path = state_path(args.data_dir, args.relations)
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    path.write_text(json.dumps(state, indent=1))
    path.chmod(0o600)
    (Path(args.data_dir) / "admin-token").write_text(token + "\n")
    say(
        f"done: {total} relations over {sum(counts.values())} records; "
        + ", ".join(f"{a.key}={a.count}" for a in assocs)
    )
    say(f"state (token, sample ids) in {path}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--relations", type=int, default=DEFAULT_RELATIONS)
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--companies", type=int, default=20_000)
    p.add_argument(
        "--custom",
        type=int,
        default=50_000,
        help="custom records, split between two custom objects",
    )
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument(
        "--dsn",
        help="load into this existing database (e.g. a Citus coordinator) instead of recreating"
        " rb_<N> in the embedded server; overrides DATABASE_URL",
    )
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    asyncio.run(generate(args))
    _ = bench_dsn  # re-exported for the driver


if __name__ == "__main__":
    main()
