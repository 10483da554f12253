"""One definition of every entity field's value: the Strawberry types resolve their fields from
it, and the pre-shaped path (app/graphql/shaping.py) reads rows with it.

A `Leaf` names the model attributes a field reads and how its value is made from them. The
Strawberry types hold models and resolve each field through `resolver(...)`; the pre-shaped
path reads the same attributes from its rows' columns (`RowColumns`) and serialises the value
through the schema's own scalar or enum, as execution would. So both paths compute every value
with one function and serialise it with one serializer: they cannot drift apart, and a field
missing here is a field the pre-shaped path cannot read (it falls back), never a guess."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import strawberry

from app import ids
from app.graphql.enums import (
    AssociationCardinality,
    AssociationType,
    EventType,
    ObjectLabels,
    label_type_of,
)
from app.models import cardinality_of


@dataclass(frozen=True)
class Leaf:
    reads: tuple[str, ...]  # model attributes (rows: the columns RowColumns maps them to)
    value: Callable[..., Any]  # from those attributes, in order, to what the field resolves to
    # The optional column group of db.relations.RELATED_COLUMN_GROUPS the attributes come with.
    group: str | None = None


def same(value: Any) -> Any:
    return value


def _global_id(kind: ids.Kind) -> Callable[[Any], strawberry.ID]:
    return lambda uid: strawberry.ID(ids.encode(kind, uid))


def _attribute(name: str, group: str | None = None) -> Leaf:
    return Leaf((name,), same, group)


def text_property(properties: dict[str, Any], name: str) -> str | None:
    """A text field read from a property: a string as it is, a number or boolean as its text.
    A list or an object is not text and reads null: the field then stays within the string
    bound the response budget weighs it by, however large the record."""
    value = properties.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return None


def monetary_value(properties: dict[str, Any]) -> float | None:
    """The amount as a finite float, or None: a Float field cannot carry NaN or infinity (a
    record stored before they were refused, or a number too large for a float, reads null)."""
    value = properties.get("monetaryValue")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _text(name: str) -> Leaf:
    return Leaf(("properties",), partial(_text_of, name=name), "record.properties")


def _text_of(properties: dict[str, Any], *, name: str) -> str | None:
    return text_property(properties, name)


RECORD_LEAVES: dict[str, Leaf] = {
    "id": Leaf(("uid",), _global_id(ids.Kind.RECORD)),
    "objectKey": _attribute("object_key"),
    "displayName": _attribute("display_name", "record.display_name"),
    "properties": _attribute("properties", "record.properties"),
    "createdAt": _attribute("created_at", "record.timestamps"),
    "updatedAt": _attribute("updated_at", "record.timestamps"),
}

# Typed fields of the standard objects, read from the record's properties.
TYPED_PROPERTIES: dict[str, dict[str, str]] = {
    "Contact": {
        "firstName": "firstName",
        "lastName": "lastName",
        "email": "email",
        "phone": "phone",
    },
    "Company": {"name": "name"},
    "Opportunity": {"name": "name", "status": "status"},
}

TYPED_LEAVES: dict[str, dict[str, Leaf]] = {
    type_name: {field: _text(prop) for field, prop in fields.items()}
    for type_name, fields in TYPED_PROPERTIES.items()
}
TYPED_LEAVES["Opportunity"]["monetaryValue"] = Leaf(
    ("properties",), monetary_value, "record.properties"
)
RECORD_TYPES = ("Contact", "Company", "Opportunity", "CustomObjectRecord")
# The standard objects' own record types; every custom object's records are CustomObjectRecord.
RECORD_TYPE_OF_OBJECT = {"contact": "Contact", "company": "Company", "opportunity": "Opportunity"}


def record_type_name(object_key: str) -> str:
    return RECORD_TYPE_OF_OBJECT.get(object_key, "CustomObjectRecord")


def _second_label(first: str, second: str | None) -> str:
    return second or first


def _cardinality(first_to_second: int, second_to_first: int) -> AssociationCardinality:
    return AssociationCardinality(cardinality_of(first_to_second, second_to_first))


RELATION_LEAVES: dict[str, Leaf] = {
    "id": Leaf(("uid",), _global_id(ids.Kind.RELATION)),
    "associationId": Leaf(("association_id",), _global_id(ids.Kind.ASSOCIATION), "relation.ids"),
    "firstRecordId": Leaf(("first_record_id",), _global_id(ids.Kind.RECORD), "relation.ids"),
    "secondRecordId": Leaf(("second_record_id",), _global_id(ids.Kind.RECORD), "relation.ids"),
    "createdAt": _attribute("created_at", "relation.created_at"),
}

ASSOCIATION_LEAVES: dict[str, Leaf] = {
    # A related row's association id is a column of the relation's (ROW_COLUMNS below).
    "id": Leaf(("uid",), _global_id(ids.Kind.ASSOCIATION), "relation.ids"),
    "key": _attribute("key", "association"),
    "associationType": Leaf(("association_type",), AssociationType, "association"),
    "firstObjectKey": _attribute("first_object_key", "association"),
    "secondObjectKey": _attribute("second_object_key", "association"),
    "firstObjectLabel": _attribute("first_object_label"),
    "secondObjectLabel": Leaf(("first_object_label", "second_object_label"), _second_label),
    "labelType": Leaf(("second_object_label",), label_type_of),
    "cardinality": Leaf(
        ("first_to_second_limit", "second_to_first_limit"), _cardinality, "association"
    ),
    "firstToSecondLimit": _attribute("first_to_second_limit", "association"),
    "secondToFirstLimit": _attribute("second_to_first_limit", "association"),
    "description": _attribute("description", "association"),
    "createdAt": _attribute("created_at", "association"),
    "updatedAt": _attribute("updated_at", "association"),
}


def _optional_global_id(kind: ids.Kind) -> Callable[[Any], strawberry.ID | None]:
    return lambda uid: None if uid is None else strawberry.ID(ids.encode(kind, uid))


OBJECT_SCHEMA_LEAVES: dict[str, Leaf] = {
    "id": Leaf(("uid",), _global_id(ids.Kind.OBJECT)),
    "key": _attribute("key"),
    "labels": Leaf(
        ("singular_label", "plural_label"), lambda s, p: ObjectLabels(singular=s, plural=p)
    ),
    "description": _attribute("description"),
    "primaryDisplayProperty": _attribute("primary_display_property"),
    "isStandard": _attribute("is_standard"),
    "createdAt": _attribute("created_at"),
    "updatedAt": _attribute("updated_at"),
}

EVENT_LEAVES: dict[str, Leaf] = {
    "id": Leaf(("uid",), _global_id(ids.Kind.EVENT)),
    "position": _attribute("cursor"),
    "type": Leaf(("type",), EventType),
    "occurredAt": _attribute("occurred_at"),
    "actorTokenId": Leaf(("actor_token_id",), _optional_global_id(ids.Kind.TOKEN)),
    **{
        name: _attribute(attribute)
        for name, attribute in (
            ("objectKey", "object_key"),
            ("associationKey", "association_key"),
            ("firstObjectKey", "first_object_key"),
            ("secondObjectKey", "second_object_key"),
            ("firstObjectLabel", "first_object_label"),
            ("secondObjectLabel", "second_object_label"),
            ("data", "data"),
        )
    },
    **{
        name: Leaf((attribute,), _optional_global_id(kind))
        for name, attribute, kind in (
            ("recordId", "record_id", ids.Kind.RECORD),
            ("associationId", "association_id", ids.Kind.ASSOCIATION),
            ("relationId", "relation_id", ids.Kind.RELATION),
            ("firstRecordId", "first_record_id", ids.Kind.RECORD),
            ("secondRecordId", "second_record_id", ids.Kind.RECORD),
        )
    },
}

WEBHOOK_LEAVES: dict[str, Leaf] = {
    "id": Leaf(("uid",), _global_id(ids.Kind.WEBHOOK)),
    "url": _attribute("url"),
    "eventTypes": Leaf(("event_types",), lambda types: [EventType(t) for t in types]),
    "objectKey": _attribute("object_key"),
    "active": _attribute("active"),
    "createdAt": _attribute("created_at"),
    "updatedAt": _attribute("updated_at"),
}

# Every entity type's leaves, by GraphQL type name.
LEAVES: dict[str, dict[str, Leaf]] = {
    **{t: {**RECORD_LEAVES, **TYPED_LEAVES.get(t, {})} for t in RECORD_TYPES},
    "Relation": RELATION_LEAVES,
    "Association": ASSOCIATION_LEAVES,
    "ObjectSchema": OBJECT_SCHEMA_LEAVES,
    "Event": EVENT_LEAVES,
    "Webhook": WEBHOOK_LEAVES,
}


def resolver(leaves: Mapping[str, Leaf], field: str) -> Callable[[Any], Any]:
    """A Strawberry resolver for `field`, reading the attributes of the type's `model`."""
    leaf = leaves[field]
    value, reads = leaf.value, leaf.reads
    if len(reads) == 1:
        (only,) = reads
        return lambda root: value(getattr(root.model, only))
    return lambda root: value(*(getattr(root.model, name) for name in reads))


