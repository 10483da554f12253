"""The request's one walk over its operation (app/graphql/walker.py), made before anything
else looks at the selection: the cost estimate, the pre-shaped path and resolvers share it."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from app.graphql.context import Context
from app.graphql.walker import core_schema, operation_walk


class SelectionWalk(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        context = ctx.context
        if isinstance(context, Context) and ctx.graphql_document is not None:
            context.walk = operation_walk(
                core_schema(ctx.schema), ctx.graphql_document, ctx.operation_name, ctx.variables
            )
        yield
