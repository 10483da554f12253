from __future__ import annotations

import math
from datetime import datetime
from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from app import ids
from app.access import require_read
from app.graphql.arguments import page_args
from app.graphql.context import Info
from app.graphql.dataloaders import HistoryKey
from app.models import (
    EVENT_TYPES,
    AssociationModel,
    EventModel,
    ObjectSchemaModel,
    Page,
    RecordModel,
    RelatedEdge,
    RelationModel,
)
from app.services import relations as relation_service
from app.services.associations import association_not_found
from app.services.records import record_not_found


@strawberry.interface(description="Every entity; `node(id:)` refetches it.")
class Node:
    id: strawberry.ID


@strawberry.type(
    description="Where a page lies in its connection (Relay cursor connections). Edges are in"
    " ascending order both ways; page forward with `first`/`after` from `endCursor`, backward"
    " with `last`/`before` from `startCursor`."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Forward (`first`): whether more items follow this page. Backward (`last`):"
        " whether `before` was given (items exist at or after that cursor)."
    )
    has_previous_page: bool = strawberry.field(
        description="Backward (`last`): whether more items precede this page. Forward"
        " (`first`): whether `after` was given (items exist at or before that cursor)."
    )
    start_cursor: str | None = strawberry.field(description="The first edge's cursor.")
    end_cursor: str | None = strawberry.field(description="The last edge's cursor.")


def page_info(cursors: list[str], page: Page) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.type
class ObjectLabels:
    singular: str
    plural: str


