"""Pre-shaped execution for record lists and record pages.

Completing a value through the executor costs microseconds per field, and a list view with two
levels of related records has tens of thousands of fields (shared/notes/execution-cost.md): the
executor, not Postgres, would set the ceiling. For selections made only of the fields listed in
SUPPORTED, the root resolver plans the whole selection up front (aliases, fragments, @include /
@skip, `__typename`, arguments), fetches each level of relations in one statement, and hands the
executor the finished subtree, which PassThroughExecutionContext returns unchanged.

Any other selection falls back to ordinary execution, so results are identical either way (the
tests compare both paths); only speed differs. A request can ask for the ordinary path with the
header `x-relata-execution: standard`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionSetNode,
    is_abstract_type,
)
from graphql.pyutils import Undefined
from graphql.utilities import value_from_ast_untyped
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app import ids
from app.access import can_read
from app.errors import AppError
from app.graphql.context import Info
from app.graphql.selection import included
from app.graphql.types import (
    TYPED_PROPERTIES,
    label_type_of,
    monetary_value,
    record_type_name,
    text_property,
)
from app.models import Page, RecordModel, cardinality_of
from app.services import relations as relation_service
from app.services.relations import RelatedQuery

RECORD = "Record"
RECORD_TYPES = ("Contact", "Company", "Opportunity", "CustomObjectRecord")
STANDARD_EXECUTION_HEADER = "x-relata-execution"


@dataclass(frozen=True)
class Shaped:
    """A subtree already shaped for its selection: the executor passes it through as is."""

    value: Any


class PassThroughExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def complete_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is Shaped:
            return result.value
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )


def _iso(value: Any) -> str:
    return str(value.isoformat())


def _encoder(kind: ids.Kind, column: str) -> Callable[[Any], str]:
    return lambda r: ids.encode(kind, r[column])


# The fast path reads rows of db.relations.related_pages (record columns prefixed `r_`,
# association columns `a_`); root records are turned into the same shape by `_model_row`.
_RECORD_SCALARS: dict[str, Callable[[Any], Any]] = {
    "id": _encoder(ids.Kind.RECORD, "r_id"),
    "objectKey": lambda r: r["r_object_key"],
    "displayName": lambda r: r["r_display_name"],
    "properties": lambda r: r["r_properties"],
    "createdAt": lambda r: _iso(r["r_created_at"]),
    "updatedAt": lambda r: _iso(r["r_updated_at"]),
}


def _text_field(prop: str) -> Callable[[Any], Any]:
    return lambda r: text_property(r["r_properties"], prop)


def _typed(type_name: str) -> dict[str, Callable[[Any], Any]]:
    fields: dict[str, Callable[[Any], Any]] = {
        name: _text_field(prop) for name, prop in TYPED_PROPERTIES.get(type_name, {}).items()
    }
    if type_name == "Opportunity":
        fields["monetaryValue"] = lambda r: monetary_value(r["r_properties"])
    return {**_RECORD_SCALARS, **fields}


RECORD_FIELDS: dict[str, dict[str, Callable[[Any], Any]]] = {t: _typed(t) for t in RECORD_TYPES}

RELATION_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": _encoder(ids.Kind.RELATION, "rel_id"),
    "associationId": _encoder(ids.Kind.ASSOCIATION, "association_id"),
    "firstRecordId": _encoder(ids.Kind.RECORD, "first_record_id"),
    "secondRecordId": _encoder(ids.Kind.RECORD, "second_record_id"),
    "createdAt": lambda r: _iso(r["rel_created_at"]),
}

ASSOCIATION_FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": _encoder(ids.Kind.ASSOCIATION, "association_id"),
    "key": lambda r: r["a_key"],
    "associationType": lambda r: r["a_association_type"],
    "firstObjectKey": lambda r: r["a_first_object_key"],
    "secondObjectKey": lambda r: r["a_second_object_key"],
    "firstObjectLabel": lambda r: r["a_first_object_label"],
    "secondObjectLabel": lambda r: r["a_second_object_label"] or r["a_first_object_label"],
    "labelType": lambda r: label_type_of(r["a_second_object_label"]).value,
    "cardinality": lambda r: cardinality_of(
        r["a_first_to_second_limit"], r["a_second_to_first_limit"]
    ),
    "firstToSecondLimit": lambda r: r["a_first_to_second_limit"],
    "secondToFirstLimit": lambda r: r["a_second_to_first_limit"],
    "description": lambda r: r["a_description"],
    "createdAt": lambda r: _iso(r["a_created_at"]),
    "updatedAt": lambda r: _iso(r["a_updated_at"]),
}

# Which optional column group (db.relations.RELATED_COLUMN_GROUPS) each field reads.
_RECORD_COLUMN_GROUP = {
    "displayName": "record.display_name",
    "properties": "record.properties",
    "createdAt": "record.timestamps",
    "updatedAt": "record.timestamps",
    **{name: "record.properties" for t in TYPED_PROPERTIES.values() for name in t},
    "monetaryValue": "record.properties",
}


def _model_row(m: RecordModel) -> dict[str, Any]:
    return {
        "r_id": m.uid,
        "r_object_key": m.object_key,
        "r_display_name": m.display_name,
        "r_properties": m.properties,
        "r_created_at": m.created_at,
        "r_updated_at": m.updated_at,
    }


# For each type the fast path can shape: its fields, and the type of each object-valued one.
SUPPORTED: dict[str, dict[str, str | None]] = {
    **{
        t: {**dict.fromkeys(RECORD_FIELDS[t]), "relations": "RelationConnection"}
        for t in RECORD_TYPES
    },
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
    "Relation": dict.fromkeys(RELATION_FIELDS),
    "Association": dict.fromkeys(ASSOCIATION_FIELDS),
    "PageInfo": dict.fromkeys(("hasNextPage", "hasPreviousPage", "startCursor", "endCursor")),
}


class Unsupported(Exception):
    """The selection asks for something only ordinary execution provides."""


@dataclass(eq=False)
class FieldPlan:
    key: str
    name: str
    children: dict[str, list[FieldPlan]] = field(default_factory=dict)
    query: RelatedQuery | None = None

    def child(self, type_name: str) -> list[FieldPlan]:
        return self.children.get(type_name, [])


class Planner:
    def __init__(self, info: Info) -> None:
        raw = info._raw_info  # graphql-core's resolve info: the AST, fragments and schema
        self.schema = raw.schema
        self.fragments = raw.fragments
        self.variables = info.variable_values or {}
        self._memo: dict[tuple[int, ...], FieldPlan] = {}

    def plan(self, type_name: str, nodes: Iterable[FieldNode]) -> list[FieldPlan]:
        """The fields selected on `type_name` under `nodes`, merged by response key."""
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()

        def visit(selection_set: SelectionSetNode) -> None:
            for sel in selection_set.selections:
                if not included(sel, self.variables):
                    continue
                if isinstance(sel, FieldNode):
                    key = sel.alias.value if sel.alias else sel.name.value
                    grouped.setdefault(key, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    if self._applies(sel.type_condition, type_name):
                        visit(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    fragment = self.fragments.get(name)
                    if name in visited or fragment is None:
                        continue
                    visited.add(name)
                    if self._applies(fragment.type_condition, type_name):
                        visit(fragment.selection_set)

        for node in nodes:
            if node.selection_set is not None:
                visit(node.selection_set)
        return [self._field(type_name, key, fnodes) for key, fnodes in grouped.items()]

    def _field(self, parent_type: str, key: str, nodes: list[FieldNode]) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return FieldPlan(key, name)
        fields = SUPPORTED.get(parent_type)
        if fields is None or name not in fields:
            raise Unsupported(f"{parent_type}.{name}")
        # Memoised on the AST nodes, so parents of different record types that select the same
        # `relations` field share one plan, and therefore one SQL statement per level.
        memo_key = tuple(id(n) for n in nodes)
        if memo_key in self._memo:
            return self._memo[memo_key]
        plan = FieldPlan(key, name)
        child_type = fields[name]
        if child_type == RECORD:
            plan.children = {t: self.plan(t, nodes) for t in RECORD_TYPES}
        elif child_type is not None:
            plan.children = {child_type: self.plan(child_type, nodes)}
        if name == "relations":
            plan.query = self._related_query(nodes[0], plan)
        self._memo[memo_key] = plan
        return plan

    def _related_query(self, node: FieldNode, plan: FieldPlan) -> RelatedQuery:
        args: dict[str, Any] = {}
        for arg in node.arguments or ():
            value = value_from_ast_untyped(arg.value, self.variables)
            if value is not None and value is not Undefined:
                args[arg.name.value] = value
        known = {"associationId", "associationKey", "objectKey", "first", "after", "last", "before"}
        if set(args) - known:
            raise Unsupported("unknown argument")
        wants_total = any(p.name == "totalCount" for p in plan.child("RelationConnection"))
        try:
            query = relation_service.related_query(
                # Only what the request gave: `first` left at its default is absent here.
                first=args.get("first"),
                after=args.get("after"),
                last=args.get("last"),
                before=args.get("before"),
                association_id=args.get("associationId"),
                association_key=args.get("associationKey"),
                object_key=args.get("objectKey"),
                with_total=wants_total,
            )
        except AppError as exc:
            # Ordinary execution reports it at the right path.
            raise Unsupported("invalid arguments") from exc
        return dataclasses.replace(query, columns=_column_groups(plan))

    def _applies(self, condition: NamedTypeNode | None, type_name: str) -> bool:
        if condition is None or condition.name.value == type_name:
            return True
        cond_type = self.schema.get_type(condition.name.value)
        concrete = self.schema.get_type(type_name)
        if cond_type is None or concrete is None or not is_abstract_type(cond_type):
            return False
        abstract: GraphQLAbstractType = cond_type
        return bool(self.schema.is_sub_type(abstract, concrete))


def _column_groups(relations_plan: FieldPlan) -> frozenset[str]:
    """The optional columns a `relations` field's selection reads."""
    groups: set[str] = set()
    for edges in relations_plan.child("RelationConnection"):
        for edge_field in edges.child("RelationEdge") if edges.name == "edges" else ():
            if edge_field.name == "association":
                groups.add("association")
            elif edge_field.name == "relation":
                if any(p.name == "createdAt" for p in edge_field.child("Relation")):
                    groups.add("relation.created_at")
            elif edge_field.name == "node":
                for plans in edge_field.children.values():
                    groups.update(
                        _RECORD_COLUMN_GROUP[p.name]
                        for p in plans
                        if p.name in _RECORD_COLUMN_GROUP
                    )
    return frozenset(groups)


