"""Depth limit: how many fields deep any path of an operation goes, fragments included.

Strawberry's `QueryDepthLimiter` reports one error per too-deep path, without the depth found,
and walks every fragment spread again; this subclass keeps its place in the extension list but
validates with the shared walker (each subtree once) and one error naming the limit and the
depth. Validation runs before the variables are known, so `@include` / `@skip` do not shorten a
path here."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, QueryDepthLimiter

from app.graphql.walker import Fields, Walker, child_types, document_walker, field_definition

ENV_VAR = "RELATA_MAX_DEPTH"


def fields_depth(walker: Walker, parent: GraphQLObjectType, fields: Fields) -> int:
    """The number of nested fields in `fields` (a leaf field counts 1)."""

    def below(parent: GraphQLObjectType, nodes: Sequence[FieldNode]) -> int:
        return fields_depth(walker, parent, walker.fields(parent, nodes))

    deepest = 0
    for nodes in fields.values():
        definition = field_definition(parent, nodes[0].name.value)
        inner = [walker.fold("depth", t, nodes, below) for t in child_types(walker, definition)]
        deepest = max(deepest, 1 + max(inner, default=0))
    return deepest


def operation_depth(walker: Walker, operation: OperationDefinitionNode) -> int:
    root, fields = walker.root(operation)
    return fields_depth(walker, root, fields)


@functools.cache  # one rule class per limit: ValidationCache keys on the rule classes
def _rule(max_depth: int) -> type[ValidationRule]:
    class DepthLimitRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            walker, operations = document_walker(context.schema, context.document)
            for operation in operations:
                depth = operation_depth(walker, operation)
                if depth > max_depth:
                    label = operation.name.value if operation.name else "anonymous operation"
                    context.report_error(
                        GraphQLError(
                            f"{label} is {depth} fields deep; the depth limit is {max_depth}"
                            f" ({ENV_VAR})",
                            operation,
                            extensions={
                                "code": "BAD_USER_INPUT",
                                "limit": "depth",
                                "maximum": max_depth,
                                "value": depth,
                            },
                        )
                    )

    return DepthLimitRule


class DepthLimiter(QueryDepthLimiter):
    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        AddValidationRules.__init__(self, [_rule(max_depth)])