@strawberry.type(description="A record type: a standard object or a custom one.")
class ObjectSchema(Node):
    id: strawberry.ID
    key: str
    labels: ObjectLabels
    description: str | None
    primary_display_property: str
    is_standard: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, m: ObjectSchemaModel) -> ObjectSchema:
        return cls(
            id=strawberry.ID(m.id),
            key=m.key,
            labels=ObjectLabels(singular=m.singular_label, plural=m.plural_label),
            description=m.description,
            primary_display_property=m.primary_display_property,
            is_standard=m.is_standard,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


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


def selects_field(info: Info, name: str) -> bool:
    """Whether the current field's selection asks directly for `name` (through fragments too),
    in time linear in the document (app/graphql/selection.py)."""
    raw = info._raw_info
    index = info.context.selections(raw.fragments, info.variable_values)
    return name in index.direct_names(raw.field_nodes)


@strawberry.interface(description="A record of any object.")
class Record(Node):
    id: strawberry.ID
    object_key: str
    display_name: str
    properties: JSON
    created_at: datetime
    updated_at: datetime
    model: strawberry.Private[RecordModel]

    @strawberry.field(  # type: ignore[untyped-decorator]  # strawberry's overloads
        description="Records related to this one, each with its role label; keyset-paginated"
        " per record, forward (`first`, after the cursor `after`) or backward (`last`, before"
        " the cursor `before`; not with `first`)."
    )
    async def relations(
        self,
        info: Info,
        association_id: strawberry.ID | None = None,
        association_key: str | None = None,
        object_key: str | None = None,
        first: int | None = 50,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> RelationConnection:
        ctx = info.context
        require_read(ctx.principal, ids.Kind.RELATION)
        first, last = page_args(info, first, last)
        q = relation_service.related_query(
            first=first,
            after=after,
            last=last,
            before=before,
            association_id=association_id,
            association_key=association_key,
            object_key=object_key,
            with_total=selects_field(info, "totalCount"),
        )
        page = await ctx.loaders.related.load((self.model.uid, q))
        ctx.loaders.prime_page(page)
        return RelationConnection.from_page(page)

    @strawberry.field(  # type: ignore[untyped-decorator]  # strawberry's overloads
        description="The changes that touched this record, oldest first: its own and those of"
        " relations on either side (those the token may read). Page forward with `first`"
        " after the cursor `after` (an event's `position`)."
    )
    async def history(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        types: list[EventType] | None = None,
    ) -> EventConnection:
        key = HistoryKey(
            first=first,
            after=after,
            types=None if types is None else tuple(t.value for t in types),
        )
        page = await info.context.loaders.history.load((self.model.uid, key))
        return EventConnection.from_page(page)


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


# Typed fields of the standard objects, read from the record's properties. The pre-shaped
# execution path (app/graphql/shaping.py) reads them from this same table.
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


def _properties_field(name: str) -> Any:
    def resolve(root: Record) -> str | None:
        return text_property(root.model.properties, name)

    return strawberry.field(resolver=resolve)


@strawberry.type
class Contact(Record):
    first_name: str | None = _properties_field("firstName")
    last_name: str | None = _properties_field("lastName")
    email: str | None = _properties_field("email")
    phone: str | None = _properties_field("phone")


@strawberry.type
class Company(Record):
    name: str | None = _properties_field("name")


@strawberry.type
class Opportunity(Record):
    name: str | None = _properties_field("name")
    status: str | None = _properties_field("status")

    @strawberry.field
    def monetary_value(self) -> float | None:
        return monetary_value(self.model.properties)


@strawberry.type
class CustomObjectRecord(Record):
    pass


_RECORD_TYPES: dict[str, type[Record]] = {
    "contact": Contact,
    "company": Company,
    "opportunity": Opportunity,
}


_TYPE_NAMES = {key: cls.__name__ for key, cls in _RECORD_TYPES.items()}


def record_type_name(object_key: str) -> str:
    return _TYPE_NAMES.get(object_key, "CustomObjectRecord")


def record_from_model(m: RecordModel) -> Record:
    cls = _RECORD_TYPES.get(m.object_key, CustomObjectRecord)
    return cls(
        id=strawberry.ID(m.id),
        object_key=m.object_key,
        display_name=m.display_name,
        properties=cast(JSON, m.properties),
        created_at=m.created_at,
        updated_at=m.updated_at,
        model=m,
    )


@strawberry.type(description="An association type: a labeled, limited link between two objects.")
class Association(Node):
    id: strawberry.ID
    key: str
    association_type: AssociationType
    first_object_key: str
    second_object_key: str
    first_object_label: str
    second_object_label: str = strawberry.field(
        description="The second side's label; for a single label, the same as the first's."
    )
    label_type: AssociationLabelType = strawberry.field(
        description="Whether one label names both sides (SINGLE) or each side has its own (PAIR)."
    )
    cardinality: AssociationCardinality
    first_to_second_limit: int
    second_to_first_limit: int
    description: str | None
    created_at: datetime
    updated_at: datetime
    model: strawberry.Private[AssociationModel]

    @strawberry.field(description="How many relations use this association.")  # type: ignore[untyped-decorator]
    async def relation_count(self, info: Info) -> int:
        # Relation data, not the definition's: it needs the scope that reads relations.
        require_read(info.context.principal, ids.Kind.RELATION)
        return await info.context.loaders.relation_counts.load(self.model.uid)

    @classmethod
    def from_model(cls, m: AssociationModel) -> Association:
        return cls(
            id=strawberry.ID(m.id),
            key=m.key,
            association_type=AssociationType(m.association_type),
            first_object_key=m.first_object_key,
            second_object_key=m.second_object_key,
            first_object_label=m.first_object_label,
            second_object_label=m.label_of_second(),
            label_type=label_type_of(m.second_object_label),
            cardinality=AssociationCardinality(m.cardinality),
            first_to_second_limit=m.first_to_second_limit,
            second_to_first_limit=m.second_to_first_limit,
            description=m.description,
            created_at=m.created_at,
            updated_at=m.updated_at,
            model=m,
        )


async def _load_record(info: Info, uid: Any) -> Record:
    require_read(info.context.principal, ids.Kind.RECORD)
    model = await info.context.loaders.records.load(uid)
    if model is None:
        # Deleted after the relation was read (its relations went with it): gone, not an error.
        raise record_not_found(ids.encode(ids.Kind.RECORD, uid))
    return record_from_model(model)


@strawberry.type(description="One link between two records through one association.")
class Relation(Node):
    id: strawberry.ID
    association_id: strawberry.ID
    first_record_id: strawberry.ID
    second_record_id: strawberry.ID
    created_at: datetime
    model: strawberry.Private[RelationModel]

    @strawberry.field
    async def association(self, info: Info) -> Association:
        require_read(info.context.principal, ids.Kind.ASSOCIATION)
        model = await info.context.loaders.associations.load(self.model.association_id)
        if model is None:
            # Deleted (with cascade) after the relation was read.
            raise association_not_found(ids.encode(ids.Kind.ASSOCIATION, self.model.association_id))
        return Association.from_model(model)

    @strawberry.field
    async def first_record(self, info: Info) -> Record:
        return await _load_record(info, self.model.first_record_id)

    @strawberry.field
    async def second_record(self, info: Info) -> Record:
        return await _load_record(info, self.model.second_record_id)

    @classmethod
    def from_model(cls, m: RelationModel) -> Relation:
        return cls(
            id=strawberry.ID(m.id),
            association_id=strawberry.ID(ids.encode(ids.Kind.ASSOCIATION, m.association_id)),
            first_record_id=strawberry.ID(ids.encode(ids.Kind.RECORD, m.first_record_id)),
            second_record_id=strawberry.ID(ids.encode(ids.Kind.RECORD, m.second_record_id)),
            created_at=m.created_at,
            model=m,
        )


def _edge_node(root: RelationEdge, info: Info) -> Record:
    require_read(info.context.principal, ids.Kind.RECORD)
    return record_from_model(root.edge.node)


def _edge_association(root: RelationEdge, info: Info) -> Association:
    require_read(info.context.principal, ids.Kind.ASSOCIATION)
    return Association.from_model(root.edge.association)


@strawberry.type
class RelationEdge:
    # The edge's relation and label come with Record.relations (the relations scope); the
    # related record and the association are other entities, each behind its own scope.
    cursor: str
    node: Record = strawberry.field(resolver=_edge_node, description="The related record.")
    relation: Relation
    association: Association = strawberry.field(resolver=_edge_association)
    label: str = strawberry.field(description="The related record's role in the association.")
    edge: strawberry.Private[RelatedEdge]

    @classmethod
    def from_edge(cls, e: RelatedEdge) -> RelationEdge:
        return cls(
            cursor=ids.encode_cursor(e.relation.uid),
            relation=Relation.from_model(e.relation),
            label=e.label,
            edge=e,
        )


@strawberry.type
class RelationConnection:
    edges: list[RelationEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(
        description="All relations matching the filters (not only this page)."
    )

    @classmethod
    def from_page(cls, page: Page) -> RelationConnection:
        edges = [RelationEdge.from_edge(e) for e in page.items]
        return cls(
            edges=edges,
            page_info=page_info([e.cursor for e in edges], page),
            total_count=page.total or 0,
        )


@strawberry.type
class RecordEdge:
    cursor: str
    node: Record


@strawberry.type
class RecordConnection:
    edges: list[RecordEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page) -> RecordConnection:
        edges = [
            RecordEdge(cursor=ids.encode_cursor(m.uid), node=record_from_model(m))
            for m in page.items
        ]
        return cls(
            edges=edges,
            page_info=page_info([e.cursor for e in edges], page),
            total_count=page.total or 0,
        )


@strawberry.type(description="The token's location (tenant); `node(id:)` refetches it.")
class Location(Node):
    id: strawberry.ID = strawberry.field(description="A global id, unique across types.")
    location_id: str = strawberry.field(
        description="The location's own id, as tokens, the CLI and the REST API name it."
    )
    name: str

    @classmethod
    def of(cls, location_id: str, name: str) -> Location:
        return cls(
            id=strawberry.ID(ids.encode_location(location_id)), location_id=location_id, name=name
        )


@strawberry.enum
class Role(Enum):
    ADMIN = "admin"
    USER = "user"


@strawberry.type
class Viewer:
    location: Location
    role: Role
    scopes: list[str]


@strawberry.type
class DeleteRecordPayload:
    deleted_id: strawberry.ID
    deleted_relation_count: int


@strawberry.type
class DeleteAssociationPayload:
    deleted_id: strawberry.ID
    deleted_relation_count: int


@strawberry.type
class DeleteRelationPayload:
    deleted_id: strawberry.ID
    first_record_id: strawberry.ID = strawberry.field(
        description="The records the relation linked: the edge to remove from either one's"
        " `relations` (Relay's @deleteEdge takes the other record's id)."
    )
    second_record_id: strawberry.ID


@strawberry.type
class DeleteRelationsPayload:
    deleted_ids: list[strawberry.ID]
    count: int


@strawberry.input
class ObjectLabelsInput:
    singular: str
    plural: str


@strawberry.input
class CreateObjectSchemaInput:
    key: str
    labels: ObjectLabelsInput
    description: str | None = None
    primary_display_property: str | None = None


@strawberry.input
class CreateRecordInput:
    object_key: str
    properties: JSON | None = strawberry.field(
        default=None, description="The record's properties; omitted or null: none."
    )


@strawberry.input
class UpdateRecordInput:
    id: strawberry.ID
    properties: JSON = strawberry.field(
        description="Merged into the record's properties; a key set to null is removed."
    )


@strawberry.input
class CreateAssociationInput:
    key: str
    first_object_key: str
    second_object_key: str
    first_object_label: str
    second_object_label: str | None = None
    cardinality: AssociationCardinality | None = None
    first_to_second_limit: int | None = None
    second_to_first_limit: int | None = None
    description: str | None = None


@strawberry.input
class UpdateAssociationInput:
    id: strawberry.ID
    first_object_label: str | None = strawberry.UNSET
    second_object_label: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class CreateRelationInput:
    association_id: strawberry.ID
    first_record_id: strawberry.ID
    second_record_id: strawberry.ID


@strawberry.input
class RelatedToInput:
    record_id: strawberry.ID
    association_id: strawberry.ID | None = None


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


def _id_or_none(kind: ids.Kind, value: Any) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(ids.encode(kind, value))


@strawberry.type(
    description="One change, appended in the transaction that made it. `position` orders a"
    " location's events and is the cursor to resume after."
)
class Event(Node):
    id: strawberry.ID
    position: str = strawberry.field(
        description="Increases with every event of the location, in commit order; pass it as"
        " `after` to read what followed."
    )
    type: EventType
    occurred_at: datetime
    actor_token_id: strawberry.ID | None = strawberry.field(
        description="The id of the token that made the change (never the token itself)."
    )
    object_key: str | None
    record_id: strawberry.ID | None
    association_id: strawberry.ID | None
    association_key: str | None
    relation_id: strawberry.ID | None
    first_record_id: strawberry.ID | None
    second_record_id: strawberry.ID | None
    first_object_key: str | None
    second_object_key: str | None
    first_object_label: str | None = strawberry.field(
        description="The role of the first record (relations) or side (associations)."
    )
    second_object_label: str | None
    data: JSON = strawberry.field(
        description="The state after the change: a record's properties and display name (and"
        " `changed`, the property names an update set or removed), an association's or an"
        " object's definition; `relationsDeleted` on deletes that took relations with them."
    )
    model: strawberry.Private[EventModel]

    @classmethod
    def from_model(cls, m: EventModel) -> Event:
        return cls(
            id=strawberry.ID(m.id),
            position=m.cursor,
            type=EventType(m.type),
            occurred_at=m.occurred_at,
            actor_token_id=_id_or_none(ids.Kind.TOKEN, m.actor_token_id),
            object_key=m.object_key,
            record_id=_id_or_none(ids.Kind.RECORD, m.record_id),
            association_id=_id_or_none(ids.Kind.ASSOCIATION, m.association_id),
            association_key=m.association_key,
            relation_id=_id_or_none(ids.Kind.RELATION, m.relation_id),
            first_record_id=_id_or_none(ids.Kind.RECORD, m.first_record_id),
            second_record_id=_id_or_none(ids.Kind.RECORD, m.second_record_id),
            first_object_key=m.first_object_key,
            second_object_key=m.second_object_key,
            first_object_label=m.first_object_label,
            second_object_label=m.second_object_label,
            data=cast(JSON, m.data),
            model=m,
        )


@strawberry.type
class EventEdge:
    cursor: str
    node: Event


@strawberry.type
class EventConnection:
    edges: list[EventEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page) -> EventConnection:
        edges = [EventEdge(cursor=m.cursor, node=Event.from_model(m)) for m in page.items]
        return cls(edges=edges, page_info=page_info([e.cursor for e in edges], page))
