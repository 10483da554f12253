"""Every GraphQL root field, every entity-returning nested field and every REST route, tried with
each of the 8 scopes alone: FORBIDDEN (REST 403) unless that scope grants it, and answered when it
does. SECURITY.md ("Scopes") states the rules this table checks.

A row names what it covers; `test_every_root_field_and_entity_field_has_a_row` and
`test_every_rest_route_has_a_row` compare those names with the served schema and with
app.rest.ROUTES, so a new field or route without a row fails the suite.

Tokens are admins (so only the scope decides), except the `user` rows of admin-only operations.
A nested row gives every token `base` scopes that reach its parent, so the scope under test
decides the nested field alone, and the FORBIDDEN must land at that field (`at`)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from graphql import GraphQLNamedType, GraphQLObjectType, get_named_type

from app.ids import encode_location
from app.rest import ROUTES
from app.schema import schema
from app.services.tokens import create_token
from db import Database
from tests.assoc_support import association, bulk_records, link
from tests.conftest import Tenant, make_tenant
from tests.live_support import first_sse_result, serve_in_process, stop_in_process
from tests.rest_support import Rest

ASSOC_READ = "associations.readonly"
ASSOC_WRITE = "associations.write"
REL_READ = "associations/relation.readonly"
REL_WRITE = "associations/relation.write"
SCHEMA_READ = "objects/schema.readonly"
SCHEMA_WRITE = "objects/schema.write"
REC_READ = "objects/record.readonly"
REC_WRITE = "objects/record.write"
SCOPES = (
    ASSOC_READ,
    ASSOC_WRITE,
    REL_READ,
    REL_WRITE,
    SCHEMA_READ,
    SCHEMA_WRITE,
    REC_READ,
    REC_WRITE,
)
# What each scope grants: itself and, for a write scope, the matching read.
GRANTS: dict[str, frozenset[str]] = {
    ASSOC_READ: frozenset({ASSOC_READ}),
    ASSOC_WRITE: frozenset({ASSOC_WRITE, ASSOC_READ}),
    REL_READ: frozenset({REL_READ}),
    REL_WRITE: frozenset({REL_WRITE, REL_READ}),
    SCHEMA_READ: frozenset({SCHEMA_READ}),
    SCHEMA_WRITE: frozenset({SCHEMA_WRITE, SCHEMA_READ}),
    REC_READ: frozenset({REC_READ}),
    REC_WRITE: frozenset({REC_WRITE, REC_READ}),
}
ALLOWED, DENIED = "allowed", "denied"


# --- the location every row runs in -----------------------------------------------------------


@dataclass
class World:
    """A fresh location: a contact and a company linked through a user-defined association.
    Rows that change or delete something make a fresh target for each call."""

    db: Database
    tenant: Tenant
    contact: str
    company: str
    association: dict[str, Any]
    relation: str
    contact_object_id: str
    tokens: dict[tuple[str, frozenset[str]], str] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def location(self) -> str:
        return self.tenant.location

    def unique(self, prefix: str) -> str:
        return f"{prefix}_{next(self.counter)}"

    async def token(self, role: str, scopes: frozenset[str]) -> str:
        if (role, scopes) not in self.tokens:
            self.tokens[role, scopes] = await create_token(
                self.db, self.location, role, sorted(scopes)
            )
        return self.tokens[role, scopes]

    async def record(self, object_key: str = "contact") -> str:
        (record_id,) = await bulk_records(self.db, self.location, object_key, 1)
        return record_id

    async def pair(self) -> dict[str, str]:
        """Two fresh records to link through the world's association."""
        return {
            "associationId": self.association["id"],
            "firstRecordId": await self.record("contact"),
            "secondRecordId": await self.record("company"),
        }

    async def fresh_relation(self) -> str:
        p = await self.pair()
        linked = await link(
            self.tenant.admin, p["associationId"], p["firstRecordId"], p["secondRecordId"]
        )
        return str(linked.data["createRelation"]["id"])

    async def fresh_association(self) -> str:
        # Another pair of objects than the world's, so the 10-per-pair limit is never reached.
        created = await association(
            self.tenant.admin,
            key=self.unique("target"),
            firstObjectKey="company",
            secondObjectKey="opportunity",
            firstObjectLabel="Buyer",
            secondObjectLabel="Deal",
        )
        return str(created["id"])

    def new_association_input(self) -> dict[str, Any]:
        return {
            "key": self.unique("made"),
            "firstObjectKey": "opportunity",
            "secondObjectKey": "opportunity",
            "firstObjectLabel": "Parent",
            "secondObjectLabel": "Child",
        }


