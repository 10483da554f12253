"""Cost budget: how many list items an operation may return, estimated before it runs.

Every list of objects multiplies what is below it: a connection by its `first` argument (its
schema default, 50, where omitted), a plain list by the length of a list argument when it has
one (`createRelations(input: [...])`) and by `DEFAULT_LIST_SIZE` otherwise. The cost is the sum
of those items over the operation, so a chain of nested connections costs
`a + a*b + a*b*c` — the product of the `first` arguments down the chain, plus its prefixes.
Over the budget, the operation is refused before any resolver runs."""

from __future__ import annotations

from collections.abc import Iterator
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

from app.graphql.extensions._walk import fragments_of, operation_label

ENV_VAR = "RELATA_MAX_COST"
DEFAULT_LIST_SIZE = 50
CEILING = 2**53  # costs saturate here: they stay exact JSON numbers


class _Estimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Any,
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.memo: dict[tuple[str, str], int] = {}

    def cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        page: int | None = None,
        visiting: frozenset[str] = frozenset(),
    ) -> int:
        """Items below one instance of `parent`; `page` is set inside a connection."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, page, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(selection.selection_set, target or parent, page, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._spread(selection.name.value, parent, page, visiting)
            total = min(total, CEILING)
        return total

    def _spread(
        self, name: str, parent: GraphQLNamedType, page: int | None, visiting: frozenset[str]
    ) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in visiting:
            return 0
        target = self.schema.get_type(fragment.type_condition.name.value) or parent
        key = (name, f"{parent.name}:{page}")
        if key not in self.memo:
            self.memo[key] = self.cost(fragment.selection_set, target, page, visiting | {name})
        return self.memo[key]

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, page: int | None, visiting: frozenset[str]
    ) -> int:
        fields: dict[str, GraphQLField] = getattr(parent, "fields", {})
        definition = fields.get(node.name.value)
        if definition is None:
            return 0  # __typename, or a field the validator has already refused
        named = get_named_type(definition.type)
        if not is_composite_type(named):
            return 0
        args = self._arguments(definition, node)
        if "first" in definition.args:
            first = args.get("first")
            size = DEFAULT_LIST_SIZE if not isinstance(first, int) else max(first, 0)
            # The connection object itself is one per parent; its edges carry `size` items.
            return self.cost(node.selection_set, named, size, visiting)
        if is_list_type(get_nullable_type(definition.type)):
            if page is not None:
                items = page
            else:
                lengths = [len(v) for v in args.values() if isinstance(v, list)]
                items = max(lengths) if lengths else DEFAULT_LIST_SIZE
            below = self.cost(node.selection_set, named, None, visiting)
            return min(items + items * below, CEILING)
        return self.cost(node.selection_set, named, None, visiting)

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
) -> int | None:
    """The operation's cost, or None when it cannot be estimated (no such operation, variables
    that do not coerce): execution then refuses it with its own message."""
    operation = get_operation_ast(document, operation_name)
    root = None if operation is None else schema.get_root_type(operation.operation)
    if operation is None or root is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None
    estimator = _Estimator(schema, fragments_of(document), coerced)
    return max(1, estimator.cost(operation.selection_set, root))


class CostLimiter(SchemaExtension):
    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

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
        cost = estimate_cost(schema, ctx.graphql_document, ctx.operation_name, ctx.variables)
        if cost is None or cost <= self.max_cost:
            return None
        operation = get_operation_ast(ctx.graphql_document, ctx.operation_name)
        assert operation is not None
        return GraphQLError(
            f"{operation_label(operation)} may return {cost} items, over the cost budget of"
            f" {self.max_cost} ({ENV_VAR}); the cost is the product of `first` (default"
            f" {DEFAULT_LIST_SIZE}) down nested connections and lists, summed over the query."
            " Ask for smaller pages or fewer nested levels.",
            extensions={
                "code": "BAD_USER_INPUT",
                "limit": "cost",
                "maximum": self.max_cost,
                "value": cost,
            },
        )
