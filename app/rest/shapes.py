"""What REST answers, once: each body is a TypedDict that the serializers build (mypy checks every
key and type) and that /openapi.json's `components.schemas` is generated from (app/rest/openapi.py).
TypedDicts rather than pydantic models: building one costs what building the dict did, and the
answers stay plain dicts for orjson. Every shape forbids keys it does not declare, so a test
validating real answers against it (tests/test_rest_shapes.py) catches a serializer adding one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from app.errors import ErrorCode
from app.models import EVENT_TYPES
from app.services.associations import MAX_LIMIT, PRESETS
from app.webhooks.models import MAX_URL

_CLOSED = ConfigDict(extra="forbid")


def one_of(*values: str, description: str | None = None) -> Any:
    """A string the server only ever answers from `values` (typed `str` where it is built)."""
    return Field(json_schema_extra={"enum": list(values)}, description=description)


def doc(description: str) -> Any:
    return Field(description=description)


Direction = Annotated[str, one_of("ONE", "MANY")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Count = Annotated[int, Field(ge=0)]
EventType = Annotated[str, one_of(*EVENT_TYPES)]


@with_config(_CLOSED)
class Error(TypedDict):
    statusCode: int
    message: str
    error: Annotated[str, doc("The HTTP reason phrase")]
    code: Annotated[str, one_of(*(c.value for c in ErrorCode))]
    details: NotRequired[Annotated[dict[str, Any], doc("e.g. `field`, `limit`, `limitName`")]]


# --- associations and relations ----------------------------------------------------------------


@with_config(_CLOSED)
class Association(TypedDict):
    id: str
    locationId: str
    key: str
    firstObjectKey: str
    firstObjectLabel: str
    secondObjectKey: str
    secondObjectLabel: Annotated[
        str, doc("For a single label, the same as firstObjectLabel (see labelType)")
    ]
    labelType: Annotated[
        str,
        one_of(
            "SINGLE",
            "PAIR",
            description="SINGLE: one label names both sides; PAIR: a label per side",
        ),
    ]
    associationType: Annotated[str, one_of("USER_DEFINED", "SYSTEM_DEFINED")]
    firstObjectToSecondObjectCardinality: Annotated[
        Direction, doc("ONE when a first record may be linked to one second record")
    ]
    secondObjectToFirstObjectCardinality: Direction
    cardinality: Annotated[str, one_of(*PRESETS)]
    firstToSecondLimit: Limit
    secondToFirstLimit: Limit
    description: str | None
    createdAt: datetime
    updatedAt: datetime


@with_config(_CLOSED)
class AssociationList(TypedDict):
    associations: list[Association]
    total: Count


@with_config(_CLOSED)
class WrappedAssociation(TypedDict):
    association: Association


@with_config(_CLOSED)
class AssociationDeleted(TypedDict):
    deleted: bool
    id: str
    message: str
    relationsDeleted: Count


@with_config(_CLOSED)
class Relation(TypedDict):
    """associationKey, firstObjectKey and secondObjectKey are the association's fields: present
    only for a token that may read associations (associations.readonly)."""

    id: str
    associationId: str
    associationKey: NotRequired[str]
    firstObjectKey: NotRequired[str]
    firstRecordId: str
    secondObjectKey: NotRequired[str]
    secondRecordId: str
    locationId: str
    createdAt: datetime


@with_config(_CLOSED)
class RelationList(TypedDict):
    relations: list[Relation]
    total: Count


@with_config(_CLOSED)
class RelationBulkResult(TypedDict):
    added: list[Relation]
    removed: list[str]


@with_config(_CLOSED)
class Deleted(TypedDict):
    deleted: bool
    id: str
    message: str


@with_config(_CLOSED)
class Event(TypedDict):
    """One change (docs/events.md lists every type with an example)."""

    id: str
    position: Annotated[str, doc("Increases with every event of the location; resume after it")]
    type: EventType
    occurredAt: datetime
    actorTokenId: str | None
    objectKey: str | None
    recordId: str | None
    associationId: str | None
    associationKey: str | None
    relationId: str | None
    firstRecordId: str | None
    secondRecordId: str | None
    firstObjectKey: str | None
    secondObjectKey: str | None
    firstObjectLabel: str | None
    secondObjectLabel: str | None
    data: dict[str, Any]


@with_config(_CLOSED)
class EventPage(TypedDict):
    events: list[Event]
    hasMore: bool
    nextCursor: Annotated[str | None, doc("The position to pass as `after` for the next page")]


# --- objects, records and contacts -------------------------------------------------------------


@with_config(_CLOSED)
class ObjectLabels(TypedDict):
    singular: str
    plural: str


@with_config(_CLOSED)
class Object(TypedDict):
    id: str
    key: str
    locationId: str
    standard: bool
    labels: ObjectLabels
    description: str | None
    primaryDisplayProperty: str
    createdAt: datetime
    updatedAt: datetime
    dateAdded: Annotated[datetime, doc("HighLevel's name for createdAt")]
    dateUpdated: Annotated[datetime, doc("HighLevel's name for updatedAt")]


@with_config(_CLOSED)
class ObjectList(TypedDict):
    objects: list[Object]


@with_config(_CLOSED)
class WrappedObject(TypedDict):
    object: Object


@with_config(_CLOSED)
class ObjectFound(TypedDict):
    """HighLevel's answer also says whether it came from its cache and lists the object's custom
    fields; Relata's records are schemaless, so there are none."""

    object: Object
    cache: bool
    fields: list[dict[str, Any]]