async def make_world(db: Database, client: httpx.AsyncClient) -> World:
    tenant = await make_tenant(db, client)
    contact = (await bulk_records(db, tenant.location, "contact", 1))[0]
    company = (await bulk_records(db, tenant.location, "company", 1))[0]
    works = await association(
        tenant.admin,
        key="works_at",
        firstObjectKey="contact",
        secondObjectKey="company",
        firstObjectLabel="Employee",
        secondObjectLabel="Employer",
    )
    relation = (await link(tenant.admin, works["id"], contact, company)).data["createRelation"]
    objects = (await tenant.admin.ok("{ objectSchemas { id key } }"))["objectSchemas"]
    return World(
        db=db,
        tenant=tenant,
        contact=contact,
        company=company,
        association=works,
        relation=relation["id"],
        contact_object_id=next(o["id"] for o in objects if o["key"] == "contact"),
    )


# --- rows -------------------------------------------------------------------------------------

Variables = Callable[[World], Awaitable[dict[str, Any]]]


def fixed(make: Callable[[World], dict[str, Any]]) -> Variables:
    async def variables(w: World) -> dict[str, Any]:
        return make(w)

    return variables


@dataclass(frozen=True)
class Row:
    covers: str  # "Query.x", "Mutation.x", "Type.field", or "METHOD /path" as in ROUTES
    needs: tuple[str, ...]  # every one must be granted
    base: tuple[str, ...] = ()  # granted to every token of the row besides the scope under test
    role: str = "admin"
    admin_only: bool = False
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.covers} {self.label}".strip() + ("" if self.role == "admin" else " [user]")

    def expected(self, scope: str) -> str:
        granted = set(GRANTS[scope]).union(*(GRANTS[b] for b in self.base))
        ok = all(n in granted for n in self.needs) and (self.role == "admin" or not self.admin_only)
        return ALLOWED if ok else DENIED

    def missing(self, scope: str) -> list[str]:
        granted = set(GRANTS[scope]).union(*(GRANTS[b] for b in self.base))
        return [n for n in self.needs if n not in granted]


@dataclass(frozen=True)
class Gql(Row):
    query: str = ""
    variables: Variables = fixed(lambda w: {})
    at: str = ""  # the response key where FORBIDDEN lands (default: the root field)
    # Also with ordinary execution forced: record / records selections are otherwise answered
    # by the pre-shaped path (app/graphql/shaping.py) when it supports them.
    both_paths: bool = False


async def no_request(w: World) -> tuple[str, Any]:
    raise AssertionError("a REST row needs a request")


@dataclass(frozen=True)
class RestRow(Row):
    request: Callable[[World], Awaitable[tuple[str, Any]]] = no_request
    # "status": denied is 403 FORBIDDEN. "association fields": the relations in the answer carry
    # their association's fields, or (denied) none of them.
    probe: str = "status"


def q(covers: str, query: str, needs: tuple[str, ...], **kw: Any) -> Gql:
    return Gql(covers=covers, query=query, needs=needs, **kw)


REL_ID = fixed(lambda w: {"id": w.relation})
REC_ID = fixed(lambda w: {"id": w.contact})
ASSOC_ID = fixed(lambda w: {"id": w.association["id"]})


async def fresh_record(w: World) -> dict[str, Any]:
    return {"id": await w.record()}


async def fresh_relation(w: World) -> dict[str, Any]:
    return {"id": await w.fresh_relation()}


async def fresh_relation_list(w: World) -> dict[str, Any]:
    return {"ids": [await w.fresh_relation()]}


async def fresh_association(w: World) -> dict[str, Any]:
    return {"id": await w.fresh_association()}


async def record_changed(w: World) -> dict[str, Any]:
    """The world's contact, changed (the row reads it from the start of its history)."""
    await w.tenant.admin.ok(
        "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id } }",
        {"i": {"id": w.contact, "properties": {"lastName": w.unique("n")}}},
    )
    return {"id": w.contact, "after": "0"}


async def every_kind_of_event(w: World) -> dict[str, Any]:
    """An event of each kind in the log, so that any one scope reads one."""
    await w.tenant.admin.ok(
        "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { key } }",
        {"i": {"key": w.unique("pet"), "labels": {"singular": "Pet", "plural": "Pets"}}},
    )
    return await record_changed(w)


async def relation_event(w: World) -> dict[str, Any]:
    """The RELATION_CREATE event of the world's relation."""
    found = await w.tenant.admin.ok(
        "{ events(types: [RELATION_CREATE]) { edges { node { id relationId } } } }"
    )
    (event,) = [
        e["node"] for e in found["events"]["edges"] if e["node"]["relationId"] == w.relation
    ]
    return {"id": event["id"]}


async def link_input(w: World) -> dict[str, Any]:
    return {"i": await w.pair()}


async def link_inputs(w: World) -> dict[str, Any]:
    return {"i": [await w.pair()]}


