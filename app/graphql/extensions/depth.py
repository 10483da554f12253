"""Depth limit: how many fields deep any path of an operation goes, fragments included.

Strawberry's `QueryDepthLimiter` reports one error per too-deep path, without the depth found,
and walks every fragment spread again; this subclass keeps its place in the extension list but
validates with the shared walker (each subtree once) and one error naming the limit and the
depth. Validation runs before the variables are known, so `@include` / `@skip` do not shorten a
path here."""

from __future__ import annotations

import functools

from graphql import (
    GraphQLError,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, QueryDepthLimiter

from app.graphql.walker import Walker, document_walker

ENV_VAR = "RELATA_MAX_DEPTH"


def operation_depth(walker: Walker, operation: OperationDefinitionNode) -> int:
    """The number of nested fields of the deepest path (a leaf field counts 1)."""
    root, fields = walker.root(operation)
    return walker.fold_fields("depth", root, fields, own=lambda nodes: 1, combine=max)


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
