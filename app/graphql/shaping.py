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
from graphql.utilities import value_from_ast_untyped
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app import ids
from app.auth import RELATIONS_READ
from app.errors import AppError
from app.graphql.context import Info
from app.graphql.types import (
    TYPED_PROPERTIES,
    monetary_value,
    record_type_name,
    text_property,
)
from app.models import AssociationModel, Page, RecordModel, RelatedEdge, RelationModel
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


_RECORD_SCALARS: dict[str, Callable[[RecordModel], Any]] = {
    "id": lambda m: m.id,
    "objectKey": lambda m: m.object_key,
    "displayName": lambda m: m.display_name,
    "properties": lambda m: m.properties,
    "createdAt": lambda m: _iso(m.created_at),
    "updatedAt": lambda m: _iso(m.updated_at),
}


def _typed(type_name: str) -> dict[str, Callable[[RecordModel], Any]]:
    fields = {
        name: (lambda m, p=prop: text_property(m, p))
        for name, prop in TYPED_PROPERTIES.get(type_name, {}).items()
    }
    if type_name == "Opportunity":
        fields["monetaryValue"] = monetary_value
    return {**_RECORD_SCALARS, **fields}


RECORD_FIELDS: dict[str, dict[str, Callable[[RecordModel], Any]]] = {
    t: _typed(t) for t in RECORD_TYPES
}

RELATION_FIELDS: dict[str, Callable[[RelationModel], Any]] = {
    "id": lambda r: r.id,
    "associationId": lambda r: ids.encode(ids.Kind.ASSOCIATION, r.association_id),
    "firstRecordId": lambda r: ids.encode(ids.Kind.RECORD, r.first_record_id),
    "secondRecordId": lambda r: ids.encode(ids.Kind.RECORD, r.second_record_id),
    "createdAt": lambda r: _iso(r.created_at),
}