CREATE_OBJECT = "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { id } }"
CREATE_ASSOCIATION = "mutation($i: CreateAssociationInput!) { createAssociation(input: $i) { id } }"
UPDATE_ASSOCIATION = "mutation($i: UpdateAssociationInput!) { updateAssociation(input: $i) { id } }"
DELETE_ASSOCIATION = "mutation($id: ID!) { deleteAssociation(id: $id) { deletedId } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"

RELATION_NODE = "query($id: ID!) { node(id: $id) { id ... on Relation { %s } } }"
RECORD_RELATIONS = "query($id: ID!) { record(id: $id) { id relations { %s } } }"
RECORDS_RELATIONS = '{ records(objectKey: "contact") { edges { node { id relations { %s } } } } }'

new_object = fixed(
    lambda w: {"i": {"key": w.unique("thing"), "labels": {"singular": "T", "plural": "Ts"}}}
)
new_association = fixed(lambda w: {"i": w.new_association_input()})
rename = fixed(lambda w: {"i": {"id": w.association["id"], "firstObjectLabel": w.unique("Worker")}})

GRAPHQL_ROWS: list[Gql] = [
    # Query
    q("Query.viewer", "{ viewer { role scopes location { id } } }", ()),
    # Any token reads its own location, by the viewer or by its global id.
    q("Viewer.location", "{ viewer { location { id locationId name } } }", ()),
    q(
        "Query.node",
        "query($id: ID!) { node(id: $id) { id ... on Location { locationId name } } }",
        (),
        variables=fixed(lambda w: {"id": encode_location(w.tenant.location)}),
        label="location",
    ),
    q("Query.node", NODE, (REC_READ,), variables=REC_ID, label="record"),
    q("Query.node", NODE, (ASSOC_READ,), variables=ASSOC_ID, label="association"),
    q("Query.node", NODE, (REL_READ,), variables=REL_ID, label="relation"),
    q(
        "Query.node",
        NODE,
        (SCHEMA_READ,),
        variables=fixed(lambda w: {"id": w.contact_object_id}),
        label="object schema",
    ),
    q("Query.objectSchemas", "{ objectSchemas { id key } }", (SCHEMA_READ,)),
    q("Query.objectSchema", '{ objectSchema(key: "contact") { id key } }', (SCHEMA_READ,)),
    q(
        "Query.record",
        "query($id: ID!) { record(id: $id) { id displayName } }",
        (REC_READ,),
        variables=REC_ID,
        both_paths=True,
    ),
    q(
        "Query.records",
        '{ records(objectKey: "contact") { totalCount edges { node { id } } } }',
        (REC_READ,),
        both_paths=True,
    ),
    q(
        "Query.records",
        'query($r: ID!) { records(objectKey: "company", relatedTo: {recordId: $r})'
        " { totalCount } }",
        (REC_READ, REL_READ),
        base=(REC_READ,),
        variables=fixed(lambda w: {"r": w.contact}),
        label="relatedTo",
    ),
    q("Query.associations", "{ associations { id key } }", (ASSOC_READ,)),
    q(
        "Query.association",
        "query($id: ID!) { association(id: $id) { id key } }",
        (ASSOC_READ,),
        variables=ASSOC_ID,
    ),
    q("Query.associationByKey", '{ associationByKey(key: "works_at") { id } }', (ASSOC_READ,)),
    # Mutation
    q(
        "Mutation.createObjectSchema",
        CREATE_OBJECT,
        (SCHEMA_WRITE,),
        admin_only=True,
        variables=new_object,
    ),
    q(
        "Mutation.createObjectSchema",
        CREATE_OBJECT,
        (SCHEMA_WRITE,),
        admin_only=True,
        variables=new_object,
        role="user",
    ),
    q(
        "Mutation.createRecord",
        'mutation { createRecord(input: {objectKey: "contact", properties: {firstName: "N"}})'
        " { id displayName } }",
        (REC_WRITE,),
    ),
    q(
        "Mutation.createRecord",
        'mutation { createRecord(input: {objectKey: "company", properties: {name: "U"}}) { id } }',
        (REC_WRITE,),
        role="user",
    ),
    q(
        "Mutation.updateRecord",
        'mutation($id: ID!) { updateRecord(input: {id: $id, properties: {lastName: "L"}}) { id } }',
        (REC_WRITE,),
        variables=REC_ID,
    ),
    q(
        "Mutation.deleteRecord",
        "mutation($id: ID!) { deleteRecord(id: $id) { deletedId } }",
        (REC_WRITE,),
        variables=fresh_record,
    ),
    q(
        "Mutation.createAssociation",
        CREATE_ASSOCIATION,
        (ASSOC_WRITE,),
        admin_only=True,
        variables=new_association,
    ),
    q(
        "Mutation.createAssociation",
        CREATE_ASSOCIATION,
        (ASSOC_WRITE,),
        admin_only=True,
        variables=new_association,
        role="user",
    ),
    q(
        "Mutation.updateAssociation",
        UPDATE_ASSOCIATION,
        (ASSOC_WRITE,),
        admin_only=True,
        variables=rename,
    ),
    q(
        "Mutation.updateAssociation",
        UPDATE_ASSOCIATION,
        (ASSOC_WRITE,),
        admin_only=True,
        variables=rename,
        role="user",
    ),
    q(
        "Mutation.deleteAssociation",
        DELETE_ASSOCIATION,
        (ASSOC_WRITE,),
        admin_only=True,
        variables=fresh_association,
    ),
    q(
        "Mutation.deleteAssociation",
        DELETE_ASSOCIATION,
        (ASSOC_WRITE,),
        admin_only=True,
        variables=fresh_association,
        role="user",
    ),
    q(
        "Mutation.createRelation",
        "mutation($i: CreateRelationInput!) { createRelation(input: $i) { id firstRecordId } }",
        (REL_WRITE,),
        variables=link_input,
    ),
    q(
        "Mutation.createRelations",
        "mutation($i: [CreateRelationInput!]!) { createRelations(input: $i) { id } }",
        (REL_WRITE,),
        variables=link_inputs,
    ),
    q(
        "Mutation.deleteRelation",
        "mutation($id: ID!) { deleteRelation(id: $id) { deletedId } }",
        (REL_WRITE,),
        variables=fresh_relation,
    ),
    q(
        "Mutation.deleteRelations",
        "mutation($ids: [ID!]!) { deleteRelations(ids: $ids) { count } }",
        (REL_WRITE,),
        variables=fresh_relation_list,
    ),
    # Nested entity fields: the parent is reachable with `base`; the scope under test decides.
    q(
        "Relation.firstRecord",
        RELATION_NODE % "firstRecord { id properties }",
        (REL_READ, REC_READ),
        base=(REL_READ,),
        variables=REL_ID,
        at="firstRecord",
    ),
    q(
        "Relation.secondRecord",
        RELATION_NODE % "secondRecord { id properties }",
        (REL_READ, REC_READ),
        base=(REL_READ,),
        variables=REL_ID,
        at="secondRecord",
    ),
    q(
        "Relation.association",
        RELATION_NODE % "association { key firstObjectLabel }",
        (REL_READ, ASSOC_READ),
        base=(REL_READ,),
        variables=REL_ID,
        at="association",
    ),
    q(
        "Relation.association",
        "mutation($i: CreateRelationInput!) { createRelation(input: $i) {"
        " id association { key } } }",
        (REL_WRITE, ASSOC_READ),
        base=(REL_WRITE,),
        variables=link_input,
        at="association",
        label="of a created relation",
    ),
    q(
        "Record.relations",
        RECORD_RELATIONS % "totalCount edges { label }",
        (REC_READ, REL_READ),
        base=(REC_READ,),
        variables=REC_ID,
        at="relations",
        both_paths=True,
    ),
    q(
        "Record.relations",
        RECORDS_RELATIONS % "totalCount edges { cursor }",
        (REC_READ, REL_READ),
        base=(REC_READ,),
        at="relations",
        both_paths=True,
        label="in a list",
    ),
    q(
        "RelationEdge.association",
        RECORD_RELATIONS % "edges { association { key } }",
        (REC_READ, REL_READ, ASSOC_READ),
        base=(REC_READ, REL_READ),
        variables=REC_ID,
        at="association",
        both_paths=True,
    ),
    q(
        "RelationEdge.association",
        RECORDS_RELATIONS % "edges { association { key } }",
        (REC_READ, REL_READ, ASSOC_READ),
        base=(REC_READ, REL_READ),
        at="association",
        both_paths=True,
        label="in a list",
    ),
    # Every path to a record's relations starts at a record, which needed the record scope
    # already: the edge's own check cannot be reached alone, so this row pins the one path a
    # relation-only token has, where FORBIDDEN lands at the first record on the way.
    q(
        "RelationEdge.node",
        RELATION_NODE % "firstRecord { relations { edges { node { id properties } } } }",
        (REL_READ, REC_READ),
        base=(REL_READ,),
        variables=REL_ID,
        at="firstRecord",
    ),
    q(
        "RelationEdge.node",
        RECORD_RELATIONS % "edges { node { id properties } }",
        (REC_READ, REL_READ),
        base=(REC_READ, REL_READ),
        variables=REC_ID,
        both_paths=True,
        label="with both scopes",
    ),
    # Events: the location's log is an admin's, filtered to the kinds its scopes read (every
    # scope reads one kind, so no admin is refused); a record's history needs the record.
    q("Query.events", "{ events { edges { node { id type } } } }", (), admin_only=True),
    q(
        "Query.events",
        "{ events { edges { node { id type } } } }",
        (),
        admin_only=True,
        role="user",
    ),
    q(
        "Record.history",
        "query($id: ID!) { record(id: $id) { id history { edges { node { id type } } } } }",
        (REC_READ,),
        variables=REC_ID,
        at="record",
    ),
    q(
        "Query.node",
        NODE,
        (REL_READ,),
        variables=relation_event,
        label="relation event",
    ),
    # Subscriptions (over SSE, replaying from the start so an allowed one answers at once): the
    # same rules as history and Query.events.
    q(
        "Subscription.recordChanged",
        "subscription($id: ID!, $after: String) { recordChanged(id: $id, after: $after) { id } }",
        (REC_READ,),
        variables=record_changed,
    ),
    q(
        "Subscription.relationEvents",
        'subscription { relationEvents(after: "0") { id relationId } }',
        (REL_READ,),
    ),
    q(
        "Subscription.events",
        'subscription { events(after: "0") { id type } }',
        (),
        admin_only=True,
        variables=every_kind_of_event,
    ),
    q(
        "Subscription.events",
        'subscription { events(after: "0") { id type } }',
        (),
        admin_only=True,
        role="user",
    ),
    q(
        "Association.relationCount",
        "query($id: ID!) { association(id: $id) { key relationCount } }",
        (ASSOC_READ, REL_READ),
        base=(ASSOC_READ,),
        variables=ASSOC_ID,
        at="relationCount",
    ),
]

