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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from app import validation
from app.graphql.arguments import given
from app.graphql.extensions._walk import fragments_of, operation_label
from app.graphql.selection import included
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
# A field's definition (None: `__typename`, or a field validation refuses), its named type and
# the nodes merged under one response key.
_Group = tuple[GraphQLField | None, GraphQLNamedType | None, list[FieldNode]]


class _Estimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Any,
        weights: dict[str, int],
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.coerced: dict[str, Any] = getattr(variables, "coerced", variables) or {}
        self.weights = weights
        self.memo: dict[tuple[tuple[int, ...], str, int | None], Estimate] = {}

    def cost(
        self, selection_sets: Sequence[SelectionSetNode], parent: GraphQLNamedType, page: int | None
    ) -> Estimate:
        """What one instance of `parent` returns below these (merged) selection sets; `page`
        is set inside a connection, whose edges carry that many items."""
        key = (tuple(id(s) for s in selection_sets), parent.name, page)
        found = self.memo.get(key)
        if found is None:
            found = ZERO
            for definition, named, nodes in self._collect(selection_sets, parent).values():
                found = found + self._field(definition, named, nodes, page)
            self.memo[key] = found
        return found

    def _collect(
        self, selection_sets: Sequence[SelectionSetNode], parent: GraphQLNamedType
    ) -> dict[tuple[str, str, str], _Group]:
        """Fields by response key (and defining type), fragments expanded once each."""
        groups: dict[tuple[str, str, str], _Group] = {}
        visited: set[str] = set()

        def visit(selection_set: SelectionSetNode, on: GraphQLNamedType) -> None:
            for sel in selection_set.selections:
                if not included(sel, self.coerced):
                    continue
                if isinstance(sel, FieldNode):
                    fields: dict[str, GraphQLField] = getattr(on, "fields", {})
                    definition = fields.get(sel.name.value)
                    key = (
                        sel.alias.value if sel.alias else sel.name.value,
                        sel.name.value,
                        on.name,
                    )
                    named = None if definition is None else get_named_type(definition.type)
                    groups.setdefault(key, (definition, named, []))[2].append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    visit(sel.selection_set, self._condition(sel.type_condition, on))
                elif isinstance(sel, FragmentSpreadNode):
                    fragment = self.fragments.get(sel.name.value)
                    if fragment is None or sel.name.value in visited:
                        continue
                    visited.add(sel.name.value)
                    visit(fragment.selection_set, self._condition(fragment.type_condition, on))

        for selection_set in selection_sets:
            visit(selection_set, parent)
        return groups

    def _condition(self, condition: Any, parent: GraphQLNamedType) -> GraphQLNamedType:
        if condition is None:
            return parent
        return self.schema.get_type(condition.name.value) or parent

    def _field(
        self,
        definition: GraphQLField | None,
        named: GraphQLNamedType | None,
        nodes: list[FieldNode],
        page: int | None,
    ) -> Estimate:
        if definition is None or named is None:
            return Estimate(0, LEAF_BYTES)
        name = nodes[0].name.value
        is_list = is_list_type(get_nullable_type(definition.type))
        args = self._arguments(definition, nodes[0])
        if not is_composite_type(named):
            weight = self.weights.get(name) or SCALAR_BYTES.get(named.name, LEAF_BYTES)
            leaf = Estimate(0, weight)
            return leaf.times(self._list_items(args, page)) if is_list else leaf
        children = [n.selection_set for n in nodes if n.selection_set is not None]
        if "first" in definition.args:
            # The connection object itself is one per parent; its edges carry `size` items.
            return self.cost(children, named, self._page_size(args, nodes[0]))
        below = self.cost(children, named, None)
        if is_list:
            items = LIST_BOUNDS.get(name) or self._list_items(args, page)
            return Estimate(items, OBJECT_BYTES) + below.times(items)
        return below + Estimate(0, OBJECT_BYTES)

    def _page_size(self, args: dict[str, Any], node: FieldNode) -> int:
        """A connection's page: `last` (backward) counts like `first`; a `first` left at its
        default beside `last` does not count (given both, execution refuses the field)."""
        sizes = [args.get("last")]
        if sizes[0] is None or given(node, "first", self.coerced):
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
            return get_argument_values(definition, node, self.variables)
        except GraphQLError:
            return {}  # execution reports bad arguments itself


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
    *,
    max_record_bytes: int = validation.MAX_RECORD_BYTES,
) -> Estimate | None:
    """The operation's cost, or None when it cannot be estimated (no such operation, variables
    that do not coerce): execution then refuses it with its own message."""
    operation = get_operation_ast(document, operation_name)
    root = None if operation is None else schema.get_root_type(operation.operation)
    if operation is None or root is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None
    estimator = _Estimator(schema, fragments_of(document), coerced, leaf_bytes(max_record_bytes))
    found = estimator.cost([operation.selection_set], root, None)
    return Estimate(max(1, found.items), found.bytes)


class CostLimiter(SchemaExtension):
    def __init__(
        self,
        max_cost: int,
        max_response_bytes: int = 128 * 2**20,
        max_record_bytes: int = validation.MAX_RECORD_BYTES,
    ) -> None:
        self.max_cost = max_cost
        self.max_response_bytes = max_response_bytes
        self.max_record_bytes = max_record_bytes

    def on_execute(self) -> Iterator[None]:
        refusal = self._refusal()
        if refusal is not None:
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield

    def _refusal(self) -> GraphQLError | None:
        ctx = self.execution_context
        if ctx.graphql_document is None:
            return None
        schema = ctx.schema._schema
        cost = estimate_cost(
            schema,
            ctx.graphql_document,
            ctx.operation_name,
            ctx.variables,
            max_record_bytes=self.max_record_bytes,
        )
        if cost is None:
            return None
        operation = get_operation_ast(ctx.graphql_document, ctx.operation_name)
        assert operation is not None
        label = operation_label(operation)
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
