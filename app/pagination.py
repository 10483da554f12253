"""Keyset windows of Relay cursor connections, forward (`first`/`after`) or backward
(`last`/`before`), over ids that are time-ordered uuidv7s.

A window reads the items strictly after `after` and strictly before `before` (either, both or
neither), taking the first `size` of them forward or the last `size` backward. SQL reads one
more than the page to learn whether more lie beyond it, in scan order (descending backward);
`Window.page` turns those rows into a page in ascending order, with Relay's pageInfo flags:

- forward: `has_next` iff more items lie in the window after the page; `has_previous` iff
  `after` was given (items exist at or before the cursor, unless deleted since);
- backward: `has_previous` iff more items lie in the window before the page; `has_next` iff
  `before` was given (items exist at or after the cursor, unless deleted since).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from app import ids, validation
from app.errors import BadUserInput
from app.models import Page


@dataclass(frozen=True)
class Window:
    size: int
    after: uuid.UUID | None = None
    before: uuid.UUID | None = None
    backward: bool = False

    def page(self, rows: list[Any], total: int | None = None) -> Page:
        """The page of `rows` as read (at most `size + 1`, in scan order)."""
        items = rows[: self.size]
        has_next, has_previous = self.flags(len(rows))
        if self.backward:
            items.reverse()
        return Page(items=items, has_next=has_next, total=total, has_previous=has_previous)

    def flags(self, read: int) -> tuple[bool, bool]:
        """`has_next` and `has_previous` of a page for which `read` rows were read."""
        more = read > self.size
        if self.backward:
            return self.before is not None, more
        return more, self.after is not None


def window(
    *,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Window:
    """Validate a connection's arguments: `first` and `last` exclude each other, each is a
    page size (validation.page_size), and the cursors must decode."""
    if first is not None and last is not None:
        raise BadUserInput(
            "first and last cannot be given together: page forward with first (and after)"
            " or backward with last (and before)",
            field="last",
        )
    backward = last is not None
    size = validation.page_size(last, "last") if backward else validation.page_size(first)
    return Window(
        size=size,
        after=ids.decode_cursor(after, "after"),
        before=ids.decode_cursor(before, "before"),
        backward=backward,
    )