# Entity fields whose check is the one of the connection field above them: the connection's
# own items (Record.relations returns relations, Query.records returns records).
COVERED_BY = {
    "RelationEdge.relation": "Record.relations",
    "RecordEdge.node": "Query.records",
    "EventEdge.node": "Query.events",
}
# Fields that return no entity but disclose another kind's data.
DISCLOSING_SCALARS = {"Association.relationCount"}


def r(covers: str, needs: tuple[str, ...], request: Any, **kw: Any) -> RestRow:
    return RestRow(covers=covers, needs=needs, request=request, **kw)


def get(path: Callable[[World], str]) -> Callable[[World], Awaitable[tuple[str, Any]]]:
    async def request(w: World) -> tuple[str, Any]:
        return path(w), None

    return request


def send(
    path: Callable[[World], str], body: Callable[[World], Any] = lambda w: {}
) -> Callable[[World], Awaitable[tuple[str, Any]]]:
    async def request(w: World) -> tuple[str, Any]:
        return path(w), {"locationId": w.location, **body(w)}

    return request


async def rest_link(w: World) -> tuple[str, Any]:
    return "/associations/relations", {"locationId": w.location, **await w.pair()}


async def rest_bulk(w: World) -> tuple[str, Any]:
    return "/associations/relations/bulk", {"locationId": w.location, "add": [await w.pair()]}


