"""Traversal: the records related to records, a page per parent and one statement per level
whatever the number of parents (reads only; the rules that write relations are in
app/services/relations.py)."""

from __future__ import annotations

import dataclasses
import itertools
import operator
import uuid
from dataclasses import dataclass
from typing import Any

from app import ids, pagination, validation
from app.auth import RECORDS_READ, RELATIONS_READ, Principal
from app.models import AssociationModel, Page, RecordModel, RelatedEdge, RelationModel
from app.pagination import Window
from app.services.records import record_not_found
from db import Database
from db import relations as sql
from db.rendering import EdgeText


@dataclass(frozen=True)
class RelatedQuery:
    """The arguments of `Record.relations`, minus the parent: parents sharing one are batched."""

    window: Window
    association_id: uuid.UUID | None = None
    association_key: str | None = None
    object_key: str | None = None
    with_total: bool = False
    # Optional column groups to fetch (db.relations.RELATED_COLUMN_GROUPS); None: all of them.
    columns: frozenset[str] | None = None
    # Each edge also as JSON text, built by PostgreSQL (db/rendering.py): column `x_json`.
    rendered: EdgeText | None = None


def related_query(
    *,
    first: int | None,
    after: str | None,
    association_id: str | None,
    association_key: str | None,
    object_key: str | None,
    with_total: bool,
    last: int | None = None,
    before: str | None = None,
) -> RelatedQuery:
    return RelatedQuery(
        window=pagination.window(first=first, after=after, last=last, before=before),
        association_id=(
            None
            if association_id is None
            else ids.decode(ids.Kind.ASSOCIATION, association_id, field="associationId")
        ),
        association_key=association_key,
        object_key=None if object_key is None else validation.normalize_object_key(object_key),
        with_total=with_total,
    )


def edge_label(row: Any) -> str:
    """The related record's role: the label on its side of the association."""
    if row["parent_side"] == 1:
        return str(row["a_second_object_label"] or row["a_first_object_label"])
    return str(row["a_first_object_label"])


async def related_rows(
    db: Database, principal: Principal, parent_ids: list[uuid.UUID], q: RelatedQuery
) -> dict[uuid.UUID, Page]:
    """Each parent's page of related rows (the columns `q.columns` asks for), in one statement
    whatever the number of parents."""
    principal.require(RELATIONS_READ)
    rows = await _related_rows(db, principal, parent_ids, q)
    return _pages(rows, parent_ids, q)


async def record_with_related_rows(
    db: Database, principal: Principal, record_id: str, q: RelatedQuery
) -> tuple[RecordModel, Page]:
    """A record and its page of related rows, in one statement (a record page)."""
    principal.require(RECORDS_READ)
    principal.require(RELATIONS_READ)
    uid = ids.decode(ids.Kind.RECORD, record_id)
    rows = await _related_rows(db, principal, [uid], q, with_parents=True)
    if not rows:
        raise record_not_found(record_id)
    return RecordModel.from_row(rows[0], "p_"), _pages(rows, [uid], q)[uid]


async def _related_rows(
    db: Database,
    principal: Principal,
    parent_ids: list[uuid.UUID],
    q: RelatedQuery,
    *,
    with_parents: bool = False,
) -> list[Any]:
    return await sql.related_pages(
        db,
        principal.location_id,
        parent_ids,
        limit=q.window.size,
        after=q.window.after,
        before=q.window.before,
        backward=q.window.backward,
        association_id=q.association_id,
        association_key=q.association_key,
        object_key=q.object_key,
        with_total=q.with_total,
        columns=q.columns,
        with_parents=with_parents,
        rendered=q.rendered,
    )


def _pages(rows: list[Any], parent_ids: list[uuid.UUID], q: RelatedQuery) -> dict[uuid.UUID, Page]:
    if sql.per_parent(q.rendered):
        return _written_pages(rows, parent_ids, q)
    # Rows come ordered by parent; a parent with no relation has one row, without a relation.
    grouped: dict[uuid.UUID, list[Any]] = dict.fromkeys(parent_ids, [])
    totals: dict[uuid.UUID, int] = {}
    for parent, group in itertools.groupby(rows, _PARENT):
        items = list(group)
        if q.with_total:
            totals[parent] = int(items[0]["total"])
        if items[0][sql.RELATION_ID] is not None:
            grouped[parent] = items
    window = q.window
    return {p: window.page(rs, totals.get(p)) for p, rs in grouped.items()}


_PARENT = operator.itemgetter(sql.PARENT_ID)


def _written_pages(
    rows: list[Any], parent_ids: list[uuid.UUID], q: RelatedQuery
) -> dict[uuid.UUID, Page]:
    """Pages whose edges PostgreSQL wrote: one row per parent (db.relations.related_pages)."""
    window = q.window
    none_next, none_previous = window.flags(0)  # a parent that does not exist has no row
    pages = dict.fromkeys(
        parent_ids, Page(items=[], has_next=none_next, has_previous=none_previous, text="")
    )
    for r in rows:
        has_next, has_previous = window.flags(r["n"])
        pages[r["parent_id"]] = Page(
            items=[],
            has_next=has_next,
            has_previous=has_previous,
            total=int(r["total"]) if q.with_total else None,
            text=r["x_json"] or "",
            ends=None if r["min_id"] is None else (r["min_id"], r["max_id"]),
        )
    return pages


async def related_pages(
    db: Database, principal: Principal, parent_ids: list[uuid.UUID], q: RelatedQuery
) -> dict[uuid.UUID, Page]:
    """Like `related_rows`, with every column, as models."""
    everything = dataclasses.replace(q, columns=None, rendered=None)
    pages = await related_rows(db, principal, parent_ids, everything)
    associations: dict[uuid.UUID, AssociationModel] = {}

    def edge(r: Any) -> RelatedEdge:
        association = associations.get(r["association_id"])
        if association is None:
            association = associations[r["association_id"]] = AssociationModel.from_row(r, "a_")
        return RelatedEdge(
            relation=RelationModel(
                uid=r["rel_id"],
                location_id=principal.location_id,
                association_id=r["association_id"],
                first_record_id=r["first_record_id"],
                second_record_id=r["second_record_id"],
                created_at=r["rel_created_at"],
            ),
            association=association,
            node=RecordModel.from_row(r, "r_"),
            label=edge_label(r),
        )

    return {
        p: dataclasses.replace(page, items=[edge(r) for r in page.items])
        for p, page in pages.items()
    }
