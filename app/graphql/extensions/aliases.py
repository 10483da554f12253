"""Alias limit: aliases in an operation once every fragment spread is expanded.

Strawberry's `MaxAliasesLimiter` counts the same way but re-walks a fragment at every spread,
which is exponential for fragments that spread fragments (9 levels of 6 spreads: ~2 s of CPU);
here the shared walker counts each subtree once and multiplies."""

from __future__ import annotations

import functools

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter

from app.graphql.walker import Fields, Walker, document_walker

ENV_VAR = "RELATA_MAX_ALIASES"
CEILING = 2**53  # counts saturate here: they stay exact JSON numbers


def count_aliases(walker: Walker, parent: GraphQLObjectType, fields: Fields) -> int:
    return walker.fold_fields(
        "aliases",
        parent,
        fields,
        own=lambda nodes: sum(1 for n in nodes if n.alias),
        combine=lambda a, b: min(a + b, CEILING),
    )


@functools.cache  # one rule class per limit: ValidationCache keys on the rule classes
def _rule(max_aliases: int) -> type[ValidationRule]:
    class AliasLimitRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            walker, operations = document_walker(context.schema, context.document)
            total = 0
            for operation in operations:
                root, fields = walker.root(operation)
                total += count_aliases(walker, root, fields)
            if total > max_aliases:
                context.report_error(
                    GraphQLError(
                        f"the query uses {total} aliases; the alias limit is {max_aliases}"
                        f" ({ENV_VAR})",
                        extensions={
                            "code": "BAD_USER_INPUT",
                            "limit": "aliases",
                            "maximum": max_aliases,
                            "value": min(total, CEILING),
                        },
                    )
                )

    return AliasLimitRule


class AliasLimiter(MaxAliasesLimiter):
    def __init__(self, max_alias_count: int) -> None:
        self.max_alias_count = max_alias_count
        AddValidationRules.__init__(self, [_rule(max_alias_count)])
