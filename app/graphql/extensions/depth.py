"""Depth limit: how many fields deep any path of an operation goes, fragments included.

Strawberry's `QueryDepthLimiter` reports one error per too-deep path, without the depth found,
and walks every fragment spread again; this subclass keeps its place in the extension list but
validates with one memoised walk and one error naming the limit and the depth."""

from __future__ import annotations

import functools

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, QueryDepthLimiter

from app.graphql.extensions._walk import (
    fold_selections,
    fragments_of,
    operation_label,
    operations_of,
)

ENV_VAR = "RELATA_MAX_DEPTH"


def selection_depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
) -> int:
    """The number of nested fields below `selection_set` (a leaf field counts 1)."""
    return fold_selections(
        selection_set, fragments, memo, own=lambda f: 1, combine=lambda v: max(v, default=0)
    )


@functools.cache  # one rule class per limit: ValidationCache keys on the rule classes
def _rule(max_depth: int) -> type[ValidationRule]:
    class DepthLimitRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = fragments_of(context.document)
            memo: dict[str, int] = {}
            for operation in operations_of(context.document):
                depth = selection_depth(operation.selection_set, fragments, memo)
                if depth > max_depth:
                    context.report_error(
                        GraphQLError(
                            f"{operation_label(operation)} is {depth} fields deep; the depth"
                            f" limit is {max_depth} ({ENV_VAR})",
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
