from __future__ import annotations

import functools
import uuid
from typing import Any

import asyncpg

from db import associations as association_sql
from db import records as record_sql
from db import rendering
from db.database import Executor

COLUMNS = "id, location_id, association_id, first_record_id, second_record_id, created_at"


def values_list(rows: int, columns: int) -> str:
    """`($1, $2, $3), ($1, $4, $5), ...`: a multi-row VALUES list whose rows all start with the
    location ($1). An INSERT of VALUES with the distribution column given is a single-shard
    router statement on Citus; INSERT ... SELECT FROM unnest is planned through the coordinator."""
    return ", ".join(
        "($1, " + ", ".join(f"${2 + r * columns + c}" for c in range(columns)) + ")"
        for r in range(rows)
    )


async def insert_relations(
    conn: Executor, location_id: str, wanted: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]
) -> list[asyncpg.Record]:
    """Insert the links (association, first record, second record) that do not exist yet;
    return those inserted. The caller counts them (`bump_counters`) in the same transaction."""
    return await conn.fetch(
        "insert into relations (location_id, association_id, first_record_id, second_record_id)"
        f" values {values_list(len(wanted), 3)}"
        " on conflict (location_id, association_id, first_record_id, second_record_id) do nothing"
        f" returning {COLUMNS}",
        location_id,
        *(value for row in wanted for value in row),
    )


async def bump_counters(
    conn: Executor, location_id: str, deltas: list[tuple[uuid.UUID, uuid.UUID, int, int]]
) -> list[asyncpg.Record]:
    """Add each delta to the counter of (association, record, side), creating it at the delta;
    return the counters' new values. The upsert's row lock serialises writers of one record's
    counter, so a limit checked against the returned value holds under any concurrency; the
    rows go in key order, so racing writers take those locks in one order."""
    ordered = sorted(deltas, key=lambda d: (d[0].bytes, d[1].bytes, d[2]))
    return await conn.fetch(
        "insert into relation_counters as rc (location_id, association_id, record_id, side, n)"
        f" values {values_list(len(ordered), 4)}"
        " on conflict (location_id, association_id, record_id, side)"
        " do update set n = rc.n + excluded.n"
        " returning rc.association_id, rc.record_id, rc.side, rc.n",
        location_id,
        *(value for row in ordered for value in row),
    )


async def find_relations(
    conn: Executor,
    location_id: str,
    association_ids: list[uuid.UUID],
    first_ids: list[uuid.UUID],
    second_ids: list[uuid.UUID],
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"select {', '.join('r.' + c.strip() for c in COLUMNS.split(','))}"
        " from relations r join unnest($2::uuid[], $3::uuid[], $4::uuid[])"
        "  as w(association_id, first_record_id, second_record_id)"
        " on r.location_id = $1 and r.association_id = w.association_id"
        " and r.first_record_id = w.first_record_id and r.second_record_id = w.second_record_id",
        location_id,
        association_ids,
        first_ids,
        second_ids,
    )


async def get_relations(
    conn: Executor, location_id: str, uids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"select {COLUMNS} from relations where location_id = $1 and id = any($2::uuid[])",
        location_id,
        uids,
    )


# A relation as its deletion needs it: its ends, and whether its association is symmetric (to
# count it down). Read with a row lock before the delete, because on Citus a DELETE joined to
# another table (USING) is not a single-shard router statement; a locking SELECT join is.
# The association's columns (prefixed a_) name the relation in its RELATION_DELETE event.
_LOCKED = (
    "select r.id, r.location_id, r.association_id, r.first_record_id, r.second_record_id,"
    " r.created_at,"
    " (a.second_object_label is null and a.first_object_key = a.second_object_key) as symmetric,"
    " a.id as a_id, a.location_id as a_location_id, a.key as a_key,"
    " a.association_type as a_association_type, a.first_object_key as a_first_object_key,"
    " a.second_object_key as a_second_object_key, a.first_object_label as a_first_object_label,"
    " a.second_object_label as a_second_object_label,"
    " a.first_to_second_limit as a_first_to_second_limit,"
    " a.second_to_first_limit as a_second_to_first_limit, a.description as a_description,"
    " a.created_at as a_created_at, a.updated_at as a_updated_at"
    " from relations r join associations a on a.location_id = $1 and a.id = r.association_id"
    " where r.location_id = $1"
)


