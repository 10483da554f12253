from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from db.database import Executor

COLUMNS = "id, object_key, properties, display_name, created_at, updated_at"
# What a record list may be sorted by (API name -> column).
SORTABLE = {"createdAt": "created_at", "updatedAt": "updated_at", "displayName": "display_name"}


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def insert_record(
    conn: Executor, location_id: str, object_key: str, properties: dict[str, Any], display: str
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "insert into records (location_id, object_key, properties, display_name)"
        f" values ($1, $2, $3, $4) returning {COLUMNS}",
        location_id,
        object_key,
        properties,
        display,
    )
    assert row is not None
    return row


async def get_record(conn: Executor, location_id: str, uid: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {COLUMNS} from records where location_id = $1 and id = $2", location_id, uid
    )


async def get_records(
    conn: Executor, location_id: str, uids: list[uuid.UUID], *, lock: bool = False
) -> list[asyncpg.Record]:
    suffix = " order by id for key share" if lock else ""
    return await conn.fetch(
        f"select {COLUMNS} from records where location_id = $1 and id = any($2::uuid[]){suffix}",
        location_id,
        uids,
    )


async def lock_record(conn: Executor, location_id: str, uid: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {COLUMNS} from records where location_id = $1 and id = $2 for update",
        location_id,
        uid,
    )


async def update_record(
    conn: Executor,
    location_id: str,
    uid: uuid.UUID,
    properties: dict[str, Any],
    display: str,
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "update records set properties = $3, display_name = $4, updated_at = now()"
        f" where location_id = $1 and id = $2 returning {COLUMNS}",
        location_id,
        uid,
        properties,
        display,
    )


async def recompute_display_names(
    conn: Executor, location_id: str, object_key: str, display_property: str
) -> int:
    """Set the display name of every record of a custom object from `display_property`, by
    the rule of app.validation.display_name for custom objects (text of a string, number or
    boolean, cut to 500 characters; empty otherwise)."""
    status = await conn.execute(
        "update records set display_name = left(case when jsonb_typeof(properties -> $3::text)"
        " in ('string', 'number', 'boolean') then properties ->> $3::text else '' end, 500)"
        " where location_id = $1 and object_key = $2",
        location_id,
        object_key,
        display_property,
    )
    return int(status.split()[-1])


async def delete_record(conn: Executor, location_id: str, uid: uuid.UUID) -> bool:
    status = await conn.execute(
        "delete from records where location_id = $1 and id = $2", location_id, uid
    )
    return status.endswith(" 1")


async def list_records(
    conn: Executor,
    location_id: str,
    object_key: str,
    *,
    limit: int,
    after: uuid.UUID | None,
    query: str | None,
    related_to: uuid.UUID | None,
    association_id: uuid.UUID | None,
    with_total: bool,
    offset: int = 0,
    order: tuple[str, bool] | None = None,
    before: uuid.UUID | None = None,
    backward: bool = False,
) -> tuple[list[asyncpg.Record], int | None]:
    """One keyset page (ordered by id, which is time-ordered uuidv7) plus the total if asked:
    the first `limit + 1` records after `after` and before `before` (both exclusive), or with
    `backward` the last ones, in descending order. `order` (a column of SORTABLE, descending?)
    sorts by it instead, then by id; with it or an `offset`, pages are taken by offset (the
    cursors are for the id order)."""
    conditions = ["r.location_id = $1", "r.object_key = $2"]
    args: list[Any] = [location_id, object_key]
    if query:
        args.append(_like_pattern(query))
        conditions.append(f"r.display_name ilike ${len(args)}")
    if related_to is not None:
        args.append(related_to)
        rid = f"${len(args)}"
        assoc = ""
        if association_id is not None:
            args.append(association_id)
            assoc = f" and x.association_id = ${len(args)}"
        conditions.append(
            "r.id in ("
            f"select x.second_record_id from relations x where x.location_id = $1"
            f" and x.first_record_id = {rid}{assoc}"
            " union all "
            f"select x.first_record_id from relations x where x.location_id = $1"
            f" and x.second_record_id = {rid}{assoc})"
        )
    where = " and ".join(conditions)
    page_args = list(args)
    page_where = where
    if after is not None:
        page_args.append(after)
        page_where += f" and r.id > ${len(page_args)}"
    if before is not None:
        page_args.append(before)
        page_where += f" and r.id < ${len(page_args)}"
    page_args.append(limit + 1)
    order_by = "r.id desc" if backward else "r.id"
    if order is not None:
        column, descending = order
        direction = " desc" if descending else ""
        order_by = f"r.{SORTABLE[column]}{direction}, r.id{direction}"
    skip = ""
    if offset:
        page_args.append(offset)
        skip = f" offset ${len(page_args)}"
    total_sql = f", (select count(*) from records r where {where}) as total" if with_total else ""
    rows = await conn.fetch(
        f"select {', '.join('r.' + c.strip() for c in COLUMNS.split(','))}{total_sql}"
        f" from records r where {page_where} order by {order_by}"
        f" limit ${len(page_args) - (1 if offset else 0)}{skip}",
        *page_args,
    )
    total: int | None = None
    if with_total:
        if rows:
            total = int(rows[0]["total"])
        else:
            total = int(await conn.fetchval(f"select count(*) from records r where {where}", *args))
    return list(rows), total
