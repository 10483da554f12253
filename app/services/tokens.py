from __future__ import annotations

import logging

import asyncpg

from app import auth
from app.errors import UNAVAILABLE_MESSAGE, BadUserInput, ServiceUnavailable, Unauthenticated
from app.services.token_cache import TokenCache, note_revocation
from db import Database, DatabaseUnavailable, is_database_failure
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
    """Revokes `token`; every TokenCache of this process forgets what it knew at once (other
    processes' within their cache's ttl, at most 1 s)."""
    location_id = auth.token_location(token)
    try:
        return await sql.revoke_token(db, location_id, auth.hash_token(token))
    finally:
        # Even when the statement failed: it may have committed before the failure was seen.
        note_revocation()


async def authenticate(
    db: Database, token: str, *, cache: TokenCache | None = None
) -> auth.Principal:
    """The token's principal. A token that is malformed, unknown or revoked is Unauthenticated
    (401); the database or the pool failing is ServiceUnavailable (503), so monitoring never
    sees an outage that a client can cause without a valid secret. Anything else propagates
    (a bug): app/admission.py, the path every request takes, masks it as a logged 500.

    With `cache` (app/services/token_cache.py) an answer looked up less than its ttl (at most
    1 s) ago is given without a statement, and concurrent lookups of one token are one. The
    answers stay those of the lookup: a database the watchdog knows to be down, or a closed pool,
    is 503 at once, and when the pool has no free connection the token is looked up as without
    the cache (waiting for one; 503 past the pool timeout)."""
    location_id = auth.token_location(token)
    digest = auth.hash_token(token)
    if cache is None:
        return await _lookup(db, location_id, digest)
    _available(db)
    if _exhausted(db):
        return await _lookup(db, location_id, digest)
    return await cache.get(digest, lambda: _lookup(db, location_id, digest))


def _exhausted(db: Database) -> bool:
    """Whether the pool has no connection free nor room to open one: rare, since requests never
    hold the connections kept for token lookups (db/gate.py)."""
    return db.exhausted()


def _available(db: Database) -> None:
    """503 when, without asking the database, it is known not to answer: what the lookup would
    have said, kept on the cached path."""
    try:
        db.available()
        if db.pool.is_closing():
            raise DatabaseUnavailable("the pool is closed")
    except Exception as exc:
        if not is_database_failure(exc):
            raise
        log.warning("authentication failed: %s", exc.__class__.__name__)
        raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from exc


async def _lookup(db: Database, location_id: str, digest: bytes) -> auth.Principal:
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
