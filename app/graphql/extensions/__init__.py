"""Schema extensions that keep hostile queries out: one concern per module.

`hardening_extensions(settings)` is the list the served schema is built with; each entry is a
factory, never a shared instance (Strawberry PR #4392: instances leak execution context
between concurrent requests)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from strawberry.extensions import DisableIntrospection

from app.config import Settings
from app.graphql.extensions.aliases import AliasLimiter
from app.graphql.extensions.cost import CostBudget, CostLimiter, EstimateCache, estimate_cost
from app.graphql.extensions.depth import DepthLimiter
from app.graphql.extensions.document_cache import DocumentCache
from app.graphql.extensions.literals import LiteralValues
from app.graphql.extensions.mutation_scopes import MutationReadScopes
from app.graphql.extensions.operation_log import OPERATION_SCOPE_KEY, OperationLog
from app.graphql.extensions.streams import StreamRefusals
from app.graphql.extensions.tokens import TokenLimiter


def cost_budget(settings: Settings) -> CostBudget:
    """The cost budget of an app: its limits, and the estimates it has made."""
    return CostBudget(
        max_cost=settings.max_cost,
        max_response_bytes=settings.max_response_bytes,
        max_record_bytes=settings.max_record_bytes,
        cache=EstimateCache(settings.document_cache_bytes // 8),
    )


def hardening_extensions(
    settings: Settings, budget: CostBudget | None = None
) -> list[Callable[[], Any]]:
    extensions: list[Callable[[], Any]] = [
        OperationLog,
        partial(TokenLimiter, max_token_count=settings.max_tokens),
        # After the token limit, whose parse option is part of the cache key. It also validates
        # (rules are all added by then, in on_operation) and caches the outcome per document.
        partial(
            DocumentCache,
            max_query_bytes=settings.max_query_bytes,
            max_cache_bytes=settings.document_cache_bytes,
        ),
        partial(DepthLimiter, max_depth=settings.max_depth),
        partial(AliasLimiter, max_alias_count=settings.max_aliases),
        # String and number literals pass the same edge checks as variables (app/validation.py).
        LiteralValues,
        partial(CostLimiter, budget or cost_budget(settings)),
        # A mutation whose selection the token may not read is refused before it changes anything.
        MutationReadScopes,
        # Last: the refusals above, raised for subscriptions (which would otherwise run).
        StreamRefusals,
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    return extensions


__all__ = [
    "OPERATION_SCOPE_KEY",
    "AliasLimiter",
    "CostBudget",
    "CostLimiter",
    "DepthLimiter",
    "DocumentCache",
    "LiteralValues",
    "MutationReadScopes",
    "OperationLog",
    "StreamRefusals",
    "TokenLimiter",
    "cost_budget",
    "estimate_cost",
    "hardening_extensions",
]
