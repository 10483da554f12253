from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from db.database import Executor

COLUMNS = (
    "id, location_id, key, association_type, first_object_key, second_object_key,"
    " first_object_label, second_object_label, first_to_second_limit, second_to_first_limit,"
    " description, created_at, updated_at"
)


def prefixed_columns(alias: str, prefix: str) -> str:
    return ", ".join(f"{alias}.{c.strip()} as {prefix}{c.strip()}" for c in COLUMNS.split(","))


async def list_associations(
    conn: Executor,
    location_id: str,
    object_key: str | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[asyncpg.Record]:
    args: list[Any] = [location_id]
    where = "location_id = $1"
    if object_key is not None:
        args.append(object_key)
        where += " and (first_object_key = $2 or second_object_key = $2)"
    args.append(offset)
    sql = f"select {COLUMNS} from associations where {where} order by id offset ${len(args)}"
    if limit is not None:
        args.append(limit)
        sql += f" limit ${len(args)}"
    return await conn.fetch(sql, *args)


async def count_associations(conn: Executor, location_id: str) -> int:
    return int(
        await conn.fetchval("select count(*) from associations where location_id = $1", location_id)
    )


async def get_associations(
    conn: Executor, location_id: str, uids: list[uuid.UUID], *, lock: bool = False
) -> list[asyncpg.Record]:
    """With `lock`, FOR KEY SHARE in id order: the rows cannot be renamed or deleted until the
    caller's transaction ends (what a relation insert's foreign key takes anyway)."""
    suffix = " order by id for key share" if lock else ""
    return await conn.fetch(
        f"select {COLUMNS} from associations where location_id = $1 and id = any($2::uuid[])"
        f"{suffix}",
        location_id,
        uids,
    )


async def get_association(
    conn: Executor, location_id: str, uid: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    suffix = " for update" if lock else ""
    return await conn.fetchrow(
        f"select {COLUMNS} from associations where location_id = $1 and id = $2{suffix}",
        location_id,
        uid,
    )


async def get_association_by_key(
    conn: Executor, location_id: str, key: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {COLUMNS} from associations where location_id = $1 and key = $2",
        location_id,
        key,
    )


async def count_for_pair(conn: Executor, location_id: str, a: str, b: str) -> tuple[int, int]:
    """How many associations the unordered pair of objects has, and the location in all."""
    row = await conn.fetchrow(
        "select count(*) filter (where (first_object_key = $2 and second_object_key = $3)"
        " or (first_object_key = $3 and second_object_key = $2)) as pair, count(*) as total"
        " from associations where location_id = $1",
        location_id,
        a,
        b,
    )
    assert row is not None
    return int(row["pair"]), int(row["total"])


async def insert_association(
    conn: Executor,
    location_id: str,
    *,
    key: str,
    first_object_key: str,
    second_object_key: str,
    first_object_label: str,
    second_object_label: str | None,
    first_to_second_limit: int,
    second_to_first_limit: int,
    description: str | None,
) -> asyncpg.Record | None:
    """The new association, or None when the key is taken."""
    return await conn.fetchrow(
        "insert into associations (location_id, key, first_object_key, second_object_key,"
        " first_object_label, second_object_label, first_to_second_limit,"
        " second_to_first_limit, description) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        f" on conflict (location_id, key) do nothing returning {COLUMNS}",
        location_id,
        key,
        first_object_key,
        second_object_key,
        first_object_label,
        second_object_label,
        first_to_second_limit,
        second_to_first_limit,
        description,
    )


async def update_association_labels(
    conn: Executor,
    location_id: str,
    uid: uuid.UUID,
    *,
    first_object_label: str,
    second_object_label: str | None,
    description: str | None,
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "update associations set first_object_label = $3, second_object_label = $4,"
        " description = $5, updated_at = now()"
        f" where location_id = $1 and id = $2 returning {COLUMNS}",
        location_id,
        uid,
        first_object_label,
        second_object_label,
        description,
    )


async def count_relations_of(conn: Executor, location_id: str, uid: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            "select count(*) from relations where location_id = $1 and association_id = $2",
            location_id,
            uid,
        )
    )


async def count_relations_of_many(
    conn: Executor, location_id: str, uids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await conn.fetch(
        "select a.id, (select count(*) from relations r where r.location_id = $1"
        " and r.association_id = a.id) as n"
        " from unnest($2::uuid[]) as a(id)",
        location_id,
        uids,
    )
    return {r["id"]: int(r["n"]) for r in rows}


async def delete_relations_of(
    conn: Executor, location_id: str, uid: uuid.UUID
) -> list[asyncpg.Record]:
    """Delete the association's relations; return each one's id and records, oldest first."""
    rows = await conn.fetch(
        "delete from relations where location_id = $1 and association_id = $2"
        " returning id, first_record_id, second_record_id",
        location_id,
        uid,
    )
    return sorted(rows, key=lambda r: r["id"])


async def delete_association(conn: Executor, location_id: str, uid: uuid.UUID) -> bool:
    status = await conn.execute(
        "delete from associations where location_id = $1 and id = $2", location_id, uid
    )
    return status.endswith(" 1")
