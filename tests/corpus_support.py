"""A randomized corpus of GraphQL documents over the record graph, for comparing the pre-shaped
execution path (app/graphql/shaping.py) with ordinary execution (tests/
test_execution_paths_corpus.py).

`seed_world` builds one fixed location through the public API; `documents(world)` is a
hypothesis strategy of `Doc`s (query text, variables, and the features the document uses) over
`record`, `records` and `node`, with fragments, aliases, directives and variables.

Documents are valid by construction (up to a few deliberately invalid ones): every response
key names exactly one field with exactly one argument text (an alias derived from the field
and its arguments), so fields that share a key always merge; fragments only spread where their
type can apply and only spread fragments defined before them (no cycles); a variable is defined
exactly where it is first used."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from app import ids
from tests.helpers import Api

RECORD_TYPES = ("Contact", "Company", "Opportunity", "CustomObjectRecord")
TYPED = {
    "Contact": ("firstName", "lastName", "email", "phone"),
    "Company": ("name",),
    "Opportunity": ("name", "status", "monetaryValue"),
    "CustomObjectRecord": (),
}
RECORD_SCALARS = ("id", "objectKey", "displayName", "properties", "createdAt", "updatedAt")
RELATION_SCALARS = ("id", "associationId", "firstRecordId", "secondRecordId", "createdAt")
ASSOCIATION_SCALARS = (
    "id",
    "key",
    "associationType",
    "firstObjectKey",
    "secondObjectKey",
    "firstObjectLabel",
    "secondObjectLabel",
    "labelType",
    "cardinality",
    "firstToSecondLimit",
    "secondToFirstLimit",
    "description",
    "createdAt",
    "updatedAt",
)
PAGE_INFO = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")
EVENT_SCALARS = (
    "id",
    "position",
    "type",
    "occurredAt",
    "objectKey",
    "recordId",
    "associationKey",
    "relationId",
    "firstObjectLabel",
    "secondObjectLabel",
    "data",
)
_PERCENT = st.sampled_from(range(100))
MAX_LEVEL = 3
# The tokens a document is sent with: (role, scopes; None: the role's).
TOKENS: dict[str, tuple[str, list[str] | None]] = {
    "admin": ("admin", None),
    "user": ("user", None),
    "records_only": ("user", ["objects/record.readonly"]),
    "no_associations": ("user", ["objects/record.readonly", "associations/relation.readonly"]),
}  # `relations` nested at most this deep below a root record


# --- the fixed data ----------------------------------------------------------------------------


@dataclass
class World:
    records: dict[str, list[str]]  # type name -> record ids
    associations: dict[str, str]  # key -> id
    relation_ids: list[str]
    relation_cursors: list[str]
    record_cursors: list[str]
    foreign_record: str  # a record of another location
    foreign_association: str

    def all_records(self) -> list[str]:
        return [r for rs in self.records.values() for r in rs]


CUSTOM = "gadget"

CONTACT_PROPS: list[dict[str, Any]] = [
    {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "+1 555"},
    {"firstName": "Zoë", "lastName": "Ångström", "email": "zoe@例え.jp", "phone": 5550100},
    {"firstName": "Émile", "lastName": None, "email": ["a@b.c", "d@e.f"], "phone": 1.5e300},
    {"firstName": True, "lastName": {"nested": {"deep": [1, 2, {"x": "y"}]}}, "phone": False},
    {"firstName": "😀 emoji", "lastName": "tab\tctl\u001f", "email": "", "tags": ["a", 1, None]},
    {"email": "only@email.org", "score": 9007199254740993, "ratio": 0.1},
    {"firstName": "  spaced  ", "lastName": "名前", "big": -9223372036854775808, "f": -0.0},
    {"firstName": "Bob", "lastName": 'O\'Brien "quoted" \\ back', "phone": "\u2028line"},
]
COMPANY_PROPS: list[dict[str, Any]] = [
    {"name": "Acme", "domain": "acme.test", "employees": 120},
    {"name": 42, "founded": 1999.25},
    {"name": ["not", "text"], "meta": {"a": {"b": {"c": None}}}},
    {"name": "Ünïcödé GmbH", "nested": [[1, [2, [3]]], {"k": True}]},
]
OPPORTUNITY_PROPS: list[dict[str, Any]] = [
    {"name": "Deal", "status": "open", "monetaryValue": 3},
    {"name": "Float deal", "status": "won", "monetaryValue": 1234.5678},
    {"name": "Text amount", "status": True, "monetaryValue": "12.50"},
    {"name": "Huge", "status": None, "monetaryValue": 9223372036854775807},
    {"name": "Bad amount", "monetaryValue": "abc"},
    {"name": "No amount", "status": ["x"], "monetaryValue": {"v": 1}},
]
GADGET_PROPS: list[dict[str, Any]] = [
    {"name": "Widget", "weight": 0.25, "flags": [True, False]},
    {"name": "ガジェット", "size": {"w": 1, "h": 2.5}},
    {"name": 7},
    {"label": "no name", "n": -1},
]
BULK_CONTACTS = 56  # linked to one company: more than the default page (50)

# key -> (first object, second object, first label, second label or None (SINGLE), cardinality)
ASSOCIATIONS: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "manager_employee": ("contact", "contact", "Manager", "Employee", "ONE_TO_MANY"),
    "colleague": ("contact", "contact", "Colleague", None, None),
    "deal_contact": ("opportunity", "contact", "Deal", "Buyer", None),
    "deal_company": ("opportunity", "company", "Opportunity", "Account", "MANY_TO_ONE"),
    "gadget_owner": (CUSTOM, "contact", "Owned gadget", "Owner", None),
    "gadget_peer": (CUSTOM, CUSTOM, "Peer", None, None),
    "partner": ("company", "company", "Partner", None, None),
    "gadget_company": (CUSTOM, "company", "Product", "Maker", "MANY_TO_ONE"),
}


async def seed_world(api: Api, other: Api) -> World:
    await api.create_object(CUSTOM, "Gadget", "Gadgets")
    records: dict[str, list[str]] = {
        "Contact": [await api.create_record("contact", **p) for p in CONTACT_PROPS],
        "Company": [await api.create_record("company", **p) for p in COMPANY_PROPS],
        "Opportunity": [await api.create_record("opportunity", **p) for p in OPPORTUNITY_PROPS],
        "CustomObjectRecord": [await api.create_record(CUSTOM, **p) for p in GADGET_PROPS],
    }
    bulk = [
        await api.create_record("contact", firstName=f"Bulk{i:02d}", lastName="Person", n=i)
        for i in range(BULK_CONTACTS)
    ]
    assoc: dict[str, str] = {
        "contact_company": (await api.ok('{ associationByKey(key: "contact_company") { id } }'))[
            "associationByKey"
        ]["id"]
    }
    for key, (a, b, la, lb, card) in ASSOCIATIONS.items():
        fields: dict[str, Any] = {
            "key": key,
            "firstObjectKey": a,
            "secondObjectKey": b,
            "firstObjectLabel": la,
        }
        if lb is not None:
            fields["secondObjectLabel"] = lb
        if card is not None:
            fields["cardinality"] = card
        if key == "gadget_owner":
            fields["description"] = "Who owns the gadget — ünïcode"
        assoc[key] = (await api.create_association(**fields))["id"]
    c, co, op, ga = (records[t] for t in RECORD_TYPES)
    links: list[tuple[str, str, str]] = []
    links += [("contact_company", x, co[0]) for x in bulk]
    links += [("contact_company", x, co[i % 3]) for i, x in enumerate(c[:6])]
    links += [("manager_employee", c[0], x) for x in c[1:6]]
    links += [("manager_employee", c[1], x) for x in c[6:8]]
    links += [("colleague", c[0], x) for x in c[1:8]]
    links += [("colleague", c[i], c[i + 1]) for i in range(1, 7)]
    links += [("colleague", c[2], x) for x in bulk[:12]]
    links += [("deal_contact", op[i % 4], c[i]) for i in range(8)]
    links += [("deal_contact", op[0], x) for x in c[4:8]]
    links += [("deal_company", o, co[i % 3]) for i, o in enumerate(op)]
    links += [("gadget_owner", g, c[j]) for g in ga for j in range(3)]
    links += [("gadget_peer", ga[0], g) for g in ga[1:]] + [("gadget_peer", ga[1], ga[2])]
    links += [("partner", co[0], x) for x in co[1:]] + [("partner", co[1], co[2])]
    links += [("gadget_company", g, co[i % 2]) for i, g in enumerate(ga)]
    created = await api.ok(
        "mutation($i: [CreateRelationInput!]!) { createRelations(input: $i) { id } }",
        {
            "i": [
                {"associationId": assoc[k], "firstRecordId": f, "secondRecordId": s}
                for k, f, s in links
            ]
        },
    )
    relation_ids = [r["id"] for r in created["createRelations"]]
    records["Contact"] = c + bulk[:3]  # a few bulk contacts among the ids the corpus picks
    cursors = (
        await api.ok(f'{{ record(id: "{c[0]}") {{ relations {{ edges {{ cursor }} }} }} }}')
    )["record"]["relations"]["edges"]
    relation_cursors = [e["cursor"] for e in cursors]
    relation_cursors += [
        e["cursor"]
        for e in (
            await api.ok(f'{{ record(id: "{co[0]}") {{ relations {{ edges {{ cursor }} }} }} }}')
        )["record"]["relations"]["edges"][::9]
    ]
    record_cursors = [
        e["cursor"]
        for e in (await api.ok('{ records(objectKey: "contact") { edges { cursor } } }'))[
            "records"
        ]["edges"][::4]
    ]
    await other.create_object(CUSTOM, "Gadget", "Gadgets")
    foreign = await other.create_record("contact", firstName="Foreign")
    foreign_assoc = (
        await other.create_association(
            key="colleague", firstObjectKey="contact", secondObjectKey="contact",
            firstObjectLabel="Colleague",
        )
    )["id"]  # fmt: skip
    return World(
        records=records,
        associations=assoc,
        relation_ids=relation_ids,
        relation_cursors=relation_cursors,
        record_cursors=record_cursors,
        foreign_record=foreign,
        foreign_association=foreign_assoc,
    )


# --- documents ---------------------------------------------------------------------------------


@dataclass
class Doc:
    query: str
    variables: dict[str, Any]
    features: frozenset[str]
    token: str = "admin"  # a key of TOKENS

    def __repr__(self) -> str:
        return (
            f"Doc(token={self.token!r}, variables={json.dumps(self.variables, ensure_ascii=False)},"
            f" features={sorted(self.features)},\nquery=\n{self.query}\n)"
        )


def literal(value: Any) -> str:
    """A GraphQL literal of a JSON-like value."""
    if value is None:
        return "null"
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"


class Enum(str):
    """An enum value: a bare name as a literal, its name as a variable's JSON value."""

    @property
    def name(self) -> str:
        return str(self)


