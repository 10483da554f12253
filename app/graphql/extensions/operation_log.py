"""Hands the operation's name and type to the request log (see `app.request_log`)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

OPERATION_SCOPE_KEY = "relata.operation"


class OperationLog(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        request = getattr(ctx.context, "request", None)
        scope = getattr(request, "scope", None)
        if scope is None:
            return
        name = ctx.operation_name
        kind = None
        if ctx.graphql_document is not None:
            operation = get_operation_ast(ctx.graphql_document, ctx.operation_name)
            if operation is not None:
                kind = operation.operation.value
                if name is None and operation.name is not None:
                    name = operation.name.value
        scope[OPERATION_SCOPE_KEY] = {"name": name, "type": kind}
