"""Pre-shaped execution of record reads.

Completing a value through the executor costs microseconds per field, and a list view with two
levels of related records has tens of thousands of fields (shared/notes/execution-cost.md): the
executor, not Postgres, would set the ceiling. So a query whose root fields are all `record` /
`records` (or `__typename`), selecting only fields this module can shape, is planned as a whole
(app/graphql/extensions/preshaped.py): each level of relations is one statement, and the
response is built straight from the rows, every value read through the field registry
(app/graphql/registry.py) and serialised by the schema's own scalar, as execution would.

A plan depends on the document, the operation and the values of the variables its `@include` /
`@skip` read, so it is built once for those and kept (`PlanCache`); a request binds its
arguments and runs the statements. Anything else, and any error, is answered by ordinary
execution, so results are identical either way (the tests compare both paths on a randomised
corpus); only speed differs. The header `x-relata-execution: standard` asks for ordinary
execution; responses say which path answered in the same header."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    VariableNode,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
    is_specified_scalar_type,
)
from graphql.language import Visitor, visit
from orjson import Fragment, dumps

from app import ids
from app.access import can_read
from app.graphql import reads, registry
from app.graphql.context import Context
from app.graphql.rendering import RenderedEdges, rendered_edges
from app.graphql.walker import Walker, field_definition
from app.models import Page, RecordModel
from app.services import records as record_service
from app.services import traversal
from app.services.traversal import RelatedQuery

RECORD = "Record"
# A level of relations with more parents than this is read in parts, side by side.
SPLIT_PARENTS = 200
STANDARD_EXECUTION_HEADER = "x-relata-execution"

# The object-valued fields the shaper builds, by parent type, with the type of their value
# (RECORD: any record type). Leaves are the registry's (entities) or listed here with None.
STRUCTURE: dict[str, dict[str, str | None]] = {
    **{t: {"relations": "RelationConnection"} for t in registry.RECORD_TYPES},
    "RecordConnection": {"edges": "RecordEdge", "pageInfo": "PageInfo", "totalCount": None},
    "RecordEdge": {"cursor": None, "node": RECORD},
    "RelationConnection": {"edges": "RelationEdge", "pageInfo": "PageInfo", "totalCount": None},
    "RelationEdge": {
        "cursor": None,
        "node": RECORD,
        "label": None,
        "relation": "Relation",
        "association": "Association",
    },
    "PageInfo": dict.fromkeys(("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")),
    "Relation": {},
    "Association": {},
}
ROOT_FIELDS = {"record": RECORD, "records": "RecordConnection"}

# The fields the pre-shaped path can answer, by type: derived, never listed twice.
SUPPORTED: dict[str, frozenset[str]] = {
    type_name: frozenset(registry.LEAVES.get(type_name, {})) | frozenset(fields) | {"__typename"}
    for type_name, fields in STRUCTURE.items()
}

# The entity each type a plan selects belongs to (root fields check their own).
_ENTITY_OF_TYPE: dict[str, ids.Kind] = {
    **dict.fromkeys(registry.RECORD_TYPES, ids.Kind.RECORD),
    "RelationConnection": ids.Kind.RELATION,
    "Relation": ids.Kind.RELATION,
    "Association": ids.Kind.ASSOCIATION,
}


class Unsupported(Exception):
    """The selection asks for something only ordinary execution provides."""


Serialize = Callable[[Any], Any]


# Built-in scalars whose serializer returns a value of this exact type unchanged: the check
# saves a call per leaf, and any other value still goes through the serializer.
_UNCHANGED: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}


def serializer(schema: GraphQLSchema, parent: str, name: str) -> Serialize:
    """The schema's serializer of the leaf `parent.name` (null stays null)."""
    parent_type = schema.get_type(parent)
    assert isinstance(parent_type, GraphQLObjectType)
    definition = field_definition(parent_type, name)
    assert definition is not None
    leaf = get_named_type(definition.type)
    assert is_leaf_type(leaf)
    serialize = leaf.serialize
    required = is_non_null_type(definition.type)
    unchanged = _UNCHANGED.get(leaf.name) if is_specified_scalar_type(leaf) else None

    def serialized(value: Any) -> Any:
        if type(value) is unchanged:
            return value
        if value is None:
            if required:
                raise Unsupported(f"{parent}.{name} read null")
            return None
        return serialize(value)

    return serialized


def leaf_reader(leaf: registry.Leaf, columns: registry.RowColumns, serialize: Serialize) -> Any:
    """Row -> the leaf's serialised value, in one call where the value is a column as is."""
    if leaf.value is registry.same and len(leaf.reads) == 1:
        column = columns[leaf.reads[0]]
        return lambda row: serialize(row[column])
    read = registry.row_reader(leaf, columns)
    return lambda row: serialize(read(row))


