"""Alias limit: aliases in an operation once every fragment spread is expanded.

Strawberry's `MaxAliasesLimiter` counts the same way but re-walks a fragment at every spread,
which is exponential for fragments that spread fragments (9 levels of 6 spreads: ~2 s of CPU);
this subclass counts each fragment once and multiplies."""

from __future__ import annotations

import functools

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter

from app.graphql.extensions._walk import fold_selections, fragments_of, operations_of

ENV_VAR = "RELATA_MAX_ALIASES"


def count_aliases(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
) -> int:
    return fold_selections(
        selection_set, fragments, memo, own=lambda f: 1 if f.alias else 0, combine=sum
    )


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
