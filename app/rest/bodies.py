"""What REST accepts, once: each request body is a pydantic model that validates it (strictly: no
coercion, a number is not a string) and that /openapi.json's `components.schemas` is generated
from. The models check shape (types, presence, unknown and unchangeable fields); value rules
(key syntax, label lengths, limits, property contents) stay in app/validation.py and the
services, shared with GraphQL, and are published here from the same constants. The edge rules
(NUL, lone surrogates, 64-bit integers, finite numbers, depth) ran on the whole body before."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeVar, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from app import validation
from app.errors import BadUserInput
from app.services.associations import MAX_LIMIT, PRESETS
from app.validation import MAX_DESCRIPTION, MAX_KEY, MAX_LABEL, MAX_PAGE
from app.webhooks.models import MAX_URL

M = TypeVar("M")

# --- refusals as a person reads them: "<where> <what is wrong>" ---------------------------------

_PHRASES = {
    "missing": "is required",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "list_type": "must be a JSON array",
    "extra_forbidden": "is not a field of this body",
}


def refusal(problem: str) -> PydanticCustomError:
    """A validator's own refusal; `problem` follows the field's path in the message."""
    return PydanticCustomError("relata", "{problem}", {"problem": problem})


def _phrase(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "relata":
        return str(ctx["problem"])
    if kind.endswith("_type") and error["input"] is None:
        return "is required"  # null for a field that must have a value reads as leaving it out
    if kind == "literal_error":
        return f"must be {ctx['expected']}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    return _PHRASES.get(kind) or error["msg"]


def _where(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path = validation.json_path(path, part)
    return path


def parse(model: type[M], data: dict[str, Any]) -> M:
    """The body as `model`, or a 400 naming the first field that does not fit (pydantic
    collects every problem; one, located, is what a person fixes first)."""
    # Unbounded M: the route table's body type is generic (None for a route without a body).
    schema = cast(type[Input], model)
    try:
        return cast(M, schema.model_validate(data))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = _where(error["loc"])
        if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
            message = schema.unknown_field.format(name=error["loc"][0])
        else:
            message = f"{where} {_phrase(error)}" if where else _phrase(error)
        raise BadUserInput(message, field=where or "body") from None


def documented(description: str | None = None, **schema: Any) -> Any:
    """A rule the service enforces (for GraphQL too, with its messages), published here."""
    # Only what is given: an unset attribute does not override another Field's in Annotated.
    given: dict[str, Any] = {}
    if description is not None:
        given["description"] = description
    if schema:
        given["json_schema_extra"] = schema
    return Field(**given)


def _refuse_present(data: Any, names: tuple[str, ...], message: str) -> None:
    for name in names:
        if isinstance(data, dict) and name in data:
            raise BadUserInput(message.format(name=name), field=name)


class Input(BaseModel):
    """A request body. Unknown fields are ignored (HighLevel's clients send extra ones) unless
    a model forbids them; then `unknown_field` says what to send instead."""

    model_config = ConfigDict(strict=True, extra="ignore")
    unknown_field: ClassVar[str] = "unknown field {name!r}"

    locationId: Annotated[
        str | None,
        documented("The token's location; may be left out, anything else is refused with 403"),
    ] = None

    def given(self, *names: str) -> dict[str, Any]:
        """The named fields the body sent (null included), for updates: what is left out stays."""
        return {name: getattr(self, name) for name in names if name in self.model_fields_set}


class _Part(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


# --- associations and relations ----------------------------------------------------------------

Label = Annotated[str | None, documented(maxLength=MAX_LABEL)]
Description = Annotated[str | None, documented(maxLength=MAX_DESCRIPTION)]
LimitInput = Annotated[int | None, documented(minimum=1, maximum=MAX_LIMIT)]
# HighLevel's per-direction cardinality words, as limits (the ceiling is MAX_LIMIT).
DIRECTION_LIMITS = {"ONE": 1, "MANY": MAX_LIMIT}


def _word(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


DirectionWord = Annotated[Literal["ONE", "MANY"] | None, BeforeValidator(_word)]


class AssociationCreate(Input):
    key: Annotated[
        str, documented("Unique in the location; letters, digits, _ . -", maxLength=MAX_KEY)
    ]
    firstObjectKey: str
    secondObjectKey: str
    firstObjectLabel: Annotated[Label, documented("Default: the first object's singular label")] = (
        None
    )
    secondObjectLabel: Annotated[
        Label,
        documented(
            "Leave out (with a firstObjectLabel) for a single label. When both labels are left"
            " out it defaults to the second object's singular label (or a single label for an"
            " object with itself)"
        ),
    ] = None
    description: Description = None
    cardinality: Annotated[str | None, documented(enum=list(PRESETS))] = None
    firstToSecondLimit: LimitInput = None
    secondToFirstLimit: LimitInput = None
    firstObjectToSecondObjectCardinality: Annotated[
        DirectionWord, documented("Sets firstToSecondLimit to 1 or 1000 when that is not given")
    ] = None
    secondObjectToFirstObjectCardinality: DirectionWord = None

    def limits(self) -> tuple[int | None, int | None]:
        """Explicit limits win over the ONE/MANY words."""

        def pick(limit: int | None, word: str | None) -> int | None:
            return DIRECTION_LIMITS[word] if limit is None and word is not None else limit

        return (
            pick(self.firstToSecondLimit, self.firstObjectToSecondObjectCardinality),
            pick(self.secondToFirstLimit, self.secondObjectToFirstObjectCardinality),
        )


ASSOCIATION_IMMUTABLE = (
    "key",
    "firstObjectKey",
    "secondObjectKey",
    "associationType",
    "cardinality",
    "firstToSecondLimit",
    "secondToFirstLimit",
    "firstObjectToSecondObjectCardinality",
    "secondObjectToFirstObjectCardinality",
)


class AssociationUpdate(Input):
    """Only labels and the description can change; other fields are refused."""

    firstObjectLabel: Label = None
    secondObjectLabel: Label = None
    description: Description = None

    @model_validator(mode="before")
    @classmethod
    def _unchangeable(cls, data: Any) -> Any:
        _refuse_present(
            data,
            ASSOCIATION_IMMUTABLE,
            "{name} cannot be changed: only firstObjectLabel, secondObjectLabel and description"
            " can",
        )
        return data


def _not_blank(value: str) -> str:
    if not value.strip():
        raise refusal("must not be blank")
    return value


Id = Annotated[str, AfterValidator(_not_blank)]


class RelationCreate(Input):
    associationId: Id
    firstRecordId: Id
    secondRecordId: Id


def _relation_ref(value: Any) -> Any:
    """A relation to remove: its id, or an object carrying it as `id` or `relationId`."""
    if isinstance(value, dict):
        value = value.get("id", value.get("relationId"))
    if not isinstance(value, str) or not value.strip():
        raise refusal("must be a relation id (or an object with its id)")
    return value


RelationRef = Annotated[str, BeforeValidator(_relation_ref), documented("A relation id")]


class RelationBulk(Input):
    """Removes, then adds, in one transaction: all of it or none of it."""

    add: Annotated[list[RelationCreate] | None, documented(maxItems=1000)] = None
    remove: Annotated[list[RelationRef] | None, documented(maxItems=1000)] = None


# --- objects, records and contacts -------------------------------------------------------------


class ObjectCreateLabels(_Part):
    singular: Annotated[str, documented(maxLength=MAX_LABEL)]
    plural: Annotated[str, documented(maxLength=MAX_LABEL)]


class ObjectUpdateLabels(_Part):
    singular: Label = None
    plural: Label = None


class DisplayPropertyDetails(_Part):
    key: str | None = None


class _DisplayProperty(Input):
    primaryDisplayProperty: Annotated[str | None, documented("Default `name`")] = None
    primaryDisplayPropertyDetails: Annotated[
        DisplayPropertyDetails | None,
        documented("HighLevel's form: its `key` is used as primaryDisplayProperty"),
    ] = None

    def display_property(self) -> str | None:
        details = self.primaryDisplayPropertyDetails
        if self.primaryDisplayProperty is None and details is not None:
            return details.key
        return self.primaryDisplayProperty


class ObjectCreate(_DisplayProperty):
    key: Annotated[str, documented("`pet` or `custom_objects.pet`")]
    labels: ObjectCreateLabels
    description: Description = None


class ObjectUpdate(_DisplayProperty):
    """HighLevel's update body; what is left out stays. A new display property recomputes every
    record's display name; searchableProperties is accepted and not used (Relata searches the
    display name)."""

    model_config = ConfigDict(extra="forbid")
    unknown_field = (
        "{name} cannot be changed: only labels, description and the display property can"
    )

    labels: ObjectUpdateLabels | None = None
    description: Description = None
    searchableProperties: list[Any] | None = None


class RecordCreate(Input):
    properties: dict[str, Any] | None = None


class RecordUpdate(Input):
    """Merged into the record's properties; a property set to null is removed."""

    properties: dict[str, Any]


