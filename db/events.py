"""The change log (migration 0004): appended by every write, read as history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from db.database import Executor

# The columns a writer supplies, in order; position follows the location ($1) in each row.
WRITTEN = (
    "position",
    "type",
    "actor_token_id",
    "object_key",
    "record_id",
    "association_id",
    "association_key",
    "relation_id",
    "first_record_id",
    "second_record_id",
    "first_object_key",
    "second_object_key",
    "first_object_label",
    "second_object_label",
    "data",
)
COLUMNS = "location_id, id, occurred_at, " + ", ".join(WRITTEN)
# Postgres takes at most 32767 parameters in one statement.
_ROWS_PER_INSERT = 32_000 // len(WRITTEN)


async def reserve_positions(conn: Executor, location_id: str, count: int) -> int:
    """Take the next `count` positions of the location; return the last. The row lock this
    takes is held to commit: call it last in the transaction."""
    return int(
        await conn.fetchval(
            "insert into event_positions as p (location_id, last) values ($1, $2)"
            " on conflict (location_id) do update set last = p.last + excluded.last"
            " returning p.last",
            location_id,
            count,
        )
    )


async def insert_events(conn: Executor, location_id: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert events, each a tuple of WRITTEN's values, as multi-row VALUES (router on Citus).
    A value every row of a statement shares is sent once (a batch of 1,000 links shares all but
    its positions, relation and record ids: 4 parameters a row instead of 15). occurred_at
    defaults to now(): the time the transaction began, the same for all its events."""
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        values, args = _values_list(location_id, rows[start : start + _ROWS_PER_INSERT])
        await conn.execute(
            f"insert into events (location_id, {', '.join(WRITTEN)}) values {values}", *args
        )


# The channel writers notify after appending events (payload "<last position>:<location>");
# app/live/hub.py listens. A wake-up only: listeners read the log for the data.
CHANNEL = "relata_events"


async def notify(conn: Executor, location_id: str, last: int) -> None:
    """Raise the wake-up for live subscribers; Postgres delivers it when the transaction
    commits (never for a rollback). It names no table: on Citus it is raised on the node the
    writer is connected to."""
    await conn.execute("select pg_notify($1, $2)", CHANNEL, f"{last}:{location_id}")


def _values_list(location_id: str, chunk: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """The VALUES rows (each led by the location, $1) and their parameters."""
    first = chunk[0]
    args: list[Any] = [location_id]
    slots: list[str | None] = []
    for column, value in enumerate(first):
        if all(row[column] == value for row in chunk):
            args.append(value)
            slots.append(f"${len(args)}")
        else:
            slots.append(None)
    values = []
    for row in chunk:
        cells = ["$1"]
        for column, slot in enumerate(slots):
            if slot is None:
                args.append(row[column])
                cells.append(f"${len(args)}")
            else:
                cells.append(slot)
        values.append(f"({', '.join(cells)})")
    return ", ".join(values), args


def _type_filter(types: Sequence[str] | None, args: list[Any]) -> str:
    if not types:
        return ""
    args.append(list(types))
    return f" and e.type = any(${len(args)}::text[])"


async def list_events(
    conn: Executor,
    location_id: str,
    *,
    after: int,
    limit: int,
    types: Sequence[str] | None = None,
    object_key: str | None = None,
) -> list[asyncpg.Record]:
    """The location's events after a position, oldest first; with `object_key`, those whose
    record, relation ends or object are of that object."""
    args: list[Any] = [location_id, after, limit]
    where = _type_filter(types, args)
    if object_key is not None:
        args.append(object_key)
        n = len(args)
        where += (
            f" and (e.object_key = ${n} or e.first_object_key = ${n} or e.second_object_key = ${n})"
        )
    return await conn.fetch(
        f"select {_prefixed('e')} from events e where e.location_id = $1 and e.position > $2"
        f"{where} order by e.position limit $3",
        *args,
    )


async def record_histories(
    conn: Executor,
    location_id: str,
    record_ids: list[uuid.UUID],
    *,
    after: int,
    limit: int,
    types: Sequence[str] | None = None,
) -> list[asyncpg.Record]:
    """Each record's events after a position (its own and those of relations on either side),
    oldest first, at most `limit` per record plus one to tell whether more follow; one
    statement whatever the number of records. Rows carry `parent_id`."""
    args: list[Any] = [location_id, record_ids, after, limit + 1]
    where = _type_filter(types, args)
    branch = (
        "(select {cols} from events e where e.location_id = $1 and e.{column} = p.parent_id"
        " and e.position > $3{where} order by e.position limit $4)"
    )
    # A record's own events and its relations' never overlap: a relation has no record_id.
    branches = " union all ".join(
        branch.format(cols=_prefixed("e"), column=c, where=where)
        for c in ("record_id", "first_record_id", "second_record_id")
    )
    return await conn.fetch(
        f"select p.parent_id, h.* from unnest($2::uuid[]) as p(parent_id)"
        f" cross join lateral (select * from ({branches}) u order by u.position limit $4) h"
        " order by p.parent_id, h.position",
        *args,
    )


async def get_events(
    conn: Executor, location_id: str, uids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"select {_prefixed('e')} from events e"
        " where e.location_id = $1 and e.id = any($2::uuid[])",
        location_id,
        uids,
    )


async def last_position(conn: Executor, location_id: str) -> int:
    value = await conn.fetchval(
        "select last from event_positions where location_id = $1", location_id
    )
    return int(value or 0)


async def resume_point(conn: Executor, location_id: str, after: int) -> tuple[int | None, int]:
    """The first stored position past `after` (None when there is none) and the last position
    given out, read in one snapshot: a reader resuming after `after` has missed pruned events
    when the first is beyond after + 1, or when there is none although the last is past it."""
    row = await conn.fetchrow(
        "select (select min(position) from events where location_id = $1 and position > $2)"
        " as first_kept,"
        " (select last from event_positions where location_id = $1) as last",
        location_id,
        after,
    )
    assert row is not None
    first = row["first_kept"]
    return (None if first is None else int(first)), int(row["last"] or 0)


async def association_labels(
    conn: Executor, location_id: str, uids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    """The labels each side of these associations has now (the only part that can change)."""
    return await conn.fetch(
        "select id, first_object_label,"
        " coalesce(second_object_label, first_object_label) as second_object_label"
        " from associations where location_id = $1 and id = any($2::uuid[])",
        location_id,
        uids,
    )


async def prune_location(conn: Executor, location_id: str, before: datetime) -> int:
    status = await conn.execute(
        "delete from events where location_id = $1 and occurred_at < $2", location_id, before
    )
    return int(status.split()[-1])


async def prune_all(conn: Executor, before: datetime) -> int:
    """Every location's events older than `before`: the one maintenance statement that spans
    locations (on Citus a multi-shard delete, which the caller allows explicitly)."""
    status = await conn.execute("delete from events where occurred_at < $1", before)
    return int(status.split()[-1])


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in COLUMNS.split(","))
