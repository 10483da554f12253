from __future__ import annotations

import uuid
from typing import Any

from app import ids, pagination, validation
from app.auth import RECORDS_READ, RECORDS_WRITE, RELATIONS_READ, Principal
from app.errors import BadUserInput, NotFound
from app.models import STANDARD_OBJECTS, Page, RecordModel
from app.services import counters, events
from app.services.objects import require_object
from app.services.transactions import in_transaction
from db import Database
from db import records as sql
from db import relations as relation_sql

# Deeper offsets scan more rows than a page is worth; page past them with a cursor.
MAX_OFFSET = 10_000


def record_not_found(record_id: str) -> NotFound:
    return NotFound(f"no record with id {record_id!r}", id=record_id)


async def records_by_uid(
    db: Database, location_id: str, uids: list[uuid.UUID]
) -> dict[uuid.UUID, RecordModel]:
    """The location's records among `uids`, in one statement (for batching loaders: the read
    scope is checked by whoever shows them)."""
    rows = await sql.get_records(db, location_id, uids)
    return {r["id"]: RecordModel.from_row(r) for r in rows}


async def create_record(
    db: Database,
    principal: Principal,
    object_key: Any,
    properties: Any,
    *,
    max_bytes: int = validation.MAX_RECORD_BYTES,
) -> RecordModel:
    principal.require(RECORDS_WRITE)
    props = validation.properties(properties)
    validation.record_size(props, max_bytes)
    location = principal.location_id

    async def insert(conn: Any, lock: str | None) -> RecordModel:
        obj = await require_object(conn, location, object_key, lock=lock)
        validation.typed_properties(obj.key, props)
        display = validation.display_name(obj.key, obj.primary_display_property, props)
        record = RecordModel.from_row(
            await sql.insert_record(conn, location, obj.key, props, display)
        )
        events.record_changed(conn, principal, "RECORD_CREATE", record)
        return record

    # A custom object's display property can change: read it under the lock that change
    # waits for, in the transaction of the insert (standard display properties never change).
    lock = None if validation.normalize_object_key(object_key) in STANDARD_OBJECTS else "record"
    return await in_transaction(db, lambda conn: insert(conn, lock))


async def get_record(db: Database, principal: Principal, record_id: str) -> RecordModel:
    principal.require(RECORDS_READ)
    uid = ids.decode(ids.Kind.RECORD, record_id)
    row = await sql.get_record(db, principal.location_id, uid)
    if row is None:
        raise record_not_found(record_id)
    return RecordModel.from_row(row)


async def update_record(
    db: Database,
    principal: Principal,
    record_id: str,
    properties: Any,
    *,
    merge: bool = True,
    max_bytes: int = validation.MAX_RECORD_BYTES,
) -> RecordModel:
    """Merge `properties` into the record's; a key set to null is removed. The merged record
    is held to the same bounds as a new one."""
    principal.require(RECORDS_WRITE)
    uid = ids.decode(ids.Kind.RECORD, record_id)
    patch = validation.properties(properties)

    async def work(conn: Any) -> RecordModel:
        current = await sql.lock_record(conn, principal.location_id, uid)
        if current is None:
            raise record_not_found(record_id)
        merged = dict(current["properties"]) if merge else {}
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        validation.properties(merged)
        validation.record_size(merged, max_bytes)
        # No lock on the object: a display-property change locks the object, then updates
        # this row; locking the object after the row would deadlock with it. The row lock is
        # enough: that change's UPDATE waits for it and recomputes the name from the
        # properties committed here, and once it has committed the read below sees it.
        obj = await require_object(conn, principal.location_id, current["object_key"])
        validation.typed_properties(obj.key, patch)
        display = validation.display_name(obj.key, obj.primary_display_property, merged)
        row = await sql.update_record(conn, principal.location_id, uid, merged, display)
        assert row is not None
        record = RecordModel.from_row(row)
        events.record_changed(conn, principal, "RECORD_UPDATE", record, changed=list(patch))
        return record

    return await in_transaction(db, work)