async def lock_relations(
    conn: Executor, location_id: str, uids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"{_LOCKED} and r.id = any($2::uuid[]) order by r.id for update of r", location_id, uids
    )


async def lock_relations_of_record(
    conn: Executor, location_id: str, uid: uuid.UUID
) -> list[asyncpg.Record]:
    """Every relation of a record, on either side (the record itself must be locked first, so
    that no new one can appear before they are deleted)."""
    return await conn.fetch(
        f"{_LOCKED} and (r.first_record_id = $2 or r.second_record_id = $2)"
        " order by r.id for update of r",
        location_id,
        uid,
    )


async def delete_relations(conn: Executor, location_id: str, uids: list[uuid.UUID]) -> int:
    status = await conn.execute(
        "delete from relations where location_id = $1 and id = any($2::uuid[])",
        location_id,
        uids,
    )
    return int(status.split()[-1])


# Optional column groups of `related_pages`; None asks for all of them. "edge": the related
# record's id and object key, and the labels (what an edge is made of, unless rendered).
RELATED_COLUMN_GROUPS = frozenset(
    {
        "edge",
        "record.display_name",
        "record.properties",
        "record.timestamps",
        "relation.created_at",
        "relation.ids",
        "association",
    }
)


def _branch(
    parent_column: str, other_column: str, side: int, filters: str, bounds: str, direction: str
) -> str:
    return (
        f"(select rel.id as rel_id, rel.association_id, rel.first_record_id,"
        f" rel.second_record_id, rel.created_at as rel_created_at,"
        f" rel.{other_column} as other_id, {side} as parent_side"
        f" from relations rel where rel.location_id = $1 and rel.{parent_column} = p.parent_id"
        f"{filters}{bounds} order by rel.id{direction} limit $3)"
    )


def _filters(side: int, placeholders: dict[str, str]) -> str:
    """The filter conditions for one branch (`side` 1: the parent is the first record), given
    the placeholder of each filter argument that was passed."""
    parts = []
    if "association_id" in placeholders:
        parts.append(f" and rel.association_id = {placeholders['association_id']}")
    if "association_key" in placeholders:
        parts.append(
            " and rel.association_id = (select id from associations where location_id = $1"
            f" and key = {placeholders['association_key']})"
        )
    if "object_key" in placeholders:
        other = "second_object_key" if side == 1 else "first_object_key"
        parts.append(
            " and rel.association_id in (select id from associations where location_id = $1"
            f" and {other} = {placeholders['object_key']})"
        )
    return "".join(parts)


# The positions of the columns every row of `related_pages` starts with.
PARENT_ID, RELATION_ID = 0, 1


def per_parent(rendered: rendering.EdgeText | None) -> bool:
    """Whether `related_pages` answers one row per parent (see there)."""
    return rendered is not None and not rendering.is_array(rendered)


