"""What a resolver can learn of its own selection and arguments, from the request's one walk
(app/graphql/walker.py, set up by the SelectionWalk extension before any resolver runs)."""

from __future__ import annotations

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


def page_args(info: Info, first: int | None, last: int | None) -> tuple[int | None, int | None]:
    """`first` and `last` as the request gave them: with `last`, a `first` left at its
    default is no `first` at all (app.pagination refuses the two together)."""
    if last is None or _walk(info).given(info.path, "first"):
        return first, last
    return None, last
