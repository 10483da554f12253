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
    # When PostgreSQL wrote the page's edges (db/rendering.py) and no items were read: the
    # edges' JSON texts joined by commas, and the first and last item's keys.
    text: str | None = None
    ends: tuple[Any, Any] | None = None


@dataclass(frozen=True)
class RelatedEdge:
    """One relation seen from one of its records: the other record and its role label."""

    relation: RelationModel
    association: AssociationModel
    node: RecordModel
    label: str


# Event types, as GraphQL names them; webhook payloads use HighLevel's names.
EVENT_TYPES = (
    "RECORD_CREATE",
    "RECORD_UPDATE",
    "RECORD_DELETE",
    "OBJECT_CREATE",
    "OBJECT_UPDATE",
    "ASSOCIATION_CREATE",
    "ASSOCIATION_UPDATE",
    "ASSOCIATION_DELETE",
    "RELATION_CREATE",
    "RELATION_DELETE",
)


def webhook_event_name(event_type: str) -> str:
    """`RELATION_CREATE` -> `RelationCreate`, as HighLevel's webhooks name them."""
    return "".join(part.capitalize() for part in event_type.split("_"))


@dataclass(frozen=True)
class EventModel:
    uid: uuid.UUID
    location_id: str
    position: int
    type: str
    occurred_at: datetime
    actor_token_id: uuid.UUID | None
    object_key: str | None
    record_id: uuid.UUID | None
    association_id: uuid.UUID | None
    association_key: str | None
    relation_id: uuid.UUID | None
    first_record_id: uuid.UUID | None
    second_record_id: uuid.UUID | None
    first_object_key: str | None
    second_object_key: str | None
    first_object_label: str | None
    second_object_label: str | None
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return encode(Kind.EVENT, self.uid)

    @property
    def cursor(self) -> str:
        return str(self.position)

    @classmethod
    def from_row(cls, r: Any) -> EventModel:
        return cls(
            uid=r["id"],
            location_id=r["location_id"],
            position=r["position"],
            type=r["type"],
            occurred_at=r["occurred_at"],
            actor_token_id=r["actor_token_id"],
            object_key=r["object_key"],
            record_id=r["record_id"],
            association_id=r["association_id"],
            association_key=r["association_key"],
            relation_id=r["relation_id"],
            first_record_id=r["first_record_id"],
            second_record_id=r["second_record_id"],
            first_object_key=r["first_object_key"],
            second_object_key=r["second_object_key"],
            first_object_label=r["first_object_label"],
            second_object_label=r["second_object_label"],
            data=r["data"],
        )

    def payload(self) -> dict[str, Any]:
        """The event's fields as GraphQL, REST and webhook bodies show them."""

        def rid(kind: Kind, value: uuid.UUID | None) -> str | None:
            return None if value is None else encode(kind, value)

        return {
            "id": self.id,
            "position": self.cursor,
            "type": self.type,
            "occurredAt": self.occurred_at.isoformat(),
            "actorTokenId": rid(Kind.TOKEN, self.actor_token_id),
            "objectKey": self.object_key,
            "recordId": rid(Kind.RECORD, self.record_id),
            "associationId": rid(Kind.ASSOCIATION, self.association_id),
            "associationKey": self.association_key,
            "relationId": rid(Kind.RELATION, self.relation_id),
            "firstRecordId": rid(Kind.RECORD, self.first_record_id),
            "secondRecordId": rid(Kind.RECORD, self.second_record_id),
            "firstObjectKey": self.first_object_key,
            "secondObjectKey": self.second_object_key,
            "firstObjectLabel": self.first_object_label,
            "secondObjectLabel": self.second_object_label,
            "data": self.data,
        }
