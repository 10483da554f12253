from __future__ import annotations

import asyncpg

from db.database import Executor


async def insert_token(
    conn: Executor, location_id: str, token_hash: bytes, role: str, scopes: list[str]
) -> None:
    await conn.execute(
        "insert into api_tokens (location_id, token_hash, role, scopes) values ($1, $2, $3, $4)",
        location_id,
        token_hash,
        role,
        scopes,
    )


async def find_active_token(
    conn: Executor, location_id: str, token_hash: bytes
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "select id, token_hash, role, scopes from api_tokens"
        " where location_id = $1 and token_hash = $2 and revoked_at is null",
        location_id,
        token_hash,
    )


async def revoke_token(conn: Executor, location_id: str, token_hash: bytes) -> bool:
    status = await conn.execute(
        "update api_tokens set revoked_at = now()"
        " where location_id = $1 and token_hash = $2 and revoked_at is null",
        location_id,
        token_hash,
    )
    return status.endswith(" 1")
