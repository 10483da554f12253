"""What the service layer hands to GraphQL and REST alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.ids import Kind, encode

STANDARD_OBJECTS: dict[str, tuple[str, str]] = {
    "contact": ("Contact", "Contacts"),
    "company": ("Company", "Companies"),
    "opportunity": ("Opportunity", "Opportunities"),
}
CUSTOM_PREFIX = "custom_objects."
# What one location may define. The unpaginated lists (`objectSchemas`, `associations`) are
# bounded by these, so the response budget can weigh them before a query runs.
MAX_CUSTOM_OBJECTS = 100
MAX_ASSOCIATIONS = 1000


@dataclass(frozen=True)
class ObjectSchemaModel:
    uid: uuid.UUID
    key: str
    is_standard: bool
    singular_label: str
    plural_label: str
    description: str | None
    primary_display_property: str
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> str:
        return encode(Kind.OBJECT, self.uid)

    @classmethod
    def from_row(cls, r: Any) -> ObjectSchemaModel:
        return cls(
            uid=r["id"],
            key=r["key"],
            is_standard=r["is_standard"],
            singular_label=r["singular_label"],
            plural_label=r["plural_label"],
            description=r["description"],
            primary_display_property=r["primary_display_property"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )


@dataclass(frozen=True)
class RecordModel:
    uid: uuid.UUID
    object_key: str
    properties: dict[str, Any]
    display_name: str
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> str:
        return encode(Kind.RECORD, self.uid)

    @classmethod
    def from_row(cls, r: Any, prefix: str = "") -> RecordModel:
        return cls(
            uid=r[prefix + "id"],
            object_key=r[prefix + "object_key"],
            properties=r[prefix + "properties"],
            display_name=r[prefix + "display_name"],
            created_at=r[prefix + "created_at"],
            updated_at=r[prefix + "updated_at"],
        )


def cardinality_of(first_to_second: int, second_to_first: int) -> str:
    if first_to_second == 1 and second_to_first == 1:
        return "ONE_TO_ONE"
    if second_to_first == 1:
        return "ONE_TO_MANY"
    if first_to_second == 1:
        return "MANY_TO_ONE"
    return "MANY_TO_MANY"


@dataclass(frozen=True)
class AssociationModel:
    uid: uuid.UUID
    location_id: str
    key: str
    association_type: str
    first_object_key: str
    second_object_key: str
    first_object_label: str
    second_object_label: str | None
    first_to_second_limit: int
    second_to_first_limit: int
    description: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> str:
        return encode(Kind.ASSOCIATION, self.uid)

    @property
    def cardinality(self) -> str:
        return cardinality_of(self.first_to_second_limit, self.second_to_first_limit)

    @property
    def is_symmetric(self) -> bool:
        return self.second_object_label is None and self.first_object_key == self.second_object_key

    def label_of_first(self) -> str:
        return self.first_object_label

    def label_of_second(self) -> str:
        return self.second_object_label or self.first_object_label

    @classmethod
    def from_row(cls, r: Any, prefix: str = "") -> AssociationModel:
        return cls(
            uid=r[prefix + "id"],
            location_id=r[prefix + "location_id"],
            key=r[prefix + "key"],
            association_type=r[prefix + "association_type"],
            first_object_key=r[prefix + "first_object_key"],
            second_object_key=r[prefix + "second_object_key"],
            first_object_label=r[prefix + "first_object_label"],
            second_object_label=r[prefix + "second_object_label"],
            first_to_second_limit=r[prefix + "first_to_second_limit"],
            second_to_first_limit=r[prefix + "second_to_first_limit"],
            description=r[prefix + "description"],
            created_at=r[prefix + "created_at"],
            updated_at=r[prefix + "updated_at"],
        )


@dataclass(frozen=True)
class RelationModel:
    uid: uuid.UUID
    location_id: str
    association_id: uuid.UUID
    first_record_id: uuid.UUID
    second_record_id: uuid.UUID
    created_at: datetime

    @property
    def id(self) -> str:
        return encode(Kind.RELATION, self.uid)

    @classmethod
    def from_row(cls, r: Any, prefix: str = "") -> RelationModel:
        return cls(
            uid=r[prefix + "id"],
            location_id=r[prefix + "location_id"],
            association_id=r[prefix + "association_id"],
            first_record_id=r[prefix + "first_record_id"],
            second_record_id=r[prefix + "second_record_id"],
            created_at=r[prefix + "created_at"],
        )


@dataclass(frozen=True)
class Page:
    """A keyset page: items (ascending) plus whether more follow and precede them (as Relay's
    pageInfo reports it, app.pagination), and the total when it was asked for."""

    items: list[Any]
    has_next: bool
    total: int | None = None
    has_previous: bool = False


@dataclass(frozen=True)
class RelatedEdge:
    """One relation seen from one of its records: the other record and its role label."""

    relation: RelationModel
    association: AssociationModel
    node: RecordModel
    label: str
