"""Every REST route, once: app/rest/__init__.py serves this table and app/rest/openapi.py
describes it. A path ending in "/" is also served without it and the other way round, so
`/objects` and `/objects/` both answer (no redirect a client might not follow). More specific
paths come first; Starlette also keeps looking past a method mismatch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from pydantic import Field

from app.models import EVENT_TYPES
from app.rest import associations, contacts, objects, relations, webhooks
from app.rest import bodies as b
from app.rest import shapes as s
from app.rest.base import B, Call
from app.rest.operation import Operation, Param, route
from app.validation import MAX_PAGE

_ID = Annotated[str, Field(min_length=36, max_length=36)]
_OBJECT_KEY = "An object key: `contact`, `company`, `opportunity`, `pet` or `custom_objects.pet`"
# What a path parameter means wherever it appears, unless a route says otherwise.
PATH_PARAMS = {
    p.name: p
    for p in (
        Param("associationId", "An association id (`asc_...`)", _ID),
        Param("recordId", "A record id (`rec_...`)", _ID),
        Param("relationId", "A relation id (`rel_...`)", _ID),
        Param("contactId", "A contact record id (`rec_...`)", _ID),
        Param("webhookId", "A webhook id (`whk_...`)", _ID),
        Param("eventId", "An event id (`evt_...`)", _ID),
        Param("objectKey", _OBJECT_KEY),
        Param("key", _OBJECT_KEY),
    )
}
ASSOCIATION_KEY = Param("key", "The association's key")

SKIP = Param("skip", "How many to skip (default 0)", Annotated[int, Field(ge=0)])
LIMIT = Param(
    "limit",
    f"Page size (default 50, at most {MAX_PAGE})",
    Annotated[int, Field(ge=1, le=MAX_PAGE)],
)
CASCADE = Param(
    "cascade",
    "Default true (HighLevel's behaviour): its relations go in the same transaction; false"
    " refuses (409) while relations use it",
    bool,
)

_RELATION_WRITE_ERRORS = (400, 401, 403, 404, 422)
_LIST_ERRORS = (400, 401, 403)


R = TypeVar("R")
Handler = Callable[[Call[B]], Awaitable[R]]


def _associations(
    prefix: str,
    by_object: str,
    one: type[R],
    create: Handler[b.AssociationCreate, R],
    get: Handler[None, R],
    get_by_key: Handler[None, R],
    update: Handler[b.AssociationUpdate, R],
) -> list[Operation[Any, Any]]:
    """The same operations under `/associations/` (the association is the answer) and
    `/objects-association` (HighLevel's setup guide: it is wrapped, and by-object is spelt
    `object`); `one` is how one association is answered."""
    base = prefix.rstrip("/")
    tag = "associations"
    return [
        route(
            "POST",
            prefix,
            create,
            one,
            "Create an association (admin)",
            tag,
            body=b.AssociationCreate,
            status=201,
            errors=(400, 401, 403, 404, 409, 422),
        ),
        route(
            "GET",
            prefix,
            associations.list_all,
            s.AssociationList,
            "List the location's associations",
            tag,
            query=(SKIP, LIMIT),
            errors=_LIST_ERRORS,
        ),
        route(
            "GET",
            f"{base}/key/{{key}}",
            get_by_key,
            one,
            "Get an association by key",
            tag,
            path_params=(ASSOCIATION_KEY,),
        ),
        route(
            "GET",
            f"{base}/{by_object}/{{objectKey}}",
            associations.list_by_object,
            s.AssociationList,
            "List the associations of one object (either side)",
            tag,
        ),
        route("GET", f"{base}/{{associationId}}", get, one, "Get an association", tag),
        route(
            "PUT",
            f"{base}/{{associationId}}",
            update,
            one,
            "Rename an association's labels or change its description (admin)",
            tag,
            body=b.AssociationUpdate,
        ),
        route(
            "DELETE",
            f"{base}/{{associationId}}",
            associations.delete,
            s.AssociationDeleted,
            "Delete an association (admin) with its relations; cascade=false: 409 while"
            " relations use it",
            tag,
            query=(CASCADE,),
            errors=(400, 401, 403, 404, 409),
        ),
    ]


_RELATIONS: list[Operation[Any, Any]] = [
    route(
        "POST",
        "/associations/relations",
        relations.create,
        s.Relation,
        "Link two records through an association (an existing link is returned as is)",
        "relations",
        body=b.RelationCreate,
        status=201,
        errors=_RELATION_WRITE_ERRORS,
    ),
    route(
        "POST",
        "/associations/relations/bulk",
        relations.bulk,
        s.RelationBulkResult,
        "Remove and add relations, all or nothing",
        "relations",
        body=b.RelationBulk,
        errors=_RELATION_WRITE_ERRORS,
    ),
    route(
        "GET",
        "/associations/relations/{recordId}/history",
        relations.history,
        s.EventPage,
        "A record's history: its changes and its relations', oldest first (a deleted record's too)",
        "relations",
        query=(
            Param("after", "An event position: start after it"),
            Param("limit", "Events per page (default 50)", Annotated[int, Field(ge=0, le=500)]),
            Param(
                "types",
                "Only these event types (repeat it, or comma-separate)",
                Annotated[str, Field(json_schema_extra={"enum": list(EVENT_TYPES)})],
                many=True,
            ),
        ),
    ),
    route(
        "GET",
        "/associations/relations/{recordId}",
        relations.list_for_record,
        s.RelationList,
        "A record's relations, on either side",
        "relations",
        query=(
            SKIP,
            LIMIT,
            Param(
                "associationIds",
                "Only relations of these associations (repeat it, or comma-separate)",
                many=True,
            ),
        ),
    ),
    route(
        "DELETE",
        "/associations/relations/{relationId}",
        relations.delete,
        s.Deleted,
        "Delete a relation",
        "relations",
    ),
]

_OBJECTS: list[Operation[Any, Any]] = [
    route(
        "GET",
        "/objects/",
        objects.list_all,
        s.ObjectList,
        "List the location's objects",
        "objects",
        errors=_LIST_ERRORS,
    ),
    route(
        "POST",
        "/objects/",
        objects.create,
        s.WrappedObject,
        "Create a custom object (admin)",
        "objects",
        body=b.ObjectCreate,
        status=201,
        errors=(400, 401, 403, 409),
    ),
    route(
        "GET",
        "/objects/{key}",
        objects.get,
        s.ObjectFound,
        "Get an object (with HighLevel's `cache` and `fields`: false and none)",
        "objects",
        query=(Param("fetchProperties", "HighLevel's; accepted, the answer has no list", bool),),
    ),
    route(
        "PUT",
        "/objects/{key}",
        objects.update,
        s.WrappedObject,
        "Change a custom object's labels, description or display property (admin)",
        "objects",
        body=b.ObjectUpdate,
    ),
    route(
        "POST",
        "/objects/{key}/records/search",
        objects.search_records,
        s.RecordList,
        "Search an object's records by display name",
        "records",
        body=b.Search,
    ),
    route(
        "POST",
        "/objects/{key}/records",
        objects.create_record,
        s.WrappedRecord,
        "Create a record",
        "records",
        body=b.RecordCreate,
        status=201,
    ),
    route(
        "GET",
        "/objects/{key}/records/{recordId}",
        objects.get_record,
        s.WrappedRecord,
        "Get a record",
        "records",
    ),
    route(
        "PUT",
        "/objects/{key}/records/{recordId}",
        objects.update_record,
        s.WrappedRecord,
        "Update a record's properties (merge; null removes one)",
        "records",
        body=b.RecordUpdate,
    ),
    route(
        "DELETE",
        "/objects/{key}/records/{recordId}",
        objects.delete_record,
        s.RecordDeleted,
        "Delete a record and its relations",
        "records",
    ),
]

_CONTACTS: list[Operation[Any, Any]] = [
    route(
        "POST",
        "/contacts/search",
        contacts.search,
        s.ContactList,
        "Search contacts by display name",
        "contacts",
        body=b.Search,
        errors=_LIST_ERRORS,
    ),
    route(
        "POST",
        "/contacts/",
        contacts.create,
        s.WrappedContact,
        "Create a contact (a record of the `contact` object)",
        "contacts",
        body=b.ContactWrite,
        status=201,
        errors=_LIST_ERRORS,
    ),
    route(
        "GET",
        "/contacts/{contactId}",
        contacts.get,
        s.WrappedContact,
        "Get a contact",
        "contacts",
    ),
    route(
        "PUT",
        "/contacts/{contactId}",
        contacts.update,
        s.ContactUpdated,
        "Update a contact (merge; null removes a field)",
        "contacts",
        body=b.ContactWrite,
    ),
    route(
        "DELETE",
        "/contacts/{contactId}",
        contacts.delete,
        s.ContactDeleted,
        "Delete a contact and its relations",
        "contacts",
    ),
]

_WEBHOOKS: list[Operation[Any, Any]] = [
    route(
        "POST",
        "/webhooks",
        webhooks.create,
        s.WebhookCreated,
        "Register a webhook (admin); the answer carries its signing secret, shown once",
        "webhooks",
        body=b.WebhookCreate,
        status=201,
        errors=_RELATION_WRITE_ERRORS,
    ),
    route(
        "GET",
        "/webhooks",
        webhooks.list_all,
        s.WebhookList,
        "List the location's webhooks (admin)",
        "webhooks",
        errors=_LIST_ERRORS,
    ),
    route(
        "GET",
        "/webhooks/{webhookId}",
        webhooks.get,
        s.WrappedWebhook,
        "Get a webhook (admin)",
        "webhooks",
    ),
    route(
        "PUT",
        "/webhooks/{webhookId}",
        webhooks.update,
        s.WrappedWebhook,
        "Change a webhook's url, eventTypes or active (admin)",
        "webhooks",
        body=b.WebhookUpdate,
    ),
    route(
        "DELETE",
        "/webhooks/{webhookId}",
        webhooks.delete,
        s.Deleted,
        "Delete a webhook and its delivery log (admin)",
        "webhooks",
    ),
    route(
        "GET",
        "/webhooks/{webhookId}/deliveries",
        webhooks.deliveries,
        s.DeliveryPage,
        "A webhook's deliveries, newest event first (admin)",
        "webhooks",
        query=(
            Param(
                "limit",
                f"Page size (default 50, at most {MAX_PAGE})",
                Annotated[int, Field(ge=0, le=MAX_PAGE)],
            ),
            Param("after", "A previous page's nextCursor: the deliveries older than it"),
        ),
    ),
    route(
        "POST",
        "/webhooks/{webhookId}/deliveries/{eventId}/redeliver",
        webhooks.redeliver,
        s.WrappedDelivery,
        "Send an event to the webhook again, now, attempts counted from 0 (admin)",
        "webhooks",
    ),
]

ROUTES: list[Operation[Any, Any]] = [
    *_RELATIONS,
    *_associations(
        "/associations/",
        "objectKey",
        s.Association,
        associations.create,
        associations.get,
        associations.get_by_key,
        associations.update,
    ),
    *_associations(
        "/objects-association",
        "object",
        s.WrappedAssociation,
        associations.oa_create,
        associations.oa_get,
        associations.oa_get_by_key,
        associations.oa_update,
    ),
    *_OBJECTS,
    *_CONTACTS,
    *_WEBHOOKS,
]
