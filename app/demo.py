"""A small demo data set, loaded through the service layer like any client's writes."""

from __future__ import annotations

from app.auth import ALL_SCOPES, Principal
from app.services import associations, objects, records, relations
from app.services.relations import RelationInput
from db import Database

CONTACTS = [
    {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
    {"firstName": "Alan", "lastName": "Turing", "email": "alan@example.com"},
    {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"},
    {"firstName": "Edsger", "lastName": "Dijkstra", "email": "edsger@example.com"},
    {"firstName": "Barbara", "lastName": "Liskov", "email": "barbara@example.com"},
    {"firstName": "Donald", "lastName": "Knuth", "email": "don@example.com"},
]
COMPANIES = [{"name": "Analytical Engines Ltd"}, {"name": "Bletchley Works"}]
PROPERTIES = [
    {"name": "12 Babbage Row", "city": "London"},
    {"name": "7 Enigma Lane", "city": "Milton Keynes"},
    {"name": "1 Compiler Court", "city": "Arlington"},
]


async def load_demo(db: Database, location_id: str) -> dict[str, int]:
    """Load the demo set into `location_id` unless it is already there."""
    admin = Principal(location_id, "admin", frozenset(ALL_SCOPES), "demo")
    existing = {o.key for o in await objects.list_object_schemas(db, admin)}
    if "custom_objects.property" in existing:
        return {}
    await objects.create_object_schema(
        db,
        admin,
        key="property",
        singular="Property",
        plural="Properties",
        description="Real estate a contact owns or rents",
    )
    contacts = [await records.create_record(db, admin, "contact", p) for p in CONTACTS]
    companies = [await records.create_record(db, admin, "company", p) for p in COMPANIES]
    props = [await records.create_record(db, admin, "property", p) for p in PROPERTIES]
    works_at = await associations.get_association_by_key(db, admin, "contact_company")
    owner = await associations.create_association(
        db,
        admin,
        key="property_owner",
        first_object_key="property",
        second_object_key="contact",
        first_object_label="Owned property",
        second_object_label="Owner",
        cardinality="MANY_TO_MANY",
    )
    manager = await associations.create_association(
        db,
        admin,
        key="manager_employee",
        first_object_key="contact",
        second_object_key="contact",
        first_object_label="Manager",
        second_object_label="Employee",
        cardinality="ONE_TO_MANY",
    )
    colleague = await associations.create_association(
        db,
        admin,
        key="colleague",
        first_object_key="contact",
        second_object_key="contact",
        first_object_label="Colleague",
    )
    links = [RelationInput(works_at.id, contacts[i].id, companies[i % 2].id) for i in range(6)] + [
        RelationInput(owner.id, props[0].id, contacts[0].id),
        RelationInput(owner.id, props[1].id, contacts[1].id),
        RelationInput(owner.id, props[2].id, contacts[2].id),
        RelationInput(owner.id, props[2].id, contacts[3].id),
        RelationInput(manager.id, contacts[2].id, contacts[3].id),
        RelationInput(manager.id, contacts[2].id, contacts[4].id),
        RelationInput(colleague.id, contacts[0].id, contacts[1].id),
        RelationInput(colleague.id, contacts[3].id, contacts[4].id),
    ]
    created = await relations.create_relations(db, admin, links, field="demo")
    return {
        "contacts": len(contacts),
        "companies": len(companies),
        "properties": len(props),
        "relations": len(created),
    }
