from __future__ import annotations

import logging

import asyncpg

from app import auth
from app.errors import UNAVAILABLE_MESSAGE, BadUserInput, ServiceUnavailable, Unauthenticated
from db import Database, is_database_failure
from db import locations as location_sql
from db import tokens as sql

log = logging.getLogger("relata.auth")


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
    if not location_id or len(location_id) > auth.MAX_LOCATION_ID:
        raise BadUserInput(f"a location id is 1 to {auth.MAX_LOCATION_ID} characters")
    if auth.CONTROL_CHARACTERS.search(location_id):
        raise BadUserInput("a location id must not contain control characters")
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
    """The token's principal. A token that is malformed, unknown or revoked is Unauthenticated
    (401); the database or the pool failing is ServiceUnavailable (503), so monitoring never
    sees an outage that a client can cause without a valid secret. Anything else propagates
    (a bug): app/admission.py, the path every request takes, masks it as a logged 500."""
    location_id = auth.token_location(token)
    digest = auth.hash_token(token)
    try:
        row = await sql.find_active_token(db, location_id, digest)
    except asyncpg.DataError:
        # A value Postgres refuses: the token's fault.
        raise Unauthenticated("the bearer token is not valid") from None
    except Exception as exc:
        # Only a failure of the database or the pool (db.is_database_failure: connections,
        # resources, a statement timeout): a Postgres error that is a bug (an unknown table, a
        # missing privilege) is no outage.
        if not is_database_failure(exc):
            raise
        log.warning("authentication failed: %s", exc.__class__.__name__)
        raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from exc
    if row is None or not auth.hashes_equal(bytes(row["token_hash"]), digest):
        raise Unauthenticated("the bearer token is unknown or revoked")
    return auth.Principal(
        location_id=location_id,
        role=row["role"],
        scopes=frozenset(row["scopes"]),
        token_id=str(row["id"]),
    )
