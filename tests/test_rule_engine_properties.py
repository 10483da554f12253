"""Property test of the rule engine: random sequences of create/delete association and
create/delete relation(s) through the service layer, against real Postgres. After every step
the database equals a small in-memory model, and no cardinality limit is ever exceeded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import ids
from app.auth import ALL_SCOPES, Principal
from app.errors import AppError
from app.services import associations as association_service
from app.services import objects as object_service
from app.services import records as record_service
from app.services import relations as relation_service
from app.services.relations import RelationInput
from app.services.tokens import create_token
from db import Database

PAIRS = [("contact", "contact"), ("contact", "company")]
RECORDS = ["contact"] * 4 + ["company"] * 2 + ["custom_objects.pet"]  # the pet is never linkable
MAX_PER_PAIR = 10

link_spec = st.tuples(st.integers(0, 15), st.integers(0, 6), st.integers(0, 6))
operation = st.one_of(
    st.tuples(
        st.just("create_assoc"),
        st.integers(0, len(PAIRS) - 1),
        st.booleans(),  # single label
        st.integers(1, 3),
        st.integers(1, 3),
    ),
    st.tuples(st.just("delete_assoc"), st.integers(0, 15), st.booleans()),
    st.tuples(st.just("link"), st.lists(link_spec, min_size=1, max_size=3)),
    st.tuples(st.just("unlink"), st.lists(st.integers(0, 40), min_size=1, max_size=3)),
)
program = st.lists(operation, min_size=10, max_size=40)


@dataclass
class Assoc:
    uid: uuid.UUID
    first: str
    second: str
    f2s: int
    s2f: int
    symmetric: bool
    system: bool = False


@dataclass
class Model:
    associations: dict[uuid.UUID, Assoc] = field(default_factory=dict)
    relations: dict[tuple[uuid.UUID, uuid.UUID, uuid.UUID], uuid.UUID] = field(default_factory=dict)
    ever_associations: list[uuid.UUID] = field(default_factory=list)
    ever_relations: list[uuid.UUID] = field(default_factory=list)

    def pair_count(self, a: str, b: str) -> int:
        pair = sorted((a, b))
        return sum(1 for x in self.associations.values() if sorted((x.first, x.second)) == pair)

    def within_limits(self, rels: set[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]) -> bool:
        for assoc in self.associations.values():
            mine = [r for r in rels if r[0] == assoc.uid]
            counts: dict[tuple[uuid.UUID, int], int] = {}
            for _, first, second in mine:
                for rec, side in ((first, 1), (second, 2)):
                    key = (rec, 0 if assoc.symmetric else side)
                    counts[key] = counts.get(key, 0) + 1
            for (_, side), n in counts.items():
                if n > (assoc.s2f if side == 2 else assoc.f2s):
                    return False
        return True


def expected_links(
    model: Model, specs: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]], objects: dict[uuid.UUID, str]
) -> str | list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    """The error class the service must raise, or the normalised links it must hold."""
    wanted = []
    for assoc_uid, first, second in specs:
        assoc = model.associations.get(assoc_uid)
        if assoc is None:
            return "NotFound"
        if first == second:
            return "BadUserInput"
        a, b = objects[first], objects[second]
        if (a, b) != (assoc.first, assoc.second):
            if assoc.first != assoc.second and (b, a) == (assoc.first, assoc.second):
                first, second = second, first
            else:
                return "BadUserInput"
        if assoc.symmetric and second.bytes < first.bytes:
            first, second = second, first
        wanted.append((assoc_uid, first, second))
    after = set(model.relations) | set(wanted)
    return wanted if model.within_limits(after) else "LimitExceeded"


async def db_state(db: Database, location: str) -> tuple[set[Any], set[Any]]:
    assocs = {
        r["id"]
        for r in await db.fetch("select id from associations where location_id = $1", location)
    }
    rels = {
        (r["association_id"], r["first_record_id"], r["second_record_id"])
        for r in await db.fetch(
            "select association_id, first_record_id, second_record_id"
            " from relations where location_id = $1",
            location,
        )
    }
    return assocs, rels  # fmt: skip


async def counters_match(db: Database, location: str) -> bool:
    """The trigger-maintained per-record counters equal the real counts."""
    drift = await db.fetchval(
        "with actual as ("
        " select r.association_id, x.record_id, case when a.is_symmetric then 0 else x.side end"
        "  as side, count(*) as n"
        " from relations r join associations a on a.location_id = r.location_id"
        "  and a.id = r.association_id"
        " cross join lateral (values (r.first_record_id, 1), (r.second_record_id, 2))"
        "  as x(record_id, side)"
        " where r.location_id = $1 group by 1, 2, 3"
        "), kept as (select association_id, record_id, side, n from relation_counters"
        " where location_id = $1 and n > 0)"
        " select count(*) from ((select * from actual except select * from kept)"
        " union all (select * from kept except select * from actual)) d",
        location,
    )
    return int(drift) == 0


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=program)
async def test_random_operations_match_the_model(db: Database, steps: list[Any]) -> None:
    location = f"prop-{uuid.uuid4().hex[:10]}"
    await create_token(db, location, "admin")
    me = Principal(location, "admin", frozenset(ALL_SCOPES), "")
    await object_service.create_object_schema(db, me, key="pet", singular="Pet", plural="Pets")
    records = [await record_service.create_record(db, me, k, {"name": "x"}) for k in RECORDS]
    objects = {r.uid: r.object_key for r in records}
    model = Model()
    system = await association_service.get_association_by_key(db, me, "contact_company")
    model.associations[system.uid] = Assoc(system.uid, "contact", "company", 1, 1000, False, True)
    model.ever_associations.append(system.uid)
    serial = 0

    def pick(seq: list[uuid.UUID], i: int) -> uuid.UUID:
        return seq[i % len(seq)] if seq else uuid.uuid4()

    for step in steps:
        kind = step[0]
        outcome: str | None = None
        try:
            if kind == "create_assoc":
                _, pair, single, f2s, s2f = step
                a, b = PAIRS[pair]
                serial += 1
                symmetric = single and a == b
                if symmetric and f2s != s2f:
                    expected: Any = "BadUserInput"
                elif model.pair_count(a, b) >= MAX_PER_PAIR:
                    expected = "LimitExceeded"
                else:
                    expected = "ok"
                made = await association_service.create_association(
                    db, me, key=f"k{serial}", first_object_key=a, second_object_key=b,
                    first_object_label="One", second_object_label=None if single else "Two",
                    first_to_second_limit=f2s, second_to_first_limit=s2f,
                )  # fmt: skip
                model.associations[made.uid] = Assoc(made.uid, a, b, f2s, s2f, symmetric)
                model.ever_associations.append(made.uid)
            elif kind == "delete_assoc":
                _, i, cascade = step
                uid = pick(model.ever_associations, i)
                assoc = model.associations.get(uid)
                in_use = any(r[0] == uid for r in model.relations)
                if assoc is None:
                    expected = "NotFound"
                elif assoc.system:
                    expected = "Forbidden"
                elif in_use and not cascade:
                    expected = "Conflict"
                else:
                    expected = "ok"
                await association_service.delete_association(
                    db, me, ids.encode(ids.Kind.ASSOCIATION, uid), cascade=cascade
                )
                del model.associations[uid]
                model.relations = {k: v for k, v in model.relations.items() if k[0] != uid}
            elif kind == "link":
                specs = [
                    (pick(model.ever_associations, x), records[y].uid, records[z].uid)
                    for x, y, z in step[1]
                ]
                result = expected_links(model, specs, objects)
                expected = result if isinstance(result, str) else "ok"
                made_rels = await relation_service.create_relations(
                    db, me,
                    [RelationInput(ids.encode(ids.Kind.ASSOCIATION, a),
                                   ids.encode(ids.Kind.RECORD, f),
                                   ids.encode(ids.Kind.RECORD, s)) for a, f, s in specs],
                )  # fmt: skip
                assert not isinstance(result, str)
                for want, got in zip(result, made_rels, strict=True):
                    assert (got.association_id, got.first_record_id, got.second_record_id) == want
                    if want in model.relations:
                        assert model.relations[want] == got.uid  # retries return the same link
                    model.relations[want] = got.uid
                    model.ever_relations.append(got.uid)
            else:
                targets = [pick(model.ever_relations, i) for i in step[1]]
                live = set(model.relations.values())
                expected = "ok" if all(t in live for t in targets) else "NotFound"
                await relation_service.delete_relations(
                    db, me, [ids.encode(ids.Kind.RELATION, t) for t in targets]
                )
                model.relations = {k: v for k, v in model.relations.items() if v not in targets}
            outcome = "ok"
        except AppError as exc:
            outcome = type(exc).__name__
        assert outcome == expected, (step, outcome, expected)
        assocs, rels = await db_state(db, location)
        assert assocs == set(model.associations), step
        assert rels == set(model.relations), step
        assert model.within_limits(rels), step
    assert await counters_match(db, location)
