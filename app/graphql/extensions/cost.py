"""Cost budget: how many list items, and how many bytes, an operation may return, estimated
before it runs.

Items: every list of objects multiplies what is below it: a connection by its `first` argument
(its schema default, 50, where omitted) or its `last` argument (backward pages), a plain list
by the length of a list argument when it has one (`createRelations(input: [...])`), by what a
location can hold for the lists of its objects and associations (`LIST_BOUNDS`), and by
`DEFAULT_LIST_SIZE` otherwise. The cost is the sum of those items over the operation, so a chain
of nested connections costs `a + a*b + a*b*c`.

Bytes: every leaf weighs what it can return at most — `properties` the record size bound,
text read from properties the string bound, other scalars a small constant — times how many
times it can appear. So the response size is bounded before anything runs, however many aliases
ask for the same large field.

Fields are merged by response key first, as execution merges them, and each selection is
estimated once however often fragments spread it: the walk is linear in the document. Over
either budget, the operation is refused before any resolver runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    ListTypeNode,
    NonNullTypeNode,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
    is_scalar_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.language import Visitor, visit
from graphql.utilities import get_operation_ast, type_from_ast
from strawberry.extensions import SchemaExtension

from app import validation
from app.graphql.context import Context
from app.graphql.extensions.document_cache import ByteBoundedLRU
from app.graphql.walker import (
    Fields,
    OperationWalk,
    Walker,
    core_schema,
    field_definition,
    operation_walk,
)
from app.models import MAX_ASSOCIATIONS, MAX_CUSTOM_OBJECTS, STANDARD_OBJECTS
from app.webhooks.models import MAX_ERROR, MAX_URL, MAX_WEBHOOKS

ENV_VAR = "RELATA_MAX_COST"
BYTES_ENV_VAR = "RELATA_MAX_RESPONSE_BYTES"
DEFAULT_LIST_SIZE = 50
CEILING = 2**53  # costs saturate here: they stay exact JSON numbers
# Text is bounded in characters; as JSON one character takes at most 6 bytes (a control
# character escaped as \u00XX; 4 for one beyond the BMP).
JSON_BYTES_PER_CHAR = 6
# What a leaf with no bound of its own weighs in the response: its key, quotes and value.
# Strings without a field bound are keys and labels (at most 100 characters).
SCALAR_BYTES = {"ID": 48, "Int": 24, "Float": 32, "Boolean": 24, "DateTime": 48}
LEAF_BYTES = validation.MAX_LABEL * JSON_BYTES_PER_CHAR + 24
# An object's key and braces.
OBJECT_BYTES = 32
# Lists without pages, by field: what a location can hold at most.
LIST_BOUNDS = {
    "objectSchemas": MAX_CUSTOM_OBJECTS + len(STANDARD_OBJECTS),
    "associations": MAX_ASSOCIATIONS,
    "webhooks": MAX_WEBHOOKS,
}


def leaf_bytes(max_record_bytes: int) -> dict[str, int]:
    """What the leaves that can be large weigh, by field name."""
    text = validation.MAX_STRING * JSON_BYTES_PER_CHAR
    return {
        "properties": max_record_bytes,  # bounded as JSON already
        "displayName": validation.MAX_DISPLAY_NAME * JSON_BYTES_PER_CHAR,
        "description": validation.MAX_DESCRIPTION * JSON_BYTES_PER_CHAR,
        # An event's data: a record's properties, its display name and the names changed.
        "data": max_record_bytes
        + validation.MAX_DISPLAY_NAME * JSON_BYTES_PER_CHAR
        + validation.MAX_PROPERTIES * (validation.MAX_PROPERTY_NAME * JSON_BYTES_PER_CHAR + 4)
        + 1024,
        # Typed fields of the standard objects, read from the record's properties.
        **dict.fromkeys(("firstName", "lastName", "email", "phone", "name", "status"), text),
        # Webhooks: their URL and a delivery's last error are bounded text.
        "url": MAX_URL * JSON_BYTES_PER_CHAR,
        "lastError": MAX_ERROR * JSON_BYTES_PER_CHAR,
    }


@dataclass(frozen=True)
class Estimate:
    items: int
    bytes: int

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            min(self.items + other.items, CEILING), min(self.bytes + other.bytes, CEILING)
        )

    def times(self, n: int) -> Estimate:
        return Estimate(min(self.items * n, CEILING), min(self.bytes * n, CEILING))


ZERO = Estimate(0, 0)
INTROSPECTION = ("__schema", "__type")
# What a cached estimate weighs besides its key's variable values.
ESTIMATE_BYTES = 256


def _widest(estimates: list[Estimate]) -> Estimate:
    """What the widest of the possible types returns (an abstract field's value is one of them)."""
    if not estimates:
        return ZERO
    return Estimate(max(e.items for e in estimates), max(e.bytes for e in estimates))


class _Estimator:
    def __init__(self, walker: Walker, weights: dict[str, int]) -> None:
        self.walker = walker
        self.weights = weights
        self.memo: dict[tuple[str, tuple[int, ...], int | None], Estimate] = {}

    def cost(self, parent: GraphQLObjectType, fields: Fields, page: int | None) -> Estimate:
        """What one instance of `parent` returns for these fields; `page` is set inside a
        connection, whose edges carry that many items."""
        found = ZERO
        for nodes in fields.values():
            found = found + self._field(parent, nodes, page)
        return found

    def _below(
        self, named: GraphQLNamedType, nodes: tuple[FieldNode, ...], page: int | None
    ) -> Estimate:
        estimates = []
        for object_type in self.walker.object_types(named):
            key = (object_type.name, tuple(id(n) for n in nodes), page)
            found = self.memo.get(key)
            if found is None:
                found = self.memo[key] = self.cost(
                    object_type, self.walker.fields(object_type, nodes), page
                )
            estimates.append(found)
        return _widest(estimates)

    def _field(
        self, parent: GraphQLObjectType, nodes: tuple[FieldNode, ...], page: int | None
    ) -> Estimate:
        name = nodes[0].name.value
        # Introspection answers from the schema, not the data: bounded however it is asked.
        definition = None if name in INTROSPECTION else field_definition(parent, name)
        if definition is None:
            return Estimate(0, LEAF_BYTES)
        named = get_named_type(definition.type)
        is_list = is_list_type(get_nullable_type(definition.type))
        args = self._arguments(definition, nodes[0])
        if not is_composite_type(named):
            weight = self.weights.get(name) or SCALAR_BYTES.get(named.name, LEAF_BYTES)
            leaf = Estimate(0, weight)
            return leaf.times(self._list_items(args, page)) if is_list else leaf
        if "first" in definition.args:
            # The connection object itself is one per parent; its edges carry `size` items.
            return self._below(named, nodes, self._page_size(args, nodes[0]))
        below = self._below(named, nodes, None)
        if is_list:
            items = LIST_BOUNDS.get(name) or self._list_items(args, page)
            return Estimate(items, OBJECT_BYTES) + below.times(items)
        return below + Estimate(0, OBJECT_BYTES)

    def _page_size(self, args: dict[str, Any], node: FieldNode) -> int:
        """A connection's page: `last` (backward) counts like `first`; a `first` left at its
        default beside `last` does not count (given both, execution refuses the field)."""
        sizes = [args.get("last")]
        if sizes[0] is None or self.walker.given(node, "first"):
            sizes.append(args.get("first"))
        counted = [max(n, 0) for n in sizes if isinstance(n, int)]
        return max(counted) if counted else DEFAULT_LIST_SIZE

    def _list_items(self, args: dict[str, Any], page: int | None) -> int:
        if page is not None:
            return page
        lengths = [len(v) for v in args.values() if isinstance(v, list)]
        return max(lengths) if lengths else DEFAULT_LIST_SIZE

    def _arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        try:
            return self.walker.arguments(definition, node)
        except GraphQLError:
            return {}  # execution reports bad arguments itself


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
    *,
    max_record_bytes: int = validation.MAX_RECORD_BYTES,
    walk: OperationWalk | None = None,
) -> Estimate | None:
    """The operation's cost, or None when it cannot be estimated (no such operation, variables
    that do not coerce): execution then refuses it with its own message. `walk`: the request's
    walk of this operation, when it has one."""
    if walk is None:
        walk = operation_walk(schema, document, operation_name, variables)
    if walk is None:
        return None
    root, fields = walk.walker.root(walk.operation)
    estimator = _Estimator(walk.walker, leaf_bytes(max_record_bytes))
    found = estimator.cost(root, fields, None)
    return Estimate(max(1, found.items), found.bytes)


