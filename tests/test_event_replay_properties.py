"""Property test of the change-event log: random sequences of writes through the public API
(GraphQL mutations, plus the REST object update and relation bulk, the only ways to some event
types), many of which fail. After every write the new events are exactly those the write
promised (none at all for a failed one) and replaying the log so far gives the database's state;
at the end the whole log, read through `Query.events` page by page, replays from scratch into
the database's state read independently with SQL.

    RELATA_EVENT_REPLAY_EXAMPLES=500 ./dev test -p no:randomly tests/test_event_replay_properties.py

runs a longer search (the default keeps the file under a minute)."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from app import ids
from app.config import Settings
from app.services.tokens import create_token
from app.web import create_app
from db import Database
from tests.assoc_support import (
    CREATE_ASSOCIATION,
    CREATE_RELATION,
    CREATE_RELATIONS,
    DELETE_ASSOCIATION,
    DELETE_RECORD,
    DELETE_RELATION,
    DELETE_RELATIONS,
    UPDATE_ASSOCIATION,
    rel,
)
from tests.helpers import Api, Response
from tests.rest_support import Rest

EXAMPLES = int(os.environ.get("RELATA_EVENT_REPLAY_EXAMPLES", "80"))
# Small, so that a few merges make a record too big without megabyte requests.
MAX_RECORD_BYTES = 2048

EVENT_FIELDS = (
    "id position type occurredAt actorTokenId objectKey recordId associationId associationKey"
    " relationId firstRecordId secondRecordId firstObjectKey secondObjectKey firstObjectLabel"
    " secondObjectLabel data"
)
EVENTS_QUERY = (
    "query($first: Int, $after: String, $types: [EventType!], $objectKey: String) {"
    " events(first: $first, after: $after, types: $types, objectKey: $objectKey) {"
    f" edges {{ cursor node {{ {EVENT_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
)
CREATE_OBJECT = "mutation($i: CreateObjectSchemaInput!) { createObjectSchema(input: $i) { key } }"
CREATE_RECORD = "mutation($i: CreateRecordInput!) { createRecord(input: $i) { id } }"
UPDATE_RECORD = "mutation($i: UpdateRecordInput!) { updateRecord(input: $i) { id properties } }"
STANDARD_OBJECTS = ("contact", "company", "opportunity")
FAILURE_CODES = {"BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "LIMIT_EXCEEDED", "FORBIDDEN"}


# --- reading the log ---------------------------------------------------------------------------


async def read_log(
    api: Api,
    *,
    first: int = 200,
    types: list[str] | None = None,
    object_key: str | None = None,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """Every event after `after` through `Query.events`, page by page, checking the paging."""
    nodes: list[dict[str, Any]] = []
    while True:
        data = await api.ok(
            EVENTS_QUERY,
            {"first": first, "after": after, "types": types, "objectKey": object_key},
        )
        page = data["events"]
        edges = page["edges"]
        assert len(edges) <= first
        for edge in edges:
            assert edge["cursor"] == edge["node"]["position"]
            nodes.append(edge["node"])
        if edges:
            assert page["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        assert edges, "hasNextPage on an empty page"
        after = page["pageInfo"]["endCursor"]


def _rid(kind: ids.Kind, value: Any) -> str | None:
    return None if value is None else ids.encode(kind, value)


def row_node(r: Any) -> dict[str, Any]:
    """An events row as `Query.events` shows it (occurredAt left as a datetime)."""
    return {
        "id": ids.encode(ids.Kind.EVENT, r["id"]),
        "position": str(r["position"]),
        "type": r["type"],
        "occurredAt": r["occurred_at"],
        "actorTokenId": _rid(ids.Kind.TOKEN, r["actor_token_id"]),
        "objectKey": r["object_key"],
        "recordId": _rid(ids.Kind.RECORD, r["record_id"]),
        "associationId": _rid(ids.Kind.ASSOCIATION, r["association_id"]),
        "associationKey": r["association_key"],
        "relationId": _rid(ids.Kind.RELATION, r["relation_id"]),
        "firstRecordId": _rid(ids.Kind.RECORD, r["first_record_id"]),
        "secondRecordId": _rid(ids.Kind.RECORD, r["second_record_id"]),
        "firstObjectKey": r["first_object_key"],
        "secondObjectKey": r["second_object_key"],
        "firstObjectLabel": r["first_object_label"],
        "secondObjectLabel": r["second_object_label"],
        "data": r["data"],
    }


async def sql_events(db: Database, location: str, after: int = 0) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "select * from events where location_id = $1 and position > $2 order by position",
        location,
        after,
    )
    return [row_node(r) for r in rows]


async def log_tail(db: Database, location: str) -> tuple[int, int, int]:
    """(events stored, their highest position, the location's position counter)."""
    row = await db.fetchrow(
        "select count(*)::int as n, coalesce(max(position), 0)::bigint as top,"
        " coalesce((select last from event_positions where location_id = $1), 0)::bigint"
        " as counter from events where location_id = $1",
        location,
    )
    return int(row["n"]), int(row["top"]), int(row["counter"])


# --- the state: replayed from events, or read from the tables ----------------------------------


@dataclass
class State:
    # custom object key -> (singular, plural, description, primary display property)
    objects: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    # record id -> (object key, properties)
    records: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # association id -> (key, type, first object, second object, first label, second label or
    # None for a single label, first-to-second limit, second-to-first limit, description)
    associations: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    # relation id -> (association id, first record id, second record id)
    relations: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def snapshot(self) -> tuple[Any, ...]:
        return (self.objects, self.records, self.associations, self.relations)


async def db_state(db: Database, location: str) -> State:
    """The location's state straight from the tables (custom objects only: the standard ones
    exist in every location without events)."""
    s = State()
    for r in await db.fetch(
        "select key, singular_label, plural_label, description, primary_display_property"
        " from objects where location_id = $1 and not is_standard",
        location,
    ):
        s.objects[r["key"]] = (
            r["singular_label"],
            r["plural_label"],
            r["description"],
            r["primary_display_property"],
        )
    for r in await db.fetch(
        "select id, object_key, properties from records where location_id = $1", location
    ):
        s.records[ids.encode(ids.Kind.RECORD, r["id"])] = (r["object_key"], r["properties"])
    for r in await db.fetch("select * from associations where location_id = $1", location):
        s.associations[ids.encode(ids.Kind.ASSOCIATION, r["id"])] = (
            r["key"],
            r["association_type"],
            r["first_object_key"],
            r["second_object_key"],
            r["first_object_label"],
            r["second_object_label"],
            r["first_to_second_limit"],
            r["second_to_first_limit"],
            r["description"],
        )
    for r in await db.fetch(
        "select id, association_id, first_record_id, second_record_id from relations"
        " where location_id = $1",
        location,
    ):
        s.relations[ids.encode(ids.Kind.RELATION, r["id"])] = (
            ids.encode(ids.Kind.ASSOCIATION, r["association_id"]),
            ids.encode(ids.Kind.RECORD, r["first_record_id"]),
            ids.encode(ids.Kind.RECORD, r["second_record_id"]),
        )
    return s


async def seed_state(db: Database, location: str) -> State:
    """What a location holds before any event: its system associations (standard objects are
    implied)."""
    s = State()
    full = await db_state(db, location)
    s.associations = {k: v for k, v in full.associations.items() if v[1] == "SYSTEM_DEFINED"}
    assert sorted(v[0] for v in s.associations.values()) == ["contact_company"]
    return s


class Replay:
    """Applies events one by one to a State, checking that each is consistent with what the log
    said before it (ids new or known, relation ends and labels as their association is, cascaded
    relation deletes just before the delete that took them)."""

    def __init__(self, state: State, actor: str) -> None:
        self.state, self.actor = state, actor
        self.seen: list[dict[str, Any]] = []
        self.gone: set[str] = set()  # ids of deleted entities: never reused

    def apply_all(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            self.apply(e)

    def _association_fields_match(self, e: dict[str, Any], aid: str) -> None:
        key, _, first_obj, second_obj, first_label, second_label, *_ = self.state.associations[aid]
        assert e["associationId"] == aid, e
        assert e["associationKey"] == key, e
        assert (e["firstObjectKey"], e["secondObjectKey"]) == (first_obj, second_obj), e
        assert (e["firstObjectLabel"], e["secondObjectLabel"]) == (
            first_label,
            second_label or first_label,
        ), (e, self.state.associations[aid])

    def _cascaded_before(self, n: int, touches: Callable[[dict[str, Any]], bool]) -> None:
        before = self.seen[len(self.seen) - n :] if n else []
        assert len(before) == n
        for b in before:
            assert b["type"] == "RELATION_DELETE" and touches(b), (n, before)

    def apply(self, e: dict[str, Any]) -> None:
        s, t, d = self.state, e["type"], e["data"]
        assert int(e["position"]) == len(self.seen) + 1, (e["position"], len(self.seen))
        assert e["actorTokenId"] == self.actor, e
        assert e["id"].startswith("evt_")
        if t in ("OBJECT_CREATE", "OBJECT_UPDATE"):
            key = d["key"]
            assert e["objectKey"] == key and key.startswith("custom_objects."), e
            assert (key in s.objects) == (t == "OBJECT_UPDATE"), e
            s.objects[key] = (
                d["labels"]["singular"],
                d["labels"]["plural"],
                d["description"],
                d["primaryDisplayProperty"],
            )
        elif t == "RECORD_CREATE":
            rid = e["recordId"]
            assert rid not in s.records and rid not in self.gone, e
            obj = e["objectKey"]
            assert obj in STANDARD_OBJECTS or obj in s.objects, e
            s.records[rid] = (obj, d["properties"])
        elif t == "RECORD_UPDATE":
            rid = e["recordId"]
            obj, old = s.records[rid]
            assert e["objectKey"] == obj, e
            changed = set(d["changed"])
            new = d["properties"]
            for name in set(old) | set(new):
                if name not in changed:
                    assert old.get(name) == new.get(name), (name, e)
            s.records[rid] = (obj, new)
        elif t == "RECORD_DELETE":
            rid = e["recordId"]
            obj, props = s.records.pop(rid)
            assert e["objectKey"] == obj and d["properties"] == props, e
            assert not any(rid in r[1:] for r in s.relations.values()), e
            self._cascaded_before(
                d["relationsDeleted"], lambda b: rid in (b["firstRecordId"], b["secondRecordId"])
            )
            self.gone.add(rid)
        elif t == "ASSOCIATION_CREATE":
            aid = e["associationId"]
            assert aid not in s.associations and aid not in self.gone, e
            assert d["key"] not in {a[0] for a in s.associations.values()}, e
            for obj in (d["firstObjectKey"], d["secondObjectKey"]):
                assert obj in STANDARD_OBJECTS or obj in s.objects, e
            assert d["associationType"] == "USER_DEFINED"
            s.associations[aid] = self._definition(d)
            self._association_fields_match(e, aid)
        elif t == "ASSOCIATION_UPDATE":
            aid = e["associationId"]
            old = s.associations[aid]
            new = self._definition(d)
            # Only labels and the description change.
            assert (new[:4], new[6:8]) == (old[:4], old[6:8]), (old, new)
            assert (new[5] is None) == (old[5] is None), (old, new)
            s.associations[aid] = new
            self._association_fields_match(e, aid)
        elif t == "ASSOCIATION_DELETE":
            aid = e["associationId"]
            self._association_fields_match(e, aid)
            assert s.associations[aid][1] == "USER_DEFINED"
            assert not any(r[0] == aid for r in s.relations.values()), e
            self._cascaded_before(d["relationsDeleted"], lambda b: b["associationId"] == aid)
            del s.associations[aid]
            self.gone.add(aid)
        elif t == "RELATION_CREATE":
            relid, aid = e["relationId"], e["associationId"]
            assert relid not in s.relations and relid not in self.gone, e
            self._association_fields_match(e, aid)
            ends = (aid, e["firstRecordId"], e["secondRecordId"])
            assert ends not in s.relations.values(), e
            assert ends[1] != ends[2]
            assert s.records[ends[1]][0] == e["firstObjectKey"], e
            assert s.records[ends[2]][0] == e["secondObjectKey"], e
            s.relations[relid] = ends
        elif t == "RELATION_DELETE":
            relid, aid = e["relationId"], e["associationId"]
            self._association_fields_match(e, aid)
            assert s.relations.pop(relid) == (aid, e["firstRecordId"], e["secondRecordId"]), e
            self.gone.add(relid)
        else:
            raise AssertionError(f"unknown event type {t}")
        self.seen.append(e)

    @staticmethod
    def _definition(d: dict[str, Any]) -> tuple[Any, ...]:
        return (
            d["key"],
            d["associationType"],
            d["firstObjectKey"],
            d["secondObjectKey"],
            d["firstObjectLabel"],
            d["secondObjectLabel"] if d["isPaired"] else None,
            d["firstToSecondLimit"],
            d["secondToFirstLimit"],
            d["description"],
        )


async def admin_token_id(db: Database, location: str) -> str:
    rows = await db.fetch(
        "select id from api_tokens where location_id = $1 and role = 'admin'", location
    )
    assert len(rows) == 1
    return ids.encode(ids.Kind.TOKEN, rows[0]["id"])


def assert_no_secret(token: str, events: list[dict[str, Any]]) -> None:
    text = json.dumps(events, default=str)
    assert token not in text
    assert token.rsplit(".", 1)[-1] not in text  # not even the secret part


# --- the writer: one call, then the log must say exactly what happened -------------------------


@dataclass
class Outcome:
    ok: bool
    code: str  # "OK", an extensions.code, or "HTTP <status>"
    expected: list[str]  # the event types a success must have appended, in order


class Session:
    def __init__(self, db: Database, api: Api, rest: Rest, location: str, actor: str) -> None:
        self.db, self.api, self.rest, self.location = db, api, rest, location
        self.replay: Replay | None = None
        self.actor = actor
        self.records: list[str] = []  # every record id ever created, deleted ones included
        self.associations: list[str] = []
        self.relations: list[str] = []
        self.codes: list[str] = []
        self.object_of: dict[str, str] = {}  # record id -> object key, deleted ones included
        self.ends_of: dict[str, tuple[str, str]] = {}  # association id -> its two objects

    async def start(self) -> None:
        self.replay = Replay(await seed_state(self.db, self.location), self.actor)
        self.associations += list(self.replay.state.associations)
        for aid, a in self.replay.state.associations.items():
            self.ends_of[aid] = (a[2], a[3])

    async def relation_ids(self) -> set[str]:
        return set((await db_state(self.db, self.location)).relations)

    async def run(self, label: str, call: Callable[[set[str]], Awaitable[Outcome]]) -> Outcome:
        """Make one call and check the log: a failure appended nothing (not even a position), a
        success exactly the events it promised, in one transaction (one occurredAt), and the
        replayed log equals the tables."""
        assert self.replay is not None
        count, top, counter = await log_tail(self.db, self.location)
        assert count == top == counter  # positions 1..N, none reserved without its event
        relations_before = await self.relation_ids()
        outcome = await call(relations_before)
        self.codes.append(f"{label}:{outcome.code}")
        with contextlib.suppress(InvalidArgument):  # statistics, inside a Hypothesis test only
            event(f"{label} -> {outcome.code}")
        new = await sql_events(self.db, self.location, after=top)
        if not outcome.ok:
            assert outcome.code in FAILURE_CODES or outcome.code.startswith("HTTP 4"), (
                label,
                outcome.code,
            )
            assert new == [], (label, outcome.code, new)
            assert await log_tail(self.db, self.location) == (count, top, counter), label
        else:
            assert [e["type"] for e in new] == outcome.expected, (label, new, outcome.expected)
            assert [int(e["position"]) for e in new] == list(range(top + 1, top + 1 + len(new)))
            assert len({e["occurredAt"] for e in new}) <= 1, new  # one transaction
            assert await log_tail(self.db, self.location) == (
                count + len(new),
                top + len(new),
                top + len(new),
            )
        self.replay.apply_all(new)
        for e in new:
            if e["type"] == "RECORD_CREATE":
                self.object_of[e["recordId"]] = e["objectKey"]
            elif e["type"] == "ASSOCIATION_CREATE":
                self.ends_of[e["associationId"]] = (e["firstObjectKey"], e["secondObjectKey"])
        assert (
            self.replay.state.snapshot() == (await db_state(self.db, self.location)).snapshot()
        ), (label, outcome)
        return outcome

    # GraphQL and REST answers as outcomes.
    @staticmethod
    def gql_outcome(r: Response, expected: list[str]) -> Outcome:
        assert r.status == 200, r.body
        if r.body.get("errors"):
            assert r.body.get("data") is None, r.body
            return Outcome(False, r.code, [])
        return Outcome(True, "OK", expected)

    @staticmethod
    def rest_outcome(r: httpx.Response, expected: list[str]) -> Outcome:
        if r.status_code >= 400:
            assert r.status_code not in (401, 429) and r.status_code < 500, r.text
            return Outcome(False, f"HTTP {r.status_code}", [])
        return Outcome(True, "OK", expected)


# --- random programs ---------------------------------------------------------------------------

OBJECT_KEYS = ["pet", "gadget", "custom_objects.pet", "Bad Key"]
UPDATE_OBJECT_KEYS = ["pet", "gadget", "contact", "nosuch"]
RECORD_OBJECTS = ["contact", "company", "pet", "custom_objects.gadget", "opportunity", "nosuch"]
PROPERTIES: list[dict[str, Any]] = [
    {},
    {"name": "Ada"},
    {"name": "Bo", "n": 1},
    {"tag": "t", "nested": {"k": [1, 2, "x"]}},
]
BLOB = 1100  # two of these make a record too big (MAX_RECORD_BYTES)
PATCHES: list[dict[str, Any]] = [
    {"n": 2},
    {"tag": "u", "name": "Cy"},
    {"tag": None},
    {"b1": "x" * BLOB},
    {"b2": "y" * BLOB},
    {"b3": "w" * BLOB},
    {"b1": None, "b2": None},
    {"huge": "h" * (MAX_RECORD_BYTES + 1)},
    {"nothing": None},
]
ASSOCIATION_KEYS = ["a0", "a1", "a2", "a3", "a4", "contact_company"]
PAIRS = [
    ("contact", "contact"),
    ("contact", "company"),
    ("company", "pet"),
    ("custom_objects.gadget", "contact"),
]
CARDINALITIES = ["MANY_TO_MANY", "ONE_TO_ONE", "ONE_TO_MANY", "MANY_TO_ONE"]

index = st.integers(0, 40)
# (association, first record, second record, wild): a tame link picks records of the
# association's objects (so it meets the limits, duplicates and deleted records); a wild one
# picks any two records.
LinkSpec = tuple[int, int, int, bool]
link_spec = st.tuples(index, index, index, st.sampled_from((False, False, False, True)))
ARGUMENTS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "create_object": st.tuples(st.integers(0, len(OBJECT_KEYS) - 1)),
    "update_object": st.tuples(st.integers(0, len(UPDATE_OBJECT_KEYS) - 1), st.integers(0, 4)),
    "create_record": st.tuples(
        st.integers(0, len(RECORD_OBJECTS) - 1),
        st.integers(0, len(PROPERTIES) - 1),
        st.sampled_from((False, False, False, True)),  # too big from the start
    ),
    "update_record": st.tuples(index, st.integers(0, len(PATCHES) - 1)),
    "delete_record": st.tuples(index),
    "create_association": st.tuples(
        st.integers(0, len(ASSOCIATION_KEYS) - 1),
        st.integers(0, len(PAIRS) - 1),
        st.integers(0, len(CARDINALITIES) - 1),
        st.booleans(),  # a pair of labels
    ),
    "update_association": st.tuples(index, st.integers(0, 3)),
    "delete_association": st.tuples(index, st.booleans()),
    "link": st.tuples(link_spec),
    "link_many": st.tuples(st.lists(link_spec, min_size=1, max_size=4)),
    "unlink": st.tuples(index),
    "unlink_many": st.tuples(st.lists(index, min_size=1, max_size=3)),
    "rest_bulk": st.tuples(
        st.lists(link_spec, min_size=0, max_size=3), st.lists(index, min_size=0, max_size=2)
    ),
}
# How often each kind is drawn: mostly relations, where most of the rules (and failures) are.
WEIGHTS = {
    "link": 6,
    "link_many": 3,
    "unlink": 2,
    "rest_bulk": 2,
    "create_record": 2,
    "update_record": 3,
}
KINDS = [k for k in ARGUMENTS for _ in range(WEIGHTS.get(k, 1))]
operation = st.sampled_from(KINDS).flatmap(
    lambda kind: ARGUMENTS[kind].map(lambda args: (kind, *args))
)
program = st.lists(operation, min_size=10, max_size=40)


def pick(pool: list[str], i: int, kind: ids.Kind) -> str:
    """An id from the pool (deleted ones included), or one that never existed."""
    return pool[i % len(pool)] if pool else ids.encode(kind, uuid.uuid4())


class Program:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.serial = 0

    def _rec(self, i: int) -> str:
        return pick(self.s.records, i, ids.Kind.RECORD)

    def _asc(self, i: int) -> str:
        return pick(self.s.associations, i, ids.Kind.ASSOCIATION)

    def _rel(self, i: int) -> str:
        return pick(self.s.relations, i, ids.Kind.RELATION)

    def _links(self, specs: list[LinkSpec]) -> list[dict[str, str]]:
        out = []
        for a, f, b, wild in specs:
            aid = self._asc(a)
            first, second = self._rec(f), self._rec(b)
            ends = self.s.ends_of.get(aid)
            if not wild and ends is not None:
                firsts = [r for r in self.s.records if self.s.object_of[r] == ends[0]]
                seconds = [r for r in self.s.records if self.s.object_of[r] == ends[1]]
                if firsts and seconds:
                    first, second = firsts[f % len(firsts)], seconds[b % len(seconds)]
            out.append(rel(aid, first, second))
        return out

    async def step(self, op: tuple[Any, ...]) -> Outcome:
        self.serial += 1
        return await self.s.run(op[0], lambda before: getattr(self, op[0])(before, *op[1:]))

    async def create_object(self, _: set[str], k: int) -> Outcome:
        r = await self.s.api.gql(
            CREATE_OBJECT,
            {"i": {"key": OBJECT_KEYS[k], "labels": {"singular": "It", "plural": "Its"}}},
        )
        return self.s.gql_outcome(r, ["OBJECT_CREATE"])

    async def update_object(self, _: set[str], k: int, variant: int) -> Outcome:
        n = self.serial
        body: dict[str, Any] = [
            {"labels": {"singular": f"S{n}", "plural": f"P{n}"}},
            {"description": f"described {n}"},
            {"primaryDisplayProperty": "tag"},
            {"primaryDisplayProperty": "name", "description": None},
            {"labels": {"singular": ""}},  # refused: a label is required text
        ][variant]
        r = await self.s.rest.put(f"/objects/{UPDATE_OBJECT_KEYS[k]}", body)
        return self.s.rest_outcome(r, ["OBJECT_UPDATE"])

    async def create_record(self, _: set[str], o: int, p: int, big: bool) -> Outcome:
        props = dict(PROPERTIES[p])
        if big:
            props["huge"] = "h" * MAX_RECORD_BYTES
        r = await self.s.api.gql(
            CREATE_RECORD, {"i": {"objectKey": RECORD_OBJECTS[o], "properties": props}}
        )
        outcome = self.s.gql_outcome(r, ["RECORD_CREATE"])
        if outcome.ok:
            self.s.records.append(r.data["createRecord"]["id"])
        return outcome

    async def update_record(self, _: set[str], i: int, p: int) -> Outcome:
        r = await self.s.api.gql(
            UPDATE_RECORD, {"i": {"id": self._rec(i), "properties": PATCHES[p]}}
        )
        return self.s.gql_outcome(r, ["RECORD_UPDATE"])

    async def delete_record(self, _: set[str], i: int) -> Outcome:
        r = await self.s.api.gql(DELETE_RECORD, {"id": self._rec(i)})
        if r.body.get("errors"):
            return self.s.gql_outcome(r, [])
        n = r.data["deleteRecord"]["deletedRelationCount"]
        return self.s.gql_outcome(r, ["RELATION_DELETE"] * n + ["RECORD_DELETE"])

    async def create_association(
        self, _: set[str], k: int, pair: int, cardinality: int, paired: bool
    ) -> Outcome:
        first, second = PAIRS[pair]
        fields = {
            "key": ASSOCIATION_KEYS[k],
            "firstObjectKey": first,
            "secondObjectKey": second,
            "firstObjectLabel": "Left",
            "secondObjectLabel": "Right" if paired else None,
            "cardinality": CARDINALITIES[cardinality],
            "description": None if paired else "single",
        }
        r = await self.s.api.gql(CREATE_ASSOCIATION, {"i": fields})
        outcome = self.s.gql_outcome(r, ["ASSOCIATION_CREATE"])
        if outcome.ok:
            self.s.associations.append(r.data["createAssociation"]["id"])
        return outcome

    async def update_association(self, _: set[str], i: int, variant: int) -> Outcome:
        n = self.serial
        change: dict[str, Any] = [
            {"firstObjectLabel": f"First {n}"},
            {"secondObjectLabel": f"Second {n}"},  # refused on a single label
            {"description": f"about {n}"},
            {"firstObjectLabel": "   "},  # refused: blank
        ][variant]
        r = await self.s.api.gql(UPDATE_ASSOCIATION, {"i": {"id": self._asc(i), **change}})
        return self.s.gql_outcome(r, ["ASSOCIATION_UPDATE"])

    async def delete_association(self, _: set[str], i: int, cascade: bool) -> Outcome:
        r = await self.s.api.gql(DELETE_ASSOCIATION, {"id": self._asc(i), "cascade": cascade})
        if r.body.get("errors"):
            return self.s.gql_outcome(r, [])
        n = r.data["deleteAssociation"]["deletedRelationCount"]
        return self.s.gql_outcome(r, ["RELATION_DELETE"] * n + ["ASSOCIATION_DELETE"])

    def _made(self, before: set[str], made: list[dict[str, Any]]) -> list[str]:
        """RELATION_CREATE for each relation new to the location (an existing one is found
        again and changes nothing)."""
        fresh = list(dict.fromkeys(m["id"] for m in made if m["id"] not in before))
        self.s.relations.extend(m["id"] for m in made if m["id"] not in self.s.relations)
        return ["RELATION_CREATE"] * len(fresh)

    async def link(self, before: set[str], spec: LinkSpec) -> Outcome:
        (item,) = self._links([spec])
        r = await self.s.api.gql(CREATE_RELATION, {"i": item})
        if r.body.get("errors"):
            return self.s.gql_outcome(r, [])
        return self.s.gql_outcome(r, self._made(before, [r.data["createRelation"]]))

    async def link_many(self, before: set[str], specs: list[LinkSpec]) -> Outcome:
        r = await self.s.api.gql(CREATE_RELATIONS, {"i": self._links(specs)})
        if r.body.get("errors"):
            return self.s.gql_outcome(r, [])
        return self.s.gql_outcome(r, self._made(before, r.data["createRelations"]))

    async def unlink(self, _: set[str], i: int) -> Outcome:
        r = await self.s.api.gql(DELETE_RELATION, {"id": self._rel(i)})
        return self.s.gql_outcome(r, ["RELATION_DELETE"])

    async def unlink_many(self, _: set[str], picks: list[int]) -> Outcome:
        targets = [self._rel(i) for i in picks]
        r = await self.s.api.gql(DELETE_RELATIONS, {"ids": targets})
        return self.s.gql_outcome(r, ["RELATION_DELETE"] * len(set(targets)))

    async def rest_bulk(self, before: set[str], add: list[LinkSpec], remove: list[int]) -> Outcome:
        body = {
            "locationId": self.s.location,
            "add": self._links(add),
            "remove": [self._rel(i) for i in remove],
        }
        r = await self.s.rest.post("/associations/relations/bulk", body)
        if r.status_code >= 400:
            return self.s.rest_outcome(r, [])
        answer = r.json()
        removed = ["RELATION_DELETE"] * len(answer["removed"])
        assert len(answer["removed"]) == len(set(body["remove"]))
        return self.s.rest_outcome(
            r, removed + self._made(before - set(answer["removed"]), answer["added"])
        )


# --- fixtures and setup ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replay_app(db: Database):  # type: ignore[no-untyped-def]
    """The app with a small record bound (so merges can overflow it cheaply) and no rate limit
    (one token makes every call of an example)."""
    return create_app(
        Settings(
            max_body_bytes=1_000_000,
            max_record_bytes=MAX_RECORD_BYTES,
            rate_limit_per_second=0,
        ),
        database=db,
    )


@dataclass
class Tenant:
    location: str
    token: str
    session: Session


async def open_tenant(db: Database, client: httpx.AsyncClient) -> Tenant:
    location = f"ev-{uuid.uuid4().hex[:12]}"
    token = await create_token(db, location, "admin")
    api, rest = Api(client, token, location), Rest(client, token, location)
    session = Session(db, api, rest, location, await admin_token_id(db, location))
    await session.start()
    return Tenant(location, token, session)


async def setup_program(p: Program) -> None:
    """A small world the random steps work on: a custom object, six records, a one-to-one
    single label between contacts and a many-to-one pair from contacts to companies."""
    for op in (
        ("create_object", 0),
        ("create_record", 0, 1, False),
        ("create_record", 0, 2, False),
        ("create_record", 0, 0, False),
        ("create_record", 1, 1, False),
        ("create_record", 1, 3, False),
        ("create_record", 2, 1, False),
        ("create_association", 0, 0, 1, False),  # a0: contact<->contact, ONE_TO_ONE, single
        ("create_association", 1, 1, 3, True),  # a1: contact->company, MANY_TO_ONE, pair
    ):
        assert (await p.step(op)).ok, op


async def check_whole_log(db: Database, t: Tenant, page: int) -> list[dict[str, Any]]:
    """The whole log through `Query.events`: positions 1..N, equal to the table's rows, the
    actor everywhere, no token anywhere; replayed from scratch it gives the tables' state."""
    s = t.session
    log = await read_log(s.api, first=page)
    stored = await sql_events(db, t.location)
    assert [int(e["position"]) for e in log] == list(range(1, len(log) + 1))
    assert len({e["id"] for e in log}) == len(log)
    for got, want in zip(log, stored, strict=True):
        assert datetime.fromisoformat(got["occurredAt"]) == want["occurredAt"]
        assert {**got, "occurredAt": None} == {**want, "occurredAt": None}
    assert all(a["occurredAt"] <= b["occurredAt"] for a, b in pairwise(stored))
    assert_no_secret(t.token, log)
    leaked = await db.fetchval(
        "select count(*) from events e where e.location_id = $1 and strpos(e::text, $2) > 0",
        t.location,
        t.token.rsplit(".", 1)[-1],
    )
    assert leaked == 0
    replay = Replay(await seed_state(db, t.location), s.actor)
    replay.apply_all(log)
    assert replay.state.snapshot() == (await db_state(db, t.location)).snapshot()
    # The filters are the full log filtered.
    relation_types = ["RELATION_CREATE", "RELATION_DELETE"]
    assert await read_log(s.api, first=page, types=relation_types) == [
        e for e in log if e["type"] in relation_types
    ]
    pet = "custom_objects.pet"
    assert await read_log(s.api, first=page, object_key="pet") == [
        e for e in log if pet in (e["objectKey"], e["firstObjectKey"], e["secondObjectKey"])
    ]
    # Resuming after any position gives the rest of the log.
    if log:
        middle = log[len(log) // 2]["position"]
        assert await read_log(s.api, first=page, after=middle) == log[int(middle) :]
    return log


# --- the tests ---------------------------------------------------------------------------------


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=program, page=st.sampled_from([1, 7, 200]))
async def test_replayed_log_equals_the_database(
    db: Database, replay_app: Any, steps: list[tuple[Any, ...]], page: int
) -> None:
    transport = httpx.ASGITransport(app=replay_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relata.test") as client:
        t = await open_tenant(db, client)
        p = Program(t.session)
        await setup_program(p)
        for op in steps:
            await p.step(op)
        await check_whole_log(db, t, page)


async def test_each_failing_write_leaves_no_event(db: Database, replay_app: Any) -> None:
    """Every kind of refused write, one by one: the expected error, and not one event (nor a
    position) for it; the writes around them are logged and the log still replays."""
    transport = httpx.ASGITransport(app=replay_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relata.test") as client:
        t = await open_tenant(db, client)
        s = t.session
        p = Program(s)
        await setup_program(p)
        contacts, companies = s.records[0:3], s.records[3:5]
        spouse, works = s.associations[1], s.associations[2]  # a0 ONE_TO_ONE, a1 MANY_TO_ONE

        async def expect(label: str, code: str, send: Callable[[], Awaitable[Any]]) -> None:
            async def call(_: set[str]) -> Outcome:
                r = await send()
                if isinstance(r, Response):
                    return s.gql_outcome(r, [])
                return s.rest_outcome(r, [])

            outcome = await s.run(label, call)
            assert (outcome.ok, outcome.code) == (False, code), (label, outcome)

        async def ok(label: str, send: Callable[[], Awaitable[Any]], expected: Any) -> None:
            """A write that must succeed; `expected` is its event types, or a function of the
            relation ids before it and the answer."""

            async def call(before: set[str]) -> Outcome:
                r = await send()
                return s.gql_outcome(r, expected(before, r) if callable(expected) else expected)

            assert (await s.run(label, call)).ok

        def linked(before: set[str], r: Response) -> list[str]:
            return p._made(before, [r.data["createRelation"]])

        gql = s.api.gql
        await ok("spouse", lambda: gql(CREATE_RELATION, {"i": rel(spouse, *contacts[:2])}), linked)
        await expect(
            "one-to-one limit",
            "LIMIT_EXCEEDED",
            lambda: gql(CREATE_RELATION, {"i": rel(spouse, contacts[0], contacts[2])}),
        )
        await ok(
            "works",
            lambda: gql(CREATE_RELATION, {"i": rel(works, contacts[0], companies[0])}),
            linked,
        )
        await expect(
            "many-to-one limit",
            "LIMIT_EXCEEDED",
            lambda: gql(CREATE_RELATION, {"i": rel(works, contacts[0], companies[1])}),
        )
        await expect(
            "a batch with one item past a limit",
            "LIMIT_EXCEEDED",
            lambda: gql(
                CREATE_RELATIONS,
                {
                    "i": [
                        rel(works, contacts[1], companies[0]),  # fine alone
                        rel(works, contacts[2], companies[1]),  # fine alone
                        rel(spouse, contacts[2], contacts[0]),  # contacts[0] has a spouse
                    ]
                },
            ),
        )
        await expect(
            "a batch with one item of the wrong objects",
            "BAD_USER_INPUT",
            lambda: gql(
                CREATE_RELATIONS,
                {"i": [rel(works, contacts[1], companies[0]), rel(works, *companies)]},
            ),
        )
        await expect(
            "a record linked to itself",
            "BAD_USER_INPUT",
            lambda: gql(CREATE_RELATION, {"i": rel(spouse, contacts[2], contacts[2])}),
        )
        gone = await p.step(("create_record", 0, 1, False))
        assert gone.ok
        doomed = s.records[-1]
        assert (await p.step(("delete_record", len(s.records) - 1))).ok
        await expect(
            "linking a deleted record",
            "NOT_FOUND",
            lambda: gql(CREATE_RELATION, {"i": rel(works, doomed, companies[1])}),
        )
        await expect(
            "a batch with one deleted record",
            "NOT_FOUND",
            lambda: gql(
                CREATE_RELATIONS,
                {"i": [rel(works, contacts[1], companies[0]), rel(works, doomed, companies[0])]},
            ),
        )
        await expect(
            "updating a deleted record",
            "NOT_FOUND",
            lambda: gql(UPDATE_RECORD, {"i": {"id": doomed, "properties": {"n": 1}}}),
        )
        await expect(
            "deleting a deleted record", "NOT_FOUND", lambda: gql(DELETE_RECORD, {"id": doomed})
        )
        for blob in ("b1",):
            patch = {"id": contacts[1], "properties": {blob: "x" * BLOB}}
            await ok(
                "fill", lambda patch=patch: gql(UPDATE_RECORD, {"i": patch}), ["RECORD_UPDATE"]
            )
        await expect(
            "a merge making the record too big",
            "BAD_USER_INPUT",
            lambda: gql(
                UPDATE_RECORD, {"i": {"id": contacts[1], "properties": {"b2": "w" * BLOB}}}
            ),
        )
        await expect(
            "a record too big from the start",
            "BAD_USER_INPUT",
            lambda: gql(
                CREATE_RECORD,
                {"i": {"objectKey": "contact", "properties": {"x": "x" * MAX_RECORD_BYTES}}},
            ),
        )
        await expect(
            "a record of an unknown object",
            "NOT_FOUND",
            lambda: gql(CREATE_RECORD, {"i": {"objectKey": "nosuch", "properties": {}}}),
        )
        await expect(
            "a duplicate association key",
            "CONFLICT",
            lambda: gql(
                CREATE_ASSOCIATION,
                {
                    "i": {
                        "key": "a0",
                        "firstObjectKey": "contact",
                        "secondObjectKey": "company",
                        "firstObjectLabel": "X",
                    }
                },
            ),
        )
        await expect(
            "the system association's key",
            "CONFLICT",
            lambda: gql(
                CREATE_ASSOCIATION,
                {
                    "i": {
                        "key": "contact_company",
                        "firstObjectKey": "contact",
                        "secondObjectKey": "company",
                        "firstObjectLabel": "X",
                    }
                },
            ),
        )
        await expect(
            "deleting an association in use without cascade",
            "CONFLICT",
            lambda: gql(DELETE_ASSOCIATION, {"id": works, "cascade": False}),
        )
        system = s.associations[0]
        await expect(
            "updating the system association",
            "FORBIDDEN",
            lambda: gql(UPDATE_ASSOCIATION, {"i": {"id": system, "firstObjectLabel": "Boss"}}),
        )
        await expect(
            "deleting the system association",
            "FORBIDDEN",
            lambda: gql(DELETE_ASSOCIATION, {"id": system, "cascade": True}),
        )
        await expect(
            "a single label made a pair",
            "BAD_USER_INPUT",
            lambda: gql(UPDATE_ASSOCIATION, {"i": {"id": spouse, "secondObjectLabel": "Other"}}),
        )
        await expect(
            "a duplicate object key",
            "CONFLICT",
            lambda: gql(
                CREATE_OBJECT,
                {"i": {"key": "custom_objects.pet", "labels": {"singular": "P", "plural": "Ps"}}},
            ),
        )
        await expect(
            "updating a standard object (REST)",
            "HTTP 403",
            lambda: s.rest.put("/objects/contact", {"description": "no"}),
        )
        live = sorted((await db_state(db, t.location)).relations)
        await expect(
            "deleting relations, one unknown",
            "NOT_FOUND",
            lambda: gql(
                DELETE_RELATIONS, {"ids": [*live, ids.encode(ids.Kind.RELATION, uuid.uuid4())]}
            ),
        )
        await expect(
            "a REST bulk whose removes are fine and one add is not",
            "HTTP 404",
            lambda: s.rest.post(
                "/associations/relations/bulk",
                {
                    "remove": live,
                    "add": [
                        rel(works, contacts[1], companies[1]),
                        rel(works, doomed, companies[0]),
                    ],
                },
            ),
        )
        # Ten associations between one pair of objects at most: the 11th is refused.
        for i in range(8):  # a1 and the system association are two already
            fields = {
                "key": f"extra_{i}",
                "firstObjectKey": "company",
                "secondObjectKey": "contact",
                "firstObjectLabel": f"E{i}",
            }
            await ok(
                "extra association",
                lambda fields=fields: gql(CREATE_ASSOCIATION, {"i": fields}),
                ["ASSOCIATION_CREATE"],
            )
        await expect(
            "an 11th association of a pair",
            "LIMIT_EXCEEDED",
            lambda: gql(
                CREATE_ASSOCIATION,
                {
                    "i": {
                        "key": "one_too_many",
                        "firstObjectKey": "contact",
                        "secondObjectKey": "company",
                        "firstObjectLabel": "X",
                    }
                },
            ),
        )
        # A cascade then takes its relations with it, logged just before it.
        cascaded = await p.step(("delete_association", 2, True))
        assert cascaded.ok and cascaded.expected[:-1] == ["RELATION_DELETE"]
        log = await check_whole_log(db, t, 50)
        failures = [c for c in s.codes if not c.endswith(":OK")]
        assert len(failures) >= 20, failures
        assert s.replay is not None and len(log) == len(s.replay.seen)
