"""Per-record relation counters and the limits they enforce.

Every statement that adds or removes relations is followed, in the same transaction, by one
upsert of the counters it changes (`db.relations.bump_counters`): how many links each record has
through each association, per side (1 = as first record, 2 = as second, 0 = either side of a
symmetric association). The upsert's row lock serialises racing writers of one record, so a
limit checked against the value it returns holds under any concurrency, at a cost independent of
how many relations exist."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from app import ids
from app.errors import LimitExceeded
from app.models import AssociationModel
from db import relations as sql
from db.database import Executor

SYMMETRIC, FIRST, SECOND = 0, 1, 2


def deltas(
    rows: Iterable[Any],
    is_symmetric: Callable[[Any], bool],
    step: int,
    *,
    skip: uuid.UUID | None = None,
) -> list[tuple[uuid.UUID, uuid.UUID, int, int]]:
    """What `rows` (relations, added when step is 1, removed when -1) change in the counters:
    (association, record, side, delta), one per counter. `skip` leaves out a record whose
    counters are being deleted with it."""
    changes: dict[tuple[uuid.UUID, uuid.UUID, int], int] = {}
    for row in rows:
        symmetric = is_symmetric(row)
        for record, side in (
            (row["first_record_id"], SYMMETRIC if symmetric else FIRST),
            (row["second_record_id"], SYMMETRIC if symmetric else SECOND),
        ):
            if record != skip:
                key = (row["association_id"], record, side)
                changes[key] = changes.get(key, 0) + step
    return [(*key, delta) for key, delta in changes.items()]


async def count_added(
    conn: Executor,
    location_id: str,
    added: list[Any],
    associations: Mapping[uuid.UUID, AssociationModel],
) -> None:
    """Count newly inserted relations; LimitExceeded (the caller's transaction then rolls
    back) when one takes a record past its association's limit on that side."""
    if not added:
        return
    changes = deltas(added, lambda r: associations[r["association_id"]].is_symmetric, 1)
    for counter in await sql.bump_counters(conn, location_id, changes):
        association = associations[counter["association_id"]]
        side = counter["side"]
        limit = (
            association.second_to_first_limit
            if side == SECOND
            else association.first_to_second_limit
        )
        if counter["n"] > limit:
            raise limit_exceeded(association, counter["record_id"], side, limit)


async def count_removed(
    conn: Executor, location_id: str, removed: list[Any], *, skip: uuid.UUID | None = None
) -> None:
    """Count down deleted relations (rows carrying `symmetric`, see db.relations.lock_relations)."""
    changes = deltas(removed, lambda r: bool(r["symmetric"]), -1, skip=skip)
    if changes:
        await sql.bump_counters(conn, location_id, changes)


def limit_exceeded(
    association: AssociationModel, record_uid: uuid.UUID, side: int, limit: int
) -> LimitExceeded:
    limit_name = "secondToFirstLimit" if side == SECOND else "firstToSecondLimit"
    if side == SECOND:
        object_key, label = association.second_object_key, association.label_of_second()
    else:
        object_key, label = association.first_object_key, association.label_of_first()
    record_id = ids.encode(ids.Kind.RECORD, record_uid)
    return LimitExceeded(
        f"association {association.key!r} allows a {object_key} record in the role {label!r}"
        f" at most {limit} linked record(s) ({limit_name} = {limit}); record {record_id} is"
        " already at that limit",
        limit=limit,
        limitName=limit_name,
        associationKey=association.key,
        recordId=record_id,
    )