async def delete_record(db: Database, principal: Principal, record_id: str) -> int:
    """Delete the record and its relations; return how many relations went with it."""
    principal.require(RECORDS_WRITE)
    uid = ids.decode(ids.Kind.RECORD, record_id)

    async def work(conn: Any) -> int:
        # Lock first: a relation being created to this record either commits before (and is
        # deleted here) or waits and then fails its foreign key: never an orphan.
        current = await sql.lock_record(conn, principal.location_id, uid)
        if current is None:
            raise record_not_found(record_id)
        location = principal.location_id
        removed = await relation_sql.lock_relations_of_record(conn, location, uid)
        # Its relations go with the record (foreign keys, ON DELETE CASCADE), and so do its own
        # counters; the other ends count down.
        await sql.delete_record(conn, location, uid)
        await counters.count_removed(conn, location, removed, skip=uid)
        events.relations_deleted(conn, principal, removed)
        events.record_changed(
            conn,
            principal,
            "RECORD_DELETE",
            RecordModel.from_row(current),
            relations_deleted=len(removed),
        )
        return len(removed)

    return await in_transaction(db, work)


async def list_records(
    db: Database,
    principal: Principal,
    object_key: Any,
    *,
    first: int | None,
    after: str | None,
    query: str | None,
    related_to: str | None = None,
    association_id: str | None = None,
    with_total: bool = False,
    offset: int = 0,
    sort: tuple[str, bool] | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Page:
    """A page of an object's records: by id, forward (`first` after the cursor `after`) or
    backward (`last` before the cursor `before`), keyset (app.pagination); or, with `sort` (a
    key of db.records.SORTABLE, descending?) or an `offset` of at most MAX_OFFSET, by offset
    (forward only)."""
    principal.require(RECORDS_READ)
    win = pagination.window(first=first, after=after, last=last, before=before)
    if win.backward and (sort is not None or offset):
        raise BadUserInput("a sorted or offset page is read forward", field="last")
    if not 0 <= offset <= MAX_OFFSET:
        raise BadUserInput(f"at most the first {MAX_OFFSET} records can be paged to", field="page")
    if sort is not None and sort[0] not in sql.SORTABLE:
        raise BadUserInput(
            f"records can be sorted by {', '.join(sql.SORTABLE)}, not {sort[0]!r}", field="sort"
        )
    key = validation.normalize_object_key(object_key)
    related_uid: uuid.UUID | None = None
    association_uid: uuid.UUID | None = None
    if related_to is not None:
        principal.require(RELATIONS_READ)
        related_uid = ids.decode(ids.Kind.RECORD, related_to, field="relatedTo.recordId")
        if association_id is not None:
            association_uid = ids.decode(
                ids.Kind.ASSOCIATION, association_id, field="relatedTo.associationId"
            )
    search = validation.text(query, "query", required=False, max_len=200)
    rows, total = await sql.list_records(
        db,
        principal.location_id,
        key,
        limit=win.size,
        after=win.after,
        before=win.before,
        backward=win.backward,
        query=search,
        related_to=related_uid,
        association_id=association_uid,
        with_total=with_total,
        offset=offset,
        order=sort,
    )
    if not rows:
        # Only an empty page can hide an unknown object or record, so only then is it checked:
        # a list view costs one statement, not three.
        await require_object(db, principal.location_id, key)
        if (
            related_uid is not None
            and await sql.get_record(db, principal.location_id, related_uid) is None
        ):
            raise record_not_found(str(related_to))
    return win.page([RecordModel.from_row(r) for r in rows], total)


async def get_record_of_object(
    db: Database, principal: Principal, object_key: Any, record_id: str
) -> RecordModel:
    """The record, which must be one of `object_key` (REST nests records under their object):
    a record of another object is as unknown here as one that never existed."""
    key = validation.normalize_object_key(object_key)
    record = await get_record(db, principal, record_id)
    if record.object_key != key:
        raise record_not_found(record_id)
    return record