class CustomFieldInput(_Part):
    """A contact property that is not a top-level field: the property name as id or key."""

    id: str | None = None
    key: str | None = None
    value: Any = None
    field_value: Any = None

    @property
    def name(self) -> str:
        return (self.key if "key" in self.model_fields_set else self.id) or ""

    @property
    def given(self) -> Any:
        return self.value if "value" in self.model_fields_set else self.field_value

    @model_validator(mode="after")
    def _named(self) -> CustomFieldInput:
        if not self.name.strip():
            raise refusal("needs an id or key (the property name)")
        if self.name in CONTACT_FIELDS:
            raise refusal(f"names {self.name}, which is sent at top level, not as a custom field")
        return self


CONTACT_FIELDS = ("firstName", "lastName", "email", "phone")


class ContactWrite(Input):
    """A `contact` record's properties, HighLevel-style; other fields are refused. On update a
    field set to null is removed."""

    model_config = ConfigDict(extra="forbid")
    unknown_field = (
        "contact field {name!r} is not served: give firstName, lastName, email, phone or"
        " customFields"
    )

    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    phone: str | None = None
    customFields: list[CustomFieldInput] | None = None

    def properties(self) -> dict[str, Any]:
        props = self.given(*CONTACT_FIELDS)
        for item in self.customFields or ():
            props[item.name] = item.given
        return props


