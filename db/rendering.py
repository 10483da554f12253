"""A related row's edge as JSON text, built by PostgreSQL in the statement that reads it.

A list view's inner levels are thousands of edges; making each one a Python dict costs more
than reading it (bench/README.md). The GraphQL layer describes an edge's text as `Segments`:
literal JSON text and named values (`VALUES`), split where a nested value (a record's own
`relations`) goes in; this module turns that description into one select-list expression.

Every value is the JSON text of what the field registry (app/graphql/registry.py) computes for
it, serialised as orjson would: tests/test_rendering.py holds each one to the registry on
awkward data, and the execution-path corpus compares whole responses byte for byte."""

from __future__ import annotations

import functools
from typing import Literal

# ("text", literal JSON text) or ("value", a name in VALUES).
Piece = tuple[Literal["text", "value"], str]
# An edge's text, split where nested values go: n + 1 segments around n nested values.
Segments = tuple[tuple[Piece, ...], ...]
# The edge's segments by the related record's object key (None: any other key).
EdgeText = tuple[tuple[str | None, Segments], ...]


def _global_id(prefix: str, column: str) -> str:
    # ids.encode: `<kind>_<32 hex>` (uuid.hex: lowercase, as encode(..., 'hex') writes it).
    return f"""('"{prefix}_' || encode(uuid_send({column}), 'hex') || '"')"""


def _text(expression: str) -> str:
    return f"to_json({expression})::text"


# Over the related record `r`, the relation row `x` and the association `a` of
# db.relations.related_pages; each expression is never null for a row with a relation.
VALUES: dict[str, str] = {
    # The relation's other record is r: its id needs no read of r.
    "record.id": _global_id("rec", "x.other_id"),
    "record.objectKey": _text("r.object_key"),
    "record.displayName": _text("r.display_name"),
    # registry: the label on the related record's side; `or` reads an empty label as none.
    "edge.label": _text(
        "case when x.parent_side = 1"
        " then coalesce(nullif(a.second_object_label, ''), a.first_object_label)"
        " else a.first_object_label end"
    ),
    # ids.encode_cursor: base64url of the uuid's 16 bytes, unpadded.
    "edge.cursor": (
        """('"' || rtrim(translate(encode(uuid_send(x.rel_id), 'base64'), '+/', '-_'), '=')"""
        """ || '"')"""
    ),
    "relation.id": _global_id("rel", "x.rel_id"),
    "relation.associationId": _global_id("asc", "x.association_id"),
    "relation.firstRecordId": _global_id("rec", "x.first_record_id"),
    "relation.secondRecordId": _global_id("rec", "x.second_record_id"),
    "association.id": _global_id("asc", "x.association_id"),
    "association.key": _text("a.key"),
    "association.firstObjectKey": _text("a.first_object_key"),
    "association.secondObjectKey": _text("a.second_object_key"),
    "association.firstObjectLabel": _text("a.first_object_label"),
    "association.secondObjectLabel": _text(
        "coalesce(nullif(a.second_object_label, ''), a.first_object_label)"
    ),
    "association.firstToSecondLimit": "a.first_to_second_limit::text",
    "association.secondToFirstLimit": "a.second_to_first_limit::text",
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _segment(pieces: tuple[Piece, ...]) -> str:
    parts = [_literal(v) if kind == "text" else f"({VALUES[v]})" for kind, v in pieces]
    return " || ".join(parts) if parts else "''"


def is_array(edge: EdgeText) -> bool:
    """Whether the expression is a text[] (some edge has nested values) rather than text."""
    return any(len(segments) > 1 for _, segments in edge)


@functools.lru_cache(maxsize=256)
def edge_sql(edge: EdgeText) -> str:
    """The select-list expression of the edge's text (text, or text[] when `is_array`)."""
    array = is_array(edge)

    def expression(segments: Segments) -> str:
        texts = [_segment(s) for s in segments]
        return f"array[{', '.join(texts)}]" if array else texts[0]

    *keyed, (last_key, last) = edge
    assert last_key is None, "the last branch is every other object key"
    if not keyed:
        return expression(last)
    branches = " ".join(f"when {_literal(str(k))} then {expression(s)}" for k, s in keyed)
    return f"case r.object_key {branches} else {expression(last)} end"