def enabled(info: Info) -> bool:
    request = info.context.request
    if request is None:
        return True
    return str(request.headers.get(STANDARD_EXECUTION_HEADER, "")).lower() != "standard"


def plan_records(info: Info) -> list[FieldPlan] | None:
    """The plan of a `records` selection, or None when ordinary execution must answer it."""
    if not enabled(info):
        return None
    try:
        return Planner(info).plan("RecordConnection", info._raw_info.field_nodes)
    except Unsupported:
        return None


def plan_record(info: Info) -> dict[str, list[FieldPlan]] | None:
    if not enabled(info):
        return None
    try:
        planner = Planner(info)
        return {t: planner.plan(t, info._raw_info.field_nodes) for t in RECORD_TYPES}
    except Unsupported:
        return None


def _relations_used(plans: Iterable[FieldPlan]) -> bool:
    stack = list(plans)
    while stack:
        p = stack.pop()
        if p.name == "relations":
            return True
        for children in p.children.values():
            stack.extend(children)
    return False


class Shaper:
    def __init__(self, info: Info) -> None:
        self.ctx = info.context
        self.pages: dict[tuple[int, uuid.UUID], Page] = {}

    async def load(self, records: list[Any], plans: dict[str, list[FieldPlan]]) -> None:
        """Fetch every `relations` field below `plans`: one statement per field per level."""
        groups: dict[int, tuple[FieldPlan, list[uuid.UUID]]] = {}
        for r in records:
            for p in plans.get(record_type_name(r["r_object_key"]), ()):
                if p.name == "relations":
                    groups.setdefault(id(p), (p, []))[1].append(r["r_id"])
        for plan, parents in groups.values():
            assert plan.query is not None
            pages = await relation_service.related_rows(
                self.ctx.db, self.ctx.principal, list(dict.fromkeys(parents)), plan.query
            )
            children: list[Any] = []
            for parent, page in pages.items():
                self.pages[(id(plan), parent)] = page
                children.extend(page.items)
            for node_plans in _node_plans(plan.child("RelationConnection"), "RelationEdge"):
                if children and any(_relations_used(v) for v in node_plans.values()):
                    await self.load(children, node_plans)

    def record(self, r: Any, plans: dict[str, list[FieldPlan]]) -> dict[str, Any]:
        type_name = record_type_name(r["r_object_key"])
        scalars = RECORD_FIELDS[type_name]
        out: dict[str, Any] = {}
        for p in plans[type_name]:
            if p.name == "relations":
                out[p.key] = self.relation_connection(
                    self.pages[(id(p), r["r_id"])], p.child("RelationConnection")
                )
            elif p.name == "__typename":
                out[p.key] = type_name
            else:
                out[p.key] = scalars[p.name](r)
        return out

    def relation_connection(self, page: Page, plans: list[FieldPlan]) -> dict[str, Any]:
        return self.connection(page.items, "rel_id", page, plans, "Relation")

    def record_connection(self, page: Page, plans: list[FieldPlan]) -> Any:
        rows = [_model_row(m) for m in page.items]
        return self.connection(rows, "r_id", page, plans, "Record")

    def connection(
        self,
        rows: list[Any],
        cursor_column: str,
        page: Page,
        plans: list[FieldPlan],
        kind: str,
    ) -> dict[str, Any]:
        """A `<kind>Connection`: edges (each row an edge), pageInfo, totalCount."""
        cursors = [ids.encode_cursor(r[cursor_column]) for r in rows]
        out: dict[str, Any] = {}
        for p in plans:
            if p.name == "edges":
                edge_type = f"{kind}Edge"
                edge_plans = p.child(edge_type)
                out[p.key] = [
                    self.edge(r, c, edge_plans, edge_type)
                    for r, c in zip(rows, cursors, strict=True)
                ]
            elif p.name == "pageInfo":
                out[p.key] = _page_info(p.child("PageInfo"), cursors, page)
            elif p.name == "totalCount":
                out[p.key] = page.total or 0
            else:
                out[p.key] = f"{kind}Connection"
        return out

    def edge(self, r: Any, cursor: str, plans: list[FieldPlan], type_name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in plans:
            name = p.name
            if name == "node":
                out[p.key] = self.record(r, p.children)
            elif name == "cursor":
                out[p.key] = cursor
            elif name == "label":
                out[p.key] = relation_service.edge_label(r)
            elif name == "relation":
                out[p.key] = _flat(r, p.child("Relation"), RELATION_FIELDS, "Relation")
            elif name == "association":
                out[p.key] = _flat(r, p.child("Association"), ASSOCIATION_FIELDS, "Association")
            else:
                out[p.key] = type_name
        return out


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


def _flat(
    model: Any, plans: list[FieldPlan], fields: dict[str, Callable[[Any], Any]], type_name: str
) -> dict[str, Any]:
    return {p.key: type_name if p.name == "__typename" else fields[p.name](model) for p in plans}


def _page_info(plans: list[FieldPlan], cursors: list[str], page: Page) -> dict[str, Any]:
    values = {
        "hasNextPage": page.has_next,
        "hasPreviousPage": page.has_previous,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
        "__typename": "PageInfo",
    }
    return {p.key: values[p.name] for p in plans}


# The entity behind each type a plan can select: record fields, a relation connection, a
# relation, an association. Root fields checked their own entity before planning.
_ENTITY_OF_TYPE: dict[str, ids.Kind] = {
    **dict.fromkeys(RECORD_TYPES, ids.Kind.RECORD),
    "RelationConnection": ids.Kind.RELATION,
    "Relation": ids.Kind.RELATION,
    "Association": ids.Kind.ASSOCIATION,
}


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


def _can_read(info: Info, plans: Iterable[FieldPlan]) -> bool:
    # When the token may not read something selected, ordinary execution answers, with
    # FORBIDDEN at each field that returns it.
    principal = info.context.principal
    return all(can_read(principal, kind) for kind in _entities(plans))


async def shape_records(info: Info, plans: list[FieldPlan], page: Page) -> Shaped | None:
    if not _can_read(info, plans):
        return None
    shaper = Shaper(info)
    roots = [_model_row(m) for m in page.items]
    for node_plans in _node_plans(plans, "RecordEdge"):
        if roots and any(_relations_used(v) for v in node_plans.values()):
            await shaper.load(roots, node_plans)
    return Shaped(shaper.record_connection(page, plans))


async def shape_record(
    info: Info, plans: dict[str, list[FieldPlan]], model: RecordModel
) -> Shaped | None:
    if not _can_read(info, (p for v in plans.values() for p in v)):
        return None
    shaper = Shaper(info)
    root = _model_row(model)
    await shaper.load([root], plans)
    return Shaped(shaper.record(root, plans))