# HighLevel's field names for what records can be sorted by, as the records service names them.
SORT_FIELDS = {
    "dateAdded": "createdAt",
    "createdAt": "createdAt",
    "dateUpdated": "updatedAt",
    "updatedAt": "updatedAt",
    "displayName": "displayName",
    "name": "displayName",
}


def _sort_field(value: str) -> str:
    if value not in SORT_FIELDS:
        raise refusal(f"must be one of {', '.join(SORT_FIELDS)}")
    return value


def _direction(value: Any) -> Any:
    return "asc" if value is None else value.lower() if isinstance(value, str) else value


class SortKey(_Part):
    field: Annotated[str, AfterValidator(_sort_field), documented(enum=list(SORT_FIELDS))]
    direction: Annotated[Literal["asc", "desc"], BeforeValidator(_direction)] = "asc"


def _one_sort_key(value: Any) -> Any:
    if value in (None, [], {}):
        return None
    items = value if isinstance(value, list) else [value]
    if len(items) != 1:
        raise refusal('must be one {"field": ..., "direction": "asc" | "desc"}')
    return items


def _no_filters(value: Any) -> Any:
    # Only `query` filters; refuse filters rather than answer with more records than asked for.
    if value in (None, [], {}):
        return None
    raise refusal("are not supported: filter with query")


def _positive(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # typed SDKs send numbers, maybe as 10.0
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise refusal("must be a positive integer")
    return value


Positive = Annotated[Annotated[int, Field(ge=1)] | None, BeforeValidator(_positive)]
PageSize = Annotated[Annotated[int, Field(ge=1, le=MAX_PAGE)] | None, BeforeValidator(_positive)]


class Search(Input):
    """HighLevel's search body: `query` matches the display name; page with `page`/`pageLimit`
    (first 10,000 results) or `searchAfter` (the last record's searchAfter). Oldest first unless
    sorted by one key; a non-empty `filters` is refused."""

    model_config = ConfigDict(extra="forbid")
    unknown_field = "unknown search field {name!r}"

    query: str | None = None
    page: Positive = None
    pageLimit: Annotated[PageSize, documented("Default 20")] = None
    limit: Annotated[PageSize, documented("pageLimit's other name")] = None
    searchAfter: list[str] | None = None
    sort: Annotated[
        Annotated[list[SortKey], Field(max_length=1)] | None, BeforeValidator(_one_sort_key)
    ] = None
    filters: Annotated[
        Annotated[list[Any], Field(max_length=0)] | None, BeforeValidator(_no_filters)
    ] = None


# --- webhooks ----------------------------------------------------------------------------------

EventTypes = Annotated[
    list[str] | None,
    documented(
        "Event types, as GraphQL names them (`RELATION_CREATE`) or as HighLevel's webhooks do"
        " (`RelationCreate`)",
        minItems=1,
    ),
]
Url = Annotated[
    str,
    documented("http(s); private, loopback and link-local hosts are refused", maxLength=MAX_URL),
]


class WebhookCreate(Input):
    url: Url
    eventTypes: Annotated[EventTypes, documented("Left out: every type")] = None
    objectKey: Annotated[str | None, documented("Only events of this object")] = None


class WebhookUpdate(Input):
    """What is left out stays; objectKey cannot change."""

    url: Url | None = None
    eventTypes: EventTypes = None
    active: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _unchangeable(cls, data: Any) -> Any:
        _refuse_present(
            data,
            ("objectKey", "secret", "id"),
            "{name} cannot be changed: only url, eventTypes and active can (create another"
            " webhook for another object)",
        )
        return data
