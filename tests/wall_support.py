"""Every GraphQL query and mutation, and a location populated for trying them: shared by the
tenant-wall suite and the location_id statement scan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db import Database
from tests.helpers import Api

REC = "id objectKey displayName properties"
REL = "id associationId firstRecordId secondRecordId"
ASSOC = "id key firstObjectLabel secondObjectLabel relationCount"

Q = {
    "viewer": "{ viewer { location { id name } role scopes } }",
    "objectSchemas": "{ objectSchemas { id key labels { singular plural } } }",
    "objectSchema": "query($k: String!) { objectSchema(key: $k) { id key } }",
    "record": f"query($id: ID!) {{ record(id: $id) {{ {REC} }} }}",
    "recordRelations": (
        "query($id: ID!, $a: ID) { record(id: $id) { id relations(associationId: $a) {"
        f" totalCount edges {{ label node {{ {REC} }} relation {{ {REL} }} }} }} }} }}"
    ),
    "node": (
        "query($id: ID!) { node(id: $id) { id ... on Record { displayName properties }"
        " ... on Association { key firstObjectLabel } ... on Relation { firstRecordId }"
        " ... on ObjectSchema { key } ... on Location { name locationId } } }"
    ),
    "records": (
        "query($k: String!, $q: String) { records(objectKey: $k, query: $q) {"
        f" totalCount edges {{ node {{ {REC} }} }} }} }}"
    ),
    "recordsRelatedTo": (
        "query($k: String!, $r: ID!, $a: ID) {"
        " records(objectKey: $k, relatedTo: {recordId: $r, associationId: $a}) {"
        f" totalCount edges {{ node {{ {REC} }} }} }} }}"
    ),
    "associations": f"query($k: String) {{ associations(objectKey: $k) {{ {ASSOC} }} }}",
    "association": f"query($id: ID!) {{ association(id: $id) {{ {ASSOC} }} }}",
    "associationByKey": f"query($k: String!) {{ associationByKey(key: $k) {{ {ASSOC} }} }}",
    "createObjectSchema": (
        "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { id key } }"
    ),
    "createRecord": f"mutation($i: CreateRecordInput!) {{ createRecord(input: $i) {{ {REC} }} }}",
    "updateRecord": f"mutation($i: UpdateRecordInput!) {{ updateRecord(input: $i) {{ {REC} }} }}",
    "deleteRecord": (
        "mutation($id: ID!) { deleteRecord(id: $id) { deletedId deletedRelationCount } }"
    ),
    "createAssociation": (
        f"mutation($i: CreateAssociationInput!) {{ createAssociation(input: $i) {{ {ASSOC} }} }}"
    ),
    "updateAssociation": (
        f"mutation($i: UpdateAssociationInput!) {{ updateAssociation(input: $i) {{ {ASSOC} }} }}"
    ),
    "deleteAssociation": (
        "mutation($id: ID!, $c: Boolean!) { deleteAssociation(id: $id, cascade: $c) {"
        " deletedId deletedRelationCount } }"
    ),
    "createRelation": (
        f"mutation($i: CreateRelationInput!) {{ createRelation(input: $i) {{ {REL} }} }}"
    ),
    "createRelations": (
        f"mutation($i: [CreateRelationInput!]!) {{ createRelations(input: $i) {{ {REL} }} }}"
    ),
    "deleteRelation": "mutation($id: ID!) { deleteRelation(id: $id) { deletedId } }",
    "deleteRelations": "mutation($ids: [ID!]!) { deleteRelations(ids: $ids) { deletedIds count } }",
}


def rel(association_id: str, first: str, second: str) -> dict[str, str]:
    return {"associationId": association_id, "firstRecordId": first, "secondRecordId": second}


@dataclass
class Populated:
    """A location with a custom object, records, associations and relations; `secrets` are
    strings that exist only in this location's rows."""

    object_key: str
    object_id: str
    records: dict[str, str]
    associations: dict[str, str]
    association_keys: dict[str, str]
    relations: dict[str, str]
    secrets: list[str]
    location_id: str = ""  # the location's global (Node) id

    @property
    def all_ids(self) -> list[str]:
        return [
            self.object_id,
            *self.records.values(),
            *self.associations.values(),
            *self.relations.values(),
            *([self.location_id] if self.location_id else []),
        ]


async def populate(api: Api, tag: str) -> Populated:
    secret = f"secret-{tag}"
    object_key = f"pet_{tag}"
    await api.ok(
        Q["createObjectSchema"],
        {"i": {"key": object_key, "labels": {"singular": f"Pet {secret}", "plural": "Pets"}}},
    )
    objects = (await api.ok(Q["objectSchemas"]))["objectSchemas"]
    object_id = next(o["id"] for o in objects if o["key"] == f"custom_objects.{object_key}")
    records = {
        "c1": await api.create_record("contact", firstName=f"Ann {secret}", email=f"{secret}@x"),
        "c2": await api.create_record("contact", firstName=f"Bob {secret}"),
        "co": await api.create_record("company", name=f"Acme {secret}"),
        "pet": await api.create_record(object_key, name=f"Rex {secret}"),
    }
    owner = await api.create_association(
        key=f"owner_{tag}",
        firstObjectKey="contact",
        secondObjectKey=object_key,
        firstObjectLabel=f"Owner {secret}",
        secondObjectLabel="Pet",
    )
    peer = await api.create_association(
        key=f"peer_{tag}",
        firstObjectKey="contact",
        secondObjectKey="contact",
        firstObjectLabel=f"Peer {secret}",
    )
    system = (await api.ok(Q["associationByKey"], {"k": "contact_company"}))["associationByKey"]
    relations = {}
    for name, (assoc, a, b) in {
        "owns": (owner["id"], records["c1"], records["pet"]),
        "peers": (peer["id"], records["c1"], records["c2"]),
        "works": (system["id"], records["c1"], records["co"]),
    }.items():
        data = await api.ok(Q["createRelation"], {"i": rel(assoc, a, b)})
        relations[name] = data["createRelation"]["id"]
    return Populated(
        object_key=object_key,
        object_id=object_id,
        records=records,
        associations={"owner": owner["id"], "peer": peer["id"], "system": system["id"]},
        association_keys={"owner": owner["key"], "peer": peer["key"]},
        relations=relations,
        secrets=[secret],
        location_id=(await api.ok(Q["viewer"]))["viewer"]["location"]["id"],
    )