def cost_variables(schema: GraphQLSchema, document: DocumentNode) -> tuple[str, ...]:
    """The variables an estimate of `document` can depend on: those `@include` / `@skip` read,
    those given to `first` or `last`, and those of a list or input-object type (list lengths).
    Other variables (ids, cursors, filters) never change it."""
    names: set[str] = set()

    def variables_in(arguments: Iterable[ArgumentNode]) -> set[str]:
        return {a.value.name.value for a in arguments if isinstance(a.value, VariableNode)}

    class Uses(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> None:
            names.update(variables_in(node.arguments or ()))

        def enter_field(self, node: FieldNode, *_: object) -> None:
            page = (a for a in node.arguments or () if a.name.value in ("first", "last"))
            names.update(variables_in(page))

        def enter_variable_definition(self, node: VariableDefinitionNode, *_: object) -> None:
            declared = type_from_ast(schema, node.type)
            if (
                declared is None  # unknown: validation refuses it anyway
                or not is_scalar_type(get_named_type(declared))
                or isinstance(node.type, ListTypeNode)
                or (
                    isinstance(node.type, NonNullTypeNode)
                    and isinstance(node.type.type, ListTypeNode)
                )
            ):
                names.add(node.variable.name.value)

    visit(document, Uses())
    return tuple(sorted(names))


class EstimateCache(ByteBoundedLRU[tuple[str, str | None, bytes], Estimate]):
    """Estimates by (query text, operation, the values of its `cost_variables`): a request
    for a known document with known page sizes does not walk it again. Which variables count
    is found once per query text."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self._variables: ByteBoundedLRU[str, tuple[str, ...]] = ByteBoundedLRU(max_bytes // 4)

    def variables(
        self, schema: GraphQLSchema, query: str, document: DocumentNode
    ) -> tuple[str, ...]:
        found = self._variables.get(query)
        if found is None:
            found = self._variables.put(
                query, cost_variables(schema, document), len(query) + ESTIMATE_BYTES
            )
        return found


@dataclass(frozen=True)
class Asked:
    """An operation as a request asks for it."""

    schema: GraphQLSchema
    query: str | None
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any] | None
    walk: OperationWalk | None


@dataclass(frozen=True)
class CostBudget:
    """The budgets an operation is held to, and the estimates already made (per app)."""

    max_cost: int
    max_response_bytes: int = 128 * 2**20
    max_record_bytes: int = validation.MAX_RECORD_BYTES
    cache: EstimateCache | None = None

    def refusal(self, asked: Asked) -> GraphQLError | None:
        """The error refusing the operation before it runs, or None when it is within both
        budgets (or cannot be estimated: execution then refuses it with its own message)."""
        cost = self._estimate(asked)
        if cost is None:
            return None
        operation = get_operation_ast(asked.document, asked.operation_name)
        assert operation is not None
        label = operation.name.value if operation.name else "anonymous operation"
        if cost.items > self.max_cost:
            return GraphQLError(
                f"{label} may return {cost.items} items, over the cost budget of"
                f" {self.max_cost} ({ENV_VAR}); the cost is the product of `first` or `last`"
                f" (default {DEFAULT_LIST_SIZE}) down nested connections and lists, summed over"
                " the query."
                " Ask for smaller pages or fewer nested levels.",
                extensions={
                    "code": "BAD_USER_INPUT",
                    "limit": "cost",
                    "maximum": self.max_cost,
                    "value": cost.items,
                },
            )
        if cost.bytes > self.max_response_bytes:
            return GraphQLError(
                f"{label} may return up to {cost.bytes} bytes, over the response budget of"
                f" {self.max_response_bytes} bytes ({BYTES_ENV_VAR}); each field counts what it"
                f" can return at most (`properties`: {self.max_record_bytes} bytes, the record"
                " size bound, for every record and alias). Ask for smaller pages, fewer aliases"
                " or fewer large fields.",
                extensions={
                    "code": "BAD_USER_INPUT",
                    "limit": "responseBytes",
                    "maximum": self.max_response_bytes,
                    "value": cost.bytes,
                },
            )
        return None

    def _estimate(self, asked: Asked) -> Estimate | None:
        key = None
        if self.cache is not None and asked.query is not None:
            given = asked.variables or {}
            names = self.cache.variables(asked.schema, asked.query, asked.document)
            values = orjson.dumps([given.get(name) for name in names])
            key = (asked.query, asked.operation_name, values)
            found = self.cache.get(key)
            if found is not None:
                return found
        cost = estimate_cost(
            asked.schema,
            asked.document,
            asked.operation_name,
            asked.variables,
            max_record_bytes=self.max_record_bytes,
            walk=asked.walk,
        )
        if cost is not None and key is not None and self.cache is not None:
            self.cache.put(key, cost, len(key[2]) + ESTIMATE_BYTES)
        return cost


class CostLimiter(SchemaExtension):
    def __init__(self, budget: CostBudget) -> None:
        self.budget = budget

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None:
            context = ctx.context
            refusal = self.budget.refusal(
                Asked(
                    core_schema(ctx.schema),
                    ctx.query,
                    ctx.graphql_document,
                    ctx.operation_name,
                    ctx.variables,
                    context.walk if isinstance(context, Context) else None,
                )
            )
            if refusal is not None:
                ctx.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield
