"""Ordered `.sql` migrations, each in its own transaction, under one advisory lock."""

from __future__ import annotations

from importlib import resources

import asyncpg

# Any constant works; it only has to be the same for every Relata process.
_MIGRATION_LOCK_KEY = 0x52454C415441  # "RELATA"


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("db") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), (folder / name).read_text()) for name in names]


async def apply_migrations(dsn: str) -> list[str]:
    """Apply what is missing; return the versions applied now (empty when up to date)."""
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        # Session lock: a second server starting at once waits here, then finds nothing to do.
        await conn.execute("select pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
        try:
            await conn.execute(
                "create table if not exists schema_migrations ("
                " version text primary key, applied_at timestamptz not null default now())"
            )
            done = {r["version"] for r in await conn.fetch("select version from schema_migrations")}
            for version, sql in migration_files():
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "insert into schema_migrations (version) values ($1)", version
                    )
                applied_now.append(version)
        finally:
            await conn.execute("select pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
    finally:
        await conn.close()
    return applied_now
