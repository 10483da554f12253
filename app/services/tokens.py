from __future__ import annotations

from app import auth
from app.errors import BadUserInput, Unauthenticated
from db import Database
from db import locations as location_sql
from db import tokens as sql


async def create_token(
    db: Database,
    location_id: str,
    role: str,
    scopes: list[str] | None = None,
    *,
    location_name: str = "",
) -> str:
    """A new token for `location_id` (created with its standard objects if new)."""
    location_id = location_id.strip()
    if not location_id or len(location_id) > 100:
        raise BadUserInput("a location id is 1 to 100 characters")
    role = auth.validate_role(role)
    granted = auth.validate_scopes(scopes)
    token = auth.new_token(location_id)
    async with db.transaction() as conn:
        await location_sql.ensure_location(conn, location_id, location_name)
        await sql.insert_token(conn, location_id, auth.hash_token(token), role, granted)
    return token


async def revoke_token(db: Database, token: str) -> bool:
    location_id = auth.token_location(token)
    return await sql.revoke_token(db, location_id, auth.hash_token(token))


async def authenticate(db: Database, token: str) -> auth.Principal:
    location_id = auth.token_location(token)
    digest = auth.hash_token(token)
    row = await sql.find_active_token(db, location_id, digest)
    if row is None or not auth.hashes_equal(bytes(row["token_hash"]), digest):
        raise Unauthenticated("the bearer token is unknown or revoked")
    return auth.Principal(
        location_id=location_id,
        role=row["role"],
        scopes=frozenset(row["scopes"]),
        token_id=str(row["id"]),
    )