def _related_columns(groups: frozenset[str] | None) -> str:
    """The select list: what every edge needs, plus the groups asked for (decoding columns
    nobody reads is a large share of a list view's CPU)."""
    groups = RELATED_COLUMN_GROUPS if groups is None else groups
    cols = ["p.parent_id", "x.rel_id"]  # PARENT_ID, RELATION_ID: by position, for speed
    if "edge" in groups:
        cols += [
            "x.parent_side",
            "r.id as r_id",
            "r.object_key as r_object_key",
            "a.first_object_label as a_first_object_label",
            "a.second_object_label as a_second_object_label",
        ]
    if "relation.created_at" in groups:
        cols.append("x.rel_created_at")
    if "relation.ids" in groups:
        cols += ["x.association_id", "x.first_record_id", "x.second_record_id"]
    if "record.display_name" in groups:
        cols.append("r.display_name as r_display_name")
    if "record.properties" in groups:
        cols.append("r.properties as r_properties")
    if "record.timestamps" in groups:
        cols += ["r.created_at as r_created_at", "r.updated_at as r_updated_at"]
    if "association" in groups:
        cols += [
            f"a.{c.strip()} as a_{c.strip()}"
            for c in association_sql.COLUMNS.split(",")
            if c.strip() not in ("first_object_label", "second_object_label")
        ]
    return ", ".join(cols)


async def related_pages(
    conn: Executor,
    location_id: str,
    parent_ids: list[uuid.UUID],
    *,
    limit: int,
    after: uuid.UUID | None,
    association_id: uuid.UUID | None,
    association_key: str | None,
    object_key: str | None,
    with_total: bool,
    columns: frozenset[str] | None = None,
    before: uuid.UUID | None = None,
    backward: bool = False,
    with_parents: bool = False,
    rendered: rendering.EdgeText | None = None,
) -> list[asyncpg.Record]:
    """One statement for every parent: each parent's first `limit + 1` relations after `after`
    and before `before` (both exclusive), or with `backward` its last ones, with the related
    record and the association joined in, ordered by parent then relation id (descending when
    `backward`). Each parent is paginated on its own (a LATERAL per parent over two
    index-ordered scans, read backward when `backward`), so siblings never truncate one another.
    `columns` picks optional column groups (None: all). With `with_parents`, the parents are
    records read in the same statement (their columns prefixed `p_`; a parent that does not
    exist has no row): a record page is one round trip. With `rendered`, each row also has its
    edge as JSON text, `x_json` (db/rendering.py); when that is plain text (no nested values),
    there is one row per parent instead (`per_parent`): its page's edges joined by commas in
    `x_json`, how many rows were read (`n`, at most `limit + 1`), the page's first and last
    relation ids (`min_id`, `max_id`), `total` and the parent's columns."""
    args: list[Any] = [location_id, parent_ids, limit + 1]
    filters: list[str] = []
    for name, value in (
        ("after", after),
        ("before", before),
        ("association_id", association_id),
        ("association_key", association_key),
        ("object_key", object_key),
    ):
        if value is not None:
            args.append(value)
            filters.append(name)
    sql = _related_sql(tuple(filters), backward, with_total, columns, with_parents, rendered)
    return await conn.fetch(sql, *args)