async def rest_unlink(w: World) -> tuple[str, Any]:
    return f"/associations/relations/{await w.fresh_relation()}", None


def rest_delete_association(prefix: str) -> Callable[[World], Awaitable[tuple[str, Any]]]:
    async def request(w: World) -> tuple[str, Any]:
        return f"{prefix}/{await w.fresh_association()}", None

    return request


async def rest_delete_record(w: World) -> tuple[str, Any]:
    return f"/objects/contact/records/{await w.record()}", None


async def rest_update_object(w: World) -> tuple[str, Any]:
    key = w.unique("thing")
    await w.tenant.admin.ok(
        "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { id } }",
        {"i": {"key": key, "labels": {"singular": "T", "plural": "Ts"}}},
    )
    return f"/objects/{key}", {"locationId": w.location, "labels": {"singular": "U"}}


async def rest_delete_contact(w: World) -> tuple[str, Any]:
    return f"/contacts/{await w.record()}", None


def rest_association_rows(prefix: str, object_path: str) -> list[RestRow]:
    """The same operations under /associations and /objects-association."""
    slash = "/" if prefix == "/associations" else ""
    aid: Callable[[World], str] = lambda w: f"{prefix}/{w.association['id']}"  # noqa: E731
    create = send(lambda w: prefix + slash, lambda w: w.new_association_input())
    update = send(aid, lambda w: {"firstObjectLabel": w.unique("Worker")})
    return [
        r(f"POST {prefix}{slash}", (ASSOC_WRITE,), create, admin_only=True),
        r(f"POST {prefix}{slash}", (ASSOC_WRITE,), create, admin_only=True, role="user"),
        r(f"GET {prefix}{slash}", (ASSOC_READ,), get(lambda w: prefix + slash)),
        r(f"GET {prefix}/key/{{key}}", (ASSOC_READ,), get(lambda w: f"{prefix}/key/works_at")),
        r(
            f"GET {prefix}/{object_path}/{{objectKey}}",
            (ASSOC_READ,),
            get(lambda w: f"{prefix}/{object_path}/contact"),
        ),
        r(f"GET {prefix}/{{associationId}}", (ASSOC_READ,), get(aid)),
        r(f"PUT {prefix}/{{associationId}}", (ASSOC_WRITE,), update, admin_only=True),
        r(
            f"DELETE {prefix}/{{associationId}}",
            (ASSOC_WRITE,),
            rest_delete_association(prefix),
            admin_only=True,
        ),
    ]


