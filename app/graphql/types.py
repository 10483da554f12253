from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app import ids
from app.access import require_read
from app.graphql import reads, registry
from app.graphql.context import Info
from app.graphql.dataloaders import HistoryKey
from app.graphql.enums import (
    AssociationCardinality,
    AssociationLabelType,
    AssociationType,
    EventType,
    ObjectLabels,
)
from app.graphql.lookahead import arguments, selects_field
from app.models import (
    AssociationModel,
    EventModel,
    ObjectSchemaModel,
    Page,
    RecordModel,
    RelatedEdge,
    RelationModel,
)
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


_OBJECT = registry.OBJECT_SCHEMA_LEAVES
_EVENT = registry.EVENT_LEAVES


@strawberry.type(description="A record type: a standard object or a custom one.")
class ObjectSchema(Node):
    id: strawberry.ID = registry.field(_OBJECT, "id")
    key: str = registry.field(_OBJECT, "key")
    labels: ObjectLabels = registry.field(_OBJECT, "labels")
    description: str | None = registry.field(_OBJECT, "description")
    primary_display_property: str = registry.field(_OBJECT, "primaryDisplayProperty")
    is_standard: bool = registry.field(_OBJECT, "isStandard")
    created_at: datetime = registry.field(_OBJECT, "createdAt")
    updated_at: datetime = registry.field(_OBJECT, "updatedAt")
    model: strawberry.Private[ObjectSchemaModel]

    @classmethod
    def from_model(cls, m: ObjectSchemaModel) -> ObjectSchema:
        return cls(model=m)


@strawberry.interface(description="A record of any object.")
class Record(Node):
    model: strawberry.Private[RecordModel]
    id: strawberry.ID = registry.field(registry.RECORD_LEAVES, "id")
    object_key: str = registry.field(registry.RECORD_LEAVES, "objectKey")
    display_name: str = registry.field(registry.RECORD_LEAVES, "displayName")
    properties: JSON = registry.field(registry.RECORD_LEAVES, "properties")
    created_at: datetime = registry.field(registry.RECORD_LEAVES, "createdAt")
    updated_at: datetime = registry.field(registry.RECORD_LEAVES, "updatedAt")

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
        q = reads.related_query(arguments(info), with_total=selects_field(info, "totalCount"))
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


def _typed(type_name: str, name: str) -> Any:
    return registry.field(registry.TYPED_LEAVES[type_name], name)


@strawberry.type
class Contact(Record):
    first_name: str | None = _typed("Contact", "firstName")
    last_name: str | None = _typed("Contact", "lastName")
    email: str | None = _typed("Contact", "email")
    phone: str | None = _typed("Contact", "phone")


@strawberry.type
class Company(Record):
    name: str | None = _typed("Company", "name")


@strawberry.type
class Opportunity(Record):
    name: str | None = _typed("Opportunity", "name")
    status: str | None = _typed("Opportunity", "status")
    monetary_value: float | None = _typed("Opportunity", "monetaryValue")


@strawberry.type
class CustomObjectRecord(Record):
    pass


_RECORD_TYPES: dict[str, type[Record]] = {
    "Contact": Contact,
    "Company": Company,
    "Opportunity": Opportunity,
    "CustomObjectRecord": CustomObjectRecord,
}


def record_from_model(m: RecordModel) -> Record:
    return _RECORD_TYPES[registry.record_type_name(m.object_key)](model=m)


_ASSOCIATION = registry.ASSOCIATION_LEAVES