@dataclass
class Fragment:
    name: str
    on: str
    body: str
    levels: int  # how many `relations` levels the body nests


@dataclass
class Builder:
    draw: Any
    world: World
    unsupported: bool  # whether fields the fast path does not shape may appear
    invalid: bool  # whether arguments may be invalid (bad ids, cursors, sizes, combinations)
    var_defs: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    var_types: dict[str, str] = field(default_factory=dict)
    defaulted: set[str] = field(default_factory=set)
    fragments: list[Fragment] = field(default_factory=list)
    features: set[str] = field(default_factory=set)

    # --- small helpers ---

    def chance(self, p: float) -> bool:
        # `sampled_from` draws evenly (hypothesis' integers favour small values) and shrinks
        # towards its first element: a feature is off unless drawn, and a minimal example has the
        # fewest features.
        return bool(self.draw(_PERCENT) >= 100 - p * 100)

    def choose(self, weighted: list[tuple[Any, float]]) -> Any:
        """One of the values, with the given weights; shrinks towards the last one."""
        remaining = sum(w for _, w in weighted)
        for value, weight in weighted[:-1]:
            if self.chance(weight / remaining):
                return value
            remaining -= weight
        return weighted[-1][0]

    def count(self, p: float, most: int) -> int:
        """1 + how many of `most - 1` further tries succeed in a row (geometric)."""
        n = 1
        while n < most and self.chance(p):
            n += 1
        return n

    def pick(self, options: Any) -> Any:
        return self.draw(st.sampled_from(list(options)))

    def variable(self, gql_type: str, value: Any, nullable_arg: bool) -> str:
        """A variable for an argument of `gql_type` (without `!`), with `value` given, given
        null, omitted, or omitted with a default in its definition."""
        self.features.add("variable")
        reuse = [
            n
            for n, t in self.var_types.items()
            if t.rstrip("!") == gql_type
            and (nullable_arg or t.endswith("!") or n in self.defaulted)
        ]
        if reuse and self.chance(0.15):
            self.features.add("variable.reused")
            return "$" + self.pick(sorted(reuse))
        name = f"v{len(self.var_types)}"
        modes = ["given", "given", "default"]
        if nullable_arg:
            modes += ["null", "omitted"]
        mode = self.pick(modes)
        self.features.add(f"variable.{mode}")
        if mode == "default":
            self.var_defs.append(f"${name}: {gql_type} = {literal(value)}")
            self.var_types[name] = gql_type
            self.defaulted.add(name)
            if self.chance(0.2) and nullable_arg:
                self.variables[name] = None  # a default overridden by null
            return "$" + name
        # A nullable variable without a default may not stand for a non-null argument.
        strict = mode == "given" and (not nullable_arg or self.chance(0.4))
        vtype = gql_type + ("!" if strict else "")
        self.var_defs.append(f"${name}: {vtype}")
        self.var_types[name] = vtype
        if mode == "given":
            self.variables[name] = _json_value(value)
        elif mode == "null":
            self.variables[name] = None
        return "$" + name

    def value(self, gql_type: str, value: Any, nullable_arg: bool = True) -> str:
        if self.chance(0.35):
            return self.variable(gql_type, value, nullable_arg)
        return literal(value)

    def args(self, specs: list[tuple[str, str, Any, bool]]) -> str:
        """`(name: value, ...)` for (name, type, value, nullable) specs, in a drawn order."""
        if not specs:
            return ""
        order = self.draw(st.permutations(specs))
        return "(" + ", ".join(f"{n}: {self.value(t, v, nl)}" for n, t, v, nl in order) + ")"

    def directives(self) -> str:
        if not self.chance(0.15):
            return ""
        self.features.add("directive")
        out = []
        for name in self.pick([["include"], ["skip"], ["include", "skip"], ["skip", "include"]]):
            flag = self.draw(st.booleans())
            if self.chance(0.5):
                self.features.add("directive.variable")
                out.append(f"@{name}(if: {self.variable('Boolean', flag, False)})")
            else:
                out.append(f"@{name}(if: {literal(flag)})")
        return " " + " ".join(out)

    def key(self, name: str, args: str) -> str:
        """The response key of `name(args)`: one per field and argument text, so fields that
        share a key always merge."""
        if args:
            self.features.add("alias")
            return f"{name}_{hashlib.sha1(args.encode()).hexdigest()[:6]}: "
        if name != "__typename" and self.chance(0.12):
            self.features.add("alias")
            return f"{name}_{self.pick([1, 2])}: "
        return ""

    def field(self, name: str, args: str = "", sub: str | None = None) -> str:
        text = f"{self.key(name, args)}{name}{args}{self.directives()}"
        return text if sub is None else f"{text} {{ {sub} }}"

    def block(self, items: list[str]) -> str:
        if len(items) > 1 and self.chance(0.15):
            # The same selection again: its fields merge with the first copy.
            self.features.add("repeated")
            items.append(self.pick(items))
        return " ".join(items)

    # --- values of arguments ---

    def record_id(self) -> Any:
        w = self.world
        kind = "ok"
        if self.invalid:
            kind = self.choose([("missing", 10), ("malformed", 10), ("foreign", 10),
                                ("other_kind", 10), ("ok", 30)])  # fmt: skip
        if kind != "ok":
            self.features.add(f"id.{kind}")
        if kind == "ok":
            return self.pick(w.all_records())
        if kind == "missing":
            return ids.encode(ids.Kind.RECORD, uuid.UUID(int=self.draw(st.integers(1, 2**64))))
        if kind == "malformed":
            return self.pick(["", "nope", "rec_", "cmVjOjE=", "rec_zzzz", " " + w.all_records()[0]])
        if kind == "foreign":
            return w.foreign_record
        return self.pick(
            w.relation_ids[:3] + list(w.associations.values())[:3] + [w.foreign_association]
        )

    def association_id(self) -> Any:
        w = self.world
        kind = "ok"
        if self.invalid:
            kind = self.choose([("missing", 2), ("malformed", 2), ("foreign", 2), ("record", 2),
                                ("ok", 40)])  # fmt: skip
        if kind != "ok":
            self.features.add("invalid.associationId")
        if kind == "ok":
            return self.pick(sorted(w.associations.values()))
        if kind == "missing":
            return ids.encode(ids.Kind.ASSOCIATION, uuid.UUID(int=12345))
        if kind == "malformed":
            return self.pick(["", "asc_nope", "x"])
        if kind == "foreign":
            return w.foreign_association
        return w.all_records()[0]

    def cursor(self, kind: str) -> Any:
        w = self.world
        pool = w.relation_cursors if kind == "relation" else w.record_cursors
        choice = "ok"
        if self.invalid:
            choice = self.choose([("other", 3), ("bad", 3), ("missing", 3), ("ok", 30)])
        if choice != "ok":
            self.features.add("invalid.cursor")
        if choice == "ok":
            return self.pick(pool)
        if choice == "other":
            other = w.record_cursors if kind == "relation" else w.relation_cursors
            return self.pick(other)
        if choice == "bad":
            return self.pick(["", "bad-cursor", "====", "AAAA"])
        return ids.encode_cursor(uuid.UUID(int=self.draw(st.integers(1, 2**64))))

    def page_size(self, nested: bool) -> int:
        if self.invalid and self.chance(0.1):
            n = self.pick([-1, 501])
        else:
            # Whole default pages below a root are rare: the responses multiply.
            big = 1 if nested else 8
            n = self.choose([(0, 3), (50, big), (10, big), (5, 12), (3, 22), (2, 28), (1, 25)])
        if n < 0 or n > 500:
            self.features.add("invalid.size")
        return int(n)

    def pagination(self, kind: str, nested_level: int) -> list[tuple[str, str, Any, bool]]:
        specs: list[tuple[str, str, Any, bool]] = []
        backward = self.chance(0.25)
        if not backward or (self.invalid and self.chance(0.2)):
            if nested_level == 0 or self.chance(0.95):  # deep default pages are costly
                specs.append(("first", "Int", self.page_size(nested_level > 0), True))
            if self.chance(0.25):
                specs.append(("after", "String", self.cursor(kind), True))
        if backward:
            self.features.add("backward")
            specs.append(("last", "Int", self.page_size(nested_level > 0), True))
            if self.chance(0.35):
                specs.append(("before", "String", self.cursor(kind), True))
        if any(s[0] == "first" for s in specs) and any(s[0] == "last" for s in specs):
            self.features.add("invalid.first_and_last")
        return specs

    # --- selections ---

    def levels(self, body: str) -> int:
        """An upper bound of the `relations` levels a fragment's body nests: those in its text
        plus the deepest fragment it spreads."""
        spread = [f.levels for f in self.fragments if re.search(rf"\.\.\.{f.name}\b", body)]
        return min(MAX_LEVEL, body.count("relations") + max(spread, default=0))

    def record_selection(self, on: str, level: int, budget: int) -> str:
        """A selection on a record of type `on` (`Record`, `Node` or a concrete type) whose
        `relations` sit at `level` (1 below a root record)."""
        items: list[str] = []
        rel_weight = {1: 40, 2: 40, 3: 25}.get(level, 0)
        for _ in range(self.count(0.6, max(1, budget + 1))):
            kind = self.choose(
                [
                    ("history", 5 if self.unsupported else 0),
                    ("relations", rel_weight),
                    ("spread", 12),
                    ("inline", 12),
                    ("typed", 10),
                    ("typename", 6),
                    ("scalar", 40),
                ]
            )
            if on == "Node" and kind in ("scalar", "relations", "typed", "history"):
                kind = self.pick(["inline", "spread", "typename", "id"])
            if kind == "id":
                items.append(self.field("id"))
            elif kind == "scalar":
                items.append(self.field(self.pick(RECORD_SCALARS)))
            elif kind == "typename":
                items.append(self.field("__typename"))
            elif kind == "typed":
                fields = TYPED.get(on, ())
                if fields:
                    items.append(self.field(self.pick(fields)))
                else:
                    items.append(self.inline_record(on, level, budget, typed=True))
            elif kind == "relations":
                if level <= MAX_LEVEL:
                    items.append(self.relations(level, budget))
                else:
                    items.append(self.field("displayName"))
            elif kind == "history":
                items.append(self.history())
            elif kind == "inline":
                items.append(self.inline_record(on, level, budget))
            else:
                items.append(self.spread_record(on, level, budget))
        return self.block(items)

    def applicable(self, on: str) -> list[str]:
        """Type conditions a fragment may have where the parent type is `on`."""
        if on in ("Record", "Node"):
            return ["Record", "Node", *RECORD_TYPES]
        return [on, "Record", "Node"]

    def inline_record(self, on: str, level: int, budget: int, typed: bool = False) -> str:
        self.features.add("inline")
        options = self.applicable(on)
        cond = self.pick(options + ([None] if on != "Node" else []))
        if typed:
            cond = self.pick([t for t in RECORD_TYPES if t in options and TYPED[t]] or [cond])
        inner = cond if cond in RECORD_TYPES else (on if cond is None else cond)
        if cond is None:
            self.features.add("inline.untyped")
        body = self.record_selection(inner, level, max(1, budget - 1))
        head = "..." if cond is None else f"... on {cond}"
        return f"{head}{self.directives()} {{ {body} }}"

    def spread_record(self, on: str, level: int, budget: int) -> str:
        self.features.add("fragment")
        options = self.applicable(on)
        reusable = [
            f for f in self.fragments if f.on in options and level + f.levels - 1 <= MAX_LEVEL
        ]
        if reusable and self.chance(0.5):
            self.features.add("fragment.reused")
            frag = self.pick(reusable)
        else:
            cond = self.pick(options)
            if cond == "Record":
                self.features.add("fragment.on_interface")
            before = len(self.fragments)
            body = self.record_selection(cond, level, max(1, budget - 1))
            if len(self.fragments) > before:
                self.features.add("fragment.nested")
            frag = Fragment(f"F{len(self.fragments)}", cond, body, self.levels(body))
            self.fragments.append(frag)
        return f"...{frag.name}{self.directives()}"

    def relations(self, level: int, budget: int) -> str:
        self.features.add(f"relations.level{level}")
        specs = self.pagination("relation", level)
        w = self.world
        if self.chance(0.3):
            specs.append(("associationId", "ID", self.association_id(), True))
        if self.chance(0.3):
            key = self.pick(sorted(w.associations))
            if self.invalid and self.chance(0.15):
                key = self.pick(["nope", ""])
            if key not in w.associations:
                self.features.add("invalid.associationKey")
            specs.append(("associationKey", "String", key, True))
        if self.chance(0.25):
            ok = self.pick(
                ["contact", "company", "opportunity", CUSTOM, f"custom_objects.{CUSTOM}"]
            )
            if self.invalid and self.chance(0.15):
                ok = self.pick(["nope", "Bad Key"])
            specs.append(("objectKey", "String", ok, True))
        args = self.args(specs)
        sub = self.connection("Relation", level, max(1, budget - 1))
        return self.field("relations", args, sub)

    def connection(self, kind: str, level: int, budget: int) -> str:
        """A selection on a `<kind>Connection`; `level` is that of the records' relations."""
        items: list[str] = []
        for _ in range(self.count(0.5, 3)):
            what = self.choose([("inline", 5), ("__typename", 5), ("totalCount", 15),
                                ("pageInfo", 15), ("edges", 60)])  # fmt: skip
            if what == "edges":
                items.append(self.field("edges", sub=self.edge(kind, level, budget)))
            elif what == "pageInfo":
                items.append(self.field("pageInfo", sub=self.page_info()))
            elif what == "inline":
                self.features.add("inline")
                items.append(
                    f"... on {kind}Connection{self.directives()} {{ {self.field('totalCount')} }}"
                )
            else:
                items.append(self.field(what))
        return self.block(items)

    def page_info(self) -> str:
        picked = self.draw(st.lists(st.sampled_from([*PAGE_INFO, "__typename"]), min_size=1,
                                    max_size=4))  # fmt: skip
        return self.block([self.field(f) for f in picked])

    def edge(self, kind: str, level: int, budget: int) -> str:
        items: list[str] = []
        options = ["node", "cursor", "__typename"]
        if kind == "Relation":
            options += ["label", "relation", "association"]
        weights = {"node": 60, "cursor": 8, "__typename": 4, "label": 15, "relation": 12,
                   "association": 12}  # fmt: skip
        for _ in range(self.count(0.55, 4)):
            what = self.choose([(o, weights[o]) for o in reversed(options)])
            if what == "node":
                # Records of a relation edge carry the next level's relations.
                next_level = level + 1 if kind == "Relation" else level
                on = self.choose([("Node", 1), ("Record", 9)])
                items.append(self.field("node", sub=self.record_selection(on, next_level, budget)))
            elif what == "relation":
                items.append(self.field("relation", sub=self.relation_selection()))
            elif what == "association":
                items.append(self.field("association", sub=self.association_selection()))
            else:
                items.append(self.field(what))
        if kind == "Relation" and self.chance(0.1):
            self.features.add("inline")
            items.append(f"... on RelationEdge {{ {self.field('label')} }}")
        return self.block(items)

    def relation_selection(self) -> str:
        options = [*RELATION_SCALARS, "__typename"]
        if self.unsupported:
            options += ["firstRecord", "secondRecord", "association"]
        items: list[str] = []
        for name in self.draw(st.lists(st.sampled_from(options), min_size=1, max_size=4)):
            if name in ("firstRecord", "secondRecord"):
                self.features.add("unsupported")
                sub = self.record_selection("Record", MAX_LEVEL + 1, 2)
                items.append(self.field(name, sub=sub))
            elif name == "association":
                self.features.add("unsupported")
                items.append(self.field(name, sub=self.association_selection()))
            else:
                items.append(self.field(name))
        return self.block(items)

    def association_selection(self) -> str:
        options = [*ASSOCIATION_SCALARS, "__typename"]
        if self.unsupported:
            options.append("relationCount")
        picked = self.draw(st.lists(st.sampled_from(options), min_size=1, max_size=5))
        if "relationCount" in picked:
            self.features.add("unsupported")
        return self.block([self.field(f) for f in picked])

    def history(self) -> str:
        self.features.add("unsupported")
        specs: list[tuple[str, str, Any, bool]] = []
        if self.chance(0.5):
            specs.append(("first", "Int", self.pick([1, 2, 5]), True))
        if self.chance(0.3):
            types = self.draw(st.lists(st.sampled_from(["RECORD_CREATE", "RELATION_CREATE"]),
                                       max_size=2, unique=True))  # fmt: skip
            specs.append(("types", "[EventType!]", [Enum(t) for t in types], True))
        fields = self.draw(st.lists(st.sampled_from(EVENT_SCALARS), min_size=1, max_size=4))
        node = " ".join(self.field(f) for f in fields)
        sub = f"edges {{ cursor node {{ {node} }} }} pageInfo {{ hasNextPage endCursor }}"
        return self.field("history", self.args(specs), sub)

    # --- roots ---

    def root(self) -> str:
        kind = self.choose([("node", 15), ("record", 35), ("records", 50)])
        budget = self.count(0.6, 5) + 1
        if kind == "record":
            args = self.args([("id", "ID", self.record_id(), False)])
            return self.field("record", args, self.record_selection("Record", 1, budget))
        if kind == "node":
            self.features.add("node")
            args = self.args([("id", "ID", self.record_id(), False)])
            return self.field("node", args, self.record_selection("Node", 1, budget))
        key = self.choose(
            [
                ("nope", 4 if self.invalid else 0),
                ("company", 15),
                ("opportunity", 15),
                (CUSTOM, 10),
                (f"custom_objects.{CUSTOM}", 5),
                ("contact", 53),
            ]
        )
        specs: list[tuple[str, str, Any, bool]] = [("objectKey", "String", key, False)]
        specs += self.pagination("record", 0)
        if self.chance(0.2):
            specs.append(("query", "String", self.pick(["Bulk0", "a", "ü", "", "zz", "名"]), True))
        if self.chance(0.25):
            self.features.add("relatedTo")
            related: dict[str, Any] = {"recordId": self.record_id()}
            if self.chance(0.5):
                related["associationId"] = self.association_id()
            specs.append(("relatedTo", "RelatedToInput", related, True))
        args = self.args(specs)
        return self.field("records", args, self.connection("Record", 1, budget))


