from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg

from db.migrate import apply_migrations, migration_files


async def _fresh_database(pg_dsn: str) -> str:
    name = f"m_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    base, _, query = pg_dsn.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


async def test_migrations_apply_once_and_rerun_is_a_noop(pg_dsn):
    dsn = await _fresh_database(pg_dsn)
    versions = [v for v, _ in migration_files()]
    assert await apply_migrations(dsn) == versions
    assert await apply_migrations(dsn) == []
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("select version from schema_migrations order by version")
        assert [r["version"] for r in rows] == versions
    finally:
        await conn.close()


async def test_concurrent_servers_apply_each_migration_once(pg_dsn):
    dsn = await _fresh_database(pg_dsn)
    results = await asyncio.gather(*(apply_migrations(dsn) for _ in range(6)))
    versions = [v for v, _ in migration_files()]
    # Exactly one starter applied everything; the others found nothing to do.
    assert sorted(results, key=len) == [[]] * 5 + [versions]


async def test_every_key_and_foreign_key_includes_location_id(db):
    rows = await db.fetch(
        "select conrelid::regclass::text as tbl, conname, contype,"
        " array(select a.attname from unnest(c.conkey) k"
        "  join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k) as cols"
        " from pg_constraint c join pg_namespace n on n.oid = c.connamespace"
        " where n.nspname = 'public' and contype in ('p', 'u', 'f')"
    )
    checked = 0
    for r in rows:
        if r["tbl"] in ("schema_migrations", "locations") or re.search(r"_\d+$", r["tbl"]):
            # bookkeeping, the location table whose key *is* the location id, and (on a Citus
            # node) the shards of those two that live there
            continue
        checked += 1
        assert "location_id" in r["cols"], (r["tbl"], r["conname"], r["cols"])
    assert checked >= 10
    tables = await db.fetch(
        "select table_name from information_schema.tables where table_schema = 'public'"
        " and table_type = 'BASE TABLE' and table_name not in ('schema_migrations', 'locations')"
    )
    for t in tables:
        if re.search(r"_\d+$", t["table_name"]):
            continue  # a shard of schema_migrations or locations placed on this Citus node
        has = await db.fetchval(
            "select count(*) from information_schema.columns where table_schema = 'public'"
            " and table_name = $1 and column_name = 'location_id'",
            t["table_name"],
        )
        assert has == 1, t["table_name"]