@strawberry.type(description="An association type: a labeled, limited link between two objects.")
class Association(Node):
    model: strawberry.Private[AssociationModel]
    id: strawberry.ID = registry.field(_ASSOCIATION, "id")
    key: str = registry.field(_ASSOCIATION, "key")
    association_type: AssociationType = registry.field(
        registry.ASSOCIATION_LEAVES, "associationType"
    )
    first_object_key: str = registry.field(_ASSOCIATION, "firstObjectKey")
    second_object_key: str = registry.field(_ASSOCIATION, "secondObjectKey")
    first_object_label: str = registry.field(_ASSOCIATION, "firstObjectLabel")
    second_object_label: str = registry.field(
        registry.ASSOCIATION_LEAVES,
        "secondObjectLabel",
        "The second side's label; for a single label, the same as the first's.",
    )
    label_type: AssociationLabelType = registry.field(
        registry.ASSOCIATION_LEAVES,
        "labelType",
        "Whether one label names both sides (SINGLE) or each side has its own (PAIR).",
    )
    cardinality: AssociationCardinality = registry.field(_ASSOCIATION, "cardinality")
    first_to_second_limit: int = registry.field(_ASSOCIATION, "firstToSecondLimit")
    second_to_first_limit: int = registry.field(_ASSOCIATION, "secondToFirstLimit")
    description: str | None = registry.field(_ASSOCIATION, "description")
    created_at: datetime = registry.field(_ASSOCIATION, "createdAt")
    updated_at: datetime = registry.field(_ASSOCIATION, "updatedAt")

    @strawberry.field(description="How many relations use this association.")  # type: ignore[untyped-decorator]
    async def relation_count(self, info: Info) -> int:
        # Relation data, not the definition's: it needs the scope that reads relations.
        require_read(info.context.principal, ids.Kind.RELATION)
        return await info.context.loaders.relation_counts.load(self.model.uid)

    @classmethod
    def from_model(cls, m: AssociationModel) -> Association:
        return cls(model=m)


async def _load_record(info: Info, uid: Any) -> Record:
    require_read(info.context.principal, ids.Kind.RECORD)
    model = await info.context.loaders.records.load(uid)
    if model is None:
        # Deleted after the relation was read (its relations went with it): gone, not an error.
        raise record_not_found(ids.encode(ids.Kind.RECORD, uid))
    return record_from_model(model)


@strawberry.type(description="One link between two records through one association.")
class Relation(Node):
    model: strawberry.Private[RelationModel]
    id: strawberry.ID = registry.field(registry.RELATION_LEAVES, "id")
    association_id: strawberry.ID = registry.field(registry.RELATION_LEAVES, "associationId")
    first_record_id: strawberry.ID = registry.field(registry.RELATION_LEAVES, "firstRecordId")
    second_record_id: strawberry.ID = registry.field(registry.RELATION_LEAVES, "secondRecordId")
    created_at: datetime = registry.field(registry.RELATION_LEAVES, "createdAt")

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
        return cls(model=m)


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


@strawberry.type(
    description="One change, appended in the transaction that made it. `position` orders a"
    " location's events and is the cursor to resume after."
)
class Event(Node):
    id: strawberry.ID = registry.field(_EVENT, "id")
    position: str = registry.field(
        _EVENT,
        "position",
        "Increases with every event of the location, in commit order; pass it as `after` to"
        " read what followed.",
    )
    type: EventType = registry.field(_EVENT, "type")
    occurred_at: datetime = registry.field(_EVENT, "occurredAt")
    actor_token_id: strawberry.ID | None = registry.field(
        _EVENT, "actorTokenId", "The id of the token that made the change (never the token itself)."
    )
    object_key: str | None = registry.field(_EVENT, "objectKey")
    record_id: strawberry.ID | None = registry.field(_EVENT, "recordId")
    association_id: strawberry.ID | None = registry.field(_EVENT, "associationId")
    association_key: str | None = registry.field(_EVENT, "associationKey")
    relation_id: strawberry.ID | None = registry.field(_EVENT, "relationId")
    first_record_id: strawberry.ID | None = registry.field(_EVENT, "firstRecordId")
    second_record_id: strawberry.ID | None = registry.field(_EVENT, "secondRecordId")
    first_object_key: str | None = registry.field(_EVENT, "firstObjectKey")
    second_object_key: str | None = registry.field(_EVENT, "secondObjectKey")
    first_object_label: str | None = registry.field(
        _EVENT,
        "firstObjectLabel",
        "The role of the first record (relations) or side (associations).",
    )
    second_object_label: str | None = registry.field(_EVENT, "secondObjectLabel")
    data: JSON = registry.field(
        _EVENT,
        "data",
        "The state after the change: a record's properties and display name (and `changed`, the"
        " property names an update set or removed), an association's or an object's definition;"
        " `relationsDeleted` on deletes that took relations with them.",
    )
    model: strawberry.Private[EventModel]

    @classmethod
    def from_model(cls, m: EventModel) -> Event:
        return cls(model=m)


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