RECORD_PATH: Callable[[World], str] = lambda w: f"/objects/contact/records/{w.contact}"  # noqa: E731

REST_ROWS: list[RestRow] = [
    r("POST /associations/relations", (REL_WRITE,), rest_link),
    r("POST /associations/relations/bulk", (REL_WRITE,), rest_bulk),
    r(
        "GET /associations/relations/{recordId}",
        (REL_READ,),
        get(lambda w: f"/associations/relations/{w.contact}"),
    ),
    r(
        "GET /associations/relations/{recordId}/history",
        (REC_READ,),
        get(lambda w: f"/associations/relations/{w.contact}/history"),
    ),
    r("DELETE /associations/relations/{relationId}", (REL_WRITE,), rest_unlink),
    *rest_association_rows("/associations", "objectKey"),
    *rest_association_rows("/objects-association", "object"),
    r("GET /objects/", (SCHEMA_READ,), get(lambda w: "/objects/")),
    r(
        "POST /objects/",
        (SCHEMA_WRITE,),
        send(
            lambda w: "/objects/",
            lambda w: {"key": w.unique("thing"), "labels": {"singular": "T", "plural": "Ts"}},
        ),
        admin_only=True,
    ),
    r(
        "POST /objects/",
        (SCHEMA_WRITE,),
        send(
            lambda w: "/objects/",
            lambda w: {"key": w.unique("thing"), "labels": {"singular": "T", "plural": "Ts"}},
        ),
        admin_only=True,
        role="user",
    ),
    r("GET /objects/{key}", (SCHEMA_READ,), get(lambda w: "/objects/contact")),
    r(
        "POST /objects/{key}/records",
        (REC_WRITE,),
        send(lambda w: "/objects/contact/records", lambda w: {"properties": {"firstName": "R"}}),
    ),
    r("GET /objects/{key}/records/{recordId}", (REC_READ,), get(RECORD_PATH)),
    r(
        "PUT /objects/{key}/records/{recordId}",
        (REC_WRITE,),
        send(RECORD_PATH, lambda w: {"properties": {"lastName": "P"}}),
    ),
    r("DELETE /objects/{key}/records/{recordId}", (REC_WRITE,), rest_delete_record),
    r("PUT /objects/{key}", (SCHEMA_WRITE,), rest_update_object, admin_only=True),
    r("PUT /objects/{key}", (SCHEMA_WRITE,), rest_update_object, admin_only=True, role="user"),
    r(
        "POST /objects/{key}/records/search",
        (REC_READ,),
        send(lambda w: "/objects/contact/records/search", lambda w: {"query": "a"}),
    ),
    r("POST /contacts/", (REC_WRITE,), send(lambda w: "/contacts/", lambda w: {"firstName": "C"})),
    r("GET /contacts/{contactId}", (REC_READ,), get(lambda w: f"/contacts/{w.contact}")),
    r(
        "PUT /contacts/{contactId}",
        (REC_WRITE,),
        send(lambda w: f"/contacts/{w.contact}", lambda w: {"lastName": "P"}),
    ),
    r("DELETE /contacts/{contactId}", (REC_WRITE,), rest_delete_contact),
    r("POST /contacts/search", (REC_READ,), send(lambda w: "/contacts/search", lambda w: {})),
    # A relation's association fields (associationKey, firstObjectKey, secondObjectKey) are the
    # association's: withheld from a token that may not read associations.
    r(
        "GET /associations/relations/{recordId}",
        (REL_READ, ASSOC_READ),
        get(lambda w: f"/associations/relations/{w.contact}"),
        base=(REL_READ,),
        probe="association fields",
        label="association fields",
    ),
    r(
        "POST /associations/relations",
        (REL_WRITE, ASSOC_READ),
        rest_link,
        base=(REL_WRITE,),
        probe="association fields",
        label="association fields",
    ),
    r(
        "POST /associations/relations/bulk",
        (REL_WRITE, ASSOC_READ),
        rest_bulk,
        base=(REL_WRITE,),
        probe="association fields",
        label="association fields",
    ),
]

# --- webhooks: admin only; subscribing to (or resending) an event needs the scope reading it --

HOOK_URL = "https://93.184.216.34/hook"  # public: no RELATA_WEBHOOK_ALLOW_PRIVATE, no DNS
CREATE_WEBHOOK = (
    "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret webhook { id } } }"
)
new_webhook = fixed(lambda w: {"i": {"url": HOOK_URL, "eventTypes": ["RECORD_CREATE"]}})


async def fresh_webhook_id(w: World) -> str:
    created = await w.tenant.admin.ok(CREATE_WEBHOOK, {"i": {"url": HOOK_URL}})
    return str(created["createWebhook"]["webhook"]["id"])


