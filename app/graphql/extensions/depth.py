"""Depth limit: how many fields deep any path of an operation goes, fragments included.

Strawberry's `QueryDepthLimiter` reports one error per too-deep path, without the depth found,
and walks every fragment spread again; this subclass keeps its place in the extension list but
validates with one memoised walk and one error naming the limit and the depth."""

from __future__ import annotations

import functools

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, QueryDepthLimiter

from app.graphql.extensions._walk import fragments_of, operation_label, operations_of

ENV_VAR = "RELATA_MAX_DEPTH"


def selection_depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
    visiting: frozenset[str] = frozenset(),
) -> int:
    """The number of nested fields below `selection_set` (a leaf field counts 1)."""
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            depth = 1 + selection_depth(selection.selection_set, fragments, memo, visiting)
        elif isinstance(selection, InlineFragmentNode):
            depth = selection_depth(selection.selection_set, fragments, memo, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:
                continue  # unknown fragments and cycles are reported by the standard rules
            if name not in memo:
                memo[name] = selection_depth(
                    fragment.selection_set, fragments, memo, visiting | {name}
                )
            depth = memo[name]
        else:  # pragma: no cover - the grammar has no other selection
            continue
        deepest = max(deepest, depth)
    return deepest


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
