"""Limits that refuse in `on_execute` (the cost budget, a mutation's read scopes) set
`execution_context.result`; Strawberry's execute honours that, but its subscription path
subscribes regardless. Last in the list, this raises the refusal for a subscription, which
Strawberry then answers as that operation's error (over WebSocket and SSE alike)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType


class StreamRefusals(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        refused = ctx.result
        if ctx.operation_type == OperationType.SUBSCRIPTION and refused and refused.errors:
            raise refused.errors[0]
        yield