def _json_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return str(value)
    return value


INVALID = [
    # A field no type has, an argument no field has, an unknown fragment, a missing argument.
    ("bogus", "{ bogus }"),
    ("record", "{ record { id } }"),
    ("records", '{ records(objectKey: "contact", nope: 1) { totalCount } }'),
    ("spread", '{ record(id: "x") { ...Missing } }'),
]


@st.composite
def documents(draw: Any, world: World) -> Doc:
    b = Builder(draw=draw, world=world, unsupported=False, invalid=False)
    b.unsupported = b.chance(0.2)
    b.invalid = b.chance(0.3)
    roots = [b.root() for _ in range(draw(st.integers(1, 3)))]
    if b.chance(0.03):
        b.features.add("invalid.document")
        name, text = b.pick(INVALID)
        return Doc(text, {}, frozenset(b.features | {f"invalid.{name}"}))
    token = b.choose([("records_only", 8), ("no_associations", 8), ("user", 10), ("admin", 74)])
    b.features.add(f"token.{token}")
    body = b.block(roots)
    header = ""
    if b.var_defs or b.chance(0.2):
        defs = f"({', '.join(b.var_defs)})" if b.var_defs else ""
        header = f"query {b.pick(['Q', 'Corpus', ''])}{defs} "
    fragments = "\n".join(f"fragment {f.name} on {f.on} {{ {f.body} }}" for f in b.fragments)
    # Fragments before or after the operation.
    query = (
        f"{header}{{ {body} }}\n{fragments}"
        if b.chance(0.7)
        else f"{fragments}\n{header}{{ {body} }}"
    )
    return Doc(query.strip(), b.variables, frozenset(b.features), token)
