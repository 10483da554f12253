"""The change log: writes stage their events here and `in_transaction` appends them in the same
transaction, just before commit; readers page through them by position."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from app import ids, validation
from app.auth import (
    ASSOCIATIONS_READ,
    RECORDS_READ,
    RELATIONS_READ,
    SCHEMA_READ,
    Principal,
)
from app.errors import BadUserInput, Forbidden, NotFound
from app.models import (
    EVENT_TYPES,
    AssociationModel,
    EventModel,
    ObjectSchemaModel,
    Page,
    RecordModel,
)
from db import Database
from db import events as sql
from db import records as record_sql


@dataclass
class _Staged:
    conn: asyncpg.Connection
    location_id: str | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    # Rows whose association labels were read without a lock: re-read at flush.
    unlocked_labels: set[int] = field(default_factory=set)


_staged: contextvars.ContextVar[_Staged | None] = contextvars.ContextVar(
    "relata_staged_events", default=None
)


@contextlib.contextmanager
def staging(conn: asyncpg.Connection) -> Iterator[_Staged | None]:
    """Collect the events of a transaction on `conn`. Yields the collection to flush, or None
    inside a transaction that already collects on this connection (a nested service call, whose
    events then go out with the outer one's)."""
    current = _staged.get()
    if current is not None and current.conn is conn:
        yield None
        return
    staged = _Staged(conn)
    token = _staged.set(staged)
    try:
        yield staged
    finally:
        _staged.reset(token)


async def flush(staged: _Staged) -> None:
    """Number and insert the staged events: the last statements of their transaction."""
    if not staged.rows or staged.location_id is None:
        return
    count = len(staged.rows)
    last = await sql.reserve_positions(staged.conn, staged.location_id, count)
    await _label_relations_as_of_now(staged)
    rows = [(last - count + 1 + i, *row) for i, row in enumerate(staged.rows)]
    await sql.insert_events(staged.conn, staged.location_id, rows)
    await sql.notify(staged.conn, staged.location_id, last)
    staged.rows.clear()
    staged.unlocked_labels.clear()


# Where a staged row (WRITTEN's columns without the position) keeps the association's id and
# the labels of its two sides.
_ASSOCIATION_ID = sql.WRITTEN.index("association_id") - 1
_FIRST_LABEL = sql.WRITTEN.index("first_object_label") - 1
_SECOND_LABEL = sql.WRITTEN.index("second_object_label") - 1


async def _label_relations_as_of_now(staged: _Staged) -> None:
    """Give relation events whose association was read without a lock (a delete joins it while
    locking only the relation: locking it too would deadlock with a cascading delete) the labels
    as they stand at their positions (the key and objects never change): a rename may have
    committed since that read, but once the positions are reserved every event before them is
    committed and none after them is, so the labels read now are the ones at these positions."""
    wanted = {staged.rows[i][_ASSOCIATION_ID] for i in staged.unlocked_labels}
    if not wanted:
        return
    assert staged.location_id is not None
    current = {
        r["id"]: r
        for r in await sql.association_labels(staged.conn, staged.location_id, list(wanted))
    }
    for i in staged.unlocked_labels:
        row = list(staged.rows[i])
        a = current.get(row[_ASSOCIATION_ID])
        if a is not None:  # gone: deleted in this same transaction, whose rows say it all
            row[_FIRST_LABEL], row[_SECOND_LABEL] = (
                a["first_object_label"],
                a["second_object_label"],
            )
            staged.rows[i] = tuple(row)


def _stage(
    conn: Any,
    principal: Principal,
    type_: str,
    *,
    object_key: str | None = None,
    record_id: uuid.UUID | None = None,
    association: AssociationModel | None = None,
    relation_id: uuid.UUID | None = None,
    first_record_id: uuid.UUID | None = None,
    second_record_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    staged = _staged.get()
    bound = getattr(conn, "conn", conn)  # a Database bound to a transaction (db.within)
    if staged is None or staged.conn is not bound:
        raise RuntimeError(f"a {type_} event outside the transaction of its change")
    if staged.location_id not in (None, principal.location_id):
        raise RuntimeError("one transaction's events belong to one location")
    staged.location_id = principal.location_id
    token_id = _actor(principal)
    a = association
    staged.rows.append(
        (
            type_,
            token_id,
            object_key,
            record_id,
            None if a is None else a.uid,
            None if a is None else a.key,
            relation_id,
            first_record_id,
            second_record_id,
            None if a is None else a.first_object_key,
            None if a is None else a.second_object_key,
            None if a is None else a.label_of_first(),
            None if a is None else a.label_of_second(),
            data or {},
        )
    )


def _actor(principal: Principal) -> uuid.UUID | None:
    """The token's id; None for changes made by the server itself (the demo data)."""
    try:
        return uuid.UUID(principal.token_id)
    except ValueError:
        return None


def object_changed(conn: Any, principal: Principal, type_: str, obj: ObjectSchemaModel) -> None:
    _stage(
        conn,
        principal,
        type_,
        object_key=obj.key,
        data={
            "key": obj.key,
            "labels": {"singular": obj.singular_label, "plural": obj.plural_label},
            "description": obj.description,
            "primaryDisplayProperty": obj.primary_display_property,
        },
    )


def record_changed(
    conn: Any,
    principal: Principal,
    type_: str,
    record: RecordModel,
    *,
    changed: Sequence[str] | None = None,
    relations_deleted: int | None = None,
) -> None:
    data: dict[str, Any] = {"properties": record.properties, "displayName": record.display_name}
    if changed is not None:
        data["changed"] = sorted(changed)  # the names set or removed
    if relations_deleted is not None:
        data["relationsDeleted"] = relations_deleted
    _stage(conn, principal, type_, object_key=record.object_key, record_id=record.uid, data=data)


def association_changed(
    conn: Any,
    principal: Principal,
    type_: str,
    association: AssociationModel,
    *,
    relations_deleted: int | None = None,
) -> None:
    a = association
    data: dict[str, Any] = {
        "key": a.key,
        "associationType": a.association_type,
        "firstObjectKey": a.first_object_key,
        "secondObjectKey": a.second_object_key,
        "firstObjectLabel": a.first_object_label,
        "secondObjectLabel": a.label_of_second(),
        "isPaired": a.second_object_label is not None,
        "cardinality": a.cardinality,
        "firstToSecondLimit": a.first_to_second_limit,
        "secondToFirstLimit": a.second_to_first_limit,
        "description": a.description,
    }
    if relations_deleted is not None:
        data["relationsDeleted"] = relations_deleted
    _stage(conn, principal, type_, association=a, data=data)


def relation_changed(
    conn: Any,
    principal: Principal,
    type_: str,
    association: AssociationModel,
    relation_id: uuid.UUID,
    first_record_id: uuid.UUID,
    second_record_id: uuid.UUID,
    *,
    labels_current: bool = False,
) -> None:
    """`labels_current`: the association was read under a lock held to commit (its labels are
    those at this event's position); otherwise they are read again at flush."""
    _stage(
        conn,
        principal,
        type_,
        association=association,
        relation_id=relation_id,
        first_record_id=first_record_id,
        second_record_id=second_record_id,
    )
    if not labels_current:
        staged = _staged.get()
        assert staged is not None  # _stage checked it
        staged.unlocked_labels.add(len(staged.rows) - 1)


def relations_deleted(conn: Any, principal: Principal, rows: Sequence[Any]) -> None:
    """RELATION_DELETE for each locked row (db.relations.lock_relations: a_-prefixed
    association columns beside the relation's)."""
    associations: dict[uuid.UUID, AssociationModel] = {}
    for r in rows:
        a = associations.get(r["association_id"])
        if a is None:
            a = associations[r["association_id"]] = AssociationModel.from_row(r, "a_")
        relation_changed(
            conn,
            principal,
            "RELATION_DELETE",
            a,
            r["id"],
            r["first_record_id"],
            r["second_record_id"],
        )


# --- reading -------------------------------------------------------------------------------

# The scope that lets a token read each kind of event.
_READ_SCOPE = {
    "RECORD": RECORDS_READ,
    "OBJECT": SCHEMA_READ,
    "ASSOCIATION": ASSOCIATIONS_READ,
    "RELATION": RELATIONS_READ,
}


def readable_types(principal: Principal, wanted: Sequence[str] | None) -> list[str]:
    """The event types asked for (all when None) that the token may read."""
    for t in wanted or ():
        if t not in EVENT_TYPES:
            raise BadUserInput(f"unknown event type {t!r}", field="types")
    return [
        t for t in (wanted or EVENT_TYPES) if principal.has_scope(_READ_SCOPE[t.split("_", 1)[0]])
    ]


def position_cursor(after: str | None, field_name: str = "after") -> int:
    """A position given back by a client (an event's `position` or an edge's cursor)."""
    if after is None:
        return 0
    if not isinstance(after, str) or not after.isascii() or not after.isdigit() or len(after) > 18:
        raise BadUserInput(f"{field_name} {after!r} is not an event position", field=field_name)
    return int(after)


def _page(rows: list[Any], size: int, after: int) -> Page:
    return Page(
        items=[EventModel.from_row(r) for r in rows[:size]],
        has_next=len(rows) > size,
        has_previous=after > 0,
    )


async def list_events(
    db: Database,
    principal: Principal,
    *,
    first: int | None,
    after: str | None,
    types: Sequence[str] | None = None,
    object_key: str | None = None,
) -> Page:
    """The location's events after `after`, oldest first (admin). Resuming from a position
    whose successors were pruned is refused: the reader would miss them silently."""
    if not principal.is_admin:
        raise Forbidden("only an admin token may read the location's events", role="admin")
    size = validation.page_size(first)
    start = position_cursor(after)
    visible = readable_types(principal, types)
    if not visible:
        return Page(items=[], has_next=False, has_previous=start > 0)
    key = None if object_key is None else validation.normalize_object_key(object_key)
    rows = await sql.list_events(
        db, principal.location_id, after=start, limit=size + 1, types=visible, object_key=key
    )
    # Nothing can be missing when the next position itself came back (unfiltered).
    if start > 0 and not (not types and key is None and rows and rows[0]["position"] == start + 1):
        await require_resumable(db, principal.location_id, start)
    return _page(rows, size, start)


async def require_resumable(db: Database, location_id: str, after: int) -> None:
    first_kept, last = await sql.resume_point(db, location_id, after)
    if first_kept is None:
        if last > after:
            raise BadUserInput(
                f"the events after position {after} have been pruned; start again without `after`",
                field="after",
            )
    elif first_kept > after + 1:
        raise BadUserInput(
            f"the events after position {after} have been pruned; the oldest kept is"
            f" position {first_kept}",
            field="after",
        )


async def record_histories(
    db: Database,
    principal: Principal,
    record_ids: list[uuid.UUID],
    *,
    first: int | None,
    after: str | None,
    types: Sequence[str] | None = None,
) -> dict[uuid.UUID, Page]:
    """Each record's history page (its events and its relations', oldest first) in one
    statement whatever the number of records."""
    principal.require(RECORDS_READ)
    size = validation.page_size(first)
    start = position_cursor(after)
    visible = history_types(principal, types)
    if not visible or not record_ids:
        return {r: Page(items=[], has_next=False, has_previous=start > 0) for r in record_ids}
    rows = await sql.record_histories(
        db, principal.location_id, record_ids, after=start, limit=size, types=visible
    )
    grouped: dict[uuid.UUID, list[Any]] = {r: [] for r in record_ids}
    for r in rows:
        grouped[r["parent_id"]].append(r)
    return {r: _page(rs, size, start) for r, rs in grouped.items()}


async def record_history(
    db: Database,
    principal: Principal,
    record_id: str,
    *,
    first: int | None,
    after: str | None,
    types: Sequence[str] | None = None,
) -> Page:
    """One record's history (REST). A deleted record's history stays readable; an id that
    never had any event in this location is NOT_FOUND."""
    uid = ids.decode(ids.Kind.RECORD, record_id, field="recordId")
    page = (await record_histories(db, principal, [uid], first=first, after=after, types=types))[
        uid
    ]
    if not page.items and position_cursor(after) == 0:
        await require_record_or_past(db, principal, uid, record_id)
    return page


def history_types(principal: Principal, types: Sequence[str] | None = None) -> list[str]:
    """The event types of a record's history (its own and its relations') the token reads."""
    return [t for t in readable_types(principal, types) if t.startswith(("RECORD_", "RELATION_"))]


async def require_record_or_past(
    db: Database, principal: Principal, uid: uuid.UUID, record_id: str
) -> None:
    """NOT_FOUND unless the record exists or once did here (a deleted record's history stays
    readable); an id that never had an event in this location reads like an unknown one."""
    if await record_sql.get_record(db, principal.location_id, uid) is not None:
        return
    if not await sql.record_histories(db, principal.location_id, [uid], after=0, limit=1):
        raise NotFound(f"no record with id {record_id!r}", id=record_id)


async def get_event(db: Database, principal: Principal, event_id: str) -> EventModel:
    """An event by id: FORBIDDEN unless the token could read it in a listing (its kind's scope;
    object and association events only in the admin's location log)."""
    uid = ids.decode(ids.Kind.EVENT, event_id)
    rows = await sql.get_events(db, principal.location_id, [uid])
    if not rows:
        raise NotFound(f"no event with id {event_id!r}", id=event_id)
    kind = rows[0]["type"].split("_", 1)[0]
    principal.require(_READ_SCOPE[kind], admin=kind in ("OBJECT", "ASSOCIATION"))
    return EventModel.from_row(rows[0])


async def prune(db: Database, *, older_than_days: float, location_id: str | None = None) -> int:
    """Delete events older than the given age, of one location or of all; return how many.
    A reader resuming from a pruned position is then told so (`require_resumable`)."""
    if older_than_days < 0:
        raise BadUserInput("the retention must be zero or more days", field="days")
    async with db.transaction() as conn:
        cutoff = await conn.fetchval(
            "select now() - make_interval(secs => $1)", older_than_days * 86400
        )
        if location_id is not None:
            return await sql.prune_location(conn, location_id, cutoff)
        # The one statement that spans locations: allowed here (multi-shard on Citus).
        await conn.execute("set local citus.multi_task_query_log_level = off")
        return await sql.prune_all(conn, cutoff)