async def fresh_webhook(w: World) -> dict[str, Any]:
    return {"id": await fresh_webhook_id(w)}


async def pause_webhook(w: World) -> dict[str, Any]:
    return {"i": {"id": await fresh_webhook_id(w), "active": False}}


async def association_event_id(w: World) -> str:
    found = await w.tenant.admin.ok(
        "{ events(types: [ASSOCIATION_CREATE]) { edges { node { id associationId } } } }"
    )
    (event,) = [
        e["node"]
        for e in found["events"]["edges"]
        if e["node"]["associationId"] == w.association["id"]
    ]
    return str(event["id"])


async def resend(w: World) -> dict[str, Any]:
    return {"w": await fresh_webhook_id(w), "e": await association_event_id(w)}


def _both_roles(row: Gql) -> list[Gql]:
    return [row, Gql(**{**row.__dict__, "role": "user"})]


GRAPHQL_ROWS += [
    *_both_roles(
        q("Mutation.createWebhook", CREATE_WEBHOOK, (REC_READ,), admin_only=True,
          variables=new_webhook)
    ),
    q("CreateWebhookPayload.webhook", CREATE_WEBHOOK, (REC_READ,), admin_only=True,
      variables=new_webhook, at="createWebhook"),
    *_both_roles(q("Query.webhooks", "{ webhooks { id url } }", (), admin_only=True)),
    *_both_roles(
        q("Query.node", NODE, (), admin_only=True, variables=fresh_webhook, label="webhook")
    ),
    *_both_roles(
        q("Mutation.updateWebhook",
          "mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i) { id } }", (),
          admin_only=True, variables=pause_webhook)
    ),
    *_both_roles(
        q("Mutation.deleteWebhook", "mutation($id: ID!) { deleteWebhook(id: $id) { deletedId } }",
          (), admin_only=True, variables=fresh_webhook)
    ),
    q("Mutation.redeliver",
      "mutation($w: ID!, $e: ID!) { redeliver(webhookId: $w, eventId: $e) { status } }",
      (ASSOC_READ,), admin_only=True, variables=resend),
]  # fmt: skip


def _hook_path(suffix: str = "") -> Callable[[World], Awaitable[tuple[str, Any]]]:
    async def request(w: World) -> tuple[str, Any]:
        return f"/webhooks/{await fresh_webhook_id(w)}{suffix}", None

    return request


async def rest_pause_webhook(w: World) -> tuple[str, Any]:
    return f"/webhooks/{await fresh_webhook_id(w)}", {"locationId": w.location, "active": False}


async def rest_redeliver(w: World) -> tuple[str, Any]:
    hook, event = await fresh_webhook_id(w), await association_event_id(w)
    return f"/webhooks/{hook}/deliveries/{event}/redeliver", {"locationId": w.location}


_rest_new_webhook = send(
    lambda w: "/webhooks", lambda w: {"url": HOOK_URL, "eventTypes": ["RECORD_CREATE"]}
)
REST_ROWS += [
    r("POST /webhooks", (REC_READ,), _rest_new_webhook, admin_only=True),
    r("POST /webhooks", (REC_READ,), _rest_new_webhook, admin_only=True, role="user"),
    r("GET /webhooks", (), get(lambda w: "/webhooks"), admin_only=True),
    r("GET /webhooks", (), get(lambda w: "/webhooks"), admin_only=True, role="user"),
    r("GET /webhooks/{webhookId}", (), _hook_path(), admin_only=True),
    r("PUT /webhooks/{webhookId}", (), rest_pause_webhook, admin_only=True),
    r("DELETE /webhooks/{webhookId}", (), _hook_path(), admin_only=True),
    r("GET /webhooks/{webhookId}/deliveries", (), _hook_path("/deliveries"), admin_only=True),
    r(
        "POST /webhooks/{webhookId}/deliveries/{eventId}/redeliver",
        (ASSOC_READ,),
        rest_redeliver,
        admin_only=True,
    ),
]

ASSOCIATION_FIELDS = ("associationKey", "firstObjectKey", "secondObjectKey")


# --- running a row ----------------------------------------------------------------------------


def forbidden_detail(row: Row, scope: str, extensions: dict[str, Any]) -> str:
    """DENIED when the refusal names what is missing: the first scope lacking, else the role."""
    missing = row.missing(scope)
    if missing:
        ok = extensions.get("scope") == missing[0]
    else:
        ok = extensions.get("role") == "admin"
    return DENIED if ok else f"FORBIDDEN naming {extensions}, not {missing or 'the role'}"


