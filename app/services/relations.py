from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from app import ids, validation
from app.auth import RELATIONS_READ, RELATIONS_WRITE, Principal
from app.errors import BadUserInput, Conflict, NotFound
from app.models import AssociationModel, RelationModel
from app.services import counters, events
from app.services.transactions import in_transaction
from db import Database
from db import associations as association_sql
from db import records as record_sql
from db import relations as sql

MAX_BATCH = 1000
# Read-back passes of a link batch racing deletes of the same links (see create_linked).
_LINK_PASSES = 5


@dataclass(frozen=True)
class RelationInput:
    association_id: str
    first_record_id: str
    second_record_id: str


def relation_not_found(relation_id: str) -> NotFound:
    return NotFound(f"no relation with id {relation_id!r}", id=relation_id)


async def relations_by_uid(
    db: Database, location_id: str, uids: list[uuid.UUID]
) -> dict[uuid.UUID, RelationModel]:
    """The location's relations among `uids`, in one statement (for batching loaders: the read
    scope is checked by whoever shows them)."""
    rows = await sql.get_relations(db, location_id, uids)
    return {r["id"]: RelationModel.from_row(r) for r in rows}


def _key(row: Any) -> tuple[Any, Any, Any]:
    return row["association_id"], row["first_record_id"], row["second_record_id"]


@dataclass(frozen=True)
class Linked:
    """A relation as created (or found), with the association it was checked against: callers
    answer from these rows, never from a second lookup that a concurrent delete could miss."""

    relation: RelationModel
    association: AssociationModel


async def create_relations(
    db: Database, principal: Principal, items: Sequence[RelationInput], *, field: str = "input"
) -> list[RelationModel]:
    return [linked.relation for linked in await create_linked(db, principal, items, field=field)]


async def create_linked(
    db: Database, principal: Principal, items: Sequence[RelationInput], *, field: str = "input"
) -> list[Linked]:
    """Link records, all or nothing. Existing links are returned as they are (retries are safe);
    ids given in the wrong order are swapped when the two objects differ."""
    principal.require(RELATIONS_WRITE)
    if len(items) > MAX_BATCH:
        raise BadUserInput(f"at most {MAX_BATCH} relations per call, got {len(items)}", field=field)
    if not items:
        return []
    location = principal.location_id
    many = len(items) > 1 or field != "input"

    def at(i: int, name: str) -> str:
        return f"{field}[{i}].{name}" if many else f"{field}.{name}"

    decoded = [
        (
            ids.decode(ids.Kind.ASSOCIATION, it.association_id, field=at(i, "associationId")),
            ids.decode(ids.Kind.RECORD, it.first_record_id, field=at(i, "firstRecordId")),
            ids.decode(ids.Kind.RECORD, it.second_record_id, field=at(i, "secondRecordId")),
        )
        for i, it in enumerate(items)
    ]

    async def work(conn: asyncpg.Connection) -> list[Linked]:
        # The associations are read key-share locked in the transaction of the links: a rename
        # either committed before (and the events name the new labels) or waits for this one.
        association_rows = await association_sql.get_associations(
            conn, location, list({d[0] for d in decoded}), lock=True
        )
        associations = {r["id"]: AssociationModel.from_row(r) for r in association_rows}
        record_rows = await record_sql.get_records(
            conn, location, list({u for d in decoded for u in d[1:]})
        )
        object_of = {r["id"]: r["object_key"] for r in record_rows}
        wanted = _checked(items, decoded, associations, object_of, at)
        found: dict[tuple[Any, Any, Any], RelationModel] = {}
        pending = list(dict.fromkeys(wanted))
        # A link that existed when inserted (so was left alone) can be deleted by another
        # transaction before it is read back: then it is inserted again, on the next pass.
        for _ in range(_LINK_PASSES):
            inserted = await sql.insert_relations(conn, location, pending)
            await counters.count_added(conn, location, inserted, associations)
            for r in inserted:  # only new links: an existing one found again changed nothing
                events.relation_changed(
                    conn,
                    principal,
                    "RELATION_CREATE",
                    associations[r["association_id"]],
                    r["id"],
                    r["first_record_id"],
                    r["second_record_id"],
                    labels_current=True,
                )
            found.update((_key(r), RelationModel.from_row(r)) for r in inserted)
            existing = [w for w in pending if w not in found]
            if existing:
                cols = [list(c) for c in zip(*existing, strict=True)]
                for r in await sql.find_relations(conn, location, cols[0], cols[1], cols[2]):
                    found[_key(r)] = RelationModel.from_row(r)
            pending = [w for w in existing if w not in found]
            if not pending:
                return [Linked(found[w], associations[w[0]]) for w in wanted]
        raise Conflict("the records were linked and unlinked concurrently; retry the request")

    try:
        return await in_transaction(db, work)
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(
            "a record or association was deleted while linking; nothing was linked"
        ) from None