@dataclass(eq=False)
class FieldPlan:
    key: str
    name: str
    nodes: tuple[FieldNode, ...]
    definition: GraphQLField | None
    # Leaves of entities: row -> serialised value (the registry's reader, the schema's scalar).
    read: Callable[[Any], Any] | None = None
    # Other leaves: the schema's serializer.
    serialize: Serialize | None = None
    children: dict[str, list[FieldPlan]] = field(default_factory=dict)
    # `relations` fields: the optional column groups their selection reads.
    columns: frozenset[str] = frozenset()
    wants_total: bool = False
    # `relations` fields whose edges PostgreSQL writes as JSON text (app/graphql/rendering.py).
    rendered: RenderedEdges | None = None

    def child(self, type_name: str) -> list[FieldPlan]:
        return self.children.get(type_name, [])


@dataclass(frozen=True)
class Plan:
    """A whole query's plan: its root fields, the entities it reads."""

    roots: list[FieldPlan]
    entities: frozenset[ids.Kind]


class Planner:
    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.schema = walker.schema
        self._memo: dict[tuple[str, tuple[int, ...]], list[FieldPlan]] = {}
        self._serializers: dict[tuple[str, str], Serialize] = {}
        self._relations: dict[tuple[int, ...], FieldPlan] = {}

    def plan_operation(self, root: GraphQLObjectType, fields: Mapping[str, Any]) -> Plan:
        roots = [self._root(root, key, nodes) for key, nodes in fields.items()]
        return Plan(roots, frozenset(_entities(roots)))

    def _root(self, root: GraphQLObjectType, key: str, nodes: tuple[FieldNode, ...]) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return FieldPlan(key, name, nodes, None, serialize=self._serializer(root.name, name))
        if name not in ROOT_FIELDS:
            raise Unsupported(f"Query.{name}")
        plan = FieldPlan(key, name, nodes, field_definition(root, name))
        plan.children = self._children(ROOT_FIELDS[name], nodes)
        return plan

    def plan(self, type_name: str, nodes: tuple[FieldNode, ...]) -> list[FieldPlan]:
        """The fields selected on `type_name` below `nodes`, merged by response key."""
        memo_key = (type_name, tuple(id(n) for n in nodes))
        found = self._memo.get(memo_key)
        if found is None:
            parent = self.schema.get_type(type_name)
            assert isinstance(parent, GraphQLObjectType)
            found = [
                self._field(parent, key, group)
                for key, group in self.walker.fields(parent, nodes).items()
            ]
            self._memo[memo_key] = found
        return found

    def _children(
        self, child_type: str, nodes: tuple[FieldNode, ...]
    ) -> dict[str, list[FieldPlan]]:
        if child_type == RECORD:
            return {t: self.plan(t, nodes) for t in registry.RECORD_TYPES}
        return {child_type: self.plan(child_type, nodes)}

    def _field(
        self, parent: GraphQLObjectType, key: str, nodes: tuple[FieldNode, ...]
    ) -> FieldPlan:
        type_name, name = parent.name, nodes[0].name.value
        if name not in SUPPORTED.get(type_name, ()):
            raise Unsupported(f"{type_name}.{name}")
        if name == "relations":
            # Parents of different record types that select the same `relations` share one
            # plan, and therefore one SQL statement per level.
            shared = self._relations.get(tuple(id(n) for n in nodes))
            if shared is not None:
                return shared
        plan = FieldPlan(key, name, nodes, field_definition(parent, name))
        leaf = registry.LEAVES.get(type_name, {}).get(name)
        if leaf is not None:
            serialize = self._serializer(type_name, name)
            plan.read = leaf_reader(leaf, registry.ROW_COLUMNS[type_name], serialize)
            return plan
        child_type = STRUCTURE[type_name].get(name)
        if child_type is None:
            plan.serialize = self._serializer(type_name, name)
            return plan
        plan.children = self._children(child_type, nodes)
        if name == "relations":
            plan.rendered = rendered_edges(plan)
            if plan.rendered is None:
                plan.columns = _column_groups(plan) | {"edge"}
            else:
                # Rendered edges read their values in SQL; the rows' own columns are only what
                # the next level needs (the related records' ids and types).
                plan.columns = frozenset({"edge"} if plan.rendered.nested else ())
            plan.wants_total = any(p.name == "totalCount" for p in plan.child(child_type))
            self._relations[tuple(id(n) for n in nodes)] = plan
        return plan

    def _serializer(self, type_name: str, name: str) -> Serialize:
        key = (type_name, name)
        found = self._serializers.get(key)
        if found is None:
            found = self._serializers[key] = serializer(self.schema, type_name, name)
        return found