@with_config(_CLOSED)
class Record(TypedDict):
    id: str
    objectKey: str
    locationId: str
    properties: dict[str, Any]
    displayName: str
    owner: Annotated[list[str], doc("Always empty: Relata has no record owners yet")]
    followers: Annotated[list[str], doc("Always empty: Relata has no record followers yet")]
    createdAt: datetime
    updatedAt: datetime
    dateAdded: datetime
    dateUpdated: datetime


_SEARCH_AFTER = doc("Send it back as the search's searchAfter for the results after this one")


@with_config(_CLOSED)
class FoundRecord(Record):
    searchAfter: Annotated[list[str], _SEARCH_AFTER]


@with_config(_CLOSED)
class RecordList(TypedDict):
    records: list[FoundRecord]
    total: Count


@with_config(_CLOSED)
class WrappedRecord(TypedDict):
    record: Record


@with_config(_CLOSED)
class RecordDeleted(TypedDict):
    deleted: bool
    success: bool
    id: str
    message: str
    relationsDeleted: Count


@with_config(_CLOSED)
class CustomField(TypedDict):
    id: str
    key: str
    value: Any


@with_config(_CLOSED)
class Contact(TypedDict):
    id: str
    locationId: str
    firstName: Any
    lastName: Any
    email: Any
    phone: Any
    name: Annotated[str, doc("The display name")]
    customFields: Annotated[
        list[CustomField], doc("The contact record's other properties, the name as id and key")
    ]
    dateAdded: datetime
    dateUpdated: datetime


@with_config(_CLOSED)
class FoundContact(Contact):
    searchAfter: Annotated[list[str], _SEARCH_AFTER]


@with_config(_CLOSED)
class ContactList(TypedDict):
    contacts: list[FoundContact]
    total: Count


@with_config(_CLOSED)
class WrappedContact(TypedDict):
    contact: Contact


@with_config(_CLOSED)
class ContactUpdated(TypedDict):
    succeded: Annotated[bool, doc("HighLevel's spelling")]
    contact: Contact


@with_config(_CLOSED)
class ContactDeleted(TypedDict):
    succeded: Annotated[bool, doc("HighLevel's spelling")]
    succeeded: bool
    id: str
    relationsDeleted: Count


# --- webhooks ----------------------------------------------------------------------------------


@with_config(_CLOSED)
class Webhook(TypedDict):
    id: str
    locationId: str
    url: Annotated[str, Field(max_length=MAX_URL)]
    eventTypes: list[EventType]
    events: Annotated[list[str], doc("The same types as HighLevel's webhooks name them")]
    objectKey: str | None
    active: bool
    createdAt: datetime
    updatedAt: datetime
    dateAdded: datetime
    dateUpdated: datetime


@with_config(_CLOSED)
class WebhookCreated(TypedDict):
    webhook: Webhook
    secret: Annotated[str, doc("The signing secret, shown only here")]


@with_config(_CLOSED)
class WebhookList(TypedDict):
    webhooks: list[Webhook]
    total: Count


@with_config(_CLOSED)
class WrappedWebhook(TypedDict):
    webhook: Webhook


@with_config(_CLOSED)
class WebhookDelivery(TypedDict):
    webhookId: str
    eventId: Annotated[str, doc("The `webhook-id` header")]
    eventType: EventType
    status: Annotated[str, one_of("PENDING", "DELIVERED", "DEAD")]
    attempts: Count
    lastStatusCode: int | None
    lastError: str | None
    lastAttemptAt: datetime | None
    nextAttemptAt: datetime | None
    createdAt: datetime
    cursor: str


@with_config(_CLOSED)
class DeliveryPage(TypedDict):
    deliveries: list[WebhookDelivery]
    hasMore: bool
    nextCursor: str | None


@with_config(_CLOSED)
class WrappedDelivery(TypedDict):
    delivery: WebhookDelivery
