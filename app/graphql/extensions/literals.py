"""Literals in the document pass the same edge checks as JSON from outside (app/validation.py).

Variables are checked when the body is decoded; a value written in the document itself (an
argument, an input object field, a variable's default) is checked here, during validation, so a
NUL in `relations(associationKey: "\\u0000")` or a 70-bit integer in a `JSON` literal is refused
before any resolver runs, the same way on the pre-shaped and the ordinary execution path.
graphql-core's lexer already refuses lone surrogates in literals; the rule checks them anyway."""

from __future__ import annotations

from typing import Any

from graphql import (
    ArgumentNode,
    FloatValueNode,
    GraphQLError,
    IntValueNode,
    Node,
    ObjectFieldNode,
    StringValueNode,
    ValidationRule,
    VariableDefinitionNode,
)
from strawberry.extensions import AddValidationRules

from app import validation
from app.errors import ErrorCode


def _path(parent: Any, ancestors: Any) -> str:
    """Argument and input field names from the field down to the value: `input.properties.n`."""
    names: list[str] = []
    for node in (*ancestors, parent):
        if isinstance(node, ArgumentNode | ObjectFieldNode):
            names.append(node.name.value)
        elif isinstance(node, VariableDefinitionNode):
            names.append(f"${node.variable.name.value}")
    return ".".join(names)


class LiteralValuesRule(ValidationRule):
    def _report(self, node: Node, problem: str | None, parent: Any, ancestors: Any) -> None:
        if problem is None:
            return
        path = _path(parent, ancestors)
        self.report_error(
            GraphQLError(
                f"{path or 'a literal'} {problem}",
                node,
                extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": path},
            )
        )

    def enter_string_value(
        self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> None:
        self._report(node, validation.string_problem(node.value), parent, ancestors)

    def enter_int_value(
        self, node: IntValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> None:
        value = validation.integer_text(node.value)
        self._report(node, validation.number_problem(value), parent, ancestors)

    def enter_float_value(
        self, node: FloatValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> None:
        self._report(node, validation.number_problem(float(node.value)), parent, ancestors)


class LiteralValues(AddValidationRules):
    def __init__(self) -> None:
        super().__init__([LiteralValuesRule])