def _column_groups(relations_plan: FieldPlan) -> frozenset[str]:
    """The optional columns a `relations` field's selection reads, from the registry's leaves."""
    groups: set[str] = set()
    for edges in relations_plan.child("RelationConnection"):
        for edge_field in edges.child("RelationEdge") if edges.name == "edges" else ():
            if edge_field.name == "association":
                groups.add("association")
            for plans in edge_field.children.values():
                for p in plans:
                    leaf = _leaf_of(edge_field.name, p.name)
                    if leaf is not None and leaf.group is not None:
                        groups.add(leaf.group)
    return frozenset(groups)


def _leaf_of(edge_field: str, name: str) -> registry.Leaf | None:
    if edge_field == "relation":
        return registry.RELATION_LEAVES.get(name)
    if edge_field == "association":
        return registry.ASSOCIATION_LEAVES.get(name)
    if edge_field == "node":
        for type_name in registry.RECORD_TYPES:
            leaf = registry.LEAVES[type_name].get(name)
            if leaf is not None:
                return leaf
    return None


def _entities(plans: Iterable[FieldPlan]) -> set[ids.Kind]:
    """The kinds of entity the plans select anywhere below them."""
    found: set[ids.Kind] = set()
    seen: set[int] = set()
    stack = list(plans)
    while stack:
        p = stack.pop()
        if id(p) in seen:  # plans are shared between parents (memoised): visit each once
            continue
        seen.add(id(p))
        for type_name, children in p.children.items():
            if type_name in _ENTITY_OF_TYPE:
                found.add(_ENTITY_OF_TYPE[type_name])
            stack.extend(children)
    return found


def directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables `@include` / `@skip` read anywhere in the document: a plan holds for one
    set of their values."""
    names: set[str] = set()

    class Directives(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> None:
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)

    visit(document, Directives())
    return tuple(sorted(names))


# -- Running a plan ------------------------------------------------------------------------


def _model_row(m: RecordModel) -> dict[str, Any]:
    return {
        "r_id": m.uid,
        "r_object_key": m.object_key,
        "r_display_name": m.display_name,
        "r_properties": m.properties,
        "r_created_at": m.created_at,
        "r_updated_at": m.updated_at,
    }


class ArgumentError(Exception):
    """A request's arguments the services refuse: ordinary execution reports it at its path."""


