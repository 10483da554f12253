from __future__ import annotations

from typing import Any

from app import ids, validation
from app.auth import SCHEMA_READ, SCHEMA_WRITE, Principal
from app.errors import Conflict, Forbidden, LimitExceeded, NotFound
from app.models import CUSTOM_PREFIX, MAX_CUSTOM_OBJECTS, ObjectSchemaModel
from app.services import events
from app.services.transactions import in_transaction
from db import Database
from db import locations as location_sql
from db import objects as sql
from db import records as record_sql
from db.database import Executor


async def list_object_schemas(db: Database, principal: Principal) -> list[ObjectSchemaModel]:
    principal.require(SCHEMA_READ)
    return [
        ObjectSchemaModel.from_row(r) for r in await sql.list_objects(db, principal.location_id)
    ]


async def get_object_schema(db: Database, principal: Principal, key: str) -> ObjectSchemaModel:
    principal.require(SCHEMA_READ)
    return await require_object(db, principal.location_id, key)


async def require_object(
    conn: Executor,
    location_id: str,
    raw_key: Any,
    *,
    field: str = "objectKey",
    lock: str | None = None,
) -> ObjectSchemaModel:
    """The object, or NotFound; `lock` (db.objects.LOCKS) takes a row lock on it."""
    key = validation.normalize_object_key(raw_key, field=field)
    row = await sql.get_object_by_key(conn, location_id, key, lock=lock)
    if row is None:
        raise NotFound(f"no object with key {key!r} in this location", field=field, key=key)
    return ObjectSchemaModel.from_row(row)


async def create_object_schema(
    db: Database,
    principal: Principal,
    *,
    key: Any,
    singular: Any,
    plural: Any,
    description: Any = None,
    primary_display_property: Any = None,
) -> ObjectSchemaModel:
    principal.require(SCHEMA_WRITE, admin=True)
    normalized = validation.custom_object_key(key)
    singular_label = validation.required_text(singular, "labels.singular")
    plural_label = validation.required_text(plural, "labels.plural")
    desc = validation.text(
        description, "description", required=False, max_len=validation.MAX_DESCRIPTION
    )
    primary = (
        validation.text(
            primary_display_property,
            "primaryDisplayProperty",
            required=False,
            max_len=validation.MAX_PROPERTY_NAME,
        )
        or "name"
    )
    primary = display_property_key(primary, normalized)
    location = principal.location_id

    async def work(conn: Any) -> ObjectSchemaModel:
        await location_sql.lock_location(conn, location)  # the cap holds under concurrency
        if await sql.count_custom_objects(conn, location) >= MAX_CUSTOM_OBJECTS:
            raise LimitExceeded(
                f"this location already has {MAX_CUSTOM_OBJECTS} custom objects, the most one"
                " location may define",
                limit=MAX_CUSTOM_OBJECTS,
                limitName="customObjectsPerLocation",
            )
        row = await sql.insert_object(
            conn, location, normalized, singular_label, plural_label, desc, primary
        )
        if row is None:
            raise Conflict(f"an object with key {normalized!r} already exists", key=normalized)
        obj = ObjectSchemaModel.from_row(row)
        events.object_changed(conn, principal, "OBJECT_CREATE", obj)
        return obj

    return await in_transaction(db, work)


_UNSET: Any = object()


async def update_object_schema(
    db: Database,
    principal: Principal,
    key: Any,
    *,
    singular: Any = _UNSET,
    plural: Any = _UNSET,
    description: Any = _UNSET,
    primary_display_property: Any = _UNSET,
) -> ObjectSchemaModel:
    """Change a custom object's labels, description or display property (what is not given
    stays). A new display property recomputes every record's display name in the same
    transaction, under a lock on the object row that record writers of the object take too
    (db.objects.LOCKS): no record keeps a name from the old property. Standard objects cannot
    change."""
    principal.require(SCHEMA_WRITE, admin=True)
    location = principal.location_id

    async def work(conn: Any) -> ObjectSchemaModel:
        current = await require_object(conn, location, key, field="key", lock="display")
        if current.is_standard:
            raise Forbidden(f"the standard object {current.key!r} cannot be changed")
        singular_label = (
            current.singular_label
            if singular is _UNSET
            else validation.required_text(singular, "labels.singular")
        )
        plural_label = (
            current.plural_label
            if plural is _UNSET
            else validation.required_text(plural, "labels.plural")
        )
        desc = (
            current.description
            if description is _UNSET
            else validation.text(
                description, "description", required=False, max_len=validation.MAX_DESCRIPTION
            )
        )
        display = current.primary_display_property
        if primary_display_property is not _UNSET and primary_display_property is not None:
            display = display_property_key(
                validation.required_text(
                    primary_display_property,
                    "primaryDisplayProperty",
                    max_len=validation.MAX_PROPERTY_NAME,
                ),
                current.key,
            )
        row = await sql.update_object(
            conn, location, current.key, singular_label, plural_label, desc, display
        )
        assert row is not None  # locked above
        if display != current.primary_display_property:
            await record_sql.recompute_display_names(conn, location, current.key, display)
        obj = ObjectSchemaModel.from_row(row)
        events.object_changed(conn, principal, "OBJECT_UPDATE", obj)
        return obj

    return await in_transaction(db, work)


def display_property_key(primary: str, object_key: str) -> str:
    """HighLevel names the display property in full (`custom_objects.pet.name`) while record
    properties use the short key (`name`): keep the short one, so displayName finds it."""
    bare = object_key.removeprefix(CUSTOM_PREFIX)
    for prefix in (f"{CUSTOM_PREFIX}{bare}.", f"{bare}."):
        if primary.lower().startswith(prefix) and len(primary) > len(prefix):
            return primary[len(prefix) :]
    return primary


async def get_object_schema_by_id(
    db: Database, principal: Principal, object_id: str
) -> ObjectSchemaModel:
    principal.require(SCHEMA_READ)
    uid = ids.decode(ids.Kind.OBJECT, object_id)
    row = await sql.get_object_by_id(db, principal.location_id, uid)
    if row is None:
        raise NotFound(f"no object with id {object_id!r}", id=object_id)
    return ObjectSchemaModel.from_row(row)
