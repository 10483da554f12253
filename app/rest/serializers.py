"""Models as HighLevel-shaped JSON, built as the shapes of app/rest/shapes.py. Ids are the same
opaque strings GraphQL serves."""

from __future__ import annotations

from app import ids
from app.models import AssociationModel, ObjectSchemaModel, RecordModel, RelationModel
from app.rest.shapes import Association, Object, Record, Relation


def direction(limit: int) -> str:
    """How many records one record may reach in one direction: ONE (limit 1) or MANY."""
    return "ONE" if limit == 1 else "MANY"


def association_json(a: AssociationModel) -> Association:
    return {
        "id": a.id,
        "locationId": a.location_id,
        "key": a.key,
        "firstObjectKey": a.first_object_key,
        "firstObjectLabel": a.first_object_label,
        "secondObjectKey": a.second_object_key,
        # A single label names both sides: HighLevel's SDK types expect a string on each.
        "secondObjectLabel": a.label_of_second(),
        "labelType": "SINGLE" if a.second_object_label is None else "PAIR",
        "associationType": a.association_type,
        "firstObjectToSecondObjectCardinality": direction(a.first_to_second_limit),
        "secondObjectToFirstObjectCardinality": direction(a.second_to_first_limit),
        "cardinality": a.cardinality,
        "firstToSecondLimit": a.first_to_second_limit,
        "secondToFirstLimit": a.second_to_first_limit,
        "description": a.description,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
    }


def relation_json(r: RelationModel, a: AssociationModel | None) -> Relation:
    """The relation; with its association's fields (key, object keys) only when `a` is given,
    that is when the caller may read associations (SECURITY.md, "Scopes")."""
    out: Relation = {
        "id": r.id,
        "associationId": ids.encode(ids.Kind.ASSOCIATION, r.association_id),
        "firstRecordId": ids.encode(ids.Kind.RECORD, r.first_record_id),
        "secondRecordId": ids.encode(ids.Kind.RECORD, r.second_record_id),
        "locationId": r.location_id,
        "createdAt": r.created_at,
    }
    if a is not None:
        out["associationKey"] = a.key
        out["firstObjectKey"] = a.first_object_key
        out["secondObjectKey"] = a.second_object_key
    return out


def object_json(o: ObjectSchemaModel, location_id: str) -> Object:
    return {
        "id": o.id,
        "key": o.key,
        "locationId": location_id,
        "standard": o.is_standard,
        "labels": {"singular": o.singular_label, "plural": o.plural_label},
        "description": o.description,
        "primaryDisplayProperty": o.primary_display_property,
        "createdAt": o.created_at,
        "updatedAt": o.updated_at,
        # HighLevel's names for the same instants (the SDK types require them).
        "dateAdded": o.created_at,
        "dateUpdated": o.updated_at,
    }


def record_json(r: RecordModel, location_id: str) -> Record:
    return {
        "id": r.id,
        "objectKey": r.object_key,
        "locationId": location_id,
        "properties": r.properties,
        "displayName": r.display_name,
        # Relata has no record owners or followers yet; HighLevel's types require the arrays.
        "owner": [],
        "followers": [],
        "createdAt": r.created_at,
        "updatedAt": r.updated_at,
        "dateAdded": r.created_at,
        "dateUpdated": r.updated_at,
    }