class Shaper:
    def __init__(self, context: Context, walker: Walker) -> None:
        self.ctx = context
        self.walker = walker
        self.pages: dict[tuple[int, uuid.UUID], Page] = {}
        # Statements beyond one per level: a request stays within levels + 2 (one is the
        # token lookup, once a second).
        self.extra_statements = 1

    async def run(self, plan: Plan, root_type: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in plan.roots:
            if p.name == "__typename":
                assert p.serialize is not None
                out[p.key] = p.serialize(root_type)
            elif p.name == "record":
                out[p.key] = await self._record_root(p)
            else:
                out[p.key] = await self._records_root(p)
        return out

    def _arguments(self, p: FieldPlan) -> dict[str, Any]:
        assert p.definition is not None
        return self.walker.page_arguments(p.definition, p.nodes[0])

    async def _record_root(self, p: FieldPlan) -> dict[str, Any]:
        args = self._arguments(p)
        relations = {
            id(q): q for plans in p.children.values() for q in plans if q.name == "relations"
        }
        if len(relations) == 1 and all(
            any(q.name == "relations" for q in plans) for plans in p.children.values()
        ):
            # Every record type selects the same `relations`: the record and its page are one
            # statement.
            (plan,) = relations.values()
            model, page = await traversal.record_with_related_rows(
                self.ctx.db, self.ctx.principal, args["id"], self._related_query(plan)
            )
            row = _model_row(model)
            self.pages[(id(plan), model.uid)] = page
            await self._descend(plan, page.items)
        else:
            model = await record_service.get_record(self.ctx.db, self.ctx.principal, args["id"])
            row = _model_row(model)
            await self.load([row], p.children)
        return self.record(row, p.children)

    async def _records_root(self, p: FieldPlan) -> dict[str, Any]:
        plans = p.child("RecordConnection")
        page = await reads.record_page(
            self.ctx.db,
            self.ctx.principal,
            self._arguments(p),
            with_total=any(q.name == "totalCount" for q in plans),
        )
        rows = [_model_row(m) for m in page.items]
        for node_plans in _node_plans(plans, "RecordEdge"):
            if rows and any(_relations_used(v) for v in node_plans.values()):
                await self.load(rows, node_plans)
        return self.connection(rows, "r_id", page, plans, "Record")

    def _related_query(self, p: FieldPlan) -> RelatedQuery:
        query = reads.related_query(self._arguments(p), with_total=p.wants_total)
        rendered = None if p.rendered is None else p.rendered.text
        return dataclasses.replace(query, columns=p.columns, rendered=rendered)

    async def load(self, records: list[Any], plans: dict[str, list[FieldPlan]]) -> None:
        """Fetch every `relations` field below `plans`: one statement per field per level."""
        groups: dict[int, tuple[FieldPlan, list[uuid.UUID]]] = {}
        for r in records:
            for p in plans.get(registry.record_type_name(r["r_object_key"]), ()):
                if p.name == "relations":
                    groups.setdefault(id(p), (p, []))[1].append(r["r_id"])
        for plan, parents in groups.values():
            pages = await self._related_pages(plan, list(dict.fromkeys(parents)))
            children: list[Any] = []
            for parent, page in pages.items():
                self.pages[(id(plan), parent)] = page
                children.extend(page.items)
            await self._descend(plan, children)

    async def _related_pages(
        self, plan: FieldPlan, parents: list[uuid.UUID]
    ) -> dict[uuid.UUID, Page]:
        """The pages of `plan` for `parents`. A last level (no relations below it) of more than
        SPLIT_PARENTS parents is read in parts, one statement per connection the request may
        hold at once, side by side (so PostgreSQL reads them on as many cores), within the
        request's extra statements; each parent's page is one statement's."""
        db, principal, query = self.ctx.db, self.ctx.principal, self._related_query(plan)
        parts = min(
            self.ctx.settings.connections_per_request,
            len(parents) // SPLIT_PARENTS,
            self.extra_statements + 1,
        )
        if parts < 2 or _relations_used(_node_fields(plan)):
            return await traversal.related_rows(db, principal, parents, query)
        self.extra_statements -= parts - 1
        size = -(-len(parents) // parts)
        reads = [
            asyncio.ensure_future(
                traversal.related_rows(db, principal, parents[i : i + size], query)
            )
            for i in range(0, len(parents), size)
        ]
        try:
            done = await asyncio.gather(*reads)
        except BaseException:
            for read in reads:
                read.cancel()
            raise
        return {parent: page for pages in done for parent, page in pages.items()}

    async def _descend(self, plan: FieldPlan, children: list[Any]) -> None:
        """The next levels below a `relations` field whose rows are `children`."""
        for node_plans in _node_plans(plan.child("RelationConnection"), "RelationEdge"):
            if children and any(_relations_used(v) for v in node_plans.values()):
                await self.load(children, node_plans)

    def record(self, r: Any, plans: dict[str, list[FieldPlan]]) -> dict[str, Any]:
        type_name = registry.record_type_name(r["r_object_key"])
        out: dict[str, Any] = {}
        for p in plans[type_name]:
            if p.read is not None:
                out[p.key] = p.read(r)
            elif p.name == "relations":
                out[p.key] = self.related(p, r["r_id"])
            else:
                out[p.key] = _serialized(p, type_name)
        return out

    def related(self, p: FieldPlan, parent: uuid.UUID) -> dict[str, Any]:
        """The `relations` connection `p` of the record `parent`."""
        page = self.pages[(id(p), parent)]
        return self.connection(
            page.items, "rel_id", page, p.child("RelationConnection"), "Relation", p.rendered
        )

    def rendered(self, page: Page, rendered: RenderedEdges) -> Fragment:
        """The edges PostgreSQL wrote, each nested connection put in its place."""
        return Fragment("[" + self._edges_text(page, rendered) + "]")

    def _edges_text(self, page: Page, rendered: RenderedEdges) -> str:
        if page.text is not None:  # joined by PostgreSQL already
            return page.text
        return ",".join(self._edge_texts(page.items, rendered))

    def _edge_texts(self, rows: list[Any], rendered: RenderedEdges) -> list[str]:
        if rendered.nested is None:
            return [r["x_json"] for r in rows]
        texts = []
        for r in rows:
            parts = r["x_json"]
            nested = rendered.nested[registry.record_type_name(r["r_object_key"])]
            text = [parts[0]]
            for q, part in zip(nested, parts[1:], strict=True):
                text.append(self._related_text(q, r["r_id"]))
                text.append(part)
            texts.append("".join(text))
        return texts

    def _related_text(self, p: FieldPlan, parent: uuid.UUID) -> str:
        """`related`, as JSON text."""
        rendered = p.rendered
        if rendered is not None and rendered.alone is not None:
            page = self.pages[(id(p), parent)]
            return rendered.alone + self._edges_text(page, rendered) + "]}"
        return dumps(self.related(p, parent)).decode()

    def connection(
        self,
        rows: list[Any],
        cursor_column: str,
        page: Page,
        plans: list[FieldPlan],
        kind: str,
        rendered: RenderedEdges | None = None,
    ) -> dict[str, Any]:
        """A `<kind>Connection`: edges (each row an edge), pageInfo, totalCount."""
        edge_type = f"{kind}Edge"
        # Cursors are encoded only when selected: a list view's inner levels rarely ask.
        wanted = any(
            p.name == "edges"
            and p is not (rendered and rendered.edges)
            and any(e.name == "cursor" for e in p.child(edge_type))
            for p in plans
        )
        cursors = [ids.encode_cursor(r[cursor_column]) if wanted else "" for r in rows]
        out: dict[str, Any] = {}
        for p in plans:
            if p.name == "edges":
                if rendered is not None and p is rendered.edges:
                    out[p.key] = self.rendered(page, rendered)
                    continue
                edge_plans = p.child(edge_type)
                out[p.key] = [
                    self.edge(r, c, edge_plans, edge_type)
                    for r, c in zip(rows, cursors, strict=True)
                ]
            elif p.name == "pageInfo":
                ends = page.ends
                if page.text is None:
                    ends = (rows[0][cursor_column], rows[-1][cursor_column]) if rows else None
                out[p.key] = _page_info(p.child("PageInfo"), ends, page)
            elif p.name == "totalCount":
                out[p.key] = _serialized(p, page.total or 0)
            else:
                out[p.key] = _serialized(p, f"{kind}Connection")
        return out

    def edge(self, r: Any, cursor: str, plans: list[FieldPlan], type_name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in plans:
            name = p.name
            if name == "node":
                out[p.key] = self.record(r, p.children)
            elif name == "cursor":
                out[p.key] = _serialized(p, cursor)
            elif name == "label":
                out[p.key] = _serialized(p, traversal.edge_label(r))
            elif name == "relation":
                out[p.key] = _entity(r, p.child("Relation"), "Relation")
            elif name == "association":
                out[p.key] = _entity(r, p.child("Association"), "Association")
            else:
                out[p.key] = _serialized(p, type_name)
        return out


def _serialized(p: FieldPlan, value: Any) -> Any:
    assert p.serialize is not None, f"{p.name} is not a leaf"
    return p.serialize(value)


def _entity(row: Any, plans: list[FieldPlan], type_name: str) -> dict[str, Any]:
    return {p.key: p.read(row) if p.read is not None else _serialized(p, type_name) for p in plans}


def _page_info(
    plans: list[FieldPlan], ends: tuple[uuid.UUID, uuid.UUID] | None, page: Page
) -> dict[str, Any]:
    values = {
        "hasNextPage": page.has_next,
        "hasPreviousPage": page.has_previous,
        "startCursor": ids.encode_cursor(ends[0]) if ends else None,
        "endCursor": ids.encode_cursor(ends[1]) if ends else None,
        "__typename": "PageInfo",
    }
    return {p.key: _serialized(p, values[p.name]) for p in plans}


def _node_plans(
    connection_fields: list[FieldPlan], edge_type: str
) -> list[dict[str, list[FieldPlan]]]:
    """The per-type plans of the records at `edges.node` of a connection's selection."""
    return [
        node.children
        for edges in connection_fields
        if edges.name == "edges"
        for node in edges.child(edge_type)
        if node.name == "node"
    ]


def _node_fields(relations: FieldPlan) -> list[FieldPlan]:
    """The fields selected on the related records of a `relations` field."""
    return [
        p
        for node_plans in _node_plans(relations.child("RelationConnection"), "RelationEdge")
        for plans in node_plans.values()
        for p in plans
    ]


def _relations_used(plans: Iterable[FieldPlan]) -> bool:
    stack = list(plans)
    while stack:
        p = stack.pop()
        if p.name == "relations":
            return True
        for children in p.children.values():
            stack.extend(children)
    return False


def readable(context: Context, plan: Plan) -> bool:
    """Whether the token may read everything the plan selects. When it may not, ordinary
    execution answers, with FORBIDDEN at each field that returns it."""
    return all(can_read(context.principal, kind) for kind in plan.entities)