@functools.lru_cache(maxsize=512)
def _related_sql(
    given: tuple[str, ...],
    backward: bool,
    with_total: bool,
    columns: frozenset[str] | None,
    with_parents: bool,
    rendered: rendering.EdgeText | None = None,
) -> str:
    """The text of `related_pages` for one shape of its arguments (`given`: the optional ones
    passed, in order, numbered from $4): built once per shape, not per request."""
    placeholders = {name: f"${4 + i}" for i, name in enumerate(given)}
    bounds = ""
    if "after" in placeholders:
        bounds += f" and rel.id > {placeholders['after']}"
    if "before" in placeholders:
        bounds += f" and rel.id < {placeholders['before']}"
    direction = " desc" if backward else ""
    f1 = _filters(1, placeholders)
    f2 = _filters(2, placeholders)
    total_sql = ""
    if with_total:
        total_sql = (
            ", (select count(*) from relations rel where rel.location_id = $1"
            f" and rel.first_record_id = p.parent_id{f1})"
            " + (select count(*) from relations rel where rel.location_id = $1"
            f" and rel.second_record_id = p.parent_id{f2}) as total"
        )
    parents = "unnest($2::uuid[]) as p(parent_id)"
    parent_names = [c.strip() for c in record_sql.COLUMNS.split(",")] if with_parents else []
    parent_columns = ""
    one_row_each = per_parent(rendered)
    if with_parents:
        parents = (
            "(select id as parent_id, "
            + ", ".join(f"{c} as p_{c}" for c in parent_names)
            + " from records where location_id = $1 and id = any($2::uuid[])) p"
        )
        # On the first row only: the others would decode the same record again.
        first = f"row_number() over (partition by p.parent_id order by x.rel_id{direction}) = 1"
        parent_columns = ", " + ", ".join(
            f"p.p_{c}" if one_row_each else f"case when {first} then p.p_{c} end as p_{c}"
            for c in parent_names
        )
    edge_text = "" if rendered is None else f", {rendering.edge_sql(rendered)} as x_json"
    # Per parent, its rows' rank in scan order (already sorted: no sort of its own).
    rank = f", row_number() over (order by rel_id{direction}) as rn" if one_row_each else ""
    rows = (
        f"select {_related_columns(columns)}{edge_text}{parent_columns}{total_sql}"
        + (", x.rn" if one_row_each else "")
        + f" from {parents}"
        " left join lateral (select *"
        + rank
        + " from (select * from ("
        + _branch("first_record_id", "second_record_id", 1, f1, bounds, direction)
        + " union all "
        + _branch("second_record_id", "first_record_id", 2, f2, bounds, direction)
        + f") both_sides order by rel_id{direction} limit $3) ranked) x on true"
        " left join records r on r.location_id = $1 and r.id = x.other_id"
        " left join associations a on a.location_id = $1 and a.id = x.association_id"
    )
    if not one_row_each:
        return rows + f" order by p.parent_id, x.rel_id{direction}"
    # One row per parent: the page's edges joined into one text, the
    # page being the first $3 - 1 rows in scan order; `n` rows were read, up to $3.
    page = "filter (where rn < $3 and rel_id is not null)"  # a parent with none has one row
    # uuid has no min/max; its text in the C collation sorts as its bytes do.
    kept = [
        "parent_id",
        "count(rel_id) as n",
        f"string_agg(x_json, ',' order by rel_id) {page} as x_json",
        *(f'({end}(rel_id::text collate "C") {page})::uuid as {end}_id' for end in ("min", "max")),
    ]
    kept += ["max(total) as total"] if with_total else []
    kept += [f"any_value(p_{c}) as p_{c}" for c in parent_names]
    return f"select {', '.join(kept)} from ({rows}) z group by parent_id order by parent_id"


async def list_record_relations(
    conn: Executor,
    location_id: str,
    record_id: uuid.UUID,
    *,
    association_ids: list[uuid.UUID] | None,
    offset: int,
    limit: int,
) -> tuple[list[asyncpg.Record], int]:
    """A record's relations on either side (ordered by relation id, so by creation), each with
    its association's columns prefixed `a_`, one offset page of them, and how many there are."""
    args: list[Any] = [location_id, record_id]
    assoc = ""
    if association_ids is not None:
        args.append(association_ids)
        assoc = f" and rel.association_id = any(${len(args)}::uuid[])"
    mine = (
        "select rel.id from relations rel where rel.location_id = $1"
        f" and rel.first_record_id = $2{assoc}"
        " union"
        " select rel.id from relations rel where rel.location_id = $1"
        f" and rel.second_record_id = $2{assoc}"
    )
    total = int(await conn.fetchval(f"select count(*) from ({mine}) m", *args))
    args.extend([offset, limit])
    rows = await conn.fetch(
        f"select {', '.join('r.' + c.strip() for c in COLUMNS.split(','))}, "
        + association_sql.prefixed_columns("a", "a_")
        + f" from ({mine}) m"
        " join relations r on r.location_id = $1 and r.id = m.id"
        " join associations a on a.location_id = $1 and a.id = r.association_id"
        f" order by r.id offset ${len(args) - 1} limit ${len(args)}",
        *args,
    )
    return list(rows), total