async def run_gql(w: World, row: Gql, scope: str, path: str, live_url: str = "") -> str:
    token = await w.token(row.role, frozenset({scope, *row.base}))
    headers = {"authorization": f"Bearer {token}"}
    if path == "standard":
        headers["x-relata-execution"] = "standard"
    if row.covers.startswith("Subscription."):
        body = await first_sse_result(live_url, token, row.query, await row.variables(w))
        status = 200
    else:
        response = await w.tenant.admin.client.post(
            "/graphql",
            json={"query": row.query, "variables": await row.variables(w)},
            headers=headers,
        )
        body, status = response.json(), response.status_code
    errors = body.get("errors") or []
    if not errors:
        assert status == 200, body
        roots = ("Query.", "Mutation.", "Subscription.")
        root = row.covers.split(".")[1] if row.covers.startswith(roots) else None
        assert root is None or body["data"][root] is not None, body
        return ALLOWED
    codes = {e.get("extensions", {}).get("code") for e in errors}
    if codes != {"FORBIDDEN"}:
        return f"errors {sorted(map(str, codes))}: {errors[0]['message']}"
    at = row.at or row.covers.split(".")[1]
    wrong = [e["path"] for e in errors if [p for p in e["path"] if isinstance(p, str)][-1] != at]
    if wrong:
        return f"FORBIDDEN at {wrong}, not at {at}"
    return forbidden_detail(row, scope, errors[0]["extensions"])


async def run_rest(w: World, row: RestRow, scope: str) -> str:
    token = await w.token(row.role, frozenset({scope, *row.base}))
    method = row.covers.split()[0]
    path, body = await row.request(w)
    response = await Rest(w.tenant.admin.client, token, w.location).call(method, path, json=body)
    data = response.json()
    if response.status_code == 403 and data.get("code") == "FORBIDDEN":
        return forbidden_detail(row, scope, data.get("details") or {})
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if row.probe == "status":
        return ALLOWED
    relations = data.get("relations") or data.get("added") or [data]
    present = {tuple(f in rel for f in ASSOCIATION_FIELDS) for rel in relations}
    if present == {(True, True, True)}:
        return ALLOWED
    if present == {(False, False, False)}:
        return DENIED
    return f"association fields in part: {relations}"


# --- the tests --------------------------------------------------------------------------------


def graphql_cases() -> list[Any]:
    return [
        pytest.param(row, path, id=f"{row.id} ({path})")
        for row in GRAPHQL_ROWS
        for path in (("default", "standard") if row.both_paths else ("default",))
    ]


@pytest.fixture(scope="module")
async def live(db: Database, pg_dsn: str) -> AsyncIterator[str]:
    """A real socket for the subscription rows (GraphQL over SSE)."""
    running = await serve_in_process(db, pg_dsn)
    yield running.url
    await stop_in_process(running)


@pytest.mark.parametrize(("row", "path"), graphql_cases())
async def test_graphql_scope(db, client, live, row: Gql, path: str):
    w = await make_world(db, client)
    got = {scope: await run_gql(w, row, scope, path, live) for scope in SCOPES}
    assert got == {scope: row.expected(scope) for scope in SCOPES}


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in REST_ROWS])
async def test_rest_scope(db, client, row: RestRow):
    w = await make_world(db, client)
    got = {scope: await run_rest(w, row, scope) for scope in SCOPES}
    assert got == {scope: row.expected(scope) for scope in SCOPES}


def _entity_fields() -> set[str]:
    """`Type.field` of every field, roots included, that returns an entity (a Node, a record or
    a connection of them), with fields of the Record interface named on it."""
    gql = schema._schema
    entities = {"Node", "Record", "RelationConnection", "RecordConnection", "EventConnection"}
    entities |= {t.name for t in gql.type_map.values() if _implements(t, "Node")}
    record = gql.type_map["Record"]
    out: set[str] = set()
    for type_ in gql.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for name, f in type_.fields.items():
            owner = type_.name
            if _implements(type_, "Record") and name in record.fields:  # type: ignore[attr-defined]
                owner = "Record"
            if owner in ("Query", "Mutation") or get_named_type(f.type).name in entities:
                out.add(f"{owner}.{name}")
    return out


def _implements(type_: GraphQLNamedType, interface: str) -> bool:
    return isinstance(type_, GraphQLObjectType) and any(
        i.name == interface for i in type_.interfaces
    )


def test_every_root_field_and_entity_field_has_a_row():
    covered = {row.covers for row in GRAPHQL_ROWS}
    assert set(COVERED_BY.values()) <= covered
    assert covered | set(COVERED_BY) == _entity_fields() | DISCLOSING_SCALARS


def test_every_rest_route_has_a_row():
    routes = {f"{op.method} {op.path}" for op in ROUTES}
    assert {row.covers for row in REST_ROWS} == routes
    assert {row.covers for row in REST_ROWS if row.probe == "status"} == routes


def test_every_scope_is_in_the_table():
    from app.auth import ALL_SCOPES

    assert set(SCOPES) == set(ALL_SCOPES) == set(GRANTS)