ADMIN_ONLY = ("createAssociation with", "updateAssociation", "deleteAssociation")


async def attempts(a: Populated, b: Populated) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    """(label, query, variables) for every operation, aimed at A's rows from B."""
    out: list[tuple[str, str, dict]] = []  # type: ignore[type-arg]
    ar, aa, arel = a.records, a.associations, a.relations
    for name, rid in ar.items():
        out += [
            (f"record {name}", Q["record"], {"id": rid}),
            (f"record relations {name}", Q["recordRelations"], {"id": rid}),
            (f"relatedTo {name}", Q["recordsRelatedTo"], {"k": "contact", "r": rid}),
            (f"updateRecord {name}", Q["updateRecord"], {"i": {"id": rid, "properties": {"x": 1}}}),
            (f"deleteRecord {name}", Q["deleteRecord"], {"id": rid}),
        ]
    for any_id in a.all_ids:
        out.append((f"node {any_id}", Q["node"], {"id": any_id}))
    for name, aid in aa.items():
        out += [
            (f"association {name}", Q["association"], {"id": aid}),
            (
                f"updateAssociation {name}",
                Q["updateAssociation"],
                {"i": {"id": aid, "firstObjectLabel": "Hijacked"}},
            ),
            (f"deleteAssociation {name}", Q["deleteAssociation"], {"id": aid, "c": True}),
            (
                f"deleteAssociation {name} no cascade",
                Q["deleteAssociation"],
                {"id": aid, "c": False},
            ),
            # A's association with B's own records, and B's with A's records.
            (
                f"createRelation A-assoc {name}",
                Q["createRelation"],
                {"i": rel(aid, b.records["c1"], b.records["c2"])},
            ),
        ]
    for name, key in a.association_keys.items():
        out.append((f"associationByKey {name}", Q["associationByKey"], {"k": key}))
    b_peer, b_owner = b.associations["peer"], b.associations["system"]
    out += [
        ("objectSchema", Q["objectSchema"], {"k": a.object_key}),
        ("records of A's object", Q["records"], {"k": a.object_key}),
        ("associations of A's object", Q["associations"], {"k": a.object_key}),
        (
            "createRecord of A's object",
            Q["createRecord"],
            {"i": {"objectKey": a.object_key, "properties": {"name": "x"}}},
        ),
        (
            "createAssociation with A's object",
            Q["createAssociation"],
            {
                "i": {
                    "key": "sneaky",
                    "firstObjectKey": "contact",
                    "secondObjectKey": a.object_key,
                    "firstObjectLabel": "X",
                }
            },
        ),
        ("createRelation A records", Q["createRelation"], {"i": rel(b_peer, ar["c1"], ar["c2"])}),
        (
            "createRelation mixed records",
            Q["createRelation"],
            {"i": rel(b_peer, b.records["c1"], ar["c2"])},
        ),
        (
            "createRelation system assoc A records",
            Q["createRelation"],
            {"i": rel(b_owner, ar["c1"], ar["co"])},
        ),
        (
            "createRelations mixed",
            Q["createRelations"],
            {
                "i": [
                    rel(b_peer, b.records["c1"], b.records["c2"]),
                    rel(aa["peer"], ar["c1"], ar["c2"]),
                ]
            },
        ),
        ("deleteRelations A", Q["deleteRelations"], {"ids": list(arel.values())}),
        (
            "deleteRelations mixed",
            Q["deleteRelations"],
            {"ids": [b.relations["peers"], arel["peers"]]},
        ),
    ]
    for name, relid in arel.items():
        out.append((f"deleteRelation {name}", Q["deleteRelation"], {"id": relid}))
    return out


# Every table a location owns rows of, besides `locations` itself (keyed by its own id).
TENANT_TABLES = (
    "api_tokens",
    "objects",
    "records",
    "associations",
    "relations",
    "relation_counters",
    "events",
    "event_positions",
    "webhooks",
    "webhook_deliveries",
    "webhook_locations",
)
TABLES = ("locations", *TENANT_TABLES)


async def snapshot(db: Database, location: str) -> dict[str, list[dict[str, Any]]]:
    """Every row the location owns, in a stable order (test-only SQL)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in TABLES:
        column = "id" if table == "locations" else "location_id"
        rows = await db.fetch(f"select * from {table} where {column} = $1", location)
        out[table] = sorted((dict(r) for r in rows), key=repr)
    return out
