"""Ordered `.sql` migrations, each in its own transaction, under one advisory lock.

On a Citus coordinator (the `citus` extension present), a migration's companion file
`NNNN_name.citus.sql`, when there is one, runs in the same transaction right after it: it says
how the tables the migration creates are distributed. Migrations run on the coordinator only;
`schema_migrations` is a reference table there, so a server connected to a worker reads it and
refuses to start on a schema older than its code instead of migrating. (The advisory lock that
serialises migrating processes is node-local, which is enough: only the coordinator migrates.)"""

from __future__ import annotations

from importlib import resources

import asyncpg

# Any constant works; it only has to be the same for every Relata process.
_MIGRATION_LOCK_KEY = 0x52454C415441  # "RELATA"
CITUS_SUFFIX = ".citus.sql"


class SchemaBehind(RuntimeError):
    """Connected to a Citus worker whose schema lacks migrations this code needs."""


def migration_files() -> list[tuple[str, str]]:
    """(version, SQL) of every migration, in order; companions are not listed here."""
    folder = resources.files("db") / "migrations"
    names = sorted(
        p.name for p in folder.iterdir() if p.name.endswith(".sql") and CITUS_SUFFIX not in p.name
    )
    return [(name.removesuffix(".sql"), (folder / name).read_text()) for name in names]


def citus_companion(version: str) -> str | None:
    path = resources.files("db") / "migrations" / f"{version}{CITUS_SUFFIX}"
    return path.read_text() if path.is_file() else None


async def citus_role(conn: asyncpg.Connection) -> str | None:
    """None without Citus; else "coordinator" or "worker"."""
    installed = "select exists (select 1 from pg_extension where extname = 'citus')"
    if not await conn.fetchval(installed):
        return None
    return "coordinator" if await conn.fetchval("select citus_is_coordinator()") else "worker"


async def apply_migrations(dsn: str) -> list[str]:
    """Apply what is missing; return the versions applied now (empty when up to date)."""
    conn = await asyncpg.connect(dsn)
    try:
        role = await citus_role(conn)
        if role == "worker":
            await _check_worker_schema(conn)
            return []
        return await _apply(conn, citus=role == "coordinator")
    finally:
        await conn.close()


async def _apply(conn: asyncpg.Connection, *, citus: bool) -> list[str]:
    applied_now: list[str] = []
    # Session lock: a second server starting at once waits here, then finds nothing to do.
    await conn.execute("select pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            "create table if not exists schema_migrations ("
            " version text primary key, applied_at timestamptz not null default now())"
        )
        if citus and not await conn.fetchval(
            "select exists (select 1 from pg_dist_partition"
            " where logicalrelid = 'schema_migrations'::regclass)"
        ):
            await conn.execute("select create_reference_table('schema_migrations')")
        done = {r["version"] for r in await conn.fetch("select version from schema_migrations")}
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                companion = citus_companion(version) if citus else None
                if companion:
                    await conn.execute(companion)
                await conn.execute("insert into schema_migrations (version) values ($1)", version)
            applied_now.append(version)
    finally:
        await conn.execute("select pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
    return applied_now


async def _check_worker_schema(conn: asyncpg.Connection) -> None:
    exists = await conn.fetchval("select to_regclass('schema_migrations') is not null")
    done = (
        {r["version"] for r in await conn.fetch("select version from schema_migrations")}
        if exists
        else set()
    )
    missing = [v for v, _ in migration_files() if v not in done]
    if missing:
        raise SchemaBehind(
            "connected to a Citus worker whose schema lacks migrations "
            + ", ".join(missing)
            + ": run `relata migrate` against the coordinator first"
        )
