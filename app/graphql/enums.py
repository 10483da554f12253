"""The enums (and small value types) of entity fields, shared by the types
(app/graphql/types.py) and the field registry (app/graphql/registry.py)."""

from __future__ import annotations

from enum import Enum

import strawberry

from app.models import EVENT_TYPES


@strawberry.enum
class AssociationCardinality(Enum):
    MANY_TO_MANY = "MANY_TO_MANY"
    ONE_TO_MANY = "ONE_TO_MANY"
    MANY_TO_ONE = "MANY_TO_ONE"
    ONE_TO_ONE = "ONE_TO_ONE"


@strawberry.enum(
    description="SINGLE: one label names both sides (`secondObjectLabel` repeats it);"
    " PAIR: each side has its own label."
)
class AssociationLabelType(Enum):
    SINGLE = "SINGLE"
    PAIR = "PAIR"


def label_type_of(second_object_label: str | None) -> AssociationLabelType:
    return AssociationLabelType.SINGLE if second_object_label is None else AssociationLabelType.PAIR


@strawberry.enum
class AssociationType(Enum):
    USER_DEFINED = "USER_DEFINED"
    SYSTEM_DEFINED = "SYSTEM_DEFINED"


@strawberry.enum(
    description="What changed. Webhook payloads name them as HighLevel does"
    " (`RELATION_CREATE` is `RelationCreate`)."
)
class EventType(Enum):
    RECORD_CREATE = "RECORD_CREATE"
    RECORD_UPDATE = "RECORD_UPDATE"
    RECORD_DELETE = "RECORD_DELETE"
    OBJECT_CREATE = "OBJECT_CREATE"
    OBJECT_UPDATE = "OBJECT_UPDATE"
    ASSOCIATION_CREATE = "ASSOCIATION_CREATE"
    ASSOCIATION_UPDATE = "ASSOCIATION_UPDATE"
    ASSOCIATION_DELETE = "ASSOCIATION_DELETE"
    RELATION_CREATE = "RELATION_CREATE"
    RELATION_DELETE = "RELATION_DELETE"


assert tuple(t.value for t in EventType) == EVENT_TYPES


@strawberry.type
class ObjectLabels:
    singular: str
    plural: str
