"""Whether a request gave an argument, or left it at its schema default.

`first` defaults to 50 in the schema, so a resolver cannot tell `last: 5` from `first: 50,
last: 5` by the values it receives; the field's AST can. A variable the request does not
provide leaves the argument at its default, as graphql-core decides it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import FieldNode, VariableNode

from app.graphql.context import Info


def given(node: FieldNode, name: str, variables: Mapping[str, Any]) -> bool:
    """Whether `node` gives its argument `name` a value (`variables`: the coerced ones)."""
    for arg in node.arguments or ():
        if arg.name.value == name:
            if isinstance(arg.value, VariableNode):
                return arg.value.name.value in variables
            return True
    return False


def page_args(info: Info, first: int | None, last: int | None) -> tuple[int | None, int | None]:
    """`first` and `last` as the request gave them: with `last`, a `first` left at its
    default is no `first` at all (app.pagination refuses the two together)."""
    if last is None:
        return first, last
    if given(info._raw_info.field_nodes[0], "first", info.variable_values or {}):
        return first, last
    return None, last
