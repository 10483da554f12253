"""Hands the operation's name and type to the request log (see `app.request_log`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import OperationDefinitionNode
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

OPERATION_SCOPE_KEY = "relata.operation"


def log_operation(
    request: Any, operation: OperationDefinitionNode | None, operation_name: str | None
) -> None:
    scope = getattr(request, "scope", None)
    if scope is None:
        return
    name, kind = operation_name, None
    if operation is not None:
        kind = operation.operation.value
        if name is None and operation.name is not None:
            name = operation.name.value
    scope[OPERATION_SCOPE_KEY] = {"name": name, "type": kind}


class OperationLog(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        operation = None
        if ctx.graphql_document is not None:
            operation = get_operation_ast(ctx.graphql_document, ctx.operation_name)
        log_operation(getattr(ctx.context, "request", None), operation, ctx.operation_name)
