from __future__ import annotations

import asyncpg

from db.database import Executor

_COLUMNS = (
    "id, key, is_standard, singular_label, plural_label, description,"
    " primary_display_property, created_at, updated_at"
)


async def list_objects(conn: Executor, location_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"select {_COLUMNS} from objects where location_id = $1 order by is_standard desc, key",
        location_id,
    )


# Row locks on an object, by what the caller is about to do with its records.
LOCKS = {
    None: "",
    # Creating a record, whose display name follows the object's display property (an update
    # relies on its row lock instead: see app.services.records.update_record).
    "record": " for key share",
    # Changing the display property: waits for record writers and holds off new ones.
    "display": " for update",
}


async def get_object_by_key(
    conn: Executor, location_id: str, key: str, *, lock: str | None = None
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {_COLUMNS} from objects where location_id = $1 and key = $2{LOCKS[lock]}",
        location_id,
        key,
    )


async def get_object_by_id(conn: Executor, location_id: str, uid: object) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {_COLUMNS} from objects where location_id = $1 and id = $2", location_id, uid
    )


async def get_objects_by_keys(
    conn: Executor, location_id: str, keys: list[str]
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"select {_COLUMNS} from objects where location_id = $1 and key = any($2::text[])",
        location_id,
        keys,
    )


async def count_custom_objects(conn: Executor, location_id: str) -> int:
    return int(
        await conn.fetchval(
            "select count(*) from objects where location_id = $1 and not is_standard", location_id
        )
    )


async def insert_object(
    conn: Executor,
    location_id: str,
    key: str,
    singular: str,
    plural: str,
    description: str | None,
    primary_display_property: str,
) -> asyncpg.Record | None:
    """The new object, or None when the key is taken."""
    return await conn.fetchrow(
        "insert into objects (location_id, key, is_standard, singular_label, plural_label,"
        " description, primary_display_property) values ($1, $2, false, $3, $4, $5, $6)"
        f" on conflict (location_id, key) do nothing returning {_COLUMNS}",
        location_id,
        key,
        singular,
        plural,
        description,
        primary_display_property,
    )


async def update_object(
    conn: Executor,
    location_id: str,
    key: str,
    singular: str,
    plural: str,
    description: str | None,
    primary_display_property: str,
) -> asyncpg.Record | None:
    """The changed custom object, or None when there is no such custom object."""
    return await conn.fetchrow(
        "update objects set singular_label = $3, plural_label = $4, description = $5,"
        " primary_display_property = $6, updated_at = now()"
        " where location_id = $1 and key = $2 and not is_standard"
        f" returning {_COLUMNS}",
        location_id,
        key,
        singular,
        plural,
        description,
        primary_display_property,
    )