def field(leaves: Mapping[str, Leaf], name: str, description: str | None = None) -> Any:
    """A Strawberry field whose value is the registry's (the class annotation gives its type)."""
    return strawberry.field(resolver=resolver(leaves, name), description=description)


# How the pre-shaped path's rows (db.relations.related_pages) name each model attribute.
RowColumns = Mapping[str, str]
RECORD_ROW: RowColumns = {
    "uid": "r_id",
    **{name: f"r_{name}" for name in ("object_key", "display_name", "properties")},
    **{name: f"r_{name}" for name in ("created_at", "updated_at")},
}
RELATION_ROW: RowColumns = {
    "uid": "rel_id",
    "association_id": "association_id",
    "first_record_id": "first_record_id",
    "second_record_id": "second_record_id",
    "created_at": "rel_created_at",
}
ASSOCIATION_ROW: RowColumns = {
    "uid": "association_id",
    **{
        name: f"a_{name}"
        for name in (
            "key",
            "association_type",
            "first_object_key",
            "second_object_key",
            "first_object_label",
            "second_object_label",
            "first_to_second_limit",
            "second_to_first_limit",
            "description",
            "created_at",
            "updated_at",
        )
    },
}
ROW_COLUMNS: dict[str, RowColumns] = {
    **dict.fromkeys(RECORD_TYPES, RECORD_ROW),
    "Relation": RELATION_ROW,
    "Association": ASSOCIATION_ROW,
}


def row_reader(leaf: Leaf, columns: RowColumns) -> Callable[[Any], Any]:
    """The leaf's value read from a row whose columns `columns` names."""
    value = leaf.value
    names = tuple(columns[a] for a in leaf.reads)
    if len(names) == 1:
        (only,) = names
        return lambda row: value(row[only])
    return lambda row: value(*(row[n] for n in names))
