"""Webhooks and their deliveries (migration 0005). Every statement names its location, so each is
a single-shard router statement on Citus; the one exception is the worker's read of the
`webhook_locations` directory (a reference table, copied to every node)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from db.database import Executor
from db.relations import values_list

WEBHOOK_COLUMNS = (
    "location_id, id, url, event_types, object_key, active, scanned_position, created_at,"
    " updated_at"
)
DELIVERY_COLUMNS = (
    "location_id, webhook_id, event_position, event_id, event_type, status, attempts,"
    " next_attempt_at, claimed_until, last_status_code, last_error, last_attempt_at, created_at"
)
# What the worker supplies for each new delivery, after the location ($1).
_DELIVERY_WRITTEN = ("webhook_id", "event_position", "event_id", "event_type", "ordering_keys")
_ROWS_PER_INSERT = 32_000 // len(_DELIVERY_WRITTEN)


# --- the API's statements ----------------------------------------------------------------------


async def count_webhooks(conn: Executor, location_id: str) -> int:
    return int(
        await conn.fetchval("select count(*) from webhooks where location_id = $1", location_id)
    )


async def insert_webhook(
    conn: Executor,
    location_id: str,
    *,
    url: str,
    event_types: list[str],
    object_key: str | None,
    secret: str,
    scanned_position: int,
) -> asyncpg.Record:
    """A new webhook receives the events after `scanned_position` (the location's last one)."""
    row = await conn.fetchrow(
        "insert into webhooks (location_id, url, event_types, object_key, secret,"
        f" scanned_position) values ($1, $2, $3, $4, $5, $6) returning {WEBHOOK_COLUMNS}",
        location_id,
        url,
        event_types,
        object_key,
        secret,
        scanned_position,
    )
    assert row is not None
    return row


async def add_webhook_location(conn: Executor, location_id: str) -> None:
    await conn.execute(
        "insert into webhook_locations (location_id) values ($1) on conflict do nothing",
        location_id,
    )


async def remove_webhook_location(conn: Executor, location_id: str) -> None:
    await conn.execute("delete from webhook_locations where location_id = $1", location_id)


async def list_webhooks(conn: Executor, location_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"select {WEBHOOK_COLUMNS} from webhooks where location_id = $1 order by id", location_id
    )


async def get_webhook(
    conn: Executor, location_id: str, uid: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {WEBHOOK_COLUMNS} from webhooks where location_id = $1 and id = $2"
        + (" for update" if lock else ""),
        location_id,
        uid,
    )


async def update_webhook(
    conn: Executor,
    location_id: str,
    uid: uuid.UUID,
    *,
    url: str,
    event_types: list[str],
    active: bool,
    resume_after: int | None,
) -> asyncpg.Record | None:
    """Change a webhook; `resume_after` (set when it goes from inactive to active) restarts its
    scan there, the location's last event: what happened while it was off is not sent."""
    return await conn.fetchrow(
        "update webhooks set url = $3, event_types = $4, active = $5, updated_at = now(),"
        " scanned_position = coalesce($6::bigint, scanned_position)"
        f" where location_id = $1 and id = $2 returning {WEBHOOK_COLUMNS}",
        location_id,
        uid,
        url,
        event_types,
        active,
        resume_after,
    )


async def delete_webhook(conn: Executor, location_id: str, uid: uuid.UUID) -> bool:
    status = await conn.execute(
        "delete from webhooks where location_id = $1 and id = $2", location_id, uid
    )
    return status.endswith(" 1")


async def list_deliveries(
    conn: Executor, location_id: str, webhook_id: uuid.UUID, *, before: int | None, limit: int
) -> list[asyncpg.Record]:
    """A webhook's deliveries, newest event first, before an event position."""
    return await conn.fetch(
        f"select {DELIVERY_COLUMNS} from webhook_deliveries"
        " where location_id = $1 and webhook_id = $2 and event_position < $3"
        " order by event_position desc limit $4",
        location_id,
        webhook_id,
        before if before is not None else 2**62,
        limit,
    )


async def get_delivery(
    conn: Executor, location_id: str, webhook_id: uuid.UUID, event_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {DELIVERY_COLUMNS} from webhook_deliveries"
        " where location_id = $1 and webhook_id = $2 and event_id = $3",
        location_id,
        webhook_id,
        event_id,
    )


async def redeliver(
    conn: Executor, location_id: str, webhook_id: uuid.UUID, event_id: uuid.UUID
) -> asyncpg.Record | None:
    """Back to pending, due now, attempts from 0; a delivery being sent right now is left to
    finish (None)."""
    return await conn.fetchrow(
        "update webhook_deliveries set status = 'pending', attempts = 0, next_attempt_at = now(),"
        " claimed_until = null, claim = null"
        " where location_id = $1 and webhook_id = $2 and event_id = $3"
        " and not (status = 'pending' and claimed_until > now())"
        f" returning {DELIVERY_COLUMNS}",
        location_id,
        webhook_id,
        event_id,
    )


# --- the worker's statements -------------------------------------------------------------------


async def webhook_locations(conn: Executor) -> list[str]:
    """Every location with a webhook: the directory (a reference table on Citus)."""
    rows = await conn.fetch("select location_id from webhook_locations order by location_id")
    return [r["location_id"] for r in rows]


async def lock_active_webhooks(conn: Executor, location_id: str) -> list[asyncpg.Record]:
    """The location's active webhooks that no other worker holds, locked to this transaction:
    one worker at a time scans and claims for a webhook."""
    return await conn.fetch(
        "select id, url, secret, event_types, object_key, scanned_position from webhooks"
        " where location_id = $1 and active order by id for update skip locked",
        location_id,
    )


async def insert_deliveries(
    conn: Executor, location_id: str, rows: Sequence[Sequence[Any]]
) -> None:
    """New pending deliveries, each (webhook_id, event_position, event_id, event_type,
    ordering_keys), as multi-row VALUES (a router statement on Citus)."""
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        await conn.execute(
            f"insert into webhook_deliveries (location_id, {', '.join(_DELIVERY_WRITTEN)})"
            f" values {values_list(len(chunk), len(_DELIVERY_WRITTEN))}"
            " on conflict do nothing",
            location_id,
            *(value for row in chunk for value in row),
        )


async def advance_scans(
    conn: Executor, location_id: str, webhook_ids: list[uuid.UUID], position: int
) -> None:
    await conn.execute(
        "update webhooks set scanned_position = $3"
        " where location_id = $1 and id = any($2::uuid[]) and scanned_position < $3",
        location_id,
        webhook_ids,
        position,
    )


async def pending_counts(
    conn: Executor, location_id: str, webhook_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per webhook with pending deliveries: (being sent now, due and unclaimed)."""
    rows = await conn.fetch(
        "select webhook_id, count(*) filter (where claimed_until > now()) as in_flight,"
        " count(*) filter (where next_attempt_at <= now()"
        " and (claimed_until is null or claimed_until <= now())) as due"
        " from webhook_deliveries"
        " where location_id = $1 and webhook_id = any($2::uuid[]) and status = 'pending'"
        " group by webhook_id",
        location_id,
        webhook_ids,
    )
    return {r["webhook_id"]: (int(r["in_flight"]), int(r["due"])) for r in rows}


async def release(
    conn: Executor,
    location_id: str,
    webhook_id: uuid.UUID,
    event_position: int,
    claim_id: uuid.UUID,
) -> None:
    """Give back a claim whose attempt never ran to its end (the worker is stopping): due at
    once for the next worker, the attempt not counted."""
    await conn.execute(
        "update webhook_deliveries set claimed_until = null, claim = null,"
        " attempts = greatest(attempts - 1, 0)"
        " where location_id = $1 and webhook_id = $2 and event_position = $3 and claim = $4",
        location_id,
        webhook_id,
        event_position,
        claim_id,
    )


async def claim(
    conn: Executor,
    location_id: str,
    webhook_id: uuid.UUID,
    *,
    limit: int,
    lease_seconds: float,
    claim_id: uuid.UUID,
) -> list[asyncpg.Record]:
    """Claim up to `limit` due deliveries of one webhook, oldest first, for `lease_seconds`:
    only those with no earlier pending delivery sharing an ordering key (one record's events
    go out one at a time, in order). A lease that ran out (its worker died) is claimable."""
    return await conn.fetch(
        "update webhook_deliveries d set claimed_until = now() + make_interval(secs => $4),"
        " claim = $5, attempts = d.attempts + 1"
        " where d.location_id = $1 and d.webhook_id = $2 and d.event_position in ("
        "  select c.event_position from webhook_deliveries c"
        "  where c.location_id = $1 and c.webhook_id = $2 and c.status = 'pending'"
        "  and c.next_attempt_at <= now()"
        "  and (c.claimed_until is null or c.claimed_until <= now())"
        "  and not exists (select 1 from webhook_deliveries e"
        "   where e.location_id = $1 and e.webhook_id = $2 and e.status = 'pending'"
        "   and e.event_position < c.event_position and e.ordering_keys && c.ordering_keys)"
        "  order by c.event_position limit $3 for update skip locked)"
        " returning d.event_position, d.event_id, d.event_type, d.attempts",
        location_id,
        webhook_id,
        limit,
        float(lease_seconds),
        claim_id,
    )


async def record_outcome(
    conn: Executor,
    location_id: str,
    webhook_id: uuid.UUID,
    event_position: int,
    claim_id: uuid.UUID,
    *,
    status: str,
    status_code: int | None,
    error: str | None,
    retry_in_seconds: float,
) -> bool:
    """The result of one attempt, if the claim is still ours (a lease that ran out may have been
    claimed again: then the later claim records its own)."""
    result = await conn.execute(
        "update webhook_deliveries set status = $5, last_status_code = $6, last_error = $7,"
        " last_attempt_at = now(), claimed_until = null, claim = null,"
        " next_attempt_at = now() + make_interval(secs => $8)"
        " where location_id = $1 and webhook_id = $2 and event_position = $3 and claim = $4",
        location_id,
        webhook_id,
        event_position,
        claim_id,
        status,
        status_code,
        error,
        float(retry_in_seconds),
    )
    return result.endswith(" 1")
