"""Pre-shaped execution (app/graphql/shaping.py) in the request's pipeline: after every limit
has passed, a query the planner can answer is run from its cached plan and its result set, so
the executor does not run; anything else, or any error, is left to ordinary execution.

Plans are kept per (query text, operation, values of the variables `@include` / `@skip` read),
bounded in bytes like the documents they were planned from, including "cannot be planned", so a
request for a known document only binds its arguments and runs its statements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationType
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from app.errors import AppError
from app.graphql.context import Context
from app.graphql.extensions.document_cache import (
    CACHEABLE_QUERY_BYTES,
    ENTRY_OVERHEAD,
    RETAINED_PER_BYTE,
    ByteBoundedLRU,
)
from app.graphql.shaping import (
    STANDARD_EXECUTION_HEADER,
    Plan,
    Planner,
    Shaper,
    Unsupported,
    directive_variables,
    readable,
)
from app.graphql.walker import OperationWalk

PRESHAPED = "pre-shaped"
STANDARD = "standard"


@dataclass
class _Plans:
    directive_variables: tuple[str, ...]
    # By the values of those variables; None: ordinary execution answers.
    by_directives: dict[tuple[Any, ...], Plan | None] = field(default_factory=dict)


class PlanCache(ByteBoundedLRU[tuple[str, str | None], _Plans]):
    def plan(
        self, query: str | None, operation_name: str | None, walk: OperationWalk
    ) -> Plan | None:
        key = (query or "", operation_name)
        entry = self.get(key) if query is not None else None
        if entry is None:
            entry = _Plans(directive_variables(walk.document))
            if query is not None and len(query) <= CACHEABLE_QUERY_BYTES:
                weight = len(query) * RETAINED_PER_BYTE + ENTRY_OVERHEAD
                entry = self.put(key, entry, weight)
        coerced = walk.walker.coerced
        values = tuple(coerced.get(name) for name in entry.directive_variables)
        if values not in entry.by_directives:
            entry.by_directives[values] = _plan(walk)
        return entry.by_directives[values]


def _plan(walk: OperationWalk) -> Plan | None:
    if walk.operation.operation != OperationType.QUERY:
        return None
    root, fields = walk.walker.root(walk.operation)
    try:
        return Planner(walk.walker).plan_operation(root, fields)
    except Unsupported:
        return None


def _answered_by(context: Context, how: str) -> None:
    if isinstance(context.response, Response):
        context.response.headers[STANDARD_EXECUTION_HEADER] = how


class PreShapedExecution(SchemaExtension):
    def __init__(self, cache: PlanCache) -> None:
        self.cache = cache

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        context = ctx.context
        if isinstance(context, Context) and ctx.result is None and context.walk is not None:
            data = await self._run(context, context.walk)
            if data is not None:
                ctx.result = GraphQLExecutionResult(data=data, errors=None)
            _answered_by(context, STANDARD if data is None else PRESHAPED)
        yield

    async def _run(self, context: Context, walk: OperationWalk) -> dict[str, Any] | None:
        request = context.request
        if request is not None:
            if str(request.headers.get(STANDARD_EXECUTION_HEADER, "")).lower() == STANDARD:
                return None
        ctx = self.execution_context
        plan = self.cache.plan(ctx.query, ctx.operation_name, walk)
        if plan is None or not readable(context, plan):
            return None
        root, _ = walk.walker.root(walk.operation)
        try:
            return await Shaper(context, walk.walker).run(plan, root.name)
        except (AppError, GraphQLError, Unsupported):
            # Ordinary execution reports it, at its path.
            return None
