"""Which related edges PostgreSQL can write as JSON text, and the description it writes them by.

A `relations` field whose edges select only values db/rendering.py can write (ids, object keys,
display names, labels, cursors, a relation's ids, an association's keys and labels, type names)
and records' own `relations` is rendered: each related row comes with its edge's text, and the
shaper joins the texts, putting each nested connection in its place. Any other field (a
timestamp, a property, an enum) leaves the edges to the shaper's Python, field by field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from app.graphql import registry
from db.rendering import EdgeText, Piece, Segments

if TYPE_CHECKING:
    from app.graphql.shaping import FieldPlan

# GraphQL field -> the name of its value in db.rendering.VALUES, by type.
_RECORD_VALUES = {
    "id": "record.id",
    "objectKey": "record.objectKey",
    "displayName": "record.displayName",
}
VALUES: dict[str, dict[str, str]] = {
    **dict.fromkeys(registry.RECORD_TYPES, _RECORD_VALUES),
    "RelationEdge": {"label": "edge.label", "cursor": "edge.cursor"},
    "Relation": {
        "id": "relation.id",
        "associationId": "relation.associationId",
        "firstRecordId": "relation.firstRecordId",
        "secondRecordId": "relation.secondRecordId",
    },
    "Association": {
        name: f"association.{name}"
        for name in (
            "id",
            "key",
            "firstObjectKey",
            "secondObjectKey",
            "firstObjectLabel",
            "secondObjectLabel",
            "firstToSecondLimit",
            "secondToFirstLimit",
        )
    },
}

# The object key of each standard record type (every other key is a CustomObjectRecord).
_OBJECT_KEY = {t: key for key, t in registry.RECORD_TYPE_OF_OBJECT.items()}


class NotRendered(Exception):
    pass


@dataclass(frozen=True)
class RenderedEdges:
    """How a `relations` field's one `edges` selection is written by PostgreSQL."""

    edges: FieldPlan
    text: EdgeText
    # By record type: the `relations` fields nested in an edge, in the order of the gaps
    # between its text's segments (None: the column is plain text, no edge has any).
    nested: dict[str, tuple[FieldPlan, ...]] | None
    # When the connection selects nothing but these edges: its text up to the first edge.
    alone: str | None


def rendered_edges(relations: FieldPlan) -> RenderedEdges | None:
    """The rendering of `relations`' edges, or None when any selected field is not renderable."""
    fields = relations.child("RelationConnection")
    edges = [p for p in fields if p.name == "edges"]
    if len(edges) != 1:
        return None
    by_type: dict[str, Segments] = {}
    nested: dict[str, tuple[FieldPlan, ...]] = {}
    try:
        for type_name in registry.RECORD_TYPES:
            writer = _Writer(type_name)
            writer.edge(edges[0].child("RelationEdge"))
            by_type[type_name], nested[type_name] = writer.finish()
    except NotRendered:
        return None
    other = by_type["CustomObjectRecord"]
    keyed = tuple(
        (_OBJECT_KEY[t], s) for t, s in by_type.items() if t in _OBJECT_KEY and s != other
    )
    text: EdgeText = (*keyed, (None, other))
    has_nested = any(nested.values())
    alone = "{" + orjson.dumps(edges[0].key).decode() + ":[" if len(fields) == 1 else None
    return RenderedEdges(edges[0], text, nested if has_nested else None, alone)


class _Writer:
    def __init__(self, record_type: str) -> None:
        self.record_type = record_type
        self.segments: list[tuple[Piece, ...]] = []
        self.pieces: list[Piece] = []
        self.nested: list[FieldPlan] = []

    def finish(self) -> tuple[Segments, tuple[FieldPlan, ...]]:
        return (*self.segments, tuple(self.pieces)), tuple(self.nested)

    def text(self, text: str) -> None:
        if self.pieces and self.pieces[-1][0] == "text":
            self.pieces[-1] = ("text", self.pieces[-1][1] + text)
        else:
            self.pieces.append(("text", text))

    def gap(self, plan: FieldPlan) -> None:
        self.segments.append(tuple(self.pieces))
        self.pieces = []
        self.nested.append(plan)

    def object(self, plans: list[FieldPlan], type_name: str) -> None:
        values = VALUES.get(type_name, {})
        self.text("{")
        for i, p in enumerate(plans):
            self.text(("," if i else "") + orjson.dumps(p.key).decode() + ":")
            if p.name == "__typename":
                self.text(orjson.dumps(type_name).decode())
            elif p.name in values:
                self.pieces.append(("value", values[p.name]))
            elif type_name == self.record_type and p.name == "relations":
                self.gap(p)
            elif type_name == "RelationEdge" and p.name == "node":
                self.object(p.child(self.record_type), self.record_type)
            elif type_name == "RelationEdge" and p.name in ("relation", "association"):
                child = "Relation" if p.name == "relation" else "Association"
                self.object(p.child(child), child)
            else:
                raise NotRendered(f"{type_name}.{p.name}")
        self.text("}")

    def edge(self, plans: list[FieldPlan]) -> None:
        self.object(plans, "RelationEdge")