ASSOCIATION_FIELDS: dict[str, Callable[[AssociationModel], Any]] = {
    "id": lambda a: a.id,
    "key": lambda a: a.key,
    "associationType": lambda a: a.association_type,
    "firstObjectKey": lambda a: a.first_object_key,
    "secondObjectKey": lambda a: a.second_object_key,
    "firstObjectLabel": lambda a: a.first_object_label,
    "secondObjectLabel": lambda a: a.second_object_label,
    "cardinality": lambda a: a.cardinality,
    "firstToSecondLimit": lambda a: a.first_to_second_limit,
    "secondToFirstLimit": lambda a: a.second_to_first_limit,
    "description": lambda a: a.description,
    "createdAt": lambda a: _iso(a.created_at),
    "updatedAt": lambda a: _iso(a.updated_at),
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
    after: str | None = None

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
                if not self._included(sel):
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
            plan.query, plan.after = self._related_query(nodes[0], plan)
        self._memo[memo_key] = plan
        return plan

    def _related_query(self, node: FieldNode, plan: FieldPlan) -> tuple[RelatedQuery, str | None]:
        args: dict[str, Any] = {}
        for arg in node.arguments or ():
            value = value_from_ast_untyped(arg.value, self.variables)
            if value is not None and value is not _undefined():
                args[arg.name.value] = value
        known = {"associationId", "associationKey", "objectKey", "first", "after"}
        if set(args) - known:
            raise Unsupported("unknown argument")
        wants_total = any(p.name == "totalCount" for p in plan.child("RelationConnection"))
        try:
            query = relation_service.related_query(
                first=args.get("first"),
                after=args.get("after"),
                association_id=args.get("associationId"),
                association_key=args.get("associationKey"),
                object_key=args.get("objectKey"),
                with_total=wants_total,
            )
        except AppError as exc:
            # Ordinary execution reports it at the right path.
            raise Unsupported("invalid arguments") from exc
        return query, args.get("after")

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("include", "skip"):
                continue
            value = True
            for arg in directive.arguments or ():
                if arg.name.value == "if":
                    value = bool(value_from_ast_untyped(arg.value, self.variables))
            if (name == "include") != value:
                return False
        return True

    def _applies(self, condition: NamedTypeNode | None, type_name: str) -> bool:
        if condition is None or condition.name.value == type_name:
            return True
        cond_type = self.schema.get_type(condition.name.value)
        concrete = self.schema.get_type(type_name)
        if cond_type is None or concrete is None or not is_abstract_type(cond_type):
            return False
        abstract: GraphQLAbstractType = cond_type  # type: ignore[assignment]
        return bool(self.schema.is_sub_type(abstract, concrete))  # type: ignore[arg-type]


def _undefined() -> Any:
    from graphql.pyutils import Undefined

    return Undefined


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

    async def load(self, records: list[RecordModel], plans: dict[str, list[FieldPlan]]) -> None:
        """Fetch every `relations` field below `plans`: one statement per field per level."""
        groups: dict[int, tuple[FieldPlan, list[uuid.UUID]]] = {}
        for m in records:
            for p in plans.get(record_type_name(m.object_key), ()):
                if p.name == "relations":
                    groups.setdefault(id(p), (p, []))[1].append(m.uid)
        for plan, parents in groups.values():
            assert plan.query is not None
            pages = await relation_service.related_pages(
                self.ctx.db, self.ctx.principal, list(dict.fromkeys(parents)), plan.query
            )
            children: list[RecordModel] = []
            for parent, page in pages.items():
                self.pages[(id(plan), parent)] = page
                children.extend(e.node for e in page.items)
            for node_plans in _node_plans(plan):
                if children and any(_relations_used(v) for v in node_plans.values()):
                    await self.load(children, node_plans)

    def record(self, m: RecordModel, plans: dict[str, list[FieldPlan]]) -> dict[str, Any]:
        type_name = record_type_name(m.object_key)
        scalars = RECORD_FIELDS[type_name]
        out: dict[str, Any] = {}
        for p in plans[type_name]:
            if p.name == "relations":
                out[p.key] = self.relation_connection(
                    self.pages[(id(p), m.uid)], p.child("RelationConnection"), p.after
                )
            elif p.name == "__typename":
                out[p.key] = type_name
            else:
                out[p.key] = scalars[p.name](m)
        return out

    def relation_connection(
        self, page: Page, plans: list[FieldPlan], after: str | None
    ) -> dict[str, Any]:
        edges: list[RelatedEdge] = page.items
        cursors = [ids.encode_cursor(e.relation.uid) for e in edges]
        out: dict[str, Any] = {}
        for p in plans:
            if p.name == "edges":
                out[p.key] = [
                    self.relation_edge(e, c, p.child("RelationEdge"), p)
                    for e, c in zip(edges, cursors, strict=True)
                ]
            elif p.name == "pageInfo":
                out[p.key] = _page_info(p.child("PageInfo"), cursors, page.has_next, after)
            elif p.name == "totalCount":
                out[p.key] = page.total or 0
            else:
                out[p.key] = "RelationConnection"
        return out

    def relation_edge(
        self, e: RelatedEdge, cursor: str, plans: list[FieldPlan], parent: FieldPlan
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in plans:
            name = p.name
            if name == "node":
                out[p.key] = self.record(e.node, p.children)
            elif name == "cursor":
                out[p.key] = cursor
            elif name == "label":
                out[p.key] = e.label
            elif name == "relation":
                out[p.key] = _flat(e.relation, p.child("Relation"), RELATION_FIELDS, "Relation")
            elif name == "association":
                out[p.key] = _flat(
                    e.association, p.child("Association"), ASSOCIATION_FIELDS, "Association"
                )
            else:
                out[p.key] = "RelationEdge"
        return out

    def record_connection(self, page: Page, plans: list[FieldPlan], after: str | None) -> Any:
        models: list[RecordModel] = page.items
        cursors = [ids.encode_cursor(m.uid) for m in models]
        out: dict[str, Any] = {}
        for p in plans:
            if p.name == "edges":
                out[p.key] = [
                    self.record_edge(m, c, p.child("RecordEdge"))
                    for m, c in zip(models, cursors, strict=True)
                ]
            elif p.name == "pageInfo":
                out[p.key] = _page_info(p.child("PageInfo"), cursors, page.has_next, after)
            elif p.name == "totalCount":
                out[p.key] = page.total or 0
            else:
                out[p.key] = "RecordConnection"
        return out

    def record_edge(self, m: RecordModel, cursor: str, plans: list[FieldPlan]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in plans:
            if p.name == "node":
                out[p.key] = self.record(m, p.children)
            elif p.name == "cursor":
                out[p.key] = cursor
            else:
                out[p.key] = "RecordEdge"
        return out


def _node_plans(relations_plan: FieldPlan) -> list[dict[str, list[FieldPlan]]]:
    found = []
    for edges in relations_plan.child("RelationConnection"):
        if edges.name != "edges":
            continue
        for node in edges.child("RelationEdge"):
            if node.name == "node":
                found.append(node.children)
    return found


def _record_node_plans(plans: list[FieldPlan]) -> list[dict[str, list[FieldPlan]]]:
    found = []
    for edges in plans:
        if edges.name != "edges":
            continue
        for node in edges.child("RecordEdge"):
            if node.name == "node":
                found.append(node.children)
    return found


def _flat(
    model: Any, plans: list[FieldPlan], fields: dict[str, Callable[[Any], Any]], type_name: str
) -> dict[str, Any]:
    return {p.key: type_name if p.name == "__typename" else fields[p.name](model) for p in plans}


def _page_info(
    plans: list[FieldPlan], cursors: list[str], has_next: bool, after: str | None
) -> dict[str, Any]:
    values = {
        "hasNextPage": has_next,
        "hasPreviousPage": after is not None,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
        "__typename": "PageInfo",
    }
    return {p.key: values[p.name] for p in plans}


def _can_read_relations(info: Info, plans: Iterable[FieldPlan]) -> bool:
    # Without the scope, ordinary execution reports FORBIDDEN on each `relations` field.
    return not _relations_used(plans) or info.context.principal.has_scope(RELATIONS_READ)


async def shape_records(
    info: Info, plans: list[FieldPlan], page: Page, after: str | None
) -> Shaped | None:
    if not _can_read_relations(info, plans):
        return None
    shaper = Shaper(info)
    for node_plans in _record_node_plans(plans):
        if page.items and any(_relations_used(v) for v in node_plans.values()):
            await shaper.load(page.items, node_plans)
    return Shaped(shaper.record_connection(page, plans, after))


async def shape_record(
    info: Info, plans: dict[str, list[FieldPlan]], model: RecordModel
) -> Shaped | None:
    if not _can_read_relations(info, (p for v in plans.values() for p in v)):
        return None
    shaper = Shaper(info)
    await shaper.load([model], plans)
    return Shaped(shaper.record(model, plans))