def _checked(
    items: Sequence[RelationInput],
    decoded: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]],
    associations: dict[uuid.UUID, AssociationModel],
    object_of: dict[uuid.UUID, str],
    at: Callable[[int, str], str],
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    """Each link as (association, first record, second record), checked against the rules:
    both records and the association exist, the records are of the association's objects (ids
    given the wrong way round are swapped), no record is linked to itself, and a symmetric
    association stores its ends in one order."""
    wanted: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = []
    for i, (assoc_uid, first, second) in enumerate(decoded):
        item = items[i]
        association = associations.get(assoc_uid)
        if association is None:
            raise NotFound(
                f"no association with id {item.association_id!r}", field=at(i, "associationId")
            )
        for uid, raw, name in (
            (first, item.first_record_id, "firstRecordId"),
            (second, item.second_record_id, "secondRecordId"),
        ):
            if uid not in object_of:
                raise NotFound(f"no record with id {raw!r}", field=at(i, name))
        if first == second:
            raise BadUserInput("a record cannot be linked to itself", field=at(i, "secondRecordId"))
        a_obj, b_obj = object_of[first], object_of[second]
        fk, sk = association.first_object_key, association.second_object_key
        if (a_obj, b_obj) != (fk, sk):
            if fk != sk and (b_obj, a_obj) == (fk, sk):
                first, second = second, first
            else:
                raise BadUserInput(
                    f"association {association.key!r} links a {fk} record to a {sk} record,"
                    f" not a {a_obj} record to a {b_obj} record",
                    field=at(i, "firstRecordId"),
                )
        if association.is_symmetric and second.bytes < first.bytes:
            first, second = second, first
        wanted.append((assoc_uid, first, second))

    return wanted


async def get_relations(
    db: Database, principal: Principal, relation_ids: list[str]
) -> list[RelationModel]:
    principal.require(RELATIONS_READ)
    uids = ids.decode_many(ids.Kind.RELATION, relation_ids)
    rows = await sql.get_relations(db, principal.location_id, uids)
    by_id = {r["id"]: RelationModel.from_row(r) for r in rows}
    for rid, uid in zip(relation_ids, uids, strict=True):
        if uid not in by_id:
            raise relation_not_found(rid)
    return [by_id[u] for u in uids]


@dataclass(frozen=True)
class Removed:
    """A deleted relation: its id and the records it linked (a client removing the edge from
    a cached connection of either record needs the other's id)."""

    id: str
    first_record_id: str
    second_record_id: str


async def delete_relations(
    db: Database, principal: Principal, relation_ids: list[str]
) -> list[Removed]:
    """Delete every listed relation or, if one does not exist, none of them."""
    principal.require(RELATIONS_WRITE)
    if len(relation_ids) > MAX_BATCH:
        raise BadUserInput(f"at most {MAX_BATCH} ids per call", field="ids")
    decoded = ids.decode_many(ids.Kind.RELATION, relation_ids)
    uids = list(dict.fromkeys(decoded))

    async def work(conn: asyncpg.Connection) -> list[Removed]:
        rows = await sql.lock_relations(conn, principal.location_id, uids)
        present = {r["id"]: r for r in rows}
        for rid, uid in zip(relation_ids, decoded, strict=True):
            if uid not in present:
                raise relation_not_found(rid)
        await sql.delete_relations(conn, principal.location_id, uids)
        await counters.count_removed(conn, principal.location_id, rows)
        events.relations_deleted(conn, principal, rows)
        return [
            Removed(
                ids.encode(ids.Kind.RELATION, u),
                ids.encode(ids.Kind.RECORD, present[u]["first_record_id"]),
                ids.encode(ids.Kind.RECORD, present[u]["second_record_id"]),
            )
            for u in uids
        ]

    return await in_transaction(db, work)


async def apply_relation_changes(
    db: Database,
    principal: Principal,
    *,
    add: Sequence[RelationInput],
    remove: Sequence[str],
) -> tuple[list[Linked], list[str]]:
    """Delete the `remove` relations, then create the `add` ones, in one transaction: all of it
    happens or none of it does. Removing first frees slots under the limits for the adds.
    Return the relations asked for in `add` (new or existing, each with its association) and the
    ids removed."""
    principal.require(RELATIONS_WRITE)

    async def work(conn: asyncpg.Connection) -> tuple[list[Linked], list[str]]:
        bound = db.within(conn)
        removed = await delete_relations(bound, principal, list(remove)) if remove else []
        created = await create_linked(bound, principal, add, field="add") if add else []
        return created, [r.id for r in removed]

    return await in_transaction(db, work)


async def list_record_relations(
    db: Database,
    principal: Principal,
    record_id: str,
    *,
    skip: Any = None,
    limit: Any = None,
    association_ids: Sequence[str] | None = None,
) -> tuple[list[Linked], int]:
    """One `skip`/`limit` page of a record's relations (either side, oldest first), each with its
    association, optionally only those of `association_ids`, and how many there are in all."""
    principal.require(RELATIONS_READ)
    offset, size = validation.offset_page(skip, limit)
    uid = ids.decode(ids.Kind.RECORD, record_id, field="recordId")
    assoc_uids = (
        None
        if association_ids is None
        else ids.decode_many(ids.Kind.ASSOCIATION, list(association_ids), field="associationIds")
    )
    if await record_sql.get_record(db, principal.location_id, uid) is None:
        raise NotFound(f"no record with id {record_id!r}", id=record_id)
    rows, total = await sql.list_record_relations(
        db, principal.location_id, uid, association_ids=assoc_uids, offset=offset, limit=size
    )
    linked = [Linked(RelationModel.from_row(r), AssociationModel.from_row(r, "a_")) for r in rows]
    return linked, total
