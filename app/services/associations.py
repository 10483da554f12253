from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from app import ids, validation
from app.auth import ASSOCIATIONS_READ, ASSOCIATIONS_WRITE, Principal
from app.errors import BadUserInput, Conflict, Forbidden, LimitExceeded, NotFound
from app.models import MAX_ASSOCIATIONS, AssociationModel
from app.services import events
from app.services.objects import require_object
from app.services.transactions import in_transaction
from db import Database
from db import associations as sql
from db import locations as location_sql
from db.database import Executor

MAX_LIMIT = 1000
MAX_PER_PAIR = 10
PRESETS: dict[str, tuple[int, int]] = {
    "MANY_TO_MANY": (MAX_LIMIT, MAX_LIMIT),
    "ONE_TO_MANY": (MAX_LIMIT, 1),
    "MANY_TO_ONE": (1, MAX_LIMIT),
    "ONE_TO_ONE": (1, 1),
}


def association_not_found(association_id: str) -> NotFound:
    return NotFound(f"no association with id {association_id!r}", id=association_id)


async def require_association(
    conn: Executor,
    location_id: str,
    association_id: str,
    *,
    field: str = "associationId",
    lock: bool = False,
) -> AssociationModel:
    uid = ids.decode(ids.Kind.ASSOCIATION, association_id, field=field)
    row = await sql.get_association(conn, location_id, uid, lock=lock)
    if row is None:
        raise association_not_found(association_id)
    return AssociationModel.from_row(row)


