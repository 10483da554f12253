"""Alias limit: aliases in an operation once every fragment spread is expanded.

Strawberry's `MaxAliasesLimiter` counts the same way but re-walks a fragment at every spread,
which is exponential for fragments that spread fragments (9 levels of 6 spreads: ~2 s of CPU);
this subclass counts each fragment once and multiplies."""

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
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter

from app.graphql.extensions._walk import fragments_of, operations_of

ENV_VAR = "RELATA_MAX_ALIASES"


def count_aliases(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
    visiting: frozenset[str] = frozenset(),
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += (1 if selection.alias else 0) + count_aliases(
                selection.selection_set, fragments, memo, visiting
            )
        elif isinstance(selection, InlineFragmentNode):
            total += count_aliases(selection.selection_set, fragments, memo, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:
                continue
            if name not in memo:
                memo[name] = count_aliases(
                    fragment.selection_set, fragments, memo, visiting | {name}
                )
            total += memo[name]
    return total


@functools.cache  # one rule class per limit: ValidationCache keys on the rule classes
def _rule(max_aliases: int) -> type[ValidationRule]:
    class AliasLimitRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = fragments_of(context.document)
            memo: dict[str, int] = {}
            total = sum(
                count_aliases(op.selection_set, fragments, memo)
                for op in operations_of(context.document)
            )
            if total > max_aliases:
                context.report_error(
                    GraphQLError(
                        f"the query uses {total} aliases; the alias limit is {max_aliases}"
                        f" ({ENV_VAR})",
                        extensions={
                            "code": "BAD_USER_INPUT",
                            "limit": "aliases",
                            "maximum": max_aliases,
                            "value": min(total, 2**53),
                        },
                    )
                )

    return AliasLimitRule


class AliasLimiter(MaxAliasesLimiter):
    def __init__(self, max_alias_count: int) -> None:
        self.max_alias_count = max_alias_count
        AddValidationRules.__init__(self, [_rule(max_alias_count)])
