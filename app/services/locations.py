from __future__ import annotations

from app.auth import Principal
from db import Database
from db import locations as sql


async def location_name(db: Database, principal: Principal) -> str:
    """The name of the caller's location (any valid token may read its own)."""
    return await sql.location_name(db, principal.location_id) or ""


async def any_location(db: Database) -> bool:
    """Whether any location exists yet (the first start creates one)."""
    return await sql.any_location(db)
