"""The OpenAPI 3.0 description of the REST API, written by hand next to the routes it describes
(tests check every route is described, and a Schemathesis run checks responses against it)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.models import EVENT_TYPES
from app.rest.base import API_VERSION, SUPPORTED_VERSIONS, json_response
from app.services.associations import MAX_LIMIT, PRESETS
from app.validation import MAX_DESCRIPTION, MAX_KEY, MAX_LABEL, MAX_PAGE
from app.webhooks.models import MAX_URL

_ERRORS = {
    400: "Missing or malformed field, header or parameter",
    401: "Missing, unknown or revoked bearer token",
    403: "Missing scope or role, or a locationId that is not the token's",
    404: "Unknown object, record, association or relation",
    409: "Duplicate key, or association in use",
    422: "A limit would be exceeded",
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _nullable(type_: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "nullable": True, **extra}


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, "description": description, **extra}


def _path(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return _param(name, "path", {"type": "string", **schema}, description, required=True)


_ID = {"minLength": 36, "maxLength": 36}
ASSOCIATION_ID = _path("associationId", "An association id (`asc_...`)", **_ID)
RECORD_ID = _path("recordId", "A record id (`rec_...`)", **_ID)
OBJECT_KEY = _path(
    "objectKey", "An object key: `contact`, `company`, `opportunity`, `pet` or `custom_objects.pet`"
)
LOCATION = _param(
    "locationId",
    "query",
    {"type": "string"},
    "The token's location; may be left out, anything else is refused with 403",
)
SKIP = _param("skip", "query", {"type": "integer", "minimum": 0}, "How many to skip (default 0)")
LIMIT = _param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    f"Page size (default 50, at most {MAX_PAGE})",
)


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    status: int = 200,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    errors: tuple[int, ...] = (400, 401, 403, 404),
    tag: str = "associations",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "parameters": [{"$ref": "#/components/parameters/Version"}, *(params or [])],
        "responses": {
            str(status): {"description": "Success", "content": _json(ok)},
            **{
                str(code): {"description": _ERRORS[code], "content": _json(_ref("Error"))}
                for code in errors
            },
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(body)}
    return op


_LABEL = {"type": "string", "maxLength": MAX_LABEL}
_DESCRIPTION = {"type": "string", "maxLength": MAX_DESCRIPTION}
_DATE = {"type": "string", "format": "date-time"}

_CUSTOM_FIELD = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "key": {"type": "string"}, "value": {}},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["statusCode", "message", "error"],
        "properties": {
            "statusCode": {"type": "integer"},
            "message": {"type": "string"},
            "error": {"type": "string", "description": "The HTTP reason phrase"},
            "code": {
                "type": "string",
                "enum": [
                    "BAD_USER_INPUT",
                    "UNAUTHENTICATED",
                    "FORBIDDEN",
                    "NOT_FOUND",
                    "CONFLICT",
                    "LIMIT_EXCEEDED",
                    "INTERNAL_SERVER_ERROR",
                ],
            },
            "details": {"type": "object", "description": "e.g. `field`, `limit`, `limitName`"},
        },
    },
    "Association": {
        "type": "object",
        "required": [
            "id",
            "locationId",
            "key",
            "firstObjectKey",
            "firstObjectLabel",
            "secondObjectKey",
            "secondObjectLabel",
            "labelType",
            "associationType",
            "firstObjectToSecondObjectCardinality",
            "secondObjectToFirstObjectCardinality",
            "cardinality",
            "firstToSecondLimit",
            "secondToFirstLimit",
            "description",
            "createdAt",
            "updatedAt",
        ],
        "properties": {
            "id": {"type": "string"},
            "locationId": {"type": "string"},
            "key": {"type": "string"},
            "firstObjectKey": {"type": "string"},
            "firstObjectLabel": {"type": "string"},
            "secondObjectKey": {"type": "string"},
            "secondObjectLabel": {
                "type": "string",
                "description": "For a single label, the same as firstObjectLabel (see labelType)",
            },
            "labelType": {
                "type": "string",
                "enum": ["SINGLE", "PAIR"],
                "description": "SINGLE: one label names both sides; PAIR: a label per side",
            },
            "associationType": {"type": "string", "enum": ["USER_DEFINED", "SYSTEM_DEFINED"]},
            "firstObjectToSecondObjectCardinality": {
                "type": "string",
                "enum": ["ONE", "MANY"],
                "description": "ONE when a first record may be linked to one second record",
            },
            "secondObjectToFirstObjectCardinality": {"type": "string", "enum": ["ONE", "MANY"]},
            "cardinality": {"type": "string", "enum": list(PRESETS)},
            "firstToSecondLimit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "secondToFirstLimit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "description": _nullable("string"),
            "createdAt": _DATE,
            "updatedAt": _DATE,
        },
    },
    "AssociationCreate": {
        "type": "object",
        "required": ["key", "firstObjectKey", "secondObjectKey"],
        "properties": {
            "locationId": {"type": "string"},
            "key": {
                "type": "string",
                "maxLength": MAX_KEY,
                "description": "Unique in the location; letters, digits, _ . -",
            },
            "firstObjectKey": {"type": "string"},
            "secondObjectKey": {"type": "string"},
            "firstObjectLabel": {
                **_LABEL,
                "description": "Default: the first object's singular label",
            },
            "secondObjectLabel": {
                **_LABEL,
                "description": "Leave out (with a firstObjectLabel) for a single label. When both"
                " labels are left out it defaults to the second object's singular label (or a"
                " single label for an object with itself)",
            },
            "description": _DESCRIPTION,
            "cardinality": {"type": "string", "enum": list(PRESETS)},
            "firstToSecondLimit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "secondToFirstLimit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "firstObjectToSecondObjectCardinality": {
                "type": "string",
                "enum": ["ONE", "MANY"],
                "description": "Sets firstToSecondLimit to 1 or 1000 when that is not given",
            },
            "secondObjectToFirstObjectCardinality": {"type": "string", "enum": ["ONE", "MANY"]},
        },
    },
    "AssociationUpdate": {
        "type": "object",
        "description": "Only labels and the description can change; other fields are refused",
        "properties": {
            "locationId": {"type": "string"},
            "firstObjectLabel": _LABEL,
            "secondObjectLabel": _nullable("string", maxLength=MAX_LABEL),
            "description": _nullable("string", maxLength=MAX_DESCRIPTION),
        },
    },
    "AssociationList": {
        "type": "object",
        "required": ["associations", "total"],
        "properties": {
            "associations": {"type": "array", "items": _ref("Association")},
            "total": {"type": "integer", "minimum": 0},
        },
    },
    "WrappedAssociation": {
        "type": "object",
        "required": ["association"],
        "properties": {"association": _ref("Association")},
    },
    "Deleted": {
        "type": "object",
        "required": ["deleted", "id", "message"],
        "properties": {
            "deleted": {"type": "boolean"},
            "id": {"type": "string"},
            "message": {"type": "string"},
            "relationsDeleted": {"type": "integer", "minimum": 0},
            "success": {"type": "boolean"},
        },
    },
    "Relation": {
        "type": "object",
        "description": "associationKey, firstObjectKey and secondObjectKey are the association's"
        " fields: present only for a token that may read associations (associations.readonly)",
        "required": [
            "id",
            "associationId",
            "firstRecordId",
            "secondRecordId",
            "locationId",
            "createdAt",
        ],
        "properties": {
            "id": {"type": "string"},
            "associationId": {"type": "string"},
            "associationKey": {"type": "string"},
            "firstObjectKey": {"type": "string"},
            "firstRecordId": {"type": "string"},
            "secondObjectKey": {"type": "string"},
            "secondRecordId": {"type": "string"},
            "locationId": {"type": "string"},
            "createdAt": _DATE,
        },
    },
    "RelationCreate": {
        "type": "object",
        "required": ["associationId", "firstRecordId", "secondRecordId"],
        "properties": {
            "locationId": {"type": "string"},
            "associationId": {"type": "string"},
            "firstRecordId": {"type": "string"},
            "secondRecordId": {"type": "string"},
        },
    },
    "RelationBulk": {
        "type": "object",
        "description": "Removes, then adds, in one transaction: all of it or none of it",
        "properties": {
            "locationId": {"type": "string"},
            "add": {"type": "array", "maxItems": 1000, "items": _ref("RelationCreate")},
            "remove": {
                "type": "array",
                "maxItems": 1000,
                "items": {"type": "string", "description": "A relation id"},
            },
        },
    },
    "RelationBulkResult": {
        "type": "object",
        "required": ["added", "removed"],
        "properties": {
            "added": {"type": "array", "items": _ref("Relation")},
            "removed": {"type": "array", "items": {"type": "string"}},
        },
    },
    "RelationList": {
        "type": "object",
        "required": ["relations", "total"],
        "properties": {
            "relations": {"type": "array", "items": _ref("Relation")},
            "total": {"type": "integer", "minimum": 0},
        },
    },
    "Event": {
        "type": "object",
        "description": "One change (docs/events.md lists every type with an example)",
        "required": ["id", "position", "type", "occurredAt", "data"],
        "properties": {
            "id": {"type": "string"},
            "position": {
                "type": "string",
                "description": "Increases with every event of the location; resume after it",
            },
            "type": {"type": "string", "enum": list(EVENT_TYPES)},
            "occurredAt": {"type": "string", "format": "date-time"},
            "data": {"type": "object"},
            **{
                name: {"type": ["string", "null"]}
                for name in (
                    "actorTokenId",
                    "objectKey",
                    "recordId",
                    "associationId",
                    "associationKey",
                    "relationId",
                    "firstRecordId",
                    "secondRecordId",
                    "firstObjectKey",
                    "secondObjectKey",
                    "firstObjectLabel",
                    "secondObjectLabel",
                )
            },
        },
    },
    "EventPage": {
        "type": "object",
        "required": ["events", "hasMore", "nextCursor"],
        "properties": {
            "events": {"type": "array", "items": _ref("Event")},
            "hasMore": {"type": "boolean"},
            "nextCursor": {
                "type": ["string", "null"],
                "description": "The position to pass as `after` for the next page",
            },
        },
    },
    "Object": {
        "type": "object",
        "required": ["id", "key", "locationId", "standard", "labels", "primaryDisplayProperty"],
        "properties": {
            "id": {"type": "string"},
            "key": {"type": "string"},
            "locationId": {"type": "string"},
            "standard": {"type": "boolean"},
            "labels": {
                "type": "object",
                "required": ["singular", "plural"],
                "properties": {"singular": {"type": "string"}, "plural": {"type": "string"}},
            },
            "description": _nullable("string"),
            "primaryDisplayProperty": {"type": "string"},
            "createdAt": _DATE,
            "updatedAt": _DATE,
            "dateAdded": _DATE,
            "dateUpdated": _DATE,
        },
    },
    "ObjectUpdate": {
        "type": "object",
        "description": "HighLevel's update body; what is left out stays. The display property"
        " cannot change after creation (only its current value is accepted); searchableProperties"
        " is accepted and not used (Relata searches the display name)",
        "properties": {
            "locationId": {"type": "string"},
            "labels": {
                "type": "object",
                "properties": {"singular": _LABEL, "plural": _LABEL},
            },
            "description": _DESCRIPTION,
            "searchableProperties": {"type": "array", "items": {"type": "string"}},
            "primaryDisplayProperty": {"type": "string"},
            "primaryDisplayPropertyDetails": {
                "type": "object",
                "properties": {"key": {"type": "string"}},
            },
        },
    },
    "Search": {
        "type": "object",
        "description": "HighLevel's search body: `query` matches the display name; page with"
        " `page`/`pageLimit` (first 10,000 results) or `searchAfter` (the last record's"
        " searchAfter). Oldest first; a non-empty `sort` or `filters` is refused",
        "properties": {
            "locationId": {"type": "string"},
            "query": {"type": "string"},
            "page": {"type": "integer", "minimum": 1},
            "pageLimit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            "searchAfter": {"type": "array", "items": {"type": "string"}},
            "sort": {"type": "array", "maxItems": 0},
            "filters": {"type": "array", "maxItems": 0},
        },
    },
    "Contact": {
        "type": "object",
        "required": ["id", "locationId", "customFields"],
        "properties": {
            "id": {"type": "string"},
            "locationId": {"type": "string"},
            "firstName": {"nullable": True},
            "lastName": {"nullable": True},
            "email": {"nullable": True},
            "phone": {"nullable": True},
            "name": {"type": "string"},
            "customFields": {
                "type": "array",
                "description": "The contact record's other properties, the name as id and key",
                "items": _CUSTOM_FIELD,
            },
            "dateAdded": _DATE,
            "dateUpdated": _DATE,
            "searchAfter": {"type": "array", "items": {"type": "string"}},
        },
    },
    "ContactWrite": {
        "type": "object",
        "description": "A `contact` record's properties, HighLevel-style; other fields are"
        " refused. On update a field set to null is removed",
        "properties": {
            "locationId": {"type": "string"},
            "firstName": _nullable("string"),
            "lastName": _nullable("string"),
            "email": _nullable("string"),
            "phone": _nullable("string"),
            "customFields": {
                "type": "array",
                "items": _CUSTOM_FIELD,
            },
        },
    },
    "ObjectCreate": {
        "type": "object",
        "required": ["key", "labels"],
        "properties": {
            "locationId": {"type": "string"},
            "key": {"type": "string", "description": "`pet` or `custom_objects.pet`"},
            "labels": {
                "type": "object",
                "required": ["singular", "plural"],
                "properties": {"singular": _LABEL, "plural": _LABEL},
            },
            "description": _DESCRIPTION,
            "primaryDisplayProperty": {"type": "string", "description": "Default `name`"},
            "primaryDisplayPropertyDetails": {
                "type": "object",
                "description": "HighLevel's form: its `key` is used as primaryDisplayProperty",
                "properties": {"key": {"type": "string"}},
            },
        },
    },
    "Record": {
        "type": "object",
        "required": ["id", "objectKey", "locationId", "properties", "displayName"],
        "properties": {
            "id": {"type": "string"},
            "objectKey": {"type": "string"},
            "locationId": {"type": "string"},
            "properties": {"type": "object"},
            "displayName": {"type": "string"},
            "owner": {"type": "array", "items": {"type": "string"}},
            "followers": {"type": "array", "items": {"type": "string"}},
            "createdAt": _DATE,
            "updatedAt": _DATE,
            "dateAdded": _DATE,
            "dateUpdated": _DATE,
            "searchAfter": {"type": "array", "items": {"type": "string"}},
        },
    },
    "RecordCreate": {
        "type": "object",
        "properties": {"locationId": {"type": "string"}, "properties": {"type": "object"}},
    },
    "RecordUpdate": {
        "type": "object",
        "required": ["properties"],
        "description": "Merged into the record's properties; a property set to null is removed",
        "properties": {"locationId": {"type": "string"}, "properties": {"type": "object"}},
    },
}


def _wrapped(name: str, schema: str) -> dict[str, Any]:
    return {"type": "object", "required": [name], "properties": {name: _ref(schema)}}


def _association_paths(prefix: str, wrap: bool) -> dict[str, Any]:
    one = _ref("WrappedAssociation") if wrap else _ref("Association")
    slash = "" if wrap else "/"
    by_object = "object" if wrap else "objectKey"
    return {
        f"{prefix}{slash}": {
            "post": _op(
                "Create an association (admin)",
                one,
                status=201,
                body=_ref("AssociationCreate"),
                errors=(400, 401, 403, 404, 409, 422),
            ),
            "get": _op(
                "List the location's associations",
                _ref("AssociationList"),
                params=[LOCATION, SKIP, LIMIT],
                errors=(400, 401, 403),
            ),
        },
        f"{prefix}/key/{{key}}": {
            "get": _op(
                "Get an association by key",
                one,
                params=[_path("key", "The association's key"), LOCATION],
            )
        },
        f"{prefix}/{by_object}/{{objectKey}}": {
            "get": _op(
                "List the associations of one object (either side)",
                _ref("AssociationList"),
                params=[OBJECT_KEY, LOCATION],
            )
        },
        f"{prefix}/{{associationId}}": {
            "get": _op("Get an association", one, params=[ASSOCIATION_ID, LOCATION]),
            "put": _op(
                "Rename an association's labels or change its description (admin)",
                one,
                params=[ASSOCIATION_ID],
                body=_ref("AssociationUpdate"),
            ),
            "delete": _op(
                "Delete an association (admin) with its relations; cascade=false: 409 while"
                " relations use it",
                _ref("Deleted"),
                params=[
                    ASSOCIATION_ID,
                    LOCATION,
                    _param(
                        "cascade",
                        "query",
                        {"type": "boolean"},
                        "Default true (HighLevel's behaviour): its relations go in the same"
                        " transaction; false refuses (409) while relations use it",
                    ),
                ],
                errors=(400, 401, 403, 404, 409),
            ),
        },
    }


PATHS: dict[str, Any] = {
    **_association_paths("/associations", wrap=False),
    "/associations/relations": {
        "post": _op(
            "Link two records through an association (an existing link is returned as is)",
            _ref("Relation"),
            status=201,
            body=_ref("RelationCreate"),
            errors=(400, 401, 403, 404, 422),
            tag="relations",
        )
    },
    "/associations/relations/bulk": {
        "post": _op(
            "Remove and add relations, all or nothing",
            _ref("RelationBulkResult"),
            body=_ref("RelationBulk"),
            errors=(400, 401, 403, 404, 422),
            tag="relations",
        )
    },
    "/associations/relations/{id}/history": {
        "get": _op(
            "A record's history: its changes and its relations', oldest first (a deleted"
            " record's too)",
            _ref("EventPage"),
            params=[
                _path("id", "A record id (`rec_...`)", **_ID),
                LOCATION,
                _param("after", "query", {"type": "string"}, "An event position: start after it"),
                _param(
                    "limit",
                    "query",
                    {"type": "integer", "minimum": 0, "maximum": 500},
                    "Events per page (default 50)",
                ),
                _param(
                    "types",
                    "query",
                    {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
                    "Only these event types (repeat it, or comma-separate)",
                    style="form",
                    explode=True,
                ),
            ],
            tag="relations",
        )
    },
    # One templated path for both: OpenAPI allows a single name per template position.
    "/associations/relations/{id}": {
        "get": _op(
            "A record's relations, on either side",
            _ref("RelationList"),
            params=[
                _path("id", "A record id (`rec_...`)", **_ID),
                LOCATION,
                SKIP,
                LIMIT,
                _param(
                    "associationIds",
                    "query",
                    {"type": "array", "items": {"type": "string"}},
                    "Only relations of these associations (repeat it, or comma-separate)",
                    style="form",
                    explode=True,
                ),
            ],
            tag="relations",
        ),
        "delete": _op(
            "Delete a relation",
            _ref("Deleted"),
            params=[_path("id", "A relation id (`rel_...`)", **_ID), LOCATION],
            tag="relations",
        ),
    },
    **_association_paths("/objects-association", wrap=True),
    "/objects/": {
        "get": _op(
            "List the location's objects",
            {
                "type": "object",
                "required": ["objects"],
                "properties": {"objects": {"type": "array", "items": _ref("Object")}},
            },
            params=[LOCATION],
            errors=(400, 401, 403),
            tag="objects",
        ),
        "post": _op(
            "Create a custom object (admin)",
            _wrapped("object", "Object"),
            status=201,
            body=_ref("ObjectCreate"),
            errors=(400, 401, 403, 409),
            tag="objects",
        ),
    },
    "/objects/{key}": {
        "get": _op(
            "Get an object (with HighLevel's `cache` and `fields`: false and none)",
            {
                "type": "object",
                "required": ["object", "cache", "fields"],
                "properties": {
                    "object": _ref("Object"),
                    "cache": {"type": "boolean"},
                    "fields": {"type": "array", "items": {"type": "object"}},
                },
            },
            params=[
                _path("key", OBJECT_KEY["description"]),
                LOCATION,
                _param(
                    "fetchProperties",
                    "query",
                    {"type": "boolean"},
                    "HighLevel's; accepted, the answer has no property list",
                ),
            ],
            tag="objects",
        ),
        "put": _op(
            "Change a custom object's labels or description (admin)",
            _wrapped("object", "Object"),
            params=[_path("key", OBJECT_KEY["description"])],
            body=_ref("ObjectUpdate"),
            tag="objects",
        ),
    },
    "/objects/{key}/records/search": {
        "post": _op(
            "Search an object's records by display name",
            {
                "type": "object",
                "required": ["records", "total"],
                "properties": {
                    "records": {"type": "array", "items": _ref("Record")},
                    "total": {"type": "integer", "minimum": 0},
                },
            },
            params=[_path("key", OBJECT_KEY["description"])],
            body=_ref("Search"),
            tag="records",
        )
    },
    "/objects/{key}/records": {
        "post": _op(
            "Create a record",
            _wrapped("record", "Record"),
            status=201,
            params=[_path("key", OBJECT_KEY["description"])],
            body=_ref("RecordCreate"),
            tag="records",
        )
    },
    "/objects/{key}/records/{recordId}": {
        "get": _op(
            "Get a record",
            _wrapped("record", "Record"),
            params=[_path("key", OBJECT_KEY["description"]), RECORD_ID, LOCATION],
            tag="records",
        ),
        "put": _op(
            "Update a record's properties (merge)",
            _wrapped("record", "Record"),
            params=[_path("key", OBJECT_KEY["description"]), RECORD_ID],
            body=_ref("RecordUpdate"),
            tag="records",
        ),
        "delete": _op(
            "Delete a record and its relations",
            _ref("Deleted"),
            params=[_path("key", OBJECT_KEY["description"]), RECORD_ID, LOCATION],
            tag="records",
        ),
    },
    "/contacts/": {
        "post": _op(
            "Create a contact (a record of the `contact` object)",
            _wrapped("contact", "Contact"),
            status=201,
            body=_ref("ContactWrite"),
            errors=(400, 401, 403),
            tag="contacts",
        )
    },
    "/contacts/search": {
        "post": _op(
            "Search contacts by display name",
            {
                "type": "object",
                "required": ["contacts", "total"],
                "properties": {
                    "contacts": {"type": "array", "items": _ref("Contact")},
                    "total": {"type": "integer", "minimum": 0},
                },
            },
            body=_ref("Search"),
            errors=(400, 401, 403),
            tag="contacts",
        )
    },
    "/contacts/{contactId}": {
        "get": _op(
            "Get a contact",
            _wrapped("contact", "Contact"),
            params=[_path("contactId", "A contact record id (`rec_...`)", **_ID), LOCATION],
            tag="contacts",
        ),
        "put": _op(
            "Update a contact (merge; null removes a field)",
            {
                "type": "object",
                "required": ["succeded", "contact"],
                "properties": {"succeded": {"type": "boolean"}, "contact": _ref("Contact")},
            },
            params=[_path("contactId", "A contact record id (`rec_...`)", **_ID)],
            body=_ref("ContactWrite"),
            tag="contacts",
        ),
        "delete": _op(
            "Delete a contact and its relations",
            {
                "type": "object",
                "required": ["succeded", "id"],
                "properties": {
                    "succeded": {"type": "boolean"},
                    "succeeded": {"type": "boolean"},
                    "id": {"type": "string"},
                    "relationsDeleted": {"type": "integer", "minimum": 0},
                },
            },
            params=[_path("contactId", "A contact record id (`rec_...`)", **_ID), LOCATION],
            tag="contacts",
        ),
    },
}


# --- webhooks (admin only) ---------------------------------------------------------------------

_EVENT_TYPE = {
    "type": "string",
    "description": "An event type, as GraphQL names it (`RELATION_CREATE`) or as HighLevel's"
    " webhooks do (`RelationCreate`)",
}
WEBHOOK_ID = _path("webhookId", "A webhook id (`whk_...`)", **_ID)
SCHEMAS.update(
    {
        "Webhook": {
            "type": "object",
            "required": ["id", "locationId", "url", "eventTypes", "objectKey", "active"],
            "properties": {
                "id": {"type": "string"},
                "locationId": {"type": "string"},
                "url": {"type": "string", "maxLength": MAX_URL},
                "eventTypes": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(EVENT_TYPES)},
                },
                "events": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "The same types as HighLevel's webhooks name them",
                },
                "objectKey": _nullable("string"),
                "active": {"type": "boolean"},
                "createdAt": _DATE,
                "updatedAt": _DATE,
                "dateAdded": _DATE,
                "dateUpdated": _DATE,
            },
        },
        "WebhookCreate": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "locationId": {"type": "string"},
                "url": {
                    "type": "string",
                    "maxLength": MAX_URL,
                    "description": "http(s); private, loopback and link-local hosts are refused",
                },
                "eventTypes": {
                    "type": "array",
                    "minItems": 1,
                    "items": _EVENT_TYPE,
                    "description": "Left out: every type",
                },
                "objectKey": {"type": "string", "description": "Only events of this object"},
            },
        },
        "WebhookUpdate": {
            "type": "object",
            "description": "What is left out stays; objectKey cannot change",
            "properties": {
                "locationId": {"type": "string"},
                "url": {"type": "string", "maxLength": MAX_URL},
                "eventTypes": _nullable("array", minItems=1, items=_EVENT_TYPE),
                "active": {"type": "boolean"},
            },
        },
        "WebhookDelivery": {
            "type": "object",
            "required": ["webhookId", "eventId", "eventType", "status", "attempts"],
            "properties": {
                "webhookId": {"type": "string"},
                "eventId": {"type": "string", "description": "The `webhook-id` header"},
                "eventType": {"type": "string", "enum": list(EVENT_TYPES)},
                "status": {"type": "string", "enum": ["PENDING", "DELIVERED", "DEAD"]},
                "attempts": {"type": "integer", "minimum": 0},
                "lastStatusCode": _nullable("integer"),
                "lastError": _nullable("string"),
                "lastAttemptAt": _nullable("string", format="date-time"),
                "nextAttemptAt": _nullable("string", format="date-time"),
                "createdAt": _DATE,
                "cursor": {"type": "string"},
            },
        },
    }
)
PATHS.update(
    {
        "/webhooks": {
            "post": _op(
                "Register a webhook (admin); the answer carries its signing secret, shown once",
                {
                    "type": "object",
                    "required": ["webhook", "secret"],
                    "properties": {"webhook": _ref("Webhook"), "secret": {"type": "string"}},
                },
                status=201,
                body=_ref("WebhookCreate"),
                errors=(400, 401, 403, 404, 422),
                tag="webhooks",
            ),
            "get": _op(
                "List the location's webhooks (admin)",
                {
                    "type": "object",
                    "required": ["webhooks", "total"],
                    "properties": {
                        "webhooks": {"type": "array", "items": _ref("Webhook")},
                        "total": {"type": "integer", "minimum": 0},
                    },
                },
                params=[LOCATION],
                errors=(400, 401, 403),
                tag="webhooks",
            ),
        },
        "/webhooks/{webhookId}": {
            "get": _op(
                "Get a webhook (admin)",
                _wrapped("webhook", "Webhook"),
                params=[WEBHOOK_ID, LOCATION],
                tag="webhooks",
            ),
            "put": _op(
                "Change a webhook's url, eventTypes or active (admin)",
                _wrapped("webhook", "Webhook"),
                params=[WEBHOOK_ID],
                body=_ref("WebhookUpdate"),
                tag="webhooks",
            ),
            "delete": _op(
                "Delete a webhook and its delivery log (admin)",
                _ref("Deleted"),
                params=[WEBHOOK_ID, LOCATION],
                tag="webhooks",
            ),
        },
        "/webhooks/{webhookId}/deliveries": {
            "get": _op(
                "A webhook's deliveries, newest event first (admin)",
                {
                    "type": "object",
                    "required": ["deliveries", "hasMore"],
                    "properties": {
                        "deliveries": {"type": "array", "items": _ref("WebhookDelivery")},
                        "hasMore": {"type": "boolean"},
                        "nextCursor": _nullable("string"),
                    },
                },
                params=[
                    WEBHOOK_ID,
                    LOCATION,
                    _param(
                        "limit",
                        "query",
                        {"type": "integer", "minimum": 0, "maximum": MAX_PAGE},
                        f"Page size (default 50, at most {MAX_PAGE})",
                    ),
                    _param(
                        "after",
                        "query",
                        {"type": "string"},
                        "A previous page's nextCursor: the deliveries older than it",
                    ),
                ],
                tag="webhooks",
            )
        },
        "/webhooks/{webhookId}/deliveries/{eventId}/redeliver": {
            "post": _op(
                "Send an event to the webhook again, now, attempts counted from 0 (admin)",
                _wrapped("delivery", "WebhookDelivery"),
                params=[WEBHOOK_ID, _path("eventId", "An event id (`evt_...`)", **_ID), LOCATION],
                body={"type": "object", "properties": {"locationId": {"type": "string"}}},
                tag="webhooks",
            )
        },
    }
)

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Relata REST API (HighLevel-compatible)",
        "version": API_VERSION,
        "description": "Associations, relations, objects and records over the same service"
        " layer as GraphQL (POST /graphql). Send `Authorization: Bearer <token>` and"
        f" `Version: {API_VERSION}` on every request. Paths ending in `/` also answer"
        " without it, and the other way round.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        "parameters": {
            "Version": {
                "name": "Version",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "enum": list(SUPPORTED_VERSIONS)},
                "description": "The API version; requests without it are refused with 400",
            }
        },
        "schemas": SCHEMAS,
    },
}


def openapi_document() -> dict[str, Any]:
    return OPENAPI


async def openapi_endpoint(_: Request) -> Response:
    return json_response(OPENAPI)
