"""What a resolver can learn of its own selection and arguments, from the request's one walk
(app/graphql/walker.py, set up by the SelectionWalk extension before any resolver runs)."""

from __future__ import annotations

from typing import Any

from app.graphql.context import Info
from app.graphql.walker import OperationWalk


def _walk(info: Info) -> OperationWalk:
    walk = info.context.walk
    if walk is None:
        raise RuntimeError("the SelectionWalk extension did not run for this operation")
    return walk


def selects_field(info: Info, name: str) -> bool:
    """Whether the current field's selection asks directly for `name` (fragments included)."""
    return name in _walk(info).selected(info.path)


def arguments(info: Info) -> dict[str, Any]:
    """The current field's arguments by their GraphQL names, coerced, with `first` as the
    request gave it (app/graphql/walker.py: `Walker.page_arguments`)."""
    return _walk(info).page_arguments(info.path)