def _limit(raw: Any, field: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_LIMIT:
        raise BadUserInput(f"{field} must be an integer from 1 to {MAX_LIMIT}", field=field)
    return raw


def resolve_limits(cardinality: Any, first_to_second: Any, second_to_first: Any) -> tuple[int, int]:
    """A preset (default MANY_TO_MANY) with any explicit per-direction limit overriding it."""
    preset = "MANY_TO_MANY" if cardinality is None else str(cardinality)
    if preset not in PRESETS:
        raise BadUserInput(f"cardinality must be one of {', '.join(PRESETS)}", field="cardinality")
    f2s, s2f = PRESETS[preset]
    if first_to_second is not None:
        f2s = _limit(first_to_second, "firstToSecondLimit")
    if second_to_first is not None:
        s2f = _limit(second_to_first, "secondToFirstLimit")
    return f2s, s2f


async def list_associations(
    db: Database, principal: Principal, object_key: Any = None
) -> list[AssociationModel]:
    principal.require(ASSOCIATIONS_READ)
    key = None
    if object_key is not None:
        key = (await require_object(db, principal.location_id, object_key)).key
    rows = await sql.list_associations(db, principal.location_id, key)
    return [AssociationModel.from_row(r) for r in rows]


async def get_association(
    db: Database, principal: Principal, association_id: str
) -> AssociationModel:
    principal.require(ASSOCIATIONS_READ)
    return await require_association(db, principal.location_id, association_id, field="id")


async def get_association_by_key(db: Database, principal: Principal, key: str) -> AssociationModel:
    principal.require(ASSOCIATIONS_READ)
    # No key holds a NUL (and Postgres text cannot carry one): not found, not a server error.
    row = (
        None if "\x00" in key else await sql.get_association_by_key(db, principal.location_id, key)
    )
    if row is None:
        raise NotFound(f"no association with key {key!r}", key=key)
    return AssociationModel.from_row(row)


async def create_association(
    db: Database,
    principal: Principal,
    *,
    key: Any,
    first_object_key: Any,
    second_object_key: Any,
    first_object_label: Any,
    second_object_label: Any = None,
    cardinality: Any = None,
    first_to_second_limit: Any = None,
    second_to_first_limit: Any = None,
    description: Any = None,
) -> AssociationModel:
    principal.require(ASSOCIATIONS_WRITE, admin=True)
    assoc_key = validation.association_key(key)
    first_label = validation.required_text(first_object_label, "firstObjectLabel")
    second_label = validation.text(second_object_label, "secondObjectLabel", required=False)
    desc = validation.text(
        description, "description", required=False, max_len=validation.MAX_DESCRIPTION
    )
    f2s, s2f = resolve_limits(cardinality, first_to_second_limit, second_to_first_limit)
    location = principal.location_id
    first_obj = await require_object(db, location, first_object_key, field="firstObjectKey")
    second_obj = await require_object(db, location, second_object_key, field="secondObjectKey")
    if second_label is None and first_obj.key == second_obj.key and f2s != s2f:
        raise BadUserInput(
            "a single-label association of an object with itself reads the same both ways,"
            " so its two limits must be equal",
            field="secondToFirstLimit",
        )

    async def work(conn: asyncpg.Connection) -> AssociationModel:
        # One lock on the location serialises its association creation, so both caps hold
        # under any concurrency (and across a Citus cluster: a row lock, not an advisory one).
        await location_sql.lock_location(conn, location)
        existing, total = await sql.count_for_pair(conn, location, first_obj.key, second_obj.key)
        if total >= MAX_ASSOCIATIONS:
            raise LimitExceeded(
                f"this location already has {MAX_ASSOCIATIONS} associations, the most one"
                " location may define; delete one that is no longer used",
                limit=MAX_ASSOCIATIONS,
                limitName="associationsPerLocation",
            )
        if existing >= MAX_PER_PAIR:
            raise LimitExceeded(
                f"{first_obj.key} and {second_obj.key} already have {MAX_PER_PAIR}"
                f" associations, the most one pair of objects may have",
                limit=MAX_PER_PAIR,
                limitName="associationsPerObjectPair",
            )
        row = await sql.insert_association(
            conn,
            location,
            key=assoc_key,
            first_object_key=first_obj.key,
            second_object_key=second_obj.key,
            first_object_label=first_label,
            second_object_label=second_label,
            first_to_second_limit=f2s,
            second_to_first_limit=s2f,
            description=desc,
        )
        if row is None:
            raise Conflict(f"an association with key {assoc_key!r} already exists", key=assoc_key)
        association = AssociationModel.from_row(row)
        events.association_changed(conn, principal, "ASSOCIATION_CREATE", association)
        return association

    return await in_transaction(db, work)


_UNSET: Any = object()


async def update_association(
    db: Database,
    principal: Principal,
    association_id: str,
    *,
    first_object_label: Any = _UNSET,
    second_object_label: Any = _UNSET,
    description: Any = _UNSET,
) -> AssociationModel:
    """Rename labels or change the description; nothing else of an association can change."""
    principal.require(ASSOCIATIONS_WRITE, admin=True)

    async def work(conn: asyncpg.Connection) -> AssociationModel:
        current = await require_association(
            conn, principal.location_id, association_id, field="id", lock=True
        )
        if current.association_type == "SYSTEM_DEFINED":
            raise Forbidden(f"the system association {current.key!r} cannot be updated")
        first = current.first_object_label
        if first_object_label is not _UNSET:
            first = validation.required_text(first_object_label, "firstObjectLabel")
        second = current.second_object_label
        if second_object_label is not _UNSET:
            second = validation.text(second_object_label, "secondObjectLabel", required=False)
        if (second is None) != (current.second_object_label is None):
            # Turning a pair into a single label (or back) would change which relations are
            # the same one, so it is refused rather than silently reinterpreting data.
            raise BadUserInput(
                "an association keeps its shape: a single label stays single and a pair stays"
                " a pair; rename the labels instead",
                field="secondObjectLabel",
            )
        desc = current.description
        if description is not _UNSET:
            desc = validation.text(
                description, "description", required=False, max_len=validation.MAX_DESCRIPTION
            )
        row = await sql.update_association_labels(
            conn,
            principal.location_id,
            current.uid,
            first_object_label=first,
            second_object_label=second,
            description=desc,
        )
        assert row is not None
        association = AssociationModel.from_row(row)
        events.association_changed(conn, principal, "ASSOCIATION_UPDATE", association)
        return association

    return await in_transaction(db, work)


async def delete_association(
    db: Database, principal: Principal, association_id: str, *, cascade: bool = False
) -> int:
    """Delete the definition; with `cascade` its relations too. Return how many relations went."""
    principal.require(ASSOCIATIONS_WRITE, admin=True)

    async def work(conn: asyncpg.Connection) -> int:
        # FOR UPDATE conflicts with the KEY SHARE lock a relation insert takes through its
        # foreign key, so no relation can slip in between the check and the delete.
        current = await require_association(
            conn, principal.location_id, association_id, field="id", lock=True
        )
        if current.association_type == "SYSTEM_DEFINED":
            raise Forbidden(f"the system association {current.key!r} cannot be deleted")
        removed = 0
        if cascade:
            rows = await sql.delete_relations_of(conn, principal.location_id, current.uid)
            for r in rows:
                events.relation_changed(
                    conn,
                    principal,
                    "RELATION_DELETE",
                    current,
                    r["id"],
                    r["first_record_id"],
                    r["second_record_id"],
                )
            removed = len(rows)
        else:
            in_use = await sql.count_relations_of(conn, principal.location_id, current.uid)
            if in_use:
                raise Conflict(
                    f"association {current.key!r} is used by {in_use} relation(s); delete them"
                    " first or pass cascade: true",
                    relationCount=in_use,
                )
        await sql.delete_association(conn, principal.location_id, current.uid)
        events.association_changed(
            conn, principal, "ASSOCIATION_DELETE", current, relations_deleted=removed
        )
        return removed

    return await in_transaction(db, work)


async def relation_counts(
    db: Database, location_id: str, uids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    return await sql.count_relations_of_many(db, location_id, uids)


async def associations_by_uid(
    db: Database, location_id: str, uids: list[uuid.UUID]
) -> dict[uuid.UUID, AssociationModel]:
    """The location's associations among `uids`, in one statement (for batching loaders: the
    read scope is checked by whoever shows them)."""
    rows = await sql.get_associations(db, location_id, uids)
    return {r["id"]: AssociationModel.from_row(r) for r in rows}


async def list_associations_page(
    db: Database, principal: Principal, *, skip: Any = None, limit: Any = None
) -> tuple[list[AssociationModel], int]:
    """One `skip`/`limit` page of the location's associations (oldest first) and their total."""
    principal.require(ASSOCIATIONS_READ)
    offset, size = validation.offset_page(skip, limit)
    rows = await sql.list_associations(db, principal.location_id, offset=offset, limit=size)
    total = await sql.count_associations(db, principal.location_id)
    return [AssociationModel.from_row(r) for r in rows], total


async def default_labels(
    db: Database,
    principal: Principal,
    *,
    first_object_key: Any,
    second_object_key: Any,
    first_object_label: Any,
    second_object_label: Any,
) -> tuple[Any, Any]:
    """Labels for a create that left them out (HighLevel's REST examples send none): a missing
    first label is the first object's singular label; when both are missing the second is the
    second object's singular label, or nothing (a single label) for an object with itself.
    Given labels are returned unchanged, for `create_association` to validate."""
    principal.require(ASSOCIATIONS_WRITE, admin=True)
    if first_object_label is not None:
        return first_object_label, second_object_label
    location = principal.location_id
    first_obj = await require_object(db, location, first_object_key, field="firstObjectKey")
    if second_object_label is not None:
        return first_obj.singular_label, second_object_label
    second_obj = await require_object(db, location, second_object_key, field="secondObjectKey")
    if first_obj.key == second_obj.key:
        return first_obj.singular_label, None
    return first_obj.singular_label, second_obj.singular_label
