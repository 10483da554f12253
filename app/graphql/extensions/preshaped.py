"""Pre-shaped execution (app/graphql/shaping.py) of queries, in two places.

In the request's pipeline, as its last extension: after every limit has passed, a query the
planner can answer is run from its cached plan and its result set, so the executor does not
run; anything else, or any error, is left to ordinary execution.

Before the pipeline (`PreparedQueries`, called by the view): a document that has already gone
through the whole pipeline and been answered this way has passed every check that depends on
its text alone (size, tokens, validation, depth, aliases, literals); so for it a request only
coerces its variables, is held to the cost budget (which depends on them) and runs its plan.
Whenever any of that does not hold, the request takes the pipeline as any other.

Plans are kept per (query text, operation, values of the variables `@include` / `@skip` read),
bounded in bytes like the documents they were planned from, including "cannot be planned"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from app.errors import AppError
from app.graphql.context import Context
from app.graphql.extensions.cost import Asked, CostBudget
from app.graphql.extensions.document_cache import (
    CACHEABLE_QUERY_BYTES,
    ENTRY_OVERHEAD,
    RETAINED_PER_BYTE,
    ByteBoundedLRU,
)
from app.graphql.extensions.operation_log import log_operation
from app.graphql.shaping import (
    STANDARD_EXECUTION_HEADER,
    Plan,
    Planner,
    Shaper,
    Unsupported,
    directive_variables,
    readable,
)
from app.graphql.walker import OperationWalk, operation_walk

PRESHAPED = "pre-shaped"
PLANS_PER_DOCUMENT = 16
STANDARD = "standard"


@dataclass
class _Plans:
    document: DocumentNode
    directive_variables: tuple[str, ...]
    # By the values of those variables; None: ordinary execution answers.
    by_directives: dict[tuple[Any, ...], Plan | None] = field(default_factory=dict)
    # Answered pre-shaped after the whole pipeline: its text passed every check.
    prepared: bool = False


def _operation_key(document: DocumentNode, operation_name: str | None) -> str | None:
    """A document's only operation is the same whether the request names it or not."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return None if len(operations) == 1 else operation_name


class PlanCache(ByteBoundedLRU[tuple[str, str | None], _Plans]):
    def plan(
        self, query: str | None, operation_name: str | None, walk: OperationWalk
    ) -> Plan | None:
        key = (query or "", _operation_key(walk.document, operation_name))
        entry = self.get(key) if query is not None else None
        if entry is None:
            entry = _Plans(walk.document, directive_variables(walk.document))
            if query is not None and len(query) <= CACHEABLE_QUERY_BYTES:
                weight = len(query) * RETAINED_PER_BYTE + ENTRY_OVERHEAD
                entry = self.put(key, entry, weight)
        coerced = walk.walker.coerced
        values = tuple(coerced.get(name) for name in entry.directive_variables)
        if values in entry.by_directives:
            return entry.by_directives[values]
        plan = _plan(walk)
        # n Boolean variables in directives make 2^n plans: past a few, plan per request
        # rather than let one cached document grow without bound.
        if len(entry.by_directives) < PLANS_PER_DOCUMENT:
            entry.by_directives[values] = plan
        return plan

    def prepare(self, query: str, operation_name: str | None, document: DocumentNode) -> None:
        entry = self.get((query, _operation_key(document, operation_name)))
        if entry is not None:
            entry.prepared = True

    def prepared(self, query: str, operation_name: str | None) -> DocumentNode | None:
        # A name given for a document's only operation is checked when its walk is made.
        entry = self.get((query, operation_name)) or self.get((query, None))
        return entry.document if entry is not None and entry.prepared else None


def _plan(walk: OperationWalk) -> Plan | None:
    if walk.operation.operation != OperationType.QUERY:
        return None
    root, fields = walk.walker.root(walk.operation)
    try:
        return Planner(walk.walker).plan_operation(root, fields)
    except Unsupported:
        return None


def _standard_requested(context: Context) -> bool:
    request = context.request
    if request is None:
        return False
    return str(request.headers.get(STANDARD_EXECUTION_HEADER, "")).lower() == STANDARD


def _answered_by(context: Context, how: str) -> None:
    if isinstance(context.response, Response):
        context.response.headers[STANDARD_EXECUTION_HEADER] = how


async def answer(
    plans: PlanCache,
    context: Context,
    query: str | None,
    operation_name: str | None,
    walk: OperationWalk,
) -> dict[str, Any] | None:
    """The query's data, pre-shaped; None when ordinary execution must answer it."""
    plan = plans.plan(query, operation_name, walk)
    if plan is None or not readable(context, plan):
        return None
    root, _ = walk.walker.root(walk.operation)
    try:
        return await Shaper(context, walk.walker).run(plan, root.name)
    except (AppError, GraphQLError, Unsupported):
        return None  # ordinary execution reports it, at its path


class PreShapedExecution(SchemaExtension):
    def __init__(self, plans: PlanCache) -> None:
        self.plans = plans

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        context = ctx.context
        if isinstance(context, Context):
            data = None
            walk = context.walk
            if ctx.result is None and walk is not None and not _standard_requested(context):
                data = await answer(self.plans, context, ctx.query, ctx.operation_name, walk)
            if data is not None and walk is not None:
                ctx.result = GraphQLExecutionResult(data=data, errors=None)
                if ctx.query is not None:
                    self.plans.prepare(ctx.query, ctx.operation_name, walk.document)
            _answered_by(context, STANDARD if data is None else PRESHAPED)
        yield


class PreparedQueries:
    """Answers known queries before the pipeline (see the module's docstring)."""

    def __init__(self, schema: GraphQLSchema, plans: PlanCache, budget: CostBudget) -> None:
        self.schema = schema
        self.plans = plans
        self.budget = budget

    async def answer(
        self,
        context: Context,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> ExecutionResult | None:
        if (
            not isinstance(query, str)
            or not isinstance(operation_name, str | None)
            or not isinstance(variables, dict | None)
        ):
            return None  # Strawberry's own checks refuse it, in its words
        document = self.plans.prepared(query, operation_name)
        if document is None or _standard_requested(context):
            return None
        walk = operation_walk(self.schema, document, operation_name, variables)
        if walk is None:
            return None
        asked = Asked(self.schema, query, document, operation_name, variables, walk)
        refusal = self.budget.refusal(asked)
        if refusal is not None:
            return None
        context.walk = walk
        data = await answer(self.plans, context, query, operation_name, walk)
        if data is None:
            context.walk = None
            return None
        log_operation(context.request, walk.operation, operation_name)
        _answered_by(context, PRESHAPED)
        return ExecutionResult(data=data, errors=None)
