"""Search by display name (`records(query:)`): the trigram index against a scan, at one location
of N contacts among other locations' records.

    .venv/bin/python -m bench.search [--contacts 100000] [--others 200000] [--repeat 30]

Prints p50 / p95 per pattern with the index and with it dropped (inside a transaction that is
rolled back, so the database is left as it was)."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import string
import time

import asyncpg

from bench.common import DEFAULT_DATA_DIR, say, server_dsn, with_database
from db import records as record_sql
from db.migrate import apply_migrations

DATABASE = "rb_search"
LOCATION = "search"
PATTERNS = {
    "rare 3+ chars": "qzx",
    "common 3 chars": "ann",
    "one name": "Grace Hopper",
    "2 chars": "an",
    "no match": "zzzzqq",
}
FIRST = ["Ann", "Grace", "Ada", "Edsger", "Barbara", "Donald", "Frances", "Alan", "Joan", "Ken"]


def name(rng: random.Random) -> tuple[str, str]:
    last = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 12))).capitalize()
    return rng.choice(FIRST), last


async def load(conn: asyncpg.Connection, contacts: int, others: int) -> None:
    if await conn.fetchval("select count(*) from records where location_id = $1", LOCATION):
        return
    rng = random.Random(7)
    for location, n in ((LOCATION, contacts), ("search-other", others)):
        await conn.execute(
            "insert into locations (id) values ($1) on conflict do nothing", location
        )
        await conn.execute(
            "insert into objects (location_id, key, is_standard, singular_label, plural_label)"
            " values ($1, 'contact', true, 'Contact', 'Contacts') on conflict do nothing",
            location,
        )
        for start in range(0, n, 10_000):
            names = [name(rng) for _ in range(min(10_000, n - start))]
            await conn.execute(
                "insert into records (location_id, object_key, properties, display_name)"
                " select $1, 'contact', jsonb_build_object('firstName', f), f || ' ' || l"
                " from unnest($2::text[], $3::text[]) as t(f, l)",
                location,
                [f for f, _ in names],
                [last for _, last in names],
            )
        say(f"loaded {n} contacts into {location}")
    await conn.execute("analyze records")


async def measure(conn: asyncpg.Connection, repeat: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for label, pattern in PATTERNS.items():
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            await record_sql.list_records(
                conn,
                LOCATION,
                "contact",
                limit=50,
                after=None,
                query=pattern,
                related_to=None,
                association_id=None,
                with_total=True,
            )
            samples.append((time.perf_counter() - started) * 1000)
        timings[label] = samples
    return timings


def row(label: str, samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[18] if len(samples) >= 2 else samples[0]
    return f"| {label} | {statistics.median(samples):.1f} | {p95:.1f} |"


async def main_async(args: argparse.Namespace) -> None:
    admin = server_dsn(args.data_dir)
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", DATABASE):
            await conn.execute(f"create database {DATABASE}")
    finally:
        await conn.close()
    dsn = with_database(admin, DATABASE)
    await apply_migrations(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec("jsonb", encoder=str, decoder=lambda v: v, schema="pg_catalog")
        await load(conn, args.contacts, args.others)
        with_index = await measure(conn, args.repeat)
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("drop index records_display_name_trgm")
            without = await measure(conn, args.repeat)
        finally:
            await transaction.rollback()  # the index stays
    finally:
        await conn.close()
    print(f"\n{args.contacts} contacts at the searched location, {args.others} elsewhere;"
          f" 50 per page with totalCount; ms over {args.repeat} runs\n")  # fmt: skip
    print("| pattern | trigram index p50 | p95 |")
    print("|---|---|---|")
    for label, samples in with_index.items():
        print(row(label, samples))
    print("\n| pattern | no index (scan of the location's contacts) p50 | p95 |")
    print("|---|---|---|")
    for label, samples in without.items():
        print(row(label, samples))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
